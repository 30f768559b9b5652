"""The orthonormal discrete cosine transform (DCT-II) and its matrix, on every backend."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from .. import backend
from .._validation import check_array, check_arrays, check_int


def dct_matrix(n: int, *, xp: Any = None, like: Any = None, dtype: Any = None) -> Any:
    """The orthonormal DCT-II matrix ``D`` (``n x n``): ``D[k, j] = c_k cos(pi k (2 j + 1) / (2 n))``.

    ``c_0 = sqrt(1 / n)`` and ``c_k = sqrt(2 / n)`` otherwise, so ``D D^T = D^T D = I``.
    It is SciPy's convention: ``D == scipy.fft.dct(numpy.eye(n), norm="ortho", axis=0)``,
    and ``D @ x == scipy.fft.dct(x, norm="ortho", axis=0)``.  The **rows** of ``D`` are
    the cosine vectors (the columns of ``D^T``): row ``k`` oscillates ``k / 2`` times
    over the ``n`` samples.  Built on the host in float64, then moved to ``xp`` /
    ``like``'s device (the same matrix on every backend).

    Parameters
    ----------
    n : int
    xp, like : namespace or array, optional
        Target namespace (default NumPy) or an array whose namespace and device to use.
    dtype : optional
        Default float64 (or ``like``'s floating dtype).

    Examples
    --------
    >>> import numpy as np, scipy.fft
    >>> D = dct_matrix(4)
    >>> bool(np.allclose(D, scipy.fft.dct(np.eye(4), norm="ortho", axis=0)))
    True
    >>> bool(np.allclose(D @ D.T, np.eye(4)))
    True
    """
    n = check_int(n, "n", low=1)
    if like is not None:
        check_arrays(like=like)
    k = np.arange(n, dtype=np.float64)[:, None]
    j = np.arange(n, dtype=np.float64)[None, :]
    D = np.cos(math.pi * k * (2.0 * j + 1.0) / (2.0 * n)) * math.sqrt(2.0 / n)
    D[0, :] = math.sqrt(1.0 / n)
    if like is None and xp is None:
        xp = backend.get_namespace("numpy")
    if dtype is None:
        target = backend.array_namespace(like) if like is not None else xp
        dtype = backend.float_dtype(target, like)
    return backend.asarray(D, xp=None if like is not None else xp, like=like, dtype=dtype)


def _prepare(x: Any, axis: int) -> tuple[Any, Any, int]:
    if isinstance(x, (numbers.Number, np.generic)):
        raise TypeError(f"x must be an array with at least one axis, got {type(x).__name__}")
    if isinstance(x, (list, tuple)) or not hasattr(x, "dtype"):
        x = check_array(x, "x", finite=False)
    xp = backend.array_namespace(x)
    if not xp.isdtype(x.dtype, "real floating"):
        x = check_array(x, "x", finite=False)
    # no finiteness check: it would synchronize with the device on every call
    if x.ndim == 0:
        raise ValueError("x must have at least one axis, got a 0-D array")
    if isinstance(axis, bool) or not isinstance(axis, int) or not -x.ndim <= axis < x.ndim:
        axis = check_int(axis, "axis", low=-x.ndim, high=x.ndim - 1)
    return x, xp, axis % x.ndim


def _transform(x: Any, axis: int, inverse: bool, fast: bool | None = None) -> Any:
    x, xp, axis = _prepare(x, axis)
    if fast is not False and backend.is_numpy(xp):
        import scipy.fft  # noqa: PLC0415

        fn = scipy.fft.idct if inverse else scipy.fft.dct
        return xp.asarray(fn(np.asarray(x), type=2, norm="ortho", axis=axis))
    if fast is not False and backend.is_cupy(xp):  # pragma: no cover - needs a GPU
        import cupyx.scipy.fft  # noqa: PLC0415

        fn = cupyx.scipy.fft.idct if inverse else cupyx.scipy.fft.dct
        return fn(x, type=2, norm="ortho", axis=axis)
    return _transform_standard(x, axis, inverse)


def _transform_standard(x: Any, axis: int, inverse: bool) -> Any:
    """``D x`` (or ``D^T x``) along ``axis`` with Array API standard calls only (a matrix product)."""
    xp = backend.array_namespace(x)
    D = dct_matrix(int(x.shape[axis]), like=x, dtype=x.dtype)
    moved = xp.moveaxis(x, axis, -1)
    out = moved @ (D if inverse else xp.matrix_transpose(D))  # rows of `moved` times D^T = (D row)^T
    return xp.moveaxis(out, -1, axis)


def dct(x: Any, axis: int = -1) -> Any:
    """Orthonormal DCT-II along ``axis``: ``scipy.fft.dct(x, type=2, norm="ortho", axis=axis)``.

    Along ``axis`` the output is ``D x`` with ``D`` = :func:`dct_matrix`: entry ``k``
    is the inner product of ``x`` with the ``k``-th cosine vector.  Paths: SciPy's FFT
    on NumPy (``O(n log n)`` per vector), ``cupyx.scipy.fft.dct`` on CuPy, and a
    product with :func:`dct_matrix` (standard calls only) elsewhere; they agree to
    rounding.

    Parameters
    ----------
    x : array, shape (..., n, ...)
        Real input; integers are transformed in float64, float32 stays float32.
    axis : int, default -1

    Returns
    -------
    array
        Same shape, namespace and device as ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> np.round(dct(np.ones(4)), 12)           # a constant is the 0-th cosine
    array([2., 0., 0., 0.])
    >>> x = np.arange(5.0)
    >>> bool(np.allclose(idct(dct(x)), x))
    True
    """
    return _transform(x, axis, inverse=False)


def idct(x: Any, axis: int = -1) -> Any:
    """Inverse of :func:`dct` (the orthonormal DCT-III): ``D^T x`` along ``axis``.

    Examples
    --------
    >>> import numpy as np
    >>> np.round(idct(np.array([2.0, 0.0, 0.0, 0.0])), 12)
    array([1., 1., 1., 1.])
    """
    return _transform(x, axis, inverse=True)
