"""Rank allocation as gradient transformations: AdaLoRA's masking, SoRA's proximal gates, IncreLoRA's growth.

Each allocator **wraps** an inner optimizer (``optax``'s shape, like GaLore's
projection): ``update(grads, state, params)`` runs the inner transform, forms the new
parameters ``params + updates``, applies its rule to them (mask, threshold, freeze) and
returns the updates that lead there.  The rules need the raw gradient (sensitivity
``|w * dL/dw|``) and the parameters, which a wrapper sees; the allocation lives in the
optimizer state, so :func:`~lowrank_lab.adapters.training.finetune` runs them unchanged
and a callback reads the current ranks with :func:`current_ranks`.

* :func:`adalora_allocator` (Zhang et al. 2023; PEFT's ``RankAllocator``): sensitivity
  ``I = |w * g|``, smoothed ``I_bar = b1 I_bar + (1 - b1) I`` and uncertainty
  ``U_bar = b2 U_bar + (1 - b2) |I - I_bar|`` (``b1 = b2 = 0.85``), score ``s = I_bar * U_bar``;
  triplet score ``S_k = s(E_k) + mean_j s(A_kj) + mean_j s(B_jk)``; every ``delta_t`` steps
  the triplets at or below the ``(b_0 - b(t))``-th smallest score get ``E_k = 0``
  (:func:`~lowrank_lab.adapters.allocation.adalora_budget`); after ``T - t_final`` the
  last mask is applied at every step (PEFT's fixed ``rank_pattern``).
* :func:`sora_proximal` (Ding et al. 2023): after the inner step,
  ``g <- sign(g) max(|g| - tau_t, 0)`` with ``tau_t = lr(t) lambda(t)`` (the study's
  ``eta lambda``; ``multiply_lr=False`` gives the reference ``SparseAdamW``'s ``tau = lambda``),
  and a gate that reaches 0 is pruned (kept at 0).  :func:`sora_optimizer` is the
  usual composition: AdamW with weight decay on ``A`` and ``B`` only, Adam on the gate.
* :func:`increlora_allocator` (Zhang et al. 2023; reconstruction): every layer starts with
  ``init_rank`` active triplets; every ``interval`` steps the layer with the largest mean
  AdaLoRA triplet score over its active triplets gets one more (its reserved triplet,
  ``E = 0``: ``dW`` unchanged), until the budget is spent.  Inactive triplets get no updates.

Examples
--------
>>> import numpy as np
>>> from lowrank_lab.adapters import adalora, adam, finetune, linear, linear_task
>>> task = linear_task(12, rank=2, n_train=64, rng=0)
>>> opt = adalora_allocator(adam(0.05), target_budget=2, total_steps=40, t_init=5, t_final=10)
>>> res = finetune(linear(12, 12), task, adalora(4, alpha=4.0), opt, steps=40, rng=1, diagnostics="none")
>>> current_ranks(res.optimizer_state)
{'W': 2}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .. import backend
from .._validation import check_choice, check_float, check_int
from .allocation import _callable, _key, adalora_budget, gated_layers, soft_threshold
from .models import namespace
from .transforms import GradientTransformation, adam, add_decayed_weights, chain, multi_transform, sgd

__all__ = [
    "AdaLoRAState",
    "IncreLoRAState",
    "SoRAState",
    "adalora_allocator",
    "current_ranks",
    "increlora_allocator",
    "sora_labels",
    "sora_optimizer",
    "sora_proximal",
    "triplet_scores",
]


def _check_inner(inner: Any) -> None:
    if not isinstance(inner, GradientTransformation):
        raise TypeError(f"inner must be a GradientTransformation, got {type(inner).__name__}")


def _layers_or_raise(params: Mapping[str, Any], diag: str, who: str) -> tuple[str, ...]:
    layers = gated_layers(params, diag)
    if not layers:
        raise ValueError(f"{who} needs parameters B, {diag}, A (per layer); got keys {sorted(params)}")
    return layers


# =========================================================================== #
# importance scores (AdaLoRA's sensitivity x uncertainty)
# =========================================================================== #
def _ema_scores(keys: tuple[str, ...], ipt: dict, unc: dict, params: Mapping[str, Any], grads: Mapping[str, Any],
                b1: float, b2: float) -> tuple[dict, dict]:
    new_ipt, new_unc = dict(ipt), dict(unc)
    xp = namespace(params[keys[0]])
    for k in keys:
        I = xp.abs(params[k] * grads[k])
        i_bar = b1 * ipt[k] + (1.0 - b1) * I
        new_ipt[k] = i_bar
        new_unc[k] = b2 * unc[k] + (1.0 - b2) * xp.abs(I - i_bar)
    return new_ipt, new_unc


def triplet_scores(ipt: Mapping[str, Any], unc: Mapping[str, Any], layer: str, diag: str = "E") -> Any:
    """``S_k = s(E_k) + mean_j s(A_kj) + mean_j s(B_jk)`` with ``s = I_bar * U_bar`` (one value per triplet).

    Examples
    --------
    >>> import numpy as np
    >>> ones = {"B": np.ones((3, 2)), "E": np.ones(2), "A": np.ones((2, 4))}
    >>> triplet_scores(ones, ones, "").tolist()
    [3.0, 3.0]
    """
    xp = namespace(ipt[_key(layer, "A")])
    sE = ipt[_key(layer, diag)] * unc[_key(layer, diag)]
    sA = xp.mean(ipt[_key(layer, "A")] * unc[_key(layer, "A")], axis=1)
    sB = xp.mean(ipt[_key(layer, "B")] * unc[_key(layer, "B")], axis=0)
    return sE + sA + sB


def current_ranks(optimizer_state: Any) -> dict[str, int] | None:
    """``layer -> rank`` held by the first allocator state found in ``optimizer_state`` (None if none).

    Walks tuples (``chain``'s state); works on the ``optimizer_state`` a
    :func:`~lowrank_lab.adapters.training.finetune` callback sees and on the result's.
    """
    if isinstance(optimizer_state, (AdaLoRAState, SoRAState, IncreLoRAState)):
        return {layer: int(np.asarray(backend.to_numpy(m)).sum()) for layer, m in optimizer_state.mask.items()}
    if isinstance(optimizer_state, tuple):
        for s in optimizer_state:
            out = current_ranks(s)
            if out is not None:
                return out
    return None


# =========================================================================== #
# AdaLoRA
# =========================================================================== #
class AdaLoRAState(NamedTuple):
    """State of :func:`adalora_allocator`: inner state, step, EMAs, the current mask (1 = kept) and budget."""

    inner: Any
    count: int
    ipt: dict
    unc: dict
    mask: dict
    budget: int


@dataclass(frozen=True)
class _AdaLoRA:
    inner: GradientTransformation
    target_budget: int
    total_steps: int
    t_init: int
    t_final: int
    delta_t: int
    b1: float
    b2: float

    def init(self, params: Mapping[str, Any]) -> AdaLoRAState:
        layers = _layers_or_raise(params, "E", "adalora_allocator")
        xp = namespace(params[_key(layers[0], "A")])
        keys = [_key(l, s) for l in layers for s in ("B", "E", "A")]
        zeros = {k: xp.zeros_like(params[k]) for k in keys}
        mask = {l: xp.ones_like(params[_key(l, "E")]) for l in layers}
        b0 = sum(int(params[_key(l, "E")].shape[0]) for l in layers)
        if self.target_budget > b0:
            raise ValueError(f"target_budget must be <= the initial budget {b0} (sum of init ranks), "
                             f"got {self.target_budget}")
        return AdaLoRAState(self.inner.init(params), 0, zeros, dict(zeros), mask, b0)

    def update(self, grads: Mapping[str, Any], state: AdaLoRAState, params: Any = None) -> tuple[dict, AdaLoRAState]:
        if params is None:
            raise ValueError("adalora_allocator needs params: call update(grads, state, params)")
        updates, inner = self.inner.update(grads, state.inner, params)
        new = {k: p + updates[k] for k, p in params.items()}
        t = state.count
        T, tf = self.total_steps, self.t_final
        layers = tuple(state.mask)
        keys = tuple(state.ipt)
        ipt, unc = state.ipt, state.unc
        if t < T - tf:  # PEFT updates the importance until the final phase
            ipt, unc = _ema_scores(keys, ipt, unc, new, grads, self.b1, self.b2)
        b0 = sum(int(m.shape[0]) for m in state.mask.values())
        budget = adalora_budget(min(t, T), init_budget=b0, target_budget=self.target_budget, total_steps=T,
                                t_init=self.t_init, t_final=tf)
        mask = state.mask
        apply = False
        if t > T - tf:
            apply = True  # the fixed rank pattern of the final phase
        elif t > self.t_init and t % self.delta_t == 0:
            mask = self._mask(ipt, unc, layers, b0 - budget, new)
            apply = True
        if apply:
            for l in layers:
                kE = _key(l, "E")
                new[kE] = new[kE] * mask[l]
        out = {k: new[k] - p for k, p in params.items()}
        return out, AdaLoRAState(inner, t + 1, ipt, unc, mask, budget)

    @staticmethod
    def _mask(ipt: dict, unc: dict, layers: tuple[str, ...], k: int, params: Mapping[str, Any]) -> dict:
        xp = namespace(params[_key(layers[0], "A")])
        scores = {l: triplet_scores(ipt, unc, l) for l in layers}
        if k <= 0:
            return {l: xp.ones_like(s) for l, s in scores.items()}
        flat = xp.sort(xp.concat([scores[l] for l in layers]))
        threshold = flat[k - 1]  # PEFT: kthvalue(k = b0 - b); kept are the scores above it
        return {l: xp.astype(s > threshold, s.dtype) for l, s in scores.items()}


def adalora_allocator(inner: GradientTransformation, *, target_budget: int, total_steps: int, t_init: int = 0,
                      t_final: int = 0, delta_t: int = 1, beta1: float = 0.85, beta2: float = 0.85
                      ) -> GradientTransformation:
    """AdaLoRA's budget allocation around ``inner`` (see the module docstring).

    Parameters
    ----------
    inner : GradientTransformation
        The optimizer (e.g. ``chain(orthogonality_penalty(0.5), adam(lr))``).
    target_budget : int
        ``b_T``, the total number of triplets kept at the end (PEFT: ``target_r`` times
        the number of adapted matrices); ``b_0`` is the sum of the initial ranks.
    total_steps, t_init, t_final, delta_t : int
        PEFT's ``total_step``, ``tinit``, ``tfinal``, ``deltaT``.
    beta1, beta2 : float, default 0.85
        EMA factors of the sensitivity and of the uncertainty (PEFT's defaults).

    Notes
    -----
    The sensitivity uses the raw task gradient that reaches the wrapper and the
    parameters after the step (PEFT's ``p * p.grad`` after ``optimizer.step()``); a
    penalty added inside ``inner`` is not part of it (PEFT's ``p.grad`` includes the
    orthogonality term; reconstruction).  Masked ``E_k`` are set to 0 at masking steps
    (PEFT's ``masked_fill_``) and may grow back between masking steps when
    ``delta_t > 1``; the mask is applied at every step of the final phase.  One
    device sort per masking step; no host synchronization.
    """
    _check_inner(inner)
    target_budget = check_int(target_budget, "target_budget", low=0)
    total_steps = check_int(total_steps, "total_steps", low=1)
    t_init = check_int(t_init, "t_init", low=0)
    t_final = check_int(t_final, "t_final", low=0)
    if t_init + t_final >= total_steps:
        raise ValueError(f"t_init + t_final must be < total_steps={total_steps}, got {t_init} + {t_final}")
    delta_t = check_int(delta_t, "delta_t", low=1)
    beta1 = check_float(beta1, "beta1", low=0.0, high=1.0, high_inclusive=False)
    beta2 = check_float(beta2, "beta2", low=0.0, high=1.0, high_inclusive=False)
    impl = _AdaLoRA(inner, target_budget, total_steps, t_init, t_final, delta_t, beta1, beta2)
    return GradientTransformation(impl.init, impl.update, f"adalora_allocator({inner.name})")


# =========================================================================== #
# SoRA
# =========================================================================== #
class SoRAState(NamedTuple):
    """State of :func:`sora_proximal`: inner state, step, and the live gates (1 = not pruned)."""

    inner: Any
    count: int
    mask: dict


@dataclass(frozen=True)
class _SoRA:
    inner: GradientTransformation
    lam: Callable[[int], float]
    lr: Callable[[int], float] | None
    prune: bool

    def init(self, params: Mapping[str, Any]) -> SoRAState:
        layers = _layers_or_raise(params, "g", "sora_proximal")
        xp = namespace(params[_key(layers[0], "g")])
        return SoRAState(self.inner.init(params), 0, {l: xp.ones_like(params[_key(l, "g")]) for l in layers})

    def update(self, grads: Mapping[str, Any], state: SoRAState, params: Any = None) -> tuple[dict, SoRAState]:
        if params is None:
            raise ValueError("sora_proximal needs params: call update(grads, state, params)")
        updates, inner = self.inner.update(grads, state.inner, params)
        t = state.count
        tau = float(self.lam(t)) * (float(self.lr(t)) if self.lr is not None else 1.0)
        out = dict(updates)
        mask = dict(state.mask)
        for l, m in state.mask.items():
            kg = _key(l, "g")
            xp = namespace(params[kg])
            g = soft_threshold(params[kg] + updates[kg], tau)
            if self.prune:
                g = g * m
                mask[l] = m * xp.astype(g != 0, g.dtype)
            else:
                mask[l] = xp.astype(g != 0, g.dtype)
            out[kg] = g - params[kg]
        return out, SoRAState(inner, t + 1, mask)


def sora_proximal(inner: GradientTransformation, lam: float | Callable[[int], float], *,
                  lr: float | Callable[[int], float] | None = None, prune: bool = True) -> GradientTransformation:
    """SoRA's proximal gate step after ``inner``: ``g <- sign(g) max(|g| - tau_t, 0)``, then pruning.

    Parameters
    ----------
    inner : GradientTransformation
        The optimizer of every parameter (:func:`sora_optimizer`).
    lam : float or schedule
        ``lambda(t)``; a schedule that rises over training traces the rank path
        (the reference's ``step_lambda`` moves through a list of values).
    lr : float or schedule, optional
        ``tau_t = lr(t) lambda(t)`` (the study's ``eta lambda``, the reference's
        ``sparse_optimizer_multiply_lr``); None: ``tau_t = lambda(t)`` (the reference's
        ``SparseAdamW``, whose thresholding also zeroes values in ``(lambda, 2 lambda)``
        by applying the cut after the shift: not reproduced here).
    prune : bool, default True
        A gate that reaches 0 stays 0 (the study's "prune the components with g_i = 0").
    """
    _check_inner(inner)
    if not isinstance(prune, bool):
        raise TypeError(f"prune must be a bool, got {prune!r}")
    lam_fn = lam if callable(lam) else _callable(check_float(lam, "lam", low=0.0))
    lr_fn = None if lr is None else (lr if callable(lr) else _callable(check_float(lr, "lr", low=0.0)))
    impl = _SoRA(inner, lam_fn, lr_fn, prune)
    return GradientTransformation(impl.init, impl.update, f"sora_proximal({inner.name})")


def sora_labels(key: str, leaf: Any) -> str:
    """Label function for :func:`~lowrank_lab.adapters.transforms.multi_transform`: ``"gate"`` or ``"factor"``."""
    return "gate" if key.rpartition("/")[2] == "g" else "factor"


def sora_optimizer(lr: float | Callable[[int], float], lam: float | Callable[[int], float], *,
                   weight_decay: float = 0.01, optimizer: str = "sgd", prune: bool = True, multiply_lr: bool = True,
                   b1: float = 0.9, b2: float = 0.999) -> GradientTransformation:
    """SoRA's optimizer: weight decay on ``A`` and ``B`` only, then the proximal gate step.

    ``optimizer="sgd"`` (default): proximal gradient descent (ISTA) on the gate, gradient
    descent with decay ``weight_decay`` on the factors; ``"adam"``: AdamW on the factors
    and Adam on the gate (the reference code's ``SparseAdamW``).  With Adam the update of
    every live gate has magnitude about ``lr`` whatever its gradient, so the threshold
    ``lr lambda`` only bites for ``lambda`` of order 1 (measured in notebook 09).
    Weight decay on the factors is what makes the l1 gate rank revealing (the map
    ``(g, B) -> (c g, B / c)`` leaves ``dW`` unchanged; with decay on ``B`` the combined
    penalty is no longer scale free).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_lab.adapters import finetune, linear, linear_task, sora
    >>> task = linear_task(16, rank=2, n_train=128, rng=0)
    >>> res = finetune(linear(16, 16), task, sora(8), sora_optimizer(0.1, 0.05, weight_decay=0.01),
    ...                steps=600, rng=1, diagnostics="none")
    >>> current_ranks(res.optimizer_state)["W"] < 8
    True
    """
    weight_decay = check_float(weight_decay, "weight_decay", low=0.0)
    optimizer = check_choice(optimizer, "optimizer", ("sgd", "adam"))
    if not isinstance(multiply_lr, bool):
        raise TypeError(f"multiply_lr must be a bool, got {multiply_lr!r}")
    if optimizer == "adam":
        inner = multi_transform({"gate": adam(lr, b1, b2), "factor": adam(lr, b1, b2, weight_decay=weight_decay)},
                                sora_labels)
    else:
        factor = chain(add_decayed_weights(weight_decay), sgd(lr)) if weight_decay > 0 else sgd(lr)
        inner = multi_transform({"gate": sgd(lr), "factor": factor}, sora_labels)
    return sora_proximal(inner, lam, lr=lr if multiply_lr else None, prune=prune)


# =========================================================================== #
# IncreLoRA
# =========================================================================== #
class IncreLoRAState(NamedTuple):
    """State of :func:`increlora_allocator`: inner state, step, EMAs, active triplets (1 = active), added so far.

    ``reserve``: per layer, the EMA of the mean squared gradient of the reserved
    (inactive) triplets' ``E`` (``score="reserve"``).
    """

    inner: Any
    count: int
    ipt: dict
    unc: dict
    mask: dict
    total: int
    reserve: dict


def _mask_triplets(tree: Mapping[str, Any], mask: Mapping[str, Any]) -> dict:
    out = dict(tree)
    for l, m in mask.items():
        out[_key(l, "B")] = tree[_key(l, "B")] * m[None, :]
        out[_key(l, "E")] = tree[_key(l, "E")] * m
        out[_key(l, "A")] = tree[_key(l, "A")] * m[:, None]
    return out


@dataclass(frozen=True)
class _IncreLoRA:
    inner: GradientTransformation
    budget: int
    interval: int
    init_rank: int
    b1: float
    b2: float
    stop: int | None
    score: str

    def init(self, params: Mapping[str, Any]) -> IncreLoRAState:
        layers = _layers_or_raise(params, "E", "increlora_allocator")
        xp = namespace(params[_key(layers[0], "A")])
        keys = [_key(l, s) for l in layers for s in ("B", "E", "A")]
        zeros = {k: xp.zeros_like(params[k]) for k in keys}
        mask = {}
        for l in layers:
            R = int(params[_key(l, "E")].shape[0])
            m = np.zeros(R)
            m[:min(self.init_rank, R)] = 1.0
            mask[l] = backend.asarray(m, like=params[_key(l, "E")], dtype=params[_key(l, "E")].dtype)
        total = sum(min(self.init_rank, int(params[_key(l, "E")].shape[0])) for l in layers)
        reserve = {l: xp.zeros_like(params[_key(l, "E")][:1]) for l in layers}
        return IncreLoRAState(self.inner.init(params), 0, zeros, dict(zeros), mask, total, reserve)

    def update(self, grads: Mapping[str, Any], state: IncreLoRAState, params: Any = None
               ) -> tuple[dict, IncreLoRAState]:
        if params is None:
            raise ValueError("increlora_allocator needs params: call update(grads, state, params)")
        reserve = dict(state.reserve)
        for l, m in state.mask.items():  # gradient energy seen by the reserved triplets (score="reserve")
            xp = namespace(m)
            gE = grads[_key(l, "E")]
            idle = 1.0 - m
            n_idle = xp.maximum(xp.sum(idle), xp.ones_like(xp.sum(idle)))
            reserve[l] = self.b1 * state.reserve[l] + (1.0 - self.b1) * xp.reshape(xp.sum(gE * gE * idle) / n_idle, (1,))
        grads = _mask_triplets(grads, state.mask)  # inactive triplets: no gradient, no update
        updates, inner = self.inner.update(grads, state.inner, params)
        out = _mask_triplets(updates, state.mask)
        new = {k: p + out[k] for k, p in params.items()}
        keys = tuple(state.ipt)
        ipt, unc = _ema_scores(keys, state.ipt, state.unc, new, grads, self.b1, self.b2)
        t = state.count + 1
        mask, total = state.mask, state.total
        if t % self.interval == 0 and total < self.budget and (self.stop is None or t <= self.stop):
            mask, total = self._grow(ipt, unc, mask, total, reserve)
        return out, IncreLoRAState(inner, t, ipt, unc, mask, total, reserve)

    def _grow(self, ipt: dict, unc: dict, mask: dict, total: int, reserve: dict) -> tuple[dict, int]:
        best, best_score = None, -np.inf
        for l, m in mask.items():
            xp = namespace(m)
            active = xp.sum(m)
            if self.score == "triplet":
                S = triplet_scores(ipt, unc, l)
                score = float(xp.sum(S * m) / active)  # one host synchronization per growth step
            else:
                score = float(reserve[l][0])
            if float(active) < m.shape[0] and score > best_score:
                best, best_score = l, score
        if best is None:
            return mask, total
        m_host = np.asarray(backend.to_numpy(mask[best]), dtype=np.float64).copy()
        m_host[int(np.argmin(m_host))] = 1.0  # the first reserved triplet (E = 0 there: dW unchanged)
        mask = dict(mask)
        mask[best] = backend.asarray(m_host, like=mask[best], dtype=mask[best].dtype)
        return mask, total + 1


def increlora_allocator(inner: GradientTransformation, *, budget: int, interval: int, init_rank: int = 1,
                        beta1: float = 0.85, beta2: float = 0.85, stop: int | None = None,
                        score: str = "triplet") -> GradientTransformation:
    """IncreLoRA's incremental allocation around ``inner`` (reconstruction; see the module docstring).

    Parameters
    ----------
    inner : GradientTransformation
    budget : int
        Total active triplets at the end (every layer starts with ``init_rank``).
    interval : int
        Steps between two additions (one rank-one pair each).
    init_rank : int, default 1
    beta1, beta2 : float, default 0.85
        AdaLoRA's EMA factors (IncreLoRA reuses its importance score).
    stop : int, optional
        No addition after this step.
    score : {"triplet", "reserve"}, default "triplet"
        ``"triplet"``: the mean of AdaLoRA's triplet scores over the layer's active
        triplets (the study's reconstruction of the paper's "importance scores of each
        module").  ``"reserve"`` (ours): the EMA (``beta1``) of the mean squared
        gradient of the reserved triplets' ``E``, ``(s p_k^T G q_k)^2`` with random
        ``p_k, q_k``, an unbiased proxy of ``||G||_F^2``: the first-order gain of a new
        rank-one pair, in the spirit of IncreLoRA's advance learning of reserved
        components.

    Notes
    -----
    The triplet score measures the importance of the triplets a layer already has, not
    what a new one would add: a layer whose components are fitted has small scores
    whatever its residual (measured in notebook 09).  A reserved
    triplet has ``E = 0`` and its initial ``A_k, B_k`` (``N(0, 0.02^2)``), so ``dW`` does
    not change when it is activated (``b_new = 0``).  Inactive triplets get zero
    gradients, so Adam's moments of a triplet start at 0 when it is activated, but its
    bias correction uses the global step count (its first steps are up to
    ``(1 - b1) / sqrt(1 - b2)`` times the learning rate): a deviation from building a
    fresh optimizer state at each addition.
    """
    _check_inner(inner)
    budget = check_int(budget, "budget", low=1)
    interval = check_int(interval, "interval", low=1)
    init_rank = check_int(init_rank, "init_rank", low=1)
    beta1 = check_float(beta1, "beta1", low=0.0, high=1.0, high_inclusive=False)
    beta2 = check_float(beta2, "beta2", low=0.0, high=1.0, high_inclusive=False)
    if stop is not None:
        stop = check_int(stop, "stop", low=0)
    score = check_choice(score, "score", ("triplet", "reserve"))
    impl = _IncreLoRA(inner, budget, interval, init_rank, beta1, beta2, stop, score)
    return GradientTransformation(impl.init, impl.update, f"increlora_allocator({inner.name})")
