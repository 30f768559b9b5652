"""Sylvester equations ``A X + X B = C`` and LU factorizations with partial pivoting.

Both are absent from the Array API standard.  NumPy takes SciPy's kernels
(``scipy.linalg.solve_sylvester``, Bartels-Stewart; ``scipy.linalg.lu``); every other
namespace (CuPy, ``array_api_strict``) takes a standard-only fallback:

* Sylvester: for symmetric ``A`` and ``B`` (the case of LoRA-Pro, whose coefficients
  are the Gram matrices ``B^T B`` and ``A A^T``), the eigendecompositions
  ``A = Q_a diag(a) Q_a^T``, ``B = Q_b diag(b) Q_b^T`` give
  ``X = Q_a [(Q_a^T C Q_b) / (a_i + b_j)] Q_b^T``; otherwise the Kronecker system
  ``(A (x) I + I (x) B^T) vec(X) = vec(C)`` (row-major ``vec``) is solved directly,
  which costs ``O((mn)^3)`` and is meant for the small ``r x r`` systems of adapters.
* LU: Doolittle elimination with partial pivoting, one column at a time (the pivot
  index is read on the host once per column: a factorization done once, at an
  adapter's initialization, never inside an iteration).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import backend
from .._validation import check_array, check_choice

__all__ = ["LUResult", "lu", "solve_sylvester"]

#: Methods of :func:`solve_sylvester`.
SYLVESTER_METHODS = ("auto", "scipy", "eigh", "kronecker")


def _is_symmetric(M: Any, xp: Any) -> bool:
    scale = float(xp.max(xp.abs(M))) if M.shape[0] else 0.0
    return bool(xp.all(xp.abs(M - xp.matrix_transpose(M)) <= 1e-12 * max(scale, 1.0)))


def _sylvester_eigh(A: Any, B: Any, C: Any, xp: Any) -> Any:
    a, Qa = xp.linalg.eigh(A)
    b, Qb = xp.linalg.eigh(B)
    Ct = xp.matrix_transpose(Qa) @ C @ Qb
    return Qa @ (Ct / (a[:, None] + b[None, :])) @ xp.matrix_transpose(Qb)


def _sylvester_kronecker(A: Any, B: Any, C: Any, xp: Any) -> Any:
    m, n = C.shape
    dev = backend.device(C)
    Im = xp.eye(m, dtype=C.dtype, device=dev)
    In = xp.eye(n, dtype=C.dtype, device=dev)
    # K[i, j, k, l] = A[i, k] delta[j, l] + delta[i, k] B[l, j]  (coefficient of X[k, l] in (AX + XB)[i, j])
    K = A[:, None, :, None] * In[None, :, None, :] + Im[:, None, :, None] * xp.matrix_transpose(B)[None, :, None, :]
    x = xp.linalg.solve(xp.reshape(K, (m * n, m * n)), xp.reshape(C, (m * n, 1)))
    return xp.reshape(x, (m, n))


def solve_sylvester(A: Any, B: Any, C: Any, *, method: str = "auto") -> Any:
    """Solve the Sylvester equation ``A X + X B = C`` for ``X`` (``m x n``).

    Parameters
    ----------
    A : array (m, m)
    B : array (n, n)
    C : array (m, n)
    method : {"auto", "scipy", "eigh", "kronecker"}
        ``"auto"``: SciPy's Bartels-Stewart solver on NumPy; elsewhere ``"eigh"`` when
        ``A`` and ``B`` are symmetric, else ``"kronecker"``.  ``"eigh"`` requires
        symmetric ``A`` and ``B``; ``"kronecker"`` solves the ``mn x mn`` linear system
        (small systems only).

    Returns
    -------
    array (m, n)
        In ``C``'s namespace.  The equation has a unique solution iff no eigenvalue of
        ``A`` is the negative of an eigenvalue of ``B``.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[2.0, 1.0], [1.0, 3.0]]); B = np.array([[1.0]]); C = np.array([[1.0], [2.0]])
    >>> X = solve_sylvester(A, B, C)
    >>> bool(np.allclose(A @ X + X @ B, C)), bool(np.allclose(X, solve_sylvester(A, B, C, method="eigh")))
    (True, True)
    """
    A = check_array(A, "A", ndim=2)
    B = check_array(B, "B", ndim=2)
    C = check_array(C, "C", ndim=2)
    method = check_choice(method, "method", SYLVESTER_METHODS)
    m, n = C.shape
    if A.shape != (m, m):
        raise ValueError(f"A must be square with C's row count ({m}, {m}), got shape {tuple(A.shape)}")
    if B.shape != (n, n):
        raise ValueError(f"B must be square with C's column count ({n}, {n}), got shape {tuple(B.shape)}")
    xp = backend.array_namespace(A, B, C)
    if method == "auto":
        if backend.is_numpy(xp):
            method = "scipy"
        else:
            method = "eigh" if _is_symmetric(A, xp) and _is_symmetric(B, xp) else "kronecker"
    if method == "scipy":
        if not backend.is_numpy(xp):
            raise ValueError(f"method='scipy' needs NumPy arrays, got {backend.backend_name(xp)}")
        import scipy.linalg  # noqa: PLC0415

        return scipy.linalg.solve_sylvester(A, B, C)
    if method == "eigh":
        if not (_is_symmetric(A, xp) and _is_symmetric(B, xp)):
            raise ValueError("method='eigh' needs symmetric A and B; use 'kronecker' for general ones")
        return _sylvester_eigh(A, B, C, xp)
    return _sylvester_kronecker(A, B, C, xp)


class LUResult(NamedTuple):
    """``A = P @ L @ U``: permutation ``P`` (m x m), unit lower-trapezoidal ``L`` (m x k), upper ``U`` (k x n)."""

    P: Any
    L: Any
    U: Any


def _lu_standard(A: Any, xp: Any) -> LUResult:
    m, n = A.shape
    k = min(m, n)
    dev = backend.device(A)
    U = xp.asarray(A, copy=True)
    L = xp.zeros((m, k), dtype=A.dtype, device=dev)
    perm = list(range(m))
    rows = xp.arange(m, device=dev)
    for j in range(k):
        col = xp.abs(U[j:, j])
        p = j + int(xp.argmax(col))  # host read: one per column
        if p != j:
            order = list(range(m))
            order[j], order[p] = p, j
            idx = xp.asarray(order, dtype=xp.int64, device=dev)
            U = xp.take(U, idx, axis=0)
            L = xp.take(L, idx, axis=0)
            perm[j], perm[p] = perm[p], perm[j]
        pivot = U[j, j]
        below = rows > j
        safe = xp.where(pivot == 0, xp.ones_like(pivot), pivot)
        factors = xp.where(below, U[:, j] / safe, xp.zeros_like(U[:, j]))
        factors = xp.where(pivot == 0, xp.zeros_like(factors), factors)
        U = U - factors[:, None] * U[j, :][None, :]
        onehot = xp.astype(xp.arange(k, device=dev) == j, A.dtype)
        L = L + factors[:, None] * onehot[None, :]
    L = L + xp.eye(m, k, dtype=A.dtype, device=dev)
    U = U[:k, :]
    # P[perm[i], i] = 1, so that A = P L U (row i of L U is row perm[i] of A)
    inv = xp.asarray(perm, dtype=xp.int64, device=dev)
    P = xp.astype(xp.arange(m, device=dev)[:, None] == inv[None, :], A.dtype)
    return LUResult(P, L, U * _upper(k, n, xp, A.dtype, dev))  # exact zeros below the diagonal


def _upper(k: int, n: int, xp: Any, dtype: Any, dev: Any) -> Any:
    return xp.astype(xp.arange(k, device=dev)[:, None] <= xp.arange(n, device=dev)[None, :], dtype)


def lu(A: Any) -> LUResult:
    """LU factorization with partial pivoting, ``A = P L U`` (SciPy's ``scipy.linalg.lu`` convention).

    Parameters
    ----------
    A : array (m, n)

    Returns
    -------
    LUResult
        ``P`` (m x m permutation), ``L`` (m x k, unit diagonal, lower trapezoidal) and
        ``U`` (k x n, upper trapezoidal), ``k = min(m, n)``.  Partial pivoting picks the
        largest remaining entry of each column, so ``|L| <= 1``; ties are broken by the
        first index (as LAPACK's ``getrf`` does), so both paths give the same factors.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 0.0]])
    >>> P, L, U = lu(A)
    >>> bool(np.allclose(P @ L @ U, A)), L.shape, U.shape, float(abs(L).max())
    (True, (3, 2), (2, 2), 1.0)
    """
    A = check_array(A, "A", ndim=2)
    xp = backend.array_namespace(A)
    if backend.is_numpy(xp):
        import scipy.linalg  # noqa: PLC0415

        P, L, U = scipy.linalg.lu(A)
        return LUResult(P.astype(A.dtype, copy=False), L, U)
    return _lu_standard(A, xp)
