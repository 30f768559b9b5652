from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from helpers import assert_close, to_xp

from lowrank_lab import backend, linalg


def _decaying(m, n, rate, rng, kind="power"):
    U = np.linalg.qr(rng.standard_normal((m, min(m, n))))[0]
    V = np.linalg.qr(rng.standard_normal((n, min(m, n))))[0]
    i = np.arange(1, min(m, n) + 1, dtype=float)
    s = i**-rate if kind == "power" else np.exp(-rate * i)
    return (U * s) @ V.T, s


# ----------------------------------------------------------------- segment sums
@pytest.mark.parametrize("trailing", [(), (3,), (2, 2)])
@pytest.mark.parametrize("is_sorted", [False, True])
def test_segment_sum_matches_a_python_loop(xp, rng, trailing, is_sorted):
    n_seg, n = 7, 50
    ids = rng.integers(0, n_seg - 1, n)  # the last segment stays empty
    if is_sorted:
        ids = np.sort(ids)
    vals = rng.standard_normal((n, *trailing))
    expected = np.zeros((n_seg, *trailing))
    for i, s in enumerate(ids):
        expected[s] += vals[i]
    out = linalg.segment_sum(to_xp(xp, vals), to_xp(xp, ids), n_seg, sorted=is_sorted)
    assert_close(out, expected, xp=xp, rtol=1e-12, atol=1e-12)


def test_segment_sum_fast_path_agrees_with_standard_fallback(rng):
    xp = backend.get_namespace("numpy")
    ids = rng.integers(0, 40, 1000)
    vals = rng.standard_normal((1000, 5))
    fast = linalg.segment_sum(vals, ids, 40)
    slow = linalg._segment._segment_sum_standard(vals, ids, 40, False)
    np.testing.assert_allclose(fast, slow, rtol=1e-10, atol=1e-12)
    s = np.sort(ids)
    np.testing.assert_allclose(
        linalg.segment_sum(vals, s, 40, sorted=True), linalg._segment._segment_sum_standard(vals, s, 40, True), atol=1e-12
    )
    assert backend.is_numpy(xp)


def test_segment_sum_empty_input(xp):
    out = linalg.segment_sum(to_xp(xp, np.zeros((0, 2))), to_xp(xp, np.zeros(0, dtype=np.int64)), 3)
    assert_close(out, np.zeros((3, 2)), xp=xp)


# ----------------------------------------------------------------- sparse products
def test_csr_matmul_and_sampled_dot_match_scipy(xp, rng):
    import scipy.sparse as sp

    S = sp.random(12, 9, density=0.3, random_state=1, format="csr")
    S.sort_indices()
    D = rng.standard_normal((9, 4))
    out = linalg.csr_matmul(to_xp(xp, S.indptr), to_xp(xp, S.indices), to_xp(xp, S.data), to_xp(xp, D))
    assert_close(out, S @ D, xp=xp, rtol=1e-12, atol=1e-12)
    vec = linalg.csr_matmul(to_xp(xp, S.indptr), to_xp(xp, S.indices), to_xp(xp, S.data), to_xp(xp, D[:, 0]))
    assert_close(vec, S @ D[:, 0], xp=xp, rtol=1e-12, atol=1e-12)

    U, V = rng.standard_normal((12, 3)), rng.standard_normal((9, 3))
    rows, cols = S.nonzero()
    got = linalg.sampled_dot(to_xp(xp, U), to_xp(xp, V), to_xp(xp, rows), to_xp(xp, cols), chunk_size=7)
    assert_close(got, (U @ V.T)[rows, cols], xp=xp, rtol=1e-12)


def test_csr_matmul_fast_path_agrees_with_standard_fallback(rng):
    import scipy.sparse as sp

    S = sp.random(30, 20, density=0.2, random_state=2, format="csr")
    D = rng.standard_normal((20, 3))
    fast = linalg.csr_matmul(S.indptr, S.indices, S.data, D)
    slow = linalg._segment._csr_matmul_standard(S.indptr, S.indices, S.data, D)
    np.testing.assert_allclose(fast, slow, atol=1e-12)


