"""PEFT LoRA checkpoints: ``adapter_config.json`` + ``adapter_model.safetensors``, read and written without PEFT.

The layout is that of Hugging Face PEFT (Mangrulkar et al. 2022) for ``LoraConfig``:

* ``adapter_config.json`` holds ``peft_type = "LORA"``, ``r``, ``lora_alpha``,
  ``use_rslora``, ``target_modules``, ``fan_in_fan_out``, ``rank_pattern``,
  ``alpha_pattern``, ... ;
* ``adapter_model.safetensors`` holds, per adapted module ``M`` (its name in the
  base model), ``base_model.model.M.lora_A.weight`` (``r x in``) and
  ``base_model.model.M.lora_B.weight`` (``out x r``); embeddings use
  ``lora_embedding_A`` (``r x num_embeddings``) and ``lora_embedding_B``
  (``dim x r``).

The update of module ``M`` is ``dW = s * B @ A`` with ``s = lora_alpha / r``, or
``lora_alpha / sqrt(r)`` with ``use_rslora`` (Kalajdzievski 2023), ``r`` and
``lora_alpha`` taken from ``rank_pattern`` / ``alpha_pattern`` when a pattern
matches ``M`` (PEFT's rule: the pattern matches the end of the name at a dot).
It is transposed for ``fan_in_fan_out`` layers (GPT-2's ``Conv1D``) and for
embeddings, so that ``dW`` always has the shape of the stored base weight.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._weights import _natural_key, read_safetensors

__all__ = ["LoraModule", "PeftAdapter", "load_peft_adapter", "save_peft_adapter"]

CONFIG_NAME = "adapter_config.json"
WEIGHTS_NAME = "adapter_model.safetensors"
_PREFIX = "base_model.model."
_KEY = re.compile(r"^(?P<module>.+)\.lora_(?P<embedding>embedding_)?(?P<side>[AB])(?:\.(?P<adapter>[^.]+))?(?:\.weight)?$")
_FLOAT_KINDS = (np.float16, np.float32, np.float64)


@dataclass(frozen=True)
class LoraModule:
    """One adapted module of a PEFT LoRA checkpoint (host arrays).

    Attributes
    ----------
    name : str
        Module name in the base model (``encoder.layer.0.attention.self.query``).
    A : numpy.ndarray, shape (r, in)
    B : numpy.ndarray, shape (out, r)
    rank : int
    alpha : float
        ``lora_alpha`` of this module (after ``alpha_pattern``).
    scaling : float
        ``alpha / rank``, or ``alpha / sqrt(rank)`` with rsLoRA.
    transpose : bool
        ``dW = (s B A)^T`` (``fan_in_fan_out`` layers and embeddings).
    """

    name: str
    A: np.ndarray
    B: np.ndarray
    rank: int
    alpha: float
    scaling: float
    transpose: bool = False

    @property
    def shape(self) -> tuple[int, int]:
        """Shape of ``dW`` (that of the base weight it updates)."""
        out, inp = self.B.shape[0], self.A.shape[1]
        return (inp, out) if self.transpose else (out, inp)

    def delta(self) -> np.ndarray:
        """The update ``dW = scaling * B @ A`` in float64 (transposed if ``transpose``)."""
        d = self.scaling * (self.B.astype(np.float64) @ self.A.astype(np.float64))
        return d.T.copy() if self.transpose else d


@dataclass(frozen=True)
class PeftAdapter:
    """A PEFT LoRA checkpoint (see :func:`load_peft_adapter`).

    Attributes
    ----------
    config : dict
        The ``adapter_config.json`` contents.
    modules : dict
        Module name -> :class:`LoraModule`, in natural name order.
    path : pathlib.Path or None
        Directory read from.
    ignored_keys : tuple of str
        Tensors of the file that are not LoRA factors (``modules_to_save``
        copies, trained biases), kept out of ``dW``.
    """

    config: dict
    modules: dict
    path: Path | None = None
    ignored_keys: tuple = field(default=())

    @property
    def use_rslora(self) -> bool:
        return bool(self.config.get("use_rslora", False))

    def delta(self, module: str) -> np.ndarray:
        """``dW`` of one module (float64, the shape of the base weight)."""
        return self.modules[module].delta()

    def match(self, base_names: Any) -> dict[str, str]:
        """Base tensor name updated by each module: ``{module: base_name}``.

        ``M.weight`` if the base has it; otherwise the unique base weight whose name
        and ``M.weight`` agree after dropping leading components (a task model's
        ``bert.encoder...`` against a bare ``encoder...`` checkpoint, or the reverse).

        Raises
        ------
        KeyError
            Naming the adapter file and the module, if no base tensor or several match.
        """
        names = list(base_names)
        present = set(names)
        where = self.path / WEIGHTS_NAME if self.path is not None else WEIGHTS_NAME
        out = {}
        for module in self.modules:
            target = f"{module}.weight"
            if target in present:
                out[module] = target
                continue
            found = [n for n in names if n.endswith(".weight")
                     and (target.endswith("." + n) or n.endswith("." + target))]
            if len(found) != 1:
                why = "no base tensor" if not found else f"{len(found)} base tensors ({found[:4]})"
                raise KeyError(f"{where}: module {module!r} ({_PREFIX}{module}.lora_A.weight) matches {why}; "
                               f"expected {target!r}")
            out[module] = found[0]
        return out


def _pattern_value(patterns: Mapping[str, Any], module: str, default: Any) -> Any:
    """PEFT's ``get_pattern_key``: the first pattern matching the end of ``module`` at a dot boundary."""
    for key, value in patterns.items():
        if re.match(rf"(.*\.)?{key}$", module):
            return value
    return default


