"""analysis.rank_correlation and analysis.best_on_grid (added for the adapter lab)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from lowrank_lab.analysis import best_on_grid, rank_correlation


def test_rank_correlation_matches_scipy_and_covers_it():
    gen = np.random.default_rng(0)
    x = gen.standard_normal(60)
    y = x + gen.standard_normal(60)
    rho, low, high = rank_correlation(x, y)
    assert rho == pytest.approx(spearmanr(x, y).statistic)
    assert low < rho < high and low > 0
    ties = rank_correlation([1, 1, 2, 2, 3], [0, 1, 1, 2, 2])
    assert ties[0] == pytest.approx(spearmanr([1, 1, 2, 2, 3], [0, 1, 1, 2, 2]).statistic)
    null = rank_correlation(gen.standard_normal(200), gen.standard_normal(200))
    assert null[1] < 0 < null[2]


def test_rank_correlation_degenerate_and_bad_inputs():
    assert all(math.isnan(v) for v in rank_correlation([1, 2], [1, 2]))
    assert all(math.isnan(v) for v in rank_correlation([1, 1, 1, 1], [1, 2, 3, 4]))
    assert rank_correlation([1, 2, np.nan, 3], [1, 2, 5, 3])[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="paired"):
        rank_correlation([1, 2, 3], [1, 2])


def test_best_on_grid_brackets_qualifies_and_flags_edges():
    df = pd.DataFrame({
        "method": ["a"] * 6 + ["b"] * 6,
        "lr": [0.1, 0.1, 1.0, 1.0, 10.0, 10.0] * 2,
        "steps": [50, 60, 20, 22, 5, 6, 50, 40, 30, 35, 10, 12],
        "ok": [True, True, True, True, False, True] + [True] * 6,
    })
    out = best_on_grid(df, "method", "lr", "steps", valid="ok").set_index("method")
    assert out.loc["a", "lr"] == 1.0 and out.loc["a", "interior"]  # 10.0 failed one seed
    assert out.loc["b", "lr"] == 10.0 and not out.loc["b", "interior"]  # at the edge: not bracketed
    assert out["qualified"].all()
    none = best_on_grid(df.assign(ok=False), "method", "lr", "steps", valid="ok")
    assert not none["qualified"].any()
    high = best_on_grid(df, "method", "lr", "steps", minimize=False, center="mean").set_index("method")
    assert high.loc["a", "lr"] == 0.1
    with pytest.raises(KeyError, match="column 'nope'"):
        best_on_grid(df, "method", "nope", "steps")
    with pytest.raises(ValueError, match="center must be"):
        best_on_grid(df, "method", "lr", "steps", center="mode")
