"""Adapters as values: every adapter is a parameterization of the weight update ``dW``.

An :class:`Adapter` is a frozen dataclass of plain functions (optax's style, no state):

``init(W0, rng) -> AdapterState``
    The trainable ``params`` and the ``frozen`` arrays (``dict[str, array]`` each), drawn
    from ``rng`` on the host and placed next to ``W0``.
``delta(state) -> dW``
    The update; the **merged** weight ``W0 + delta(state)`` is what the model and every
    diagnostic see.
``pullback(state, G) -> dict``
    Gradients of the loss with respect to ``state.params`` (same keys), given
    ``G = dL/dW`` at the merged weight: the chain rule through ``delta``.
``num_params(shape) -> int``
    Trainable scalars for a weight of this shape.

``scope="layer"`` adapters act on one weight (``W0`` an array, ``delta`` an array,
``G`` an array).  ``scope="model"`` adapters act on all of a model's weights at once:
``init`` receives the whole weights dict, ``delta`` returns a dict of updates,
``pullback`` receives a dict of gradients and ``num_params`` a dict of shapes.  A
mapping ``layer name -> Adapter | None`` (``None`` or absent: frozen) is turned into
one model-scope adapter by :func:`per_layer`; :func:`random_subspace` (Li et al. 2018)
is a model-scope adapter over every parameter, biases included.

Adapters whose pullback only multiplies ``G`` by small matrices set
``accepts_factored=True``: they also accept an unformed
:class:`~lowrank_lab.adapters.models.OuterProduct` gradient (the training loop then
never forms the ``m x n`` gradient).  Everything else receives arrays.

Two optional functions extend the contract (both ``None`` by default):

``resample(state, rng) -> AdapterState``
    A *stochastic forward*: before every training step, :func:`~lowrank_lab.adapters.finetune`
    replaces the state the step sees by ``resample(state, rng)`` (a fresh draw from the
    adapter's own stream), e.g. the random truncation ``b`` of ordered dropout
    (Maestro) and DyLoRA, which lives in ``state.frozen``.  Recorded diagnostics and the
    returned weights use the un-resampled state.
``factors(state) -> (B, A, scale)``
    A LoRA factorization of the update, ``delta(state) == scale * B @ A``, for export
    in PEFT's format (:func:`~lowrank_lab.adapters.to_peft`); PiSSA-style adapters
    with a frozen offset return rank ``2r`` factors.

This issue's adapters
---------------------
:func:`full` (``dW`` itself), :func:`lora` (``dW = (alpha/r) B A``, Hu et al. 2021),
:func:`rslora` (``alpha/sqrt(r)``, Kalajdzievski 2023), :func:`b_only` (``A`` frozen),
:func:`random_subspace`.  LoRA with ``alpha = 2r`` is ``lora(r, alpha=2 * r)``.

Initializations follow PEFT's ``init_lora_weights``: ``True`` (the default) is
``kaiming_uniform_(A, a=sqrt(5))``, i.e. ``A ~ U(-1/sqrt(n), 1/sqrt(n))`` for ``A`` of
shape ``r x n``; ``"gaussian"`` is ``A ~ N(0, 1/r^2)``; ``B = 0`` in both, so
``delta = 0`` at step 0.

Examples
--------
>>> import numpy as np
>>> W0 = np.eye(6, 5)
>>> adapter = lora(2, alpha=4.0)
>>> state = adapter.init(W0, rng=0)
>>> sorted(state.params), adapter.num_params(W0.shape), float(np.abs(adapter.delta(state)).max())
(['A', 'B'], 22, 0.0)
>>> grads = adapter.pullback(state, np.ones((6, 5)))
>>> grads["B"].shape, grads["A"].shape
((6, 2), (2, 5))
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import backend
from .._validation import check_arrays, check_choice, check_float, check_int
from .models import Model, OuterProduct, dense_gradient, namespace

__all__ = [
    "Adapter",
    "AdapterState",
    "INITS",
    "SCOPES",
    "as_model_adapter",
    "b_only",
    "full",
    "lora",
    "merge",
    "per_layer",
    "random_subspace",
    "rslora",
]

#: Scopes of an adapter.
SCOPES = ("layer", "model")
#: Initializations of LoRA's ``A`` (PEFT's ``init_lora_weights``: True -> "kaiming_uniform").
INITS = ("kaiming_uniform", "gaussian")
#: Separator of per-layer parameter keys in a model-scope state (``"W1/A"``).
SEP = "/"


@dataclass(frozen=True)
class AdapterState:
    """An adapter's arrays: ``params`` (trainable) and ``frozen`` (fixed), both ``dict[str, array]``."""

    params: Mapping[str, Any]
    frozen: Mapping[str, Any] = field(default_factory=dict)

    def replace_params(self, params: Mapping[str, Any]) -> AdapterState:
        """The same state with new trainable arrays."""
        return AdapterState(dict(params), self.frozen)


