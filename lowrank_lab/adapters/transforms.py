"""Optimizers as pure ``init``/``update`` pairs that compose (optax's shape).

A :class:`GradientTransformation` is a pair of plain functions on **flat dicts of
arrays** (the trainable ``params`` of an :class:`~lowrank_lab.adapters.AdapterState`):

``init(params) -> state``
    The optimizer state (named tuples of dicts of arrays and Python step counters).
``update(grads, state, params=None) -> (updates, state)``
    ``updates`` are *added* to the parameters by :func:`apply_updates`, so a descent
    step carries its minus sign (``sgd``'s update is ``-lr * g``).

Transforms compose with :func:`chain` (left to right):
``adam(lr) == chain(scale_by_adam(), scale_by_learning_rate(lr))`` and
``chain(clip_by_global_norm(1.0), adam(lr))`` clips first.  Learning rates are a float
or a schedule ``step -> lr`` (:func:`cosine_decay_schedule`, :func:`linear_warmup_schedule`,
...); the step counter lives in the state, on the host (no device synchronization).

The gradient-projection seam
----------------------------
GaLore (Zhao et al. 2024) and its successors (Fira, FRUGAL, APOLLO, DCT selection)
are **transforms that act on the 2-D gradient leaves**: they project a leaf
``G`` (m x n) to a low-rank coordinate ``R = P^T G``, run an inner transform (Adam's
moments live on ``R``) and map the inner update back, ``P U``.  They plug in here
without touching the training loop:

* as a :class:`GradientTransformation` whose ``update`` maps each 2-D leaf and passes
  1-D leaves through, composed with :func:`chain` (clipping before, learning rate after);
* with :func:`multi_transform` and :func:`matrix_labels` when matrices and vectors need
  different optimizers (projection for matrices, plain Adam for biases), as GaLore's
  reference code does with its parameter groups;
* :func:`state_floats` counts the floats their state holds (the memory claims of G).

With :func:`~lowrank_lab.adapters.full` the leaves are the full updates ``dW``, so a
projection transform sees exactly the gradient ``G = dL/dW`` of the model.  The
transforms themselves live in :mod:`lowrank_lab.adapters.projection`.

Examples
--------
>>> import numpy as np
>>> opt = chain(clip_by_global_norm(1.0), sgd(0.1, momentum=0.9))
>>> params = {"w": np.array([1.0, 2.0])}
>>> state = opt.init(params)
>>> updates, state = opt.update({"w": np.array([3.0, 4.0])}, state, params)
>>> apply_updates(params, updates)["w"].tolist()
[0.94, 1.92]
>>> state_floats(state)
2
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from .. import backend
from .._validation import check_float, check_int
from .models import namespace

__all__ = [
    "GradientTransformation",
    "add_decayed_weights",
    "adam",
    "apply_updates",
    "chain",
    "clip_by_global_norm",
    "constant_schedule",
    "cosine_decay_schedule",
    "global_norm",
    "identity",
    "join_schedules",
    "linear_schedule",
    "linear_warmup_schedule",
    "matrix_labels",
    "multi_transform",
    "scale",
    "scale_by_adam",
    "scale_by_learning_rate",
    "sgd",
    "state_floats",
    "trace",
    "warmup_cosine_decay_schedule",
]


@dataclass(frozen=True, repr=False)
class GradientTransformation:
    """An optimizer (or one stage of it) as a pair of pure functions.

    Attributes
    ----------
    init : callable
        ``init(params) -> state``.
    update : callable
        ``update(grads, state, params=None) -> (updates, state)``.
    name : str
        For records (``"adam"``, ``"chain(clip_by_global_norm, sgd)"``).
    """

    init: Callable[[Mapping[str, Any]], Any]
    update: Callable[..., tuple[dict, Any]]
    name: str = ""

    def __repr__(self) -> str:
        return f"GradientTransformation({self.name!r})"


def _namespace(tree: Mapping[str, Any]) -> Any:
    return namespace(next(iter(tree.values())))


def _check_tree(tree: Any, name: str) -> None:
    if not isinstance(tree, Mapping):
        raise TypeError(f"{name} must be a dict name -> array, got {type(tree).__name__}")


def apply_updates(params: Mapping[str, Any], updates: Mapping[str, Any]) -> dict:
    """``params + updates``, leaf by leaf (the keys must agree).

    Examples
    --------
    >>> import numpy as np
    >>> apply_updates({"a": np.ones(2)}, {"a": np.full(2, -0.5)})["a"].tolist()
    [0.5, 0.5]
    """
    _check_tree(params, "params")
    _check_tree(updates, "updates")
    if set(params) != set(updates):
        raise ValueError(f"updates must have the keys of params {sorted(params)}, got {sorted(updates)}")
    return {k: p + updates[k] for k, p in params.items()}


def global_norm(tree: Mapping[str, Any]) -> Any:
    """``sqrt(sum of squares)`` over every leaf (a 0-d array on the leaves' device)."""
    xp = _namespace(tree)
    total = None
    for g in tree.values():
        s = xp.sum(g * g)
        total = s if total is None else total + s
    return xp.sqrt(total)


def _is_array(x: Any) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, (numbers.Number, str))


