"""Sweeps: a trial function over a grid of configs x seeds, cached on disk and resumable.

A *sweep* is ``(name, grid, seeds, trial)``.  :func:`run_sweep` expands the grid
into configs (a dict of lists gives the cartesian product in the dict's key
order, last key varying fastest; a list of dicts gives explicit configs), pairs
each config with each seed, and calls ``trial(**config, seed=seed)`` once per
pair.  A trial returns a dict of scalars (one row) or a DataFrame (several rows,
e.g. a convergence curve).  The result is one tidy :class:`pandas.DataFrame`:
config columns, ``seed``, the trial's columns, ``status`` and ``error``.

Design
------
* **Workers compute, the driver writes.**  Whatever the executor (serial,
  local processes, Dask), a worker only runs the trial and sends back its rows
  (already serialized to Parquet bytes) or its error and traceback.  The
  driver process writes the cache and assembles the frame in grid x seed order,
  never in completion order, so results do not depend on the executor and a
  Dask cluster on other machines needs no shared file system.
* **Content-addressed cache.**  A trial's key is the SHA-256 of the canonical
  JSON of ``(config, seed, cache_version)`` (:func:`trial_key`).  It lands in
  ``<cache dir>/<key>.parquet`` (the rows) plus ``<key>.json`` (the sidecar:
  config, seed, status, error, traceback, wall time, versions, backend,
  host, timestamp, SHA-256 of the Parquet bytes).  Both are written atomically
  (temporary file in the same directory, ``fsync``, ``os.replace``) and the
  sidecar goes last: it is the commit marker.  A sweep killed at any point
  resumes without recomputing committed trials; a Parquet file without its
  sidecar, or one whose bytes do not match the sidecar's hash, is recomputed.
* **Failures are data.**  A raising trial is recorded (``status="failed"``,
  the message in ``error``, the full traceback in the sidecar) and the others go
  on; one :class:`SweepWarning` summarizes the failures.  ``retry_failed=True``
  (default) reruns recorded failures on the next call.
* **Same results from the cache.**  Fresh rows go through the same Parquet
  round trip as cached ones, so a re-run loaded from the cache gives an
  identical frame.

Seeds and randomness: the trial receives a plain integer ``seed``.  It should
derive every random stream it needs from it with
``numpy.random.SeedSequence(seed).spawn`` (:func:`lowrank_lab.backend.spawn_generators`),
e.g. one stream for the problem and one for the solver, so that the same seed
gives the same problem in every config: comparing methods on the same seeds is
then a paired comparison.

Trials live in the library (importable, picklable, unit tested).  With the
``"process"`` and ``"dask"`` executors, lambdas, closures and other
non-importable callables are refused, and workers must be able to import both
``lowrank_lab`` and the trial's module.  A *script* (not a notebook) that uses
``executor="dask"``, or ``"process"`` where workers are spawned rather than
forked (macOS, Windows, ``LOWRANK_BACKEND=cupy``), needs the usual
``if __name__ == "__main__":`` guard.  Edited a trial's code?  Bump
``cache_version`` (or use a new sweep name): the cache keys on the config and
seed, not on the code.

Examples
--------
>>> import tempfile
>>> def square(x, scale, seed):
...     return {"y": scale * x * x + seed}
>>> with tempfile.TemporaryDirectory() as d:
...     df = run_sweep("demo", {"x": [1, 2], "scale": [1.0]}, square, seeds=2,
...                    cache_dir=d, progress=False)
...     again = run_sweep("demo", {"x": [1, 2], "scale": [1.0]}, square, seeds=2,
...                       cache_dir=d, progress=False)
>>> df[["x", "scale", "seed", "y", "status"]]
   x  scale  seed    y status
0  1    1.0     0  1.0     ok
1  1    1.0     1  2.0     ok
2  2    1.0     0  4.0     ok
3  2    1.0     1  5.0     ok
>>> again.attrs["n_cached"], again.attrs["n_computed"], bool(again.equals(df))
(4, 0, True)
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime
import hashlib
import importlib
import inspect
import io
import itertools
import json
import math
import numbers
import os
import pickle
import platform
import re
import socket
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import backend, paths

__all__ = ["EXECUTORS", "SweepWarning", "expand_grid", "load_sweep", "run_sweep", "trial_key"]

#: Executors selectable by name (a ``distributed.Client`` is accepted as well).
EXECUTORS = ("serial", "process", "dask")

#: Columns the sweep adds to every frame; config keys and trial outputs may not use them.
RESERVED_COLUMNS = ("seed", "status", "error")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_SIDECAR_FORMAT = 1
_SCALARS = "int, float, str, bool or None"


class SweepWarning(UserWarning):
    """Failed trials, damaged or foreign cache entries, or mixed cache versions in a sweep."""


# --------------------------------------------------------------------------- configs and keys


def _normalize_scalar(value: Any, where: str) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic) and not isinstance(value, (np.complexfloating, np.datetime64, np.timedelta64)):
        value = value.item()
        if value is None or isinstance(value, (bool, str)):
            return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, np.generic):
        return float(value)
    raise TypeError(f"{where} must be a JSON-able scalar ({_SCALARS}) or a list/tuple of them, "
                    f"got {type(value).__name__}: {_short_repr(value)}")


def _normalize_value(value: Any, where: str) -> Any:
    """A config value as passed to trials: Python scalars, sequences as tuples."""
    if isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.ndim == 1):
        return tuple(_normalize_scalar(v, f"{where}[{i}]") for i, v in enumerate(value))
    return _normalize_scalar(value, where)


def _check_key(key: Any, where: str) -> str:
    if not isinstance(key, str) or not key.isidentifier():
        raise TypeError(f"{where}: config keys must be strings that are valid Python identifiers "
                        f"(they become keyword arguments of the trial), got {key!r}")
    if key in RESERVED_COLUMNS:
        raise ValueError(f"{where}: config key {key!r} is reserved (columns {RESERVED_COLUMNS} are added by "
                         f"the sweep; seeds come from seeds=)")
    return key


def _normalize_config(config: Any, where: str) -> dict[str, Any]:
    if not isinstance(config, Mapping):
        raise TypeError(f"{where} must be a dict of config values, got {type(config).__name__}")
    out = {}
    for key, value in config.items():
        _check_key(key, where)
        out[key] = _normalize_value(value, f"{where}[{key!r}]")
    return out


def _canonical(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, float) and not isinstance(value, bool):
        if value == 0.0:
            return 0.0  # -0.0 and 0.0 agree
        if not math.isfinite(value):
            return value
        # 15 significant digits: 0.1 + 0.2 and 0.3 (or two linspace roundings) give the same key.
        return float(format(value, ".15g"))
    return value


def _canonical_json(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=True)


def _key(config: Mapping[str, Any], seed: int, cache_version: Any) -> str:
    payload = {"config": {k: _canonical(v) for k, v in config.items()}, "seed": seed, "cache_version": cache_version}
    return hashlib.sha256(_canonical_json(payload).encode("ascii")).hexdigest()


def _check_cache_version(cache_version: Any) -> int | str:
    if isinstance(cache_version, bool) or not isinstance(cache_version, (numbers.Integral, str)):
        raise TypeError(f"cache_version must be an int or a str, got {cache_version!r}")
    return int(cache_version) if isinstance(cache_version, numbers.Integral) else cache_version


def _check_seed(seed: Any, name: str = "seed") -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be a non-negative integer, got {seed!r}")
    if seed < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {seed}")
    return int(seed)


def trial_key(config: Mapping[str, Any], seed: int, cache_version: int | str = 0) -> str:
    """Cache key of one trial: SHA-256 hex digest of the canonical JSON of ``(config, seed, cache_version)``.

    Canonical means: sorted keys; tuples, lists and 1-D NumPy arrays alike; NumPy
    scalars as Python scalars; floats rounded to 15 significant digits (so
    ``0.1``, ``0.10`` and ``0.1 + 0.2 - 0.2`` agree) with ``-0.0 == 0.0``.  Ints and
    floats stay distinct (``1`` and ``1.0`` are different keys), as do bools.

    Examples
    --------
    >>> trial_key({"a": 0.1, "b": (1, 2)}, 0) == trial_key({"b": [1, 2], "a": 0.10}, 0)
    True
    >>> trial_key({"a": 1}, 0) == trial_key({"a": 1.0}, 0)
    False
    >>> len(trial_key({}, seed=3, cache_version=1))
    64
    """
    config = _normalize_config(config, "config")
    return _key(config, _check_seed(seed), _check_cache_version(cache_version))


def expand_grid(grid: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The configs of a grid, in order.

    Parameters
    ----------
    grid : dict of lists, or list of dicts
        A dict maps each parameter to its values (a list, tuple, range or 1-D
        array; a scalar means the single value).  The configs are the cartesian
        product in the dict's key order, the last key varying fastest.  A list of
        dicts gives the configs explicitly (they need not share keys).  Values
        must be JSON-able scalars (int, float, str, bool, None) or lists/tuples of
        them; NumPy scalars become Python scalars and sequences become tuples.

    Raises
    ------
    TypeError, ValueError
        Naming the offending entry, e.g. ``grid['rank'] must not be empty``.

    Examples
    --------
    >>> expand_grid({"rank": [1, 2], "method": ["als", "gd"]})
    [{'rank': 1, 'method': 'als'}, {'rank': 1, 'method': 'gd'},
     {'rank': 2, 'method': 'als'}, {'rank': 2, 'method': 'gd'}]
    >>> expand_grid([{"method": "als"}, {"method": "gd", "lr": 0.1}])
    [{'method': 'als'}, {'method': 'gd', 'lr': 0.1}]
    """
    if isinstance(grid, Mapping):
        if not grid:
            raise ValueError("grid must not be empty (a dict of lists or a list of dicts)")
        keys, axes = [], []
        for key, values in grid.items():
            _check_key(key, "grid")
            sequence = isinstance(values, (list, tuple, range)) or (isinstance(values, np.ndarray) and values.ndim)
            axis = list(values) if sequence else [values]  # a scalar is the single value
            if not axis:
                raise ValueError(f"grid[{key!r}] must not be empty")
            keys.append(key)
            axes.append([_normalize_value(v, f"grid[{key!r}][{i}]") for i, v in enumerate(axis)])
        configs = [dict(zip(keys, combo)) for combo in itertools.product(*axes)]
    elif isinstance(grid, Sequence) and not isinstance(grid, (str, bytes)):
        if len(grid) == 0:
            raise ValueError("grid must not be empty (a dict of lists or a list of dicts)")
        configs = [_normalize_config(cfg, f"grid[{i}]") for i, cfg in enumerate(grid)]
    else:
        raise TypeError(f"grid must be a dict of lists or a list of dicts, got {type(grid).__name__}")
    seen: dict[str, int] = {}
    for i, cfg in enumerate(configs):
        canon = _canonical_json({k: _canonical(v) for k, v in cfg.items()})
        if canon in seen:
            raise ValueError(f"grid has duplicate configs: {configs[seen[canon]]} (config {seen[canon]}) and "
                             f"{cfg} (config {i}) give the same trials")
        seen[canon] = i
    return configs