@dataclass(frozen=True, repr=False)
class Adapter:
    """A parameterization of the weight update (see the module docstring for the contract).

    Attributes
    ----------
    name : str
    init, delta, pullback, num_params : callable
    scope : {"layer", "model"}, default "layer"
    config : dict
        Hyper-parameters (``rank``, ``alpha``, ``scale``, ...), for records and tables.
    accepts_factored : bool, default False
        Whether ``pullback`` also accepts an unformed
        :class:`~lowrank_lab.adapters.models.OuterProduct` gradient.
    resample : callable, optional
        ``resample(state, rng) -> AdapterState``: a stochastic forward (see the module docstring).
    factors : callable, optional
        ``factors(state) -> (B, A, scale)`` with ``delta(state) == scale * B @ A``.
    """

    name: str
    init: Callable[[Any, Any], AdapterState]
    delta: Callable[[AdapterState], Any]
    pullback: Callable[[AdapterState, Any], dict]
    num_params: Callable[[Any], int]
    scope: str = "layer"
    config: Mapping[str, Any] = field(default_factory=dict)
    accepts_factored: bool = False
    resample: Callable[[AdapterState, Any], AdapterState] | None = None
    factors: Callable[[AdapterState], tuple] | None = None

    def __post_init__(self) -> None:
        check_choice(self.scope, "scope", SCOPES)
        for fn in ("init", "delta", "pullback", "num_params"):
            if not callable(getattr(self, fn)):
                raise TypeError(f"Adapter.{fn} must be callable, got {type(getattr(self, fn)).__name__}")
        for fn in ("resample", "factors"):
            if getattr(self, fn) is not None and not callable(getattr(self, fn)):
                raise TypeError(f"Adapter.{fn} must be callable or None, got {type(getattr(self, fn)).__name__}")

    @property
    def rank(self) -> int | None:
        """The adapter's rank, where it has one (LoRA family), else None."""
        r = self.config.get("rank")
        return None if r is None else int(r)

    def __repr__(self) -> str:
        cfg = ", ".join(f"{k}={v!r}" for k, v in self.config.items() if k != "layers")
        return f"Adapter({self.name!r}, scope={self.scope!r}{', ' + cfg if cfg else ''})"


# =========================================================================== #
# helpers
# =========================================================================== #
def _matrix(W0: Any, who: str) -> tuple[int, int]:
    check_arrays(W0=W0)  # a string, number or None is a TypeError naming W0 (no device sync)
    shape = tuple(W0.shape)
    if len(shape) != 2:
        raise ValueError(f"{who} adapts a 2-D weight (out x in), got shape {shape}")
    return int(shape[0]), int(shape[1])


def _zeros(shape: tuple[int, ...], like: Any) -> Any:
    xp = backend.array_namespace(like)
    return xp.zeros(shape, dtype=like.dtype, device=backend.device(like))


def _matmul_G(G: Any, M: Any) -> Any:
    """``G @ M`` for an array or an unformed outer product."""
    return G.matmul(M) if isinstance(G, OuterProduct) else G @ M


def _rmatmul_G(M: Any, G: Any) -> Any:
    """``M @ G`` for an array or an unformed outer product."""
    return G.rmatmul(M) if isinstance(G, OuterProduct) else M @ G


def merge(base: Mapping[str, Any], delta: Mapping[str, Any]) -> dict:
    """Merged weights ``base[k] + delta[k]`` (weights without an update are passed through).

    Examples
    --------
    >>> import numpy as np
    >>> merge({"W": np.ones(2), "b": np.zeros(1)}, {"W": np.ones(2)})["W"].tolist()
    [2.0, 2.0]
    """
    unknown = [k for k in delta if k not in base]
    if unknown:
        raise ValueError(f"delta has weights {unknown} that base lacks (base: {list(base)})")
    return {k: (v + delta[k] if k in delta else v) for k, v in base.items()}


# =========================================================================== #
# full fine-tuning
# =========================================================================== #
def _full_init(W0: Any, rng: Any = None) -> AdapterState:
    check_arrays(W0=W0)
    return AdapterState({"delta": _zeros(tuple(W0.shape), W0)}, {})