def state_floats(state: Any) -> int:
    """Number of floating-point scalars an optimizer state holds (step counters excluded).

    Walks tuples, named tuples, lists, dicts and dataclasses.

    Examples
    --------
    >>> import numpy as np
    >>> params = {"A": np.zeros((2, 3)), "b": np.zeros(4)}
    >>> state_floats(adam(1e-3).init(params)), state_floats(sgd(0.1).init(params))
    (20, 0)
    """
    if _is_array(state):
        xp = backend.array_namespace(state)
        return int(math.prod(state.shape)) if xp.isdtype(state.dtype, ("real floating", "complex floating")) else 0
    if isinstance(state, Mapping):
        return sum(state_floats(v) for v in state.values())
    if isinstance(state, (tuple, list)):
        return sum(state_floats(v) for v in state)
    if hasattr(state, "__dataclass_fields__"):
        return sum(state_floats(getattr(state, f)) for f in state.__dataclass_fields__)
    return 0


# =========================================================================== #
# schedules: step (int, host) -> value (float, host)
# =========================================================================== #
@dataclass(frozen=True)
class constant_schedule:
    """``step -> value``.

    Examples
    --------
    >>> constant_schedule(0.1)(1000)
    0.1
    """

    value: float

    def __call__(self, step: int) -> float:
        return float(self.value)


@dataclass(frozen=True)
class linear_schedule:
    """Linear from ``init_value`` to ``end_value`` over ``transition_steps``, then constant.

    Examples
    --------
    >>> s = linear_schedule(0.0, 1.0, 10)
    >>> s(0), s(5), s(20)
    (0.0, 0.5, 1.0)
    """

    init_value: float
    end_value: float
    transition_steps: int

    def __post_init__(self) -> None:
        check_int(self.transition_steps, "transition_steps", low=1)

    def __call__(self, step: int) -> float:
        frac = min(max(step, 0), self.transition_steps) / self.transition_steps
        return float(self.init_value + frac * (self.end_value - self.init_value))


@dataclass(frozen=True)
class cosine_decay_schedule:
    """``init_value * ((1 - alpha) * (1 + cos(pi t / T)) / 2 + alpha)`` for ``t <= T``, then ``alpha * init_value``.

    Loshchilov & Hutter's SGDR cosine without restarts (optax's ``cosine_decay_schedule``).

    Examples
    --------
    >>> s = cosine_decay_schedule(1.0, 100)
    >>> s(0), round(s(50), 12), s(100), s(500)
    (1.0, 0.5, 0.0, 0.0)
    """

    init_value: float
    decay_steps: int
    alpha: float = 0.0

    def __post_init__(self) -> None:
        check_int(self.decay_steps, "decay_steps", low=1)
        check_float(self.alpha, "alpha", low=0.0, high=1.0)

    def __call__(self, step: int) -> float:
        t = min(max(step, 0), self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * t))
        return float(self.init_value * ((1.0 - self.alpha) * cosine + self.alpha))


