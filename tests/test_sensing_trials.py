"""Trial functions of the sensing sweeps (notebooks 01 and 02) and the curve analysis helpers."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from lowrank_lab import backend
from lowrank_lab.sensing import SOLVERS
from lowrank_lab.sensing.trials import (
    iterations_to,
    late_phase_rate,
    loglog_slope,
    make_problem,
    run_config,
    sensing_curve_trial,
    sensing_summary_trial,
)

TINY = {"n": 6, "rank": 2, "width": 3, "n_measurements": 80, "max_iter": 60, "history_stride": 5}


def test_late_phase_rate_ignores_the_initial_phase_and_the_floor():
    t = np.arange(0, 2000, 10.0)
    err = np.where(t < 600, 0.5 * np.exp(-0.001 * t), 0.5 * np.exp(-0.6) * np.exp(-0.03 * (t - 600)))
    err = np.maximum(err, 1e-15)  # machine-precision floor after ~1500 iterations
    assert late_phase_rate(t, err) == pytest.approx(0.03, rel=1e-6)
    assert math.isnan(late_phase_rate([0, 1], [1.0, 0.5]))
    assert math.isnan(late_phase_rate(t, np.full_like(t, 1e-14)))


def test_loglog_slope_and_iterations_to():
    t = np.arange(1, 5001.0)
    assert loglog_slope(t, 1.0 / t**2, start=100) == pytest.approx(-2.0)
    assert math.isnan(loglog_slope(t, 1.0 / t, start=1e6))
    assert iterations_to(t, 1.0 / t, 1e-3) == 1000.0
    assert math.isnan(iterations_to(t, 1.0 / t, 1e-9))


def test_make_problem_same_seed_same_problem(xp):
    a = make_problem(n=5, rank=2, n_measurements=30, outlier_fraction=0.2, seed=4, xp=xp)
    b = make_problem(n=5, rank=2, n_measurements=30, outlier_fraction=0.2, seed=4,
                     xp=backend.get_namespace("numpy"))
    np.testing.assert_allclose(backend.to_numpy(a.measurements), backend.to_numpy(b.measurements), rtol=1e-12)
    assert backend.backend_name(backend.array_namespace(a.measurements)) == backend.backend_name(xp)
    c = make_problem(n=5, rank=2, n_measurements=30, outlier_fraction=0.2, seed=5, xp=xp)
    assert not np.allclose(backend.to_numpy(a.measurements), backend.to_numpy(c.measurements))
    full = make_problem(n=5, rank=2, condition_number=2.0, seed=0, xp=xp)
    assert full.n_measurements == 25 and full.operator.loss_weight == 1.0
    s = np.linalg.svd(backend.to_numpy(full.truth_matrix), compute_uv=False)
    np.testing.assert_allclose(s[:2], [1.0, 0.5], rtol=1e-12)
    with pytest.raises(ValueError, match="seed"):
        make_problem(n=5, rank=2, seed=-1)


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_run_config_runs_every_solver(xp, solver):
    extra = {} if solver == "nuclear_norm_pgd" else {"init_scale": 0.1}
    problem, result = run_config(solver=solver, **TINY, **extra, seed=0, xp=xp)
    assert result.n_iter <= TINY["max_iter"]
    assert "relative_error" in result.history
    assert backend.backend_name(backend.array_namespace(result.factors[0])) == backend.backend_name(xp)
    with pytest.raises(ValueError, match="solver"):
        run_config(solver="adam", **TINY)


def test_run_config_refuses_keys_the_solver_does_not_take_and_fills_study_settings():
    with pytest.raises(TypeError, match=r"unknown key\(s\) \['decay'\] for factored_gd"):
        run_config(solver="factored_gd", **TINY, decay=0.9)
    with pytest.raises(TypeError, match="init_scale"):
        run_config(solver="nuclear_norm_pgd", **TINY, init_scale=0.1)
    _, l1 = run_config(solver="subgradient_l1", **TINY)
    assert l1.params["decay"] == 0.99 and l1.params["init_scale"] == 1e-2 and l1.params["step_size"] == 0.1


def test_same_seed_same_start_across_solvers():
    _, a = run_config(solver="factored_gd", **{**TINY, "max_iter": 0}, seed=3)
    _, b = run_config(solver="subgradient_l1", **{**TINY, "max_iter": 0}, seed=3)
    np.testing.assert_array_equal(backend.to_numpy(a.factors[0]), backend.to_numpy(b.factors[0]))


def test_curve_trial_grid_is_shared_across_seeds_and_carries_the_tail():
    cfg = {"solver": "factored_gd", "n": 6, "rank": 2, "width": 2, "n_measurements": 100, "init_scale": 0.3,
           "step_size": 0.2, "max_iter": 1000, "history_stride": 10, "tol": 1e-10}
    a = sensing_curve_trial(**cfg, seed=0, curve_points=60)
    b = sensing_curve_trial(**cfg, seed=1, curve_points=60)
    assert list(a["iteration"]) == list(b["iteration"])
    assert a["iteration"].iloc[0] == 0 and a["iteration"].iloc[-1] == 1000 and a["iteration"].is_monotonic_increasing
    assert (a["stop_reason"] == "converged").all() and a["carried"].iloc[-1] and not a["carried"].iloc[0]
    n_iter = int(a["n_iter"].iloc[0])
    assert (a.loc[a["carried"], "iteration"] > n_iter - 10).all()
    # carried rows repeat the last recorded error
    assert a.loc[a["carried"], "relative_error"].nunique() == 1
    assert a["relative_error"].iloc[-1] < 1e-8
    l1 = sensing_curve_trial(solver="subgradient_l1", **TINY, step_size=0.2, seed=0)
    assert "step_size_t" in l1.columns and "step_size" not in l1.columns


def test_summary_trial_row_is_json_able_and_consistent():
    row = sensing_summary_trial(solver="factored_gd", n=6, rank=2, width=4, n_measurements=None,
                                parameterization="asymmetric", init_scale=0.8, step_size=0.1, max_iter=3000,
                                history_stride=10, seed=0)
    json.dumps(row)
    assert set(row) >= {"final_error", "success", "rate", "rate_over_alpha2", "loglog_slope", "initial_imbalance",
                        "iterations_to_1e-6", "n_iter", "stop_reason", "wall_time_s"}
    assert row["success"] == (row["final_error"] < 1e-3)
    assert row["rate"] > 0 and row["rate_over_alpha2"] == pytest.approx(row["rate"] / 0.64)
    assert row["initial_imbalance"] > 0 and row["iterations_to_1e-6"] <= row["n_iter"]
    div = sensing_summary_trial(solver="factored_gd", **TINY, init_scale=1.0, step_size=1e4, seed=0)
    assert div["stop_reason"] == "diverged" and div["final_error"] == math.inf and not div["success"]


def test_trials_through_run_sweep(tmp_path, monkeypatch):
    """The trials plug into experiments.run_sweep (cache, tidy frame) and follow LOWRANK_BACKEND."""
    from lowrank_lab.experiments import run_sweep

    monkeypatch.setenv("LOWRANK_BACKEND", "array_api_strict")
    grid = {"solver": ["factored_gd"], "n": [5], "rank": [1], "width": [1, 2], "n_measurements": [40],
            "init_scale": [0.3], "step_size": [0.2], "max_iter": [40], "history_stride": [10]}
    rows = run_sweep("t_summary", grid, sensing_summary_trial, seeds=(0, 1), cache_dir=tmp_path / "s", progress=False)
    assert len(rows) == 4 and (rows["status"] == "ok").all()
    curves = run_sweep("t_curves", grid, sensing_curve_trial, seeds=(0,), cache_dir=tmp_path / "c", progress=False)
    assert (curves["status"] == "ok").all() and set(curves["width"]) == {1, 2}
    again = run_sweep("t_curves", grid, sensing_curve_trial, seeds=(0,), cache_dir=tmp_path / "c", progress=False)
    pd.testing.assert_frame_equal(curves, again)
