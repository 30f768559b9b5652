"""Matrix completion solvers (lowrank_lab.completion) and their linalg kernels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import assert_close, to_xp

from lowrank_lab import backend, completion, linalg
from lowrank_lab.completion import trials
from lowrank_lab.completion import Observations, sample_entries
from lowrank_lab.matrices import low_rank_matrix


def _host(x):
    return backend.to_numpy(x)


@pytest.fixture(scope="module")
def problem_200():
    """The issue's recovery problem: incoherent rank 5, 200 x 200, 30% observed."""
    truth = low_rank_matrix(200, 200, 5, rng=0)
    return truth, sample_entries(truth, p=0.3, rng=1)


def _on(xp, truth, obs):
    """The same problem in namespace ``xp``."""
    t = low_rank_matrix(*truth.shape, truth.rank, rng=0, xp=xp)
    o = Observations(to_xp(xp, _host(obs.rows)), to_xp(xp, _host(obs.cols)), to_xp(xp, _host(obs.values)), obs.shape)
    return t, o


def _small(xp, m=50, n=40, rank=2, p=0.5, seed=0):
    truth = low_rank_matrix(m, n, rank, rng=seed, xp=xp)
    return truth, sample_entries(truth, p=p, rng=seed + 1)


# --------------------------------------------------------------------------- #
# kernels in linalg (fast paths agree with the standard fallbacks)
# --------------------------------------------------------------------------- #
def _reference_normal_equations(indptr, indices, F, v):
    A = np.zeros((len(indptr) - 1, F.shape[1], F.shape[1]))
    b = np.zeros((len(indptr) - 1, F.shape[1]))
    for s in range(len(indptr) - 1):
        rows = indices[indptr[s]:indptr[s + 1]]
        A[s] = F[rows].T @ F[rows]
        b[s] = F[rows].T @ v[indptr[s]:indptr[s + 1]]
    return A, b


@pytest.mark.parametrize("k", [1, 3, 20])
def test_segment_normal_equations_methods_agree_with_a_loop(xp, rng, k):
    counts = np.array([0, 3, 1, 7, 0, 2, 40, 5])  # empty and skewed segments
    indptr = np.concatenate([[0], np.cumsum(counts)])
    indices = rng.integers(0, 30, size=indptr[-1])
    F = rng.standard_normal((30, k))
    v = rng.standard_normal(indptr[-1])
    A_ref, b_ref = _reference_normal_equations(indptr, indices, F, v)
    args = [to_xp(xp, a) for a in (indptr, indices, F, v)]
    layout = linalg.padded_layout(args[0], min_block=2)
    assert layout.padded_entries >= layout.n_entries == indptr[-1]
    for method in ("packed", "padded"):
        A, b = linalg.segment_normal_equations(*args, layout=layout, method=method)
        assert_close(A, A_ref, rtol=1e-12, atol=1e-12, xp=xp)
        assert_close(b, b_ref, rtol=1e-12, atol=1e-12, xp=xp)
        shift = 0.1 + np.arange(len(counts)) / 10  # empty segments need a ridge
        x = linalg.segment_least_squares(*args, shift=to_xp(xp, shift), layout=layout, method=method)
        x_ref = np.linalg.solve(A_ref + shift[:, None, None] * np.eye(k), b_ref[..., None])[..., 0]
        assert_close(x, x_ref, rtol=1e-10, atol=1e-12, xp=xp)
    with pytest.raises(ValueError, match="layout"):
        linalg.segment_normal_equations(*args, method="padded")
    with pytest.raises(ValueError, match="method"):
        linalg.segment_normal_equations(*args, method="dense")


