"""Exact k-nearest-neighbour distances within one point cloud (self excluded)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .. import backend
from .._validation import check_array, check_choice, check_int

#: Above this many features a KD-tree prunes little: the NumPy path switches to brute force.
KDTREE_MAX_FEATURES = 16
#: Distance entries per block of the brute-force paths (2^22 float64 = 32 MiB).
_BLOCK_ENTRIES = 1 << 22

METHODS = ("auto", "kdtree", "sklearn", "blocked")


class Neighbors(NamedTuple):
    """Distances (ascending) and indices of each point's ``k`` nearest other points."""

    distances: Any
    indices: Any


def knn_distances(X: Any, k: int, *, method: str = "auto", block_size: int | None = None) -> Neighbors:
    """The ``k`` nearest neighbours of every point of ``X`` among the others (exact, Euclidean).

    A point is never its own neighbour, but an exact duplicate of it is (at
    distance 0): duplicates stay visible to the caller, who decides what to do with
    them (the intrinsic-dimension estimators refuse or drop them).

    Paths
    -----
    ``"kdtree"``
        :class:`scipy.spatial.cKDTree` (SciPy is a core dependency): exact, fast
        in low dimension, NumPy only.
    ``"sklearn"``
        scikit-learn's :class:`~sklearn.neighbors.NearestNeighbors` (brute force
        with its chunked, threaded distance reduction), NumPy only; scikit-learn
        is imported lazily (the ``test`` extra installs it).  In 50 dimensions it is
        about 10x faster than the KD-tree, which prunes little there.
    ``"blocked"``
        Any namespace: squared distances ``|x|^2 + |y|^2 - 2 x.y`` of a block of
        rows against all points (one matrix product), sorted (partially, with
        ``numpy.argpartition``, on NumPy), with the ``k`` smallest kept.  The CuPy
        and Array API path.
    ``"auto"`` (default)
        NumPy: ``"kdtree"`` up to :data:`KDTREE_MAX_FEATURES` features, else
        ``"sklearn"`` when scikit-learn imports, else ``"blocked"``; other
        namespaces: ``"blocked"``.

    Whatever path selected them, the returned distances are recomputed directly
    from the coordinates (``sqrt(sum((x - y)^2))``), not from the expanded form, so
    near-duplicates keep their tiny distances exactly and every path gives the same
    numbers (to rounding; the order of exactly tied neighbours may differ).

    Parameters
    ----------
    X : array, shape (N, D)
        Points (rows).  Finite.
    k : int
        Neighbours per point, ``1 <= k <= N - 1``.
    method : {"auto", "kdtree", "sklearn", "blocked"}, default "auto"
    block_size : int, optional
        Rows per block of the ``"blocked"`` path (default: about 2^22 distance
        entries per block).

    Returns
    -------
    Neighbors
        ``distances`` (N, k), ascending along each row, and ``indices`` (N, k) of
        the neighbours (integer), in ``X``'s namespace and on its device.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [3.0], [7.0]])
    >>> nb = knn_distances(X, 2)
    >>> nb.distances
    array([[1., 3.],
           [1., 2.],
           [2., 3.],
           [4., 6.]])
    >>> nb.indices
    array([[1, 2],
           [0, 2],
           [1, 0],
           [2, 1]])
    """
    X = check_array(X, "X", ndim=2)
    xp = backend.array_namespace(X)
    n, n_features = X.shape
    if n < 2:
        raise ValueError(f"X must have at least 2 points (rows), got {n}")
    k = check_int(k, "k", low=1, high=n - 1, high_label="N - 1")
    method = check_choice(method, "method", METHODS)
    if block_size is not None:
        block_size = check_int(block_size, "block_size", low=1)
    numpy_input = backend.is_numpy(xp)
    if method in ("kdtree", "sklearn") and not numpy_input:
        raise ValueError(f"method={method!r} needs NumPy input, got {backend.backend_name(xp)}; use 'blocked'")
    if method == "auto":
        if not numpy_input:
            method = "blocked"
        elif n_features <= KDTREE_MAX_FEATURES:
            method = "kdtree"
        else:
            method = "sklearn" if _sklearn_available() else "blocked"
    if method == "kdtree":
        indices = _kdtree_indices(np.asarray(X), k)
    elif method == "sklearn":
        indices = _sklearn_indices(np.asarray(X), k)
    else:
        indices = _blocked_indices(X, k, block_size)
    return _exact(X, indices)