# ----------------------------------------------------------------- solves
def test_batched_solve(xp, rng):
    A = rng.standard_normal((5, 4, 4)) + 4 * np.eye(4)
    b = rng.standard_normal((5, 4))
    x = linalg.batched_solve(to_xp(xp, A), to_xp(xp, b))
    assert_close(x, np.linalg.solve(A, b[..., None])[..., 0], xp=xp, rtol=1e-10)
    B = rng.standard_normal((5, 4, 2))
    assert_close(linalg.batched_solve(to_xp(xp, A), to_xp(xp, B)), np.linalg.solve(A, B), xp=xp, rtol=1e-10)


def test_lstsq_matches_numpy_and_fallback(xp, rng):
    A = rng.standard_normal((20, 5))
    A[:, 4] = A[:, 3]  # rank deficient: minimum-norm solution
    b = rng.standard_normal(20)
    expected = np.linalg.lstsq(A, b, rcond=None)[0]
    assert_close(linalg.lstsq(to_xp(xp, A), to_xp(xp, b)), expected, xp=xp, rtol=1e-8, atol=1e-10)
    B = rng.standard_normal((20, 3))
    assert_close(
        linalg.lstsq(to_xp(xp, A), to_xp(xp, B)), np.linalg.lstsq(A, B, rcond=None)[0], xp=xp, rtol=1e-8, atol=1e-10
    )


# ----------------------------------------------------------------- orthonormal bases and SVD
def test_orthonormalize_is_unique_and_backend_independent(xp, rng):
    A = rng.standard_normal((10, 4))
    Q = linalg.orthonormalize(to_xp(xp, A))
    Qh = backend.to_numpy(Q)
    np.testing.assert_allclose(Qh.T @ Qh, np.eye(4), atol=1e-12)
    ref, R = np.linalg.qr(A)
    ref = ref * np.sign(np.diag(R))
    assert_close(Q, ref, xp=xp, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="at least as many rows"):
        linalg.orthonormalize(to_xp(xp, A.T))


def test_svd_sign_convention_and_reconstruction(xp, rng):
    A = rng.standard_normal((8, 6))
    U, S, Vt = linalg.svd(to_xp(xp, A))
    Uh, Sh, Vth = (backend.to_numpy(a) for a in (U, S, Vt))
    np.testing.assert_allclose((Uh * Sh) @ Vth, A, atol=1e-12)
    assert np.all(np.diff(Sh) <= 0)
    pivots = Uh[np.argmax(np.abs(Uh), axis=0), np.arange(Uh.shape[1])]
    assert np.all(pivots > 0)
    # the convention makes -A's vectors differ from A's only in V
    U2, _, Vt2 = linalg.svd(to_xp(xp, -A))
    assert_close(U2, Uh, xp=xp, atol=1e-10)
    assert_close(Vt2, -Vth, xp=xp, atol=1e-10)


def test_truncated_svd_is_the_eckart_young_optimum(xp, rng):
    A, _ = _decaying(30, 20, 1.0, rng)
    U, S, Vt = linalg.truncated_svd(to_xp(xp, A), 5)
    s_all = np.linalg.svd(A, compute_uv=False)
    assert_close(S, s_all[:5], xp=xp, rtol=1e-10)
    err = np.linalg.norm(A - (backend.to_numpy(U) * backend.to_numpy(S)) @ backend.to_numpy(Vt), 2)
    np.testing.assert_allclose(err, s_all[5], rtol=1e-8)


@pytest.mark.parametrize("bad_rank", [0, 21, 2.5])
def test_rank_is_validated(xp, rng, bad_rank):
    A = to_xp(xp, rng.standard_normal((30, 20)))
    error = TypeError if isinstance(bad_rank, float) else ValueError
    with pytest.raises(error, match="rank"):
        linalg.randomized_svd(A, bad_rank)
    with pytest.raises(error, match="rank"):
        linalg.truncated_svd(A, bad_rank)


