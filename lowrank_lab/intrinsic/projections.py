"""Random projections ``P: R^d -> R^D`` for subspace training, and the flat parameter layout.

Subspace training (Li et al., 2018) reparameterizes all ``D`` parameters of a
model as ``theta = theta_0 + P z`` with ``z in R^d`` starting at 0 and ``P`` a
fixed random ``D x d`` matrix.  Three choices of ``P``, each an operator value
with ``apply(z) = P z`` and ``adjoint(g) = P^T g`` (the chain rule:
``dL/dz = P^T dL/dtheta``):

:func:`dense_projection`
    i.i.d. N(0, 1) entries, every column scaled to unit norm.  ``D d`` floats.
:func:`sparse_projection`
    Li et al.'s sparse projection: scikit-learn's very sparse random projection
    (Li, Hastie and Church, 2006; density ``1/sqrt(D)``, entries ``+-1`` with equal
    probability), every column scaled to unit norm.  About ``d sqrt(D)`` non-zeros.
:func:`fastfood_projection`
    The Fastfood transform ``H G Pi H B`` (Le, Sarlos and Smola, 2013) with Li et
    al.'s normalization.  ``O(L)`` memory and ``O(L log L)`` time per product,
    ``L = 2^ceil(log2 D)``; it never forms a ``D x d`` matrix.

Conventions
-----------
* **Normalization over all layers together.**  A projection maps one flat vector
  of all the model's parameters (:class:`ParameterLayout`); dense and sparse
  columns have norm exactly 1 over all ``D`` entries, as in the reference code,
  which normalizes each of the ``d`` directions across the layers' blocks.
* **Seeds.**  Every random number is drawn on the host from ``rng``, then the
  operator's arrays are moved to ``xp`` / ``like``'s device: the same seed gives the
  same ``P`` on every backend.
* **Batches.**  ``apply`` takes ``z`` of shape ``(d,)`` or ``(d, k)`` (``k``
  directions at once) and ``adjoint`` takes ``(D,)`` or ``(D, k)``.
* No host synchronization inside ``apply`` / ``adjoint`` (they run every step).

Examples
--------
>>> import numpy as np
>>> P = fastfood_projection(1000, 10, rng=0)
>>> P.shape
(1000, 10)
>>> z, g = np.ones(10), np.arange(1000.0)
>>> bool(np.isclose(P.apply(z) @ g, z @ P.adjoint(g)))
True
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from .. import backend, linalg
from .._validation import check_arrays, check_choice, check_float, check_int

__all__ = [
    "PROJECTIONS",
    "DenseProjection",
    "FastfoodProjection",
    "ParameterLayout",
    "SparseProjection",
    "dense_projection",
    "fastfood_projection",
    "flatten_params",
    "make_projection",
    "sparse_projection",
]


# --------------------------------------------------------------------------- #
# operators
# --------------------------------------------------------------------------- #
class _Projection:
    """Shared checks and helpers of the three operators (``D``, ``d`` and ``kind`` set by each)."""

    D: int
    d: int
    kind: str

    @property
    def shape(self) -> tuple[int, int]:
        """``(D, d)``."""
        return (self.D, self.d)

    def _check_in(self, z: Any, size: int, name: str) -> None:
        if z.ndim not in (1, 2) or z.shape[0] != size:
            raise ValueError(f"{name} must have shape ({size},) or ({size}, k), got {tuple(z.shape)}")

    def to_dense(self) -> Any:
        """The ``D x d`` matrix, column by column (``apply`` of the identity): for tests and small sizes."""
        xp = self._xp
        eye = xp.eye(self.d, dtype=self.dtype, device=backend.device(self._reference))
        return self.apply(eye)

    @functools.cached_property
    def _xp(self) -> ModuleType:
        return backend.array_namespace(self._reference)

    @property
    def dtype(self) -> Any:
        """Floating dtype of the operator's values."""
        return self._reference.dtype

    def __repr__(self) -> str:
        return f"{type(self).__name__}(D={self.D}, d={self.d}, nbytes={self.nbytes})"


