"""One entry point for a top-``k`` SVD, whichever method computes it.

Solvers that need a partial SVD (SoftImpute, SVT, spectral initializations, gradient
projections) take a ``svd_method`` option and pass it here, so a user chooses between
the randomized sketch and the iterative method without the solver knowing either.
"""

from __future__ import annotations

from typing import Any

from .._validation import check_choice, check_options
from ._krylov import PartialSVDResult, krylov_svd, krylov_svd_operator
from ._svd import SVDResult, randomized_svd, randomized_svd_operator, truncated_svd

#: Methods of :func:`partial_svd_operator` and what each is for.
OPERATOR_METHODS = {
    "randomized": randomized_svd_operator,   # fixed cost, accuracy set by n_power_iter
    "krylov": krylov_svd_operator,           # iterates until the residuals meet tol
}
#: Methods of :func:`partial_svd`: the operator methods plus the exact SVD.
METHODS = {"exact": truncated_svd, "randomized": randomized_svd, "krylov": krylov_svd}


def partial_svd_operator(
    matmat: Any,
    rmatmat: Any,
    shape: tuple[int, int],
    rank: int,
    *,
    like: Any,
    method: str = "randomized",
    **options: Any,
) -> SVDResult | PartialSVDResult:
    """Top-``rank`` SVD of an implicit operator by ``method``; unpacks as ``U, S, Vt``.

    Parameters
    ----------
    matmat, rmatmat, shape, rank, like
        As in :func:`~lowrank_lab.linalg.randomized_svd_operator`.
    method : {"randomized", "krylov"}
        ``"randomized"``: :func:`~lowrank_lab.linalg.randomized_svd_operator` (a fixed
        number of products; options ``n_oversamples``, ``n_power_iter``, ``rng``, ``start``).
        ``"krylov"``: :func:`~lowrank_lab.linalg.krylov_svd_operator` (iterates to a
        tolerance; options ``tol``, ``block_size``, ``max_basis``, ``max_iter``, ``rng``,
        ``start``, ``callback``, ``verify``).  Both take ``start`` as a previous left basis.
    **options
        Keyword options of the chosen method; an option the method does not take is a
        ``TypeError`` naming it.

    Returns
    -------
    SVDResult or PartialSVDResult
        Both unpack as ``U, S, Vt``; the Krylov result also carries its residuals.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.diag([3.0, 2.0, 1.0, 0.5] + [0.1] * 60)
    >>> U, S, Vt = partial_svd_operator(lambda X: A @ X, lambda Y: A.T @ Y, A.shape, 2, like=A,
    ...                                 method="krylov", tol=1e-12, rng=0)
    >>> np.round(S, 12)
    array([3., 2.])
    """
    method = check_choice(method, "method", tuple(OPERATOR_METHODS))
    fn = OPERATOR_METHODS[method]
    options = check_options(fn, options, exclude=("matmat", "rmatmat", "shape", "rank", "like"))
    return fn(matmat, rmatmat, shape, rank, like=like, **options)


def partial_svd(A: Any, rank: int, *, method: str = "randomized", **options: Any) -> SVDResult | PartialSVDResult:
    """Top-``rank`` SVD of a matrix by ``method``; unpacks as ``U, S, Vt``.

    Parameters
    ----------
    A : array (m, n)
        A SciPy / CuPy sparse matrix too for ``method="krylov"``.
    rank : int
    method : {"randomized", "krylov", "exact"}
        :func:`~lowrank_lab.linalg.randomized_svd`, :func:`~lowrank_lab.linalg.krylov_svd`
        or :func:`~lowrank_lab.linalg.truncated_svd` (full SVD, then truncation).
    **options
        Keyword options of the chosen method (``TypeError`` for one it does not take).

    Returns
    -------
    SVDResult or PartialSVDResult

    Examples
    --------
    >>> import numpy as np
    >>> A = np.diag([3.0, 2.0, 1.0] + [0.5] * 40)
    >>> [float(s) for s in partial_svd(A, 2, method="exact").S]
    [3.0, 2.0]
    """
    method = check_choice(method, "method", tuple(METHODS))
    fn = METHODS[method]
    options = check_options(fn, options, exclude=("A", "rank"))
    return fn(A, rank, **options)
