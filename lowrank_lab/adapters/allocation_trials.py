"""Trials of the rank-allocation study (study I; notebook ``09_rank_allocation``).

The testbed (study I, part I3): ``L = 8`` independent ``48 x 48`` regression "layers" with true
update ranks :data:`~lowrank_lab.adapters.allocation.TRUE_RANKS` = (1, 1, 2, 4, 8, 8, 16, 32).
:func:`independent_linear` is one model whose input and output are the concatenation
of the layers' (``y_l = W_l x_l``, the squared loss summed over layers), so one
optimizer, one budget and one global ranking act on every layer at once.

Reconstructions (the papers leave them open): every target update has
``||dW*_l||_F = 1`` and singular values ``sigma_i ∝ i^{-1/2}`` for ``i <= r_l`` (Haar
singular vectors), so the oracle (:func:`~lowrank_lab.adapters.allocation.oracle_allocation`)
gives more rank to the layers of higher true rank as the budget grows (and all true
ranks at ``b = 72``); inputs ``x ~ N(0, I)``, label noise 0.1, ``n_train = 192``.
The error of a run is ``sum_l ||dW_l - dW*_l||_F^2 / sum_l ||dW*_l||_F^2`` (the
population test error up to a constant), and its floor at an allocation is
:func:`~lowrank_lab.adapters.allocation.allocation_error` ``/ L``.

Each trial splits its seed with ``trial_streams(seed, "task", "method")``: the same seed
is the same task for every method (paired comparisons); one BLAS thread.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import backend
from .._validation import check_choice, check_float, check_int
from .allocation import (
    TRUE_RANKS,
    adalora,
    allocation_error,
    increlora,
    oracle_allocation,
    orthogonality_error,
    orthogonality_penalty,
    prefix_allocation,
    sora,
    uniform_allocation,
)
from .allocation_optim import adalora_allocator, current_ranks, increlora_allocator, sora_optimizer
from .models import Model, OuterProduct
from .nested import dylora, maestro, truncate
from .parameterizations import SEP, AdapterState, lora, per_layer
from .tasks import Task, make_task
from .training import finetune
from .transforms import adam, chain, join_schedules

__all__ = [
    "METHODS",
    "allocation_task",
    "allocation_trial",
    "independent_linear",
    "layer_errors",
    "nested_trial",
    "sora_path_trial",
    "sora_recovery_trial",
    "target_spectra",
]

#: Methods of :func:`allocation_trial` (trained against a budget).
METHODS = ("uniform", "oracle", "adalora", "adalora_paper", "increlora", "increlora_reserve")


# =========================================================================== #
# the model and the task
# =========================================================================== #
def _blocks(n: int, L: int) -> list[slice]:
    return [slice(l * n, (l + 1) * n) for l in range(L)]


def _names(L: int) -> tuple[str, ...]:
    return tuple(f"W{l + 1}" for l in range(L))


def _ind_forward_backward(L: int, n: int, weights: Mapping[str, Any], X: Any, Y: Any, *,
                          factored: bool = False) -> tuple[Any, dict]:
    N = X.shape[0]
    loss = None
    grads = {}
    for name, sl in zip(_names(L), _blocks(n, L)):
        Xl = X[:, sl]
        R = Xl @ weights[name].T - Y[:, sl]
        xp = backend.array_namespace(R)
        part = xp.sum(R * R)
        loss = part if loss is None else loss + part
        G = OuterProduct(R / N, Xl)
        grads[name] = G if factored else G.dense()
    return loss / (2.0 * N), grads


def _ind_predict(L: int, n: int, weights: Mapping[str, Any], X: Any) -> Any:
    xp = backend.array_namespace(X)
    return xp.concat([X[:, sl] @ weights[name].T for name, sl in zip(_names(L), _blocks(n, L))], axis=1)


def _ind_linear_map(L: int, n: int, weights: Mapping[str, Any]) -> Any:
    W = weights[_names(L)[0]]
    xp = backend.array_namespace(W)
    rows = []
    for l, name in enumerate(_names(L)):
        parts = []
        if l:
            parts.append(xp.zeros((n, l * n), dtype=W.dtype, device=backend.device(W)))
        parts.append(weights[name])
        if l < L - 1:
            parts.append(xp.zeros((n, (L - 1 - l) * n), dtype=W.dtype, device=backend.device(W)))
        rows.append(xp.concat(parts, axis=1))
    return xp.concat(rows, axis=0)


def independent_linear(n_layers: int, n: int) -> Model:
    """``n_layers`` independent ``n x n`` linear layers as one model (weights ``W1 ... WL``).

    The input ``x`` (``L n``) is the concatenation of the layers' inputs; layer ``l``
    maps block ``l`` to output block ``l``; the squared loss is summed over layers,
    so layer ``l``'s gradient is its own regression's.  ``linear_map`` is the
    block-diagonal matrix.

    Examples
    --------
    >>> import numpy as np
    >>> model = independent_linear(2, 3)
    >>> W = {"W1": np.eye(3), "W2": 2 * np.eye(3)}
    >>> model.predict(W, np.ones((1, 6))).tolist()
    [[1.0, 1.0, 1.0, 2.0, 2.0, 2.0]]
    """
    L = check_int(n_layers, "n_layers", low=1)
    n = check_int(n, "n", low=1)
    return Model("independent_linear", {name: (n, n) for name in _names(L)}, "squared",
                 {"n_in": L * n, "n_out": L * n, "n_layers": L, "n": n},
                 functools.partial(_ind_forward_backward, L, n), functools.partial(_ind_predict, L, n),
                 functools.partial(_ind_linear_map, L, n))


def target_spectra(ranks: Sequence[int] = TRUE_RANKS, *, decay: float = 0.5, norm: float = 1.0) -> list[np.ndarray]:
    """Singular values of the target updates: ``sigma_i ∝ i^{-decay}``, ``||sigma||_2 = norm`` per layer.

    Examples
    --------
    >>> [np.round(s, 3).tolist() for s in target_spectra((1, 2))]
    [[1.0], [0.816, 0.577]]
    """
    out = []
    for r in ranks:
        s = np.arange(1, check_int(r, "ranks", low=1) + 1, dtype=np.float64) ** (-decay)
        out.append(norm * s / np.linalg.norm(s))
    return out


def _haar(d: int, k: int, gen: np.random.Generator) -> np.ndarray:
    Q, R = np.linalg.qr(gen.standard_normal((d, k)))
    return Q * np.sign(np.diag(R))


def allocation_task(rng: Any = None, *, ranks: Sequence[int] = TRUE_RANKS, n: int = 48, n_train: int = 192,
                    n_test: int = 256, noise: float = 0.1, decay: float = 0.5,
                    flat: bool = False) -> tuple[Model, Task, list[np.ndarray]]:
    """``(model, task, spectra)``: independent regression layers with updates of the given true ranks.

    ``W0_l`` is a power-law "pretrained" weight (irrelevant for the squared loss: the
    learned update does not depend on it), ``dW*_l = U_l diag(sigma_l) V_l^T`` with
    :func:`target_spectra` and Haar ``U_l, V_l``; ``flat=True``: every singular value 1
    (``||dW*_l||_F = sqrt(r_l)``, the rank-recovery experiment).

    Examples
    --------
    >>> model, task, spectra = allocation_task(0, ranks=(1, 2), n=6, n_train=20)
    >>> sorted(task.delta_star), [len(s) for s in spectra]
    (['W1', 'W2'], [1, 2])
    """
    gen = backend.as_generator(rng)
    ranks = tuple(check_int(r, "ranks", low=1, high=n, high_label="n") for r in ranks)
    model = independent_linear(len(ranks), n)
    spectra = [np.ones(r) for r in ranks] if flat else target_spectra(ranks, decay=decay)
    W0, delta = {}, {}
    for name, r, s in zip(model.matrices, ranks, spectra):
        U, V = _haar(n, r, gen), _haar(n, r, gen)
        delta[name] = (U * s) @ V.T
        Q1, Q2 = _haar(n, n, gen), _haar(n, n, gen)
        W0[name] = (Q1 * (3.0 / np.arange(1, n + 1))) @ Q2.T
    task = make_task(model, W0, delta, n_train=n_train, n_test=n_test, noise=noise, rng=gen,
                     params={"ranks": ranks, "n": n, "noise": noise, "decay": decay})
    return model, task, spectra


def layer_errors(task: Task, weights: Mapping[str, Any]) -> np.ndarray:
    """``||dW_l - dW*_l||_F^2`` per layer (host floats, the model's layer order)."""
    out = []
    for name in task.delta_star:
        D = np.asarray(backend.to_numpy(weights[name] - task.W0[name] - task.delta_star[name]))
        out.append(float(np.sum(D * D)))
    return np.asarray(out)


def _relative(task: Task, weights: Mapping[str, Any]) -> float:
    total = sum(float(np.sum(np.asarray(backend.to_numpy(d)) ** 2)) for d in task.delta_star.values())
    return float(layer_errors(task, weights).sum() / total)


# =========================================================================== #
# the budgeted methods
# =========================================================================== #
def _build(method: str, budget: int, steps: int, lr: float, model: Model, spectra: list[np.ndarray], *,
           init_rank: int, orth_weight: float, t_init: float, t_final: float) -> tuple[Any, Any]:
    names = model.matrices
    L = len(names)
    if method in ("uniform", "oracle"):
        ranks = uniform_allocation(L, budget) if method == "uniform" else oracle_allocation(spectra, budget)
        adapters = {name: (lora(r, alpha=2.0 * r) if r > 0 else None) for name, r in zip(names, ranks)}
        return per_layer(adapters), adam(lr)
    if method in ("adalora", "adalora_paper"):
        form = "peft" if method == "adalora" else "paper"
        opt = adalora_allocator(chain(orthogonality_penalty(orth_weight, form), adam(lr)), target_budget=budget,
                                total_steps=steps, t_init=int(t_init * steps), t_final=int(t_final * steps))
        return adalora(init_rank, alpha=float(init_rank)), opt
    # increlora: every layer from rank 1; the budget spent by t_grow = (1 - t_final) * steps
    spare = max(budget - L, 1)
    interval = max(1, int((1.0 - t_final) * steps) // spare)
    opt = increlora_allocator(chain(orthogonality_penalty(orth_weight, "peft"), adam(lr)), budget=budget,
                              interval=interval, init_rank=1,
                              score="reserve" if method == "increlora_reserve" else "triplet")
    return increlora(init_rank), opt


def allocation_trial(*, method: str, budget: int, lr: float, seed: int, steps: int = 600, init_rank: int = 32,
                     orth_weight: float = 0.5, t_init: float = 0.1, t_final: float = 0.3, record: int = 20,
                     n_train: int = 192, noise: float = 0.1) -> pd.DataFrame:
    """One budgeted method on the eight-layer testbed; one row per recorded step.

    Methods (:data:`METHODS`): ``"uniform"`` (LoRA, ``b / L`` per layer, alpha = 2r),
    ``"oracle"`` (LoRA at :func:`oracle_allocation`'s ranks), ``"adalora"`` (PEFT's penalty)
    and ``"adalora_paper"`` (the paper's squared penalty), both from ``init_rank``
    triplets per layer with the cubic schedule (``t_init``, ``t_final`` as fractions of
    ``steps``), ``"increlora"`` (from rank 1, one pair every ``(1 - t_final) steps / (b - L)``
    steps; AdaLoRA's triplet score) and ``"increlora_reserve"`` (the same with the
    reserved-gradient score of :func:`~lowrank_lab.adapters.allocation_optim.increlora_allocator`).  Adam at ``lr`` (constant).

    Columns: ``step``, ``rank_W1 ... rank_WL`` (the allocation held at that step),
    ``orth_A``, ``orth_B`` (mean orthogonality errors, SVD forms), ``train_loss``, and on every
    row the final ``rel_error`` (relative), ``floor`` (the Eckart-Young floor at the final
    allocation), ``oracle_floor``, ``uniform_floor``, ``err_W1 ...``, ``wall_time``.
    """
    method = check_choice(method, "method", METHODS)
    budget = check_int(budget, "budget", low=1)
    lr = check_float(lr, "lr", low=0.0, low_inclusive=False)
    steps = check_int(steps, "steps", low=1)
    streams = backend.trial_streams(seed, "task", "method")
    model, task, spectra = allocation_task(streams.task, n_train=n_train, noise=noise)
    names = model.matrices
    adapter, opt = _build(method, budget, steps, lr, model, spectra, init_rank=init_rank, orth_weight=orth_weight,
                          t_init=t_init, t_final=t_final)
    rows: list[dict] = []
    every = max(1, steps // record)
    fixed = (uniform_allocation(len(names), budget) if method == "uniform" else
             oracle_allocation(spectra, budget) if method == "oracle" else None)

    def _row(step: int, params: Mapping[str, Any], opt_state: Any, loss: Any) -> dict:
        ranks = dict(zip(names, fixed)) if fixed is not None else current_ranks(opt_state)
        row = {"step": step, **{f"rank_{k}": int(ranks.get(k, 0)) for k in names}, "train_loss": float(loss)}
        if fixed is None:
            errs = orthogonality_error(params)
            row["orth_A"] = float(np.mean([a for a, _ in errs.values()]))
            row["orth_B"] = float(np.mean([b for _, b in errs.values()]))
        return row

    start = time.perf_counter()
    res = finetune(model, task, adapter, opt, steps=steps, record_every=steps, diagnostics="none",
                   rng=streams.method, check_every=50, callback=_Recorder(every, rows, _row))
    wall = time.perf_counter() - start
    final = _row(res.n_iter, res.state.params, res.optimizer_state, res.final("train_loss"))
    if not rows or rows[-1]["step"] != final["step"]:
        rows.append(final)
    ranks_final = [final[f"rank_{k}"] for k in names]
    errs = layer_errors(task, res.weights)
    total = float(len(names))  # ||dW*_l||_F = 1
    extra = {"rel_error": float(errs.sum() / total), "floor": allocation_error(spectra, ranks_final) / total,
             "oracle_floor": allocation_error(spectra, oracle_allocation(spectra, budget)) / total,
             "uniform_floor": allocation_error(spectra, uniform_allocation(len(names), budget)) / total,
             "wall_time": wall, "stop_reason": res.stop_reason,
             **{f"err_{k}": float(e) for k, e in zip(names, errs)}}
    frame = pd.DataFrame(rows)
    for k, v in extra.items():
        frame[k] = v
    return frame


class _Recorder:
    """A picklable callback recording the allocation every ``every`` steps."""

    def __init__(self, every: int, rows: list, row_fn: Any) -> None:
        self.every, self.rows, self.row_fn = every, rows, row_fn

    def __call__(self, it: int, state: Any) -> None:
        if it % self.every == 0:
            astate = state["adapter_state"]
            self.rows.append(self.row_fn(it, astate.params, state["optimizer_state"], state["loss"]))


# =========================================================================== #
# DyLoRA / Maestro: nested truncation as an allocation baseline
# =========================================================================== #
def nested_trial(*, lr: float, seed: int, budgets: Sequence[int] = (8, 16, 24, 40, 72), rank_max: int = 32,
                 steps: int = 600, n_train: int = 192, noise: float = 0.1, kind: str = "maestro") -> pd.DataFrame:
    """A nested adapter (``rank_max`` per layer) trained once, then truncated to every budget.

    ``kind="maestro"`` (ordered dropout, both factors small and random) or ``"dylora"``
    (LoRA's initialization, scale ``alpha / b`` at truncation ``b``, DyLoRA's default
    ``alpha = 8``), both from :mod:`~lowrank_lab.adapters.nested`.  The allocation keeps the
    nested prefixes with the largest increments ``||dW(b) - dW(b - 1)||_F`` across layers
    (:func:`~lowrank_lab.adapters.allocation.prefix_allocation`, post hoc, no retraining;
    for Maestro the increment is the component's norm; DyLoRA's components are not ordered
    by norm, its scale changing with ``b``); each layer is then evaluated at its truncation
    (:func:`~lowrank_lab.adapters.nested.truncate`).
    One row per budget: ``budget``, ``rel_error``, ``floor``, ``rank_W1 ...``.
    """
    lr = check_float(lr, "lr", low=0.0, low_inclusive=False)
    kind = check_choice(kind, "kind", ("maestro", "dylora"))
    streams = backend.trial_streams(seed, "task", "method")
    model, task, spectra = allocation_task(streams.task, n_train=n_train, noise=noise)
    names = model.matrices
    adapter = maestro(rank_max) if kind == "maestro" else dylora(rank_max)
    start = time.perf_counter()
    res = finetune(model, task, adapter, adam(lr), steps=steps, record_every=steps, diagnostics="none",
                   rng=streams.method, check_every=50)
    wall = time.perf_counter() - start
    subs = {k: AdapterState({p: res.state.params[f"{k}{SEP}{p}"] for p in ("B", "A")},
                            {p: res.state.frozen[f"{k}{SEP}{p}"] for p in ("gate", "grad_mask")}) for k in names}
    norms = []
    for k in names:
        prev = None
        inc = []
        for b in range(1, rank_max + 1):
            d = np.asarray(backend.to_numpy(adapter.delta(truncate(adapter, subs[k], b))))
            inc.append(float(np.linalg.norm(d if prev is None else d - prev)))
            prev = d
        norms.append(np.asarray(inc))
    rows = []
    for b in budgets:
        ranks = prefix_allocation(norms, b)
        weights = {k: (task.W0[k] + adapter.delta(truncate(adapter, subs[k], r)) if r > 0 else task.W0[k])
                   for k, r in zip(names, ranks)}
        errs = layer_errors(task, weights)
        rows.append({"budget": int(b), "rel_error": float(errs.sum() / len(names)),
                     "floor": allocation_error(spectra, ranks) / len(names), "wall_time": wall,
                     **{f"rank_{k}": int(r) for k, r in zip(names, ranks)}})
    return pd.DataFrame(rows)


# =========================================================================== #
# SoRA: the lambda path and rank recovery
# =========================================================================== #
def _stage_schedule(lams: Sequence[float], stage_steps: int) -> join_schedules:
    from .transforms import constant_schedule  # noqa: PLC0415

    return join_schedules(tuple(constant_schedule(float(v)) for v in lams),
                          tuple(stage_steps * (i + 1) for i in range(len(lams) - 1)))


def sora_path_trial(*, lams: Sequence[float], lr: float, seed: int, weight_decay: float = 0.01, optimizer: str = "sgd",
                    stage_steps: int = 300, rank_max: int = 32, record: int = 10, n_train: int = 192,
                    noise: float = 0.1) -> pd.DataFrame:
    """SoRA on the eight-layer testbed with a staged lambda schedule (the rank path).

    ``lambda`` takes the values ``lams`` for ``stage_steps`` steps each; one row per
    recorded step: ``step``, ``lam``, ``rank_W1 ...`` (non-zero gates), ``rank_total``,
    ``train_loss``, ``rel_error`` (relative test error at that step) and ``stage_end``
    (True at the last step of a stage).
    """
    lr = check_float(lr, "lr", low=0.0, low_inclusive=False)
    lams = [check_float(v, "lams", low=0.0) for v in lams]
    stage_steps = check_int(stage_steps, "stage_steps", low=1)
    streams = backend.trial_streams(seed, "task", "method")
    model, task, _ = allocation_task(streams.task, n_train=n_train, noise=noise)
    names = model.matrices
    steps = stage_steps * len(lams)
    every = max(1, stage_steps // record)
    opt = sora_optimizer(lr, _stage_schedule(lams, stage_steps), weight_decay=weight_decay, optimizer=optimizer)
    adapter = sora(rank_max)
    rows: list[dict] = []

    def row_fn(it: int, params: Mapping[str, Any], opt_state: Any, loss: Any) -> dict:
        ranks = current_ranks(opt_state)
        weights = {k: task.W0[k] + adapter.delta(AdapterState({p: params[f"{k}{SEP}{p}"] for p in ("B", "g", "A")}))
                   for k in names}
        stage = min(max(it - 1, 0) // stage_steps, len(lams) - 1)  # the stage whose step led here
        return {"step": it, "lam": lams[stage], **{f"rank_{k}": ranks[k] for k in names},
                "rank_total": sum(ranks.values()), "train_loss": float(model.loss(weights, task.X_train,
                                                                                   task.Y_train)),
                "rel_error": _relative(task, weights), "stage_end": bool(it > 0 and it % stage_steps == 0)}

    res = finetune(model, task, adapter, opt, steps=steps, record_every=steps, diagnostics="none",
                   rng=streams.method, check_every=50, callback=_Recorder(every, rows, row_fn))
    final = row_fn(res.n_iter, res.state.params, res.optimizer_state, 0.0)
    if rows and rows[-1]["step"] == final["step"]:
        rows[-1] = final
    else:
        rows.append(final)
    return pd.DataFrame(rows)


def sora_recovery_trial(*, r_star: int, lam: float, lr: float, seed: int, weight_decay: float = 0.01,
                        optimizer: str = "sgd", warmup: float = 0.3, prune: bool = True,
                        steps: int = 1500, rank_max: int = 32, n: int = 48, n_train: int = 192, noise: float = 0.1,
                        record: int = 30) -> pd.DataFrame:
    """SoRA alone on one ``n x n`` layer with a rank-``r_star`` target (singular values 1); one row per recorded step.

    ``lambda = 0`` for the first ``warmup * steps`` steps (the factors start at ``B = 0``,
    where the gates get no gradient and the proximal step alone would prune gates by their
    random initial size), ``lam`` afterwards.  ``prune=False`` lets a zero gate revive (the
    gate counts then show whether the penalty settles).  Columns ``step``, ``rank``
    (non-zero gates), ``train_loss``, and ``final_rank``, ``rel_error``, ``rank_std_late`` (the
    standard deviation of ``rank`` over the recorded steps of the last half) on every row.
    """
    r_star = check_int(r_star, "r_star", low=1, high=rank_max, high_label="rank_max")
    lr = check_float(lr, "lr", low=0.0, low_inclusive=False)
    streams = backend.trial_streams(seed, "task", "method")
    model, task, _ = allocation_task(streams.task, ranks=(r_star,), n=n, n_train=n_train, noise=noise, flat=True)
    every = max(1, steps // record)
    rows: list[dict] = []

    def row_fn(it: int, params: Mapping[str, Any], opt_state: Any, loss: Any) -> dict:
        return {"step": it, "rank": int(sum(current_ranks(opt_state).values())), "train_loss": float(loss)}

    t_warm = int(warmup * steps)
    lam_fn = _stage_schedule([0.0, lam], t_warm) if t_warm > 0 else lam
    opt = sora_optimizer(lr, lam_fn, weight_decay=weight_decay, optimizer=optimizer, prune=prune)
    res = finetune(model, task, sora(rank_max), opt, steps=steps, record_every=steps, diagnostics="none",
                   rng=streams.method, check_every=50, callback=_Recorder(every, rows, row_fn))
    final_rank = int(sum(current_ranks(res.optimizer_state).values()))
    rows.append({"step": res.n_iter, "rank": final_rank, "train_loss": res.final("train_loss")})
    frame = pd.DataFrame(rows)
    frame["final_rank"] = final_rank
    frame["rel_error"] = _relative(task, res.weights)
    frame["rank_std_late"] = float(frame.loc[frame["step"] >= steps // 2, "rank"].std(ddof=0))
    return frame