def _full_delta(state: AdapterState) -> Any:
    return state.params["delta"]


def _full_pullback(state: AdapterState, G: Any) -> dict:
    return {"delta": dense_gradient(G)}


def _full_num_params(shape: Any) -> int:
    return int(math.prod(shape))


def full() -> Adapter:
    """Full fine-tuning: the trainable parameter is the update ``dW`` itself, zero at step 0.

    ``delta(state) = params["delta"]`` and the pullback is the identity, so every
    optimizer step acts on ``W`` exactly as in plain fine-tuning.  Works for matrices and
    biases.  Note: decoupled weight decay (``adam(..., weight_decay>0)``) therefore pulls
    the weights towards ``W0`` (L2-SP), not towards 0 as PyTorch's full fine-tuning does.

    Examples
    --------
    >>> import numpy as np
    >>> adapter = full()
    >>> state = adapter.init(np.ones((3, 2)), rng=None)
    >>> adapter.num_params((3, 2)), adapter.pullback(state, np.full((3, 2), 2.0))["delta"][0].tolist()
    (6, [2.0, 2.0])
    """
    return Adapter("full", _full_init, _full_delta, _full_pullback, _full_num_params, "layer", {},
                   accepts_factored=True)


# =========================================================================== #
# LoRA family
# =========================================================================== #
@dataclass(frozen=True)
class _LoRAConfig:
    rank: int
    alpha: float
    scale: float
    init: str
    train_A: bool

    def draw_A(self, n: int, rng: Any, like: Any) -> Any:
        gen = backend.as_generator(rng)
        if self.init == "kaiming_uniform":
            bound = 1.0 / math.sqrt(n)  # kaiming_uniform_(a=sqrt(5)) on an (r, n) weight
            return backend.random_uniform((self.rank, n), rng=gen, like=like, low=-bound, high=bound)
        return backend.random_normal((self.rank, n), rng=gen, like=like, scale=1.0 / self.rank)


def _lora_init(cfg: _LoRAConfig, who: str, W0: Any, rng: Any = None) -> AdapterState:
    m, n = _matrix(W0, who)
    check_int(cfg.rank, "rank", low=1, high=min(m, n), high_label="min(m, n)")
    A = cfg.draw_A(n, rng, W0)
    B = _zeros((m, cfg.rank), W0)
    if cfg.train_A:
        return AdapterState({"B": B, "A": A}, {})
    return AdapterState({"B": B}, {"A": A})


def _lora_factors_of(state: AdapterState) -> tuple[Any, Any]:
    A = state.params["A"] if "A" in state.params else state.frozen["A"]
    return state.params["B"], A


def _lora_delta(cfg: _LoRAConfig, state: AdapterState) -> Any:
    B, A = _lora_factors_of(state)
    return cfg.scale * (B @ A)


def _lora_pullback(cfg: _LoRAConfig, state: AdapterState, G: Any) -> dict:
    B, A = _lora_factors_of(state)
    out = {"B": cfg.scale * _matmul_G(G, A.T)}  # .T: the standard's transpose of a 2-D array
    if cfg.train_A:
        out["A"] = cfg.scale * _rmatmul_G(B.T, G)
    return out


def _lora_factors(cfg: _LoRAConfig, state: AdapterState) -> tuple[Any, Any, float]:
    B, A = _lora_factors_of(state)
    return B, A, cfg.scale


def _lora_num_params(cfg: _LoRAConfig, shape: Any) -> int:
    m, n = (int(d) for d in shape)
    return cfg.rank * (m + n) if cfg.train_A else cfg.rank * m


def _lora_family(name: str, rank: int, alpha: float, init: str, rank_stabilized: bool, train_A: bool) -> Adapter:
    rank = check_int(rank, "rank", low=1)
    alpha = check_float(alpha, "alpha", low=0.0, low_inclusive=False)
    init = check_choice(init, "init", INITS)
    if not isinstance(rank_stabilized, bool):
        raise TypeError(f"rank_stabilized must be a bool, got {rank_stabilized!r}")
    scale = alpha / math.sqrt(rank) if rank_stabilized else alpha / rank
    cfg = _LoRAConfig(rank, alpha, scale, init, train_A)
    config = {"rank": rank, "alpha": alpha, "scale": scale, "init": init, "rank_stabilized": rank_stabilized}
    return Adapter(
        name,
        functools.partial(_lora_init, cfg, name),
        functools.partial(_lora_delta, cfg),
        functools.partial(_lora_pullback, cfg),
        functools.partial(_lora_num_params, cfg),
        "layer",
        config,
        accepts_factored=True,
        factors=functools.partial(_lora_factors, cfg),
    )


