"""The partial SVD iterated to a tolerance (``linalg.krylov_svd``), against SciPy's ``svds`` and exact SVDs.

The error bounds tested are those of the docstring: each singular value within the
relative residual ``tol * s_1`` of the true one, each vector within ``tol * s_1 / gap``.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg
from helpers import assert_close, to_xp

from lowrank_lab import backend, linalg


def _matrix(m, n, s, rng):
    U = np.linalg.qr(rng.standard_normal((m, s.size)))[0]
    V = np.linalg.qr(rng.standard_normal((n, s.size)))[0]
    return (U * s) @ V.T, U, V


SPECTRA = {
    "flat": lambda i: i**-0.1,
    "slow": lambda i: i**-0.5,
    "fast": lambda i: i**-2.0,
    "geometric": lambda i: 0.8**i,
}


def _svds(A, k):
    u, s, vt = scipy.sparse.linalg.svds(A, k, tol=0, random_state=0)
    order = np.argsort(-s)
    return u[:, order], s[order], vt[order]


def _gaps(s_all, k):
    """Distance of each of the top-k singular values to the nearest other one."""
    d = np.abs(s_all[:k, None] - s_all[None, :])
    d[np.arange(k), np.arange(k)] = np.inf
    return d.min(axis=1)


def _vector_errors(U, ref):
    signs = np.sign(np.sum(U * ref, axis=0))
    return np.linalg.norm(U * signs - ref, axis=0)


@pytest.mark.parametrize("spectrum", list(SPECTRA))
@pytest.mark.parametrize("shape, rank", [((150, 110), 6), ((100, 170), 12)])
@pytest.mark.parametrize("tol", [1e-6, 1e-11])
def test_agrees_with_scipy_svds_within_the_residual_bounds(spectrum, shape, rank, tol):
    rng = np.random.default_rng(zlib.crc32(repr((spectrum, shape, rank)).encode()))
    m, n = shape
    s_true = SPECTRA[spectrum](np.arange(1, min(m, n) + 1, dtype=float))
    A, _, _ = _matrix(m, n, s_true, rng)
    res = linalg.krylov_svd(A, rank, tol=tol, rng=1)  # residuals from the recurrence
    assert res.converged and res.stop_reason == "converged"
    u_ref, s_ref, vt_ref = _svds(A, rank)
    # the tolerance is honoured by the residuals recomputed from A, which the reported ones match
    explicit = np.sqrt(np.sum((A @ res.Vt.T - res.U * res.S) ** 2, axis=0)
                       + np.sum((A.T @ res.U - res.Vt.T * res.S) ** 2, axis=0)) / res.S[0]
    assert res.max_residual <= tol and explicit.max() <= tol + 1e-14
    np.testing.assert_allclose(res.residuals, explicit, rtol=0.05, atol=1e-13)  # 1e-13: rounding of A @ v
    # singular values: within the residual of the truth (svds agrees with the truth to ~1e-14)
    np.testing.assert_allclose(s_ref, s_true[:rank], rtol=1e-12)
    assert np.all(np.abs(res.S - s_true[:rank]) <= res.residuals * res.S[0] + 1e-13)  # + rounding of A
    # vectors: sin(angle) <= residual / gap (Wedin / Davis-Kahan), here against svds; the
    # residual cannot be measured below the rounding of A (~1e-14), whatever the recurrence says
    bound = np.maximum(res.residuals, 1e-14) * res.S[0] / _gaps(s_true, rank) + 1e-12
    assert np.all(_vector_errors(res.U, u_ref) <= 2 * bound)
    assert np.all(_vector_errors(res.Vt.T, vt_ref.T) <= 2 * bound)
    np.testing.assert_allclose(res.U.T @ res.U, np.eye(rank), atol=1e-11)
    np.testing.assert_allclose(res.Vt @ res.Vt.T, np.eye(rank), atol=1e-11)


def test_tighter_tolerance_costs_more_and_is_honoured():
    rng = np.random.default_rng(0)
    A, _, _ = _matrix(200, 160, np.arange(1, 161) ** -0.3, rng)
    runs = [linalg.krylov_svd(A, 8, tol=tol, rng=0) for tol in (1e-3, 1e-7, 1e-12)]
    assert [r.n_matvec for r in runs] == sorted(r.n_matvec for r in runs)
    assert runs[0].n_matvec < runs[-1].n_matvec
    for r, tol in zip(runs, (1e-3, 1e-7, 1e-12)):
        assert r.converged and r.max_residual <= tol
    # the history records the residual at each Rayleigh-Ritz check, ending below tol
    hist = runs[-1].history
    assert list(hist.columns[:3]) == ["iteration", "time_s", "max_residual"]
    assert hist["max_residual"].iloc[-1] <= 1e-12 < hist["max_residual"].iloc[0]
    assert hist["iteration"].iloc[-1] == runs[-1].n_iter


def test_sparse_input_matches_svds():
    S = scipy.sparse.random(400, 300, density=0.02, random_state=3, format="csr")
    res = linalg.krylov_svd(S, 5, rng=0)
    u_ref, s_ref, vt_ref = _svds(S, 5)
    assert res.converged and isinstance(res.U, np.ndarray)
    np.testing.assert_allclose(res.S, s_ref, rtol=1e-12)
    s_all = np.linalg.svd(S.toarray(), compute_uv=False)
    bound = np.maximum(res.residuals, 1e-14) * res.S[0] / _gaps(s_all, 5) + 1e-12
    assert np.all(_vector_errors(res.U, u_ref) <= 2 * bound)
    # integer sparse data are cast; a COO matrix is accepted
    counts = scipy.sparse.coo_matrix((np.arange(1, 41), (np.arange(40), np.arange(40) % 30)), shape=(40, 30))
    ints = linalg.krylov_svd(counts, 2, rng=0)
    np.testing.assert_allclose(ints.S, np.linalg.svd(counts.toarray().astype(float), compute_uv=False)[:2])


def test_implicit_low_rank_plus_sparse_operator(xp, rng):
    """``P_Omega(M - X) + X`` with ``X = F G^T``, never formed (the SoftImpute operator)."""
    m, n, r = 90, 70, 4
    M = rng.standard_normal((m, r)) @ rng.standard_normal((r, n))
    mask = rng.random((m, n)) < 0.3
    F, G = rng.standard_normal((m, 3)), rng.standard_normal((n, 3))
    dense = np.where(mask, M - F @ G.T, 0.0) + F @ G.T
    Sp = scipy.sparse.csr_matrix(np.where(mask, M - F @ G.T, 0.0))
    Fx, Gx = to_xp(xp, F), to_xp(xp, G)
    Sx, Sxt = to_xp(xp, Sp.toarray()), to_xp(xp, Sp.toarray().T)  # the sparse part as a stand-in array
    res = linalg.krylov_svd_operator(
        lambda X: Sx @ X + Fx @ (xp.matrix_transpose(Gx) @ X),
        lambda Y: Sxt @ Y + Gx @ (xp.matrix_transpose(Fx) @ Y),
        (m, n), 5, like=Fx, tol=1e-12, rng=0,
    )
    ref = linalg.truncated_svd(dense, 5)
    assert_close(res.S, ref.S, xp=xp, rtol=1e-11)
    assert_close(res.U, ref.U, xp=xp, atol=1e-8)  # same sign convention -> same vectors
    assert_close(res.Vt, ref.Vt, xp=xp, atol=1e-8)


def test_backends_agree_and_keep_the_namespace(xp, rng):
    A, _, _ = _matrix(120, 90, np.arange(1, 91) ** -0.5, rng)
    res = linalg.krylov_svd(to_xp(xp, A), 5, tol=1e-10, rng=7)
    ref = linalg.krylov_svd(A, 5, tol=1e-10, rng=7)
    assert res.n_iter == ref.n_iter and res.n_matvec == ref.n_matvec
    assert_close(res.S, ref.S, xp=xp, rtol=1e-12)
    assert_close(res.U, ref.U, xp=xp, atol=1e-9)
    assert_close(res.residuals, backend.to_numpy(ref.residuals), xp=xp, rtol=1e-3, atol=1e-15)


def test_float32(xp, rng):
    A, _, _ = _matrix(150, 100, np.arange(1, 101) ** -0.5, rng)
    res = linalg.krylov_svd(to_xp(xp, A, dtype=xp.float32), 4, rng=0)
    assert res.S.dtype == xp.float32 and res.U.dtype == xp.float32
    assert res.converged
    assert res.tol >= 50 * np.finfo(np.float32).eps  # 1e-10 cannot be met in float32: raised
    np.testing.assert_allclose(backend.to_numpy(res.S), np.linalg.svd(A, compute_uv=False)[:4], rtol=1e-5)


def test_exactly_low_rank_and_zero_singular_values(xp, rng):
    """A rank-5 operator: the Krylov space closes after one step (breakdown refilled at random)."""
    A = rng.standard_normal((130, 5)) @ rng.standard_normal((5, 110))
    s = np.linalg.svd(A, compute_uv=False)
    for k in (5, 8):
        res = linalg.krylov_svd(to_xp(xp, A), k, rng=0)
        assert res.converged and res.n_iter <= 2
        S = backend.to_numpy(res.S)
        np.testing.assert_allclose(S[:5], s[:5], rtol=1e-12)
        np.testing.assert_allclose(S[5:], 0.0, atol=1e-12 * s[0])
        U = backend.to_numpy(res.U)
        np.testing.assert_allclose(U.T @ U, np.eye(k), atol=1e-12)
    zero = linalg.krylov_svd(to_xp(xp, np.zeros((100, 80))), 3, rng=0)
    assert zero.converged
    assert_close(zero.S, np.zeros(3), xp=xp)


def test_repeated_singular_values_within_the_block(rng):
    s = np.concatenate([[5.0, 3.0, 3.0, 3.0, 2.0], np.linspace(1.0, 0.1, 115)])
    A, _, _ = _matrix(140, 120, s, rng)
    res = linalg.krylov_svd(A, 5, block_size=4, tol=1e-12, rng=0)
    np.testing.assert_allclose(res.S, s[:5], rtol=1e-12)


def test_warm_start_reduces_iterations(rng):
    A, _, _ = _matrix(220, 180, np.arange(1, 181) ** -0.2, rng)
    first = linalg.krylov_svd(A, 8, tol=1e-10, rng=0)
    again = linalg.krylov_svd(A, 8, tol=1e-10, rng=1, start=first)
    assert again.converged and again.n_iter == 0  # the start is already converged
    B = A + 1e-5 * rng.standard_normal(A.shape)  # a nearby matrix (one SVT / SoftImpute step later)
    cold = linalg.krylov_svd(B, 8, tol=1e-10, rng=0)
    warm = linalg.krylov_svd(B, 8, tol=1e-10, rng=0, start=first)
    warm_left = linalg.krylov_svd(B, 8, tol=1e-10, rng=0, start=first.U)  # a left basis, as randomized takes
    for run in (warm, warm_left):
        assert run.converged and run.n_matvec < cold.n_matvec
        np.testing.assert_allclose(run.S, cold.S, rtol=1e-9)


def test_sign_convention_matches_svd(xp, rng):
    A, _, _ = _matrix(80, 60, np.arange(1, 61) ** -1.0, rng)
    res = linalg.krylov_svd(to_xp(xp, -A), 4, tol=1e-12, rng=0)
    ref = linalg.svd(-A)
    assert_close(res.U, ref.U[:, :4], xp=xp, atol=1e-9)
    assert_close(res.Vt, ref.Vt[:4], xp=xp, atol=1e-9)


def test_small_problems_are_decomposed_densely(xp, rng):
    A = rng.standard_normal((12, 9))
    res = linalg.krylov_svd(to_xp(xp, A), 3, rng=0)
    assert res.n_iter == 0 and res.converged
    assert_close(res.S, np.linalg.svd(A, compute_uv=False)[:3], xp=xp, rtol=1e-12)
    wide = linalg.krylov_svd(to_xp(xp, A.T), 3, rng=0)
    assert_close(wide.S, np.linalg.svd(A, compute_uv=False)[:3], xp=xp, rtol=1e-12)


def test_max_iter_and_callback_stop_without_raising(rng):
    A, _, _ = _matrix(200, 150, np.arange(1, 151) ** -0.05, rng)
    short = linalg.krylov_svd(A, 10, tol=1e-12, max_iter=2, rng=0)
    assert short.stop_reason == "max_iter" and not short.converged and short.n_iter == 2
    assert short.max_residual > 1e-12  # and it says how far it got
    seen = []
    stopped = linalg.krylov_svd(A, 10, tol=1e-12, rng=0, callback=lambda it, st: seen.append(it) or it == 3)
    assert stopped.stop_reason == "callback" and stopped.n_iter == 3 and seen == [0, 1, 2, 3]


def test_non_finite_products_stop_as_diverged(rng):
    A = rng.standard_normal((120, 100))
    calls = []

    def matmat(X):
        calls.append(1)
        return A @ X if len(calls) < 4 else np.full((120, X.shape[1]), np.nan)

    res = linalg.krylov_svd_operator(matmat, lambda Y: A.T @ Y, A.shape, 3, like=A, rng=0, verify=False)
    assert res.stop_reason == "diverged" and not res.converged


def test_recurrence_residuals_agree_with_explicit_ones(rng):
    A, _, _ = _matrix(200, 150, np.arange(1, 151) ** -0.5, rng)
    fast = linalg.krylov_svd(A, 6, rng=0)
    slow = linalg.krylov_svd(A, 6, rng=0, verify=True)
    assert fast.n_matvec == slow.n_matvec - 12
    np.testing.assert_allclose(fast.residuals, slow.residuals, rtol=0.5, atol=1e-14)


def test_bad_arguments_name_themselves(xp):
    A = to_xp(xp, np.ones((40, 30)))
    with pytest.raises(ValueError, match="rank"):
        linalg.krylov_svd(A, 31)
    with pytest.raises(ValueError, match="tol"):
        linalg.krylov_svd(A, 2, tol=0.0)
    with pytest.raises(TypeError, match="block_size"):
        linalg.krylov_svd(A, 2, block_size=2.0)
    with pytest.raises(ValueError, match="max_basis"):
        linalg.krylov_svd(A, 2, max_basis=3)
    with pytest.raises(TypeError, match="A must be an array"):
        linalg.krylov_svd("A", 2)
    with pytest.raises(TypeError, match="matmat must be callable"):
        linalg.krylov_svd_operator(None, lambda Y: Y, (40, 30), 2, like=A)
    with pytest.raises(ValueError, match="start must have 40 rows"):
        linalg.krylov_svd(A, 2, start=to_xp(xp, np.ones((30, 2))))
    with pytest.raises(ValueError, match="matmat must return an array of shape"):
        linalg.krylov_svd_operator(lambda X: X, lambda Y: Y, (400, 300), 2, like=A)


def test_partial_svd_dispatches_on_method(xp, rng):
    A, s = _matrix(100, 80, np.arange(1, 81) ** -1.0, rng)[0], np.arange(1, 81) ** -1.0
    Ax = to_xp(xp, A)
    At = xp.matrix_transpose(Ax)
    for method, rtol in (("exact", 1e-12), ("krylov", 1e-12), ("randomized", 1e-3)):
        U, S, Vt = linalg.partial_svd(Ax, 4, method=method)
        assert_close(S, s[:4], xp=xp, rtol=rtol)
    for method, options in (("krylov", {"tol": 1e-12, "rng": 0}), ("randomized", {"n_power_iter": 6, "rng": 0})):
        U, S, Vt = linalg.partial_svd_operator(lambda X: Ax @ X, lambda Y: At @ Y, A.shape, 4, like=Ax,
                                               method=method, **options)
        assert_close(S, s[:4], xp=xp, rtol=1e-6)
    with pytest.raises(ValueError, match="method must be one of"):
        linalg.partial_svd(Ax, 4, method="arpack")
    with pytest.raises(TypeError, match=r"unknown key\(s\) \['n_power_iter'\]"):
        linalg.partial_svd(Ax, 4, method="krylov", n_power_iter=3)
