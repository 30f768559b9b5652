"""Spectra and the scalar metrics of one spectrum: ranks (effective, stable, numerical, energy), entropies, norms."""

from __future__ import annotations

from types import ModuleType
from typing import Any


from .. import backend, linalg
from .._validation import check_array, check_choice, check_float, check_int


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
    factors (Hu et al. 2021, arXiv:2106.09685, §7): an ``A`` factor (r x n) is compared through its
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
        Energy fraction ``tau`` (0.9 by default; SVFit keeps 0.99).
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
    """WeLore's per-matrix rank-pruning count (reference-code rule of Jaiswal et al. 2024, arXiv:2407.11239; uses sigma).

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
