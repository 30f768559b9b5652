"""analysis: spread_ratio, proportional_constant, transition_spread, power_law_exponent; format_ci and verdict_table
as the sensing notebooks use them (issue 10)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lowrank_lab.analysis import format_ci, proportional_constant, spread_ratio, verdict, verdict_table


def test_spread_ratio_estimate_and_ci():
    gen = np.random.default_rng(0)
    a = np.exp(gen.normal(0.0, 0.1, 20))
    b = np.exp(gen.normal(np.log(3.0), 0.1, 20))
    ratio, low, high = spread_ratio([a, b])
    assert ratio == pytest.approx(np.median(b) / np.median(a))
    assert low < 3.0 < high and low > 2.0
    same, low, high = spread_ratio([a, a])
    assert same == 1.0 and low == 1.0 and high >= 1.0
    assert spread_ratio([[1.0, 2.0], [4.0]], statistic="mean")[0] == pytest.approx(4.0 / 1.5)
    # dropping non-finite values; an empty group is NaN
    assert spread_ratio([[1.0, np.inf], [2.0]])[0] == 2.0
    assert all(math.isnan(v) for v in spread_ratio([[np.nan], [2.0]]))


def test_spread_ratio_bad_inputs():
    with pytest.raises(TypeError, match="groups"):
        spread_ratio([[1.0]])
    with pytest.raises(TypeError, match="groups"):
        spread_ratio("ab")
    with pytest.raises(TypeError, match=r"groups\[1\]"):
        spread_ratio([[1.0], "x"])
    with pytest.raises(ValueError, match="positive"):
        spread_ratio([[1.0], [-1.0]])
    with pytest.raises(ValueError, match="statistic"):
        spread_ratio([[1.0], [2.0]], statistic="mode")


def test_proportional_constant():
    alpha2 = np.repeat([0.01, 0.04, 0.16], 10)
    gen = np.random.default_rng(1)
    rates = 0.013 * alpha2 * np.exp(gen.normal(0, 0.2, alpha2.size))
    c, low, high = proportional_constant(alpha2, rates)
    assert low < 0.013 < high
    assert c == pytest.approx(np.median(rates / alpha2))
    with pytest.raises(ValueError, match="paired"):
        proportional_constant([1.0], [1.0, 2.0])
    with pytest.raises(TypeError, match="x"):
        proportional_constant("a", [1.0])


def test_format_ci_and_verdict_table():
    assert format_ci(1.0, 0.5, 2.0) == "1 [0.5, 2]"
    assert format_ci(float("nan")) == "n/a"
    assert format_ci(0.123456, digits=2) == "0.12"
    table = verdict_table([
        {"claim": "a", "statistic": "s", "estimate": (2.0, 1.0, 3.0), "threshold": "> 1", "ok": True},
        {"claim": "b", "statistic": "t", "estimate": 0.5, "threshold": "> 1", "ok": False, "note": "n"},
        {"claim": "c", "statistic": "u", "estimate": "3/5 seeds", "threshold": "all", "ok": False},
    ])
    assert list(table["verdict"]) == [verdict(True), verdict(False), verdict(False)]
    assert list(table["estimate [95% CI]"]) == ["2 [1, 3]", "0.5", "3/5 seeds"]
    assert list(table.columns) == ["claim", "statistic", "estimate [95% CI]", "threshold (pre-set)", "verdict", "note"]
    with pytest.raises(KeyError, match="lacks"):
        verdict_table([{"claim": "a"}])
    with pytest.raises(TypeError, match="rows"):
        verdict_table("abc")
    with pytest.raises(TypeError, match=r"rows\[0\]"):
        verdict_table([1])


def test_transition_ci_and_spread():
    from lowrank_lab.analysis import transition_ci, transition_point, transition_spread

    x = np.array([2.0, 4.0, 8.0, 16.0])
    gen = np.random.default_rng(3)
    probs = np.array([0.05, 0.3, 0.8, 1.0])
    a = (gen.random((4, 20)) < probs[:, None]).astype(float)
    est, low, high, _ = transition_ci(x, a)
    assert est == pytest.approx(transition_point(x, a.mean(axis=1)))
    assert low <= est <= high and 2.0 <= low and high <= 16.0
    # a group that switches on one grid step later: ratio about 2
    b = np.vstack([np.zeros((1, 20)), a[:-1]])
    ratio, rlow, rhigh = transition_spread(x, [a, b])
    assert ratio == pytest.approx(transition_ci(x, b)[0] / est)
    assert 1.0 <= rlow <= ratio <= rhigh
    never = np.zeros((4, 20))
    assert math.isnan(transition_ci(x, never).estimate)  # never reached: no crossing
    assert transition_spread(x, [a, never])[0] == np.inf
    with pytest.raises(ValueError, match="success"):
        transition_ci(x, np.zeros((3, 5)))
    with pytest.raises(TypeError, match="groups"):
        transition_spread(x, [a])


def test_power_law_exponent():
    from lowrank_lab.analysis import power_law_exponent

    gen = np.random.default_rng(2)
    x = np.repeat([0.01, 0.04, 0.16, 0.64], 10)
    y = 0.013 * x * np.exp(gen.normal(0, 0.5, x.size))
    b, low, high = power_law_exponent(x, y)
    assert b == pytest.approx(np.polyfit(np.log(x), np.log(y), 1)[0])
    assert low < 1.0 < high and high - low < 0.5
    assert all(math.isnan(v) for v in power_law_exponent([1.0, 1.0], [1.0, 2.0]))
    with pytest.raises(ValueError, match="paired"):
        power_law_exponent([1.0, 2.0], [1.0])
