"""Adapters as values: zero initialization, pullbacks against finite differences, model scope."""

from __future__ import annotations

import dataclasses
import math
import pickle

import numpy as np
import pytest
from helpers import assert_close, to_xp

from lowrank_lab import backend
from lowrank_lab.adapters import (
    Adapter,
    AdapterState,
    OuterProduct,
    as_model_adapter,
    b_only,
    full,
    linear,
    lora,
    merge,
    mlp,
    per_layer,
    random_subspace,
    rslora,
)

LAYER_ADAPTERS = {
    "full": full(),
    "lora": lora(3, alpha=6.0),
    "lora_gauss": lora(3, alpha=6.0, init="gaussian"),
    "rslora": rslora(3, alpha=6.0),
    "lora_2r": lora(3, alpha=6.0),
    "b_only": b_only(3, alpha=6.0),
}


def _randomize(xp, state, seed):
    """A generic point: every trainable array random (B = 0 would hide the A gradient)."""
    gen = np.random.default_rng(seed)
    return state.replace_params({k: to_xp(xp, gen.standard_normal(tuple(v.shape))) for k, v in state.params.items()})


def _fd_check(xp, model, base, adapter, state, X, Y, h=1e-6):
    """Directional derivatives of L(W0 + delta(params)) along each param against the pullback."""
    def loss_at(params):
        s = state.replace_params(params)
        return float(model.loss(merge(base, adapter.delta(s)), X, Y))

    merged = merge(base, adapter.delta(state))
    _, G = model.loss_and_grads(merged, X, Y)
    grads = adapter.pullback(state, G)
    assert sorted(grads) == sorted(state.params)
    gen = np.random.default_rng(7)
    for k, p in state.params.items():
        assert tuple(grads[k].shape) == tuple(p.shape)
        V = to_xp(xp, gen.standard_normal(tuple(p.shape)))
        plus = dict(state.params, **{k: p + h * V})
        minus = dict(state.params, **{k: p - h * V})
        fd = (loss_at(plus) - loss_at(minus)) / (2 * h)
        analytic = float(backend.to_numpy(xp.sum(grads[k] * V)))
        assert fd == pytest.approx(analytic, rel=1e-6, abs=1e-9), k
    return grads, G


@pytest.mark.parametrize("name", list(LAYER_ADAPTERS))
def test_layer_pullbacks_match_finite_differences(xp, name):
    adapter = LAYER_ADAPTERS[name]
    model = linear(7, 5)
    gen = np.random.default_rng(0)
    W0 = to_xp(xp, gen.standard_normal((5, 7)))
    X = to_xp(xp, gen.standard_normal((9, 7)))
    Y = to_xp(xp, gen.standard_normal((9, 5)))
    state = _randomize(xp, adapter.init(W0, 1), 2)
    _fd_check(xp, model, {"W": W0}, per_layer({"W": adapter}),
              AdapterState({f"W/{k}": v for k, v in state.params.items()},
                           {f"W/{k}": v for k, v in state.frozen.items()}), X, Y)
    # the layer-scope pullback directly, dense and factored
    _, grads = model.loss_and_grads({"W": W0 + adapter.delta(state)}, X, Y, factored=True)
    G = grads["W"]
    dense = adapter.pullback(state, G.dense())
    if adapter.accepts_factored:
        fact = adapter.pullback(state, G)
        for k in dense:
            assert_close(fact[k], backend.to_numpy(dense[k]), rtol=1e-12, atol=1e-14, xp=xp)


@pytest.mark.parametrize("name", list(LAYER_ADAPTERS))
def test_zero_initialized_adapters_leave_the_model_unchanged(xp, name):
    adapter = LAYER_ADAPTERS[name]
    W0 = to_xp(xp, np.random.default_rng(0).standard_normal((6, 8)))
    state = adapter.init(W0, 3)
    delta = adapter.delta(state)
    assert tuple(delta.shape) == (6, 8)
    assert float(xp.max(xp.abs(delta))) == 0.0
    for v in [*state.params.values(), *state.frozen.values()]:
        assert backend.backend_name(backend.array_namespace(v)) == backend.backend_name(xp)
        assert v.dtype == W0.dtype


