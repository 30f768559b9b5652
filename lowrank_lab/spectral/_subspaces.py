"""Subspaces: principal angles, Grassmann and projection distances, overlap, LoRA's normalized subspace similarity."""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any


from .. import backend
from .._validation import check_array, check_int


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
