"""Diagnostics of weight updates: intruder dimensions and the amplification factor."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import backend, linalg
from .._validation import check_array, check_float, check_int


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


def intruder_dimensions(W_tuned: Any, W_base: Any, k: int = 10, eps: Any = 0.5, *,
                        tuned_vectors: Any = None, base_vectors: Any = None) -> IntruderResult:
    """Intruder dimensions (Shuttleworth et al. 2024, arXiv:2410.21228, reference-code convention).

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
    tuned_vectors : array, shape (m, >= k), optional
        Precomputed top left singular vectors of ``W_tuned`` (orthonormal columns ordered
        by singular value), e.g. from :func:`lowrank_lab.linalg.randomized_svd` for a
        large matrix; only the first ``k`` columns are used.  Default: exact SVD.
    base_vectors : array, shape (m, q), optional
        Precomputed left singular vectors of ``W_base`` (all ``q = min(m, n)`` of them),
        e.g. computed once for a whole training run.  Default: exact thin SVD.

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
    m = W_tuned.shape[0]
    if tuned_vectors is None:
        U = linalg.svd(W_tuned).U[:, :k]
    else:
        if getattr(tuned_vectors, "ndim", None) != 2 or tuned_vectors.shape[0] != m or tuned_vectors.shape[1] < k:
            raise ValueError(f"tuned_vectors must have shape (m={m}, >= k={k}), got "
                             f"{tuple(getattr(tuned_vectors, 'shape', ()))}")
        U = tuned_vectors[:, :k]
    if base_vectors is None:
        U0 = linalg.svd(W_base).U
    else:
        if getattr(base_vectors, "ndim", None) != 2 or base_vectors.shape[0] != m:
            raise ValueError(f"base_vectors must have shape (m={m}, q), got {tuple(getattr(base_vectors, 'shape', ()))}")
        U0 = base_vectors
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
