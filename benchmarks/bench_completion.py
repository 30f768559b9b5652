"""Matrix completion benchmark: AltMin against a textbook loop and fancyimpute, scaling, MovieLens.

One run measures, on the selected backend (``--backend numpy|cupy``):

1. **Per-sweep time** of :func:`lowrank_lab.completion.altmin` (exact normal
   equations, and 2 warm-started CG steps) on a 2000 x 2000 rank-10 problem with
   10% observed entries, against

   * the **textbook NumPy AltMin**: a Python loop over rows and columns calling
     ``numpy.linalg.lstsq`` on the gathered factor rows (same initialization);
   * the **roofline floor**: ``max(gather time, flop time)`` with the factor-row
     gather ``2 |Omega| k * 8`` bytes per sweep at the machine's copy bandwidth and
     ``2 * 2 |Omega| k^2`` flops per sweep at its matmul rate (both measured in this
     run by ``benchmarks/machine.py``);

   and the achieved GFLOP/s (operation count of the kernels actually run,
   ``result.params["ops_per_sweep"]``) against the machine's matmul rate.  On
   NumPy the exact solve is also timed with one thread and on the SciPy path
   (``LOWRANK_NUMBA=0``), to show what the compiled kernel and the threads each add.
2. **Time to the same relative error**: AltMin and the textbook loop to 1e-6,
   and AltMin against fancyimpute's ``SoftImpute`` to fancyimpute's own final error.
   fancyimpute runs with ``max_rank=10`` (randomized SVD of rank 10 per iteration;
   the configuration behind the issue's "9.4 s to 3.9%") and its other defaults
   (shrinkage ``sigma_max / 50``, at most 100 iterations, stop at a 1e-3 relative
   change).  Its pure defaults (a full 2000 x 2000 SVD per iteration) took 356 s to
   reach only 56% error in a trial run here, so they are not used.  Times include
   initialization; AltMin's time to an error is its initialization time plus sweeps
   needed times the best per-sweep time (initialization: best of 3).
   **Convergence-check cost** (issue 9): one check of the training residual's norm,
   before (the residual materialized by ``sampled_dot``, as the monitor did) and
   after (the fused ``linalg.sampled_squared_error`` on the run's threads), in ms
   and as a fraction of the best exact sweep (target: at most ~20%).
3. **Scaling** of the per-sweep time to 10^7 observed entries (2.5% density,
   ``n = sqrt(|Omega| / 0.025)``, rank 10; the truth is kept as factors so no dense
   matrix is ever formed) and the process's peak memory, with the **set-up** split
   into sampling (``sample_entries``: positions, values, the sorted ``Observations``)
   and AltMin's own set-up (kernel plans and spectral initialization, a
   ``max_iter=0`` run), each also in units of the best exact sweep.
4. **MovieLens** ml-latest-small on the documented seeded 80/20 split: biases,
   then regularized ALS on the residuals with ``(rank, reg)`` chosen on a
   validation split of the training ratings; test RMSE and MAE; and the **fit
   time** of rank-10 ALS (``reg = 20``, 15 sweeps; best of 3) against the biases-only
   fit measured in the same run.

Per-sweep times are reported as the median and the best (minimum) of the timed
sweeps; the targets use the best, the usual noise-robust statistic on a shared
machine (both numbers are printed and written to ``--json``).

Targets (issue 4): per-sweep time within 5x of the roofline floor (goal 3x);
>= 5x (goal 10x) faster than the textbook loop; >= 10x faster than fancyimpute to
equal or better accuracy; MovieLens test RMSE <= 0.862.

Peers are benchmark-only: ``pip install --no-deps -r benchmarks/requirements-peers.txt``
(see that file).  Two shims make fancyimpute 0.7.0 importable with the project's
scikit-learn 1.9, both inside this script only: an empty stand-in ``cvxpy``
module (needed only by its nuclear-norm solver, imported by its ``__init__``) and
a ``check_array`` wrapper translating the removed ``force_all_finite=`` keyword
to ``ensure_all_finite=``.  Without fancyimpute the peer row is skipped.

Usage::

    python benchmarks/bench_completion.py --quick      # ~1 minute: smaller sizes, no 10^7 point
    python benchmarks/bench_completion.py              # the full run (a few minutes)
    python benchmarks/bench_completion.py --backend cupy
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import resource
import sys
import time
import types
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import add_backend_argument, machine_rates, sync, write_json  # noqa: E402

from lowrank_lab import backend, completion, linalg  # noqa: E402
from lowrank_lab.linalg import _jit  # noqa: E402
from lowrank_lab.linalg._altmin import available_cpus  # noqa: E402
from lowrank_lab.completion import sample_entries, train_test_split  # noqa: E402
from lowrank_lab.matrices import low_rank_matrix  # noqa: E402

RANK = 10


# --------------------------------------------------------------------------- #
# peers
# --------------------------------------------------------------------------- #
def load_fancyimpute():
    """fancyimpute's SoftImpute with the two documented shims, or None if not installed."""
    sys.modules.setdefault("cvxpy", types.ModuleType("cvxpy"))  # only NuclearNormMinimization uses it
    try:
        import fancyimpute
        import fancyimpute.soft_impute
        import fancyimpute.solver
    except ImportError:
        return None
    from sklearn.utils import check_array

    def check_array_shim(X, *args, force_all_finite=None, **kwargs):
        if force_all_finite is not None:
            kwargs.setdefault("ensure_all_finite", force_all_finite)
        return check_array(X, *args, **kwargs)

    fancyimpute.solver.check_array = check_array_shim
    fancyimpute.soft_impute.check_array = check_array_shim
    return fancyimpute.SoftImpute


