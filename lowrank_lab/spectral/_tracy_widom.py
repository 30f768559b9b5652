"""Tracy-Widom law (beta = 1) and the finite-size theory of spiked noise matrices.

* :func:`tracy_widom_cdf` and :func:`tracy_widom_density`: the distribution of the
  centred and scaled largest eigenvalue of a real white Wishart matrix, evaluated with
  Bornemann's (2010) Fredholm-determinant method,
  ``F1(s) = det(I - K)`` on ``L^2(s, inf)`` with ``K(x, y) = Ai((x + y) / 2) / 2``
  (Gauss-Legendre quadrature, accurate to about 1e-10 for ``-8 <= s <= 8``).
* :func:`tracy_widom_scaling`: Johnstone's (2001) centre and scale of the largest
  eigenvalue in the :func:`lowrank_lab.spectral.esd` normalization (eigenvalues of
  ``W^T W / N``, unit-variance entries).
* :func:`spiked_overlap`: the large-matrix limit of the squared overlap between a
  planted spike's direction and the top eigenvector (Benaych-Georges & Nadakuditi
  2012; the form of Gavish & Donoho 2017, eq. 9-10).

SciPy is imported inside the functions (``scipy.special.airy``).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .._validation import check_choice, check_float, check_int

__all__ = ["spiked_overlap", "tracy_widom_cdf", "tracy_widom_density", "tracy_widom_scaling"]

_TW_NODES = 80  # Gauss-Legendre points
_TW_SPAN = 16.0  # the kernel is below 1e-16 beyond s + 16 for s >= -8


@functools.lru_cache(maxsize=1)
def _legendre() -> tuple[np.ndarray, np.ndarray]:
    from numpy.polynomial.legendre import leggauss  # noqa: PLC0415

    return leggauss(_TW_NODES)


def _f1(s: float) -> float:
    from scipy.special import airy  # noqa: PLC0415

    x0, w0 = _legendre()
    half = _TW_SPAN / 2.0
    x, w = s + (x0 + 1.0) * half, w0 * half
    K = 0.5 * airy((x[:, None] + x[None, :]) / 2.0)[0]
    sw = np.sqrt(w)
    return float(np.linalg.det(np.eye(x.size) - sw[:, None] * K * sw[None, :]))


def tracy_widom_cdf(s: float) -> float:
    """Tracy-Widom (beta = 1) distribution function ``F1(s)``, ``-8 <= s <= 8``.

    Bornemann's (2010) Fredholm determinant ``det(I - K)`` on ``L^2(s, inf)`` with the
    kernel ``K(x, y) = Ai((x + y) / 2) / 2``, discretized by 80-point Gauss-Legendre
    quadrature on ``[s, s + 16]``.  Below -8 the value is below 1e-7 and above 8 it exceeds
    1 - 1e-8, so the argument is restricted to that range.

    Examples
    --------
    >>> round(tracy_widom_cdf(0.9793), 4)  # the 95% quantile
    0.95
    """
    s = check_float(s, "s", low=-8.0, high=8.0)
    return min(1.0, max(0.0, _f1(s)))


def tracy_widom_density(s: float) -> float:
    """Tracy-Widom (beta = 1) density ``F1'(s)`` by a central difference of :func:`tracy_widom_cdf`.

    The step is 1e-3; with the determinant accurate to about 1e-12 the density is
    accurate to about 1e-6.  Mean -1.2065, standard deviation 1.2680.

    Examples
    --------
    >>> round(tracy_widom_density(-1.2), 3)  # near the mode
    0.315
    """
    s = check_float(s, "s", low=-7.99, high=7.99)
    h = 1e-3
    return max(0.0, (_f1(s + h) - _f1(s - h)) / (2.0 * h))


def tracy_widom_scaling(n_rows: int, n_cols: int) -> tuple[float, float]:
    """Johnstone's centre and scale of the largest eigenvalue of ``W^T W / N`` for white noise.

    For ``W`` with i.i.d. unit-variance Gaussian entries (``N`` rows, ``M`` columns;
    the larger side is ``N``), ``(lambda_max - center) / scale`` converges to the
    Tracy-Widom law (beta = 1), where (Johnstone 2001, eigenvalues of ``W^T W``)
    ``center = (sqrt(N - 1) + sqrt(M))^2 / N`` and
    ``scale = (sqrt(N - 1) + sqrt(M)) (1 / sqrt(N - 1) + 1 / sqrt(M))^(1/3) / N``.
    The centre differs from the Marchenko-Pastur edge ``(1 + sqrt(M / N))^2`` by a term
    of order ``1 / N``; the fluctuations are of order ``N^(-2/3)``.

    Examples
    --------
    >>> center, scale = tracy_widom_scaling(512, 256)
    >>> round(center, 4), round(scale, 4)
    (2.9109, 0.0358)
    """
    n_rows = check_int(n_rows, "n_rows", low=2)
    n_cols = check_int(n_cols, "n_cols", low=2)
    n, m = max(n_rows, n_cols), min(n_rows, n_cols)
    a, b = math.sqrt(n - 1.0), math.sqrt(m)
    return (a + b) ** 2 / n, (a + b) * (1.0 / a + 1.0 / b) ** (1.0 / 3.0) / n


def spiked_overlap(theta: float, n_rows: int, n_cols: int, *, side: str = "columns") -> float:
    """Limit of the squared overlap ``<v_hat, v>^2`` between a planted spike and the top singular vector.

    Model (as :func:`lowrank_lab.spectral.trials.spiked_noise_matrix`):
    ``W / sqrt(N) = X / sqrt(N) + theta u v^T`` with i.i.d. unit-variance noise ``X``
    (``N x M``, ``N >= M``), unit ``u`` (length ``N``) and ``v`` (length ``M``), and
    ``c = M / N``.  Below the BBP threshold ``theta <= c^(1/4)`` the overlap tends to 0;
    above it (Benaych-Georges & Nadakuditi 2012; Gavish & Donoho 2017, eq. 9-10)

    * ``side="columns"`` (the ``M``-side: eigenvectors of the ESD matrix ``W^T W / N``):
      ``(theta^4 - c) / (theta^2 (theta^2 + c))``;
    * ``side="rows"`` (the ``N``-side, left singular vectors):
      ``(theta^4 - c) / (theta^2 (theta^2 + 1))``.

    For ``N < M`` pass the shape as it is: ``side`` refers to the smaller (``"columns"``)
    or larger (``"rows"``) dimension after the transposition that makes ``N >= M``.

    Examples
    --------
    >>> spiked_overlap(0.5, 400, 200)  # below the threshold (0.5)^(1/4) = 0.84
    0.0
    >>> round(spiked_overlap(2.0, 400, 200), 4)
    0.8611
    """
    theta = check_float(theta, "theta", low=0.0)
    n_rows = check_int(n_rows, "n_rows", low=1)
    n_cols = check_int(n_cols, "n_cols", low=1)
    side = check_choice(side, "side", ("columns", "rows"))
    n, m = max(n_rows, n_cols), min(n_rows, n_cols)
    c = m / n
    t2 = theta * theta
    if t2 * t2 <= c:
        return 0.0
    return (t2 * t2 - c) / (t2 * (t2 + (c if side == "columns" else 1.0)))