@dataclass(frozen=True)
class join_schedules:
    """Schedule ``i`` runs on ``[boundaries[i-1], boundaries[i])``, each restarted at 0.

    Examples
    --------
    >>> s = join_schedules((constant_schedule(1.0), constant_schedule(2.0)), (10,))
    >>> s(9), s(10)
    (1.0, 2.0)
    """

    schedules: tuple
    boundaries: tuple

    def __post_init__(self) -> None:
        if len(self.schedules) != len(self.boundaries) + 1:
            raise ValueError(
                f"boundaries must have one entry less than schedules ({len(self.schedules)}), "
                f"got {len(self.boundaries)}"
            )
        if any(b2 <= b1 for b1, b2 in zip(self.boundaries, self.boundaries[1:])):
            raise ValueError(f"boundaries must increase, got {self.boundaries}")

    def __call__(self, step: int) -> float:
        start = 0
        for sched, bound in zip(self.schedules, self.boundaries):
            if step < bound:
                return sched(step - start)
            start = bound
        return self.schedules[-1](step - start)


def linear_warmup_schedule(peak_value: float, warmup_steps: int, init_value: float = 0.0) -> join_schedules:
    """Linear warm-up from ``init_value`` to ``peak_value`` over ``warmup_steps``, then constant.

    Examples
    --------
    >>> s = linear_warmup_schedule(1.0, 4)
    >>> [s(t) for t in range(6)]
    [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    """
    warmup_steps = check_int(warmup_steps, "warmup_steps", low=1)
    return join_schedules((linear_schedule(init_value, peak_value, warmup_steps), constant_schedule(peak_value)),
                          (warmup_steps,))


def warmup_cosine_decay_schedule(peak_value: float, warmup_steps: int, decay_steps: int, *,
                                 init_value: float = 0.0, end_value: float = 0.0) -> join_schedules:
    """Linear warm-up to ``peak_value``, then cosine decay to ``end_value`` at step ``decay_steps``.

    Examples
    --------
    >>> s = warmup_cosine_decay_schedule(1.0, 10, 110)
    >>> s(0), s(10), round(s(60), 12), s(110)
    (0.0, 1.0, 0.5, 0.0)
    """
    warmup_steps = check_int(warmup_steps, "warmup_steps", low=1)
    decay_steps = check_int(decay_steps, "decay_steps", low=warmup_steps + 1)
    alpha = end_value / peak_value if peak_value else 0.0
    return join_schedules(
        (linear_schedule(init_value, peak_value, warmup_steps),
         cosine_decay_schedule(peak_value, decay_steps - warmup_steps, alpha)),
        (warmup_steps,),
    )


def _as_schedule(lr: Any, name: str = "lr") -> Callable[[int], float]:
    if callable(lr):
        return lr
    return constant_schedule(check_float(lr, name, low=0.0))


# =========================================================================== #
# building blocks
# =========================================================================== #
class EmptyState(NamedTuple):
    """State of a stateless transform."""


class CountState(NamedTuple):
    count: int


class TraceState(NamedTuple):
    trace: dict


class ScaleByAdamState(NamedTuple):
    count: int
    mu: dict
    nu: dict


class MultiTransformState(NamedTuple):
    inner: dict


def _empty_init(params: Mapping[str, Any]) -> EmptyState:
    return EmptyState()


def _identity_update(grads: Mapping[str, Any], state: Any, params: Any = None) -> tuple[dict, Any]:
    return dict(grads), state


def identity() -> GradientTransformation:
    """Pass the gradients through unchanged."""
    return GradientTransformation(_empty_init, _identity_update, "identity")


def _scale_update(factor: float, grads: Mapping[str, Any], state: Any, params: Any = None) -> tuple[dict, Any]:
    return {k: factor * g for k, g in grads.items()}, state


def scale(factor: float) -> GradientTransformation:
    """Multiply the updates by a constant ``factor``."""
    factor = check_float(factor, "factor")
    return GradientTransformation(_empty_init, functools.partial(_scale_update, factor), "scale")


@dataclass(frozen=True)
class _ScaleByLR:
    schedule: Callable[[int], float]

    def init(self, params: Mapping[str, Any]) -> CountState:
        return CountState(0)

    def update(self, grads: Mapping[str, Any], state: CountState, params: Any = None) -> tuple[dict, CountState]:
        step = -float(self.schedule(state.count))
        return {k: step * g for k, g in grads.items()}, CountState(state.count + 1)


