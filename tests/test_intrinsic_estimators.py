"""Intrinsic dimension of point clouds (lowrank_lab.intrinsic.estimators): formulas, known dimensions, references."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import to_xp

from lowrank_lab import backend
from lowrank_lab.intrinsic import estimators as est
from lowrank_lab.intrinsic import manifolds as mf


def _sorted_distances(X):
    d = np.linalg.norm(X[:, None, :] - X[None, :, :], axis=2)
    np.fill_diagonal(d, np.inf)
    return np.sort(d, axis=1)


# ----------------------------------------------------------------- the formulas
def test_twonn_is_the_through_origin_fit_with_F_equal_i_over_N(rng):
    X = rng.standard_normal((40, 3))
    r = _sorted_distances(X)
    mu = np.sort(r[:, 1] / r[:, 0])
    n_keep = int(40 * 0.9)  # 36: the largest 10 % are discarded
    x = np.log(mu[:n_keep])
    y = -np.log(1 - np.arange(1, n_keep + 1) / 40)
    res = est.twonn(X)
    np.testing.assert_allclose(res.dimension, (x @ y) / (x @ x), rtol=1e-12)
    np.testing.assert_allclose(np.sort(res.per_point), mu, rtol=1e-12)
    assert res.n_points == 40 and res.n_dropped == 0 and float(res) == res.dimension


@pytest.mark.parametrize("unbiased", [False, True])
@pytest.mark.parametrize("aggregate", ["harmonic", "mean", "median"])
def test_mle_is_levina_bickel_with_the_harmonic_mean(rng, unbiased, aggregate):
    X = rng.standard_normal((60, 4))
    k = 8
    r = _sorted_distances(X)[:, :k]
    local = (k - 2 if unbiased else k - 1) / np.sum(np.log(r[:, -1:] / r[:, :-1]), axis=1)
    expected = {"harmonic": 1 / np.mean(1 / local), "mean": np.mean(local), "median": np.median(local)}[aggregate]
    res = est.mle(X, k, unbiased=unbiased, aggregate=aggregate)
    np.testing.assert_allclose(res.dimension, expected, rtol=1e-12)
    np.testing.assert_allclose(res.per_point, local, rtol=1e-12)


def test_local_pca_counts_eigenvalues_above_alpha_times_the_largest(rng):
    X = rng.standard_normal((30, 3)) * np.array([1.0, 0.5, 0.1])
    k = 10
    d = np.linalg.norm(X[:, None, :] - X[None, :, :], axis=2)
    np.fill_diagonal(d, np.inf)
    nn = np.argsort(d, axis=1)[:, :k]
    expected = []
    for i in range(30):
        ev = np.sort(np.linalg.eigvalsh(np.cov(X[nn[i]].T)))[::-1]
        expected.append(np.sum(ev > 0.05 * ev[0]))
    res = est.local_pca(X, k, block_size=7)
    np.testing.assert_array_equal(res.per_point, expected)
    np.testing.assert_allclose(res.dimension, np.mean(expected))


def test_local_pca_variance_rule_counts_components_for_a_share_of_the_local_variance(rng):
    X = rng.standard_normal((80, 5)) * np.array([3.0, 2.0, 1.0, 0.3, 0.1])
    k = 25
    d = np.linalg.norm(X[:, None, :] - X[None, :, :], axis=2)
    np.fill_diagonal(d, np.inf)
    nn = np.argsort(d, axis=1)[:, :k]
    for share in (0.5, 0.9, 0.99):
        expected = []
        for i in range(80):
            ev = np.sort(np.linalg.eigvalsh(np.cov(X[nn[i]].T)))[::-1]
            expected.append(int(np.argmax(np.cumsum(ev) / ev.sum() >= share)) + 1)
        res = est.local_pca(X, k, rule="variance", variance=share)
        np.testing.assert_array_equal(res.per_point, expected)


# ----------------------------------------------------------------- known dimensions
CASES = [  # (manifold, d, N, ambient): flat and curved, with and without boundary
    ("linear_subspace", 2, 1000, 50),
    ("linear_subspace", 5, 2000, 50),
    ("hypersphere", 3, 1500, 12),
    ("flat_torus", 3, 2000, 12),
    ("swiss_roll", None, 1000, 12),
    ("helix", None, 1000, 12),
    ("moebius", None, 1000, 12),
]


@pytest.mark.parametrize("name, d, n, ambient", CASES, ids=[c[0] + str(c[1] or "") for c in CASES])
def test_twonn_and_mle_recover_known_dimensions_within_10_percent(name, d, n, ambient):
    sample = mf.sample_manifold(name, n, d, ambient_dim=ambient, rng=0)
    true = sample.intrinsic_dimension
    for estimate in (est.twonn(sample.points), est.mle(sample.points)):
        assert abs(estimate.dimension - true) <= 0.1 * true, (estimate, true)


def test_local_pca_recovers_flat_and_curved_dimensions():
    assert est.local_pca(mf.linear_subspace(500, 4, ambient_dim=20, rng=1).points, 40).dimension == 4.0
    assert abs(est.local_pca(mf.swiss_roll(2000, rng=1).points, 20).dimension - 2.0) < 0.1


def test_participation_ratio_counts_directions_and_is_blind_to_curvature():
    flat = mf.linear_subspace(20_000, 3, ambient_dim=10, rng=2).points
    assert abs(est.participation_ratio(flat).dimension - 3.0) < 0.05
    circle = mf.flat_torus(5000, 1, rng=2).points  # a curve (d = 1) filling two directions evenly
    assert abs(est.participation_ratio(circle).dimension - 2.0) < 0.05
    assert abs(est.twonn(circle).dimension - 1.0) < 0.1


def test_high_dimension_is_underestimated_at_small_N():
    """A known pitfall: d = 10 from 300 points comes out low for both estimators."""
    X = mf.linear_subspace(300, 10, ambient_dim=20, rng=3).points
    assert est.mle(X).dimension < 9.0
    assert est.twonn(X).dimension < 10.0


def test_noise_inflates_the_estimate_at_small_scales():
    clean = mf.hypersphere(1000, 2, ambient_dim=12, rng=4)
    noisy = mf.hypersphere(1000, 2, ambient_dim=12, noise=0.05, rng=4)
    assert abs(est.twonn(clean.points).dimension - 2.0) < 0.2
    assert est.twonn(noisy.points).dimension > 4.0
    assert est.mle(noisy.points).dimension > 4.0


# ----------------------------------------------------------------- backends
@pytest.mark.parametrize("estimator", ["twonn", "mle", "local_pca", "participation_ratio"])
def test_estimators_agree_across_backends(xp, estimator):
    X = mf.hypersphere(300, 2, ambient_dim=5, rng=5).points
    fn = getattr(est, estimator)
    kwargs = {"k": 15} if estimator == "local_pca" else {}
    on_xp = fn(to_xp(xp, X), **kwargs)
    on_numpy = fn(X, **kwargs)
    np.testing.assert_allclose(on_xp.dimension, on_numpy.dimension, rtol=1e-10)
    if on_xp.per_point is not None:
        assert backend.backend_name(backend.array_namespace(on_xp.per_point)) == backend.backend_name(xp)


# ----------------------------------------------------------------- duplicates
def test_duplicates_are_refused_by_default_with_a_message(rng):
    X = rng.standard_normal((50, 3))
    X[7] = X[3]
    for fn in (est.twonn, est.mle, est.local_pca):
        with pytest.raises(ValueError, match="2 points whose nearest neighbour is at distance 0.*duplicates='drop'"):
            fn(X, **({"k": 10} if fn is est.local_pca else {}))


def test_dropping_duplicates_keeps_one_copy_and_says_so(rng):
    base = rng.standard_normal((300, 3))
    X = np.concatenate([base, base[:20], base[:5]])  # 25 extra copies
    X[-1] = -0.0 * X[-1] + X[-1]  # same values, possibly different zero signs
    for fn in (est.twonn, est.mle):
        with pytest.warns(UserWarning, match="dropped 25 duplicate point"):
            res = fn(X, duplicates="drop")
        clean = fn(base)
        assert res.n_dropped == 25 and res.n_points == 300
        np.testing.assert_allclose(res.dimension, clean.dimension, rtol=1e-12)


def test_signed_zeros_count_as_duplicates():
    X = np.array([[0.0, 1.0], [-0.0, 1.0], [2.0, 3.0], [5.0, 1.0], [4.0, 4.5], [1.0, 6.0]])
    with pytest.warns(UserWarning, match="dropped 1 duplicate"):
        assert est.twonn(X, duplicates="drop", discard_fraction=0.0).n_points == 5


def test_without_discarding_the_last_ratio_is_left_out(rng):
    """F_emp = N / N = 1 would give -ln(0): at discard_fraction=0 the fit stops at N - 1."""
    X = rng.standard_normal((50, 2))
    r = _sorted_distances(X)
    x = np.log(np.sort(r[:, 1] / r[:, 0])[:49])
    y = -np.log(1 - np.arange(1, 50) / 50)
    np.testing.assert_allclose(est.twonn(X, discard_fraction=0.0).dimension, (x @ y) / (x @ x), rtol=1e-12)


def test_scikit_dimension_drops_zero_ratios_where_we_refuse(rng):
    """Documented difference: with duplicates present, refusing is explicit; dropping rows is our 'drop'."""
    skdim = pytest.importorskip("skdim")
    X = rng.standard_normal((200, 3))
    X[10] = X[11]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = skdim.id.TwoNN().fit(X).dimension_
    assert np.isfinite(theirs)
    with pytest.raises(ValueError, match="exact duplicates"):
        est.twonn(X)


# ----------------------------------------------------------------- scikit-dimension (optional peer)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # skdim's lPCA divides by zero eigenvalues
@pytest.mark.parametrize("ambient", [8, 30])
def test_agrees_with_scikit_dimension_on_the_same_points(ambient):
    """TwoNN (both of skdim's neighbour paths), MLE, FO local PCA and the participation ratio."""
    skdim = pytest.importorskip("skdim")
    X = mf.hypersphere(400, 3, ambient_dim=ambient, rng=6).points
    np.testing.assert_allclose(est.twonn(X).dimension, skdim.id.TwoNN().fit(X).dimension_, rtol=1e-10)
    np.testing.assert_allclose(est.twonn(X, discard_fraction=0.05).dimension,
                               skdim.id.TwoNN(discard_fraction=0.05).fit(X).dimension_, rtol=1e-10)
    mle_skdim = skdim.id.MLE()
    mle_skdim.fit(X)
    np.testing.assert_allclose(est.mle(X).dimension, mle_skdim.dimension_, rtol=1e-10)
    np.testing.assert_allclose(est.mle(X).per_point, mle_skdim.dimension_pw_, rtol=1e-10)
    unbiased = skdim.id.MLE(unbiased=True)
    unbiased.fit(X)
    np.testing.assert_allclose(est.mle(X, unbiased=True).dimension, unbiased.dimension_, rtol=1e-10)
    np.testing.assert_allclose(est.participation_ratio(X).dimension,
                               skdim.id.lPCA(ver="participation_ratio").fit(X).dimension_, rtol=1e-10)
    subset = X[:200]
    local = skdim.asPointwise(subset, skdim.id.lPCA(ver="FO", alphaFO=0.05), n_neighbors=30)
    np.testing.assert_array_equal(est.local_pca(subset, 30).per_point, local)


def test_scikit_dimension_reference_values_of_its_own_twonn_test():
    """skdim's tests/test_results.py: 30 points of a 5-ball in R^10 (and zero-padded to R^30).

    Its stored values (4.52231, 4.63403) match F_emp = i / N, as here; the issue notes
    that older stored values predate its off-by-one fix.
    """
    skdim = pytest.importorskip("skdim")
    X = np.zeros((30, 10))
    X[:, :5] = skdim.datasets.hyperBall(n=30, d=5, radius=1, random_state=0)
    wide = np.zeros((30, 30))
    wide[:, :10] = X
    assert round(est.twonn(wide).dimension, 5) == 4.52231
    assert round(est.twonn(X, discard_fraction=0.05).dimension, 5) == 4.63403


# ----------------------------------------------------------------- bad input
def test_estimators_refuse_bad_input(rng):
    X = rng.standard_normal((30, 3))
    with pytest.raises(ValueError, match=r"k must be in \[2, N - 1=29\], got 30"):
        est.mle(X, 30)
    with pytest.raises(ValueError, match=r"k must be in \[3, N - 1=29\], got 2"):
        est.mle(X, 2, unbiased=True)
    with pytest.raises(ValueError, match="discard_fraction must be a finite number in"):
        est.twonn(X, discard_fraction=1.0)
    with pytest.raises(ValueError, match="at least 3 points"):
        est.twonn(X[:2])
    with pytest.raises(ValueError, match="X must be 2-D"):
        est.twonn(X[0])
    with pytest.raises(ValueError, match="X must be finite"):
        est.mle(np.where(X > 2, np.inf, X))
    with pytest.raises(ValueError, match="aggregate must be one of"):
        est.mle(X, aggregate="geometric")
    with pytest.raises(ValueError, match="duplicates must be one of"):
        est.twonn(X, duplicates="ignore")
    with pytest.raises(ValueError, match="rule must be one of"):
        est.local_pca(X, 5, rule="kaiser")
    with pytest.raises(ValueError, match="TwoNN keeps int"):
        est.twonn(X[:3], discard_fraction=0.5)


def test_twonn_refuses_data_without_spread_in_the_ratios():
    grid = np.stack(np.meshgrid(np.arange(10.0), np.arange(10.0)), axis=-1).reshape(-1, 2)
    with pytest.raises(ValueError, match="all kept ratios r2 / r1 equal 1"):
        est.twonn(grid)
