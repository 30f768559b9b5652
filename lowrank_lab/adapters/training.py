"""One fine-tuning loop for every adapter and optimizer: :func:`finetune`.

``finetune(model, task, adapter, optimizer, steps=..., ...)`` runs on
:func:`lowrank_lab.iteration.iterate` (cadence of checks, divergence with the last
good iterate, callback, progress bar, history stride).  One step:

1. merged weights ``W = W_start + delta(state)`` (``W_start`` = the task's pretrained
   ``W0`` unless ``start=`` says otherwise, e.g. in continual fine-tuning);
2. ``loss, G = model.loss_and_grads(W, X_batch, Y_batch)`` (``G`` unformed for adapters
   that accept factored gradients: LoRA never forms the ``m x n`` gradient);
3. ``g = adapter.pullback(state, G)``; ``updates, opt_state = optimizer.update(g, ...)``;
   ``params = apply_updates(params, updates)``.

Stochastic adapters (``adapter.resample``, e.g. the random truncation of ordered
dropout) draw the state a step sees from their own stream (split off the
initialization's); ``batch_loss`` is the loss of that draw, while ``train_loss``, the
diagnostics and the returned weights use the plain state.

The history (one row every ``record_every`` steps and at the returned iterate) holds
``batch_loss`` (the loss the step used), ``train_loss`` and ``test_loss`` on the target
task, ``forgetting`` (:func:`~lowrank_lab.adapters.tasks.forgetting`) and, for every
adapted weight matrix, diagnostics of the merged weights against the pretrained ``W0``
(``D = W - W0``, the whole update since pretraining):

``intruders_eps{e}``
    Intruder dimensions (Shuttleworth et al. 2024; :func:`lowrank_lab.spectral.intruder_dimensions`):
    among the top ``intruder_k`` left singular vectors of ``W``, those whose largest
    ``|cos|`` with every left singular vector of ``W0`` is below ``e``; one column per
    ``e`` of ``intruder_eps``.  Summed over matrices (the paper's convention).
``delta_norm``, ``delta_spectral_norm``, ``delta_effective_rank``, ``delta_stable_rank``
    ``||D||_F``, ``||D||_2``, Roy-Vetterli effective rank and stable rank of ``D``.
``amplification``
    ``||D||_F / ||U_r^T W0 V_r||_F`` with ``U_r, V_r`` the top ``r`` singular vectors of
    ``D`` (Hu et al. 2021, Table 7); ``r`` = ``amplification_rank`` or the adapter's rank
    (``intruder_k`` for rank-free adapters).
``reference_cosine``, ``reference_distance``
    ``<D, D_ref> / (||D|| ||D_ref||)`` and ``||D - D_ref||_F / ||D_ref||_F`` when
    ``reference_delta`` is given (e.g. full fine-tuning's update).
``norm_<param>``
    Frobenius norm of every trainable array (LoRA's ``norm_A``, ``norm_B``).

Per-matrix columns carry the layer's name as a prefix (``"W1.delta_stable_rank"``) when
more than one matrix is adapted.  ``diagnostics="exact"`` uses full SVDs;
``"randomized"`` uses :func:`lowrank_lab.linalg.randomized_svd` for the top
``max(intruder_k, r) + 10`` triplets of ``W`` and ``D`` (the effective rank is then
that of the computed top part); ``"auto"`` picks exact up to ``min(m, n) <= 256``;
``"none"`` records losses only.  ``U0`` is computed once per run.  The time the
diagnostics take is measured (``FinetuneResult.diagnostics_time``) and is part of
``wall_time``.

Examples
--------
>>> from lowrank_lab.adapters import linear, linear_task, lora, sgd
>>> task = linear_task(16, rank=2, norm=0.4, n_train=32, rng=0)
>>> res = finetune(linear(16, 16), task, lora(4, alpha=8.0), sgd(0.05), steps=200, record_every=100, rng=1)
>>> res.stop_reason, list(res.history["iteration"])
('max_iter', [0, 100, 200])
>>> bool(res.final("train_loss") < 1e-2 * res.history["train_loss"].iloc[0])
True
>>> int(res.history["intruders_eps0.5"].iloc[0])             # nothing has moved at step 0
0
"""

