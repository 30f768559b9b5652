"""LoRA-specific gradient transforms: LoRA-Pro's adjusted gradients and ALLoRA's norm scaling.

Both are :class:`~lowrank_lab.adapters.GradientTransformation` values in the style of
:mod:`lowrank_lab.adapters.transforms` (optax's shape) and compose with
:func:`~lowrank_lab.adapters.chain`; both need ``params`` in ``update``.

LoRA-Pro (Wang et al. 2024)
    With ``W = W0 + s B A`` and ``G = dL/dW``, LoRA's gradients are ``g_A = s B^T G``
    and ``g_B = s G A^T``; one SGD step moves ``W`` by ``-eta g~`` with the *equivalent
    gradient* ``g~ = s (B g_A + g_B A) = s^2 (B B^T G + G A^T A)``
    (:func:`equivalent_gradient`).  :func:`lora_pro` replaces ``(g_A, g_B)`` by the pair
    that makes ``g~`` the best approximation of ``G`` in LoRA's tangent space
    ``{B X + Y A}``, whose residual is ``(I - P_B) G (I - P_A)`` (:func:`tangent_residual`),
    using the LoRA gradients only:

    * ``g^_A = (1/s^2) (B^T B)^{-1} g_A + X A``,
    * ``g^_B = (1/s^2) (I - P_B) g_B (A A^T)^{-1} - B X``,

    where ``X`` (``r x r``) solves the Sylvester equation
    ``B^T B X + X A A^T = -(1/s^2) (B^T B)^{-1} g_A A^T`` (the choice closest to
    ``(g_A, g_B)``; ``X = 0`` is also optimal for ``g~``) by
    :func:`lowrank_lab.linalg.solve_sylvester`.  ``B = 0`` (LoRA's initialization) makes
    ``B^T B`` singular: both Gram matrices are damped by ``damping * I`` (1e-8).
ALLoRA (Huang & Balestriero 2024)
    :func:`allora` scales each parameter row by ``1 / sqrt(1/c + ||theta_row||^2)``: large
    steps while a factor is near 0 (LoRA's ``B``), smaller ones as it grows; meant to
    replace LoRA's scaling ``alpha`` and dropout.

Examples
--------
>>> import numpy as np
>>> from lowrank_lab.adapters import chain, sgd
>>> gen = np.random.default_rng(0)
>>> params = {"B": gen.standard_normal((5, 2)), "A": gen.standard_normal((2, 4))}
>>> G = gen.standard_normal((5, 4))
>>> grads = {"B": G @ params["A"].T, "A": params["B"].T @ G}          # LoRA's gradients with s = 1
>>> opt = chain(lora_pro(1.0), sgd(1.0))
>>> updates, _ = opt.update(grads, opt.init(params), params)
>>> step = -equivalent_gradient(params["B"], params["A"], updates["B"], updates["A"], 1.0)
>>> bool(np.allclose(G - step, tangent_residual(params["B"], params["A"], G)))
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import backend, linalg
from .._validation import check_choice, check_float
from .models import namespace
from .transforms import EmptyState, GradientTransformation

__all__ = [
    "GRANULARITIES",
    "allora",
    "equivalent_gradient",
    "lora_pairs",
    "lora_pro",
    "lora_pro_gradients",
    "tangent_residual",
]

#: Granularities of ALLoRA's norm scaling.
GRANULARITIES = ("row", "tensor", "element")


def lora_pairs(keys: Any) -> dict[str, tuple[str, str]]:
    """``{prefix: (key of B, key of A)}`` for every LoRA pair among ``keys`` (``"B"``/``"A"`` or ``"W1/B"``/``"W1/A"``).

    Examples
    --------
    >>> lora_pairs(["W1/B", "W1/A", "W2/delta", "B", "A"])
    {'W1/': ('W1/B', 'W1/A'), '': ('B', 'A')}
    """
    keys = list(keys)
    present = set(keys)
    out = {}
    for k in keys:
        if k == "B" or k.endswith("/B"):
            prefix = k[:-1]
            if prefix + "A" in present:
                out[prefix] = (k, prefix + "A")
    return out


def equivalent_gradient(B: Any, A: Any, g_B: Any, g_A: Any, scale: float) -> Any:
    """``s (B g_A + g_B A)``: the first-order move of ``W = W0 + s B A`` per unit step along ``-(g_B, g_A)``."""
    return scale * (B @ g_A + g_B @ A)


def tangent_residual(B: Any, A: Any, G: Any) -> Any:
    """``(I - P_B) G (I - P_A)``: what no update of LoRA's factors can follow to first order.

    ``P_B``, ``P_A`` project onto ``col(B)`` and ``row(A)`` (least squares; a zero factor
    projects onto nothing).  ``||tangent_residual|| / ||G||`` is the minimum of
    ``||g~ - G|| / ||G||`` over every choice of factor gradients.
    """
    xp = namespace(G)
    QB = _range(B, xp)
    QA = _range(A.T, xp)
    R = G - QB @ (QB.T @ G)
    return R - (R @ QA) @ QA.T


def _range(M: Any, xp: Any) -> Any:
    """Orthonormal basis of ``col(M)`` (numerically nonzero directions only)."""
    U, S, _ = linalg.svd(M)
    tol = max(M.shape) * xp.finfo(M.dtype).eps * (float(S[0]) if S.shape[0] else 0.0)
    k = int(xp.sum(xp.astype(S > tol, xp.int64))) if float(S[0]) > 0 else 0
    return U[:, :k]


def lora_pro_gradients(B: Any, A: Any, g_B: Any, g_A: Any, scale: float, *, solve_x: bool = True,
                       damping: float = 1e-8) -> tuple[Any, Any]:
    """LoRA-Pro's adjusted gradients ``(g^_B, g^_A)`` from LoRA's ``(g_B, g_A)`` (see the module docstring)."""
    xp = namespace(B)
    r = B.shape[1]
    eye = xp.eye(r, dtype=B.dtype, device=backend.device(B))
    BtB = B.T @ B + damping * eye
    AAt = A @ A.T + damping * eye
    BtB_inv = xp.linalg.inv(BtB)
    AAt_inv = xp.linalg.inv(AAt)
    s2 = scale * scale
    gA_hat = (BtB_inv @ g_A) / s2
    gB_hat = ((g_B - B @ (BtB_inv @ (B.T @ g_B))) @ AAt_inv) / s2
    if solve_x:
        X = linalg.solve_sylvester(BtB, AAt, -(BtB_inv @ g_A @ A.T) / s2)
        gA_hat = gA_hat + X @ A
        gB_hat = gB_hat - B @ X
    return gB_hat, gA_hat


@dataclass(frozen=True)
class _LoRAPro:
    scale: Any
    solve_x: bool
    damping: float

    def update(self, grads: Mapping[str, Any], state: Any, params: Any = None) -> tuple[dict, Any]:
        if params is None:
            raise ValueError("lora_pro needs params: call update(grads, state, params)")
        out = dict(grads)
        for prefix, (kB, kA) in lora_pairs(grads).items():
            s = self.scale[prefix.rstrip("/")] if isinstance(self.scale, Mapping) else self.scale
            out[kB], out[kA] = lora_pro_gradients(params[kB], params[kA], grads[kB], grads[kA], s,
                                                  solve_x=self.solve_x, damping=self.damping)
        return out, state


def _empty(params: Any) -> EmptyState:
    return EmptyState()


def lora_pro(scale: float | Mapping[str, float], *, solve_x: bool = True, damping: float = 1e-8) -> GradientTransformation:
    """LoRA-Pro's adjusted gradients (Wang et al. 2024) as a transform: place it before the optimizer.

    Parameters
    ----------
    scale : float or dict layer -> float
        The adapter's scaling ``s`` (``adapter.config["scale"]``), per layer for model-scope
        keys ``"W1/B"`` (the dict is keyed by ``"W1"``).
    solve_x : bool, default True
        Solve the Sylvester equation for ``X`` (reference code); ``False``: ``X = 0`` (the
        same equivalent gradient, a different split between the factors).
    damping : float, default 1e-8
        Added to the diagonals of ``B^T B`` and ``A A^T``.

    Notes
    -----
    Leaves that are not LoRA pairs pass through.  With SGD (``chain(lora_pro(s), sgd(lr))``)
    this is LoRA-Pro; the reference code's AdamW variant keeps Adam's moments of the
    equivalent gradient in the full ``m x n`` space before mapping back, which this
    stateless transform does not reproduce (chaining it before ``adam`` is a different
    method).
    """
    if not isinstance(scale, Mapping):
        scale = check_float(scale, "scale", low=0.0, low_inclusive=False)
    if not isinstance(solve_x, bool):
        raise TypeError(f"solve_x must be a bool, got {solve_x!r}")
    damping = check_float(damping, "damping", low=0.0)
    impl = _LoRAPro(scale, solve_x, damping)
    return GradientTransformation(_empty, impl.update, "lora_pro")


@dataclass(frozen=True)
class _ALLoRA:
    inv_c: float
    granularity: str

    def update(self, grads: Mapping[str, Any], state: Any, params: Any = None) -> tuple[dict, Any]:
        if params is None:
            raise ValueError("allora needs params: call update(grads, state, params)")
        out = {}
        for k, g in grads.items():
            p = params[k]
            xp = namespace(p)
            if self.granularity == "element":
                sq = p * p
            elif self.granularity == "row" and p.ndim == 2:
                sq = xp.sum(p * p, axis=1, keepdims=True)
            else:
                sq = xp.sum(p * p)
            out[k] = g / xp.sqrt(self.inv_c + sq)
        return out, state


def allora(c: float = 1.0, *, granularity: str = "row") -> GradientTransformation:
    """ALLoRA's norm-scaled gradients (Huang & Balestriero 2024): ``g_row <- g_row / sqrt(1/c + ||theta_row||^2)``.

    "Scale the per sample and per parameter gradients with a coefficient inversely
    proportional to parameters' l2 norm".  Reconstruction (the paper leaves the
    granularity open): ``"row"`` (default) uses each row of a matrix parameter (a row of
    ``B`` is one output unit's ``r`` coefficients; a row of ``A`` one component), vectors
    as a whole; ``"tensor"`` one norm per parameter; ``"element"`` ``|theta_ij|``.  At
    ``B = 0`` the factor is ``sqrt(c)``: the escape from LoRA's zero initialization is
    sped up, and the steps shrink as the factors grow.  Use it with LoRA without ``alpha``
    scaling (``lora(r, alpha=r)``) and without dropout: ``chain(allora(c), sgd(lr))``.
    With Adam, place it after ``scale_by_adam`` (an adaptive learning rate): before Adam
    a per-row factor is normalized away.

    Examples
    --------
    >>> import numpy as np
    >>> t = allora(4.0)
    >>> u, _ = t.update({"B": np.ones((2, 2))}, t.init({}), {"B": np.array([[0.0, 0.0], [3.0, 4.0]])})
    >>> np.round(u["B"], 6).tolist()      # sqrt(1/4 + 0) = 0.5 and sqrt(1/4 + 25)
    [[2.0, 2.0], [0.199007, 0.199007]]
    """
    c = check_float(c, "c", low=0.0, low_inclusive=False)
    granularity = check_choice(granularity, "granularity", GRANULARITIES)
    impl = _ALLoRA(1.0 / c, granularity)
    return GradientTransformation(_empty, impl.update, "allora")