def textbook_altmin(obs_np, U, n_sweeps, truth_factors, target=None):
    """The textbook loop: per column, then per row, ``numpy.linalg.lstsq`` on the gathered rows.

    Returns (per-sweep seconds, relative errors after each sweep, factors).
    """
    m, n = obs_np.shape
    rows, cols, vals = (backend.to_numpy(a) for a in (obs_np.rows, obs_np.cols, obs_np.values))
    roff = backend.to_numpy(obs_np.row_offsets)
    coff = backend.to_numpy(obs_np.col_offsets)
    crow = backend.to_numpy(obs_np.col_rows)
    cval = backend.to_numpy(obs_np.col_values)
    by_col = [(crow[coff[j]:coff[j + 1]], cval[coff[j]:coff[j + 1]]) for j in range(n)]
    by_row = [(cols[roff[i]:roff[i + 1]], vals[roff[i]:roff[i + 1]]) for i in range(m)]
    U = np.array(U, copy=True)
    V = np.zeros((n, U.shape[1]))
    times, errors = [], []
    for _ in range(n_sweeps):
        t0 = time.perf_counter()
        for j, (idx, y) in enumerate(by_col):
            V[j] = np.linalg.lstsq(U[idx], y, rcond=None)[0]
        for i, (idx, y) in enumerate(by_row):
            U[i] = np.linalg.lstsq(V[idx], y, rcond=None)[0]
        times.append(time.perf_counter() - t0)
        errors.append(completion.relative_error((U, V), truth_factors))
        if target is not None and errors[-1] <= target:
            break
    return times, errors, (U, V)


# --------------------------------------------------------------------------- #
# lowrank_lab
# --------------------------------------------------------------------------- #
def per_sweep(xp, obs, solve, n_sweeps, **kwargs):
    """Seconds per AltMin sweep (median of sweeps, no checks in between) and the result's params."""
    stamps = []

    def clock(it, state):
        if it >= 1:
            sync(xp)
            stamps.append(time.perf_counter())
        return it >= n_sweeps + 1

    res = completion.altmin(obs, RANK, solve=solve, max_iter=n_sweeps + 2, tol=0.0, check_every=10**9,
                            history_stride=10**9, callback=clock, rng=0, **kwargs)
    diffs = np.diff(stamps)
    return float(np.median(diffs)), float(np.min(diffs)), res.params


