"""Input validation at the public boundary.

Every error names the argument and the expected value, e.g.
``ValueError: rank must be in [1, min(m, n)=40], got 0``.  Checks that need the
data (finiteness) synchronize once, at the boundary, never inside iterations.
"""

from __future__ import annotations

import math
import os
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

    A wrong *type* is a ``TypeError`` naming the argument: ``None``, a string or bytes,
    any other object that is not an array, an array (or list) of strings or objects, a
    complex array where a real one is expected.  A real number (Python or NumPy scalar)
    becomes a 0-d array only where a 0-d array is allowed (``ndim`` is None or includes
    0, e.g. the points where a density is evaluated); where a vector or a matrix is
    expected it is a ``TypeError`` too.  A wrong *value* (shape, size, NaN) is a
    ``ValueError``.

    Examples
    --------
    >>> check_array([[1, 2], [3, 4]], "A", ndim=2).dtype
    dtype('float64')
    >>> check_array("data.csv", "A", ndim=2)
    Traceback (most recent call last):
    ...
    TypeError: A must be an array (NumPy, CuPy or Array API), got str
    >>> check_array(3.0, "A", ndim=2)
    Traceback (most recent call last):
    ...
    TypeError: A must be a 2-D array, got float
    """
    allowed = None if ndim is None else ((ndim,) if isinstance(ndim, int) else tuple(ndim))
    if x is None or isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be an array (NumPy, CuPy or Array API), got {type(x).__name__}")
    if isinstance(x, (numbers.Number, np.generic)):
        if allowed is not None and 0 not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise TypeError(f"{name} must be a {want} array, got {type(x).__name__}")
        x = np.asarray(x)
    elif isinstance(x, (list, tuple)):
        try:
            x = np.asarray(x)
        except ValueError as exc:  # ragged nesting
            raise ValueError(f"{name} must be a rectangular array, got a ragged {type(x).__name__}") from exc
    try:
        xp = backend.array_namespace(x)
    except TypeError as exc:
        raise TypeError(f"{name} must be an array (NumPy, CuPy or Array API), got {type(x).__name__}") from exc
    kind = getattr(getattr(x, "dtype", None), "kind", "f")
    if kind not in "biufc":  # strings, bytes, objects, dates: not numbers
        raise TypeError(f"{name} must be a numeric array, got dtype {x.dtype}")
    if allowed is not None:
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
        # a finite sum proves every entry finite in one pass without a temporary (NaN and
        # inf propagate); only a non-finite sum (bad data, or an overflow) needs the mask
        with np.errstate(over="ignore", invalid="ignore"):
            total = xp.sum(x)
        if not _finite_scalar(total) and not bool(xp.all(xp.isfinite(x))):
            n_bad = int(xp.sum(xp.astype(~xp.isfinite(x), xp.int64)))
            raise ValueError(f"{name} must be finite, got {n_bad} NaN or infinite value(s)")
    return x


def _finite_scalar(value: Any) -> bool:
    z = complex(value)
    return math.isfinite(z.real) and math.isfinite(z.imag)


def check_arrays(**arrays: Any) -> Any:
    """Namespace of named array arguments, refusing anything that is not an array (``None`` too).

    A type check only (no shape, value or finiteness check, so no device synchronization):
    for kernels called inside iterations, whose callers validated the data once.  A string,
    a list or any non-array is a ``TypeError`` naming the argument.

    Examples
    --------
    >>> import numpy as np
    >>> check_arrays(U=np.ones((2, 2)), V=np.ones((3, 2))).__name__
    'array_api_compat.numpy'
    >>> check_arrays(U=np.ones((2, 2)), V="V.npy")
    Traceback (most recent call last):
    ...
    TypeError: V must be an array (NumPy, CuPy or Array API), got str
    """
    import array_api_compat  # noqa: PLC0415

    present = []
    for name, x in arrays.items():
        if x is None or not array_api_compat.is_array_api_obj(x) or isinstance(x, np.generic):
            raise TypeError(f"{name} must be an array (NumPy, CuPy or Array API), got {type(x).__name__}")
        if getattr(getattr(x, "dtype", None), "kind", "f") not in "biufc":
            raise TypeError(f"{name} must be a numeric array, got dtype {x.dtype}")
        present.append(x)
    try:
        return backend.array_namespace(*present)
    except TypeError as exc:  # several libraries: name every argument and its type
        kinds = ", ".join(f"{name}: {type(a).__module__}.{type(a).__name__}" for name, a in arrays.items())
        raise TypeError(f"{', '.join(arrays)} must be arrays of one namespace, got {kinds}") from exc


def check_numbers(x: Any, name: str) -> np.ndarray:
    """Host data (lists, NumPy arrays, pandas Series) as a float64 NumPy array, for table-level code.

    No shape or finiteness check (curves may hold NaN); a string, a mapping, a single
    number or data that are not numbers is a ``TypeError`` naming the argument.

    Examples
    --------
    >>> check_numbers([1, 2], "x")
    array([1., 2.])
    >>> check_numbers("x.csv", "x")
    Traceback (most recent call last):
    ...
    TypeError: x must be an array of numbers, got str
    """
    if x is None or isinstance(x, (str, bytes, Mapping)) or np.ndim(x) == 0:
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}")
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be an array of numbers, got dtype {arr.dtype}") from exc
    return arr.astype(np.float64, copy=False)


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


def check_namespace(**arrays: Any) -> Any:
    """:func:`check_arrays` with ``None`` entries skipped (optional array arguments).

    Examples
    --------
    >>> import numpy as np
    >>> xp = check_namespace(U=np.ones((2, 1)), V=None)
    >>> check_namespace(U=np.ones(2), V=[1.0, 2.0])
    Traceback (most recent call last):
    ...
    TypeError: V must be an array (NumPy, CuPy or Array API), got list
    """
    return check_arrays(**{name: a for name, a in arrays.items() if a is not None})


class MemoryLimitError(ValueError, MemoryError):
    """A request whose estimated memory exceeds :func:`memory_limit` (a ``ValueError`` and a ``MemoryError``)."""


#: Environment variable holding the memory limit of :func:`check_memory` (bytes, or with a
#: unit: ``"8GiB"``, ``"512M"``, ``"1.5T"``; ``"none"`` for no limit).
MEMORY_LIMIT_ENV = "LOWRANK_MEMORY_LIMIT"

_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "kib": 2**10, "m": 2**20, "mb": 2**20, "mib": 2**20,
          "g": 2**30, "gb": 2**30, "gib": 2**30, "t": 2**40, "tb": 2**40, "tib": 2**40}


def physical_memory() -> int | None:
    """Bytes of physical memory of this machine (``None`` where the OS does not say)."""
    try:
        pages = os.sysconf("SC_PHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX
        return None
    return int(pages) * int(size) if pages > 0 and size > 0 else None


def parse_bytes(text: str, name: str = MEMORY_LIMIT_ENV) -> float:
    """Bytes from ``"123"``, ``"8GiB"``, ``"512 MB"``, ``"1.5t"`` (binary units), ``"none"`` (infinity).

    Examples
    --------
    >>> parse_bytes("8GiB"), parse_bytes("512m"), parse_bytes("none")
    (8589934592.0, 536870912.0, inf)
    """
    s = str(text).strip().lower().replace(" ", "")
    if s in ("none", "off", "inf", "unlimited"):
        return math.inf
    digits = s.rstrip("kmgtib")
    unit = s[len(digits):]
    try:
        value = float(digits)
    except ValueError:
        value = math.nan
    if unit not in _UNITS or not math.isfinite(value) or value <= 0:
        raise ValueError(
            f"{name} must be a positive number of bytes, optionally with a unit (e.g. 8GiB, 512M) or 'none', "
            f"got {text!r}"
        )
    return value * _UNITS[unit]


def memory_limit() -> float:
    """The limit of :func:`check_memory`, in bytes.

    ``LOWRANK_MEMORY_LIMIT`` when set (see :func:`parse_bytes`), else half of the
    machine's physical memory (8 GiB where it is unknown): a request above it would
    swap or be killed long before it finished.
    """
    env = os.environ.get(MEMORY_LIMIT_ENV)
    if env is not None and env.strip():
        return parse_bytes(env)
    total = physical_memory()
    return float(total // 2 if total else 8 * 2**30)


def format_bytes(nbytes: float) -> str:
    """``"1.5 GiB"``-style size.

    Examples
    --------
    >>> format_bytes(3 * 2**30), format_bytes(512)
    ('3 GiB', '512 B')
    """
    if not math.isfinite(nbytes):
        return "unlimited"
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= size:
            return f"{nbytes / size:.3g} {unit}"
    return f"{int(nbytes)} B"


def check_memory(nbytes: float, name: str, what: str, *, limit: float | None = None, limit_name: str | None = None,
                 hint: str = "") -> None:
    """Refuse a request whose estimated size ``nbytes`` exceeds the memory limit.

    Every public routine that allocates in proportion to its arguments' shape calls
    this *before* allocating, so an oversized request fails at once with a message
    naming the argument, the estimate and the limit, instead of swapping or running
    into NumPy's ``MemoryError`` deep inside.

    Parameters
    ----------
    nbytes : float
        Estimated bytes of the allocation (the largest simultaneous one).
    name : str
        The argument that decides it (``"shape"``, ``"n_measurements"``...).
    what : str
        What would be allocated (``"the row and column offsets"``).
    limit : float, optional
        Bytes; default :func:`memory_limit` (``LOWRANK_MEMORY_LIMIT``).
    limit_name : str, optional
        Where an explicit ``limit`` comes from (e.g. ``"max_bytes"``), for the message.
    hint : str, optional
        How to get under the limit, appended to the message.

    Raises
    ------
    MemoryLimitError
        A ``ValueError`` (and ``MemoryError``).

    Examples
    --------
    >>> check_memory(2**20, "shape", "a test array", limit=2**30)
    >>> check_memory(2**40, "shape", "a dense 2^20 x 2^17 matrix", limit=2**30, limit_name="max_bytes")
    Traceback (most recent call last):
    ...
    lowrank_lab._validation.MemoryLimitError: shape: a dense 2^20 x 2^17 matrix would take 1 TiB, more than the memory limit of 1 GiB (max_bytes)
    """
    source = MEMORY_LIMIT_ENV if limit is None else (limit_name or "limit")
    limit = memory_limit() if limit is None else float(limit)
    if nbytes > limit:
        message = (
            f"{name}: {what} would take {format_bytes(nbytes)}, more than the memory limit of "
            f"{format_bytes(limit)} ({source})"
        )
        raise MemoryLimitError(message + (f"; {hint}" if hint else ""))


def check_indices(x: Any, name: str, *, like: Any = None) -> Any:
    """A 1-D integer index array (``int64``), in the namespace and on the device of ``like``.

    Lists and tuples must hold integers: ``[0.9, 1.7]`` is a ``TypeError`` (``numpy``
    would truncate it to ``[0, 1]`` silently), as is a float or boolean array.

    Examples
    --------
    >>> check_indices([2, 0], "rows")
    array([2, 0])
    >>> check_indices([0.9, 1.7], "rows")
    Traceback (most recent call last):
    ...
    TypeError: rows must be an integer array, got dtype float64 (e.g. 0.9)
    """
    if x is None:
        raise TypeError(f"{name} must be an integer array, got None")
    if isinstance(x, (list, tuple)):
        x = np.asarray(x) if len(x) else np.zeros(0, dtype=np.int64)
    try:
        x_xp = backend.array_namespace(x)
    except TypeError as exc:
        raise TypeError(f"{name} must be an integer array, got {type(x).__name__}") from exc
    if x.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {tuple(x.shape)}")
    if not x_xp.isdtype(x.dtype, "integral"):
        example = ""
        if x.shape[0] and x_xp.isdtype(x.dtype, "real floating"):
            frac = x != x_xp.round(x)
            if bool(x_xp.any(frac)):
                example = f" (e.g. {float(x[int(x_xp.argmax(x_xp.astype(frac, x_xp.int8)))]):g})"
        raise TypeError(f"{name} must be an integer array, got dtype {x.dtype}{example}")
    if like is not None:
        xp = backend.array_namespace(like)
        if backend.backend_name(x_xp) != backend.backend_name(xp):
            return backend.asarray(backend.to_numpy(x).astype(np.int64), like=like)
        return x if x.dtype == xp.int64 else xp.astype(x, xp.int64)
    return x if x.dtype == x_xp.int64 else x_xp.astype(x, x_xp.int64)