def test_nan_and_shape_are_refused(xp):
    A = np.ones((4, 3))
    A[1, 1] = np.nan
    with pytest.raises(ValueError, match="A must be finite"):
        linalg.svd(to_xp(xp, A))
    with pytest.raises(ValueError, match="A must be 2-D"):
        linalg.randomized_svd(to_xp(xp, np.ones(3)), 1)


# ----------------------------------------------------------------- randomized SVD
def test_randomized_svd_exact_on_low_rank_and_seeded(xp, rng):
    A = rng.standard_normal((60, 6)) @ rng.standard_normal((6, 40))
    res = linalg.randomized_svd(to_xp(xp, A), 6, rng=3)
    ref = linalg.truncated_svd(A, 6)
    assert_close(res.S, ref.S, xp=xp, rtol=1e-10)
    assert_close(res.U, ref.U, xp=xp, atol=1e-8)  # same sign convention -> same vectors
    again = linalg.randomized_svd(to_xp(xp, A), 6, rng=3)
    assert_close(again.S, backend.to_numpy(res.S), xp=xp, rtol=0)


def test_randomized_svd_same_seed_same_result_across_backends(rng):
    A, _ = _decaying(50, 40, 0.5, rng)
    a = linalg.randomized_svd(A, 5, n_power_iter=1, rng=11)
    b = linalg.randomized_svd(backend.asarray(A, xp=backend.get_namespace("array_api_strict")), 5, n_power_iter=1, rng=11)
    np.testing.assert_allclose(backend.to_numpy(b.S), a.S, rtol=1e-10)
    np.testing.assert_allclose(backend.to_numpy(b.U), a.U, atol=1e-8)


def test_power_iterations_reach_eckart_young_on_slow_decay(rng):
    """Halko et al.: q = 0 is far from sigma_{k+1} on slow decay, q >= 2 within ~1.1 (Halko, Martinsson & Tropp 2011)."""
    A, s = _decaying(400, 200, 0.5, rng)
    k = 20
    ratios = {}
    for q in (0, 2):
        r = linalg.randomized_svd(A, k, n_power_iter=q, rng=0)
        ratios[q] = np.linalg.norm(A - (r.U * r.S) @ r.Vt, 2) / s[k]
    assert ratios[0] > 1.5
    assert 1.0 - 1e-9 <= ratios[2] < 1.15


def test_randomized_svd_agrees_with_scikit_learn(rng):
    sk = pytest.importorskip("sklearn.utils.extmath")
    A, s = _decaying(200, 150, 1.0, rng)
    ours = linalg.randomized_svd(A, 10, n_oversamples=10, n_power_iter=4, rng=0)
    _, theirs, _ = sk.randomized_svd(A, 10, n_oversamples=10, n_iter=4, random_state=0)
    np.testing.assert_allclose(ours.S, theirs, rtol=1e-6)
    np.testing.assert_allclose(ours.S, s[:10], rtol=1e-6)


def test_randomized_svd_float32(xp, rng):
    A = (rng.standard_normal((40, 5)) @ rng.standard_normal((5, 30))).astype(np.float32)
    res = linalg.randomized_svd(to_xp(xp, A, dtype=xp.float32), 5, rng=0)
    assert res.S.dtype == xp.float32
    np.testing.assert_allclose(backend.to_numpy(res.S), scipy.linalg.svdvals(A.astype(float))[:5], rtol=1e-4)


