"""Stand-alone stages of the gradient-projection lab: Fira's norm-growth limiter, INT8 weights, gradient spikes.

They compose with :func:`~lowrank_lab.adapters.chain` like any transform and are used
inside :mod:`lowrank_lab.adapters.projection` (the limiter by Fira and APOLLO, the
weight quantizer by Q-GaLore).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .. import linalg
from .._validation import check_choice, check_float, check_int
from .models import namespace
from .transforms import CountState, GradientTransformation

__all__ = ["NormGrowthState", "clip_by_norm_growth", "inject_gradient_spikes", "quantize_weights"]

_TINY = 1e-8  # the reference code's guard in ||N|| / (||R|| + 1e-8) and the limiter


class NormGrowthState(NamedTuple):
    """State of :func:`clip_by_norm_growth`: previous post-limiter norm per leaf (None before the first step)."""

    norms: dict



def _key_id(key: str) -> int:
    return zlib.crc32(str(key).encode())


def _limit(S: Any, previous: Any, gamma: float, xp: Any) -> tuple[Any, Any]:
    """Fira's norm-growth limiter: cap ``||S_t|| / ||S_{t-1}||`` at ``gamma`` (first call unlimited)."""
    if math.isinf(gamma):
        return S, None
    norm = xp.asarray(xp.linalg.vector_norm(S))  # a 0-d array (NumPy returns a scalar)
    if previous is None:
        return S, norm
    factor = xp.clip(norm / (previous + _TINY) / gamma, min=1.0)  # max(ratio, gamma) / gamma
    return S / factor, xp.asarray(norm / factor)



# =========================================================================== #
# stand-alone stages: limiter, weight quantization, spikes
# =========================================================================== #
@dataclass(frozen=True)
class _NormGrowth:
    gamma: float

    def init(self, params: Mapping[str, Any]) -> NormGrowthState:
        return NormGrowthState({k: None for k in params})

    def update(self, grads: Mapping[str, Any], state: NormGrowthState, params: Any = None) -> tuple[dict, Any]:
        out, norms = {}, {}
        for k, g in grads.items():
            out[k], norms[k] = _limit(g, state.norms.get(k), self.gamma, namespace(g))
        return out, NormGrowthState(norms)


def clip_by_norm_growth(gamma: float = 1.01) -> GradientTransformation:
    """Fira's norm-growth limiter as a stage: ``||u_t|| / ||u_{t-1}|| <= gamma`` per leaf.

    When the ratio exceeds ``gamma`` the leaf is rescaled to ratio exactly ``gamma``; the
    stored norm is the post-limiter one, and the first step passes unchanged (Fira's
    reference code).  Computed on the device (no host synchronization).

    Examples
    --------
    >>> import numpy as np
    >>> t = clip_by_norm_growth(1.01)
    >>> s = t.init({"w": np.zeros(1)})
    >>> u, s = t.update({"w": np.array([1.0])}, s)
    >>> u, s = t.update({"w": np.array([20.0])}, s)              # a 20x spike
    >>> round(float(u["w"][0]), 6)
    1.01
    """
    gamma = check_float(gamma, "gamma", low=1.0)
    impl = _NormGrowth(gamma)
    return GradientTransformation(impl.init, impl.update, "clip_by_norm_growth")


@dataclass(frozen=True)
class _QuantizeWeights:
    bits: int
    group_size: int
    rounding: str
    seed: int
    offset: Mapping[str, Any] | None

    def init(self, params: Mapping[str, Any]) -> CountState:
        for k, p in params.items():
            if getattr(p, "ndim", 0) == 2 and math.prod(p.shape) % self.group_size:
                raise ValueError(f"group_size must divide the size {math.prod(p.shape)} of params[{k!r}], "
                                 f"got {self.group_size}")
        unknown = [] if self.offset is None else [k for k in self.offset if k not in params]
        if unknown:
            raise ValueError(f"offset names {unknown}, not parameters {sorted(params)}")
        return CountState(0)

    def update(self, updates: Mapping[str, Any], state: CountState, params: Any = None) -> tuple[dict, Any]:
        if params is None:
            raise ValueError("quantize_weights needs params: call update(grads, state, params)")
        out = {}
        for k, u in updates.items():
            p = params[k]
            if getattr(p, "ndim", 0) != 2:
                out[k] = u  # biases stay in floating point (as Q-GaLore's QGaLoreLinear)
                continue
            base = p if self.offset is None or k not in self.offset else p + self.offset[k]
            gen = np.random.default_rng([self.seed, _key_id(k), state.count])
            q = linalg.quantize_minmax(base + u, bits=self.bits, group_size=self.group_size, rounding=self.rounding,
                                       rng=gen)
            out[k] = linalg.dequantize(q) - base
        return out, CountState(state.count + 1)


