"""Randomized SVD: lowrank_lab vs scikit-learn vs a full LAPACK SVD, in one run.

Problem: A = U diag(s) V^T, 4096 x 4096, random orthogonal U, V and a decaying
spectrum s_i = i^-1 (known exactly, so errors are measured against the truth).
Task: top-50 singular triplets with the same oversampling (10) and power
iterations (7, scikit-learn's "auto" for this rank) for both randomized methods.

Reported, all measured in this run:
* time (best of ``--repeat``) and the ratio lowrank_lab / scikit-learn (target <= 1.0);
* max relative error of the top-50 singular values, median over seeds (target: <= scikit-learn's),
  and the agreement of the two when lowrank_lab is fed scikit-learn's own test matrix
  (single seeds differ by up to ~10x in either direction, only because the random
  test matrices differ);
* achieved GFLOP/s of the products with A against this machine's measured matmul rate;
* numpy.linalg.svd (the exact peer) time and its error.

Usage::

    python benchmarks/bench_svd.py                  # 4096 x 4096 (about 2 min on 2 cores, incl. the full SVD)
    python benchmarks/bench_svd.py --quick          # 1024 x 1024
    python benchmarks/bench_svd.py --backend cupy   # lowrank_lab on the GPU (peers stay on the host)
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import add_backend_argument, machine_rates, sync, timeit, write_json  # noqa: E402

from lowrank_lab import backend  # noqa: E402
from lowrank_lab.linalg import randomized_svd, randomized_svd_operator  # noqa: E402


def make_problem(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    U = np.linalg.qr(rng.standard_normal((n, n)))[0]
    V = np.linalg.qr(rng.standard_normal((n, n)))[0]
    s = 1.0 / np.arange(1, n + 1)
    return np.ascontiguousarray((U * s) @ V.T), s


def top_error(estimate: np.ndarray, truth: np.ndarray) -> float:
    return float(np.max(np.abs(estimate - truth) / truth))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_backend_argument(parser)
    parser.add_argument("--quick", action="store_true", help="1024 x 1024 instead of 4096 x 4096")
    parser.add_argument("--n", type=int, default=None, help="matrix size (overrides --quick)")
    parser.add_argument("--rank", type=int, default=50)
    parser.add_argument("--oversamples", type=int, default=10)
    parser.add_argument("--power-iter", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=20, help="seeds for the accuracy comparison")
    parser.add_argument("--skip-full-svd", action="store_true", help="do not time numpy.linalg.svd")
    args = parser.parse_args(argv)

    from sklearn.utils.extmath import randomized_svd as sk_randomized_svd  # peer, benchmark-only

    n = args.n or (1024 if args.quick else 4096)
    k, p, q = args.rank, args.oversamples, args.power_iter
    xp = backend.get_namespace(args.backend)
    rates = machine_rates(xp)
    host_rates = rates if args.backend == "numpy" else machine_rates()

    A_host, s = make_problem(n)
    truth = s[:k]
    A = backend.asarray(A_host, xp=xp)

    ours_t = timeit(lambda: randomized_svd(A, k, n_oversamples=p, n_power_iter=q, rng=0), xp, repeat=args.repeat)
    sk_t = timeit(
        lambda: sk_randomized_svd(A_host, k, n_oversamples=p, n_iter=q, random_state=0),
        repeat=args.repeat,
    )
    ours_err, sk_err, same_omega_gap = [], [], []
    At = backend.array_namespace(A).matrix_transpose(A)
    for seed in range(args.seeds):
        res = randomized_svd(A, k, n_oversamples=p, n_power_iter=q, rng=seed)
        sync(xp)
        ours_err.append(top_error(backend.to_numpy(res.S), truth))
        _, s_sk, _ = sk_randomized_svd(A_host, k, n_oversamples=p, n_iter=q, random_state=seed)
        sk_err.append(top_error(s_sk, truth))
        # the same algorithm fed scikit-learn's own Gaussian test matrix (start = A @ Omega)
        omega = np.random.RandomState(seed).normal(size=(n, k + p))
        twin = randomized_svd_operator(lambda X: A @ X, lambda Y: At @ Y, (n, n), k, like=A, n_oversamples=p,
                                       n_power_iter=q, start=A @ backend.asarray(omega, like=A))
        same_omega_gap.append(float(np.max(np.abs(backend.to_numpy(twin.S) - s_sk) / s_sk)))

    flops = 2.0 * n * n * (k + p) * (2 * q + 2)  # the products with A and A^T dominate
    out = {
        "n": n, "rank": k, "oversamples": p, "power_iter": q, "backend": args.backend,
        "machine_matmul_gflops": rates["matmul_gflops"], "machine_copy_gbs": rates["copy_gbs"],
        "ours_s": ours_t["best_s"], "sklearn_s": sk_t["best_s"],
        "ratio_ours_over_sklearn": ours_t["best_s"] / sk_t["best_s"],
        "ours_gflops": flops / ours_t["best_s"] / 1e9, "sklearn_gflops": flops / sk_t["best_s"] / 1e9,
        "ours_err_median": statistics.median(ours_err), "sklearn_err_median": statistics.median(sk_err),
        "ours_err_all": ours_err, "sklearn_err_all": sk_err,
        "same_test_matrix_max_rel_diff": max(same_omega_gap),
    }
    if not args.skip_full_svd:
        full_t = timeit(lambda: np.linalg.svd(A_host, compute_uv=True), repeat=1, warmup=0)
        s_full = np.linalg.svd(A_host, compute_uv=False)[:k]
        out["numpy_svd_s"] = full_t["best_s"]
        out["numpy_svd_err"] = top_error(s_full, truth)
        out["speedup_vs_full_svd"] = full_t["best_s"] / ours_t["best_s"]

    print(f"randomized SVD, {n} x {n}, rank {k}, oversamples {p}, power iterations {q}, backend {args.backend}")
    print(f"machine: matmul {rates['matmul_gflops']:.1f} GFLOP/s, copy {rates['copy_gbs']:.1f} GB/s ({args.backend})")
    if args.backend != "numpy":
        print(f"host:    matmul {host_rates['matmul_gflops']:.1f} GFLOP/s")
    print(f"{'method':<28}{'time [s]':>10}{'GFLOP/s':>10}{'% matmul':>10}{'max rel err (median)':>24}")
    peak = rates["matmul_gflops"]
    print(f"{'lowrank_lab.randomized_svd':<28}{out['ours_s']:>10.3f}{out['ours_gflops']:>10.1f}"
          f"{100 * out['ours_gflops'] / peak:>9.0f}%{out['ours_err_median']:>24.2e}")
    print(f"{'sklearn randomized_svd':<28}{out['sklearn_s']:>10.3f}{out['sklearn_gflops']:>10.1f}"
          f"{100 * out['sklearn_gflops'] / host_rates['matmul_gflops']:>9.0f}%{out['sklearn_err_median']:>24.2e}")
    if "numpy_svd_s" in out:
        print(f"{'numpy.linalg.svd (full)':<28}{out['numpy_svd_s']:>10.3f}{'':>10}{'':>10}{out['numpy_svd_err']:>24.2e}")
    print(f"time ratio lowrank_lab / scikit-learn: {out['ratio_ours_over_sklearn']:.2f} (target <= 1.0)")
    print(f"accuracy: median over {args.seeds} seeds {out['ours_err_median']:.2e} vs {out['sklearn_err_median']:.2e} "
          f"(ratio {out['ours_err_median'] / out['sklearn_err_median']:.2f}; single seeds differ by up to ~10x because "
          f"the Gaussian test matrices differ)")
    print(f"same test matrix as scikit-learn: singular values agree to {out['same_test_matrix_max_rel_diff']:.1e} "
          f"(max relative difference over seeds): the two methods are equally accurate")
    write_json(args.json, out)
    return out


if __name__ == "__main__":
    main()
