"""Tests of lowrank_lab.spectral: known answers, independent references, bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
from helpers import assert_close, to_xp

from lowrank_lab import backend, linalg, spectral


def _orthonormal(rng, d, r):
    return np.linalg.qr(rng.standard_normal((d, r)))[0]


def _with_spectrum(rng, m, n, s):
    """m x n matrix with singular values ``s`` and random singular vectors."""
    s = np.asarray(s, dtype=float)
    U, V = _orthonormal(rng, m, s.size), _orthonormal(rng, n, s.size)
    return (U * s) @ V.T, U, V


# =========================================================================== #
# scalar metrics
# =========================================================================== #
@pytest.mark.parametrize("as_values", [False, True])
def test_flat_rank_r_spectrum_identities(xp, rng, as_values):
    r, c = 7, 2.5
    W, _, _ = _with_spectrum(rng, 40, 30, np.full(r, c))
    X = to_xp(xp, np.linalg.svd(W, compute_uv=False) if as_values else W)
    assert spectral.effective_rank(X) == pytest.approx(r, rel=1e-10)
    assert spectral.stable_rank(X) == pytest.approx(r, rel=1e-10)
    assert spectral.participation_ratio(X) == pytest.approx(r, rel=1e-10)
    assert spectral.spectral_entropy(X) == pytest.approx(1.0, rel=1e-10)
    assert spectral.numerical_rank(X) == r
    assert spectral.energy_rank(X, 0.9) == r  # 6/7 < 0.9
    assert spectral.energy_rank(X, 6 / 7) == 6  # hit exactly: the slack absorbs round-off
    assert spectral.nuclear_norm(X) == pytest.approx(r * c, rel=1e-12)
    assert spectral.eckart_young_tail(X, 3) == pytest.approx(4 * c * c, rel=1e-10)
    assert spectral.eckart_young_tail(X, 3, relative=True) == pytest.approx(4 / 7, rel=1e-10)
    assert spectral.welore_prune_rank(X, 0.5) == 23  # the 23 (round-off) zeros sit at s~ = 0


def test_scalar_metrics_return_python_types(xp):
    X = to_xp(xp, np.array([3.0, 1.0]))
    assert type(spectral.effective_rank(X)) is float
    assert type(spectral.numerical_rank(X)) is int
    assert type(spectral.energy_rank(X)) is int
    assert type(spectral.welore_prune_rank(X, 0.5)) is int


def test_sigma_and_sigma_squared_conventions(xp):
    s = np.array([2.0, 1.0])
    X = to_xp(xp, s)
    p = s / s.sum()  # effective rank uses sigma
    assert spectral.effective_rank(X) == pytest.approx(math.exp(-(p * np.log(p)).sum()), rel=1e-12)
    lam = s**2  # PR, stable rank, entropy use sigma^2
    assert spectral.participation_ratio(X) == pytest.approx(lam.sum() ** 2 / (lam**2).sum(), rel=1e-12)
    assert spectral.stable_rank(X) == pytest.approx(lam.sum() / lam[0], rel=1e-12)
    q = lam / lam.sum()
    assert spectral.spectral_entropy(X) == pytest.approx(-(q * np.log(q)).sum() / math.log(2), rel=1e-12)
    assert spectral.energy_rank(X, 0.8) == 1 and spectral.energy_rank(X, 0.81) == 2


def test_power_law_spectrum_orders_the_conventions(xp):
    s = np.arange(1, 101, dtype=float) ** -1.0
    X = to_xp(xp, s)
    er, sr, pr = spectral.effective_rank(X), spectral.stable_rank(X), spectral.participation_ratio(X)
    assert 1.0 <= sr < pr < er <= 100  # sigma^2-based measures are smaller on a decaying spectrum
    assert 0.0 < spectral.spectral_entropy(X) < 1.0


def test_effective_rank_excludes_zero_and_tolerated_singular_values(xp):
    assert spectral.effective_rank(to_xp(xp, np.diag([1.0, 1.0, 0.0]))) == pytest.approx(2.0, rel=1e-12)
    X = to_xp(xp, np.array([1.0, 1e-3]))
    assert spectral.effective_rank(X) > 1.0
    assert spectral.effective_rank(X, rtol=1e-2) == pytest.approx(1.0, rel=1e-12)
    assert spectral.spectral_entropy(X, rtol=1e-2) == 0.0


def test_zero_matrix_has_zero_ranks(xp):
    Z = xp.zeros((4, 3), dtype=xp.float64)
    for f in (spectral.effective_rank, spectral.stable_rank, spectral.participation_ratio,
              spectral.spectral_entropy, spectral.numerical_rank, spectral.energy_rank, spectral.nuclear_norm):
        assert f(Z) == 0
    assert spectral.eckart_young_tail(Z, 1, relative=True) == 0.0
    assert spectral.welore_prune_rank(Z, 0.5) == 0


def test_numerical_rank_matches_numpy(xp, rng):
    A = rng.standard_normal((30, 5)) @ rng.standard_normal((5, 20))
    A_noisy = A + 1e-13 * rng.standard_normal(A.shape)
    for M in (A, A_noisy, rng.standard_normal((8, 12))):
        assert spectral.numerical_rank(to_xp(xp, M)) == np.linalg.matrix_rank(M)
    s = np.array([1.0, 0.3, 0.05, 0.01, 0.0])
    M = np.diag(s)
    for rtol in (0.0, 0.02, 0.1, 0.5):
        assert spectral.numerical_rank(to_xp(xp, M), rtol=rtol) == np.linalg.matrix_rank(M, rtol=rtol)
    A32 = A.astype(np.float32)
    assert spectral.numerical_rank(to_xp(xp, A32)) == np.linalg.matrix_rank(A32) == 5


def test_energy_rank_matches_a_direct_search(xp, rng):
    s = np.sort(rng.exponential(size=40))[::-1]
    c = np.cumsum(s**2) / np.sum(s**2)
    X = to_xp(xp, s)
    ranks = []
    for tau in (0.1, 0.5, 0.9, 0.99, 1.0):
        k = spectral.energy_rank(X, tau)
        assert k == int(np.argmax(c >= tau * (1 - 1e-12))) + 1
        ranks.append(k)
    assert ranks == sorted(ranks)


def test_spectral_entropy_matches_weightwatcher_formula(xp, rng):
    W = rng.standard_normal((25, 15)) * np.linspace(0.1, 3.0, 15)
    sv = np.linalg.svd(W, compute_uv=False)
    rank = np.count_nonzero(sv > sv.max() * 25 * np.finfo(float).eps)
    p = sv**2 / np.sum(sv**2)
    expected = -np.sum(p * np.log(p)) / np.log(rank)
    assert spectral.spectral_entropy(to_xp(xp, W)) == pytest.approx(expected, rel=1e-10)


def test_eckart_young_tail_is_the_best_rank_r_error(xp, rng):
    W = to_xp(xp, rng.standard_normal((20, 12)))
    for r in (0, 1, 5, 12):
        if r:
            U, S, Vt = linalg.truncated_svd(W, r)
            err = float(xp.sum((W - (U * S[None, :]) @ Vt) ** 2))
        else:
            err = float(xp.sum(W * W))
        assert spectral.eckart_young_tail(W, r) == pytest.approx(err, rel=1e-9, abs=1e-9)


def test_welore_prune_rank_counts_normalized_values_below_tau(xp):
    s = np.array([10.0, 6.0, 2.0, 1.0, 0.5])
    norm = (s - 0.5) / 9.5
    for tau in (0.0, 0.05, 0.1, 0.2, 0.6, 1.0):
        assert spectral.welore_prune_rank(to_xp(xp, s), tau) == int(np.sum(norm < tau))
    assert spectral.welore_prune_rank(to_xp(xp, np.ones(4)), 0.5) == 0  # flat spectrum


def test_metrics_accept_float32(xp, rng):
    W, _, _ = _with_spectrum(rng, 30, 20, np.full(5, 1.0))
    X = to_xp(xp, W, dtype=xp.float32)
    assert spectral.effective_rank(X) == pytest.approx(5.0, rel=1e-4)
    assert spectral.stable_rank(X) == pytest.approx(5.0, rel=1e-4)
    assert spectral.numerical_rank(X) == 5
    assert spectral.singular_values(X).dtype == xp.float32


def test_singular_values_and_vectors(xp, rng):
    W = rng.standard_normal((9, 6))
    s = spectral.singular_values(to_xp(xp, W))
    assert_close(s, np.linalg.svd(W, compute_uv=False), xp=xp, rtol=1e-12)
    assert_close(spectral.singular_values(to_xp(xp, np.array([1.0, 3.0, 2.0]))), np.array([3.0, 2.0, 1.0]), xp=xp)
    A = rng.standard_normal((3, 10))  # a LoRA "A" factor: r x n
    V = spectral.singular_vectors(to_xp(xp, A), side="right")
    assert tuple(V.shape) == (10, 3)
    Vh = backend.to_numpy(V)
    np.testing.assert_allclose(Vh.T @ Vh, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(A @ Vh @ Vh.T, A, atol=1e-12)  # spans A's row space
    B = rng.standard_normal((10, 3))  # a "B" factor: m x r
    U = backend.to_numpy(spectral.singular_vectors(to_xp(xp, B), side="left", k=2))
    assert U.shape == (10, 2)
    np.testing.assert_allclose(np.abs(U.T @ np.linalg.svd(B)[0][:, :2]), np.eye(2), atol=1e-10)


# =========================================================================== #
# subspaces
# =========================================================================== #
@pytest.mark.parametrize("r1,r2", [(3, 5), (5, 3), (4, 4)])
def test_principal_angles_match_scipy(xp, rng, r1, r2):
    A = rng.standard_normal((12, r1)) @ np.diag(np.linspace(0.2, 5.0, r1))  # not orthonormal
    B = rng.standard_normal((12, r2))
    theta = spectral.principal_angles(to_xp(xp, A), to_xp(xp, B))
    expected = np.sort(scipy.linalg.subspace_angles(A, B))
    assert_close(theta, expected, xp=xp, rtol=1e-10, atol=1e-12)
    t = backend.to_numpy(theta)
    assert np.all(np.diff(t) >= 0)
    assert spectral.grassmann_distance(to_xp(xp, A), to_xp(xp, B)) == pytest.approx(np.linalg.norm(t), rel=1e-12)
    assert spectral.subspace_overlap(to_xp(xp, A), to_xp(xp, B)) == pytest.approx(np.mean(np.cos(t) ** 2), rel=1e-10)
    if r1 == r2:
        assert spectral.projection_distance(to_xp(xp, A), to_xp(xp, B)) == pytest.approx(np.sin(t.max()), rel=1e-10)
        Q1, Q2 = np.linalg.qr(A)[0], np.linalg.qr(B)[0]
        assert spectral.projection_distance(to_xp(xp, A), to_xp(xp, B)) == pytest.approx(
            np.linalg.norm(Q2 - Q1 @ (Q1.T @ Q2), 2), rel=1e-10)


def test_principal_angles_are_accurate_for_tiny_angles(xp, rng):
    d, r = 20, 3
    Q = _orthonormal(rng, d, 2 * r)
    Q1, P = Q[:, :r], Q[:, r:]
    true = np.array([1e-12, 1e-8, 1e-4])
    Q2 = Q1 * np.cos(true) + P * np.sin(true)
    theta = spectral.principal_angles(to_xp(xp, Q1 @ np.diag([1.0, 2.0, 3.0])), to_xp(xp, Q2))
    assert_close(theta, true, xp=xp, rtol=1e-6, atol=1e-15)  # round-off of Q2 itself is ~1e-16
    np.testing.assert_allclose(np.sort(scipy.linalg.subspace_angles(Q1, Q2)), true, rtol=1e-6, atol=1e-15)
    # the naive arccos of the cosines loses them entirely
    assert np.arccos(min(1.0, np.linalg.svd(Q1.T @ Q2, compute_uv=False).max())) < 1e-7


def test_rank_deficient_basis_counts_with_its_rank(xp, rng):
    A = rng.standard_normal((10, 2))
    A3 = np.column_stack([A, A @ np.array([1.0, -2.0])])  # rank 2
    B = rng.standard_normal((10, 4))
    theta = spectral.principal_angles(to_xp(xp, A3), to_xp(xp, B))
    assert tuple(theta.shape) == (2,)
    assert_close(theta, np.sort(scipy.linalg.subspace_angles(A3, B)), xp=xp, rtol=1e-9, atol=1e-12)


def test_subspace_similarity_identical_and_random_baseline(xp):
    gen = np.random.default_rng(7)
    d, r = 64, 8
    U = _orthonormal(gen, d, r)
    Ux = to_xp(xp, U)
    assert spectral.subspace_similarity(Ux, Ux, 8, 8) == pytest.approx(1.0, rel=1e-12)
    assert spectral.subspace_similarity(Ux, Ux, 2, 6) == pytest.approx(1.0, rel=1e-12)  # nested
    grid = backend.to_numpy(spectral.subspace_similarity_grid(Ux, Ux))
    np.testing.assert_allclose(grid, np.ones((r, r)), rtol=1e-12)
    draws = {(1, 8): [], (2, 4): [], (8, 8): []}
    for _ in range(150):
        A = to_xp(xp, _orthonormal(gen, d, r))
        B = to_xp(xp, _orthonormal(gen, d, r))
        for (i, j), vals in draws.items():
            vals.append(spectral.subspace_similarity(A, B, i, j))
    for (i, j), vals in draws.items():
        assert np.mean(vals) == pytest.approx(max(i, j) / d, rel=0.15)


def test_subspace_similarity_grid_matches_pointwise(xp, rng):
    U1, U2 = to_xp(xp, _orthonormal(rng, 30, 5)), to_xp(xp, _orthonormal(rng, 30, 7))
    grid = spectral.subspace_similarity_grid(U1, U2, max_i=4)
    assert tuple(grid.shape) == (4, 7)
    g = backend.to_numpy(grid)
    for i in range(1, 5):
        for j in range(1, 8):
            assert g[i - 1, j - 1] == pytest.approx(spectral.subspace_similarity(U1, U2, i, j), rel=1e-12)


def test_subspace_similarity_of_lora_factors_top_direction(xp, rng):
    """Two "A" factors sharing a dominant direction (LoRA Fig. 3 setup in miniature)."""
    n = 50
    shared = rng.standard_normal(n)
    A8 = 5 * np.outer(rng.standard_normal(8), shared) + rng.standard_normal((8, n)) * 0.1
    A64 = 5 * np.outer(rng.standard_normal(40), shared) + rng.standard_normal((40, n)) * 0.1
    V8 = spectral.singular_vectors(to_xp(xp, A8), side="right")
    V64 = spectral.singular_vectors(to_xp(xp, A64), side="right")
    assert spectral.subspace_similarity(V8, V64, 1, 1) > 0.99
    with pytest.raises(ValueError, match="U1"):
        spectral.subspace_similarity(to_xp(xp, A8.T), V64, 1, 1)  # raw factor, not orthonormal


# =========================================================================== #
# intruder dimensions and amplification
# =========================================================================== #
def _gapped_base(rng, d=40):
    sigma = 10.0 * np.arange(1, d + 1, dtype=float) ** -1.0
    W0, U0, V0 = _with_spectrum(rng, d, d, sigma)
    return W0, U0, V0


def test_intruder_dimension_from_a_rank_one_update(xp, rng):
    d = 40
    W0, U0, _ = _gapped_base(rng, d)
    signs = np.where(rng.standard_normal(d) > 0, 1.0, -1.0)
    v = U0 @ signs / np.sqrt(d)  # cosine 1/sqrt(d) with every base vector
    for lam, expected in ((30.0, 1), (0.0, 0)):
        res = spectral.intruder_dimensions(to_xp(xp, W0 + lam * np.outer(v, v)), to_xp(xp, W0), k=5)
        assert res.count == expected
        assert res.indices == ((0,) if expected else ())
        assert tuple(res.max_cosine.shape) == (5,)
        assert backend.backend_name(backend.array_namespace(res.max_cosine)) == backend.backend_name(xp)
    # a perturbation inside W0's top subspace creates no intruder, however large
    w = (U0[:, 0] + U0[:, 1]) / np.sqrt(2)
    res = spectral.intruder_dimensions(to_xp(xp, W0 + 30.0 * np.outer(w, w)), to_xp(xp, W0), k=5)
    assert res.count == 0
    assert float(xp.min(res.max_cosine)) > 0.6


def test_intruder_counts_grow_with_eps(xp, rng):
    d = 40
    W0, _, _ = _gapped_base(rng, d)
    Wt = W0 + 2.0 * rng.standard_normal((d, d)) / np.sqrt(d)  # a full-rank, LoRA-unlike perturbation
    eps = np.linspace(0.1, 0.9, 9)
    res = spectral.intruder_dimensions(to_xp(xp, Wt), to_xp(xp, W0), k=10, eps=eps)
    counts = np.asarray(res.count)
    assert counts.shape == (9,) and np.all(np.diff(counts) >= 0)
    mc = backend.to_numpy(res.max_cosine)
    for e, c, idx in zip(eps, counts, res.indices):
        assert c == np.sum(mc < e) == len(idx)
        assert spectral.intruder_dimensions(to_xp(xp, Wt), to_xp(xp, W0), k=10, eps=float(e)).count == c


def test_amplification_factor_known_value(xp, rng):
    m, n = 30, 20
    sigma = np.linspace(10.0, 1.0, n)
    W, U, V = _with_spectrum(rng, m, n, sigma)
    a, b = 12, 15
    dW = 3.0 * np.outer(U[:, a], V[:, b]) + 0 * W
    res = spectral.amplification_factor(to_xp(xp, dW), to_xp(xp, W), 1, rng=0)
    # u_a^T W v_b = 0: the update is orthogonal to W's action -> infinite amplification
    assert res.projection_delta == pytest.approx(0.0, abs=1e-10)
    dW = 3.0 * np.outer(U[:, a], V[:, a]) + 1.0 * np.outer(U[:, b], V[:, b])
    res = spectral.amplification_factor(to_xp(xp, dW), to_xp(xp, W), 2, rng=0)
    assert res.delta_norm == pytest.approx(math.sqrt(10.0), rel=1e-12)
    assert res.projection_delta == pytest.approx(math.hypot(sigma[a], sigma[b]), rel=1e-10)
    assert res.amplification == pytest.approx(math.sqrt(10.0) / math.hypot(sigma[a], sigma[b]), rel=1e-10)
    assert res.projection_own == pytest.approx(math.hypot(sigma[0], sigma[1]), rel=1e-12)
    assert res.weight_norm == pytest.approx(np.linalg.norm(sigma), rel=1e-12)
    assert res.rank == 2


def test_amplification_random_directions_baseline(xp, rng):
    m, n, r = 30, 20, 2
    W = to_xp(xp, rng.standard_normal((m, n)))
    dW = to_xp(xp, rng.standard_normal((m, n)))
    sq = [spectral.amplification_factor(dW, W, r, rng=s).projection_random ** 2 for s in range(200)]
    fro2 = float(xp.sum(W * W))
    assert np.mean(sq) == pytest.approx(r * r * fro2 / (m * n), rel=0.15)  # E||U^T W V||_F^2
    a = spectral.amplification_factor(dW, W, r, rng=3)
    assert a.projection_random == spectral.amplification_factor(dW, W, r, rng=3).projection_random


# =========================================================================== #
# ESD and Marchenko-Pastur
# =========================================================================== #
def test_esd_normalization(xp, rng):
    N, M, v = 300, 100, 0.3
    W = rng.standard_normal((N, M)) * math.sqrt(v)
    lam = spectral.esd(to_xp(xp, W))
    assert tuple(lam.shape) == (M,)
    lam_h = backend.to_numpy(lam)
    assert np.all(np.diff(lam_h) <= 0)
    assert lam_h.mean() == pytest.approx(np.sum(W**2) / (N * M), rel=1e-10)  # trace identity
    assert lam_h.mean() == pytest.approx(v, rel=0.03)
    np.testing.assert_allclose(np.sort(lam_h), np.sort(np.linalg.eigvalsh(W.T @ W / N)), rtol=1e-9, atol=1e-12)
    assert_close(spectral.esd(to_xp(xp, W.T)), lam_h, xp=xp, rtol=1e-12)  # wide input is transposed


def test_marchenko_pastur_density_is_a_probability_law(xp):
    from scipy.integrate import quad

    for Q, v in ((1.0, 1.0), (2.0, 0.5), (4.0, 2.0)):
        lo, hi = spectral.marchenko_pastur_edge(Q, v)
        assert (lo, hi) == pytest.approx((v * (1 - Q**-0.5) ** 2, v * (1 + Q**-0.5) ** 2))
        f = lambda x: float(spectral.marchenko_pastur_density(x, Q, v))  # noqa: E731
        mass = quad(f, lo, hi, limit=200)[0]
        mean = quad(lambda x: x * f(x), lo, hi, limit=200)[0]
        assert mass == pytest.approx(1.0, abs=1e-6)
        assert mean == pytest.approx(v, rel=1e-6)
    x = to_xp(xp, np.array([-1.0, 0.0, 0.5, 1.0, 10.0]))
    dens = spectral.marchenko_pastur_density(x, 2.0)
    d = backend.to_numpy(dens)
    assert d[0] == d[1] == d[4] == 0.0 and np.all(d[2:4] > 0)
    assert backend.backend_name(backend.array_namespace(dens)) == backend.backend_name(xp)


def test_tracy_widom_quantiles_match_an_independent_computation():
    from numpy.polynomial.legendre import leggauss
    from scipy.special import airy

    x0, w0 = leggauss(60)

    def F1(s):  # Bornemann (2010): F1(s) = det(I - K) on L2(s, inf), K(x, y) = Ai((x + y) / 2) / 2
        x, w = s + (x0 + 1) * 12.0, w0 * 12.0
        K = 0.5 * airy((x[:, None] + x[None, :]) / 2)[0]
        sw = np.sqrt(w)
        return np.linalg.det(np.eye(x.size) - sw[:, None] * K * sw[None, :])

    for p in (0.5, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9993):
        assert F1(spectral.tracy_widom_quantile(p)) == pytest.approx(p, abs=2e-3 * (1 - p) ** 0.5 + 2e-4)


@pytest.mark.parametrize("Q", [1, 2, 4])
def test_marchenko_pastur_fit_on_pure_noise(xp, Q):
    M, v = 128, 0.7
    for seed in range(4):
        W = np.random.default_rng(100 + seed).standard_normal((Q * M, M)) * math.sqrt(v)
        fit = spectral.fit_marchenko_pastur(to_xp(xp, W))
        assert fit.aspect_ratio == Q and fit.n_cols == M and fit.n_rows == Q * M
        assert fit.variance == pytest.approx(v, rel=0.04)
        assert fit.lambda_plus == pytest.approx(v * (1 + Q**-0.5) ** 2, rel=0.04)
        tw_unit = fit.tw_margin / spectral.tracy_widom_quantile(fit.tw_quantile)
        z = (fit.lambda_max - fit.lambda_plus) / tw_unit  # top eigenvalue in Tracy-Widom units
        assert -5.0 < z < spectral.tracy_widom_quantile(fit.tw_quantile)
        assert fit.n_spikes == 0 and fit.spikes.size == 0  # no false spikes once the TW margin is applied
        assert fit.mp_softrank > 0.95


def test_marchenko_pastur_planted_spikes_are_detected(xp):
    N, M = 512, 256
    Q = N / M
    gen = np.random.default_rng(5)
    Z = gen.standard_normal((N, M))
    U, V = _orthonormal(gen, N, 3), _orthonormal(gen, M, 3)
    theta_c = Q**-0.25  # BBP threshold for the normalized matrix W / sqrt(N)
    theta = np.array([2.0, 3.0, 4.0]) * theta_c
    W = Z + math.sqrt(N) * (U * theta) @ V.T
    fit = spectral.fit_marchenko_pastur(to_xp(xp, W))
    assert fit.n_spikes == 3
    c = 1 / Q
    expected = np.sort((1 + theta**2) * (c + theta**2) / theta**2)[::-1]  # spiked-model outlier locations
    np.testing.assert_allclose(fit.spikes, expected, rtol=0.05)
    assert fit.variance == pytest.approx(1.0, rel=0.03)
    assert fit.mp_softrank == pytest.approx(fit.lambda_plus / fit.spikes[0])
    weak = Z + math.sqrt(N) * (U[:, :1] * 0.5 * theta_c) @ V[:, :1].T  # below the BBP threshold
    assert spectral.fit_marchenko_pastur(to_xp(xp, weak)).n_spikes == 0


def test_marchenko_pastur_fit_eigenvalue_input(xp, rng):
    W = rng.standard_normal((200, 100))
    lam = spectral.esd(to_xp(xp, W))
    a = spectral.fit_marchenko_pastur(to_xp(xp, W))
    b = spectral.fit_marchenko_pastur(lam, aspect_ratio=2.0)
    assert b.variance == pytest.approx(a.variance, rel=1e-12)
    assert b.threshold == pytest.approx(a.threshold, rel=1e-12)
    with pytest.raises(ValueError, match="aspect_ratio"):
        spectral.fit_marchenko_pastur(lam)
    with pytest.raises(ValueError, match="aspect_ratio"):
        spectral.fit_marchenko_pastur(to_xp(xp, W), aspect_ratio=2.0)


def test_correlation_traps(xp):
    gen = np.random.default_rng(3)
    W = gen.standard_normal((200, 100))
    assert spectral.correlation_traps(to_xp(xp, W), rng=0) == 0
    W[[5, 50, 150], [1, 40, 80]] = [80.0, -70.0, 60.0]  # three huge entries stay traps after shuffling
    assert spectral.correlation_traps(to_xp(xp, W), rng=0) == 3


# =========================================================================== #
# power-law fits
# =========================================================================== #
def _reference_powerlaw(x, truncated=False):
    """Loop-by-loop Clauset-Shalizi-Newman scan (two-sided KS), the independent reference."""
    from scipy.optimize import brentq

    x = np.sort(x)
    n = x.size
    best = (np.inf, None, None)
    for i in range(n - 1):
        if i and x[i] == x[i - 1]:
            continue
        tail = x[i:]
        L = np.log(tail / x[i])
        if L.sum() <= 0:
            continue
        if truncated:
            T, m = np.log(x[-1] / x[i]), L.mean()
            if not 0 < m < T / 2:
                continue
            b = brentq(lambda b: 1 / b - T / np.expm1(b * T) - m, 1e-12, 1 / m)
            F = (1 - np.exp(-b * L)) / (1 - np.exp(-b * T))
            a = 1 + b
        else:
            a = 1 + tail.size / L.sum()
            F = 1 - (tail / x[i]) ** (1 - a)
        j = np.arange(tail.size)
        D = max(np.max(F - j / tail.size), np.max((j + 1) / tail.size - F))
        if D < best[0] - 1e-12:
            best = (D, a, x[i])
    return best


@pytest.mark.parametrize("n", [150, 700])  # 700 exercises the pruned scan
@pytest.mark.parametrize("truncated", [False, True])
@pytest.mark.parametrize("ties", [False, True])
def test_powerlaw_scan_matches_reference_loop(n, truncated, ties):
    gen = np.random.default_rng(n)
    x = 1.0 + gen.pareto(1.5, n)
    if ties:  # bootstrap resamples have ties
        x = gen.choice(x, size=n, replace=True)
    x = np.sort(x)
    D, a, xmin = _reference_powerlaw(x, truncated)
    got = spectral._powerlaw._scan(x, truncated, None)
    assert got["xmin"] == xmin
    assert got["alpha"] == pytest.approx(a, rel=1e-9)
    assert got["ks_distance"] == pytest.approx(D, rel=1e-9)


@pytest.mark.parametrize("alpha", [2.0, 3.0, 4.0])
def test_powerlaw_alpha_recovers_pareto_exponent(alpha):
    for seed in range(3):
        x = 1.0 + np.random.default_rng(seed).pareto(alpha - 1.0, 2000)
        fit = spectral.powerlaw_alpha(x)
        assert abs(fit.alpha - alpha) < 2 * fit.sigma
        assert fit.sigma == pytest.approx((fit.alpha - 1) / math.sqrt(fit.n_tail))
        assert fit.n_tail > 1000 and fit.xmin < 1.2 and fit.xmax == math.inf
        assert fit.ks_distance < 0.05
        clean = spectral.powerlaw_alpha(x, fix_fingers=True)
        assert clean.n_fingers == 0 and clean.alpha == fit.alpha  # no false fingers


def test_powerlaw_fingers_bias_and_fix():
    alpha = 3.0
    for seed in range(3):
        x = 1.0 + np.random.default_rng(seed).pareto(alpha - 1.0, 500)
        clean = spectral.powerlaw_alpha(x)
        fingers = x.max() * 50.0 * np.array([1.0, 1.2, 1.5])
        xf = np.concatenate([x, fingers])
        biased = spectral.powerlaw_alpha(xf)
        fixed = spectral.powerlaw_alpha(xf, fix_fingers=True)
        assert abs(biased.alpha - clean.alpha) > 1.5 * clean.sigma  # fingers move the estimate
        assert fixed.n_fingers >= 3 and fixed.truncated
        np.testing.assert_allclose(np.sort(fixed.fingers)[-3:], np.sort(fingers))
        assert abs(fixed.alpha - alpha) < 2.5 * fixed.sigma  # ... and the fix brings it back
        assert abs(fixed.alpha - clean.alpha) < abs(biased.alpha - clean.alpha)
        assert fixed.alpha_unfixed == biased.alpha
        assert fixed.xmax < fingers.min()


def test_truncated_fit_needs_renormalization():
    """Pitfall (ii): an upper cut without renormalizing the density biases alpha."""
    alpha, lo, hi = 2.5, 1.0, 10.0
    u = np.random.default_rng(0).uniform(size=3000)
    b = alpha - 1
    x = np.sort((lo**-b - u * (lo**-b - hi**-b)) ** (-1 / b))  # truncated Pareto on [1, 10]
    trunc = spectral._powerlaw._scan(x, True, lo)
    plain = spectral._powerlaw._scan(x, False, lo)
    assert abs(trunc["alpha"] - alpha) < 2.5 * trunc["sigma"]
    assert plain["alpha"] - alpha > 5 * plain["sigma"]


def test_powerlaw_fixed_xmin_and_derived_metrics(xp):
    x = 1.0 + np.random.default_rng(4).pareto(2.0, 800)
    xmin = 1.5
    fit = spectral.powerlaw_alpha(to_xp(xp, x), xmin=xmin)
    tail = x[x >= xmin]
    assert fit.xmin == xmin and fit.n_tail == tail.size
    assert fit.alpha == pytest.approx(1 + tail.size / np.sum(np.log(tail / xmin)), rel=1e-12)
    assert fit.alpha_weighted == pytest.approx(fit.alpha * np.log10(x.max()), rel=1e-12)
    assert fit.log_alpha_norm == pytest.approx(np.log10(np.sum(x**fit.alpha)), rel=1e-10)
    assert fit.n_eigenvalues == 800


def test_powerlaw_of_a_matrix_uses_its_esd(xp, rng):
    W = rng.standard_t(3, size=(120, 80))
    a = spectral.powerlaw_alpha(to_xp(xp, W))
    b = spectral.powerlaw_alpha(spectral.esd(to_xp(xp, W)))
    assert a.alpha == b.alpha and a.xmin == b.xmin
    lam = backend.to_numpy(spectral.esd(to_xp(xp, W)))
    tiny = np.concatenate([lam, [1e-7, 0.0]])  # eigenvalues <= 1e-5 are ignored
    assert spectral.powerlaw_alpha(tiny).n_eigenvalues == lam.size


def test_powerlaw_bootstrap_interval():
    x = 1.0 + np.random.default_rng(11).pareto(2.0, 600)
    fit = spectral.powerlaw_alpha(x, n_bootstrap=30, rng=0)
    lo, hi = fit.alpha_ci
    assert lo < fit.alpha < hi and lo < 3.0 < hi
    assert fit.bootstrap_alphas.shape == (30,)
    again = spectral.powerlaw_alpha(x, n_bootstrap=30, rng=0)
    np.testing.assert_array_equal(again.bootstrap_alphas, fit.bootstrap_alphas)
    assert spectral.powerlaw_alpha(x).alpha_ci is None


# =========================================================================== #
# bad inputs
# =========================================================================== #
def test_bad_inputs_name_the_argument(xp):
    W = to_xp(xp, np.ones((4, 3)))
    bad = to_xp(xp, np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="W must be finite"):
        spectral.effective_rank(bad)
    with pytest.raises(ValueError, match="W must be 1-D or 2-D"):
        spectral.stable_rank(xp.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="W .*non-negative"):
        spectral.effective_rank(to_xp(xp, np.array([1.0, -0.5])))
    with pytest.raises(ValueError, match="rtol"):
        spectral.numerical_rank(W, rtol=2.0)
    with pytest.raises(ValueError, match="energy"):
        spectral.energy_rank(W, 0.0)
    with pytest.raises(ValueError, match="r must be in"):
        spectral.eckart_young_tail(W, 4)
    with pytest.raises(ValueError, match="tau"):
        spectral.welore_prune_rank(W, 1.5)
    with pytest.raises(ValueError, match="side"):
        spectral.singular_vectors(W, side="up")
    with pytest.raises(ValueError, match="k must be in"):
        spectral.singular_vectors(W, k=4)


def test_bad_subspace_and_diagnostic_inputs(xp):
    A = to_xp(xp, np.eye(5)[:, :2])
    with pytest.raises(ValueError, match="U2"):
        spectral.principal_angles(A, to_xp(xp, np.eye(4)[:, :2]))
    with pytest.raises(ValueError, match="U1"):
        spectral.principal_angles(to_xp(xp, np.zeros((5, 2))), A)
    with pytest.raises(ValueError, match="U2"):
        spectral.projection_distance(A, to_xp(xp, np.eye(5)[:, :3]))
    with pytest.raises(ValueError, match="i must be in"):
        spectral.subspace_similarity(A, A, 3, 1)
    with pytest.raises(ValueError, match="j must be in"):
        spectral.subspace_similarity(A, A, 1, 0)
    W = to_xp(xp, np.eye(4))
    with pytest.raises(ValueError, match="W_base"):
        spectral.intruder_dimensions(W, to_xp(xp, np.eye(3)))
    with pytest.raises(ValueError, match="k must be in"):
        spectral.intruder_dimensions(W, W, k=5)
    for eps in (0.0, 1.5, [0.2, 0.0], np.array([[0.5]])):
        with pytest.raises(ValueError, match="eps"):
            spectral.intruder_dimensions(W, W, k=2, eps=eps)
    with pytest.raises(ValueError, match="r must be in"):
        spectral.amplification_factor(W, W, 0)
    with pytest.raises(ValueError, match="W must have the shape"):
        spectral.amplification_factor(W, to_xp(xp, np.eye(3)), 1)


def test_bad_fit_inputs(xp):
    with pytest.raises(ValueError, match="aspect_ratio"):
        spectral.marchenko_pastur_edge(0.5)
    with pytest.raises(ValueError, match="variance"):
        spectral.marchenko_pastur_density(1.0, 2.0, variance=0.0)
    with pytest.raises(ValueError, match="W_or_eigenvalues .*non-negative"):
        spectral.fit_marchenko_pastur(to_xp(xp, np.array([1.0, -1.0, 2.0])), aspect_ratio=2.0)
    with pytest.raises(ValueError, match="tw_quantile"):
        spectral.fit_marchenko_pastur(to_xp(xp, np.ones((6, 3))), tw_quantile=0.1)
    with pytest.raises(ValueError, match="W_or_eigenvalues"):
        spectral.powerlaw_alpha(to_xp(xp, np.array([1.0, 2.0])))
    with pytest.raises(ValueError, match="W_or_eigenvalues must be finite"):
        spectral.powerlaw_alpha(to_xp(xp, np.array([1.0, np.inf, 2.0])))
    x = to_xp(xp, 1.0 + np.random.default_rng(0).pareto(2.0, 50))
    with pytest.raises(ValueError, match="xmin"):
        spectral.powerlaw_alpha(x, xmin=1e6)
    with pytest.raises(ValueError, match="max_fingers"):
        spectral.powerlaw_alpha(x, fix_fingers=True, max_fingers=30)
    with pytest.raises(ValueError, match="finger_pvalue"):
        spectral.powerlaw_alpha(x, fix_fingers=True, finger_pvalue=1.0)
