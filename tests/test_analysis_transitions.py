"""analysis._transitions: transition_ci, format_ci, verdict_table."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lowrank_lab import analysis


def test_transition_ci_estimate_equals_transition_point():
    x = np.array([1.0, 1.5, 2.0, 3.0, 4.0])
    rng = np.random.default_rng(0)
    prob = np.array([0.0, 0.2, 0.5, 0.9, 1.0])
    s = (rng.random((5, 20)) < prob[:, None]).astype(float)
    est = analysis.transition_ci(x, s)
    assert est.estimate == pytest.approx(analysis.transition_point(x, s.mean(axis=1)))
    assert est.low <= est.estimate <= est.high
    assert 1.0 < est.low and est.high < 4.0 and est.reached == 1.0


def test_transition_ci_covers_the_truth_of_a_logistic_curve():
    # P(success) = logistic(8 log(x / 2)): the 50% point is x = 2; 95% intervals cover it in most draws
    x = np.geomspace(1.0, 4.0, 9)
    p = 1 / (1 + np.exp(-8 * np.log(x / 2)))
    covered = 0
    for seed in range(40):
        s = (np.random.default_rng(seed).random((x.size, 20)) < p[:, None]).astype(float)
        est = analysis.transition_ci(x, s, n_resamples=400, rng=seed)
        covered += est.low <= 2.0 <= est.high
    assert covered >= 32


def test_transition_ci_narrows_with_more_seeds():
    x = np.geomspace(1.0, 4.0, 9)
    p = 1 / (1 + np.exp(-8 * np.log(x / 2)))
    widths = []
    for n in (10, 80):
        s = (np.random.default_rng(1).random((x.size, n)) < p[:, None]).astype(float)
        e = analysis.transition_ci(x, s)
        widths.append(math.log(e.high / e.low))
    assert widths[1] < widths[0]


def test_transition_ci_open_ends():
    x = [1.0, 2.0, 4.0]
    never = analysis.transition_ci(x, np.zeros((3, 5)))
    assert math.isnan(never.estimate) and never.high == math.inf and never.reached == 0.0
    always = analysis.transition_ci(x, np.ones((3, 5)))
    assert always.estimate == 1.0 and always.low == -math.inf
    lin = analysis.transition_ci([0.0, 1.0], [[0, 0], [1, 1]], log_x=False)
    assert lin.estimate == pytest.approx(0.5)


@pytest.mark.parametrize("kwargs, match", [
    (dict(x=[1.0, 2.0], success=[[0, 1, 1]]), "shape"),
    (dict(x=[1.0, 1.0], success=[[0], [1]]), "distinct"),
    (dict(x=[0.0, 1.0], success=[[0], [1]]), "positive"),
    (dict(x=[1.0, 2.0], success=[[0], [1]], level=1.5), "level"),
])
def test_transition_ci_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        analysis.transition_ci(**kwargs)


def test_format_ci_and_verdict_table():
    assert analysis.format_ci(0.123456, 0.1, 0.15) == "0.123 [0.1, 0.15]"
    assert analysis.format_ci(float("nan"), 1, 2) == "n/a [1, 2]"
    t = analysis.verdict_table([
        {"claim": "a", "statistic": "s", "estimate": "1", "threshold": "< 2", "ok": True},
        {"claim": "b", "statistic": "s", "estimate": "3", "threshold": "< 2", "ok": False, "note": "n"},
    ])
    assert t["verdict"].tolist() == ["REPRODUCED", "NOT reproduced"]
    assert t.loc[1, "note"] == "n" and t.loc[0, "note"] == ""
    with pytest.raises(KeyError, match="ok"):
        analysis.verdict_table([{"claim": "a", "statistic": "s", "estimate": "1", "threshold": "t"}])
    with pytest.raises(TypeError, match="rows"):
        analysis.verdict_table("abc")


def test_transition_ratio_ci_paired():
    x = np.geomspace(1.0, 8.0, 10)
    p_a = 1 / (1 + np.exp(-8 * np.log(x / 2)))
    p_b = 1 / (1 + np.exp(-8 * np.log(x / 3)))
    u = np.random.default_rng(0).random((x.size, 30))  # the same draws: paired seeds
    a = (u < p_a[:, None]).astype(float)
    b = (u < p_b[:, None]).astype(float)
    ratio, low, high = analysis.transition_ratio_ci(x, a, b)
    assert low <= ratio <= high
    assert ratio == pytest.approx(2 / 3, rel=0.1) and high < 1.0
    same = analysis.transition_ratio_ci(x, a, a)
    assert same == (1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="shape"):
        analysis.transition_ratio_ci(x, a, b[:, :3])


def test_resolution_limited_transitions_get_the_grid_cell():
    # 0 -> 1 between 1.25 and 1.5: the bootstrap alone would give a zero-width interval
    x = [1.0, 1.25, 1.5, 2.0]
    s = np.array([[0] * 10, [0] * 10, [1] * 10, [1] * 10], dtype=float)
    est = analysis.transition_ci(x, s)
    assert est.low == pytest.approx(1.25) and est.high == pytest.approx(1.5)
    assert est.low < est.estimate < est.high
    ratio, low, high = analysis.transition_ratio_ci(x, s, s)
    assert ratio == 1.0
    assert low == pytest.approx(1.25 / 1.5) and high == pytest.approx(1.5 / 1.25)
    # a partial step keeps the plain bootstrap interval
    s2 = s.copy()
    s2[1, :4] = 1
    assert analysis.transition_ci(x, s2).high <= 1.5
