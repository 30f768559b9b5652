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


def _run_processes(todo, trial, pool, on_result) -> None:
    from concurrent.futures.process import BrokenProcessPool  # noqa: PLC0415

    futures = {pool.submit(_execute, trial, config, seed): index for index, config, seed in todo}
    try:
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
        for future in futures:
            future.cancel()
        raise


def _process_pool(n_workers: int) -> concurrent.futures.ProcessPoolExecutor:
    """A process pool whose workers exit when the sweep's process dies (see :func:`_worker_init`)."""
    context = None
    if os.environ.get("LOWRANK_BACKEND", "").strip().lower() == "cupy":
        import multiprocessing  # noqa: PLC0415

        context = multiprocessing.get_context("spawn")  # CUDA does not survive fork
    return concurrent.futures.ProcessPoolExecutor(max_workers=n_workers, mp_context=context,
                                                  initializer=_worker_init, initargs=(os.getpid(),))


#: Seconds between two looks of a worker's watchdog at its parent (the portable fallback).
WATCHDOG_INTERVAL = 0.5


def _worker_init(parent_pid: int) -> None:
    """Make a pool worker exit when the process that started it dies (``kill -9`` included).

    Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` through ``ctypes``, so the kernel kills
    the worker as soon as its parent is gone; then a check that the parent did not
    die before the call.  Everywhere (and as a second line of defence), a daemon
    thread watches ``os.getppid()`` and exits the worker once the parent has changed
    (a worker blocked reading its task pipe would otherwise live on, ~100 MB each).
    """
    import signal  # noqa: PLC0415
    import sys  # noqa: PLC0415
    import threading  # noqa: PLC0415
    import time  # noqa: PLC0415

    if sys.platform.startswith("linux"):
        try:
            import ctypes  # noqa: PLC0415

            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no prctl: the watchdog alone
            pass
    if os.getppid() != parent_pid:  # the parent died before the worker got here
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(WATCHDOG_INTERVAL)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="lowrank_lab-parent-watchdog", daemon=True).start()


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


class _Session:
    """The executor of one run: the pool or cluster is made on first use and closed once, at the end."""

    def __init__(self, kind: str, client: Any, n_workers: int | None, n_todo: int) -> None:
        self.kind, self.client, self.n_workers, self.n_todo = kind, client, n_workers, n_todo
        self.pool: Any = None
        self.cluster: Any = None

    def run(self, todo, trial, on_result) -> None:
        if self.kind == "serial":
            _run_serial(todo, trial, on_result)
        elif self.kind == "process":
            if self.pool is None:
                self.pool = _process_pool(max(1, min(self.n_workers, self.n_todo)))
            _run_processes(todo, trial, self.pool, on_result)
        else:
            if self.client is None:  # executor="dask": a temporary local cluster
                from distributed import Client, LocalCluster  # noqa: PLC0415

                self.cluster = LocalCluster(n_workers=max(1, min(self.n_workers, self.n_todo)), threads_per_worker=1,
                                            processes=True, dashboard_address=":0")
                self.client = Client(self.cluster)
            _run_dask(todo, trial, self.client, on_result)

    def close(self, ok: bool) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=ok, cancel_futures=not ok)
        if self.cluster is not None:  # our own client and cluster (a user's client is left open)
            try:
                self.client.close()
            finally:
                self.cluster.close()


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
