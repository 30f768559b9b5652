"""Linear algebra the Array API standard lacks, in one place.

Every routine here works on any Array API namespace through a *standard
fallback* written with standard calls only, and takes a *fast path* on NumPy
(NumPy / SciPy kernels) and CuPy (``cupyx``) where one exists.  Tests check that
both paths agree.  Nothing else in the library imports ``cupy`` or ``scipy`` for
array work.

Contents
--------
segment_sum
    Sum rows of ``values`` that share a segment id (scatter-add).
csr_matmul, sampled_dot
    Sparse (CSR) times dense, and entries of ``U @ V.T`` at given positions.
batched_solve, lstsq
    Solves for stacks of small systems, least squares.
svd, truncated_svd, randomized_svd, svd_flip
    SVD with a deterministic sign convention; exact and randomized truncation.
orthonormalize
    Thin QR with a positive diagonal of R (a unique, backend-independent basis).
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any, NamedTuple

from . import backend
from ._validation import check_array, check_int

__all__ = [
    "SVDResult",
    "batched_solve",
    "csr_matmul",
    "lstsq",
    "orthonormalize",
    "randomized_svd",
    "sampled_dot",
    "segment_sum",
    "svd",
    "svd_flip",
    "truncated_svd",
]


class SVDResult(NamedTuple):
    """Thin SVD ``A = U @ diag(S) @ Vt`` with singular values in descending order."""

    U: Any
    S: Any
    Vt: Any


# --------------------------------------------------------------------------- #
# segment sums and sparse products
# --------------------------------------------------------------------------- #
def segment_sum(values: Any, segment_ids: Any, n_segments: int, *, sorted: bool = False) -> Any:
    """Sum the rows of ``values`` that share a segment id.

    ``out[s] = sum(values[i] for i where segment_ids[i] == s)``; empty segments give 0.

    Parameters
    ----------
    values : array, shape (N,) or (N, ...)
    segment_ids : integer array, shape (N,)
        Values in ``[0, n_segments)``.  Not checked (this is an inner-loop kernel).
    n_segments : int
    sorted : bool
        Promise that ``segment_ids`` is non-decreasing (enables a faster kernel).

    Examples
    --------
    >>> import numpy as np
    >>> segment_sum(np.array([1.0, 2.0, 3.0]), np.array([0, 2, 0]), 3)
    array([4., 0., 2.])
    """
    xp = backend.array_namespace(values, segment_ids)
    n_segments = check_int(n_segments, "n_segments", low=0)
    if segment_ids.ndim != 1 or values.ndim < 1 or values.shape[0] != segment_ids.shape[0]:
        raise ValueError(
            f"segment_ids must be 1-D with one id per row of values, got shapes "
            f"{tuple(segment_ids.shape)} and values {tuple(values.shape)}"
        )
    if backend.is_numpy(xp):
        return _segment_sum_numpy(values, segment_ids, n_segments, sorted)
    if backend.is_cupy(xp):  # pragma: no cover - needs a GPU
        import cupyx  # noqa: PLC0415

        out = xp.zeros((n_segments, *values.shape[1:]), dtype=values.dtype)
        cupyx.scatter_add(out, segment_ids, values)
        return out
    return _segment_sum_standard(values, segment_ids, n_segments, sorted)


def _segment_sum_numpy(values, segment_ids, n_segments, is_sorted):
    import numpy as np  # noqa: PLC0415

    values = np.asarray(values)
    ids = np.asarray(segment_ids)
    n = ids.shape[0]
    if n == 0:
        return np.zeros((n_segments, *values.shape[1:]), dtype=values.dtype)
    if is_sorted:
        offsets = np.searchsorted(ids, np.arange(n_segments + 1))
        # reduceat over the non-empty runs only: their starts are strictly increasing,
        # so each run sums exactly up to the next start (empty runs have zero length).
        nonempty = offsets[:-1] < offsets[1:]
        out = np.zeros((n_segments, *values.shape[1:]), dtype=values.dtype)
        out[nonempty] = np.add.reduceat(values, offsets[:-1][nonempty], axis=0)
        return out
    trailing = values.shape[1:]
    width = math.prod(trailing)
    if width == 1:
        out = np.bincount(ids, weights=values.reshape(n), minlength=n_segments)
    else:
        flat_ids = (ids[:, None] * width + np.arange(width)).ravel()
        out = np.bincount(flat_ids, weights=values.reshape(n * width), minlength=n_segments * width)
    return out.reshape((n_segments, *trailing)).astype(values.dtype, copy=False)


def _segment_sum_standard(values, segment_ids, n_segments, is_sorted):
    """Standard-only segment sum: sort, prefix sums, differences at segment boundaries."""
    xp = backend.array_namespace(values, segment_ids)
    if not is_sorted:
        order = xp.argsort(segment_ids, stable=True)
        segment_ids = xp.take(segment_ids, order, axis=0)
        values = xp.take(values, order, axis=0)
    prefix = xp.cumulative_sum(values, axis=0, include_initial=True)
    bounds = xp.searchsorted(segment_ids, xp.arange(n_segments + 1, dtype=segment_ids.dtype))
    return xp.take(prefix, bounds[1:], axis=0) - xp.take(prefix, bounds[:-1], axis=0)


def csr_matmul(indptr: Any, indices: Any, data: Any, dense: Any) -> Any:
    """Product of a CSR sparse matrix with a dense matrix, ``S @ dense``.

    ``S`` has ``len(indptr) - 1`` rows; row ``i`` holds ``data[indptr[i]:indptr[i+1]]`` at
    columns ``indices[indptr[i]:indptr[i+1]]``.  Uses ``scipy.sparse`` on NumPy,
    ``cupyx.scipy.sparse`` on CuPy, and a gather + :func:`segment_sum` elsewhere.

    Examples
    --------
    >>> import numpy as np
    >>> indptr, indices, data = np.array([0, 1, 3]), np.array([1, 0, 1]), np.array([2.0, 1.0, 1.0])
    >>> csr_matmul(indptr, indices, data, np.eye(2))
    array([[0., 2.],
           [1., 1.]])
    """
    xp = backend.array_namespace(indptr, indices, data, dense)
    n_rows = indptr.shape[0] - 1
    if backend.is_numpy(xp):
        import scipy.sparse as sp  # noqa: PLC0415

        S = sp.csr_array((data, indices, indptr), shape=(n_rows, dense.shape[0]))
        return S @ dense
    if backend.is_cupy(xp):  # pragma: no cover - needs a GPU
        import cupyx.scipy.sparse as csp  # noqa: PLC0415

        S = csp.csr_matrix((data, indices, indptr), shape=(n_rows, dense.shape[0]))
        return S @ dense
    return _csr_matmul_standard(indptr, indices, data, dense)


def _csr_matmul_standard(indptr, indices, data, dense):
    xp = backend.array_namespace(indptr, indices, data, dense)
    n_rows = indptr.shape[0] - 1
    counts = indptr[1:] - indptr[:-1]
    row_ids = xp.repeat(xp.arange(n_rows, dtype=indptr.dtype), counts)
    gathered = xp.take(dense, indices, axis=0)
    if dense.ndim == 2:
        gathered = gathered * data[:, None]
    else:
        gathered = gathered * data
    return _segment_sum_standard(gathered, row_ids, n_rows, True)


def sampled_dot(U: Any, V: Any, rows: Any, cols: Any, *, chunk_size: int = 1 << 20) -> Any:
    """Entries ``(U @ V.T)[rows[t], cols[t]]`` without forming ``U @ V.T``.

    Works in chunks of ``chunk_size`` entries so the gathered factor rows stay small.

    Examples
    --------
    >>> import numpy as np
    >>> U = np.array([[1.0, 0.0], [0.0, 2.0]]); V = np.array([[3.0, 1.0]])
    >>> sampled_dot(U, V, np.array([0, 1]), np.array([0, 0]))
    array([3., 2.])
    """
    xp = backend.array_namespace(U, V, rows, cols)
    n = rows.shape[0]
    parts = []
    for start in range(0, max(n, 1), chunk_size):
        stop = min(start + chunk_size, n)
        r = rows[start:stop]
        c = cols[start:stop]
        parts.append(xp.sum(xp.take(U, r, axis=0) * xp.take(V, c, axis=0), axis=1))
    return parts[0] if len(parts) == 1 else xp.concat(parts)


# --------------------------------------------------------------------------- #
# solves
# --------------------------------------------------------------------------- #
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
    xp = backend.array_namespace(A, b)
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
    xp = backend.array_namespace(A, b)
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


# --------------------------------------------------------------------------- #
# orthonormal bases and SVDs
# --------------------------------------------------------------------------- #
def _qr_q(A: Any, xp: ModuleType) -> Any:
    """Q factor of a thin QR (no sign convention).

    On NumPy, ``numpy.linalg.qr`` returns a C-ordered Q, which keeps the next
    ``A @ Q`` product on the fast BLAS path (an F-ordered Q made it ~2x slower).
    """
    return xp.linalg.qr(A, mode="reduced")[0]


def orthonormalize(A: Any) -> Any:
    """Orthonormal basis of the column space of ``A`` (m x k, m >= k) by thin QR.

    The diagonal of R is made non-negative, which makes the basis unique for
    full-rank ``A`` and therefore identical across backends.

    Examples
    --------
    >>> import numpy as np
    >>> Q = orthonormalize(np.array([[2.0, 1.0], [0.0, 1.0], [0.0, 0.0]]))
    >>> bool(np.allclose(Q.T @ Q, np.eye(2))), bool(Q[0, 0] > 0)
    (True, True)
    """
    A = check_array(A, "A", ndim=2)
    xp = backend.array_namespace(A)
    m, k = A.shape
    if m < k:
        raise ValueError(f"A must have at least as many rows as columns, got shape {tuple(A.shape)}")
    Q, R = xp.linalg.qr(A, mode="reduced")
    signs = xp.sign(xp.linalg.diagonal(R))
    signs = xp.where(signs == 0, xp.ones_like(signs), signs)
    return Q * signs[None, :]


def svd_flip(U: Any, Vt: Any) -> tuple[Any, Any]:
    """Deterministic signs for singular vectors.

    Each left singular vector is flipped so that its entry of largest magnitude is
    positive, and the matching right vector with it (scikit-learn's
    ``u_based_decision=True``).  This makes SVDs comparable across backends and runs.
    """
    xp = backend.array_namespace(U, Vt)
    idx = xp.argmax(xp.abs(U), axis=0)
    pivots = xp.take_along_axis(U, idx[None, :], axis=0)[0, :]
    signs = xp.where(pivots < 0, -xp.ones_like(pivots), xp.ones_like(pivots))
    return U * signs[None, :], Vt * signs[:, None]


def _svd_raw(A: Any, xp: ModuleType) -> tuple[Any, Any, Any]:
    if backend.is_numpy(xp):
        import scipy.linalg  # noqa: PLC0415

        try:
            return scipy.linalg.svd(A, full_matrices=False, check_finite=False, lapack_driver="gesdd")
        except scipy.linalg.LinAlgError:  # gesdd can fail to converge where gesvd does not
            return scipy.linalg.svd(A, full_matrices=False, check_finite=False, lapack_driver="gesvd")
    return xp.linalg.svd(A, full_matrices=False)


def svd(A: Any) -> SVDResult:
    """Thin SVD with descending singular values and the :func:`svd_flip` sign convention.

    Examples
    --------
    >>> import numpy as np
    >>> U, S, Vt = svd(np.diag([1.0, 3.0]))
    >>> S
    array([3., 1.])
    """
    A = check_array(A, "A", ndim=2)
    xp = backend.array_namespace(A)
    U, S, Vt = _svd_raw(A, xp)
    U, Vt = svd_flip(U, Vt)
    return SVDResult(U, S, Vt)


def truncated_svd(A: Any, rank: int) -> SVDResult:
    """Exact best rank-``rank`` SVD (full thin SVD, then truncation).

    Examples
    --------
    >>> import numpy as np
    >>> truncated_svd(np.diag([1.0, 3.0, 2.0]), 2).S
    array([3., 2.])
    """
    A = check_array(A, "A", ndim=2)
    rank = check_int(rank, "rank", low=1, high=min(A.shape), high_label="min(m, n)")
    U, S, Vt = svd(A)
    return SVDResult(U[:, :rank], S[:rank], Vt[:rank, :])


def randomized_svd(
    A: Any,
    rank: int,
    *,
    n_oversamples: int = 10,
    n_power_iter: int | str = "auto",
    rng: Any = None,
) -> SVDResult:
    """Approximate top-``rank`` SVD by randomized range finding (Halko, Martinsson, Tropp 2011).

    Draws a Gaussian test matrix ``Omega`` (n x (rank + n_oversamples)) on the host
    and moves it to ``A``'s device, forms ``Y = (A A^T)^q A Omega`` with a QR
    re-orthonormalization after *every* product (numerically stable even for
    ``q = 7``), then takes the exact SVD of the small matrix ``Q^T A``.

    Parameters
    ----------
    A : array, shape (m, n)
    rank : int
        Number of singular triplets, ``1 <= rank <= min(m, n)``.
    n_oversamples : int, default 10
        Extra test vectors ``p``; ``rank + p`` is clipped to ``min(m, n)``.
    n_power_iter : int or "auto"
        Power iterations ``q``.  ``"auto"`` follows scikit-learn: 7 if
        ``rank < 0.1 * min(m, n)``, else 4.
    rng : int, Generator or None
        Seed for the test matrix.  The same seed gives the same result on every backend.

    Returns
    -------
    SVDResult
        ``U`` (m x rank), ``S`` (rank,), ``Vt`` (rank x n) with the :func:`svd_flip` signs.

    Notes
    -----
    The rank-k error ``||A - U diag(S) Vt||_2 / sigma_{k+1}`` is at least 1
    (Eckart-Young); for slowly decaying spectra ``q >= 2`` brings it within ~1.1.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((60, 5)) @ rng.standard_normal((5, 40))
    >>> res = randomized_svd(A, 5, rng=1)
    >>> bool(np.allclose(res.S, np.linalg.svd(A, compute_uv=False)[:5]))
    True
    """
    A = check_array(A, "A", ndim=2)
    xp = backend.array_namespace(A)
    m, n = A.shape
    rank = check_int(rank, "rank", low=1, high=min(m, n), high_label="min(m, n)")
    n_oversamples = check_int(n_oversamples, "n_oversamples", low=0)
    if n_power_iter == "auto":
        n_power_iter = 7 if rank < 0.1 * min(m, n) else 4
    n_power_iter = check_int(n_power_iter, "n_power_iter", low=0)
    width = min(rank + n_oversamples, min(m, n))

    At = xp.matrix_transpose(A)
    omega = backend.random_normal((n, width), rng=rng, like=A)
    Q = _qr_q(A @ omega, xp)
    for _ in range(n_power_iter):
        Q = _qr_q(At @ Q, xp)
        Q = _qr_q(A @ Q, xp)
    B = xp.matrix_transpose(Q) @ A
    Ub, S, Vt = _svd_raw(B, xp)
    U = Q @ Ub[:, :rank]
    U, Vt = svd_flip(U, Vt[:rank, :])
    return SVDResult(U, S[:rank], Vt)
