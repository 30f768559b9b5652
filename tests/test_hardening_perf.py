"""Issue 9 (hardening): the fast paths behind the fit-time and set-up fixes agree with the plain ones.

Speed itself is measured in ``benchmarks/bench_completion.py``; tests never assert wall-clock times.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from helpers import assert_close, to_xp

from lowrank_lab import linalg
from lowrank_lab.linalg import _jit


def _problem(rng, m=300, n=200, k=4, nnz=150_000):
    rows = np.sort(rng.integers(0, m, nnz))
    cols = rng.integers(0, n, nnz)
    return rng.standard_normal((m, k)), rng.standard_normal((n, k)), rows, cols, rng.standard_normal(nnz)


def test_sampled_squared_error_agrees_with_the_materialized_residual(xp, rng):
    U, V, rows, cols, vals = _problem(rng, nnz=5000)
    want = np.sum((np.sum(U[rows] * V[cols], axis=1) - vals) ** 2)
    got = linalg.sampled_squared_error(*(to_xp(xp, a) for a in (U, V, rows, cols, vals)), chunk_size=999)
    assert_close(got, np.asarray(want), rtol=1e-12, xp=xp)
    assert got.shape == ()


@pytest.mark.skipif(not _jit.numba_enabled(), reason="Numba not installed")
def test_sampled_squared_error_compiled_path_agrees_with_the_fallback_on_any_thread_count(rng, monkeypatch):
    U, V, rows, cols, vals = _problem(rng)
    compiled = linalg.sampled_squared_error(U, V, rows, cols, vals)
    with ThreadPoolExecutor(2) as pool:
        threaded = linalg.sampled_squared_error(U, V, rows, cols, vals, executor=pool, n_threads=3)
    assert float(threaded) == float(compiled)  # fixed chunks summed in order: bit-identical
    monkeypatch.setenv("LOWRANK_NUMBA", "0")
    fallback = linalg.sampled_squared_error(U, V, rows, cols, vals)
    np.testing.assert_allclose(float(compiled), float(fallback), rtol=1e-12)
    f32 = linalg.sampled_squared_error(*(a.astype(np.float32) if a.dtype == float else a for a in (U, V, rows, cols,
                                                                                                   vals)))
    assert f32.dtype == np.float32 and float(f32) == pytest.approx(float(compiled), rel=1e-4)


def test_altmin_checks_do_not_materialize_the_training_residual(monkeypatch):
    from lowrank_lab import completion
    from lowrank_lab.completion import sample_entries
    from lowrank_lab.matrices import low_rank_matrix

    truth = low_rank_matrix(60, 50, 3, rng=0)
    obs = sample_entries(truth, p=0.5, rng=1)
    sizes = []
    real = linalg.sampled_dot

    def spy(U, V, rows, cols, **kw):
        sizes.append(int(rows.shape[0]))
        return real(U, V, rows, cols, **kw)

    monkeypatch.setattr(linalg, "sampled_dot", spy)
    res = completion.altmin(obs, 3, max_iter=5, tol=0.0, rng=0)
    assert obs.nnz not in sizes  # the training residual's norm comes from the fused kernel
    rmse = res.history["train_rmse"].to_numpy()
    assert len(rmse) == 6 and rmse[-1] < 1e-3 * rmse[0]
    # SVP uses the residual vector in its step: it still gets it
    completion.svp(obs, 3, max_iter=2, rng=0)
    assert obs.nnz in sizes


@pytest.mark.parametrize("bound", [7, 2**16, 2**16 + 5, 2**20])
def test_stable_argsort_radix_path_agrees_with_a_stable_sort(xp, rng, bound):
    keys = rng.integers(0, bound, 20_000)
    keys[:50] = bound - 1  # ties at the top key
    got = linalg.stable_argsort(to_xp(xp, keys), bound)
    assert_close(got, np.argsort(keys, kind="stable"), xp=xp)


def test_sampling_is_unchanged_by_the_faster_bookkeeping():
    """The seeded sample is exactly that of the numpy.unique / Generator.choice formulation (caches stay valid)."""
    from lowrank_lab.completion.observations import _uniform_positions

    def reference(total, count, gen):
        picked = np.unique(gen.integers(0, total, size=count + count // 8 + 16, dtype=np.int64))
        while picked.size < count:
            picked = np.union1d(picked, gen.integers(0, total, size=2 * (count - picked.size) + 16, dtype=np.int64))
        if picked.size > count:
            picked = np.sort(gen.choice(picked, size=count, replace=False))
        return picked

    for total, count, seed in [(10**6, 10**5, 1), (10**5, 24_000, 4), (400, 90, 5)]:  # the second one tops up
        np.testing.assert_array_equal(_uniform_positions(total, count, np.random.default_rng(seed)),
                                      reference(total, count, np.random.default_rng(seed)))


@pytest.mark.skipif(not _jit.numba_enabled(), reason="Numba not installed")
def test_compiled_sampled_dot_agrees_with_the_gathering_path(rng, monkeypatch):
    U, V, rows, cols, _ = _problem(rng, nnz=20_000)
    compiled = linalg.sampled_dot(U, V, rows, cols)
    monkeypatch.setenv("LOWRANK_NUMBA", "0")
    np.testing.assert_allclose(compiled, linalg.sampled_dot(U, V, rows, cols, chunk_size=777), rtol=1e-12, atol=1e-13)
    f32 = linalg.sampled_dot(U.astype(np.float32), V.astype(np.float32), rows, cols)
    assert f32.dtype == np.float32


def test_column_order_agrees_with_a_stable_sort(xp, rng, monkeypatch):
    rows = np.sort(rng.integers(0, 50, 3000))
    cols = rng.integers(0, 40, 3000)
    vals = rng.standard_normal(3000)
    want = np.argsort(cols, kind="stable")
    for numba in ("1", "0"):
        monkeypatch.setenv("LOWRANK_NUMBA", numba)
        order, r, c, v, off = linalg.column_order(*(to_xp(xp, a) for a in (rows, cols, vals)), 41)
        assert_close(order, want, xp=xp)
        assert_close(r, rows[want], xp=xp)
        assert_close(c, cols[want], xp=xp)
        assert_close(v, vals[want], xp=xp)
        assert_close(off, np.searchsorted(cols[want], np.arange(42)), xp=xp)


def test_thin_qr_agrees_with_the_standard_qr_and_runs_narrow_panels_on_one_blas_thread(xp, rng, monkeypatch):
    A = rng.standard_normal((300, 12))
    Q, R = linalg.thin_qr(to_xp(xp, A))
    assert tuple(Q.shape) == (300, 12) and tuple(R.shape) == (12, 12)
    assert_close(Q @ R, A, rtol=1e-12, atol=1e-12, xp=xp)
    assert_close(xp.matrix_transpose(Q) @ Q, np.eye(12), atol=1e-13, xp=xp)
    if xp.__name__.endswith("numpy"):
        import scipy.linalg
        from threadpoolctl import threadpool_info

        seen = []
        real = scipy.linalg.qr

        def spy(*args, **kwargs):
            seen.append(max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"))
            return real(*args, **kwargs)

        monkeypatch.setattr(scipy.linalg, "qr", spy)
        linalg.thin_qr(A)  # the spectral initializations' tall-skinny panels: BLAS threads only spin there
        assert seen == [1]
        assert Q.flags["C_CONTIGUOUS"]  # keeps the next A @ Q on the fast path
