"""Matrix sensing problems: Gaussian measurement operators, noise and outliers.

A sensing problem observes an unknown ``n1 x n2`` matrix ``M*`` through ``m``
linear measurements ``y_i = <A_i, M*> + s_i``.  The operator stores the ``A_i`` as
the rows of an ``m x (n1 * n2)`` matrix (Xiong, Ding & Du 2024), with ``vec`` the
row-major (C-order) flattening: ``vec(X)[i * n2 + j] = X[i, j]``.  Then

* ``apply(X) = A @ vec(X)`` (``(n1, n2) -> (m,)``), and
* ``adjoint(y) = reshape(A.T @ y)`` (``(m,) -> (n1, n2)``), so that
  ``<apply(X), y> = <X, adjoint(y)>``.

Conventions
-----------
* **Entries.**  Non-symmetric sensing draws the entries of each ``A_i`` i.i.d.
  ``N(0, 1)`` (study A).  Symmetric sensing (square truth) uses
  ``A_i = (Z_i + Z_i^T) / 2`` with ``Z_i`` i.i.d. ``N(0, 1)`` (study B); it only
  sees the symmetric part of a matrix.  For a symmetric ``X`` both give
  ``E <A_i, X>^2 = ||X||_F^2``.
* **Loss weight.**  Solvers normalize sums over measurements by
  :attr:`GaussianOperator.loss_weight` ``= 1/m`` (e.g. ``f = (1/4m) sum r_i^2``), so
  that ``loss_weight * A^* A`` is the identity in expectation.  The
  :class:`IdentityOperator` (``fully_observed``: the sanity variant of study A2)
  observes every entry, ``apply(X) = vec(X)``, and has ``loss_weight = 1``: the
  loss is then ``(1/4) ||X X^T - M*||_F^2`` exactly.
* **Noise.**  ``s_i = noise_std * N(0, 1)`` on every measurement, plus gross
  outliers on exactly ``round(outlier_fraction * m)`` measurements chosen at random:
  ``+- outlier_scale * median_i |<A_i, M*>|`` with random signs (study B2's
  "+-100 median|y|").
* **Random numbers** are drawn on the host from the ``rng`` stream (truth first,
  if it is generated elsewhere it is not touched; then the operator in row
  chunks, then the outlier positions, signs and the dense noise) and moved to the
  truth's namespace and device, so the same seed gives the same problem on every
  backend.
* **Memory.**  The operator holds ``m * n1 * n2`` floats.  Its size is estimated
  before anything is allocated and the construction is refused with a clear
  message when it exceeds ``max_bytes`` (default: the library's memory limit,
  :func:`lowrank_lab._validation.check_memory`); it is generated on the
  host in row chunks of at most ~64 MiB, so the host never holds a second copy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import backend
from .._validation import check_array, check_arrays, check_float, check_int, check_memory
from ..matrices import LowRankMatrix

__all__ = [
    "DEFAULT_MAX_BYTES",
    "GaussianOperator",
    "IdentityOperator",
    "SensingProblem",
    "fully_observed",
    "gaussian_sensing",
    "sensing_operator_nbytes",
]

#: Former default limit on a stored Gaussian operator (2 GiB); the default is now the
#: library's memory limit (:func:`lowrank_lab._validation.memory_limit`).
DEFAULT_MAX_BYTES = 2 * 2**30

_CHUNK_BYTES = 64 * 2**20


# --------------------------------------------------------------------------- #
# operators
# --------------------------------------------------------------------------- #
@dataclass(frozen=True, repr=False)
class GaussianOperator:
    """Linear measurement operator ``X -> (<A_i, X>)_i`` stored as an ``m x (n1 n2)`` matrix.

    Attributes
    ----------
    matrix : array, shape (m, n1 * n2)
        Row ``i`` is ``vec(A_i)`` (row-major).
    shape : tuple of int
        ``(n1, n2)``, the shape of the matrices it measures.
    symmetric : bool
        Whether every ``A_i`` is symmetric (then only the symmetric part of ``X``
        is observed).
    """

    matrix: Any
    shape: tuple[int, int]
    symmetric: bool = False

    def __post_init__(self) -> None:
        check_arrays(matrix=self.matrix)  # a type check only: the generators validated the values

    @property
    def n_measurements(self) -> int:
        """``m``."""
        return int(self.matrix.shape[0])

    @property
    def loss_weight(self) -> float:
        """``1/m``: the weight of sums over measurements in the losses (study A2/B2)."""
        return 1.0 / self.n_measurements

    @property
    def nbytes(self) -> int:
        """Bytes of operator data (what one ``apply`` or ``adjoint`` reads)."""
        return int(math.prod(self.matrix.shape) * _itemsize(self.matrix.dtype))

    @property
    def observes_all(self) -> bool:
        """False if some matrices are invisible to the operator (symmetric sensing)."""
        return not self.symmetric

    def apply(self, X: Any) -> Any:
        """Measurements ``(<A_i, X>)_i`` of an ``n1 x n2`` matrix, shape ``(m,)``."""
        xp = backend.array_namespace(self.matrix)
        return self.matrix @ xp.reshape(X, (-1,))

    def adjoint(self, y: Any) -> Any:
        """``sum_i y_i A_i``, an ``n1 x n2`` matrix."""
        xp = backend.array_namespace(self.matrix)
        return xp.reshape(y @ self.matrix, self.shape)

    def __repr__(self) -> str:
        return (
            f"GaussianOperator(m={self.n_measurements}, shape={self.shape}, symmetric={self.symmetric}, "
            f"nbytes={self.nbytes / 2**20:.3g} MiB)"
        )


@dataclass(frozen=True, repr=False)
class IdentityOperator:
    """The fully observed "operator" ``X -> vec(X)`` (study A2's sanity variant).

    ``loss_weight = 1`` so that, e.g., the asymmetric loss is
    ``(1/2) ||F G^T - M*||_F^2``.  It stores nothing and costs nothing to apply.
    """

    shape: tuple[int, int]
    symmetric: bool = False

    @property
    def n_measurements(self) -> int:
        """``n1 * n2``."""
        return int(self.shape[0] * self.shape[1])

    @property
    def loss_weight(self) -> float:
        """``1``: the losses are plain Frobenius norms."""
        return 1.0

    @property
    def nbytes(self) -> int:
        """No operator data."""
        return 0

    @property
    def observes_all(self) -> bool:
        """Always True."""
        return True

    def apply(self, X: Any) -> Any:
        """``vec(X)`` (row-major)."""
        xp = backend.array_namespace(X)
        return xp.reshape(X, (-1,))

    def adjoint(self, y: Any) -> Any:
        """``y`` reshaped to ``(n1, n2)``."""
        xp = backend.array_namespace(y)
        return xp.reshape(y, self.shape)

    def __repr__(self) -> str:
        return f"IdentityOperator(shape={self.shape})"


# --------------------------------------------------------------------------- #
# the problem
# --------------------------------------------------------------------------- #
@dataclass(frozen=True, repr=False)
class SensingProblem:
    """Measurements of a matrix through a linear operator, with the truth when known.

    Attributes
    ----------
    operator : GaussianOperator or IdentityOperator
        Has ``apply(X)``, ``adjoint(y)``, ``shape``, ``n_measurements``, ``loss_weight``.
    measurements : array, shape (m,)
        ``y = apply(M*) + corruption``.
    truth : LowRankMatrix, array or None
        The matrix ``M*`` (with its factors when a :class:`LowRankMatrix`).
    corruption : array, shape (m,)
        ``s = y - apply(M*)``: dense noise plus outliers (zeros when clean).
    outlier_mask : array of bool, shape (m,)
        Which measurements carry a gross outlier.
    psd : bool
        Whether the truth is symmetric positive semidefinite (solvers then default
        to the symmetric parameterization ``X X^T``).
    noise_std, outlier_fraction, outlier_scale : float
        How the corruption was generated.
    """

    operator: Any
    measurements: Any
    truth: Any = None
    corruption: Any = None
    outlier_mask: Any = None
    psd: bool = False
    noise_std: float = 0.0
    outlier_fraction: float = 0.0
    outlier_scale: float = 0.0

    def __post_init__(self) -> None:
        if not (hasattr(self.operator, "apply") and hasattr(self.operator, "adjoint")):
            raise TypeError(f"operator must have apply and adjoint methods, got {type(self.operator).__name__}")
        optional = {"corruption": self.corruption, "outlier_mask": self.outlier_mask}
        check_arrays(measurements=self.measurements, **{k: v for k, v in optional.items() if v is not None})

    @property
    def shape(self) -> tuple[int, int]:
        """``(n1, n2)``."""
        return tuple(self.operator.shape)

    @property
    def n_measurements(self) -> int:
        """``m``."""
        return int(self.measurements.shape[0])

    @property
    def symmetric(self) -> bool:
        """Whether the operator only sees symmetric parts (symmetric sensing matrices)."""
        return bool(self.operator.symmetric)

    @property
    def truth_matrix(self) -> Any:
        """``M*`` as an array (None when unknown)."""
        if self.truth is None:
            return None
        return self.truth.matrix if isinstance(self.truth, LowRankMatrix) else self.truth

    @property
    def rank(self) -> int | None:
        """Rank of the truth (from its factors, or numerically), None when unknown."""
        if self.truth is None:
            return None
        if isinstance(self.truth, LowRankMatrix):
            return self.truth.rank
        return int(np.linalg.matrix_rank(backend.to_numpy(self.truth)))

    def relative_error(self, X: Any) -> float:
        """``||X - M*||_F / ||M*||_F`` as a host float (NaN when the truth is unknown).

        Examples
        --------
        >>> from lowrank_lab.matrices import low_rank_matrix
        >>> M = low_rank_matrix(6, 6, 2, psd=True, rng=0)
        >>> problem = gaussian_sensing(M, 40, rng=1)
        >>> problem.relative_error(M.matrix)
        0.0
        """
        M = self.truth_matrix
        if M is None:
            return math.nan
        xp = backend.array_namespace(M)
        diff = xp.linalg.matrix_norm(X - M)
        return float(diff / xp.linalg.matrix_norm(M))

    def __repr__(self) -> str:
        n1, n2 = self.shape
        n_out = 0 if self.outlier_mask is None else int(backend.to_numpy(self.outlier_mask).sum())
        return (
            f"SensingProblem(shape=({n1}, {n2}), m={self.n_measurements}, operator={type(self.operator).__name__}, "
            f"symmetric={self.symmetric}, psd={self.psd}, noise_std={self.noise_std:g}, outliers={n_out})"
        )


# --------------------------------------------------------------------------- #
# constructors
# --------------------------------------------------------------------------- #
def sensing_operator_nbytes(n_measurements: int, shape: tuple[int, int], dtype: Any = None) -> int:
    """Bytes a stored Gaussian operator takes: ``m * n1 * n2 * itemsize``.

    Examples
    --------
    >>> sensing_operator_nbytes(500, (50, 50))
    10000000
    """
    itemsize = 8 if dtype is None else _itemsize(dtype)
    return int(n_measurements) * int(shape[0]) * int(shape[1]) * itemsize


def gaussian_sensing(
    truth: Any,
    n_measurements: int,
    *,
    symmetric: bool | None = None,
    noise_std: float = 0.0,
    outlier_fraction: float = 0.0,
    outlier_scale: float = 100.0,
    rng: Any = None,
    dtype: Any = None,
    max_bytes: int | None = None,
) -> SensingProblem:
    """Gaussian linear measurements ``y_i = <A_i, M*> + s_i`` of a matrix.

    Parameters
    ----------
    truth : LowRankMatrix or array, shape (n1, n2)
        The matrix to measure (see :func:`lowrank_lab.matrices.low_rank_matrix`).
        The problem lives in its namespace and on its device.
    n_measurements : int
        ``m >= 1``.
    symmetric : bool, optional
        Symmetric sensing matrices ``A_i = (Z_i + Z_i^T)/2`` (study B) instead of
        i.i.d. Gaussian entries (study A).  Default: True when the truth is square
        and exactly symmetric (a PSD :class:`LowRankMatrix`, or an array equal to
        its transpose), else False.  Pass ``symmetric=False`` to fit a symmetric
        truth with the asymmetric ``F G^T`` model (study A, figure A-2): symmetric
        sensing cannot see the antisymmetric part of ``F G^T``.
    noise_std : float, default 0
        Standard deviation of dense Gaussian noise on every measurement.
    outlier_fraction : float in [0, 1], default 0
        Fraction of measurements (exactly ``round(outlier_fraction * m)``, chosen
        at random) that carry a gross outlier.
    outlier_scale : float, default 100
        Outlier magnitude in units of ``median_i |<A_i, M*>|``; signs are random.
    rng : int, Generator or None
        Random stream.  The same seed gives the same problem on every backend.
    dtype : dtype, optional
        Floating dtype of the operator and measurements (default: the truth's).
    max_bytes : int or None, default None
        Refuse (:class:`~lowrank_lab._validation.MemoryLimitError`, a ``ValueError``) to
        build an operator larger than this many bytes; None: the library's memory limit
        (``LOWRANK_MEMORY_LIMIT``, default half the physical memory; see
        :func:`lowrank_lab._validation.check_memory`).

    Returns
    -------
    SensingProblem

    Examples
    --------
    >>> from lowrank_lab.matrices import low_rank_matrix
    >>> M = low_rank_matrix(10, 10, 2, psd=True, rng=0)
    >>> problem = gaussian_sensing(M, 100, outlier_fraction=0.1, rng=1)
    >>> problem.n_measurements, problem.symmetric, problem.psd
    (100, True, True)
    >>> int(problem.outlier_mask.sum())
    10
    >>> y = problem.measurements; AX = problem.operator.apply(M.matrix)
    >>> bool(abs((y - AX))[~problem.outlier_mask].max() < 1e-12)
    True
    """
    M, psd, is_symmetric = _check_truth(truth)
    xp = backend.array_namespace(M)
    n1, n2 = (int(d) for d in M.shape)
    m = check_int(n_measurements, "n_measurements", low=1)
    if symmetric is None:
        symmetric = is_symmetric
    elif not isinstance(symmetric, (bool, np.bool_)):
        raise TypeError(f"symmetric must be True, False or None, got {symmetric!r}")
    symmetric = bool(symmetric)
    if symmetric and n1 != n2:
        raise ValueError(f"symmetric=True needs a square truth, got shape ({n1}, {n2})")
    noise_std, outlier_fraction, outlier_scale = _check_noise(noise_std, outlier_fraction, outlier_scale)
    if dtype is None:
        dtype = M.dtype
    if not xp.isdtype(dtype, "real floating"):
        raise ValueError(f"dtype must be a real floating dtype, got {dtype}")
    need = sensing_operator_nbytes(m, (n1, n2), dtype)
    if max_bytes is not None:
        max_bytes = check_int(max_bytes, "max_bytes", low=0)
    check_memory(
        need, "n_measurements",
        f"the Gaussian operator (n_measurements={m} x n1*n2={n1 * n2} floats)", limit=max_bytes,
        limit_name="max_bytes",
        hint="use fewer n_measurements, a smaller truth, dtype=float32, fully_observed(...), or raise max_bytes",
    )
    gen = backend.as_generator(rng)
    A = _gaussian_matrix(gen, m, n1, n2, symmetric, xp, M, dtype)
    operator = GaussianOperator(matrix=A, shape=(n1, n2), symmetric=symmetric)
    M_cast = xp.astype(M, dtype)
    clean = operator.apply(M_cast)
    return _corrupt(operator, clean, truth, M_cast, psd, gen, noise_std, outlier_fraction, outlier_scale)


def fully_observed(
    truth: Any,
    *,
    noise_std: float = 0.0,
    outlier_fraction: float = 0.0,
    outlier_scale: float = 100.0,
    rng: Any = None,
) -> SensingProblem:
    """Every entry of the truth observed once: the identity "sensing" operator.

    The cheap sanity variant of study A2 (used for the long ``10^5``-step runs).
    Noise and outliers follow :func:`gaussian_sensing` (with ``A_i`` the unit
    matrices, so the outlier magnitude is relative to ``median |M*_ij|``).

    Examples
    --------
    >>> from lowrank_lab.matrices import low_rank_matrix
    >>> problem = fully_observed(low_rank_matrix(5, 4, 2, rng=0))
    >>> problem.n_measurements, problem.operator.loss_weight
    (20, 1.0)
    """
    M, psd, _ = _check_truth(truth)
    noise_std, outlier_fraction, outlier_scale = _check_noise(noise_std, outlier_fraction, outlier_scale)
    operator = IdentityOperator(shape=(int(M.shape[0]), int(M.shape[1])))
    gen = backend.as_generator(rng)
    clean = operator.apply(M)
    return _corrupt(operator, clean, truth, M, psd, gen, noise_std, outlier_fraction, outlier_scale)


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #
def _itemsize(dtype: Any) -> int:
    try:
        return int(np.dtype(dtype).itemsize)
    except TypeError:  # array_api_strict / cupy dtypes
        name = str(dtype)
        return 4 if "32" in name else 2 if "16" in name else 8


def _check_truth(truth: Any) -> tuple[Any, bool, bool]:
    """The truth matrix, whether it is PSD and whether it is exactly symmetric."""
    if isinstance(truth, LowRankMatrix):
        M = check_array(truth.matrix, "truth", ndim=2)
        psd = truth.right is truth.left
        return M, psd, psd
    M = check_array(truth, "truth", ndim=2)
    if M.shape[0] != M.shape[1]:
        return M, False, False
    host = backend.to_numpy(M)
    symmetric = bool(np.array_equal(host, host.T))
    psd = False
    if symmetric:
        evals = np.linalg.eigvalsh(host)
        # round-off of the dtype, as NumPy's matrix_rank: n * eps * |lambda|_max (float32: ~1e-7 n)
        tol = host.shape[0] * np.finfo(host.dtype).eps * max(float(abs(evals).max()), 1e-300)
        psd = bool(evals.min() >= -tol)
    return M, psd, symmetric


def _check_noise(noise_std: Any, outlier_fraction: Any, outlier_scale: Any) -> tuple[float, float, float]:
    noise_std = check_float(noise_std, "noise_std", low=0.0)
    outlier_fraction = check_float(outlier_fraction, "outlier_fraction", low=0.0, high=1.0)
    outlier_scale = check_float(outlier_scale, "outlier_scale", low=0.0)
    return noise_std, outlier_fraction, outlier_scale


def _gaussian_matrix(gen, m, n1, n2, symmetric, xp, like, dtype):
    """The m x (n1 n2) operator, drawn on the host in row chunks and filled in on the device."""
    N = n1 * n2
    rows = max(1, _CHUNK_BYTES // (8 * N))
    if rows >= m:
        return backend.asarray(_gaussian_rows(gen, m, n1, n2, symmetric), like=like, dtype=dtype)
    A = xp.empty((m, N), dtype=dtype, device=backend.device(like))
    for start in range(0, m, rows):
        stop = min(start + rows, m)
        A[start:stop, :] = backend.asarray(_gaussian_rows(gen, stop - start, n1, n2, symmetric), like=like, dtype=dtype)
    return A


def _gaussian_rows(gen, count, n1, n2, symmetric):
    Z = gen.standard_normal((count, n1, n2))
    if symmetric:
        Z = 0.5 * (Z + np.swapaxes(Z, 1, 2))
    return Z.reshape(count, n1 * n2)


def _corrupt(operator, clean, truth, M, psd, gen, noise_std, outlier_fraction, outlier_scale) -> SensingProblem:
    """Add outliers and dense noise (drawn on the host) to clean measurements."""
    m = int(clean.shape[0])
    host_clean = backend.to_numpy(clean)
    s = np.zeros(m)
    mask = np.zeros(m, dtype=bool)
    n_out = int(round(outlier_fraction * m))
    if n_out > 0:
        idx = gen.choice(m, size=n_out, replace=False)
        signs = gen.choice(np.array([-1.0, 1.0]), size=n_out)
        magnitude = outlier_scale * float(np.median(np.abs(host_clean)))
        s[idx] = signs * magnitude
        mask[idx] = True
    if noise_std > 0:
        s += noise_std * gen.standard_normal(m)
    corruption = backend.asarray(s, like=clean, dtype=clean.dtype)
    outlier_mask = backend.asarray(mask, like=clean)
    return SensingProblem(
        operator=operator,
        measurements=clean + corruption,
        truth=truth,
        corruption=corruption,
        outlier_mask=outlier_mask,
        psd=psd,
        noise_std=noise_std,
        outlier_fraction=outlier_fraction,
        outlier_scale=outlier_scale,
    )
