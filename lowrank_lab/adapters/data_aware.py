"""Data-aware initializations: LoRA-SB (a gradient estimate), EVA (input activations), CorDA (a covariance).

These adapters need data before training.  To stay backend-agnostic they take what they
need **explicitly**, as arrays in the weights' namespace (or a callable returning one):

* :func:`lora_sb`: an estimate of the first full fine-tuning gradient (``m x n``), e.g.
  :func:`gradient_estimate` (the summed per-sample gradients over a few hundred samples);
* :func:`eva`: the layer's input activations (``N x n``), e.g. :func:`layer_inputs`;
  :func:`eva_ranks` / :func:`eva_adapters` redistribute ranks across layers;
* :func:`corda`: the covariance of the layer's inputs (``n x n``),
  :func:`activation_covariance`, damped as the reference code does (:func:`damped_inverse`).

Several layers get several adapters (one per layer, with that layer's data) through a
mapping ``layer -> Adapter`` (:func:`~lowrank_lab.adapters.per_layer`).

Examples
--------
>>> import numpy as np
>>> from lowrank_lab.adapters import linear, linear_task
>>> task = linear_task(8, rank=2, n_train=64, rng=0)
>>> G = gradient_estimate(linear(8, 8), task.W0, task.X_train, task.Y_train)["W"]
>>> adapter = lora_sb(2, G)
>>> state = adapter.init(task.W0["W"], rng=0)
>>> adapter.num_params((8, 8)), float(np.abs(adapter.delta(state)).max())
(4, 0.0)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import backend
from .._validation import check_array, check_choice, check_float, check_int
from .family import SVD_METHODS, bra_adapter, offset_adapter, top_svd
from .models import Model, namespace
from .parameterizations import (
    Adapter,
    AdapterState,
    _LoRAConfig,
    _lora_delta,
    _lora_factors,
    _lora_num_params,
    _lora_pullback,
    _matrix,
    _zeros,
)

__all__ = [
    "CORDA_MODES",
    "ESTIMATES",
    "activation_covariance",
    "corda",
    "damped_inverse",
    "eva",
    "eva_adapters",
    "eva_ranks",
    "first_update_estimate",
    "gradient_estimate",
    "layer_inputs",
    "lora_sb",
]

#: Estimates of the first full fine-tuning update used by :func:`lora_sb`.
ESTIMATES = ("sign", "raw")
#: CorDA's modes: instruction-previewed (largest components) and knowledge-preserved (smallest).
CORDA_MODES = ("ipm", "kpm")


# =========================================================================== #
# data helpers
# =========================================================================== #
def layer_inputs(model: Model, weights: Mapping[str, Any], X: Any) -> dict:
    """The input activations of every weight matrix of ``model`` on the rows of ``X`` (``N x in``).

    Read off the factored gradients (``G = D^T H``: ``H`` is the layer's input), so every
    model of the lab is covered without a second forward pass.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_lab.adapters import deep_linear
    >>> model = deep_linear((3, 4, 2))
    >>> H = layer_inputs(model, model.init_weights(0), np.ones((5, 3)))
    >>> {k: v.shape for k, v in H.items()}
    {'W1': (5, 3), 'W2': (5, 4)}
    """
    xp = namespace(X)
    Y = xp.zeros((X.shape[0], model.n_out), dtype=X.dtype, device=backend.device(X))
    _, grads = model.loss_and_grads(weights, X, Y, factored=True)
    return {k: grads[k].right for k in model.matrices}


def gradient_estimate(model: Model, weights: Mapping[str, Any], X: Any, Y: Any, *,
                      n_samples: int | None = None) -> dict:
    """Summed per-sample gradients ``sum_i dl_i/dW`` at ``weights`` over the first ``n_samples`` rows.

    LoRA-SB's reference code accumulates the per-sample gradients of a few hundred samples
    before its first step; the sum is ``N`` times the mean gradient the models return.
    Returns ``{matrix name: m x n array}``.
    """
    N = int(X.shape[0]) if n_samples is None else check_int(n_samples, "n_samples", low=1, high=int(X.shape[0]),
                                                                  high_label="rows of X")
    _, grads = model.loss_and_grads(weights, X[:N, :], Y[:N, :])
    return {k: N * grads[k] for k in model.matrices}


def first_update_estimate(gradient: Any, *, estimate: str = "sign", lr: float = 1e-3) -> Any:
    """LoRA-SB's estimate of the first full fine-tuning update from a gradient estimate ``G``.

    ``"sign"``: ``-lr * sign(G)`` (reference code: Adam's first step, which is
    ``-lr sign(g)`` per coordinate); ``"raw"``: ``-lr * G`` (the first SGD step).

    Examples
    --------
    >>> import numpy as np
    >>> first_update_estimate(np.array([[2.0, -0.5]]), lr=0.1).tolist()
    [[-0.1, 0.1]]
    """
    G = check_array(gradient, "gradient", ndim=2)
    estimate = check_choice(estimate, "estimate", ESTIMATES)
    lr = check_float(lr, "lr", low=0.0, low_inclusive=False)
    xp = namespace(G)
    return -lr * (xp.sign(G) if estimate == "sign" else G)


def activation_covariance(X: Any, *, normalize: bool = False) -> Any:
    """``X^T X / N`` of input activations (``N x n``).

    ``normalize=True`` divides ``X`` by ``max |X|`` first, as PEFT's CorDA hook does per
    batch for numerical range (it changes the covariance's scale only; CorDA's adapter is
    invariant to that scale up to the relative damping).

    Examples
    --------
    >>> import numpy as np
    >>> activation_covariance(np.array([[1.0, 0.0], [0.0, 2.0]])).tolist()
    [[0.5, 0.0], [0.0, 2.0]]
    """
    X = check_array(X, "X", ndim=2)
    if normalize:
        xp = namespace(X)
        X = X / xp.max(xp.abs(X))
    return (X.T @ X) / X.shape[0]


def damped_inverse(C: Any, *, damping: float = 0.01, tol: float = 0.05, max_doublings: int = 60) -> tuple[Any, Any, float]:
    """``(C + d mean(diag C) I, its inverse, d)``: CorDA's damped covariance (reference code).

    Starting from ``d = damping``, ``d`` doubles until ``||(C_d) C_d^{-1} - I||_F < tol``
    (PEFT's ``collect_eigens_for_layer``: ``damp = 0.01``, threshold 0.05).  A rank-deficient
    covariance (fewer samples than inputs) is thus made invertible.
    """
    C = check_array(C, "C", ndim=2)
    damping = check_float(damping, "damping", low=0.0, low_inclusive=False)
    xp = namespace(C)
    n = C.shape[0]
    eye = xp.eye(n, dtype=C.dtype, device=backend.device(C))
    mean_diag = xp.mean(xp.linalg.diagonal(C))
    d = damping
    for _ in range(max_doublings):
        fixed = C + (d * mean_diag) * eye
        inv = xp.linalg.inv(fixed)
        R = fixed @ inv - eye
        if float(xp.sqrt(xp.sum(R * R))) < tol:
            return fixed, inv, d
        d *= 2.0
    raise ValueError(f"C could not be damped into an invertible matrix (damping reached {d:g})")


def _as_array(value: Any, W0: Any, name: str) -> Any:
    if callable(value):
        value = value(W0)
    value = check_array(value, name)
    return backend.asarray(value, like=W0, dtype=W0.dtype)


# =========================================================================== #
# LoRA-SB
# =========================================================================== #
@dataclass(frozen=True)
class _SBInit:
    rank: int
    scale: float
    gradient: Any
    estimate: str
    lr: float
    svd: str
    n_power_iter: int


def _lora_sb_init(cfg: _SBInit, W0: Any, rng: Any = None) -> AdapterState:
    m, n = _matrix(W0, "lora_sb")
    check_int(cfg.rank, "rank", low=1, high=min(m, n), high_label="min(m, n)")
    G = _as_array(cfg.gradient, W0, "gradient")
    if tuple(G.shape) != (m, n):
        raise ValueError(f"gradient must have the weight's shape {(m, n)}, got {tuple(G.shape)}")
    update = first_update_estimate(G, estimate=cfg.estimate, lr=cfg.lr)
    U, S, Vt = top_svd(update, cfg.rank, svd=cfg.svd, n_power_iter=cfg.n_power_iter, rng=backend.as_generator(rng))
    xp = namespace(W0)
    R0 = xp.eye(cfg.rank, dtype=W0.dtype, device=backend.device(W0)) * (S / cfg.scale)[None, :]
    return AdapterState({"R": R0}, {"B": U, "A": Vt, "R0": R0})


def lora_sb(rank: int, gradient: Any, *, estimate: str = "sign", lr: float = 1e-3, alpha: float = 8.0,
            svd: str = "exact", n_power_iter: int = 10) -> Adapter:
    """LoRA-SB (Ponkshe et al. 2024): LoRA-XS's ``B R A`` initialized on the first full fine-tuning update.

    ``dW_1`` = an estimate of the first full fine-tuning update from ``gradient``
    (:func:`first_update_estimate`: ``-lr sign(G)``, the reference code's Adam-first-step
    surrogate over the summed per-sample gradients, or ``"raw"``: ``-lr G``);
    ``dW_1 ~ U_r S_r V_r^T`` (truncated SVD; the reference code uses a randomized SVD with
    10 iterations: ``svd="randomized"``).  ``B = U_r`` and ``A = V_r^T`` are frozen,
    ``R`` (``r x r``) trains from ``R0 = diag(S_r) / s``, and ``s B R0 A`` is subtracted
    from ``W0``, so ``dW = s B (R - R0) A`` is 0 at step 0 and the output unchanged.
    Reconstruction (the paper leaves open): ``R0``'s scale ``S_r / s`` (so that
    ``s B R0 A`` is the best rank-r approximation of ``dW_1``).  With SGD or Adam and no
    weight decay the scale of ``R0`` does not affect training: only ``R - R0`` enters
    ``dW``.

    Parameters
    ----------
    gradient : array (m, n) or callable ``W0 -> array``
        E.g. ``gradient_estimate(model, W0, X, Y, n_samples=256)[layer]``.
    estimate : {"sign", "raw"}
    lr : float
        The learning rate of the estimated first step (scales ``R0`` only).

    Notes
    -----
    The first update of ``R`` moves ``W`` within ``span(U_r) x span(V_r)``, the best
    rank-``r`` subspaces of the estimated first step; ``num_params = r^2``.
    """
    rank = check_int(rank, "rank", low=1)
    estimate = check_choice(estimate, "estimate", ESTIMATES)
    lr = check_float(lr, "lr", low=0.0, low_inclusive=False)
    alpha = check_float(alpha, "alpha", low=0.0, low_inclusive=False)
    svd = check_choice(svd, "svd", SVD_METHODS)
    n_power_iter = check_int(n_power_iter, "n_power_iter", low=0)
    if not callable(gradient):
        gradient = check_array(gradient, "gradient", ndim=2)
    scale = alpha / rank
    cfg = _SBInit(rank, scale, gradient, estimate, lr, svd, n_power_iter)
    config = {"rank": rank, "alpha": alpha, "scale": scale, "estimate": estimate, "svd": svd}
    return bra_adapter("lora_sb", functools.partial(_lora_sb_init, cfg), rank, scale, config)


# =========================================================================== #
# EVA
# =========================================================================== #
def _components(X: Any, k: int, center: bool, svd: str, n_power_iter: int, rng: Any) -> tuple[Any, Any]:
    """Top-``k`` right singular vectors of the (centered) activations and their explained-variance ratios."""
    xp = namespace(X)
    if center:
        X = X - xp.mean(X, axis=0, keepdims=True)
    _, S, Vt = top_svd(X, k, svd=svd, n_power_iter=n_power_iter, rng=backend.as_generator(rng))
    total = xp.sum(X * X)
    return Vt, (S * S) / total


@dataclass(frozen=True)
class _EVAInit:
    lora: _LoRAConfig
    activations: Any
    center: bool
    svd: str
    n_power_iter: int


def _eva_init(cfg: _EVAInit, W0: Any, rng: Any = None) -> AdapterState:
    m, n = _matrix(W0, "eva")
    r = check_int(cfg.lora.rank, "rank", low=1, high=min(m, n), high_label="min(m, n)")
    X = _as_array(cfg.activations, W0, "activations")
    if X.ndim != 2 or X.shape[1] != n:
        raise ValueError(f"activations must be (N, n={n}), got shape {tuple(X.shape)}")
    if X.shape[0] < r:
        raise ValueError(f"activations must have at least rank={r} rows, got {X.shape[0]}")
    Vt, _ = _components(X, r, cfg.center, cfg.svd, cfg.n_power_iter, rng)
    return AdapterState({"B": _zeros((m, r), W0), "A": Vt}, {})


def eva(rank: int, activations: Any, *, alpha: float = 8.0, scale_rank: int | None = None, center: bool = True,
        svd: str = "exact", n_power_iter: int = 4) -> Adapter:
    """EVA (Paischer et al. 2024): LoRA with ``A`` = the top right singular vectors of the layer's inputs.

    ``A`` (``r x n``) holds the top-``r`` principal directions of the input activations
    (``N x n``; centered by default, as the incremental PCA of the reference code does:
    reconstruction), ``B = 0``: the output is unchanged at step 0 and the first updates
    act on the directions where the inputs have the most variance.  ``s = alpha /
    scale_rank`` (default ``alpha / r``; :func:`eva_adapters` keeps the nominal rank's scale
    after redistribution, PEFT's ``adjust_scaling_factors``).  The reference code computes
    the SVD incrementally over mini-batches until the components' cosine similarity
    exceeds 0.99; here the activations are given at once and decomposed exactly (or by a
    randomized SVD).

    ``num_params = r (m + n)``; the rank of each layer is set by :func:`eva_ranks`.
    """
    rank = check_int(rank, "rank", low=1)
    alpha = check_float(alpha, "alpha", low=0.0, low_inclusive=False)
    scale_rank = rank if scale_rank is None else check_int(scale_rank, "scale_rank", low=1)
    svd = check_choice(svd, "svd", SVD_METHODS)
    n_power_iter = check_int(n_power_iter, "n_power_iter", low=0)
    if not callable(activations):
        activations = check_array(activations, "activations", ndim=2)
    scale = alpha / scale_rank
    cfg = _LoRAConfig(rank, alpha, scale, "kaiming_uniform", True)
    init = functools.partial(_eva_init, _EVAInit(cfg, activations, center, svd, n_power_iter))
    config = {"rank": rank, "alpha": alpha, "scale": scale, "init": "eva", "center": center, "svd": svd}
    return Adapter("eva", init, functools.partial(_lora_delta, cfg), functools.partial(_lora_pullback, cfg),
                   functools.partial(_lora_num_params, cfg), "layer", config, accepts_factored=True,
                   factors=functools.partial(_lora_factors, cfg))


def eva_ranks(activations: Mapping[str, Any], rank: int, *, rho: float = 2.0, center: bool = True) -> dict:
    """EVA's global rank redistribution: ``{layer: r_l}`` with ``sum r_l = rank * len(activations)``.

    Each layer offers its top ``ceil(rho * rank)`` components (reference default
    ``rho = 2``: at most twice the nominal rank); all offered components are ranked
    together by explained-variance ratio (``sigma_i^2 / ||X_l||_F^2``) and the top
    ``rank * n_layers`` are kept.  A layer may receive 0 (it is then not adapted).

    Examples
    --------
    >>> import numpy as np
    >>> gen = np.random.default_rng(0)
    >>> X1 = gen.standard_normal((200, 6)) * np.array([10.0, 1, 1, 1, 1, 1])   # one dominant direction
    >>> X2 = gen.standard_normal((200, 6))                                   # isotropic
    >>> eva_ranks({"W1": X1, "W2": X2}, 2)
    {'W1': 1, 'W2': 3}
    """
    rank = check_int(rank, "rank", low=1)
    rho = check_float(rho, "rho", low=1.0)
    if not isinstance(activations, Mapping) or not activations:
        raise TypeError("activations must be a non-empty mapping layer -> (N x n) array")
    offered = []
    for layer, X in activations.items():
        X = check_array(X, f"activations[{layer!r}]", ndim=2)
        k = min(math.ceil(rho * rank), *X.shape)
        _, ratios = _components(X, k, center, "exact", 0, None)
        offered += [(float(v), i, layer) for i, v in enumerate(np.asarray(backend.to_numpy(ratios)))]
    offered.sort(key=lambda t: (-t[0], t[1], str(t[2])))
    budget = rank * len(activations)
    out = {layer: 0 for layer in activations}
    for _, _, layer in offered[:budget]:
        out[layer] += 1
    return out


def eva_adapters(activations: Mapping[str, Any], rank: int, *, rho: float = 2.0, alpha: float = 8.0,
                 center: bool = True, svd: str = "exact") -> dict:
    """``{layer: eva(r_l, activations[layer]) or None}`` with the ranks of :func:`eva_ranks`.

    Every adapter keeps the nominal scale ``alpha / rank``.  Pass the mapping to
    :func:`~lowrank_lab.adapters.finetune` (layers with ``r_l = 0`` are frozen).
    """
    ranks = eva_ranks(activations, rank, rho=rho, center=center)
    return {layer: (eva(r, activations[layer], alpha=alpha, scale_rank=rank, center=center, svd=svd) if r else None)
            for layer, r in ranks.items()}


# =========================================================================== #
# CorDA
# =========================================================================== #
@dataclass(frozen=True)
class _CorDAInit:
    rank: int
    scale: float
    covariance: Any
    mode: str
    damping: float
    svd: str
    n_power_iter: int


def _corda_init(cfg: _CorDAInit, W0: Any, rng: Any = None) -> AdapterState:
    m, n = _matrix(W0, "corda")
    r = check_int(cfg.rank, "rank", low=1, high=min(m, n), high_label="min(m, n)")
    C = _as_array(cfg.covariance, W0, "covariance")
    if tuple(C.shape) != (n, n):
        raise ValueError(f"covariance must be (n, n) = ({n}, {n}), got shape {tuple(C.shape)}")
    fixed, inv, _ = damped_inverse(C, damping=cfg.damping)
    xp = namespace(W0)
    if cfg.mode == "ipm":
        U, S, Vt = top_svd(W0 @ fixed, r, svd=cfg.svd, n_power_iter=cfg.n_power_iter, rng=backend.as_generator(rng))
    else:
        from .. import linalg  # noqa: PLC0415

        U, S, Vt = linalg.svd(W0 @ fixed)
        U, S, Vt = U[:, -r:], S[-r:], Vt[-r:, :]
    root = xp.sqrt(S / cfg.scale)
    B0 = U * root[None, :]
    A0 = root[:, None] * (Vt @ inv)  # W0 = U S (V^T C^{-1}): the adapter holds r of these components
    return AdapterState({"B": B0, "A": A0}, {"B0": B0, "A0": A0})


def corda(rank: int, covariance: Any, *, mode: str = "ipm", alpha: float = 8.0, damping: float = 0.01,
          svd: str = "exact", n_power_iter: int = 4) -> Adapter:
    """CorDA (Yang et al. 2024): LoRA on the components of ``W0 C``, ``C`` the covariance of the layer's inputs.

    ``C`` is damped (:func:`damped_inverse`: ``+ d mean(diag C) I`` with ``d`` from 0.01,
    doubled until the inverse is accurate, reference code); ``W0 C = U S V^T``, so
    ``W0 = U S (V^T C^{-1})``.  The adapter takes ``r`` of these components,
    ``B = U_r diag(sqrt(S_r / s))``, ``A = diag(sqrt(S_r / s)) (V^T C^{-1})_r`` (PEFT's
    ``corda_init``: divided by the scaling, like PiSSA) and the frozen residual is
    ``W0 - s B A``, so the output is unchanged at step 0 (``dW = s (B A - B0 A0)``):

    * ``mode="ipm"`` (instruction-previewed): the **largest** ``r`` components, ``C`` from
      the task's inputs: the adapter starts where the task's inputs meet ``W0``'s
      strongest responses;
    * ``mode="kpm"`` (knowledge-preserved): the **smallest** ``r`` components, ``C`` from
      the inputs of the knowledge to keep: the adapter starts where that knowledge barely
      passes through ``W0``, and the frozen residual carries the rest.

    Parameters
    ----------
    covariance : array (n, n) or callable ``W0 -> array``
        E.g. :func:`activation_covariance` of the layer's inputs.
    svd : {"exact", "randomized"}
        The randomized SVD serves the top components only (``mode="ipm"``).

    Notes
    -----
    ``num_params = r (m + n)``; rank-``2r`` LoRA factors via :meth:`Adapter.factors`.
    """
    rank = check_int(rank, "rank", low=1)
    mode = check_choice(mode, "mode", CORDA_MODES)
    alpha = check_float(alpha, "alpha", low=0.0, low_inclusive=False)
    damping = check_float(damping, "damping", low=0.0, low_inclusive=False)
    svd = check_choice(svd, "svd", SVD_METHODS)
    if svd == "randomized" and mode == "kpm":
        raise ValueError("svd='randomized' finds the top components only; mode='kpm' needs svd='exact'")
    n_power_iter = check_int(n_power_iter, "n_power_iter", low=0)
    if not callable(covariance):
        covariance = check_array(covariance, "covariance", ndim=2)
    scale = alpha / rank
    cfg = _CorDAInit(rank, scale, covariance, mode, damping, svd, n_power_iter)
    config = {"rank": rank, "alpha": alpha, "scale": scale, "mode": mode, "damping": damping, "svd": svd}
    return offset_adapter("corda", functools.partial(_corda_init, cfg), rank, scale, config)