def test_numpy_fast_paths_agree_with_the_standard_fallbacks(rng):
    """NumPy (SciPy SpMM, vectorized Cholesky, einsum) against array_api_strict (standard calls only)."""
    strict = backend.get_namespace("array_api_strict")
    counts = rng.integers(0, 9, size=25)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    indices = rng.integers(0, 12, size=indptr[-1])
    F = rng.standard_normal((12, 6))
    v = rng.standard_normal(indptr[-1])
    A_np, b_np = linalg.segment_normal_equations(indptr, indices, F, v, method="packed")
    A_st, b_st = linalg.segment_normal_equations(*(to_xp(strict, a) for a in (indptr, indices, F, v)),
                                                 method="packed")
    assert_close(A_np, _host(A_st), rtol=1e-12, atol=1e-12)
    assert_close(b_np, _host(b_st), rtol=1e-12, atol=1e-12)
    blocks = linalg.blocked_csr(indptr, indices, 12, block_cols=5)  # cache-blocked SciPy products
    ((start, stop, parts),) = blocks.ranges
    assert (start, stop) == (0, 25) and [p[1:] for p in parts] == [(0, 5), (5, 10), (10, 12)]
    A_bl, b_bl = linalg.segment_normal_equations(indptr, indices, F, v, method="packed", blocks=blocks)
    assert_close(A_bl, A_np, rtol=1e-12, atol=1e-12)
    # thread-parallel plan: contiguous ranges of balanced entry counts, results identical to serial
    threaded = linalg.blocked_csr(indptr, indices, 12, block_cols=5, n_threads=3, min_entries_per_thread=1)
    bounds = [(r[0], r[1]) for r in threaded.ranges]
    assert len(bounds) == 3 and bounds[0][0] == 0 and bounds[-1][1] == 25
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    sizes = [indptr[b] - indptr[a] for a, b in bounds]
    assert max(sizes) - min(sizes) <= 2 * counts.max()
    assert len(linalg.blocked_csr(indptr, indices, 12, block_cols=5, n_threads=3).ranges) == 1  # too small
    A_th, b_th = linalg.segment_normal_equations(indptr, indices, F, v, method="packed", blocks=threaded)
    assert np.array_equal(A_th, A_bl) and np.array_equal(b_th, b_bl)
    shift = np.full(25, 0.1)
    x_th = linalg.segment_least_squares(indptr, indices, F, v, shift=shift, blocks=threaded)
    x_ref = np.linalg.solve(A_np + 0.1 * np.eye(6), b_np[..., None])[..., 0]
    assert_close(x_th, x_ref, rtol=1e-10, atol=1e-12)
    assert np.array_equal(x_th, linalg.segment_least_squares(indptr, indices, F, v, shift=shift, blocks=blocks))
    with pytest.raises(ValueError, match="segments"):
        linalg.segment_normal_equations(indptr[:-1], indices, F, v, blocks=threaded)
    SPD = A_np + 0.1 * np.eye(6)
    x_np = linalg.batched_spd_solve(SPD, b_np)  # vectorized Cholesky (k <= 16)
    x_st = linalg.batched_spd_solve(to_xp(strict, SPD), to_xp(strict, b_np))  # standard linalg.solve
    assert_close(x_np, _host(x_st), rtol=1e-10, atol=1e-12)
    assert_close(x_np, np.linalg.solve(SPD, b_np[..., None])[..., 0], rtol=1e-10, atol=1e-12)
    X, Y = rng.standard_normal((30, 4)), rng.standard_normal((30, 4))
    assert_close(linalg.rowwise_dot(X, Y), _host(linalg.rowwise_dot(to_xp(strict, X), to_xp(strict, Y))), rtol=1e-13)


@pytest.mark.parametrize("k", [1, 4, 7])
def test_compiled_kernel_agrees_with_the_scipy_path(rng, monkeypatch, k):
    """Numba segment least squares (the ``fast`` extra) = SciPy products + vectorized Cholesky."""
    from lowrank_lab.linalg import _jit

    if not _jit.numba_enabled():
        pytest.skip("Numba not installed (the 'fast' extra)")
    counts = rng.integers(0, 40, size=60)
    counts[[3, 17]] = 0  # empty segments: the shift alone
    indptr = np.concatenate([[0], np.cumsum(counts)])
    indices = rng.integers(0, 50, size=indptr[-1])
    F = rng.standard_normal((50, k))
    v = rng.standard_normal(indptr[-1])
    shift = rng.uniform(0.01, 1.0, size=60)
    plan = linalg.blocked_csr(indptr, indices, 50, block_cols=16, n_threads=3, min_entries_per_thread=100)
    assert len(plan.ranges) == 3
    compiled = linalg.segment_least_squares(indptr, indices, F, v, shift=shift, blocks=plan)
    monkeypatch.setenv("LOWRANK_NUMBA", "0")
    assert not _jit.numba_enabled()
    scipy_path = linalg.segment_least_squares(indptr, indices, F, v, shift=shift, blocks=plan)
    assert_close(compiled, scipy_path, rtol=1e-11, atol=1e-13)
    A, b = _reference_normal_equations(indptr, indices, F, v)
    assert_close(compiled, np.linalg.solve(A + shift[:, None, None] * np.eye(k), b[..., None])[..., 0],
                 rtol=1e-10, atol=1e-12)
    # a non-positive pivot (indefinite system) sends the call to the general path's LU fallback
    monkeypatch.setenv("LOWRANK_NUMBA", "1")
    bad = shift.copy()
    bad[5] = -(A[5].trace() + 1.0)
    x = linalg.segment_least_squares(indptr, indices, F, v, shift=bad, blocks=plan)
    assert_close(x, np.linalg.solve(A + bad[:, None, None] * np.eye(k), b[..., None])[..., 0], rtol=1e-8)


