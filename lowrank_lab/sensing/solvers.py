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
    Sub-gradient method on the l1 loss with geometrically decaying steps and
    small initialization (Ma and Fattahi).
:func:`~lowrank_lab.sensing.nuclear_norm_pgd` (in ``convex``)
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

import numpy as np

from .. import backend, linalg
from .._validation import check_callback, check_choice, check_float, check_int
from ..iteration import Iterate, iterate
from ..results import HistoryRecorder, SolverResult, seed_of
from .problems import SensingProblem

__all__ = ["factored_gd", "scaled_gd", "subgradient_l1"]

PARAMETERIZATIONS = ("symmetric", "asymmetric")
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
    decay: float = 0.995,
    init: Any = "small_random",
    init_scale: float = 1e-3,
    max_iter: int = 3000,
    tol: float = 1e-12,
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

    The step size decays geometrically, ``eta_t = step_size * decay^t``
    (**reconstruction -- check against the paper**, Ma & Fattahi 2022): with a constant
    step the sub-gradients do not vanish and the error has a floor proportional to
    the step; with too fast a decay the iterates freeze before reaching the truth
    (total travel ``step_size / (1 - decay)``).

    Parameters
    ----------
    problem : SensingProblem
    rank : int
        Width ``r'`` of ``U`` (over-parameterized when ``r' > r``).
    parameterization : {"symmetric", "asymmetric"}, optional
        Default: symmetric when the truth is PSD.
    step_size : float, default 0.05
        ``eta_0``.
    decay : float in (0, 1], default 0.995
        ``rho``.
    init, init_scale
        As in :func:`factored_gd` (default ``alpha = 1e-3``).
    max_iter : int, default 3000
    tol : float, default 1e-12
        Stop ("converged") when the relative update ``eta_t ||g|| / ||U||`` is at
        most ``tol`` (the iterates are frozen).
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
    >>> res = subgradient_l1(problem, 3, step_size=0.1, decay=0.99, max_iter=1500, rng=2)
    >>> bool(res.final("relative_error") < 1e-3)
    True
    """
    problem = _check_problem(problem)
    setup = _Setup.build(problem, rank, parameterization, init, init_scale, rng)
    step_size = check_float(step_size, "step_size", low=0.0, low_inclusive=False)
    decay = check_float(decay, "decay", low=0.0, high=1.0, low_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", low=0)
    log_decay = math.log(decay)

    def schedule(t: int) -> float:
        return step_size * math.exp(t * log_decay)

    params = {
        "parameterization": setup.parameterization,
        "rank": setup.rank,
        "step_size": step_size,
        "decay": decay,
        "init": setup.init_name,
        "init_scale": init_scale if setup.init_name == "small_random" else None,
        "max_iter": max_iter,
        "tol": tol,
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
    )


# --------------------------------------------------------------------------- #
# set-up shared by the factored solvers
# --------------------------------------------------------------------------- #
class _Setup:
    """Validated parameterization, width and initial factors."""

    def __init__(self, parameterization: str, rank: int, factors: tuple, init_name: str, gen: Any) -> None:
        self.parameterization = parameterization
        self.rank = rank
        self.factors = factors
        self.init_name = init_name
        self.gen = gen

    @classmethod
    def build(cls, problem: SensingProblem, rank: Any, parameterization: Any, init: Any, init_scale: Any,
              rng: Any) -> _Setup:
        n1, n2 = problem.shape
        rank = check_int(rank, "rank", low=1, high=min(n1, n2), high_label="min(n1, n2)")
        if parameterization is None:
            parameterization = "symmetric" if problem.psd else "asymmetric"
        parameterization = check_choice(parameterization, "parameterization", PARAMETERIZATIONS)
        if parameterization == "symmetric" and n1 != n2:
            raise ValueError(f"parameterization='symmetric' needs a square problem, got shape ({n1}, {n2})")
        if parameterization == "asymmetric" and not problem.operator.observes_all:
            raise ValueError(
                "parameterization='asymmetric' needs an operator that sees non-symmetric matrices: symmetric "
                "sensing matrices cannot see the antisymmetric part of F G^T; build the problem with "
                "gaussian_sensing(..., symmetric=False) or use parameterization='symmetric'"
            )
        gen = backend.as_generator(rng)
        y = problem.measurements
        xp = backend.array_namespace(y)
        if isinstance(init, str):
            init = check_choice(init, "init", ("small_random", "spectral"))
            if init == "small_random":
                alpha = check_float(init_scale, "init_scale", low=0.0, low_inclusive=False)
                F = backend.random_normal((n1, rank), rng=gen, like=y, scale=alpha / math.sqrt(n1))
                if parameterization == "symmetric":
                    factors = (F,)
                else:
                    G = backend.random_normal((n2, rank), rng=gen, like=y, scale=alpha / math.sqrt(n2))
                    factors = (F, G)
            else:
                factors = _spectral_init(problem, rank, parameterization)
            return cls(parameterization, rank, factors, init, gen)
        if not isinstance(init, (tuple, list)):
            raise TypeError(f"init must be 'small_random', 'spectral' or a tuple of arrays, got {type(init).__name__}")
        want = [(n1, rank)] if parameterization == "symmetric" else [(n1, rank), (n2, rank)]
        if len(init) != len(want):
            raise ValueError(
                f"init must hold {len(want)} array(s) for parameterization={parameterization!r}, got {len(init)}"
            )
        factors = []
        for i, (arr, shape) in enumerate(zip(init, want)):
            name = f"init[{i}]"
            arr = backend.asarray(backend.to_numpy(arr), like=y, dtype=y.dtype) if not _same_backend(arr, xp) else arr
            if tuple(arr.shape) != shape:
                raise ValueError(f"{name} must have shape {shape}, got {tuple(arr.shape)}")
            if not bool(xp.all(xp.isfinite(arr))):
                raise ValueError(f"{name} must be finite")
            factors.append(xp.astype(arr, y.dtype))
        return cls(parameterization, rank, tuple(factors), "given", gen)


def _same_backend(arr: Any, xp: Any) -> bool:
    try:
        return backend.backend_name(backend.array_namespace(arr)) == backend.backend_name(xp)
    except TypeError:
        return False


def _spectral_init(problem: SensingProblem, rank: int, parameterization: str) -> tuple:
    y = problem.measurements
    xp = backend.array_namespace(y)
    M0 = problem.operator.loss_weight * problem.operator.adjoint(y)
    if parameterization == "symmetric":
        evals, evecs = xp.linalg.eigh(0.5 * (M0 + xp.matrix_transpose(M0)))
        n = evals.shape[0]
        top = evecs[:, n - rank:]
        vals = xp.maximum(evals[n - rank:], 0.0)
        X = top * xp.sqrt(vals)[None, :]
        return (xp.flip(X, axis=1),)
    U, S, Vt = linalg.truncated_svd(M0, rank)
    root = xp.sqrt(S)
    return U * root[None, :], xp.matrix_transpose(Vt) * root[None, :]


def _spectral_norm_of_backprojection(problem: SensingProblem) -> float:
    y = problem.measurements
    xp = backend.array_namespace(y)
    M0 = problem.operator.loss_weight * problem.operator.adjoint(y)
    return float(xp.linalg.matrix_norm(M0, ord=2))


class _OneStepFix:
    """The one-step imbalance injection (reconstruction; see :func:`factored_gd`)."""

    def __init__(self, kind: str, iteration: int, scale: float, setup: _Setup) -> None:
        self.kind = kind
        self.iteration = iteration
        self.scale = scale
        F = setup.factors[0]
        n1, k = F.shape
        # drawn now, on the host, from the run's stream: deterministic on every backend
        self.Z = backend.random_normal((n1, k), rng=setup.gen, like=F, scale=scale / math.sqrt(n1))

    def apply(self, F: Any, G: Any) -> tuple[Any, Any]:
        xp = backend.array_namespace(F)
        if self.kind == "rescale":
            c = 1.0 + self.scale
            return c * F, G / c
        Q = xp.linalg.qr(F, mode="reduced")[0]
        P = self.Z - Q @ (xp.matrix_transpose(Q) @ self.Z)
        return F + P, G


# --------------------------------------------------------------------------- #
# the shared loop
# --------------------------------------------------------------------------- #
def _run_factored(
    problem: SensingProblem,
    setup: _Setup,
    *,
    loss: str,
    schedule: Callable[[int], float],
    damping: float | None,
    fix: _OneStepFix | None,
    max_iter: int,
    tol: float,
    check_every: int,
    callback: Any,
    history_stride: int,
    record_singular_values: bool,
    record_step: bool,
    progress: bool,
    solver: str,
    params: dict,
    seed: int | None,
) -> SolverResult:
    check_every = check_int(check_every, "check_every", low=1)
    callback = check_callback(callback)
    if not isinstance(record_singular_values, (bool, np.bool_)):
        raise TypeError(f"record_singular_values must be a bool, got {record_singular_values!r}")
    recorder = HistoryRecorder(_check_stride(history_stride))
    op = problem.operator
    y = problem.measurements
    xp = backend.array_namespace(y)
    w = op.loss_weight
    symmetric = setup.parameterization == "symmetric"
    needs_sym = not op.symmetric  # A^*(r) is already symmetric for symmetric sensing
    M = problem.truth_matrix
    M_norm = None if M is None else xp.linalg.matrix_norm(M)
    y_norm = float(xp.linalg.vector_norm(y))
    y_norm = y_norm if y_norm > 0 else 1.0
    k = setup.rank
    eye = xp.eye(k, dtype=y.dtype, device=backend.device(y)) if damping is not None else None
    # loss and gradient constants (Xiong, Ding & Du 2024; Ma & Fattahi 2022)
    if loss == "l2":
        loss_coef = w / 4.0 if symmetric else w / 2.0
        grad_coef = w
    else:
        loss_coef = w
        grad_coef = 2.0 * w if symmetric else w
    factors = setup.factors

    def model(fs: tuple) -> Any:
        if symmetric:
            return fs[0] @ xp.matrix_transpose(fs[0])
        return fs[0] @ xp.matrix_transpose(fs[1])

    def backproject(r: Any) -> Any:
        weights = r if loss == "l2" else xp.sign(r)
        S = grad_coef * op.adjoint(weights)
        if symmetric and needs_sym:
            S = 0.5 * (S + xp.matrix_transpose(S))
        return S

    def loss_value(r: Any) -> Any:
        return loss_coef * (xp.sum(r * r) if loss == "l2" else xp.sum(xp.abs(r)))

    def gradients(fs: tuple, S: Any) -> tuple:
        if symmetric:
            g = S @ fs[0]
            if damping is not None:
                g = _right_solve(xp, g, xp.matrix_transpose(fs[0]) @ fs[0] + damping * eye)
            return (g,)
        F, G = fs
        gF = S @ G
        gG = xp.matrix_transpose(S) @ F
        if damping is not None:
            gF = _right_solve(xp, gF, xp.matrix_transpose(G) @ G + damping * eye)
            gG = _right_solve(xp, gG, xp.matrix_transpose(F) @ F + damping * eye)
        return gF, gG

    def record(fs: tuple, P: Any, r: Any, eta: float) -> dict:
        values: dict[str, Any] = {}
        if M is not None:
            values["relative_error"] = xp.linalg.matrix_norm(P - M) / M_norm
        values["relative_residual"] = xp.linalg.vector_norm(r) / y_norm
        if record_step:
            values["step_size"] = eta
        if not symmetric:
            F, G = fs
            values["imbalance"] = xp.linalg.matrix_norm(
                xp.matrix_transpose(F) @ F - xp.matrix_transpose(G) @ G
            )
        if record_singular_values:
            if symmetric:
                sv = xp.linalg.svdvals(fs[0])
                for i in range(k):
                    values[f"sigma_{i + 1}"] = sv[i]
            else:
                svf = xp.linalg.svdvals(fs[0])
                svg = xp.linalg.svdvals(fs[1])
                for i in range(k):
                    values[f"sigma_f_{i + 1}"] = svf[i]
                for i in range(k):
                    values[f"sigma_g_{i + 1}"] = svg[i]
        return values

    def measure(it: Iterate) -> Any:
        P = model(it.state)
        r = op.apply(P) - y
        it.cache["P"], it.cache["r"] = P, r
        return loss_value(r)

    def grads_of(it: Iterate) -> tuple:
        if "grads" not in it.cache:
            it.loss  # noqa: B018 - fills the residual
            it.cache["grads"] = gradients(it.state, backproject(it.cache["r"]))
        return it.cache["grads"]

    def check(it: Iterate) -> str | None:
        if loss == "l2":
            converged = math.sqrt(max(float(it.loss) / loss_coef, 0.0)) / y_norm <= tol
        else:
            eta = schedule(it.iteration)
            step = eta * math.sqrt(sum(float(xp.sum(g * g)) for g in grads_of(it)))
            size = math.sqrt(sum(float(xp.sum(f * f)) for f in it.state))
            converged = step <= tol * max(size, 1e-300)
        return "converged" if converged else None

    def metrics(it: Iterate) -> dict:
        it.loss  # noqa: B018 - fills the model and residual
        try:
            return record(it.state, it.cache["P"], it.cache["r"], schedule(it.iteration))
        except (ValueError, RuntimeError, ArithmeticError):  # SVD of non-finite factors
            return {}

    def step(it: Iterate) -> tuple:
        eta = schedule(it.iteration)
        new = tuple(f - eta * g for f, g in zip(it.state, grads_of(it)))
        if fix is not None and it.iteration + 1 == fix.iteration:
            new = fix.apply(*new)
        return new

    if fix is not None and fix.iteration == 0:
        factors = fix.apply(*factors)
    outcome = iterate(
        factors, step, loss=measure, factors=lambda fs: fs, recorder=recorder, metrics=metrics, check=check,
        max_iter=max_iter, check_every=check_every, callback=callback, progress=progress, desc=solver,
        expose={"step_size": lambda it: schedule(it.iteration)},
    )
    return recorder.result(factors=outcome.state, n_iter=outcome.n_iter, stop_reason=outcome.stop_reason, seed=seed,
                           solver=solver, params=params)


# --------------------------------------------------------------------------- #
# small helpers
# --------------------------------------------------------------------------- #
def _check_problem(problem: Any) -> SensingProblem:
    if not isinstance(problem, SensingProblem):
        raise TypeError(
            "problem must be a SensingProblem (see lowrank_lab.sensing.gaussian_sensing), "
            f"got {type(problem).__name__}"
        )
    return problem


def _check_tol(tol: Any) -> float:
    return check_float(tol, "tol", low=0.0)


def _check_stride(stride: Any) -> int:
    return check_int(stride, "history_stride", low=1)



def _right_solve(xp: Any, B: Any, A: Any) -> Any:
    """``B @ inv(A)`` for a symmetric positive definite ``A``."""
    return xp.matrix_transpose(xp.linalg.solve(A, xp.matrix_transpose(B)))
