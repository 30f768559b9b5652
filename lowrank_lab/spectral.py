"""Spectral metrics: ranks, subspace angles, intruder dimensions, ESDs, Marchenko-Pastur and power-law fits.

One documented definition per metric (PAPERS.md, study D), validated on spectra
with known answers in ``tests/test_spectral.py``.

Conventions
-----------
* **Inputs.** Metrics of a matrix take a 2-D array ``W`` (any Array API
  namespace) *or* a 1-D array of precomputed **singular values** (any order;
  they are sorted).  The ESD fits (:func:`fit_marchenko_pastur`,
  :func:`powerlaw_alpha`) take a 2-D matrix or a 1-D array of precomputed
  **eigenvalues** of ``X = W^T W / N`` (see :func:`esd`).
* **sigma or sigma^2.**  Each docstring says which one a metric uses.
* **Tolerances.**  "Zero" singular values are those ``<= tol``; the default
  ``tol`` is NumPy's numerical-rank convention ``sigma_1 * max(m, n) * eps``
  (``max(m, n)`` is taken as ``len(s)`` for 1-D input); ``rtol`` replaces it by
  ``rtol * sigma_1``.
* **Outputs.**  Scalar metrics are Python ``float``/``int``: converting them is
  one host synchronization, at the function boundary.  Array outputs
  (singular values, vectors, angles, ESD) stay in the input's namespace and on
  its device.  The fits (Marchenko-Pastur, power law, which work on the short
  eigenvalue vector) move that vector to NumPy **once**, at the start, and
  return host results.
* **The zero matrix** has every rank-like metric equal to 0 (``effective_rank``,
  ``stable_rank``, ``participation_ratio``, ``numerical_rank``, ``energy_rank``)
  and ``spectral_entropy`` 0, rather than NaN.

Only Array API standard calls and :mod:`lowrank_lab.linalg` helpers touch the
input arrays; SciPy is not imported here.

Examples
--------
>>> import numpy as np
>>> from lowrank_lab import spectral
>>> W = np.diag([3.0, 3.0, 3.0, 0.0])
>>> spectral.effective_rank(W), spectral.stable_rank(W), spectral.numerical_rank(W)
(3.0, 3.0, 3)
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from . import backend, linalg
from ._validation import check_array, check_choice, check_float, check_int

__all__ = [
    "AmplificationResult",
    "IntruderResult",
    "MarchenkoPasturFit",
    "PowerLawFit",
    "amplification_factor",
    "correlation_traps",
    "eckart_young_tail",
    "effective_rank",
    "energy_rank",
    "esd",
    "fit_marchenko_pastur",
    "grassmann_distance",
    "intruder_dimensions",
    "marchenko_pastur_density",
    "marchenko_pastur_edge",
    "nuclear_norm",
    "numerical_rank",
    "participation_ratio",
    "powerlaw_alpha",
    "principal_angles",
    "projection_distance",
    "singular_values",
    "singular_vectors",
    "spectral_entropy",
    "stable_rank",
    "subspace_overlap",
    "subspace_similarity",
    "subspace_similarity_grid",
    "tracy_widom_quantile",
    "welore_prune_rank",
]


# =========================================================================== #
# spectra
# =========================================================================== #
def _spectrum(W: Any, name: str = "W") -> tuple[Any, ModuleType, int]:
    """Validated singular values (descending), namespace, and ``max(m, n)`` (``len(s)`` for 1-D)."""
    W = check_array(W, name, ndim=(1, 2))
    xp = backend.array_namespace(W)
    if W.ndim == 2:
        return xp.linalg.svdvals(W), xp, max(W.shape)
    if bool(xp.any(W < 0)):
        raise ValueError(
            f"{name} (1-D input = singular values) must be non-negative, got minimum {float(xp.min(W))!r}"
        )
    return xp.sort(W, descending=True), xp, int(W.shape[0])


def _zero_tol(s: Any, max_dim: int, rtol: float | None, xp: ModuleType) -> Any:
    """Threshold below (or at) which a singular value counts as zero (0-d array)."""
    if rtol is None:
        return s[0] * (max_dim * xp.finfo(s.dtype).eps)
    return s[0] * rtol


def _check_rtol(rtol: Any) -> float | None:
    if rtol is None:
        return None
    return check_float(rtol, "rtol", low=0.0, high=1.0)


def singular_values(W: Any) -> Any:
    """Singular values in descending order, in ``W``'s namespace.

    Parameters
    ----------
    W : array, shape (m, n) or (q,)
        A matrix, or a 1-D array of singular values (validated non-negative, then sorted).

    Returns
    -------
    array, shape (min(m, n),)

    Examples
    --------
    >>> import numpy as np
    >>> singular_values(np.diag([1.0, -3.0]))
    array([3., 1.])
    """
    return _spectrum(W)[0]


def singular_vectors(W: Any, side: str = "left", k: int | None = None) -> Any:
    """Orthonormal singular vectors of ``W`` as columns, ordered by singular value.

    Uses :func:`lowrank_lab.linalg.svd` (thin SVD, deterministic signs).  For LoRA
    factors (PAPERS.md D2.9): an ``A`` factor (r x n) is compared through its
    **right** vectors (n x r), a ``B`` factor (m x r) through its **left** vectors.

    Parameters
    ----------
    W : array, shape (m, n)
    side : {"left", "right"}
        ``"left"`` gives ``U`` (m x q), ``"right"`` gives ``V`` (n x q), ``q = min(m, n)``.
    k : int, optional
        Keep the top ``k`` vectors, ``1 <= k <= q`` (default all ``q``).

    Returns
    -------
    array, shape (m, k) or (n, k), in ``W``'s namespace.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[0.0, 2.0, 0.0], [1.0, 0.0, 0.0]])   # an r x n "A" factor
    >>> singular_vectors(A, side="right")
    array([[0., 1.],
           [1., 0.],
           [0., 0.]])
    """
    W = check_array(W, "W", ndim=2)
    side = check_choice(side, "side", ("left", "right"))
    q = min(W.shape)
    k = q if k is None else check_int(k, "k", low=1, high=q, high_label="min(m, n)")
    xp = backend.array_namespace(W)
    U, _, Vt = linalg.svd(W)
    if side == "left":
        return U[:, :k]
    return xp.matrix_transpose(Vt[:k, :])


# =========================================================================== #
# scalar metrics of one spectrum
# =========================================================================== #
def nuclear_norm(W: Any) -> float:
    """Nuclear norm ``sum_i sigma_i`` (uses sigma).

    Examples
    --------
    >>> import numpy as np
    >>> nuclear_norm(np.diag([3.0, -1.0]))
    4.0
    """
    s, xp, _ = _spectrum(W)
    return float(xp.sum(s))


def eckart_young_tail(W: Any, r: int, *, relative: bool = False) -> float:
    """Eckart-Young tail ``min_{rank X <= r} ||W - X||_F^2 = sum_{i > r} sigma_i^2`` (uses sigma^2).

    This is the floor of the squared Frobenius error of every rank-``r`` method.

    Parameters
    ----------
    W : array, shape (m, n) or (q,)
        Matrix or singular values.
    r : int
        Rank, ``0 <= r <= q``.
    relative : bool, default False
        Divide by ``||W||_F^2`` (0 for the zero matrix).

    Examples
    --------
    >>> import numpy as np
    >>> eckart_young_tail(np.array([3.0, 2.0, 1.0]), 1)
    5.0
    """
    s, xp, _ = _spectrum(W)
    q = int(s.shape[0])
    r = check_int(r, "r", low=0, high=q, high_label="min(m, n)")
    e = s * s
    tail = xp.sum(e[r:])
    if relative:
        total = xp.sum(e)
        tail = xp.where(total > 0, tail / xp.where(total > 0, total, 1.0), 0.0)
    return float(tail)


def effective_rank(W: Any, *, rtol: float | None = None) -> float:
    """Effective rank of Roy and Vetterli (2007) (uses sigma, not sigma^2).

    ``p_i = sigma_i / sum_j sigma_j`` and ``erank = exp(-sum_i p_i ln p_i)`` over the
    nonzero singular values; it lies in ``[1, q]`` for a nonzero matrix and equals
    ``r`` for a flat rank-``r`` spectrum.  Variants that use sigma^2, a softmax
    or an epsilon added to ``p`` are *not* this metric.

    Parameters
    ----------
    W : array, shape (m, n) or (q,)
        Matrix or singular values.
    rtol : float in [0, 1], optional
        Singular values ``<= rtol * sigma_1`` are excluded as zero.  Default: the
        numerical-rank tolerance ``sigma_1 * max(m, n) * eps``.

    Returns
    -------
    float
        0.0 for the zero matrix.

    Examples
    --------
    >>> import numpy as np
    >>> effective_rank(np.array([1.0, 1.0, 0.0]))
    2.0
    >>> round(effective_rank(np.array([2.0, 1.0])), 4)
    1.8899
    """
    rtol = _check_rtol(rtol)
    s, xp, d = _spectrum(W)
    keep = s > _zero_tol(s, d, rtol, xp)
    sk = xp.where(keep, s, 0.0)
    total = xp.sum(sk)
    p = xp.where(keep, sk / xp.where(total > 0, total, 1.0), 1.0)
    entropy = -xp.sum(p * xp.log(p))  # p == 1 contributes 0 for the excluded entries
    return float(xp.where(total > 0, xp.exp(entropy), 0.0))


def stable_rank(W: Any) -> float:
    """Stable rank ``||W||_F^2 / ||W||_2^2 = sum_i sigma_i^2 / sigma_1^2`` (uses sigma^2).

    No tolerance: zero singular values contribute nothing.  0.0 for the zero matrix.

    Examples
    --------
    >>> import numpy as np
    >>> stable_rank(np.array([2.0, 1.0, 1.0]))
    1.5
    """
    s, xp, _ = _spectrum(W)
    top = s[0] * s[0]
    return float(xp.where(top > 0, xp.sum(s * s) / xp.where(top > 0, top, 1.0), 0.0))


def numerical_rank(W: Any, rtol: float | None = None) -> int:
    """Numerical rank ``#{sigma_i > tol}`` (uses sigma).

    Parameters
    ----------
    W : array, shape (m, n) or (q,)
        Matrix or singular values.
    rtol : float in [0, 1], optional
        ``None`` (default): NumPy's convention ``tol = sigma_1 * max(m, n) * eps``
        (``numpy.linalg.matrix_rank``; ``max(m, n) = len(s)`` for 1-D input).
        Given: the epsilon-rank ``#{sigma_i > rtol * sigma_1}``.

    Examples
    --------
    >>> import numpy as np
    >>> numerical_rank(np.diag([1.0, 1e-20, 0.0]))
    1
    >>> numerical_rank(np.array([1.0, 0.5, 0.01]), rtol=0.1)
    2
    """
    rtol = _check_rtol(rtol)
    s, xp, d = _spectrum(W)
    return int(xp.count_nonzero(s > _zero_tol(s, d, rtol, xp)))


def energy_rank(W: Any, energy: float = 0.9, *, rtol: float | None = None) -> int:
    """Energy rank: the smallest ``k`` with ``sum_{i<=k} sigma_i^2 >= energy * sum_i sigma_i^2`` (uses sigma^2).

    Parameters
    ----------
    W : array, shape (m, n) or (q,)
        Matrix or singular values.
    energy : float in (0, 1], default 0.9
        Energy fraction ``tau`` (PAPERS.md uses 0.9, and 0.99 for SVFit).
    rtol : float, optional
        Relative slack on the target, which absorbs round-off when the target is hit
        exactly (flat spectra): the condition is
        ``cumsum_k >= energy * total * (1 - rtol)``.  Default ``10 * q * eps``.

    Returns
    -------
    int
        In ``[1, q]``; 0 for the zero matrix.

    Examples
    --------
    >>> import numpy as np
    >>> energy_rank(np.array([3.0, 1.0, 1.0, 1.0]), 0.75)
    1
    >>> energy_rank(np.ones(10), 0.9)
    9
    """
    energy = check_float(energy, "energy", low=0.0, high=1.0, low_inclusive=False)
    s, xp, _ = _spectrum(W)
    q = int(s.shape[0])
    if rtol is None:
        rtol = 10.0 * q * float(xp.finfo(s.dtype).eps)
    rtol = check_float(rtol, "rtol", low=0.0, high=1.0)
    e = s * s
    c = xp.cumulative_sum(e)
    target = c[-1] * (energy * (1.0 - rtol))
    k = int(xp.where(c[-1] > 0, xp.count_nonzero(c < target) + 1, 0))
    return min(k, q)


def participation_ratio(W: Any) -> float:
    """Participation ratio ``(sum lambda_i)^2 / sum lambda_i^2`` with ``lambda_i = sigma_i^2`` (uses sigma^2).

    For the covariance eigenvalues ``mu`` of data, pass ``sqrt(mu)`` as the 1-D
    input.  No tolerance: zeros contribute nothing.  0.0 for the zero matrix.

    Examples
    --------
    >>> import numpy as np
    >>> participation_ratio(np.ones(5))
    5.0
    """
    s, xp, _ = _spectrum(W)
    lam = s * s
    num = xp.sum(lam)
    den = xp.sum(lam * lam)
    return float(xp.where(den > 0, num * num / xp.where(den > 0, den, 1.0), 0.0))


def spectral_entropy(W: Any, *, rtol: float | None = None) -> float:
    """WeightWatcher's normalized matrix entropy (uses sigma^2); *not* an effective rank.

    ``q_i = sigma_i^2 / sum_j sigma_j^2`` over the nonzero singular values and
    ``H = -sum_i q_i ln q_i / ln(rank)``, where ``rank`` is the numerical rank
    (:func:`numerical_rank` with the same ``rtol``; WeightWatcher uses NumPy's
    default tolerance, as here by default).  It lies in ``[0, 1]``: 1 for a
    flat spectrum.

    Parameters
    ----------
    W : array, shape (m, n) or (q,)
        Matrix or singular values.
    rtol : float in [0, 1], optional
        Zero-threshold, as in :func:`numerical_rank`.

    Returns
    -------
    float
        0.0 when ``rank <= 1`` (WeightWatcher divides by ``ln(1.000001)`` there,
        which also gives 0).

    Examples
    --------
    >>> import numpy as np
    >>> spectral_entropy(np.array([2.0, 2.0, 2.0, 0.0]))
    1.0
    >>> spectral_entropy(np.array([5.0]))
    0.0
    """
    rtol = _check_rtol(rtol)
    s, xp, d = _spectrum(W)
    keep = s > _zero_tol(s, d, rtol, xp)
    rank = xp.count_nonzero(keep)
    e = xp.where(keep, s * s, 0.0)
    total = xp.sum(e)
    q = xp.where(keep, e / xp.where(total > 0, total, 1.0), 1.0)
    h = -xp.sum(q * xp.log(q))
    log_rank = xp.log(xp.astype(xp.where(rank > 1, rank, 2), s.dtype))
    return float(xp.where(rank > 1, h / log_rank, 0.0))


def welore_prune_rank(W: Any, tau: float) -> int:
    """WeLore's per-matrix rank-pruning count (reference-code rule, PAPERS.md D3; uses sigma).

    With ``s~_i = (sigma_i - sigma_min) / (sigma_max - sigma_min)`` over all
    ``q = min(m, n)`` singular values, ``k_prune = #{s~_i < tau}``: the number of
    components dropped; the kept rank is ``q - k_prune``.  WeLore chooses one
    global ``tau`` for the target overall reduction and treats a matrix as a
    low-rank component when ``k_prune / q > 0.4999``.  A flat spectrum
    (``sigma_max == sigma_min``) gives 0.

    Parameters
    ----------
    W : array, shape (m, n) or (q,)
        Matrix or singular values.
    tau : float in [0, 1]

    Examples
    --------
    >>> import numpy as np
    >>> welore_prune_rank(np.array([10.0, 5.0, 1.0, 0.5, 0.0]), 0.2)
    3
    """
    tau = check_float(tau, "tau", low=0.0, high=1.0)
    s, xp, _ = _spectrum(W)
    lo, hi = s[-1], s[0]
    span = hi - lo
    norm = (s - lo) / xp.where(span > 0, span, 1.0)
    return int(xp.where(span > 0, xp.count_nonzero(norm < tau), 0))


# =========================================================================== #
# subspaces
# =========================================================================== #
def _basis_pair(U1: Any, U2: Any) -> tuple[Any, Any, ModuleType]:
    U1 = check_array(U1, "U1", ndim=2)
    U2 = check_array(U2, "U2", ndim=2)
    if U1.shape[0] != U2.shape[0]:
        raise ValueError(
            f"U2 must have as many rows as U1 ({U1.shape[0]}), got shape {tuple(U2.shape)}"
        )
    return U1, U2, backend.array_namespace(U1, U2)


def _orth(A: Any, name: str, xp: ModuleType) -> Any:
    """Orthonormal basis of the numerical column space of ``A`` (SVD, like ``scipy.linalg.orth``)."""
    U, s, _ = xp.linalg.svd(A, full_matrices=False)
    rank = int(xp.count_nonzero(s > s[0] * (max(A.shape) * xp.finfo(s.dtype).eps)))
    if rank == 0:
        raise ValueError(f"{name} must span a nonzero subspace, got an all-zero basis of shape {tuple(A.shape)}")
    return U[:, :rank]


def _angles(Q1: Any, Q2: Any, xp: ModuleType) -> Any:
    """Principal angles (ascending) between orthonormal bases, accurate for small angles."""
    C = xp.matrix_transpose(Q1) @ Q2
    cos = xp.linalg.svdvals(C)  # descending cosines = ascending angles
    if Q1.shape[1] >= Q2.shape[1]:
        R = Q2 - Q1 @ C
    else:
        R = Q1 - Q2 @ xp.matrix_transpose(C)
    sin = xp.flip(xp.linalg.svdvals(R))  # ascending sines
    small = cos * cos >= 0.5
    return xp.where(small, xp.asin(xp.clip(sin, 0.0, 1.0)), xp.acos(xp.clip(cos, -1.0, 1.0)))


def principal_angles(U1: Any, U2: Any) -> Any:
    """Principal angles between the column spaces of ``U1`` (d x r1) and ``U2`` (d x r2), ascending.

    The bases need not be orthonormal: each is replaced by an orthonormal basis of
    its numerical column space (SVD, as ``scipy.linalg.orth``; a rank-deficient
    basis therefore counts with its rank).  ``cos theta_i = sigma_i(Q1^T Q2)``;
    angles below 45 degrees are computed from the sines
    ``sigma((I - Q1 Q1^T) Q2)`` (Knyazev and Argentati's method, as in
    ``scipy.linalg.subspace_angles``), so tiny angles keep full relative accuracy.

    Returns
    -------
    array, shape (min(rank1, rank2),)
        Angles in radians in ``[0, pi/2]``, **ascending** (SciPy returns them descending).

    Examples
    --------
    >>> import numpy as np
    >>> U1 = np.eye(3)[:, :2]
    >>> U2 = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])   # not orthonormal
    >>> np.round(np.degrees(principal_angles(U1, U2)), 6)
    array([ 0., 45.])
    """
    U1, U2, xp = _basis_pair(U1, U2)
    return _angles(_orth(U1, "U1", xp), _orth(U2, "U2", xp), xp)


def grassmann_distance(U1: Any, U2: Any) -> float:
    """Grassmann (geodesic) distance ``||theta||_2`` between two column spaces.

    Examples
    --------
    >>> import numpy as np
    >>> round(grassmann_distance(np.array([[1.0], [0.0]]), np.array([[1.0], [1.0]])), 6)
    0.785398
    """
    U1, U2, xp = _basis_pair(U1, U2)
    theta = _angles(_orth(U1, "U1", xp), _orth(U2, "U2", xp), xp)
    return float(xp.sqrt(xp.sum(theta * theta)))


def projection_distance(U1: Any, U2: Any) -> float:
    """Projection distance ``||(I - Q1 Q1^T) Q2||_2 = sin theta_max`` (equal dimensions).

    Raises
    ------
    ValueError
        If the two column spaces have different dimensions.

    Examples
    --------
    >>> import numpy as np
    >>> round(projection_distance(np.array([[1.0], [0.0]]), np.array([[1.0], [1.0]])), 6)
    0.707107
    """
    U1, U2, xp = _basis_pair(U1, U2)
    Q1, Q2 = _orth(U1, "U1", xp), _orth(U2, "U2", xp)
    if Q1.shape[1] != Q2.shape[1]:
        raise ValueError(
            f"U2 must span a subspace of the same dimension as U1 ({Q1.shape[1]}), got {Q2.shape[1]}"
        )
    theta = _angles(Q1, Q2, xp)
    return float(xp.sin(xp.max(theta)))


def subspace_overlap(U1: Any, U2: Any) -> float:
    """Overlap ``||Q1^T Q2||_F^2 / min(r1, r2)``, the mean squared cosine of the principal angles.

    The bases are orthonormalized first (as in :func:`principal_angles`);
    ``r1, r2`` are their ranks.  In ``[0, 1]``; 1 when one space contains the other.

    Examples
    --------
    >>> import numpy as np
    >>> subspace_overlap(np.eye(4)[:, :2], np.eye(4)[:, 1:3])
    0.5
    """
    U1, U2, xp = _basis_pair(U1, U2)
    Q1, Q2 = _orth(U1, "U1", xp), _orth(U2, "U2", xp)
    C = xp.matrix_transpose(Q1) @ Q2
    return float(xp.sum(C * C) / min(Q1.shape[1], Q2.shape[1]))


def _check_orthonormal(U: Any, name: str, xp: ModuleType) -> None:
    r = U.shape[1]
    G = xp.matrix_transpose(U) @ U - xp.eye(r, dtype=U.dtype, device=backend.device(U))
    tol = 100.0 * math.sqrt(float(xp.finfo(U.dtype).eps))
    err = float(xp.max(xp.abs(G)))
    if err > tol:
        raise ValueError(
            f"{name} must have orthonormal columns (max |{name}^T {name} - I| = {err:.2e} > {tol:.1e}); "
            "pass singular vectors, e.g. singular_vectors(A, side='right') for a LoRA A factor"
        )


def subspace_similarity(U1: Any, U2: Any, i: int, j: int) -> float:
    """LoRA's normalized subspace similarity ``phi = ||U1[:, :i]^T U2[:, :j]||_F^2 / min(i, j)``.

    ``U1`` and ``U2`` are orthonormal singular-vector matrices ordered by singular
    value (use :func:`singular_vectors`: right vectors for ``A`` factors, left for
    ``B`` factors).  ``phi`` is in ``[0, 1]``; 1 when one top subspace contains the
    other; for random subspaces of ``R^d`` its mean is ``max(i, j) / d``.

    Parameters
    ----------
    U1 : array, shape (d, r1)
    U2 : array, shape (d, r2)
    i, j : int
        Leading columns used, ``1 <= i <= r1``, ``1 <= j <= r2``.

    Raises
    ------
    ValueError
        If a basis is not orthonormal (to ``100 * sqrt(eps)``).

    Examples
    --------
    >>> import numpy as np
    >>> E = np.eye(4)
    >>> subspace_similarity(E[:, :3], E[:, [0, 3]], 3, 2)
    0.5
    """
    U1, U2, xp = _basis_pair(U1, U2)
    i = check_int(i, "i", low=1, high=U1.shape[1], high_label="U1.shape[1]")
    j = check_int(j, "j", low=1, high=U2.shape[1], high_label="U2.shape[1]")
    _check_orthonormal(U1, "U1", xp)
    _check_orthonormal(U2, "U2", xp)
    C = xp.matrix_transpose(U1[:, :i]) @ U2[:, :j]
    return float(xp.sum(C * C) / min(i, j))


def subspace_similarity_grid(U1: Any, U2: Any, max_i: int | None = None, max_j: int | None = None) -> Any:
    """All ``phi(i, j)`` of :func:`subspace_similarity` at once (LoRA Fig. 3 heatmaps).

    Returns
    -------
    array, shape (max_i, max_j), in the inputs' namespace
        ``out[i - 1, j - 1] = phi(U1, U2, i, j)``.

    Examples
    --------
    >>> import numpy as np
    >>> E = np.eye(4)
    >>> subspace_similarity_grid(E[:, :3], E[:, [0, 3]])
    array([[1. , 1. ],
           [1. , 0.5],
           [1. , 0.5]])
    """
    U1, U2, xp = _basis_pair(U1, U2)
    max_i = U1.shape[1] if max_i is None else check_int(max_i, "max_i", low=1, high=U1.shape[1],
                                                        high_label="U1.shape[1]")
    max_j = U2.shape[1] if max_j is None else check_int(max_j, "max_j", low=1, high=U2.shape[1],
                                                        high_label="U2.shape[1]")
    _check_orthonormal(U1, "U1", xp)
    _check_orthonormal(U2, "U2", xp)
    C = xp.matrix_transpose(U1[:, :max_i]) @ U2[:, :max_j]
    cum = xp.cumulative_sum(xp.cumulative_sum(C * C, axis=0), axis=1)
    dev = backend.device(C)
    ii = xp.arange(1, max_i + 1, dtype=C.dtype, device=dev)
    jj = xp.arange(1, max_j + 1, dtype=C.dtype, device=dev)
    return cum / xp.minimum(ii[:, None], jj[None, :])


# =========================================================================== #
# fine-tuning diagnostics
# =========================================================================== #
@dataclass(frozen=True)
class IntruderResult:
    """Intruder dimensions of a fine-tuned matrix (see :func:`intruder_dimensions`).

    Attributes
    ----------
    count : int or numpy.ndarray
        Number of intruders among the top ``k`` tuned vectors: an int for a scalar
        ``eps``, a host int64 array (one count per ``eps``) for an array ``eps``.
    indices : tuple
        Positions (0-based, in ``range(k)``, ordered by singular value) of the
        intruders; a tuple of such tuples for an array ``eps``.
    max_cosine : array, shape (k,)
        ``s_j = max_i |u_j^T u0_i|`` for the top ``k`` tuned vectors, in the inputs' namespace.
    eps : float or numpy.ndarray
        Threshold(s): ``u_j`` is an intruder iff ``s_j < eps``.
    k : int
    """

    count: Any
    indices: tuple
    max_cosine: Any
    eps: Any
    k: int


def _check_eps(eps: Any) -> tuple[Any, bool]:
    if isinstance(eps, numbers.Real) and not isinstance(eps, bool):
        return check_float(eps, "eps", low=0.0, high=1.0, low_inclusive=False), True
    arr = np.asarray(backend.to_numpy(eps) if not isinstance(eps, (list, tuple)) else eps, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"eps must be a number or a non-empty 1-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0) or np.any(arr > 1):
        raise ValueError(f"eps values must be in (0, 1], got {arr.tolist()}")
    return arr, False


def intruder_dimensions(W_tuned: Any, W_base: Any, k: int = 10, eps: Any = 0.5) -> IntruderResult:
    """Intruder dimensions (Shuttleworth et al. 2024, reference-code convention; PAPERS.md D2.11).

    ``U`` = left singular vectors of the **merged** tuned matrix ``W_tuned = W0 + dW``
    (out x in layout), ``U0`` = all thin-SVD left singular vectors of ``W_base``.
    For each of the top ``k`` tuned vectors ``u_j`` (ordered by singular value),
    ``s_j = max_i |u_j^T u0_i|``; ``u_j`` is an intruder iff ``s_j < eps``.

    Parameters
    ----------
    W_tuned, W_base : array, shape (m, n)
    k : int, default 10
        ``1 <= k <= min(m, n)``.
    eps : float or 1-D array of floats in (0, 1], default 0.5
        An array gives one count per threshold (counts grow with ``eps``).

    Returns
    -------
    IntruderResult

    Examples
    --------
    >>> import numpy as np
    >>> W0 = np.diag([4.0, 3.0, 2.0, 1.0, 0.0])[:, :4]   # 5 x 4: e5 is outside its column space
    >>> Wt = W0.copy(); Wt[4, 3] = 10.0                    # a strong new direction, mostly along e5
    >>> res = intruder_dimensions(Wt, W0, k=3)
    >>> res.count, res.indices
    (1, (0,))
    """
    W_tuned = check_array(W_tuned, "W_tuned", ndim=2)
    W_base = check_array(W_base, "W_base", ndim=2)
    if tuple(W_base.shape) != tuple(W_tuned.shape):
        raise ValueError(f"W_base must have the shape of W_tuned {tuple(W_tuned.shape)}, got {tuple(W_base.shape)}")
    k = check_int(k, "k", low=1, high=min(W_tuned.shape), high_label="min(m, n)")
    eps_val, scalar = _check_eps(eps)
    xp = backend.array_namespace(W_tuned, W_base)
    U = linalg.svd(W_tuned).U[:, :k]
    U0 = linalg.svd(W_base).U
    max_cos = xp.max(xp.abs(xp.matrix_transpose(U) @ U0), axis=1)
    host = np.asarray(backend.to_numpy(max_cos), dtype=np.float64)  # k values, one transfer
    if scalar:
        idx = tuple(int(i) for i in np.nonzero(host < eps_val)[0])
        return IntruderResult(len(idx), idx, max_cos, eps_val, k)
    below = host[None, :] < eps_val[:, None]
    counts = below.sum(axis=1).astype(np.int64)
    idx = tuple(tuple(int(i) for i in np.nonzero(row)[0]) for row in below)
    return IntruderResult(counts, idx, max_cos, eps_val, k)


@dataclass(frozen=True)
class AmplificationResult:
    """LoRA Table 7 quantities (see :func:`amplification_factor`).

    Attributes
    ----------
    amplification : float
        ``delta_norm / projection_delta`` (``inf`` if ``projection_delta == 0``).
    rank : int
    delta_norm : float
        ``||dW||_F``.
    projection_delta : float
        ``||U_r^T W V_r||_F`` with ``U_r, V_r`` the top-``r`` singular vectors of ``dW``.
    projection_own : float
        The same with the top-``r`` singular vectors of ``W`` (``= sqrt(sum_{i<=r} sigma_i(W)^2)``).
    projection_random : float
        The same with random orthonormal ``U`` (m x r) and ``V`` (n x r).
    weight_norm : float
        ``||W||_F``.
    """

    amplification: float
    rank: int
    delta_norm: float
    projection_delta: float
    projection_own: float
    projection_random: float
    weight_norm: float


def amplification_factor(dW: Any, W: Any, r: int, *, rng: Any = None) -> AmplificationResult:
    """Feature amplification factor of LoRA (Hu et al. 2021, Sec. 7 and Table 7).

    ``amplification = ||dW||_F / ||U_r^T W V_r||_F`` where ``U_r, V_r`` are the
    top-``r`` left/right singular vectors of ``dW`` and ``W`` is the (pre-trained)
    weight.  The result also carries the projection of ``W`` onto its own top-``r``
    directions and onto random orthonormal directions (drawn on the host from
    ``rng``, then moved to ``W``'s device), the two comparison columns of Table 7.

    Parameters
    ----------
    dW, W : array, shape (m, n)
    r : int
        ``1 <= r <= min(m, n)``.
    rng : int, Generator or None
        Seed of the random directions.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.diag([10.0, 5.0, 1.0])
    >>> dW = np.diag([0.0, 0.0, 2.0])          # dW points at W's weakest direction
    >>> res = amplification_factor(dW, W, 1, rng=0)
    >>> res.amplification, res.projection_own
    (2.0, 10.0)
    """
    dW = check_array(dW, "dW", ndim=2)
    W = check_array(W, "W", ndim=2)
    if tuple(W.shape) != tuple(dW.shape):
        raise ValueError(f"W must have the shape of dW {tuple(dW.shape)}, got {tuple(W.shape)}")
    m, n = W.shape
    r = check_int(r, "r", low=1, high=min(m, n), high_label="min(m, n)")
    xp = backend.array_namespace(dW, W)
    Ur, _, Vtr = linalg.truncated_svd(dW, r)
    P = xp.matrix_transpose(Ur) @ W @ xp.matrix_transpose(Vtr)
    sW = xp.linalg.svdvals(W)
    gen = backend.as_generator(rng)
    Uq = linalg.orthonormalize(backend.random_normal((m, r), rng=gen, like=W))
    Vq = linalg.orthonormalize(backend.random_normal((n, r), rng=gen, like=W))
    Pq = xp.matrix_transpose(Uq) @ W @ Vq
    vals = xp.stack([
        xp.sqrt(xp.sum(dW * dW)),
        xp.sqrt(xp.sum(P * P)),
        xp.sqrt(xp.sum(sW[:r] * sW[:r])),
        xp.sqrt(xp.sum(Pq * Pq)),
        xp.sqrt(xp.sum(sW * sW)),
    ])
    d_norm, p_delta, p_own, p_rand, w_norm = (float(v) for v in backend.to_numpy(vals))
    amp = d_norm / p_delta if p_delta > 0 else math.inf
    return AmplificationResult(amp, r, d_norm, p_delta, p_own, p_rand, w_norm)


# =========================================================================== #
# ESD and Marchenko-Pastur
# =========================================================================== #
def esd(W: Any) -> Any:
    """Empirical spectral density: eigenvalues of ``X = W^T W / N`` (descending, in ``W``'s namespace).

    Normalization (fixed here, PAPERS.md D3): ``W`` is N x M with ``N >= M``
    (a wide ``W`` is transposed first), ``X = W^T W / N`` is M x M, and the
    eigenvalues are ``lambda_i = sigma_i^2 / N``.  For i.i.d. entries of variance
    ``s^2`` the ESD then follows Marchenko-Pastur with aspect ratio ``Q = N / M``
    and variance ``s^2`` (mean eigenvalue ``s^2``, bulk edge
    ``s^2 (1 + Q^{-1/2})^2``).  No WeightWatcher rescaling is applied.

    Parameters
    ----------
    W : array, shape (m, n)

    Returns
    -------
    array, shape (min(m, n),)

    Examples
    --------
    >>> import numpy as np
    >>> esd(np.diag([2.0, 1.0]))
    array([2. , 0.5])
    """
    W = check_array(W, "W", ndim=2)
    xp = backend.array_namespace(W)
    s = xp.linalg.svdvals(W)
    return (s * s) / max(W.shape)


def _check_mp_args(aspect_ratio: Any, variance: Any) -> tuple[float, float]:
    Q = check_float(aspect_ratio, "aspect_ratio", low=1.0)
    v = check_float(variance, "variance", low=0.0, low_inclusive=False)
    return Q, v


def marchenko_pastur_edge(aspect_ratio: float, variance: float = 1.0) -> tuple[float, float]:
    """Bulk edges ``(lambda_-, lambda_+) = variance * (1 -+ Q^{-1/2})^2`` of the Marchenko-Pastur law.

    In the :func:`esd` normalization, ``Q = N / M >= 1`` and ``variance`` is the
    entry variance ``s^2``.

    Examples
    --------
    >>> marchenko_pastur_edge(4.0)
    (0.25, 2.25)
    """
    Q, v = _check_mp_args(aspect_ratio, variance)
    r = 1.0 / math.sqrt(Q)
    return v * (1.0 - r) ** 2, v * (1.0 + r) ** 2


def marchenko_pastur_density(x: Any, aspect_ratio: float, variance: float = 1.0) -> Any:
    """Marchenko-Pastur density ``Q sqrt((lambda_+ - x)(x - lambda_-)) / (2 pi s^2 x)`` (0 outside the bulk).

    Parameters
    ----------
    x : array or float
        Points (any namespace; lists and floats become NumPy).
    aspect_ratio : float
        ``Q = N / M >= 1`` (:func:`esd` normalization), so the law has no atom at 0.
    variance : float
        ``s^2``.

    Returns
    -------
    array like ``x`` (0 at ``x = 0`` even for ``Q = 1``, where the density diverges).

    Examples
    --------
    >>> import numpy as np
    >>> round(float(marchenko_pastur_density(1.0, 4.0)), 6)
    0.616404
    """
    Q, v = _check_mp_args(aspect_ratio, variance)
    x = check_array(x, "x", min_size=0)
    xp = backend.array_namespace(x)
    lo, hi = marchenko_pastur_edge(Q, v)
    inside = (x > lo) & (x < hi)
    safe = xp.where(inside, x, 1.0)
    root = xp.sqrt(xp.clip((hi - safe) * (safe - lo), 0.0, None))
    return xp.where(inside, Q * root / (2.0 * math.pi * v * safe), 0.0)


@functools.lru_cache(maxsize=64)
def _mp_quantile_table(Q: float) -> tuple[np.ndarray, np.ndarray]:
    """CDF of the unit-variance MP law on a fine grid (substitution that removes the edge singularities)."""
    lo, hi = marchenko_pastur_edge(Q, 1.0)
    theta = np.linspace(0.0, math.pi, 8193)
    lam = lo + (hi - lo) * (1.0 - np.cos(theta)) / 2.0
    # rho(lam) dlam = Q (hi - lo)^2 sin^2(theta) / (8 pi lam) dtheta; finite at lam -> 0 when Q = 1
    with np.errstate(divide="ignore", invalid="ignore"):
        f = Q * (hi - lo) ** 2 * np.sin(theta) ** 2 / (8.0 * math.pi * lam)
    if lo == 0.0:  # Q = 1: the limit theta -> 0 of the integrand
        f[0] = Q * hi / (2.0 * math.pi)
    cdf = np.concatenate([[0.0], np.cumsum((f[1:] + f[:-1]) / 2.0 * np.diff(theta))])
    return lam, cdf / cdf[-1]


_MP_TRIM = 0.05  # levels trimmed at each end in the MP variance fit


# Tracy-Widom (beta = 1) quantiles, computed with Bornemann's (2010) Fredholm-determinant
# method (80-point Gauss-Legendre, F1(s) = det(I - K) on L^2(s, inf), K(x, y) = Ai((x+y)/2)/2);
# the same computation gives the TW1 mean -1.2065336 and the standard quantiles 0.4501 (90%),
# 0.9793 (95%), 2.0234 (99%).  Linear interpolation in log(1 - p) is accurate to about 0.01
# (tests/test_spectral.py re-checks the table against an independent evaluation of F1).
_TW1_P = np.array([0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.925, 0.95, 0.96, 0.97, 0.975, 0.98, 0.99, 0.995,
                   0.9975, 0.999, 0.9995, 0.99975, 0.9999])
_TW1_Q = np.array([-1.2686, -0.9463, -0.5923, -0.1653, 0.1038, 0.4501, 0.6779, 0.9793, 1.1371, 1.3332,
                   1.4538, 1.5978, 2.0234, 2.4223, 2.7998, 3.2722, 3.6129, 3.9413, 4.3594])


def tracy_widom_quantile(p: float) -> float:
    """Quantile of the Tracy-Widom law for real matrices (beta = 1), ``0.5 <= p <= 0.9999``.

    Interpolated (in ``log(1 - p)``) from a table computed with Bornemann's method;
    accurate to about 0.01.

    Examples
    --------
    >>> tracy_widom_quantile(0.99)
    2.0234
    """
    p = check_float(p, "p", low=0.5, high=0.9999)
    x = np.log1p(-_TW1_P)[::-1]
    return round(float(np.interp(math.log1p(-p), x, _TW1_Q[::-1])), 4)


def _tw_scale(n_rows: float, n_cols: float) -> float:
    """Johnstone's (2001) TW scale of the largest eigenvalue of a white Wishart ``W^T W`` (unit variance)."""
    a, b = math.sqrt(n_rows - 1.0), math.sqrt(n_cols)
    return (a + b) * (1.0 / a + 1.0 / b) ** (1.0 / 3.0)


@dataclass(frozen=True)
class MarchenkoPasturFit:
    """Result of :func:`fit_marchenko_pastur` (host values).

    Attributes
    ----------
    variance : float
        Fitted entry variance ``s^2``.
    aspect_ratio : float
        ``Q = N / M``.
    n_rows, n_cols : float, int
        ``N`` and ``M`` (``N = Q * M`` for eigenvalue input).
    lambda_minus, lambda_plus : float
        MP bulk edges for the fitted variance.
    tw_margin : float
        ``t_q * s^2 * sigma_J / N`` (see :func:`fit_marchenko_pastur`).
    threshold : float
        ``lambda_plus + tw_margin``; eigenvalues above it are spikes.
    tw_quantile : float
    n_spikes : int
    spikes : numpy.ndarray
        Spike eigenvalues, descending.
    lambda_max : float
    mp_softrank : float
        ``lambda_plus / lambda_max``.
    method : str
        ``"trimmed-quantile"``.
    """

    variance: float
    aspect_ratio: float
    n_rows: float
    n_cols: int
    lambda_minus: float
    lambda_plus: float
    tw_margin: float
    threshold: float
    tw_quantile: float
    n_spikes: int
    spikes: np.ndarray
    lambda_max: float
    mp_softrank: float
    method: str = "trimmed-quantile"

    @property
    def sigma(self) -> float:
        """``s = sqrt(variance)`` (WeightWatcher's ``sigma_mp`` in this normalization)."""
        return math.sqrt(self.variance)


def _host_eigenvalues(X: Any, name: str) -> tuple[np.ndarray, tuple[int, int] | None]:
    """Eigenvalues (ascending, float64, NumPy) of :func:`esd` of a matrix, or validated 1-D eigenvalues."""
    X = check_array(X, name, ndim=(1, 2))
    if X.ndim == 2:
        shape = (max(X.shape), min(X.shape))
        lam = np.asarray(backend.to_numpy(esd(X)), dtype=np.float64)  # the one host transfer
    else:
        shape = None
        lam = np.asarray(backend.to_numpy(X), dtype=np.float64)
        if lam.size and lam.min() < -math.sqrt(np.finfo(np.float64).eps) * max(np.abs(lam).max(), 1e-300):
            raise ValueError(f"{name} (1-D input = eigenvalues) must be non-negative, got minimum {lam.min()!r}")
        lam = np.clip(lam, 0.0, None)
    return np.sort(lam), shape


def fit_marchenko_pastur(
    W_or_eigenvalues: Any,
    *,
    aspect_ratio: float | None = None,
    tw_quantile: float = 0.999,
    max_iter: int = 20,
) -> MarchenkoPasturFit:
    """Fit a Marchenko-Pastur bulk to an ESD and count the spikes beyond a Tracy-Widom margin.

    **Variance fit: spike-robust trimmed quantile matching** (not WeightWatcher's
    KDE grid search).  The MP law scales with the variance, so the sorted bulk
    eigenvalues ``lambda_(k)`` should match ``s^2 q_k``, with ``q_k`` the
    unit-variance MP quantiles at levels ``p_k = (k - 1/2) / M_bulk`` (computed
    numerically).  ``s^2 = sum lambda_(k) / sum q_k`` over the central levels
    ``0.05 < p_k < 0.95``.  Starting from all eigenvalues, the eigenvalues above
    the threshold are declared spikes and removed from the bulk, and the fit is
    repeated until the spike count is stable (at most ``max_iter`` times; the
    bulk keeps at least half of the eigenvalues).  Why: it has no bandwidth to
    tune (a KDE fit depends on it and on where the spikes fall); spikes sit
    above the trimmed levels, and shift the levels by only O(spikes / M) before
    they are removed; on pure noise it is unbiased to about 0.3% at M = 128 with
    half the scatter of the plain median (about that of the non-robust
    ``mean(lambda)``).

    **Spikes.**  ``threshold = lambda_+ + tw_margin`` with Johnstone's (2001)
    scaling of the largest eigenvalue of a white Wishart matrix:
    ``lambda_max(W^T W) ~ s^2 (mu + sigma_J TW_1)``,
    ``mu = (sqrt(N - 1) + sqrt(M))^2``,
    ``sigma_J = (sqrt(N - 1) + sqrt(M)) (1 / sqrt(N - 1) + 1 / sqrt(M))^(1/3)``,
    so in the :func:`esd` normalization
    ``tw_margin = tracy_widom_quantile(tw_quantile) * s^2 * sigma_J / N``.
    (``lambda_+ >= s^2 mu / N``, so the threshold errs on the safe side.)  Pure
    noise exceeds it with probability about ``1 - tw_quantile`` (measured with
    the fitted variance, M = 128, Q in {1, 2, 4}: 5% at 0.95, 0-1.3% at 0.99, 0
    of 450 at 0.999).  The default 0.999 keeps a study of many noise matrices
    free of false spikes at the price of a threshold higher by about
    1.25 TW units (a few percent of ``lambda_+`` at M = 256).  WeightWatcher
    instead adds ``sqrt(Q^{-1/2} lambda_+^{2/3} M^{-2/3})``, a margin whose size
    in TW units depends on the scale of ``W``.

    Parameters
    ----------
    W_or_eigenvalues : array, shape (m, n) or (M,)
        A matrix (its :func:`esd` is used; ``Q = max(m, n) / min(m, n)``) or the
        eigenvalues of ``X = W^T W / N`` (then ``aspect_ratio`` is required).
    aspect_ratio : float, optional
        ``Q = N / M >= 1`` for eigenvalue input; must be omitted for a matrix.
    tw_quantile : float in [0.5, 0.9999], default 0.999
        Quantile of TW_1 used for the margin.
    max_iter : int, default 20

    Returns
    -------
    MarchenkoPasturFit
        Host values; the eigenvalue vector is moved to NumPy once, at the start.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> W = rng.standard_normal((400, 200)) * 0.5
    >>> fit = fit_marchenko_pastur(W)
    >>> round(fit.variance, 2), fit.n_spikes
    (0.25, 0)
    >>> W[:, 0] += 3.0                       # a planted rank-one spike
    >>> fit_marchenko_pastur(W).n_spikes
    1
    """
    lam, shape = _host_eigenvalues(W_or_eigenvalues, "W_or_eigenvalues")
    if shape is not None:
        if aspect_ratio is not None:
            raise ValueError("aspect_ratio must be None for a matrix input (it is max(m, n) / min(m, n))")
        N, M = float(shape[0]), shape[1]
        Q = N / M
    else:
        if aspect_ratio is None:
            raise ValueError("aspect_ratio is required for 1-D eigenvalue input (Q = N / M >= 1)")
        Q = check_float(aspect_ratio, "aspect_ratio", low=1.0)
        M = int(lam.size)
        N = Q * M
    if M < 2:
        raise ValueError(f"W_or_eigenvalues must give at least 2 eigenvalues, got {M}")
    if N < 2:
        raise ValueError(f"the number of rows N must be at least 2, got N = {N}")
    t_q = tracy_widom_quantile(check_float(tw_quantile, "tw_quantile", low=0.5, high=0.9999))
    max_iter = check_int(max_iter, "max_iter", low=1)
    grid_lam, grid_cdf = _mp_quantile_table(float(Q))
    sig_j = _tw_scale(N, M)
    min_bulk = (M + 1) // 2
    n_spikes, bulk = -1, lam
    for _ in range(max_iter):
        levels = (np.arange(bulk.size) + 0.5) / bulk.size
        central = (levels > _MP_TRIM) & (levels < 1.0 - _MP_TRIM)
        q_unit = np.interp(levels[central], grid_cdf, grid_lam)
        variance = float(bulk[central].sum() / q_unit.sum())
        if not variance > 0:
            raise ValueError("W_or_eigenvalues has a zero bulk; the MP variance cannot be fitted")
        lo, hi = marchenko_pastur_edge(Q, variance)
        margin = t_q * variance * sig_j / N
        new = min(int(np.count_nonzero(lam > hi + margin)), M - min_bulk)
        if new == n_spikes:
            break
        n_spikes = new
        bulk = lam[: M - n_spikes]
    thr = hi + margin
    spikes = lam[lam > thr][::-1].copy()
    lam_max = float(lam[-1])
    return MarchenkoPasturFit(
        variance=variance, aspect_ratio=Q, n_rows=N, n_cols=M, lambda_minus=lo, lambda_plus=hi,
        tw_margin=margin, threshold=thr, tw_quantile=float(tw_quantile), n_spikes=int(spikes.size),
        spikes=spikes, lambda_max=lam_max, mp_softrank=hi / lam_max if lam_max > 0 else math.inf,
    )


def correlation_traps(W: Any, *, rng: Any = None, tw_quantile: float = 0.999) -> int:
    """Number of correlation traps: spikes of the MP fit to ``W`` with its entries shuffled.

    Shuffling destroys the correlations between entries, so a shuffled i.i.d.
    matrix has no eigenvalue beyond the TW threshold; eigenvalues that remain
    beyond it come from a few unusually large entries.  The permutation is drawn
    on the host from ``rng`` and applied in ``W``'s namespace; the fit is
    :func:`fit_marchenko_pastur`.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.random.default_rng(0).standard_normal((200, 100))
    >>> correlation_traps(W, rng=1)
    0
    >>> W[3, 7] = 60.0
    >>> correlation_traps(W, rng=1)
    1
    """
    W = check_array(W, "W", ndim=2)
    xp = backend.array_namespace(W)
    perm = backend.as_generator(rng).permutation(W.shape[0] * W.shape[1])
    flat = xp.reshape(W, (-1,))
    shuffled = xp.reshape(xp.take(flat, backend.asarray(perm, like=flat), axis=0), tuple(W.shape))
    return fit_marchenko_pastur(shuffled, tw_quantile=tw_quantile).n_spikes


# =========================================================================== #
# power-law fits (Clauset, Shalizi and Newman 2009)
# =========================================================================== #
@dataclass(frozen=True)
class PowerLawFit:
    """Result of :func:`powerlaw_alpha` (host values).

    Attributes
    ----------
    alpha : float
        Power-law exponent of the eigenvalue density ``p(lambda) ~ lambda^-alpha``.
    sigma : float
        Standard error: ``(alpha - 1) / sqrt(n_tail)`` (untruncated fit) or the
        inverse Fisher information of the truncated fit.
    xmin, xmax : float
        Tail range; ``xmax = inf`` for the untruncated fit.
    n_tail : int
        Eigenvalues in ``[xmin, xmax]``.
    n_eigenvalues : int
        Eigenvalues used (those ``> min_eigenvalue``).
    ks_distance : float
        Kolmogorov-Smirnov distance of the chosen fit.
    lambda_max : float
        Largest eigenvalue (fingers included).
    alpha_weighted : float
        ``alpha * log10(lambda_max)``.
    log_alpha_norm : float
        ``log10(sum_i lambda_i^alpha)`` over the eigenvalues used.
    n_fingers : int
        Top eigenvalues dropped as fingers (0 without ``fix_fingers``).
    fingers : numpy.ndarray
        The dropped eigenvalues, descending.
    alpha_unfixed : float or None
        Untruncated fit of all eigenvalues (only with ``fix_fingers``).
    truncated : bool
        Whether the reported fit is the truncated one.
    alpha_ci : tuple of float or None
        Percentile bootstrap interval (with ``n_bootstrap > 0``).
    bootstrap_alphas : numpy.ndarray or None
    """

    alpha: float
    sigma: float
    xmin: float
    xmax: float
    n_tail: int
    n_eigenvalues: int
    ks_distance: float
    lambda_max: float
    alpha_weighted: float
    log_alpha_norm: float
    n_fingers: int = 0
    fingers: np.ndarray = None  # type: ignore[assignment]
    alpha_unfixed: float | None = None
    truncated: bool = False
    alpha_ci: tuple[float, float] | None = None
    bootstrap_alphas: np.ndarray | None = None


_KS_BLOCK = 1 << 16  # elements per block of the O(n^2) KS scan (fits in L2 cache)
_KS_EXACT_BELOW = 512  # below this size the scan is done exactly without pruning


def _trunc_mean_ratio(w: np.ndarray) -> np.ndarray:
    """``h(w) = 1/w - 1/expm1(w)``: the mean of a rate-1 exponential truncated to [0, w], over w."""
    small = w < 1e-3
    ws = np.where(small, 1.0, w)
    with np.errstate(over="ignore"):  # expm1 -> inf for huge w gives the right limit 1/w
        exact = 1.0 / ws - 1.0 / np.expm1(ws)
    return np.where(small, 0.5 - w / 12.0 + w**3 / 720.0, exact)


def _solve_truncated_beta(rho: np.ndarray) -> np.ndarray:
    """Solve ``h(w) = rho`` (``0 < rho < 1/2``) for ``w = beta * t`` by bisection (h is decreasing)."""
    lo = np.zeros_like(rho)
    hi = 1.0 / rho  # h(1/rho) < rho
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        above = _trunc_mean_ratio(mid) > rho
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return 0.5 * (lo + hi)


def _tail_params(u: np.ndarray, starts: np.ndarray, log_xmin: np.ndarray, truncated: bool):
    """MLE per candidate: beta, KS-kernel lead/offset, standard error, validity mask.

    Row ``k`` fits the tail ``u[starts[k]:]`` (log data, ascending) with lower cut
    ``exp(log_xmin[k])`` and, if ``truncated``, upper cut ``exp(u[-1])``.
    """
    n = u.size
    suffix = np.concatenate([np.cumsum(u[::-1])[::-1], [0.0]])
    n_t = (n - starts).astype(np.float64)
    S = suffix[starts] - n_t * log_xmin  # sum of ln(x / xmin) over the tail (prefix sums)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if not truncated:
            valid = (S > 0) & (n_t >= 2)
            beta = np.where(valid, n_t / np.where(valid, S, 1.0), np.nan)
            lead = beta * log_xmin + np.log(n_t)
            offset = np.zeros_like(beta)
            se = beta / np.sqrt(n_t)
            return beta, lead, offset, se, valid
        t = u[-1] - log_xmin
        rho = np.where(t > 0, S / np.where(t > 0, n_t * t, 1.0), 0.5)
        valid = (rho > 0) & (rho < 0.5) & (n_t >= 2)
        rho_v = np.where(valid, rho, 0.25)
        w = _solve_truncated_beta(rho_v)
        tv = np.where(valid, t, 1.0)
        beta = np.where(valid, w / tv, np.nan)
        a = 1.0 / -np.expm1(-w)  # normalization 1 / (1 - e^{-beta t})
        lead = beta * log_xmin + np.log(n_t * a)
        offset = n_t * (a - 1.0)
        # Fisher information per point of the truncated exponential (in log x): 1/b^2 - t^2/(4 sinh^2(bt/2))
        info = 1.0 / beta**2 - tv**2 / (4.0 * np.sinh(w / 2.0) ** 2)
        se = 1.0 / np.sqrt(np.where(valid & (info > 0), n_t * info, np.nan))
        return beta, lead, offset, se, valid


def _ks_block(cols_u, cols_r, cols_idx, starts, beta, lead, offset):
    """``max(max_j Y + 1, -min_j Y)`` for rows sharing one column set; masked columns (j < start) give 0.

    ``Y_j = n_t G(x_j) - r_j`` with the model survival ``G`` and ``r_j`` the count of
    points ``>= x_j``; ``D = max(...) / n_t`` is the two-sided KS distance.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        Z = np.multiply.outer(-beta, cols_u)
        Z += lead[:, None]
        np.exp(Z, out=Z)
        Z -= offset[:, None]
        Z -= cols_r
    if starts[-1] > cols_idx[0]:
        n_mask = int(np.searchsorted(cols_idx, starts[-1]))
        Zm = Z[:, :n_mask]
        Zm[cols_idx[None, :n_mask] < starts[:, None]] = 0.0
    return np.maximum(Z.max(axis=1) + 1.0, -Z.min(axis=1))


def _ks_rows(u, r, rows, beta, lead, offset, stride=1):
    """KS statistics ``max(...)`` (see :func:`_ks_block`) for sorted row indices.

    ``stride > 1`` evaluates only every ``stride``-th data point (plus the last):
    a lower bound on the exact value, computed with the same floating-point operations.
    """
    n = u.size
    cols_all = np.arange(n) if stride == 1 else np.unique(np.concatenate([np.arange(0, n, stride), [n - 1]]))
    out = np.empty(rows.size)
    k = 0
    while k < rows.size:
        i0 = rows[k]
        c0 = int(np.searchsorted(cols_all, i0))
        cols = cols_all[c0:]
        per = max(1, _KS_BLOCK // max(cols.size, 1))
        stop = k + 1
        limit = i0 + max(64, (n - i0) // 8)  # keep the wasted (masked) triangle small
        while stop < rows.size and stop - k < per and rows[stop] <= limit:
            stop += 1
        sl = slice(k, stop)
        out[sl] = _ks_block(u[cols], r[cols], cols, rows[sl], beta[sl], lead[sl], offset[sl])
        k = stop
    return out


def _scan(x: np.ndarray, truncated: bool, xmin: float | None):
    """Fit a (truncated) power law to ascending positive ``x``; KS-chosen xmin unless ``xmin`` is given."""
    n = x.size
    u = np.log(x)
    r = (n - np.arange(n)).astype(np.float64)
    if xmin is not None:
        start = int(np.searchsorted(x, xmin, side="left"))
        starts = np.array([start])
        log_xmin = np.array([math.log(xmin)])
    else:
        first = np.ones(n, dtype=bool)
        first[1:] = x[1:] > x[:-1]  # one candidate per distinct value
        starts = np.nonzero(first)[0]
        log_xmin = u[starts]
    beta, lead, offset, se, valid = _tail_params(u, starts, log_xmin, truncated)
    if not np.any(valid):
        raise ValueError(
            "W_or_eigenvalues has no valid power-law tail (need at least 2 distinct eigenvalues >= xmin)"
        )
    starts, log_xmin, beta, lead, offset, se = (a[valid] for a in (starts, log_xmin, beta, lead, offset, se))
    n_t = (n - starts).astype(np.float64)
    if starts.size == 1 or n <= _KS_EXACT_BELOW:
        D = _ks_rows(u, r, starts, beta, lead, offset) / n_t
    else:
        # exact argmin with pruning: strided evaluation gives lower bounds LB <= D; the exact D of the
        # most promising rows gives an upper bound on min D; only rows with LB <= that bound can win.
        stride = max(2, int(math.sqrt(n) / 4))
        lb = _ks_rows(u, r, starts, beta, lead, offset, stride=stride) / n_t
        D = np.full(starts.size, np.inf)
        seed = np.sort(np.argsort(lb, kind="stable")[:8])
        D[seed] = _ks_rows(u, r, starts[seed], beta[seed], lead[seed], offset[seed]) / n_t[seed]
        bound = D[seed].min() + 1e-12
        todo = np.nonzero((lb <= bound) & ~np.isfinite(D))[0]
        if todo.size:
            D[todo] = _ks_rows(u, r, starts[todo], beta[todo], lead[todo], offset[todo]) / n_t[todo]
    best = int(np.argmin(D))  # first minimum = smallest xmin on ties
    return {
        "alpha": 1.0 + float(beta[best]),
        "sigma": float(se[best]),
        "xmin": float(math.exp(log_xmin[best])) if xmin is None else float(xmin),
        "xmax": float(x[-1]) if truncated else math.inf,
        "n_tail": int(n - starts[best]),
        "ks_distance": float(D[best]),
    }


def _fingers_fit(x: np.ndarray, xmin: float | None, max_fingers: int, pvalue: float):
    """Detect fingers with Renyi's representation of the top log-spacings, then refit truncated."""
    n = x.size
    m = max_fingers
    ref = _scan(x[: n - m], True, xmin)  # reference exponent, unaffected by the top m points
    beta = ref["alpha"] - 1.0
    top = np.log(x[n - m - 1:])[::-1]  # log of the m + 1 largest, descending
    spacing = (top[:-1] - top[1:]) * np.arange(1, m + 1)  # j * (ln x_(j) - ln x_(j+1)) ~ Exp(beta)
    hits = np.nonzero(beta * spacing > math.log(m / pvalue))[0]
    k = int(hits[-1]) + 1 if hits.size else 0
    if k == 0:
        return None, 0
    return _scan(x[: n - k], True, xmin), k


def _fit_once(x, xmin, fix_fingers, max_fingers, pvalue):
    plain = _scan(x, False, xmin)
    if not fix_fingers:
        return plain, 0, None
    fixed, k = _fingers_fit(x, xmin, max_fingers, pvalue)
    if k == 0:
        return plain, 0, plain["alpha"]
    return fixed, k, plain["alpha"]


def powerlaw_alpha(
    W_or_eigenvalues: Any,
    *,
    xmin: float | None = None,
    fix_fingers: bool = False,
    max_fingers: int = 10,
    finger_pvalue: float = 0.01,
    min_eigenvalue: float = 1e-5,
    n_bootstrap: int = 0,
    confidence: float = 0.95,
    rng: Any = None,
) -> PowerLawFit:
    """Power-law exponent of the ESD tail: Clauset-Shalizi-Newman MLE with the KS-chosen ``xmin``.

    As WeightWatcher (PAPERS.md D3), on the eigenvalues ``lambda > min_eigenvalue``
    of :func:`esd` (or the given eigenvalues): for each candidate
    ``xmin = lambda_(i)`` (each distinct value with at least two points at or
    above it), ``alpha = 1 + n / sum_{lambda_j >= xmin} ln(lambda_j / xmin)``;
    the KS distance ``D = sup_x |F_n(x) - (1 - (x / xmin)^(1 - alpha))|`` over the
    tail is computed, and the ``xmin`` with the smallest ``D`` is kept (the
    smallest such ``xmin`` on ties).  ``sigma = (alpha - 1) / sqrt(n_tail)``.
    ``D`` is the two-sided supremum (the ``powerlaw`` package used by
    WeightWatcher evaluates the ECDF only at its left limits, which can differ by
    up to ``1 / n_tail``).

    The scan is O(n^2) but vectorized: prefix sums give every MLE at once; the
    KS distances are computed in cache-sized blocks, first on every
    ``~sqrt(n)/4``-th point (a lower bound), then exactly for the candidates
    whose bound can still beat the best exact value, so the chosen ``xmin`` is
    exactly the full scan's.  The eigenvalues move to NumPy once, at the start.

    **Fingers** (``fix_fingers=True``; pitfall (i) of PAPERS.md D3).  A reference
    exponent ``beta = alpha_ref - 1`` is fitted (truncated, see below) without the
    top ``max_fingers`` eigenvalues.  Under a power-law tail the scaled top
    log-spacings ``T_j = j (ln lambda_(j) - ln lambda_(j+1))`` (``lambda_(1)``
    the largest) are i.i.d. exponential with rate ``beta`` (Renyi's
    representation).  The fingers are the top ``k`` eigenvalues, where ``k`` is
    the largest ``j <= max_fingers`` with ``beta T_j > ln(max_fingers /
    finger_pvalue)`` (a Bonferroni test at level ``finger_pvalue``; the gap below a
    cluster of fingers is what is detected).  If ``k > 0`` they are dropped and the
    rest is refitted as a power law **truncated** to ``[xmin, xmax]``, ``xmax`` the
    largest kept eigenvalue, with the density renormalized on that interval
    (Aban, Meerschaert and Panorska 2006), which avoids the bias of an ``xmax``
    imposed without renormalization (pitfall (ii)); the KS scan uses the
    truncated CDF and ``sigma`` its inverse Fisher information.  With ``k = 0`` the
    untruncated fit is returned.

    Parameters
    ----------
    W_or_eigenvalues : array, shape (m, n) or (M,)
        A matrix (its :func:`esd` eigenvalues are used) or 1-D **eigenvalues**.
    xmin : float, optional
        Fixed lower cut instead of the KS scan.
    fix_fingers : bool, default False
    max_fingers : int, default 10
        At most this many fingers; ``1 <= max_fingers < n / 2``.
    finger_pvalue : float in (0, 1), default 0.01
    min_eigenvalue : float, default 1e-5
        Eigenvalues at or below it are ignored (WeightWatcher's cut).
    n_bootstrap : int, default 0
        Resample the eigenvalues with replacement and refit this many times (the
        whole procedure, xmin scan and finger fix included) for a percentile
        interval of ``alpha``.
    confidence : float in (0, 1), default 0.95
    rng : int, Generator or None
        Seed of the bootstrap.

    Returns
    -------
    PowerLawFit

    Examples
    --------
    >>> import numpy as np
    >>> x = 1.0 + np.random.default_rng(0).pareto(2.0, 2000)   # density ~ x^-3 on [1, inf)
    >>> fit = powerlaw_alpha(x)
    >>> bool(abs(fit.alpha - 3.0) < 2 * fit.sigma)
    True
    """
    lam, _ = _host_eigenvalues(W_or_eigenvalues, "W_or_eigenvalues")
    min_eigenvalue = check_float(min_eigenvalue, "min_eigenvalue", low=0.0)
    x = lam[lam > min_eigenvalue]
    n = int(x.size)
    if n < 3:
        raise ValueError(
            f"W_or_eigenvalues must have at least 3 eigenvalues > min_eigenvalue={min_eigenvalue:g}, got {n}"
        )
    if xmin is not None:
        xmin = check_float(xmin, "xmin", low=0.0, low_inclusive=False)
        if np.count_nonzero(x >= xmin) < 2:
            raise ValueError(f"xmin must leave at least 2 eigenvalues in the tail, got xmin={xmin:g}")
    if fix_fingers:
        max_fingers = check_int(max_fingers, "max_fingers", low=1, high=(n - 1) // 2 - 1 if n >= 6 else 0,
                                high_label="n/2 - 1")
        finger_pvalue = check_float(finger_pvalue, "finger_pvalue", low=0.0, high=1.0,
                                    low_inclusive=False, high_inclusive=False)
    n_bootstrap = check_int(n_bootstrap, "n_bootstrap", low=0)
    confidence = check_float(confidence, "confidence", low=0.0, high=1.0, low_inclusive=False,
                             high_inclusive=False)

    fit, k, alpha_unfixed = _fit_once(x, xmin, fix_fingers, max_fingers, finger_pvalue)
    lam_max = float(x[-1])
    alpha = fit["alpha"]
    z = alpha * np.log(x)
    log_norm = float((z.max() + np.log(np.sum(np.exp(z - z.max())))) / math.log(10.0))

    ci, boots = None, None
    if n_bootstrap:
        gen = backend.as_generator(rng)
        boots = np.empty(n_bootstrap)
        for b in range(n_bootstrap):
            xb = np.sort(gen.choice(x, size=n, replace=True))
            try:
                boots[b] = _fit_once(xb, xmin, fix_fingers, max_fingers, finger_pvalue)[0]["alpha"]
            except ValueError:  # a degenerate resample (e.g. all tail values tied)
                boots[b] = np.nan
        lo_q, hi_q = (1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0
        good = boots[np.isfinite(boots)]
        ci = (float(np.quantile(good, lo_q)), float(np.quantile(good, hi_q))) if good.size else None

    return PowerLawFit(
        alpha=alpha,
        sigma=fit["sigma"],
        xmin=fit["xmin"],
        xmax=fit["xmax"],
        n_tail=fit["n_tail"],
        n_eigenvalues=n,
        ks_distance=fit["ks_distance"],
        lambda_max=lam_max,
        alpha_weighted=alpha * math.log10(lam_max),
        log_alpha_norm=log_norm,
        n_fingers=k,
        fingers=x[n - k:][::-1].copy() if k else np.empty(0),
        alpha_unfixed=alpha_unfixed,
        truncated=bool(k),
        alpha_ci=ci,
        bootstrap_alphas=boots,
    )