def test_compiled_kernels_build_without_a_cache_location(monkeypatch):
    """No writable cache (numba raises on cache=True): the kernels compile uncached, still correct."""
    numba = pytest.importorskip("numba")
    from lowrank_lab.linalg import _jit

    real = numba.njit

    def njit_without_cache(*args, cache=False, **kwargs):
        if not cache:
            return real(*args, **kwargs)

        def decorate(fn):  # numba finds no cache locator when it wraps the function
            raise RuntimeError(f"cannot cache function {fn.__name__!r}: no locator available")

        return decorate

    monkeypatch.setattr(numba, "njit", njit_without_cache)
    ls, cg, residual, dot, transpose = _jit._build()  # noqa: F841
    indptr, indices = np.array([0, 2, 4]), np.array([0, 1, 1, 2])
    F, v = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]), np.array([1.0, 4.0, 4.0, 2.0])
    x = np.empty((2, 2))
    assert ls(indptr, indices, F, v, np.zeros(2), 0, 2, x)
    assert_close(x, np.array([[1.0, 2.0], [0.0, 2.0]]), rtol=1e-12, atol=1e-12)
    cg(indptr, indices, F, v, np.zeros(2), np.zeros((2, 2)), 2, 0, 2, x)
    assert_close(x, np.array([[1.0, 2.0], [0.0, 2.0]]), rtol=1e-10, atol=1e-10)
    assert residual(np.array([0, 2]), np.array([1, 0]), F, F, np.array([1.0, 3.0]), 0, 2) == 5.0


def test_segment_cg_solves_in_k_steps_and_its_paths_agree(xp, rng, monkeypatch):
    """Array path (every backend) vs a dense solve; compiled kernel vs array path (NumPy)."""
    k = 4
    counts = rng.integers(0, 30, size=40)
    counts[[2, 9]] = 0
    indptr = np.concatenate([[0], np.cumsum(counts)])
    indices = rng.integers(0, 25, size=indptr[-1])
    F = rng.standard_normal((25, k))
    v = rng.standard_normal(indptr[-1])
    shift = rng.uniform(0.5, 1.0, size=40)
    x0 = rng.standard_normal((40, k))
    A, b = _reference_normal_equations(indptr, indices, F, v)
    exact = np.linalg.solve(A + shift[:, None, None] * np.eye(k), b[..., None])[..., 0]
    args = [to_xp(xp, a) for a in (indptr, indices, F, v)]
    x = linalg.segment_cg(*args, to_xp(xp, x0), n_iter=k + 2, shift=to_xp(xp, shift))  # CG: exact in <= k steps
    assert_close(x, exact, rtol=1e-7, atol=1e-9, xp=xp)
    two = linalg.segment_cg(*args, to_xp(xp, x0), n_iter=2, shift=to_xp(xp, shift))
    err = np.linalg.norm(_host(two) - exact, axis=1)
    assert np.median(err / np.linalg.norm(x0 - exact, axis=1)) < 0.5  # two steps make progress
    # no curvature (empty segment, no shift): that segment does not move
    still = linalg.segment_cg(*args, to_xp(xp, x0), n_iter=2, shift=0.0)
    assert_close(_host(still)[[2, 9]], x0[[2, 9]], rtol=0, atol=0)
    if backend.backend_name(xp) != "numpy":
        return
    plan = linalg.blocked_csr(indptr, indices, 25, block_cols=25, n_threads=3, min_entries_per_thread=50)
    monkeypatch.setenv("LOWRANK_NUMBA", "0")
    array_path = linalg.segment_cg(indptr, indices, F, v, x0, n_iter=2, shift=shift, blocks=plan)
    monkeypatch.setenv("LOWRANK_NUMBA", "1")
    if not linalg.has_compiled_kernels():
        pytest.skip("Numba not installed (the 'fast' extra)")
    compiled = linalg.segment_cg(indptr, indices, F, v, x0, n_iter=2, shift=shift, blocks=plan)
    assert_close(compiled, array_path, rtol=1e-11, atol=1e-12)
    assert np.array_equal(linalg.segment_cg(indptr, indices, F, v, x0, n_iter=2, shift=0.0, blocks=plan)[[2, 9]],
                          x0[[2, 9]])


def test_segment_solvers_refuse_bad_arguments(xp):
    indptr, indices = to_xp(xp, np.array([0, 2, 3])), to_xp(xp, np.array([0, 1, 1]))
    F, v, x0 = to_xp(xp, np.eye(2)), to_xp(xp, np.ones(3)), to_xp(xp, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="n_iter"):
        linalg.segment_cg(indptr, indices, F, v, x0, n_iter=0)
    with pytest.raises(ValueError, match="method must be one of"):
        linalg.segment_least_squares(indptr, indices, F, v, method="dense")
    plan = linalg.blocked_csr(np.array([0, 1, 2, 3]), np.array([0, 1, 1]), 2, block_cols=2)  # 3 segments, not 2
    if backend.backend_name(xp) == "numpy":
        with pytest.raises(ValueError, match="segments"):
            linalg.segment_least_squares(indptr, indices, F, v, shift=1.0, blocks=plan)
        with pytest.raises(ValueError, match="segments"):
            linalg.segment_cg(indptr, indices, F, v, x0, n_iter=1, blocks=plan)


def test_parallel_for_runs_every_task_and_propagates_errors():
    seen = []
    linalg._altmin._parallel_for(seen.append, 4)
    assert sorted(seen) == [0, 1, 2, 3]

    def fail_on_two(i):
        seen.append(i)
        if i == 2:
            raise ArithmeticError("task 2")

    seen.clear()
    with pytest.raises(ArithmeticError, match="task 2"):
        linalg._altmin._parallel_for(fail_on_two, 3)
    assert sorted(seen) == [0, 1, 2]  # the others finished