def lora(rank: int, alpha: float = 8.0, *, init: str = "kaiming_uniform", rank_stabilized: bool = False) -> Adapter:
    """LoRA (Hu et al. 2021): ``dW = s B A`` with ``B`` (m x r) = 0 and random ``A`` (r x n).

    Parameters
    ----------
    rank : int
        ``r``, between 1 and ``min(m, n)`` (checked when the adapter is initialized).
    alpha : float, default 8.0
        PEFT's ``lora_alpha`` default.  ``alpha = 2 * rank`` is the "alpha = 2r" configuration
        of Shuttleworth et al. (2024).
    init : {"kaiming_uniform", "gaussian"}
        ``A ~ U(-1/sqrt(n), 1/sqrt(n))`` (PEFT's default, ``kaiming_uniform_(a=sqrt(5))``) or
        ``A ~ N(0, 1/r^2)`` (PEFT's ``init_lora_weights="gaussian"``).
    rank_stabilized : bool, default False
        Scale ``s = alpha / sqrt(r)`` (rsLoRA) instead of ``alpha / r``.

    Notes
    -----
    ``pullback``: ``dL/dB = s G A^T`` and ``dL/dA = s B^T G``; both are products with ``G``,
    so the adapter accepts factored gradients.

    Examples
    --------
    >>> import numpy as np
    >>> adapter = lora(4, alpha=8.0)
    >>> adapter.config["scale"], lora(4, alpha=8.0, rank_stabilized=True).config["scale"]
    (2.0, 4.0)
    >>> A = adapter.init(np.zeros((10, 100)), rng=0).params["A"]
    >>> A.shape, bool(np.abs(A).max() <= 0.1)
    ((4, 100), True)
    """
    return _lora_family("rslora" if rank_stabilized else "lora", rank, alpha, init, rank_stabilized, True)


def rslora(rank: int, alpha: float = 8.0, *, init: str = "kaiming_uniform") -> Adapter:
    """Rank-stabilized LoRA (Kalajdzievski 2023): :func:`lora` with scale ``alpha / sqrt(r)``.

    Examples
    --------
    >>> rslora(16, alpha=8.0).config["scale"]
    2.0
    """
    return _lora_family("rslora", rank, alpha, init, True, True)


def b_only(rank: int, alpha: float = 8.0, *, init: str = "kaiming_uniform", rank_stabilized: bool = False) -> Adapter:
    """LoRA with ``A`` frozen at its random initialization: only ``B`` trains.

    Shuttleworth et al. (2024) report fewer intruder dimensions when only ``B`` is
    trained (their proposed cause (c): the product ``BA``).  ``A`` lives in
    ``state.frozen``; ``num_params = r m``.

    Examples
    --------
    >>> import numpy as np
    >>> adapter = b_only(2)
    >>> state = adapter.init(np.zeros((4, 3)), rng=0)
    >>> sorted(state.params), sorted(state.frozen), adapter.num_params((4, 3))
    (['B'], ['A'], 8)
    """
    return _lora_family("b_only", rank, alpha, init, rank_stabilized, False)


