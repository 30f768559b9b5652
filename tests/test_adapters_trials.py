"""Trials of notebook 05 (small sizes): what they return and the phenomena they are built on."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from lowrank_lab.adapters import trials as T

SMALL = {"n": 16, "task_rank": 2, "n_train": 6, "max_steps": 400}


def test_make_adapter_and_base_learning_rate():
    assert T.make_adapter("full", 4).name == "full"
    assert T.make_adapter("lora", 4).config["scale"] == 2.0
    assert T.make_adapter("rslora", 4).config["scale"] == 4.0
    assert T.make_adapter("lora_2r", 32).config["scale"] == 2.0
    assert "A" in T.make_adapter("b_only", 4).init(np.zeros((8, 8)), 0).frozen
    # the first LoRA step moves dW like full fine-tuning at the base rate: lr s^2 (1 + sqrt(r/n))^2 / 3 = 0.2
    for method in ("lora", "rslora", "lora_2r"):
        s = T.make_adapter(method, 8).config["scale"]
        assert T.base_learning_rate(method, 8, 64) * s**2 * (1 + (8 / 64) ** 0.5) ** 2 / 3 == pytest.approx(0.2)
    with pytest.raises(ValueError, match="method must be one of"):
        T.make_adapter("dora", 4)


def test_finetune_trial_is_paired_across_methods_and_reaches_the_matched_loss():
    full = T.finetune_trial(method="full", rank=16, lr_multiplier=1.0, seed=3, **SMALL)
    lora = T.finetune_trial(method="lora", rank=4, lr_multiplier=1.0, seed=3, **SMALL)
    for row in (full, lora):
        assert row["converged"] and row["train_loss_ratio"] <= 1e-3
        assert set(row) >= {"lr", "steps", "forgetting", "intruders_eps0.5", "reference_cosine", "off_span_fraction"}
    assert full["off_span_fraction"] < 1e-10 < lora["off_span_fraction"]  # the data-span mechanism
    assert full["reference_cosine"] == pytest.approx(1.0, abs=1e-3)
    assert lora["forgetting"] > full["forgetting"]
    again = T.finetune_trial(method="lora", rank=4, lr_multiplier=1.0, seed=3, **SMALL)
    assert again == lora
    diverged = T.finetune_trial(method="full", rank=16, lr_multiplier=64.0, seed=3, **SMALL)
    assert diverged["stop_reason"] == "diverged" and not diverged["converged"]


def test_sequential_and_intervention_trials():
    seq = T.sequential_trial(method="full", rank=16, lr=0.15, seed=0, n_tasks=3, **SMALL)
    assert list(seq["task"]) == [1, 2, 3] and seq["converged"].all()
    assert seq["delta_norm"].iloc[-1] > seq["delta_norm"].iloc[0]  # merged updates accumulate
    low = T.sequential_trial(method="lora", rank=2, lr=0.03, seed=0, n_tasks=3, **SMALL)
    assert low["converged"].iloc[0] and not low["converged"].iloc[-1]  # rank 2 cannot fix the earlier errors too
    iv = T.intervention_trial(method="lora", rank=4, lr=0.1, seed=0, lambdas=(1.0, 0.0), **SMALL)
    assert set(iv["variant"]) == {"merged", "retruncated"}
    merged = iv[iv.variant == "merged"].set_index("lam")
    assert merged.loc[1.0, "progress_lost"] == pytest.approx(0.0, abs=1e-12)
    if merged.loc[0.0, "n_intruders"]:
        assert merged.loc[0.0, "progress_lost"] > 0
    full = T.intervention_trial(method="full", rank=4, lr=0.15, seed=0, lambdas=(1.0,), **SMALL)
    assert list(full["variant"]) == ["merged"]


def test_lora_similarity_trial_and_rank_one_toy():
    df = T.lora_similarity_trial(seed=0, n=24, n_train=64, ranks=(1, 4), pair=(2, 8), steps=150, top=3)
    amp = df[df.kind == "amplification"]
    assert list(amp["rank"]) == [1, 4] and (amp["amplification"] > 0).all()
    pair = df[df.kind == "phi_pair"].iloc[0]
    assert 0 <= pair["phi_11"] <= 1
    seeds = df[df.kind == "phi_seeds"]
    assert list(seeds["i"]) == [1, 2, 3]
    np.testing.assert_allclose(seeds["phi_expected"], [1 / 24, 2 / 24, 3 / 24])
    big = T.rank_one_toy(lam_over_sigma1=1.5, seed=0, n=48)
    small = T.rank_one_toy(lam_over_sigma1=0.01, seed=0, n=48)
    assert small["intruders_eps0.5"] == 0 and big["intruders_eps0.9"] >= 1
    assert isinstance(pd.DataFrame([big]), pd.DataFrame)


def test_trials_are_picklable_module_functions():
    for fn in (T.finetune_trial, T.sequential_trial, T.intervention_trial, T.lora_similarity_trial, T.rank_one_toy):
        assert pickle.loads(pickle.dumps(fn)) is fn


def test_bad_trial_arguments():
    with pytest.raises(ValueError, match="lr_multiplier must be"):
        T.finetune_trial(method="lora", rank=4, lr_multiplier=0.0, seed=0, **SMALL)
    with pytest.raises(ValueError, match="rank must be in"):
        T.finetune_trial(method="lora", rank=99, lr_multiplier=1.0, seed=0, **SMALL)
    with pytest.raises(ValueError, match="matched_loss must be"):
        T.finetune_trial(method="lora", rank=4, lr_multiplier=1.0, seed=0, matched_loss=2.0, **SMALL)
    with pytest.raises(ValueError, match="lam_over_sigma1 must be"):
        T.rank_one_toy(lam_over_sigma1=-1.0, seed=0)
