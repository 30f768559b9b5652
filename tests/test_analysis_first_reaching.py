"""analysis.first_reaching: the smallest grid point whose seed mean reaches a level, with a bootstrap over seeds."""

from __future__ import annotations

import numpy as np
import pytest

from lowrank_lab import analysis


def test_first_reaching_without_and_with_a_reference():
    x = [10, 20, 40, 80]
    acc = [[0.5, 0.55, 0.45], [0.8, 0.84, 0.82], [0.88, 0.92, 0.91], [0.95, 0.96, 0.94]]
    assert analysis.first_reaching(x, acc, 0.9).estimate == 40.0
    res = analysis.first_reaching(x, acc, 0.9, reference=[0.9, 0.9])
    assert res.estimate == 20.0 and np.isclose(res.threshold, 0.81)
    assert np.isinf(analysis.first_reaching(x, acc, 0.99).estimate)


def test_first_reaching_bootstrap_resamples_seeds_jointly():
    x = [1, 2, 3]
    # seed 0 reaches at 1, seeds 1-2 at 3: the interval spans the grid
    samples = [[1.0, 0.0, 0.0], [1.0, 0.5, 0.5], [1.0, 1.0, 1.0]]
    res = analysis.first_reaching(x, samples, 0.9, n_resamples=4000, rng=0)
    assert res.estimate == 3.0 and res.low == 1.0 and res.high == 3.0 and res.reached == 1.0
    # the answer is 1 only when all three resampled seeds are seed 0 (probability 1/27 = 3.7 %):
    # inside a 95 % interval (2.5 % tails), outside a 90 % one (5 % tails)
    assert analysis.first_reaching(x, samples, 0.9, ci=0.9, n_resamples=4000, rng=1).low == 3.0


def test_first_reaching_handles_missing_runs_and_order():
    res = analysis.first_reaching([4, 1, 2], [[1.0, np.nan], [0.1, 0.2], [np.nan, np.nan]], 0.5, n_resamples=50)
    assert res.estimate == 4.0


def test_first_reaching_refuses_bad_shapes():
    with pytest.raises(ValueError, match="samples must have shape"):
        analysis.first_reaching([1, 2], [[1.0]], 0.5)
    with pytest.raises(ValueError, match="distinct finite grid points"):
        analysis.first_reaching([1, 1], [[1.0], [1.0]], 0.5)
    with pytest.raises(ValueError, match="reference must be a finite number"):
        analysis.first_reaching([1], [[1.0]], 0.5, reference=[np.nan])