def _scaling(alpha: float, rank: int, rslora: bool) -> float:
    return alpha / math.sqrt(rank) if rslora else alpha / rank


def _check_config(config: Any, where: Path | str) -> dict:
    if not isinstance(config, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(config).__name__}")
    peft_type = config.get("peft_type", "LORA")
    if str(peft_type).upper() != "LORA":
        raise ValueError(f"{where}: key 'peft_type' must be 'LORA', got {peft_type!r}")
    for key in ("r", "lora_alpha"):
        if key not in config:
            raise ValueError(f"{where}: key {key!r} is missing")
    r = config["r"]
    if isinstance(r, bool) or not isinstance(r, int) or r < 1:
        raise ValueError(f"{where}: key 'r' must be a positive integer, got {r!r}")
    alpha = config["lora_alpha"]
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not math.isfinite(alpha) or alpha <= 0:
        raise ValueError(f"{where}: key 'lora_alpha' must be a positive number, got {alpha!r}")
    for key in ("use_rslora", "fan_in_fan_out", "use_dora"):
        if not isinstance(config.get(key, False), bool):
            raise ValueError(f"{where}: key {key!r} must be true or false, got {config[key]!r}")
    if config.get("use_dora", False):
        raise ValueError(f"{where}: key 'use_dora' is true; DoRA's magnitude rescaling is not a LoRA merge "
                         "and is not supported")
    for key in ("rank_pattern", "alpha_pattern"):
        value = config.get(key) or {}
        if not isinstance(value, dict):
            raise ValueError(f"{where}: key {key!r} must be an object, got {value!r}")
    return config


