"""Exact k-nearest-neighbour distances (lowrank_lab.linalg.knn_distances): brute force, every path, duplicates."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, to_xp

from lowrank_lab import backend, linalg


def _brute(X, k):
    d = np.linalg.norm(X[:, None, :] - X[None, :, :], axis=2)
    np.fill_diagonal(d, np.inf)
    order = np.argsort(d, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(d, order, axis=1), order


@pytest.mark.parametrize("n_features", [2, 30])
def test_knn_matches_brute_force(xp, rng, n_features):
    X = rng.standard_normal((120, n_features))
    dist, idx = _brute(X, 7)
    nb = linalg.knn_distances(to_xp(xp, X), 7)
    assert_close(nb.distances, dist, xp=xp, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(backend.to_numpy(nb.indices), idx)


@pytest.mark.parametrize("method", ["kdtree", "sklearn", "blocked"])
def test_every_numpy_path_agrees(rng, method):
    if method == "sklearn":
        pytest.importorskip("sklearn")
    X = rng.standard_normal((300, 20))
    dist, idx = _brute(X, 5)
    nb = linalg.knn_distances(X, 5, method=method, block_size=37)
    np.testing.assert_allclose(nb.distances, dist, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(nb.indices, idx)


def test_blocked_path_with_small_blocks_agrees_on_the_standard_namespace(rng):
    xp = backend.get_namespace("array_api_strict")
    X = rng.standard_normal((50, 4))
    dist, _ = _brute(X, 3)
    nb = linalg.knn_distances(to_xp(xp, X), 3, block_size=7)
    assert_close(nb.distances, dist, xp=xp, rtol=1e-12, atol=1e-12)


def test_tiny_distances_are_exact_not_cancelled(rng):
    """The expanded form |x|^2 + |y|^2 - 2 x.y loses tiny distances far from the origin; the result must not."""
    X = 1e4 + rng.standard_normal((40, 3))
    X[1] = X[0] + 1e-9
    for method in ("kdtree", "blocked"):
        nb = linalg.knn_distances(X, 1, method=method)
        assert nb.indices[0, 0] == 1
        np.testing.assert_allclose(nb.distances[0, 0], np.linalg.norm(X[1] - X[0]), rtol=1e-6)


@pytest.mark.parametrize("method", ["kdtree", "blocked"])
def test_duplicates_stay_neighbours_but_a_point_is_never_its_own(method):
    X = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [3.0, 0.0]])
    nb = linalg.knn_distances(X, 3, method=method)
    assert not np.any(nb.indices == np.arange(6)[:, None])
    np.testing.assert_array_equal(nb.distances[:4], np.zeros((4, 3)))  # three other copies at distance 0
    np.testing.assert_allclose(nb.distances[4], [1.0, 1.0, 1.0])
    np.testing.assert_allclose(nb.distances[5], [2.0, 3.0, 3.0])


def test_drop_self_handles_rows_where_the_tree_misses_the_point_itself():
    from lowrank_lab.linalg._neighbors import _drop_self

    idx = np.array([[0, 1, 2], [0, 2, 3], [3, 2, 1]])  # row 1 lacks 1: the last column goes
    np.testing.assert_array_equal(_drop_self(idx), [[1, 2], [0, 2], [3, 1]])


def test_knn_refuses_bad_input(rng):
    X = rng.standard_normal((10, 3))
    with pytest.raises(ValueError, match=r"k must be in \[1, N - 1=9\], got 10"):
        linalg.knn_distances(X, 10)
    with pytest.raises(ValueError, match="X must be 2-D"):
        linalg.knn_distances(X[0], 1)
    with pytest.raises(ValueError, match="at least 2 points"):
        linalg.knn_distances(X[:1], 1)
    with pytest.raises(ValueError, match="must be finite"):
        linalg.knn_distances(np.where(np.eye(10, 3) > 0, np.nan, X), 2)
    with pytest.raises(ValueError, match="method must be one of"):
        linalg.knn_distances(X, 2, method="ball_tree")
    with pytest.raises(ValueError, match="needs NumPy input"):
        linalg.knn_distances(to_xp(backend.get_namespace("array_api_strict"), X), 2, method="kdtree")