def check_cost(xp, obs, sweep_s, repeats):
    """Seconds of one convergence check of the training residual: materialized (before) and fused (after)."""
    from concurrent.futures import ThreadPoolExecutor

    U, V = completion.altmin(obs, RANK, max_iter=2, rng=0).factors
    rows, cols, vals = obs.rows, obs.cols, obs.values
    cpus = available_cpus()

    def best(fn):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            float(fn())
            times.append(time.perf_counter() - t0)
        return min(times)

    def materialized():
        r = linalg.sampled_dot(U, V, rows, cols) - vals
        return xp.sum(r * r)

    with ThreadPoolExecutor(max(1, cpus - 1)) as pool:
        with without_numba():  # the monitor before issue 9: gathered rows, a residual vector, its sum
            before = best(materialized)
        after = best(lambda: linalg.sampled_squared_error(U, V, rows, cols, vals, executor=pool, n_threads=cpus))
    print(f"    convergence check (training residual norm): before {before * 1e3:.2f} ms = "
          f"{before / sweep_s:.0%} of the best exact sweep; after (fused, {cpus} thread(s)) {after * 1e3:.2f} ms = "
          f"{after / sweep_s:.0%}")
    return {"before_s": before, "after_s": after, "sweep_s": sweep_s, "before_fraction": before / sweep_s,
            "after_fraction": after / sweep_s}


def sweeps_to(history, target):
    errs = history["relative_error"].to_numpy()
    hit = np.flatnonzero(errs <= target)
    return int(history["iteration"].iloc[hit[0]]) if hit.size else None