def scale_by_learning_rate(lr: float | Callable[[int], float]) -> GradientTransformation:
    """Multiply by ``-lr(step)`` (the descent sign); ``lr`` a float or a schedule.

    Examples
    --------
    >>> import numpy as np
    >>> t = scale_by_learning_rate(linear_schedule(1.0, 0.0, 2))
    >>> u0, s = t.update({"g": np.ones(1)}, t.init({}))
    >>> u1, s = t.update({"g": np.ones(1)}, s)
    >>> u0["g"].tolist(), u1["g"].tolist(), s.count
    ([-1.0], [-0.5], 2)
    """
    impl = _ScaleByLR(_as_schedule(lr))
    return GradientTransformation(impl.init, impl.update, "scale_by_learning_rate")


@dataclass(frozen=True)
class _Trace:
    decay: float
    nesterov: bool

    def init(self, params: Mapping[str, Any]) -> TraceState:
        xp = _namespace(params) if params else None
        return TraceState({k: xp.zeros_like(p) for k, p in params.items()})

    def update(self, grads: Mapping[str, Any], state: TraceState, params: Any = None) -> tuple[dict, TraceState]:
        new = {k: g + self.decay * state.trace[k] for k, g in grads.items()}
        if self.nesterov:
            return {k: g + self.decay * new[k] for k, g in grads.items()}, TraceState(new)
        return dict(new), TraceState(new)


def trace(decay: float, nesterov: bool = False) -> GradientTransformation:
    """Heavy-ball momentum ``t = g + decay * t`` (PyTorch's SGD momentum without dampening).

    With ``nesterov=True`` the update is ``g + decay * t`` (PyTorch's Nesterov form).
    """
    decay = check_float(decay, "momentum", low=0.0, high=1.0, high_inclusive=False)
    if not isinstance(nesterov, bool):
        raise TypeError(f"nesterov must be a bool, got {nesterov!r}")
    impl = _Trace(decay, nesterov)
    return GradientTransformation(impl.init, impl.update, "trace")


@dataclass(frozen=True)
class _ScaleByAdam:
    b1: float
    b2: float
    eps: float

    def init(self, params: Mapping[str, Any]) -> ScaleByAdamState:
        xp = _namespace(params) if params else None
        return ScaleByAdamState(0, {k: xp.zeros_like(p) for k, p in params.items()},
                                {k: xp.zeros_like(p) for k, p in params.items()})

    def update(self, grads: Mapping[str, Any], state: ScaleByAdamState, params: Any = None) -> tuple[dict, Any]:
        xp = _namespace(grads)
        count = state.count + 1
        b1, b2 = self.b1, self.b2
        mu = {k: b1 * state.mu[k] + (1.0 - b1) * g for k, g in grads.items()}
        nu = {k: b2 * state.nu[k] + (1.0 - b2) * (g * g) for k, g in grads.items()}
        c1 = 1.0 - b1**count
        c2 = 1.0 - b2**count
        updates = {k: (mu[k] / c1) / (xp.sqrt(nu[k] / c2) + self.eps) for k in grads}
        return updates, ScaleByAdamState(count, mu, nu)


def scale_by_adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> GradientTransformation:
    """Adam's direction ``m_hat / (sqrt(v_hat) + eps)`` with bias-corrected moments (Kingma & Ba 2015)."""
    b1 = check_float(b1, "b1", low=0.0, high=1.0, high_inclusive=False)
    b2 = check_float(b2, "b2", low=0.0, high=1.0, high_inclusive=False)
    eps = check_float(eps, "eps", low=0.0)
    impl = _ScaleByAdam(b1, b2, eps)
    return GradientTransformation(impl.init, impl.update, "scale_by_adam")


def _decay_update(weight_decay: float, grads: Mapping[str, Any], state: Any, params: Any = None) -> tuple[dict, Any]:
    if params is None:
        raise ValueError("add_decayed_weights needs params: call update(grads, state, params)")
    return {k: g + weight_decay * params[k] for k, g in grads.items()}, state