# =========================================================================== #
# model scope: per-layer adapters combined, and one random subspace over everything
# =========================================================================== #
@functools.lru_cache(maxsize=256)
def _layout(keys: tuple[str, ...]) -> dict[str, tuple[tuple[str, str], ...]]:
    """``layer -> ((full key, key within the layer), ...)`` of a combined state's keys (memoized)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for k in keys:
        layer, _, sub = k.partition(SEP)
        out.setdefault(layer, []).append((k, sub))
    return {layer: tuple(v) for layer, v in out.items()}


def _split(mapping: Mapping[str, Any], layer: str) -> dict:
    return {sub: mapping[k] for k, sub in _layout(tuple(mapping)).get(layer, ())}


def _sub_state(state: AdapterState, layer: str) -> AdapterState:
    return AdapterState(_split(state.params, layer), _split(state.frozen, layer))


def _per_layer_init(adapters: Mapping[str, Adapter], weights: Mapping[str, Any], rng: Any = None) -> AdapterState:
    gen = backend.as_generator(rng)
    missing = [k for k in adapters if k not in weights]
    if missing:
        raise ValueError(f"adapters name weights {missing} that the model lacks (weights: {list(weights)})")
    params: dict[str, Any] = {}
    frozen: dict[str, Any] = {}
    for layer in weights:  # the model's order: draws do not depend on the mapping's order
        if layer not in adapters:
            continue
        sub = adapters[layer].init(weights[layer], gen)
        params.update({f"{layer}{SEP}{k}": v for k, v in sub.params.items()})
        frozen.update({f"{layer}{SEP}{k}": v for k, v in sub.frozen.items()})
    return AdapterState(params, frozen)


def _per_layer_delta(adapters: Mapping[str, Adapter], state: AdapterState) -> dict:
    return {layer: a.delta(_sub_state(state, layer)) for layer, a in adapters.items()}


def _per_layer_pullback(adapters: Mapping[str, Adapter], state: AdapterState, G: Mapping[str, Any]) -> dict:
    out: dict[str, Any] = {}
    for layer, a in adapters.items():
        g = G[layer] if a.accepts_factored else dense_gradient(G[layer])
        out.update({f"{layer}{SEP}{k}": v for k, v in a.pullback(_sub_state(state, layer), g).items()})
    return out


def _per_layer_num_params(adapters: Mapping[str, Adapter], shapes: Mapping[str, Any]) -> int:
    return sum(a.num_params(shapes[layer]) for layer, a in adapters.items())


def _per_layer_resample(adapters: Mapping[str, Adapter], state: AdapterState, rng: Any) -> AdapterState:
    frozen = dict(state.frozen)
    for layer, a in adapters.items():  # the mapping's order, one generator: reproducible draws
        if a.resample is not None:
            sub = a.resample(_sub_state(state, layer), rng)
            frozen.update({f"{layer}{SEP}{k}": v for k, v in sub.frozen.items()})
    return AdapterState(state.params, frozen)


def per_layer(adapters: Mapping[str, Adapter | None]) -> Adapter:
    """One model-scope adapter from a mapping ``layer name -> Adapter`` (``None``: frozen layer).

    The combined state's keys are ``"<layer>/<param>"`` (``"W1/A"``); ``delta`` returns
    ``{layer: dW}`` for the adapted layers only; ``init`` draws the layers in the model's
    weight order from one generator, so a single adapted layer gets exactly the arrays
    ``adapter.init(W0, rng)`` would give.

    Examples
    --------
    >>> import numpy as np
    >>> combined = per_layer({"W1": lora(2), "W2": None})
    >>> weights = {"W1": np.zeros((4, 3)), "W2": np.zeros((2, 4))}
    >>> state = combined.init(weights, rng=0)
    >>> sorted(state.params), list(combined.delta(state)), combined.num_params({"W1": (4, 3), "W2": (2, 4)})
    (['W1/A', 'W1/B'], ['W1'], 14)
    """
    if not isinstance(adapters, Mapping):
        raise TypeError(f"adapters must be a mapping layer name -> Adapter | None, got {type(adapters).__name__}")
    active: dict[str, Adapter] = {}
    for layer, a in adapters.items():
        if not isinstance(layer, str) or not layer or SEP in layer:
            raise ValueError(f"layer names must be non-empty strings without {SEP!r}, got {layer!r}")
        if a is None:
            continue
        if not isinstance(a, Adapter):
            raise TypeError(f"adapters[{layer!r}] must be an Adapter or None, got {type(a).__name__}")
        if a.scope != "layer":
            raise ValueError(f"adapters[{layer!r}] must have scope 'layer', got {a.scope!r}")
        active[layer] = a
    if not active:
        raise ValueError("per_layer needs at least one adapted layer (all are None)")
    config = {"layers": {k: {"name": a.name, **a.config} for k, a in active.items()}}
    names = sorted({a.name for a in active.values()})
    return Adapter(
        "+".join(names),
        functools.partial(_per_layer_init, active),
        functools.partial(_per_layer_delta, active),
        functools.partial(_per_layer_pullback, active),
        functools.partial(_per_layer_num_params, active),
        "model",
        config,
        accepts_factored=True,
        resample=(functools.partial(_per_layer_resample, active)
                  if any(a.resample is not None for a in active.values()) else None),
    )


def as_model_adapter(spec: Any, model: Model) -> Adapter:
    """The model-scope adapter meant by ``spec`` for ``model``.

    ``spec`` is a model-scope :class:`Adapter` (returned as is), a layer-scope adapter
    (applied to every weight matrix of the model; biases frozen), or a mapping
    ``layer -> Adapter | None`` (layers not named are frozen).
    """
    if isinstance(spec, Adapter):
        if spec.scope == "model":
            return spec
        return per_layer({k: spec for k in model.matrices})
    if isinstance(spec, Mapping):
        unknown = [k for k in spec if k not in model.shapes]
        if unknown:
            raise ValueError(f"adapter mapping names {unknown}, not weights of the model {list(model.shapes)}")
        return per_layer(spec)
    raise TypeError(f"adapter must be an Adapter or a mapping layer -> Adapter | None, got {type(spec).__name__}")


# --------------------------------------------------------------------------- #
# random subspace (Li et al. 2018): theta = theta_0 + P z
# --------------------------------------------------------------------------- #
def _subspace_init(d: int, weights: Mapping[str, Any], rng: Any = None) -> AdapterState:
    if not isinstance(weights, Mapping) or not weights:
        raise TypeError("random_subspace is a model-scope adapter: init takes the whole weights dict")
    sizes = [math.prod(tuple(w.shape)) for w in weights.values()]
    D = sum(sizes)
    check_int(d, "d", low=1, high=D, high_label="number of parameters")
    gen = backend.as_generator(rng)
    P = gen.standard_normal((D, d))
    P /= np.linalg.norm(P, axis=0, keepdims=True)  # unit columns
    like = next(iter(weights.values()))
    frozen = {}
    start = 0
    for (k, w), size in zip(weights.items(), sizes):
        block = P[start:start + size].reshape(*tuple(w.shape), d)
        frozen[k] = backend.asarray(block, like=w, dtype=w.dtype)
        start += size
    return AdapterState({"z": _zeros((d,), like)}, frozen)


def _subspace_delta(state: AdapterState) -> dict:
    z = state.params["z"]
    xp = namespace(z)
    d = z.shape[0]
    return {k: xp.reshape(xp.reshape(P, (-1, d)) @ z, tuple(P.shape[:-1])) for k, P in state.frozen.items()}


def _subspace_pullback(state: AdapterState, G: Mapping[str, Any]) -> dict:
    z = state.params["z"]
    xp = namespace(z)
    d = z.shape[0]
    g = None
    for k, P in state.frozen.items():
        part = xp.reshape(dense_gradient(G[k]), (-1,)) @ xp.reshape(P, (-1, d))
        g = part if g is None else g + part
    return {"z": g}


def _subspace_num_params(d: int, shapes: Any) -> int:
    return d


def random_subspace(d: int, projection: str = "dense") -> Adapter:
    """Training in a random subspace (Li et al. 2018): ``theta = theta_0 + P z``, ``z = 0`` at start.

    A model-scope adapter over **every** parameter of the weights dict it is initialized
    on (matrices and biases).  ``P`` (``D x d``, ``D`` = number of parameters) has i.i.d.
    Gaussian entries and unit-norm columns, Li et al.'s dense projection; it is stored in
    ``state.frozen`` as one block per weight (``weights[k].shape + (d,)``), so ``delta``
    needs no other bookkeeping.  ``pullback`` returns ``P^T g`` with ``g`` the flattened
    gradients.

    Parameters
    ----------
    d : int
        Subspace dimension, ``1 <= d <= D`` (checked at ``init``).
    projection : {"dense"}
        Only the dense projection is defined here; the intrinsic-dimension lab adds sparse
        and Fastfood projections as further model-scope adapters with this interface.

    Examples
    --------
    >>> import numpy as np
    >>> adapter = random_subspace(3)
    >>> weights = {"W": np.zeros((4, 2)), "b": np.zeros(4)}
    >>> state = adapter.init(weights, rng=0)
    >>> state.frozen["W"].shape, adapter.num_params({"W": (4, 2), "b": (4,)})
    ((4, 2, 3), 3)
    >>> P = np.concatenate([state.frozen["W"].reshape(8, 3), state.frozen["b"]])
    >>> np.round(np.linalg.norm(P, axis=0), 12).tolist()
    [1.0, 1.0, 1.0]
    """
    d = check_int(d, "d", low=1)
    projection = check_choice(projection, "projection", ("dense",))
    return Adapter(
        "random_subspace",
        functools.partial(_subspace_init, d),
        _subspace_delta,
        _subspace_pullback,
        functools.partial(_subspace_num_params, d),
        "model",
        {"d": d, "projection": projection},
        accepts_factored=False,
    )
