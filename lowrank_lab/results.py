"""What solvers return: :class:`SolverResult`, and the history recorder they fill.

A solver records scalars (loss, errors, ...) every ``history_stride`` iterations
with a :class:`HistoryRecorder`.  Values may stay on the device while the solver
runs; they are moved to the host once, when the result is built.  The history is
a :class:`pandas.DataFrame` with one row per recorded iteration and
``snake_case`` columns, always including ``iteration`` and ``time_s``.

Examples
--------
>>> rec = HistoryRecorder(stride=2)
>>> for it in range(5):
...     if rec.due(it):
...         rec.record(it, loss=1.0 / (it + 1))
>>> res = rec.result(factors=(), n_iter=5, stop_reason="max_iter", seed=0)
>>> list(res.history["iteration"])
[0, 2, 4]
>>> res.converged
False
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import backend

__all__ = ["STOP_REASONS", "HistoryRecorder", "SolverResult", "is_diverged", "seed_of"]

#: Why a solver stopped.
STOP_REASONS = ("converged", "max_iter", "diverged", "callback", "stalled")


@dataclass(frozen=True, repr=False)
class SolverResult:
    """The outcome of an iterative solver.

    Attributes
    ----------
    factors : tuple of arrays
        The solution in factored form, in the input's namespace and device
        (each solver documents its order, e.g. ``(F, G)`` with ``M ~ F @ G.T``).
    n_iter : int
        Iterations performed.
    converged : bool
        True iff ``stop_reason == "converged"``.
    stop_reason : str
        One of :data:`STOP_REASONS`.
    history : pandas.DataFrame
        One row per recorded iteration (columns ``iteration``, ``time_s``, ...).
    seed : int or None
        Seed of the run's random stream, when it was given as an int.
    wall_time : float
        Seconds from start to return.
    solver : str
        Name of the solver that produced it.
    params : dict
        The solver's effective parameters (for tables and caching).
    """

    factors: tuple
    n_iter: int
    converged: bool
    stop_reason: str
    history: pd.DataFrame
    seed: int | None = None
    wall_time: float = 0.0
    solver: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.stop_reason not in STOP_REASONS:
            raise ValueError(f"stop_reason must be one of {STOP_REASONS}, got {self.stop_reason!r}")
        if self.converged != (self.stop_reason == "converged"):
            raise ValueError("converged must be True exactly when stop_reason == 'converged'")

    def history_frame(self) -> pd.DataFrame:
        """A copy of the history, with the run's solver and seed as columns (for concatenation)."""
        frame = self.history.copy()
        frame.insert(0, "solver", self.solver)
        frame.insert(1, "seed", self.seed)
        return frame

    def final(self, column: str) -> float:
        """Last recorded value of a history column (NaN if nothing was recorded)."""
        if column not in self.history.columns:
            raise KeyError(f"column must be one of {list(self.history.columns)}, got {column!r}")
        values = self.history[column].to_numpy()
        return float(values[-1]) if values.size else math.nan

    def __repr__(self) -> str:
        shapes = ", ".join(str(tuple(getattr(f, "shape", ()))) for f in self.factors)
        return (
            f"SolverResult(solver={self.solver!r}, stop_reason={self.stop_reason!r}, "
            f"n_iter={self.n_iter}, factors=[{shapes}], history={len(self.history)} rows, "
            f"wall_time={self.wall_time:.3g}s)"
        )


def seed_of(rng: Any) -> int | None:
    """The integer seed a run was given (for ``SolverResult.seed``), else None."""
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return int(rng)
    return None


def is_diverged(value: Any, reference: float, *, factor: float = 1e8) -> bool:
    """True if a (host) scalar is NaN/inf or exceeds ``factor * max(reference, 1)``."""
    value = float(value)
    return not math.isfinite(value) or value > factor * max(abs(reference), 1.0)


class HistoryRecorder:
    """Collects per-iteration scalars at a stride; builds the :class:`SolverResult`.

    Parameters
    ----------
    stride : int
        Record iterations ``0, stride, 2*stride, ...`` (and whatever the solver
        forces with ``record(..., force=True)``, typically the last one).

    Notes
    -----
    Values are stored as given (possibly 0-d device arrays) and converted to
    host floats in one pass by :meth:`frame`, so recording does not synchronize
    the device.  ``time_s`` is measured since construction.
    """

    def __init__(self, stride: int = 1) -> None:
        if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
            raise ValueError(f"history_stride must be an integer >= 1, got {stride!r}")
        self.stride = stride
        self.start = time.perf_counter()
        self._rows: list[dict[str, Any]] = []
        self._last_iteration: int | None = None

    def due(self, iteration: int) -> bool:
        """Whether ``iteration`` falls on the recording stride."""
        return iteration % self.stride == 0

    def record(self, iteration: int, **values: Any) -> None:
        """Store one row; recording the same iteration twice replaces the row."""
        row = {"iteration": int(iteration), "time_s": time.perf_counter() - self.start, **values}
        if self._last_iteration == iteration:
            self._rows[-1] = row
        else:
            self._rows.append(row)
        self._last_iteration = iteration

    def truncate_after(self, iteration: int) -> None:
        """Drop the rows recorded after ``iteration`` (a diverged run returns an earlier iterate)."""
        while self._rows and self._rows[-1]["iteration"] > iteration:
            self._rows.pop()
        self._last_iteration = self._rows[-1]["iteration"] if self._rows else None

    @property
    def last_iteration(self) -> int | None:
        """Iteration of the most recent row, or None."""
        return self._last_iteration

    def frame(self) -> pd.DataFrame:
        """The history as a DataFrame of host floats (one synchronization)."""
        if not self._rows:
            return pd.DataFrame({"iteration": pd.Series(dtype="int64"), "time_s": pd.Series(dtype="float64")})
        columns: dict[str, list[Any]] = {}
        for row in self._rows:
            for key in row:
                columns.setdefault(key, [])
        for key in columns:
            columns[key] = [_to_host_scalar(row.get(key, math.nan)) for row in self._rows]
        frame = pd.DataFrame(columns)
        frame["iteration"] = frame["iteration"].astype("int64")
        return frame

    def result(
        self,
        *,
        factors: tuple,
        n_iter: int,
        stop_reason: str,
        seed: int | None = None,
        solver: str = "",
        params: Mapping[str, Any] | None = None,
    ) -> SolverResult:
        """Build the frozen :class:`SolverResult` (wall time measured now)."""
        return SolverResult(
            factors=tuple(factors),
            n_iter=int(n_iter),
            converged=stop_reason == "converged",
            stop_reason=stop_reason,
            history=self.frame(),
            seed=seed,
            wall_time=time.perf_counter() - self.start,
            solver=solver,
            params=dict(params or {}),
        )


def _to_host_scalar(value: Any) -> Any:
    if isinstance(value, (int, float, str, bool, type(None))):
        return value
    arr = backend.to_numpy(value)
    if arr.ndim == 0:
        return arr.item()
    return np.array(arr)  # small vectors (e.g. top singular values) stay as arrays
