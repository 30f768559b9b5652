"""Fine-tuning benchmark: steps per second of the analytic adapter step, and the cost of diagnostics.

On one ``n x n`` linear layer (default 1024 x 1024, batch 256, squared loss, SGD),
on the selected backend (``--backend numpy|cupy``):

1. **Steps per second** of ``lowrank_lab.adapters.finetune`` (the whole loop: batch
   sampling, merged weights, analytic gradient, pullback, optimizer, driver) for full
   fine-tuning, LoRA at r = 4, 16, 64 and rsLoRA at r = 16, as ratios to

   * a plain NumPy full-gradient SGD step in the same run
     (``W -= lr * (X_b W^T - Y_b)^T X_b / b``, the textbook peer), and
   * the same step in PyTorch on the CPU with autograd (the optional peer of
     ``benchmarks/requirements-peers.txt``): a frozen base weight plus
     ``s * (x A^T) B^T``, ``loss.backward()``, ``torch.optim.SGD`` (PEFT's LoRA forward).

   Achieved GFLOP/s (counted flops of the step) against the machine's matmul rate.
2. **Diagnostics per recorded step** (intruders over the eps sweep, ranks, amplification
   of the merged matrix): exact SVDs against the randomized SVD, as a multiple of one
   training step, and as the fraction of training time at a recording stride of 50 steps.

Usage::

    python benchmarks/bench_finetune.py --quick         # 512 x 512, batch 128, seconds
    python benchmarks/bench_finetune.py                 # 1024 x 1024, batch 256
    python benchmarks/bench_finetune.py --backend cupy  # on a GPU (the peers stay on the CPU)
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import add_backend_argument, machine_rates, sync, timeit, write_json  # noqa: E402

from lowrank_lab import backend  # noqa: E402
from lowrank_lab.adapters import finetune, full, linear, linear_task, lora, rslora, sgd  # noqa: E402
from lowrank_lab.adapters.training import DEFAULT_EPS, _Diagnostics  # noqa: E402

LR = 1e-3
RECORD_STRIDE = 50


def _flops(n: int, b: int, r: int | None) -> float:
    """Multiply-adds x 2 of one step: forward, gradient (full) or the LoRA products and the merge."""
    if r is None:
        return 2.0 * b * n * n * 2  # X W^T and R^T X
    return 2.0 * b * n * n + 2.0 * n * n * r + 2.0 * 2 * b * r * (2 * n)  # X W^T, B A, (X A^T, R^T .) x 2 factors


def bench_ours(model, task, adapter, xp, steps: int, batch: int, repeat: int) -> float:
    """Seconds per step of ``finetune``: ``(min t(steps) - min t(1)) / (steps - 1)`` (setup cancels).

    Minima over ``repeat`` runs are robust to other processes on a shared machine.
    """
    def run(k: int) -> float:
        t0 = time.perf_counter()
        finetune(model, task, adapter, sgd(LR), steps=k, batch_size=batch, record_every=k, check_every=k,
                 diagnostics="none", rng=0)
        sync(xp)
        return time.perf_counter() - t0

    run(3)  # warm-up
    t_long = min(run(steps) for _ in range(repeat))
    t_short = min(run(1) for _ in range(repeat))
    return max((t_long - t_short) / (steps - 1), 1e-9)


def bench_numpy_peer(n: int, b: int, N: int, steps: int) -> float:
    """Plain NumPy full-gradient SGD on the host (random batches from the same kind of data)."""
    gen = np.random.default_rng(0)
    X = gen.standard_normal((N, n))
    Y = X @ gen.standard_normal((n, n)).T / math.sqrt(n)
    W = gen.standard_normal((n, n)) / math.sqrt(n)

    def run() -> None:
        nonlocal W
        perm = gen.permutation(N)
        for j in range(steps):
            idx = perm[(j * b) % (N - b + 1):][:b]
            Xb, Yb = X[idx], Y[idx]
            W -= LR * ((Xb @ W.T - Yb).T @ Xb) / b

    return timeit(run, repeat=5)["best_s"] / steps


def bench_torch_peer(n: int, b: int, N: int, r: int | None, scale: float, steps: int) -> float | None:
    """PyTorch CPU step with autograd: PEFT's LoRA forward (or a full linear layer), SGD."""
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    X = torch.randn(N, n, dtype=torch.float64)
    Y = X @ torch.randn(n, n, dtype=torch.float64).T / math.sqrt(n)
    W0 = (torch.randn(n, n, dtype=torch.float64) / math.sqrt(n))
    if r is None:
        W = W0.clone().requires_grad_(True)
        params = [W]

        def forward(x):
            return x @ W.T
    else:
        A = (torch.rand(r, n, dtype=torch.float64) * 2 - 1).div_(math.sqrt(n)).requires_grad_(True)
        B = torch.zeros(n, r, dtype=torch.float64, requires_grad=True)
        params = [B, A]

        def forward(x):
            return x @ W0.T + scale * ((x @ A.T) @ B.T)
    opt = torch.optim.SGD(params, lr=LR)

    def run() -> None:
        perm = torch.randperm(N)
        for j in range(steps):
            idx = perm[(j * b) % (N - b + 1):][:b]
            xb, yb = X[idx], Y[idx]
            opt.zero_grad(set_to_none=True)
            loss = 0.5 * ((forward(xb) - yb) ** 2).sum(dim=1).mean()
            loss.backward()
            opt.step()

    return timeit(run, repeat=5)["best_s"] / steps


