"""What a worker runs: one trial, its rows as Parquet bytes or its error and traceback."""

from __future__ import annotations

import datetime
import importlib
import io
import math
import os
import platform
import socket
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from .. import backend
from ._config import _SCALARS, _short_repr

# --------------------------------------------------------------------------- worker side


def _environment() -> dict[str, Any]:
    try:
        version = importlib.import_module("lowrank_lab").__version__
    except Exception:  # pragma: no cover - broken install on a remote worker
        version = None
    return {
        "lowrank_lab_version": version,
        "backend": os.environ.get("LOWRANK_BACKEND", "numpy").strip().lower() or "numpy",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "pid": os.getpid(),
        **_numerics(),
    }


def _numerics() -> dict[str, Any]:
    """What changes a trial's bits without changing its meaning: BLAS threads and compiled kernels.

    Recorded in every sidecar (not in the key, see ``docs/decisions.md``): the BLAS
    libraries with their thread counts (``threadpoolctl``), whether the compiled
    (Numba) kernels of :mod:`lowrank_lab.linalg` were used, and Numba's version.
    """
    out: dict[str, Any] = {}
    try:
        from threadpoolctl import threadpool_info  # noqa: PLC0415

        out["blas_threads"] = {f"{i.get('internal_api')}:{os.path.basename(i.get('filepath', ''))}": i.get("num_threads")
                               for i in threadpool_info() if i.get("user_api") == "blas"}
    except Exception:  # pragma: no cover - threadpoolctl is a core dependency
        out["blas_threads"] = None
    try:
        from ..linalg import _jit  # noqa: PLC0415

        out["compiled_kernels"] = bool(_jit.numba_enabled())
    except Exception:  # pragma: no cover
        out["compiled_kernels"] = None
    try:
        out["numba"] = importlib.import_module("numba").__version__ if out["compiled_kernels"] else None
    except Exception:  # pragma: no cover
        out["numba"] = None
    return out


def _utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")


def _host_scalar(value: Any, where: str) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic) and not isinstance(value, (np.complexfloating, np.datetime64, np.timedelta64)):
        return value.item()
    if hasattr(value, "shape") and tuple(value.shape) == () and hasattr(value, "dtype"):  # 0-d array, any backend
        host = backend.to_numpy(value)
        if host.dtype.kind in "biuf":
            return host.item()
    raise TypeError(f"trial output {where} must be a scalar ({_SCALARS}), got {type(value).__name__}: "
                    f"{_short_repr(value)}")


def _rows_from_output(output: Any, config: Mapping[str, Any], seed: int) -> pd.DataFrame:
    if isinstance(output, pd.DataFrame):
        rows = output
        index_names = [n for n in rows.index.names if n is not None]
        rows = rows.reset_index() if index_names else rows.reset_index(drop=True)
        for col in rows.columns:
            if not isinstance(col, str):
                raise TypeError(f"trial output columns must be strings, got {col!r}")
        if rows.columns.duplicated().any():
            raise ValueError(f"trial output has duplicate columns {list(rows.columns[rows.columns.duplicated()])}")
    elif isinstance(output, Mapping):
        row = {}
        for key, value in output.items():
            if not isinstance(key, str):
                raise TypeError(f"trial output keys must be strings, got {key!r}")
            row[key] = _host_scalar(value, repr(key))
        rows = pd.DataFrame([row]) if row else pd.DataFrame(index=pd.RangeIndex(1))
    else:
        raise TypeError(f"trial must return a dict of scalars or a pandas DataFrame, got {type(output).__name__}")
    for col in ("status", "error"):
        if col in rows.columns:
            raise ValueError(f"trial output column {col!r} is reserved for the sweep's failure record; rename it "
                             f"(e.g. {'rel_error' if col == 'error' else 'trial_status'!r})")
    drop = []
    for col, expected in [*config.items(), ("seed", seed)]:
        if col in rows.columns:
            values = rows[col].tolist()
            if all(_same_value(v, expected) for v in values):
                drop.append(col)  # a copy of the config (e.g. SolverResult.history_frame()'s seed): keep one
            else:
                raise ValueError(f"trial output column {col!r} clashes with the config/seed column of the same "
                                 f"name (value {expected!r}); rename it")
    return rows.drop(columns=drop) if drop else rows


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(b, tuple):
        return isinstance(a, (list, tuple, np.ndarray)) and len(a) == len(b) and all(map(_same_value, a, b))
    if isinstance(a, np.generic):
        a = a.item()
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


def _to_parquet_bytes(rows: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    try:
        rows.to_parquet(buffer, index=False)
    except Exception as exc:
        raise TypeError(f"trial output cannot be stored as Parquet (use numeric, str or bool columns): {exc}") from exc
    return buffer.getvalue()


def _execute(trial: Callable[..., Any], config: dict[str, Any], seed: int) -> dict[str, Any]:
    """Run one trial (on a worker); return its rows as Parquet bytes, or its error. Never raises."""
    start = time.perf_counter()
    result: dict[str, Any] = {"status": "ok", "error": None, "traceback": None, "rows": None, "n_rows": 0}
    try:
        rows = _rows_from_output(trial(**config, seed=seed), config, seed)
        result["rows"] = _to_parquet_bytes(rows)
        result["n_rows"] = len(rows)
    except Exception as exc:
        result.update(status="failed", error=_error_message(exc), traceback=traceback.format_exc())
    result["wall_time_s"] = time.perf_counter() - start
    result["finished_at"] = _utc_now()
    result["environment"] = _environment()
    return result


def _error_message(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _executor_failure(exc: BaseException) -> dict[str, Any]:
    """Record for a trial whose task the executor lost (e.g. a Dask worker that died running it)."""
    return {
        "status": "failed",
        "error": f"{_error_message(exc)} (raised by the executor, not by the trial)",
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        "rows": None,
        "n_rows": 0,
        "wall_time_s": math.nan,
        "finished_at": _utc_now(),
        "environment": _environment(),
    }