def _sklearn_available() -> bool:
    try:
        import sklearn.neighbors  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def _kdtree_indices(X: np.ndarray, k: int) -> np.ndarray:
    from scipy.spatial import cKDTree  # noqa: PLC0415

    _, idx = cKDTree(X).query(X, k=k + 1)
    return _drop_self(np.asarray(idx, dtype=np.int64))


def _drop_self(idx: np.ndarray) -> np.ndarray:
    """Remove each row's own index from ``(N, k + 1)`` neighbour indices (or its last column).

    With more than ``k`` exact duplicates of a point, the tree may return other
    copies at distance 0 and not the point itself; the last column then goes.
    """
    n, width = idx.shape
    is_self = idx == np.arange(n)[:, None]
    position = np.where(is_self.any(axis=1), is_self.argmax(axis=1), width - 1)
    keep = np.ones_like(is_self)
    keep[np.arange(n), position] = False
    return idx[keep].reshape(n, width - 1)


def _sklearn_indices(X: np.ndarray, k: int) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors  # noqa: PLC0415

    # kneighbors() without a query excludes each point itself (duplicates stay neighbours)
    idx = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(X).kneighbors(return_distance=False)
    return np.asarray(idx, dtype=np.int64)


def _blocked_indices(X: Any, k: int, block_size: int | None) -> Any:
    """Indices of the ``k`` smallest expanded-form distances per row, a block of rows at a time."""
    xp = backend.array_namespace(X)
    n = X.shape[0]
    if block_size is None:
        block_size = max(1, min(n, _BLOCK_ENTRIES // n))
    numpy_input = backend.is_numpy(xp)
    sq = xp.sum(X * X, axis=1)
    columns = xp.arange(n)
    parts = []
    for start in range(0, n, block_size):
        stop = min(start + block_size, n)
        rows = X[start:stop, :]
        d2 = sq[start:stop, None] + sq[None, :] - 2.0 * (rows @ X.T)
        own = columns[None, :] == xp.arange(start, stop)[:, None]
        d2 = xp.where(own, xp.inf, d2)
        if numpy_input and k < n - 1:  # a partial sort: O(n) per row instead of O(n log n)
            parts.append(np.argpartition(np.asarray(d2), k - 1, axis=1)[:, :k])
        else:
            parts.append(xp.argsort(d2, axis=1, stable=True)[:, :k])
    return parts[0] if len(parts) == 1 else xp.concat(parts, axis=0)


def _exact(X: Any, indices: Any) -> Neighbors:
    """Direct distances to the given neighbours (a block of rows at a time), each row re-sorted ascending."""
    xp = backend.array_namespace(X)
    n, k = indices.shape
    n_features = X.shape[1]
    step = max(1, _BLOCK_ENTRIES // (k * n_features))
    parts = []
    for start in range(0, n, step):
        stop = min(start + step, n)
        idx = indices[start:stop, :]
        gathered = xp.reshape(xp.take(X, xp.reshape(idx, (-1,)), axis=0), (stop - start, k, n_features))
        diff = gathered - X[start:stop, None, :]
        parts.append(xp.sqrt(xp.sum(diff * diff, axis=2)))
    dist = parts[0] if len(parts) == 1 else xp.concat(parts, axis=0)
    order = xp.argsort(dist, axis=1, stable=True)
    return Neighbors(xp.take_along_axis(dist, order, axis=1), xp.take_along_axis(indices, order, axis=1))


__all__ = ["KDTREE_MAX_FEATURES", "METHODS", "Neighbors", "knn_distances"]
