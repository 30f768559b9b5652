"""The sensing lab's convex baseline: proximal gradient on the nuclear-norm-regularized least squares."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .. import backend, linalg
from .._validation import check_callback, check_float, check_int
from ..iteration import Iterate, iterate
from ..results import HistoryRecorder, SolverResult, seed_of
from .problems import SensingProblem
from .solvers import _check_problem, _check_stride, _check_tol

__all__ = ["nuclear_norm_pgd"]


def nuclear_norm_pgd(
    problem: SensingProblem,
    rank: int | None = None,
    *,
    reg: float = 1e-3,
    step_size: float | None = None,
    psd: bool | None = None,
    max_iter: int = 500,
    tol: float = 1e-9,
    check_every: int = 10,
    callback: Callable[[int, dict], bool | None] | None = None,
    rng: Any = None,
    history_stride: int = 1,
    progress: bool = False,
) -> SolverResult:
    """Convex baseline: proximal gradient on ``(w/2)||A(X) - y||^2 + reg ||X||_*``.

    ``X <- SVT_{eta reg}(X - eta w A^*(A(X) - y))`` from ``X_0 = 0``, where singular
    value thresholding ``SVT_tau`` shrinks the singular values by ``tau`` (standard).
    With ``psd=True`` the prox is over the PSD cone: eigenvalues of the symmetric
    part are shrinked and clipped at 0 (trace-norm regularization).

    Parameters
    ----------
    problem : SensingProblem
    rank : int, optional
        Keep at most this many singular values per step (a cap; None = no cap).
    reg : float, default 1e-3
        ``lambda``.  The minimizer is biased by ``O(reg)``: with noise-free data
        the relative error plateaus at a level that shrinks with ``reg``.
    step_size : float, optional
        Default ``0.95 / L`` with ``L = w ||A||_2^2`` estimated by 50 power iterations
        (``1`` for the fully observed variant).
    psd : bool, optional
        Default: True when the truth is PSD.
    max_iter : int, default 500
    tol : float, default 1e-9
        Stop ("converged") when ``||X_{t+1} - X_t||_F <= tol * max(||X_t||_F, 1e-12)``.
    check_every, callback, history_stride, progress
        As in :func:`factored_gd`.
    rng : int, Generator or None
        Start of the power iteration.

    Returns
    -------
    SolverResult
        ``factors = (F, G)`` with ``X = F G^T``, ``F = U S^{1/2}``, ``G = V S^{1/2}``
        over the nonzero singular values (at least one column).  The history
        records ``loss`` (the objective), ``relative_error`` and ``rank``.

    Examples
    --------
    >>> from lowrank_lab.matrices import low_rank_matrix
    >>> from lowrank_lab.sensing import gaussian_sensing
    >>> M = low_rank_matrix(8, 8, 1, rng=0)
    >>> problem = gaussian_sensing(M, 120, rng=1)
    >>> res = nuclear_norm_pgd(problem, reg=1e-4, max_iter=400, rng=0)
    >>> bool(res.final("relative_error") < 1e-2), int(res.history["rank"].iloc[-1])
    (True, 1)
    """
    problem = _check_problem(problem)
    n1, n2 = problem.shape
    if rank is not None:
        rank = check_int(rank, "rank", low=1, high=min(n1, n2), high_label="min(n1, n2)")
    reg = check_float(reg, "reg", low=0.0)
    if psd is None:
        psd = bool(problem.psd)
    if psd and n1 != n2:
        raise ValueError(f"psd=True needs a square problem, got shape ({n1}, {n2})")
    max_iter = check_int(max_iter, "max_iter", low=0)
    check_every = check_int(check_every, "check_every", low=1)
    tol = _check_tol(tol)
    callback = check_callback(callback)
    op = problem.operator
    y = problem.measurements
    xp = backend.array_namespace(y)
    w = op.loss_weight
    if step_size is None:
        step_size = 0.95 / _lipschitz(problem, rng)
    step_size = check_float(step_size, "step_size", low=0.0, low_inclusive=False)
    M = problem.truth_matrix
    M_norm = None if M is None else xp.linalg.matrix_norm(M)
    recorder = HistoryRecorder(_check_stride(history_stride))
    X = xp.zeros((n1, n2), dtype=y.dtype, device=backend.device(y))
    shrink_total = step_size * reg

    def prox(Y: Any) -> tuple[Any, Any]:
        if psd:
            evals, evecs = xp.linalg.eigh(0.5 * (Y + xp.matrix_transpose(Y)))
            s = xp.maximum(evals - shrink_total, 0.0)
            if rank is not None:
                s = _keep_top(xp, s, rank)
            return (evecs * s[None, :]) @ xp.matrix_transpose(evecs), s
        U, S, Vt = xp.linalg.svd(Y, full_matrices=False)
        s = xp.maximum(S - shrink_total, 0.0)
        if rank is not None:
            s = _keep_top(xp, s, rank)
        return (U * s[None, :]) @ Vt, s

    s0 = xp.zeros((min(n1, n2),), dtype=y.dtype, device=backend.device(y))

    # state: (X, its singular values, the previous iterate)
    def measure(it: Iterate) -> Any:
        X, s, _ = it.state
        r = op.apply(X) - y
        it.cache["r"] = r
        return 0.5 * w * xp.sum(r * r) + reg * xp.sum(xp.abs(s))

    def metrics(it: Iterate) -> dict:
        X, s, _ = it.state
        values = {}
        if M is not None:
            values["relative_error"] = xp.linalg.matrix_norm(X - M) / M_norm
        values["rank"] = xp.sum(xp.astype(s > 0, xp.int64))
        return values

    def check(it: Iterate) -> str | None:
        X, _, X_prev = it.state
        if X_prev is None:
            return None
        change = float(xp.linalg.matrix_norm(X - X_prev))
        size = float(xp.linalg.matrix_norm(X_prev))
        return "converged" if math.isfinite(change) and change <= tol * max(size, 1e-12) else None

    def step(it: Iterate) -> tuple:
        X = it.state[0]
        it.loss  # noqa: B018 - fills the residual
        X_new, s_new = prox(X - step_size * (w * op.adjoint(it.cache["r"])))
        return X_new, s_new, X

    outcome = iterate(
        (X, s0, None), step, loss=measure, factors=lambda st: _factor_from_matrix(st[0], psd), recorder=recorder,
        metrics=metrics, check=check, max_iter=max_iter, check_every=check_every, callback=callback,
        progress=progress, desc="nuclear_norm_pgd", expose={"step_size": lambda it: step_size},
    )
    X, t, stop_reason = outcome.state[0], outcome.n_iter, outcome.stop_reason
    F, G = _factor_from_matrix(X, psd)
    params = {"rank": rank, "reg": reg, "step_size": step_size, "psd": psd, "max_iter": max_iter, "tol": tol}
    return recorder.result(
        factors=(F, G), n_iter=t, stop_reason=stop_reason, seed=seed_of(rng), solver="nuclear_norm_pgd",
        params=params,
    )


def _keep_top(xp: Any, s: Any, rank: int) -> Any:
    """Zero all but the ``rank`` largest entries of ``s`` (ties keep the first)."""
    order = xp.argsort(s, descending=True, stable=True)
    ranks = xp.argsort(order, stable=True)  # position of each entry in the descending order
    keep = ranks < rank
    return xp.where(keep, s, xp.zeros_like(s))


def _factor_from_matrix(X: Any, psd: bool) -> tuple[Any, Any]:
    """``(U S^{1/2}, V S^{1/2})`` over the nonzero singular values (at least one column)."""
    xp = backend.array_namespace(X)
    if not bool(xp.all(xp.isfinite(X))):
        X = xp.zeros_like(X)
    U, S, Vt = linalg.svd(X)
    tol = float(S[0]) * max(X.shape) * float(xp.finfo(X.dtype).eps) if S.shape[0] else 0.0
    k = max(1, int(xp.sum(xp.astype(S > tol, xp.int64))))
    root = xp.sqrt(S[:k])
    F = U[:, :k] * root[None, :]
    G = xp.matrix_transpose(Vt[:k, :]) * root[None, :]
    return F, G


def _lipschitz(problem: SensingProblem, rng: Any, n_iter: int = 50) -> float:
    """``w ||A||_2^2`` by power iteration on ``w A^* A`` (1 for the identity operator)."""
    op = problem.operator
    if op.nbytes == 0:
        return op.loss_weight
    y = problem.measurements
    xp = backend.array_namespace(y)
    v = backend.random_normal(op.shape, rng=rng, like=y)
    v = v / xp.linalg.matrix_norm(v)
    norm = None
    for _ in range(max(n_iter, 1)):
        u = op.loss_weight * op.adjoint(op.apply(v))
        norm = xp.linalg.matrix_norm(u)
        v = u / norm
    return float(norm)
