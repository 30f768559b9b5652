"""Sweep trials of notebook ``06_adapter_parameterizations`` (study F).

Module-level, picklable trials for :func:`lowrank_lab.experiments.run_sweep`, called as
``trial(**config, seed=seed)``; each splits its seed with
:func:`lowrank_lab.backend.trial_streams` into a ``"task"`` stream (pretrained weights,
target, data) and a ``"method"`` stream (the adapter's initialization), so a seed is the
same task for every method.  All runs use one BLAS thread (small matrices).

The tasks are linear regressions ``y = (W0 + dW*) x`` on an ``n x n`` layer with
``n_samples`` Gaussian inputs.  For the squared loss a linear model sees its data only
through ``X^T X`` and ``X^T Y``: :func:`compress_task` replaces the ``N x n`` data by
``n`` rows ``R`` with ``R^T R / n = X^T X / N`` (the scaled triangular factor of a QR of
``X``) and labels with the same cross-products, which leaves the training loss and every
gradient **exactly** unchanged while a step costs ``n`` rows instead of ``N``;
:func:`sufficient_rows` draws such rows directly (Bartlett's decomposition), so ``N``
enters only through the law of ``X^T X``.  The initializations that need individual
samples (LoRA-SB's gradient estimate) get a few hundred fresh raw samples.

Trials
------
:func:`f2_trial` (F-1/F-2: error against trainable parameters), :func:`fixed_basis_trial`
(targets rotated away from ``W0``'s top subspace), :func:`init_trial` (loss curves of the
initializations, aligned and anti-aligned targets), :func:`corda_trial` (task loss
against forgetting of a "knowledge" distribution), :func:`lora_pro_trial` (the
equivalent-gradient residual and steps to a matched loss), :func:`allora_trial` (escape
from ``B = 0`` under dropout), :func:`ordered_trial` (ordered dropout against the SVD and
PCA).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .. import backend
from .._validation import check_choice, check_float, check_int
from ..iteration import iterate
from ..results import HistoryRecorder
from .data_aware import activation_covariance, corda, eva, gradient_estimate, lora_sb
from .family import dora, loldu, lora_xs, nola, orthogonal_lora, pissa, randlora, svfit, svfit_rank, vera
from .gradient_adjustments import allora, equivalent_gradient, lora_pro, tangent_residual
from .models import linear
from .nested import dylora, maestro, truncate
from .parameterizations import Adapter, AdapterState, full, lora
from .tasks import Task, input_covariance, make_task, pretrained_weights, target_update
from .training import _serial_blas, finetune
from .transforms import adam, apply_updates, chain, sgd, warmup_cosine_decay_schedule

__all__ = [
    "F2_METHODS",
    "allora_run",
    "allora_trial",
    "compress_task",
    "corda_trial",
    "cosine_adam",
    "f2_target",
    "f2_trial",
    "family_adapter",
    "fixed_basis_trial",
    "init_trial",
    "lora_pro_trial",
    "ordered_problem",
    "ordered_trial",
    "regression_task",
    "relative_error",
    "sufficient_rows",
]

#: Methods of :func:`family_adapter` (``size`` is the rank unless noted).
F2_METHODS = ("full", "lora", "pissa", "dora", "orthogonal", "eva", "corda", "corda_kpm", "lora_xs", "lora_sb",
              "lora_sb_raw", "svfit", "loldu", "vera", "nola", "randlora", "dylora")
#: LoRA's scaling in every trial (PEFT's default ``lora_alpha``); RandLoRA keeps its own (20).
ALPHA = 8.0



# =========================================================================== #
# tasks
# =========================================================================== #
def compress_task(task: Task) -> Task:
    """The same linear least-squares task with ``n`` data rows instead of ``N`` (exact; see the module docstring).

    ``X = Q R`` (thin QR); the new rows are ``sqrt(n / N) R`` with labels
    ``sqrt(n / N) Q^T Y``: ``X'^T X' / n = X^T X / N`` and ``X'^T Y' / n = X^T Y / N``, so
    ``(1 / 2n) ||X' W^T - Y'||^2`` differs from the original loss by a constant (0 when
    ``Y`` lies in the column span of ``X``, as for noise-free labels) and the gradients are
    identical.  Test data are kept.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_lab.adapters import linear, linear_task
    >>> task = linear_task(6, rank=2, n_train=200, rng=0)
    >>> small = compress_task(task)
    >>> W = {"W": np.ones((6, 6))}
    >>> small.X_train.shape, bool(np.isclose(linear(6, 6).loss(W, small.X_train, small.Y_train),
    ...                                      linear(6, 6).loss(W, task.X_train, task.Y_train)))
    ((6, 6), True)
    """
    X, Y = task.X_train, task.Y_train
    N, n = X.shape
    if N <= n:
        return task
    xp = backend.array_namespace(X)
    Q, R = xp.linalg.qr(X)
    c = math.sqrt(n / N)
    return Task(c * R, c * (Q.T @ Y), task.X_test, task.Y_test, task.W0, task.delta_star, task.sigma_pre,
                task.input_cov, task.X_source, task.Y_source, {**task.params, "compressed_from": int(N)})


def _haar(d: int, k: int, gen: np.random.Generator) -> np.ndarray:
    Q, R = np.linalg.qr(gen.standard_normal((d, k)))
    return Q * np.where(np.diag(R) < 0, -1.0, 1.0)


def f2_target(n: int, target: str, gen: np.random.Generator, *, beta: float = 1.0, rank: int = 4) -> np.ndarray:
    """A target update with ``||dW*||_F = 1`` and Haar singular vectors (study F, part F2).

    ``"low_rank"``: ``rank`` equal singular values; ``"flat"``: all ``n`` equal (full
    rank); ``"power_law"``: ``sigma_i ~ i^-beta``.
    """
    target = check_choice(target, "target", ("low_rank", "flat", "power_law"))
    if target == "low_rank":
        s = np.ones(rank)
    elif target == "flat":
        s = np.ones(n)
    else:
        s = np.arange(1, n + 1, dtype=np.float64) ** (-check_float(beta, "beta", low=0.0))
    s = s / np.linalg.norm(s)
    k = s.size
    return (_haar(n, k, gen) * s) @ _haar(n, k, gen).T


def _sqrt_cov(cov: np.ndarray | None, n: int) -> np.ndarray:
    if cov is None:
        return np.eye(n)
    lam, Q = np.linalg.eigh(np.asarray(cov, dtype=np.float64))
    return (Q * np.sqrt(np.clip(lam, 0.0, None))) @ Q.T


def sufficient_rows(n: int, n_samples: int, gen: np.random.Generator, cov: np.ndarray | None = None) -> np.ndarray:
    """``n`` rows ``X'`` distributed as the compressed ``N = n_samples`` Gaussian inputs (:func:`compress_task`).

    ``Z = Q R`` for an ``N x n`` standard Gaussian ``Z`` has the Bartlett factor ``R``
    (``R_ii = sqrt(chi^2_{N-i})``, ``R_ij ~ N(0, 1)`` above the diagonal), so
    ``X' = sqrt(n / N) R Sigma^{1/2}`` has exactly the law of the compressed data
    (``X'^T X' / n = X^T X / N``) at ``O(n^2)`` cost instead of ``O(N n^2)``.
    """
    R = np.triu(gen.standard_normal((n, n)), 1)
    R[np.diag_indices(n)] = np.sqrt(gen.chisquare(n_samples - np.arange(n)))
    return math.sqrt(n / n_samples) * R @ _sqrt_cov(cov, n)


def regression_task(delta: np.ndarray, gen: np.random.Generator, *, n_samples: int, W0: np.ndarray | None = None,
                    input_cov: np.ndarray | None = None, sigma_pre: np.ndarray | None = None, n_test: int = 200,
                    n_estimate: int = 256) -> tuple[Task, np.ndarray, np.ndarray]:
    """A linear-layer task with ``n_samples`` Gaussian inputs in sufficient form, and ``n_estimate`` raw samples.

    ``W0`` defaults to ``sigma_i = 3/i``; the teacher is ``W0 + delta``.  The training rows
    are :func:`sufficient_rows` (the exact law of the compressed data), labelled by the
    teacher; the raw samples ``(X_est, Y_est)`` (fresh draws of the same distribution) feed
    the initializations that need individual samples (LoRA-SB's gradient estimate).
    """
    m, n = delta.shape
    if W0 is None:
        W0 = pretrained_weights(m, n, rng=gen)
    model = linear(n, m)
    base = make_task(model, {"W": W0}, {"W": delta}, n_train=n_estimate, n_test=n_test, input_cov=input_cov,
                     sigma_pre=sigma_pre, rng=gen)
    if n_samples > n:
        X = sufficient_rows(n, n_samples, gen, input_cov)
    else:  # fewer samples than inputs: the raw rows (nothing to compress)
        X = gen.standard_normal((n_samples, n)) @ _sqrt_cov(input_cov, n)
    teacher = W0 + delta
    task = Task(X, X @ teacher.T, base.X_test, base.Y_test, base.W0, base.delta_star, base.sigma_pre, base.input_cov,
                params={"n_samples": int(n_samples), "sufficient": True})
    return task, base.X_train, base.Y_train


def relative_error(task: Task, weights: Any) -> float:
    """``||dW - dW*||_F^2 / ||dW*||_F^2`` with ``dW`` the update of the merged weights."""
    D = np.asarray(backend.to_numpy(weights["W"] - task.W0["W"]))
    T = np.asarray(backend.to_numpy(task.delta_star["W"]))
    return float(np.sum((D - T) ** 2) / np.sum(T * T))


# =========================================================================== #
# the adapters of the trials
# =========================================================================== #
def family_adapter(method: str, size: int, task: Task, X_est: Any = None, Y_est: Any = None, *,
                   seed: int = 0) -> Adapter:
    """The adapter of a method name at a size (rank; NOLA: rank 4 with ``k + l = size``).

    EVA's activations are the task's training rows (uncentered: in sufficient form they
    have the raw inputs' right singular vectors and ``X^T X / N``), CorDA's covariance is
    ``X^T X / N`` of the task's inputs (``"corda"``, instruction-previewed) or the
    pretraining covariance ``task.sigma_pre`` (``"corda_kpm"``, knowledge-preserved), and
    LoRA-SB's gradient estimate sums the per-sample gradients of the raw samples
    ``(X_est, Y_est)``.  VeRA's and RandLoRA's shared projections are drawn from ``seed``
    (fresh bases per seed, the same for every method of that seed).
    """
    method = check_choice(method, "method", F2_METHODS)
    size = check_int(size, "size", low=1)
    if method == "full":
        return full()
    if method == "lora":
        return lora(size, ALPHA)
    if method == "pissa":
        return pissa(size, ALPHA)
    if method == "dora":
        return dora(size, ALPHA)
    if method == "orthogonal":
        return orthogonal_lora(size, ALPHA)
    if method == "dylora":
        return dylora(size, ALPHA)
    if method == "lora_xs":
        return lora_xs(size, ALPHA)
    if method == "svfit":
        return svfit(size)
    if method == "loldu":
        return loldu(size)
    if method == "vera":
        return vera(size, projection_seed=seed)
    if method == "nola":
        return nola(4, max(1, size // 2), max(1, size - size // 2), alpha=ALPHA)
    if method == "randlora":
        return randlora(size, projection_seed=seed)
    if method == "eva":
        return eva(size, task.X_train, alpha=ALPHA, center=False)
    if method in ("corda", "corda_kpm"):
        C = activation_covariance(task.X_train) if method == "corda" else task.sigma_pre
        return corda(size, C, mode="ipm" if method == "corda" else "kpm", alpha=ALPHA)
    if X_est is None or Y_est is None:
        raise ValueError("LoRA-SB needs raw samples X_est, Y_est for its gradient estimate")
    W0 = task.W0["W"]
    G = gradient_estimate(linear(W0.shape[1], W0.shape[0]), task.W0, X_est, Y_est)["W"]
    return lora_sb(size, G, alpha=ALPHA, estimate="raw" if method == "lora_sb_raw" else "sign")


def cosine_adam(lr: float, steps: int) -> Any:
    """Adam with a linear warm-up over ``steps // 20`` steps, then cosine decay to 0 at ``steps``."""
    return adam(warmup_cosine_decay_schedule(lr, max(1, steps // 20), max(steps, max(1, steps // 20) + 1)))


def _num_trainable(adapter: Adapter, W0: Any) -> int:
    return int(adapter.num_params(tuple(W0.shape)))


# =========================================================================== #
# F-1 / F-2: error against trainable parameters
# =========================================================================== #
@_serial_blas
def f2_trial(*, method: str, size: int, target: str, lr: float, seed: int, beta: float = 1.0, n: int = 64,
             n_samples: int = 4096, steps: int = 400) -> dict:
    """One adapter fitted to an F2 target (``||dW*||_F = 1``) by Adam with warm-up and cosine decay.

    Returns the relative squared error ``||dW - dW*||^2 / ||dW*||^2`` of the final update,
    the trainable count and the top singular values of the learned update (``sv_1 ... sv_8``).
    """
    lr = check_float(lr, "lr", low=0.0, low_inclusive=False)
    streams = backend.trial_streams(seed, "task", "method")
    delta = f2_target(n, target, streams.task, beta=beta)
    task, X_est, Y_est = regression_task(delta, streams.task, n_samples=n_samples)
    adapter = family_adapter(method, size, task, X_est, Y_est, seed=seed)
    res = finetune(linear(n, n), task, adapter, cosine_adam(lr, steps), steps=steps, record_every=steps,
                   diagnostics="none", rng=streams.method, check_every=50)
    D = np.asarray(res.weights["W"] - task.W0["W"])
    sv = np.linalg.svd(D, compute_uv=False)
    row = {"rel_error": relative_error(task, res.weights), "num_params": _num_trainable(adapter, task.W0["W"]),
           "stop_reason": res.stop_reason, "steps": int(res.n_iter),
           "delta_rank": int((sv > 1e-6 * max(sv[0], 1e-300)).sum())}
    row.update({f"sv_{i + 1}": float(v) for i, v in enumerate(sv[:8])})
    return row


# =========================================================================== #
# F3: fixed bases against targets rotated away from W0's top subspace
# =========================================================================== #
def rotated_target(W0: np.ndarray, theta_deg: float, gen: np.random.Generator, *, rank: int = 4,
                   rescale: float = 0.3) -> np.ndarray:
    """``U_t diag(rescale * sigma_{1..r}) V_t^T`` with ``U_t = cos(t) U0_r + sin(t) U_perp`` (and ``V_t`` alike).

    ``t = 0`` rescales ``W0``'s top ``r`` singular values by ``1 + rescale``; ``U_perp`` is a
    random orthonormal set orthogonal to ``W0``'s top ``2r`` singular vectors.
    """
    U, S, Vt = np.linalg.svd(W0)
    t = math.radians(theta_deg)

    def rotate(B: np.ndarray) -> np.ndarray:
        d = B.shape[0]
        P = gen.standard_normal((d, rank))
        P -= B[:, :2 * rank] @ (B[:, :2 * rank].T @ P)
        perp = np.linalg.qr(P)[0]
        return math.cos(t) * B[:, :rank] + math.sin(t) * perp

    return (rotate(U) * (rescale * S[:rank])) @ rotate(Vt.T).T


@_serial_blas
def fixed_basis_trial(*, method: str, theta: float, lr: float, seed: int, rank: int = 4, n: int = 64,
                      n_samples: int = 4096, steps: int = 400) -> dict:
    """A method on a target rotated by ``theta`` degrees away from ``W0``'s top-``rank`` subspaces.

    ``method``: ``"lora"``, ``"lora_xs"``, ``"lora_sb"`` (sign estimate), ``"lora_sb_raw"``,
    ``"loldu"`` at ``rank``; ``"svfit"`` at the 99 %-energy rank of ``W0``.
    """
    method = check_choice(method, "method", ("lora", "lora_xs", "lora_sb", "lora_sb_raw", "loldu", "svfit"))
    streams = backend.trial_streams(seed, "task", "method")
    W0 = pretrained_weights(n, n, rng=streams.task)
    delta = rotated_target(W0, theta, streams.task, rank=rank)
    task, X_est, Y_est = regression_task(delta, streams.task, n_samples=n_samples, W0=W0)
    size = svfit_rank(W0) if method == "svfit" else rank
    adapter = family_adapter(method, size, task, X_est, Y_est, seed=seed)
    res = finetune(linear(n, n), task, adapter, cosine_adam(lr, steps), steps=steps, record_every=steps,
                   diagnostics="none", rng=streams.method, check_every=50)
    return {"rel_error": relative_error(task, res.weights), "num_params": _num_trainable(adapter, W0),
            "stop_reason": res.stop_reason, "size": size}


# =========================================================================== #
# initializations: aligned and anti-aligned targets
# =========================================================================== #
def _init_task(seed_gen: np.random.Generator, *, align_with: str, alignment: float, n: int, n_samples: int,
               rank: int, norm: float) -> tuple[Task, np.ndarray, np.ndarray]:
    W0 = pretrained_weights(n, n, rng=seed_gen)
    Q = _haar(n, n, seed_gen)
    cov = input_covariance(n, "anisotropic", decay=1.0, basis=Q)
    delta = target_update(W0, rank, norm=norm, alignment=alignment, align_with=align_with, input_basis=Q,
                          rng=seed_gen)
    return regression_task(delta, seed_gen, n_samples=n_samples, W0=W0, input_cov=cov)


def _row_alignment(A: np.ndarray, V: np.ndarray) -> float:
    """``||Q_A^T V||_F^2 / r``: overlap of ``row(A)`` with the orthonormal columns ``V`` (``n x r``)."""
    Q = np.linalg.svd(A, full_matrices=False)[2]
    Q = Q[: min(A.shape[0], V.shape[1])]
    return float(np.sum((Q @ V) ** 2) / V.shape[1])


@_serial_blas
def init_trial(*, method: str, align_with: str, alignment: float, lr: float, seed: int, rank: int = 4, n: int = 64,
               n_samples: int = 4096, norm: float = 0.4, steps: int = 200, record_every: int = 5) -> pd.DataFrame:
    """LoRA (Kaiming), PiSSA, EVA, CorDA (instruction-previewed) or LoRA-SB on an (anti-)aligned target.

    The target has rank ``rank``, ``||dW*||_2 = norm sigma_1``, and its right singular
    subspace overlaps ``alignment`` (1: aligned, 0: orthogonal) with ``W0``'s top ``rank``
    singular vectors (``align_with="w0"``; both sides) or with the top eigenvectors of the
    anisotropic input covariance (``"input"``).  One row per recorded step: the training
    loss relative to the initial one, and the overlap of ``row(A)`` with the target's right
    singular subspace (``alignment_A``).
    """
    method = check_choice(method, "method", ("lora", "pissa", "eva", "corda", "lora_sb"))
    streams = backend.trial_streams(seed, "task", "method")
    task, X_est, Y_est = _init_task(streams.task, align_with=align_with, alignment=alignment, n=n,
                                    n_samples=n_samples, rank=rank, norm=norm)
    adapter = family_adapter(method, rank, task, X_est, Y_est, seed=seed)
    V_star = np.linalg.svd(np.asarray(task.delta_star["W"]))[2][:rank].T
    model = linear(n, n)
    init_loss = float(model.loss(task.W0, task.X_train, task.Y_train))
    rows: list[dict] = []

    def record(t: int, it: Any) -> None:
        if t % record_every == 0 or t == steps:
            st = it["adapter_state"]
            A = np.asarray(st.frozen["W/A"] if "W/A" in st.frozen else st.params["W/A"])
            rows.append({"iteration": t, "loss_ratio": float(it.loss) / init_loss, "alignment_A": _row_alignment(A, V_star)})

    res = finetune(model, task, adapter, cosine_adam(lr, steps), steps=steps, record_every=steps, diagnostics="none",
                   rng=streams.method, callback=record, check_every=steps)
    out = pd.DataFrame(rows)
    out["final_loss_ratio"] = float(res.final("train_loss")) / init_loss
    out["stop_reason"] = res.stop_reason
    return out


# =========================================================================== #
# CorDA: task loss against forgetting of a knowledge distribution
# =========================================================================== #
@_serial_blas
def corda_trial(*, method: str, lr: float, seed: int, rank: int = 4, n: int = 64, n_samples: int = 4096,
                norm: float = 0.4, steps: int = 200, record_every: int = 5) -> pd.DataFrame:
    """Task loss against forgetting on a "knowledge" distribution K (CorDA's Pareto plot).

    The task's inputs and K's have anisotropic covariances with independent Haar bases;
    forgetting is ``E_{x ~ K} ||dW x||^2 = tr(dW Sigma_K dW^T)`` (``task.sigma_pre =
    Sigma_K``).  ``method``: ``"lora"``, ``"pissa"``, ``"corda"`` (instruction-previewed,
    the task's covariance), ``"corda_kpm"`` (knowledge-preserved, ``Sigma_K``),
    ``"full"``.  One row per recorded step.
    """
    method = check_choice(method, "method", ("lora", "pissa", "corda", "corda_kpm", "full"))
    streams = backend.trial_streams(seed, "task", "method")
    gen = streams.task
    W0 = pretrained_weights(n, n, rng=gen)
    cov_T = input_covariance(n, "anisotropic", decay=1.0, basis=_haar(n, n, gen))
    cov_K = input_covariance(n, "anisotropic", decay=1.0, basis=_haar(n, n, gen))
    delta = target_update(W0, rank, norm=norm, rng=gen)
    task, X_est, Y_est = regression_task(delta, gen, n_samples=n_samples, W0=W0, input_cov=cov_T, sigma_pre=cov_K)
    adapter = family_adapter(method, rank, task, X_est, Y_est, seed=seed)
    model = linear(n, n)
    init_loss = float(model.loss(task.W0, task.X_train, task.Y_train))
    res = finetune(model, task, adapter, cosine_adam(lr, steps), steps=steps, record_every=record_every,
                   diagnostics="none", rng=streams.method, check_every=steps)
    h = res.history
    return pd.DataFrame({"iteration": h["iteration"], "loss_ratio": h["train_loss"] / init_loss,
                         "forgetting": h["forgetting"], "stop_reason": res.stop_reason})


# =========================================================================== #
# LoRA-Pro: equivalent gradient and steps to a matched loss
# =========================================================================== #
@_serial_blas
def lora_pro_trial(*, method: str, lr: float, seed: int, rank: int = 4, n: int = 32, n_samples: int = 2048,
                   task_rank: int = 4, norm: float = 0.4, matched_loss: float = 1e-3, max_steps: int = 1500,
                   record_every: int = 10) -> pd.DataFrame:
    """LoRA, LoRA-Pro with ``X = 0`` or with the Sylvester ``X``, by SGD until ``matched_loss``.

    Rows every ``record_every`` steps: ``residual`` = ``||g~ - c G||_F / ||G||_F`` with ``c``
    the best scalar (the sine of the angle between the equivalent gradient ``g~`` and the
    full gradient ``G``: a learning rate rescales ``g~``), and ``minimum`` =
    ``||(I - P_B) G (I - P_A)||_F / ||G||_F`` (the least any factor gradients can reach);
    ``steps`` / ``converged`` of the run.
    """
    method = check_choice(method, "method", ("lora", "lora_pro_x0", "lora_pro"))
    streams = backend.trial_streams(seed, "task", "method")
    W0 = pretrained_weights(n, n, rng=streams.task)
    delta = target_update(W0, task_rank, norm=norm, rng=streams.task)
    task, _, _ = regression_task(delta, streams.task, n_samples=n_samples, W0=W0)
    model = linear(n, n)
    adapter = lora(rank, ALPHA)
    s = adapter.config["scale"]
    opt = sgd(lr) if method == "lora" else chain(lora_pro(s, solve_x=method == "lora_pro"), sgd(lr))
    init_loss = float(model.loss(task.W0, task.X_train, task.Y_train))
    rows: list[dict] = []

    def record(t: int, it: Any) -> None:
        if t % record_every:
            return
        p = it["adapter_state"].params
        B, A = np.asarray(p["W/B"]), np.asarray(p["W/A"])
        _, grads = model.loss_and_grads(it["weights"], task.X_train, task.Y_train)
        G = np.asarray(grads["W"])
        gB, gA = s * G @ A.T, s * B.T @ G
        if method != "lora":
            from .gradient_adjustments import lora_pro_gradients  # noqa: PLC0415

            gB, gA = lora_pro_gradients(B, A, gB, gA, s, solve_x=method == "lora_pro")
        eq = equivalent_gradient(B, A, gB, gA, s)
        nG = np.linalg.norm(G)
        c = float(np.sum(eq * G) / max(np.sum(eq * eq), 1e-300))
        rows.append({"iteration": t, "residual": np.linalg.norm(c * eq - G) / nG,
                     "minimum": np.linalg.norm(tangent_residual(B, A, G)) / nG,
                     "loss_ratio": float(it.loss) / init_loss})

    res = finetune(model, task, adapter, opt, steps=max_steps, record_every=max_steps, diagnostics="none",
                   rng=streams.method, callback=record, target_loss=matched_loss * init_loss, check_every=1)
    out = pd.DataFrame(rows)
    out["steps"] = int(res.n_iter)
    out["converged"] = bool(res.converged)
    out["final_loss_ratio"] = float(res.final("train_loss")) / init_loss
    return out


# =========================================================================== #
# ALLoRA: escaping B = 0 under dropout
# =========================================================================== #
def _allora_problem(seed: int, n: int, n_samples: int, rank_star: int, norm: float) -> tuple:
    streams = backend.trial_streams(seed, "task", "method", "dropout")
    W0 = pretrained_weights(n, n, rng=streams.task)
    delta = target_update(W0, rank_star, norm=norm, rng=streams.task)
    task = make_task(linear(n, n), {"W": W0}, {"W": delta}, n_train=n_samples, n_test=10, rng=streams.task)
    return task, streams


def allora_run(*, method: str, p: float, lr: float, steps: int, seed: int, c: float = 100.0, rank: int = 4,
               a_scale: float = 1.0, n: int = 32, n_samples: int = 256, rank_star: int = 2, norm: float = 0.4,
               record_every: int = 1) -> pd.DataFrame:
    """LoRA with inverted dropout ``p`` on the adapter's input, or ALLoRA (no dropout, no ``alpha``), by SGD.

    ``y = W0 x + s B A (m * x) / (1 - p)`` with a fresh Bernoulli mask ``m`` per sample and
    coordinate at every step (PEFT's ``lora_dropout``), ``s = 1`` (``alpha = r``: ALLoRA
    drops the scaling; LoRA here too, so the two differ only by dropout and the norm
    scaling); ``A`` as PEFT's Kaiming-uniform times ``a_scale``, ``B = 0``.  ALLoRA:
    ``chain(allora(c), sgd(lr))`` with ``p = 0``.  Full-batch steps on the driver; the
    history holds the clean (dropout-free) training loss relative to the initial one and
    ``||B||_F``, ``||A||_F``.
    """
    method = check_choice(method, "method", ("lora", "allora"))
    p = check_float(p, "p", low=0.0, high=1.0, high_inclusive=False)
    if method == "allora" and p > 0:
        raise ValueError("ALLoRA removes dropout: use p = 0")
    task, streams = _allora_problem(seed, n, n_samples, rank_star, norm)
    X, Y, W0 = task.X_train, task.Y_train, task.W0["W"]
    N = X.shape[0]
    bound = a_scale / math.sqrt(n)
    params = {"B": np.zeros((n, rank)), "A": streams.method.uniform(-bound, bound, size=(rank, n))}
    opt = sgd(lr) if method == "lora" else chain(allora(c), sgd(lr))
    base = X @ W0.T - Y
    init = float(np.sum(base * base) / (2 * N))
    drop = streams.dropout

    def clean_loss(it: Any) -> float:
        P = it.state[0]
        R = base + (X @ P["A"].T) @ P["B"].T
        return float(np.sum(R * R) / (2 * N)) / init

    def step(it: Any) -> tuple:
        P, st = it.state
        Xd = X * (drop.random(X.shape) >= p) / (1.0 - p) if p > 0 else X
        H = Xd @ P["A"].T  # N x r
        R = base + H @ P["B"].T
        grads = {"B": R.T @ H / N, "A": P["B"].T @ (R.T @ Xd) / N}
        updates, st = opt.update(grads, st, P)
        return apply_updates(P, updates), st

    recorder = HistoryRecorder(stride=record_every)
    iterate((params, opt.init(params)), step, loss=clean_loss, factors=lambda s: tuple(s[0].values()),
            recorder=recorder, max_iter=steps, check_every=max(1, steps),
            metrics=lambda it: {"norm_B": float(np.linalg.norm(it.state[0]["B"])),
                                "norm_A": float(np.linalg.norm(it.state[0]["A"]))}, loss_name="loss_ratio")
    return recorder.frame()


@_serial_blas
def allora_trial(*, method: str, p: float, lr: float, steps: int, seed: int, c: float = 100.0, a_scale: float = 1.0,
                 escape_level: float = 0.5) -> dict:
    """:func:`allora_run` summarized: the clean loss ratio after ``steps`` and the escape step.

    The escape step is the first step whose clean loss is at most ``escape_level`` of the
    initial one (``inf`` if never).
    """
    h = allora_run(method=method, p=p, lr=lr, steps=steps, seed=seed, c=c, a_scale=a_scale)
    below = h[h["loss_ratio"] <= escape_level]["iteration"]
    final = float(h["loss_ratio"].iloc[-1])
    return {"loss_ratio": final if math.isfinite(final) else math.inf,
            "escape_step": float(below.iloc[0]) if len(below) else math.inf,
            "norm_B": float(h["norm_B"].iloc[-1])}


# =========================================================================== #
# ordered dropout: Maestro and DyLoRA against the SVD and PCA
# =========================================================================== #
def ordered_problem(seed: int, kind: str, inputs: str, n: int, n_samples: int) -> tuple[Task, np.ndarray, np.ndarray]:
    """The task of :func:`ordered_trial` (compressed), the true singular / principal directions and values."""
    gen = backend.trial_streams(seed, "task", "method").task
    sigma = 2.0 * 0.85 ** np.arange(n)  # distinct singular values (or variances)
    U = _haar(n, n, gen)
    if kind == "svd":
        target = (U * sigma) @ _haar(n, n, gen).T
        cov = None
    else:  # linear autoencoder: y = x with anisotropic inputs; PCA directions U, variances sigma^2
        target = np.eye(n)
        cov = (U * sigma**2) @ U.T
    model = linear(n, n)
    task = make_task(model, {"W": np.zeros((n, n))}, {"W": target}, n_train=n_samples, n_test=10, input_cov=cov,
                     rng=gen)
    if inputs == "sphere":  # uniform on the sphere of radius sqrt(n): covariance I (or cov via its root)
        Z = gen.standard_normal((n_samples, n))
        Z = Z / np.linalg.norm(Z, axis=1, keepdims=True) * math.sqrt(n)
        root = np.eye(n) if cov is None else (U * sigma) @ U.T
        X = Z @ root
        task = make_task(model, {"W": np.zeros((n, n))}, {"W": target}, n_train=2, n_test=10, rng=gen)
        task = Task(X, X @ target.T, task.X_test, task.Y_test, task.W0, task.delta_star, task.sigma_pre,
                    task.input_cov, params=task.params)
    return compress_task(task), U, sigma


@_serial_blas
def ordered_trial(*, method: str, seed: int, kind: str = "svd", inputs: str = "gaussian", rank: int = 16,
                  n: int = 32, n_samples: int = 4096, lr: float = 0.01, steps: int = 1500) -> pd.DataFrame:
    """Ordered dropout (``"maestro"``, ``"dylora"``), the plain factorization (``"plain"``), or LoRA at one rank (``"lora"``).

    ``kind="svd"``: fit ``y = M x`` with ``M = U diag(sigma) V^T``, ``sigma_i = 2 (0.85)^(i-1)``,
    ``x`` Gaussian or uniform on the sphere (``inputs``); ``kind="pca"``: a linear
    autoencoder ``y = x`` with input covariance ``U diag(sigma^2) U^T``.  One row per
    truncation ``b = 1..rank`` (``"lora"``: one row at ``b = rank``): the truncation error
    (``||M - dW_b||_F^2 / ||M||_F^2`` for ``"svd"``; the relative reconstruction error
    ``E||x - dW_b x||^2 / E||x||^2`` for ``"pca"``), its Eckart-Young / PCA floor, and the
    ``|cos|`` between the ``b``-th normalized left factor column and ``u_b`` (columns ``trunc_error``,
    ``floor``, ``cos_b``).
    """
    method = check_choice(method, "method", ("maestro", "dylora", "plain", "lora"))
    kind = check_choice(kind, "kind", ("svd", "pca"))
    inputs = check_choice(inputs, "inputs", ("gaussian", "sphere"))
    task, U, sigma = ordered_problem(seed, kind, inputs, n, n_samples)
    adapter = {"maestro": maestro(rank), "dylora": dylora(rank, ALPHA), "plain": maestro(rank, sample=False),
               "lora": lora(rank, ALPHA)}[method]
    res = finetune(linear(n, n), task, adapter, cosine_adam(lr, steps), steps=steps, record_every=steps,
                   diagnostics="none", rng=backend.trial_streams(seed, "task", "method").method, check_every=100)
    layer = AdapterState({k[2:]: v for k, v in res.state.params.items()}, {k[2:]: v for k, v in res.state.frozen.items()})
    target = np.asarray(task.delta_star["W"])
    weight = np.eye(n) if kind == "svd" else (U * sigma**2) @ U.T  # the norm the error is measured in
    total = float(np.trace(target @ weight @ target.T))
    energy = sigma**2 if kind == "svd" else sigma**2
    rows = []
    bs = [rank] if method == "lora" else range(1, rank + 1)
    B = np.asarray(layer.params["B"])
    for b in bs:
        st = layer if method == "lora" else truncate(adapter, layer, b)
        D = np.asarray(adapter.delta(st))
        E = target - D
        col = B[:, b - 1] / max(np.linalg.norm(B[:, b - 1]), 1e-300)
        rows.append({"b": b, "trunc_error": float(np.trace(E @ weight @ E.T)) / total,
                     "floor": float(energy[b:].sum() / energy.sum()), "cos_b": float(abs(col @ U[:, b - 1])),
                     "final_loss": float(res.final("train_loss"))})
    return pd.DataFrame(rows)
