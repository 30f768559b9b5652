from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from helpers import to_xp

from lowrank_lab.results import HistoryRecorder, SolverResult, is_diverged


def test_recorder_builds_a_history_frame_from_device_scalars(xp):
    rec = HistoryRecorder(stride=3)
    recorded = []
    for it in range(10):
        if rec.due(it):
            rec.record(it, loss=xp.asarray(1.0 / (it + 1)), rel_error=0.5**it)
            recorded.append(it)
    rec.record(9, loss=xp.asarray(0.1), rel_error=0.5**9)  # the last iteration, forced
    rec.record(9, loss=xp.asarray(0.05), rel_error=0.5**9)  # recording twice replaces
    res = rec.result(factors=(to_xp(xp, np.ones((2, 1))),), n_iter=10, stop_reason="max_iter", seed=4, solver="toy")
    frame = res.history
    assert list(frame.columns[:2]) == ["iteration", "time_s"]
    assert list(frame["iteration"]) == [0, 3, 6, 9]
    assert frame["loss"].dtype == np.float64
    assert frame["loss"].iloc[-1] == 0.05
    assert frame["time_s"].is_monotonic_increasing
    assert res.final("rel_error") == 0.5**9
    with pytest.raises(KeyError, match="column must be one of"):
        res.final("nope")
    hf = res.history_frame()
    assert list(hf.columns[:2]) == ["solver", "seed"] and (hf["solver"] == "toy").all()
    assert "toy" in repr(res) and "(2, 1)" in repr(res)


def test_result_is_frozen_and_consistent():
    empty = HistoryRecorder().frame()
    assert list(empty.columns) == ["iteration", "time_s"] and len(empty) == 0
    res = SolverResult(factors=(), n_iter=1, converged=True, stop_reason="converged", history=empty)
    with pytest.raises(AttributeError):
        res.n_iter = 2
    with pytest.raises(ValueError, match="stop_reason must be one of"):
        SolverResult(factors=(), n_iter=1, converged=False, stop_reason="bored", history=empty)
    with pytest.raises(ValueError, match="converged must be True exactly"):
        SolverResult(factors=(), n_iter=1, converged=False, stop_reason="converged", history=empty)
    assert math.isnan(res.final("time_s"))


def test_vector_values_stay_arrays():
    rec = HistoryRecorder()
    rec.record(0, top_singular_values=np.array([3.0, 1.0]))
    frame = rec.frame()
    assert isinstance(frame, pd.DataFrame)
    np.testing.assert_array_equal(frame["top_singular_values"].iloc[0], [3.0, 1.0])


@pytest.mark.parametrize("stride", [0, -1, 1.5, True])
def test_bad_stride(stride):
    with pytest.raises(ValueError, match="history_stride"):
        HistoryRecorder(stride)


def test_is_diverged():
    assert is_diverged(float("nan"), 1.0)
    assert is_diverged(float("inf"), 1.0)
    assert is_diverged(1e12, 1.0)
    assert not is_diverged(10.0, 1.0)
    assert not is_diverged(1e-3, 1e-9)  # small references are floored at 1
