"""Rank allocation (study I): the oracle, uniform budgets, and the adapters of AdaLoRA, SoRA and IncreLoRA.

Which layers need rank?  For independent layers whose error is the Frobenius error
``sum_l sum_{i > r_l} sigma_{l,i}^2`` the answer is known: keep the ``b`` globally
largest ``sigma_{l,i}^2`` (:func:`oracle_allocation`; the global-threshold idea of
WeLore and EVA).  Every adaptive method can be scored against it.

Adapters (layer scope, plain functions as every adapter of the lab)

* :func:`adalora` (Zhang et al. 2023, PEFT's ``AdaLoraModel``): the SVD form
  ``dW = s P diag(lambda) Q`` stored as PEFT names it, ``B = P`` (``m x r``),
  ``E = lambda`` (``r``), ``A = Q`` (``r x n``); ``E = 0`` and ``A, B ~ N(0, 0.02^2)`` at
  initialization; the scale ``s = alpha / init_rank`` is kept when triplets are masked
  (PEFT divides by the initial ``ranknum``).
* :func:`increlora` (Zhang et al. 2023): the same SVD form with ``rank_max`` triplets
  of which the allocator activates a growing set (``E = 0`` on the inactive ones).
* :func:`sora` (Ding et al. 2023, the reference code's ``LowRankLinear``):
  ``dW = s B diag(g) A`` with a gate ``g ~ N(0, 1)``, ``B = 0`` and ``A`` Kaiming-uniform,
  ``s = alpha / rank_max``.

The training-time rules (importance scores, masking to a budget, proximal gate steps,
growth) are gradient transformations in :mod:`lowrank_lab.adapters.allocation_optim`;
this module holds what they share: :func:`adalora_budget` (the cubic schedule),
:func:`soft_threshold` (the proximal map of the l1 norm), :func:`orthogonality_penalty`
and :func:`orthogonality_error`.

Examples
--------
>>> import numpy as np
>>> spectra = [np.array([3.0, 1.0]), np.array([2.0, 0.5])]
>>> oracle_allocation(spectra, 2), allocation_error(spectra, (1, 1))
((1, 1), 1.25)
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .. import backend
from .._validation import check_choice, check_float, check_int
from .models import namespace
from .parameterizations import SEP, Adapter, AdapterState, _LoRAConfig, _matmul_G, _matrix, _rmatmul_G, _zeros
from .transforms import GradientTransformation

__all__ = [
    "ORTHOGONALITY_FORMS",
    "TRUE_RANKS",
    "adalora",
    "adalora_budget",
    "allocation_error",
    "brute_force_allocation",
    "gated_layers",
    "increlora",
    "oracle_allocation",
    "orthogonality_error",
    "orthogonality_penalty",
    "prefix_allocation",
    "soft_threshold",
    "sora",
    "uniform_allocation",
]

#: True update ranks of the eight layers of study I (notebook 09).
TRUE_RANKS = (1, 1, 2, 4, 8, 8, 16, 32)
#: The two forms of AdaLoRA's orthogonality penalty.
ORTHOGONALITY_FORMS = ("peft", "paper")


# =========================================================================== #
# allocations
# =========================================================================== #
def _spectra(spectra: Any) -> list[np.ndarray]:
    if isinstance(spectra, (str, bytes)) or not isinstance(spectra, Sequence) or not spectra:
        raise TypeError(f"spectra must be a non-empty sequence of 1-D arrays, got {type(spectra).__name__}")
    out = []
    for l, s in enumerate(spectra):
        if s is None or isinstance(s, (str, bytes)):
            raise TypeError(f"spectra[{l}] must be a 1-D array, got {type(s).__name__}")
        a = np.asarray(backend.to_numpy(s) if hasattr(s, "shape") else s, dtype=np.float64)
        if a.ndim != 1:
            raise ValueError(f"spectra[{l}] must be 1-D, got shape {a.shape}")
        if not np.all(np.isfinite(a)) or np.any(a < 0):
            raise ValueError(f"spectra[{l}] must hold finite non-negative singular values")
        out.append(np.sort(a)[::-1])
    return out


def oracle_allocation(spectra: Sequence[Any], budget: int) -> tuple[int, ...]:
    """Per-layer ranks keeping the ``budget`` globally largest ``sigma^2`` (optimal for independent layers).

    With the error ``sum_l sum_{i > r_l} sigma_{l,i}^2`` (Eckart-Young in every layer),
    keeping a value never costs more than keeping a smaller one, so the ``budget``
    largest over all layers are optimal (standard).  Ties are broken by layer order.
    Zero singular values are never kept (a layer's rank is at most its number of
    non-zero values), so the ranks may sum to less than ``budget``.

    Examples
    --------
    >>> import numpy as np
    >>> oracle_allocation([np.array([1.0]), np.array([0.9, 0.8, 0.7])], 3)
    (1, 2)
    """
    sp = _spectra(spectra)
    budget = check_int(budget, "budget", low=0)
    entries = [(-float(v) ** 2, l, i) for l, s in enumerate(sp) for i, v in enumerate(s) if v > 0]
    entries.sort()
    ranks = [0] * len(sp)
    for _, l, _i in entries[:budget]:
        ranks[l] += 1
    return tuple(ranks)


def allocation_error(spectra: Sequence[Any], ranks: Sequence[int]) -> float:
    """``sum_l sum_{i > r_l} sigma_{l,i}^2``: the best Frobenius error at the given per-layer ranks."""
    sp = _spectra(spectra)
    if len(ranks) != len(sp):
        raise ValueError(f"ranks must give one rank per layer ({len(sp)}), got {len(ranks)}")
    total = 0.0
    for l, (s, r) in enumerate(zip(sp, ranks)):
        r = check_int(r, f"ranks[{l}]", low=0)
        total += float(np.sum(s[r:] ** 2))
    return total


def brute_force_allocation(spectra: Sequence[Any], budget: int) -> tuple[tuple[int, ...], float]:
    """The allocation of least :func:`allocation_error` with ``sum(ranks) <= budget``, by enumeration.

    For small cases only (the tests check :func:`oracle_allocation` against it).
    """
    sp = _spectra(spectra)
    budget = check_int(budget, "budget", low=0)
    if math.prod(len(s) + 1 for s in sp) > 1_000_000:
        raise ValueError("brute_force_allocation enumerates every allocation: at most 1e6 of them")
    best, best_err = None, math.inf
    for ranks in itertools.product(*(range(len(s) + 1) for s in sp)):
        if sum(ranks) <= budget:
            err = allocation_error(sp, ranks)
            if err < best_err - 1e-15:
                best, best_err = ranks, err
    return tuple(best), best_err


def uniform_allocation(n_layers: int, budget: int, *, caps: Sequence[int] | None = None) -> tuple[int, ...]:
    """``budget`` spread evenly over ``n_layers`` (the remainder to the first layers), each at most its cap.

    Examples
    --------
    >>> uniform_allocation(8, 20)
    (3, 3, 3, 3, 2, 2, 2, 2)
    """
    n_layers = check_int(n_layers, "n_layers", low=1)
    budget = check_int(budget, "budget", low=0)
    q, rem = divmod(budget, n_layers)
    ranks = [q + (1 if l < rem else 0) for l in range(n_layers)]
    if caps is not None:
        if len(caps) != n_layers:
            raise ValueError(f"caps must give one cap per layer ({n_layers}), got {len(caps)}")
        ranks = [min(r, check_int(c, "caps", low=0)) for r, c in zip(ranks, caps)]
    return tuple(ranks)


def prefix_allocation(norms: Sequence[Any], budget: int) -> tuple[int, ...]:
    """Greedy allocation of nested components: repeatedly extend the layer whose next component is largest.

    ``norms[l]`` are the norms of layer ``l``'s components in their nested order (e.g.
    :func:`~lowrank_lab.adapters.nested.component_norms` of a trained Maestro adapter, or the increments
    ``||dW(b) - dW(b - 1)||_F`` of DyLoRA's truncations); a layer keeps a prefix.  With non-increasing norms this is
    :func:`oracle_allocation` on the norms.  The allocation baseline built on nested
    truncation (reconstruction: the papers truncate every layer at the same rank).

    Examples
    --------
    >>> import numpy as np
    >>> prefix_allocation([np.array([3.0, 0.1]), np.array([2.0, 1.0])], 3)
    (1, 2)
    """
    sp = [np.asarray(backend.to_numpy(n) if hasattr(n, "shape") else n, dtype=np.float64) for n in norms]
    budget = check_int(budget, "budget", low=0)
    ranks = [0] * len(sp)
    for _ in range(budget):
        best, best_v = None, -1.0
        for l, s in enumerate(sp):
            if ranks[l] < s.size and s[ranks[l]] > best_v:
                best, best_v = l, float(s[ranks[l]])
        if best is None:
            break
        ranks[best] += 1
    return tuple(ranks)


# =========================================================================== #
# schedules and proximal maps
# =========================================================================== #
def adalora_budget(step: int, *, init_budget: int, target_budget: int, total_steps: int, t_init: int = 0,
                   t_final: int = 0) -> int:
    """AdaLoRA's cubic budget schedule ``b(t)`` (Zhang et al. 2023, Eq. 12; PEFT's ``budget_schedule``).

    ``b(t) = b_0`` for ``t <= t_init``; ``b_T + (b_0 - b_T) (1 - (t - t_init) / (T - t_init - t_final))^3``
    (rounded down, as PEFT's ``int``) for ``t_init < t <= T - t_final``; ``b_T`` afterwards.

    Examples
    --------
    >>> [adalora_budget(t, init_budget=96, target_budget=64, total_steps=10, t_init=2, t_final=2) for t in range(11)]
    [96, 96, 96, 82, 73, 68, 65, 64, 64, 64, 64]
    """
    step = check_int(step, "step", low=0)
    init_budget = check_int(init_budget, "init_budget", low=0)
    target_budget = check_int(target_budget, "target_budget", low=0, high=init_budget, high_label="init_budget")
    total_steps = check_int(total_steps, "total_steps", low=1)
    t_init = check_int(t_init, "t_init", low=0)
    t_final = check_int(t_final, "t_final", low=0)
    if t_init + t_final >= total_steps:
        raise ValueError(f"t_init + t_final must be < total_steps={total_steps}, got {t_init} + {t_final}")
    if step <= t_init:
        return init_budget
    if step > total_steps - t_final:
        return target_budget
    frac = 1.0 - (step - t_init) / (total_steps - t_final - t_init)
    return int((init_budget - target_budget) * frac**3 + target_budget)


def soft_threshold(x: Any, tau: float) -> Any:
    """``sign(x) max(|x| - tau, 0)``: the proximal map of ``tau ||x||_1`` (SoRA's gate step).

    Examples
    --------
    >>> import numpy as np
    >>> soft_threshold(np.array([-2.0, -0.5, 0.0, 0.3, 1.5]), 0.5).tolist()
    [-1.5, -0.0, 0.0, 0.0, 1.0]
    """
    tau = check_float(tau, "tau", low=0.0)
    xp = namespace(x)
    return xp.sign(x) * xp.clip(xp.abs(x) - tau, min=0.0)


# =========================================================================== #
# adapters: B diag(e) A with a trainable diagonal
# =========================================================================== #
@dataclass(frozen=True)
class _GatedConfig:
    rank: int
    scale: float
    diag: str  # key of the diagonal: "E" (AdaLoRA, IncreLoRA) or "g" (SoRA)
    init: str  # "svd": A, B ~ N(0, init_scale^2), E = 0; "sora": B = 0, A Kaiming, g ~ N(0, 1)
    init_scale: float


def _gated_init(cfg: _GatedConfig, who: str, W0: Any, rng: Any = None) -> AdapterState:
    m, n = _matrix(W0, who)
    r = check_int(cfg.rank, "rank", low=1, high=min(m, n), high_label="min(m, n)")
    gen = backend.as_generator(rng)
    if cfg.init == "svd":  # PEFT's AdaLoraLayer.reset_lora_parameters: A then B drawn, E = 0
        A = backend.random_normal((r, n), rng=gen, like=W0, scale=cfg.init_scale)
        B = backend.random_normal((m, r), rng=gen, like=W0, scale=cfg.init_scale)
        e = _zeros((r,), W0)
    else:  # SoRA's LowRankLinear: gate ~ randn, A Kaiming-uniform, B = 0
        A = _LoRAConfig(r, 1.0, 1.0, "kaiming_uniform", True).draw_A(n, gen, W0)
        B = _zeros((m, r), W0)
        e = backend.random_normal((r,), rng=gen, like=W0, scale=1.0)
    return AdapterState({"B": B, cfg.diag: e, "A": A})


def _gated_delta(cfg: _GatedConfig, state: AdapterState) -> Any:
    p = state.params
    return cfg.scale * ((p["B"] * p[cfg.diag][None, :]) @ p["A"])


def _gated_pullback(cfg: _GatedConfig, state: AdapterState, G: Any) -> dict:
    p = state.params
    B, e, A = p["B"], p[cfg.diag], p["A"]
    xp = namespace(B)
    GAt = _matmul_G(G, A.T)  # m x r
    BtG = _rmatmul_G(B.T, G)  # r x n
    s = cfg.scale
    return {"B": (s * GAt) * e[None, :], cfg.diag: s * xp.sum(BtG * A, axis=1), "A": (s * e)[:, None] * BtG}


def _gated_factors(cfg: _GatedConfig, state: AdapterState) -> tuple[Any, Any, float]:
    p = state.params
    return p["B"] * p[cfg.diag][None, :], p["A"], cfg.scale


def _gated_num_params(cfg: _GatedConfig, shape: Any) -> int:
    m, n = (int(d) for d in shape)
    return cfg.rank * (m + n + 1)


def _gated(name: str, cfg: _GatedConfig, config: dict) -> Adapter:
    return Adapter(name, functools.partial(_gated_init, cfg, name), functools.partial(_gated_delta, cfg),
                   functools.partial(_gated_pullback, cfg), functools.partial(_gated_num_params, cfg), "layer",
                   config, accepts_factored=True, factors=functools.partial(_gated_factors, cfg))


def adalora(init_rank: int = 12, alpha: float = 8.0, *, init_scale: float = 0.02) -> Adapter:
    """AdaLoRA's SVD-form update ``dW = (alpha / init_rank) P diag(lambda) Q`` (PEFT's ``AdaLoraLayer``).

    Parameters ``B = P`` (``m x r``), ``E = lambda`` (``r``), ``A = Q`` (``r x n``);
    ``E = 0``, ``A, B ~ N(0, init_scale^2)`` at initialization (PEFT: ``init_scale = 0.02``).
    The scale stays ``alpha / init_rank`` after masking (PEFT divides by the initial
    ``ranknum``; its ``+ 1e-5`` is dropped here).  Masking and importance scores:
    :func:`~lowrank_lab.adapters.allocation_optim.adalora_allocator`; the orthogonality
    penalty: :func:`orthogonality_penalty`.  Defaults ``init_rank = 12`` (PEFT's
    ``init_r``), ``alpha = 8`` (PEFT's ``lora_alpha``).

    Examples
    --------
    >>> import numpy as np
    >>> adapter = adalora(4)
    >>> state = adapter.init(np.zeros((6, 5)), rng=0)
    >>> sorted(state.params), float(abs(adapter.delta(state)).max()), adapter.num_params((6, 5))
    (['A', 'B', 'E'], 0.0, 48)
    """
    init_rank = check_int(init_rank, "init_rank", low=1)
    alpha = check_float(alpha, "alpha", low=0.0, low_inclusive=False)
    init_scale = check_float(init_scale, "init_scale", low=0.0, low_inclusive=False)
    cfg = _GatedConfig(init_rank, alpha / init_rank, "E", "svd", init_scale)
    return _gated("adalora", cfg, {"rank": init_rank, "init_rank": init_rank, "alpha": alpha, "scale": cfg.scale,
                                   "init_scale": init_scale})


def increlora(rank_max: int, alpha: float | None = None, *, init_scale: float = 0.02) -> Adapter:
    """IncreLoRA's update: AdaLoRA's SVD form with ``rank_max`` reserved triplets (reconstruction).

    The allocator (:func:`~lowrank_lab.adapters.allocation_optim.increlora_allocator`)
    activates triplets one at a time; an inactive triplet keeps ``E_k = 0`` (so it adds
    nothing to ``dW``) and its initial ``A_k, B_k``: activating it is adding a rank-one
    pair whose scale starts at 0 (``b_new = 0``), and ``dW`` is continuous.  The scale is
    ``alpha / rank_max`` (``alpha`` defaults to ``rank_max``: scale 1), fixed as the rank grows.

    Examples
    --------
    >>> import numpy as np
    >>> increlora(8).config["rank_max"]
    8
    """
    rank_max = check_int(rank_max, "rank_max", low=1)
    alpha = float(rank_max) if alpha is None else check_float(alpha, "alpha", low=0.0, low_inclusive=False)
    init_scale = check_float(init_scale, "init_scale", low=0.0, low_inclusive=False)
    cfg = _GatedConfig(rank_max, alpha / rank_max, "E", "svd", init_scale)
    return _gated("increlora", cfg, {"rank": rank_max, "rank_max": rank_max, "alpha": alpha, "scale": cfg.scale,
                                     "init_scale": init_scale})


def sora(rank_max: int, alpha: float = 16.0) -> Adapter:
    """SoRA's gated update ``dW = (alpha / rank_max) B diag(g) A`` (Ding et al. 2023; reference ``LowRankLinear``).

    ``g ~ N(0, 1)``, ``B = 0``, ``A`` Kaiming-uniform (the reference code's
    initialization); ``alpha = 16`` is its default.  The proximal gate step, the
    lambda schedule and pruning are
    :func:`~lowrank_lab.adapters.allocation_optim.sora_proximal`.  The gate alone is not
    rank revealing: ``(g, B) -> (c g, B / c)`` leaves ``dW`` unchanged, so use weight
    decay on ``A`` and ``B`` (:func:`~lowrank_lab.adapters.allocation_optim.sora_optimizer`).

    Examples
    --------
    >>> import numpy as np
    >>> state = sora(4).init(np.zeros((6, 5)), rng=0)
    >>> sorted(state.params), state.params["g"].shape
    (['A', 'B', 'g'], (4,))
    """
    rank_max = check_int(rank_max, "rank_max", low=1)
    alpha = check_float(alpha, "alpha", low=0.0, low_inclusive=False)
    cfg = _GatedConfig(rank_max, alpha / rank_max, "g", "sora", 1.0)
    return _gated("sora", cfg, {"rank": rank_max, "rank_max": rank_max, "alpha": alpha, "scale": cfg.scale})


# =========================================================================== #
# parameter bookkeeping shared by the allocators
# =========================================================================== #
def gated_layers(params: Mapping[str, Any], diag: str = "E") -> tuple[str, ...]:
    """Prefixes of the layers holding ``B``, ``<diag>``, ``A`` in a (possibly combined) parameter dict.

    ``""`` for a single layer's dict, ``"W1"``, ``"W2"``, ... for a model-scope one.

    Examples
    --------
    >>> import numpy as np
    >>> gated_layers({"W1/B": 0, "W1/E": 0, "W1/A": 0, "W2/B": 0, "W2/A": 0})
    ('W1',)
    """
    out = []
    for k in params:
        prefix, _, sub = k.rpartition(SEP)
        if sub == diag and _key(prefix, "B") in params and _key(prefix, "A") in params:
            out.append(prefix)
    return tuple(out)


def _key(prefix: str, name: str) -> str:
    return f"{prefix}{SEP}{name}" if prefix else name


# =========================================================================== #
# AdaLoRA's orthogonality penalty
# =========================================================================== #
def orthogonality_error(params: Mapping[str, Any], diag: str = "E") -> dict[str, tuple[float, float]]:
    """``layer -> (||A A^T - I||_F, ||B^T B - I||_F)`` for every SVD-form layer (AdaLoRA's ``Q``, ``P``).

    Examples
    --------
    >>> import numpy as np
    >>> orthogonality_error({"B": np.eye(3, 2), "E": np.ones(2), "A": 2 * np.eye(2, 3)})
    {'': (4.242640687119285, 0.0)}
    """
    out = {}
    for layer in gated_layers(params, diag):
        A, B = params[_key(layer, "A")], params[_key(layer, "B")]
        xp = namespace(A)
        r = A.shape[0]
        I = xp.eye(r, dtype=A.dtype, device=backend.device(A))
        CA = A @ A.T - I
        CB = B.T @ B - I
        out[layer] = (float(xp.sqrt(xp.sum(CA * CA))), float(xp.sqrt(xp.sum(CB * CB))))
    return out


class _Empty(NamedTuple):
    pass


@dataclass(frozen=True)
class _Orthogonality:
    weight: float
    form: str
    diag: str

    def init(self, params: Mapping[str, Any]) -> _Empty:
        return _Empty()

    def update(self, grads: Mapping[str, Any], state: Any, params: Any = None) -> tuple[dict, Any]:
        if params is None:
            raise ValueError("orthogonality_penalty needs params: call update(grads, state, params)")
        out = dict(grads)
        layers = gated_layers(params, self.diag)
        if not layers:
            return out, state
        n_mats = 2 * len(layers)
        for layer in layers:
            kA, kB = _key(layer, "A"), _key(layer, "B")
            A, B = params[kA], params[kB]
            xp = namespace(A)
            I = xp.eye(A.shape[0], dtype=A.dtype, device=backend.device(A))
            CA = A @ A.T - I
            CB = B.T @ B - I
            if self.form == "paper":  # gamma (||P^T P - I||^2 + ||Q Q^T - I||^2), summed over layers
                gA = (4.0 * self.weight) * (CA @ A)
                gB = (4.0 * self.weight) * (B @ CB)
            else:  # PEFT: weight * mean over matrices of ||C||_F (unsquared); d||C|| = 2 C X / ||C||
                nA = xp.sqrt(xp.sum(CA * CA))
                nB = xp.sqrt(xp.sum(CB * CB))
                tiny = xp.asarray(1e-30, dtype=A.dtype, device=backend.device(A))
                gA = (2.0 * self.weight / n_mats) * (CA @ A) / xp.maximum(nA, tiny)
                gB = (2.0 * self.weight / n_mats) * (B @ CB) / xp.maximum(nB, tiny)
            out[kA] = out[kA] + gA
            out[kB] = out[kB] + gB
        return out, state


def orthogonality_penalty(weight: float = 0.5, form: str = "peft", *, diag: str = "E") -> GradientTransformation:
    """Add the gradient of AdaLoRA's orthogonality penalty to the gradients of ``A`` and ``B``.

    ``form="peft"`` (default; the reference library): ``weight * mean_M ||C_M||_F`` over the
    ``2 L`` matrices ``M`` of the ``L`` SVD-form layers, ``C = A A^T - I`` or ``B^T B - I``
    (unsquared norms, weight 0.5).  ``form="paper"`` (the study's and the paper's
    ``R(P, Q)``): ``weight * sum_l (||P^T P - I||_F^2 + ||Q Q^T - I||_F^2)``.  Place it
    first in a :func:`~lowrank_lab.adapters.transforms.chain` (it adds to raw gradients).

    Examples
    --------
    >>> import numpy as np
    >>> t = orthogonality_penalty(0.5, "paper")
    >>> p = {"B": np.eye(3, 2), "E": np.zeros(2), "A": 2 * np.eye(2, 3)}
    >>> g, _ = t.update({k: np.zeros_like(v) for k, v in p.items()}, t.init(p), p)
    >>> float(g["A"][0, 0]), float(abs(g["B"]).max())          # 4 * 0.5 * (4 - 1) * 2
    (12.0, 0.0)
    """
    weight = check_float(weight, "weight", low=0.0)
    form = check_choice(form, "form", ORTHOGONALITY_FORMS)
    impl = _Orthogonality(weight, form, diag)
    return GradientTransformation(impl.init, impl.update, f"orthogonality_penalty({form})")


def _penalty_value(params: Mapping[str, Any], weight: float, form: str, diag: str = "E") -> float:
    """The penalty itself (for tests of its gradient)."""
    errs = orthogonality_error(params, diag)
    if form == "paper":
        return weight * sum(a * a + b * b for a, b in errs.values())
    return weight * sum(a + b for a, b in errs.values()) / (2 * len(errs))


def _callable(x: Any) -> Callable[[int], float]:
    return x if callable(x) else (lambda _t, v=float(x): v)