from __future__ import annotations

import functools
import math
import numbers
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .. import backend, linalg, spectral
from ..linalg._blas import one_blas_thread
from .._validation import check_callback, check_choice, check_float, check_int
from ..iteration import iterate
from ..results import STOP_REASONS, HistoryRecorder, seed_of
from .models import Model, namespace
from .parameterizations import Adapter, AdapterState, as_model_adapter, merge
from .tasks import Task, forgetting
from .transforms import GradientTransformation, apply_updates

__all__ = ["DIAGNOSTICS", "DEFAULT_EPS", "FinetuneResult", "finetune", "finetune_sequence"]

#: Diagnostic modes of :func:`finetune`.
DIAGNOSTICS = ("auto", "exact", "randomized", "none")
#: Default sweep of intruder thresholds.
DEFAULT_EPS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
#: ``diagnostics="auto"`` uses exact SVDs up to this ``min(m, n)``.
EXACT_LIMIT = 256
#: Runs whose weight matrices are all at most this size squared use one BLAS thread on NumPy:
#: threads only add synchronization to products this small (measured: a 64 x 64 SVD took
#: 0.5 ms with one OpenBLAS thread and 4-30 ms with two on a loaded two-core machine).
SERIAL_BLAS_LIMIT = 256


_blas_limit = one_blas_thread  # BLAS on one thread for the block (linalg's cached controller)


