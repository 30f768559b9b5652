"""Alternating minimization for matrix completion: exact or approximate (CG) least squares (JNS13; Gu, Song, Yin, Zhang)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend, linalg
from .._validation import check_callback, check_choice, check_float, check_int
from ..iteration import Iterate, quiet_overflow
from ..linalg._altmin import available_cpus, serial_blas
from ..results import SolverResult, seed_of
from ._common import (
    SVDChoice,
    _check_rank,
    _drive,
    _init_pair,
    _Monitor,
    _qr,
    _random_orthonormal,
    _rmatmat,
    _Side,
    _spectral,
    _trim_rows,
)
from .metrics import _check_obs
from .observations import Observations, random_partition

__all__ = ["JITTER", "altmin"]

#: Relative diagonal jitter added to every normal matrix (on top of ``reg``), so
#: that rows/columns with fewer than ``k`` (or no) observations get the
#: minimum-norm (zero) solution instead of NaN.
JITTER = 1e-12



# --------------------------------------------------------------------------- #
# alternating minimization
# --------------------------------------------------------------------------- #
def altmin(
    obs: Observations,
    rank: int,
    *,
    reg: float = 0.0,
    solve: str = "exact",
    cg_iters: int = 2,
    init: Any = "spectral",
    trim: float | None = 2.0,
    orthonormalize: bool | None = None,
    perturbation: float = 0.0,
    resample: bool | int = False,
    max_iter: int = 50,
    tol: float = 1e-10,
    truth: Any = None,
    test: Observations | None = None,
    check_every: int = 1,
    kernel: str = "auto",
    n_threads: int | None = None,
    callback: Any = None,
    rng: Any = None,
    svd_method: str = "randomized",
    svd_options: dict | None = None,
    history_stride: int = 1,
    progress: bool = False,
) -> SolverResult:
    """Alternating minimization for matrix completion, with exact or approximate least squares.

    One *sweep* solves, for every column ``j``, the ridge regression
    ``v_j = argmin sum_{i in Omega_j} (M_ij - u_i^T v_j)^2 + reg ||v_j||^2``
    (normal equations ``(sum u_i u_i^T + reg I) v_j = sum M_ij u_i``), then the same
    for every row ``i`` with ``V`` fixed (Jain, Netrapalli & Sanghavi 2013, arXiv:1212.0467: the JNS13 skeleton).

    Parameters
    ----------
    obs : Observations
    rank : int
        ``k``, in ``[1, min(m, n)]``.
    reg : float, default 0
        Ridge ``lambda`` (theory uses 0; use a small positive value on real data).
    solve : {"exact", "cg"}
        ``"exact"``: batched normal equations, ``O(|Omega| k^2 + (m + n) k^3)`` per sweep
        (:func:`lowrank_lab.linalg.segment_least_squares`).  ``"cg"``: ``cg_iters``
        conjugate-gradient steps per row/column, warm-started from the previous
        iterate (expressed in the current basis), applying ``sum u_i u_i^T`` as
        ``U_Omega^T (U_Omega v)`` without forming it: ``O(|Omega| k)`` per sweep
        (Gu, Song, Yin & Zhang 2023, arXiv:2302.11068: inexact solves; :func:`lowrank_lab.linalg.segment_cg`).
    cg_iters : int, default 2
        CG steps per half-sweep (each costs one application of every row's operator).
    init : {"spectral", "random"} or (U0, V0)
        ``"spectral"``: top-``k`` left singular vectors of ``P_Omega(M)/p_hat`` with row
        trimming, re-orthonormalized; ``"random"``: a random orthonormal ``U0``.
        Iteration 0 is ``U0 (P_Omega(M)^T U0 / p_hat)^T``.  A pair of factors starts there.
    trim : float or None, default 2.0
        Spectral-initialization trimming: rows of ``U0`` with norm above
        ``trim * sqrt(k/m)`` are zeroed before re-orthonormalization (JNS13's
        ``2 mu sqrt(k/m)`` with the incoherence ``mu`` folded into ``trim``;
        reconstruction -- check against the paper).  ``None`` disables it.
    orthonormalize : bool or None, default None
        QR-orthonormalize the factor held fixed before each half-step (JNS13).  The
        iterates' product is unchanged for ``reg = 0``; with ``reg > 0`` the ridge then
        acts on an orthonormal factor, i.e. on the product, and barely regularizes
        (MovieLens, k = 10: test RMSE nearly flat in ``reg``).  ``False`` gives classical
        regularized ALS, the minimizer of ``sum_Omega (M_ij - u_i^T v_j)^2 +
        reg (||U||^2 + ||V||^2)``.  ``None`` (default) follows ``reg``: the JNS13 form
        for ``reg == 0``, regularized ALS for ``reg > 0`` (ask for the JNS13 variant
        with a ridge by passing ``orthonormalize=True``).
    perturbation : float, default 0
        ``epsilon`` of Gu et al.'s robustness to inexact solves: after each (exact or CG) solve, every
        row ``x_j`` of the solution gets a random perturbation of norm
        ``epsilon ||x_j||`` (reconstruction of "an injected perturbation of relative size
        epsilon": per row, Gaussian direction).
    resample : bool or int, default False
        Sample splitting of JNS13's analysis: partition ``Omega`` at random into
        ``2 max_iter + 1`` parts (``True``) or the given number of parts; the
        initialization uses part 0 and half-step ``h`` part ``1 + (h - 1) mod (parts - 1)``.
    max_iter : int, default 50
        Sweeps.
    tol : float, default 1e-10
        Stop ("converged") when the relative residual on ``Omega`` or the relative
        change of the training loss between checks is at most ``tol``.
    truth : LowRankMatrix or (F, G), optional
        Records ``relative_error``.
    test : Observations, optional
        Records ``test_rmse``.
    check_every : int, default 1
        Sweeps between convergence checks (each one synchronizes with the device).
    kernel : {"auto", "packed", "padded"}
        Normal-equation kernel of the exact solve
        (:func:`~lowrank_lab.linalg.segment_least_squares`).  ``"auto"``: on NumPy,
        ``"packed"`` (compiled when Numba is installed) at every ``k`` if Numba is
        installed, else up to ``k = 16``; ``"padded"`` (batched GEMMs) otherwise.
    n_threads : int or None
        Threads of the exact solve's packed kernel on NumPy (rows, and columns, are
        cut into ranges of equal entry counts, at least 32768 entries each; results do
        not depend on the count).  The kernel is compiled with Numba when it is
        installed (:func:`~lowrank_lab.linalg.segment_least_squares`).  ``None``: the
        CPUs available to the process; ``1``: serial.  While more than one runs, BLAS
        is limited to one thread (``threadpoolctl``), whose spinning workers would
        otherwise take the cores.  The CG solve is threaded (and compiled) only with
        Numba.  Ignored on other backends.
    callback : callable, optional
        ``callback(sweep, {"factors": (U, V), "loss": ...}) -> bool``; True stops.
    rng : int, Generator or None
        Random initialization, randomized SVD, perturbations, partitions.
    svd_method : {"randomized", "krylov"}, default "randomized"
        Partial SVD of the spectral initialization: a randomized range finder with a
        fixed number of power iterations, or block Lanczos iterated to a tolerance
        (:func:`lowrank_lab.linalg.partial_svd_operator`).
    svd_options : dict, optional
        Options of that method (``n_power_iter``, ``n_oversamples`` / ``tol``,
        ``block_size``, ``max_basis``, ``max_iter``, ``verify``).
    history_stride : int, default 1
    progress : bool, default False

    Returns
    -------
    SolverResult
        ``factors = (U, V)`` with estimate ``U @ V.T`` (with ``orthonormalize``, ``V``
        has orthonormal columns).  ``params`` holds the effective parameters and the
        cost model: ``ops_per_sweep`` (floating-point operations of one sweep,
        excluding convergence checks) and ``ops_breakdown``.  ``train_loss`` is
        ``1/2 sum_Omega r^2 + reg/2 (||U||_F^2 + ||V||_F^2)``.

    Notes
    -----
    Rows or columns with fewer than ``k`` observations make the normal matrix
    singular; a relative diagonal jitter (:data:`JITTER`, 1e-12 of the mean diagonal)
    is always added, so they get the minimum-norm (for none: zero) solution, never NaN.

    Examples
    --------
    >>> from lowrank_lab.completion import sample_entries
    >>> from lowrank_lab.matrices import low_rank_matrix
    >>> truth = low_rank_matrix(80, 60, 3, rng=0)
    >>> obs = sample_entries(truth, p=0.4, rng=1)
    >>> exact = altmin(obs, 3, truth=truth, rng=0)
    >>> cg = altmin(obs, 3, solve="cg", cg_iters=3, truth=truth, max_iter=100, rng=0)
    >>> bool(exact.final("relative_error") < 1e-8), bool(cg.final("relative_error") < 1e-6)
    (True, True)
    >>> sorted(cg.params["ops_breakdown"])
    ['cg_applications', 'cg_vector_updates', 'qr', 'right_hand_sides']
    """
    obs = _check_obs(obs)
    xp = obs.xp
    m, n = obs.shape
    k = _check_rank(rank, obs.shape, obs.nnz)
    reg = check_float(reg, "reg", low=0.0)
    solve = check_choice(solve, "solve", ("exact", "cg"))
    cg_iters = check_int(cg_iters, "cg_iters", low=1)
    trim = None if trim is None else check_float(trim, "trim", low=0.0, low_inclusive=False)
    if orthonormalize is None:
        orthonormalize = reg == 0
    if not isinstance(orthonormalize, (bool, np.bool_)):
        raise TypeError(f"orthonormalize must be a bool or None, got {orthonormalize!r}")
    perturbation = check_float(perturbation, "perturbation", low=0.0)
    max_iter = check_int(max_iter, "max_iter", low=0)
    tol = check_float(tol, "tol", low=0.0)
    check_every = check_int(check_every, "check_every", low=1)
    kernel = check_choice(kernel, "kernel", ("auto", "packed", "padded"))
    n_threads = available_cpus() if n_threads is None else check_int(n_threads, "n_threads", low=1)
    callback = check_callback(callback)
    svd = SVDChoice(svd_method, svd_options)
    if isinstance(resample, (bool, np.bool_)):
        n_parts = 2 * max_iter + 1 if resample else 0
    else:
        n_parts = check_int(resample, "resample", low=2, high=obs.nnz, high_label="nnz")
    if n_parts > obs.nnz:
        raise ValueError(f"resample=True needs 2*max_iter+1={n_parts} parts but obs has only {obs.nnz} entries")
    if isinstance(init, str):
        init = check_choice(init, "init", ("spectral", "random"))
    monitor = _Monitor(obs, truth, test, tol, history_stride)
    seed = seed_of(rng)
    gen_init, gen_perturb, gen_split = backend.spawn_generators(rng, 3) if rng is not None else (None, None, None)
    if gen_init is None:
        gen_init, gen_perturb, gen_split = (backend.as_generator(None) for _ in range(3))

    parts = random_partition(obs, n_parts, rng=gen_split) if n_parts else [obs]
    init_obs = parts[0]
    train_parts = parts[1:] if n_parts else parts
    plan = linalg.altmin_kernel_plan(k, obs.shape, xp, solve=solve, kernel=kernel, n_threads=n_threads)
    sides = [(_Side(p, "col", plan), _Side(p, "row", plan)) for p in train_parts]
    threaded = any(s.blocks is not None and len(s.blocks.ranges) > 1 for pair in sides for s in pair)

    # ---- initialization -------------------------------------------------
    with quiet_overflow():
        if isinstance(init, str):
            if init == "spectral":
                U0, S0, V0s = _spectral(init_obs, k, gen_init, svd=svd)
                U0 = _trim_rows(xp, U0, trim)
            else:
                U0 = _random_orthonormal((m, k), gen_init, obs.values)
                S0 = V0s = None
            U, _ = _qr(xp, U0)
            if orthonormalize or S0 is None:
                V = _rmatmat(init_obs, init_obs.col_values / init_obs.density, U)
                if not orthonormalize:  # balance the scale between the two factors
                    Q, R = _qr(xp, V)
                    W, s, Zt = xp.linalg.svd(R, full_matrices=False)
                    root = xp.sqrt(s)
                    U = (U @ xp.matrix_transpose(Zt)) * root[None, :]
                    V = (Q @ W) * root[None, :]
            else:
                root = xp.sqrt(S0)
                U = U * root[None, :]
                V = V0s * root[None, :]
        else:
            U, V = _init_pair(init, k, obs.shape, obs.values)

    def loss_of(F: Any, G: Any, sq: Any) -> Any:
        val = 0.5 * sq
        if reg > 0:
            val = val + 0.5 * reg * (xp.sum(F * F) + xp.sum(G * G))
        return val

    def perturb(X: Any) -> Any:
        if perturbation == 0:
            return X
        g = backend.random_normal(tuple(X.shape), rng=gen_perturb, like=X)
        gnorm = xp.linalg.vector_norm(g, axis=1)
        xnorm = xp.linalg.vector_norm(X, axis=1)
        scale = perturbation * xnorm / xp.where(gnorm > 0, gnorm, xp.ones_like(gnorm))
        return X + g * scale[:, None]

    def shift_of(diag_mean: Any) -> Any:
        """Per-segment diagonal shift ``reg + JITTER * (trace/k + global mean)``."""
        return reg + JITTER * (diag_mean + xp.mean(diag_mean) + 1e-300)

    def half_step(side: _Side, fixed: Any, warm: Any) -> Any:
        row_sq = xp.sum(fixed * fixed, axis=1)
        diag_mean = linalg.csr_matmul(side.offsets, side.indices, side.ones, row_sq[:, None])[:, 0] / k
        shift = shift_of(diag_mean)  # trace(A_s) / k from the factor's row norms
        if solve == "exact":
            X = linalg.segment_least_squares(
                side.offsets, side.indices, fixed, side.values, shift=shift, layout=side.layout,
                method=kernel, ones=side.ones, blocks=side.blocks,
            )
        else:
            X = linalg.segment_cg(side.offsets, side.indices, fixed, side.values, warm, n_iter=cg_iters,
                                  shift=shift, seg_ids=side.seg_ids, blocks=side.blocks)
        return perturb(X)

    # ---- cost model ------------------------------------------------------
    ops, breakdown = _altmin_ops(obs, k, solve, cg_iters, orthonormalize, sides[0],
                                 kernel if solve == "exact" else None)
    params = {
        "rank": k, "reg": reg, "solve": solve, "cg_iters": cg_iters if solve == "cg" else None,
        "init": init if isinstance(init, str) else "given", "trim": trim, "orthonormalize": bool(orthonormalize),
        "perturbation": perturbation, "resample": n_parts, "max_iter": max_iter, "tol": tol,
        "nnz": obs.nnz, "shape": obs.shape, "ops_per_sweep": ops, "ops_breakdown": breakdown,
        "kernel": kernel, "n_threads": n_threads if threaded else 1, **svd.params(),
    }

    # ---- the loop (one sweep per step) ---------------------------------------
    def sweep(it: Iterate) -> tuple:
        U, V = it.state
        t = it.iteration + 1
        col_side, row_side = sides[(2 * (t - 1)) % len(sides)][0], sides[(2 * t - 1) % len(sides)][1]
        if orthonormalize:
            Qu, Ru = _qr(xp, U)
            V = half_step(col_side, Qu, V @ xp.matrix_transpose(Ru))
            Qv, Rv = _qr(xp, V)
            U = half_step(row_side, Qv, Qu @ xp.matrix_transpose(Rv) if solve == "cg" else None)
            return U, Qv
        V = half_step(col_side, U, V)
        return half_step(row_side, V, U), V

    with plan:  # shuts the plan's thread pool down however the run ends
        if threaded:
            monitor.executor, monitor.n_threads = plan.executor, plan.n_threads
        outcome = _drive(monitor, (U, V), sweep, loss_of, max_iter=max_iter, check_every=check_every,
                         callback=callback, progress=progress, desc="altmin", context=serial_blas(threaded),
                         residual=False)
    return monitor.recorder.result(factors=outcome.state, n_iter=outcome.n_iter, stop_reason=outcome.stop_reason,
                                   seed=seed, solver=f"altmin_{solve}", params=params)


def _altmin_ops(
    obs: Observations, k: int, solve: str, cg_iters: int, orthonormalize: bool, side_pair: tuple, kernel: str | None
) -> tuple[float, dict]:
    """Floating-point operation model of one sweep (both half-steps), from the shapes actually used."""
    m, n = obs.shape
    nnz = side_pair[0].nnz  # entries per half-step (a part of Omega with resample)
    packed = k * (k + 1) // 2
    out: dict[str, float] = {}
    if solve == "exact":
        padded_method = kernel == "padded" or (kernel == "auto" and side_pair[0].layout is not None
                                               and (k > linalg.PACKED_MAX_K or not backend.is_numpy(obs.xp)))
        if padded_method:
            padded = side_pair[0].layout.padded_entries + side_pair[1].layout.padded_entries
            out["normal_matrices"] = 2.0 * padded * k * k
            out["right_hand_sides"] = 2.0 * padded * k
        else:
            out["normal_matrices"] = 2.0 * (2 * nnz * packed) + (m + n) * packed
            out["right_hand_sides"] = 2.0 * (2 * nnz * k)
        out["solves"] = (m + n) * (k**3 / 3.0 + 2.0 * k * k)
    else:
        applies = cg_iters + 1
        out["right_hand_sides"] = 2.0 * (2 * nnz * k) + 2.0 * (2 * nnz)
        out["cg_applications"] = 2.0 * applies * (4 * nnz * k) + applies * 2 * (m + n) * k
        out["cg_vector_updates"] = cg_iters * 10.0 * (m + n) * k
    if orthonormalize:
        out["qr"] = 2.0 * 4 * (m + n) * k * k
    return float(sum(out.values())), out
