"""Orthonormal bases and SVDs: sign convention, exact and randomized truncation (arrays or implicit operators)."""

from __future__ import annotations

from types import ModuleType
from typing import Any, NamedTuple

from .. import backend
from .._validation import check_array, check_arrays, check_int
from ._blas import NARROW_COLUMNS, one_blas_thread


class SVDResult(NamedTuple):
    """Thin SVD ``A = U @ diag(S) @ Vt`` with singular values in descending order."""

    U: Any
    S: Any
    Vt: Any



def _qr_q(A: Any, xp: ModuleType) -> Any:
    """Q factor of a thin QR (no sign convention)."""
    return _thin_qr(A, xp)[0]


def _thin_qr(A: Any, xp: ModuleType) -> tuple[Any, Any]:
    """Unchecked :func:`thin_qr`."""
    if backend.is_numpy(xp):
        import numpy as np  # noqa: PLC0415
        import scipy.linalg  # noqa: PLC0415

        A = np.asarray(A)
        with one_blas_thread(A.shape[1] <= NARROW_COLUMNS):
            Q, R = scipy.linalg.qr(A, mode="economic", check_finite=False)
        # a C-ordered Q keeps the next ``A @ Q`` product on the fast BLAS path (F-ordered: ~2x slower)
        return np.ascontiguousarray(Q), R
    return xp.linalg.qr(A, mode="reduced")


def thin_qr(A: Any) -> tuple[Any, Any]:
    """Thin QR ``A = Q R`` (``Q``: m x min(m, k) with orthonormal columns, ``R`` upper triangular).

    No sign convention (see :func:`orthonormalize` for a unique basis).  On NumPy it
    calls LAPACK through SciPy (3x faster than ``numpy.linalg.qr`` on tall-skinny
    panels) and runs panels of at most 64 columns on one BLAS thread, where more
    threads only spin (:func:`lowrank_lab.linalg._blas.one_blas_thread`); elsewhere it
    is ``xp.linalg.qr(A, mode="reduced")``.  Non-finite entries are not checked (no
    device synchronization): they propagate.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.arange(12.0).reshape(4, 3) + np.eye(4, 3)
    >>> Q, R = thin_qr(A)
    >>> Q.shape, R.shape, bool(np.allclose(Q @ R, A)), bool(np.allclose(Q.T @ Q, np.eye(3)))
    ((4, 3), (3, 3), True, True)
    """
    A = check_array(A, "A", ndim=2, finite=False)  # no host sync: solvers call it inside iterations
    return _thin_qr(A, backend.array_namespace(A))


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
    xp = check_arrays(U=U, Vt=Vt)
    idx = xp.argmax(xp.abs(U), axis=0)
    pivots = xp.take_along_axis(U, idx[None, :], axis=0)[0, :]
    signs = xp.where(pivots < 0, -xp.ones_like(pivots), xp.ones_like(pivots))
    return U * signs[None, :], Vt * signs[:, None]


def _svd_raw(A: Any, xp: ModuleType) -> tuple[Any, Any, Any]:
    if backend.is_numpy(xp):
        import scipy.linalg  # noqa: PLC0415

        with one_blas_thread(min(A.shape) <= NARROW_COLUMNS):
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
    m, n = A.shape
    rank = check_int(rank, "rank", low=1, high=min(m, n), high_label="min(m, n)")
    if n_power_iter == "auto":
        n_power_iter = 7 if rank < 0.1 * min(m, n) else 4
    xp = backend.array_namespace(A)
    At = xp.matrix_transpose(A)
    return randomized_svd_operator(
        lambda X: A @ X, lambda Y: At @ Y, (m, n), rank,
        like=A, n_oversamples=n_oversamples, n_power_iter=n_power_iter, rng=rng,
    )


def randomized_svd_operator(
    matmat: Any,
    rmatmat: Any,
    shape: tuple[int, int],
    rank: int,
    *,
    like: Any,
    n_oversamples: int = 10,
    n_power_iter: int = 4,
    rng: Any = None,
    start: Any = None,
) -> SVDResult:
    """Randomized top-``rank`` SVD of an implicit ``m x n`` operator (Halko et al. 2011).

    The operator is given by its products: ``matmat(X) = A @ X`` (X: n x s) and
    ``rmatmat(Y) = A^T @ Y`` (Y: m x s); this is how sparse-plus-low-rank matrices
    (``P_Omega(M - X) + U V^T`` in SoftImpute and SVT) are decomposed without being
    formed.  The algorithm is that of :func:`randomized_svd`: Gaussian test matrix
    drawn on the host and moved next to ``like``, ``n_power_iter`` rounds of
    ``A A^T`` with a QR after every product, then the exact SVD of the small
    ``A^T Q``.

    Parameters
    ----------
    matmat, rmatmat : callable
    shape : (int, int)
    rank : int
    like : array
        Any array in the target namespace and device (fixes where the test matrix goes).
    n_oversamples, n_power_iter : int
    rng : int, Generator or None
    start : array (m x s), optional
        A previous left basis to warm-start the range (subspace iteration): its
        columns replace the first ``s`` random test vectors.

    Returns
    -------
    SVDResult
        With the :func:`svd_flip` sign convention.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.diag([3.0, 2.0, 1.0, 0.5])
    >>> res = randomized_svd_operator(lambda X: A @ X, lambda Y: A.T @ Y, A.shape, 2, like=A, rng=0)
    >>> np.round(res.S, 12)
    array([3., 2.])
    """
    m, n = (int(d) for d in shape)
    rank = check_int(rank, "rank", low=1, high=min(m, n), high_label="min(m, n)")
    n_oversamples = check_int(n_oversamples, "n_oversamples", low=0)
    n_power_iter = check_int(n_power_iter, "n_power_iter", low=0)
    xp = check_arrays(like=like)
    if start is not None:
        start = check_array(start, "start", ndim=2, finite=False)  # no device sync: called in loops
        if start.shape[0] != m:
            raise ValueError(f"start must have {m} rows (a left basis), got shape {tuple(start.shape)}")
    width = min(rank + n_oversamples, m, n)
    if start is None:
        Y = matmat(backend.random_normal((n, width), rng=rng, like=like))
    else:
        Y = start[:, :width] if start.shape[1] > width else start
        extra = width - Y.shape[1]
        if extra > 0:
            Y = xp.concat([Y, matmat(backend.random_normal((n, extra), rng=rng, like=like))], axis=1)
    Q = _qr_q(Y, xp)
    for _ in range(n_power_iter):
        Q = _qr_q(rmatmat(Q), xp)
        Q = _qr_q(matmat(Q), xp)
    Bt = rmatmat(Q)  # n x width = (Q^T A)^T
    Vb, S, Ubt = _svd_raw(Bt, xp)  # Q^T A = Ubt^T diag(S) Vb^T
    U = Q @ xp.matrix_transpose(Ubt[:rank, :])
    U, Vt = svd_flip(U, xp.matrix_transpose(Vb[:, :rank]))
    return SVDResult(U, S[:rank], Vt)
