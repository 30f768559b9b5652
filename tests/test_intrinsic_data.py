"""Data of the intrinsic-dimension lab: benchmark manifolds (lowrank_lab.intrinsic.manifolds) and the digits."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close

from lowrank_lab import backend, datasets
from lowrank_lab.intrinsic import manifolds as mf


def _pairwise(X):
    return np.linalg.norm(X[:, None, :] - X[None, :, :], axis=2)


@pytest.mark.parametrize("name, d", [("linear_subspace", 3), ("hyperball", 3), ("hypersphere", 3), ("flat_torus", 2),
                                     ("swiss_roll", None), ("s_curve", None), ("helix", None), ("moebius", None)])
def test_every_manifold_embeds_isometrically_and_reproducibly(name, d):
    native = mf.sample_manifold(name, 50, d, rng=0)
    rotated = mf.sample_manifold(name, 50, d, ambient_dim=20, rng=0)
    padded = mf.sample_manifold(name, 50, d, ambient_dim=20, embedding="pad", rng=0)
    assert rotated.points.shape == (50, 20) and rotated.intrinsic_dimension == native.intrinsic_dimension
    np.testing.assert_allclose(_pairwise(rotated.points), _pairwise(native.points), atol=1e-12)
    np.testing.assert_array_equal(padded.points[:, : native.points.shape[1]], native.points)
    np.testing.assert_array_equal(padded.points[:, native.points.shape[1]:], 0.0)
    np.testing.assert_array_equal(mf.sample_manifold(name, 50, d, ambient_dim=20, rng=0).points, rotated.points)
    chart = native.intrinsic_dimension + (name == "hypersphere")  # the sphere has no global chart
    assert native.coordinates.shape == (50, chart)


def test_points_lie_on_their_manifolds():
    ball = mf.hyperball(2000, 4, rng=1).points
    radii = np.linalg.norm(ball, axis=1)
    assert radii.max() <= 1.0
    np.testing.assert_allclose(np.mean(radii**4), 0.5, atol=0.03)  # P(r <= t) = t^4 in a 4-ball: E r^4 = 1/2
    sphere = mf.hypersphere(100, 5, rng=1).points
    assert sphere.shape == (100, 6)
    np.testing.assert_allclose(np.linalg.norm(sphere, axis=1), 1.0)
    torus = mf.flat_torus(100, 3, rng=1)
    np.testing.assert_allclose(torus.points[:, 0::2], np.cos(torus.coordinates))
    roll = mf.swiss_roll(100, rng=1)
    t = roll.coordinates[:, 0]
    np.testing.assert_allclose(roll.points[:, [0, 2]], np.stack([t * np.cos(t), t * np.sin(t)], axis=1))
    band = mf.moebius(200, half_twists=1, rng=1)
    u, v = band.coordinates.T
    np.testing.assert_allclose(band.points[:, 2], 0.5 * v * np.sin(0.5 * u))


def test_noise_is_added_on_top_of_the_same_clean_points():
    clean = mf.hypersphere(5000, 2, ambient_dim=10, rng=2).points
    noisy = mf.hypersphere(5000, 2, ambient_dim=10, noise=0.1, rng=2)
    np.testing.assert_allclose(np.std(noisy.points - clean), 0.1, rtol=0.02)
    assert noisy.noise == 0.1
    noisier = mf.hypersphere(5000, 2, ambient_dim=10, noise=0.2, rng=2).points
    np.testing.assert_allclose(noisier - clean, 2 * (noisy.points - clean), rtol=1e-10, atol=1e-12)


def test_manifolds_on_other_backends(xp):
    sample = mf.flat_torus(30, 2, ambient_dim=6, rng=3, xp=xp)
    assert backend.backend_name(backend.array_namespace(sample.points)) == backend.backend_name(xp)
    assert_close(sample.points, mf.flat_torus(30, 2, ambient_dim=6, rng=3).points, xp=xp)


def test_manifolds_refuse_bad_arguments():
    with pytest.raises(ValueError, match=r"ambient_dim must be in \[3, inf\], got 2"):
        mf.swiss_roll(10, ambient_dim=2)
    with pytest.raises(ValueError, match="embedding must be one of"):
        mf.helix(10, ambient_dim=5, embedding="twist")
    with pytest.raises(ValueError, match="noise must be a finite number"):
        mf.hyperball(10, 2, noise=-0.1)
    with pytest.raises(ValueError, match="name must be one of"):
        mf.sample_manifold("klein_bottle", 10)
    with pytest.raises(TypeError, match="needs its dimension d"):
        mf.sample_manifold("hyperball", 10)
    with pytest.raises(TypeError, match="fixed dimension"):
        mf.sample_manifold("helix", 10, 1)


# ----------------------------------------------------------------- digits
def test_digits_split_is_stratified_seeded_and_scaled():
    data = datasets.digits(rng=0)
    assert data.X_train.shape == (1347, 64) and data.X_test.shape == (450, 64) and data.n_classes == 10
    assert data.X_train.min() == 0.0 and data.X_train.max() == 1.0
    counts = np.bincount(data.y_test, minlength=10)
    assert counts.min() >= 43 and counts.max() <= 47  # 25 % of each class (174-183 images per class)
    again = datasets.digits(rng=0)
    np.testing.assert_array_equal(again.X_train, data.X_train)
    assert not np.array_equal(datasets.digits(rng=1).y_train, data.y_train)


def test_shuffled_labels_keep_the_images_and_the_class_frequencies():
    data = datasets.digits(rng=0)
    shuffled = datasets.digits(shuffle_labels=True, rng=0)
    np.testing.assert_array_equal(shuffled.X_train, data.X_train)  # paired: same images in each set
    labels = np.concatenate([data.y_train, data.y_test])
    shuffled_labels = np.concatenate([shuffled.y_train, shuffled.y_test])
    np.testing.assert_array_equal(np.bincount(shuffled_labels), np.bincount(labels))
    assert 0.05 < np.mean(shuffled_labels == labels) < 0.16  # chance agreement is about 1/10
    assert shuffled.shuffled_labels and "shuffled_labels=True" in repr(shuffled)


def test_digits_refuses_a_bad_split():
    with pytest.raises(ValueError, match="test_fraction must be a finite number in"):
        datasets.digits(test_fraction=1.0)
