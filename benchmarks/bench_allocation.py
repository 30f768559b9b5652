"""Rank-allocation benchmark (study I): the per-step overhead of each allocation method against uniform LoRA.

On ``L`` independent ``n x n`` linear layers trained as one model (default 8 layers of
256 x 256, batch 256, squared loss; ``lowrank_lab.adapters.allocation_trials.independent_linear``),
on the selected backend (``--backend numpy|cupy``): seconds per step of
``lowrank_lab.adapters.finetune`` (the whole loop: batch, merged weights, analytic
gradients, pullback, optimizer, allocator, driver) for every allocation method **at equal
total rank** (``r`` components per layer), as **ratios to uniform LoRA (rank ``r`` per
layer, Adam) measured in the same run, interleaved**:

* AdaLoRA: SVD-form ``P diag(E) Q``, orthogonality penalty (PEFT's form), importance EMAs
  of every parameter and a global top-b mask at every step (``delta_t = 1``); also with
  PEFT's ``init_r = 1.5 target_r`` (the step then carries 1.5 r components);
* SoRA: gated ``B diag(g) A`` with proximal gradient descent (its own optimizer: SGD),
  whose peer row is LoRA with SGD;
* IncreLoRA: ``r`` reserved triplets per layer, growth every 10 steps;
* Maestro (ordered dropout): a random truncation per layer and step.

Usage::

    python benchmarks/bench_allocation.py --quick         # 8 layers of 128 x 128, seconds
    python benchmarks/bench_allocation.py                 # 8 layers of 256 x 256
    python benchmarks/bench_allocation.py --backend cupy  # on a GPU
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_adapters import bench_pair  # noqa: E402
from machine import add_backend_argument, machine_rates, write_json  # noqa: E402

from lowrank_lab import backend  # noqa: E402
from lowrank_lab import adapters as A  # noqa: E402
from lowrank_lab.adapters import allocation_trials as T  # noqa: E402

LR = 1e-3


def contenders(L: int, r: int, steps_total: int) -> list[tuple[str, object, object, tuple]]:
    """``(name, adapter, optimizer, peer)``: every method at ``r`` components per layer."""
    lora_adam = (A.lora(r, alpha=2.0 * r), A.adam(LR))
    lora_sgd = (A.lora(r, alpha=2.0 * r), A.sgd(LR))
    r15 = max(r + 1, (3 * r) // 2)
    ada = A.adalora_allocator(A.chain(A.orthogonality_penalty(0.5), A.adam(LR)), target_budget=L * r,
                              total_steps=steps_total, t_init=0, t_final=0)
    ada15 = A.adalora_allocator(A.chain(A.orthogonality_penalty(0.5), A.adam(LR)), target_budget=L * r,
                                total_steps=steps_total, t_init=0, t_final=0)
    incre = A.increlora_allocator(A.chain(A.orthogonality_penalty(0.5), A.adam(LR)), budget=L * r, interval=10,
                                  score="reserve")
    return [
        ("uniform LoRA (Adam)", *lora_adam, lora_adam),
        ("AdaLoRA", A.adalora(r, alpha=float(r)), ada, lora_adam),
        (f"AdaLoRA init_r={r15}", A.adalora(r15, alpha=float(r15)), ada15, lora_adam),
        ("IncreLoRA", A.increlora(r), incre, lora_adam),
        ("Maestro", A.maestro(r), A.adam(LR), lora_adam),
        ("uniform LoRA (SGD)", *lora_sgd, lora_sgd),
        ("SoRA (proximal SGD)", A.sora(r), A.sora_optimizer(LR, 0.01, weight_decay=0.01), lora_sgd),
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_backend_argument(parser)
    parser.add_argument("--quick", action="store_true", help="8 layers of 128 x 128, batch 128, short timings")
    parser.add_argument("--n", type=int, default=None, help="layer size (default 256, quick 128)")
    parser.add_argument("--layers", type=int, default=8, help="number of independent layers (default 8)")
    parser.add_argument("--rank", type=int, default=8, help="components per layer (default 8)")
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (default: the library's own)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=args.threads)
    xp = backend.get_namespace(args.backend)
    n = args.n or (128 if args.quick else 256)
    L, r = args.layers, args.rank
    b = 128 if args.quick else 256
    steps, repeat = 6, (5 if args.quick else 8)
    rates = machine_rates(xp, n=1024 if args.quick else 2048, copy_mb=64 if args.quick else 256)
    print(f"backend {rates['backend']} | cpu {rates['cpu']} | matmul {rates['matmul_gflops']:.1f} GFLOP/s | "
          f"copy {rates['copy_gbs']:.1f} GB/s (read + write)")
    print(f"{L} independent layers of {n} x {n}, batch {b}, {r} components per layer (total rank {L * r}); "
          f"peer: uniform LoRA r = {r} in the same run")
    model, task, _ = T.allocation_task(0, ranks=tuple(min(r, n) for _ in range(L)), n=n, n_train=8 * b, n_test=64)
    if not backend.is_numpy(xp):
        task = type(task)(**{f: (backend.asarray(getattr(task, f), xp=xp) if hasattr(getattr(task, f), "shape")
                                 else ({k: backend.asarray(v, xp=xp) for k, v in getattr(task, f).items()}
                                       if f in ("W0", "delta_star") else getattr(task, f)))
                             for f in task.__dataclass_fields__})
    print()
    print(f"{'method':<22} {'trainable':>10} {'ms/step':>9} {'peer ms':>9} {'ours / peer':>12}")
    rows = []
    shapes = {k: (n, n) for k in model.matrices}
    for name, adapter, opt, peer in contenders(L, r, 10_000):
        t_peer, t = bench_pair(model, task, peer, (adapter, opt), xp, steps, b, repeat)
        P = int(A.as_model_adapter(adapter, model).num_params(shapes))
        rows.append({"method": name, "trainable": P, "ms_per_step": 1e3 * t, "peer_ms_per_step": 1e3 * t_peer,
                     "overhead": t / t_peer})
        print(f"{name:<22} {P:>10d} {1e3 * t:>9.2f} {1e3 * t_peer:>9.2f} {t / t_peer:>11.2f}x", flush=True)
    print("(ours / peer: the method's median time per step divided by uniform LoRA's with the same optimizer, timed "
          "interleaved; the uniform rows, LoRA against itself, show the measurement's noise)")
    write_json(args.json, {"machine": rates, "n": n, "layers": L, "rank": r, "batch": b, "rows": rows,
                           "quick": args.quick})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