def add_decayed_weights(weight_decay: float) -> GradientTransformation:
    """Add ``weight_decay * params`` to the updates (decoupled weight decay when placed after Adam)."""
    weight_decay = check_float(weight_decay, "weight_decay", low=0.0)
    return GradientTransformation(_empty_init, functools.partial(_decay_update, weight_decay),
                                  "add_decayed_weights")


def _clip_update(max_norm: float, grads: Mapping[str, Any], state: Any, params: Any = None) -> tuple[dict, Any]:
    if not grads:
        return {}, state
    xp = _namespace(grads)
    norm = global_norm(grads)
    factor = max_norm / xp.maximum(norm, xp.full_like(norm, max_norm))  # 1 below the threshold
    return {k: factor * g for k, g in grads.items()}, state


def clip_by_global_norm(max_norm: float) -> GradientTransformation:
    """Rescale all leaves together so that their global norm is at most ``max_norm``.

    The factor is ``max_norm / max(norm, max_norm)``, computed on the device (no host
    synchronization), as ``torch.nn.utils.clip_grad_norm_`` and optax do.

    Examples
    --------
    >>> import numpy as np
    >>> t = clip_by_global_norm(1.0)
    >>> u, _ = t.update({"a": np.array([3.0]), "b": np.array([4.0])}, t.init({}))
    >>> round(float(u["a"][0]), 12), round(float(u["b"][0]), 12)
    (0.6, 0.8)
    """
    max_norm = check_float(max_norm, "max_norm", low=0.0, low_inclusive=False)
    return GradientTransformation(_empty_init, functools.partial(_clip_update, max_norm),
                                  "clip_by_global_norm")