def test_lora_scalings_and_parameter_counts():
    assert lora(4, alpha=8.0).config["scale"] == 2.0
    assert rslora(4, alpha=8.0).config["scale"] == 4.0
    assert lora(16, alpha=32.0).config["scale"] == 2.0  # alpha = 2r: constant scale 2
    assert lora(4, rank_stabilized=True).name == "rslora"
    assert lora(4).num_params((10, 20)) == 4 * 30
    assert b_only(4).num_params((10, 20)) == 40
    assert full().num_params((10, 20)) == 200
    assert full().num_params((7,)) == 7


def test_lora_delta_is_scaled_product(xp):
    adapter = lora(2, alpha=3.0)
    state = _randomize(xp, adapter.init(to_xp(xp, np.zeros((4, 5))), 0), 1)
    B, A = backend.to_numpy(state.params["B"]), backend.to_numpy(state.params["A"])
    assert_close(adapter.delta(state), 1.5 * B @ A, rtol=1e-12, xp=xp)


def test_lora_initializations_follow_peft():
    n, r = 400, 8
    A = lora(r).init(np.zeros((10, n)), 0).params["A"]  # kaiming_uniform_(a=sqrt(5)): U(-1/sqrt(n), 1/sqrt(n))
    bound = 1 / math.sqrt(n)
    assert np.abs(A).max() <= bound
    assert A.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    G = lora(r, init="gaussian").init(np.zeros((10, n)), 0).params["A"]  # N(0, 1/r^2)
    assert G.std() == pytest.approx(1 / r, rel=0.05)
    state = b_only(r).init(np.zeros((10, n)), 0)
    assert list(state.params) == ["B"] and list(state.frozen) == ["A"]
    assert np.array_equal(state.frozen["A"], A)  # the same draw as LoRA's A


def test_same_seed_same_adapter_on_every_backend(xp):
    W0 = np.random.default_rng(0).standard_normal((5, 6))
    ours = lora(2).init(to_xp(xp, W0), 11).params["A"]
    ref = lora(2).init(W0, 11).params["A"]
    assert_close(ours, ref, rtol=0, xp=xp)


def test_per_layer_combines_and_freezes(xp):
    model = mlp(4, 5, 3)
    gen = np.random.default_rng(0)
    base = {k: to_xp(xp, gen.standard_normal(s)) for k, s in model.shapes.items()}
    X = to_xp(xp, gen.standard_normal((6, 4)))
    Y = to_xp(xp, gen.standard_normal((6, 3)))
    combined = as_model_adapter({"W1": lora(2), "W2": full(), "b2": full(), "b1": None}, model)
    assert combined.scope == "model"
    state = combined.init(base, 0)
    assert sorted(state.params) == ["W1/A", "W1/B", "W2/delta", "b2/delta"]
    assert combined.num_params({k: tuple(v) for k, v in model.shapes.items()}) == 2 * 9 + 15 + 3
    assert sorted(combined.delta(state)) == ["W1", "W2", "b2"]
    state = _randomize(xp, state, 4)
    _fd_check(xp, model, base, combined, state, X, Y)
    # a layer adapter alone means: every weight matrix, biases frozen
    every = as_model_adapter(lora(2), model)
    assert sorted(every.delta(every.init(base, 0))) == ["W1", "W2"]
    # a single adapted layer gets the arrays a direct init would give
    direct = lora(2).init(base["W1"], 5).params["A"]
    assert_close(per_layer({"W1": lora(2)}).init(base, 5).params["W1/A"], backend.to_numpy(direct), rtol=0, xp=xp)


