"""Trials of notebook 06: exact data compression, sufficient rows, and small runs of every trial."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lowrank_lab import backend
from lowrank_lab.adapters import adam, finetune, linear, linear_task
from lowrank_lab.adapters import family_trials as T


def test_compress_task_keeps_the_loss_and_the_gradient():
    task = T.compress_task(linear_task(6, 5, rank=2, n_train=300, rng=0))
    raw = linear_task(6, 5, rank=2, n_train=300, rng=0)
    model = linear(6, 5)
    W = {"W": np.random.default_rng(1).standard_normal((5, 6))}
    l1, g1 = model.loss_and_grads(W, raw.X_train, raw.Y_train)
    l2, g2 = model.loss_and_grads(W, task.X_train, task.Y_train)
    assert task.X_train.shape == (6, 6)
    assert np.isclose(l1, l2) and np.allclose(g1["W"], g2["W"])
    small = linear_task(6, rank=2, n_train=4, rng=0)
    assert T.compress_task(small) is small  # nothing to compress


def test_sufficient_rows_have_the_law_of_the_compressed_data():
    gen = np.random.default_rng(0)
    n, N = 5, 400
    cov = np.diag([4.0, 2.0, 1.0, 0.5, 0.25])
    draws = np.stack([T.sufficient_rows(n, N, gen, cov) for _ in range(400)])
    second = np.einsum("kij,kil->kjl", draws, draws) / n  # X'^T X' / n per draw
    assert np.allclose(second.mean(axis=0), cov, atol=0.05)  # E X^T X / N = Sigma
    # the fluctuation of a diagonal entry matches the Wishart variance 2 Sigma_jj^2 / N
    assert np.isclose(second[:, 0, 0].var(), 2 * 16.0 / N, rtol=0.3)


def test_targets_have_unit_norm_and_the_requested_spectrum():
    gen = np.random.default_rng(0)
    for target, rank in (("low_rank", 4), ("flat", 16), ("power_law", 16)):
        D = T.f2_target(16, target, gen, beta=1.0)
        s = np.linalg.svd(D, compute_uv=False)
        assert np.isclose(np.linalg.norm(D), 1.0) and int((s > 1e-10).sum()) == rank
    s = np.linalg.svd(T.f2_target(16, "power_law", gen, beta=2.0), compute_uv=False)
    assert np.allclose(s[1:4] / s[0], np.arange(2, 5) ** -2.0)
    W0 = np.diag(3.0 / np.arange(1, 13))
    D0 = T.rotated_target(W0, 0.0, gen, rank=3)
    assert np.allclose(D0, np.diag(np.r_[0.3 * 3.0 / np.arange(1, 4), np.zeros(9)]))  # a pure rescaling
    D90 = T.rotated_target(W0, 90.0, gen, rank=3)
    assert np.abs(D90[:6, :]).max() < 1e-12 and np.abs(D90[:, :6]).max() < 1e-12  # outside the top 2r


@pytest.mark.parametrize("method", T.F2_METHODS)
def test_every_family_adapter_trains_on_a_small_task(method):
    row = T.f2_trial(method=method, size=4 if method != "nola" else 32, target="power_law", lr=0.03, seed=0,
                     n=8, n_samples=64, steps=20)
    assert row["stop_reason"] == "max_iter" and math.isfinite(row["rel_error"]) and row["num_params"] > 0


def test_the_other_trials_return_their_rows():
    fb = T.fixed_basis_trial(method="svfit", theta=0.0, lr=0.1, seed=0, rank=2, n=8, n_samples=64, steps=100)
    assert fb["rel_error"] < 0.05  # SVFit fits a pure rescaling
    init = T.init_trial(method="eva", align_with="input", alignment=1.0, lr=0.03, seed=0, rank=2, n=8,
                        n_samples=20000, steps=10, record_every=5)
    assert list(init.iteration) == [0, 5, 10] and init.alignment_A.iloc[0] > 0.95  # EVA starts on the input PCs
    cor = T.corda_trial(method="corda_kpm", lr=0.03, seed=0, rank=2, n=8, n_samples=6, steps=10, record_every=5)
    assert {"loss_ratio", "forgetting"} <= set(cor.columns) and cor.forgetting.iloc[0] == 0.0
    pro = T.lora_pro_trial(method="lora_pro", lr=0.3, seed=0, rank=2, n=8, n_samples=64, task_rank=2,
                           max_steps=200, record_every=10)
    assert pro.converged.iloc[0] and pro.steps.iloc[0] < 200
    pro = T.lora_pro_trial(method="lora_pro", lr=0.1, seed=0, rank=2, n=8, n_samples=64, task_rank=4,
                           max_steps=30, record_every=5, matched_loss=1e-12)  # rank-4 target: the minimum is not 0
    assert pro.minimum.iloc[1:].min() > 0.01 and np.allclose(pro.residual, pro.minimum, atol=1e-8)
    al = T.allora_trial(method="allora", p=0.0, lr=0.3, steps=50, seed=0)
    assert al["loss_ratio"] < 0.5 and math.isfinite(al["escape_step"])
    with pytest.raises(ValueError, match="ALLoRA removes dropout"):
        T.allora_run(method="allora", p=0.1, lr=0.1, steps=5, seed=0)
    od = T.ordered_trial(method="maestro", seed=0, rank=4, n=8, n_samples=256, lr=0.03, steps=300)
    assert list(od.b) == [1, 2, 3, 4] and od.trunc_error.iloc[-1] < 1.5 * od.floor.iloc[-1] + 1e-3


def test_trials_are_reproducible_and_paired():
    a = T.f2_trial(method="lora", size=2, target="flat", lr=0.03, seed=3, n=8, n_samples=64, steps=10)
    b = T.f2_trial(method="lora", size=2, target="flat", lr=0.03, seed=3, n=8, n_samples=64, steps=10)
    assert a == b
    streams = backend.trial_streams(3, "task", "method")
    task, _, _ = T.regression_task(T.f2_target(8, "flat", streams.task), streams.task, n_samples=64)
    res = finetune(linear(8, 8), task, T.family_adapter("full", 8, task), adam(0.1), steps=50, diagnostics="none")
    assert T.relative_error(task, res.weights) < 0.05
    with pytest.raises(ValueError, match="raw samples"):
        T.family_adapter("lora_sb", 2, task)