@dataclass(frozen=True)
class _Chain:
    transforms: tuple

    def init(self, params: Mapping[str, Any]) -> tuple:
        return tuple(t.init(params) for t in self.transforms)

    def update(self, grads: Mapping[str, Any], state: tuple, params: Any = None) -> tuple[dict, tuple]:
        new_states = []
        updates = grads
        for t, s in zip(self.transforms, state):
            updates, s = t.update(updates, s, params)
            new_states.append(s)
        return dict(updates), tuple(new_states)


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Apply ``transforms`` left to right; the state is the tuple of their states."""
    for i, t in enumerate(transforms):
        if not isinstance(t, GradientTransformation):
            raise TypeError(f"chain argument {i} must be a GradientTransformation, got {type(t).__name__}")
    impl = _Chain(tuple(transforms))
    return GradientTransformation(impl.init, impl.update, "chain(" + ", ".join(t.name for t in transforms) + ")")


def matrix_labels(key: str, leaf: Any) -> str:
    """Label function for :func:`multi_transform`: ``"matrix"`` for 2-D leaves, ``"other"`` otherwise."""
    return "matrix" if getattr(leaf, "ndim", 0) == 2 else "other"


@dataclass(frozen=True)
class _Multi:
    transforms: Mapping[str, GradientTransformation]
    labels: Any

    def _label(self, tree: Mapping[str, Any]) -> dict[str, str]:
        out = {}
        for k, v in tree.items():
            lab = self.labels[k] if isinstance(self.labels, Mapping) else self.labels(k, v)
            if lab not in self.transforms:
                raise ValueError(f"label {lab!r} of leaf {k!r} has no transform (labels: {sorted(self.transforms)})")
            out[k] = lab
        return out

    def init(self, params: Mapping[str, Any]) -> MultiTransformState:
        labels = self._label(params)
        return MultiTransformState({
            lab: t.init({k: p for k, p in params.items() if labels[k] == lab}) for lab, t in self.transforms.items()
        })

    def update(self, grads: Mapping[str, Any], state: MultiTransformState, params: Any = None) -> tuple[dict, Any]:
        labels = self._label(grads)
        updates: dict[str, Any] = {}
        inner = {}
        for lab, t in self.transforms.items():
            sub = {k: g for k, g in grads.items() if labels[k] == lab}
            sub_params = None if params is None else {k: params[k] for k in sub}
            u, inner[lab] = t.update(sub, state.inner[lab], sub_params)
            updates.update(u)
        return {k: updates[k] for k in grads}, MultiTransformState(inner)


def multi_transform(transforms: Mapping[str, GradientTransformation], labels: Any) -> GradientTransformation:
    """Different transforms for different leaves (optax's ``multi_transform``).

    Parameters
    ----------
    transforms : dict label -> GradientTransformation
    labels : callable ``(key, leaf) -> label`` or dict ``key -> label``
        :func:`matrix_labels` splits 2-D leaves from the rest: the seam where a
        gradient-projection transform takes the matrices and Adam the vectors.

    Examples
    --------
    >>> import numpy as np
    >>> opt = multi_transform({"matrix": sgd(1.0), "other": sgd(0.0)}, matrix_labels)
    >>> params = {"W": np.ones((2, 2)), "b": np.ones(2)}
    >>> u, _ = opt.update({"W": np.ones((2, 2)), "b": np.ones(2)}, opt.init(params), params)
    >>> float(u["W"][0, 0]), float(u["b"][0])
    (-1.0, -0.0)
    """
    if not isinstance(transforms, Mapping) or not transforms:
        raise TypeError("transforms must be a non-empty dict label -> GradientTransformation")
    for lab, t in transforms.items():
        if not isinstance(t, GradientTransformation):
            raise TypeError(f"transforms[{lab!r}] must be a GradientTransformation, got {type(t).__name__}")
    if not (callable(labels) or isinstance(labels, Mapping)):
        raise TypeError(f"labels must be a callable (key, leaf) -> label or a dict, got {type(labels).__name__}")
    impl = _Multi(dict(transforms), labels)
    return GradientTransformation(impl.init, impl.update, "multi_transform")


# =========================================================================== #
# optimizers
# =========================================================================== #
def sgd(lr: float | Callable[[int], float], momentum: float = 0.0, nesterov: bool = False) -> GradientTransformation:
    """Stochastic gradient descent, optionally with heavy-ball or Nesterov momentum.

    ``update = -lr * t`` with ``t = g + momentum * t`` (PyTorch's ``SGD`` with
    ``dampening=0``; Nesterov: ``-lr * (g + momentum * t)``).

    Examples
    --------
    >>> import numpy as np
    >>> opt = sgd(0.5)
    >>> u, _ = opt.update({"w": np.array([2.0])}, opt.init({"w": np.zeros(1)}))
    >>> u["w"].tolist()
    [-1.0]
    """
    momentum = check_float(momentum, "momentum", low=0.0, high=1.0, high_inclusive=False)
    if nesterov and momentum == 0.0:
        raise ValueError("nesterov=True needs momentum > 0")
    parts = ([trace(momentum, nesterov)] if momentum > 0 else []) + [scale_by_learning_rate(lr)]
    opt = chain(*parts)
    return GradientTransformation(opt.init, opt.update, "sgd")


def adam(lr: float | Callable[[int], float], b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
         weight_decay: float = 0.0) -> GradientTransformation:
    """Adam (Kingma & Ba 2015); AdamW (Loshchilov & Hutter 2019) when ``weight_decay > 0``.

    The decay is decoupled from the adaptive scaling: ``update = -lr(t) * (m_hat /
    (sqrt(v_hat) + eps) + weight_decay * params)``, as in PyTorch's ``AdamW`` and optax's
    ``adamw`` (the decay is multiplied by the scheduled learning rate, their
    ``eta_t lambda``).

    Examples
    --------
    >>> import numpy as np
    >>> opt = adam(0.1)
    >>> u, _ = opt.update({"w": np.array([5.0, -0.01])}, opt.init({"w": np.zeros(2)}))
    >>> np.round(u["w"], 6).tolist()             # the first Adam step is -lr * sign(g)
    [-0.1, 0.1]
    """
    parts = [scale_by_adam(b1, b2, eps)]
    weight_decay = check_float(weight_decay, "weight_decay", low=0.0)
    if weight_decay > 0:
        parts.append(add_decayed_weights(weight_decay))
    parts.append(scale_by_learning_rate(lr))
    opt = chain(*parts)
    return GradientTransformation(opt.init, opt.update, "adamw" if weight_decay > 0 else "adam")