def _check_seeds(seeds: Any) -> list[int]:
    if isinstance(seeds, (bool, np.bool_)):
        raise TypeError(f"seeds must be an int (number of seeds) or a sequence of ints, got {seeds!r}")
    if isinstance(seeds, numbers.Integral):
        if seeds < 1:
            raise ValueError(f"seeds must be >= 1 when given as a number of seeds, got {seeds}")
        return list(range(int(seeds)))
    if isinstance(seeds, (str, bytes, Mapping)) or not isinstance(seeds, Iterable):
        raise TypeError(f"seeds must be an int (number of seeds) or a sequence of ints, got {type(seeds).__name__}")
    out = [_check_seed(s, f"seeds[{i}]") for i, s in enumerate(seeds)]
    if not out:
        raise ValueError("seeds must not be empty")
    if len(set(out)) != len(out):
        dup = sorted({s for s in out if out.count(s) > 1})
        raise ValueError(f"seeds must be distinct, got duplicates {dup}")
    return out


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"name must be a non-empty string of letters, digits, '_', '-' and '.' starting with a "
                         f"letter or digit (it names the cache directory), got {name!r}")
    return name


def _resolve_cache_dir(name: str, cache_dir: Any) -> Path | None:
    if cache_dir is False:
        return None
    if cache_dir is None:
        return paths.cache_dir() / name
    if isinstance(cache_dir, (str, os.PathLike)) and not isinstance(cache_dir, bool):
        return Path(cache_dir)
    raise TypeError(f"cache_dir must be None (the project cache), a path, or False (no caching), got {cache_dir!r}")


