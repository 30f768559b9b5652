"""The LoRA family: SVD-initialized, rescaled, random-basis and decomposition-based adapters (study F).

Every function returns an :class:`~lowrank_lab.adapters.Adapter` (a value of plain,
picklable functions; see :mod:`lowrank_lab.adapters.parameterizations`).  Notation: the
adapted weight ``W0`` is ``m x n`` (out x in), ``G = dL/dW`` at the merged weight,
``s`` the scaling.  The last column counts trainable scalars.

==================  =====================================================  ==================
adapter             update ``dW`` (trainable in bold)                       trainable
==================  =====================================================  ==================
:func:`pissa`       ``s (**B A** - B0 A0)``, ``B0 A0`` = top-r SVD of W0 / s  ``r (m + n)``
:func:`lora_xs`     ``s U_r **R** S_r V_r^T``                               ``r^2``
:func:`dora`        ``**mag** * V / ||V||_row - W0``, ``V = W0 + s **BA**``   ``r (m + n) + m``
:func:`vera`        ``diag(**b**) B diag(**d**) A``, shared random B, A     ``m + r``
:func:`nola`        ``s (sum **beta_j** B_j)(A0 + sum **alpha_i** A_i)``    ``k + l``
:func:`randlora`    ``s sum_i B_i diag(**lambda_i**) A diag(**gamma_i**)``  ``N (r + min(m, n))``
:func:`svfit`       ``U_r diag(**s** - S_r) V_r^T``                         ``r``
:func:`loldu`       ``**sigma** P L_r diag(**z**) U'_r``                    ``r + 1``
:func:`orthogonal_lora`  ``s **B A**`` with ``B A = 0`` from orthogonal factors  ``r (m + n)``
==================  =====================================================  ==================

The data-aware initializations (LoRA-SB, EVA, CorDA) are in
:mod:`lowrank_lab.adapters.data_aware`, the nested truncations (DyLoRA, Maestro) in
:mod:`lowrank_lab.adapters.nested`.  SVD-based initializations take
``svd="exact" | "randomized"`` (:func:`lowrank_lab.linalg.randomized_svd`, PEFT's
``pissa_niter_K``); random draws come from the ``rng`` of ``init`` (host first, then
moved next to ``W0``), except the *shared* projections of VeRA and RandLoRA, drawn
from a ``projection_seed`` as the reference code does.

Examples
--------
>>> import numpy as np
>>> W0 = np.random.default_rng(0).standard_normal((6, 5))
>>> adapter = pissa(2, alpha=4.0)
>>> state = adapter.init(W0, rng=0)
>>> float(np.abs(adapter.delta(state)).max()), adapter.num_params(W0.shape)
(0.0, 22)
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import backend, linalg
from .._validation import check_choice, check_float, check_int
from .models import namespace
from .parameterizations import (
    INITS,
    Adapter,
    AdapterState,
    _LoRAConfig,
    _lora_delta,
    _lora_factors,
    _lora_num_params,
    _lora_pullback,
    _matmul_G,
    _matrix,
    _rmatmul_G,
    _zeros,
)

__all__ = [
    "SVD_METHODS",
    "dora",
    "lora_xs",
    "loldu",
    "nola",
    "orthogonal_lora",
    "pissa",
    "randlora",
    "svfit",
    "svfit_rank",
    "vera",
]

#: How SVD-based initializations compute the top singular triplets.
SVD_METHODS = ("exact", "randomized")


# =========================================================================== #
# shared helpers
# =========================================================================== #
def _check_svd(svd: str, n_power_iter: int) -> tuple[str, int]:
    return check_choice(svd, "svd", SVD_METHODS), check_int(n_power_iter, "n_power_iter", low=0)


def top_svd(M: Any, rank: int, *, svd: str = "exact", n_power_iter: int = 4, rng: Any = None) -> linalg.SVDResult:
    """Top-``rank`` singular triplets of ``M``: exact (full SVD, truncated) or randomized (Halko et al.)."""
    if svd == "exact":
        return linalg.truncated_svd(M, rank)
    return linalg.randomized_svd(M, rank, n_power_iter=n_power_iter, rng=rng)


def _scale(alpha: float, rank: int, rank_stabilized: bool) -> float:
    return alpha / math.sqrt(rank) if rank_stabilized else alpha / rank


def _frob2(x: Any) -> Any:
    xp = namespace(x)
    return xp.sum(x * x)


# --------------------------------------------------------------------------- #
# LoRA with a frozen offset: dW = s (B A - B0 A0)  (PiSSA, CorDA)
# --------------------------------------------------------------------------- #
def offset_delta(scale: float, state: AdapterState) -> Any:
    """``s (B A - B0 A0)``: LoRA around a frozen starting point (exactly 0 at initialization)."""
    p, f = state.params, state.frozen
    return scale * (p["B"] @ p["A"] - f["B0"] @ f["A0"])


def offset_pullback(scale: float, state: AdapterState, G: Any) -> dict:
    """``{"B": s G A^T, "A": s B^T G}`` (the offset is frozen)."""
    B, A = state.params["B"], state.params["A"]
    return {"B": scale * _matmul_G(G, A.T), "A": scale * _rmatmul_G(B.T, G)}


def offset_factors(scale: float, state: AdapterState) -> tuple[Any, Any, float]:
    """Rank-``2r`` factors ``[B, -B0] [A; A0]`` of the update (PEFT's PiSSA-to-LoRA conversion)."""
    xp = namespace(state.params["B"])
    p, f = state.params, state.frozen
    return xp.concat([p["B"], -f["B0"]], axis=1), xp.concat([p["A"], f["A0"]], axis=0), scale


def offset_num_params(rank: int, shape: Any) -> int:
    m, n = (int(d) for d in shape)
    return rank * (m + n)


def offset_adapter(name: str, init: Any, rank: int, scale: float, config: dict) -> Adapter:
    """An :class:`Adapter` ``s (B A - B0 A0)`` with the given ``init`` (which must fill ``B0``, ``A0``)."""
    return Adapter(name, init, functools.partial(offset_delta, scale), functools.partial(offset_pullback, scale),
                   functools.partial(offset_num_params, rank), "layer", config, accepts_factored=True,
                   factors=functools.partial(offset_factors, scale))


# =========================================================================== #
# PiSSA
# =========================================================================== #
@dataclass(frozen=True)
class _SVDInit:
    rank: int
    scale: float
    svd: str
    n_power_iter: int


def _pissa_init(cfg: _SVDInit, W0: Any, rng: Any = None) -> AdapterState:
    m, n = _matrix(W0, "pissa")
    check_int(cfg.rank, "rank", low=1, high=min(m, n), high_label="min(m, n)")
    U, S, Vt = top_svd(W0, cfg.rank, svd=cfg.svd, n_power_iter=cfg.n_power_iter, rng=backend.as_generator(rng))
    xp = namespace(W0)
    root = xp.sqrt(S / cfg.scale)
    B0 = U * root[None, :]
    A0 = root[:, None] * Vt
    return AdapterState({"B": B0, "A": A0}, {"B0": B0, "A0": A0})


def pissa(rank: int, alpha: float = 8.0, *, rank_stabilized: bool = False, svd: str = "exact",
          n_power_iter: int = 4) -> Adapter:
    """PiSSA (Meng, Wang & Zhang 2024): LoRA initialized on the principal singular triplets of ``W0``.

    ``W0 = U S V^T``; ``B = U_r diag(sqrt(S_r / s))``, ``A = diag(sqrt(S_r / s)) V_r^T`` and
    the frozen residual ``W0 - s B A`` (reference code, PEFT's ``init_lora_weights="pissa"``:
    the singular values are divided by the scaling ``s``, so ``s B A`` is exactly the rank-r
    truncation of ``W0``).  Stored as ``dW = s (B A - B0 A0)`` with the initial factors
    frozen, so the merged weight ``W0 + dW = (W0 - s B0 A0) + s B A`` equals PEFT's residual
    model and the output is unchanged at step 0.

    Parameters
    ----------
    rank : int
    alpha : float, default 8.0
        ``s = alpha / r`` (``alpha / sqrt(r)`` with ``rank_stabilized``), PEFT's scaling.
    svd : {"exact", "randomized"}
        ``"randomized"``: :func:`lowrank_lab.linalg.randomized_svd` with ``n_power_iter``
        power iterations (PEFT's ``"pissa_niter_K"``), drawn from the ``init`` rng.

    Notes
    -----
    ``num_params = r (m + n)``.  :meth:`Adapter.factors` gives the rank-``2r`` LoRA
    ``[B, -B0] [A; A0]`` relative to the original ``W0`` (how PEFT converts a trained
    PiSSA adapter back to a LoRA on the untouched base model).

    Examples
    --------
    >>> import numpy as np
    >>> W0 = np.diag([3.0, 2.0, 1.0])
    >>> state = pissa(1, alpha=2.0).init(W0, rng=0)
    >>> np.round(2.0 * state.params["B"] @ state.params["A"], 12)[0].tolist()   # s B0 A0 = top triplet
    [3.0, 0.0, 0.0]
    """
    rank = check_int(rank, "rank", low=1)
    alpha = check_float(alpha, "alpha", low=0.0, low_inclusive=False)
    svd, n_power_iter = _check_svd(svd, n_power_iter)
    scale = _scale(alpha, rank, rank_stabilized)
    cfg = _SVDInit(rank, scale, svd, n_power_iter)
    config = {"rank": rank, "alpha": alpha, "scale": scale, "rank_stabilized": rank_stabilized, "svd": svd,
              "n_power_iter": n_power_iter}
    return offset_adapter("pissa", functools.partial(_pissa_init, cfg), rank, scale, config)


# =========================================================================== #
# LoRA-XS (and the B R A form LoRA-SB shares)
# =========================================================================== #
def bra_delta(scale: float, state: AdapterState) -> Any:
    """``s B (R - R0) A`` with frozen ``B``, ``A`` and ``R0`` (``R0 = 0`` when absent)."""
    f = state.frozen
    R = state.params["R"] - f["R0"] if "R0" in f else state.params["R"]
    return scale * (f["B"] @ R @ f["A"])


def bra_pullback(scale: float, state: AdapterState, G: Any) -> dict:
    """``dL/dR = s B^T G A^T``."""
    f = state.frozen
    return {"R": scale * (f["B"].T @ _matmul_G(G, f["A"].T))}


def bra_factors(scale: float, state: AdapterState) -> tuple[Any, Any, float]:
    f = state.frozen
    R = state.params["R"] - f["R0"] if "R0" in f else state.params["R"]
    return f["B"] @ R, f["A"], scale


def bra_num_params(rank: int, shape: Any) -> int:
    return rank * rank


def bra_adapter(name: str, init: Any, rank: int, scale: float, config: dict) -> Adapter:
    """An :class:`Adapter` ``s B (R - R0) A`` (trainable ``R``, r x r) with the given ``init``."""
    return Adapter(name, init, functools.partial(bra_delta, scale), functools.partial(bra_pullback, scale),
                   functools.partial(bra_num_params, rank), "layer", config, accepts_factored=True,
                   factors=functools.partial(bra_factors, scale))


@dataclass(frozen=True)
class _XSInit:
    rank: int
    init_std: float
    svd: str
    n_power_iter: int


def _lora_xs_init(cfg: _XSInit, W0: Any, rng: Any = None) -> AdapterState:
    m, n = _matrix(W0, "lora_xs")
    check_int(cfg.rank, "rank", low=1, high=min(m, n), high_label="min(m, n)")
    gen = backend.as_generator(rng)
    U, S, Vt = top_svd(W0, cfg.rank, svd=cfg.svd, n_power_iter=cfg.n_power_iter, rng=gen)
    R = backend.random_normal((cfg.rank, cfg.rank), rng=gen, like=W0, scale=cfg.init_std)
    return AdapterState({"R": R}, {"B": U, "A": S[:, None] * Vt})


def lora_xs(rank: int, alpha: float = 8.0, *, init_std: float = 1e-5, svd: str = "exact",
            n_power_iter: int = 4) -> Adapter:
    """LoRA-XS (Bałazy et al. 2024): ``dW = s B R A`` with ``B``, ``A`` frozen from the SVD of ``W0``.

    ``B = U_r`` (orthonormal), ``A = S_r V_r^T`` (the singular values on the ``A`` side)
    and the trainable ``R`` (``r x r``) drawn from ``N(0, init_std^2)`` with
    ``init_std = 1e-5`` (reference code; so the output moves by ~1e-5 at step 0).
    ``s = alpha / r`` (PEFT's scaling, which the reference code builds on).

    Every update stays in ``span(U_r) x span(V_r)``: LoRA-XS can rescale and rotate within
    ``W0``'s top singular subspaces but never leave them (so it cannot create intruder
    dimensions).  ``num_params = r^2``.

    Examples
    --------
    >>> import numpy as np
    >>> adapter = lora_xs(2)
    >>> state = adapter.init(np.diag([3.0, 2.0, 1.0]), rng=0)
    >>> adapter.num_params((3, 3)), sorted(state.frozen), float(np.abs(adapter.delta(state)).max()) < 1e-3
    (4, ['A', 'B'], True)
    """
    rank = check_int(rank, "rank", low=1)
    alpha = check_float(alpha, "alpha", low=0.0, low_inclusive=False)
    init_std = check_float(init_std, "init_std", low=0.0)
    svd, n_power_iter = _check_svd(svd, n_power_iter)
    scale = alpha / rank
    config = {"rank": rank, "alpha": alpha, "scale": scale, "init_std": init_std, "svd": svd}
    return bra_adapter("lora_xs", functools.partial(_lora_xs_init, _XSInit(rank, init_std, svd, n_power_iter)),
                       rank, scale, config)


# =========================================================================== #
# DoRA
# =========================================================================== #
@dataclass(frozen=True)
class _DoRAConfig:
    lora: _LoRAConfig
    detach_norm: bool


def _row_norms(V: Any) -> Any:
    xp = namespace(V)
    return xp.sqrt(xp.sum(V * V, axis=1))


def _safe(c: Any) -> Any:
    xp = namespace(c)
    return xp.where(c > 0, c, xp.ones_like(c))


def _dora_init(cfg: _DoRAConfig, W0: Any, rng: Any = None) -> AdapterState:
    m, n = _matrix(W0, "dora")
    check_int(cfg.lora.rank, "rank", low=1, high=min(m, n), high_label="min(m, n)")
    A = cfg.lora.draw_A(n, rng, W0)
    return AdapterState({"B": _zeros((m, cfg.lora.rank), W0), "A": A, "magnitude": _row_norms(W0)}, {"W0": W0})


def _dora_parts(cfg: _DoRAConfig, state: AdapterState) -> tuple[Any, Any, Any]:
    p = state.params
    V = state.frozen["W0"] + cfg.lora.scale * (p["B"] @ p["A"])
    return V, _safe(_row_norms(V)), p["magnitude"]


def _dora_delta(cfg: _DoRAConfig, state: AdapterState) -> Any:
    V, c, mag = _dora_parts(cfg, state)
    return (mag / c)[:, None] * V - state.frozen["W0"]


def _dora_pullback(cfg: _DoRAConfig, state: AdapterState, G: Any) -> dict:
    xp = namespace(G)
    V, c, mag = _dora_parts(cfg, state)
    GV = xp.sum(G * V, axis=1)  # <G_i, V_i>
    dV = (mag / c)[:, None] * G
    if not cfg.detach_norm:
        dV = dV - ((mag * GV) / (c * c * c))[:, None] * V
    s = cfg.lora.scale
    p = state.params
    return {"B": s * (dV @ p["A"].T), "A": s * (p["B"].T @ dV), "magnitude": GV / c}


def _dora_num_params(cfg: _DoRAConfig, shape: Any) -> int:
    m, n = (int(d) for d in shape)
    return cfg.lora.rank * (m + n) + m


def dora(rank: int, alpha: float = 8.0, *, init: str = "kaiming_uniform", rank_stabilized: bool = False,
         detach_norm: bool = True) -> Adapter:
    """DoRA (Liu et al. 2024): weight-decomposed LoRA, ``W = mag * V / ||V||_row`` with ``V = W0 + s B A``.

    One magnitude per **output unit** (the norm of each row of the ``out x in`` matrix,
    PEFT's ``weight_norm`` over ``dim=1``), initialized to the row norms of ``W0``; ``B = 0``
    and ``A`` as in :func:`lora`, so the output is unchanged at step 0.  ``W0`` is kept in
    ``state.frozen`` (the update is not additive).

    Parameters
    ----------
    detach_norm : bool, default True
        Treat ``||V||_row`` as a constant in the backward pass (the paper's Sec. 4.3 and the
        reference code: cheaper, and the gradient of ``V`` is then ``(mag / ||V||) G``).
        ``False`` propagates it: ``dL/dV_i = (mag_i / c_i) (G_i - <G_i, V_i> V_i / c_i^2)``,
        the exact gradient.  The magnitude's gradient is ``<G_i, V_i> / c_i`` either way.

    Notes
    -----
    ``num_params = r (m + n) + m``.  Rows with ``||V_i|| = 0`` are left unnormalized.
    DoRA needs the dense gradient (``accepts_factored=False``); it has no LoRA
    factorization (PEFT stores it with ``use_dora``), so :func:`to_peft` exports it only
    as a truncated SVD of ``dW``.

    Examples
    --------
    >>> import numpy as np
    >>> W0 = np.array([[3.0, 4.0], [1.0, 0.0]])
    >>> adapter = dora(1)
    >>> state = adapter.init(W0, rng=0)
    >>> state.params["magnitude"].tolist(), adapter.num_params(W0.shape)
    ([5.0, 1.0], 6)
    """
    rank = check_int(rank, "rank", low=1)
    alpha = check_float(alpha, "alpha", low=0.0, low_inclusive=False)
    init = check_choice(init, "init", INITS)
    if not isinstance(detach_norm, bool):
        raise TypeError(f"detach_norm must be a bool, got {detach_norm!r}")
    scale = _scale(alpha, rank, rank_stabilized)
    cfg = _DoRAConfig(_LoRAConfig(rank, alpha, scale, init, True), detach_norm)
    config = {"rank": rank, "alpha": alpha, "scale": scale, "init": init, "detach_norm": detach_norm}
    return Adapter("dora", functools.partial(_dora_init, cfg), functools.partial(_dora_delta, cfg),
                   functools.partial(_dora_pullback, cfg), functools.partial(_dora_num_params, cfg), "layer", config)


# =========================================================================== #
# VeRA
# =========================================================================== #
@dataclass(frozen=True)
class _VeRAConfig:
    rank: int
    d_initial: float
    projection_seed: int | None
    max_shape: tuple[int, int] | None


def _kaiming_fan_in(gen: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """PEFT's VeRA ``_kaiming_init``: ``U(-sqrt(6 / fan_in), sqrt(6 / fan_in))``, fan_in = shape[1]."""
    bound = math.sqrt(3.0) * math.sqrt(2.0) / math.sqrt(shape[1])
    return gen.uniform(-bound, bound, size=shape)


def _vera_init(cfg: _VeRAConfig, W0: Any, rng: Any = None) -> AdapterState:
    m, n = _matrix(W0, "vera")
    gen = backend.as_generator(rng if cfg.projection_seed is None else cfg.projection_seed)
    M, N = (m, n) if cfg.max_shape is None else cfg.max_shape
    if M < m or N < n:
        raise ValueError(f"max_shape must be at least the weight's shape {(m, n)}, got {cfg.max_shape}")
    A = _kaiming_fan_in(gen, (cfg.rank, N))[:, :n]
    B = _kaiming_fan_in(gen, (M, cfg.rank))[:m, :]
    frozen = {"B": backend.asarray(B, like=W0, dtype=W0.dtype), "A": backend.asarray(A, like=W0, dtype=W0.dtype)}
    xp = namespace(W0)
    d = xp.full((cfg.rank,), cfg.d_initial, dtype=W0.dtype, device=backend.device(W0))
    return AdapterState({"b": _zeros((m,), W0), "d": d}, frozen)


def _vera_delta(state: AdapterState) -> Any:
    b, d = state.params["b"], state.params["d"]
    f = state.frozen
    return ((b[:, None] * f["B"]) * d[None, :]) @ f["A"]


def _vera_pullback(state: AdapterState, G: Any) -> dict:
    xp = namespace(state.params["b"])
    b, d = state.params["b"], state.params["d"]
    B, A = state.frozen["B"], state.frozen["A"]
    GAt = _matmul_G(G, A.T)  # m x r
    return {"b": xp.sum(GAt * (B * d[None, :]), axis=1), "d": xp.sum((b[:, None] * B) * GAt, axis=0)}


def _vera_factors(state: AdapterState) -> tuple[Any, Any, float]:
    b, d = state.params["b"], state.params["d"]
    return (b[:, None] * state.frozen["B"]) * d[None, :], state.frozen["A"], 1.0


def _vera_num_params(rank: int, shape: Any) -> int:
    return int(shape[0]) + rank


def vera(rank: int, *, d_initial: float = 0.1, projection_seed: int | None = 0,
         max_shape: tuple[int, int] | None = None) -> Adapter:
    """VeRA (Kopiczko, Blankevoort & Asano 2024): ``dW = diag(b) B diag(d) A`` with frozen random ``B``, ``A``.

    Trainable ``b`` (``m``, initialized to 0) and ``d`` (``r``, initialized to
    ``d_initial = 0.1``), reference code (PEFT's ``VeraConfig``).  ``A`` (``r x n``) and
    ``B`` (``m x r``) are drawn from PEFT's ``_kaiming_init``, ``U(+-sqrt(6 / fan_in))``,
    from ``projection_seed`` (PEFT's ``projection_prng_key = 0``), so every layer of the
    same shape **shares** them; with ``max_shape`` they are drawn at that shape and sliced,
    as PEFT shares one pair across layers of different shapes.  ``projection_seed=None``
    draws them from the ``init`` rng instead (fresh bases per run).  Our numbers come from
    NumPy's generator, not PyTorch's: same distributions, different draws.

    ``rank(dW) <= r`` whatever ``b`` and ``d``; ``num_params = m + r``.

    Examples
    --------
    >>> import numpy as np
    >>> adapter = vera(3)
    >>> s1, s2 = adapter.init(np.zeros((4, 5)), rng=0), adapter.init(np.zeros((4, 5)), rng=1)
    >>> bool(np.array_equal(s1.frozen["A"], s2.frozen["A"])), adapter.num_params((4, 5))  # shared projections
    (True, 7)
    """
    rank = check_int(rank, "rank", low=1)
    d_initial = check_float(d_initial, "d_initial")
    if projection_seed is not None:
        projection_seed = check_int(projection_seed, "projection_seed", low=0)
    if max_shape is not None:
        max_shape = (check_int(max_shape[0], "max_shape[0]", low=1), check_int(max_shape[1], "max_shape[1]", low=1))
    cfg = _VeRAConfig(rank, d_initial, projection_seed, max_shape)
    config = {"rank": rank, "d_initial": d_initial, "projection_seed": projection_seed}
    return Adapter("vera", functools.partial(_vera_init, cfg), _vera_delta, _vera_pullback,
                   functools.partial(_vera_num_params, rank), "layer", config, accepts_factored=True,
                   factors=_vera_factors)


# =========================================================================== #
# NOLA
# =========================================================================== #
@dataclass(frozen=True)
class _NOLAConfig:
    rank: int
    n_basis_A: int
    n_basis_B: int
    scale: float


def _nola_init(cfg: _NOLAConfig, W0: Any, rng: Any = None) -> AdapterState:
    m, n = _matrix(W0, "nola")
    r, k, l = cfg.rank, cfg.n_basis_A, cfg.n_basis_B
    gen = backend.as_generator(rng)
    A0 = gen.uniform(-1.0 / math.sqrt(n), 1.0 / math.sqrt(n), size=(r, n))  # LoRA's A (kaiming_uniform, a=sqrt 5)
    basis_A = gen.uniform(-1.0, 1.0, size=(k, r, n)) / math.sqrt(k)
    basis_B = gen.uniform(-1.0, 1.0, size=(l, m, r)) / math.sqrt(l)
    frozen = {name: backend.asarray(v, like=W0, dtype=W0.dtype)
              for name, v in (("A0", A0), ("basis_A", basis_A), ("basis_B", basis_B))}
    return AdapterState({"alpha": _zeros((k,), W0), "beta": _zeros((l,), W0)}, frozen)


def _nola_factors_of(state: AdapterState) -> tuple[Any, Any]:
    xp = namespace(state.params["alpha"])
    f = state.frozen
    k, r, n = f["basis_A"].shape
    l, m, _ = f["basis_B"].shape
    B = xp.reshape(state.params["beta"] @ xp.reshape(f["basis_B"], (l, m * r)), (m, r))
    A = f["A0"] + xp.reshape(state.params["alpha"] @ xp.reshape(f["basis_A"], (k, r * n)), (r, n))
    return B, A


def _nola_delta(cfg: _NOLAConfig, state: AdapterState) -> Any:
    B, A = _nola_factors_of(state)
    return cfg.scale * (B @ A)


def _nola_pullback(cfg: _NOLAConfig, state: AdapterState, G: Any) -> dict:
    xp = namespace(state.params["alpha"])
    B, A = _nola_factors_of(state)
    f = state.frozen
    k, r, n = f["basis_A"].shape
    l, m, _ = f["basis_B"].shape
    dB = cfg.scale * _matmul_G(G, A.T)
    dA = cfg.scale * _rmatmul_G(B.T, G)
    return {"alpha": xp.reshape(f["basis_A"], (k, r * n)) @ xp.reshape(dA, (r * n,)),
            "beta": xp.reshape(f["basis_B"], (l, m * r)) @ xp.reshape(dB, (m * r,))}


def _nola_factors(cfg: _NOLAConfig, state: AdapterState) -> tuple[Any, Any, float]:
    B, A = _nola_factors_of(state)
    return B, A, cfg.scale


def _nola_num_params(cfg: _NOLAConfig, shape: Any) -> int:
    return cfg.n_basis_A + cfg.n_basis_B


def nola(rank: int, n_basis_A: int, n_basis_B: int | None = None, *, alpha: float = 8.0) -> Adapter:
    """NOLA (Koohpayegani et al. 2024): LoRA factors as mixtures of fixed random bases.

    ``dW = s B A`` with ``B = sum_j beta_j B_j`` and ``A = A0 + sum_i alpha_i A_i``;
    trainable the ``k = n_basis_A`` coefficients ``alpha`` and the ``l = n_basis_B``
    coefficients ``beta``, both 0 at initialization.  Following the reference code's
    GPT-2 implementation (reconstruction of details the paper leaves open): the bases are
    ``U(-1, 1) / sqrt(k)`` (resp. ``sqrt(l)``), seeded (here: drawn from the ``init`` rng
    and stored), and ``A`` keeps a frozen LoRA-style random offset ``A0 ~ U(+-1/sqrt(n))``
    so that ``B = 0`` can escape (as LoRA's ``A`` does).  ``s = alpha / r``.

    ``rank(dW) <= r``: the parameter count ``k + l`` is decoupled from the rank and from
    the layer's shape.

    Examples
    --------
    >>> import numpy as np
    >>> adapter = nola(2, 10, 6)
    >>> state = adapter.init(np.zeros((5, 4)), rng=0)
    >>> adapter.num_params((5, 4)), state.frozen["basis_B"].shape, float(np.abs(adapter.delta(state)).max())
    (16, (6, 5, 2), 0.0)
    """
    rank = check_int(rank, "rank", low=1)
    n_basis_A = check_int(n_basis_A, "n_basis_A", low=1)
    n_basis_B = n_basis_A if n_basis_B is None else check_int(n_basis_B, "n_basis_B", low=1)
    alpha = check_float(alpha, "alpha", low=0.0, low_inclusive=False)
    cfg = _NOLAConfig(rank, n_basis_A, n_basis_B, alpha / rank)
    config = {"rank": rank, "n_basis_A": n_basis_A, "n_basis_B": n_basis_B, "alpha": alpha, "scale": cfg.scale}
    return Adapter("nola", functools.partial(_nola_init, cfg), functools.partial(_nola_delta, cfg),
                   functools.partial(_nola_pullback, cfg), functools.partial(_nola_num_params, cfg), "layer", config,
                   accepts_factored=True, factors=functools.partial(_nola_factors, cfg))


# =========================================================================== #
# RandLoRA
# =========================================================================== #
@dataclass(frozen=True)
class _RandLoRAConfig:
    rank: int
    scale: float
    projection_seed: int | None


def randlora_bases(m: int, n: int, rank: int) -> int:
    """``N = ceil(min(m, n) / r)``: enough rank-``r`` bases for a full-rank update."""
    return -(-min(m, n) // rank)


def _randlora_init(cfg: _RandLoRAConfig, W0: Any, rng: Any = None) -> AdapterState:
    m, n = _matrix(W0, "randlora")
    r = cfg.rank
    check_int(r, "rank", low=1, high=min(m, n), high_label="min(m, n)")
    L, S = max(m, n), min(m, n)
    N = randlora_bases(m, n, r)
    gen = backend.as_generator(rng if cfg.projection_seed is None else cfg.projection_seed)
    # PEFT: kaiming_uniform_(a=sqrt 5) on (r, 1, S) and on each (L, 1, r), then divided by the tensor's std
    A = gen.uniform(-1.0 / math.sqrt(S), 1.0 / math.sqrt(S), size=(r, S))
    B = np.concatenate([gen.uniform(-1.0 / math.sqrt(r), 1.0 / math.sqrt(r), size=(L, r)) for _ in range(N)], axis=1)
    A, B = A / A.std(ddof=1), B / B.std(ddof=1)
    xp = namespace(W0)
    gamma = xp.full((N, S), 1.0 / L, dtype=W0.dtype, device=backend.device(W0))
    # the long side is the output side ("B": dW = B (...)) unless m < n ("B_in": dW = ((B_in (...))^T)
    key = "B" if m >= n else "B_in"
    return AdapterState({"lambda": _zeros((N, r), W0), "gamma": gamma},
                        {"A": backend.asarray(A, like=W0, dtype=W0.dtype),
                         key: backend.asarray(B, like=W0, dtype=W0.dtype)})


def _randlora_scaled_A(state: AdapterState) -> Any:
    """``lambda_i[:, None] * A * gamma_i[None, :]`` stacked: ``(N r) x S``."""
    xp = namespace(state.params["lambda"])
    lam, gam = state.params["lambda"], state.params["gamma"]
    A = state.frozen["A"]
    N, r = lam.shape
    return xp.reshape(lam[:, :, None] * A[None, :, :] * gam[:, None, :], (N * r, A.shape[1]))


def _randlora_delta(cfg: _RandLoRAConfig, state: AdapterState) -> Any:
    f = state.frozen
    if "B" in f:
        return cfg.scale * (f["B"] @ _randlora_scaled_A(state))
    return cfg.scale * (f["B_in"] @ _randlora_scaled_A(state)).T


def _randlora_pullback(cfg: _RandLoRAConfig, state: AdapterState, G: Any) -> dict:
    xp = namespace(state.params["lambda"])
    lam, gam = state.params["lambda"], state.params["gamma"]
    f = state.frozen
    A = f["A"]
    N, r = lam.shape
    S = A.shape[1]
    if "B" in f:
        H = cfg.scale * _rmatmul_G(f["B"].T, G)  # B^T G: (N r) x S
    else:
        H = cfg.scale * _matmul_G(G, f["B_in"]).T  # B_in^T G^T
    HA = xp.reshape(H, (N, r, S)) * A[None, :, :]
    return {"lambda": xp.sum(HA * gam[:, None, :], axis=2), "gamma": xp.sum(HA * lam[:, :, None], axis=1)}


def _randlora_factors(cfg: _RandLoRAConfig, state: AdapterState) -> tuple[Any, Any, float]:
    f = state.frozen
    sA = _randlora_scaled_A(state)
    return (f["B"], sA, cfg.scale) if "B" in f else (sA.T, f["B_in"].T, cfg.scale)


def _randlora_num_params(cfg: _RandLoRAConfig, shape: Any) -> int:
    m, n = (int(d) for d in shape)
    return randlora_bases(m, n, cfg.rank) * (cfg.rank + min(m, n))


def randlora(rank: int, alpha: float | None = None, *, projection_seed: int | None = 0) -> Adapter:
    """RandLoRA (Albert et al. 2025): a full-rank update from scaled random bases.

    ``dW = s sum_{i=1}^N B_i diag(lambda_i) A diag(gamma_i)`` (``m >= n``; transposed
    otherwise, so the diagonal ``gamma_i`` always acts on the smaller side ``S = min(m, n)``),
    with ``N = ceil(S / r)`` frozen random bases ``B_i`` (``max(m, n) x r``), **one shared**
    frozen ``A`` (``r x S``) and trainable diagonals ``lambda_i`` (``r``, initialized to 0)
    and ``gamma_i`` (``S``, initialized to ``1 / max(m, n)``): the reference implementation
    (PEFT's ``RandLoraConfig``).  The bases are Kaiming-uniform draws normalized to unit
    standard deviation, from ``projection_seed`` (PEFT's ``projection_prng_key = 0``; ``None``:
    the ``init`` rng).  ``s = alpha / r`` with PEFT's default ``alpha = 20 r`` (``s = 20``).
    PEFT pairs the flattened basis columns with a fixed permutation of the
    ``(basis, rank)`` index; with i.i.d. bases that is the same distribution, and we use the
    natural pairing.

    ``sum_i rank <= N r >= S``: full rank is reachable with ``N (r + S)`` trainable scalars.

    Examples
    --------
    >>> import numpy as np
    >>> adapter = randlora(16)
    >>> state = adapter.init(np.zeros((64, 64)), rng=0)
    >>> adapter.num_params((64, 64)), state.params["lambda"].shape, state.params["gamma"].shape
    (320, (4, 16), (4, 64))
    """
    rank = check_int(rank, "rank", low=1)
    alpha = 20.0 * rank if alpha is None else check_float(alpha, "alpha", low=0.0, low_inclusive=False)
    if projection_seed is not None:
        projection_seed = check_int(projection_seed, "projection_seed", low=0)
    cfg = _RandLoRAConfig(rank, alpha / rank, projection_seed)
    config = {"rank": rank, "alpha": alpha, "scale": cfg.scale, "projection_seed": projection_seed}
    return Adapter("randlora", functools.partial(_randlora_init, cfg), functools.partial(_randlora_delta, cfg),
                   functools.partial(_randlora_pullback, cfg), functools.partial(_randlora_num_params, cfg),
                   "layer", config, accepts_factored=True, factors=functools.partial(_randlora_factors, cfg))


# =========================================================================== #
# SVFit
# =========================================================================== #
def svfit_rank(W0: Any, energy: float = 0.99) -> int:
    """Smallest ``r`` whose top singular values hold ``energy`` of ``||W0||_F^2`` (SVFit's rule).

    Examples
    --------
    >>> import numpy as np
    >>> svfit_rank(np.diag([3.0, 1.0, 0.1]), 0.85), svfit_rank(np.diag([3.0, 1.0, 0.1]), 0.9)   # 9 / 10.01 = 0.899
    (1, 2)
    """
    energy = check_float(energy, "energy", low=0.0, high=1.0, low_inclusive=False)
    S = np.asarray(backend.to_numpy(linalg.svd(W0).S), dtype=np.float64)
    share = np.cumsum(S * S) / float(np.sum(S * S))
    return int(min(np.searchsorted(share, energy - 1e-12) + 1, S.size))


@dataclass(frozen=True)
class _SVFitConfig:
    rank: int | None
    energy: float
    svd: str
    n_power_iter: int


def _svfit_init(cfg: _SVFitConfig, W0: Any, rng: Any = None) -> AdapterState:
    m, n = _matrix(W0, "svfit")
    r = svfit_rank(W0, cfg.energy) if cfg.rank is None else check_int(cfg.rank, "rank", low=1, high=min(m, n),
                                                                           high_label="min(m, n)")
    U, S, Vt = top_svd(W0, r, svd=cfg.svd, n_power_iter=cfg.n_power_iter, rng=backend.as_generator(rng))
    return AdapterState({"s": S}, {"U": U, "Vt": Vt, "s0": S})


def _svfit_delta(state: AdapterState) -> Any:
    f = state.frozen
    return (f["U"] * (state.params["s"] - f["s0"])[None, :]) @ f["Vt"]


def _svfit_pullback(state: AdapterState, G: Any) -> dict:
    xp = namespace(state.params["s"])
    f = state.frozen
    return {"s": xp.sum(_rmatmul_G(f["U"].T, G) * f["Vt"], axis=1)}


def _svfit_factors(state: AdapterState) -> tuple[Any, Any, float]:
    f = state.frozen
    return f["U"] * (state.params["s"] - f["s0"])[None, :], f["Vt"], 1.0


def _svfit_num_params(rank: int | None, shape: Any) -> int:
    return int(rank) if rank is not None else min(int(d) for d in shape)


def svfit(rank: int | None = None, *, energy: float = 0.99, svd: str = "exact", n_power_iter: int = 4) -> Adapter:
    """SVFit (Sun et al. 2024): train the top-``r`` singular values of ``W0``, keep its singular vectors.

    ``W = U_r diag(s) V_r^T + (W0 - U_r S_r V_r^T)`` with trainable ``s`` initialized to
    ``S_r``, i.e. ``dW = U_r diag(s - S_r) V_r^T`` (0 at step 0).  ``rank=None`` picks the
    smallest ``r`` whose singular values "capture over 99% of the matrix's information",
    read as 99 % of ``||W0||_F^2`` (reconstruction: the paper's measure of information is
    not pinned down; :func:`svfit_rank`).

    The update is diagonal in ``W0``'s own singular bases: SVFit can only **rescale** the
    top singular triplets (it cannot rotate them, and it cannot create intruder
    dimensions).  ``num_params = r`` (with ``rank=None`` the rank depends on ``W0``;
    ``num_params`` then returns the bound ``min(m, n)``; fix the rank with
    ``svfit(svfit_rank(W0))`` for exact counts).

    Examples
    --------
    >>> import numpy as np
    >>> adapter = svfit(2)
    >>> state = adapter.init(np.diag([3.0, 2.0, 1.0]), rng=0)
    >>> state.params["s"].tolist(), adapter.num_params((3, 3))
    ([3.0, 2.0], 2)
    """
    if rank is not None:
        rank = check_int(rank, "rank", low=1)
    energy = check_float(energy, "energy", low=0.0, high=1.0, low_inclusive=False)
    svd, n_power_iter = _check_svd(svd, n_power_iter)
    cfg = _SVFitConfig(rank, energy, svd, n_power_iter)
    config = {"rank": rank, "energy": energy, "svd": svd}
    return Adapter("svfit", functools.partial(_svfit_init, cfg), _svfit_delta, _svfit_pullback,
                   functools.partial(_svfit_num_params, rank), "layer", config, accepts_factored=True,
                   factors=_svfit_factors)


# =========================================================================== #
# LoLDU
# =========================================================================== #
@dataclass(frozen=True)
class _LoLDUConfig:
    rank: int
    train_scale: bool


def _loldu_init(cfg: _LoLDUConfig, W0: Any, rng: Any = None) -> AdapterState:
    m, n = _matrix(W0, "loldu")
    r = check_int(cfg.rank, "rank", low=1, high=min(m, n), high_label="min(m, n)")
    xp = namespace(W0)
    P, L, U = linalg.lu(W0)
    D = xp.linalg.diagonal(U)[:r]
    if not bool(xp.all(xp.abs(D) > 0)):
        raise ValueError("W0 must have non-zero LU pivots among the first rank diagonal entries (LoLDU divides by them)")
    frozen = {"PL": (P @ L)[:, :r], "Ut": U[:r, :] / D[:, None]}
    params = {"z": _zeros((r,), W0)}
    if cfg.train_scale:
        params["sigma"] = xp.ones((1,), dtype=W0.dtype, device=backend.device(W0))
    return AdapterState(params, frozen)


def _loldu_sigma(state: AdapterState) -> Any:
    return state.params["sigma"][0] if "sigma" in state.params else 1.0


def _loldu_delta(state: AdapterState) -> Any:
    f = state.frozen
    return (_loldu_sigma(state) * (f["PL"] * state.params["z"][None, :])) @ f["Ut"]


def _loldu_pullback(state: AdapterState, G: Any) -> dict:
    xp = namespace(state.params["z"])
    f = state.frozen
    core = xp.sum(_rmatmul_G(f["PL"].T, G) * f["Ut"], axis=1)  # d/dz_k of <G, PL diag(z) Ut>
    out = {"z": _loldu_sigma(state) * core}
    if "sigma" in state.params:
        out["sigma"] = xp.reshape(xp.sum(state.params["z"] * core), (1,))
    return out


def _loldu_factors(state: AdapterState) -> tuple[Any, Any, float]:
    f = state.frozen
    return _loldu_sigma(state) * (f["PL"] * state.params["z"][None, :]), f["Ut"], 1.0


def _loldu_num_params(cfg: _LoLDUConfig, shape: Any) -> int:
    return cfg.rank + int(cfg.train_scale)


def loldu(rank: int, *, train_scale: bool = True) -> Adapter:
    """LoLDU (Shi et al. 2024): a trainable diagonal between the LU factors of ``W0``.

    ``P, L, U = lu(W0)`` (partial pivoting, :func:`lowrank_lab.linalg.lu`), ``D = diag(U)``,
    ``U' = D^{-1} U`` (unit upper), and
    ``dW = sigma * P L[:, :r] diag(z) U'[:r, :]`` with trainable ``z`` (``r``, initialized to
    0) and, with ``train_scale``, a trainable scalar ``sigma`` (initialized to 1).
    Reconstruction of what the paper leaves open: which ``r`` columns (the first ones),
    the zero initialization of ``z`` (so the output is unchanged at step 0) and the scalar.

    ``rank(dW) <= r`` and the update lives in the fixed bases ``P L_r`` and ``U'_r``;
    ``num_params = r + 1`` (``r`` without the scalar).

    Examples
    --------
    >>> import numpy as np
    >>> W0 = np.array([[4.0, 3.0], [6.0, 3.0]])
    >>> adapter = loldu(1)
    >>> state = adapter.init(W0, rng=0)
    >>> state.frozen["Ut"].tolist(), adapter.num_params(W0.shape)          # U' has a unit diagonal
    ([[1.0, 0.5]], 2)
    """
    rank = check_int(rank, "rank", low=1)
    if not isinstance(train_scale, bool):
        raise TypeError(f"train_scale must be a bool, got {train_scale!r}")
    cfg = _LoLDUConfig(rank, train_scale)
    return Adapter("loldu", functools.partial(_loldu_init, cfg), _loldu_delta, _loldu_pullback,
                   functools.partial(_loldu_num_params, cfg), "layer", {"rank": rank, "train_scale": train_scale},
                   accepts_factored=True, factors=_loldu_factors)


# =========================================================================== #
# orthogonal initialization
# =========================================================================== #
def _orthogonal_init(cfg: _LoRAConfig, W0: Any, rng: Any = None) -> AdapterState:
    m, n = _matrix(W0, "orthogonal_lora")
    r = check_int(cfg.rank, "rank", low=2, high=min(m, n), high_label="min(m, n)")
    gen = backend.as_generator(rng)
    Q, _ = np.linalg.qr(gen.standard_normal((r, r)))
    q_odd, q_even = Q[0::2, :], Q[1::2, :]  # orthogonal row sets: q_even q_odd^T = 0
    A = (gen.standard_normal((n, r // 2)) @ q_odd).T / 10.0
    B = (gen.standard_normal((r // 2, m)).T @ q_even) / 10.0
    return AdapterState({"B": backend.asarray(B, like=W0, dtype=W0.dtype), "A": backend.asarray(A, like=W0, dtype=W0.dtype)},
                        {})


def orthogonal_lora(rank: int, alpha: float = 8.0, *, rank_stabilized: bool = False) -> Adapter:
    """LoRA with PEFT's orthogonal initialization (``init_lora_weights="orthogonal"``): ``B A = 0``, both nonzero.

    ``Q`` = orthogonal ``r x r`` (QR of a Gaussian); ``A = (X Q_odd)^T / 10`` and
    ``B = (Y^T Q_even) / 10`` with Gaussian ``X`` (``n x r/2``), ``Y`` (``r/2 x m``) and
    ``Q_odd``, ``Q_even`` the odd and even rows of ``Q``.  Since ``Q_even Q_odd^T = 0``,
    ``B A = 0`` up to round-off while both factors are nonzero: the output is unchanged at
    step 0 and, unlike ``B = 0``, both factors get gradients from the first step.  ``r``
    must be even.  ``dW = s B A`` as :func:`lora`; ``num_params = r (m + n)``.

    Examples
    --------
    >>> import numpy as np
    >>> state = orthogonal_lora(4).init(np.zeros((6, 5)), rng=0)
    >>> B, A = state.params["B"], state.params["A"]
    >>> bool(np.abs(B @ A).max() < 1e-15), bool(np.abs(B).min() > 0)
    (True, True)
    """
    rank = check_int(rank, "rank", low=2)
    if rank % 2:
        raise ValueError(f"rank must be even for the orthogonal initialization, got {rank}")
    alpha = check_float(alpha, "alpha", low=0.0, low_inclusive=False)
    scale = _scale(alpha, rank, rank_stabilized)
    cfg = _LoRAConfig(rank, alpha, scale, "kaiming_uniform", True)
    config = {"rank": rank, "alpha": alpha, "scale": scale, "init": "orthogonal"}
    return Adapter("orthogonal_lora", functools.partial(_orthogonal_init, cfg), functools.partial(_lora_delta, cfg),
                   functools.partial(_lora_pullback, cfg), functools.partial(_lora_num_params, cfg), "layer", config,
                   accepts_factored=True, factors=functools.partial(_lora_factors, cfg))
