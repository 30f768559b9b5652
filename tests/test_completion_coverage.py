"""completion.trials.coverage_probability / coverage_transition (the coupon-collector floor)."""

from __future__ import annotations

import numpy as np
import pytest

from lowrank_lab.completion.trials import coverage_probability, coverage_transition


def test_coverage_probability_matches_monte_carlo():
    m, n, k = 80, 60, 2
    p = coverage_transition(m, n, k) * k * (m + n - k) / (m * n)
    assert coverage_probability(m, n, p, k) == pytest.approx(0.5, abs=1e-6)
    rng = np.random.default_rng(0)
    masks = rng.random((3000, m, n)) < p
    ok = (masks.sum(axis=1) >= k).all(axis=1) & (masks.sum(axis=2) >= k).all(axis=1)
    assert ok.mean() == pytest.approx(0.5, abs=0.05)


def test_coverage_probability_limits_and_monotonicity():
    assert coverage_probability(50, 50, 1.0, 3) == 1.0
    assert coverage_probability(50, 50, 0.0, 1) == 0.0
    ps = np.linspace(0.01, 0.3, 20)
    vals = [coverage_probability(50, 40, p, 3) for p in ps]
    assert np.all(np.diff(vals) >= 0)
    # the floor in dof units falls with k (more entries per row needed, but dof grows faster)
    assert coverage_transition(200, 200, 2) > coverage_transition(200, 200, 10)
    with pytest.raises(ValueError, match="p"):
        coverage_probability(10, 10, 1.5, 1)
    with pytest.raises(TypeError, match="k"):
        coverage_probability(10, 10, 0.5, "2")
