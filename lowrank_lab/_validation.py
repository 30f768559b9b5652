"""Input validation at the public boundary.

Every error names the argument and the expected value, e.g.
``ValueError: rank must be in [1, min(m, n)=40], got 0``.  Checks that need the
data (finiteness) synchronize once, at the boundary, never inside iterations.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from . import backend


def check_array(
    x: Any,
    name: str,
    *,
    ndim: int | Sequence[int] | None = None,
    finite: bool = True,
    floating: bool = True,
    min_size: int = 1,
) -> Any:
    """Validate an array argument and return it in its namespace.

    Lists and tuples become NumPy arrays.  Integer and boolean arrays are cast to
    float64 when ``floating`` (the namespace's default floating type otherwise
    stays as given).  NaN and infinity are refused when ``finite``.
    """
    if x is None:
        raise TypeError(f"{name} must be an array, got None")
    if isinstance(x, (list, tuple)) or np.isscalar(x):
        x = np.asarray(x)
    try:
        xp = backend.array_namespace(x)
    except TypeError as exc:
        raise TypeError(f"{name} must be an array (NumPy, CuPy or Array API), got {type(x).__name__}") from exc
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{name} must be {want}, got {x.ndim}-D array of shape {tuple(x.shape)}")
    if math.prod(x.shape) < min_size:
        raise ValueError(f"{name} must have at least {min_size} element(s), got shape {tuple(x.shape)}")
    if floating:
        if xp.isdtype(x.dtype, "complex floating"):
            raise TypeError(f"{name} must be real, got dtype {x.dtype}")
        if not xp.isdtype(x.dtype, "real floating"):
            x = xp.astype(x, xp.float64)
    if finite and xp.isdtype(x.dtype, ("real floating", "complex floating")):
        if not bool(xp.all(xp.isfinite(x))):
            n_bad = int(xp.sum(xp.astype(~xp.isfinite(x), xp.int64)))
            raise ValueError(f"{name} must be finite, got {n_bad} NaN or infinite value(s)")
    return x


def check_int(value: Any, name: str, *, low: int | None = None, high: int | None = None,
              high_label: str | None = None) -> int:
    """An integer in ``[low, high]`` (either bound optional)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "-inf" if low is None else str(low)
        hi = "inf" if high is None else (f"{high_label}={high}" if high_label else str(high))
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {value}")
    return value


def check_float(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """A finite real number in the given (half-)open or closed interval."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    bad = not math.isfinite(value)
    if low is not None:
        bad |= value < low if low_inclusive else value <= low
    if high is not None:
        bad |= value > high if high_inclusive else value >= high
    if bad:
        lb = "[" if low_inclusive else "("
        rb = "]" if high_inclusive else ")"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{name} must be a finite number in {lb}{lo}, {hi}{rb}, got {value!r}")
    return value


def check_choice(value: Any, name: str, choices: Sequence[Any]) -> Any:
    """One of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_callback(callback: Any) -> Any:
    """``None`` or a callable ``callback(iteration, state) -> bool | None``."""
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None, got {type(callback).__name__}")
    return callback


def check_options(fn: Any, options: Any, name: str = "options", *, exclude: Sequence[str] = ()) -> dict:
    """Keyword ``options`` for ``fn``: every key must be a keyword parameter of ``fn``.

    Unknown keys raise a ``TypeError`` naming them and listing what ``fn`` accepts, so a
    typo in a sweep's config never silently changes only the cache key.  ``exclude``
    lists parameters the caller sets itself (they are refused too).

    Examples
    --------
    >>> def solver(problem, rank, *, step_size=0.1, max_iter=10):
    ...     pass
    >>> check_options(solver, {"step_size": 0.5})
    {'step_size': 0.5}
    >>> check_options(solver, {"stepsize": 0.5})
    Traceback (most recent call last):
    ...
    TypeError: options has unknown key(s) ['stepsize'] for solver; it accepts ['max_iter', 'step_size']
    """
    import inspect  # noqa: PLC0415

    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise TypeError(f"{name} must be a mapping of keyword options, got {type(options).__name__}")
    params = inspect.signature(fn).parameters
    accepted = sorted(
        p for p, par in params.items()
        if par.kind in (par.KEYWORD_ONLY, par.POSITIONAL_OR_KEYWORD) and p not in exclude
    )
    positional = [p for p, par in params.items() if par.kind == par.POSITIONAL_OR_KEYWORD][:2]
    accepted = [p for p in accepted if p not in positional]
    unknown = sorted(k for k in options if k not in accepted)
    if unknown:
        raise TypeError(
            f"{name} has unknown key(s) {unknown} for {getattr(fn, '__name__', fn)}; it accepts {accepted}"
        )
    return dict(options)