def test_batched_spd_solve_falls_back_on_indefinite_input(xp):
    A = to_xp(xp, np.array([[[1.0, 2.0], [2.0, 1.0]], [[2.0, 0.0], [0.0, 2.0]]]))  # first is indefinite
    b = to_xp(xp, np.array([[3.0, 3.0], [2.0, 4.0]]))
    assert_close(linalg.batched_spd_solve(A, b), np.array([[1.0, 1.0], [1.0, 2.0]]), rtol=1e-12, xp=xp)


# --------------------------------------------------------------------------- #
# AltMin
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("solve", ["exact", "cg"])
def test_altmin_recovers_incoherent_rank5_from_30_percent(xp, problem_200, solve):
    truth, obs = _on(xp, *problem_200)
    res = completion.altmin(obs, 5, solve=solve, cg_iters=2, truth=truth, max_iter=60, rng=0)
    assert res.final("relative_error") < 1e-6
    assert res.stop_reason == "converged"
    F, G = res.factors
    assert backend.backend_name(backend.array_namespace(F)) == backend.backend_name(xp)
    assert F.shape == (200, 5) and G.shape == (200, 5)
    h = res.history
    assert {"iteration", "time_s", "train_loss", "train_rmse", "relative_residual", "relative_error"} <= set(h)
    assert h["relative_error"].iloc[0] > 1e-2  # iteration 0 is the spectral initialization
    # linear convergence: the error falls by orders of magnitude, monotonically (up to the floor)
    err = h["relative_error"].to_numpy()
    assert np.all(np.diff(err[err > 1e-9]) < 0)


def test_per_sweep_operations_grow_linearly_for_cg_and_quadratically_for_exact():
    """The cost model of the kernels actually run: O(|Omega| k) vs O(|Omega| k^2) (no wall time)."""
    truth = low_rank_matrix(300, 300, 2, rng=0)
    obs = sample_entries(truth.balanced_factors(), p=0.5, rng=1)
    ks = np.array([4, 8, 16, 32, 64])
    ops = {solve: np.array([completion.altmin(obs, int(k), solve=solve, max_iter=0, rng=0).params["ops_per_sweep"]
                            for k in ks]) for solve in ("exact", "cg")}
    slope = {s: np.polyfit(np.log(ks[2:]), np.log(v[2:]), 1)[0] for s, v in ops.items()}
    assert 0.95 < slope["cg"] < 1.25
    assert slope["exact"] > 1.75
    ratio = ops["exact"] / ops["cg"]
    assert np.all(np.diff(ratio) > 0) and ratio[-1] > 3  # CG wins at large k, by a factor growing ~k
    # and the CG count is linear in |Omega|
    half = obs.select(np.arange(0, obs.nnz, 2))
    cg_half = completion.altmin(half, 16, solve="cg", max_iter=0, rng=0).params["ops_breakdown"]["cg_applications"]
    cg_full = completion.altmin(obs, 16, solve="cg", max_iter=0, rng=0).params["ops_breakdown"]["cg_applications"]
    assert cg_full / cg_half == pytest.approx(obs.nnz / half.nnz, rel=0.05)


def test_altmin_variants_perturbation_floor_and_resampling(xp):
    truth, obs = _small(xp, 80, 60, 2, p=0.5)
    exact = completion.altmin(obs, 2, truth=truth, max_iter=25, rng=0)
    floors = [completion.altmin(obs, 2, truth=truth, perturbation=eps, max_iter=25, rng=0).final("relative_error")
              for eps in (1e-4, 1e-2)]
    assert exact.final("relative_error") < 1e-8
    assert 1e-6 < floors[0] < 1e-3 < floors[1] < 0.1  # the floor scales with epsilon
    cg1 = completion.altmin(obs, 2, solve="cg", cg_iters=1, truth=truth, max_iter=80, rng=0)
    assert cg1.final("relative_error") < 1e-6  # warm-started CG still converges linearly
    assert cg1.n_iter >= exact.n_iter
    big_truth, big_obs = _small(xp, 120, 100, 2, p=0.9)
    split = completion.altmin(big_obs, 2, truth=big_truth, resample=6, max_iter=10, rng=0)
    assert split.params["resample"] == 6 and split.final("relative_error") < 1e-3
    als = completion.altmin(obs, 2, truth=truth, orthonormalize=False, init="random", max_iter=200, rng=0)
    assert als.final("relative_error") < 1e-6


def test_altmin_kernels_agree(xp, problem_200, monkeypatch):
    """auto / packed (compiled or SciPy on NumPy) / padded: the same iterates up to rounding."""
    truth, obs = _on(xp, *problem_200)
    runs = {kern: completion.altmin(obs, 5, max_iter=4, tol=0.0, rng=0, kernel=kern, truth=truth)
            for kern in ("auto", "packed", "padded")}
    monkeypatch.setenv("LOWRANK_NUMBA", "0")
    runs["packed, no numba"] = completion.altmin(obs, 5, max_iter=4, tol=0.0, rng=0, kernel="packed", truth=truth)
    ref = completion.predict(runs["padded"], obs.rows, obs.cols)
    for name, res in runs.items():
        assert_close(completion.predict(res, obs.rows, obs.cols), ref, rtol=1e-8, atol=1e-10, xp=xp)
        assert res.final("relative_error") < 1e-2, name  # converging (4 sweeps)


