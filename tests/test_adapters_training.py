"""The fine-tuning loop: the phenomena of study E in small, exact cases, on every backend."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from helpers import assert_close, to_xp

from lowrank_lab import backend, spectral
from lowrank_lab.adapters import (
    adam,
    b_only,
    finetune,
    finetune_sequence,
    full,
    linear,
    linear_task,
    lora,
    make_task,
    minimum_norm_update,
    mlp,
    pretrained_weights,
    random_subspace,
    row_space_residual,
    rslora,
    scale_intruders,
    sgd,
    synthetic_task,
    task_sequence,
)
from lowrank_lab.adapters.parameterizations import as_model_adapter


def _numerical_rank(A):
    s = np.linalg.svd(backend.to_numpy(A), compute_uv=False)
    return int((s > s[0] * max(A.shape) * 1e-12).sum()) if s[0] > 0 else 0


def test_lora_update_has_rank_at_most_r_at_every_step_while_full_is_full_rank(xp):
    n = 12
    task = linear_task(n, rank=2, norm=0.4, residual=0.1, n_train=48, rng=0, xp=xp)
    model = linear(n, n)
    ranks = []

    def record(t, state):
        ranks.append(_numerical_rank(state["weights"]["W"] - task.W0["W"]))

    finetune(model, task, lora(2), sgd(0.1), steps=60, rng=1, callback=record, diagnostics="none")
    assert len(ranks) == 61 and ranks[0] == 0 and max(ranks) == 2
    res = finetune(model, task, full(), sgd(0.3), steps=60, rng=1, diagnostics="none")
    assert _numerical_rank(res.weights["W"] - task.W0["W"]) == n


@pytest.mark.parametrize("adapter", [full(), lora(3), rslora(3), lora(3, alpha=6.0), b_only(3),
                                     random_subspace(20)], ids=lambda a: a.name)
def test_zero_initialized_adapters_leave_the_model_unchanged_at_step_zero(xp, adapter):
    task = linear_task(10, rank=2, n_train=8, rng=0, xp=xp)
    model = linear(10, 10)
    res = finetune(model, task, adapter, sgd(0.01), steps=3, record_every=1, rng=1)
    row = res.history.iloc[0]
    assert row["train_loss"] == pytest.approx(float(model.loss(task.W0, task.X_train, task.Y_train)), rel=1e-14)
    assert row["forgetting"] == 0.0 and row["delta_norm"] == 0.0
    assert row["intruders_eps0.5"] == 0 and row["intruders_eps0.9"] == 0
    assert res.history["train_loss"].iloc[-1] < row["train_loss"]


def test_lora_with_enough_rank_reaches_full_fine_tuning_loss(xp):
    task = linear_task(10, rank=3, norm=0.4, n_train=40, rng=0, xp=xp)
    model = linear(10, 10)
    init = float(model.loss(task.W0, task.X_train, task.Y_train))
    full_res = finetune(model, task, full(), sgd(0.5), steps=400, rng=1, diagnostics="none")
    assert full_res.final("train_loss") < 1e-12 * init
    for r in (3, 6):
        res = finetune(model, task, lora(r, alpha=2.0 * r), adam(0.02), steps=1500, rng=1, diagnostics="none",
                       target_loss=1e-8 * init)
        assert res.converged, (r, res.final("train_loss") / init)
    short = finetune(model, task, lora(1, alpha=2.0), adam(0.02), steps=1500, rng=1, diagnostics="none")
    assert short.final("train_loss") > 1e-2 * init  # rank 1 < rank(dW*) = 3 cannot fit


def test_with_fewer_samples_than_inputs_full_gd_stays_in_the_data_row_span_and_lora_does_not(xp):
    task = linear_task(16, rank=2, norm=0.4, n_train=6, rng=0, xp=xp)
    model = linear(16, 16)
    ref = minimum_norm_update(task)
    res = finetune(model, task, full(), sgd(0.3), steps=300, rng=1, reference_delta=ref, record_every=300)
    dW = res.weights["W"] - task.W0["W"]
    assert float(row_space_residual(dW, task.X_train)) < 1e-12 * float(xp.linalg.matrix_norm(dW))
    assert res.final("reference_cosine") == pytest.approx(1.0, abs=1e-8)  # GD converges to the min-norm fit
    lo = finetune(model, task, lora(4), sgd(0.1), steps=300, rng=1, diagnostics="none")
    dL = lo.weights["W"] - task.W0["W"]
    assert float(row_space_residual(dL, task.X_train)) > 0.1 * float(xp.linalg.matrix_norm(dL))


def test_a_constructed_intruder_is_found_and_lambda_zero_removes_it(xp):
    m, n = 30, 20
    W0 = pretrained_weights(m, n, spectrum="gapped", n_top=10, bulk=0.2, sigma1=3.0, rng=0, xp=xp)
    U0, _, V0t = np.linalg.svd(backend.to_numpy(W0))
    gen = np.random.default_rng(1)
    u = U0[:, n:] @ gen.standard_normal(m - n)  # outside the column space of W0
    v = V0t[10:].T @ gen.standard_normal(n - 10)  # along W0's bulk, away from its top directions
    dW = to_xp(xp, 4.5 * np.outer(u / np.linalg.norm(u), v / np.linalg.norm(v)))  # rank one, above sigma_1
    model = linear(n, m)
    task = make_task(model, {"W": W0}, {"W": dW}, n_train=80, rng=2)
    res = finetune(model, task, full(), sgd(0.5), steps=200, record_every=200, rng=3)
    assert res.final("train_loss") < 1e-20
    assert res.final("intruders_eps0.5") == 1
    tuned = res.weights["W"]
    out = scale_intruders(tuned, W0, 0.0)
    assert out.indices == (0,)
    assert spectral.intruder_dimensions(out.weights, W0).count == 0
    assert_close(scale_intruders(tuned, W0, 1.0).weights, backend.to_numpy(tuned), rtol=1e-12, xp=xp)
    half = scale_intruders(tuned, W0, 0.5).weights
    s_full, s_half = (backend.to_numpy(xp.linalg.svdvals(A)) for A in (tuned, half))
    assert np.min(np.abs(s_half - 0.5 * s_full[0])) < 1e-10  # the intruder's singular value is halved
    rest_half = np.delete(s_half, np.argmin(np.abs(s_half - 0.5 * s_full[0])))
    np.testing.assert_allclose(np.sort(rest_half), np.sort(s_full[1:]), rtol=1e-10)  # the rest untouched
    # PEFT's re-truncation keeps the update of rank <= r
    peft = scale_intruders(tuned, W0, 0.0, rank=1).weights
    assert _numerical_rank(peft - W0) == 1


def test_full_fine_tuning_of_a_small_update_has_no_intruders_and_lora_leaks(xp):
    task = linear_task(32, rank=2, norm=0.05, n_train=12, rng=0, xp=xp)
    model = linear(32, 32)
    res = finetune(model, task, full(), sgd(0.3), steps=300, record_every=300, rng=1)
    assert res.final("intruders_eps0.5") == 0
    lo = finetune(model, task, lora(4, alpha=8.0), sgd(0.05), steps=600, record_every=600, rng=1)
    assert lo.final("forgetting") > res.final("forgetting")


def test_divergence_returns_the_last_good_iterate(xp):
    task = linear_task(8, rank=2, n_train=16, rng=0, xp=xp)
    res = finetune(linear(8, 8), task, full(), sgd(50.0), steps=500, rng=1, check_every=5)
    assert res.stop_reason == "diverged"
    assert res.returned_iteration < res.n_iter
    assert res.history["iteration"].iloc[-1] == res.returned_iteration
    assert np.isfinite(res.history["train_loss"]).all()
    assert bool(xp.all(xp.isfinite(res.weights["W"])))


def test_target_loss_stops_at_matched_loss_and_callbacks_stop():
    task = linear_task(8, rank=2, n_train=16, rng=0)
    model = linear(8, 8)
    init = float(model.loss(task.W0, task.X_train, task.Y_train))
    res = finetune(model, task, full(), sgd(0.3), steps=1000, rng=1, target_loss=1e-3 * init, check_every=1)
    assert res.converged and res.final("train_loss") <= 1e-3 * init
    assert res.n_iter < 1000 and res.history["iteration"].iloc[-1] == res.n_iter
    stop = finetune(model, task, full(), sgd(0.3), steps=100, rng=1, callback=lambda t, s: t == 7)
    assert stop.stop_reason == "callback" and stop.n_iter == 7


def test_minibatches_are_reproducible_and_factored_equals_dense():
    task = linear_task(12, rank=2, n_train=40, rng=0)
    model = linear(12, 12)
    a = finetune(model, task, lora(3), adam(0.01), steps=30, batch_size=8, rng=5, diagnostics="none")
    b = finetune(model, task, lora(3), adam(0.01), steps=30, batch_size=8, rng=5, diagnostics="none")
    c = finetune(model, task, lora(3), adam(0.01), steps=30, batch_size=8, rng=6, diagnostics="none")
    np.testing.assert_array_equal(a.weights["W"], b.weights["W"])
    assert not np.allclose(a.weights["W"], c.weights["W"])
    dense_lora = dataclasses.replace(lora(3), accepts_factored=False)
    d = finetune(model, task, dense_lora, adam(0.01), steps=30, batch_size=8, rng=5, diagnostics="none")
    np.testing.assert_allclose(d.weights["W"], a.weights["W"], rtol=1e-10, atol=1e-12)


def test_randomized_diagnostics_agree_with_exact_ones():
    task = linear_task(48, rank=3, norm=0.5, n_train=96, spectrum="gapped", n_top=12, rng=0)
    model = linear(48, 48)
    kw = dict(steps=100, record_every=50, rng=1, reference_delta=task.delta_star["W"])
    ex = finetune(model, task, lora(3, alpha=6.0), adam(0.02), diagnostics="exact", **kw).history
    rd = finetune(model, task, lora(3, alpha=6.0), adam(0.02), diagnostics="randomized", **kw).history
    for col in ("intruders_eps0.3", "intruders_eps0.5", "intruders_eps0.7"):
        np.testing.assert_array_equal(ex[col], rd[col])
    for col in ("delta_norm", "delta_spectral_norm", "delta_stable_rank", "delta_effective_rank",
                "amplification", "reference_cosine"):
        np.testing.assert_allclose(rd[col].iloc[1:], ex[col].iloc[1:], rtol=1e-6)


def test_multi_layer_model_with_per_layer_adapters(xp):
    model = mlp(6, 8, 3)
    task = synthetic_task(model, rank=1, norm=0.5, n_train=30, target_layers=("W1",), rng=0, xp=xp)
    res = finetune(model, task, {"W1": lora(2), "W2": full(), "b2": full()}, adam(0.02), steps=60,
                   record_every=30, rng=1, intruder_k=3)
    h = res.history
    assert h["train_loss"].iloc[-1] < 0.5 * h["train_loss"].iloc[0]
    assert h["forgetting"].iloc[0] == 0.0 and h["forgetting"].iloc[-1] > 0
    for col in ("W1.intruders_eps0.5", "W2.intruders_eps0.5", "W1.delta_stable_rank", "norm_W1/A", "norm_b2/delta"):
        assert col in h.columns
    np.testing.assert_array_equal(h["intruders_eps0.5"], h["W1.intruders_eps0.5"] + h["W2.intruders_eps0.5"])
    assert res.params["num_params"] == 2 * 14 + 24 + 3
    assert bool(xp.all(res.weights["b1"] == task.W0["b1"]))  # frozen
    sub = finetune(model, task, random_subspace(12), adam(0.05), steps=40, rng=1, diagnostics="none")
    assert sub.final("train_loss") < sub.history["train_loss"].iloc[0]


def test_continual_fine_tuning_chains_the_tasks():
    model = linear(16, 16)
    tasks = task_sequence(model, 3, rank=2, norm=0.4, n_train=8, rng=0)
    out = finetune_sequence(model, tasks, lora(4), sgd(0.1), steps=100, record_every=100, rng=1)
    for prev, nxt in zip(out, out[1:]):
        assert nxt.history["forgetting"].iloc[0] == pytest.approx(prev.final("forgetting"))
        assert nxt.history["delta_norm"].iloc[0] == pytest.approx(prev.final("delta_norm"))
    with pytest.raises(TypeError, match="start"):
        finetune_sequence(model, tasks, lora(4), sgd(0.1), steps=1, start=tasks[0].W0)


def test_float32_runs_stay_float32(xp):
    task = linear_task(12, rank=2, n_train=24, rng=0, xp=xp, dtype=xp.float32)
    assert task.X_train.dtype == xp.float32 and task.delta_star["W"].dtype == xp.float32
    res = finetune(linear(12, 12), task, lora(4), adam(0.02), steps=100, record_every=50, rng=1)
    assert res.weights["W"].dtype == xp.float32
    assert res.final("train_loss") < 0.05 * res.history["train_loss"].iloc[0]
    ref = finetune(linear(12, 12), linear_task(12, rank=2, n_train=24, rng=0, xp=xp), lora(4), adam(0.02), steps=100,
                   record_every=50, rng=1)
    np.testing.assert_allclose(res.history["train_loss"], ref.history["train_loss"], rtol=1e-3)


def test_result_records_the_configuration():
    task = linear_task(8, rank=1, n_train=8, rng=0)
    res = finetune(linear(8, 8), task, rslora(2, alpha=4.0), sgd(0.1), steps=4, rng=3)
    assert res.params["adapter"] == "rslora" and res.params["num_params"] == 32
    assert res.params["adapter_config"]["layers"]["W"]["scale"] == pytest.approx(4.0 / np.sqrt(2))
    assert res.seed == 3 and res.wall_time >= res.diagnostics_time > 0
    assert "FinetuneResult" in repr(res)
    assert list(res.state.params) == ["W/B", "W/A"]
    merged = as_model_adapter(rslora(2, alpha=4.0), linear(8, 8)).delta(res.state)["W"] + task.W0["W"]
    assert_close(res.weights["W"], merged, rtol=0)


def test_bad_inputs_name_the_argument():
    task = linear_task(6, rank=1, n_train=4, rng=0)
    model = linear(6, 6)
    with pytest.raises(ValueError, match="steps must be in"):
        finetune(model, task, full(), sgd(0.1), steps=-1)
    with pytest.raises(ValueError, match="diagnostics must be one of"):
        finetune(model, task, full(), sgd(0.1), steps=1, diagnostics="fast")
    with pytest.raises(ValueError, match="intruder_eps must be"):
        finetune(model, task, full(), sgd(0.1), steps=1, intruder_eps=(0.5, 1.5))
    with pytest.raises(ValueError, match="intruder_k must be in"):
        finetune(model, task, full(), sgd(0.1), steps=1, intruder_k=0)
    with pytest.raises(TypeError, match="optimizer must be a GradientTransformation"):
        finetune(model, task, full(), "adam", steps=1)
    with pytest.raises(TypeError, match="task must be a Task"):
        finetune(model, {"W": 1}, full(), sgd(0.1), steps=1)
    with pytest.raises(ValueError, match="weights must have exactly the keys"):
        finetune(mlp(6, 4, 6), task, full(), sgd(0.1), steps=1)
    with pytest.raises(ValueError, match="reference_delta names"):
        finetune(model, task, full(), sgd(0.1), steps=1, reference_delta={"V": task.W0["W"]})
    with pytest.raises(ValueError, match="batch_size must be in"):
        finetune(model, task, full(), sgd(0.1), steps=1, batch_size=0)
    with pytest.raises(TypeError, match="callback must be callable"):
        finetune(model, task, full(), sgd(0.1), steps=1, callback=3)
