"""Export of trained adapters in PEFT's format: written with safetensors, read back, merged, same update."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lowrank_lab import spectral
from lowrank_lab.adapters import (
    adam,
    corda,
    deep_linear,
    dora,
    dylora,
    eva,
    finetune,
    full,
    linear,
    linear_task,
    loldu,
    lora,
    lora_sb,
    lora_xs,
    maestro,
    nola,
    orthogonal_lora,
    peft_factors,
    pissa,
    randlora,
    rslora,
    svfit,
    synthetic_task,
    to_peft,
    vera,
)
from lowrank_lab.datasets import load_peft_adapter, read_safetensors

TASK = linear_task(10, 8, rank=2, n_train=64, rng=0)
W0 = TASK.W0["W"]


def _exportable():
    X, G = TASK.X_train, np.sign(np.random.default_rng(1).standard_normal(W0.shape))
    return {
        "lora": lora(3, alpha=6.0), "rslora": rslora(3), "pissa": pissa(3), "lora_xs": lora_xs(3), "vera": vera(4),
        "nola": nola(2, 6), "randlora": randlora(4), "svfit": svfit(4), "loldu": loldu(3), "orthogonal": orthogonal_lora(2),
        "lora_sb": lora_sb(2, G), "eva": eva(2, X), "corda": corda(2, X.T @ X / 64), "dylora": dylora(3),
        "maestro": maestro(3),
    }


def _trained(adapter):
    res = finetune(linear(10, 8), TASK, adapter, adam(0.01), steps=15, diagnostics="none", rng=2)
    return res.state


@pytest.mark.parametrize("name", list(_exportable()))
def test_round_trip_gives_the_same_update(tmp_path, name):
    adapter = _exportable()[name]
    state = _trained({"W": adapter})
    to_peft(state, {"W": adapter}, tmp_path, dtype=None, base_model_name_or_path="toy")
    loaded = load_peft_adapter(tmp_path)
    merged = spectral.merge_adapter({"W.weight": W0}, loaded, dtype=None)
    layer_state = state.__class__({k[2:]: v for k, v in state.params.items()},
                                  {k[2:]: v for k, v in state.frozen.items()})
    expected = adapter.delta(layer_state)
    assert np.abs(merged["W.weight"] - W0 - expected).max() <= 1e-12 * max(1.0, np.abs(expected).max())
    assert float(np.abs(expected).max()) > 0  # training moved something
    # PEFT's layout: the keys, the config
    tensors = read_safetensors(tmp_path / "adapter_model.safetensors")
    assert sorted(tensors) == ["base_model.model.W.lora_A.weight", "base_model.model.W.lora_B.weight"]
    cfg = json.loads((tmp_path / "adapter_config.json").read_text())
    assert cfg["peft_type"] == "LORA" and cfg["base_model_name_or_path"] == "toy" and not cfg["use_dora"]


def test_float32_storage_and_several_layers_with_rank_and_alpha_patterns(tmp_path):
    model = deep_linear((6, 7, 5))
    task = synthetic_task(model, rank=1, n_train=32, rng=0)
    adapters = {"W1": pissa(2, alpha=4.0), "W2": lora(3, alpha=5.0)}
    res = finetune(model, task, adapters, adam(0.01), steps=10, diagnostics="none", rng=0)
    names = {"W1": "encoder.layer.0.dense", "W2": "encoder.layer.1.dense"}
    to_peft(res.state, adapters, tmp_path, module_names=names)
    loaded = load_peft_adapter(tmp_path)
    assert loaded.modules["encoder.layer.0.dense"].rank == 4  # PiSSA exports [B, -B0] [A; A0]
    assert loaded.modules["encoder.layer.1.dense"].rank == 3
    base = {f"{names[k]}.weight": task.W0[k] for k in adapters}
    merged = spectral.merge_adapter(base, loaded, dtype=None)
    for k in adapters:
        got = merged[f"{names[k]}.weight"] - task.W0[k]
        assert np.allclose(got, res.weights[k] - task.W0[k], atol=1e-6)  # float32 storage


def test_adapters_without_a_lora_form_need_a_rank(tmp_path):
    for adapter in (full(), dora(2)):
        res = finetune(linear(10, 8), TASK, adapter, adam(0.01), steps=10, diagnostics="none", rng=0)
        with pytest.raises(ValueError, match="pass rank="):
            to_peft(res.state, {"W": adapter}, tmp_path)
        to_peft(res.state, {"W": adapter}, tmp_path, rank=2, dtype=None)
        dW = res.weights["W"] - W0
        U, S, Vt = np.linalg.svd(dW)
        assert np.allclose(load_peft_adapter(tmp_path).delta("W"), (U[:, :2] * S[:2]) @ Vt[:2], atol=1e-12)
    B, A, s = peft_factors(full(), res.state.__class__({"delta": dW}, {}), rank=1)
    assert B.shape == (8, 1) and s == 1.0


def test_to_peft_bad_input(tmp_path):
    state = lora(2).init(W0, 0)
    with pytest.raises(TypeError, match="adapters must be"):
        to_peft(state, [lora(2)], tmp_path)
    with pytest.raises(ValueError, match="no entry for layer"):
        to_peft({"W2": state}, {"W": lora(2)}, tmp_path)
    with pytest.raises(ValueError, match="at least one"):
        to_peft(state, {"W": None}, tmp_path)
    with pytest.raises(TypeError, match="mapping layer -> Adapter"):
        from lowrank_lab.adapters import per_layer
        to_peft(state, per_layer({"W": lora(2)}), tmp_path)