def _trial_name(trial: Any) -> str:
    target = getattr(trial, "func", trial)  # functools.partial
    module = getattr(target, "__module__", None) or type(target).__module__
    qualname = getattr(target, "__qualname__", None) or type(target).__qualname__
    return f"{module}.{qualname}"


def _check_trial(trial: Any, configs: list[dict[str, Any]], picklable: bool, executor_label: str) -> None:
    if not callable(trial):
        raise TypeError(f"trial must be a callable trial(**config, seed=seed), got {type(trial).__name__}")
    if picklable:
        qualname = getattr(getattr(trial, "func", trial), "__qualname__", "")
        hint = (f"with executor={executor_label}, trial must be an importable module-level function (workers "
                f"import it by name; put trial functions in the library)")
        if "<lambda>" in qualname or "<locals>" in qualname:
            raise TypeError(f"{hint}, got {qualname!r} (a lambda or a closure)")
        try:
            pickle.dumps(trial)
        except Exception as exc:
            raise TypeError(f"{hint}; trial {_trial_name(trial)!r} is not picklable: {exc}") from exc
    try:
        signature = inspect.signature(trial)
    except (TypeError, ValueError):  # builtins without a signature: try at call time
        return
    for cfg in configs:
        try:
            signature.bind(**cfg, seed=0)
        except TypeError as exc:
            raise TypeError(f"trial {_trial_name(trial)} cannot be called as trial(**config, seed=seed) with "
                            f"config {cfg}: {exc}") from None


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
    }


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


