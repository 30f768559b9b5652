"""Machinery shared by the iterative solvers (``sensing``, ``completion``): progress bars,
warning silencing between divergence checks, seed bookkeeping and thread counts."""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["available_cpus", "progress_bar", "quiet_overflow", "seed_of", "serial_blas"]


def seed_of(rng: Any) -> int | None:
    """The integer seed a run was given (for ``SolverResult.seed``), else None."""
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return int(rng)
    return None


@contextlib.contextmanager
def quiet_overflow() -> Iterator[None]:
    """Silence NumPy's overflow / invalid-value / divide warnings inside a solver loop.

    Divergence is detected every few iterations and reported as
    ``stop_reason="diverged"``; the warnings in between would only be noise.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", category=RuntimeWarning, message=".*(overflow|invalid value|divide by zero).*"
        )
        yield


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(total: int, progress: bool, desc: str) -> Any:
    """A ``tqdm.auto`` bar when ``progress`` (honours ``TQDM_DISABLE``), else a no-op."""
    if not progress:
        return _NoBar()
    from tqdm.auto import tqdm  # noqa: PLC0415

    return tqdm(total=total, desc=desc, leave=False)


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def serial_blas(active: bool = True) -> Iterator[None]:
    """Limit BLAS to one thread (``threadpoolctl``) while the library runs its own threads.

    After each call, OpenBLAS's worker threads spin waiting for the next one and
    take the cores that our GIL-free kernels run on: measured on a 2-core machine, a
    2-thread AltMin sweep gained nothing until BLAS was limited to one thread (the
    BLAS calls inside the loop are ``m x k`` QRs, too small to benefit from threads).
    """
    if not active:
        yield
        return
    from threadpoolctl import threadpool_limits  # noqa: PLC0415

    with threadpool_limits(limits=1, user_api="blas"):
        yield
