"""Gradient low-rank projection as composable transforms: GaLore, Fira, FRUGAL, APOLLO, DCT selection, Q-GaLore.

Every method here is a :class:`~lowrank_lab.adapters.transforms.GradientTransformation`
acting on the **2-D leaves** of the gradient (1-D leaves go through the inner transform
unprojected, as the reference optimizers treat parameters without a rank).  For a leaf
``G`` (``m x n``) a projector ``P`` with ``r`` columns lives on the **smaller side**
(reference code: ``m >= n`` projects on the right, ``Q = V[:, :r]`` and ``R = G Q``;
otherwise on the left, ``P = U[:, :r]`` and ``R = P^T G``); it is recomputed at steps
``0, T, 2T, ...`` (``update_gap=T``; ``None`` = never again).  The inner transform
(Adam by default) runs on ``R``, so its moments are ``r``-sized, and its output ``N`` is
mapped back:

``scale_by_galore``   ``U = scale * P N`` (Zhao et al. 2024).
``scale_by_fira``     ``U = scale * P N + limit(phi * (G - scale * P R))`` with the
                      channel-wise factor ``phi = ||N_c|| / ||R_c||`` along the
                      unprojected dimension and the norm-growth limiter (Chen et al. 2024).
``scale_by_frugal``   ``U = scale * P N + outside_scale * h((I - P P^T) G)``, ``h`` =
                      sign, identity or 0: state-full in the subspace, state-free outside
                      (Zmushko et al. 2024).
``scale_by_apollo``   ``U = sqrt(scale) * limit(phi * G)`` with a Gaussian ``N(0, 1/r)``
                      projector, ``phi`` channel-wise or tensor-wise (APOLLO-Mini: rank 1)
                      (Zhu et al. 2024).

Projectors (``projector=``): ``"svd"`` (exact, :func:`lowrank_lab.linalg.svd`),
``"randomized_svd"`` (:func:`lowrank_lab.linalg.randomized_svd`, seeded), ``"random"``
(Haar orthonormal, as GoLore and FRUGAL), ``"gaussian"`` (``N(0, 1/r)`` entries, not
orthogonalized: APOLLO), ``"dct"`` (the ``r`` columns of the orthonormal DCT basis that
score highest in ``l1`` norm of the projected gradient, storing only their indices:
the SVD-free method of Modoranu et al. 2025), ``"dct_first"`` (the first ``r`` cosines,
fixed), ``"coordinate"`` (``r`` random coordinates, FRUGAL's block projection), or a
callable ``projector(G, side, rank, rng) -> d x r``.

Options: the moment policy at a refresh (``moments="keep"``, the reference's; ``"reset"``;
``"reproject"``: ``M <- C M`` and ``V <- (C * C) V`` with ``C = P_new^T P_old``), the
Q-GaLore adaptive gap (``adaptive_gap=True``: at each refresh the cosine between the
first projector vectors of the new and the old projector joins a queue of 5; when
their mean reaches 0.4 the leaf's gap doubles; ``cosine="signed"`` as the reference
code, or ``"absolute"``), an INT4 projector (``projector_bits=4``, min-max per group
of 256), and :func:`quantize_weights` (INT8 weights with round-to-nearest or stochastic
rounding).  :func:`projectors` reads the projectors out of any optimizer state.

Examples
--------
>>> import numpy as np
>>> from lowrank_lab.adapters import apply_updates, state_floats
>>> opt = galore(0.01, rank=2, update_gap=50)
>>> params = {"W": np.zeros((6, 10)), "b": np.zeros(6)}
>>> state = opt.init(params)
>>> G = {"W": np.random.default_rng(0).standard_normal((6, 10)), "b": np.ones(6)}
>>> updates, state = opt.update(G, state, params)
>>> updates["W"].shape, state_floats(state)      # P (6 x 2) + Adam on R (2 x 10) x 2 + Adam on b (6) x 2
((6, 10), 64)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from .. import backend, linalg
from .._validation import check_choice, check_float, check_int
from .models import dense_gradient, namespace
from .projection_stages import (
    _TINY,
    NormGrowthState,
    _key_id,
    _limit,
    clip_by_norm_growth,
    inject_gradient_spikes,
    quantize_weights,
)
from .transforms import (
    GradientTransformation,
    ScaleByAdamState,
    TraceState,
    add_decayed_weights,
    chain,
    scale_by_adam,
    scale_by_learning_rate,
)

__all__ = [
    "COSINES",
    "MOMENTS",
    "OUTSIDE",
    "PROJECTORS",
    "SCALINGS",
    "NormGrowthState",
    "ProjectedLeaf",
    "ProjectionState",
    "ProjectorView",
    "apollo",
    "apollo_mini",
    "clip_by_norm_growth",
    "fira",
    "frugal",
    "galore",
    "inject_gradient_spikes",
    "projectors",
    "q_galore",
    "quantize_weights",
    "scale_by_apollo",
    "scale_by_fira",
    "scale_by_frugal",
    "scale_by_galore",
]

#: Projector kinds (or a callable ``projector(G, side, rank, rng) -> d x r``).
PROJECTORS = ("svd", "randomized_svd", "random", "gaussian", "dct", "dct_first", "coordinate")
#: What happens to the inner moments when the projector changes.
MOMENTS = ("keep", "reset", "reproject")
#: Cosine of the Q-GaLore adaptive gap.
COSINES = ("signed", "absolute")
#: FRUGAL's state-free step outside the subspace.
OUTSIDE = ("sign", "sgd", "zero")
#: APOLLO's scaling factor: per channel (APOLLO) or one per tensor (APOLLO-Mini).
SCALINGS = ("channel", "tensor")
_SIDES = ("auto", "left", "right")
_INDEX_KINDS = ("dct", "dct_first", "coordinate")


# =========================================================================== #
# state
# =========================================================================== #
class ProjectedLeaf(NamedTuple):
    """Per-leaf state of a projection transform.

    Attributes
    ----------
    side : {"left", "right", "none"}
        ``"none"``: a leaf that is not projected (1-D), the inner transform runs on it.
    rank : int
    shape : tuple
        Shape of the leaf.
    kind : str
        Projector kind (``"callable"`` for a user function).
    basis : array (d x r), linalg.Quantized or None
        The projector (``None`` for index kinds, which store only ``index``).
    index : int array (r,) or None
        Selected DCT columns or coordinates.
    inner : object
        State of the inner transform on ``R``.
    gap : int or float
        Current refresh gap (``math.inf``: never again).
    refreshes : int
        Projectors computed so far.
    cosines : tuple of float
        Recent cosines of the adaptive gap (host floats).
    lead : array or None
        First projector vector at the last refresh (adaptive gap only).
    limiter : 0-d array or None
        Previous post-limiter norm (Fira, APOLLO).
    """

    side: str
    rank: int
    shape: tuple
    kind: str
    basis: Any
    index: Any
    inner: Any
    gap: Any
    refreshes: int
    cosines: tuple
    lead: Any
    limiter: Any


class ProjectionState(NamedTuple):
    """State of a projection transform: the step counter and one :class:`ProjectedLeaf` per leaf."""

    count: int
    leaves: dict


class ProjectorView(NamedTuple):
    """A projector read out of an optimizer state by :func:`projectors`."""

    side: str
    basis: Any
    refreshes: int
    gap: Any
    cosines: tuple
    kind: str


# =========================================================================== #
# helpers
# =========================================================================== #
def _check_gap(update_gap: Any) -> Any:
    if update_gap is None or (isinstance(update_gap, float) and math.isinf(update_gap) and update_gap > 0):
        return math.inf
    return check_int(update_gap, "update_gap", low=1)


def _check_gamma(gamma: Any) -> float:
    if gamma is None or (isinstance(gamma, float) and math.isinf(gamma) and gamma > 0):
        return math.inf
    return check_float(gamma, "gamma", low=1.0)


def _project(G: Any, P: Any, side: str, xp: Any) -> Any:
    return xp.matrix_transpose(P) @ G if side == "left" else G @ P


def _back(N: Any, P: Any, side: str, xp: Any) -> Any:
    return P @ N if side == "left" else N @ xp.matrix_transpose(P)


def _rotate(state: Any, C: Any, side: str, xp: Any) -> Any:
    """Re-project moment-like arrays of an inner state: first moments by ``C``, second moments by ``C * C``."""
    def lin(M: Any) -> Any:
        return C @ M if side == "left" else M @ xp.matrix_transpose(C)

    def quad(V: Any) -> Any:
        C2 = C * C
        return C2 @ V if side == "left" else V @ xp.matrix_transpose(C2)

    if isinstance(state, ScaleByAdamState):
        return ScaleByAdamState(state.count, {k: lin(v) for k, v in state.mu.items()},
                                {k: quad(v) for k, v in state.nu.items()})
    if isinstance(state, TraceState):
        return TraceState({k: lin(v) for k, v in state.trace.items()})
    if isinstance(state, tuple) and not hasattr(state, "_fields"):
        return tuple(_rotate(s, C, side, xp) for s in state)
    return state


def _materialize(leaf: ProjectedLeaf, like: Any, cache: dict | None = None) -> Any:
    """The ``d x r`` projector of a leaf (dequantized; index kinds built from the DCT basis or the identity)."""
    if leaf.basis is not None:
        return linalg.dequantize(leaf.basis) if isinstance(leaf.basis, linalg.Quantized) else leaf.basis
    xp = namespace(like)
    d = leaf.shape[0] if leaf.side == "left" else leaf.shape[1]
    key = (leaf.kind, d, str(like.dtype), backend.backend_name(xp), str(backend.device(like)))
    full = None if cache is None else cache.get(key)
    if full is None:
        if leaf.kind in ("dct", "dct_first"):
            full = xp.matrix_transpose(linalg.dct_matrix(d, like=like, dtype=like.dtype))  # columns: cosines
        else:
            full = xp.eye(d, dtype=like.dtype, device=backend.device(like))
        if cache is not None:
            cache[key] = full
    return xp.take(full, leaf.index, axis=1)


# =========================================================================== #
# the engine
# =========================================================================== #
@dataclass(frozen=True)
class _Projection:
    method: str
    rank: int
    gap: Any
    scale: float
    projector: Any
    inner: GradientTransformation
    moments: str
    side: str
    adaptive: bool
    cos_threshold: float
    queue_size: int
    gap_factor: float
    cosine: str
    projector_bits: int | None
    seed: int
    outside: str = "zero"
    outside_scale: float = 1.0
    gamma: float = math.inf
    scaling: str = "channel"
    cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def kind(self) -> str:
        return self.projector if isinstance(self.projector, str) else "callable"

    # ------------------------------------------------------------------ init
    def init(self, params: Mapping[str, Any]) -> ProjectionState:
        leaves = {}
        for k, p in params.items():
            shape = tuple(int(d) for d in getattr(p, "shape", ()))
            if len(shape) != 2:
                leaves[k] = ProjectedLeaf("none", 0, shape, "", None, None, self.inner.init({"x": p}), math.inf,
                                          0, (), None, None)
                continue
            m, n = shape
            side = ("right" if m >= n else "left") if self.side == "auto" else self.side
            r = min(self.rank, m, n)
            xp = namespace(p)
            R0 = xp.zeros((r, n) if side == "left" else (m, r), dtype=p.dtype, device=backend.device(p))
            leaves[k] = ProjectedLeaf(side, r, shape, self.kind, None, None, self.inner.init({"x": R0}), self.gap,
                                      0, (), None, None)
        return ProjectionState(0, leaves)

    # --------------------------------------------------------------- refresh
    def _new_projector(self, key: str, G: Any, leaf: ProjectedLeaf, xp: Any) -> tuple[Any, Any, Any]:
        """``(basis, index, R or None)`` of a fresh projector for ``G``."""
        side, r = leaf.side, leaf.rank
        d = G.shape[0] if side == "left" else G.shape[1]
        gen = np.random.default_rng([self.seed, _key_id(key), leaf.refreshes])
        kind = self.kind
        if kind == "callable":
            basis = self.projector(G, side, r, gen)
            if tuple(basis.shape) != (d, r):
                raise ValueError(f"projector must return a ({d}, {r}) array for this leaf, got {tuple(basis.shape)}")
            return basis, None, None
        if kind in ("svd", "randomized_svd"):
            U, _, Vt = linalg.svd(G) if kind == "svd" else linalg.randomized_svd(G, r, rng=gen)
            return (U[:, :r] if side == "left" else xp.matrix_transpose(Vt[:r, :])), None, None
        if kind == "random":
            return linalg.orthonormalize(backend.random_normal((d, r), rng=gen, like=G)), None, None
        if kind == "gaussian":
            return backend.random_normal((d, r), rng=gen, like=G, scale=1.0 / math.sqrt(r)), None, None
        dev = backend.device(G)
        if kind == "dct_first":
            return None, xp.arange(r, device=dev), None
        if kind == "coordinate":
            idx = np.sort(gen.choice(d, size=r, replace=False))
            return None, xp.asarray(idx, dtype=xp.int64, device=dev), None
        # "dct": score the cosine vectors by the l1 norm of the projected gradient, keep the top r
        axis = 0 if side == "left" else 1
        S = linalg.dct(G, axis=axis)
        scores = xp.sum(xp.abs(S), axis=1 - axis)
        idx = xp.argsort(scores, descending=True, stable=True)[:r]
        return None, idx, xp.take(S, idx, axis=axis)

    def _refresh(self, key: str, G: Any, leaf: ProjectedLeaf, xp: Any) -> tuple[ProjectedLeaf, Any]:
        old = _materialize(leaf, G, self.cache) if leaf.refreshes and self.moments == "reproject" else None
        basis, index, R = self._new_projector(key, G, leaf, xp)
        if basis is not None and self.projector_bits is not None:
            size = math.prod(basis.shape)
            basis = linalg.quantize_minmax(basis, bits=self.projector_bits, group_size=256 if size % 256 == 0 else None)
            R = None
        new = leaf._replace(basis=basis, index=index, refreshes=leaf.refreshes + 1)
        P = _materialize(new, G, self.cache)
        inner, gap, cosines, lead = leaf.inner, leaf.gap, leaf.cosines, leaf.lead
        if leaf.refreshes:
            if self.moments == "reset":
                inner = self.inner.init({"x": xp.zeros((leaf.rank, G.shape[1]) if leaf.side == "left"
                                                       else (G.shape[0], leaf.rank), dtype=G.dtype,
                                                       device=backend.device(G))})
            elif self.moments == "reproject":
                inner = _rotate(inner, xp.matrix_transpose(P) @ old, leaf.side, xp)
        if self.adaptive:
            first = P[:, 0]
            if lead is not None:
                cos = float(xp.sum(first * lead) / (xp.linalg.vector_norm(first) * xp.linalg.vector_norm(lead)
                                                    + 1e-30))  # one host read per refresh, as the reference's .item()
                cosines = (cosines + (abs(cos) if self.cosine == "absolute" else cos,))[-self.queue_size:]
                if len(cosines) == self.queue_size and sum(cosines) / self.queue_size >= self.cos_threshold:
                    gap = gap if math.isinf(gap) else int(gap * self.gap_factor)
            lead = first
        return new._replace(inner=inner, gap=gap, cosines=cosines, lead=lead), R

    # ---------------------------------------------------------------- update
    def _combine(self, G: Any, P: Any, R: Any, N: Any, leaf: ProjectedLeaf, xp: Any) -> tuple[Any, Any]:
        side = leaf.side
        if self.method == "apollo":
            if self.scaling == "tensor":
                phi = xp.linalg.vector_norm(N) / (xp.linalg.vector_norm(R) + _TINY)
            else:
                phi = self._channel_factor(N, R, side, xp)
            S, lim = _limit(G * phi, leaf.limiter, self.gamma, xp)
            return math.sqrt(self.scale) * S, lim
        U = self.scale * _back(N, P, side, xp)
        if self.method == "galore":
            return U, None
        if self.method == "frugal":
            if self.outside == "zero":
                return U, None
            residual = G - _back(R, P, side, xp)  # (I - P P^T) G for an orthonormal P
            return U + self.outside_scale * (xp.sign(residual) if self.outside == "sign" else residual), None
        # fira: residual G - alpha P R, scaled per channel, then limited
        S = (G - self.scale * _back(R, P, side, xp)) * self._channel_factor(N, R, side, xp)
        S, lim = _limit(S, leaf.limiter, self.gamma, xp)
        return U + S, lim

    @staticmethod
    def _channel_factor(N: Any, R: Any, side: str, xp: Any) -> Any:
        """``||N_c|| / (||R_c|| + 1e-8)`` for every channel ``c`` of the unprojected dimension, broadcastable to G."""
        axis = 0 if side == "left" else 1
        phi = xp.linalg.vector_norm(N, axis=axis) / (xp.linalg.vector_norm(R, axis=axis) + _TINY)
        return phi[None, :] if side == "left" else phi[:, None]

    def update(self, grads: Mapping[str, Any], state: ProjectionState, params: Any = None) -> tuple[dict, Any]:
        count = state.count
        out: dict[str, Any] = {}
        leaves = dict(state.leaves)
        for k, g in grads.items():
            leaf = state.leaves[k]
            if leaf.side == "none":
                u, inner = self.inner.update({"x": g}, leaf.inner, None)
                out[k] = u["x"]
                leaves[k] = leaf._replace(inner=inner)
                continue
            G = dense_gradient(g)
            xp = namespace(G)
            R = None
            if leaf.refreshes == 0 or (not math.isinf(leaf.gap) and count % int(leaf.gap) == 0):
                leaf, R = self._refresh(k, G, leaf, xp)
            P = _materialize(leaf, G, self.cache)
            if R is None:
                R = _project(G, P, leaf.side, xp)
            u, inner = self.inner.update({"x": R}, leaf.inner, None)
            out[k], limiter = self._combine(G, P, R, u["x"], leaf, xp)
            leaves[k] = leaf._replace(inner=inner, limiter=limiter)
        return out, ProjectionState(count + 1, leaves)


def _make(method: str, rank: Any, update_gap: Any, scale: Any, projector: Any, inner: Any, moments: str,
          side: str, adaptive_gap: Any, cos_threshold: Any, queue_size: Any, gap_factor: Any, cosine: str,
          projector_bits: Any, seed: Any, **extra: Any) -> GradientTransformation:
    rank = check_int(rank, "rank", low=1)
    gap = _check_gap(update_gap)
    scale = check_float(scale, "scale", low=0.0, low_inclusive=False)
    if not (callable(projector) or projector in PROJECTORS):
        raise ValueError(f"projector must be one of {PROJECTORS} or a callable (G, side, rank, rng) -> d x r, "
                         f"got {projector!r}")
    inner = scale_by_adam() if inner is None else inner
    if not isinstance(inner, GradientTransformation):
        raise TypeError(f"inner must be a GradientTransformation, got {type(inner).__name__}")
    moments = check_choice(moments, "moments", MOMENTS)
    side = check_choice(side, "side", _SIDES)
    if not isinstance(adaptive_gap, bool):
        raise TypeError(f"adaptive_gap must be a bool, got {adaptive_gap!r}")
    cos_threshold = check_float(cos_threshold, "cos_threshold", low=-1.0, high=1.0)
    queue_size = check_int(queue_size, "queue_size", low=1)
    gap_factor = check_float(gap_factor, "gap_factor", low=1.0)
    cosine = check_choice(cosine, "cosine", COSINES)
    if projector_bits is not None:
        projector_bits = check_int(projector_bits, "projector_bits", low=1, high=16)
    seed = check_int(seed, "seed", low=0)
    impl = _Projection(method, rank, gap, scale, projector, inner, moments, side, adaptive_gap, cos_threshold,
                       queue_size, gap_factor, cosine, projector_bits, seed, **extra)
    return GradientTransformation(impl.init, impl.update, f"scale_by_{method}")


_COMMON_DOC = """
    rank : int
        Columns of the projector (clipped to ``min(m, n)`` per leaf).
    update_gap : int or None, default 200
        Refresh period ``T`` (steps ``0, T, 2T, ...``); ``None`` or ``math.inf``: step 0 only.
    scale : float, default 1.0
        GaLore's ``scale`` (``alpha``), applied when projecting back.
    projector : str or callable, default "svd"
        One of :data:`PROJECTORS` or ``projector(G, side, rank, rng) -> d x r``.
    inner : GradientTransformation, optional
        Run on the projected gradient ``R`` (default :func:`scale_by_adam`).
    moments : {"keep", "reset", "reproject"}, default "keep"
        The inner state at a refresh: kept (reference code), re-initialized, or rotated
        into the new basis (``C = P_new^T P_old``: first moments ``C M``, second moments
        ``(C * C) V``; reconstruction).
    side : {"auto", "left", "right"}, default "auto"
        ``"auto"``: the smaller side (right if ``m >= n``).
    adaptive_gap : bool, default False
        Q-GaLore's layer-adaptive gap (``cos_threshold``, ``queue_size``, ``gap_factor``, ``cosine``).
    projector_bits : int, optional
        Store the projector quantized (min-max per group of 256; Q-GaLore uses 4).
    seed : int, default 0
        Seeds the random projectors (``"randomized_svd"``, ``"random"``, ``"gaussian"``,
        ``"coordinate"``): refresh ``j`` of leaf ``key`` uses ``default_rng([seed, crc32(key), j])``."""


def scale_by_galore(rank: int, *, update_gap: Any = 200, scale: float = 1.0, projector: Any = "svd",
                    inner: GradientTransformation | None = None, moments: str = "keep", side: str = "auto",
                    adaptive_gap: bool = False, cos_threshold: float = 0.4, queue_size: int = 5,
                    gap_factor: float = 2.0, cosine: str = "signed", projector_bits: int | None = None,
                    seed: int = 0) -> GradientTransformation:
    """GaLore's direction ``scale * P N`` with ``N = inner(P^T G)`` (Zhao et al. 2024); compose with a learning rate.

    Parameters
    ----------{common}

    Notes
    -----
    The reference code (``galore_torch``) uses gap 200 and ``scale`` 1.0 in its projector
    class, but gap 200 and ``scale`` 0.25 in the paper's scripts; the defaults here are the
    class's.  Its Adam uses ``eps = 1e-6`` on the uncorrected second moment; the default
    inner here is :func:`scale_by_adam` (``eps = 1e-8`` on the corrected one).

    Examples
    --------
    >>> import numpy as np
    >>> t = scale_by_galore(1, update_gap=None)
    >>> G = {"W": np.outer([1.0, 2.0], [1.0, 0.0, 0.0])}       # rank one: the projector captures it
    >>> u, s = t.update(G, t.init({"W": np.zeros((2, 3))}))
    >>> np.round(u["W"], 6).tolist()                           # Adam's first step: sign, in P's span
    [[0.447214, 0.0, 0.0], [0.894427, 0.0, 0.0]]
    """
    return _make("galore", rank, update_gap, scale, projector, inner, moments, side, adaptive_gap, cos_threshold,
                 queue_size, gap_factor, cosine, projector_bits, seed)


def scale_by_fira(rank: int, *, gamma: float | None = 1.01, update_gap: Any = 200, scale: float = 1.0,
                  projector: Any = "svd", inner: GradientTransformation | None = None, moments: str = "keep",
                  side: str = "auto", adaptive_gap: bool = False, cos_threshold: float = 0.4, queue_size: int = 5,
                  gap_factor: float = 2.0, cosine: str = "signed", projector_bits: int | None = None,
                  seed: int = 0) -> GradientTransformation:
    """Fira's direction: GaLore's plus the scaled, norm-limited residual (Chen et al. 2024, reference code).

    ``U = scale * P N + S`` with ``S = phi * (G - scale * P R)``: the residual outside the
    subspace (``G - alpha P R``, which is the paper's ``G - P R`` only for ``alpha = 1``),
    multiplied channel-wise by ``phi_c = ||N_c|| / (||R_c|| + 1e-8)`` along the unprojected
    dimension (columns for a left projector, rows for a right one), then passed through
    the **norm-growth limiter**: when ``||S_t|| / ||S_{t-1}|| > gamma`` it is rescaled to
    ratio ``gamma``; the stored norm is the post-limiter one and the first step is
    unlimited.

    Parameters
    ----------
    gamma : float or None, default 1.01
        Limiter ratio (``None`` or ``math.inf``: no limiter).{common}

    Examples
    --------
    >>> import numpy as np
    >>> G = {"W": np.array([[1.0, 1.0, 0.0], [0.0, 0.1, 0.2]])}
    >>> p = {"W": np.zeros((2, 3))}
    >>> f, g = scale_by_fira(1, update_gap=None), scale_by_galore(1, update_gap=None)
    >>> uf, ug = f.update(G, f.init(p))[0]["W"], g.update(G, g.init(p))[0]["W"]
    >>> bool(np.abs(uf - ug).max() > 0.01)                     # the residual outside P's span moves too
    True
    """
    return _make("fira", rank, update_gap, scale, projector, inner, moments, side, adaptive_gap, cos_threshold,
                 queue_size, gap_factor, cosine, projector_bits, seed, gamma=_check_gamma(gamma))


def scale_by_frugal(rank: int, *, outside: str = "sign", outside_scale: float = 1.0, update_gap: Any = 200,
                    scale: float = 1.0, projector: Any = "svd", inner: GradientTransformation | None = None,
                    moments: str = "keep", side: str = "auto", seed: int = 0) -> GradientTransformation:
    """FRUGAL's direction: state-full inside the subspace, state-free outside (Zmushko et al. 2024).

    ``U = scale * P N + outside_scale * h((I - P P^T) G)`` with ``h = sign`` (signSGD),
    the identity (SGD) or 0 (``outside="zero"``: exactly GaLore).  With a learning rate
    ``eta`` after it, the outside step is ``eta_2 = outside_scale * eta``.  ``P`` must be
    orthonormal (``"svd"``, ``"randomized_svd"``, ``"random"``, ``"coordinate"``, DCT).

    Parameters
    ----------
    outside : {"sign", "sgd", "zero"}, default "sign"
    outside_scale : float, default 1.0{short}

    Examples
    --------
    >>> import numpy as np
    >>> t = scale_by_frugal(1, update_gap=None, projector="coordinate")
    >>> G = np.array([[2.0, -3.0, 1.0], [0.5, 4.0, -1.0]])
    >>> u, _ = t.update({"W": G}, t.init({"W": np.zeros((2, 3))}))
    >>> np.abs(np.round(u["W"], 6)).tolist()        # Adam's first (sign) step on one row, signSGD on the other
    [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """
    if callable(projector) is False and projector == "gaussian":
        raise ValueError("projector must be orthonormal for FRUGAL's (I - P P^T) G; 'gaussian' is not")
    outside = check_choice(outside, "outside", OUTSIDE)
    outside_scale = check_float(outside_scale, "outside_scale", low=0.0)
    return _make("frugal", rank, update_gap, scale, projector, inner, moments, side, False, 0.4, 5, 2.0, "signed",
                 None, seed, outside=outside, outside_scale=outside_scale)


def scale_by_apollo(rank: int, *, scaling: str = "channel", gamma: float | None = 1.01, update_gap: Any = 200,
                    scale: float = 1.0, projector: Any = "gaussian", inner: GradientTransformation | None = None,
                    moments: str = "keep", side: str = "auto", seed: int = 0) -> GradientTransformation:
    """APOLLO's direction: the raw gradient scaled by factors estimated in a random subspace (Zhu et al. 2024).

    Reference code (``apollo_torch``): a Gaussian projector with ``N(0, 1/r)`` entries,
    not orthogonalized, redrawn every ``update_gap`` steps (moments kept); Adam runs on
    ``R`` to give ``N``; the factor is ``phi_c = ||N_c|| / (||R_c|| + 1e-8)`` per channel
    of the unprojected dimension (``scaling="channel"``) or one ``||N|| / (||R|| + 1e-8)``
    for the whole tensor (``"tensor"``, APOLLO-Mini); ``S = phi * G`` goes through Fira's
    limiter (``gamma``), and the direction is ``sqrt(scale) * S``.

    Parameters
    ----------
    scaling : {"channel", "tensor"}, default "channel"
    gamma : float or None, default 1.01{short}

    Examples
    --------
    >>> import numpy as np
    >>> t = scale_by_apollo(2, scaling="tensor")
    >>> G = np.arange(1.0, 13.0).reshape(3, 4)
    >>> u, _ = t.update({"W": G}, t.init({"W": np.zeros((3, 4))}))
    >>> bool(np.allclose(u["W"] / G, (u["W"] / G)[0, 0]))     # one factor for the whole tensor
    True
    """
    scaling = check_choice(scaling, "scaling", SCALINGS)
    return _make("apollo", rank, update_gap, scale, projector, inner, moments, side, False, 0.4, 5, 2.0, "signed",
                 None, seed, gamma=_check_gamma(gamma), scaling=scaling)


_SHORT_DOC = _COMMON_DOC.split("    adaptive_gap")[0] + "    seed : int, default 0"
for _fn in (scale_by_galore, scale_by_fira, scale_by_frugal, scale_by_apollo):
    _fn.__doc__ = _fn.__doc__.replace("{common}", _COMMON_DOC).replace("{short}", _SHORT_DOC.rstrip())


# =========================================================================== #
# the optimizers: direction, (decoupled decay), learning rate
# =========================================================================== #
def _optimizer(direction: GradientTransformation, lr: Any, weight_decay: float, name: str) -> GradientTransformation:
    weight_decay = check_float(weight_decay, "weight_decay", low=0.0)
    parts = [direction] + ([add_decayed_weights(weight_decay)] if weight_decay > 0 else [])
    opt = chain(*parts, scale_by_learning_rate(lr))
    return GradientTransformation(opt.init, opt.update, name)


def galore(lr: Any, rank: int, *, update_gap: Any = 200, scale: float = 1.0, projector: Any = "svd",
           moments: str = "keep", b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
           **kwargs: Any) -> GradientTransformation:
    """GaLore-Adam: :func:`scale_by_galore` with Adam inside, then ``-lr`` (and AdamW's decay).

    ``kwargs`` go to :func:`scale_by_galore` (``side``, ``adaptive_gap``, ``projector_bits``, ``seed``, ...).

    Examples
    --------
    >>> import numpy as np
    >>> opt = galore(0.1, rank=1)
    >>> u, _ = opt.update({"W": np.ones((2, 3))}, opt.init({"W": np.zeros((2, 3))}))
    >>> np.round(u["W"], 6).tolist()
    [[-0.070711, -0.070711, -0.070711], [-0.070711, -0.070711, -0.070711]]
    """
    direction = scale_by_galore(rank, update_gap=update_gap, scale=scale, projector=projector,
                                inner=scale_by_adam(b1, b2, eps), moments=moments, **kwargs)
    return _optimizer(direction, lr, weight_decay, "galore")


def fira(lr: Any, rank: int, *, gamma: float | None = 1.01, update_gap: Any = 200, scale: float = 1.0,
         projector: Any = "svd", b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
         **kwargs: Any) -> GradientTransformation:
    """Fira-Adam: :func:`scale_by_fira` with Adam inside, then ``-lr``."""
    direction = scale_by_fira(rank, gamma=gamma, update_gap=update_gap, scale=scale, projector=projector,
                              inner=scale_by_adam(b1, b2, eps), **kwargs)
    return _optimizer(direction, lr, weight_decay, "fira")


def frugal(lr: Any, rank: int, *, outside: str = "sign", outside_scale: float = 1.0, update_gap: Any = 200,
           projector: Any = "svd", b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
           weight_decay: float = 0.0, **kwargs: Any) -> GradientTransformation:
    """FRUGAL: Adam in the subspace, signSGD (or SGD) outside, then ``-lr``."""
    direction = scale_by_frugal(rank, outside=outside, outside_scale=outside_scale, update_gap=update_gap,
                                projector=projector, inner=scale_by_adam(b1, b2, eps), **kwargs)
    return _optimizer(direction, lr, weight_decay, "frugal")


def apollo(lr: Any, rank: int, *, scaling: str = "channel", scale: float = 1.0, gamma: float | None = 1.01,
           update_gap: Any = 200, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
           **kwargs: Any) -> GradientTransformation:
    """APOLLO: :func:`scale_by_apollo` with Adam on the random projection, then ``-lr``."""
    direction = scale_by_apollo(rank, scaling=scaling, scale=scale, gamma=gamma, update_gap=update_gap,
                                inner=scale_by_adam(b1, b2, eps), **kwargs)
    return _optimizer(direction, lr, weight_decay, "apollo")


def apollo_mini(lr: Any, *, scale: float = 128.0, gamma: float | None = 1.01, update_gap: Any = 200,
                **kwargs: Any) -> GradientTransformation:
    """APOLLO-Mini: rank one, one factor per tensor (``scale`` 128 as the reference's scripts)."""
    opt = apollo(lr, 1, scaling="tensor", scale=scale, gamma=gamma, update_gap=update_gap, **kwargs)
    return GradientTransformation(opt.init, opt.update, "apollo_mini")


def q_galore(lr: Any, rank: int, *, update_gap: Any = 200, scale: float = 1.0, projector_bits: int | None = 4,
             weight_bits: int | None = 8, rounding: str = "stochastic", group_size: int = 256,
             offset: Mapping[str, Any] | None = None, seed: int = 0, **kwargs: Any) -> GradientTransformation:
    """Q-GaLore: GaLore-Adam with the adaptive gap, an INT4 projector and INT8 weights (Zhang et al. 2024).

    :func:`galore` with ``adaptive_gap=True`` and ``projector_bits``, followed by
    :func:`quantize_weights` (``weight_bits``, ``rounding``, ``group_size``, ``offset``);
    ``weight_bits=None`` keeps float weights.  ``kwargs`` go to :func:`galore`.
    """
    opt = galore(lr, rank, update_gap=update_gap, scale=scale, projector_bits=projector_bits, adaptive_gap=True,
                 seed=seed, **kwargs)
    if weight_bits is not None:
        opt = chain(opt, quantize_weights(bits=weight_bits, group_size=group_size, rounding=rounding, seed=seed,
                                          offset=offset))
    return GradientTransformation(opt.init, opt.update, "q_galore")


# =========================================================================== #
# reading projectors out of an optimizer state
# =========================================================================== #
def _walk(state: Any, found: dict) -> None:
    if isinstance(state, ProjectionState):
        for k, leaf in state.leaves.items():
            if leaf.side != "none" and leaf.refreshes:
                found[k] = leaf
        return
    if isinstance(state, Mapping):
        for v in state.values():
            _walk(v, found)
    elif isinstance(state, (tuple, list)):
        for v in state:
            _walk(v, found)


def projectors(opt_state: Any) -> dict:
    """The current projectors of every projection transform inside an optimizer state.

    Walks chains and :func:`~lowrank_lab.adapters.multi_transform` states.  Returns
    ``key -> ProjectorView(side, basis, refreshes, gap, cosines, kind)`` with ``basis`` the
    ``d x r`` projector (dequantized; index kinds materialized from the DCT basis or the
    identity), on the parameters' device.  Leaves not yet projected are absent.

    Examples
    --------
    >>> import numpy as np
    >>> opt = galore(0.1, rank=1)
    >>> _, s = opt.update({"W": np.ones((2, 3))}, opt.init({"W": np.zeros((2, 3))}))
    >>> view = projectors(s)["W"]
    >>> view.side, view.basis.shape, view.refreshes
    ('left', (2, 1), 1)
    """
    found: dict = {}
    _walk(opt_state, found)
    out = {}
    for k, leaf in found.items():
        like = leaf.basis.scale if isinstance(leaf.basis, linalg.Quantized) else leaf.basis
        if like is None:
            like = _first_array(leaf.inner)
        if like is None:  # a stateless inner transform: float64 next to the indices
            xp = namespace(leaf.index)
            like = xp.zeros(1, dtype=xp.float64, device=backend.device(leaf.index))
        out[k] = ProjectorView(leaf.side, _materialize(leaf, like), leaf.refreshes, leaf.gap, leaf.cosines, leaf.kind)
    return out


def _first_array(state: Any) -> Any:
    if hasattr(state, "shape") and hasattr(state, "dtype"):
        return state
    values = state.values() if isinstance(state, Mapping) else state if isinstance(state, (tuple, list)) else ()
    for v in values:
        if isinstance(v, numbers.Number):
            continue
        a = _first_array(v)
        if a is not None:
            return a
    return None