@dataclass(frozen=True, repr=False, eq=False)
class DenseProjection(_Projection):
    """``P`` stored as a ``(D, d)`` array with unit-norm columns (see :func:`dense_projection`)."""

    matrix: Any
    seed: int | None = None
    kind = "dense"

    @property
    def D(self) -> int:  # noqa: N802 - the papers' name
        return int(self.matrix.shape[0])

    @property
    def d(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def _reference(self) -> Any:
        return self.matrix

    @property
    def nbytes(self) -> int:
        """Bytes held by the operator."""
        return _nbytes(self.matrix)

    def apply(self, z: Any) -> Any:
        """``P z``: shape ``(D,)`` or ``(D, k)``."""
        self._check_in(z, self.d, "z")
        return self.matrix @ z

    def adjoint(self, g: Any) -> Any:
        """``P^T g``: shape ``(d,)`` or ``(d, k)``."""
        self._check_in(g, self.D, "g")
        return self._xp.matrix_transpose(self.matrix) @ g


@dataclass(frozen=True, repr=False, eq=False)
class SparseProjection(_Projection):
    """``P`` in compressed sparse rows twice: ``P`` (``D`` rows) for ``apply``, ``P^T`` (``d`` rows) for ``adjoint``.

    See :func:`sparse_projection`.  ``density`` is the realized fraction of non-zeros.
    """

    indptr: Any
    indices: Any
    data: Any
    t_indptr: Any
    t_indices: Any
    t_data: Any
    D: int
    d: int
    seed: int | None = None
    kind = "sparse"

    @property
    def _reference(self) -> Any:
        return self.data

    @property
    def nnz(self) -> int:
        """Number of non-zero entries of ``P``."""
        return int(self.data.shape[0])

    @property
    def density(self) -> float:
        """Realized fraction of non-zero entries."""
        return self.nnz / (self.D * self.d)

    @property
    def nbytes(self) -> int:
        """Bytes held by the operator (both compressed copies)."""
        return int(sum(_nbytes(a) for a in (self.indptr, self.indices, self.data,
                                            self.t_indptr, self.t_indices, self.t_data)))

    def apply(self, z: Any) -> Any:
        """``P z``: shape ``(D,)`` or ``(D, k)``."""
        self._check_in(z, self.d, "z")
        return linalg.csr_matmul(self.indptr, self.indices, self.data, z)

    def adjoint(self, g: Any) -> Any:
        """``P^T g``: shape ``(d,)`` or ``(d, k)``."""
        self._check_in(g, self.D, "g")
        return linalg.csr_matmul(self.t_indptr, self.t_indices, self.t_data, g)


@dataclass(frozen=True, repr=False, eq=False)
class FastfoodProjection(_Projection):
    """``P z = (H G Pi H B pad_L(z))[:D] / (sqrt(L sum G^2) sqrt(D / L))`` (see :func:`fastfood_projection`).

    Attributes
    ----------
    signs : array (L,)
        The diagonal of ``B`` (+-1).
    permutation, inverse_permutation : integer arrays (L,)
        ``Pi`` as a gather (``(Pi u)_i = u[permutation[i]]``) and its inverse.
    gaussian : array (L,)
        The diagonal of ``G`` (i.i.d. N(0, 1)).
    scale : float
        ``sqrt(L sum G^2) * sqrt(D / L)``, the reference code's divisor.
    """

    signs: Any
    permutation: Any
    inverse_permutation: Any
    gaussian: Any
    scale: float
    D: int
    d: int
    seed: int | None = None
    kind = "fastfood"

    @property
    def L(self) -> int:  # noqa: N802 - the papers' name
        """Padded length, ``2^ceil(log2 D)``."""
        return int(self.signs.shape[0])

    @property
    def _reference(self) -> Any:
        return self.gaussian

    @property
    def nbytes(self) -> int:
        """Bytes held by the operator (four length-``L`` vectors)."""
        return int(sum(_nbytes(a) for a in (self.signs, self.permutation, self.inverse_permutation, self.gaussian)))

    def _diag(self, v: Any, ndim: int) -> Any:
        return v if ndim == 1 else v[:, None]

    def apply(self, z: Any) -> Any:
        """``P z``: shape ``(D,)`` or ``(D, k)``; ``O(L log L)`` per column."""
        self._check_in(z, self.d, "z")
        xp = self._xp
        u = _pad(z, self.L, xp) * self._diag(self.signs, z.ndim)
        u = linalg.fwht(u, axis=0)
        u = xp.take(u, self.permutation, axis=0) * self._diag(self.gaussian, z.ndim)
        u = linalg.fwht(u, axis=0)
        return u[: self.D, ...] / self.scale

    def adjoint(self, g: Any) -> Any:
        """``P^T g``: shape ``(d,)`` or ``(d, k)`` (``H`` is symmetric, the permutation's adjoint is its inverse)."""
        self._check_in(g, self.D, "g")
        xp = self._xp
        u = linalg.fwht(_pad(g, self.L, xp) / self.scale, axis=0) * self._diag(self.gaussian, g.ndim)
        u = xp.take(u, self.inverse_permutation, axis=0)
        u = linalg.fwht(u, axis=0) * self._diag(self.signs, g.ndim)
        return u[: self.d, ...]


def _pad(v: Any, length: int, xp: ModuleType) -> Any:
    extra = length - v.shape[0]
    if extra == 0:
        return v
    zeros = xp.zeros((extra, *v.shape[1:]), dtype=v.dtype, device=backend.device(v))
    return xp.concat((v, zeros), axis=0)


def _nbytes(a: Any) -> int:
    if hasattr(a, "nbytes"):
        return int(a.nbytes)
    return int(backend.to_numpy(a).nbytes)


# --------------------------------------------------------------------------- #
# constructors
# --------------------------------------------------------------------------- #
def _check_dims(D: Any, d: Any) -> tuple[int, int]:
    D = check_int(D, "D", low=1)
    d = check_int(d, "d", low=1, high=D, high_label="D")
    return D, d


def _target(xp: ModuleType | None, like: Any, dtype: Any) -> tuple[ModuleType, Any, Any]:
    if like is not None:
        xp = backend.array_namespace(like)
    elif xp is None:
        xp = backend.get_namespace("numpy")
    if dtype is None:
        dtype = backend.float_dtype(xp, like)
    return xp, like, dtype


def _move(host: np.ndarray, xp: ModuleType, like: Any, dtype: Any = None) -> Any:
    return backend.asarray(host, xp=None if like is not None else xp, like=like, dtype=dtype)


def dense_projection(D: int, d: int, *, rng: Any = None, xp: ModuleType | None = None, like: Any = None,
                     dtype: Any = None) -> DenseProjection:
    """A dense Gaussian projection with unit-norm columns.

    ``P_ij ~ N(0, 1)`` i.i.d., then each column divided by its norm over all ``D``
    rows (the reference code's dense projection).  Memory ``D d`` floats: for
    small ``D`` only.

    Parameters
    ----------
    D, d : int
        Full and subspace dimensions, ``1 <= d <= D``.
    rng : int, Generator or SeedSequence, optional
        Host random stream.
    xp, like : optional
        Target namespace, or an array whose namespace and device to use (default NumPy).
    dtype : optional
        Default float64 (or ``like``'s floating dtype).

    Examples
    --------
    >>> import numpy as np
    >>> P = dense_projection(50, 3, rng=0)
    >>> np.round(np.linalg.norm(P.to_dense(), axis=0), 12)
    array([1., 1., 1.])
    """
    D, d = _check_dims(D, d)
    xp, like, dtype = _target(xp, like, dtype)
    gen = backend.as_generator(rng)
    host = gen.standard_normal((D, d))
    host /= np.linalg.norm(host, axis=0, keepdims=True)
    return DenseProjection(_move(host, xp, like, dtype), seed=_seed(rng))


def sparse_projection(D: int, d: int, *, density: float | str = "auto", segments: Any = None, rng: Any = None,
                      xp: ModuleType | None = None, like: Any = None, dtype: Any = None) -> SparseProjection:
    """Li et al.'s sparse projection: very sparse random directions, each normalized to unit norm.

    Column ``j`` (one direction of the subspace) gets ``n_j ~ Binomial(D, s)``
    non-zeros at distinct uniformly random rows, each ``+-1`` with probability 1/2,
    with ``s = 1 / sqrt(D)`` by default: the entries of scikit-learn's
    ``SparseRandomProjection`` (density "auto"), which Li et al.'s code draws.  The
    column is then scaled to unit norm over all ``D`` rows.

    With ``segments`` (the sizes of the model's parameter tensors, summing to ``D``)
    each segment is drawn as the reference code draws one layer: density
    ``1/sqrt(D_i)`` within it and entries ``+-1/sqrt(density_i)`` (scikit-learn's
    scale), before the common normalization over all segments.  Small tensors then
    get a larger share of non-zeros than under one global density.

    A column that would be empty (probability ``(1 - s)^D``, only for tiny ``D``)
    gets one non-zero at a uniformly random row instead, so every direction has
    unit norm.

    Parameters
    ----------
    D, d : int
        ``1 <= d <= D``.
    density : float in (0, 1] or "auto", default "auto"
        ``"auto"``: ``1 / sqrt(D)`` (per segment with ``segments``).
    segments : sequence of int, optional
        Positive tensor sizes summing to ``D``.
    rng, xp, like, dtype
        As in :func:`dense_projection`.

    Examples
    --------
    >>> import numpy as np
    >>> P = sparse_projection(10_000, 5, rng=0)
    >>> round(P.density, 2)
    0.01
    >>> np.round(np.linalg.norm(P.to_dense(), axis=0), 12)
    array([1., 1., 1., 1., 1.])
    """
    D, d = _check_dims(D, d)
    xp, like, dtype = _target(xp, like, dtype)
    sizes = np.array([D] if segments is None else [int(s) for s in segments], dtype=np.int64)
    if segments is not None and (sizes.size == 0 or np.any(sizes < 1) or int(sizes.sum()) != D):
        raise ValueError(f"segments must be positive sizes summing to D={D}, got {list(sizes)}")
    if isinstance(density, str):
        check_choice(density, "density", ("auto",))
        densities = 1.0 / np.sqrt(sizes)
    else:
        densities = np.full(sizes.shape, check_float(density, "density", low=0.0, high=1.0, low_inclusive=False))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    gen = backend.as_generator(rng)
    rows_per_col, vals_per_col = [], []
    for _ in range(d):
        rows, vals = [], []
        for start, size, s in zip(starts, sizes, densities):
            count = int(gen.binomial(int(size), float(s)))
            if count:
                rows.append(start + np.sort(gen.choice(int(size), size=count, replace=False)))
                vals.append(np.where(gen.random(count) < 0.5, -1.0, 1.0) / np.sqrt(s))
        if not rows:  # an empty direction: one non-zero instead
            row = int(gen.integers(D))
            rows, vals = [np.array([row])], [np.array([1.0])]
        r = np.concatenate(rows)
        v = np.concatenate(vals)
        rows_per_col.append(r)
        vals_per_col.append(v / np.linalg.norm(v))
    counts = np.array([r.size for r in rows_per_col], dtype=np.int64)
    t_indptr = np.concatenate([[0], np.cumsum(counts)])
    t_indices = np.concatenate(rows_per_col)
    t_data = np.concatenate(vals_per_col)
    # the same entries by row of P: a stable sort of (row, column) pairs
    cols = np.repeat(np.arange(d, dtype=np.int64), counts)
    order = np.argsort(t_indices, kind="stable")
    indptr = np.concatenate([[0], np.cumsum(np.bincount(t_indices, minlength=D))])
    return SparseProjection(
        _move(indptr, xp, like), _move(cols[order], xp, like), _move(t_data[order], xp, like, dtype),
        _move(t_indptr, xp, like), _move(t_indices, xp, like), _move(t_data, xp, like, dtype),
        D=D, d=d, seed=_seed(rng),
    )


def fastfood_projection(D: int, d: int, *, rng: Any = None, xp: ModuleType | None = None, like: Any = None,
                        dtype: Any = None) -> FastfoodProjection:
    """The Fastfood projection ``P z = (H G Pi H B [z; 0])[:D] / (sqrt(L sum G^2) sqrt(D / L))``.

    ``z`` is zero-padded to ``L = 2^ceil(log2 D)``; ``B`` is a diagonal of random
    signs, ``H`` the unnormalized Walsh-Hadamard matrix (:func:`lowrank_lab.linalg.fwht`),
    ``Pi`` a uniformly random permutation and ``G`` a diagonal of i.i.d. N(0, 1)
    entries; the first ``D`` outputs are kept.  The divisor is the reference code's
    (Li et al., 2018): column ``j`` of ``H G Pi H B`` has squared norm exactly
    ``L sum G^2`` (``H B e_j`` has entries ``+-1``, ``G Pi`` scales them by a
    permutation of ``G``, ``H`` multiplies norms by ``sqrt(L)``), and keeping ``D``
    of its ``L`` rows keeps about ``D / L`` of it.  So every column has norm exactly
    1 when ``D = L`` and about 1 otherwise.  Distinct columns are not orthogonal
    (their inner products are of order ``1 / sqrt(L)``, as for Gaussian columns).

    Costs ``O(L)`` memory and two transforms of length ``L`` per product.

    Parameters
    ----------
    D, d : int
        ``1 <= d <= D``.
    rng, xp, like, dtype
        As in :func:`dense_projection`.

    Examples
    --------
    >>> import numpy as np
    >>> P = fastfood_projection(64, 4, rng=0)
    >>> P.L, np.round(np.linalg.norm(P.to_dense(), axis=0), 12)
    (64, array([1., 1., 1., 1.]))
    """
    D, d = _check_dims(D, d)
    xp, like, dtype = _target(xp, like, dtype)
    L = 1 << (D - 1).bit_length()
    gen = backend.as_generator(rng)
    signs = np.where(gen.integers(0, 2, size=L) == 1, 1.0, -1.0)
    permutation = gen.permutation(L).astype(np.int64)
    gaussian = gen.standard_normal(L)
    scale = float(np.sqrt(L * np.sum(gaussian**2)) * np.sqrt(D / L))
    inverse = np.empty_like(permutation)
    inverse[permutation] = np.arange(L, dtype=np.int64)
    return FastfoodProjection(
        _move(signs, xp, like, dtype), _move(permutation, xp, like), _move(inverse, xp, like),
        _move(gaussian, xp, like, dtype), scale, D=D, d=d, seed=_seed(rng),
    )


#: Projection constructors by name (``make_projection``).
PROJECTIONS = {"dense": dense_projection, "sparse": sparse_projection, "fastfood": fastfood_projection}


def make_projection(kind: str, D: int, d: int, **options: Any) -> DenseProjection | SparseProjection | FastfoodProjection:
    """A projection by name: ``"dense"``, ``"sparse"`` or ``"fastfood"`` (options as the constructor's).

    Examples
    --------
    >>> make_projection("sparse", 100, 4, rng=1).shape
    (100, 4)
    """
    check_choice(kind, "kind", tuple(PROJECTIONS))
    return PROJECTIONS[kind](D, d, **options)


def _seed(rng: Any) -> int | None:
    return int(rng) if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) else None