def quantize_weights(bits: int = 8, *, group_size: int = 256, rounding: str = "stochastic", seed: int = 0,
                     offset: Mapping[str, Any] | None = None) -> GradientTransformation:
    """Keep the weight matrices on a ``bits``-bit grid: the last stage of Q-GaLore's optimizer.

    Placed after the learning rate, it turns an update ``u`` into ``Q(w + u) - w`` where
    ``w = params + offset`` are the weights and ``Q`` re-quantizes them with fresh
    per-group min-max scales (:func:`lowrank_lab.linalg.quantize_minmax`, groups of
    ``group_size`` over the flattened matrix, as the reference's INT8 weights) by
    round-to-nearest or stochastic rounding (seeded per leaf and step).  With
    round-to-nearest an update smaller than half a step is lost; stochastic rounding
    keeps it in expectation.  1-D leaves (biases) are left in floating point.  The
    weights are simulated: they are stored dequantized (as Q-GaLore's "simulate" code).

    Parameters
    ----------
    bits : int, default 8
    group_size : int, default 256
        Must divide the size of every matrix leaf.
    rounding : {"stochastic", "nearest"}
    seed : int, default 0
    offset : dict, optional
        ``params[k] + offset[k]`` are the weights (with :func:`~lowrank_lab.adapters.full`
        the parameters are ``W - W0``: pass ``{"W/delta": W0}``).

    Examples
    --------
    >>> import numpy as np
    >>> t = quantize_weights(8, group_size=4, rounding="nearest")
    >>> p = {"W": np.array([[0.0, 1.0], [2.0, 3.0]])}
    >>> u, _ = t.update({"W": np.full((2, 2), 1e-4)}, t.init(p), p)   # far below the step 3/255: lost
    >>> bool(np.abs(u["W"]).max() < 1e-12)
    True
    """
    bits = check_int(bits, "bits", low=1, high=16)
    group_size = check_int(group_size, "group_size", low=1)
    rounding = check_choice(rounding, "rounding", linalg.ROUNDINGS)
    seed = check_int(seed, "seed", low=0)
    if offset is not None and not isinstance(offset, Mapping):
        raise TypeError(f"offset must be a dict name -> array or None, got {type(offset).__name__}")
    impl = _QuantizeWeights(bits, group_size, rounding, seed, None if offset is None else dict(offset))
    return GradientTransformation(impl.init, impl.update, "quantize_weights")


@dataclass(frozen=True)
class _Spikes:
    steps: frozenset
    factor: float

    def init(self, params: Mapping[str, Any]) -> CountState:
        return CountState(0)

    def update(self, grads: Mapping[str, Any], state: CountState, params: Any = None) -> tuple[dict, Any]:
        f = self.factor if state.count in self.steps else 1.0
        return ({k: f * g for k, g in grads.items()} if f != 1.0 else dict(grads)), CountState(state.count + 1)


def inject_gradient_spikes(steps: Any, factor: float = 20.0) -> GradientTransformation:
    """Multiply the gradients by ``factor`` at the given steps (the spike test of Fira's limiter).

    Examples
    --------
    >>> import numpy as np
    >>> t = inject_gradient_spikes([1], 20.0)
    >>> s = t.init({})
    >>> [float(t.update({"g": np.ones(1)}, CountState(i))[0]["g"][0]) for i in range(3)]
    [1.0, 20.0, 1.0]
    """
    steps = frozenset(check_int(s, "steps entries", low=0) for s in steps)
    factor = check_float(factor, "factor", low=0.0)
    impl = _Spikes(steps, factor)
    return GradientTransformation(impl.init, impl.update, "inject_gradient_spikes")
