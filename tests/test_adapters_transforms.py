"""Optimizer transforms against hand-written Adam, AdamW and momentum updates (PyTorch's formulas)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import assert_close, to_xp

from lowrank_lab import backend
from lowrank_lab.adapters import (
    GradientTransformation,
    adam,
    apply_updates,
    chain,
    clip_by_global_norm,
    constant_schedule,
    cosine_decay_schedule,
    global_norm,
    identity,
    join_schedules,
    linear_schedule,
    linear_warmup_schedule,
    matrix_labels,
    multi_transform,
    scale,
    sgd,
    state_floats,
    warmup_cosine_decay_schedule,
)


def _grads(xp, seed, shapes):
    gen = np.random.default_rng(seed)
    return {k: to_xp(xp, gen.standard_normal(s)) for k, s in shapes.items()}


SHAPES = {"A": (3, 4), "b": (5,)}


def _run(xp, opt, steps=6, lr_params=None):
    params = _grads(xp, 100, SHAPES)
    state = opt.init(params)
    history = []
    for t in range(steps):
        g = _grads(xp, t, SHAPES)
        updates, state = opt.update(g, state, params)
        params = apply_updates(params, updates)
        history.append({k: backend.to_numpy(v).copy() for k, v in params.items()})
    return history


def _host(seed):
    return {k: v for k, v in _grads(np, seed, SHAPES).items()}


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adam_and_adamw_match_hand_written_updates(xp, weight_decay):
    lr, b1, b2, eps = 0.05, 0.9, 0.99, 1e-8
    got = _run(xp, adam(lr, b1, b2, eps, weight_decay=weight_decay))
    p = _host(100)
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(x) for k, x in p.items()}
    for t in range(1, 7):
        g = _host(t - 1)
        for k in p:
            p[k] = p[k] * (1 - lr * weight_decay)  # torch.optim.AdamW: decoupled decay first
            m[k] = b1 * m[k] + (1 - b1) * g[k]
            v[k] = b2 * v[k] + (1 - b2) * g[k] ** 2
            denom = np.sqrt(v[k]) / math.sqrt(1 - b2**t) + eps
            p[k] = p[k] - lr / (1 - b1**t) * m[k] / denom
        for k in p:
            np.testing.assert_allclose(got[t - 1][k], p[k], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_matches_hand_written_updates(xp, nesterov):
    lr, mu = 0.1, 0.8
    got = _run(xp, sgd(lr, momentum=mu, nesterov=nesterov))
    p = _host(100)
    buf = {k: np.zeros_like(v) for k, v in p.items()}
    for t in range(6):
        g = _host(t)
        for k in p:  # torch.optim.SGD with dampening = 0
            buf[k] = mu * buf[k] + g[k] if t else g[k].copy()
            step = g[k] + mu * buf[k] if nesterov else buf[k]
            p[k] = p[k] - lr * step
        for k in p:
            np.testing.assert_allclose(got[t][k], p[k], rtol=1e-12)


def test_plain_sgd_with_a_schedule(xp):
    sched = linear_schedule(1.0, 0.0, 4)
    got = _run(xp, sgd(sched), steps=5)
    p = _host(100)
    for t in range(5):
        g = _host(t)
        p = {k: p[k] - sched(t) * g[k] for k in p}
        for k in p:
            np.testing.assert_allclose(got[t][k], p[k], rtol=1e-12)


def test_clip_by_global_norm(xp):
    g = {"a": to_xp(xp, [3.0, 0.0]), "b": to_xp(xp, [[4.0]])}
    t = clip_by_global_norm(2.5)
    out, _ = t.update(g, t.init(g))
    assert float(global_norm(out)) == pytest.approx(2.5)
    assert_close(out["a"], np.array([1.5, 0.0]), xp=xp)
    small, _ = clip_by_global_norm(10.0).update(g, ())
    assert_close(small["b"], np.array([[4.0]]), xp=xp)


def test_chain_applies_left_to_right(xp):
    g = {"w": to_xp(xp, [3.0, 4.0])}
    clip_then_scale, _ = chain(clip_by_global_norm(1.0), scale(10.0)).update(g, chain(clip_by_global_norm(1.0),
                                                                                         scale(10.0)).init(g))
    scale_then_clip, _ = chain(scale(10.0), clip_by_global_norm(1.0)).update(g, chain(scale(10.0),
                                                                                         clip_by_global_norm(1.0)).init(g))
    assert float(global_norm(clip_then_scale)) == pytest.approx(10.0)
    assert float(global_norm(scale_then_clip)) == pytest.approx(1.0)
    same, _ = identity().update(g, identity().init(g))
    assert_close(same["w"], np.array([3.0, 4.0]), xp=xp)


def test_multi_transform_routes_matrices_and_vectors(xp):
    params = _grads(xp, 0, SHAPES)
    opt = multi_transform({"matrix": adam(0.1), "other": sgd(0.5)}, matrix_labels)
    state = opt.init(params)
    g = _grads(xp, 1, SHAPES)
    u, state = opt.update(g, state, params)
    assert_close(u["b"], -0.5 * backend.to_numpy(g["b"]), rtol=1e-12, xp=xp)
    assert_close(u["A"], -0.1 * np.sign(backend.to_numpy(g["A"])), rtol=1e-6, xp=xp)  # Adam's first step
    assert state_floats(state) == 2 * 12  # Adam moments of the matrix only
    by_key = multi_transform({"x": sgd(1.0), "y": sgd(0.0)}, {"A": "x", "b": "y"})
    u, _ = by_key.update(g, by_key.init(params), params)
    assert float(xp.max(xp.abs(u["b"]))) == 0.0


def test_state_floats_counts_moments_not_counters():
    params = {"A": np.zeros((4, 5)), "b": np.zeros(3)}
    assert state_floats(adam(0.1).init(params)) == 2 * 23
    assert state_floats(sgd(0.1, momentum=0.9).init(params)) == 23
    assert state_floats(sgd(0.1).init(params)) == 0
    assert state_floats(chain(clip_by_global_norm(1.0), adam(0.1, weight_decay=0.1)).init(params)) == 46


def test_schedules():
    assert constant_schedule(0.3)(10**6) == 0.3
    cos = cosine_decay_schedule(2.0, 10, alpha=0.1)
    assert cos(0) == 2.0 and cos(10) == pytest.approx(0.2) and cos(5) == pytest.approx(1.1)
    warm = linear_warmup_schedule(1.0, 10)
    assert warm(0) == 0.0 and warm(5) == 0.5 and warm(10) == 1.0 and warm(99) == 1.0
    wc = warmup_cosine_decay_schedule(1.0, 10, 30, end_value=0.1)
    assert wc(10) == 1.0 and wc(20) == pytest.approx(0.55) and wc(30) == pytest.approx(0.1)
    joined = join_schedules((constant_schedule(1.0), constant_schedule(2.0), constant_schedule(3.0)), (5, 7))
    assert [joined(t) for t in (4, 5, 6, 7)] == [1.0, 2.0, 2.0, 3.0]


def test_transforms_stay_on_the_input_namespace_and_dtype(xp):
    params = {k: xp.astype(v, xp.float32) for k, v in _grads(xp, 0, SHAPES).items()}
    opt = chain(clip_by_global_norm(1.0), adam(cosine_decay_schedule(0.1, 5), weight_decay=0.01))
    state = opt.init(params)
    u, state = opt.update(params, state, params)
    for v in u.values():
        assert v.dtype == xp.float32
        assert backend.backend_name(backend.array_namespace(v)) == backend.backend_name(xp)


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="momentum must be"):
        sgd(0.1, momentum=1.0)
    with pytest.raises(ValueError, match="nesterov=True needs momentum"):
        sgd(0.1, nesterov=True)
    with pytest.raises(ValueError, match="lr must be"):
        sgd(-1.0)
    with pytest.raises(ValueError, match="b2 must be"):
        adam(0.1, b2=1.0)
    with pytest.raises(ValueError, match="weight_decay must be"):
        adam(0.1, weight_decay=-0.1)
    with pytest.raises(ValueError, match="max_norm must be"):
        clip_by_global_norm(0.0)
    with pytest.raises(TypeError, match="chain argument 1"):
        chain(sgd(0.1), "adam")
    with pytest.raises(ValueError, match="updates must have the keys"):
        apply_updates({"a": np.zeros(1)}, {"b": np.zeros(1)})
    with pytest.raises(ValueError, match="has no transform"):
        multi_transform({"matrix": sgd(0.1)}, matrix_labels).init({"b": np.zeros(2)})
    with pytest.raises(ValueError, match="decay_steps must be"):
        cosine_decay_schedule(1.0, 0)
    with pytest.raises(ValueError, match="needs params"):
        adam(0.1, weight_decay=0.1).update({"a": np.ones(1)}, adam(0.1, weight_decay=0.1).init({"a": np.ones(1)}))
    assert isinstance(sgd(0.1), GradientTransformation)
