"""Executors: serial, local processes and Dask; workers compute, the driver writes."""

from __future__ import annotations

import concurrent.futures
import numbers
import os
from typing import Any

import numpy as np

from ._config import EXECUTORS
from ._worker import _execute, _executor_failure

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
