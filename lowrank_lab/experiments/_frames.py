"""Assembling the tidy result frame from cache entries, and the failure summary."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._config import SweepWarning

# --------------------------------------------------------------------------- frames


@dataclass
class _Entry:
    config: dict[str, Any]
    seed: int
    status: str
    error: str | None
    rows: pd.DataFrame | None


def _column(values: list[Any], lengths: list[int], dtype: Any = None) -> pd.Series:
    repeated = [v for v, n in zip(values, lengths) for _ in range(n)]
    if dtype is None and any(isinstance(v, tuple) for v in values):
        dtype = object
    if dtype is object:
        arr = np.empty(len(repeated), dtype=object)
        for i, v in enumerate(repeated):
            arr[i] = v
        return pd.Series(arr, dtype=object)
    return pd.Series(repeated, dtype=dtype)


def _assemble(entries: list[_Entry], config_keys: list[str]) -> pd.DataFrame:
    parts, lengths = [], []
    for entry in entries:
        rows = entry.rows if entry.status == "ok" and entry.rows is not None else pd.DataFrame(index=pd.RangeIndex(1))
        parts.append(rows.reset_index(drop=True))
        lengths.append(len(rows))
    n = sum(lengths)
    columns: dict[str, pd.Series] = {}
    for key in config_keys:
        columns[key] = _column([e.config.get(key) for e in entries], lengths)
    columns["seed"] = _column([e.seed for e in entries], lengths, dtype="int64")
    front = pd.DataFrame(columns, index=pd.RangeIndex(n))
    if parts and any(p.shape[1] for p in parts):
        outputs = pd.concat(parts, ignore_index=True).infer_objects()
    else:
        outputs = pd.DataFrame(index=pd.RangeIndex(n))
    back = pd.DataFrame(
        {
            "status": _column([e.status for e in entries], lengths, dtype="str"),
            "error": _column([e.error for e in entries], lengths, dtype=object),
        },
        index=pd.RangeIndex(n),
    )
    return pd.concat([front, outputs, back], axis=1)


def _config_keys(configs: Iterable[Mapping[str, Any]]) -> list[str]:
    keys: dict[str, None] = {}
    for cfg in configs:
        keys.update(dict.fromkeys(cfg))
    return list(keys)


def _failure_warning(name: str, entries: list[_Entry], directory: Path | None) -> None:
    failed = [e for e in entries if e.status == "failed"]
    if not failed:
        return
    first = failed[0]
    where = f"; tracebacks in the <key>.json sidecars in {directory}" if directory is not None else ""
    warnings.warn(
        f"sweep {name!r}: {len(failed)} of {len(entries)} trials failed; first failure (config {first.config}, "
        f"seed {first.seed}): {first.error}{where}",
        SweepWarning,
        stacklevel=3,
    )