def test_kernel_shape_errors_name_the_argument(xp):
    with pytest.raises(ValueError, match="segment_ids"):
        linalg.segment_sum(to_xp(xp, np.ones(3)), to_xp(xp, np.zeros(2, dtype=np.int64)), 2)
    with pytest.raises(ValueError, match="n_segments"):
        linalg.segment_sum(to_xp(xp, np.ones(2)), to_xp(xp, np.zeros(2, dtype=np.int64)), -1)
    with pytest.raises(ValueError, match="square"):
        linalg.batched_solve(to_xp(xp, np.ones((2, 3, 4))), to_xp(xp, np.ones((2, 3))))
    with pytest.raises(ValueError, match="b must have shape"):
        linalg.batched_solve(to_xp(xp, np.ones((2, 3, 3))), to_xp(xp, np.ones((3, 3, 1))))
    with pytest.raises(ValueError, match="b must have 4 rows"):
        linalg.lstsq(to_xp(xp, np.ones((4, 2))), to_xp(xp, np.ones(3)))
    bad = np.ones(4)
    bad[0] = np.inf
    with pytest.raises(ValueError, match="b must be finite"):
        linalg.lstsq(to_xp(xp, np.ones((4, 2))), to_xp(xp, bad))


def test_randomized_svd_operator_matches_the_array_version_and_warm_starts(xp, rng):
    A, s = _decaying(80, 60, 1.0, rng)
    Ax = to_xp(xp, A)
    At = xp.matrix_transpose(Ax)
    dense = linalg.randomized_svd(Ax, 5, n_power_iter=3, rng=4)
    implicit = linalg.randomized_svd_operator(lambda X: Ax @ X, lambda Y: At @ Y, (80, 60), 5,
                                              like=Ax, n_power_iter=3, rng=4)
    assert_close(implicit.S, backend.to_numpy(dense.S), xp=xp, rtol=1e-12)
    assert_close(implicit.U, backend.to_numpy(dense.U), xp=xp, atol=1e-10)
    # a warm start with the exact top subspace needs no power iteration
    exact = linalg.truncated_svd(A, 8)
    warm = linalg.randomized_svd_operator(lambda X: Ax @ X, lambda Y: At @ Y, (80, 60), 5, like=Ax,
                                          n_oversamples=0, n_power_iter=0, start=to_xp(xp, exact.U), rng=0)
    assert_close(warm.S, s[:5], xp=xp, rtol=1e-10)
    with pytest.raises(ValueError, match="rank"):
        linalg.randomized_svd_operator(lambda X: X, lambda Y: Y, (5, 5), 6, like=Ax)


def test_kernel_plan_owns_and_closes_its_thread_pool():
    import threading

    plan = linalg.altmin_kernel_plan(4, (50, 40), np, solve="exact", n_threads=3)
    before = threading.active_count()
    indptr = np.arange(0, 3 * (1 << 16) + 1, 1 << 15)  # 6 segments of 32768 entries: 3 ranges
    indices = np.zeros(indptr[-1], dtype=np.int64)
    blocks = plan.blocks(indptr, indices, 1)
    assert len(blocks.ranges) == 3 and blocks.executor is plan.executor
    seen = []
    linalg._altmin._parallel_for(seen.append, 3, blocks.executor)
    assert sorted(seen) == [0, 1, 2] and threading.active_count() >= before
    plan.close()
    assert plan._executor is None
    plan.close()  # idempotent
    assert "KernelPlan(method='packed'" in repr(plan)
    # no plan: a pool made for the call and shut down after it
    counts = []
    linalg._altmin._parallel_for(lambda i: counts.append(threading.active_count()), 2)
    assert len(counts) == 2
    with pytest.raises(ValueError, match="kernel must be one of"):
        linalg.altmin_kernel_plan(4, (5, 5), np, kernel="fast")
    with pytest.raises(ValueError, match="solve must be one of"):
        linalg.altmin_kernel_plan(4, (5, 5), np, solve="lu")


def test_the_packed_kernel_rule_lives_in_one_place():
    with linalg.altmin_kernel_plan(linalg.PACKED_MAX_K + 1, (50, 40), np, solve="exact") as plan:
        assert plan.need_layout == (not linalg.has_compiled_kernels())
    with linalg.altmin_kernel_plan(4, (50, 40), np, solve="exact", kernel="padded") as plan:
        assert plan.need_layout and plan.block_rows is None and plan.n_threads == 1