def load_peft_adapter(directory: str | Path) -> PeftAdapter:
    """Read a PEFT LoRA checkpoint directory (``adapter_config.json`` + ``adapter_model.safetensors``).

    Checks, each failure naming the file and the key: the config has ``r`` (a
    positive integer) and ``lora_alpha`` (a positive number), ``peft_type`` is
    LoRA and DoRA is off; every module has both ``lora_A`` and ``lora_B``; they are
    2-D, floating (F16, BF16, F32 or F64), finite, and agree on the rank
    (``A.shape[0] == B.shape[1]``), which equals ``r`` (or the module's
    ``rank_pattern`` entry).  Shapes against a base model are checked when the
    adapter is merged (:func:`lowrank_lab.spectral.merge_adapter`).  Keys written
    with an adapter name (``lora_A.default.weight``) are accepted.

    Parameters
    ----------
    directory : path

    Returns
    -------
    PeftAdapter

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> A, B = np.ones((2, 4)), np.ones((3, 2))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = save_peft_adapter(d, {"layer.0.query": (A, B)}, {"r": 2, "lora_alpha": 4})
    ...     adapter = load_peft_adapter(d)
    >>> adapter.modules["layer.0.query"].scaling, float(adapter.delta("layer.0.query")[0, 0])
    (2.0, 4.0)
    """
    directory = Path(directory)
    config_file, weights_file = directory / CONFIG_NAME, directory / WEIGHTS_NAME
    if not directory.is_dir():
        raise FileNotFoundError(f"no adapter directory at {directory}")
    if not config_file.is_file():
        raise FileNotFoundError(f"{config_file} is missing (a PEFT checkpoint has {CONFIG_NAME} and {WEIGHTS_NAME})")
    if not weights_file.is_file():
        bin_file = directory / "adapter_model.bin"
        hint = f" ({bin_file.name} needs PyTorch: save it as safetensors)" if bin_file.is_file() else ""
        raise FileNotFoundError(f"{weights_file} is missing{hint}")
    try:
        config = json.loads(config_file.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{config_file}: not valid JSON ({exc})") from None
    config = _check_config(config, config_file)
    tensors = read_safetensors(weights_file)

    factors: dict[str, dict[str, tuple[str, np.ndarray]]] = {}
    embedding: dict[str, bool] = {}
    ignored = []
    for key, value in tensors.items():
        m = _KEY.match(key)
        if m is None:
            ignored.append(key)
            continue
        module = m["module"].removeprefix(_PREFIX)
        factors.setdefault(module, {})[m["side"]] = (key, value)
        embedding[module] = embedding.get(module, False) or bool(m["embedding"])
    if not factors:
        raise ValueError(f"{weights_file}: no '...lora_A.weight' / '...lora_B.weight' keys "
                         f"(found {list(tensors)[:5]})")

    r0, alpha0 = int(config["r"]), float(config["lora_alpha"])
    rslora = bool(config.get("use_rslora", False))
    fan_in_fan_out = bool(config.get("fan_in_fan_out", False))
    modules = {}
    for module in sorted(factors, key=_natural_key):
        sides = factors[module]
        for side, other in (("A", "B"), ("B", "A")):
            if side not in sides:
                have = sides[other][0]
                missing = have.replace(f"lora_{other}", f"lora_{side}").replace(
                    f"lora_embedding_{other}", f"lora_embedding_{side}")
                raise ValueError(f"{weights_file}: key {missing!r} is missing (found {have!r})")
        (key_a, A), (key_b, B) = sides["A"], sides["B"]
        for key, arr in ((key_a, A), (key_b, B)):
            if arr.ndim != 2:
                raise ValueError(f"{weights_file}: key {key!r} must be 2-D, got shape {arr.shape}")
            if arr.dtype not in _FLOAT_KINDS:
                raise ValueError(f"{weights_file}: key {key!r} has dtype {arr.dtype}; LoRA factors must be "
                                 "floating (F16, BF16, F32 or F64)")
            if not np.all(np.isfinite(arr)):
                bad = int(np.count_nonzero(~np.isfinite(arr)))
                raise ValueError(f"{weights_file}: key {key!r} has {bad} NaN or infinite value(s)")
        if A.shape[0] != B.shape[1]:
            raise ValueError(f"{weights_file}: shape mismatch in module {module!r}: {key_a!r} has shape "
                             f"{A.shape} (rank {A.shape[0]}) but {key_b!r} has shape {B.shape} (rank {B.shape[1]})")
        rank = int(_pattern_value(config.get("rank_pattern") or {}, module, r0))
        if A.shape[0] != rank:
            raise ValueError(f"{weights_file}: key {key_a!r} has rank {A.shape[0]} (shape {A.shape}) but "
                             f"{config_file.name} gives r={rank} for module {module!r}")
        alpha = float(_pattern_value(config.get("alpha_pattern") or {}, module, alpha0))
        is_embedding = embedding[module]
        modules[module] = LoraModule(module, A, B, rank, alpha, _scaling(alpha, rank, rslora),
                                     transpose=is_embedding or fan_in_fan_out)
    return PeftAdapter(config, modules, directory, tuple(ignored))


def _peft_defaults(r: int, alpha: float) -> dict:
    return {
        "peft_type": "LORA", "task_type": None, "inference_mode": True, "base_model_name_or_path": None,
        "revision": None, "r": r, "lora_alpha": alpha, "lora_dropout": 0.0, "use_rslora": False,
        "target_modules": None, "fan_in_fan_out": False, "bias": "none", "modules_to_save": None,
        "init_lora_weights": True, "layers_to_transform": None, "layers_pattern": None, "rank_pattern": {},
        "alpha_pattern": {}, "use_dora": False,
    }


def save_peft_adapter(
    directory: str | Path,
    factors: Mapping[str, Any],
    config: Mapping[str, Any],
    *,
    dtype: Any = np.float32,
) -> Path:
    """Write LoRA factors as a PEFT checkpoint (``adapter_config.json`` + ``adapter_model.safetensors``).

    Parameters
    ----------
    directory : path
        Created if needed; existing adapter files are replaced.
    factors : mapping
        Module name (in the base model, e.g. ``encoder.layer.0.attention.self.query``)
        -> ``(A, B)`` with ``A`` of shape ``(r, in)`` and ``B`` of shape ``(out, r)``
        (host arrays or anything ``numpy.asarray`` takes), or a :class:`LoraModule`.
        The update PEFT applies is ``scaling * B @ A``.
    config : mapping
        At least ``r`` and ``lora_alpha``; any other ``LoraConfig`` field
        (``use_rslora``, ``target_modules``, ``base_model_name_or_path``, ...).
        Missing fields get PEFT's defaults; ``target_modules`` defaults to the
        sorted last name components of the modules; modules whose rank differs
        from ``r`` are recorded in ``rank_pattern``.
    dtype : NumPy float dtype or None, default float32
        Storage dtype (PEFT stores float32 by default); ``None`` keeps each array's.

    Returns
    -------
    pathlib.Path
        ``directory``.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> with tempfile.TemporaryDirectory() as d:
    ...     out = save_peft_adapter(d, {"q": (np.ones((1, 3)), np.ones((2, 1)))}, {"r": 1, "lora_alpha": 1})
    ...     sorted(p.name for p in out.iterdir())
    ['adapter_config.json', 'adapter_model.safetensors']
    """
    from safetensors.numpy import save_file  # noqa: PLC0415

    directory = Path(directory)
    if "r" not in config or "lora_alpha" not in config:
        raise ValueError(f"config must give 'r' and 'lora_alpha', got keys {sorted(config)}")
    full = _peft_defaults(int(config["r"]), config["lora_alpha"])
    full.update(dict(config))
    full = _check_config(full, "config")
    if not factors:
        raise ValueError("factors must hold at least one module, got none")
    tensors: dict[str, np.ndarray] = {}
    rank_pattern = dict(full.get("rank_pattern") or {})
    for module, value in factors.items():
        if not isinstance(module, str) or not module or module.startswith(".") or module.endswith("."):
            raise ValueError(f"factors keys must be module names such as 'encoder.layer.0.query', got {module!r}")
        A, B = (value.A, value.B) if isinstance(value, LoraModule) else value
        A, B = np.asarray(A), np.asarray(B)
        if A.ndim != 2 or B.ndim != 2 or A.shape[0] != B.shape[1]:
            raise ValueError(f"factors[{module!r}] must be (A (r x in), B (out x r)) with matching r, got shapes "
                             f"{A.shape} and {B.shape}")
        for side, arr in (("A", A), ("B", B)):
            if not np.issubdtype(arr.dtype, np.floating):
                raise ValueError(f"factors[{module!r}] {side} must be floating, got dtype {arr.dtype}")
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"factors[{module!r}] {side} must be finite, got NaN or infinite values")
        if A.shape[0] != full["r"] and _pattern_value(rank_pattern, module, full["r"]) != A.shape[0]:
            rank_pattern[module] = int(A.shape[0])
        cast = (lambda a: np.ascontiguousarray(a)) if dtype is None else (lambda a: np.ascontiguousarray(a, dtype=dtype))
        tensors[f"{_PREFIX}{module}.lora_A.weight"] = cast(A)
        tensors[f"{_PREFIX}{module}.lora_B.weight"] = cast(B)
    full["rank_pattern"] = rank_pattern
    if full.get("target_modules") is None:
        full["target_modules"] = sorted({m.rsplit(".", 1)[-1] for m in factors})
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{WEIGHTS_NAME}.tmp"
    save_file(tensors, str(tmp), metadata={"format": "pt"})
    tmp.replace(directory / WEIGHTS_NAME)
    tmp_cfg = directory / f".{CONFIG_NAME}.tmp"
    tmp_cfg.write_text(json.dumps(full, indent=2, sort_keys=True) + "\n")
    tmp_cfg.replace(directory / CONFIG_NAME)
    return directory
