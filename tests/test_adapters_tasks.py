"""Pretrained weights, target updates, tasks and the forgetting probe."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import assert_close, to_xp

from lowrank_lab import backend
from lowrank_lab.adapters import (
    deep_linear,
    forgetting,
    input_covariance,
    linear,
    linear_task,
    make_task,
    minimum_norm_update,
    mlp,
    pretrained_weights,
    row_space_residual,
    spectrum_values,
    synthetic_task,
    target_update,
    task_sequence,
)


def test_pretrained_spectra(xp):
    W = pretrained_weights(30, 20, sigma1=3.0, decay=1.0, rng=0, xp=xp)
    assert_close(xp.linalg.svdvals(W), 3.0 / np.arange(1, 21), rtol=1e-10, xp=xp)
    G = pretrained_weights(30, 20, spectrum="gapped", n_top=5, bulk=0.2, sigma1=2.0, rng=0, xp=xp)
    s = backend.to_numpy(xp.linalg.svdvals(G))
    assert s[4] == pytest.approx(1.0) and s[5] == pytest.approx(0.4)  # gap between sigma_5 and the bulk
    same = pretrained_weights(30, 20, rng=0)
    assert_close(W, same, rtol=1e-12, xp=xp)  # same seed, same matrix on every backend


def test_iid_control_has_an_mp_bulk():
    W = pretrained_weights(400, 200, spectrum="iid", sigma1=3.0, rng=0)
    s = np.linalg.svd(W, compute_uv=False)
    assert s[0] == pytest.approx(3.0, rel=0.05)
    assert s[-1] == pytest.approx(3.0 * (math.sqrt(400) - math.sqrt(200)) / (math.sqrt(400) + math.sqrt(200)), rel=0.1)
    assert np.max(s[:10] / s[1:11]) < 1.05  # no gap among the top values


@pytest.mark.parametrize("alignment", [0.0, 0.3, 1.0])
def test_target_update_rank_norm_and_alignment_with_w0(xp, alignment):
    W0 = pretrained_weights(40, 30, rng=1, xp=xp)
    dW = backend.to_numpy(target_update(W0, 3, norm=0.5, alignment=alignment, align_rank=6, rng=2))
    U, s, Vt = np.linalg.svd(dW)
    assert int((s > 1e-10 * s[0]).sum()) == 3
    assert s[0] == pytest.approx(0.5 * 3.0) and s[2] == pytest.approx(1.5)  # flat spectrum
    U0, _, V0t = np.linalg.svd(backend.to_numpy(W0))
    assert np.linalg.norm(U0[:, :6].T @ U[:, :3]) ** 2 / 3 == pytest.approx(alignment, abs=1e-10)
    assert np.linalg.norm(V0t[:6] @ Vt[:3].T) ** 2 / 3 == pytest.approx(alignment, abs=1e-10)


def test_target_update_spectrum_residual_and_input_alignment():
    W0 = pretrained_weights(20, 25, rng=0)
    dW = target_update(W0, 4, norm=0.4, spectrum="power_law", decay=1.0, rng=1)
    s = np.linalg.svd(dW, compute_uv=False)
    np.testing.assert_allclose(s[:4], 1.2 / np.arange(1, 5), rtol=1e-10)
    noisy = target_update(W0, 4, norm=0.4, residual=0.05, rng=1)
    assert np.linalg.matrix_rank(noisy) == 20
    assert np.linalg.norm(noisy - target_update(W0, 4, norm=0.4, rng=1), 2) == pytest.approx(0.15, rel=1e-8)
    basis = np.linalg.qr(np.random.default_rng(3).standard_normal((25, 25)))[0]
    aligned = target_update(W0, 2, alignment=1.0, align_with="input", input_basis=basis, rng=4)
    Vt = np.linalg.svd(aligned)[2][:2]
    assert np.linalg.norm(basis[:, :2].T @ Vt.T) ** 2 / 2 == pytest.approx(1.0)


def test_input_covariance():
    S = input_covariance(6, "anisotropic", decay=2.0, rng=0)
    lam = np.sort(np.linalg.eigvalsh(S))[::-1]
    np.testing.assert_allclose(lam / lam[0], np.arange(1, 7) ** -2.0, rtol=1e-10)
    assert np.trace(S) == pytest.approx(6.0)
    np.testing.assert_array_equal(input_covariance(3), np.eye(3))


def test_forgetting_is_the_expected_squared_change_on_pretraining_inputs(xp):
    model = linear(6, 4)
    sigma = input_covariance(6, "anisotropic", decay=1.0, rng=0)
    task = make_task(model, {"W": to_xp(xp, np.ones((4, 6)))}, {}, n_train=3, sigma_pre=sigma, n_source=20000,
                     rng=1)
    dW = np.random.default_rng(2).standard_normal((4, 6))
    W = {"W": task.W0["W"] + to_xp(xp, dW)}
    exact = float(forgetting(model, task, W))
    assert exact == pytest.approx(np.trace(dW @ sigma @ dW.T), rel=1e-10)
    Xs = backend.to_numpy(task.X_source)
    monte_carlo = np.mean(np.sum((Xs @ dW.T) ** 2, axis=1))
    assert monte_carlo == pytest.approx(exact, rel=0.05)


def test_forgetting_of_deep_linear_and_mlp():
    deep = deep_linear((5, 4, 3))
    task = synthetic_task(deep, rank=1, n_train=4, rng=0)
    assert float(forgetting(deep, task, task.W0)) == 0.0
    moved = dict(task.W0, W2=task.W0["W2"] * 2.0)
    M0 = task.W0["W2"] @ task.W0["W1"]
    assert float(forgetting(deep, task, moved)) == pytest.approx(np.sum(M0 * M0))  # Sigma_pre = I
    net = mlp(5, 6, 2)
    task = synthetic_task(net, rank=1, n_train=4, target_layers=("W1",), rng=0)
    assert float(forgetting(net, task, task.W0)) == 0.0  # the pretrained net is its own teacher
    assert float(forgetting(net, task, task.target_weights)) > 0.0


def test_teacher_labels_and_cross_entropy_tasks(xp):
    task = linear_task(8, rank=2, n_train=10, rng=0, xp=xp)
    W = backend.to_numpy(task.target_weights["W"])
    assert_close(task.Y_train, backend.to_numpy(task.X_train) @ W.T, rtol=1e-12, xp=xp)
    ce = synthetic_task(mlp(4, 5, 3, loss="cross_entropy"), rank=1, n_train=20, rng=0, xp=xp)
    Y = backend.to_numpy(ce.Y_train)
    assert set(np.unique(Y)) <= {0.0, 1.0} and np.all(Y.sum(axis=1) == 1)
    assert ce.X_source.shape == (1000, 4)


def test_same_seed_same_task_on_every_backend(xp):
    ours = linear_task(10, rank=2, n_train=6, inputs="anisotropic", rng=5, xp=xp)
    ref = linear_task(10, rank=2, n_train=6, inputs="anisotropic", rng=5)
    for name in ("X_train", "Y_train", "X_test"):
        assert_close(getattr(ours, name), getattr(ref, name), rtol=1e-12, xp=xp)
    assert_close(ours.delta_star["W"], ref.delta_star["W"], rtol=1e-12, xp=xp)


def test_minimum_norm_update_fits_the_data_inside_its_row_span(xp):
    task = linear_task(12, rank=3, n_train=5, rng=0, xp=xp)
    dW = minimum_norm_update(task)
    W = task.W0["W"] + dW
    assert float(linear(12, 12).loss({"W": W}, task.X_train, task.Y_train)) < 1e-25
    assert float(row_space_residual(dW, task.X_train)) < 1e-12
    assert float(row_space_residual(task.delta_star["W"], task.X_train)) > 0.1  # the target is not


def test_task_sequence_shares_w0():
    tasks = task_sequence(linear(6, 6), 3, rank=1, n_train=4, rng=0)
    assert all(t.W0["W"] is tasks[0].W0["W"] for t in tasks)
    assert not np.allclose(tasks[0].delta_star["W"], tasks[1].delta_star["W"])
    again = task_sequence(linear(6, 6), 3, rank=1, n_train=4, rng=0)
    np.testing.assert_array_equal(again[2].X_train, tasks[2].X_train)


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="spectrum must be one of"):
        pretrained_weights(4, 4, spectrum="flat")
    with pytest.raises(ValueError, match="sigma1 must be"):
        pretrained_weights(4, 4, sigma1=0.0)
    with pytest.raises(ValueError, match="n_top must be in"):
        spectrum_values(4, "gapped", n_top=9)
    W0 = pretrained_weights(6, 6, rng=0)
    with pytest.raises(ValueError, match=r"rank must be in \[1, min\(m, n\)=6\], got 7"):
        target_update(W0, 7)
    with pytest.raises(ValueError, match="alignment must be"):
        target_update(W0, 2, alignment=1.5)
    with pytest.raises(ValueError, match="needs input_basis"):
        target_update(W0, 2, alignment=0.5, align_with="input")
    with pytest.raises(ValueError, match="W0 must be finite"):
        target_update(np.full((3, 3), np.nan), 1)
    with pytest.raises(ValueError, match="n_train must be in"):
        linear_task(4, n_train=0)
    with pytest.raises(ValueError, match="target_layers must name"):
        synthetic_task(mlp(3, 3, 2), target_layers=("b1",), rng=0)
    with pytest.raises(ValueError, match="sigma_pre must be a symmetric"):
        make_task(linear(3, 2), {"W": np.zeros((2, 3))}, {}, n_train=2, sigma_pre=np.ones((2, 2)))
    with pytest.raises(ValueError, match="needs source samples"):
        forgetting(mlp(3, 3, 2), make_task(mlp(3, 3, 2), mlp(3, 3, 2).init_weights(0), {}, n_train=2),
                   mlp(3, 3, 2).init_weights(0))
    with pytest.raises(ValueError, match="linear-layer task"):
        minimum_norm_update(synthetic_task(mlp(3, 3, 2), rank=1, n_train=2, rng=0))
