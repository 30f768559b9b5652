"""Configs, seeds and content keys of sweep trials: normalization, canonical JSON, grids, checks."""

from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import math
import numbers
import os
import pickle
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import backend, paths
from .._validation import check_choice

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


def _key(config: Mapping[str, Any], seed: int, cache_version: Any, backend_name: str) -> str:
    payload = {"config": {k: _canonical(v) for k, v in config.items()}, "seed": seed, "cache_version": cache_version,
               "backend": backend_name}
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


def trial_key(config: Mapping[str, Any], seed: int, cache_version: int | str = 0, backend_name: str | None = None) -> str:
    """Cache key of one trial: SHA-256 hex digest of the canonical JSON of ``(config, seed, cache_version, backend)``.

    ``backend_name`` is the array backend the trial runs on (default: the one named by
    ``LOWRANK_BACKEND``, see :func:`lowrank_lab.backend.default_backend`): results of
    NumPy and CuPy runs differ at round-off level, so they never share a cache entry.

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
    >>> trial_key({}, 0, backend_name="numpy") == trial_key({}, 0, backend_name="cupy")
    False
    """
    config = _normalize_config(config, "config")
    if backend_name is None:
        backend_name = backend.default_backend()
    backend_name = check_choice(backend_name, "backend_name", backend.BACKENDS)
    return _key(config, _check_seed(seed), _check_cache_version(cache_version), backend_name)


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

def _short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