def bench_diagnostics(task, r: int, mode: str) -> float:
    diag = _Diagnostics(task, ("W",), mode, tuple(DEFAULT_EPS), 10, {"W": r}, None)
    xp = backend.array_namespace(task.W0["W"])
    W = {"W": task.W0["W"] + task.delta_star["W"]}
    return timeit(lambda: diag(W), xp, repeat=3)["best_s"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_backend_argument(parser)
    parser.add_argument("--quick", action="store_true", help="512 x 512 layer, batch 128, short timings")
    parser.add_argument("--n", type=int, default=None, help="layer size (default 1024, quick 512)")
    parser.add_argument("--batch", type=int, default=None, help="batch size (default 256, quick 128)")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS / torch threads for every contender (default: the libraries' own defaults)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=args.threads)
        try:
            import torch

            torch.set_num_threads(args.threads)
        except ImportError:
            pass
    xp = backend.get_namespace(args.backend)
    n = args.n or (512 if args.quick else 1024)
    b = args.batch or (128 if args.quick else 256)
    N = 8 * b
    steps = 10 if args.quick else 30
    repeat = 3 if args.quick else 5
    rates = machine_rates(xp, n=1024 if args.quick else 2048, copy_mb=64 if args.quick else 256)
    print(f"backend {rates['backend']} | cpu {rates['cpu']} | matmul {rates['matmul_gflops']:.1f} GFLOP/s | "
          f"copy {rates['copy_gbs']:.1f} GB/s (read + write)")
    try:
        import torch

        torch_note = f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    except ImportError:
        torch_note = "torch not installed (pip install --no-deps -r benchmarks/requirements-peers.txt)"
    from threadpoolctl import threadpool_info

    blas = ", ".join(f"{i['internal_api']} {i['num_threads']} threads" for i in threadpool_info()
                     if i.get("user_api") == "blas")
    print(f"layer {n} x {n}, batch {b}, pool of {N} samples, SGD; peers: NumPy full-gradient step, {torch_note}; "
          f"BLAS: {blas}")

    model = linear(n, n)
    task = linear_task(n, rank=8, norm=0.4, n_train=N, n_test=64, rng=0, xp=xp)
    t_numpy = bench_numpy_peer(n, b, N, steps)
    print()
    header = (f"{'method':<14} {'ms/step':>9} {'steps/s':>9} {'GFLOP/s':>8} {'/matmul':>8} {'vs NumPy':>9} "
              f"{'torch ms':>9} {'vs torch':>9}")
    print(header)
    print(f"{'numpy peer':<14} {1e3 * t_numpy:>9.2f} {1 / t_numpy:>9.1f} {_flops(n, b, None) / t_numpy / 1e9:>8.1f} "
          f"{_flops(n, b, None) / t_numpy / 1e9 / rates['matmul_gflops']:>8.2f} {'1.00':>9}")
    rows = []
    configs = [("full", full(), None), ("lora r=4", lora(4), 4), ("lora r=16", lora(16), 16),
               ("lora r=64", lora(64), 64), ("rslora r=16", rslora(16), 16)]
    for name, adapter, r in configs:
        t_ours = bench_ours(model, task, adapter, xp, steps, b, repeat)
        scale = adapter.config.get("scale", 1.0)
        t_torch = bench_torch_peer(n, b, N, r, scale, steps)
        gflops = _flops(n, b, r) / t_ours / 1e9
        row = {"method": name, "ms_per_step": 1e3 * t_ours, "steps_per_s": 1 / t_ours, "gflops": gflops,
               "vs_numpy_full_step": t_numpy / t_ours,
               "torch_ms_per_step": None if t_torch is None else 1e3 * t_torch,
               "vs_torch": None if t_torch is None else t_torch / t_ours}
        rows.append(row)
        tt = "—" if t_torch is None else f"{1e3 * t_torch:.2f}"
        vt = "—" if t_torch is None else f"{t_torch / t_ours:.2f}x"
        print(f"{name:<14} {1e3 * t_ours:>9.2f} {1 / t_ours:>9.1f} {gflops:>8.1f} "
              f"{gflops / rates['matmul_gflops']:>8.2f} {t_numpy / t_ours:>8.2f}x {tt:>9} {vt:>9}")
    print("(vs NumPy / vs torch: the peer's time per step divided by ours; > 1 means we are faster)")

    print()
    print(f"Diagnostics per recorded step (intruders at {len(DEFAULT_EPS)} eps, k = 10; ranks; amplification)")
    t_step = {row["method"]: row["ms_per_step"] / 1e3 for row in rows}
    diag_rows = []
    print(f"{'mode':<11} {'ms':>9} {'x LoRA r=16 step':>17} {'share at stride ' + str(RECORD_STRIDE):>20}")
    for mode in ("exact", "randomized"):
        t = bench_diagnostics(task, 16, mode)
        ratio = t / t_step["lora r=16"]
        share = t / (t + RECORD_STRIDE * t_step["lora r=16"])
        diag_rows.append({"mode": mode, "ms": 1e3 * t, "steps_equivalent": ratio, "share_of_training": share})
        print(f"{mode:<11} {1e3 * t:>9.1f} {ratio:>17.1f} {100 * share:>19.1f}%")
    write_json(args.json, {"machine": rates, "n": n, "batch": b, "threads": args.threads, "numpy_ms_per_step": 1e3 * t_numpy,
                           "steps": rows, "diagnostics": diag_rows, "quick": args.quick})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
