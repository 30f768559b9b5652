"""The intrinsic dimension of a point cloud: TwoNN, MLE, participation ratio and local PCA.

Not to be confused with the intrinsic dimension of an objective landscape
(:mod:`lowrank_lab.intrinsic.landscape`): here the question is how many
coordinates describe the data points themselves.

Conventions (scikit-dimension's, current release)
-------------------------------------------------
:func:`twonn`
    Facco, d'Errico, Rodriguez and Laio (2017).  ``mu_i = r_2 / r_1`` (second over
    first nearest-neighbour distance) follows a Pareto law with exponent ``d``.
    Sort the ``mu_i``, keep the smallest ``int(N (1 - 0.1))`` (the largest 10 % are
    discarded), set ``F_emp = i / N`` for the ``i``-th kept value (``i = 1, 2, ...``;
    ``N`` counts all points) and fit ``-ln(1 - F_emp) = d ln mu`` through the origin
    by least squares.  (Without discarding, the largest ratio, whose
    ``F_emp = 1`` has no finite ordinate, is left out.)
:func:`mle`
    Levina and Bickel (2004).  With the ``k = 20`` nearest neighbours of ``x``
    (``x`` itself excluded), ``d(x) = (k - 1) / sum_{j<k} ln(R_k / R_j)``
    (``k - 2`` in the numerator for the unbiased variant), aggregated over points by
    the harmonic mean ``1 / mean(1 / d(x))`` (MacKay and Ghahramani's correction,
    scikit-dimension's ``comb="mle"``).
:func:`participation_ratio`
    ``(sum lambda)^2 / sum lambda^2`` of the covariance eigenvalues: a linear,
    global measure (it sees the number of directions with variance, not curvature).
:func:`local_pca`
    Fukunaga and Olsen (1971): PCA of each point's ``k`` nearest neighbours (the
    point excluded, as scikit-dimension's ``asPointwise``); the local dimension
    counts the eigenvalues above ``alpha = 0.05`` times the largest (or the
    components needed for a fraction of the local variance), averaged over points.

Duplicates
----------
A duplicated point has ``r_1 = 0``: TwoNN's ratio and MLE's logarithm are then
undefined.  Every estimator detects them from the neighbour distances and, by
default, **refuses** the data with a message (``duplicates="raise"``);
``duplicates="drop"`` keeps one copy of each distinct point, warns how many were
dropped and estimates on the rest.  (scikit-dimension drops the points with
``r_1 = 0`` from TwoNN's ratios but keeps them as neighbours of the others, and
returns 0-dimensional MLE terms; results differ on data with duplicates.)

Neighbours come from :func:`lowrank_lab.linalg.knn_distances` (SciPy's KD-tree or
scikit-learn on NumPy, blocked distances on other backends).  Scalars are
returned as Python floats; per-point values stay in the input's namespace.

Examples
--------
>>> from lowrank_lab.intrinsic import manifolds
>>> X = manifolds.hypersphere(2000, 3, ambient_dim=10, rng=0).points
>>> round(float(twonn(X)), 1), round(float(mle(X)), 1)
(3.0, 3.0)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import backend, linalg, spectral
from .._validation import check_array, check_choice, check_float, check_int

__all__ = ["DimensionEstimate", "local_pca", "mle", "participation_ratio", "twonn"]

DUPLICATES = ("raise", "drop")


@dataclass(frozen=True, eq=False)
class DimensionEstimate:
    """An intrinsic-dimension estimate of a point cloud (``float(estimate)`` gives the number).

    Attributes
    ----------
    dimension : float
        The estimate.
    method : str
        ``"twonn"``, ``"mle"``, ``"participation_ratio"`` or ``"local_pca"``.
    n_points : int
        Points used (after dropping duplicates).
    n_dropped : int
        Duplicate points dropped (``duplicates="drop"``).
    per_point : array or None
        Per-point values in the input's namespace: TwoNN's ratios ``mu_i = r_2 / r_1``,
        MLE's local estimates ``d(x_i)``, local PCA's local dimensions; None for the
        participation ratio.  Rows follow the points used.
    params : dict
        The estimator's settings.
    """

    dimension: float
    method: str
    n_points: int
    n_dropped: int = 0
    per_point: Any = None
    params: dict = field(default_factory=dict)

    def __float__(self) -> float:
        return float(self.dimension)

    def __repr__(self) -> str:
        return (f"DimensionEstimate(method={self.method!r}, dimension={self.dimension:.4g}, "
                f"n_points={self.n_points}, n_dropped={self.n_dropped})")


def _check_points(X: Any, min_points: int) -> Any:
    X = check_array(X, "X", ndim=2)
    if X.shape[0] < min_points:
        raise ValueError(f"X must have at least {min_points} points (rows), got {X.shape[0]}")
    return X


def _neighbors(X: Any, k: int, duplicates: str, method: str, estimator: str) -> tuple[Any, Any, int]:
    """``(X used, neighbours, n dropped)`` with exact duplicates refused or dropped."""
    nb = linalg.knn_distances(X, k, method=method)
    xp = backend.array_namespace(X)
    n_zero = int(xp.sum(xp.astype(nb.distances[:, 0] == 0, xp.int64)))
    if n_zero == 0:
        return X, nb, 0
    if duplicates == "raise":
        raise ValueError(
            f"X has {n_zero} points whose nearest neighbour is at distance 0 (exact duplicates): {estimator} is "
            "undefined there; remove them, or pass duplicates='drop' to keep one copy of each distinct point"
        )
    host = backend.to_numpy(X) + 0.0  # -0.0 -> 0.0, so equal points have equal bytes
    _, first = np.unique(host, axis=0, return_index=True)
    keep = np.sort(first)
    n_dropped = X.shape[0] - keep.size
    warnings.warn(f"{estimator}: dropped {n_dropped} duplicate point(s); {keep.size} distinct points remain",
                  UserWarning, stacklevel=3)
    if keep.size <= k:
        raise ValueError(f"only {keep.size} distinct points remain, {estimator} needs more than k={k}")
    X = xp.take(X, backend.asarray(keep, like=X), axis=0)
    return X, linalg.knn_distances(X, k, method=method), n_dropped


def twonn(X: Any, *, discard_fraction: float = 0.1, duplicates: str = "raise",
          neighbors: str = "auto") -> DimensionEstimate:
    """TwoNN estimate (Facco et al., 2017) with scikit-dimension's conventions.

    Parameters
    ----------
    X : array, shape (N, D)
        Points (rows), ``N >= 3``.
    discard_fraction : float in [0, 1), default 0.1
        Fraction of the largest ratios ``mu`` left out of the fit.
    duplicates : {"raise", "drop"}, default "raise"
        What to do with exact duplicates (see the module docstring).
    neighbors : {"auto", "kdtree", "sklearn", "blocked"}, default "auto"
        Neighbour search of :func:`lowrank_lab.linalg.knn_distances`.

    Returns
    -------
    DimensionEstimate
        ``per_point`` holds the ratios ``mu_i``.

    Raises
    ------
    ValueError
        For duplicates (``duplicates="raise"``), fewer than 2 kept ratios, or
        ratios that are all 1 (no spread to fit).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((3000, 4)) @ np.random.default_rng(1).standard_normal((4, 20))
    >>> round(twonn(X).dimension, 1)
    4.0
    """
    X = _check_points(X, 3)
    discard_fraction = check_float(discard_fraction, "discard_fraction", low=0.0, high=1.0, high_inclusive=False)
    check_choice(duplicates, "duplicates", DUPLICATES)
    X, nb, n_dropped = _neighbors(X, 2, duplicates, neighbors, "TwoNN")
    xp = backend.array_namespace(X)
    mu = nb.distances[:, 1] / nb.distances[:, 0]
    n = int(mu.shape[0])
    n_keep = min(int(n * (1.0 - discard_fraction)), n - 1)  # F_emp = 1 would give -ln(0)
    if n_keep < 2:
        raise ValueError(f"TwoNN keeps int(N (1 - discard_fraction)) = {n_keep} ratios; it needs at least 2")
    x = xp.log(xp.sort(mu)[:n_keep])
    f_emp = xp.arange(1, n_keep + 1, dtype=x.dtype, device=backend.device(x)) / n
    y = -xp.log(1.0 - f_emp)
    sxx = float(xp.sum(x * x))
    if sxx == 0.0:
        raise ValueError("all kept ratios r2 / r1 equal 1 (e.g. points on a lattice): TwoNN has nothing to fit")
    dimension = float(xp.sum(x * y)) / sxx
    return DimensionEstimate(dimension, "twonn", n, n_dropped, mu,
                             {"discard_fraction": discard_fraction, "duplicates": duplicates})


def mle(X: Any, k: int = 20, *, unbiased: bool = False, aggregate: str = "harmonic", duplicates: str = "raise",
        neighbors: str = "auto") -> DimensionEstimate:
    """Levina-Bickel maximum-likelihood estimate with scikit-dimension's conventions.

    Parameters
    ----------
    X : array, shape (N, D)
        Points (rows), ``N > k``.
    k : int, default 20
        Neighbours per point (the point itself excluded), ``k >= 2`` (``>= 3`` if unbiased).
    unbiased : bool, default False
        ``k - 2`` instead of ``k - 1`` in the numerator.
    aggregate : {"harmonic", "mean", "median"}, default "harmonic"
        How local estimates combine: ``1 / mean(1 / d(x))`` (scikit-dimension's
        ``comb="mle"``, MacKay and Ghahramani), Levina and Bickel's arithmetic mean,
        or the median.
    duplicates, neighbors
        As in :func:`twonn`.

    Returns
    -------
    DimensionEstimate
        ``per_point`` holds the local estimates ``d(x_i)`` (``inf`` where all ``k``
        distances are equal).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).uniform(size=(4000, 3))
    >>> round(mle(X).dimension, 1)
    2.9
    """
    X = _check_points(X, 3)
    unbiased = bool(unbiased)
    k = check_int(k, "k", low=3 if unbiased else 2, high=X.shape[0] - 1, high_label="N - 1")
    check_choice(aggregate, "aggregate", ("harmonic", "mean", "median"))
    check_choice(duplicates, "duplicates", DUPLICATES)
    X, nb, n_dropped = _neighbors(X, k, duplicates, neighbors, "MLE")
    xp = backend.array_namespace(X)
    r = nb.distances
    log_sum = xp.sum(xp.log(r[:, k - 1 : k] / r[:, : k - 1]), axis=1)
    numerator = float(k - 2 if unbiased else k - 1)
    with np.errstate(divide="ignore"):
        local = numerator / log_sum
    if aggregate == "harmonic":
        dimension = 1.0 / float(xp.mean(1.0 / local))
    elif aggregate == "mean":
        dimension = float(xp.mean(local))
    else:
        dimension = float(np.median(backend.to_numpy(local)))
    return DimensionEstimate(dimension, "mle", int(r.shape[0]), n_dropped, local,
                             {"k": k, "unbiased": unbiased, "aggregate": aggregate, "duplicates": duplicates})


def participation_ratio(X: Any) -> DimensionEstimate:
    """Participation ratio ``(sum lambda)^2 / sum lambda^2`` of the covariance eigenvalues of ``X``.

    A linear, scale-free count of the directions that carry variance: ``r`` for data
    spread evenly over an ``r``-dimensional subspace, less for uneven variances, and
    blind to curvature (a circle in a plane has 2).  Equal to scikit-dimension's
    ``lPCA(ver="participation_ratio")``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((20000, 3)) @ np.eye(3, 10)
    >>> round(participation_ratio(X).dimension, 1)
    3.0
    """
    X = _check_points(X, 2)
    xp = backend.array_namespace(X)
    centered = X - xp.mean(X, axis=0)
    return DimensionEstimate(spectral.participation_ratio(centered), "participation_ratio", int(X.shape[0]))


def local_pca(X: Any, k: int = 100, *, rule: str = "fo", alpha: float = 0.05, variance: float = 0.95,
              aggregate: str = "mean", duplicates: str = "raise", neighbors: str = "auto",
              block_size: int = 256) -> DimensionEstimate:
    """Local PCA: the dimension of each point's neighbourhood, averaged over points.

    For each point, the ``k`` nearest other points are centered and their
    covariance eigenvalues ``lambda_1 >= lambda_2 >= ...`` computed.  The local
    dimension is

    * ``rule="fo"`` (Fukunaga and Olsen, 1971; scikit-dimension's ``lPCA(ver="FO")``):
      the number of eigenvalues above ``alpha * lambda_1``;
    * ``rule="variance"``: the fewest leading components whose eigenvalues add up to
      at least ``variance`` of the total.

    Parameters
    ----------
    X : array, shape (N, D)
    k : int, default 100
        Neighbourhood size (scikit-dimension's ``asPointwise`` default), ``2 <= k <= N - 1``.
    rule : {"fo", "variance"}, default "fo"
    alpha : float in (0, 1), default 0.05
    variance : float in (0, 1], default 0.95
    aggregate : {"mean", "median"}, default "mean"
    duplicates, neighbors
        As in :func:`twonn` (duplicates only matter at distance 0 from a point).
    block_size : int, default 256
        Points per batch of eigen-decompositions.

    Returns
    -------
    DimensionEstimate
        ``per_point`` holds the local dimensions (integers as floats).

    Examples
    --------
    >>> from lowrank_lab.intrinsic import manifolds
    >>> X = manifolds.swiss_roll(3000, rng=0).points
    >>> local_pca(X, k=20).dimension
    2.0
    """
    X = _check_points(X, 3)
    k = check_int(k, "k", low=2, high=X.shape[0] - 1, high_label="N - 1")
    check_choice(rule, "rule", ("fo", "variance"))
    alpha = check_float(alpha, "alpha", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    variance = check_float(variance, "variance", low=0.0, high=1.0, low_inclusive=False)
    check_choice(aggregate, "aggregate", ("mean", "median"))
    check_choice(duplicates, "duplicates", DUPLICATES)
    block_size = check_int(block_size, "block_size", low=1)
    X, nb, n_dropped = _neighbors(X, k, duplicates, neighbors, "local PCA")
    xp = backend.array_namespace(X)
    n, n_features = X.shape
    parts = []
    for start in range(0, n, block_size):
        stop = min(start + block_size, n)
        idx = xp.reshape(nb.indices[start:stop, :], (-1,))
        local = xp.reshape(xp.take(X, idx, axis=0), (stop - start, k, n_features))
        local = local - xp.mean(local, axis=1, keepdims=True)
        if n_features <= k:  # covariance (D x D) or Gram (k x k): same non-zero eigenvalues
            gram = xp.matrix_transpose(local) @ local
        else:
            gram = local @ xp.matrix_transpose(local)
        eig = xp.flip(xp.linalg.eigvalsh(gram), axis=1)  # descending
        eig = xp.where(eig > 0, eig, 0.0)
        if rule == "fo":
            dims = xp.sum(xp.astype(eig > alpha * eig[:, :1], xp.int64), axis=1)
        else:
            share = xp.cumulative_sum(eig, axis=1) / xp.sum(eig, axis=1, keepdims=True)
            dims = xp.sum(xp.astype(share < variance * (1.0 - 1e-12), xp.int64), axis=1) + 1
        parts.append(xp.astype(dims, X.dtype))
    per_point = parts[0] if len(parts) == 1 else xp.concat(parts)
    if aggregate == "mean":
        dimension = float(xp.mean(per_point))
    else:
        dimension = float(np.median(backend.to_numpy(per_point)))
    params = {"k": k, "rule": rule, "alpha": alpha, "variance": variance, "aggregate": aggregate,
              "duplicates": duplicates}
    return DimensionEstimate(dimension, "local_pca", int(n), n_dropped, per_point, params)
