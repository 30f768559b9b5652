"""The fast Walsh-Hadamard transform (unnormalized, Sylvester order) on every backend."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .. import backend
from .._validation import check_array, check_int
from . import _jit

#: Rows of the compiled kernel's cache blocks (2^14 float64 = 128 KiB, an L2 share).
_BLOCK = 1 << 14


def fwht(x: Any, axis: int = -1) -> Any:
    """Fast Walsh-Hadamard transform along ``axis``: ``H_L x`` with ``H_L`` unnormalized.

    ``H_1 = [1]`` and ``H_{2L} = [[H_L, H_L], [H_L, -H_L]]`` (Sylvester's
    construction, the natural order of :func:`scipy.linalg.hadamard`), so
    ``H_L^2 = L I``: divide by ``sqrt(L)`` for the orthonormal transform.  It costs
    ``L log2 L`` additions per vector and no extra memory beyond the output.

    Paths: on NumPy, a compiled Numba kernel (the ``fast`` extra; cache-blocked, two
    stages per pass, about 5x faster than the array butterfly at ``L = 2^20``) or,
    without Numba or with ``LOWRANK_NUMBA=0``, an in-place vectorized butterfly; on
    CuPy, one elementwise kernel per stage, in place; on any other namespace, a
    butterfly written with Array API standard calls only.  They agree to rounding.

    Parameters
    ----------
    x : array, shape (..., L, ...)
        Real input; ``x.shape[axis]`` must be a power of two.  Integer input is
        transformed in float64; float32 stays float32.
    axis : int, default -1
        The axis to transform; the others are batch axes.

    Returns
    -------
    array
        Same shape, namespace and device as ``x`` (a new array; ``x`` is not modified).

    Raises
    ------
    ValueError
        If ``x.shape[axis]`` is not a power of two or ``axis`` is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> fwht(np.array([1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0]))
    array([ 4.,  2.,  0., -2.,  0.,  2.,  0.,  2.])
    >>> x = np.arange(4.0)
    >>> fwht(fwht(x)) / 4
    array([0., 1., 2., 3.])
    """
    if isinstance(x, (list, tuple)) or not hasattr(x, "dtype"):
        x = check_array(x, "x", min_size=0, finite=False)
    xp = backend.array_namespace(x)
    if not xp.isdtype(x.dtype, "real floating"):  # cast integers, refuse complex
        x = check_array(x, "x", min_size=0, finite=False)
    # no finiteness check: it would synchronize with the device on every call
    if x.ndim == 0:
        raise TypeError("x must be an array with at least one axis, got a 0-D array (a number)")
    if isinstance(axis, bool) or not isinstance(axis, int) or not -x.ndim <= axis < x.ndim:
        axis = check_int(axis, "axis", low=-x.ndim, high=x.ndim - 1)
    axis = axis % x.ndim
    length = int(x.shape[axis])
    if length < 1 or length & (length - 1):
        raise ValueError(f"x.shape[axis] must be a power of two, got {length} (axis={axis})")
    if axis != x.ndim - 1:
        moved = xp.moveaxis(x, axis, -1)
        return xp.moveaxis(_fwht_last(moved, xp), -1, axis)
    return _fwht_last(x, xp)


def _fwht_last(x: Any, xp: Any) -> Any:
    """Transform of the last axis (any shape)."""
    shape = tuple(x.shape)
    length = shape[-1]
    rows = int(np.prod(shape[:-1], dtype=np.int64)) if len(shape) > 1 else 1
    if rows == 0 or length == 1:
        return xp.asarray(x, copy=True)
    if backend.is_numpy(xp):
        out = np.array(x, dtype=x.dtype, order="C", copy=True).reshape(rows, length)
        _fwht_numpy_inplace(out)
        return xp.asarray(out.reshape(shape))
    if backend.is_cupy(xp):  # pragma: no cover - needs a GPU
        out = xp.reshape(xp.asarray(x, copy=True), (rows, length))
        _fwht_cupy_inplace(out)
        return xp.reshape(out, shape)
    return xp.reshape(_fwht_standard(xp.reshape(x, (rows, length))), shape)


def _fwht_numpy_inplace(y: np.ndarray, *, compiled: bool | None = None) -> None:
    """Transform each row of the C-contiguous ``(rows, L)`` array ``y`` in place.

    ``compiled=None`` takes the Numba kernel when available; ``False`` forces the
    vectorized butterfly (tests compare both).
    """
    kernel = _jit.fwht_kernel() if compiled is not False else None
    if kernel is not None:
        kernel(y, _BLOCK)
        return
    rows, length = y.shape
    h = 1
    while h < length:
        v = y.reshape(rows, length // (2 * h), 2, h)
        a = v[:, :, 0, :]
        b = v[:, :, 1, :]
        t = a + b
        np.subtract(a, b, out=b)
        a[...] = t
        h *= 2


def _fwht_standard(y: Any) -> Any:
    """Butterfly of the rows of ``y`` (shape ``(rows, L)``) with Array API standard calls only."""
    xp = backend.array_namespace(y)
    rows, length = y.shape
    h = 1
    while h < length:
        v = xp.reshape(y, (rows, length // (2 * h), 2, h))
        a = v[:, :, 0, :]
        b = v[:, :, 1, :]
        y = xp.reshape(xp.stack((a + b, a - b), axis=2), (rows, length))
        h *= 2
    return y


@functools.lru_cache(maxsize=1)
def _cupy_stage_kernel() -> Any:  # pragma: no cover - needs a GPU
    import cupy  # noqa: PLC0415

    return cupy.ElementwiseKernel(
        "int64 h",
        "raw T x",
        """
        long long block = i / h;
        long long j = block * 2 * h + (i - block * h);
        T a = x[j];
        T b = x[j + h];
        x[j] = a + b;
        x[j + h] = a - b;
        """,
        "lowrank_lab_fwht_stage",
    )


def _fwht_cupy_inplace(y: Any) -> None:  # pragma: no cover - needs a GPU
    """One elementwise kernel per stage over the ``rows * L / 2`` butterfly pairs (rows are contiguous)."""
    import cupy  # noqa: PLC0415

    raw = cupy.ascontiguousarray(y)
    rows, length = raw.shape
    kernel = _cupy_stage_kernel()
    pairs = rows * length // 2
    h = 1
    while h < length:
        kernel(np.int64(h), raw, size=pairs)
        h *= 2
    if raw is not y:
        y[...] = raw
