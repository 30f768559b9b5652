"""Matrix sensing benchmark: operator throughput and time per solver iteration.

Two tables, on the selected backend (``--backend numpy|cupy``):

1. **Operator.**  ``apply(X)`` (``A @ vec(X)``) and ``adjoint(y)`` (``A^T y``) of the
   stored ``m x n^2`` Gaussian operator: seconds per call and GB/s of operator data
   read, against the machine's copy bandwidth measured in the same run
   (``benchmarks/machine.py``; copy GB/s counts read + write).  A matrix-vector
   product only streams the operator in (no writes), so it can read faster than the
   copy rate: ``/copy`` around 1 or above means it runs at memory speed, well below 1
   that it is compute- or overhead-bound.  Peer: the textbook
   ``einsum('ijk,jk->i', A, X)`` on the 3-D view of the same data.
2. **Solvers.**  Seconds per iteration of each solver of ``lowrank_lab.sensing`` at
   n = 100, 200, 400 (rank 2, width 4; ``m = 5 n r`` measurements unless that would
   exceed ``--max-gb`` of operator memory, in which case ``m`` is capped and printed),
   plus the fully observed variant (no operator) for factored GD.

Usage::

    python benchmarks/bench_sensing.py --quick            # seconds, n = 100 only
    python benchmarks/bench_sensing.py                    # n = 100, 200, 400
    python benchmarks/bench_sensing.py --backend cupy --max-gb 8
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import add_backend_argument, machine_rates, sync, timeit, write_json  # noqa: E402

from lowrank_lab import backend  # noqa: E402
from lowrank_lab.matrices import low_rank_matrix  # noqa: E402
from lowrank_lab.sensing import fully_observed, gaussian_sensing  # noqa: E402
from lowrank_lab.sensing import factored_gd, nuclear_norm_pgd, scaled_gd, subgradient_l1  # noqa: E402

RANK = 2
WIDTH = 4


def _native(xp):
    """The backend's own module (for the einsum peer)."""
    if backend.is_cupy(xp):  # pragma: no cover - needs a GPU
        import cupy

        return cupy
    return np


