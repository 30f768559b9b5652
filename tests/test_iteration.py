"""The one iteration driver (lowrank_lab.iteration) and every solver's use of it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lowrank_lab import completion, sensing
from lowrank_lab.completion import sample_entries
from lowrank_lab.iteration import Iterate, iterate
from lowrank_lab.matrices import low_rank_matrix
from lowrank_lab.results import HistoryRecorder
from lowrank_lab.sensing import gaussian_sensing


def _halving(max_iter=60, **kw):
    rec = HistoryRecorder(kw.pop("stride", 1))
    out = iterate(1.0, lambda it: 0.5 * it.state, loss=lambda it: it.state**2, factors=lambda x: (x,),
                  recorder=rec, max_iter=max_iter, **kw)
    return out, rec.frame()


def test_driver_stops_at_max_iter_and_records_the_last_iterate_off_stride():
    out, hist = _halving(max_iter=10, stride=4)
    assert out.stop_reason == "max_iter" and out.n_iter == 10
    assert list(hist["iteration"]) == [0, 4, 8, 10]
    assert hist["loss"].iloc[-1] == pytest.approx(0.25**10)


def test_driver_checks_only_on_its_cadence():
    checked = []

    def check(it):
        checked.append(it.iteration)
        return None

    _halving(max_iter=25, check=check, check_every=10)
    assert checked == [0, 10, 20, 25]


def test_converged_stop_is_recorded_even_off_stride():
    out, hist = _halving(max_iter=100, stride=7, check=lambda it: "converged" if it.loss < 1e-6 else None)
    assert out.stop_reason == "converged" and out.n_iter == 10  # 0.25**10 < 1e-6 <= 0.25**9
    assert hist["iteration"].iloc[-1] == 10


def test_divergence_returns_the_last_checked_finite_iterate_and_truncates_the_history():
    rec = HistoryRecorder(1)
    out = iterate(1.0, lambda it: 10.0 * it.state, loss=lambda it: it.state**2, factors=lambda x: (x,),
                  recorder=rec, max_iter=100, check_every=3)
    hist = rec.frame()
    assert out.stop_reason == "diverged"
    assert out.state == 10.0 ** out.returned_iteration and out.returned_iteration % 3 == 0
    assert hist["iteration"].iloc[-1] == out.returned_iteration  # the last row is what is returned
    assert hist["loss"].iloc[-1] == pytest.approx(out.state**2)
    assert out.n_iter > out.returned_iteration


@pytest.mark.parametrize("error", [np.linalg.LinAlgError, FloatingPointError, ValueError])
def test_a_step_that_raises_is_a_divergence(error):
    def step(it):
        if it.iteration == 4:
            raise error("singular")
        return it.state + 1.0

    rec = HistoryRecorder(1)
    out = iterate(0.0, step, loss=lambda it: it.state, factors=lambda x: (x,), recorder=rec, max_iter=10)
    assert out.stop_reason == "diverged" and out.state == 4.0


def test_non_finite_loss_and_non_finite_factors_are_divergence():
    out, _ = _halving(max_iter=5)
    rec = HistoryRecorder(1)
    out = iterate(np.array([1.0]), lambda it: it.state * np.nan if it.iteration == 2 else it.state,
                  loss=lambda it: 0.0, factors=lambda x: (x,), recorder=rec, max_iter=5, finite_factors=True)
    assert out.stop_reason == "diverged" and out.returned_iteration == 2


def test_stalled_when_the_loss_stops_improving():
    rec = HistoryRecorder(1)
    out = iterate(1.0, lambda it: max(0.5 * it.state, 0.1), loss=lambda it: it.state, factors=lambda x: (x,),
                  recorder=rec, max_iter=100, stall_patience=5)
    assert out.stop_reason == "stalled"
    assert out.n_iter == 9  # 0.125 at t=3, 0.1 from t=4; five checks without progress end at t=9


def test_callback_state_is_a_lazy_mapping_and_true_stops():
    seen = {}
    calls = []

    def loss(it):
        calls.append(it.iteration)
        return it.state

    def callback(t, state):
        assert isinstance(state, Iterate)
        seen[t] = (state["iteration"], state["factors"], set(state))
        return t == 3

    rec = HistoryRecorder(10**6)
    out = iterate(1.0, lambda it: it.state + 1, loss=loss, factors=lambda x: (x,), recorder=rec, max_iter=50,
                  check_every=10**6, callback=callback, expose={"step_size": lambda it: 0.1})
    assert out.stop_reason == "callback" and out.n_iter == 3
    assert seen[2] == (2, (3.0,), {"iteration", "factors", "loss", "step_size"})
    assert calls == [0, 3]  # loss computed only for the first check and the recorded last row


def test_bad_driver_arguments_are_refused():
    rec = HistoryRecorder(1)
    with pytest.raises(ValueError, match="max_iter"):
        iterate(1.0, lambda it: it.state, loss=lambda it: 0.0, factors=lambda x: (x,), recorder=rec, max_iter=-1)
    with pytest.raises(ValueError, match="check_every"):
        iterate(1.0, lambda it: it.state, loss=lambda it: 0.0, factors=lambda x: (x,), recorder=rec, max_iter=1,
                check_every=0)
    with pytest.raises(TypeError, match="callback"):
        iterate(1.0, lambda it: it.state, loss=lambda it: 0.0, factors=lambda x: (x,), recorder=rec, max_iter=1,
                callback=3)


# --------------------------------------------------------------------------- #
# every solver: the last history row is the returned iterate
# --------------------------------------------------------------------------- #
def _sensing_problem():
    truth = low_rank_matrix(8, 8, 2, psd=True, rng=0)
    return truth, gaussian_sensing(truth, 140, rng=1, symmetric=False)


def _completion_problem():
    truth = low_rank_matrix(40, 30, 2, rng=0)
    return truth, sample_entries(truth, p=0.5, rng=1)


SENSING_OPTIONS = {
    "factored_gd": {"step_size": 0.2, "init_scale": 0.1, "max_iter": 40},
    "scaled_gd": {"max_iter": 40},
    "subgradient_l1": {"step_size": 0.1, "decay": 0.99, "max_iter": 40},
    "nuclear_norm_pgd": {"reg": 1e-4, "max_iter": 40},
}
COMPLETION_OPTIONS = {
    "altmin": {"max_iter": 40},
    "soft_impute": {"reg": 1e-3, "max_iter": 40, "tol": 1e-9},
    "svt": {"max_iter": 40},
    "svp": {"max_iter": 40},
    "scaled_gd": {"max_iter": 40},
}


def _sensing_error(result, truth):
    fs = result.factors
    model = fs[0] @ fs[0].T if len(fs) == 1 else fs[0] @ fs[1].T
    M = np.asarray(truth.matrix)
    return np.linalg.norm(model - M) / np.linalg.norm(M)


@pytest.mark.parametrize("stride", [1, 7])
@pytest.mark.parametrize("name", sorted(sensing.SOLVERS))
def test_every_sensing_solver_records_its_returned_iterate_last(name, stride):
    truth, problem = _sensing_problem()
    rank = None if name == "nuclear_norm_pgd" else 2
    res = sensing.run_solver(name, problem, rank, rng=0, history_stride=stride, **SENSING_OPTIONS[name])
    assert res.history["iteration"].iloc[-1] == res.n_iter
    assert res.final("relative_error") == pytest.approx(_sensing_error(res, truth), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("stride", [1, 7])
@pytest.mark.parametrize("name", sorted(completion.SOLVERS))
def test_every_completion_solver_records_its_returned_iterate_last(name, stride):
    truth, obs = _completion_problem()
    res = completion.run_solver(name, obs, 2, truth=truth, rng=0, history_stride=stride, **COMPLETION_OPTIONS[name])
    assert res.history["iteration"].iloc[-1] == res.n_iter
    assert res.final("relative_error") == pytest.approx(completion.relative_error(res, truth), rel=1e-9, abs=1e-12)
    assert res.final("train_rmse") == pytest.approx(completion.rmse(res, obs), rel=1e-9, abs=1e-12)


def test_diverged_solvers_record_the_iterate_they_return():
    truth, problem = _sensing_problem()
    res = sensing.factored_gd(problem, 2, step_size=50.0, init_scale=0.1, max_iter=100, rng=0, check_every=5)
    assert res.stop_reason == "diverged"
    assert math.isfinite(res.final("relative_error"))
    assert res.final("relative_error") == pytest.approx(_sensing_error(res, truth), rel=1e-9)
    truth, obs = _completion_problem()
    res = completion.scaled_gd(obs, 2, step_size=50.0, truth=truth, rng=0, max_iter=100, check_every=3)
    assert res.stop_reason == "diverged"
    assert res.final("relative_error") == pytest.approx(completion.relative_error(res, truth), rel=1e-9)


@pytest.mark.parametrize("lab, name", [("sensing", n) for n in sorted(sensing.SOLVERS)]
                         + [("completion", n) for n in sorted(completion.SOLVERS)])
def test_one_callback_contract_everywhere(lab, name):
    if lab == "sensing":
        truth, problem = _sensing_problem()
        opts = dict(SENSING_OPTIONS[name])
        runner, rank = sensing.run_solver, (None if name == "nuclear_norm_pgd" else 2)
    else:
        truth, problem = _completion_problem()
        opts = dict(COMPLETION_OPTIONS[name])
        runner, rank = completion.run_solver, 2
    seen = []

    def callback(t, state):
        seen.append((t, state["iteration"], len(state["factors"]), float(state["loss"])))
        return t == 2

    res = runner(name, problem, rank, rng=0, callback=callback, **opts)
    assert res.stop_reason == "callback" and res.n_iter == 2
    assert [s[0] for s in seen] == [0, 1, 2] and all(s[0] == s[1] for s in seen)
    assert all(s[2] in (1, 2) and math.isfinite(s[3]) for s in seen)