def init_time(xp, obs, solve, repeats=3, init="spectral"):
    """Set-up + initialization seconds (best of ``repeats``, like the sweeps)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        completion.altmin(obs, RANK, solve=solve, max_iter=0, check_every=10**9, history_stride=10**9, rng=0,
                          init=init)
        sync(xp)
        times.append(time.perf_counter() - t0)
    return min(times)


@contextlib.contextmanager
def without_numba():
    """The SciPy path of the exact solve (``LOWRANK_NUMBA=0`` for the duration)."""
    old = os.environ.get("LOWRANK_NUMBA")
    os.environ["LOWRANK_NUMBA"] = "0"
    try:
        yield
    finally:
        if old is None:
            del os.environ["LOWRANK_NUMBA"]
        else:
            os.environ["LOWRANK_NUMBA"] = old


def peak_rss_gb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # Linux: kilobytes


# --------------------------------------------------------------------------- #
# main
# --------------------------------------------------------------------------- #
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_backend_argument(parser)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, scaling up to 10^6, short peers")
    parser.add_argument("--no-peers", action="store_true", help="skip the textbook loop and fancyimpute")
    args = parser.parse_args(argv)
    xp = backend.get_namespace(args.backend)
    out = {"backend": backend.backend_name(xp), "quick": bool(args.quick)}

    rates = machine_rates(xp)
    out["machine"] = rates
    print(f"machine ({rates['backend']}): matmul {rates['matmul_gflops']:.1f} GFLOP/s, "
          f"copy {rates['copy_gbs']:.1f} GB/s (read + write)")

    # ---- 1. per-sweep time on the reference problem -------------------------
    n = 2000
    truth = low_rank_matrix(n, n, RANK, rng=0, xp=xp)
    obs = sample_entries(truth, p=0.1, rng=1)
    nnz = obs.nnz
    n_sweeps = 5 if args.quick else 15
    exact_med, exact_best, exact_params = per_sweep(xp, obs, "exact", n_sweeps)
    cg_med, cg_best, cg_params = per_sweep(xp, obs, "cg", n_sweeps, cg_iters=2)
    gather_s = 2 * nnz * RANK * 8 / (rates["copy_gbs"] * 1e9)
    flop_s = 2 * 2 * nnz * RANK**2 / (rates["matmul_gflops"] * 1e9)
    floor = max(gather_s, flop_s)
    print(f"\n[1] {n} x {n}, rank {RANK}, |Omega| = {nnz} ({obs.density:.1%}):")
    print(f"    roofline floor {floor * 1e3:.2f} ms/sweep "
          f"(gather {gather_s * 1e3:.2f} ms, flops {flop_s * 1e3:.2f} ms)")
    ops_exact = exact_params["ops_per_sweep"]
    sweep_rows = {"altmin exact": (exact_med, exact_best, ops_exact)}
    if backend.is_numpy(xp):  # what the compiled kernel and the threads each contribute
        kernel = "Numba" if _jit.numba_enabled() else "SciPy (Numba not installed)"
        print(f"    exact solve: {kernel} kernel, {exact_params['n_threads']} thread(s) "
              f"of {available_cpus()} CPUs")
        med, best, _ = per_sweep(xp, obs, "exact", n_sweeps, n_threads=1)
        sweep_rows["altmin exact, 1 thread"] = (med, best, ops_exact)
        if _jit.numba_enabled():
            with without_numba():
                med, best, _ = per_sweep(xp, obs, "exact", n_sweeps)
                sweep_rows["altmin exact, SciPy"] = (med, best, ops_exact)
                med, best, _ = per_sweep(xp, obs, "exact", n_sweeps, n_threads=1)
                sweep_rows["exact, SciPy, 1 thread"] = (med, best, ops_exact)
    sweep_rows["altmin cg-2"] = (cg_med, cg_best, cg_params["ops_per_sweep"])
    textbook = None
    if not args.no_peers:
        U0 = backend.to_numpy(completion.altmin(obs, RANK, max_iter=0, rng=0).factors[0])
        Qu, _ = np.linalg.qr(U0)
        obs_np = obs.to_namespace(backend.get_namespace("numpy"))
        tf = tuple(backend.to_numpy(f) for f in truth.balanced_factors())
        tb_times, _, _ = textbook_altmin(obs_np, Qu, 1 if args.quick else 2, tf)
        textbook = float(min(tb_times))
        sweep_rows["textbook numpy loop"] = (float(np.median(tb_times)), textbook, float("nan"))
    print(f"    {'method':<22}{'ms/sweep (median)':>19}{'best':>9}{'GFLOP/s':>9}{'x floor':>9}{'vs textbook':>13}")
    for name, (med, best, ops) in sweep_rows.items():
        gfl = ops / best / 1e9 if ops == ops else float("nan")
        speed = textbook / best if textbook else float("nan")
        print(f"    {name:<22}{med * 1e3:>19.2f}{best * 1e3:>9.2f}{gfl:>9.2f}{best / floor:>9.1f}{speed:>12.1f}x")
    print("    (GFLOP/s, x floor and vs textbook use the best sweep of each method)")
    out["sweep_rows"] = {name: {"median_s": med, "best_s": best} for name, (med, best, _) in sweep_rows.items()}
    out["check_cost"] = check_cost(xp, obs, exact_best, 5 if args.quick else 20)
    out["sweep"] = {"nnz": nnz, "floor_s": floor, "gather_s": gather_s, "flop_s": flop_s,
                    "exact_s": exact_med, "exact_best_s": exact_best, "cg2_s": cg_med, "cg2_best_s": cg_best,
                    "exact_gflops": exact_params["ops_per_sweep"] / exact_best / 1e9,
                    "cg2_gflops": cg_params["ops_per_sweep"] / cg_best / 1e9, "textbook_best_s": textbook}

    # ---- 2. time to the same relative error ---------------------------------
    print("\n[2] time to the same relative error (initialization included):")
    hist = {s: completion.altmin(obs, RANK, solve=s, truth=truth, max_iter=40, tol=1e-13, rng=0).history
            for s in ("exact", "cg")}
    t_init = {s: init_time(xp, obs, s) for s in ("exact", "cg")}
    per = {"exact": exact_best, "cg": cg_best}

    def time_to(solve, target):
        k = sweeps_to(hist[solve], target)
        return (None, None) if k is None else (t_init[solve] + k * per[solve], k)

    target = 1e-6
    rows2 = []
    for s in ("exact", "cg"):
        t, k = time_to(s, target)
        rows2.append((f"altmin {s}", target, t, k))
    if textbook is not None:
        tb_times, tb_err, _ = textbook_altmin(obs_np, Qu, 3 if args.quick else 40, tf, target=target)
        hit = next((i + 1 for i, e in enumerate(tb_err) if e <= target), None)
        t_tb = t_init["exact"] + (hit * float(np.min(tb_times)) if hit else float("nan"))
        rows2.append(("textbook numpy loop", target, t_tb if hit else None, hit))
        if args.quick and hit is None:
            print(f"    (quick: textbook stopped after {len(tb_err)} sweeps at {tb_err[-1]:.2e})")
    fancy = None if args.no_peers else load_fancyimpute()
    fancy_row = None
    if fancy is not None:
        dense = backend.to_numpy(truth.matrix)
        X = np.full(dense.shape, np.nan)
        r, c = backend.to_numpy(obs.rows), backend.to_numpy(obs.cols)
        X[r, c] = dense[r, c]
        solver = fancy(verbose=False, max_rank=RANK, max_iters=3 if args.quick else 100)
        t0 = time.perf_counter()
        Z = solver.fit_transform(X)
        t_fancy = time.perf_counter() - t0
        err_fancy = float(np.linalg.norm(Z - dense) / np.linalg.norm(dense))
        rows2.append(("fancyimpute SoftImpute", err_fancy, t_fancy, None))
        t_ours, k_ours = time_to("exact", err_fancy)
        fancy_row = (err_fancy, t_fancy, t_ours, k_ours)
        rows2.append(("altmin exact (to that)", err_fancy, t_ours, k_ours))
    elif not args.no_peers:
        print("    fancyimpute not installed: pip install --no-deps -r benchmarks/requirements-peers.txt")
    print(f"    {'method':<26}{'target rel. error':>18}{'seconds':>10}{'sweeps':>8}")
    for name, tgt, t, k in rows2:
        ts = f"{t:.3f}" if t is not None else "n/a"
        print(f"    {name:<26}{tgt:>18.2e}{ts:>10}{(k if k is not None else '-'):>8}")
    out["time_to_error"] = [{"method": a, "target": b, "seconds": c, "sweeps": d} for a, b, c, d in rows2]

    # ---- 3. scaling ----------------------------------------------------------
    sizes = [10**5, 10**6] if args.quick else [10**5, 10**6, 10**7]
    print("\n[3] scaling (rank 10, 2.5% density, truth kept as factors; best sweep):")
    print(f"    {'|Omega|':>10}{'n':>7}{'sample s':>10}{'plans s':>9}{'set-up sweeps':>15}{'spectral init s':>17}"
          f"{'exact s/sweep':>15}{'GFLOP/s':>9}{'cg-2 s/sweep':>14}{'GFLOP/s':>9}{'peak RSS GB':>13}")
    scaling = []
    for size in sizes:
        side = int(round(math.sqrt(size / 0.025)))
        F = backend.random_normal((side, RANK), rng=10, xp=xp)
        G = backend.random_normal((side, RANK), rng=11, xp=xp)
        t0 = time.perf_counter()
        big = sample_entries((F, G), n_observed=size, rng=12)
        setup = time.perf_counter() - t0
        sweeps = 2 if size >= 10**7 else 3
        plans = init_time(xp, big, "exact", repeats=1, init="random")  # kernel plans (+ one random start)
        init = max(init_time(xp, big, "exact", repeats=1) - plans, 0.0)  # the spectral initialization
        _, e_med, e_par = per_sweep(xp, big, "exact", sweeps)  # best sweep
        _, c_med, c_par = per_sweep(xp, big, "cg", sweeps, cg_iters=2)
        row = {"nnz": size, "n": side, "setup_s": setup, "plans_s": plans, "spectral_init_s": init, "exact_s": e_med,
               "setup_sweeps": (setup + plans) / e_med,
               "exact_gflops": e_par["ops_per_sweep"] / e_med / 1e9, "cg2_s": c_med,
               "cg2_gflops": c_par["ops_per_sweep"] / c_med / 1e9, "peak_rss_gb": peak_rss_gb()}
        scaling.append(row)
        print(f"    {size:>10}{side:>7}{setup:>10.2f}{plans:>9.2f}{row['setup_sweeps']:>15.1f}{init:>17.2f}{e_med:>15.4f}"
              f"{row['exact_gflops']:>9.2f}{c_med:>14.4f}{row['cg2_gflops']:>9.2f}{row['peak_rss_gb']:>13.2f}")
        del big, F, G
    print("    (set-up = sampling (sample_entries: positions, values, sorted Observations) + AltMin's kernel plans,\n"
          "     in units of the best exact sweep; the spectral initialization's 11 sparse products are listed apart)")
    out["scaling"] = scaling

    # ---- 4. MovieLens ------------------------------------------------------
    print("\n[4] MovieLens ml-latest-small, seeded 80/20 split (seed 0):")
    data = completion.movielens_observations(xp=xp)
    train, test = completion.movielens_split(data, seed=0)
    fit, val = train_test_split(train, test_fraction=0.1, rng=np.random.default_rng(1))
    grid = [(5, 20.0), (10, 20.0), (20, 20.0)] if args.quick else [
        (r, g) for r in (5, 10, 20, 50) for g in (10.0, 15.0, 20.0, 30.0)]
    best = None
    for rank, reg in grid:
        mdl = completion.fit_ratings_model(fit, solver="altmin", rank=rank, reg=reg, orthonormalize=False,
                                         max_iter=15, rng=0)
        score = completion.evaluate(mdl, val)["rmse"]
        if best is None or score < best[0]:
            best = (score, rank, reg)
    t0 = time.perf_counter()
    bias = completion.evaluate(completion.fit_ratings_model(train, solver=None), test)
    t_bias = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = completion.fit_ratings_model(train, solver="altmin", rank=best[1], reg=best[2], orthonormalize=False,
                                       max_iter=15, rng=0)
    t_fit = time.perf_counter() - t0
    scores = completion.evaluate(model, test)
    mean_only = float(np.sqrt(np.mean((backend.to_numpy(test.values) - float(xp.mean(train.values))) ** 2)))
    print(f"    global mean only:          RMSE {mean_only:.4f}")
    print(f"    biases (ridge):            RMSE {bias['rmse']:.4f}  MAE {bias['mae']:.4f}  ({t_bias:.2f} s)")
    print(f"    biases + ALS rank {best[1]:<3} reg {best[2]:<5g} RMSE {scores['rmse']:.4f}  MAE {scores['mae']:.4f}  "
          f"({t_fit:.2f} s fit; chosen on a validation split, val RMSE {best[0]:.4f})")
    fit_times = []
    for _ in range(3):
        t0 = time.perf_counter()
        completion.fit_ratings_model(train, solver="altmin", rank=10, reg=20.0, max_iter=15, rng=0)
        fit_times.append(time.perf_counter() - t0)
    t_fit10 = min(fit_times)
    print(f"    fit time, biases + ALS rank 10 reg 20, 15 sweeps: {t_fit10:.3f} s (best of 3; "
          f"{t_fit10 / max(t_bias, 1e-9):.1f}x the biases-only fit, {t_bias:.3f} s)")
    out["movielens"] = {"bias": bias, "als": scores, "rank": best[1], "reg": best[2], "fit_s": t_fit,
                        "fit_rank10_s": t_fit10, "fit_bias_s": t_bias}

    # ---- targets ---------------------------------------------------------------
    print("\ntargets:")
    ratio_floor = exact_best / floor
    checks = [("per-sweep within 5x of roofline (goal 3x)", ratio_floor <= 5,
               f"{ratio_floor:.1f}x floor (best sweep {exact_best * 1e3:.1f} ms, floor {floor * 1e3:.2f} ms)")]
    if textbook:
        checks.append(("exact >= 5x faster than textbook loop (goal 10x)", textbook / exact_best >= 5,
                       f"{textbook / exact_best:.1f}x (best sweeps {textbook * 1e3:.0f} vs {exact_best * 1e3:.1f} ms)"))
    if fancy_row and fancy_row[2] is not None:
        ratio = fancy_row[1] / fancy_row[2]
        checks.append((">= 10x faster than fancyimpute to its accuracy", ratio >= 10,
                       f"{ratio:.0f}x ({fancy_row[2]:.2f} s vs {fancy_row[1]:.1f} s at {fancy_row[0]:.2e})"))
    checks.append(("MovieLens test RMSE <= 0.862", scores["rmse"] <= 0.862, f"{scores['rmse']:.4f}"))
    cc = out["check_cost"]
    checks.append(("convergence check <= ~20% of an exact sweep (issue 9)", cc["after_fraction"] <= 0.2,
                   f"{cc['after_fraction']:.0%} (before: {cc['before_fraction']:.0%})"))
    checks.append(("MovieLens rank-10 fit well under a second (issue 9)", t_fit10 < 1.0, f"{t_fit10:.3f} s"))
    big_row = scaling[-1]
    checks.append((f"set-up within a few sweeps at |Omega| = {big_row['nnz']:.0e} (issue 9)",
                   big_row["setup_sweeps"] <= 5, f"{big_row['setup_sweeps']:.1f} sweeps "
                   f"({big_row['setup_s']:.2f} s sampling + {big_row['plans_s']:.2f} s kernel plans; spectral "
                   f"initialization {big_row['spectral_init_s']:.2f} s)"))
    for text, ok, detail in checks:
        print(f"    [{'PASS' if ok else 'MISS'}] {text}: {detail}")
    out["targets"] = [{"target": t, "met": bool(ok), "value": d} for t, ok, d in checks]
    write_json(args.json, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
