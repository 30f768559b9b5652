"""Solves: stacks of small systems, SPD stacks (a batch-vectorized Cholesky on NumPy), least squares."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from .._validation import check_array, check_arrays


def batched_solve(A: Any, b: Any) -> Any:
    """Solve a stack of square systems ``A[i] @ x[i] = b[i]``.

    Parameters
    ----------
    A : array, shape (..., k, k)
    b : array, shape (..., k) or (..., k, n_rhs)
        A trailing vector dimension is recognized when ``b.ndim == A.ndim - 1``.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.stack([np.eye(2) * 2, np.eye(2) * 4]); b = np.ones((2, 2))
    >>> batched_solve(A, b)
    array([[0.5 , 0.5 ],
           [0.25, 0.25]])
    """
    xp = check_arrays(A=A, b=b)
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise ValueError(f"A must be a stack of square matrices (..., k, k), got shape {tuple(A.shape)}")
    vector = b.ndim == A.ndim - 1
    if b.shape[: A.ndim - 1] != A.shape[:-1] if vector else b.shape[:-1] != A.shape[:-1]:
        raise ValueError(f"b must have shape {tuple(A.shape[:-1])} or {tuple(A.shape[:-1])} + (n_rhs,), got {tuple(b.shape)}")
    rhs = b[..., None] if vector else b
    x = xp.linalg.solve(A, rhs)
    return x[..., 0] if vector else x


def lstsq(A: Any, b: Any, *, rcond: float | None = None) -> Any:
    """Minimum-norm least-squares solution of ``A @ x = b`` (``b`` 1-D or 2-D).

    ``rcond`` is the relative cut-off on singular values (default
    ``eps * max(A.shape)``, NumPy's convention).

    Examples
    --------
    >>> import numpy as np
    >>> lstsq(np.array([[1.0], [1.0]]), np.array([1.0, 3.0]))
    array([2.])
    """
    A = check_array(A, "A", ndim=2)
    b = check_array(b, "b", ndim=(1, 2))
    if b.shape[0] != A.shape[0]:
        raise ValueError(f"b must have {A.shape[0]} rows (A.shape[0]), got shape {tuple(b.shape)}")
    xp = check_arrays(A=A, b=b)
    if backend.is_numpy(xp) or backend.is_cupy(xp):
        native = __import__("numpy") if backend.is_numpy(xp) else __import__("cupy")
        return native.linalg.lstsq(A, b, rcond=rcond)[0]
    if rcond is None:
        rcond = xp.finfo(A.dtype).eps * max(A.shape)
    U, s, Vt = xp.linalg.svd(A, full_matrices=False)
    keep = s > rcond * s[0]
    s_inv = xp.where(keep, 1.0 / xp.where(keep, s, 1.0), 0.0)
    vector = b.ndim == 1
    rhs = b[:, None] if vector else b
    x = xp.matrix_transpose(Vt) @ ((xp.matrix_transpose(U) @ rhs) * s_inv[:, None])
    return x[:, 0] if vector else x



def batched_spd_solve(A: Any, b: Any) -> Any:
    """Solve a stack of symmetric positive definite systems ``A[i] @ x[i] = b[i]``.

    ``A`` has shape ``(N, k, k)`` and ``b`` shape ``(N, k)``.  On NumPy with
    ``k <= 16`` a Cholesky factorization vectorized *across the batch* (one
    NumPy operation per pivot, no per-matrix LAPACK call) is used; it falls back
    to :func:`batched_solve` if a pivot is not positive.  Elsewhere, and for
    larger ``k``, this is :func:`batched_solve` (the standard ``linalg.solve``).

    Examples
    --------
    >>> import numpy as np
    >>> A = np.stack([np.array([[4.0, 2.0], [2.0, 3.0]]), np.eye(2)])
    >>> batched_spd_solve(A, np.array([[2.0, 1.0], [1.0, 2.0]]))
    array([[0.5, 0. ],
           [1. , 2. ]])
    """
    xp = check_arrays(A=A, b=b)
    k = A.shape[-1]
    if backend.is_numpy(xp) and A.ndim == 3 and b.ndim == 2 and k <= 16:
        x = _spd_solve_numpy(A, b)
        if x is not None:
            return x
    return batched_solve(A, b)


def _spd_solve_numpy(A: Any, b: Any) -> Any:

    k = A.shape[-1]
    a = np.ascontiguousarray(np.moveaxis(np.asarray(A), 0, -1))  # (k, k, N): each entry a contiguous N-vector
    x = np.ascontiguousarray(np.asarray(b).T)
    with np.errstate(invalid="ignore", divide="ignore"):
        for j in range(k):
            if not np.all(a[j, j] > 0):
                return None
            d = np.sqrt(a[j, j])
            a[j, j] = d
            if j + 1 < k:
                col = a[j + 1:, j]
                col /= d
                a[j + 1:, j + 1:] -= col[:, None, :] * col[None, :, :]
        for j in range(k):  # L y = b
            if j:
                x[j] -= np.einsum("pn,pn->n", a[j, :j], x[:j])
            x[j] /= a[j, j]
        for j in range(k - 1, -1, -1):  # L^T x = y
            if j + 1 < k:
                x[j] -= np.einsum("pn,pn->n", a[j + 1:, j], x[j + 1:])
            x[j] /= a[j, j]
    return np.ascontiguousarray(x.T)


