"""Nested truncations: ordered dropout (Maestro) and DyLoRA, and the gate interface for rank allocation.

A **nested adapter** has ``R = rank_max`` components, ``dW = B diag(gate) A`` with
``B`` (``m x R``), ``A`` (``R x n``) trainable and a per-component weight ``gate``
(``R``) in ``state.frozen``.  Truncating at ``b`` keeps the first ``b`` components
(``gate[k] = 0`` for ``k >= b``); the ordering is what makes a truncation meaningful.

* :func:`maestro`: ordered dropout (Horváth et al. 2024): ``gate = 1`` on the first ``b``
  components, ``b ~ U{r_min, ..., R}`` drawn at every step; both factors start small
  and random (the method trains the decomposition itself).
* :func:`dylora`: DyLoRA (Valipour et al. 2023): LoRA (``B = 0``, random ``A``) whose
  step uses the truncation ``b ~ U{r_min, ..., R}`` with LoRA's scale ``alpha / b``.

Both declare :attr:`Adapter.resample`: :func:`~lowrank_lab.adapters.finetune` draws the
truncation of each step from the adapter's own stream; evaluation (recorded
diagnostics, returned weights) uses the plain state: every component on
(``gate = alpha / R`` for DyLoRA, 1 for Maestro).  :func:`truncate` evaluates a trained
state at any ``b``.

The gate interface (for rank allocation: AdaLoRA-style pruning, SoRA's gates,
IncreLoRA's growth)
    * ``state.frozen["gate"]`` (``R``): per-component weights, the scale folded in;
      ``delta = B diag(gate) A``, and the pullback is ``dB = (G A^T) diag(gate)``,
      ``dA = diag(gate) B^T G``, times ``state.frozen["grad_mask"]`` (``R``, 1 =
      trainable; DyLoRA's ``update="last"`` trains only component ``b``).
    * :func:`with_gate` returns a state with a new gate (prune: zero entries; the
      pruned components then get no gradient), :func:`truncate` the gate of the first
      ``b`` components, :func:`component_norms` ``||B_k|| ||A_k||`` per component (an
      importance score), :func:`grow` appends components (``B_k = 0`` and a fresh
      random ``A_k``, as IncreLoRA does), returning a state for an adapter of rank
      ``R + k``.
    * ``resample=False`` (``sample=False`` below) gives a deterministic nested adapter
      whose gate changes only through these functions.

Examples
--------
>>> import numpy as np
>>> adapter = dylora(4, alpha=8.0)
>>> state = adapter.init(np.zeros((6, 5)), rng=0)
>>> state.frozen["gate"].tolist()                          # evaluation: every component at alpha / R
[2.0, 2.0, 2.0, 2.0]
>>> adapter.resample(state, np.random.default_rng(1)).frozen["gate"].tolist()   # one step's draw: b = 2
[4.0, 4.0, 0.0, 0.0]
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import backend
from .._validation import check_choice, check_float, check_int
from .models import namespace
from .parameterizations import INITS, Adapter, AdapterState, _LoRAConfig, _matmul_G, _matrix, _rmatmul_G, _zeros

__all__ = ["UPDATES", "component_norms", "dylora", "grow", "maestro", "nested_lora", "truncate", "with_gate"]

#: Which components a DyLoRA step trains: every active one, or only the ``b``-th.
UPDATES = ("all", "last")


@dataclass(frozen=True)
class _NestedConfig:
    rank_max: int
    alpha: float | None  # None: no scale (Maestro); else the scale alpha / b (DyLoRA)
    init: str  # "lora" (B = 0, A as LoRA) or "small" (both Gaussian, init_scale)
    a_init: str
    init_scale: float
    r_min: int
    update: str
    sample: bool

    def gate(self, b: int) -> np.ndarray:
        g = np.zeros(self.rank_max)
        g[:b] = 1.0 if self.alpha is None else self.alpha / b
        return g

    def mask(self, b: int) -> np.ndarray:
        if self.update == "all":
            return np.ones(self.rank_max)
        m = np.zeros(self.rank_max)
        m[b - 1] = 1.0
        return m


def _nested_init(cfg: _NestedConfig, W0: Any, rng: Any = None) -> AdapterState:
    m, n = _matrix(W0, "nested_lora")
    R = check_int(cfg.rank_max, "rank_max", low=1, high=min(m, n), high_label="min(m, n)")
    gen = backend.as_generator(rng)
    if cfg.init == "lora":
        A = _LoRAConfig(R, 1.0, 1.0, cfg.a_init, True).draw_A(n, gen, W0)
        B = _zeros((m, R), W0)
    else:
        B = backend.random_normal((m, R), rng=gen, like=W0, scale=cfg.init_scale)
        A = backend.random_normal((R, n), rng=gen, like=W0, scale=cfg.init_scale)
    frozen = {"gate": backend.asarray(cfg.gate(R), like=W0, dtype=W0.dtype),
              "grad_mask": backend.asarray(np.ones(R), like=W0, dtype=W0.dtype)}
    return AdapterState({"B": B, "A": A}, frozen)


def _nested_delta(state: AdapterState) -> Any:
    return (state.params["B"] * state.frozen["gate"][None, :]) @ state.params["A"]


def _nested_pullback(state: AdapterState, G: Any) -> dict:
    B, A = state.params["B"], state.params["A"]
    w = state.frozen["gate"] * state.frozen["grad_mask"]
    return {"B": _matmul_G(G, A.T) * w[None, :], "A": w[:, None] * _rmatmul_G(B.T, G)}


def _nested_factors(state: AdapterState) -> tuple[Any, Any, float]:
    return state.params["B"] * state.frozen["gate"][None, :], state.params["A"], 1.0


def _nested_num_params(cfg: _NestedConfig, shape: Any) -> int:
    m, n = (int(d) for d in shape)
    return cfg.rank_max * (m + n)


def _nested_resample(cfg: _NestedConfig, state: AdapterState, rng: Any) -> AdapterState:
    b = int(backend.as_generator(rng).integers(cfg.r_min, cfg.rank_max + 1))
    like = state.params["B"]
    frozen = dict(state.frozen)
    frozen["gate"] = backend.asarray(cfg.gate(b), like=like, dtype=like.dtype)
    frozen["grad_mask"] = backend.asarray(cfg.mask(b), like=like, dtype=like.dtype)
    return AdapterState(state.params, frozen)


def nested_lora(rank_max: int, *, alpha: float | None = None, init: str = "lora", a_init: str = "kaiming_uniform",
                init_scale: float = 0.1, r_min: int = 1, update: str = "all", sample: bool = True,
                name: str = "nested_lora") -> Adapter:
    """A nested adapter ``dW = B diag(gate) A`` with random truncations (see the module docstring).

    Parameters
    ----------
    rank_max : int
        ``R``, the number of components.
    alpha : float or None
        ``None``: the gate is 1 on the active components (Maestro); a number: ``alpha / b``
        (DyLoRA, LoRA's scaling at the sampled rank).
    init : {"lora", "small"}
        ``"lora"``: ``B = 0`` and ``A`` as LoRA's (``a_init``); ``"small"``: both Gaussian
        with standard deviation ``init_scale``.
    r_min : int, default 1
        Smallest sampled truncation.
    update : {"all", "last"}
        Components a step trains: every active one, or only the ``b``-th (DyLoRA's variant
        that "freezes" the lower ones).
    sample : bool, default True
        Draw ``b ~ U{r_min, ..., R}`` at every step (``resample``); ``False``: a
        deterministic adapter whose gate is set with :func:`with_gate`.

    Notes
    -----
    ``num_params = R (m + n)``.
    """
    rank_max = check_int(rank_max, "rank_max", low=1)
    if alpha is not None:
        alpha = check_float(alpha, "alpha", low=0.0, low_inclusive=False)
    init = check_choice(init, "init", ("lora", "small"))
    a_init = check_choice(a_init, "a_init", INITS)
    init_scale = check_float(init_scale, "init_scale", low=0.0, low_inclusive=False)
    r_min = check_int(r_min, "r_min", low=1, high=rank_max, high_label="rank_max")
    update = check_choice(update, "update", UPDATES)
    if not isinstance(sample, bool):
        raise TypeError(f"sample must be a bool, got {sample!r}")
    cfg = _NestedConfig(rank_max, alpha, init, a_init, init_scale, r_min, update, sample)
    config = {"rank": rank_max, "rank_max": rank_max, "alpha": alpha, "init": init, "r_min": r_min, "update": update,
              "sample": sample}
    return Adapter(name, functools.partial(_nested_init, cfg), _nested_delta, _nested_pullback,
                   functools.partial(_nested_num_params, cfg), "layer", config, accepts_factored=True,
                   resample=functools.partial(_nested_resample, cfg) if sample else None, factors=_nested_factors)


def maestro(rank_max: int, *, init_scale: float = 0.1, r_min: int = 1, sample: bool = True) -> Adapter:
    """Maestro's ordered dropout (Horváth et al. 2024): ``dW = U[:, :b] V[:, :b]^T`` with ``b ~ U{r_min..R}``.

    Both factors start Gaussian with standard deviation ``init_scale`` (the method learns a
    decomposition from scratch; ``B A != 0`` at step 0).  Training every prefix at once
    orders the components: on a linear map with isotropic inputs the ``b``-th pair
    converges to the ``b``-th singular pair (the truncation at ``b`` is then the
    Eckart-Young approximation), and for a linear autoencoder to the principal components.
    ``sample=False`` trains the plain factorization (the unordered control).

    Examples
    --------
    >>> import numpy as np
    >>> adapter = maestro(3)
    >>> state = adapter.init(np.zeros((4, 4)), rng=0)
    >>> state.frozen["gate"].tolist(), adapter.num_params((4, 4))
    ([1.0, 1.0, 1.0], 24)
    """
    return nested_lora(rank_max, alpha=None, init="small", init_scale=init_scale, r_min=r_min, sample=sample,
                       name="maestro")


def dylora(rank_max: int, alpha: float = 8.0, *, r_min: int = 1, update: str = "all",
           init: str = "kaiming_uniform", sample: bool = True) -> Adapter:
    """DyLoRA (Valipour et al. 2023): LoRA trained at a random rank ``b ~ U{r_min..R}`` each step.

    ``dW = (alpha / b) B[:, :b] A[:b, :]`` during a step; ``B = 0`` and ``A`` as LoRA's
    (``init``).  After training the adapter can be truncated at any ``b`` (:func:`truncate`)
    without retraining.  ``update="last"`` trains only the ``b``-th component of each step
    (the paper's variant that keeps the lower components fixed); ``"all"`` trains every
    active one (default here; reconstruction: which one the reference experiments used is
    not settled by the paper's claims).

    Examples
    --------
    >>> import numpy as np
    >>> adapter = dylora(8, alpha=16.0)
    >>> state = adapter.init(np.zeros((10, 10)), rng=0)
    >>> float(state.frozen["gate"][0]), float(truncate(adapter, state, 2).frozen["gate"][0])
    (2.0, 8.0)
    """
    return nested_lora(rank_max, alpha=alpha, init="lora", a_init=init, r_min=r_min, update=update, sample=sample,
                       name="dylora")


# --------------------------------------------------------------------------- #
# the gate interface
# --------------------------------------------------------------------------- #
def _cfg_of(adapter: Adapter) -> dict:
    if "rank_max" not in adapter.config or adapter.scope != "layer":
        raise TypeError(f"adapter must be a nested adapter (dylora, maestro, nested_lora), got {adapter!r}")
    return adapter.config


def with_gate(state: AdapterState, gate: Any) -> AdapterState:
    """The same state with ``frozen["gate"] = gate`` (``R`` values; 0 prunes a component)."""
    like = state.params["B"]
    R = like.shape[1]
    gate = backend.asarray(gate, like=like, dtype=like.dtype)
    if tuple(gate.shape) != (R,):
        raise ValueError(f"gate must have shape ({R},), got {tuple(gate.shape)}")
    return AdapterState(state.params, {**state.frozen, "gate": gate})


def truncate(adapter: Adapter, state: AdapterState, b: int) -> AdapterState:
    """The state evaluated at truncation ``b``: the first ``b`` components, with the adapter's scale at ``b``.

    Examples
    --------
    >>> import numpy as np
    >>> adapter = maestro(3)
    >>> state = adapter.init(np.zeros((4, 4)), rng=0)
    >>> truncate(adapter, state, 1).frozen["gate"].tolist()
    [1.0, 0.0, 0.0]
    """
    cfg = _cfg_of(adapter)
    R = int(state.params["B"].shape[1])
    b = check_int(b, "b", low=1, high=R, high_label="rank_max")
    g = np.zeros(R)
    g[:b] = 1.0 if cfg["alpha"] is None else cfg["alpha"] / b
    return with_gate(state, g)


def component_norms(state: AdapterState) -> Any:
    """``||B[:, k]|| ||A[k, :]|| |gate_k|`` per component (``R``): the norm of each rank-one term."""
    xp = namespace(state.params["B"])
    B, A = state.params["B"], state.params["A"]
    return xp.sqrt(xp.sum(B * B, axis=0)) * xp.sqrt(xp.sum(A * A, axis=1)) * xp.abs(state.frozen["gate"])


def grow(state: AdapterState, k: int, rng: Any = None, *, gate: float = 1.0) -> AdapterState:
    """Append ``k`` components (``B_k = 0``, ``A_k`` LoRA-random, ``gate = gate``): IncreLoRA-style growth.

    The returned state belongs to a nested adapter of rank ``R + k`` (the update is
    unchanged, since the new ``B`` columns are 0).  Trainable-parameter counts and
    optimizer states must be rebuilt for it.
    """
    k = check_int(k, "k", low=1)
    gate = check_float(gate, "gate")
    xp = namespace(state.params["B"])
    B, A = state.params["B"], state.params["A"]
    n = A.shape[1]
    bound = 1.0 / math.sqrt(n)
    A_new = backend.random_uniform((k, n), rng=backend.as_generator(rng), like=A, low=-bound, high=bound)
    like = B
    frozen = dict(state.frozen)
    frozen["gate"] = xp.concat([state.frozen["gate"], backend.asarray(np.full(k, gate), like=like, dtype=like.dtype)])
    frozen["grad_mask"] = xp.concat([state.frozen["grad_mask"], backend.asarray(np.ones(k), like=like,
                                                                                 dtype=like.dtype)])
    return AdapterState({"B": xp.concat([B, _zeros((B.shape[0], k), B)], axis=1),
                         "A": xp.concat([A, A_new], axis=0)}, frozen)
