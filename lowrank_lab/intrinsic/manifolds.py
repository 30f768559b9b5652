"""Point clouds of known intrinsic dimension: the benchmark manifolds of the estimators.

Every sampler draws ``n`` points of a manifold of known dimension ``d`` in its own
coordinates (``native_dim`` of them), optionally embeds them in ``R^ambient_dim``
and adds isotropic Gaussian noise:

* ``ambient_dim=None`` (default): the native coordinates as they are; otherwise
  ``embedding="rotate"`` (default) multiplies them by a random
  ``native x ambient`` matrix with orthonormal rows (an isometry, so distances
  are kept and no coordinate axis is special) and ``"pad"`` appends zeros.
* ``noise``: standard deviation of i.i.d. N(0, noise^2) added to every ambient
  coordinate.

Random numbers are drawn on the host from ``rng`` in a fixed order (points, then
the embedding, then the noise), so the same seed gives the same clean points and
the same noise directions for every ``noise`` level, and the same data on every
backend (``xp`` / ``like`` move the result).

Samplers (``MANIFOLDS`` by name)
--------------------------------
``linear_subspace(n, d)``   Gaussian N(0, I_d): a flat ``d``-dimensional subspace.
``hyperball(n, d)``         uniform in the unit ``d``-ball (flat, with a boundary).
``hypersphere(n, d)``       uniform on the unit sphere ``S^d`` in ``R^{d+1}`` (curved,
                            no boundary; note: scikit-dimension's ``hyperSphere(n, d)``
                            is ``S^{d-1}``, of dimension ``d - 1``).
``flat_torus(n, d)``        ``(cos t_i, sin t_i)_{i<=d}`` in ``R^{2d}``: curved, no boundary.
``swiss_roll(n)``           ``d = 2`` in ``R^3`` (benchmark M7 of Hein and Audibert, 2005).
``s_curve(n)``              ``d = 2`` in ``R^3`` (M13).
``helix(n)``                a toroidal helix, ``d = 1`` in ``R^3`` (M5a).
``moebius(n, half_twists)`` a Moebius band, ``d = 2`` in ``R^3`` (M11 uses 10 half twists).

Examples
--------
>>> sample = hypersphere(500, 2, ambient_dim=10, noise=0.01, rng=0)
>>> sample.points.shape, sample.intrinsic_dimension
((500, 10), 2)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from .. import backend
from .._validation import check_choice, check_float, check_int

__all__ = [
    "MANIFOLDS",
    "ManifoldSample",
    "flat_torus",
    "helix",
    "hyperball",
    "hypersphere",
    "linear_subspace",
    "moebius",
    "s_curve",
    "sample_manifold",
    "swiss_roll",
]


@dataclass(frozen=True, eq=False)
class ManifoldSample:
    """Points of a manifold of known dimension.

    Attributes
    ----------
    points : array (n, ambient_dim)
        In the requested namespace (default NumPy).
    intrinsic_dimension : int
    name : str
    coordinates : numpy.ndarray (n, intrinsic_dimension), or (n, d + 1) for the sphere
        The points' intrinsic parameters on the host (angles, heights, ...), e.g. to
        colour a plot; for balls and subspaces their ``d`` native coordinates, for the
        sphere ``S^d`` (which has no global chart) its ``d + 1`` native coordinates.
    noise : float
    """

    points: Any
    intrinsic_dimension: int
    name: str
    coordinates: np.ndarray
    noise: float = 0.0

    def __repr__(self) -> str:
        return (f"ManifoldSample(name={self.name!r}, n={self.points.shape[0]}, ambient_dim={self.points.shape[1]}, "
                f"intrinsic_dimension={self.intrinsic_dimension}, noise={self.noise:g})")


def _finish(native: np.ndarray, coords: np.ndarray, d: int, name: str, gen: np.random.Generator, *,
            ambient_dim: int | None, noise: float, embedding: str, xp: ModuleType | None, like: Any,
            dtype: Any) -> ManifoldSample:
    n, m = native.shape
    ambient = m if ambient_dim is None else check_int(ambient_dim, "ambient_dim", low=m)
    noise = check_float(noise, "noise", low=0.0)
    check_choice(embedding, "embedding", ("rotate", "pad"))
    if ambient_dim is not None:
        if embedding == "rotate":
            q, r = np.linalg.qr(gen.standard_normal((ambient, m)))
            q *= np.sign(np.diag(r))  # Haar-distributed orthonormal columns
            points = native @ q.T
        else:
            points = np.concatenate([native, np.zeros((n, ambient - m))], axis=1)
    else:
        points = native
    if noise > 0:
        points = points + noise * gen.standard_normal(points.shape)
    if like is not None:
        out = backend.asarray(points, like=like, dtype=dtype)
    else:
        out = backend.asarray(points, xp=xp or backend.get_namespace("numpy"), dtype=dtype)
    return ManifoldSample(out, d, name, coords, noise)


def _common(n: Any) -> int:
    return check_int(n, "n", low=1)


def linear_subspace(n: int, d: int, *, ambient_dim: int | None = None, noise: float = 0.0, embedding: str = "rotate",
                    rng: Any = None, xp: ModuleType | None = None, like: Any = None, dtype: Any = None) -> ManifoldSample:
    """``n`` standard Gaussian points of a ``d``-dimensional linear subspace.

    Examples
    --------
    >>> linear_subspace(100, 3, ambient_dim=20, rng=0).points.shape
    (100, 20)
    """
    n, d = _common(n), check_int(d, "d", low=1)
    gen = backend.as_generator(rng)
    z = gen.standard_normal((n, d))
    return _finish(z, z, d, "linear_subspace", gen, ambient_dim=ambient_dim, noise=noise, embedding=embedding,
                   xp=xp, like=like, dtype=dtype)


def hyperball(n: int, d: int, *, ambient_dim: int | None = None, noise: float = 0.0, embedding: str = "rotate",
              rng: Any = None, xp: ModuleType | None = None, like: Any = None, dtype: Any = None) -> ManifoldSample:
    """``n`` points uniform in the unit ``d``-ball (direction uniform, radius ``U^{1/d}``).

    Examples
    --------
    >>> import numpy as np
    >>> X = hyperball(1000, 5, rng=0).points
    >>> bool(np.all(np.linalg.norm(X, axis=1) <= 1))
    True
    """
    n, d = _common(n), check_int(d, "d", low=1)
    gen = backend.as_generator(rng)
    g = gen.standard_normal((n, d))
    radius = gen.uniform(size=(n, 1)) ** (1.0 / d)
    z = g / np.linalg.norm(g, axis=1, keepdims=True) * radius
    return _finish(z, z, d, "hyperball", gen, ambient_dim=ambient_dim, noise=noise, embedding=embedding,
                   xp=xp, like=like, dtype=dtype)


def hypersphere(n: int, d: int, *, ambient_dim: int | None = None, noise: float = 0.0, embedding: str = "rotate",
                rng: Any = None, xp: ModuleType | None = None, like: Any = None, dtype: Any = None) -> ManifoldSample:
    """``n`` points uniform on the unit sphere ``S^d`` in ``R^{d+1}`` (intrinsic dimension ``d``).

    Examples
    --------
    >>> hypersphere(10, 2, rng=0).points.shape
    (10, 3)
    """
    n, d = _common(n), check_int(d, "d", low=1)
    gen = backend.as_generator(rng)
    g = gen.standard_normal((n, d + 1))
    z = g / np.linalg.norm(g, axis=1, keepdims=True)
    return _finish(z, z, d, "hypersphere", gen, ambient_dim=ambient_dim, noise=noise, embedding=embedding,
                   xp=xp, like=like, dtype=dtype)


def flat_torus(n: int, d: int, *, ambient_dim: int | None = None, noise: float = 0.0, embedding: str = "rotate",
               rng: Any = None, xp: ModuleType | None = None, like: Any = None, dtype: Any = None) -> ManifoldSample:
    """``n`` points uniform on the flat torus ``T^d``: ``(cos t_1, sin t_1, ..., cos t_d, sin t_d)`` in ``R^{2d}``.

    Examples
    --------
    >>> flat_torus(10, 3, rng=0).points.shape
    (10, 6)
    """
    n, d = _common(n), check_int(d, "d", low=1)
    gen = backend.as_generator(rng)
    t = gen.uniform(0.0, 2.0 * np.pi, size=(n, d))
    z = np.stack([np.cos(t), np.sin(t)], axis=2).reshape(n, 2 * d)
    return _finish(z, t, d, "flat_torus", gen, ambient_dim=ambient_dim, noise=noise, embedding=embedding,
                   xp=xp, like=like, dtype=dtype)


def swiss_roll(n: int, *, ambient_dim: int | None = None, noise: float = 0.0, embedding: str = "rotate",
               rng: Any = None, xp: ModuleType | None = None, like: Any = None, dtype: Any = None) -> ManifoldSample:
    """The Swiss roll: ``t = 1.5 pi (1 + 2u)``, ``(t cos t, h, t sin t)`` with ``h`` uniform on ``[0, 21]``.

    Examples
    --------
    >>> swiss_roll(10, rng=0).intrinsic_dimension
    2
    """
    n = _common(n)
    gen = backend.as_generator(rng)
    t = 1.5 * np.pi * (1.0 + 2.0 * gen.uniform(size=n))
    h = 21.0 * gen.uniform(size=n)
    z = np.stack([t * np.cos(t), h, t * np.sin(t)], axis=1)
    return _finish(z, np.stack([t, h], axis=1), 2, "swiss_roll", gen, ambient_dim=ambient_dim, noise=noise,
                   embedding=embedding, xp=xp, like=like, dtype=dtype)


def s_curve(n: int, *, ambient_dim: int | None = None, noise: float = 0.0, embedding: str = "rotate",
            rng: Any = None, xp: ModuleType | None = None, like: Any = None, dtype: Any = None) -> ManifoldSample:
    """The S-curve: ``t`` uniform on ``[-1.5 pi, 1.5 pi]``, ``(sin t, h, sign(t) (cos t - 1))``, ``h`` on ``[0, 2]``.

    Examples
    --------
    >>> s_curve(10, rng=0).points.shape
    (10, 3)
    """
    n = _common(n)
    gen = backend.as_generator(rng)
    t = 3.0 * np.pi * (gen.uniform(size=n) - 0.5)
    h = 2.0 * gen.uniform(size=n)
    z = np.stack([np.sin(t), h, np.sign(t) * (np.cos(t) - 1.0)], axis=1)
    return _finish(z, np.stack([t, h], axis=1), 2, "s_curve", gen, ambient_dim=ambient_dim, noise=noise,
                   embedding=embedding, xp=xp, like=like, dtype=dtype)


def helix(n: int, *, ambient_dim: int | None = None, noise: float = 0.0, embedding: str = "rotate",
          rng: Any = None, xp: ModuleType | None = None, like: Any = None, dtype: Any = None) -> ManifoldSample:
    """A toroidal helix (benchmark M5a): ``((2 + cos 8t) cos t, (2 + cos 8t) sin t, sin 8t)``, ``t`` on ``[0, 2 pi)``.

    Examples
    --------
    >>> helix(10, rng=0).intrinsic_dimension
    1
    """
    n = _common(n)
    gen = backend.as_generator(rng)
    t = gen.uniform(0.0, 2.0 * np.pi, size=n)
    z = np.stack([(2.0 + np.cos(8 * t)) * np.cos(t), (2.0 + np.cos(8 * t)) * np.sin(t), np.sin(8 * t)], axis=1)
    return _finish(z, t[:, None], 1, "helix", gen, ambient_dim=ambient_dim, noise=noise, embedding=embedding,
                   xp=xp, like=like, dtype=dtype)


def moebius(n: int, *, half_twists: int = 1, ambient_dim: int | None = None, noise: float = 0.0,
            embedding: str = "rotate", rng: Any = None, xp: ModuleType | None = None, like: Any = None,
            dtype: Any = None) -> ManifoldSample:
    """A Moebius band: ``((1 + v/2 cos(k u/2)) cos u, (1 + v/2 cos(k u/2)) sin u, v/2 sin(k u/2))``.

    ``u`` uniform on ``[0, 2 pi)``, ``v`` on ``[-1, 1]``, ``k = half_twists`` (1: the
    Moebius band; the benchmark manifold M11 of Hein and Audibert uses 10).

    Examples
    --------
    >>> moebius(10, rng=0).points.shape
    (10, 3)
    """
    n = _common(n)
    k = check_int(half_twists, "half_twists", low=1)
    gen = backend.as_generator(rng)
    u = gen.uniform(0.0, 2.0 * np.pi, size=n)
    v = gen.uniform(-1.0, 1.0, size=n)
    radius = 1.0 + 0.5 * v * np.cos(0.5 * k * u)
    z = np.stack([radius * np.cos(u), radius * np.sin(u), 0.5 * v * np.sin(0.5 * k * u)], axis=1)
    return _finish(z, np.stack([u, v], axis=1), 2, "moebius", gen, ambient_dim=ambient_dim, noise=noise,
                   embedding=embedding, xp=xp, like=like, dtype=dtype)


#: Samplers by name; those taking the dimension ``d`` as second argument are in :data:`VARIABLE_DIMENSION`.
MANIFOLDS: dict[str, Callable[..., ManifoldSample]] = {
    "linear_subspace": linear_subspace,
    "hyperball": hyperball,
    "hypersphere": hypersphere,
    "flat_torus": flat_torus,
    "swiss_roll": swiss_roll,
    "s_curve": s_curve,
    "helix": helix,
    "moebius": moebius,
}
VARIABLE_DIMENSION = ("linear_subspace", "hyperball", "hypersphere", "flat_torus")


def sample_manifold(name: str, n: int, d: int | None = None, **options: Any) -> ManifoldSample:
    """A manifold by name (``d`` for those of variable dimension; options as the sampler's).

    Examples
    --------
    >>> sample_manifold("hyperball", 50, 3, ambient_dim=10, rng=0).points.shape
    (50, 10)
    >>> sample_manifold("helix", 50, rng=0).intrinsic_dimension
    1
    """
    check_choice(name, "name", tuple(MANIFOLDS))
    if name in VARIABLE_DIMENSION:
        if d is None:
            raise TypeError(f"manifold {name!r} needs its dimension d")
        return MANIFOLDS[name](n, d, **options)
    if d is not None:
        raise TypeError(f"manifold {name!r} has a fixed dimension; do not pass d")
    return MANIFOLDS[name](n, **options)