def test_random_subspace_pullback_and_step_zero(xp):
    model = mlp(4, 3, 2)
    gen = np.random.default_rng(0)
    base = {k: to_xp(xp, gen.standard_normal(s)) for k, s in model.shapes.items()}
    X = to_xp(xp, gen.standard_normal((7, 4)))
    Y = to_xp(xp, gen.standard_normal((7, 2)))
    adapter = random_subspace(5)
    state = adapter.init(base, 1)
    D = model.num_params
    assert adapter.scope == "model" and adapter.num_params(model.shapes) == 5
    # z = 0: the model is unchanged at step 0
    merged = merge(base, adapter.delta(state))
    assert float(model.loss(merged, X, Y)) == float(model.loss(base, X, Y))
    # P has unit-norm columns over all D parameters
    P = np.concatenate([backend.to_numpy(state.frozen[k]).reshape(-1, 5) for k in model.shapes])
    assert P.shape == (D, 5)
    assert_close(np.linalg.norm(P, axis=0), np.ones(5), rtol=1e-12)
    # pullback = P^T g, against the flattened gradient and against finite differences
    state = _randomize(xp, state, 2)
    grads, G = _fd_check(xp, model, base, adapter, state, X, Y)
    g = np.concatenate([backend.to_numpy(G[k]).reshape(-1) for k in model.shapes])
    assert_close(grads["z"], P.T @ g, rtol=1e-10, xp=xp)
    # delta = P z
    z = backend.to_numpy(state.params["z"])
    flat = np.concatenate([backend.to_numpy(v).reshape(-1) for v in adapter.delta(state).values()])
    assert_close(flat, P @ z, rtol=1e-12)


def test_adapters_are_picklable_values():
    for adapter in [*LAYER_ADAPTERS.values(), random_subspace(3), per_layer({"W": lora(2)})]:
        clone = pickle.loads(pickle.dumps(adapter))
        assert clone.name == adapter.name and clone.config == adapter.config
    with pytest.raises(dataclasses.FrozenInstanceError):
        lora(2).name = "x"  # frozen


def test_outer_product_gradient_is_never_formed_by_lora():
    class NoDense(OuterProduct):
        def dense(self):  # pragma: no cover - must not be called
            raise AssertionError("LoRA formed the m x n gradient")

    gen = np.random.default_rng(0)
    state = _randomize(np, lora(2).init(np.zeros((5, 6)), 0), 1)
    G = NoDense(gen.standard_normal((4, 5)), gen.standard_normal((4, 6)))
    out = lora(2).pullback(state, G)
    ref = lora(2).pullback(state, G.left.T @ G.right)
    assert_close(out["A"], ref["A"], rtol=1e-12)


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="rank must be in"):
        lora(0)
    with pytest.raises(ValueError, match=r"rank must be in \[1, min\(m, n\)=4\], got 5"):
        lora(5).init(np.zeros((4, 6)), 0)
    with pytest.raises(ValueError, match="alpha must be"):
        lora(2, alpha=0.0)
    with pytest.raises(ValueError, match="init must be one of"):
        lora(2, init="orthogonal")
    with pytest.raises(ValueError, match="adapts a 2-D weight"):
        lora(2).init(np.zeros(5), 0)
    with pytest.raises(ValueError, match="d must be in"):
        random_subspace(10).init({"W": np.zeros((2, 2))}, 0)
    with pytest.raises(ValueError, match="projection must be one of"):
        random_subspace(2, projection="fastfood")
    with pytest.raises(TypeError, match="model-scope adapter"):
        random_subspace(2).init(np.zeros((3, 3)), 0)
    with pytest.raises(ValueError, match="scope must be one of"):
        Adapter("x", full().init, full().delta, full().pullback, full().num_params, scope="global")
    with pytest.raises(ValueError, match="must have scope 'layer'"):
        per_layer({"W": random_subspace(2)})
    with pytest.raises(ValueError, match="at least one adapted layer"):
        per_layer({"W": None})
    with pytest.raises(ValueError, match="not weights of the model"):
        as_model_adapter({"W9": lora(2)}, linear(3, 3))
    with pytest.raises(TypeError, match="adapter must be an Adapter"):
        as_model_adapter("lora", linear(3, 3))
    with pytest.raises(ValueError, match="that base lacks"):
        merge({"W": np.zeros(2)}, {"V": np.zeros(2)})
