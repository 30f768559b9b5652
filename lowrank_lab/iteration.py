"""The one iteration driver shared by every iterative routine of the suite.

Solvers (sensing, completion), fine-tuning loops (adapters) and subspace training
(intrinsic dimension) describe *one step* and *what to measure*; :func:`iterate`
owns everything around it, once:

* the **cadence of checks**: the host is consulted (one device synchronization)
  only on iterations ``0, check_every, 2 check_every, ...`` and the last one;
* **divergence**: a non-finite loss, or one ``divergence_factor`` times the first
  checked loss (or at least ``divergence_factor`` when that loss is below 1), or a
  step that raises a linear-algebra error, stops the run with ``"diverged"`` and
  returns the **last iterate that passed a check**;
* **convergence** and other solver-specific stops through ``check(it)``;
* ``"stalled"`` when the checked loss has not improved by a relative ``stall_tol``
  for ``stall_patience`` consecutive checks (opt-in);
* the **callback** ``callback(iteration, state) -> bool | None`` (True stops with
  ``"callback"``), where ``state`` is the :class:`Iterate`: a read-only mapping with
  at least ``iteration``, ``factors`` and ``loss`` (computed on first access only);
* the **progress bar** (``tqdm.auto``, silenced by ``TQDM_DISABLE=1``);
* the **history**: a row every ``history_stride`` iterations
  (:class:`~lowrank_lab.results.HistoryRecorder`), and always a last row that
  describes the iterate the run returns.

The stop reasons are :data:`lowrank_lab.results.STOP_REASONS`.  This design follows
pymanopt's shared stopping check and lineax's status-carrying results: nothing
raises from inside the loop; the result says why it stopped.

Examples
--------
Gradient descent on ``f(x) = x^2 / 2`` from ``x = 1`` with step ``0.5``:

>>> from lowrank_lab.results import HistoryRecorder
>>> rec = HistoryRecorder(stride=5)
>>> out = iterate(
...     1.0, lambda it: 0.5 * it.state,
...     loss=lambda it: 0.5 * it.state ** 2,
...     factors=lambda x: (x,),
...     check=lambda it: "converged" if it.loss < 1e-12 else None,
...     max_iter=100, recorder=rec,
... )
>>> out.stop_reason, out.n_iter, list(rec.frame()["iteration"])
('converged', 20, [0, 5, 10, 15, 20])
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import backend
from ._validation import check_callback, check_float, check_int
from .results import HistoryRecorder

__all__ = ["Iterate", "IterationOutcome", "iterate", "progress_bar", "quiet_overflow"]

#: Exceptions a step may raise on non-finite or singular data; they stop the run as "diverged".
STEP_ERRORS = (ValueError, ArithmeticError, np.linalg.LinAlgError, RuntimeError)


class Iterate(Mapping):
    """One iterate as the driver, the solver's functions and callbacks see it.

    A read-only mapping with keys ``iteration``, ``factors``, ``loss`` and whatever
    the routine exposes (e.g. ``step_size``).  ``loss`` is computed on first access
    and cached, so a callback that never reads it costs nothing.  ``cache`` is a
    scratch dict the routine's functions share for this iterate (a residual computed
    for the loss, reused by the step).

    Attributes
    ----------
    iteration : int
    state : object
        The routine's own state (factors plus whatever it carries).
    cache : dict
    """

    __slots__ = ("iteration", "state", "cache", "_loss", "_factors", "_expose")

    def __init__(self, iteration: int, state: Any, loss: Callable, factors: Callable,
                 expose: Mapping[str, Callable] | None = None) -> None:
        self.iteration = iteration
        self.state = state
        self.cache: dict[str, Any] = {}
        self._loss = loss
        self._factors = factors
        self._expose = expose or {}

    @property
    def loss(self) -> Any:
        """The loss of this iterate (a 0-d array on the routine's device), computed once."""
        if "loss" not in self.cache:
            self.cache["loss"] = self._loss(self)
        return self.cache["loss"]

    @property
    def factors(self) -> tuple:
        """The iterate in factored form (as the routine returns it)."""
        return self._factors(self.state)

    def __getitem__(self, key: str) -> Any:
        if key == "iteration":
            return self.iteration
        if key == "factors":
            return self.factors
        if key == "loss":
            return self.loss
        if key in self._expose:
            return self._expose[key](self)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        yield from ("iteration", "factors", "loss", *self._expose)

    def __len__(self) -> int:
        return 3 + len(self._expose)

    def __repr__(self) -> str:
        return f"Iterate(iteration={self.iteration}, keys={list(self)})"


@dataclass(frozen=True)
class IterationOutcome:
    """What :func:`iterate` returns: the final state, the iterations performed and why it stopped.

    ``state`` is the iterate the run returns: the last one, or for ``"diverged"`` the
    last one that passed a check (``returned_iteration`` says which).
    """

    state: Any
    n_iter: int
    stop_reason: str
    returned_iteration: int


def iterate(
    initial: Any,
    step: Callable[[Iterate], Any],
    *,
    loss: Callable[[Iterate], Any],
    factors: Callable[[Any], tuple],
    recorder: HistoryRecorder,
    max_iter: int,
    metrics: Callable[[Iterate], Mapping[str, Any]] | None = None,
    check: Callable[[Iterate], str | None] | None = None,
    check_every: int = 1,
    callback: Callable[[int, Iterate], bool | None] | None = None,
    progress: bool = False,
    desc: str = "",
    stall_patience: int | None = None,
    stall_tol: float = 1e-3,
    divergence_factor: float = 1e8,
    finite_factors: bool = False,
    expose: Mapping[str, Callable[[Iterate], Any]] | None = None,
    loss_name: str = "loss",
) -> IterationOutcome:
    """Run ``step`` from ``initial`` until a stop reason; record the history in ``recorder``.

    Parameters
    ----------
    initial : object
        The state of iteration 0.
    step : callable
        ``step(it) -> state`` of the next iteration, from the current :class:`Iterate`
        (its ``cache`` holds whatever ``loss``, ``metrics`` or ``check`` computed).
        A :data:`STEP_ERRORS` exception stops the run as ``"diverged"``.
    loss : callable
        ``loss(it)``: the objective (0-d array or float), used for divergence, stall
        detection, the history and callbacks.
    factors : callable
        ``factors(state) -> tuple`` of the iterate in factored form.
    recorder : HistoryRecorder
        Receives ``iteration, time_s, <loss_name>, **metrics(it)`` every
        ``recorder.stride`` iterations and at the returned iterate.
    max_iter : int
        Steps at most (iterations ``0..max_iter``).
    metrics : callable, optional
        ``metrics(it) -> dict`` of further values to record (device scalars are fine).
    check : callable, optional
        ``check(it) -> "converged" | "stalled" | "diverged" | None``, called on checked
        iterations after the divergence test (values may be read on the host here).
    check_every : int, default 1
        Iterations between checks (the last iteration is always checked).
    callback : callable, optional
        ``callback(iteration, it) -> bool | None``; True stops with ``"callback"``.
    progress : bool, default False
        ``tqdm`` progress bar labelled ``desc``.
    stall_patience : int, optional
        Stop with ``"stalled"`` after this many consecutive checks without a relative
        improvement of the best checked loss by ``stall_tol`` (None: never).
    stall_tol : float, default 1e-3
    divergence_factor : float, default 1e8
    finite_factors : bool, default False
        Also require finite factors on checked iterations (for losses that see only
        part of the iterate, e.g. sampled entries).
    expose : mapping, optional
        Extra read-only keys of the callback's state, ``name -> fn(it)``.
    loss_name : str, default "loss"
        History column of the loss (``"train_loss"`` in completion).

    Returns
    -------
    IterationOutcome
    """
    max_iter = check_int(max_iter, "max_iter", low=0)
    check_every = check_int(check_every, "check_every", low=1)
    callback = check_callback(callback)
    if stall_patience is not None:
        stall_patience = check_int(stall_patience, "stall_patience", low=1)
    stall_tol = check_float(stall_tol, "stall_tol", low=0.0)

    def make(t: int, state: Any) -> Iterate:
        return Iterate(t, state, loss, factors, expose)

    def record(it: Iterate) -> None:
        values = {loss_name: it.loss}
        if metrics is not None:
            values.update(metrics(it))
        recorder.record(it.iteration, **values)

    reference: float | None = None
    best = math.inf
    since_best = 0
    it = make(0, initial)
    last_good: Iterate | None = None
    stop: str | None = None
    bar = progress_bar(max_iter, progress, desc)
    with quiet_overflow():
        for t in range(max_iter + 1):
            if t > 0:
                try:
                    it = make(t, step(it))
                except STEP_ERRORS:
                    stop = "diverged"
                    break
                bar.update(1)
            if t % check_every == 0 or t == max_iter:
                host_loss = _host_float(it.loss)
                if reference is None:
                    reference = host_loss
                if _diverged(host_loss, reference, divergence_factor) or (
                    finite_factors and not _all_finite(it.factors)
                ):
                    stop = "diverged"
                    break
                verdict = None if check is None else check(it)
                if verdict == "diverged":
                    stop = "diverged"
                    break
                last_good = it
                if verdict is not None:
                    stop = verdict
                elif stall_patience is not None:
                    if host_loss < best - stall_tol * abs(best) or not math.isfinite(best):
                        best, since_best = host_loss, 0
                    else:
                        since_best += 1
                        if since_best >= stall_patience:
                            stop = "stalled"
            if stop is None and callback is not None and callback(t, it):
                stop = "callback"
            if stop is None and t == max_iter:
                stop = "max_iter"
            if stop is not None or recorder.due(t):
                record(it)
            if stop is not None:
                break
    bar.close()
    n_iter = t
    if stop == "diverged":
        returned = last_good if last_good is not None else make(0, initial)
        recorder.truncate_after(returned.iteration)
        if recorder.last_iteration != returned.iteration:
            with quiet_overflow():
                record(returned)
        return IterationOutcome(returned.state, n_iter, "diverged", returned.iteration)
    return IterationOutcome(it.state, n_iter, stop or "max_iter", it.iteration)


# --------------------------------------------------------------------------- #
# helpers shared by every loop
# --------------------------------------------------------------------------- #
def _host_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _diverged(value: float, reference: float, factor: float) -> bool:
    return not math.isfinite(value) or value > factor * max(abs(reference), 1.0)


def _all_finite(arrays: tuple) -> bool:
    for a in arrays:
        xp = backend.array_namespace(a)
        if not bool(xp.all(xp.isfinite(a))):
            return False
    return True


@contextlib.contextmanager
def quiet_overflow() -> Iterator[None]:
    """Silence NumPy's overflow / invalid-value / divide warnings inside an iteration loop.

    Divergence is detected on checked iterations and reported as
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