def _serial_blas(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a trial function with one BLAS thread (its matrices are small; see ``SERIAL_BLAS_LIMIT``).

    Shared by the lab's trial modules (``trials``, ``family_trials``, ``projection_trials``).
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _blas_limit(True):
            return fn(*args, **kwargs)

    return wrapper


@dataclass(frozen=True, repr=False)
class FinetuneResult:
    """What :func:`finetune` returns.

    Attributes
    ----------
    weights : dict
        Merged weights ``W_start + delta(state)`` of the returned iterate.
    state : AdapterState
        The adapter's arrays (model scope: keys ``"<layer>/<param>"``).
    optimizer_state : object
    history : pandas.DataFrame
        One row per recorded step (see the module docstring for the columns).
    stop_reason : str
        One of :data:`lowrank_lab.results.STOP_REASONS` (``"converged"``: the training
        loss reached ``target_loss``).
    n_iter : int
        Steps performed.
    returned_iteration : int
        Step of the returned iterate (earlier than ``n_iter`` after a divergence).
    wall_time, diagnostics_time : float
        Seconds in all, and in the recorded diagnostics.
    params : dict
        The run's configuration (adapter, optimizer, sizes, trainable parameters).
    seed : int or None
    """

    weights: Mapping[str, Any]
    state: AdapterState
    optimizer_state: Any
    history: pd.DataFrame
    stop_reason: str
    n_iter: int
    returned_iteration: int
    wall_time: float
    diagnostics_time: float
    params: Mapping[str, Any] = field(default_factory=dict)
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.stop_reason not in STOP_REASONS:
            raise ValueError(f"stop_reason must be one of {STOP_REASONS}, got {self.stop_reason!r}")

    @property
    def converged(self) -> bool:
        return self.stop_reason == "converged"

    def final(self, column: str) -> float:
        """Last recorded value of a history column."""
        if column not in self.history.columns:
            raise KeyError(f"column must be one of {list(self.history.columns)}, got {column!r}")
        values = self.history[column].to_numpy()
        return float(values[-1]) if values.size else math.nan

    def __repr__(self) -> str:
        return (f"FinetuneResult(adapter={self.params.get('adapter')!r}, stop_reason={self.stop_reason!r}, "
                f"n_iter={self.n_iter}, history={len(self.history)} rows, wall_time={self.wall_time:.3g}s)")


class _TrainState(NamedTuple):
    params: dict
    opt_state: Any


class _Batches:
    """Mini-batches without replacement: a fresh permutation each epoch, the remainder dropped."""

    def __init__(self, X: Any, Y: Any, batch_size: int | None, gen: np.random.Generator) -> None:
        self.X, self.Y = X, Y
        self.N = int(X.shape[0])
        self.full = batch_size is None or batch_size >= self.N
        self.b = self.N if self.full else int(batch_size)
        self.per_epoch = self.N // self.b
        self.gen = gen
        self.epoch = -1
        self.perm = None
        self.xp = backend.array_namespace(X)

    def __call__(self, t: int) -> tuple[Any, Any]:
        if self.full:
            return self.X, self.Y
        epoch, j = divmod(t, self.per_epoch)
        if epoch != self.epoch:
            if epoch < self.epoch:
                raise RuntimeError("mini-batches are drawn in order of the steps")
            while self.epoch < epoch:  # epochs are drawn in order, so a run is reproducible
                host = self.gen.permutation(self.N)
                self.epoch += 1
            self.perm = backend.asarray(host.astype(np.int64), like=self.X, dtype=self.xp.int64)
        idx = self.perm[j * self.b:(j + 1) * self.b]
        return self.xp.take(self.X, idx, axis=0), self.xp.take(self.Y, idx, axis=0)


def _check_eps(eps: Any) -> tuple[float, ...]:
    if isinstance(eps, numbers.Real) and not isinstance(eps, bool):
        eps = (eps,)
    if not isinstance(eps, Sequence) or not eps:
        raise TypeError(f"intruder_eps must be a number or a non-empty sequence of numbers, got {eps!r}")
    return tuple(check_float(e, "intruder_eps", low=0.0, high=1.0, low_inclusive=False) for e in eps)


def _frob(A: Any) -> Any:
    xp = namespace(A)
    return xp.sqrt(xp.sum(A * A))


class _Diagnostics:
    """Spectral diagnostics of the merged weights, with ``U0`` computed once per matrix."""

    def __init__(self, task: Task, layers: Sequence[str], mode: str, eps: tuple[float, ...], k: int,
                 ranks: Mapping[str, int], reference: Mapping[str, Any] | None) -> None:
        self.W0 = {k_: task.W0[k_] for k_ in layers}
        self.layers = tuple(layers)
        self.eps = eps
        self.k = {name: min(k, *self.W0[name].shape) for name in self.layers}  # k <= min(m, n)
        self.ranks = ranks
        self.reference = reference or {}
        self.modes = {}
        self.U0 = {}
        for name in self.layers:
            W0 = self.W0[name]
            q = min(W0.shape)
            self.modes[name] = ("exact" if q <= EXACT_LIMIT else "randomized") if mode == "auto" else mode
            self.U0[name] = linalg.svd(W0).U
        self.time = 0.0

    def __call__(self, merged: Mapping[str, Any]) -> dict:
        start = time.perf_counter()
        out: dict[str, Any] = {}
        prefix = len(self.layers) > 1
        totals = np.zeros(len(self.eps), dtype=np.int64)
        for name in self.layers:
            W, W0 = merged[name], self.W0[name]
            xp = backend.array_namespace(W)
            D = W - W0
            q = min(W.shape)
            r = min(self.ranks[name], q)
            k = self.k[name]
            if self.modes[name] == "exact":
                U = linalg.svd(W).U[:, :k]
                Ud, sd, Vdt = linalg.svd(D)
            else:
                width = min(q, max(k, r) + 10)
                U = linalg.randomized_svd(W, k, rng=0).U
                Ud, sd, Vdt = linalg.randomized_svd(D, width, rng=1)
            res = spectral.intruder_dimensions(W, W0, k, np.asarray(self.eps), tuned_vectors=U,
                                               base_vectors=self.U0[name])
            counts = np.asarray(res.count, dtype=np.int64)
            totals += counts
            p = f"{name}." if prefix else ""
            for e, c in zip(self.eps, counts):
                out[f"{p}intruders_eps{e:g}"] = int(c)
            s_host = np.asarray(backend.to_numpy(sd), dtype=np.float64)
            d_norm = float(_frob(D))
            out[f"{p}delta_norm"] = d_norm
            out[f"{p}delta_spectral_norm"] = float(s_host[0]) if s_host.size else 0.0
            out[f"{p}delta_effective_rank"] = spectral.effective_rank(s_host)
            out[f"{p}delta_stable_rank"] = spectral.stable_rank(s_host) if self.modes[name] == "exact" else (
                d_norm**2 / s_host[0] ** 2 if s_host[0] > 0 else 0.0)
            P = xp.matrix_transpose(Ud[:, :r]) @ W0 @ xp.matrix_transpose(Vdt[:r, :])
            proj = float(_frob(P))
            out[f"{p}amplification"] = d_norm / proj if proj > 0 else (math.nan if d_norm == 0 else math.inf)
            if name in self.reference:
                R = self.reference[name]
                r_norm = float(_frob(R))
                inner = float(xp.sum(D * R))
                out[f"{p}reference_cosine"] = inner / (d_norm * r_norm) if d_norm > 0 and r_norm > 0 else 0.0
                out[f"{p}reference_distance"] = float(_frob(D - R)) / r_norm if r_norm > 0 else math.nan
        if prefix:
            for e, c in zip(self.eps, totals):
                out[f"intruders_eps{e:g}"] = int(c)
        self.time += time.perf_counter() - start
        return out


def _reference(reference_delta: Any, layers: Sequence[str]) -> dict | None:
    if reference_delta is None:
        return None
    if isinstance(reference_delta, Mapping):
        unknown = [k for k in reference_delta if k not in layers]
        if unknown:
            raise ValueError(f"reference_delta names {unknown}, not adapted weight matrices {list(layers)}")
        return dict(reference_delta)
    if len(layers) != 1:
        raise ValueError(f"reference_delta must be a dict layer -> array when several matrices are adapted {layers}")
    return {layers[0]: reference_delta}


def finetune(
    model: Model,
    task: Task,
    adapter: Adapter | Mapping[str, Adapter | None],
    optimizer: GradientTransformation,
    *,
    steps: int,
    batch_size: int | None = None,
    record_every: int | None = None,
    rng: Any = None,
    reference_delta: Any = None,
    intruder_eps: Any = DEFAULT_EPS,
    intruder_k: int = 10,
    diagnostics: str = "auto",
    amplification_rank: int | None = None,
    target_loss: float | None = None,
    check_every: int = 10,
    start: Mapping[str, Any] | None = None,
    callback: Callable[[int, Any], bool | None] | None = None,
    progress: bool = False,
    desc: str = "finetune",
) -> FinetuneResult:
    """Fine-tune ``model`` on ``task`` through ``adapter`` with ``optimizer``.

    Parameters
    ----------
    model : Model
    task : Task
    adapter : Adapter or mapping layer -> Adapter | None
        A layer adapter (applied to every weight matrix), a model-scope adapter, or a
        mapping (unnamed layers frozen); see
        :func:`~lowrank_lab.adapters.parameterizations.as_model_adapter`.
    optimizer : GradientTransformation
    steps : int
        Optimizer steps at most.
    batch_size : int, optional
        Mini-batch size (a new permutation each epoch, remainder dropped); None or
        ``>= N``: full-batch gradient descent.
    record_every : int, optional
        History stride (default ``max(1, steps // 50)``); the returned iterate is always recorded.
    rng : seed or Generator
        Split into two streams: the adapter's initialization, then the batch order.
    reference_delta : array or dict, optional
        Reference update(s) ``D_ref`` (relative to the pretrained ``W0``) for the
        ``reference_*`` columns.
    intruder_eps : float or sequence, default 0.1, ..., 0.9
    intruder_k : int, default 10
        Top tuned singular vectors examined (Shuttleworth et al.'s and PEFT's default);
        ``min(intruder_k, m, n)`` for a smaller matrix (``params["intruder_k"]`` records it).
    diagnostics : {"auto", "exact", "randomized", "none"}
    amplification_rank : int, optional
        ``r`` of the amplification factor (default: the adapter's rank, else ``intruder_k``).
    target_loss : float, optional
        Stop with ``"converged"`` once the training loss is at most this (checked every
        ``check_every`` steps): how runs are compared at matched training loss.
    check_every : int, default 10
        Steps between host checks of divergence and ``target_loss``.
    start : dict, optional
        Weights the adapter starts from (default ``task.W0``): the merged weights of a
        previous task in continual fine-tuning.  Diagnostics stay relative to ``task.W0``.
    callback : callable, optional
        ``callback(step, state) -> bool | None`` (True stops); ``state`` has ``iteration``,
        ``factors`` (the trainable arrays), ``loss`` (the batch loss), ``weights``
        (merged), ``adapter_state``, ``gradients`` (``dL/dW`` of the model's weights on
        the batch this step uses, possibly factored; computed on first access and shared
        with the step) and ``optimizer_state`` (the state the step starts from).
    progress : bool, default False
    desc : str

    Returns
    -------
    FinetuneResult
    """
    if not isinstance(model, Model):
        raise TypeError(f"model must be a Model, got {type(model).__name__}")
    if not isinstance(task, Task):
        raise TypeError(f"task must be a Task, got {type(task).__name__}")
    if not isinstance(optimizer, GradientTransformation):
        raise TypeError(f"optimizer must be a GradientTransformation, got {type(optimizer).__name__}")
    steps = check_int(steps, "steps", low=0)
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", low=1)
    record_every = max(1, steps // 50) if record_every is None else check_int(record_every, "record_every", low=1)
    check_every = check_int(check_every, "check_every", low=1)
    diagnostics = check_choice(diagnostics, "diagnostics", DIAGNOSTICS)
    eps = _check_eps(intruder_eps)
    intruder_k = check_int(intruder_k, "intruder_k", low=1)
    if target_loss is not None:
        target_loss = check_float(target_loss, "target_loss", low=0.0)
    if amplification_rank is not None:
        amplification_rank = check_int(amplification_rank, "amplification_rank", low=1)
    callback = check_callback(callback)
    model.check_weights(task.W0)
    base = dict(task.W0) if start is None else dict(start)
    model.check_weights(base)
    madapter = as_model_adapter(adapter, model)

    gen_init, gen_batch = backend.spawn_generators(rng, 2)
    state0 = madapter.init(base, gen_init)
    frozen = state0.frozen
    opt_state0 = optimizer.init(state0.params)
    delta0 = madapter.delta(state0)
    layers = tuple(k for k in delta0 if k in model.matrices)
    layer_cfg = madapter.config.get("layers", {})

    def _rank(name: str) -> int:
        if amplification_rank is not None:
            return amplification_rank
        r = layer_cfg.get(name, {}).get("rank", madapter.config.get("rank"))
        return int(r) if r is not None else intruder_k

    diag = None
    if diagnostics != "none" and layers:
        diag = _Diagnostics(task, layers, diagnostics, eps, intruder_k, {k: _rank(k) for k in layers},
                            _reference(reference_delta, layers))
    factored = madapter.accepts_factored
    batches = _Batches(task.X_train, task.Y_train, batch_size, gen_batch)
    fb = model._forward_backward
    full_batch = batches.full
    resample = madapter.resample
    # stochastic adapters (ordered dropout): their own stream, split off the initialization's
    gen_resample = None if resample is None else backend.spawn_generators(gen_init, 1)[0]

    def evaluate(it: Any) -> None:
        if "grads" in it.cache:
            return
        st = it.state
        astate = AdapterState(st.params, frozen)
        if resample is not None:
            astate = resample(astate, gen_resample)  # the step's draw; diagnostics see the plain state
        merged = merge(base, madapter.delta(astate))
        Xb, Yb = batches(it.iteration)
        loss, grads = fb(merged, Xb, Yb, factored=factored)
        it.cache.update(astate=astate, loss=loss, grads=grads)
        if resample is None:
            it.cache["merged"] = merged

    def merged_of(it: Any) -> dict:
        if "merged" not in it.cache:
            it.cache["merged"] = merge(base, madapter.delta(AdapterState(it.state.params, frozen)))
        return it.cache["merged"]

    def gradients_of(it: Any) -> dict:
        evaluate(it)  # the batch gradient this iterate's step uses (computed once, shared with the step)
        return it.cache["grads"]

    def loss_fn(it: Any) -> Any:
        evaluate(it)
        return it.cache["loss"]

    def step(it: Any) -> _TrainState:
        evaluate(it)
        st = it.state
        g = madapter.pullback(it.cache["astate"], it.cache["grads"])
        updates, opt_state = optimizer.update(g, st.opt_state, st.params)
        return _TrainState(apply_updates(st.params, updates), opt_state)

    def train_loss(it: Any) -> Any:
        if "train_loss" not in it.cache:
            it.cache["train_loss"] = (it.loss if full_batch and resample is None else
                                      model.loss(merged_of(it), task.X_train, task.Y_train))
        return it.cache["train_loss"]

    def check(it: Any) -> str | None:
        if target_loss is not None and float(train_loss(it)) <= target_loss:
            return "converged"
        return None

    def metrics(it: Any) -> dict:
        W = merged_of(it)
        row = {"train_loss": train_loss(it), "test_loss": model.loss(W, task.X_test, task.Y_test),
               "forgetting": forgetting(model, task, W)}
        if diag is not None:
            row.update(diag(W))
            for key, value in it.state.params.items():
                name = key.split("/", 1)[1] if len(layers) == 1 and key.startswith(layers[0] + "/") else key
                row[f"norm_{name}"] = _frob(value)
        return row

    recorder = HistoryRecorder(stride=record_every)
    small = max(math.prod(model.shapes[k]) for k in model.matrices) <= SERIAL_BLAS_LIMIT**2
    with _blas_limit(backend.is_numpy(backend.array_namespace(task.X_train)) and small):
        outcome = iterate(
            _TrainState(state0.params, opt_state0), step,
            loss=loss_fn, factors=lambda st: tuple(st.params.values()), recorder=recorder, max_iter=steps,
            metrics=metrics, check=check, check_every=check_every, callback=callback, progress=progress,
            desc=desc, loss_name="batch_loss",
            expose={"weights": merged_of, "adapter_state": lambda it: AdapterState(it.state.params, frozen),
                    "gradients": gradients_of, "optimizer_state": lambda it: it.state.opt_state},
        )
    final_state = AdapterState(outcome.state.params, frozen)
    weights = merge(base, madapter.delta(final_state))
    shapes = {k: tuple(v.shape) for k, v in base.items()}
    params = {
        "model": model.name, "adapter": madapter.name, "adapter_config": dict(madapter.config),
        "num_params": int(madapter.num_params(shapes)), "optimizer": optimizer.name, "steps": steps,
        "batch_size": batch_size, "record_every": record_every, "diagnostics": diagnostics,
        "intruder_k": dict(diag.k) if diag else intruder_k, "intruder_eps": eps, "target_loss": target_loss, "layers": layers,
    }
    return FinetuneResult(
        weights, final_state, outcome.state.opt_state, recorder.frame(), outcome.stop_reason, outcome.n_iter,
        outcome.returned_iteration, time.perf_counter() - recorder.start, diag.time if diag else 0.0, params,
        seed_of(rng),
    )


def finetune_sequence(model: Model, tasks: Sequence[Task], adapter: Any, optimizer: GradientTransformation, *,
                      rng: Any = None, **kwargs: Any) -> list[FinetuneResult]:
    """Continual fine-tuning: task ``t`` starts from the merged weights of task ``t - 1``.

    A fresh adapter (and optimizer state) per task, merged after each, as in the
    sequential experiments of Shuttleworth et al. (2024).  Diagnostics and forgetting
    stay relative to the pretrained weights of each task (``task.W0``), so intruders
    accumulate across the sequence in the histories.  ``kwargs`` go to :func:`finetune`.

    Examples
    --------
    >>> from lowrank_lab.adapters import linear, lora, sgd, task_sequence
    >>> tasks = task_sequence(linear(8, 8), 2, rank=1, n_train=16, rng=0)
    >>> out = finetune_sequence(linear(8, 8), tasks, lora(2), sgd(0.05), steps=20, rng=1, diagnostics="none")
    >>> [r.n_iter for r in out]
    [20, 20]
    """
    if not tasks:
        raise ValueError("tasks must be a non-empty sequence of Task")
    if "start" in kwargs:
        raise TypeError("finetune_sequence chains the tasks itself: do not pass start=")
    gens = backend.spawn_generators(rng, len(tasks))
    results = []
    start = None
    for task, gen in zip(tasks, gens):
        res = finetune(model, task, adapter, optimizer, rng=gen, start=start, **kwargs)
        results.append(res)
        start = res.weights
    return results