def bench_operator(xp, n: int, max_bytes: int, repeat: int) -> dict:
    m = min(5 * n * RANK, max(1, max_bytes // (8 * n * n)))
    truth = low_rank_matrix(n, n, RANK, rng=0, xp=xp)
    problem = gaussian_sensing(truth, m, symmetric=False, rng=1, max_bytes=None)
    op = problem.operator
    X = truth.matrix
    y = problem.measurements
    t_apply = timeit(lambda: op.apply(X), xp, repeat=repeat)["best_s"]
    t_adj = timeit(lambda: op.adjoint(y), xp, repeat=repeat)["best_s"]
    native = _native(xp)
    A3 = native.asarray(op.matrix).reshape(m, n, n)
    Xn = native.asarray(X)
    t_peer = timeit(lambda: native.einsum("ijk,jk->i", A3, Xn), xp, repeat=repeat)["best_s"]
    gb = op.nbytes / 1e9
    return {"n": n, "m": m, "operator_mb": op.nbytes / 1e6, "apply_s": t_apply, "adjoint_s": t_adj,
            "apply_gbs": gb / t_apply, "adjoint_gbs": gb / t_adj, "peer_einsum_s": t_peer,
            "speedup_vs_einsum": t_peer / t_apply, "_problem": problem}


def bench_solvers(xp, problem, min_time: float, max_iter: int) -> list[dict]:
    rows = []
    runs = {
        "factored_gd (sym)": lambda k: factored_gd(problem, WIDTH, parameterization="symmetric", max_iter=k, tol=0.0,
                                                   step_size=0.05, history_stride=max(k, 1), rng=0),
        "factored_gd (asym)": lambda k: factored_gd(problem, WIDTH, parameterization="asymmetric", max_iter=k,
                                                    tol=0.0, step_size=0.05, history_stride=max(k, 1), rng=0),
        "scaled_gd": lambda k: scaled_gd(problem, WIDTH, parameterization="asymmetric", max_iter=k, tol=0.0,
                                         step_size=0.1, history_stride=max(k, 1), rng=0, damping=1e-3),
        "subgradient_l1": lambda k: subgradient_l1(problem, WIDTH, parameterization="symmetric", max_iter=k,
                                                   tol=0.0, history_stride=max(k, 1), rng=0),
        "nuclear_norm_pgd": lambda k: nuclear_norm_pgd(problem, max_iter=k, tol=0.0, step_size=0.05,
                                                       history_stride=max(k, 1)),
    }
    full = fully_observed(problem.truth)
    runs["factored_gd (asym, full)"] = lambda k: factored_gd(full, WIDTH, parameterization="asymmetric", max_iter=k,
                                                              tol=0.0, history_stride=max(k, 1), rng=0)
    for name, run in runs.items():
        run(2)  # warm-up
        sync(xp)
        k = 4
        while True:
            t0 = time.perf_counter()
            res = run(k)
            sync(xp)
            elapsed = time.perf_counter() - t0
            if elapsed >= min_time or k >= max_iter:
                break
            k = min(max_iter, max(2 * k, int(k * min_time / max(elapsed, 1e-9) * 1.2)))
        rows.append({"n": problem.shape[0], "m": problem.n_measurements, "solver": name, "iterations": res.n_iter,
                     "ms_per_iter": 1e3 * elapsed / max(res.n_iter, 1), "stop_reason": res.stop_reason})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_backend_argument(parser)
    parser.add_argument("--quick", action="store_true", help="n = 100 only, small operator, short timings")
    parser.add_argument("--sizes", type=int, nargs="*", default=None, help="matrix sizes n (default 100 200 400)")
    parser.add_argument("--max-gb", type=float, default=None,
                        help="cap on operator memory in GB (default 1, quick 0.1); m is reduced to fit")
    args = parser.parse_args(argv)
    xp = backend.get_namespace(args.backend)
    sizes = args.sizes or ([100] if args.quick else [100, 200, 400])
    max_gb = args.max_gb if args.max_gb is not None else (0.1 if args.quick else 1.0)
    max_bytes = int(max_gb * 1e9)
    repeat = 3 if args.quick else 7
    min_time = 0.3 if args.quick else 1.5
    max_iter = 50 if args.quick else 2000

    rates = machine_rates(xp, n=1024 if args.quick else 2048, copy_mb=64 if args.quick else 256)
    print(f"backend {rates['backend']} | cpu {rates['cpu']} | matmul {rates['matmul_gflops']:.1f} GFLOP/s | "
          f"copy {rates['copy_gbs']:.1f} GB/s (read + write)")
    print()
    print("Operator apply / adjoint (GB/s of operator data read; ratio vs copy bandwidth; peer: einsum)")
    header = f"{'n':>5} {'m':>6} {'MB':>8} {'apply ms':>9} {'GB/s':>7} {'/copy':>6} {'adj ms':>8} {'GB/s':>7} " \
             f"{'/copy':>6} {'einsum ms':>10} {'speedup':>8}"
    print(header)
    op_rows, solver_rows = [], []
    for n in sizes:
        row = bench_operator(xp, n, max_bytes, repeat)
        problem = row.pop("_problem")
        op_rows.append(row)
        print(f"{n:>5} {row['m']:>6} {row['operator_mb']:>8.1f} {1e3 * row['apply_s']:>9.3f} {row['apply_gbs']:>7.2f} "
              f"{row['apply_gbs'] / rates['copy_gbs']:>6.2f} {1e3 * row['adjoint_s']:>8.3f} {row['adjoint_gbs']:>7.2f} "
              f"{row['adjoint_gbs'] / rates['copy_gbs']:>6.2f} {1e3 * row['peer_einsum_s']:>10.3f} "
              f"{row['speedup_vs_einsum']:>7.1f}x")
        solver_rows.extend(bench_solvers(xp, problem, min_time, max_iter))
        del problem
    print()
    print(f"Solvers: time per iteration (rank {RANK}, width {WIDTH}; 'full' = fully observed, no operator)")
    print(f"{'n':>5} {'m':>6} {'solver':<26} {'iters':>6} {'ms/iter':>9}")
    for r in solver_rows:
        print(f"{r['n']:>5} {r['m']:>6} {r['solver']:<26} {r['iterations']:>6} {r['ms_per_iter']:>9.3f}")
    write_json(args.json, {"machine": rates, "operator": op_rows, "solvers": solver_rows, "quick": args.quick})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
