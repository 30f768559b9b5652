"""Predictions and error metrics of completion results, from factors only (never a dense matrix)."""

from __future__ import annotations

from typing import Any

from .. import backend, linalg
from .._validation import check_array, check_indices, check_namespace
from ..matrices import LowRankMatrix
from ..results import SolverResult
from .observations import Observations

__all__ = ["mae", "predict", "relative_error", "rmse"]


def _factors_of(result: Any, name: str = "result") -> tuple[Any, Any]:
    if isinstance(result, SolverResult):
        factors = result.factors
    elif isinstance(result, (tuple, list)):
        factors = tuple(result)
    else:
        raise TypeError(f"{name} must be a SolverResult or a pair of factors (F, G), got {type(result).__name__}")
    if len(factors) != 2:
        raise ValueError(f"{name} must hold two factors (F, G) with estimate F @ G.T, got {len(factors)}")
    return factors[0], factors[1]


def predict(result: Any, rows: Any, cols: Any) -> Any:
    """Entries ``(F @ G.T)[rows[t], cols[t]]`` of a completion result (never the dense matrix).

    Parameters
    ----------
    result : SolverResult or (F, G)
    rows, cols : integer arrays of equal length

    Examples
    --------
    >>> import numpy as np
    >>> F, G = np.array([[1.0], [2.0]]), np.array([[3.0], [4.0]])
    >>> predict((F, G), np.array([0, 1]), np.array([1, 0]))
    array([4., 6.])
    """
    F, G = _checked_factors(result)
    xp = backend.array_namespace(F, G)
    rows = _index_like(rows, "rows", F)
    cols = _index_like(cols, "cols", F)
    if rows.shape != cols.shape:
        raise ValueError(f"rows and cols must have the same shape, got {tuple(rows.shape)} and {tuple(cols.shape)}")
    if rows.shape[0] == 0:
        return xp.zeros(0, dtype=F.dtype, device=backend.device(F))
    for idx, bound, name in ((rows, F.shape[0], "rows"), (cols, G.shape[0], "cols")):
        lo, hi = int(xp.min(idx)), int(xp.max(idx))
        if lo < 0 or hi >= bound:
            raise ValueError(f"{name} must be in [0, {bound}), got {lo if lo < 0 else hi}")
    return linalg.sampled_dot(F, G, rows, cols)


def _index_like(idx: Any, name: str, like: Any) -> Any:
    return check_indices(idx, name, like=like)


def _checked_factors(result: Any, name: str = "result") -> tuple[Any, Any]:
    """The factors ``(F, G)`` of a result: 2-D, one namespace, the same rank."""
    F, G = _factors_of(result, name)
    check_namespace(**{f"{name} F": F, f"{name} G": G})
    if F.ndim != 2 or G.ndim != 2:
        raise ValueError(f"{name} factors must be 2-D, got shapes {tuple(F.shape)} and {tuple(G.shape)}")
    if F.shape[1] != G.shape[1]:
        raise ValueError(
            f"{name} factors must have the same rank (columns), got F {tuple(F.shape)} and G {tuple(G.shape)}"
        )
    return F, G


def _check_same_backend(result: Any, obs: Observations, name: str = "result") -> None:
    F, _ = _checked_factors(result, name)
    have, want = backend.backend_name(backend.array_namespace(F)), backend.backend_name(obs.xp)
    if have != want:
        raise TypeError(f"{name} and obs must live in one namespace, got {name} on {have} and obs on {want} "
                        f"(move one with backend.asarray or Observations.to_namespace)")


def _check_obs(obs: Any, name: str = "obs") -> Observations:
    if not isinstance(obs, Observations):
        raise TypeError(f"{name} must be lowrank_lab.completion.Observations, got {type(obs).__name__}")
    if obs.nnz == 0:
        raise ValueError(f"{name} must hold at least one observed entry, got nnz=0")
    return obs