# --------------------------------------------------------------------------- #
# flat layout of a dict of parameter tensors
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class ParameterLayout:
    """Where each named tensor lives in one flat parameter vector (the global parameterization).

    Tensors are laid out in the dict's order, each flattened in C order (row-major),
    so ``vector[offsets[i]:offsets[i + 1]]`` is tensor ``names[i]``.  Built by
    :func:`flatten_params` or :meth:`from_params`.

    Attributes
    ----------
    names : tuple of str
    shapes : tuple of tuple of int
    offsets : tuple of int
        ``m + 1`` offsets, ``offsets[-1] == size``.
    """

    names: tuple
    shapes: tuple
    offsets: tuple

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ParameterLayout:
        """The layout of a dict ``name -> array`` (any shapes, 0-D included)."""
        if not isinstance(params, Mapping) or not params:
            raise TypeError(f"params must be a non-empty mapping of name -> array, got {type(params).__name__}")
        names, shapes, offsets = [], [], [0]
        for name, value in params.items():
            if not isinstance(name, str):
                raise TypeError(f"params keys must be strings, got {name!r}")
            check_arrays(**{f"params[{name!r}]": value})
            shape = tuple(int(s) for s in value.shape)
            names.append(name)
            shapes.append(shape)
            offsets.append(offsets[-1] + int(np.prod(shape, dtype=np.int64)))
        return cls(tuple(names), tuple(shapes), tuple(offsets))

    @property
    def size(self) -> int:
        """Total number of parameters ``D``."""
        return self.offsets[-1]

    @property
    def n_tensors(self) -> int:
        """Number of tensors ``m``."""
        return len(self.names)

    @property
    def sizes(self) -> tuple:
        """Number of entries of each tensor."""
        return tuple(b - a for a, b in zip(self.offsets[:-1], self.offsets[1:]))

    def flatten(self, params: Mapping[str, Any]) -> Any:
        """One vector of length :attr:`size` from a dict with exactly this layout's names and shapes."""
        if set(params) != set(self.names):
            raise ValueError(f"params must have the keys {list(self.names)}, got {list(params)}")
        parts = []
        for name, shape in zip(self.names, self.shapes):
            value = params[name]
            if tuple(value.shape) != shape:
                raise ValueError(f"params[{name!r}] must have shape {shape}, got {tuple(value.shape)}")
            parts.append(backend.array_namespace(value).reshape(value, (-1,)))
        xp = backend.array_namespace(*parts)
        return parts[0] if len(parts) == 1 else xp.concat(parts)

    def unflatten(self, vector: Any) -> dict:
        """The dict ``name -> tensor`` of a flat vector (reshaped slices, in this layout's order)."""
        if vector.ndim != 1 or vector.shape[0] != self.size:
            raise ValueError(f"vector must have shape ({self.size},), got {tuple(vector.shape)}")
        xp = backend.array_namespace(vector)
        return {name: xp.reshape(vector[a:b], shape)
                for name, shape, a, b in zip(self.names, self.shapes, self.offsets[:-1], self.offsets[1:])}

    def segment_ids(self, *, like: Any) -> Any:
        """Tensor index of every entry of the flat vector (integer array of length :attr:`size`)."""
        host = np.repeat(np.arange(self.n_tensors, dtype=np.int64), self.sizes)
        return backend.asarray(host, like=like)

    def scale_segments(self, vector: Any, scales: Any) -> Any:
        """``vector`` with tensor ``i``'s block multiplied by ``scales[i]`` (SAID's ``lambda_i P_i z``)."""
        xp = backend.array_namespace(vector, scales)
        if scales.shape != (self.n_tensors,):
            raise ValueError(f"scales must have shape ({self.n_tensors},), got {tuple(scales.shape)}")
        counts = backend.asarray(np.asarray(self.sizes, dtype=np.int64), like=scales)
        return vector * xp.repeat(scales, counts)

    def segment_dots(self, u: Any, v: Any) -> Any:
        """Per-tensor inner products ``<u_i, v_i>`` of two flat vectors (length ``m``; SAID's gradient in ``lambda``)."""
        for name, a in (("u", u), ("v", v)):
            if a.ndim != 1 or a.shape[0] != self.size:
                raise ValueError(f"{name} must have shape ({self.size},), got {tuple(a.shape)}")
        return linalg.segment_sum(u * v, self.segment_ids(like=u), self.n_tensors, sorted=True)


def flatten_params(params: Mapping[str, Any]) -> tuple[Any, ParameterLayout]:
    """``(vector, layout)``: all tensors of ``params`` as one flat vector, and how to undo it.

    The global parameterization of subspace training: ``theta = flatten(theta_0) + P z``,
    then ``layout.unflatten(theta)`` gives the model's tensors back.

    Examples
    --------
    >>> import numpy as np
    >>> vec, layout = flatten_params({"W": np.ones((2, 3)), "b": np.zeros(2)})
    >>> vec.shape, layout.sizes
    ((8,), (6, 2))
    >>> layout.unflatten(vec)["W"].shape
    (2, 3)
    """
    layout = ParameterLayout.from_params(params)
    return layout.flatten(params), layout
