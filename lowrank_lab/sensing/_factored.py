"""Machinery shared by the factored sensing solvers: set-up, initializations, the one loop, step rules.

:class:`_Setup` validates the parameterization, the width and the initial factors;
:func:`_run_factored` runs gradient, scaled-gradient and sub-gradient steps on the
iteration driver (:func:`lowrank_lab.iteration.iterate`).  Public entry points live
in :mod:`lowrank_lab.sensing.solvers`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import backend, linalg
from .._validation import check_callback, check_choice, check_float, check_int
from ..iteration import Iterate, iterate
from ..results import HistoryRecorder, SolverResult
from .problems import SensingProblem

PARAMETERIZATIONS = ("symmetric", "asymmetric")


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
# the l1 method's step rules and its stall test
# --------------------------------------------------------------------------- #
#: Remaining relative travel below which a geometric schedule cannot move the iterate any more.
STALL_TRAVEL = 1e-2


@dataclass(frozen=True)
class L1Rule:
    """Step rule of the sub-gradient method (see :func:`lowrank_lab.sensing.subgradient_l1`).

    ``kind="polyak"``: ``eta_t = min(step_size, polyak * gap_t / ||g_t||^2)`` with the
    robust gap estimate ``gap_t = w m median_i |r_i|``; ``kind="geometric"``:
    ``eta_t = step_size * decay^t``.  ``stall_residual`` is the relative median residual
    ``median|r| / median|y|`` above which frozen iterates are "stalled", not "converged".
    """

    kind: str
    step_size: float
    decay: float | None = None
    polyak: float = 0.5
    stall_residual: float = 0.1

    def travel(self, move: float) -> float:
        """Bound on the relative distance the iterate can still travel, from this step's relative move."""
        if self.kind == "geometric" and self.decay is not None and self.decay < 1.0:
            return move / (1.0 - self.decay)
        return move


def _median_abs(xp: Any, r: Any) -> Any:
    """``median(|r|)`` with standard calls only (a sort; 0-d array on ``r``'s device)."""
    s = xp.sort(xp.abs(r))
    n = s.shape[0]
    return 0.5 * (s[(n - 1) // 2] + s[n // 2])


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
    l1_rule: L1Rule | None = None,
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
    polyak = l1_rule is not None and l1_rule.kind == "polyak"
    if l1_rule is not None:  # median |y|: the scale of "far from a solution" (one host sync, before the loop)
        med_y = float(_median_abs(xp, y))
        med_y = med_y if med_y > 0 else float(xp.mean(xp.abs(y))) or 1.0
        cap = xp.asarray(l1_rule.step_size, dtype=y.dtype, device=backend.device(y))
        gap_coef = w * y.shape[0]  # w m median|r|: the gap in the loss's units (w sum |r_i|)

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

    def eta_of(it: Iterate) -> Any:
        """This iteration's step: the schedule's, or the capped robust Polyak step (a device scalar)."""
        if not polyak:
            return schedule(it.iteration)
        if "eta" not in it.cache:
            g2 = sum(xp.sum(g * g) for g in grads_of(it))
            gap = gap_coef * _median_abs(xp, it.cache["r"])
            tiny = xp.asarray(1e-300, dtype=y.dtype, device=backend.device(y))
            candidate = l1_rule.polyak * gap / xp.maximum(g2, tiny)
            it.cache["eta"] = xp.where(candidate < cap, candidate, cap)
        return it.cache["eta"]

    def check(it: Iterate) -> str | None:
        if loss == "l2":
            converged = math.sqrt(max(float(it.loss) / loss_coef, 0.0)) / y_norm <= tol
            return "converged" if converged else None
        eta = float(eta_of(it))
        step = eta * math.sqrt(sum(float(xp.sum(g * g)) for g in grads_of(it)))
        size = math.sqrt(sum(float(xp.sum(f * f)) for f in it.state))
        travel = l1_rule.travel(step / max(size, 1e-300))
        if travel > max(tol, STALL_TRAVEL if l1_rule.kind == "geometric" else 0.0):
            return None
        far = float(_median_abs(xp, it.cache["r"])) / med_y > l1_rule.stall_residual
        if far:  # frozen (or nearly, for a decaying schedule) while the residuals are still large
            return "stalled"
        return "converged" if travel <= tol else None

    def metrics(it: Iterate) -> dict:
        it.loss  # noqa: B018 - fills the model and residual
        try:
            return record(it.state, it.cache["P"], it.cache["r"], eta_of(it) if loss == "l1" else schedule(it.iteration))
        except (ValueError, RuntimeError, ArithmeticError):  # SVD of non-finite factors
            return {}

    def step(it: Iterate) -> tuple:
        eta = eta_of(it) if loss == "l1" else schedule(it.iteration)
        new = tuple(f - eta * g for f, g in zip(it.state, grads_of(it)))
        if fix is not None and it.iteration + 1 == fix.iteration:
            new = fix.apply(*new)
        return new

    if fix is not None and fix.iteration == 0:
        factors = fix.apply(*factors)
    outcome = iterate(
        factors, step, loss=measure, factors=lambda fs: fs, recorder=recorder, metrics=metrics, check=check,
        max_iter=max_iter, check_every=check_every, callback=callback, progress=progress, desc=solver,
        expose={"step_size": eta_of if loss == "l1" else (lambda it: schedule(it.iteration))},
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