def test_altmin_same_seed_same_result_across_backends(xp, problem_200):
    ref = completion.altmin(problem_200[1], 5, max_iter=3, rng=0, solve="cg")
    truth, obs = _on(xp, *problem_200)
    res = completion.altmin(obs, 5, max_iter=3, rng=0, solve="cg")
    assert_close(completion.predict(res, obs.rows, obs.cols), _host(completion.predict(ref, obs.rows, obs.cols)),
                 rtol=1e-8, atol=1e-12)


def test_altmin_threads_do_not_change_the_result():
    """Threaded sweeps (NumPy) give bit-identical factors; BLAS is serial meanwhile."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    truth = low_rank_matrix(300, 300, 3, rng=0)
    obs = sample_entries(truth.balanced_factors(), p=0.8, rng=1)  # 72k entries: two ranges of >= 32768
    assert obs.nnz >= 2 * 32768
    blas_threads = []

    def spy(t, state):
        blas_threads.append(max([i["num_threads"] for i in threadpoolctl.threadpool_info()
                                 if i["user_api"] == "blas"], default=1))
        return False

    runs = {nt: completion.altmin(obs, 3, max_iter=3, tol=0.0, rng=0, n_threads=nt, truth=truth, callback=spy)
            for nt in (1, 2)}
    assert runs[1].params["n_threads"] == 1 and runs[2].params["n_threads"] == 2
    assert all(np.array_equal(a, b) for a, b in zip(runs[1].factors, runs[2].factors))
    assert runs[2].final("relative_error") < 1e-6
    assert blas_threads[-1] == 1  # inside the threaded run
    cg = {nt: completion.altmin(obs, 3, solve="cg", max_iter=3, rng=0, n_threads=nt) for nt in (1, 2)}
    assert cg[2].params["n_threads"] == (2 if linalg.has_compiled_kernels() else 1)  # threads need Numba
    assert all(np.array_equal(a, b) for a, b in zip(cg[1].factors, cg[2].factors))


def test_empty_rows_and_columns_give_finite_results(xp):
    truth = low_rank_matrix(40, 30, 2, rng=0, xp=xp)
    full = sample_entries(truth, p=0.6, rng=1)
    keep = (_host(full.rows) != 3) & (_host(full.cols) != 5)
    obs = full.select(keep)
    assert int(_host(obs.row_counts)[3]) == 0 and int(_host(obs.col_counts)[5]) == 0
    runs = [
        completion.altmin(obs, 2, rng=0, max_iter=20),
        completion.altmin(obs, 2, solve="cg", rng=0, max_iter=20),
        completion.altmin(obs, 3, reg=0.1, orthonormalize=False, rng=0, max_iter=20),
        completion.soft_impute(obs, 4, reg=0.01, rng=0, max_iter=30),
        completion.svp(obs, 2, rng=0, max_iter=30),
        completion.scaled_gd(obs, 2, rng=0, max_iter=30),
        completion.svt(obs, rng=0, max_iter=30),
    ]
    for res in runs:
        F, G = res.factors
        assert bool(xp.all(xp.isfinite(F))) and bool(xp.all(xp.isfinite(G))), res.solver
        assert res.stop_reason != "diverged"
    # AltMin's ridge (or jitter) gives the empty row and column zero factors (up to
    # round-off of the re-orthonormalization, which depends on the LAPACK build)
    for res in runs[:3]:
        for factor, empty in zip(res.factors, (3, 5)):
            scale = float(xp.linalg.matrix_norm(factor))
            assert float(xp.linalg.vector_norm(factor[empty, :])) <= 1e-12 * scale, res.solver
    # ... while the observed part is still fitted
    assert runs[0].final("relative_residual") < 1e-8


# --------------------------------------------------------------------------- #
# the other solvers
# --------------------------------------------------------------------------- #
def _dense_soft_impute(obs, reg, n_iter=5000, tol=1e-14):
    """Mazumder, Hastie, Tibshirani (2010): Z <- S_reg(P_Omega(M) + P_Omega_perp(Z)), full SVDs."""
    m, n = obs.shape
    M = np.zeros((m, n))
    mask = np.zeros((m, n), dtype=bool)
    M[_host(obs.rows), _host(obs.cols)] = _host(obs.values)
    mask[_host(obs.rows), _host(obs.cols)] = True
    Z = np.zeros((m, n))
    for _ in range(n_iter):
        U, s, Vt = np.linalg.svd(np.where(mask, M, Z), full_matrices=False)
        Z_new = (U * np.maximum(s - reg, 0.0)) @ Vt
        if np.linalg.norm(Z_new - Z) <= tol * max(np.linalg.norm(Z), 1.0):
            return Z_new
        Z = Z_new
    return Z


def test_soft_impute_agrees_with_a_dense_reference(xp):
    truth = low_rank_matrix(40, 30, 3, rng=0, xp=xp)
    obs = sample_entries(truth, p=0.5, noise=0.01, rng=1)
    reg = 0.05
    Z_ref = _dense_soft_impute(obs, reg)
    res = completion.soft_impute(obs, 12, reg=reg, tol=1e-14, max_iter=3000, rng=0)
    F, G = (_host(f) for f in res.factors)
    Z = F @ G.T
    assert np.linalg.norm(Z - Z_ref) / np.linalg.norm(Z_ref) < 1e-4
    assert res.params["effective_rank"] == np.linalg.matrix_rank(Z_ref, tol=1e-6)
    assert res.stop_reason == "converged"
    assert np.all(np.diff(res.history["train_loss"].to_numpy()[1:]) <= 1e-12)  # ALS decreases the objective


def test_soft_impute_warm_start_along_a_path(xp):
    truth, obs = _small(xp, 60, 50, 2, p=0.5)
    coarse = completion.soft_impute(obs, 6, reg=0.1, tol=1e-12, max_iter=1000, rng=0)
    fine = completion.soft_impute(obs, 6, reg=0.01, init=coarse, tol=1e-12, max_iter=1000, rng=0, truth=truth)
    cold = completion.soft_impute(obs, 6, reg=0.01, tol=1e-12, max_iter=1000, rng=0, truth=truth)
    assert fine.n_iter < cold.n_iter
    assert fine.final("relative_error") == pytest.approx(cold.final("relative_error"), rel=1e-3)


@pytest.mark.parametrize(
    ("solver", "kwargs", "bound"),
    [
        (completion.svp, {"rank": 2}, 1e-6),
        (completion.scaled_gd, {"rank": 2}, 1e-6),
        (completion.svt, {}, 1e-2),
    ],
)
def test_standard_solvers_recover_an_easy_problem(xp, solver, kwargs, bound):
    truth, obs = _small(xp, 50, 40, 2, p=0.6)
    test = sample_entries(truth, n_observed=100, rng=5)
    res = solver(obs, truth=truth, test=test, rng=0, **kwargs)
    assert res.final("relative_error") < bound
    assert res.final("test_rmse") < bound * 10
    assert res.stop_reason == "converged"


def test_diverging_step_is_reported_not_returned_as_nan(xp):
    truth, obs = _small(xp)
    res = completion.scaled_gd(obs, 2, step_size=50.0, rng=0, max_iter=200)
    assert res.stop_reason == "diverged"
    F, G = res.factors
    assert bool(xp.all(xp.isfinite(F))) and bool(xp.all(xp.isfinite(G)))


def test_callback_stops(xp):
    truth, obs = _small(xp)
    seen = []
    res = completion.altmin(obs, 2, rng=0, callback=lambda it, state: seen.append(it) or it == 2)
    assert res.stop_reason == "callback" and res.n_iter == 2 and seen == [0, 1, 2]


# --------------------------------------------------------------------------- #
# prediction and metrics
# --------------------------------------------------------------------------- #
def test_predict_rmse_mae_relative_error(xp, rng):
    F, G = rng.standard_normal((6, 2)), rng.standard_normal((5, 2))
    M = F @ G.T
    rows, cols = np.array([0, 5, 2]), np.array([4, 0, 2])
    pred = completion.predict((to_xp(xp, F), to_xp(xp, G)), to_xp(xp, rows), to_xp(xp, cols))
    assert_close(pred, M[rows, cols], rtol=1e-12, xp=xp)
    obs = Observations(to_xp(xp, rows), to_xp(xp, cols), to_xp(xp, M[rows, cols] + np.array([1.0, -1.0, 2.0])), (6, 5))
    assert completion.rmse((to_xp(xp, F), to_xp(xp, G)), obs) == pytest.approx(math.sqrt(2.0))
    assert completion.mae((to_xp(xp, F), to_xp(xp, G)), obs) == pytest.approx(4.0 / 3.0)
    F2 = F + 0.1 * rng.standard_normal(F.shape)
    expected = np.linalg.norm(F2 @ G.T - M) / np.linalg.norm(M)
    got = completion.relative_error((to_xp(xp, F2), to_xp(xp, G)), (to_xp(xp, F), to_xp(xp, G)))
    assert got == pytest.approx(expected, rel=1e-10)
    with pytest.raises(ValueError, match="rows must be in"):
        completion.predict((to_xp(xp, F), to_xp(xp, G)), to_xp(xp, np.array([6])), to_xp(xp, np.array([0])))
    with pytest.raises(TypeError, match="result must be a SolverResult"):
        completion.predict("nope", rows, cols)


def test_history_metrics_match_dense_computations(xp):
    truth, obs = _small(xp, 30, 20, 2, p=0.6)
    test = sample_entries(truth, n_observed=50, rng=9)
    res = completion.altmin(obs, 2, truth=truth, test=test, max_iter=2, tol=0.0, rng=0)
    F, G = (_host(f) for f in res.factors)
    M = _host(truth.matrix)
    last = res.history.iloc[-1]
    assert last["relative_error"] == pytest.approx(np.linalg.norm(F @ G.T - M) / np.linalg.norm(M), rel=1e-8)
    r = (F @ G.T)[_host(test.rows), _host(test.cols)] - _host(test.values)
    assert last["test_rmse"] == pytest.approx(np.sqrt(np.mean(r**2)), rel=1e-10)
    r = (F @ G.T)[_host(obs.rows), _host(obs.cols)] - _host(obs.values)
    assert last["train_rmse"] == pytest.approx(np.sqrt(np.mean(r**2)), rel=1e-10)
    assert last["train_loss"] == pytest.approx(0.5 * np.sum(r**2), rel=1e-10)
    assert list(res.history["iteration"]) == [0, 1, 2]


# --------------------------------------------------------------------------- #
# bad inputs
# --------------------------------------------------------------------------- #
def test_bad_arguments_name_the_argument(xp):
    truth, obs = _small(xp, 20, 10, 2)
    cases = [
        (lambda: completion.altmin(obs, 0), ValueError, r"rank must be in \[1, min\(m, n\)=10\], got 0"),
        (lambda: completion.altmin(obs, 2, solve="lu"), ValueError, "solve must be one of"),
        (lambda: completion.altmin(obs, 2, reg=-1.0), ValueError, "reg must be"),
        (lambda: completion.altmin(obs, 2, cg_iters=0, solve="cg"), ValueError, "cg_iters"),
        (lambda: completion.altmin(obs, 2, init="svd"), ValueError, "init must be one of"),
        (lambda: completion.altmin(obs, 2, init=(np.ones((3, 2)), np.ones((10, 2)))), ValueError, "init factors"),
        (lambda: completion.altmin(obs, 2, trim=0.0), ValueError, "trim"),
        (lambda: completion.altmin(obs, 2, perturbation=-0.1), ValueError, "perturbation"),
        (lambda: completion.altmin(obs, 2, resample=1), ValueError, "resample"),
        (lambda: completion.altmin(obs, 2, max_iter=-1), ValueError, "max_iter"),
        (lambda: completion.altmin(obs, 2, history_stride=0), ValueError, "history_stride"),
        (lambda: completion.altmin(obs, 2, n_threads=0), ValueError, "n_threads"),
        (lambda: completion.altmin(obs, 2, callback=3), TypeError, "callback"),
        (lambda: completion.altmin(obs, 2, truth=low_rank_matrix(5, 5, 1, xp=xp)), ValueError, "truth must have shape"),
        (lambda: completion.altmin(obs, 2, truth=np.ones((20, 10))), TypeError, "truth must be a LowRankMatrix"),
        (lambda: completion.altmin(obs, 2, test=obs.transpose()), ValueError, "test must have the shape"),
        (lambda: completion.altmin(np.ones((20, 10)), 2), TypeError, "obs must be lowrank_lab.completion.Observations"),
        (lambda: completion.soft_impute(obs, 2, reg=0.0), ValueError, "reg must be"),
        (lambda: completion.svt(obs, tau=-1.0), ValueError, "tau must be"),
        (lambda: completion.svt(obs, 11), ValueError, "rank must be"),
        (lambda: completion.svp(obs, 2, step_size=0.0), ValueError, "step_size must be"),
        (lambda: completion.scaled_gd(obs, 11), ValueError, "rank must be"),
        (lambda: completion.scaled_gd(obs, 2, init="zeros"), ValueError, "init must be one of"),
    ]
    for fn, err, match in cases:
        with pytest.raises(err, match=match):
            fn()


# --------------------------------------------------------------------------- #
# trial functions (tiny sizes)
# --------------------------------------------------------------------------- #
def test_trial_functions_run_at_tiny_sizes():
    row = trials.recovery_trial(n=40, rank=2, oversampling=4.0, solve="cg", cg_iters=2, seed=0, max_iter=30)
    assert set(row) >= {"success", "relative_error", "p", "n_observed", "n_iter", "dof"}
    assert row["success"] is True
    curve = trials.convergence_trial(n=40, rank=2, oversampling=4.0, perturbation=1e-2, seed=0, max_iter=10)
    assert list(curve.columns) >= ["iteration", "relative_error"] and len(curve) == 11
    t = trials.timing_trial(n=60, rank=4, n_observed=1000, solve="cg", seed=0, n_sweeps=2)
    assert t["time_per_sweep_s"] > 0 and t["ops_per_sweep"] > 0
    comp = trials.solver_trial(solver="svp", n=40, rank=2, p=0.5, seed=0, max_iter=20)
    assert {"time_s", "relative_error", "solver"} <= set(comp.columns)
    coh = trials.coherence_trial(n=40, rank=2, p=0.5, exponent=1.0, seed=0, max_iter=20)
    assert coh["mu"] > 1 and "success" in coh
    with pytest.raises(ValueError, match="solver"):
        trials.recovery_trial(n=40, rank=2, oversampling=4.0, solver="nope", seed=0)
    # options the solver does not take are refused by name (they would only change the cache key)
    with pytest.raises(TypeError, match=r"unknown key\(s\) \['step_size'\] for altmin"):
        trials.recovery_trial(n=40, rank=2, oversampling=4.0, seed=0, step_size=0.5)
    with pytest.raises(TypeError, match="cg_iter"):
        trials.convergence_trial(n=40, rank=2, oversampling=4.0, seed=0, cg_iter=2)
    assert trials.variant_label("altmin", "cg", 2) == "cg2" and trials.variant_label("svt") == "svt"


@pytest.mark.parametrize("rank, missing", [(2, 0.2), (4, 0.2), (2, 0.5), (4, 0.5), (2, 0.8)])
def test_soft_impute_default_stop_reaches_the_algorithms_accuracy(rank, missing):
    """The default stopping rule ends within 2% of the fixed point's error on the missing entries."""
    truth = low_rank_matrix(80, 60, rank, rng=rank)
    obs = sample_entries(truth, p=1 - missing, rng=7)
    M = np.asarray(truth.matrix)
    Z0 = np.zeros(M.shape)
    Z0[np.asarray(obs.rows), np.asarray(obs.cols)] = np.asarray(obs.values)
    reg = np.linalg.norm(Z0, 2) / 50  # fancyimpute's default lambda
    mask = Z0 == 0

    def missing_error(res):
        F, G = res.factors
        return np.linalg.norm((F @ G.T - M)[mask]) / np.linalg.norm(M[mask])

    limit = missing_error(completion.soft_impute(obs, 10, reg=reg, tol=1e-13, max_iter=2500, rng=0))
    default = completion.soft_impute(obs, 10, reg=reg, rng=0)
    assert default.stop_reason == "converged"
    assert missing_error(default) <= 1.02 * limit
    old_rule = completion.soft_impute(obs, 10, reg=reg, tol=1e-5, max_iter=100, rng=0)  # the R package's defaults
    if missing >= 0.5:
        assert missing_error(old_rule) > 1.05 * limit  # why the default changed


