"""Tracy-Widom law and spiked-model overlaps (lowrank_lab.spectral._tracy_widom) against their formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lowrank_lab import spectral
from lowrank_lab.spectral.trials import (
    bbp_threshold,
    spiked_eigenvalue,
    spiked_noise_matrix,
    spiked_overlap_trial,
    top_noise_eigenvalue_trial,
)


def test_tracy_widom_cdf_matches_the_quantile_table_and_limits():
    for p in (0.5, 0.9, 0.95, 0.99, 0.999):
        assert spectral.tracy_widom_cdf(spectral.tracy_widom_quantile(p)) == pytest.approx(p, abs=2e-3)
    assert spectral.tracy_widom_cdf(-8.0) < 1e-7
    assert spectral.tracy_widom_cdf(8.0) == pytest.approx(1.0, abs=1e-7)
    s = np.linspace(-6, 6, 25)
    assert np.all(np.diff([spectral.tracy_widom_cdf(x) for x in s]) >= 0)


def test_tracy_widom_density_moments():
    # known TW1 moments: mean -1.2065335745, standard deviation 1.2679838 (Bornemann 2010, Table)
    s = np.linspace(-7.9, 7.9, 633)
    d = np.array([spectral.tracy_widom_density(x) for x in s])
    ds = s[1] - s[0]
    assert d.sum() * ds == pytest.approx(1.0, abs=1e-5)
    mean = (s * d).sum() * ds
    assert mean == pytest.approx(-1.2065336, abs=1e-4)
    assert math.sqrt(((s - mean) ** 2 * d).sum() * ds) == pytest.approx(1.2679838, abs=1e-4)


@pytest.mark.parametrize("bad", ["x", None])
def test_tracy_widom_rejects_non_numbers(bad):
    with pytest.raises(TypeError, match="s"):
        spectral.tracy_widom_cdf(bad)
    with pytest.raises(ValueError, match="s"):
        spectral.tracy_widom_cdf(9.0)


def test_tracy_widom_scaling_formula_and_symmetry():
    N, M = 800, 200
    center, scale = spectral.tracy_widom_scaling(N, M)
    a, b = math.sqrt(N - 1), math.sqrt(M)
    assert center == pytest.approx((a + b) ** 2 / N)
    assert scale == pytest.approx((a + b) * (1 / a + 1 / b) ** (1 / 3) / N)
    assert spectral.tracy_widom_scaling(M, N) == (center, scale)
    assert center == pytest.approx(spectral.marchenko_pastur_edge(N / M)[1], rel=5e-3)


def test_top_noise_eigenvalue_follows_tracy_widom():
    # 60 draws of a 200 x 100 white Wishart: the standardized top eigenvalue has TW1's mean and spread
    z = np.array([top_noise_eigenvalue_trial(n_rows=200, n_cols=100, seed=s)["tw_statistic"] for s in range(60)])
    assert z.mean() == pytest.approx(-1.21, abs=0.45)
    assert 0.8 < z.std() < 1.8


def test_spiked_overlap_formula_and_threshold():
    N, M = 400, 100
    c = M / N
    assert spectral.spiked_overlap(bbp_threshold(N, M), N, M) == pytest.approx(0.0, abs=1e-12)
    assert spectral.spiked_overlap(0.9 * bbp_threshold(N, M), N, M) == 0.0
    for theta in (1.0, 2.0, 5.0):
        t2 = theta**2
        assert spectral.spiked_overlap(theta, N, M) == pytest.approx((t2**2 - c) / (t2 * (t2 + c)))
        assert spectral.spiked_overlap(theta, N, M, side="rows") == pytest.approx((t2**2 - c) / (t2 * (t2 + 1)))
        assert spectral.spiked_overlap(theta, M, N) == spectral.spiked_overlap(theta, N, M)
    assert spectral.spiked_overlap(100.0, N, M) == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(ValueError, match="side"):
        spectral.spiked_overlap(1.0, N, M, side="left")


def test_spiked_overlap_matches_simulation():
    # N = 1600, M = 800: the finite-size error is a few percent at theta = 2 theta_c
    N, M = 1600, 800
    theta = 2.0 * bbp_threshold(N, M)
    rows = [spiked_overlap_trial(n_rows=N, n_cols=M, strength=theta, seed=s) for s in range(3)]
    measured = np.mean([r["overlap_columns"] for r in rows])
    assert measured == pytest.approx(spectral.spiked_overlap(theta, N, M), abs=0.03)
    measured_rows = np.mean([r["overlap_rows"] for r in rows])
    assert measured_rows == pytest.approx(spectral.spiked_overlap(theta, N, M, side="rows"), abs=0.03)
    assert np.mean([r["top_eigenvalue"] for r in rows]) == pytest.approx(spiked_eigenvalue(theta, N, M), rel=0.02)


def test_spiked_noise_matrix_unchanged():
    # the trials' matrix generator keeps its stream (cached sweeps depend on it)
    W = spiked_noise_matrix(20, 10, 1, 1.0, np.random.default_rng(0))
    assert W.shape == (20, 10)
