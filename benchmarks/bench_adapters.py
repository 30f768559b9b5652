"""Adapter benchmark (study F): steps per second of every adapter, and the cost of the SVD-based initializations.

On one ``n x n`` linear layer (default 1024 x 1024, batch 256, squared loss, SGD), on the
selected backend (``--backend numpy|cupy``):

1. **Steps per second** of ``lowrank_lab.adapters.finetune`` (the whole loop: batch
   sampling, merged weights, analytic gradient, pullback, optimizer, driver) for every
   adapter of the lab at a comparable size, as **ratios to LoRA at r = 16 measured in the
   same run** (LoRA is the peer: every variant is a LoRA with something added), plus the
   optimizer transforms LoRA-Pro (Sylvester ``X``) and ALLoRA on LoRA's factors.
   The machine's matmul rate is printed for scale, with each step's achieved GFLOP/s for
   the LoRA step.
2. **Initialization cost** of PiSSA, LoRA-SB, EVA and CorDA: exact SVD against the
   randomized SVD (Halko et al.; PEFT's ``pissa_niter_K``), as the ratio exact /
   randomized, with the overlap of the two top-``r`` subspaces (1 = identical).

Usage::

    python benchmarks/bench_adapters.py --quick         # 512 x 512, batch 128, seconds
    python benchmarks/bench_adapters.py                 # 1024 x 1024, batch 256
    python benchmarks/bench_adapters.py --backend cupy  # on a GPU
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import add_backend_argument, machine_rates, sync, timeit, write_json  # noqa: E402

from lowrank_lab import backend  # noqa: E402
from lowrank_lab import adapters as A  # noqa: E402

LR = 1e-3


class _CachedInit:
    """An adapter's ``init`` computed once (the initialization's cost is measured separately, below)."""

    def __init__(self, init):
        self.init, self.state = init, None

    def __call__(self, W0, rng=None):
        if self.state is None:
            self.state = self.init(W0, rng)
        return self.state


def _runner(model, task, adapter, optimizer, xp, batch: int):
    """A function ``run(k) -> per-step seconds`` of one ``finetune`` run of ``k`` steps.

    The steps are timed by the callback (called once per step), so each duration covers one
    whole step of the loop (batch, merge, gradient, pullback, optimizer, driver); the
    adapter's initialization is computed once and reused.
    """
    adapter = dataclasses.replace(adapter, init=_CachedInit(adapter.init))

    def run(k: int) -> list[float]:
        stamps = []

        def tick(t, it):
            sync(xp)
            stamps.append(time.perf_counter())

        A.finetune(model, task, adapter, optimizer, steps=k, batch_size=batch, record_every=k, check_every=k,
                   diagnostics="none", rng=0, callback=tick)
        return list(np.diff(stamps))

    run(2)  # warm-up (and the one initialization)
    return run


def bench_pair(model, task, peer, contender, xp, steps: int, batch: int, repeat: int) -> tuple[float, float]:
    """Median seconds per step of the peer and of the contender, timed **interleaved**.

    ``repeat`` rounds, each timing a run of ``steps`` steps of both: the median over all
    timed steps is robust to the load spikes of a shared machine, and interleaving keeps
    slow drifts out of the ratio.
    """
    runs = [_runner(model, task, a, opt, xp, batch) for a, opt in (peer, contender)]
    times: list[list[float]] = [[], []]
    for _ in range(repeat):
        for i, run in enumerate(runs):
            times[i] += run(steps)
    return float(np.median(times[0])), float(np.median(times[1]))


def adapters_to_time(n: int, r: int, task) -> list[tuple[str, object, object]]:
    X = task.X_train
    G = A.gradient_estimate(A.linear(n, n), task.W0, X[:256], task.Y_train[:256])["W"]
    C = A.activation_covariance(X)
    s = 8.0 / r
    return [
        ("lora", A.lora(r), A.sgd(LR)),
        ("full", A.full(), A.sgd(LR)),
        ("pissa", A.pissa(r), A.sgd(LR)),
        ("dora", A.dora(r), A.sgd(LR)),
        ("orthogonal_lora", A.orthogonal_lora(r), A.sgd(LR)),
        ("eva", A.eva(r, X), A.sgd(LR)),
        ("corda", A.corda(r, C), A.sgd(LR)),
        ("lora_xs", A.lora_xs(r), A.sgd(LR)),
        ("lora_sb", A.lora_sb(r, G), A.sgd(LR)),
        ("svfit", A.svfit(r), A.sgd(LR)),
        ("loldu", A.loldu(r), A.sgd(LR)),
        ("vera r=256", A.vera(256), A.sgd(LR)),
        ("nola k=l=256", A.nola(r, 256, 256), A.sgd(LR)),
        ("randlora r=64", A.randlora(64), A.sgd(LR)),
        ("dylora", A.dylora(r), A.sgd(LR)),
        ("maestro", A.maestro(r), A.sgd(LR)),
        ("lora + lora_pro", A.lora(r), A.chain(A.lora_pro(s), A.sgd(LR))),
        ("lora + allora", A.lora(r, alpha=float(r)), A.chain(A.allora(100.0), A.sgd(LR))),
    ]


def _overlap(U1, U2) -> float:
    U1, U2 = np.asarray(backend.to_numpy(U1)), np.asarray(backend.to_numpy(U2))
    return float(np.sum((U1.T @ U2) ** 2) / U1.shape[1])


def bench_inits(task, r: int, xp) -> list[dict]:
    n = task.W0["W"].shape[0]
    W0 = task.W0["W"]
    X = task.X_train
    G = A.gradient_estimate(A.linear(n, n), task.W0, X[:256], task.Y_train[:256])["W"]
    C = A.activation_covariance(X)
    makers = {
        "pissa": (lambda svd: A.pissa(r, svd=svd), lambda st: st.frozen["B0"]),
        "lora_sb": (lambda svd: A.lora_sb(r, G, svd=svd), lambda st: st.frozen["B"]),
        "eva": (lambda svd: A.eva(r, X, svd=svd), lambda st: st.params["A"].T),
        "corda": (lambda svd: A.corda(r, C, svd=svd), lambda st: st.frozen["B0"]),
    }
    rows = []
    for name, (make, basis) in makers.items():
        out = {}
        for svd in ("exact", "randomized"):
            adapter = make(svd)
            t = timeit(lambda: adapter.init(W0, 0), xp, repeat=3)["best_s"]
            Q = np.linalg.qr(np.asarray(backend.to_numpy(basis(adapter.init(W0, 0)))))[0]
            out[svd] = (t, Q)
        rows.append({"init": name, "exact_ms": 1e3 * out["exact"][0], "randomized_ms": 1e3 * out["randomized"][0],
                     "speedup": out["exact"][0] / out["randomized"][0],
                     "subspace_overlap": _overlap(out["exact"][1], out["randomized"][1])})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_backend_argument(parser)
    parser.add_argument("--quick", action="store_true", help="512 x 512 layer, batch 128, short timings")
    parser.add_argument("--n", type=int, default=None, help="layer size (default 1024, quick 512)")
    parser.add_argument("--rank", type=int, default=16, help="rank of the LoRA-like adapters (default 16)")
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (default: the library's own)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=args.threads)
    xp = backend.get_namespace(args.backend)
    n = args.n or (512 if args.quick else 1024)
    b = 128 if args.quick else 256
    N = 8 * b
    steps = 6
    repeat = 6 if args.quick else 8
    r = args.rank
    rates = machine_rates(xp, n=1024 if args.quick else 2048, copy_mb=64 if args.quick else 256)
    print(f"backend {rates['backend']} | cpu {rates['cpu']} | matmul {rates['matmul_gflops']:.1f} GFLOP/s | "
          f"copy {rates['copy_gbs']:.1f} GB/s (read + write)")
    print(f"layer {n} x {n}, batch {b}, pool of {N} samples, SGD, rank {r}; peer: LoRA r = {r} in the same run")
    model = A.linear(n, n)
    task = A.linear_task(n, rank=8, norm=0.4, n_train=N, n_test=64, rng=0, xp=xp)
    print()
    print(f"{'adapter':<18} {'trainable':>10} {'ms/step':>9} {'steps/s':>9} {'LoRA / ours':>12} {'LoRA ms':>9}")
    rows = []
    contenders = adapters_to_time(n, r, task)
    peer = contenders[0][1:]
    lora_times = []
    for name, adapter, opt in contenders:
        t_lora, t = bench_pair(model, task, peer, (adapter, opt), xp, steps, b, repeat)
        lora_times.append(t_lora)
        P = adapter.num_params((n, n))
        rows.append({"adapter": name, "trainable": int(P), "ms_per_step": 1e3 * t, "steps_per_s": 1 / t,
                     "lora_ms_per_step": 1e3 * t_lora, "lora_time_over_ours": t_lora / t})
        print(f"{name:<18} {P:>10d} {1e3 * t:>9.2f} {1 / t:>9.1f} {t_lora / t:>11.2f}x {1e3 * t_lora:>9.2f}",
              flush=True)
    t_lora = float(np.median(lora_times))
    flops = 2.0 * b * n * n + 2.0 * n * n * r + 2.0 * 2 * b * r * (2 * n)
    print(f"(LoRA / ours: LoRA's time per step divided by the adapter's, timed interleaved with it; < 1 means "
          f"slower than LoRA; the first row, LoRA against itself, shows the measurement's noise. LoRA's step, median {1e3 * t_lora:.1f} ms: {flops / t_lora / 1e9:.1f} GFLOP/s = "
          f"{flops / t_lora / 1e9 / rates['matmul_gflops']:.2f} of the matmul rate)")
    print()
    print(f"Initialization at rank {r}: exact SVD against the randomized SVD")
    print(f"{'init':<10} {'exact ms':>10} {'randomized ms':>14} {'speed-up':>9} {'overlap':>8}")
    inits = bench_inits(task, r, xp)
    for row in inits:
        print(f"{row['init']:<10} {row['exact_ms']:>10.1f} {row['randomized_ms']:>14.1f} {row['speedup']:>8.2f}x "
              f"{row['subspace_overlap']:>8.4f}")
    print("(overlap: ||Q_exact^T Q_randomized||_F^2 / r of the two top-r bases; EVA: of the activations' components)")
    write_json(args.json, {"machine": rates, "n": n, "batch": b, "rank": r, "steps": rows, "inits": inits,
                           "quick": args.quick})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