@pytest.mark.parametrize("seed", [0, 1])
def test_scaled_gd_lambda_recovers_with_rank_above_the_truth(seed):
    """ScaledGD(lambda) from a small start generalizes with k > r; plain ScaledGD overfits (issue 15)."""
    truth = low_rank_matrix(100, 80, 3, rng=seed)
    obs, test = completion.train_test_split(sample_entries(truth, p=0.45, rng=seed + 10), test_fraction=0.2,
                                            rng=seed)
    plain = completion.scaled_gd(obs, 8, rng=0, max_iter=600)
    damped = completion.scaled_gd(obs, 8, init="small_random", rng=0, max_iter=1500)
    als = completion.altmin(obs, 8, rng=0, max_iter=100)
    assert damped.params["damping"] > 0 and damped.stop_reason != "diverged"
    assert completion.mae(damped, test) < 1e-3
    assert completion.mae(damped, test) < 2 * completion.mae(als, test) + 1e-4
    assert plain.stop_reason == "diverged" or completion.mae(plain, test) > 20 * completion.mae(damped, test)
    exact = completion.scaled_gd(obs, 3, init="small_random", rng=0, max_iter=1500)  # k = r: still exact
    assert exact.stop_reason == "converged" and completion.mae(exact, test) < 1e-8


