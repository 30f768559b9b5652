"""The completion lab's other solvers: softImpute-ALS, SVT, SVP and ScaledGD.

:func:`soft_impute`
    softImpute-ALS (Hastie, Mazumder, Lee, Zadeh 2015) on the sparse-plus-low-rank
    structure; solves ``min 1/2 ||P_Omega(M - Z)||^2 + reg ||Z||_*`` for ranks up to ``rank``.
:func:`svt`
    Singular value thresholding (Cai, Candes, Shen 2010).
:func:`svp`
    Singular value projection / iterative hard thresholding (Jain, Meka, Dhillon 2010).
:func:`scaled_gd`
    ScaledGD for completion (Tong, Ma, Chi), spectral initialization.

Like :func:`~lowrank_lab.completion.altmin`, every solver takes
:class:`~lowrank_lab.completion.Observations`, never forms a dense ``m x n`` array,
and returns a :class:`~lowrank_lab.results.SolverResult` whose ``factors`` are
``(F, G)`` with estimate ``F @ G.T`` and whose history (one row every
``history_stride`` iterations, plus the last) has ``iteration``, ``time_s``,
``train_loss`` (the solver's objective, documented per solver), ``train_rmse``,
``relative_residual`` (``||P_Omega(FG^T - M)|| / ||P_Omega(M)||``),
``relative_error`` (``||FG^T - M*||_F / ||M*||_F`` when ``truth`` is given, from the
factors through two thin QRs) and ``test_rmse`` (when a ``test`` set is given).
Iteration 0 is the initialization.  Divergence stops with ``stop_reason="diverged"``
and returns the last finite iterate.

Examples
--------
>>> from lowrank_lab.completion import sample_entries
>>> from lowrank_lab.matrices import low_rank_matrix
>>> truth = low_rank_matrix(60, 50, 2, rng=0)
>>> obs = sample_entries(truth, p=0.5, rng=1)
>>> res = svp(obs, 2, truth=truth, rng=2)
>>> res.stop_reason, bool(res.final("relative_error") < 1e-8)
('converged', True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend, linalg
from .._validation import check_callback, check_choice, check_float, check_int
from ..iteration import progress_bar, quiet_overflow
from ..results import SolverResult, is_diverged, seed_of
from ._common import (
    _all_finite,
    _check_rank,
    _init_pair,
    _matmat,
    _Monitor,
    _operator_svd,
    _qr,
    _random_orthonormal,
    _rmatmat,
    _spectral,
)
from .metrics import _check_obs, _factors_of
from .observations import Observations

__all__ = ["scaled_gd", "soft_impute", "svp", "svt"]


# --------------------------------------------------------------------------- #
# softImpute-ALS
# --------------------------------------------------------------------------- #
def _svd_of_product(xp: Any, F: Any, G: Any) -> tuple[Any, Any, Any]:
    """Thin SVD ``F G^T = U diag(s) V^T`` without forming ``F G^T``."""
    Qf, Rf = _qr(xp, F)
    Qg, Rg = _qr(xp, G)
    W, s, Zt = xp.linalg.svd(Rf @ xp.matrix_transpose(Rg), full_matrices=False)
    return Qf @ W, s, Qg @ xp.matrix_transpose(Zt)


def soft_impute(
    obs: Observations,
    rank: int,
    *,
    reg: float,
    init: Any = "random",
    max_iter: int = 100,
    tol: float = 1e-5,
    truth: Any = None,
    test: Observations | None = None,
    callback: Any = None,
    rng: Any = None,
    history_stride: int = 1,
    progress: bool = False,
) -> SolverResult:
    """softImpute-ALS (Hastie, Mazumder, Lee, Zadeh 2015, Algorithm 3.1; R package ``softImpute``).

    Minimizes ``1/2 ||P_Omega(M - A B^T)||_F^2 + reg/2 (||A||_F^2 + ||B||_F^2)`` over
    ``A = U D``, ``B = V D`` of width ``rank`` by alternating ridge regressions on the
    filled-in matrix ``X* = P_Omega(M) + P_Omega_perp(A B^T)``, which is
    *sparse plus low rank*: ``X* = P_Omega(M - A B^T) + A B^T``, so each step costs
    ``O(|Omega| k + (m + n) k^2)``.  Once ``rank`` exceeds the rank of the solution,
    the final soft-thresholded SVD step returns the solution of the convex
    nuclear-norm problem ``min 1/2 ||P_Omega(M - Z)||^2 + reg ||Z||_*`` (SoftImpute of
    Mazumder, Hastie, Tibshirani 2010).

    Parameters
    ----------
    obs : Observations
    rank : int
        Maximum rank (R's ``rank.max``).
    reg : float
        ``lambda > 0`` (no default: choose it on a validation set, warm-starting along a
        decreasing path with ``init=previous_result``; the common ``sigma_max/50``
        default is a heuristic).
    init : "random" or SolverResult or (F, G)
        Random orthonormal ``U`` with ``D = I`` (the R package's start), or a warm start.
    max_iter : int, default 100
    tol : float, default 1e-5
        Stop when ``||Z_t - Z_{t-1}||_F^2 / ||Z_{t-1}||_F^2 <= tol`` (the R package's rule).
    truth, test, callback, rng, history_stride, progress
        As in :func:`altmin`.

    Returns
    -------
    SolverResult
        ``factors = (U diag(d), V)`` with ``d`` the soft-thresholded singular values (zero
        columns dropped, at least one kept).  ``train_loss`` is the objective above.

    Examples
    --------
    >>> from lowrank_lab.completion import sample_entries
    >>> from lowrank_lab.matrices import low_rank_matrix
    >>> truth = low_rank_matrix(60, 50, 2, rng=0)
    >>> obs = sample_entries(truth, p=0.5, rng=1)
    >>> res = soft_impute(obs, 5, reg=1e-3, tol=1e-9, max_iter=300, truth=truth, rng=0)
    >>> bool(res.final("relative_error") < 0.01), res.factors[0].shape[1] <= 5
    (True, True)
    """
    obs = _check_obs(obs)
    xp = obs.xp
    m, n = obs.shape
    k = _check_rank(rank, obs.shape)
    reg = check_float(reg, "reg", low=0.0, low_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", low=0)
    tol = check_float(tol, "tol", low=0.0)
    callback = check_callback(callback)
    monitor = _Monitor(obs, truth, test, tol, history_stride)
    seed = seed_of(rng)
    gen = backend.as_generator(rng)
    like = obs.values
    if isinstance(init, str):
        check_choice(init, "init", ("random",))
        U = _random_orthonormal((m, k), gen, like)
        Dsq = xp.ones(k, dtype=obs.dtype, device=backend.device(like))
        V = xp.zeros((n, k), dtype=obs.dtype, device=backend.device(like))
    else:
        F, G = _factors_of(init, "init")
        F, G = backend.asarray(F, like=like), backend.asarray(G, like=like)
        if F.shape[0] != m or G.shape[0] != n:
            raise ValueError(f"init factors must have {m} and {n} rows, got {tuple(F.shape)} and {tuple(G.shape)}")
        U, s, V = _svd_of_product(xp, F, G)
        width = min(k, s.shape[0])
        U, Dsq, V = U[:, :width], s[:width], V[:, :width]
        if width < k:  # pad with fresh directions and tiny weights
            extra = _random_orthonormal((m, k), gen, like)[:, : k - width]
            U, _ = _qr(xp, xp.concat([U, extra], axis=1))
            V = xp.concat([V, xp.zeros((n, k - width), dtype=obs.dtype, device=backend.device(like))], axis=1)
            Dsq = xp.concat([Dsq, xp.ones(k - width, dtype=obs.dtype, device=backend.device(like)) * 1e-8])

    def sparse_part(U: Any, Dsq: Any, V: Any) -> tuple[Any, Any, Any]:
        """Residual values ``M - A B^T`` on Omega (row order, column order) and ``A B^T`` there."""
        fit = linalg.sampled_dot(U * Dsq[None, :], V, obs.rows, obs.cols)
        res = obs.values - fit
        return res, xp.take(res, obs.col_order), fit

    def objective(res: Any, Dsq: Any) -> Any:
        return 0.5 * xp.sum(res * res) + reg * xp.sum(Dsq)

    def frob_ratio(U0: Any, D0: Any, V0: Any, U1: Any, D1: Any, V1: Any) -> Any:
        denom = xp.sum(D0 * D0)
        utu = D1[:, None] * (xp.matrix_transpose(U1) @ U0)
        vtv = D0[:, None] * (xp.matrix_transpose(V0) @ V1)
        uv = xp.sum(utu * xp.matrix_transpose(vtv))
        num = denom + xp.sum(D1 * D1) - 2.0 * uv
        return num / xp.maximum(denom, xp.asarray(1e-9, dtype=denom.dtype, device=backend.device(denom)))

    rec = monitor.recorder
    stop_reason = "max_iter"
    bar = progress_bar(max_iter, progress, "soft_impute")
    res, res_c, _ = sparse_part(U, Dsq, V)
    t = 0
    with quiet_overflow():
        for t in range(max_iter + 1):
            if t > 0:
                U_old, D_old, V_old = U, Dsq, V
                # B step: B^T = (D^2 + reg)^-1 D U^T X*, with U^T X* = (S^T U)^T + Dsq V^T
                B = _rmatmat(obs, res_c, U) + V * Dsq[None, :]  # (X*)^T U, n x k
                B = B * (Dsq / (Dsq + reg))[None, :]
                Vn, Dsq, Rt = xp.linalg.svd(B, full_matrices=False)
                V, U = Vn, U @ xp.matrix_transpose(Rt)
                res, res_c, _ = sparse_part(U, Dsq, V)
                # A step
                A = _matmat(obs, res, V) + U * Dsq[None, :]  # X* V, m x k
                A = A * (Dsq / (Dsq + reg))[None, :]
                Un, Dsq, Rt = xp.linalg.svd(A, full_matrices=False)
                U, V = Un, V @ xp.matrix_transpose(Rt)
                res, res_c, _ = sparse_part(U, Dsq, V)
                ratio = frob_ratio(U_old, D_old, V_old, U, Dsq, V)
                bar.update(1)
            F = U * Dsq[None, :]
            loss = objective(res, Dsq)
            if rec.due(t) or t == max_iter:
                rec.record(t, **monitor.metrics(F, V, -res, loss))
            if t > 0:
                host_ratio = float(ratio)
                if not math.isfinite(host_ratio) or is_diverged(float(loss), monitor.reference or float(loss)):
                    stop_reason = "diverged"
                    break
                if host_ratio <= tol:
                    stop_reason = "converged"
                    rec.record(t, **monitor.metrics(F, V, -res, loss))
                    break
            else:
                monitor.reference = float(loss)
            if callback is not None and callback(t, {"factors": (F, V), "iteration": t}):
                stop_reason = "callback"
                break
    bar.close()
    # final step: SVD of X* V, soft-threshold the singular values
    with quiet_overflow():
        M_hat = _matmat(obs, res, V) + U * Dsq[None, :]
        Uf, d, Rt = xp.linalg.svd(M_hat, full_matrices=False)
        Vf = V @ xp.matrix_transpose(Rt)
        d = xp.maximum(d - reg, xp.zeros_like(d))
        keep = max(1, int(xp.sum(xp.astype(d > 0, xp.int64))))
    factors = (Uf[:, :keep] * d[None, :keep], Vf[:, :keep])
    params = {"rank": k, "reg": reg, "max_iter": max_iter, "tol": tol, "nnz": obs.nnz, "shape": obs.shape,
              "effective_rank": int(xp.sum(xp.astype(d > 0, xp.int64))),
              "ops_per_sweep": float(4 * (2 * obs.nnz * k) + 2 * 2 * 2 * (m + n) * k * k)}
    return rec.result(factors=factors, n_iter=t, stop_reason=stop_reason, seed=seed, solver="soft_impute",
                      params=params)


# --------------------------------------------------------------------------- #
# SVT
# --------------------------------------------------------------------------- #
def svt(
    obs: Observations,
    *,
    tau: float | None = None,
    step: float | None = None,
    max_rank: int | None = None,
    rank_increment: int = 5,
    max_iter: int = 500,
    tol: float = 1e-4,
    truth: Any = None,
    test: Observations | None = None,
    callback: Any = None,
    rng: Any = None,
    history_stride: int = 1,
    progress: bool = False,
) -> SolverResult:
    """Singular value thresholding (Cai, Candes, Shen 2010).

    ``X_t = S_tau(Y_{t-1})``, ``Y_t = Y_{t-1} + step * P_Omega(M - X_t)``, with ``Y``
    supported on ``Omega`` (stored as its observed values) and ``S_tau`` the singular
    value soft-thresholding.  Only the singular values above ``tau`` are computed,
    by a warm-started randomized SVD of the sparse ``Y`` whose size grows by
    ``rank_increment`` until the smallest computed value falls below ``tau`` (the
    paper's rule).  Starts from ``Y_0 = k_0 step P_Omega(M)`` with
    ``k_0 = ceil(tau / (step ||P_Omega(M)||_2))``.

    Parameters
    ----------
    tau : float, optional
        Threshold.  The paper's ``tau = 5 n`` is about 5 times ``sigma_1`` of its
        normalized test matrices; the default is the scale-free
        ``5 ||P_Omega(M)||_2 / p_hat`` (about ``5 sigma_1(M)``; reconstruction).
    step : float, optional
        ``delta``; default ``1.2 / p_hat`` (the paper's choice).
    max_rank : int, optional
        Cap on the computed rank (default ``min(m, n) // 2``).
    rank_increment : int, default 5
    max_iter : int, default 500
    tol : float, default 1e-4
        Stop when ``||P_Omega(X_t - M)||_F / ||P_Omega(M)||_F <= tol``.
    truth, test, callback, rng, history_stride, progress
        As in :func:`altmin`.

    Returns
    -------
    SolverResult
        ``factors = (U diag(sigma - tau), V)``; history adds ``rank``.
        ``train_loss`` is ``1/2 ||P_Omega(X_t - M)||^2``.

    Examples
    --------
    >>> from lowrank_lab.completion import sample_entries
    >>> from lowrank_lab.matrices import low_rank_matrix
    >>> truth = low_rank_matrix(60, 60, 2, rng=0)
    >>> obs = sample_entries(truth, p=0.5, rng=1)
    >>> res = svt(obs, truth=truth, rng=0)
    >>> bool(res.final("relative_error") < 0.01), int(res.history["rank"].iloc[-1])
    (True, 2)
    """
    obs = _check_obs(obs)
    xp = obs.xp
    m, n = obs.shape
    p_hat = obs.density
    max_rank = min(m, n) // 2 if max_rank is None else max_rank
    max_rank = check_int(max_rank, "max_rank", low=1, high=min(m, n), high_label="min(m, n)")
    rank_increment = check_int(rank_increment, "rank_increment", low=1)
    max_iter = check_int(max_iter, "max_iter", low=0)
    tol = check_float(tol, "tol", low=0.0)
    callback = check_callback(callback)
    monitor = _Monitor(obs, truth, test, tol, history_stride)
    seed = seed_of(rng)
    gen = backend.as_generator(rng)
    like = obs.values
    _, s1, _ = _operator_svd(xp, lambda X: _matmat(obs, obs.values, X), lambda Y: _rmatmat(obs, obs.col_values, Y),
                             obs.shape, 1, like=like, rng=gen, n_oversamples=5, n_power_iter=6)
    norm2 = float(s1[0])
    tau = 5.0 * norm2 / p_hat if tau is None else check_float(tau, "tau", low=0.0, low_inclusive=False)
    step = 1.2 / p_hat if step is None else check_float(step, "step", low=0.0, low_inclusive=False)
    k0 = max(1, math.ceil(tau / (step * norm2))) if norm2 > 0 else 1
    y = obs.values * (k0 * step)
    r_prev = 0
    U_prev = None
    rec = monitor.recorder
    stop_reason = "max_iter"
    bar = progress_bar(max_iter, progress, "svt")
    F = xp.zeros((m, 1), dtype=obs.dtype, device=backend.device(like))
    G = xp.zeros((n, 1), dtype=obs.dtype, device=backend.device(like))
    t = 0
    with quiet_overflow():
        for t in range(1, max_iter + 1):
            yc = xp.take(y, obs.col_order)
            s_k = min(r_prev + 1, max_rank)
            while True:
                U, S, V = _operator_svd(
                    xp, lambda X: _matmat(obs, y, X), lambda Y: _rmatmat(obs, yc, Y), obs.shape, s_k,
                    like=like, rng=gen, n_oversamples=5, n_power_iter=3,
                    start=None if U_prev is None else U_prev[:, : min(U_prev.shape[1], s_k + 5)],
                )
                if s_k >= max_rank or float(S[-1]) <= tau:
                    break
                s_k = min(s_k + rank_increment, max_rank)
            U_prev = U
            r = int(xp.sum(xp.astype(S > tau, xp.int64)))
            r_prev = r
            if r == 0:
                F = xp.zeros((m, 1), dtype=obs.dtype, device=backend.device(like))
                G = xp.zeros((n, 1), dtype=obs.dtype, device=backend.device(like))
            else:
                F = U[:, :r] * (S[:r] - tau)[None, :]
                G = V[:, :r]
            resid = linalg.sampled_dot(F, G, obs.rows, obs.cols) - obs.values
            loss = 0.5 * xp.sum(resid * resid)
            if rec.due(t) or t == max_iter:
                rec.record(t, **monitor.metrics(F, G, resid, loss, {"rank": r}))
            verdict = monitor.check(loss, resid, use_change=False)
            if verdict == "diverged":
                stop_reason = "diverged"
                break
            if verdict == "converged":
                stop_reason = "converged"
                rec.record(t, **monitor.metrics(F, G, resid, loss, {"rank": r}))
                break
            y = y - step * resid
            bar.update(1)
            if callback is not None and callback(t, {"factors": (F, G), "iteration": t}):
                stop_reason = "callback"
                break
    bar.close()
    params = {"tau": tau, "step": step, "max_rank": max_rank, "max_iter": max_iter, "tol": tol,
              "nnz": obs.nnz, "shape": obs.shape, "final_rank": r_prev}
    return rec.result(factors=(F, G), n_iter=t, stop_reason=stop_reason, seed=seed, solver="svt", params=params)


# --------------------------------------------------------------------------- #
# SVP / IHT
# --------------------------------------------------------------------------- #
def svp(
    obs: Observations,
    rank: int,
    *,
    step: float = 0.75,
    max_iter: int = 200,
    tol: float = 1e-10,
    n_power_iter: int = 1,
    truth: Any = None,
    test: Observations | None = None,
    check_every: int = 1,
    callback: Any = None,
    rng: Any = None,
    history_stride: int = 1,
    progress: bool = False,
) -> SolverResult:
    """Singular value projection / iterative hard thresholding (Jain, Meka, Dhillon 2010).

    ``X <- H_k(X - (step / p_hat) P_Omega(X - M))`` from ``X_0 = 0`` (so ``X_1`` is the
    spectral estimate), with ``H_k`` the best rank-``k`` approximation.  ``X`` is kept
    as factors and the rank-``k`` SVD of the sparse-plus-low-rank matrix is computed
    by a randomized range finder warm-started from the current left factor
    (``n_power_iter`` subspace iterations).

    Parameters
    ----------
    step : float, default 0.75
        ``eta``.  PAPERS.md C2 says ``eta ~ 1``; the SVP paper's experiments use
        ``1 / ((1 + delta) p)`` with ``delta = 1/3``, i.e. ``eta = 0.75``, and ``eta = 1``
        diverges on a 200 x 200, rank-5, p = 0.3 problem where 0.75 converges.
    n_power_iter : int, default 1
        Subspace iterations per step after the first (which uses 4).
    Others as in :func:`altmin`.

    Returns
    -------
    SolverResult
        ``factors = (U diag(S), V)``; ``train_loss`` is ``1/2 ||P_Omega(X - M)||^2``.

    Examples
    --------
    >>> from lowrank_lab.completion import sample_entries
    >>> from lowrank_lab.matrices import low_rank_matrix
    >>> truth = low_rank_matrix(60, 60, 2, rng=0)
    >>> obs = sample_entries(truth, p=0.5, rng=1)
    >>> res = svp(obs, 2, truth=truth, rng=0)
    >>> bool(res.final("relative_error") < 1e-6)
    True
    """
    obs = _check_obs(obs)
    xp = obs.xp
    m, n = obs.shape
    k = _check_rank(rank, obs.shape)
    step = check_float(step, "step", low=0.0, low_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", low=0)
    tol = check_float(tol, "tol", low=0.0)
    n_power_iter = check_int(n_power_iter, "n_power_iter", low=0)
    check_every = check_int(check_every, "check_every", low=1)
    callback = check_callback(callback)
    monitor = _Monitor(obs, truth, test, tol, history_stride)
    seed = seed_of(rng)
    gen = backend.as_generator(rng)
    like = obs.values
    eta = step / obs.density
    F = xp.zeros((m, k), dtype=obs.dtype, device=backend.device(like))
    G = xp.zeros((n, k), dtype=obs.dtype, device=backend.device(like))
    U = None
    rec = monitor.recorder
    stop_reason = "max_iter"
    last_good = (F, G)
    bar = progress_bar(max_iter, progress, "svp")
    resid = -obs.values
    t = 0
    with quiet_overflow():
        for t in range(max_iter + 1):
            if t > 0:
                s = -eta * resid  # Y = X + s on Omega, with s = -eta P_Omega(X - M)
                sc = xp.take(s, obs.col_order)
                Fc, Gc = F, G

                def mm(X: Any, Fc: Any = Fc, Gc: Any = Gc, s: Any = s) -> Any:
                    return Fc @ (xp.matrix_transpose(Gc) @ X) + _matmat(obs, s, X)

                def rm(Y: Any, Fc: Any = Fc, Gc: Any = Gc, sc: Any = sc) -> Any:
                    return Gc @ (xp.matrix_transpose(Fc) @ Y) + _rmatmat(obs, sc, Y)

                U, S, V = _operator_svd(xp, mm, rm, obs.shape, k, like=like, rng=gen, n_oversamples=5,
                                        n_power_iter=n_power_iter if U is not None else 4, start=U)
                F, G = U * S[None, :], V
                resid = linalg.sampled_dot(F, G, obs.rows, obs.cols) - obs.values
                bar.update(1)
            loss = 0.5 * xp.sum(resid * resid)
            if rec.due(t) or t == max_iter:
                rec.record(t, **monitor.metrics(F, G, resid, loss))
            if t % check_every == 0 or t == max_iter:
                verdict = monitor.check(loss, resid) if t > 0 else None
                if t == 0:
                    monitor.reference = float(loss)
                if verdict == "diverged" or not _all_finite(xp, F, G):
                    stop_reason = "diverged"
                    break
                last_good = (F, G)
                if verdict == "converged":
                    stop_reason = "converged"
                    rec.record(t, **monitor.metrics(F, G, resid, loss))
                    break
            if callback is not None and callback(t, {"factors": (F, G), "iteration": t}):
                stop_reason = "callback"
                break
    bar.close()
    if stop_reason == "diverged":
        F, G = last_good
    params = {"rank": k, "step": step, "max_iter": max_iter, "tol": tol, "n_power_iter": n_power_iter,
              "nnz": obs.nnz, "shape": obs.shape}
    return rec.result(factors=(F, G), n_iter=t, stop_reason=stop_reason, seed=seed, solver="svp", params=params)


# --------------------------------------------------------------------------- #
# ScaledGD
# --------------------------------------------------------------------------- #
def scaled_gd(
    obs: Observations,
    rank: int,
    *,
    step: float = 0.5,
    init: Any = "spectral",
    max_iter: int = 500,
    tol: float = 1e-10,
    truth: Any = None,
    test: Observations | None = None,
    check_every: int = 1,
    callback: Any = None,
    rng: Any = None,
    history_stride: int = 1,
    progress: bool = False,
) -> SolverResult:
    """ScaledGD for matrix completion (Tong, Ma, Chi 2021).

    ``L <- L - (step/p_hat) P_Omega(L R^T - M) R (R^T R)^{-1}`` and
    ``R <- R - (step/p_hat) P_Omega(L R^T - M)^T L (L^T L)^{-1}`` (simultaneous), from the
    spectral initialization ``L = U S^{1/2}``, ``R = V S^{1/2}`` of the rank-``k`` SVD of
    ``P_Omega(M)/p_hat``.  The incoherence projection of the theory is omitted, as
    in practical code (PAPERS.md C2).  Per iteration ``O(|Omega| k + (m + n) k^2)``.

    Parameters
    ----------
    step : float, default 0.5
        ``eta`` (the reference setup's value).
    init : "spectral", "random" or (L0, R0)
    Others as in :func:`altmin`.

    Returns
    -------
    SolverResult
        ``factors = (L, R)``; ``train_loss`` is ``1/2 ||P_Omega(L R^T - M)||^2``;
        ``params["ops_per_sweep"]`` is the per-iteration operation count.

    Examples
    --------
    >>> from lowrank_lab.completion import sample_entries
    >>> from lowrank_lab.matrices import low_rank_matrix
    >>> truth = low_rank_matrix(60, 60, 2, rng=0)
    >>> obs = sample_entries(truth, p=0.5, rng=1)
    >>> res = scaled_gd(obs, 2, truth=truth, rng=0)
    >>> bool(res.final("relative_error") < 1e-6)
    True
    """
    obs = _check_obs(obs)
    xp = obs.xp
    m, n = obs.shape
    k = _check_rank(rank, obs.shape)
    step = check_float(step, "step", low=0.0, low_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", low=0)
    tol = check_float(tol, "tol", low=0.0)
    check_every = check_int(check_every, "check_every", low=1)
    callback = check_callback(callback)
    monitor = _Monitor(obs, truth, test, tol, history_stride)
    seed = seed_of(rng)
    gen = backend.as_generator(rng)
    like = obs.values
    if isinstance(init, str):
        init = check_choice(init, "init", ("spectral", "random"))
        if init == "spectral":
            U, S, V = _spectral(obs, k, gen)
            root = xp.sqrt(S)
            L, R = U * root[None, :], V * root[None, :]
        else:
            scale = math.sqrt(float(xp.linalg.vector_norm(obs.values)) / math.sqrt(obs.density) / k)
            L = _random_orthonormal((m, k), gen, like) * scale
            R = _random_orthonormal((n, k), gen, like) * scale
    else:
        L, R = _init_pair(init, k, obs.shape, like)
    eta = step / obs.density
    rec = monitor.recorder
    stop_reason = "max_iter"
    last_good = (L, R)
    bar = progress_bar(max_iter, progress, "scaled_gd")
    t = 0
    with quiet_overflow():
        for t in range(max_iter + 1):
            resid = linalg.sampled_dot(L, R, obs.rows, obs.cols) - obs.values
            loss = 0.5 * xp.sum(resid * resid)
            if rec.due(t) or t == max_iter:
                rec.record(t, **monitor.metrics(L, R, resid, loss))
            if t % check_every == 0 or t == max_iter:
                verdict = monitor.check(loss, resid)
                if verdict == "diverged" or not _all_finite(xp, L, R):
                    stop_reason = "diverged"
                    break
                last_good = (L, R)
                if verdict == "converged":
                    stop_reason = "converged"
                    break
            if callback is not None and callback(t, {"factors": (L, R), "iteration": t}):
                stop_reason = "callback"
                break
            if t == max_iter:
                break
            gL = _matmat(obs, resid, R)
            gR = _rmatmat(obs, xp.take(resid, obs.col_order), L)
            try:
                L_new = L - eta * xp.matrix_transpose(
                    xp.linalg.solve(xp.matrix_transpose(R) @ R, xp.matrix_transpose(gL)))
                R_new = R - eta * xp.matrix_transpose(
                    xp.linalg.solve(xp.matrix_transpose(L) @ L, xp.matrix_transpose(gR)))
            except (np.linalg.LinAlgError, ValueError, ArithmeticError):
                stop_reason = "diverged"
                break
            L, R = L_new, R_new
            bar.update(1)
    bar.close()
    if stop_reason == "diverged":
        L, R = last_good
    params = {"rank": k, "step": step, "max_iter": max_iter, "tol": tol, "nnz": obs.nnz, "shape": obs.shape,
              "init": init if isinstance(init, str) else "given",
              "ops_per_sweep": float(3 * 2 * obs.nnz * k + 2 * 2 * (m + n) * k * k + 2 * (m + n) * k * k)}
    return rec.result(factors=(L, R), n_iter=t, stop_reason=stop_reason, seed=seed, solver="scaled_gd",
                      params=params)
