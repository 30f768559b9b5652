"""Intrinsic-dimension benchmark: projected gradient steps (dense, sparse, Fastfood) and the data estimators.

One run measures, on the selected backend (``--backend numpy|cupy``):

1. **One projected gradient step** ``g_z = P^T g`` then ``theta = theta_0 + P z``
   (one ``adjoint`` and one ``apply``, what subspace training does per step) for
   the dense, sparse and Fastfood projections of :mod:`lowrank_lab.intrinsic`, as
   ``D`` grows from 2^10 to 2^20 at fixed ``d`` (default 256):

   * time (best of ``--repeat``; BLAS single-threaded by default, ``--blas-threads``:
     the dense products are memory-bound, and on a busy machine a second OpenBLAS
     thread made a 4096 x 256 matrix-vector product 100x slower) and the operator's
     memory, with the ratios
     sparse / dense and Fastfood / dense measured in this run (the dense
     projection is the peer: the textbook ``D x d`` matrix; it is skipped, and
     its memory computed, where it would exceed ``--dense-max-mb``);
   * Fastfood against the **memory-bandwidth floor** of its four transforms of
     length ``L = 2^ceil(log2 D)``: each ``log2 L`` passes reading and writing the
     vector, ``4 * log2(L) * 2 * 8 L`` bytes at the copy rate measured here by
     ``benchmarks/machine.py`` (a cache-blocked transform can beat this floor);
   * one FWHT of length ``L`` alone: :func:`lowrank_lab.linalg.fwht` against the
     textbook NumPy butterfly (split and concatenate per stage, as in Li et al.'s
     reference code) and against the floor.
2. **TwoNN and MLE** on the same ``10^4`` points in 50 dimensions (a 5-sphere,
   randomly rotated): time of :func:`lowrank_lab.intrinsic.twonn` /
   :func:`~lowrank_lab.intrinsic.mle` against scikit-dimension's ``TwoNN`` and
   ``MLE`` (k = 20, harmonic mean), after checking that the estimates are equal
   (relative difference printed; the timing is only meaningful at equal estimates).

Peers: the dense projection and the textbook butterfly are written here;
scikit-dimension is benchmark-only (``pip install --no-deps -r
benchmarks/requirements-peers.txt``); without it that row is skipped.

Usage::

    python benchmarks/bench_intrinsic.py --quick      # D up to 2^16, 2000 points
    python benchmarks/bench_intrinsic.py              # D up to 2^20, 10^4 points (a few minutes)
    python benchmarks/bench_intrinsic.py --backend cupy
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import add_backend_argument, machine_rates, sync, timeit, write_json  # noqa: E402

from lowrank_lab import backend, linalg  # noqa: E402
from lowrank_lab.intrinsic import make_projection, manifolds, mle, twonn  # noqa: E402


def textbook_fwht(x: np.ndarray) -> np.ndarray:
    """The split-and-concatenate butterfly (one new array per stage), the usual NumPy transcription."""
    length = x.shape[0]
    y = x.reshape([2] * int(math.log2(length)))
    for axis in range(y.ndim):
        a, b = np.split(y, 2, axis=axis)
        y = np.concatenate((a + b, a - b), axis=axis)
    return y.reshape(length)


def fwht_floor_s(length: int, copy_gbs: float) -> float:
    """log2(L) passes, each reading and writing L float64: the bandwidth floor of one transform."""
    return math.log2(length) * 2 * 8 * length / (copy_gbs * 1e9) if length > 1 else 0.0


def bench_steps(xp, sizes, d, repeat, dense_max_mb, copy_gbs):
    rows = []
    for D in sizes:
        L = 1 << (D - 1).bit_length()
        gen = np.random.default_rng(D)
        g = backend.asarray(gen.standard_normal(D), xp=xp)
        theta0 = backend.asarray(gen.standard_normal(D), xp=xp)
        row = {"D": D, "L": L, "d": d}
        for kind in ("dense", "sparse", "fastfood"):
            if kind == "dense" and D * d * 8 > dense_max_mb * 2**20:
                row["dense_s"] = math.nan
                row["dense_bytes"] = D * d * 8  # what it would hold
                continue
            t0 = time.perf_counter()
            P = make_projection(kind, D, d, rng=0, xp=xp)
            sync(xp)
            row[f"{kind}_build_s"] = time.perf_counter() - t0

            def step(P=P, g=g, theta0=theta0):
                z = P.adjoint(g)
                return theta0 + P.apply(z)

            row[f"{kind}_s"] = timeit(step, xp, repeat=repeat)["best_s"]
            row[f"{kind}_bytes"] = P.nbytes
            del P
        row["sparse_over_dense_time"] = row["sparse_s"] / row["dense_s"]
        row["fastfood_over_dense_time"] = row["fastfood_s"] / row["dense_s"]
        row["sparse_over_dense_memory"] = row["sparse_bytes"] / row["dense_bytes"]
        row["fastfood_over_dense_memory"] = row["fastfood_bytes"] / row["dense_bytes"]
        row["fastfood_floor_s"] = 4 * fwht_floor_s(L, copy_gbs)
        row["fastfood_over_floor"] = row["fastfood_s"] / row["fastfood_floor_s"]
        x = backend.asarray(np.random.default_rng(1).standard_normal(L), xp=xp)
        row["fwht_s"] = timeit(lambda x=x: linalg.fwht(x), xp, repeat=repeat)["best_s"]
        row["fwht_floor_s"] = fwht_floor_s(L, copy_gbs)
        host = backend.to_numpy(x)
        row["textbook_fwht_s"] = timeit(lambda host=host: textbook_fwht(host), repeat=max(1, repeat // 2))["best_s"]
        rows.append(row)
        print(f"D=2^{int(math.log2(D)):<3d}"
              f"{_fmt(row['dense_s']):>11}{_fmt(row['sparse_s']):>11}{_fmt(row['fastfood_s']):>11}"
              f"{row['sparse_over_dense_time']:>9.2f}{row['fastfood_over_dense_time']:>9.2f}"
              f"{_mb(row['dense_bytes']):>11}{_mb(row['sparse_bytes']):>11}{_mb(row['fastfood_bytes']):>11}"
              f"{row['fastfood_over_floor']:>10.2f}"
              f"{_fmt(row['fwht_s']):>11}{row['fwht_s'] / row['fwht_floor_s']:>8.2f}"
              f"{row['textbook_fwht_s'] / row['fwht_s']:>11.1f}", flush=True)
    return rows


def _fmt(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "skipped"
    return f"{seconds * 1e3:.3g} ms"


def _mb(nbytes: float) -> str:
    return f"{nbytes / 2**20:.3g} MB"


def bench_estimators(xp, n, repeat):
    sample = manifolds.hypersphere(n, 5, ambient_dim=50, rng=0)
    X_host = sample.points
    X = backend.asarray(X_host, xp=xp)
    out = {"n": n, "ambient_dim": 50, "true_dimension": 5}
    ours = {"twonn": lambda: twonn(X), "mle": lambda: mle(X)}
    for name, fn in ours.items():
        out[f"{name}_estimate"] = float(fn())
        out[f"{name}_s"] = timeit(fn, xp, repeat=repeat, warmup=1)["best_s"]
    try:
        import skdim  # noqa: PLC0415
    except ImportError:
        print("scikit-dimension not installed: peer rows skipped (pip install --no-deps -r benchmarks/requirements-peers.txt)")
        return out
    out["skdim_version"] = getattr(skdim, "__version__", "?")

    def sk_twonn():
        return skdim.id.TwoNN().fit(X_host).dimension_

    def sk_mle():
        est = skdim.id.MLE()
        est.fit(X_host)
        return est.dimension_

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, fn in {"twonn": sk_twonn, "mle": sk_mle}.items():
            out[f"skdim_{name}_estimate"] = float(fn())
            out[f"skdim_{name}_s"] = timeit(fn, repeat=max(1, repeat // 2), warmup=0)["best_s"]
            out[f"{name}_relative_difference"] = abs(out[f"{name}_estimate"] / out[f"skdim_{name}_estimate"] - 1)
            out[f"{name}_speedup"] = out[f"skdim_{name}_s"] / out[f"{name}_s"]
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_backend_argument(parser)
    parser.add_argument("--quick", action="store_true", help="D up to 2^16 and 2000 points")
    parser.add_argument("--d", type=int, default=256, help="subspace dimension of the step benchmark")
    parser.add_argument("--max-log2-D", type=int, default=None, help="largest D = 2^k (default 20, quick 16)")
    parser.add_argument("--points", type=int, default=None, help="points of the estimator benchmark (default 10^4)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dense-max-mb", type=float, default=256.0, help="skip dense projections larger than this")
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="BLAS threads during the step benchmark (default 1: the products with P are "
                             "memory-bound, and on a busy machine a second BLAS thread mostly waits)")
    args = parser.parse_args(argv)

    xp = backend.get_namespace(args.backend)
    rates = machine_rates(xp)
    top = args.max_log2_D or (16 if args.quick else 20)
    sizes = [1 << k for k in range(10, top + 1, 2)]
    if sizes[-1] != 1 << top:
        sizes.append(1 << top)
    n_points = args.points or (2000 if args.quick else 10_000)

    print(f"intrinsic-dimension benchmark, backend {args.backend}")
    print(f"machine: matmul {rates['matmul_gflops']:.1f} GFLOP/s, copy {rates['copy_gbs']:.1f} GB/s ({args.backend})")
    print(f"\n1. one projected gradient step (P^T g, then theta0 + P z), d = {args.d}; best of {args.repeat}")
    print(f"{'':8}{'dense':>11}{'sparse':>11}{'fastfood':>11}{'sp/dn':>9}{'ff/dn':>9}"
          f"{'mem dn':>11}{'mem sp':>11}{'mem ff':>11}{'ff/floor':>10}{'fwht':>11}{'/floor':>8}{'textbk/us':>11}")
    from threadpoolctl import threadpool_limits  # noqa: PLC0415

    with threadpool_limits(limits=args.blas_threads, user_api="blas"):
        steps = bench_steps(xp, sizes, args.d, args.repeat, args.dense_max_mb, rates["copy_gbs"])
    print("   sp/dn, ff/dn: time ratios to the dense projection (skipped: over --dense-max-mb; its memory is computed)")
    print("   ff/floor: Fastfood step over 4 x log2(L) passes of 2 x 8 L bytes at the copy rate;"
          " /floor: one FWHT over its floor; textbook/ours: the split-and-concatenate butterfly over linalg.fwht")

    print(f"\n2. TwoNN and MLE on {n_points} points of a 5-sphere in R^50 (k = 20, harmonic mean)")
    est = bench_estimators(xp, n_points, max(1, args.repeat // 2))
    for name in ("twonn", "mle"):
        line = f"   {name:<6} lowrank_lab {est[f'{name}_estimate']:.6f} in {est[f'{name}_s']:.3f} s"
        if f"skdim_{name}_s" in est:
            line += (f"; scikit-dimension {est[f'skdim_{name}_estimate']:.6f} in {est[f'skdim_{name}_s']:.3f} s"
                     f" (relative difference {est[f'{name}_relative_difference']:.1e}; speed-up {est[f'{name}_speedup']:.1f}x)")
        print(line)
    payload = {"backend": args.backend, "machine": rates, "steps": steps, "estimators": est}
    write_json(args.json, payload)
    return payload


if __name__ == "__main__":
    main()