@pytest.mark.parametrize("name", ["altmin", "svt", "svp", "scaled_gd"])
def test_completion_solvers_can_choose_the_krylov_partial_svd(name):
    """issue 15: the solvers' partial SVDs can iterate to a tolerance (svd_method="krylov")."""
    truth = low_rank_matrix(60, 50, 2, rng=0)
    obs = sample_entries(truth, p=0.5, rng=1)
    res = completion.SOLVERS[name](obs, 2, truth=truth, rng=0, svd_method="krylov", svd_options={"tol": 1e-12})
    assert res.params["svd_method"] == "krylov" and res.params["svd_options"] == {"tol": 1e-12}
    assert res.final("relative_error") < (1e-2 if name == "svt" else 1e-6)
    with pytest.raises(TypeError, match=r"svd_options has unknown key\(s\) \['n_power_iter'\]"):
        completion.SOLVERS[name](obs, 2, svd_method="krylov", svd_options={"n_power_iter": 2})
    with pytest.raises(ValueError, match="svd_method must be one of"):
        completion.SOLVERS[name](obs, 2, svd_method="lanczos")


def test_krylov_spectral_initialization_is_the_exact_top_subspace():
    truth = low_rank_matrix(80, 60, 3, rng=0)
    obs = sample_entries(truth, p=0.3, rng=1)
    dense = np.zeros(obs.shape)
    dense[np.asarray(obs.rows), np.asarray(obs.cols)] = np.asarray(obs.values) / obs.density
    exact = np.linalg.svd(dense, compute_uv=False)[:3]
    from lowrank_lab.completion._common import SVDChoice, _spectral

    _, S, _ = _spectral(obs, 3, 0, svd=SVDChoice("krylov", {"tol": 1e-12}))
    np.testing.assert_allclose(np.asarray(S), exact, rtol=1e-10)
