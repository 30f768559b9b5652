"""Ground truths shared by the labs: low-rank matrices with a prescribed spectrum, coherent truths, incoherence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import backend
from ._validation import check_array, check_float, check_int, check_memory
from .linalg import orthonormalize

__all__ = ["LowRankMatrix", "coherent_low_rank_matrix", "incoherence", "low_rank_matrix"]


@dataclass(frozen=True, repr=False)
class LowRankMatrix:
    """A rank-r matrix ``M = U diag(S) V^T`` and its factors.

    Attributes
    ----------
    matrix : array (m, n)
    left : array (m, r)
        Orthonormal left singular vectors ``U``.
    singular_values : array (r,)
        ``S``, descending.
    right : array (n, r)
        Orthonormal right singular vectors ``V`` (``V is U`` for PSD matrices).
    """

    matrix: Any
    left: Any
    singular_values: Any
    right: Any

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.matrix.shape)

    @property
    def rank(self) -> int:
        return int(self.singular_values.shape[0])

    @property
    def condition_number(self) -> float:
        """``sigma_1 / sigma_r``."""
        s = backend.to_numpy(self.singular_values)
        return float(s[0] / s[-1])

    def balanced_factors(self) -> tuple[Any, Any]:
        """``(U S^{1/2}, V S^{1/2})``, so that ``M = F @ G.T`` with ``F^T F = G^T G``."""
        xp = backend.array_namespace(self.matrix)
        root = xp.sqrt(self.singular_values)
        return self.left * root[None, :], self.right * root[None, :]

    def __repr__(self) -> str:
        m, n = self.shape
        return f"LowRankMatrix(shape=({m}, {n}), rank={self.rank}, condition_number={self.condition_number:.3g})"


def low_rank_matrix(
    m: int,
    n: int,
    rank: int,
    *,
    condition_number: float = 1.0,
    spectrum: Any = None,
    psd: bool = False,
    rng: Any = None,
    like: Any = None,
    xp: Any = None,
) -> LowRankMatrix:
    """Random rank-``rank`` matrix with Haar-like (incoherent) singular vectors.

    ``U`` and ``V`` are the Q factors of independent Gaussian matrices (drawn on
    the host, then orthonormalized on the target device), so they are incoherent
    with high probability.  The singular values are ``spectrum`` if given, else
    linearly spaced from 1 down to ``1 / condition_number`` (the convention of
    Tong, Ma and Chi's ScaledGD experiments), so ``sigma_1 = 1``.

    Parameters
    ----------
    m, n : int
        Shape.  ``psd=True`` needs ``m == n``.
    rank : int
        ``1 <= rank <= min(m, n)``.
    condition_number : float, default 1.0
        ``kappa = sigma_1 / sigma_r >= 1``; ignored when ``spectrum`` is given.
    spectrum : array-like of length ``rank``, optional
        Positive singular values (sorted into descending order).
    psd : bool, default False
        Symmetric positive semidefinite ``M = U diag(S) U^T``.
    rng : int, Generator or None
        Random stream; the same seed gives the same matrix on every backend.
    like : array, optional
        Put the result in this array's namespace and on its device.
    xp : namespace, optional
        Alternatively, the target namespace (default NumPy).

    Examples
    --------
    >>> M = low_rank_matrix(30, 20, 3, condition_number=10.0, rng=0)
    >>> M.shape, M.rank, round(M.condition_number, 6)
    ((30, 20), 3, 10.0)
    >>> import numpy as np
    >>> int(np.linalg.matrix_rank(M.matrix))
    3
    """
    m = check_int(m, "m", low=1)
    n = check_int(n, "n", low=1)
    rank = check_int(rank, "rank", low=1, high=min(m, n), high_label="min(m, n)")
    _check_dense_memory(m, n, rank)
    if psd and m != n:
        raise ValueError(f"psd=True needs a square matrix, got m={m}, n={n}")
    if spectrum is None:
        condition_number = check_float(condition_number, "condition_number", low=1.0)
        host_s = np.linspace(1.0, 1.0 / condition_number, rank)
    else:
        host_s = backend.to_numpy(check_array(spectrum, "spectrum", ndim=1))
        if host_s.shape[0] != rank:
            raise ValueError(f"spectrum must have length rank={rank}, got {host_s.shape[0]}")
        if np.any(host_s <= 0):
            raise ValueError("spectrum must be positive (use a smaller rank for zero singular values)")
        host_s = np.sort(host_s)[::-1].copy()
    gen = backend.as_generator(rng)
    if like is None and xp is None:
        xp = backend.get_namespace("numpy")
    left = orthonormalize(backend.random_normal((m, rank), rng=gen, xp=xp, like=like))
    if psd:
        right = left
    else:
        right = orthonormalize(backend.random_normal((n, rank), rng=gen, xp=xp, like=like))
    S = backend.asarray(host_s, xp=xp, like=like, dtype=left.dtype)
    xp_ = backend.array_namespace(left)
    matrix = (left * S[None, :]) @ xp_.matrix_transpose(right)
    return LowRankMatrix(matrix=matrix, left=left, singular_values=S, right=right)


def _check_dense_memory(m: int, n: int, rank: int) -> None:
    """Refuse a dense ``m x n`` ground truth above the memory limit (float64 matrix plus factors)."""
    check_memory(
        8 * (m * n + 2 * (m + n) * rank), "m, n", f"a dense {m} x {n} matrix (float64) and its rank-{rank} factors",
        hint="keep large truths as factors, e.g. completion.sample_entries((F, G), ...)",
    )


# ---------------------------------------------------------------------- #
# coherence
# ---------------------------------------------------------------------- #
def incoherence(U: Any) -> float:
    """Standard incoherence ``mu(U) = (m/k) max_i ||e_i^T Q||^2`` of the column space of ``U``.

    ``Q`` is an orthonormal basis of ``span(U)``; ``mu`` lies in ``[1, m/k]``
    (Candès & Recht 2009).

    Examples
    --------
    >>> import numpy as np
    >>> round(incoherence(np.ones((4, 1))), 6), round(incoherence(np.eye(4)[:, :1]), 6)
    (1.0, 4.0)
    """
    U = check_array(U, "U", ndim=2)
    xp = backend.array_namespace(U)
    m, k = U.shape
    Q = orthonormalize(U)
    return float(m / k * xp.max(xp.sum(Q * Q, axis=1)))


def coherent_low_rank_matrix(
    m: int,
    n: int,
    rank: int,
    *,
    exponent: float = 1.0,
    both_sides: bool = False,
    condition_number: float = 1.0,
    rng: Any = None,
    like: Any = None,
    xp: Any = None,
) -> LowRankMatrix:
    """Rank-``rank`` matrix whose left singular vectors have power-law row norms.

    The rows of a Gaussian ``m x k`` matrix are scaled by ``w_i = i^(-exponent)``
    (in a random order), then orthonormalized, so a few rows carry most of the
    energy: ``exponent = 0`` gives the incoherent :func:`low_rank_matrix` model and
    ``mu(U)`` grows with ``exponent`` towards ``m/k`` (study C's "coherence
    control"; the power-law construction is ours).  ``both_sides`` does the same
    to ``V``.  Singular values are linearly spaced from 1 to ``1/condition_number``.

    Examples
    --------
    >>> flat = coherent_low_rank_matrix(200, 100, 3, exponent=0.0, rng=0)
    >>> heavy = coherent_low_rank_matrix(200, 100, 3, exponent=1.0, rng=0)
    >>> bool(incoherence(heavy.left) > 5 * incoherence(flat.left))
    True
    """
    m = check_int(m, "m", low=1)
    n = check_int(n, "n", low=1)
    rank = check_int(rank, "rank", low=1, high=min(m, n), high_label="min(m, n)")
    _check_dense_memory(m, n, rank)
    exponent = check_float(exponent, "exponent", low=0.0)
    condition_number = check_float(condition_number, "condition_number", low=1.0)
    gen = backend.as_generator(rng)
    if like is None and xp is None:
        xp = backend.get_namespace("numpy")

    def side(size: int, heavy: bool) -> Any:
        host = gen.standard_normal((size, rank))
        if heavy and exponent > 0:
            weights = np.arange(1, size + 1, dtype=np.float64) ** (-exponent)
            host *= gen.permutation(weights)[:, None]
        return orthonormalize(backend.asarray(host, xp=xp, like=like, dtype=None))

    left = side(m, True)
    right = side(n, both_sides)
    host_s = np.linspace(1.0, 1.0 / condition_number, rank)
    S = backend.asarray(host_s, like=left, dtype=left.dtype)
    xp_ = backend.array_namespace(left)
    matrix = (left * S[None, :]) @ xp_.matrix_transpose(right)
    return LowRankMatrix(matrix=matrix, left=left, singular_values=S, right=right)
