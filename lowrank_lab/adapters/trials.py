"""Sweep trials of notebook ``05_lora_vs_full_finetuning`` (study E).

Each trial is a module-level function for :func:`lowrank_lab.experiments.run_sweep`,
called as ``trial(**config, seed=seed)``.  A seed gives, through
:func:`lowrank_lab.backend.trial_streams`, one stream for the task (pretrained weights,
target update, data) and one for the method (adapter initialization), so the same seed
is the same task for every method: comparisons across methods are paired.

Methods (``method=``)
---------------------
``"full"``
    Full fine-tuning (:func:`~lowrank_lab.adapters.full`).
``"lora"``
    LoRA with ``alpha / r`` (``alpha = 8``, PEFT's default).
``"rslora"``
    LoRA with ``alpha / sqrt(r)`` (rank-stabilized).
``"lora_2r"``
    LoRA with ``alpha = 2 r`` (scale 2 at every rank).
``"b_only"``
    LoRA with ``A`` frozen (``alpha / r``).

Learning rates are given as a multiplier of :func:`base_learning_rate`, a
scale-adjusted centre of the grid (reconstruction, ours): the first gradient step of
LoRA moves ``dW`` by ``-lr s^2 G A^T A`` with ``||A^T A|| ~ (1 + sqrt(r/n))^2 / 3`` for
PEFT's initialization, so ``lr_0 = 0.6 / (s^2 (1 + sqrt(r/n))^2)`` gives every
configuration about the same first step as full fine-tuning at ``lr = 0.15``.  The grid of
multipliers (powers of 2) is then wide enough for :func:`lowrank_lab.analysis.best_on_grid`
to bracket the optimum of each configuration.

Examples
--------
>>> row = finetune_trial(method="lora", rank=4, lr_multiplier=0.5, n=16, task_rank=2, n_train=8, seed=0)
>>> row["converged"], row["matched_loss"] == 1e-3
(True, True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .. import backend, linalg, spectral
from .._validation import check_choice, check_float, check_int
from .interventions import scale_intruders
from .models import linear
from .parameterizations import Adapter, b_only, full, lora, rslora
from .tasks import minimum_norm_update, row_space_residual, synthetic_task, task_sequence
from .training import DEFAULT_EPS, _serial_blas, finetune
from .transforms import adam, sgd

__all__ = [
    "METHODS",
    "base_learning_rate",
    "finetune_trial",
    "intervention_trial",
    "lora_similarity_trial",
    "make_adapter",
    "rank_one_toy",
    "replica_run",
    "replica_task",
    "run_method",
    "sequential_trial",
    "study_task",
]

#: Methods of the trials (see the module docstring).
METHODS = ("full", "lora", "rslora", "lora_2r", "b_only")
#: LoRA's alpha for the fixed-alpha scalings (PEFT's default ``lora_alpha``).
ALPHA = 8.0



def make_adapter(method: str, rank: int, alpha: float = ALPHA) -> Adapter:
    """The adapter of a method name (``rank`` is ignored by ``"full"``).

    Examples
    --------
    >>> make_adapter("lora_2r", 16).config["scale"], make_adapter("rslora", 16).config["scale"]
    (2.0, 2.0)
    """
    method = check_choice(method, "method", METHODS)
    if method == "full":
        return full()
    if method == "lora":
        return lora(rank, alpha)
    if method == "rslora":
        return rslora(rank, alpha)
    if method == "lora_2r":
        return lora(rank, 2.0 * rank)
    return b_only(rank, alpha)


def base_learning_rate(method: str, rank: int, n: int, alpha: float = ALPHA) -> float:
    """Scale-adjusted centre of the learning-rate grid (see the module docstring).

    Examples
    --------
    >>> base_learning_rate("full", 4, 64)
    0.15
    >>> round(base_learning_rate("lora", 4, 64), 4)      # s = 2: 0.6 / (4 (1 + 1/4)^2)
    0.096
    """
    if method == "full":
        return 0.15
    s = make_adapter(method, rank, alpha).config["scale"]
    return 0.6 / (s * s * (1.0 + math.sqrt(rank / n)) ** 2)


def study_task(seed_or_rng: Any, *, n: int = 64, task_rank: int = 4, norm: float = 0.4, n_train: int = 24,
               spectrum: str = "power_law", residual: float = 0.0, inputs: str = "isotropic",
               n_tasks: int | None = None) -> Any:
    """The task of the study-E trials (or a cumulative sequence of ``n_tasks``) for one seed.

    An ``n x n`` linear layer, ``W0`` with ``sigma_i = 3 i^-1`` (``spectrum="power_law"``;
    ``"iid"``: the Marchenko-Pastur control), a rank-``task_rank`` target with flat
    spectrum and ``||dW*||_2 = norm sigma_1(W0)``, ``n_train`` isotropic inputs, 500
    test inputs.  An int seed is split like the trials split theirs (the ``"task"``
    stream of :func:`lowrank_lab.backend.trial_streams`), so the notebook can rebuild the
    exact task of a trial.

    Examples
    --------
    >>> task = study_task(0, n=16, task_rank=2, n_train=6)
    >>> task.X_train.shape, task.params["norm"]
    ((6, 16), 0.4)
    """
    gen = backend.trial_streams(seed_or_rng, "task", "method").task if isinstance(seed_or_rng, (int, np.integer)) \
        else seed_or_rng
    kwargs = dict(rank=task_rank, norm=norm, n_train=n_train, n_test=500, spectrum=spectrum, sigma1=3.0,
                  decay=1.0, residual=residual, inputs=inputs)
    if n_tasks is None:
        return synthetic_task(linear(n, n), rng=gen, **kwargs)
    return task_sequence(linear(n, n), n_tasks, rng=gen, **kwargs)


def run_method(task: Any, method: str, rank: int, lr: float, rng: Any, *, matched_loss: float = 1e-3,
               max_steps: int = 2000, alpha: float = ALPHA, start: Any = None, diagnostics: str = "exact",
               reference: bool = True, intruder_k: int = 10) -> Any:
    """Full-batch GD with one method on a linear task until the matched training loss.

    Stops at ``matched_loss`` times the initial training loss (from ``start``, default
    ``task.W0``), a divergence, or ``max_steps``; the reference update of the
    diagnostics is the full-GD limit (:func:`~lowrank_lab.adapters.minimum_norm_update`).
    Returns the :class:`~lowrank_lab.adapters.FinetuneResult`.
    """
    model = linear(int(task.W0["W"].shape[1]), int(task.W0["W"].shape[0]))
    init = float(model.loss(task.W0 if start is None else start, task.X_train, task.Y_train))
    ref = minimum_norm_update(task) if reference and start is None else None
    return finetune(model, task, make_adapter(method, rank, alpha), sgd(lr), steps=max_steps, record_every=max_steps,
                    rng=rng, reference_delta=ref, target_loss=matched_loss * init, check_every=1,
                    intruder_k=intruder_k, diagnostics=diagnostics, start=start)


def _summary(res: Any, task: Any, model: Any, init_loss: float, eps: tuple) -> dict:
    h = res.history.iloc[-1]
    W0 = task.W0["W"]
    dW = res.weights["W"] - W0
    d_norm = float(h["delta_norm"])
    row = {
        "steps": int(res.n_iter),
        "stop_reason": res.stop_reason,
        "converged": bool(res.converged),
        "train_loss_ratio": float(h["train_loss"]) / init_loss,
        "test_loss_ratio": float(h["test_loss"]) / float(model.loss(task.W0, task.X_test, task.Y_test)),
        "forgetting": float(h["forgetting"]),
        "delta_norm": d_norm,
        "delta_spectral_norm": float(h["delta_spectral_norm"]),
        "delta_effective_rank": float(h["delta_effective_rank"]),
        "delta_stable_rank": float(h["delta_stable_rank"]),
        "amplification": float(h["amplification"]),
        "reference_cosine": float(h["reference_cosine"]),
        "reference_distance": float(h["reference_distance"]),
        "off_span_fraction": float(row_space_residual(dW, task.X_train)) / d_norm if d_norm > 0 else 0.0,
        "num_params": int(res.params["num_params"]),
    }
    for e in eps:
        row[f"intruders_eps{e:g}"] = int(h[f"intruders_eps{e:g}"])
    return row


@_serial_blas
def finetune_trial(*, method: str, rank: int, lr_multiplier: float, seed: int, n: int = 64, task_rank: int = 4,
                   norm: float = 0.4, n_train: int = 24, spectrum: str = "power_law", residual: float = 0.0,
                   inputs: str = "isotropic", matched_loss: float = 1e-3, max_steps: int = 2000,
                   alpha: float = ALPHA, intruder_k: int = 10) -> dict:
    """One method on one linear task (study E3), trained by full-batch GD to a matched training loss.

    The task is :func:`~lowrank_lab.adapters.linear_task`-like: ``n x n`` pretrained
    ``W0`` (``sigma_i = 3 i^-1``, or the ``spectrum`` control), a rank-``task_rank`` target
    with ``||dW*||_2 = norm sigma_1``, ``n_train`` isotropic inputs.  Training stops when
    the training loss is at most ``matched_loss`` times its initial value
    (``"converged"``), diverges, or after ``max_steps``.  The row holds the learning rate,
    the steps taken, the final losses (relative to the initial ones), forgetting, the
    intruder counts at every ``eps`` of :data:`~lowrank_lab.adapters.training.DEFAULT_EPS`,
    the update's ranks, its cosine with the full-GD limit (the minimum-norm fit) and the
    fraction of its norm outside the data's row span.
    """
    method = check_choice(method, "method", METHODS)
    rank = check_int(rank, "rank", low=1, high=n, high_label="n")
    lr_multiplier = check_float(lr_multiplier, "lr_multiplier", low=0.0, low_inclusive=False)
    matched_loss = check_float(matched_loss, "matched_loss", low=0.0, high=1.0, low_inclusive=False)
    streams = backend.trial_streams(seed, "task", "method")
    task = study_task(streams.task, n=n, task_rank=task_rank, norm=norm, n_train=n_train, spectrum=spectrum,
                      residual=residual, inputs=inputs)
    model = linear(n, n)
    init_loss = float(model.loss(task.W0, task.X_train, task.Y_train))
    lr = lr_multiplier * base_learning_rate(method, rank, n, alpha)
    res = run_method(task, method, rank, lr, streams.method, matched_loss=matched_loss, max_steps=max_steps,
                     alpha=alpha, intruder_k=intruder_k)
    row = {"lr": lr, "matched_loss": matched_loss}
    row.update(_summary(res, task, model, init_loss, DEFAULT_EPS))
    return row


@_serial_blas
def sequential_trial(*, method: str, rank: int, lr: float, seed: int, n_tasks: int = 5, n: int = 64,
                     task_rank: int = 4, norm: float = 0.4, n_train: int = 24, matched_loss: float = 1e-3,
                     max_steps: int = 2000, alpha: float = ALPHA) -> pd.DataFrame:
    """Continual fine-tuning over ``n_tasks`` tasks (merging after each), one row per task.

    Every task is trained to ``matched_loss`` times its initial training loss (from the
    merged weights of the previous task); the rows hold the intruder counts of the
    merged weights against the pretrained ``W0`` after each task, forgetting, and the
    current task's relative training loss.
    """
    method = check_choice(method, "method", METHODS)
    lr = check_float(lr, "lr", low=0.0, low_inclusive=False)
    streams = backend.trial_streams(seed, "task", "method")
    tasks = study_task(streams.task, n=n, task_rank=task_rank, norm=norm, n_train=n_train, n_tasks=n_tasks)
    model = linear(n, n)
    gens = backend.spawn_generators(streams.method, n_tasks)
    rows = []
    start = None
    for t, (task, gen) in enumerate(zip(tasks, gens, strict=True), start=1):
        W_start = task.W0 if start is None else start
        init_loss = float(model.loss(W_start, task.X_train, task.Y_train))
        res = run_method(task, method, rank, lr, gen, matched_loss=matched_loss, max_steps=max_steps, alpha=alpha,
                         start=start, reference=False)
        h = res.history.iloc[-1]
        row = {"task": t, "steps": int(res.n_iter), "converged": bool(res.converged),
               "train_loss_ratio": float(h["train_loss"]) / init_loss, "forgetting": float(h["forgetting"]),
               "delta_norm": float(h["delta_norm"]), "delta_effective_rank": float(h["delta_effective_rank"])}
        row.update({f"intruders_eps{e:g}": int(h[f"intruders_eps{e:g}"]) for e in DEFAULT_EPS})
        rows.append(row)
        start = res.weights
    return pd.DataFrame(rows)


@_serial_blas
def intervention_trial(*, method: str, rank: int, lr: float, seed: int, lambdas: Any = (1.0, 0.75, 0.5, 0.25, 0.0),
                       n: int = 64, task_rank: int = 4, norm: float = 0.4, n_train: int = 24,
                       matched_loss: float = 1e-3, max_steps: int = 2000, alpha: float = ALPHA,
                       eps: float = 0.5, k: int = 10) -> pd.DataFrame:
    """The causal test: train to the matched loss, then scale the intruders by each ``lam``.

    One row per ``lam`` and per variant: ``"merged"`` (the intervention on the full merged
    matrix, the library default) and ``"retruncated"`` (PEFT's re-truncation of the update
    to rank ``r``; LoRA-family methods only).  Columns: target training and test loss
    (relative to the pretrained model's), forgetting, the number of intruders found, and
    ``progress_lost`` = the fraction of the training-loss reduction undone.
    """
    method = check_choice(method, "method", METHODS)
    lr = check_float(lr, "lr", low=0.0, low_inclusive=False)
    streams = backend.trial_streams(seed, "task", "method")
    task = study_task(streams.task, n=n, task_rank=task_rank, norm=norm, n_train=n_train)
    model = linear(n, n)
    init_train = float(model.loss(task.W0, task.X_train, task.Y_train))
    init_test = float(model.loss(task.W0, task.X_test, task.Y_test))
    res = run_method(task, method, rank, lr, streams.method, matched_loss=matched_loss, max_steps=max_steps,
                     alpha=alpha, diagnostics="none", reference=False)
    W0, W = task.W0["W"], res.weights["W"]
    trained = float(model.loss({"W": W}, task.X_train, task.Y_train))
    sigma = task.sigma_pre
    xp = backend.array_namespace(W)
    rows = []
    variants = ["merged"] if method == "full" else ["merged", "retruncated"]
    for variant in variants:
        for lam in lambdas:
            out = scale_intruders(W, W0, float(lam), k=k, eps=eps, rank=None if variant == "merged" else rank)
            Wl = {"W": out.weights}
            tr = float(model.loss(Wl, task.X_train, task.Y_train))
            dW = out.weights - W0
            rows.append({
                "variant": variant, "lam": float(lam), "n_intruders": len(out.indices),
                "train_loss_ratio": tr / init_train,
                "test_loss_ratio": float(model.loss(Wl, task.X_test, task.Y_test)) / init_test,
                "forgetting": float(xp.sum((dW @ sigma) * dW)),
                "progress_lost": (tr - trained) / (init_train - trained),
                "converged": bool(res.converged),
            })
    return pd.DataFrame(rows)


def replica_task(seed: int, *, n: int = 128, n_train: int = 512) -> Any:
    """The teacher of the LoRA Sec. 7 replica: a dominant rank-2 update plus a small full-rank part.

    ``W0`` with ``sigma_i = 3 i^-1`` (``n x n``); ``dW*`` of rank 2 with a power-law
    spectrum (``||dW*||_2 = 0.4 sigma_1``) plus a dense part of spectral norm
    ``0.02 sigma_1``; ``n_train > n`` isotropic inputs, so every direction is constrained.
    """
    streams = backend.trial_streams(seed, "task", "method", "control")
    return synthetic_task(linear(n, n), rank=2, norm=0.4, target_spectrum="power_law", residual=0.02,
                          n_train=n_train, n_test=500, rng=streams.task)


def replica_run(task: Any, rank: int, seed: int, *, lr: float = 0.01, steps: int = 800) -> Any:
    """LoRA (``alpha / r``, ``alpha = 8``) trained with Adam on the replica task; the init depends on ``(seed, rank)``."""
    n = int(task.W0["W"].shape[0])
    return finetune(linear(n, n), task, lora(rank, ALPHA), adam(lr), steps=steps, record_every=steps,
                    rng=np.random.default_rng([seed, rank]), diagnostics="none")


@_serial_blas
def lora_similarity_trial(*, seed: int, n: int = 128, n_train: int = 512, ranks: Any = (1, 2, 4, 8, 16, 32, 64),
                          pair: Any = (8, 64), lr: float = 0.01, steps: int = 800, top: int = 8) -> pd.DataFrame:
    """LoRA Sec. 7 replica (:func:`replica_task`): LoRA at several ranks, ``phi`` and amplification.

    Every rank is trained by :func:`replica_run` from the same seed.  Rows: one per rank
    with the amplification factor (``r`` = the adapter's rank) and its random-direction
    reference (Hu et al.'s Table 7: ``||dW||_F / ||U^T W0 V||_F`` for random orthonormal
    ``U, V`` of width ``r``); then, for the ``pair`` of ranks ``(r1, r2)``,
    ``phi(A_r1, A_r2, 1, 1)`` (the top directions) and, for ``i <= top``,
    ``phi(A_r2, A_r2', i, i)`` between this seed's ``A_r2`` and a second run from another
    initialization (LoRA's Fig. 4), with the random-Gaussian control (two Gaussian
    ``r2 x n`` matrices) and its expectation ``i / n``.
    """
    ranks = tuple(check_int(r, "ranks", low=1, high=n, high_label="n") for r in ranks)
    r1, r2 = (check_int(r, "pair", low=1, high=n, high_label="n") for r in pair)
    streams = backend.trial_streams(seed, "task", "method", "control")
    task = replica_task(seed, n=n, n_train=n_train)
    model = linear(n, n)
    init = float(model.loss(task.W0, task.X_train, task.Y_train))
    factors = {}
    rows = []
    W0 = task.W0["W"]
    for r in sorted(set(ranks) | {r1, r2}):
        res = replica_run(task, r, seed, lr=lr, steps=steps)
        factors[r] = res.state.params["W/A"]
        if r in ranks:
            amp = spectral.amplification_factor(res.weights["W"] - W0, W0, r, rng=streams.control)
            rows.append({"kind": "amplification", "rank": r, "amplification": amp.amplification,
                         "random_amplification": amp.delta_norm / amp.projection_random
                         if amp.projection_random > 0 else math.inf,
                         "delta_norm": amp.delta_norm,
                         "train_loss_ratio": float(model.loss(res.weights, task.X_train, task.Y_train)) / init})
    other = replica_run(task, r2, seed + 10_000, lr=lr, steps=steps).state.params["W/A"]
    V = {r: spectral.singular_vectors(A, side="right") for r, A in factors.items()}
    V_other = spectral.singular_vectors(other, side="right")
    gen = streams.control
    G1 = spectral.singular_vectors(backend.random_normal((r2, n), rng=gen, like=W0), side="right")
    G2 = spectral.singular_vectors(backend.random_normal((r2, n), rng=gen, like=W0), side="right")
    rows.append({"kind": "phi_pair", "rank": r1, "phi_11": spectral.subspace_similarity(V[r1], V[r2], 1, 1),
                 "phi_1j_max": float(backend.to_numpy(spectral.subspace_similarity_grid(V[r1], V[r2], 1, top)).max())})
    for i in range(1, top + 1):
        rows.append({"kind": "phi_seeds", "rank": r2, "i": i,
                     "phi_seeds": spectral.subspace_similarity(V[r2], V_other, i, i),
                     "phi_random": spectral.subspace_similarity(G1, G2, i, i), "phi_expected": i / n})
    return pd.DataFrame(rows)


@_serial_blas
def rank_one_toy(*, lam_over_sigma1: float, seed: int, n: int = 64, spectrum: str = "power_law",
                 k: int = 10) -> dict:
    """The paper's mechanism (a): intruders of ``W0 + lam v v^T`` for a random unit ``v``.

    ``W0`` as in the main task (``sigma_i = 3 i^-1``, or the ``"iid"`` control); the row
    holds the intruder counts at every ``eps`` of the default sweep.
    """
    lam_over_sigma1 = check_float(lam_over_sigma1, "lam_over_sigma1", low=0.0)
    streams = backend.trial_streams(seed, "task", "method")
    from .tasks import pretrained_weights  # noqa: PLC0415

    W0 = pretrained_weights(n, n, spectrum=spectrum, sigma1=3.0, rng=streams.task)
    sigma1 = float(backend.to_numpy(linalg.svd(W0).S)[0])
    v = streams.method.standard_normal(n)
    v /= np.linalg.norm(v)
    W = W0 + backend.asarray(lam_over_sigma1 * sigma1 * np.outer(v, v), like=W0)
    res = spectral.intruder_dimensions(W, W0, k, np.asarray(DEFAULT_EPS))
    return {f"intruders_eps{e:g}": int(c) for e, c in zip(DEFAULT_EPS, res.count)}
