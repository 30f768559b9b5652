"""Machinery shared by the iterative solvers (``sensing``, ``completion``): progress bars,
warning silencing between divergence checks, and seed bookkeeping."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["progress_bar", "quiet_overflow", "seed_of"]


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
