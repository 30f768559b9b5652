"""Nested truncations (DyLoRA, Maestro's ordered dropout): the random truncation, the gate interface, finetune."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, to_xp

from lowrank_lab.adapters import (
    AdapterState,
    adam,
    component_norms,
    dylora,
    finetune,
    grow,
    linear,
    lora,
    maestro,
    make_task,
    nested_lora,
    per_layer,
    truncate,
    with_gate,
)


def test_resample_draws_uniform_truncations_with_the_dylora_scale():
    adapter = dylora(4, alpha=8.0, r_min=2)
    state = adapter.init(np.zeros((6, 5)), rng=0)
    gen = np.random.default_rng(0)
    draws = [int((adapter.resample(state, gen).frozen["gate"] > 0).sum()) for _ in range(3000)]
    counts = np.bincount(draws, minlength=5)
    assert counts[:2].sum() == 0 and np.all(np.abs(counts[2:] / 3000 - 1 / 3) < 0.04)
    g = adapter.resample(state, np.random.default_rng(5)).frozen["gate"]
    b = int((g > 0).sum())
    assert np.allclose(g[:b], 8.0 / b)


def test_update_last_trains_only_the_sampled_component(xp):
    adapter = dylora(3, update="last")
    gen = np.random.default_rng(0)
    W0 = to_xp(xp, gen.standard_normal((5, 4)))
    state = adapter.init(W0, 0)
    state = state.replace_params({"B": to_xp(xp, gen.standard_normal((5, 3))), "A": state.params["A"]})
    drawn = adapter.resample(state, np.random.default_rng(3))
    b = int(np.asarray(drawn.frozen["gate"] > 0).sum())
    g = adapter.pullback(drawn, to_xp(xp, gen.standard_normal((5, 4))))
    nonzero = [k for k in range(3) if float(xp.max(xp.abs(g["A"][k, :]))) > 0]
    assert nonzero == [b - 1]


def test_truncate_with_gate_component_norms_and_grow(xp):
    adapter = maestro(4)
    W0 = to_xp(xp, np.zeros((6, 5)))
    state = adapter.init(W0, 1)
    B, A = np.asarray(state.params["B"]), np.asarray(state.params["A"])
    t2 = truncate(adapter, state, 2)
    assert_close(adapter.delta(t2), B[:, :2] @ A[:2], rtol=1e-12, xp=xp)
    norms = np.asarray(component_norms(state))
    assert np.allclose(norms, np.linalg.norm(B, axis=0) * np.linalg.norm(A, axis=1))
    pruned = with_gate(state, np.array([1.0, 0.0, 1.0, 1.0]))
    assert float(np.asarray(component_norms(pruned))[1]) == 0.0
    bigger = grow(state, 2, rng=0)
    assert bigger.params["B"].shape == (6, 6) and bigger.frozen["gate"].shape == (6,)
    assert_close(adapter.delta(bigger), np.asarray(adapter.delta(state)), rtol=1e-12, atol=1e-15, xp=xp)
    with pytest.raises(ValueError, match="gate must have shape"):
        with_gate(state, np.ones(3))
    with pytest.raises(ValueError, match="b must be in"):
        truncate(adapter, state, 5)
    with pytest.raises(TypeError, match="nested adapter"):
        truncate(lora(2), state, 1)


def test_finetune_uses_the_draw_for_steps_and_the_plain_state_for_records():
    gen = np.random.default_rng(0)
    U, _ = np.linalg.qr(gen.standard_normal((8, 8)))
    V, _ = np.linalg.qr(gen.standard_normal((8, 8)))
    M = (U * np.array([4.0, 3, 2, 1, 0.5, 0.25, 0.1, 0.05])) @ V.T
    model = linear(8, 8)
    task = make_task(model, {"W": np.zeros((8, 8))}, {"W": M}, n_train=400, rng=1)
    res = finetune(model, task, maestro(4, init_scale=0.1), adam(0.02), steps=600, diagnostics="none", rng=2,
                   record_every=600)
    # the recorded training loss is the full model's (every component on), as the returned weights
    W = res.weights["W"]
    assert np.isclose(res.final("train_loss"), float(model.loss({"W": W}, task.X_train, task.Y_train)))
    # ordered dropout orders the components along M's singular vectors
    B = res.state.params["W/B"]
    Bn = B / np.linalg.norm(B, axis=0)
    cos = np.abs(Bn.T @ U[:, :4])
    assert np.all(np.diag(cos) > 0.9)
    # the same with the plain factorization (no ordered dropout): no ordering to expect
    plain = finetune(model, task, maestro(4, sample=False), adam(0.02), steps=600, diagnostics="none", rng=2)
    assert plain.final("train_loss") < 1.0


def test_per_layer_composes_the_resampling_of_its_layers():
    combined = per_layer({"W1": dylora(3), "W2": None})
    assert combined.resample is not None and per_layer({"W1": lora(2)}).resample is None
    weights = {"W1": np.zeros((4, 4)), "W2": np.zeros((2, 4))}
    state = combined.init(weights, 0)
    drawn = combined.resample(state, np.random.default_rng(0))
    assert isinstance(drawn, AdapterState) and set(drawn.frozen) == set(state.frozen)
    assert drawn.params is state.params


def test_nested_bad_arguments():
    with pytest.raises(ValueError, match="r_min"):
        nested_lora(3, r_min=4)
    with pytest.raises(ValueError, match="update"):
        dylora(3, update="first")
    with pytest.raises(TypeError, match="sample"):
        nested_lora(3, sample=1)
    with pytest.raises(ValueError, match="rank_max"):
        maestro(9).init(np.zeros((4, 4)), 0)
