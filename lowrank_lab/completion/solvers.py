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

from .. import backend, linalg
from .._deprecation import renamed_keywords
from .._validation import check_callback, check_choice, check_float, check_int
from ..iteration import Iterate, iterate, quiet_overflow
from ..results import SolverResult, seed_of
from ._common import (
    SVDChoice,
    _check_rank,
    _drive,
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
    max_iter: int = 2000,
    tol: float = 1e-10,
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
    max_iter : int, default 2000
    tol : float, default 1e-10
        Stop when ``||Z_t - Z_{t-1}||_F^2 / ||Z_{t-1}||_F^2 <= tol`` (the R package's rule).
        The R package's defaults (``thresh = 1e-5``, ``maxit = 100``) stop far from the
        algorithm's fixed point: measured on 80 x 60 to 300 x 200 rank-2 to rank-10
        matrices with 20-80 % of the entries missing and ``reg = sigma_1 / 50``
        (fancyimpute's default), the error on the missing entries at their stop was 1-5x
        (median 1.36x) the converged one.  ``tol = 1e-10`` with up to 2000 iterations
        came within 0.6 % of it in every case (``tests/test_completion.py``); slowly
        converging problems (many missing entries) take hundreds of iterations, and the
        stop reason says ``"max_iter"`` when the budget ran out.
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
    k = _check_rank(rank, obs.shape, obs.nnz)
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

    def sparse_part(U: Any, Dsq: Any, V: Any) -> tuple[Any, Any]:
        """Residual values ``M - A B^T`` on Omega (row order, column order)."""
        res = obs.values - linalg.sampled_dot(U * Dsq[None, :], V, obs.rows, obs.cols)
        return res, xp.take(res, obs.col_order)

    def frob_ratio(U0: Any, D0: Any, V0: Any, U1: Any, D1: Any, V1: Any) -> Any:
        denom = xp.sum(D0 * D0)
        utu = D1[:, None] * (xp.matrix_transpose(U1) @ U0)
        vtv = D0[:, None] * (xp.matrix_transpose(V0) @ V1)
        uv = xp.sum(utu * xp.matrix_transpose(vtv))
        num = denom + xp.sum(D1 * D1) - 2.0 * uv
        return num / xp.maximum(denom, xp.asarray(1e-9, dtype=denom.dtype, device=backend.device(denom)))

    # state: (U, Dsq, V, residual on Omega (row order), same in column order, Frobenius change ratio)
    def als_step(it: Iterate) -> tuple:
        U_old, D_old, V_old, res, res_c, _ = it.state
        U, Dsq, V = U_old, D_old, V_old
        # B step: B^T = (D^2 + reg)^-1 D U^T X*, with U^T X* = (S^T U)^T + Dsq V^T
        B = _rmatmat(obs, res_c, U) + V * Dsq[None, :]  # (X*)^T U, n x k
        B = B * (Dsq / (Dsq + reg))[None, :]
        Vn, Dsq, Rt = xp.linalg.svd(B, full_matrices=False)
        V, U = Vn, U @ xp.matrix_transpose(Rt)
        res, res_c = sparse_part(U, Dsq, V)
        # A step
        A = _matmat(obs, res, V) + U * Dsq[None, :]  # X* V, m x k
        A = A * (Dsq / (Dsq + reg))[None, :]
        Un, Dsq, Rt = xp.linalg.svd(A, full_matrices=False)
        U, V = Un, V @ xp.matrix_transpose(Rt)
        res, res_c = sparse_part(U, Dsq, V)
        return U, Dsq, V, res, res_c, frob_ratio(U_old, D_old, V_old, U, Dsq, V)

    def measure(it: Iterate) -> Any:
        return 0.5 * xp.sum(it.state[3] * it.state[3]) + reg * xp.sum(it.state[1])

    def metrics(it: Iterate) -> dict:
        U, Dsq, V, res = it.state[:4]
        return monitor.metrics(U * Dsq[None, :], V, xp.sum(res * res))

    def check(it: Iterate) -> str | None:
        if it.iteration == 0:
            return None
        ratio = float(it.state[5])
        if not math.isfinite(ratio):
            return "diverged"
        return "converged" if ratio <= tol else None

    res, res_c = sparse_part(U, Dsq, V)
    outcome = iterate(
        (U, Dsq, V, res, res_c, None), als_step, loss=measure, factors=lambda st: (st[0] * st[1][None, :], st[2]),
        recorder=monitor.recorder, metrics=metrics, check=check, max_iter=max_iter, callback=callback,
        progress=progress, desc="soft_impute", loss_name="train_loss",
    )
    U, Dsq, V, res = outcome.state[:4]
    t, stop_reason = outcome.n_iter, outcome.stop_reason
    # final step: SVD of X* V, soft-threshold the singular values
    with quiet_overflow():
        M_hat = _matmat(obs, res, V) + U * Dsq[None, :]
        Uf, d, Rt = xp.linalg.svd(M_hat, full_matrices=False)
        Vf = V @ xp.matrix_transpose(Rt)
        d = xp.maximum(d - reg, xp.zeros_like(d))
        keep = max(1, int(xp.sum(xp.astype(d > 0, xp.int64))))
    factors = (Uf[:, :keep] * d[None, :keep], Vf[:, :keep])
    # the last history row describes the returned (soft-thresholded) factors
    final_res = linalg.sampled_dot(*factors, obs.rows, obs.cols) - obs.values
    monitor.recorder.record(outcome.returned_iteration,
                            train_loss=0.5 * xp.sum(final_res * final_res) + reg * xp.sum(d),
                            **monitor.metrics(*factors, xp.sum(final_res * final_res)))
    params = {"rank": k, "reg": reg, "max_iter": max_iter, "tol": tol, "nnz": obs.nnz, "shape": obs.shape,
              "effective_rank": int(xp.sum(xp.astype(d > 0, xp.int64))),
              "ops_per_sweep": float(4 * (2 * obs.nnz * k) + 2 * 2 * 2 * (m + n) * k * k)}
    return monitor.recorder.result(factors=factors, n_iter=t, stop_reason=stop_reason, seed=seed, solver="soft_impute",
                      params=params)


# --------------------------------------------------------------------------- #
# SVT
# --------------------------------------------------------------------------- #
@renamed_keywords(step="step_size", max_rank="rank")
def svt(
    obs: Observations,
    rank: int | None = None,
    *,
    tau: float | None = None,
    step_size: float | None = None,
    rank_increment: int = 5,
    max_iter: int = 500,
    tol: float = 1e-4,
    truth: Any = None,
    test: Observations | None = None,
    callback: Any = None,
    rng: Any = None,
    svd_method: str = "randomized",
    svd_options: dict | None = None,
    history_stride: int = 1,
    progress: bool = False,
) -> SolverResult:
    """Singular value thresholding (Cai, Candes, Shen 2010).

    ``X_t = S_tau(Y_{t-1})``, ``Y_t = Y_{t-1} + step_size * P_Omega(M - X_t)``, with ``Y``
    supported on ``Omega`` (stored as its observed values) and ``S_tau`` the singular
    value soft-thresholding.  Only the singular values above ``tau`` are computed,
    by a warm-started randomized SVD of the sparse ``Y`` whose size grows by
    ``rank_increment`` until the smallest computed value falls below ``tau`` (the
    paper's rule).  Starts from ``Y_0 = k_0 step_size P_Omega(M)`` with
    ``k_0 = ceil(tau / (step_size ||P_Omega(M)||_2))``; iteration 0 is ``X_0 = 0``.

    Parameters
    ----------
    obs : Observations
    rank : int, optional
        Cap on the computed rank (default ``min(m, n) // 2``); SVT chooses the rank of
        its iterates itself (the number of singular values above ``tau``).  Formerly
        ``max_rank`` (still accepted, deprecated).
    tau : float, optional
        Threshold.  The paper's ``tau = 5 n`` is about 5 times ``sigma_1`` of its
        normalized test matrices; the default is the scale-free
        ``5 ||P_Omega(M)||_2 / p_hat`` (about ``5 sigma_1(M)``; reconstruction).
    step_size : float, optional
        ``delta``; default ``1.2 / p_hat`` (the paper's choice).  Formerly ``step``
        (still accepted, deprecated).
    rank_increment : int, default 5
    max_iter : int, default 500
    tol : float, default 1e-4
        Stop when ``||P_Omega(X_t - M)||_F / ||P_Omega(M)||_F <= tol``.
    truth, test, callback, rng, svd_method, svd_options, history_stride, progress
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
    rank = min(m, n) // 2 if rank is None else rank
    rank = _check_rank(rank, obs.shape, obs.nnz)
    rank_increment = check_int(rank_increment, "rank_increment", low=1)
    max_iter = check_int(max_iter, "max_iter", low=0)
    tol = check_float(tol, "tol", low=0.0)
    callback = check_callback(callback)
    svd = SVDChoice(svd_method, svd_options)
    monitor = _Monitor(obs, truth, test, tol, history_stride)
    seed = seed_of(rng)
    gen = backend.as_generator(rng)
    like = obs.values
    _, s1, _ = _operator_svd(xp, lambda X: _matmat(obs, obs.values, X), lambda Y: _rmatmat(obs, obs.col_values, Y),
                             obs.shape, 1, like=like, rng=gen, n_oversamples=5, n_power_iter=6, svd=svd)
    norm2 = float(s1[0])
    tau = 5.0 * norm2 / p_hat if tau is None else check_float(tau, "tau", low=0.0, low_inclusive=False)
    if step_size is None:
        step_size = 1.2 / p_hat
    step_size = check_float(step_size, "step_size", low=0.0, low_inclusive=False)
    k0 = max(1, math.ceil(tau / (step_size * norm2))) if norm2 > 0 else 1
    y0 = obs.values * (k0 * step_size)
    zeros = (xp.zeros((m, 1), dtype=obs.dtype, device=backend.device(like)),
             xp.zeros((n, 1), dtype=obs.dtype, device=backend.device(like)))

    # state: (F, G, Y's values on Omega that gave X_t = S_tau(Y), left singular vectors, rank)
    def svt_step(it: Iterate) -> tuple:
        y = y0 if it.iteration == 0 else it.state[2] - step_size * it.cache["r"]
        U_prev, r_prev = it.state[3], it.state[4]
        yc = xp.take(y, obs.col_order)
        s_k = min(r_prev + 1, rank)
        while True:
            U, S, V = _operator_svd(
                xp, lambda X: _matmat(obs, y, X), lambda Y: _rmatmat(obs, yc, Y), obs.shape, s_k,
                like=like, rng=gen, n_oversamples=5, n_power_iter=3, svd=svd,
                start=None if U_prev is None else U_prev[:, : min(U_prev.shape[1], s_k + 5)],
            )
            if s_k >= rank or float(S[-1]) <= tau:
                break
            s_k = min(s_k + rank_increment, rank)
        r = int(xp.sum(xp.astype(S > tau, xp.int64)))
        F, G = zeros if r == 0 else (U[:, :r] * (S[:r] - tau)[None, :], V[:, :r])
        return F, G, y, U, r

    outcome = _drive(monitor, (*zeros, None, None, 0), svt_step, lambda F, G, sq: 0.5 * sq,
                     max_iter=max_iter, callback=callback, progress=progress, desc="svt", use_change=False,
                     extra=lambda it: {"rank": it.state[4]})
    F, G, _, _, final_rank = outcome.state
    params = {"tau": tau, "step_size": step_size, "rank": rank, "max_iter": max_iter, "tol": tol, **svd.params(),
              "nnz": obs.nnz, "shape": obs.shape, "final_rank": final_rank}
    return monitor.recorder.result(factors=(F, G), n_iter=outcome.n_iter, stop_reason=outcome.stop_reason, seed=seed,
                                   solver="svt", params=params)


# --------------------------------------------------------------------------- #
# SVP / IHT
# --------------------------------------------------------------------------- #
@renamed_keywords(step="step_size")
def svp(
    obs: Observations,
    rank: int,
    *,
    step_size: float = 0.75,
    max_iter: int = 200,
    tol: float = 1e-10,
    n_power_iter: int = 1,
    truth: Any = None,
    test: Observations | None = None,
    check_every: int = 1,
    callback: Any = None,
    rng: Any = None,
    svd_method: str = "randomized",
    svd_options: dict | None = None,
    history_stride: int = 1,
    progress: bool = False,
) -> SolverResult:
    """Singular value projection / iterative hard thresholding (Jain, Meka, Dhillon 2010).

    ``X <- H_k(X - (step_size / p_hat) P_Omega(X - M))`` from ``X_0 = 0`` (so ``X_1`` is the
    spectral estimate), with ``H_k`` the best rank-``k`` approximation.  ``X`` is kept
    as factors and the rank-``k`` SVD of the sparse-plus-low-rank matrix is computed
    by a randomized range finder warm-started from the current left factor
    (``n_power_iter`` subspace iterations).

    Parameters
    ----------
    step_size : float, default 0.75
        ``eta``.  The SVP paper's analysis suggests ``eta ~ 1``; its experiments use
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
    k = _check_rank(rank, obs.shape, obs.nnz)
    step_size = check_float(step_size, "step_size", low=0.0, low_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", low=0)
    tol = check_float(tol, "tol", low=0.0)
    n_power_iter = check_int(n_power_iter, "n_power_iter", low=0)
    check_every = check_int(check_every, "check_every", low=1)
    callback = check_callback(callback)
    svd = SVDChoice(svd_method, svd_options)
    monitor = _Monitor(obs, truth, test, tol, history_stride)
    seed = seed_of(rng)
    gen = backend.as_generator(rng)
    like = obs.values
    eta = step_size / obs.density
    F = xp.zeros((m, k), dtype=obs.dtype, device=backend.device(like))
    G = xp.zeros((n, k), dtype=obs.dtype, device=backend.device(like))

    # state: (F, G, the left singular vectors that start the next range finder)
    def svp_step(it: Iterate) -> tuple:
        Fc, Gc, U = it.state
        s = -eta * it.cache["r"]  # Y = X + s on Omega, with s = -eta P_Omega(X - M)
        sc = xp.take(s, obs.col_order)

        def mm(X: Any) -> Any:
            return Fc @ (xp.matrix_transpose(Gc) @ X) + _matmat(obs, s, X)

        def rm(Y: Any) -> Any:
            return Gc @ (xp.matrix_transpose(Fc) @ Y) + _rmatmat(obs, sc, Y)

        U, S, V = _operator_svd(xp, mm, rm, obs.shape, k, like=like, rng=gen, n_oversamples=5, svd=svd,
                                n_power_iter=n_power_iter if U is not None else 4, start=U)
        return U * S[None, :], V, U

    outcome = _drive(monitor, (F, G, None), svp_step, lambda F, G, sq: 0.5 * sq, max_iter=max_iter,
                     check_every=check_every, callback=callback, progress=progress, desc="svp", check_from=1)
    params = {"rank": k, "step_size": step_size, "max_iter": max_iter, "tol": tol, "n_power_iter": n_power_iter,
              **svd.params(),
              "nnz": obs.nnz, "shape": obs.shape}
    return monitor.recorder.result(factors=outcome.state[:2], n_iter=outcome.n_iter, stop_reason=outcome.stop_reason,
                                   seed=seed, solver="svp", params=params)


# --------------------------------------------------------------------------- #
# ScaledGD
# --------------------------------------------------------------------------- #
@renamed_keywords(step="step_size")
def scaled_gd(
    obs: Observations,
    rank: int,
    *,
    step_size: float = 0.5,
    init: Any = "spectral",
    init_scale: float = 1e-3,
    damping: float | None = None,
    max_iter: int = 500,
    tol: float = 1e-10,
    truth: Any = None,
    test: Observations | None = None,
    check_every: int = 1,
    callback: Any = None,
    rng: Any = None,
    svd_method: str = "randomized",
    svd_options: dict | None = None,
    history_stride: int = 1,
    progress: bool = False,
) -> SolverResult:
    """ScaledGD for matrix completion (Tong, Ma, Chi 2021), and ScaledGD(lambda) for ``rank`` above the truth's.

    ``L <- L - (step_size/p_hat) P_Omega(L R^T - M) R (R^T R + lambda I)^{-1}`` and
    ``R <- R - (step_size/p_hat) P_Omega(L R^T - M)^T L (L^T L + lambda I)^{-1}`` (simultaneous).

    * **ScaledGD** (``init="spectral"``, ``lambda = 0``): from the spectral initialization
      ``L = U S^{1/2}``, ``R = V S^{1/2}`` of the rank-``k`` SVD of ``P_Omega(M)/p_hat``.  The
      incoherence projection of the theory is omitted, as in practical code (Tong, Ma &
      Chi 2021, arXiv:2005.08898).  Meant for ``k`` equal to the true rank: with ``k``
      above it, it fits the observed entries exactly and the missing ones badly.
    * **ScaledGD(lambda)** (``init="small_random"``, ``lambda > 0``): Xu, Shen, Chi & Ma (2023),
      "The Power of Preconditioning in Overparameterized Low-Rank Matrix Sensing", ICML,
      arXiv:2302.01186: a small random start and a damped preconditioner, for a ``k``
      that may exceed the true rank.  The paper treats sensing; applying it to
      completion is this library's choice (**reconstruction**).

    Per iteration ``O(|Omega| k + (m + n) k^2)``.

    Parameters
    ----------
    step_size : float, default 0.5
        ``eta`` (the reference setup's value).
    init : "spectral", "small_random", "random" or (L0, R0)
        ``"small_random"``: ``L_0, R_0`` with i.i.d. ``N(0, alpha^2 s_1 / m)`` and
        ``N(0, alpha^2 s_1 / n)`` entries, ``s_1`` the top singular value of
        ``P_Omega(M)/p_hat`` and ``alpha = init_scale``.  ``"random"``: random orthonormal
        factors at the scale of the data.
    init_scale : float, default 1e-3
        ``alpha`` of ``init="small_random"``.
    damping : float, optional
        ``lambda``.  Default: 0, except with ``init="small_random"``, where it is
        ``0.1 s_1`` (the paper sets ``lambda`` to a small multiple of the signal's
        smallest singular value, unknown here; reconstruction).  Measured on 100 x 80
        rank-3 truths, 45 % observed, ``k = 8``, 4 seeds: ``lambda = 0.01 s_1`` diverged
        twice, ``0.1 s_1`` and ``0.3 s_1`` recovered the held-out entries to mean absolute
        errors of 2e-4 and 7e-5 (AltMin at ``k = 8``: 5e-4; plain ScaledGD: diverged).
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
    k = _check_rank(rank, obs.shape, obs.nnz)
    step_size = check_float(step_size, "step_size", low=0.0, low_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", low=0)
    tol = check_float(tol, "tol", low=0.0)
    check_every = check_int(check_every, "check_every", low=1)
    callback = check_callback(callback)
    svd = SVDChoice(svd_method, svd_options)
    monitor = _Monitor(obs, truth, test, tol, history_stride)
    seed = seed_of(rng)
    gen = backend.as_generator(rng)
    like = obs.values
    s1 = None
    if isinstance(init, str):
        init = check_choice(init, "init", ("spectral", "small_random", "random"))
        if init == "spectral":
            U, S, V = _spectral(obs, k, gen, svd=svd)
            root = xp.sqrt(S)
            L, R = U * root[None, :], V * root[None, :]
        elif init == "small_random":
            alpha = check_float(init_scale, "init_scale", low=0.0, low_inclusive=False)
            s1 = float(_spectral(obs, 1, gen, svd=svd)[1][0])
            L = backend.random_normal((m, k), rng=gen, like=like, scale=alpha * math.sqrt(s1 / m))
            R = backend.random_normal((n, k), rng=gen, like=like, scale=alpha * math.sqrt(s1 / n))
        else:
            scale = math.sqrt(float(xp.linalg.vector_norm(obs.values)) / math.sqrt(obs.density) / k)
            L = _random_orthonormal((m, k), gen, like) * scale
            R = _random_orthonormal((n, k), gen, like) * scale
    else:
        L, R = _init_pair(init, k, obs.shape, like)
    if damping is None:
        damping = 0.1 * s1 if s1 is not None else 0.0
    damping = check_float(damping, "damping", low=0.0)
    eye = xp.eye(k, dtype=obs.dtype, device=backend.device(like))
    eta = step_size / obs.density

    def scaled_step(it: Iterate) -> tuple:
        L, R = it.state
        resid = it.cache["r"]
        gL = _matmat(obs, resid, R)
        gR = _rmatmat(obs, xp.take(resid, obs.col_order), L)
        gram_R = xp.matrix_transpose(R) @ R + damping * eye
        gram_L = xp.matrix_transpose(L) @ L + damping * eye
        L_new = L - eta * xp.matrix_transpose(xp.linalg.solve(gram_R, xp.matrix_transpose(gL)))
        R_new = R - eta * xp.matrix_transpose(xp.linalg.solve(gram_L, xp.matrix_transpose(gR)))
        return L_new, R_new

    outcome = _drive(monitor, (L, R), scaled_step, lambda F, G, sq: 0.5 * sq, max_iter=max_iter,
                     check_every=check_every, callback=callback, progress=progress, desc="scaled_gd")
    (L, R), t, stop_reason = outcome.state, outcome.n_iter, outcome.stop_reason
    params = {"rank": k, "step_size": step_size, "max_iter": max_iter, "tol": tol, "nnz": obs.nnz, "shape": obs.shape,
              "init": init if isinstance(init, str) else "given", "damping": damping, **svd.params(),
              "init_scale": init_scale if init == "small_random" else None,
              "ops_per_sweep": float(3 * 2 * obs.nnz * k + 2 * 2 * (m + n) * k * k + 2 * (m + n) * k * k)}
    return monitor.recorder.result(factors=(L, R), n_iter=t, stop_reason=stop_reason, seed=seed, solver="scaled_gd",
                      params=params)
