"""Subspace training of adapter-lab models: DID and SAID adapters through ``finetune``."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from lowrank_lab import backend
from lowrank_lab.adapters import AdapterState, adam, finetune, merge, mlp, sgd
from lowrank_lab.intrinsic import ParameterLayout
from lowrank_lab.intrinsic.subspace import accuracy, classification_task, said_adapter, subspace_adapter

KINDS = ("dense", "sparse", "fastfood")


def _weights(xp, rng=0):
    return mlp(5, 7, 3, loss="cross_entropy").init_weights(rng, xp=xp)


def _data(n=40, rng=0):
    gen = np.random.default_rng(rng)
    X = gen.standard_normal((n, 5))
    y = np.argmax(X[:, :3] + 0.3 * gen.standard_normal((n, 3)), axis=1)
    return SimpleNamespace(X_train=X[: n // 2], y_train=y[: n // 2], X_test=X[n // 2:], y_test=y[n // 2:])


def _np(a):
    return np.asarray(backend.to_numpy(a))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("make", [subspace_adapter, said_adapter])
def test_zero_start_is_theta0_exactly(xp, kind, make):
    W0 = _weights(xp)
    adapter = make(12, kind)
    state = adapter.init(W0, rng=3)
    merged = merge(W0, adapter.delta(state))
    for k in W0:
        assert np.array_equal(_np(merged[k]), _np(W0[k]))


@pytest.mark.parametrize("kind", KINDS)
def test_did_gradient_is_projection_adjoint(xp, kind):
    W0 = _weights(xp)
    model = mlp(5, 7, 3, loss="cross_entropy")
    adapter = subspace_adapter(9, kind)
    state = adapter.init(W0, rng=1)
    gen = np.random.default_rng(2)
    z = backend.asarray(gen.standard_normal(9), like=W0["W1"])
    state = state.replace_params({"z": z})
    X = backend.asarray(gen.standard_normal((11, 5)), like=W0["W1"])
    Y = backend.asarray(np.eye(3)[gen.integers(0, 3, 11)], like=W0["W1"])
    _, G = model.loss_and_grads(merge(W0, adapter.delta(state)), X, Y)
    layout = ParameterLayout.from_params(W0)
    g = _np(layout.flatten(G))
    P = _np(state.frozen["projection"].to_dense())
    np.testing.assert_allclose(_np(adapter.pullback(state, G)["z"]), P.T @ g, rtol=1e-10, atol=1e-12)
    # the update itself is P z laid out per tensor
    delta = adapter.delta(state)
    np.testing.assert_allclose(_np(layout.flatten(delta)), P @ _np(z), rtol=1e-12, atol=1e-14)


def _loss_at(model, adapter, state, W0, X, Y, params):
    return float(model.loss(merge(W0, adapter.delta(state.replace_params(params))), X, Y))


@pytest.mark.parametrize("make", [subspace_adapter, said_adapter])
@pytest.mark.parametrize("kind", KINDS)
def test_gradient_matches_finite_differences(make, kind):
    model = mlp(5, 7, 3, loss="cross_entropy")
    W0 = model.init_weights(0)
    adapter = make(10, kind)
    state = adapter.init(W0, rng=4)
    gen = np.random.default_rng(5)
    params = {k: v + 0.3 * gen.standard_normal(v.shape) for k, v in state.params.items()}
    X = gen.standard_normal((13, 5))
    Y = np.eye(3)[gen.integers(0, 3, 13)]
    st = state.replace_params(params)
    _, G = model.loss_and_grads(merge(W0, adapter.delta(st)), X, Y)
    grads = adapter.pullback(st, G)
    h = 1e-6
    for key, value in params.items():
        fd = np.zeros_like(value)
        for i in range(value.size):
            e = np.zeros_like(value)
            e.flat[i] = h
            up = _loss_at(model, adapter, state, W0, X, Y, {**params, key: value + e})
            down = _loss_at(model, adapter, state, W0, X, Y, {**params, key: value - e})
            fd.flat[i] = (up - down) / (2 * h)
        np.testing.assert_allclose(grads[key], fd, rtol=1e-5, atol=1e-8)


def test_said_gradient_in_lambda_is_zero_at_start():
    model = mlp(5, 7, 3, loss="cross_entropy")
    W0 = model.init_weights(0)
    adapter = said_adapter(10, "fastfood")
    state = adapter.init(W0, rng=1)
    gen = np.random.default_rng(0)
    _, G = model.loss_and_grads(W0, gen.standard_normal((8, 5)), np.eye(3)[gen.integers(0, 3, 8)])
    assert np.all(adapter.pullback(state, G)["lam"] == 0)


def test_budget_counting():
    W0 = _weights(np)
    m = len(W0)
    shapes = {k: v.shape for k, v in W0.items()}
    for kind in KINDS:
        did = subspace_adapter(12, kind)
        said = said_adapter(12, kind)
        s_did, s_said = did.init(W0, rng=0), said.init(W0, rng=0)
        assert did.num_params(shapes) == 12 == sum(v.size for v in s_did.params.values())
        assert said.num_params(shapes) == 12 == sum(v.size for v in s_said.params.values())
        assert s_said.params["z"].shape == (12 - m,) and s_said.params["lam"].tolist() == [1.0] * m
        assert s_said.frozen["projection"].shape == (sum(v.size for v in W0.values()), 12 - m)
    with pytest.raises(ValueError, match="d > m"):
        said_adapter(m, "dense").init(W0, rng=0)
    with pytest.raises(ValueError, match="d"):
        subspace_adapter(10**6, "dense").init(W0, rng=0)
    with pytest.raises(ValueError, match="projection"):
        subspace_adapter(3, "gaussian")
    with pytest.raises(TypeError, match="whole weights dict"):
        subspace_adapter(3).init(np.zeros((3, 3)), rng=0)


def test_projection_columns_normalized_over_all_tensors():
    W0 = _weights(np)
    state = subspace_adapter(6, "dense").init(W0, rng=0)
    P = state.frozen["projection"].to_dense()
    np.testing.assert_allclose(np.linalg.norm(P, axis=0), 1.0, rtol=1e-12)


def test_sparse_per_tensor_density_option():
    W0 = _weights(np)
    state = subspace_adapter(6, "sparse", per_tensor_density=True).init(W0, rng=0)
    assert state.frozen["projection"].shape == (sum(v.size for v in W0.values()), 6)
    with pytest.raises(TypeError, match="per_tensor_density"):
        subspace_adapter(6, "sparse", per_tensor_density=1)


@pytest.mark.parametrize("make", [subspace_adapter, said_adapter])
def test_finetune_trains_in_the_subspace(xp, make):
    model = mlp(5, 7, 3, loss="cross_entropy")
    task = classification_task(model, _data(), rng=0, n_source=5, xp=xp)
    res = finetune(model, task, make(20, "fastfood"), adam(0.05), steps=60, rng=1, diagnostics="none",
                   record_every=30)
    assert res.params["num_params"] == 20
    h = res.history["train_loss"]
    assert h.iloc[-1] < 0.9 * h.iloc[0]
    # only the subspace moved: theta - theta_0 = P z (DID) and lies in the span of the blocks of P (SAID)
    layout = ParameterLayout.from_params(task.W0)
    moved = _np(layout.flatten({k: res.weights[k] - task.W0[k] for k in task.W0}))
    P = _np(res.state.frozen["projection"].to_dense())
    if make is subspace_adapter:
        np.testing.assert_allclose(moved, P @ _np(res.state.params["z"]), atol=1e-10)
    assert 0.0 <= accuracy(model, res.weights, task.X_test, task.Y_test) <= 1.0


def test_finetune_sgd_equals_manual_projected_steps():
    model = mlp(5, 7, 3, loss="cross_entropy")
    task = classification_task(model, _data(), rng=0, n_source=5)
    adapter = subspace_adapter(8, "dense")
    res = finetune(model, task, adapter, sgd(0.1), steps=3, rng=1, diagnostics="none")
    P = res.state.frozen["projection"].to_dense()
    z = np.zeros(8)
    layout = ParameterLayout.from_params(task.W0)
    for _ in range(3):
        W = layout.unflatten(layout.flatten(task.W0) + P @ z)
        _, G = model.loss_and_grads(W, task.X_train, task.Y_train)
        z = z - 0.1 * P.T @ layout.flatten(G)
    np.testing.assert_allclose(res.state.params["z"], z, rtol=1e-10, atol=1e-13)
    assert isinstance(res.state, AdapterState)


def test_classification_task_and_accuracy_checks():
    model = mlp(5, 7, 3, loss="cross_entropy")
    task = classification_task(model, _data(), rng=0, n_source=5)
    assert task.Y_train.shape == (20, 3) and task.X_source.shape == (5, 5)
    with pytest.raises(ValueError, match="features"):
        classification_task(mlp(4, 7, 3), _data(), rng=0)
    with pytest.raises(TypeError, match="model"):
        classification_task("mlp", _data())
    with pytest.raises(TypeError, match="model"):
        accuracy(None, task.W0, task.X_test, task.Y_test)


# --------------------------------------------------------------------------- #
# adapter-lab trials and intrinsic_dimension with a reference trial
# --------------------------------------------------------------------------- #
def test_digits_trials_share_theta0_and_report_budget():
    from lowrank_lab.intrinsic.trials import digits_direct_trial, digits_subspace_trial

    row = digits_subspace_trial(30, 0, hidden=8, steps=20, method="said", projection="sparse")
    direct = digits_direct_trial(0, hidden=8, steps=20)
    assert row["num_params"] == 30 and direct["num_params"] == direct["D"] == row["D"] == 64 * 8 + 8 + 8 * 10 + 10
    assert row["initial_loss"] == pytest.approx(direct["initial_loss"], rel=1e-12)  # same theta_0
    shuffled = digits_subspace_trial(30, 0, hidden=8, steps=20, shuffle_labels=True)
    assert shuffled["accuracy"] == shuffled["train_accuracy"]
    assert row["accuracy"] == row["test_accuracy"]
    with pytest.raises(ValueError, match="method"):
        digits_subspace_trial(30, 0, method="lora")


def _fake_trial(d, seed, *, slope=0.01):
    return {"accuracy": min(1.0, slope * d), "initial_loss": 1.0, "loss": max(0.0, 1.0 - slope * d)}


def _fake_reference(seed, *, slope=0.01):
    return {"accuracy": 0.9 + 0.02 * seed, "loss": 0.0}


def test_intrinsic_dimension_with_reference_trial():
    from lowrank_lab.intrinsic import intrinsic_dimension

    res = intrinsic_dimension(_fake_trial, [50, 80, 90, 100], seeds=3, thresholds=("relative", "absolute", "loss_improvement"),
                              initial="initial_loss", reference_trial=_fake_reference, n_resamples=200)
    assert list(res.reference["accuracy"]) == pytest.approx([0.9, 0.92, 0.94])
    assert res["relative"].target == pytest.approx(0.9 * 0.92)   # 0.828: reached at d = 90
    assert res["relative"].d == 90 and res["absolute"].d == 90 and res["loss_improvement"].d == 90
    with pytest.raises(ValueError, match="not both"):
        intrinsic_dimension(_fake_trial, [50], seeds=1, reference=0.9, reference_trial=_fake_reference)


def test_teacher_trials_give_loss_improvement():
    from lowrank_lab.intrinsic import intrinsic_dimension
    from lowrank_lab.intrinsic.trials import teacher_direct_trial, teacher_subspace_trial

    res = intrinsic_dimension(teacher_subspace_trial, [5, 150], seeds=2, config={"steps": 60, "hidden": 8},
                              thresholds="loss_improvement", initial="initial_loss",
                              reference_trial=teacher_direct_trial, reference_config={"steps": 60, "hidden": 8},
                              n_resamples=100)
    curve = res["loss_improvement"].curve.set_index("d")["mean"]
    assert curve[150] > curve[5]


def test_pretrained_family_trial_shares_start_and_pretraining_changes_trunk():
    from lowrank_lab.intrinsic.trials import pretrained_family_direct_trial, pretrained_family_trial

    a = pretrained_family_trial(16, 0, width=8, pretrain_steps=0, steps=20)
    b = pretrained_family_trial(16, 0, width=8, pretrain_steps=0, steps=20, method="said")
    ref = pretrained_family_direct_trial(0, width=8, pretrain_steps=0, steps=20, method="did", lr=0.05)
    assert a["initial_loss"] == pytest.approx(b["initial_loss"]) == pytest.approx(ref["initial_loss"])
    assert a["D"] == ref["num_params"] == 16 * 8 + 8 + 8 * 4 + 4 and a["num_params"] == 16
    pre = pretrained_family_trial(16, 0, width=8, pretrain_steps=30, steps=20)
    assert pre["initial_loss"] != pytest.approx(a["initial_loss"])


def test_digits_adapter_trial_counts_the_adapter_budget():
    from lowrank_lab.intrinsic.trials import digits_adapter_trial, digits_direct_trial

    row = digits_adapter_trial(0, method="nola", size=6, hidden=8, steps=10)
    assert row["num_params"] == 2 * 6  # NOLA: size basis coefficients per weight matrix
    direct = digits_direct_trial(0, hidden=8, steps=10)
    assert row["initial_loss"] == pytest.approx(direct["initial_loss"], rel=1e-12)  # same theta_0
    with pytest.raises(ValueError, match="method"):
        digits_adapter_trial(0, method="lora")
