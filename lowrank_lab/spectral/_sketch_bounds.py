"""The expected-error bounds of the randomized range finder (Halko, Martinsson & Tropp 2011).

Used by notebook 00 to draw the theory next to the measured error of
:func:`lowrank_lab.linalg.randomized_svd` (issue 10).
"""

from __future__ import annotations

import math
from typing import Any

from .._validation import check_choice, check_int
from ._ranks import _spectrum

__all__ = ["randomized_svd_error_bound"]


def randomized_svd_error_bound(
    W: Any,
    rank: int,
    oversampling: int,
    power_iterations: int = 0,
    *,
    norm: str = "spectral",
    truncated: bool = False,
) -> float:
    """Halko et al.'s bound on the expected error of a Gaussian sketch with ``k + p`` columns.

    With ``s`` the singular values of ``W`` (``k = rank``, ``p = oversampling >= 2``,
    ``q = power_iterations``) and ``Q`` an orthonormal basis of the range of
    ``(W W^T)^q W Omega``, ``Omega`` a standard Gaussian ``n x (k + p)`` matrix:

    * ``norm="spectral"`` (Halko, Martinsson & Tropp 2011, SIAM Review 53(2),
      Theorem 10.6 for ``q = 0`` and Corollary 10.10 for ``q >= 1``)::

        E ||(I - Q Q^T) W||_2 <= [ (1 + sqrt(k/(p-1))) s_{k+1}^(2q+1)
                                   + (e sqrt(k+p) / p) sqrt(sum_{j>k} s_j^(2(2q+1))) ]^(1/(2q+1))

    * ``norm="frobenius"`` (Theorem 10.5, ``q = 0`` only)::

        E ||(I - Q Q^T) W||_F <= sqrt(1 + k/(p-1)) sqrt(sum_{j>k} s_j^2)

    With ``truncated=True`` the bound is for the rank-``k`` truncation ``W_k`` of
    ``Q Q^T W`` that a randomized SVD returns: ``||W - W_k||_2 <= s_{k+1} +
    ||(I - Q Q^T) W||_2`` (Theorem 9.3), so ``s_{k+1}`` is added (spectral norm only).

    Parameters
    ----------
    W : array, shape (m, n) or (q,)
        The matrix or its singular values (any order).
    rank : int
        ``k >= 2`` (the theorems assume it), below the number of singular values.
    oversampling : int
        ``p >= 2`` (the bound is infinite for ``p < 2``).
    power_iterations : int, default 0
    norm : {"spectral", "frobenius"}
    truncated : bool, default False

    Returns
    -------
    float
        The bound (same units as ``W``); divide by ``s_{k+1}`` for a ratio.

    Examples
    --------
    >>> import numpy as np
    >>> s = np.arange(1, 101) ** -1.0
    >>> b = randomized_svd_error_bound(s, 10, 5)
    >>> bool(b > s[10])
    True
    >>> randomized_svd_error_bound(s, 10, 5, 3) < b
    True
    """
    s, xp, _ = _spectrum(W)
    n_values = int(s.shape[0])
    k = check_int(rank, "rank", low=2, high=n_values - 1, high_label="number of singular values - 1")
    p = check_int(oversampling, "oversampling", low=2)
    q = check_int(power_iterations, "power_iterations", low=0)
    check_choice(norm, "norm", ("spectral", "frobenius"))
    tail = s[k:]
    if norm == "frobenius":
        if q != 0 or truncated:
            raise ValueError("norm='frobenius' has a bound for power_iterations=0 and truncated=False only")
        return float(math.sqrt(1.0 + k / (p - 1)) * float(xp.sqrt(xp.sum(tail * tail))))
    e = 2 * q + 1
    sigma = float(s[k])
    first = (1.0 + math.sqrt(k / (p - 1))) * sigma**e
    second = (math.e * math.sqrt(k + p) / p) * float(xp.sqrt(xp.sum(tail ** (2 * e))))
    bound = (first + second) ** (1.0 / e)
    return float(bound + sigma) if truncated else float(bound)
