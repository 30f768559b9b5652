"""LoRA-Pro's adjusted gradients and ALLoRA's norm scaling as optimizer transforms."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, to_xp

from lowrank_lab import backend
from lowrank_lab.adapters import (
    allora,
    apply_updates,
    chain,
    equivalent_gradient,
    finetune,
    linear,
    linear_task,
    lora,
    lora_pairs,
    lora_pro,
    lora_pro_gradients,
    sgd,
    tangent_residual,
)

S = 1.5


def _setup(xp, m=7, n=6, r=2, seed=0):
    gen = np.random.default_rng(seed)
    B, A, G = gen.standard_normal((m, r)), gen.standard_normal((r, n)), gen.standard_normal((m, n))
    return [to_xp(xp, x) for x in (B, A, G)]


def _lora_grads(B, A, G, s=S):
    return s * (G @ A.T), s * (B.T @ G)


def _brute_force(Bh, Ah, Gh, s):
    """min over (gA, gB) of ||s (B gA + gB A) - G||: least squares on the vectorized linear map."""
    m, r = Bh.shape
    n = Ah.shape[1]
    cols = []
    for i in range(r * n):  # gA coordinates
        E = np.zeros(r * n)
        E[i] = 1
        cols.append((s * Bh @ E.reshape(r, n)).ravel())
    for i in range(m * r):  # gB coordinates
        E = np.zeros(m * r)
        E[i] = 1
        cols.append((s * E.reshape(m, r) @ Ah).ravel())
    K = np.stack(cols, axis=1)
    x = np.linalg.lstsq(K, Gh.ravel(), rcond=None)[0]
    return (K @ x).reshape(m, n)


@pytest.mark.parametrize("solve_x", [True, False])
def test_lora_pro_step_is_the_best_step_lora_can_take(xp, solve_x):
    B, A, G = _setup(xp)
    gB, gA = _lora_grads(B, A, G)
    hB, hA = lora_pro_gradients(B, A, gB, gA, S, solve_x=solve_x, damping=0.0)
    step = equivalent_gradient(B, A, hB, hA, S)
    Bh, Ah, Gh = (backend.to_numpy(x) for x in (B, A, G))
    best = _brute_force(Bh, Ah, Gh, S)  # the best approximation of G in LoRA's tangent space
    assert_close(step, best, rtol=1e-9, atol=1e-10, xp=xp)
    assert_close(G - step, backend.to_numpy(tangent_residual(B, A, G)), rtol=1e-9, atol=1e-10, xp=xp)
    # plain LoRA's equivalent gradient s^2 (B B^T G + G A^T A) is further from G
    plain = equivalent_gradient(B, A, gB, gA, S)
    assert_close(plain, S**2 * (Bh @ Bh.T @ Gh + Gh @ Ah.T @ Ah), rtol=1e-12, xp=xp)
    assert float(xp.sum((plain - G) ** 2)) > float(xp.sum((step - G) ** 2))


def test_sylvester_x_is_the_adjustment_closest_to_lora_gradients():
    B, A, G = _setup(np, seed=1)
    gB, gA = _lora_grads(B, A, G)
    hB0, hA0 = lora_pro_gradients(B, A, gB, gA, S, solve_x=False, damping=0.0)
    hB, hA = lora_pro_gradients(B, A, gB, gA, S, solve_x=True, damping=0.0)
    r = B.shape[1]

    def distance(X):
        X = X.reshape(r, r)
        return np.sum((hA0 + X @ A - gA) ** 2) + np.sum((hB0 - B @ X - gB) ** 2)

    # the quadratic in X minimized by least squares over its r^2 coordinates
    cols = [np.concatenate([(E.reshape(r, r) @ A).ravel(), (-B @ E.reshape(r, r)).ravel()]) for E in np.eye(r * r)]
    K = np.stack(cols, axis=1)
    target = np.concatenate([(gA - hA0).ravel(), (gB - hB0).ravel()])
    X_best = np.linalg.lstsq(K, target, rcond=None)[0]
    assert np.isclose(distance(X_best), np.sum((hA - gA) ** 2) + np.sum((hB - gB) ** 2), rtol=1e-10)
    assert distance(X_best) < distance(np.zeros(r * r))


def test_lora_pro_recovers_the_full_step_when_it_lies_in_the_adapter_subspace(xp):
    # a linear problem whose full gradient step is rank r with columns in col(B): LoRA-Pro moves W by
    # exactly the full step (its best rank-r approximation is itself); plain LoRA does not
    gen = np.random.default_rng(2)
    B = gen.standard_normal((8, 2))
    A = gen.standard_normal((2, 5))
    G = B @ gen.standard_normal((2, 5))
    Bx, Ax, Gx = to_xp(xp, B), to_xp(xp, A), to_xp(xp, G)
    gB, gA = _lora_grads(Bx, Ax, Gx)
    hB, hA = lora_pro_gradients(Bx, Ax, gB, gA, S)
    assert_close(equivalent_gradient(Bx, Ax, hB, hA, S), G, rtol=1e-7, atol=1e-9, xp=xp)


def test_lora_pro_at_b_zero_uses_the_damping_and_projects_on_row_a(xp):
    B, A, G = _setup(xp)
    B = B * 0.0
    gB, gA = _lora_grads(B, A, G)
    hB, hA = lora_pro_gradients(B, A, gB, gA, S)
    assert float(xp.max(xp.abs(hA))) == 0.0
    Ah, Gh = backend.to_numpy(A), backend.to_numpy(G)
    P_A = Ah.T @ np.linalg.solve(Ah @ Ah.T, Ah)
    assert_close(equivalent_gradient(B, A, hB, hA, S), Gh @ P_A, rtol=1e-7, atol=1e-10, xp=xp)


def test_lora_pro_transform_on_model_scope_keys_and_in_training():
    gen = np.random.default_rng(3)
    params = {"W1/B": gen.standard_normal((4, 2)), "W1/A": gen.standard_normal((2, 3)), "b": np.ones(4)}
    grads = {k: gen.standard_normal(v.shape) for k, v in params.items()}
    t = lora_pro({"W1": 2.0})
    out, _ = t.update(grads, t.init(params), params)
    hB, hA = lora_pro_gradients(params["W1/B"], params["W1/A"], grads["W1/B"], grads["W1/A"], 2.0)
    assert np.allclose(out["W1/B"], hB) and np.allclose(out["W1/A"], hA) and np.array_equal(out["b"], grads["b"])
    assert lora_pairs(params) == {"W1/": ("W1/B", "W1/A")}
    with pytest.raises(ValueError, match="params"):
        t.update(grads, t.init(params))
    # on a linear task LoRA-Pro + SGD reaches a lower loss than LoRA + SGD in the same steps at the same rate
    task = linear_task(12, rank=2, n_train=200, rng=0)
    adapter = lora(2, alpha=2.0)
    lr = 0.2
    plain = finetune(linear(12, 12), task, adapter, sgd(lr), steps=60, diagnostics="none", rng=1)
    pro = finetune(linear(12, 12), task, adapter, chain(lora_pro(1.0), sgd(lr)), steps=60, diagnostics="none", rng=1)
    assert pro.final("train_loss") < plain.final("train_loss")


def test_lora_pro_bad_arguments():
    with pytest.raises(ValueError, match="scale"):
        lora_pro(0.0)
    with pytest.raises(TypeError, match="solve_x"):
        lora_pro(1.0, solve_x="yes")
    with pytest.raises(ValueError, match="damping"):
        lora_pro(1.0, damping=-1.0)


def test_allora_scales_rows_by_their_norm(xp):
    params = {"B": to_xp(xp, np.array([[0.0, 0.0], [3.0, 4.0]])), "v": to_xp(xp, np.array([3.0, 4.0]))}
    grads = {"B": to_xp(xp, np.ones((2, 2))), "v": to_xp(xp, np.ones(2))}
    t = allora(4.0)
    u, _ = t.update(grads, t.init(params), params)
    assert_close(u["B"], np.array([[2.0, 2.0], [1 / np.sqrt(25.25)] * 2]), rtol=1e-12, xp=xp)
    assert_close(u["v"], np.full(2, 1 / np.sqrt(25.25)), rtol=1e-12, xp=xp)  # a vector: one norm
    u, _ = allora(4.0, granularity="element").update(grads, None, params)
    assert_close(u["B"], np.array([[2.0, 2.0], [1 / np.sqrt(9.25), 1 / np.sqrt(16.25)]]), rtol=1e-12, xp=xp)
    u, _ = allora(4.0, granularity="tensor").update(grads, None, params)
    assert_close(u["B"], np.full((2, 2), 1 / np.sqrt(25.25)), rtol=1e-12, xp=xp)


def test_allora_speeds_up_the_escape_from_b_zero():
    task = linear_task(16, rank=2, n_train=200, norm=0.2, rng=0)
    adapter = lora(2, alpha=2.0)  # s = 1: ALLoRA drops alpha
    lr = 0.02
    plain = finetune(linear(16, 16), task, adapter, sgd(lr), steps=40, diagnostics="none", rng=1)
    fast = finetune(linear(16, 16), task, adapter, chain(allora(100.0), sgd(lr)), steps=40, diagnostics="none",
                    rng=1)
    assert fast.final("train_loss") < plain.final("train_loss")
    params = {"B": np.zeros((3, 2))}
    u, _ = allora(100.0).update({"B": np.ones((3, 2))}, None, params)
    assert np.allclose(u["B"], 10.0)  # sqrt(c) at B = 0
    with pytest.raises(ValueError, match="granularity"):
        allora(granularity="column")
    with pytest.raises(ValueError, match="c must"):
        allora(0.0)
    with pytest.raises(ValueError, match="params"):
        allora().update({"B": np.ones(2)}, None)
    new = apply_updates(params, u)
    assert new["B"].shape == (3, 2)
