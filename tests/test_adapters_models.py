"""Models of the adapter lab: analytic gradients against finite differences, on every backend."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, to_xp

from lowrank_lab import backend
from lowrank_lab.adapters import OuterProduct, deep_linear, dense_gradient, linear, mlp

MODELS = {
    "linear": lambda loss: linear(5, 3, loss=loss),
    "deep_linear": lambda loss: deep_linear((5, 4, 6, 3), loss=loss),
    "mlp_tanh": lambda loss: mlp(5, 7, 3, activation="tanh", loss=loss),
    "mlp_relu": lambda loss: mlp(5, 7, 3, activation="relu", loss=loss),
    "mlp_nobias": lambda loss: mlp(5, 7, 3, activation="tanh", loss=loss, bias=False),
}


def _data(xp, model, N=11, seed=0):
    gen = np.random.default_rng(seed)
    weights = {k: to_xp(xp, 0.7 * gen.standard_normal(s)) for k, s in model.shapes.items()}
    X = to_xp(xp, gen.standard_normal((N, model.n_in)))
    if model.loss_kind == "squared":
        Y = to_xp(xp, gen.standard_normal((N, model.n_out)))
    else:
        P = gen.random((N, model.n_out))
        Y = to_xp(xp, P / P.sum(axis=1, keepdims=True))
    return weights, X, Y


def _directional_fd(model, weights, X, Y, direction, h=1e-6):
    plus = {k: w + h * direction[k] for k, w in weights.items()}
    minus = {k: w - h * direction[k] for k, w in weights.items()}
    return (float(model.loss(plus, X, Y)) - float(model.loss(minus, X, Y))) / (2 * h)


@pytest.mark.parametrize("loss", ["squared", "cross_entropy"])
@pytest.mark.parametrize("name", list(MODELS))
def test_gradients_match_finite_differences(xp, name, loss):
    model = MODELS[name](loss)
    weights, X, Y = _data(xp, model)
    value, grads = model.loss_and_grads(weights, X, Y)
    assert list(grads) == list(model.shapes)
    assert float(value) == pytest.approx(float(model.loss(weights, X, Y)), rel=1e-12)
    gen = np.random.default_rng(1)
    for _ in range(3):  # random directions through all weights at once
        V = {k: to_xp(xp, gen.standard_normal(s)) for k, s in model.shapes.items()}
        analytic = sum(float(backend.to_numpy(xp.sum(grads[k] * V[k]))) for k in grads)
        assert _directional_fd(model, weights, X, Y, V) == pytest.approx(analytic, rel=1e-6, abs=1e-8)
    for k in model.shapes:  # and each weight alone
        V = {j: to_xp(xp, (j == k) * gen.standard_normal(s)) for j, s in model.shapes.items()}
        analytic = float(backend.to_numpy(xp.sum(grads[k] * V[k])))
        assert _directional_fd(model, weights, X, Y, V) == pytest.approx(analytic, rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("name", list(MODELS))
def test_factored_gradients_equal_dense_ones(xp, name):
    model = MODELS[name]("squared")
    weights, X, Y = _data(xp, model)
    _, dense = model.loss_and_grads(weights, X, Y)
    _, fact = model.loss_and_grads(weights, X, Y, factored=True)
    for k in model.shapes:
        if k in model.matrices:
            assert isinstance(fact[k], OuterProduct) and fact[k].shape == model.shapes[k]
            M = to_xp(xp, np.random.default_rng(2).standard_normal((model.shapes[k][1], 2)))
            assert_close(fact[k].matmul(M), backend.to_numpy(dense[k]) @ backend.to_numpy(M), rtol=1e-12, xp=xp)
            L = to_xp(xp, np.random.default_rng(3).standard_normal((2, model.shapes[k][0])))
            assert_close(fact[k].rmatmul(L), backend.to_numpy(L) @ backend.to_numpy(dense[k]), rtol=1e-12, xp=xp)
        assert_close(dense_gradient(fact[k]), backend.to_numpy(dense[k]), rtol=1e-12, xp=xp)


def test_linear_model_is_least_squares(xp):
    model = linear(4, 2)
    W = to_xp(xp, np.arange(8.0).reshape(2, 4))
    X = to_xp(xp, np.eye(4))
    Y = xp.zeros((4, 2), dtype=xp.float64)
    # L = 1/(2N) ||X W^T||^2 = ||W||^2 / 8 ; G = W^T ... (R^T X / N = W / 4)
    loss, grads = model.loss_and_grads({"W": W}, X, Y)
    assert float(loss) == pytest.approx(float(np.sum(np.arange(8.0) ** 2)) / 8)
    assert_close(grads["W"], np.arange(8.0).reshape(2, 4) / 4, xp=xp)
    assert_close(model.linear_map({"W": W}), np.arange(8.0).reshape(2, 4), xp=xp)


def test_deep_linear_end_to_end_map_and_prediction(xp):
    model = deep_linear((3, 4, 2))
    weights, X, _ = _data(xp, model)
    M = model.linear_map(weights)
    assert tuple(M.shape) == (2, 3)
    assert_close(model.predict(weights, X), backend.to_numpy(X) @ backend.to_numpy(M).T, rtol=1e-12, xp=xp)
    assert mlp(3, 4, 2).linear_map(mlp(3, 4, 2).init_weights(0)) is None


def test_cross_entropy_of_uniform_logits_is_log_classes(xp):
    model = linear(3, 4, loss="cross_entropy")
    W = xp.zeros((4, 3), dtype=xp.float64)
    X = to_xp(xp, np.ones((5, 3)))
    Y = to_xp(xp, np.eye(4)[[0, 1, 2, 3, 0]])
    assert float(model.loss({"W": W}, X, Y)) == pytest.approx(np.log(4))


def test_relu_derivative_at_zero_is_zero(xp):
    model = mlp(1, 1, 1, activation="relu", bias=False)
    weights = {"W1": to_xp(xp, [[1.0]]), "W2": to_xp(xp, [[1.0]])}
    X = xp.zeros((1, 1), dtype=xp.float64)
    _, grads = model.loss_and_grads(weights, X, to_xp(xp, [[1.0]]))
    assert float(grads["W1"][0, 0]) == 0.0


def test_float32_gradients(xp):
    model = mlp(5, 6, 3)
    weights, X, Y = _data(xp, model)
    w32 = {k: xp.astype(v, xp.float32) for k, v in weights.items()}
    loss32, g32 = model.loss_and_grads(w32, xp.astype(X, xp.float32), xp.astype(Y, xp.float32))
    loss64, g64 = model.loss_and_grads(weights, X, Y)
    assert loss32.dtype == xp.float32
    for k in g64:
        assert g32[k].dtype == xp.float32
        assert_close(g32[k], np.asarray(backend.to_numpy(g64[k]), dtype=np.float32), rtol=1e-4, atol=1e-5, xp=xp)


def test_init_weights_follow_torch_linear_bounds():
    model = mlp(100, 50, 4)
    w = model.init_weights(0)
    assert np.abs(w["W1"]).max() <= 0.1 and np.abs(w["b1"]).max() <= 0.1
    assert np.abs(w["W2"]).max() <= 1 / np.sqrt(50) and np.abs(w["W2"]).max() > 0.9 / np.sqrt(50)
    assert model.num_params == 100 * 50 + 50 + 50 * 4 + 4


def test_bad_inputs_name_the_argument():
    model = linear(4, 2)
    W = np.zeros((2, 4))
    with pytest.raises(ValueError, match=r"weights\['W'\] must have shape \(2, 4\)"):
        model.loss({"W": np.zeros((4, 2))}, np.zeros((3, 4)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="missing"):
        model.loss({}, np.zeros((3, 4)), np.zeros((3, 2)))
    with pytest.raises(TypeError, match="weights must be a mapping"):
        model.loss(W, np.zeros((3, 4)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="X must be 2-D"):
        model.predict({"W": W}, np.zeros((3, 5)))
    with pytest.raises(ValueError, match="Y must have shape"):
        model.loss({"W": W}, np.zeros((3, 4)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="loss must be one of"):
        linear(3, 2, loss="hinge")
    with pytest.raises(ValueError, match="activation must be one of"):
        mlp(3, 2, 1, activation="gelu")
    with pytest.raises(ValueError, match="n_in must be in"):
        linear(0, 2)
    with pytest.raises(ValueError, match="dims must have at least two"):
        deep_linear((3,))
    with pytest.raises(TypeError, match="bias must be a bool"):
        mlp(3, 2, 1, bias=1)
