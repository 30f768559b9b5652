"""WeLore's one-shot, non-uniform rank selection and the projector metrics of gradient projection."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .. import backend
from .._validation import check_array, check_choice, check_float
from ._ranks import _spectrum, welore_prune_rank

#: WeLore's low-rank-component rule: a matrix is an LRC when ``k_prune / q`` exceeds this.
LRC_THRESHOLD = 0.4999


class WeLoreSelection(NamedTuple):
    """What :func:`welore_ranks` returns.

    Attributes
    ----------
    tau : float
        The global threshold on the normalized singular values.
    reduction : float
        Achieved fraction of parameters removed, ``1 - params_after / params_before``.
    target : float
        The requested reduction.
    table : pandas.DataFrame
        One row per matrix: ``name, m, n, q, k_prune, kept_rank, prune_ratio, lrc,
        params_before, params_after``.
    """

    tau: float
    reduction: float
    target: float
    table: pd.DataFrame

    @property
    def ranks(self) -> dict:
        """``name -> kept rank`` of the low-rank components (N-LRCs are kept dense)."""
        t = self.table
        return {str(n): int(k) for n, k, lrc in zip(t["name"], t["kept_rank"], t["lrc"]) if lrc}


def _spectra(matrices: Mapping[str, Any], shapes: Mapping[str, Any] | None) -> dict:
    if not isinstance(matrices, Mapping) or not matrices:
        raise TypeError("matrices must be a non-empty dict name -> 2-D array (or 1-D singular values with shapes=)")
    out = {}
    for name, W in matrices.items():
        W = check_array(W, f"matrices[{name!r}]", ndim=(1, 2))
        if W.ndim == 2:
            shape = tuple(int(d) for d in W.shape)
        else:
            if shapes is None or name not in shapes:
                raise ValueError(f"shapes must give the (m, n) of {name!r}, whose entry is 1-D singular values")
            shape = tuple(int(d) for d in shapes[name])
            if len(shape) != 2 or W.shape[0] != min(shape):
                raise ValueError(f"shapes[{name!r}] must be (m, n) with min(m, n) = {W.shape[0]} "
                                 f"(the number of singular values), got {shape}")
        s, _, _ = _spectrum(W, f"matrices[{name!r}]")
        out[str(name)] = (shape, np.asarray(backend.to_numpy(s), dtype=np.float64))
    return out


def _normalized(s: np.ndarray) -> np.ndarray:
    span = s[0] - s[-1]
    return (s - s[-1]) / span if span > 0 else np.full_like(s, np.inf)  # flat: never pruned


def _table(spectra: dict, tau: float, lrc_threshold: float) -> pd.DataFrame:
    rows = []
    for name, ((m, n), s) in spectra.items():
        q = min(m, n)
        k = int(np.count_nonzero(_normalized(s) < tau))  # = welore_prune_rank(s, tau)
        lrc = k / q > lrc_threshold
        kept = q - k if lrc else q  # N-LRCs stay dense and unpruned
        rows.append({"name": name, "m": m, "n": n, "q": q, "k_prune": k, "kept_rank": kept,
                     "prune_ratio": k / q, "lrc": bool(lrc), "params_before": m * n,
                     "params_after": kept * (m + n) if lrc else m * n})
    return pd.DataFrame(rows)


def welore_ranks(matrices: Mapping[str, Any], reduction: float, *, shapes: Mapping[str, Any] | None = None,
                 lrc_threshold: float = LRC_THRESHOLD) -> WeLoreSelection:
    """WeLore's one-shot rank selection: one global threshold for a target parameter reduction.

    Reference-code rule (Jaiswal et al. 2024, "From GaLore to WeLore", arXiv:2407.11239):
    per matrix, the singular values are normalized ``s~_i = (sigma_i - sigma_min) /
    (sigma_max - sigma_min)`` and ``k_prune = #{s~_i < tau}`` components are dropped
    (:func:`welore_prune_rank`).  A matrix is a **low-rank component** (LRC) when
    ``k_prune / q > 0.4999`` (``q = min(m, n)``): it is stored as the factors
    ``(U_k sqrt(S_k)) (sqrt(S_k) V_k^T)`` of rank ``k = q - k_prune``, ``k (m + n)``
    parameters.  The other matrices (N-LRCs) stay dense (``m n``): for them the factored
    form would save nothing.  One global ``tau`` is chosen, the smallest that removes at
    least ``reduction`` of all parameters (``tau`` is reported as the midpoint between the
    normalized value that reaches the target and the next one).  How a target reduction
    is counted (parameters, LRCs factored, N-LRCs dense) is our reading of the reference
    code (reconstruction).

    Parameters
    ----------
    matrices : dict name -> array
        2-D weight matrices, or 1-D singular values together with ``shapes``.
    reduction : float in [0, 1)
        Target fraction of parameters removed.
    shapes : dict name -> (m, n), optional
        Shapes of the matrices given by their singular values.
    lrc_threshold : float, default 0.4999

    Returns
    -------
    WeLoreSelection
        If even the largest ``tau`` cannot reach the target, ``tau`` is that largest one
        and ``reduction`` is what it achieves (below the target).

    Examples
    --------
    >>> import numpy as np
    >>> fast = np.diag(2.0 ** -np.arange(8.0))        # a fast-decaying spectrum: an LRC
    >>> flat = np.diag([1.0] * 7 + [0.5])             # a flat one with one small value: stays dense
    >>> sel = welore_ranks({"fast": fast, "flat": flat}, 0.3)
    >>> sel.table[["name", "kept_rank", "lrc"]].to_dict("list")
    {'name': ['fast', 'flat'], 'kept_rank': [1, 8], 'lrc': [True, False]}
    >>> round(sel.reduction, 3)
    0.375
    """
    reduction = check_float(reduction, "reduction", low=0.0, high=1.0, high_inclusive=False)
    lrc_threshold = check_float(lrc_threshold, "lrc_threshold", low=0.0, high=1.0)
    spectra = _spectra(matrices, shapes)
    total = sum(m * n for (m, n), _ in spectra.values())
    values = np.unique(np.concatenate([_normalized(s) for _, s in spectra.values()]))
    values = values[np.isfinite(values)]
    cands = np.concatenate([[0.0], (values[:-1] + values[1:]) / 2.0 if values.size > 1 else [], [1.0]])
    cands = np.unique(np.clip(cands, 0.0, 1.0))
    best_tau, best_table = 0.0, _table(spectra, 0.0, lrc_threshold)
    if reduction > 0:
        for tau in cands:  # reduction is non-decreasing in tau: the first hit is the smallest tau
            table = _table(spectra, float(tau), lrc_threshold)
            best_tau, best_table = float(tau), table
            if 1.0 - table["params_after"].sum() / total >= reduction:
                break
    achieved = 1.0 - best_table["params_after"].sum() / total
    return WeLoreSelection(best_tau, float(achieved), reduction, best_table)


def uniform_ranks(shapes: Mapping[str, Any], params: int) -> dict:
    """The uniform baseline of WeLore at a parameter budget: one kept-rank fraction for every matrix.

    Every matrix keeps rank ``k = max(1, floor(f q))`` of its ``q = min(m, n)`` and is
    stored as factors (``k (m + n)`` parameters) or dense (``m n``) when the factors are
    not smaller; ``f`` is the largest fraction whose total fits in ``params``.

    Returns
    -------
    dict name -> kept rank

    Examples
    --------
    >>> uniform_ranks({"a": (8, 8), "b": (8, 8)}, 64)
    {'a': 2, 'b': 2}
    """
    if not isinstance(shapes, Mapping) or not shapes:
        raise TypeError("shapes must be a non-empty dict name -> (m, n)")
    dims = {str(k): tuple(int(d) for d in v) for k, v in shapes.items()}
    for name, d in dims.items():
        if len(d) != 2 or min(d) < 1:
            raise ValueError(f"shapes[{name!r}] must be (m, n) with m, n >= 1, got {d}")

    def cost(f: float) -> tuple[int, dict]:
        ranks = {k: max(1, math.floor(f * min(d) + 1e-12)) for k, d in dims.items()}
        return sum(min(r * (d[0] + d[1]), d[0] * d[1]) for r, d in zip(ranks.values(), dims.values())), ranks

    grid = sorted({r / min(d) for d in dims.values() for r in range(1, min(d) + 1)})
    best = cost(grid[0])[1]
    for f in grid:
        total, ranks = cost(f)
        if total > params:
            break
        best = ranks
    return best


def captured_energy(G: Any, P: Any, side: str = "left") -> float:
    """Share of a gradient's energy a projector keeps: ``||P^T G||_F^2 / ||G||_F^2`` (uses sigma^2).

    ``side="left"``: ``P`` is ``m x r`` with orthonormal columns and the kept part is
    ``P^T G``; ``side="right"``: ``P`` is ``n x r`` and the kept part is ``G P``.  For
    the SVD projector of the same ``G`` this is the largest possible value at rank ``r``
    (Eckart-Young): ``sum_{i <= r} sigma_i^2 / sum_i sigma_i^2``.  0 for ``G = 0``.

    Examples
    --------
    >>> import numpy as np
    >>> G = np.diag([3.0, 1.0, 0.0])
    >>> captured_energy(G, np.eye(3)[:, :1])
    0.9
    """
    G = check_array(G, "G", ndim=2)
    P = check_array(P, "P", ndim=2)
    side = check_choice(side, "side", ("left", "right"))
    xp = backend.array_namespace(G, P)
    d = G.shape[0] if side == "left" else G.shape[1]
    if P.shape[0] != d:
        raise ValueError(f"P must have {d} rows for side={side!r} and G of shape {tuple(G.shape)}, "
                         f"got shape {tuple(P.shape)}")
    kept = xp.matrix_transpose(P) @ G if side == "left" else G @ P
    total = xp.sum(G * G)
    return float(xp.where(total > 0, xp.sum(kept * kept) / xp.where(total > 0, total, 1.0), 0.0))


__all__ = ["LRC_THRESHOLD", "WeLoreSelection", "captured_energy", "uniform_ranks", "welore_prune_rank",
           "welore_ranks"]
