"""Solvers for low-rank matrix sensing (studies A and B; see docs/references.md).

Every solver is a plain function
``solver(problem, rank, *, ..., max_iter, tol, callback=None, rng=None,
history_stride=1, progress=False) -> SolverResult`` on a
:class:`~lowrank_lab.sensing.SensingProblem`:

:func:`factored_gd`
    Gradient descent on ``X X^T`` ("symmetric") or ``F G^T`` ("asymmetric") with
    any width ``k``, small random or spectral initialization, constant step, and
    an optional one-step imbalance injection (a reconstruction).
:func:`scaled_gd`
    ScaledGD of Tong, Ma and Chi: factor updates preconditioned by
    ``(G^T G + lambda I)^{-1}``.
:func:`subgradient_l1`
    Sub-gradient method on the l1 loss from a small initialization (Ma and
    Fattahi), with a capped robust Polyak step (default) or geometrically decaying steps.
:func:`nuclear_norm_pgd`
    Convex baseline: proximal gradient on ``(1/2m)||A(X) - y||^2 + reg ||X||_*``
    (singular value thresholding).

Losses (``w`` is the operator's ``loss_weight``: ``1/m`` for Gaussian sensing,
``1`` for the fully observed variant; ``r_i = <A_i, model> - y_i``), exactly as
Xiong, Ding & Du (2024, arXiv:2310.01769) and Ma & Fattahi (2022, arXiv:2202.08788):

==========================  ===============================  ==============================================
model                       loss                             gradient
==========================  ===============================  ==============================================
``X X^T``  (l2, study A)    ``(w/4) sum r_i^2``              ``w sum r_i (A_i + A_i^T)/2 X``
``F G^T``  (l2, study A)    ``(w/2) sum r_i^2``              ``w sum r_i A_i G``, ``w sum r_i A_i^T F``
``U U^T``  (l1, study B)    ``w sum |r_i|``                  ``w sum sign(r_i) (A_i + A_i^T) U``
``F G^T``  (l1)             ``w sum |r_i|``                  ``w sum sign(r_i) A_i G``, ``... A_i^T F``
==========================  ===============================  ==============================================

Note that study B's l2 baseline ``(1/2m) sum r_i^2`` on ``U U^T`` is
:func:`factored_gd` (symmetric) with twice the step size.

Histories (one row every ``history_stride`` iterations, plus the last) have
``iteration``, ``time_s``, ``loss``, ``relative_error`` (``||model - M*||_F /
||M*||_F``, when the truth is known), ``relative_residual`` (``||r|| / ||y||``) and
per-solver columns (``imbalance`` ``= ||F^T F - G^T G||_F``, the factor's singular
values ``sigma_1..sigma_k`` or ``sigma_f_*``/``sigma_g_*``, ``step_size``, ``rank``).

All solvers get the namespace from the problem's arrays and use only Array API
standard calls (plus :mod:`lowrank_lab.linalg`); the host is consulted only every
``check_every`` iterations (convergence and divergence checks).  Divergence (NaN,
infinity, or a loss ``1e8`` times its initial value) stops with
``stop_reason="diverged"`` and returns the last finite iterate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .. import backend
from .._validation import check_callback, check_choice, check_float, check_int
from ..iteration import Iterate, iterate
from ..results import HistoryRecorder, SolverResult, seed_of
from ._factored import (
    L1Rule,
    _check_problem,
    _check_stride,
    _check_tol,
    _factor_from_matrix,
    _keep_top,
    _lipschitz,
    _OneStepFix,
    _run_factored,
    _Setup,
    _spectral_norm_of_backprojection,
)
from .problems import SensingProblem

__all__ = ["factored_gd", "nuclear_norm_pgd", "scaled_gd", "subgradient_l1"]

ONE_STEP_FIXES = (None, "orthogonal", "rescale")


# --------------------------------------------------------------------------- #
# public solvers
# --------------------------------------------------------------------------- #
def factored_gd(
    problem: SensingProblem,
    rank: int,
    *,
    parameterization: str | None = None,
    step_size: float = 0.1,
    init: Any = "small_random",
    init_scale: float = 1e-2,
    one_step_fix: str | None = None,
    fix_iteration: int = 500,
    fix_scale: float = 1.0,
    max_iter: int = 1000,
    tol: float = 1e-10,
    check_every: int = 10,
    callback: Callable[[int, dict], bool | None] | None = None,
    rng: Any = None,
    history_stride: int = 1,
    record_singular_values: bool = True,
    progress: bool = False,
) -> SolverResult:
    """Gradient descent on a factored model of width ``rank`` with a constant step.

    Minimizes ``(w/4) sum_i (<A_i, X X^T> - y_i)^2`` (symmetric) or
    ``(w/2) sum_i (<A_i, F G^T> - y_i)^2`` (asymmetric), ``w = 1/m`` (Xiong, Ding & Du 2024).

    Parameters
    ----------
    problem : SensingProblem
    rank : int
        Factor width ``k`` (any ``k >= 1``; ``k > rank(M*)`` is over-parameterized).
    parameterization : {"symmetric", "asymmetric"}, optional
        ``X X^T`` or ``F G^T``.  Default: symmetric when the truth is PSD.
        The asymmetric model needs an operator that sees non-symmetric matrices
        (``gaussian_sensing(..., symmetric=False)`` or ``fully_observed``).
    step_size : float, default 0.1
        Constant step ``eta`` (the truth is normalized to ``sigma_1 = 1`` by
        :func:`~lowrank_lab.matrices.low_rank_matrix`).
    init : {"small_random", "spectral"} or tuple of arrays
        ``"small_random"``: ``X_0 = alpha Z``, ``Z_ij ~ N(0, 1/n)``, with ``F_0`` and
        ``G_0`` drawn independently.  ``"spectral"``: top-``k`` SVD (eigen-
        decomposition when symmetric) ``U S V^T`` of ``w A^*(y)``, ``F_0 = U S^{1/2}``,
        ``G_0 = V S^{1/2}``.  A tuple ``(X_0,)`` or ``(F_0, G_0)`` is used as given.
    init_scale : float, default 1e-2
        ``alpha`` of the small random initialization.
    one_step_fix : {None, "orthogonal", "rescale"}
        Asymmetric only.  **Reconstruction (of Xiong, Ding & Du 2024 -- check against the
        paper):** once, at iteration ``fix_iteration`` (after the initial phase),
        inject order-one imbalance.  ``"orthogonal"`` adds ``P = (I - Q Q^T) Z`` to
        ``F``, where ``Q`` is an orthonormal basis of ``F``'s current column space
        and ``Z_ij ~ N(0, fix_scale^2 / n1)``: ``F^T F`` grows by ``P^T P`` while the
        cross terms vanish.  In the issue's pilot (n = 20, r = 2, k = 4, m = 800,
        step 0.2) it brought the relative error to 1e-14 within 1,500 further steps
        for every alpha in {1e-1, 1e-2, 1e-3}.  ``"rescale"`` is the control that
        barely helps: ``F <- c F``, ``G <- G / c`` with ``c = 1 + fix_scale``.
    fix_iteration : int, default 500
        When the fix is applied.
    fix_scale : float, default 1.0
        Size of the injected perturbation (see ``one_step_fix``).
    max_iter : int, default 1000
    tol : float, default 1e-10
        Stop ("converged") when the relative residual ``||r|| / ||y||`` is at most ``tol``.
    check_every : int, default 10
        Iterations between host-side convergence / divergence checks.
    callback : callable, optional
        ``callback(iteration, state) -> bool | None``; ``state`` has ``factors``,
        ``loss`` (0-d array) and ``step_size``.  True stops ("callback").
    rng : int, Generator or None
        Stream of the random initialization and of the one-step fix.
    history_stride : int, default 1
    record_singular_values : bool, default True
        Record the singular values of the factor(s) (``sigma_1..sigma_k``, or
        ``sigma_f_i`` and ``sigma_g_i``) and, asymmetric, the imbalance.
    progress : bool, default False
        Show a ``tqdm`` progress bar.

    Returns
    -------
    SolverResult
        ``factors = (X,)`` (symmetric, model ``X X^T``) or ``(F, G)`` (model ``F G^T``).

    Examples
    --------
    >>> from lowrank_lab.matrices import low_rank_matrix
    >>> from lowrank_lab.sensing import gaussian_sensing
    >>> M = low_rank_matrix(8, 8, 2, psd=True, rng=0)
    >>> problem = gaussian_sensing(M, 120, rng=1)
    >>> res = factored_gd(problem, 2, step_size=0.2, init_scale=0.1, max_iter=3000, rng=2)
    >>> res.stop_reason, bool(res.final("relative_error") < 1e-8)
    ('converged', True)
    """
    problem = _check_problem(problem)
    setup = _Setup.build(problem, rank, parameterization, init, init_scale, rng)
    step_size = check_float(step_size, "step_size", low=0.0, low_inclusive=False)
    one_step_fix = check_choice(one_step_fix, "one_step_fix", ONE_STEP_FIXES)
    max_iter = check_int(max_iter, "max_iter", low=0)
    fix_iteration = check_int(fix_iteration, "fix_iteration", low=0)
    fix_scale = check_float(fix_scale, "fix_scale", low=0.0)
    fix = None
    if one_step_fix is not None:
        if setup.parameterization != "asymmetric":
            raise ValueError(f"one_step_fix needs parameterization='asymmetric', got {setup.parameterization!r}")
        if one_step_fix == "orthogonal" and setup.rank >= problem.shape[0]:
            raise ValueError(
                f"one_step_fix='orthogonal' needs rank < n1={problem.shape[0]} (room for an orthogonal "
                f"perturbation), got rank={setup.rank}"
            )
        fix = _OneStepFix(one_step_fix, fix_iteration, fix_scale, setup)
    params = {
        "parameterization": setup.parameterization,
        "rank": setup.rank,
        "step_size": step_size,
        "init": setup.init_name,
        "init_scale": init_scale if setup.init_name == "small_random" else None,
        "one_step_fix": one_step_fix,
        "fix_iteration": fix_iteration if one_step_fix else None,
        "fix_scale": fix_scale if one_step_fix else None,
        "max_iter": max_iter,
        "tol": tol,
    }
    return _run_factored(
        problem,
        setup,
        loss="l2",
        schedule=lambda t: step_size,
        damping=None,
        fix=fix,
        max_iter=max_iter,
        tol=_check_tol(tol),
        check_every=check_every,
        callback=callback,
        history_stride=history_stride,
        record_singular_values=record_singular_values,
        record_step=False,
        progress=progress,
        solver="factored_gd",
        params=params,
        seed=seed_of(rng),
    )


def scaled_gd(
    problem: SensingProblem,
    rank: int,
    *,
    parameterization: str | None = None,
    step_size: float = 0.5,
    init: Any = "spectral",
    init_scale: float = 1e-2,
    damping: float | None = None,
    max_iter: int = 1000,
    tol: float = 1e-10,
    check_every: int = 10,
    callback: Callable[[int, dict], bool | None] | None = None,
    rng: Any = None,
    history_stride: int = 1,
    record_singular_values: bool = True,
    progress: bool = False,
) -> SolverResult:
    """Scaled gradient descent (ScaledGD; Tong, Ma and Chi, arXiv 2005.08898).

    Asymmetric: ``F <- F - eta grad_F f (G^T G + lambda I)^{-1}``,
    ``G <- G - eta grad_G f (F^T F + lambda I)^{-1}`` on the loss of
    :func:`factored_gd`; symmetric: ``X <- X - eta grad f (X^T X + lambda I)^{-1}``.
    Its linear contraction factor does not depend on the condition number.
    With ``init="small_random"`` and ``damping > 0`` this is ScaledGD(lambda) of Xu, Shen,
    Chi & Ma (2023, arXiv:2302.01186), meant for a width ``k`` above the true rank.

    Parameters
    ----------
    problem : SensingProblem
    rank : int
        Factor width ``k``.
    parameterization : {"symmetric", "asymmetric"}, optional
        As in :func:`factored_gd`.
    step_size : float, default 0.5
    init : {"spectral", "small_random"} or tuple of arrays
        Default: spectral initialization (top-``k`` SVD of ``w A^*(y)``).
    init_scale : float, default 1e-2
        ``alpha`` when ``init="small_random"``.
    damping : float, optional
        ``lambda``.  The plain method uses ``lambda = 0``; for ``k > r`` the Gram
        matrices become near-singular and a small ``lambda`` is needed
        (**reconstruction -- check against the paper**; Tong, Ma & Chi 2021 treat k = r).  Default:
        0 when ``rank`` is at most the truth's rank, else ``1e-3`` times the top
        singular value of ``w A^*(y)`` (also when the truth is unknown).
    max_iter, tol, check_every, callback, rng, history_stride, record_singular_values, progress
        As in :func:`factored_gd`.

    Returns
    -------
    SolverResult
        ``factors = (X,)`` or ``(F, G)``.

    Examples
    --------
    >>> from lowrank_lab.matrices import low_rank_matrix
    >>> from lowrank_lab.sensing import gaussian_sensing
    >>> M = low_rank_matrix(8, 8, 2, condition_number=20.0, rng=0)
    >>> problem = gaussian_sensing(M, 150, rng=1)
    >>> res = scaled_gd(problem, 2, max_iter=200)
    >>> res.stop_reason, bool(res.final("relative_error") < 1e-8)
    ('converged', True)
    """
    problem = _check_problem(problem)
    setup = _Setup.build(problem, rank, parameterization, init, init_scale, rng)
    step_size = check_float(step_size, "step_size", low=0.0, low_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", low=0)
    if damping is None:
        true_rank = problem.rank
        if true_rank is not None and setup.rank <= true_rank:
            damping = 0.0
        else:
            damping = 1e-3 * _spectral_norm_of_backprojection(problem)
    damping = check_float(damping, "damping", low=0.0)
    params = {
        "parameterization": setup.parameterization,
        "rank": setup.rank,
        "step_size": step_size,
        "init": setup.init_name,
        "init_scale": init_scale if setup.init_name == "small_random" else None,
        "damping": damping,
        "max_iter": max_iter,
        "tol": tol,
    }
    return _run_factored(
        problem,
        setup,
        loss="l2",
        schedule=lambda t: step_size,
        damping=damping,
        fix=None,
        max_iter=max_iter,
        tol=_check_tol(tol),
        check_every=check_every,
        callback=callback,
        history_stride=history_stride,
        record_singular_values=record_singular_values,
        record_step=False,
        progress=progress,
        solver="scaled_gd",
        params=params,
        seed=seed_of(rng),
    )


def subgradient_l1(
    problem: SensingProblem,
    rank: int,
    *,
    parameterization: str | None = None,
    step_size: float = 0.05,
    decay: float | None = None,
    polyak: float = 0.25,
    init: Any = "small_random",
    init_scale: float = 1e-6,
    max_iter: int = 3000,
    tol: float = 1e-12,
    stall_residual: float = 0.1,
    check_every: int = 10,
    callback: Callable[[int, dict], bool | None] | None = None,
    rng: Any = None,
    history_stride: int = 1,
    record_singular_values: bool = True,
    progress: bool = False,
) -> SolverResult:
    """Sub-gradient method on the l1 loss (SubGM; Ma and Fattahi, arXiv 2202.08788).

    Minimizes ``f(U) = (1/m) sum_i |<A_i, U U^T> - y_i|`` with
    ``U <- U - eta_t g``, ``g = (1/m) sum_i sign(r_i) (A_i + A_i^T) U``, from
    ``U_0 = alpha B_0``, ``(B_0)_ij ~ N(0, 1/d)`` (Ma & Fattahi 2022).  The asymmetric
    variant uses ``F G^T`` with ``g_F = (1/m) sum sign(r_i) A_i G``.

    **Step sizes.**  Two rules:

    * ``decay=None`` (default): a *robust Polyak step* capped at ``step_size``,
      ``eta_t = min(step_size, polyak * gap_t / ||g_t||_F^2)`` with
      ``gap_t = w m median_i |r_i|`` (``w m = 1`` for Gaussian sensing).  Polyak's step
      ``(f(U_t) - f^*) / ||g_t||^2`` converges linearly on sharp, weakly convex losses
      (Davis, Drusvyatskiy, MacPhee & Paquette 2018, "Subgradient methods for sharp
      weakly convex functions", JOTA), and this l1 loss is sharp (Li, Zhu, So & Vidal
      2020, arXiv:1809.09237), but its optimal value ``f^* = f(U^*)`` is unknown under
      outliers.  For Gaussian measurements with a fraction ``p < 1/2`` of outliers the
      median absolute residual is, within a factor set by ``p`` (about 0.8 to 2.5 for
      ``p`` up to 0.4), the gap ``f(U) - f^*`` itself (both are proportional to
      ``||U U^T - X^*||_F``), so it replaces the unknown gap (**reconstruction -- our
      choice, not the paper's**).  Far from the truth (the small initialization) the
      cap is active and the method is Ma & Fattahi's constant-step growth phase; near
      it the step shrinks with the error, so there is no step-size floor and no
      schedule to tune: with the exact rank it converges linearly to round-off from
      every ``alpha``, across sizes, widths and outlier fractions up to 0.3
      (``tests/test_hardening_defaults.py`` tests the grid).
    * ``decay=rho``: the geometric decay ``eta_t = step_size * rho^t`` (**reconstruction
      -- check against the paper**, Ma & Fattahi 2022; Li et al. 2020): with too fast a
      decay the iterates freeze before reaching the truth (total travel
      ``step_size / (1 - rho)`` must cover the escape from ``alpha``), with too slow a
      decay the error keeps a floor proportional to the last step.

    **Stopping.**  The relative update ``eta_t ||g_t|| / ||U_t||`` bounds how far the
    iterate still moves (divided by ``1 - rho`` for the geometric schedule: the rest of
    the run's travel).  When it is at most ``tol`` the run stops, ``"converged"`` if the
    relative median residual ``median_i |r_i| / median_i |y_i|`` is at most
    ``stall_residual``, else ``"stalled"``; a geometric schedule whose remaining travel
    is below 1% while the residuals are still large also stops ``"stalled"``.  The median
    ignores the outliers (a fraction below 1/2) where the loss does not: the l1 loss at
    the truth can be close to the loss at 0 when the outliers are large.

    Parameters
    ----------
    problem : SensingProblem
    rank : int
        Width ``r'`` of ``U`` (over-parameterized when ``r' > r``).
    parameterization : {"symmetric", "asymmetric"}, optional
        Default: symmetric when the truth is PSD.
    step_size : float, default 0.05
        The cap of the Polyak step, or ``eta_0`` of the geometric schedule.  The update
        changes ``U`` by a relative ``2 eta ||S||_2`` with ``S = (1/m) sum sign(r_i)
        A_i`` of norm below 1, whatever the scale of the truth.
    decay : float in (0, 1] or None, default None
        ``rho`` of the geometric schedule; None for the robust Polyak step.
    polyak : float, default 0.25
        Factor of the Polyak step.  Polyak's analysis allows (0, 2) with the exact gap;
        the median overestimates the gap by up to ~2.5x at 40% outliers, hence 0.25.
    init, init_scale
        As in :func:`factored_gd` (default ``alpha = 1e-6``: with ``alpha = 1e-3`` an
        over-parameterized run with ``r' d`` above ``m`` and 30% outliers drifts
        towards fitting the outliers once it has reached the truth; smaller ``alpha``
        keeps the spurious directions small, as Ma & Fattahi's analysis requires).
    max_iter : int, default 3000
    tol : float, default 1e-12
        Stop when the iterate no longer moves (relative update, see above).
    stall_residual : float, default 0.1
        Relative median residual above which a frozen iterate is ``"stalled"``.
    check_every, callback, rng, history_stride, record_singular_values, progress
        As in :func:`factored_gd`; the history also records ``step_size``.

    Returns
    -------
    SolverResult
        ``factors = (U,)`` (model ``U U^T``) or ``(F, G)``.

    Examples
    --------
    >>> from lowrank_lab.matrices import low_rank_matrix
    >>> from lowrank_lab.sensing import gaussian_sensing
    >>> M = low_rank_matrix(8, 8, 1, psd=True, rng=0)
    >>> problem = gaussian_sensing(M, 200, outlier_fraction=0.2, rng=1)
    >>> res = subgradient_l1(problem, 1, rng=2)
    >>> res.stop_reason, bool(res.final("relative_error") < 1e-10)
    ('converged', True)
    >>> res = subgradient_l1(problem, 3, step_size=0.1, decay=0.99, init_scale=1e-3, max_iter=1500, rng=2)
    >>> bool(res.final("relative_error") < 1e-3)
    True
    """
    problem = _check_problem(problem)
    setup = _Setup.build(problem, rank, parameterization, init, init_scale, rng)
    step_size = check_float(step_size, "step_size", low=0.0, low_inclusive=False)
    if decay is not None:
        decay = check_float(decay, "decay", low=0.0, high=1.0, low_inclusive=False)
    polyak = check_float(polyak, "polyak", low=0.0, low_inclusive=False)
    stall_residual = check_float(stall_residual, "stall_residual", low=0.0)
    max_iter = check_int(max_iter, "max_iter", low=0)
    rule = L1Rule("polyak" if decay is None else "geometric", step_size, decay, polyak, stall_residual)
    log_decay = math.log(decay) if decay is not None else 0.0

    def schedule(t: int) -> float:
        return step_size * math.exp(t * log_decay)

    params = {
        "parameterization": setup.parameterization,
        "rank": setup.rank,
        "step_rule": rule.kind,
        "step_size": step_size,
        "decay": decay,
        "polyak": polyak if decay is None else None,
        "init": setup.init_name,
        "init_scale": init_scale if setup.init_name == "small_random" else None,
        "max_iter": max_iter,
        "tol": tol,
        "stall_residual": stall_residual,
    }
    return _run_factored(
        problem,
        setup,
        loss="l1",
        schedule=schedule,
        damping=None,
        fix=None,
        max_iter=max_iter,
        tol=_check_tol(tol),
        check_every=check_every,
        callback=callback,
        history_stride=history_stride,
        record_singular_values=record_singular_values,
        record_step=True,
        progress=progress,
        solver="subgradient_l1",
        params=params,
        seed=seed_of(rng),
        l1_rule=rule,
    )


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