def rmse(result: Any, obs: Observations) -> float:
    """Root-mean-square error of the predictions on the entries of ``obs``.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_lab.completion import Observations
    >>> obs = Observations([0, 1], [0, 0], [1.0, 0.0], shape=(2, 1))
    >>> rmse((np.array([[1.0], [1.0]]), np.array([[1.0]])), obs)
    0.7071067811865476
    """
    obs = _check_obs(obs)
    _check_same_backend(result, obs)
    xp = obs.xp
    r = predict(result, obs.rows, obs.cols) - obs.values
    return float(xp.sqrt(xp.mean(r * r)))


def mae(result: Any, obs: Observations) -> float:
    """Mean absolute error of the predictions on the entries of ``obs``.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_lab.completion import Observations
    >>> obs = Observations([0, 1], [0, 0], [1.0, 0.0], shape=(2, 1))
    >>> mae((np.array([[1.0], [1.0]]), np.array([[1.0]])), obs)
    0.5
    """
    obs = _check_obs(obs)
    _check_same_backend(result, obs)
    xp = obs.xp
    return float(xp.mean(xp.abs(predict(result, obs.rows, obs.cols) - obs.values)))


def _truth_factors(truth: Any, shape: tuple[int, int], like: Any) -> tuple[Any, Any] | None:
    if truth is None:
        return None
    if isinstance(truth, LowRankMatrix):
        F, G = truth.balanced_factors()
    elif isinstance(truth, (tuple, list)) and len(truth) == 2:
        F = check_array(truth[0], "truth[0]", ndim=2)
        G = check_array(truth[1], "truth[1]", ndim=2)
    else:
        raise TypeError(
            "truth must be a LowRankMatrix or a pair of factors (F, G) with M = F @ G.T "
            f"(the dense matrix is never used), got {type(truth).__name__}"
        )
    if (F.shape[0], G.shape[0]) != tuple(shape) or F.shape[1] != G.shape[1]:
        raise ValueError(
            f"truth must have shape {tuple(shape)} (factors (m, r) and (n, r)), got factors "
            f"{tuple(F.shape)} and {tuple(G.shape)}"
        )
    if backend.backend_name(backend.array_namespace(F)) != backend.backend_name(backend.array_namespace(like)):
        raise TypeError("truth must live in the same namespace as the observations")
    return F, G


def _factored_distance(xp: Any, U: Any, V: Any, F: Any, G: Any) -> Any:
    """``||U V^T - F G^T||_F`` from thin QRs of ``[U, F]`` and ``[V, G]`` (no cancellation)."""
    _, R1 = xp.linalg.qr(xp.concat([U, F], axis=1))
    _, R2 = xp.linalg.qr(xp.concat([V, G], axis=1))
    k = U.shape[1]
    sign = xp.concat([xp.ones(k, dtype=U.dtype, device=backend.device(U)),
                      -xp.ones(F.shape[1], dtype=U.dtype, device=backend.device(U))])
    return xp.linalg.matrix_norm((R1 * sign[None, :]) @ xp.matrix_transpose(R2))


def _product_norm(xp: Any, F: Any, G: Any) -> Any:
    """``||F G^T||_F`` via the Gram matrices."""
    val = xp.sum((xp.matrix_transpose(F) @ F) * (xp.matrix_transpose(G) @ G))
    return xp.sqrt(xp.clip(val, min=0.0)) if hasattr(xp, "clip") else xp.sqrt(val)


def relative_error(result: Any, truth: Any) -> float:
    """``||F G^T - M*||_F / ||M*||_F`` from factors only (``truth``: LowRankMatrix or ``(F*, G*)``).

    Computed from thin QRs of ``[F, F*]`` and ``[G, G*]``: accurate to machine
    precision and ``O((m + n) k^2)``.

    Examples
    --------
    >>> from lowrank_lab.matrices import low_rank_matrix
    >>> truth = low_rank_matrix(20, 10, 2, rng=0)
    >>> F, G = truth.balanced_factors()
    >>> relative_error((2 * F, G), truth)
    1.0
    """
    F, G = _factors_of(result)
    xp = backend.array_namespace(F, G)
    if truth is None:
        raise TypeError("truth must be a LowRankMatrix or a pair of factors (F, G), got None")
    TF, TG = _truth_factors(truth, (F.shape[0], G.shape[0]), F)
    return float(_factored_distance(xp, F, G, TF, TG) / _product_norm(xp, TF, TG))