def _short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------- the cache


def _atomic_write(path: Path, data: bytes, *, sync_dir: bool = True) -> None:
    """Write ``data`` to ``path`` atomically: temp file in the same directory, fsync, os.replace.

    ``sync_dir`` also fsyncs the directory, making the rename itself durable before
    anything written later (the rows before their sidecar, even on power loss).
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if sync_dir:
        _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _read_sidecar(path: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("format") != _SIDECAR_FORMAT:
        return None
    if meta.get("status") not in ("ok", "failed"):
        return None
    if meta.get("key") != path.stem or not isinstance(meta.get("config"), dict):
        return None
    return meta


def _decode_rows(data: bytes, n_rows: int) -> pd.DataFrame:
    rows = pd.read_parquet(io.BytesIO(data))
    if rows.shape[1] == 0:  # Parquet keeps no row count without columns
        rows = pd.DataFrame(index=pd.RangeIndex(n_rows))
    return rows


def _read_rows(directory: Path, meta: dict[str, Any]) -> pd.DataFrame | None:
    """The committed rows of an ok trial, or None if the Parquet file is missing or does not match its sidecar."""
    try:
        data = (directory / f"{meta['key']}.parquet").read_bytes()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != meta.get("rows_sha256"):
        return None
    try:
        return _decode_rows(data, int(meta.get("n_rows", 0)))
    except Exception:
        return None


def _commit(directory: Path, key: str, sidecar: dict[str, Any], data: bytes | None) -> None:
    parquet = directory / f"{key}.parquet"
    if data is not None:
        _atomic_write(parquet, data)
    # The sidecar is the commit marker: if its rename is lost, the trial is merely recomputed.
    _atomic_write(directory / f"{key}.json", json.dumps(sidecar, indent=1, allow_nan=True).encode("utf-8"),
                  sync_dir=False)
    if data is None:
        parquet.unlink(missing_ok=True)  # stale rows of an earlier attempt


# --------------------------------------------------------------------------- executors


def _run_serial(todo, trial, on_result) -> None:
    for index, config, seed in todo:
        on_result(index, _execute(trial, config, seed))


def _run_processes(todo, trial, n_workers, on_result) -> None:
    from concurrent.futures.process import BrokenProcessPool  # noqa: PLC0415

    context = None
    if os.environ.get("LOWRANK_BACKEND", "").strip().lower() == "cupy":
        import multiprocessing  # noqa: PLC0415

        context = multiprocessing.get_context("spawn")  # CUDA does not survive fork
    pool = concurrent.futures.ProcessPoolExecutor(max_workers=min(n_workers, len(todo)), mp_context=context)
    try:
        futures = {pool.submit(_execute, trial, config, seed): index for index, config, seed in todo}
        for future in concurrent.futures.as_completed(futures):
            try:
                result = future.result()
            except BrokenProcessPool as exc:
                raise RuntimeError(
                    "a worker process of the sweep died (crash or out of memory); the trials finished so far are "
                    "cached: run the sweep again to resume, or use executor='serial' to find the culprit"
                ) from exc
            except Exception as exc:
                result = _executor_failure(exc)
            on_result(futures[future], result)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _run_dask(todo, trial, client, on_result) -> None:
    from distributed import as_completed  # noqa: PLC0415

    futures, index_of = [], {}
    for index, config, seed in todo:
        future = client.submit(_execute, trial, config, seed, pure=False)
        futures.append(future)
        index_of[future.key] = index
    try:
        for future in as_completed(futures):
            try:
                result = future.result()
            except Exception as exc:  # KilledWorker, CancelledError, ... : the task, not the trial, failed
                result = _executor_failure(exc)
            on_result(index_of[future.key], result)
    finally:
        pending = [f for f in futures if not f.done()]
        if pending:
            client.cancel(pending)


def _check_executor(executor: Any, n_workers: Any) -> tuple[str, Any, int | None]:
    if n_workers is not None:
        if isinstance(n_workers, (bool, np.bool_)) or not isinstance(n_workers, numbers.Integral):
            raise TypeError(f"n_workers must be a positive integer or None, got {n_workers!r}")
        if n_workers < 1:
            raise ValueError(f"n_workers must be a positive integer or None, got {n_workers}")
        n_workers = int(n_workers)
    if isinstance(executor, str):
        if executor not in EXECUTORS:
            raise ValueError(f"executor must be one of {EXECUTORS} or a distributed.Client, got {executor!r}")
        if executor == "dask":
            try:
                import distributed  # noqa: F401, PLC0415
            except ImportError as exc:
                raise ImportError("executor='dask' needs dask.distributed: pip install 'lowrank_lab[dist]'") from exc
        return executor, None, n_workers or os.cpu_count() or 1
    try:
        from distributed import Client  # noqa: PLC0415
    except ImportError:
        Client = None  # noqa: N806
    if Client is not None and isinstance(executor, Client):
        return "client", executor, None
    raise TypeError(f"executor must be one of {EXECUTORS} or a distributed.Client, got {type(executor).__name__}")


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


# --------------------------------------------------------------------------- public entry points


def run_sweep(
    name: str,
    grid: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    trial: Callable[..., Any],
    *,
    seeds: int | Sequence[int] = (0,),
    executor: Any = "serial",
    n_workers: int | None = None,
    cache_dir: str | os.PathLike | None | bool = None,
    cache_version: int | str = 0,
    retry_failed: bool = True,
    progress: bool = True,
) -> pd.DataFrame:
    """Run ``trial`` over every config of ``grid`` x every seed, with an on-disk cache.

    Parameters
    ----------
    name : str
        Sweep name (letters, digits, ``_-.``); the cache sub-directory.
    grid : dict of lists, or list of dicts
        Configs, see :func:`expand_grid`: cartesian product in the dict's key
        order (last key fastest), or explicit configs.
    trial : callable
        ``trial(**config, seed=seed)`` returning a dict of scalars (one row) or
        a DataFrame (several rows; a named index becomes columns).  It must be an
        importable module-level function for the ``"process"`` and ``"dask"``
        executors.  It gets the integer seed and should derive its random
        streams with ``numpy.random.SeedSequence(seed).spawn``
        (:func:`lowrank_lab.backend.spawn_generators`), so the same seed gives
        the same problem in every config.
    seeds : int or sequence of int, default (0,)
        ``n`` means ``range(n)``; otherwise distinct non-negative ints.
    executor : {"serial", "process", "dask"} or distributed.Client, default "serial"
        ``"process"``: a :class:`concurrent.futures.ProcessPoolExecutor`;
        ``"dask"``: a temporary ``distributed.LocalCluster`` (one thread per
        worker process), closed afterwards; a ``Client``: used as is and left
        open.  Results do not depend on the executor.
    n_workers : int, optional
        Workers for ``"process"`` and ``"dask"`` (default ``os.cpu_count()``,
        never more than the trials to compute); ignored otherwise.
    cache_dir : path, None or False, default None
        ``None``: ``lowrank_lab.paths.cache_dir() / name`` (``data/sweeps/<name>``,
        ``LOWRANK_CACHE_DIR`` overrides the root); a path: this sweep's
        directory itself (give each sweep its own: keys do not include the
        sweep name, so a directory holding another sweep's trials under the
        same keys is refused); ``False``: no cache.
    cache_version : int or str, default 0
        Part of every key: bump it after changing what a trial computes.
    retry_failed : bool, default True
        Rerun trials recorded as failed; ``False`` returns them from the cache.
    progress : bool, default True
        Show a ``tqdm.auto`` bar (also silenced by ``TQDM_DISABLE=1``).

    Returns
    -------
    pandas.DataFrame
        Config columns (in grid key order), ``seed``, the trial's columns,
        ``status`` (``"ok"``/``"failed"``) and ``error`` (None or the message),
        trials in grid x seed order (configs outer, seeds inner).  A failed trial
        gives one row with NaN outputs.  ``frame.attrs`` holds ``sweep``,
        ``n_trials``, ``n_failed``, ``n_cached`` (loaded from the cache),
        ``n_computed`` and ``cache_dir`` (str or None).

    Raises
    ------
    TypeError, ValueError
        For invalid arguments (the message names the argument), a trial that
        cannot be called with some config, a non-importable trial with a
        parallel executor, or a ``cache_dir`` holding another sweep's trials.
    RuntimeError
        If a worker process of the ``"process"`` executor dies (finished trials
        stay cached).

    Warns
    -----
    SweepWarning
        Once, if trials failed (count and first error); also if committed cache
        entries were damaged (they are recomputed) or were computed by a trial
        function of another name (they are used).

    Examples
    --------
    >>> def trial(rank, seed):
    ...     return {"rank_squared": rank ** 2, "seed_plus_one": seed + 1}
    >>> df = run_sweep("doc", {"rank": [1, 2]}, trial, seeds=[5], cache_dir=False, progress=False)
    >>> df.columns.tolist()
    ['rank', 'seed', 'rank_squared', 'seed_plus_one', 'status', 'error']
    >>> df["rank_squared"].tolist(), df.attrs["n_computed"]
    ([1, 4], 2)
    """
    name = _check_name(name)
    configs = expand_grid(grid)
    seed_list = _check_seeds(seeds)
    cache_version = _check_cache_version(cache_version)
    kind, client, n_workers = _check_executor(executor, n_workers)
    for flag, value in (("retry_failed", retry_failed), ("progress", progress)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{flag} must be True or False, got {value!r}")
    directory = _resolve_cache_dir(name, cache_dir)
    label = "a distributed.Client" if kind == "client" else repr(executor)
    _check_trial(trial, configs, picklable=kind != "serial", executor_label=label)
    trial_name = _trial_name(trial)

    trials = [(config, seed) for config in configs for seed in seed_list]
    keys = [_key(config, seed, cache_version) for config, seed in trials]
    entries: list[_Entry | None] = [None] * len(trials)
    damaged, foreign, other_trial = 0, set(), set()
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        for i, ((config, seed), key) in enumerate(zip(trials, keys)):
            meta = _read_sidecar(directory / f"{key}.json")
            if meta is None:
                continue
            if meta.get("sweep") != name:
                foreign.add(str(meta.get("sweep")))
                continue
            if meta.get("trial") != trial_name:
                other_trial.add(str(meta.get("trial")))
            if meta["status"] == "failed":
                if not retry_failed:
                    entries[i] = _Entry(config, seed, "failed", meta.get("error") or "unknown error", None)
                continue
            rows = _read_rows(directory, meta)
            if rows is None:
                damaged += 1
            else:
                entries[i] = _Entry(config, seed, "ok", None, rows)
    if foreign:
        raise ValueError(f"cache_dir {directory} holds trials of sweep(s) {sorted(foreign)}, not {name!r}, with the "
                         f"same keys: give each sweep its own cache_dir (the default, cache_dir=None, does)")
    if other_trial:
        warnings.warn(f"sweep {name!r}: cached trials in {directory} were computed by {sorted(other_trial)}, not "
                      f"{trial_name}; using them (bump cache_version if the computation changed)",
                      SweepWarning, stacklevel=2)
    if damaged:
        warnings.warn(f"sweep {name!r}: {damaged} cached trial(s) had a missing or damaged Parquet file in "
                      f"{directory}; recomputing them", SweepWarning, stacklevel=2)
    n_cached = sum(e is not None for e in entries)
    todo = [(i, *trials[i]) for i in range(len(trials)) if entries[i] is None]

    from tqdm.auto import tqdm  # noqa: PLC0415

    disable = not progress or os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false", "no")
    bar = tqdm(total=len(trials), initial=n_cached, desc=f"sweep {name}", unit="trial", disable=disable)
    counts = {"computed": 0, "failed": 0}

    def show() -> None:
        bar.set_postfix_str(f"cached {n_cached}, computed {counts['computed']}, failed {counts['failed']}")

    def on_result(index: int, result: dict[str, Any]) -> None:
        config, seed = trials[index]
        status = result["status"]
        rows = None
        if status == "ok":
            try:
                rows = _decode_rows(result["rows"], result["n_rows"])
            except Exception as exc:  # pragma: no cover - bytes produced by _execute always decode
                result = {**_executor_failure(exc), "error": f"cannot read the trial's rows: {exc}"}
                status = "failed"
        if directory is not None:
            sidecar = {
                "format": _SIDECAR_FORMAT,
                "key": keys[index],
                "sweep": name,
                "trial": trial_name,
                "config": {k: list(v) if isinstance(v, tuple) else v for k, v in config.items()},
                "seed": seed,
                "cache_version": cache_version,
                "status": status,
                "error": result["error"],
                "traceback": result["traceback"],
                "n_rows": result["n_rows"] if status == "ok" else 0,
                "rows_sha256": hashlib.sha256(result["rows"]).hexdigest() if status == "ok" else None,
                "wall_time_s": result["wall_time_s"],
                "finished_at": result["finished_at"],
                **result["environment"],
            }
            _commit(directory, keys[index], sidecar, result["rows"] if status == "ok" else None)
        entries[index] = _Entry(config, seed, status, result["error"], rows)
        counts["computed"] += 1
        counts["failed"] += status == "failed"
        bar.update(1)
        show()

    show()
    try:
        if todo:
            if kind == "serial":
                _run_serial(todo, trial, on_result)
            elif kind == "process":
                _run_processes(todo, trial, n_workers, on_result)
            elif kind == "client":
                _run_dask(todo, trial, client, on_result)
            else:
                from distributed import Client, LocalCluster  # noqa: PLC0415

                cluster = LocalCluster(n_workers=min(n_workers, len(todo)), threads_per_worker=1, processes=True,
                                       dashboard_address=":0")
                try:
                    with Client(cluster) as own_client:
                        _run_dask(todo, trial, own_client, on_result)
                finally:
                    cluster.close()
    finally:
        bar.close()

    done: list[_Entry] = entries  # type: ignore[assignment]  # every trial is filled in now
    frame = _assemble(done, _config_keys(configs))
    n_failed = sum(e.status == "failed" for e in done)
    frame.attrs.update(sweep=name, n_trials=len(done), n_failed=n_failed, n_cached=n_cached,
                       n_computed=counts["computed"], cache_dir=None if directory is None else str(directory))
    _failure_warning(name, done, directory)
    return frame


def _sort_key(value: Any) -> tuple:
    if value is None:
        return (0,)
    if isinstance(value, (bool, int, float)):
        return (2,) if isinstance(value, float) and math.isnan(value) else (1, value)
    if isinstance(value, str):
        return (3, value)
    if isinstance(value, (list, tuple)):
        return (4, tuple(_sort_key(v) for v in value))
    return (5, repr(value))


def load_sweep(name: str, cache_dir: str | os.PathLike | None = None, *,
               cache_version: int | str | None = None) -> pd.DataFrame:
    """Everything committed to a sweep's cache, as a frame like :func:`run_sweep`'s.

    Useful in notebooks (read results without the trial function) and after a
    killed run (see what finished).  Uncommitted files (no sidecar) and damaged
    entries are skipped.  Trials are sorted by config values (in key order), then
    seed; for a dict grid whose value lists are sorted this is the grid order.

    Parameters
    ----------
    name : str
        Sweep name.
    cache_dir : path or None
        As in :func:`run_sweep`: ``None`` is ``lowrank_lab.paths.cache_dir() / name``,
        a path is the sweep's directory itself.
    cache_version : int or str, optional
        Load this cache version only.  By default, the version of the most
        recently finished trial (with a :class:`SweepWarning` if older versions
        are present and skipped).

    Returns
    -------
    pandas.DataFrame
        Config columns, ``seed``, outputs, ``status``, ``error``; ``attrs`` as
        in :func:`run_sweep` (``n_cached == n_trials``).

    Raises
    ------
    FileNotFoundError
        If the sweep's directory does not exist.

    Examples
    --------
    >>> import tempfile
    >>> def trial(x, seed):
    ...     return {"y": 2 * x}
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = run_sweep("doc", {"x": [3, 1, 2]}, trial, cache_dir=d, progress=False)
    ...     loaded = load_sweep("doc", cache_dir=d)
    >>> loaded[["x", "y"]].values.tolist()
    [[1, 2], [2, 4], [3, 6]]
    """
    name = _check_name(name)
    if cache_dir is False:
        raise ValueError("cache_dir=False means no cache: there is nothing to load")
    directory = _resolve_cache_dir(name, cache_dir)
    if not directory.is_dir():
        raise FileNotFoundError(f"no cached sweep {name!r}: directory {directory} does not exist")
    if cache_version is not None:
        cache_version = _check_cache_version(cache_version)
    metas = [m for m in (_read_sidecar(p) for p in sorted(directory.glob("*.json"))) if m is not None]
    foreign = sorted({str(m.get("sweep")) for m in metas if m.get("sweep") != name})
    if foreign:
        metas = [m for m in metas if m.get("sweep") == name]
        warnings.warn(f"sweep {name!r}: {directory} also holds trials of sweep(s) {foreign}; skipping them",
                      SweepWarning, stacklevel=2)
    if cache_version is None and metas:
        versions = {_canonical_json(m.get("cache_version")) for m in metas}
        latest = max(metas, key=lambda m: str(m.get("finished_at", "")))
        cache_version = latest.get("cache_version")
        if len(versions) > 1:
            n_other = sum(m.get("cache_version") != cache_version for m in metas)
            warnings.warn(f"sweep {name!r}: {directory} holds cache versions {sorted(versions)}; loading "
                          f"cache_version={cache_version!r} (the latest) and skipping {n_other} older trial(s)",
                          SweepWarning, stacklevel=2)
    entries, damaged = [], 0
    for meta in metas:
        if meta.get("cache_version") != cache_version:
            continue
        config = {k: tuple(v) if isinstance(v, list) else v for k, v in meta["config"].items()}
        seed = int(meta.get("seed", 0))
        if meta["status"] == "failed":
            entries.append(_Entry(config, seed, "failed", meta.get("error") or "unknown error", None))
            continue
        rows = _read_rows(directory, meta)
        if rows is None:
            damaged += 1
            continue
        entries.append(_Entry(config, seed, "ok", None, rows))
    if damaged:
        warnings.warn(f"sweep {name!r}: skipped {damaged} cached trial(s) with a missing or damaged Parquet file "
                      f"in {directory}", SweepWarning, stacklevel=2)
    config_keys = _config_keys(e.config for e in entries)
    entries.sort(key=lambda e: (tuple(_sort_key(e.config.get(k)) for k in config_keys), e.seed))
    frame = _assemble(entries, config_keys)
    n_failed = sum(e.status == "failed" for e in entries)
    frame.attrs.update(sweep=name, n_trials=len(entries), n_failed=n_failed, n_cached=len(entries),
                       n_computed=0, cache_dir=str(directory))
    return frame
