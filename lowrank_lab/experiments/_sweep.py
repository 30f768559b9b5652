"""The public entry points: run_sweep and load_sweep."""

from __future__ import annotations

import hashlib
import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import backend
from ._cache import _Claims, _commit, _decode_rows, _read_rows, _read_sidecar
from ._config import (
    _SIDECAR_FORMAT,
    SweepWarning,
    _canonical_json,
    _check_cache_version,
    _check_name,
    _check_seeds,
    _check_trial,
    _key,
    _resolve_cache_dir,
    _trial_name,
    expand_grid,
)
from ._executors import _check_executor, _Session
from ._frames import _assemble, _config_keys, _Entry, _failure_warning
from ._worker import _executor_failure

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
    backend_name = backend.default_backend()  # part of every key: NumPy and CuPy results differ at round-off
    keys = [_key(config, seed, cache_version, backend_name) for config, seed in trials]
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
    failed_before = {}  # failed sidecars seen now: retried (retry_failed), unlike failures committed meanwhile
    if directory is not None:
        for i, _config, _seed in todo:
            meta = _read_sidecar(directory / f"{keys[i]}.json")
            if meta is not None and meta["status"] == "failed":
                failed_before[i] = meta.get("finished_at")

    from tqdm.auto import tqdm  # noqa: PLC0415

    disable = not progress or os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false", "no")
    bar = tqdm(total=len(trials), initial=n_cached, desc=f"sweep {name}", unit="trial", disable=disable)
    counts = {"computed": 0, "failed": 0, "cached": n_cached}
    claims = _Claims(directory) if directory is not None else None

    def show() -> None:
        bar.set_postfix_str(f"cached {counts['cached']}, computed {counts['computed']}, failed {counts['failed']}")

    def committed_meanwhile(i: int) -> _Entry | None:
        """Trial ``i``'s entry if another process committed it since the scan (read under its claim)."""
        meta = _read_sidecar(directory / f"{keys[i]}.json")
        if meta is None or meta.get("sweep") != name:
            return None
        config, seed = trials[i]
        if meta["status"] == "failed":
            if i in failed_before and meta.get("finished_at") == failed_before[i]:
                return None  # the failure this run was asked to retry
            return _Entry(config, seed, "failed", meta.get("error") or "unknown error", None)
        rows = _read_rows(directory, meta)
        return None if rows is None else _Entry(config, seed, "ok", None, rows)

    def adopt(i: int, entry: _Entry) -> None:
        entries[i] = entry
        counts["cached"] += 1
        bar.update(1)
        show()

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
            claims.release(keys[index])
        entries[index] = _Entry(config, seed, status, result["error"], rows)
        counts["computed"] += 1
        counts["failed"] += status == "failed"
        bar.update(1)
        show()

    show()
    session = _Session(kind, client, n_workers, len(todo))
    ok = False
    try:
        pending = todo
        limit = max(32, 4 * (n_workers or 1))  # claims held at once (one open lock file each)
        while pending:
            batch, waiting = [], []
            for task in pending:
                i = task[0]
                if claims is None:
                    batch.append(task)
                elif len(batch) >= limit or not claims.claim(keys[i]):
                    waiting.append(task)  # later, or being computed by another process
                elif (entry := committed_meanwhile(i)) is not None:
                    claims.release(keys[i])
                    adopt(i, entry)
                else:
                    batch.append(task)
            if not batch and waiting:  # everything left is being computed elsewhere: wait for one
                task = waiting.pop(0)
                claims.claim(keys[task[0]], blocking=True)
                if (entry := committed_meanwhile(task[0])) is not None:
                    claims.release(keys[task[0]])
                    adopt(task[0], entry)
                else:
                    batch.append(task)  # its holder died or gave up: compute it here
            if batch:
                session.run(batch, trial, on_result)
            pending = waiting
        ok = True
    finally:
        if claims is not None:
            claims.release_all()
        session.close(ok)
        bar.close()
    n_cached = counts["cached"]

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
               cache_version: int | str | None = None, backend_name: str | None = None) -> pd.DataFrame:
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
    backend_name : str, optional
        Load the trials run on this array backend only (default: the one named by
        ``LOWRANK_BACKEND``); trials of other backends are skipped with a warning.

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
    backend_name = backend.default_backend() if backend_name is None else backend_name
    other_backend = [m for m in metas if m.get("backend", "numpy") != backend_name]
    if other_backend:
        metas = [m for m in metas if m not in other_backend]
        warnings.warn(f"sweep {name!r}: skipping {len(other_backend)} trial(s) run on another backend than "
                      f"{backend_name!r}", SweepWarning, stacklevel=2)
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
