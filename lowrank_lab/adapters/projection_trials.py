"""Sweep trials of notebook ``07_gradient_projection`` (study G).

Module-level, picklable functions for :func:`lowrank_lab.experiments.run_sweep`,
called as ``trial(**config, seed=seed)``.  A seed gives, through
:func:`lowrank_lab.backend.trial_streams`, one stream for the task (weights, teacher,
data) and one for the method (initialization, projector seeds), so the same seed is
the same task for every method (paired comparisons).

The harness (study G, part G3): "pretraining" a linear layer (``m x n`` = 128 x 256 by default)
from PyTorch's initialization towards a full-rank teacher with singular values
``sigma_i = 3 i^-1``, with mini-batches of 32 from a pool of samples (each batch
gradient has rank <= 32); a deep linear network and a two-layer MLP use the same
teacher end to end.  Methods (:data:`METHODS`):

``"adam"``            full Adam on every weight;
``"galore"``          GaLore-Adam, exact SVD projector;
``"galore_dct"``      GaLore-Adam with DCT column selection (reselected every step unless a gap is given);
``"galore_random"``   GaLore-Adam with a random orthonormal projector (GoLore's);
``"fira"``            Fira-Adam (limiter ``gamma``);
``"frugal_sign"``, ``"frugal_sgd"``  FRUGAL with signSGD / SGD outside the subspace;
``"apollo"``, ``"apollo_mini"``      APOLLO (channel-wise) and APOLLO-Mini (rank 1, tensor-wise);
``"lora"``            LoRA (``alpha = r``) trained by Adam.

Examples
--------
>>> rows = pretrain_trial(method="galore", rank=2, lr=0.02, update_gap=10, steps=20, m=8, n=16, n_train=64,
...                       record_every=10, seed=0)
>>> rec = rows[rows.kind == "record"]
>>> rec["step"].tolist(), bool(rec["train_loss_ratio"].iloc[-1] < 1.0), rows[rows.kind == "refresh"]["step"].tolist()
([0, 10, 20], True, [0, 10])
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .. import backend, linalg, spectral
from .._validation import check_choice, check_float, check_int
from ..iteration import iterate
from ..results import HistoryRecorder
from .models import Model, deep_linear, linear, mlp
from .parameterizations import full, lora, per_layer
from .projection import (
    ProjectionState,
    _walk,
    apollo,
    projectors,
    apollo_mini,
    fira,
    frugal,
    galore,
    inject_gradient_spikes,
    quantize_weights,
    scale_by_galore,
)
from .projection_diagnostics import GradientDiagnostics
from .tasks import Task, pretrained_weights
from .training import _serial_blas, finetune
from .transforms import GradientTransformation, adam, apply_updates, chain, scale_by_learning_rate, state_floats, trace

__all__ = [
    "METHODS",
    "QuadraticProblem",
    "compress_welore",
    "data_quality_trial",
    "golore_problem",
    "golore_trial",
    "lrc_adapter",
    "make_optimizer",
    "model_of",
    "pretrain_trial",
    "pretraining_task",
    "projector_timing_trial",
    "welore_trial",
]

#: Methods of :func:`pretrain_trial` (see the module docstring).
METHODS = ("adam", "galore", "galore_dct", "galore_random", "fira", "frugal_sign", "frugal_sgd", "apollo",
           "apollo_mini", "lora")
#: Models of the harness.
MODELS = ("linear", "deep_linear", "mlp")



def make_optimizer(method: str, lr: float, rank: int, *, update_gap: Any = 200, scale: float = 1.0,
                   moments: str = "keep", gamma: Any = 1.01, seed: int = 0, **kwargs: Any) -> GradientTransformation:
    """The optimizer of a method name (``"lora"`` and ``"adam"``: plain Adam; LoRA's rank lives in the adapter).

    ``update_gap`` of ``"galore_dct"`` defaults to 1 (the reference reselects every step)
    when given as ``"default"``.

    Examples
    --------
    >>> make_optimizer("fira", 0.01, 4).name, make_optimizer("lora", 0.01, 4).name
    ('fira', 'adam')
    """
    method = check_choice(method, "method", METHODS)
    lr = check_float(lr, "lr", low=0.0, low_inclusive=False)
    if method in ("adam", "lora"):
        return adam(lr)
    gap = None if update_gap in (None, "inf") else update_gap
    gamma = None if gamma in (None, "inf") else gamma
    common = dict(update_gap=gap, seed=seed, **kwargs)
    if method == "galore":
        return galore(lr, rank, scale=scale, moments=moments, **common)
    if method == "galore_dct":
        return galore(lr, rank, scale=scale, moments=moments, projector="dct", **common)
    if method == "galore_random":
        return galore(lr, rank, scale=scale, moments=moments, projector="random", **common)
    if method == "fira":
        return fira(lr, rank, scale=scale, moments=moments, gamma=gamma, **common)
    if method in ("frugal_sign", "frugal_sgd"):
        return frugal(lr, rank, outside=method.split("_")[1], moments=moments, **common)
    if method == "apollo":
        return apollo(lr, rank, scale=scale, gamma=gamma, **common)
    return apollo_mini(lr, gamma=gamma, **common)


# =========================================================================== #
# tasks
# =========================================================================== #
def model_of(kind: str, m: int, n: int, *, hidden: int | None = None, depth: int = 3,
             loss: str = "squared") -> Model:
    """The harness model: ``"linear"`` (``m x n``), ``"deep_linear"`` (``depth`` layers, width ``hidden``),
    or ``"mlp"`` (tanh, ``hidden`` units); inputs ``n``, outputs ``m``."""
    kind = check_choice(kind, "model", MODELS)
    hidden = n // 2 if hidden is None else hidden
    if kind == "linear":
        return linear(n, m, loss=loss)
    if kind == "deep_linear":
        return deep_linear((n,) + (hidden,) * (depth - 1) + (m,), loss=loss)
    return mlp(n, hidden, m, activation="tanh", loss=loss)


def _teacher(m: int, n: int, gen: np.random.Generator, *, sigma1: float, decay: float, rank: int | None) -> np.ndarray:
    M = pretrained_weights(m, n, spectrum="power_law", sigma1=sigma1, decay=decay, rng=gen)
    if rank is None:
        return M
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    return (U[:, :rank] * s[:rank]) @ Vt[:rank]


def pretraining_task(rng: Any, model: Model, *, n_train: int = 2048, n_test: int = 512, sigma1: float = 3.0,
                     decay: float = 1.0, teacher_rank: int | None = None, label_noise: float = 0.0,
                     init_scale: float = 1.0, xp: Any = None) -> Task:
    """The study's harness: ``model`` from PyTorch's initialization towards a linear teacher ``M*`` (``m x n``).

    ``M*`` has Haar singular vectors and ``sigma_i = sigma1 i^-decay`` (truncated to
    ``teacher_rank`` when given: the "target complexity" of probe G-10).  Inputs are
    isotropic Gaussians; targets ``y = M* x`` (squared loss) or one-hot
    ``argmax M* x`` (cross-entropy), a fraction ``label_noise`` of the training labels
    replaced by uniformly random classes.  The task's ``W0`` is the initialization
    (multiplied by ``init_scale``: below 1, a small initialization), so ``W - W0`` is
    everything training moved.

    Examples
    --------
    >>> task = pretraining_task(0, linear(16, 8), n_train=32, n_test=8)
    >>> task.X_train.shape, task.Y_train.shape, task.W0["W"].shape
    ((32, 16), (32, 8), (8, 16))
    """
    gen_w, gen_t, gen_x, gen_noise = backend.spawn_generators(rng, 4)
    xp = backend.get_namespace("numpy") if xp is None else xp
    W0 = model.init_weights(gen_w, xp=xp)
    if init_scale != 1.0:
        W0 = {k: check_float(init_scale, "init_scale", low=0.0, low_inclusive=False) * v for k, v in W0.items()}
    n, m = model.n_in, model.n_out
    M = _teacher(m, n, gen_t, sigma1=sigma1, decay=decay, rank=teacher_rank)
    X = gen_x.standard_normal((n_train + n_test, n))
    F = X @ M.T
    if model.loss_kind == "cross_entropy":
        labels = F.argmax(axis=1)
        flip = gen_noise.random(n_train) < check_float(label_noise, "label_noise", low=0.0, high=1.0)
        labels[:n_train][flip] = gen_noise.integers(0, m, size=int(flip.sum()))
        Y = np.eye(m)[labels]
    else:
        Y = F.copy()
        if label_noise > 0:
            Y[:n_train] += label_noise * gen_noise.standard_normal((n_train, m))
    like = W0[model.matrices[0]]
    arr = functools.partial(backend.asarray, like=like)
    eye = arr(np.eye(n))
    X_source = Y_source = None
    if model.linear_map(W0) is None:  # the forgetting probe of a non-linear model: test inputs labelled by W0
        X_source = arr(X[n_train:n_train + 256])
        Y_source = model.predict(W0, X_source)
        if model.loss_kind == "cross_entropy":
            xp_ = backend.array_namespace(Y_source)
            Y_source = xp_.exp(Y_source - xp_.max(Y_source, axis=1, keepdims=True))
            Y_source = Y_source / xp_.sum(Y_source, axis=1, keepdims=True)
    return Task(arr(X[:n_train]), arr(Y[:n_train]), arr(X[n_train:]), arr(Y[n_train:]), W0, {}, eye, eye,
                X_source, Y_source,
                params={"model": model.name, "teacher_rank": teacher_rank, "label_noise": label_noise,
                        "sigma1": sigma1, "decay": decay, "teacher": M})


# =========================================================================== #
# the main trial
# =========================================================================== #
def _adapter(method: str, rank: int) -> Any:
    return lora(rank, alpha=float(rank)) if method == "lora" else full()


@_serial_blas
def pretrain_trial(*, method: str, rank: int, lr: float, seed: int, update_gap: Any = 200, scale: float = 1.0,
                   moments: str = "keep", gamma: Any = 1.01, steps: int = 2000, batch_size: int = 32, m: int = 128,
                   n: int = 256, n_train: int = 2048, model: str = "linear", hidden: int | None = None,
                   depth: int = 3, record_every: int = 100, matched: float = 1e-3, stop: float | None = None,
                   spikes: Any = (), spike_factor: float = 20.0, weight_bits: int | None = None,
                   rounding: str = "stochastic", adaptive_gap: bool = False, cosine: str = "signed",
                   loss_every: int | None = None) -> pd.DataFrame:
    """One method on the pretraining harness: rows of kind ``"record"``, ``"loss"`` and ``"refresh"``.

    ``"record"`` rows (every ``record_every`` steps, one per weight matrix ``layer``):
    ``train_loss_ratio`` and ``test_loss_ratio`` (to the initial losses) and the
    :class:`~lowrank_lab.adapters.projection_diagnostics.GradientDiagnostics` columns
    (gradient ranks, captured energy, ``delta_effective_rank`` of ``W_t - W0``, ...).
    ``"loss"`` rows: the full training loss every ``loss_every`` steps (spike profiles).
    ``"refresh"`` rows: at every projector refresh of every layer, ``overlap``
    ``||P_new^T P_old||_F^2 / r`` and ``lead_cosine`` (signed cosine of the first
    vectors) with the previous projector, and the layer's ``gap``.  Every row carries
    the run's ``state_floats`` (optimizer state), ``trainable``, ``svd_count``
    (projector computations, all layers), ``steps_to`` (first recorded or ``loss_every``
    step with the training loss at most ``matched`` times its initial value; NaN if never),
    ``final_train_loss_ratio``, ``stop_reason``, ``n_iter`` and ``wall_time``.

    ``stop``: end the run once the training loss is at most ``stop`` times its initial
    value (checked every 10 steps).  ``spikes``: steps at which the gradient is
    multiplied by ``spike_factor`` before the optimizer.  ``weight_bits``: weights kept
    on a grid by :func:`~lowrank_lab.adapters.projection.quantize_weights`.
    """
    method = check_choice(method, "method", METHODS)
    steps = check_int(steps, "steps", low=1)
    streams = backend.trial_streams(seed, "task", "method")
    net = model_of(model, m, n, hidden=hidden, depth=depth)
    task = pretraining_task(streams.task, net, n_train=n_train)
    method_seed = int(streams.method.integers(2**31))
    opt = make_optimizer(method, lr, rank, update_gap=update_gap, scale=scale, moments=moments, gamma=gamma,
                         seed=method_seed, **({"adaptive_gap": True, "cosine": cosine} if adaptive_gap else {}))
    parts = []
    if spikes:
        parts.append(inject_gradient_spikes(tuple(spikes), spike_factor))
    parts.append(opt)
    if weight_bits is not None:
        parts.append(quantize_weights(weight_bits, rounding=rounding, seed=method_seed,
                                      offset={f"{k}/delta": task.W0[k] for k in net.matrices}))
    opt = chain(*parts) if len(parts) > 1 else opt
    init_train = float(net.loss(task.W0, task.X_train, task.Y_train))
    diag = GradientDiagnostics(record_every, reference=task.W0, spectra=False)
    losses: list[dict] = []
    refreshes: list[dict] = []
    seen: dict = {}

    def callback(step: int, state: Any) -> None:
        diag(step, state)
        if loss_every and step % loss_every == 0:
            losses.append({"kind": "loss", "step": step, "layer": "",
                           "train_loss_ratio": float(net.loss(state["weights"], task.X_train, task.Y_train)) / init_train})
        leaves = {}
        _walk(state["optimizer_state"], leaves)  # host ints only: a projector is read when it has changed
        for key, leaf in leaves.items():
            if seen.get(key, (0, None))[0] == leaf.refreshes:
                continue
            P = projectors(ProjectionState(0, {key: leaf}))[key].basis
            old = seen.get(key, (0, None))[1]
            row = {"kind": "refresh", "step": step - 1, "layer": key.split("/", 1)[0], "refresh": leaf.refreshes,
                   "gap": float(leaf.gap), "overlap": math.nan, "lead_cosine": math.nan}
            if old is not None:
                xp = backend.array_namespace(P)
                C = xp.matrix_transpose(P) @ old
                row["overlap"] = float(xp.sum(C * C)) / int(P.shape[1])
                row["lead_cosine"] = float(xp.sum(P[:, 0] * old[:, 0]) / (xp.linalg.vector_norm(P[:, 0])
                                                                        * xp.linalg.vector_norm(old[:, 0])))
            refreshes.append(row)
            seen[key] = (leaf.refreshes, P)

    res = finetune(net, task, _adapter(method, rank), opt, steps=steps, batch_size=batch_size,
                   record_every=record_every, rng=streams.method, diagnostics="none", callback=callback,
                   target_loss=None if stop is None else stop * init_train, check_every=10)
    hist = res.history.rename(columns={"iteration": "step"})
    init_test = float(hist["test_loss"].iloc[0])
    hist["train_loss_ratio"] = hist["train_loss"] / init_train
    hist["test_loss_ratio"] = hist["test_loss"] / init_test
    rows = diag.frame().merge(hist[["step", "train_loss_ratio", "test_loss_ratio"]], on="step", how="left")
    rows.insert(0, "kind", "record")
    rows = pd.concat([rows, pd.DataFrame(losses), pd.DataFrame(refreshes)], ignore_index=True)
    curve = pd.concat([hist[["step", "train_loss_ratio"]]] + ([pd.DataFrame(losses)[["step", "train_loss_ratio"]]]
                                                              if losses else []), ignore_index=True)
    hit = curve.loc[curve["train_loss_ratio"] <= matched, "step"].sort_values()
    rows["state_floats"] = state_floats(res.optimizer_state)
    rows["trainable"] = int(res.params["num_params"])
    rows["svd_count"] = _svd_count(res.optimizer_state)
    rows["steps_to"] = float(hit.iloc[0]) if len(hit) else math.nan
    rows["final_train_loss_ratio"] = float(hist["train_loss_ratio"].iloc[-1])
    rows["final_test_loss_ratio"] = float(hist["test_loss_ratio"].iloc[-1])
    rows["stop_reason"] = res.stop_reason
    rows["n_iter"] = int(res.n_iter)
    rows["wall_time"] = res.wall_time
    return rows


def _svd_count(opt_state: Any) -> int:
    leaves: dict = {}
    _walk(opt_state, leaves)
    return sum(leaf.refreshes for leaf in leaves.values())


# =========================================================================== #
# GoLore's counterexample (He et al. 2024, arXiv:2410.11289)
# =========================================================================== #
class QuadraticProblem(NamedTuple):
    """``f(X) = 1/2 ||A X||_F^2 + <B, X>`` with ``A = [I_{n-r}, 0]``: ``B`` (``n x m``, zero on the last
    ``r`` rows), ``rank`` ``r`` and the gradient noise ``noise`` (std on the last ``r`` rows)."""

    B: Any
    rank: int
    noise: float

    def gradient(self, X: Any) -> Any:
        """``A^T A X + B``: ``X`` with its last ``r`` rows zeroed, plus ``B``."""
        xp = backend.array_namespace(X)
        keep = xp.concat([X[: X.shape[0] - self.rank, :], xp.zeros_like(X[X.shape[0] - self.rank:, :])], axis=0)
        return keep + self.B

    def gap(self, X: Any) -> Any:
        """``f(X) - f* = 1/2 ||X_1 + B_1||_F^2`` (``X_1``: the first ``n - r`` rows)."""
        xp = backend.array_namespace(X)
        D = X[: X.shape[0] - self.rank, :] + self.B[: X.shape[0] - self.rank, :]
        return 0.5 * xp.sum(D * D)


def golore_problem(n: int, m: int, rank: int, noise: float, rng: Any = None, *, xp: Any = None) -> QuadraticProblem:
    """GoLore's counterexample: the gradient noise lives where the objective is flat.

    ``X`` is ``n x m`` (``n < m``, so GaLore projects on the left, the side of the noise);
    ``B`` has i.i.d. ``N(0, 1/m)`` entries on its first ``n - r`` rows and zeros below, so
    ``f`` does not depend on the last ``r`` rows of ``X`` at all, and the stochastic
    gradient ``A^T A X + B + Z`` carries noise ``Z`` (std ``noise``) only there.  Once
    the noise outweighs the signal, the top-``r`` left singular vectors of the gradient
    are the noise rows: GaLore's SVD projector keeps only directions that cannot lower
    ``f``, while a random projector keeps a share ``r / n`` of the signal in expectation
    (He et al. 2024; the sizes are ours).

    Examples
    --------
    >>> prob = golore_problem(6, 10, 2, 1.0, rng=0)
    >>> import numpy as np
    >>> float(np.abs(prob.B[4:]).max()), float(prob.gap(-prob.B))
    (0.0, 0.0)
    """
    n = check_int(n, "n", low=2)
    m = check_int(m, "m", low=1)
    rank = check_int(rank, "rank", low=1, high=n - 1, high_label="n - 1")
    noise = check_float(noise, "noise", low=0.0)
    gen = backend.as_generator(rng)
    B = np.zeros((n, m))
    B[: n - rank] = gen.standard_normal((n - rank, m)) / math.sqrt(m)
    return QuadraticProblem(backend.asarray(B, xp=xp or backend.get_namespace("numpy")), rank, noise)


def _quadratic_optimizer(method: str, lr: float, rank: int, inner: str, update_gap: Any, seed: int) -> Any:
    inner_t = trace(0.9) if inner == "momentum" else None
    if method == "sgd":
        return chain(*([trace(0.9)] if inner == "momentum" else []), scale_by_learning_rate(lr)) \
            if inner == "momentum" else adam(lr)
    projector = {"galore": "svd", "golore": "random", "galore_randomized": "randomized_svd"}[method]
    from .transforms import scale_by_adam  # noqa: PLC0415

    direction = scale_by_galore(rank, update_gap=update_gap, projector=projector,
                                inner=inner_t if inner_t is not None else scale_by_adam(), seed=seed)
    return chain(direction, scale_by_learning_rate(lr))


@_serial_blas
def golore_trial(*, method: str, lr: float, seed: int, n: int = 64, m: int = 128, rank: int = 8,
                 noise: float = 1.0, steps: int = 2000, update_gap: int = 20, inner: str = "momentum",
                 record_every: int = 20) -> pd.DataFrame:
    """One optimizer on :func:`golore_problem`, from ``X = 0``; one row per recorded step (``gap = f - f*``).

    ``signal_share``: the share ``||P_1||_F^2 / r`` of the projector in the first
    ``n - r`` rows, the only ones that lower ``f`` (a random projector: about
    ``(n - r) / n``; GaLore's, once it locks onto the noise: about 0).

    ``method``: ``"sgd"`` (full gradient with the inner optimizer), ``"galore"`` (exact SVD
    projector), ``"golore"`` (random orthonormal projector), ``"galore_randomized"``
    (randomized SVD).  ``inner``: ``"momentum"`` (heavy ball 0.9, GoLore's analysis) or
    ``"adam"``.  The noise of step ``t`` comes from the seed's data stream, the same for
    every method (paired).  Runs on :func:`lowrank_lab.iteration.iterate`.
    """
    method = check_choice(method, "method", ("sgd", "galore", "golore", "galore_randomized"))
    inner = check_choice(inner, "inner", ("momentum", "adam"))
    streams = backend.trial_streams(seed, "task", "noise", "method")
    prob = golore_problem(n, m, rank, noise, streams.task)
    noise_seed = int(streams.noise.integers(2**31))
    opt = _quadratic_optimizer(method, lr, rank, inner, update_gap, int(streams.method.integers(2**31)))
    X0 = {"X": backend.asarray(np.zeros((n, m)), like=prob.B)}

    def stochastic_gradient(X: Any, t: int) -> Any:
        Z = np.zeros((n, m))
        Z[n - rank:] = noise * np.random.default_rng([noise_seed, t]).standard_normal((rank, m))
        return prob.gradient(X) + backend.asarray(Z, like=X)

    def step(it: Any) -> Any:
        params, state = it.state
        u, state = opt.update({"X": stochastic_gradient(params["X"], it.iteration)}, state, params)
        return apply_updates(params, u), state

    def metrics(it: Any) -> dict:
        views = projectors(it.state[1])
        if "X" not in views:
            return {"signal_share": math.nan}
        Pm = views["X"].basis[: n - rank, :]
        return {"signal_share": float(backend.array_namespace(Pm).sum(Pm * Pm)) / views["X"].basis.shape[1]}

    rec = HistoryRecorder(stride=record_every)
    out = iterate((X0, opt.init(X0)), step, loss=lambda it: prob.gap(it.state[0]["X"]),
                  factors=lambda s: (s[0]["X"],), recorder=rec, max_iter=check_int(steps, "steps", low=1),
                  metrics=metrics, check_every=record_every, loss_name="gap")
    frame = rec.frame().rename(columns={"iteration": "step"})
    frame["gap_ratio"] = frame["gap"] / float(prob.gap(X0["X"]))
    frame["stop_reason"] = out.stop_reason
    return frame


# =========================================================================== #
# WeLore (Jaiswal et al. 2024): compression and LRC-only fine-tuning
# =========================================================================== #
def _lrc_init(rank: int, W0: Any, rng: Any = None) -> Any:
    from .parameterizations import AdapterState  # noqa: PLC0415

    U, S, Vt = linalg.truncated_svd(W0, rank)
    xp = backend.array_namespace(W0)
    root = xp.sqrt(S)
    B, A = U * root[None, :], root[:, None] * Vt
    return AdapterState({"B": B, "A": A}, {"B0": B, "A0": A})


def _lrc_delta(state: Any) -> Any:
    return state.params["B"] @ state.params["A"] - state.frozen["B0"] @ state.frozen["A0"]


def _lrc_pullback(state: Any, G: Any) -> dict:
    from .models import dense_gradient  # noqa: PLC0415

    G = dense_gradient(G)
    xp = backend.array_namespace(G)
    return {"B": G @ xp.matrix_transpose(state.params["A"]), "A": xp.matrix_transpose(state.params["B"]) @ G}


def lrc_adapter(rank: int) -> Any:
    """WeLore's trainable low-rank component: ``W = B A`` with ``B = U_k sqrt(S_k)``, ``A = sqrt(S_k) V_k^T``.

    Initialized from the top-``rank`` SVD of the base weight (exact when the base is
    already the rank-``rank`` compressed matrix); both factors train, ``k (m + n)``
    parameters.  ``delta = B A - B_0 A_0`` is zero at step 0.

    Examples
    --------
    >>> import numpy as np
    >>> a = lrc_adapter(2)
    >>> s = a.init(np.diag([3.0, 2.0, 0.0]), 0)
    >>> float(np.abs(a.delta(s)).max()), a.num_params((3, 3))
    (0.0, 12)
    """
    from .parameterizations import Adapter  # noqa: PLC0415

    rank = check_int(rank, "rank", low=1)
    return Adapter(f"lrc_r{rank}", functools.partial(_lrc_init, rank), _lrc_delta, _lrc_pullback,
                   lambda shape: rank * (int(shape[0]) + int(shape[1])), config={"rank": rank})


def compress_welore(weights: Mapping[str, Any], ranks: Mapping[str, int]) -> dict:
    """Weights with the listed matrices replaced by their best rank-``ranks[k]`` approximation."""
    out = dict(weights)
    for k, r in ranks.items():
        U, S, Vt = linalg.truncated_svd(weights[k], int(r))
        out[k] = (U * S[None, :]) @ Vt
    return out


@_serial_blas
def welore_trial(*, seed: int, lr: float, steps: int = 2000, ft_steps: int = 500, ft_lr: float = 0.003,
                 reduction: float = 0.5, m: int = 64, n: int = 128, hidden: int = 96, depth: int = 4,
                 model: str = "deep_linear", method: str = "galore", rank: int = 16, update_gap: int = 50,
                 n_train: int = 2048, batch_size: int = 32, record_every: int = 50, shift: float = 0.3,
                 init_scale: float = 1.0, teacher_rank: int | None = None) -> pd.DataFrame:
    """WeLore's three claims on one network (study G, G-9): rows of kind ``"layer"``, ``"compression"``, ``"finetune"``.

    1. Train ``model`` (``depth`` layers) on the harness with ``method`` (GaLore-Adam by
       default); per layer, the mean gradient stable rank over training and the final
       weight effective rank, WeLore's prune ratio at the chosen ``tau`` and the LRC flag
       (``kind="layer"``).
    2. Compress to ``reduction`` of the parameters with WeLore's global threshold
       (:func:`lowrank_lab.spectral.welore_ranks`) and with one uniform rank fraction at
       the same budget (:func:`lowrank_lab.spectral.uniform_ranks`); the test-loss ratio
       of each against the uncompressed network (``kind="compression"``).
    3. A shifted task (the teacher plus a random rank-4 change of spectral norm
       ``shift * sigma_1``): fine-tune the WeLore-compressed network with only the LRC
       factors trainable (N-LRCs frozen) against full fine-tuning of every weight, both
       with Adam at ``ft_lr``; losses every ``record_every`` steps (``kind="finetune"``).
    """
    streams = backend.trial_streams(seed, "task", "method", "shift")
    net = model_of(model, m, n, hidden=hidden, depth=depth)
    task = pretraining_task(streams.task, net, n_train=n_train, init_scale=init_scale, teacher_rank=teacher_rank)
    diag = GradientDiagnostics(record_every, reference=task.W0, spectra=False)
    opt = make_optimizer(method, lr, rank, update_gap=update_gap, seed=int(streams.method.integers(2**31)))
    res = finetune(net, task, full(), opt, steps=steps, batch_size=batch_size, record_every=steps,
                   rng=streams.method, diagnostics="none", callback=diag)
    W = res.weights
    mats = {k: W[k] for k in net.matrices}
    sel = spectral.welore_ranks(mats, reduction)
    g = diag.frame().groupby("layer")
    rows = []
    for _, row in sel.table.iterrows():
        k = row["name"]
        rows.append({"kind": "layer", "layer": k, "mean_grad_stable_rank": float(g.get_group(k)["grad_stable_rank"].mean()),
                     "mean_grad_effective_rank": float(g.get_group(k)["grad_effective_rank"].mean()),
                     "weight_effective_rank": spectral.effective_rank(W[k]),
                     "weight_stable_rank": spectral.stable_rank(W[k]),
                     "prune_ratio": float(row["prune_ratio"]), "lrc": float(bool(row["lrc"])), "tau": sel.tau})
    base_test = float(net.loss(W, task.X_test, task.Y_test))
    ranks_w = sel.ranks
    budget = int(sel.table["params_after"].sum())
    ranks_u = spectral.uniform_ranks({k: tuple(v.shape) for k, v in mats.items()}, budget)
    W_welore = compress_welore(W, ranks_w)
    W_uniform = compress_welore(W, ranks_u)
    params_u = sum(min(r * sum(mats[k].shape), math.prod(mats[k].shape)) for k, r in ranks_u.items())
    for name, Wc, params in (("welore", W_welore, budget), ("uniform", W_uniform, params_u)):
        rows.append({"kind": "compression", "layer": name, "test_loss_ratio": float(net.loss(Wc, task.X_test,
                                                                                          task.Y_test)) / base_test,
                     "params": int(params), "achieved_reduction": 1.0 - params / sum(math.prod(v.shape) for v in mats.values()),
                     "base_test_loss": base_test})
    # 3. the shifted task, from the WeLore-compressed network
    shifted = _shifted_task(task, streams.shift, shift, n_train)
    init_loss = float(net.loss(W_welore, shifted.X_train, shifted.Y_train))
    for variant, adapter in (("lrc", per_layer({k: lrc_adapter(r) for k, r in ranks_w.items()}) if ranks_w else None),
                             ("full", full())):
        if adapter is None:
            continue
        out = finetune(net, shifted, adapter, adam(ft_lr), steps=ft_steps, batch_size=batch_size,
                       record_every=record_every, rng=streams.method, diagnostics="none", start=W_welore)
        h = out.history
        for step, tr, te in zip(h["iteration"], h["train_loss"], h["test_loss"]):
            rows.append({"kind": "finetune", "layer": variant, "step": int(step), "train_loss_ratio": float(tr) / init_loss,
                         "test_loss": float(te), "trainable": int(out.params["num_params"])})
    return pd.DataFrame(rows)


def _shifted_task(task: Task, gen: np.random.Generator, shift: float, n_train: int) -> Task:
    """The harness task with its teacher changed by a random rank-4 matrix (fresh data)."""
    M = task.params["teacher"]
    s1 = np.linalg.norm(M, 2)
    U = np.linalg.qr(gen.standard_normal((M.shape[0], 4)))[0]
    V = np.linalg.qr(gen.standard_normal((M.shape[1], 4)))[0]
    M2 = M + shift * s1 * U @ V.T
    X = gen.standard_normal((n_train + 512, M.shape[1]))
    Y = X @ M2.T
    like = task.X_train
    arr = functools.partial(backend.asarray, like=like)
    return Task(arr(X[:n_train]), arr(Y[:n_train]), arr(X[n_train:]), arr(Y[n_train:]), dict(task.W0), {},
                task.sigma_pre, task.input_cov, params={**task.params, "shift": shift})


# =========================================================================== #
# G-10: gradient spectra as a data-quality signal
# =========================================================================== #
@_serial_blas
def data_quality_trial(*, seed: int, label_noise: float = 0.0, teacher_rank: int | None = None, lr: float = 0.003,
                       m: int = 16, n: int = 64, hidden: int = 64, n_train: int = 1024, batch_size: int = 64,
                       max_steps: int = 600, matched: float = 0.8, probe_every: int = 10) -> dict:
    """Per-layer gradient effective rank and nuclear norm of a two-layer MLP classifier at a matched loss.

    The task: :func:`pretraining_task` with an MLP (tanh, cross-entropy, ``m`` classes),
    labels ``argmax M* x`` with a rank-``teacher_rank`` teacher (the target complexity:
    independent output directions) and a fraction ``label_noise`` of random labels (the
    data quality).  Trained by Adam; the full-batch gradient of every weight matrix is
    probed every ``probe_every`` steps, and the row reports the first probe at which the
    training loss is at most ``matched`` times its initial value (reconstruction: the
    study asks to compare at matched loss).  Columns per layer ``W1``, ``W2``:
    ``{layer}_effective_rank``, ``{layer}_nuclear`` (nuclear norm) and
    ``{layer}_nuclear_ratio`` (nuclear over Frobenius), plus ``step`` and ``matched``
    (whether the loss got there within ``max_steps``), and the same at initialization
    (``init_*``).
    """
    streams = backend.trial_streams(seed, "task", "method")
    net = model_of("mlp", m, n, hidden=hidden, loss="cross_entropy")
    task = pretraining_task(streams.task, net, n_train=n_train, teacher_rank=teacher_rank, label_noise=label_noise)
    row: dict[str, Any] = {}

    def probe(weights: Mapping[str, Any], prefix: str) -> None:
        _, grads = net.loss_and_grads(weights, task.X_train, task.Y_train)
        for k in net.matrices:
            s = np.asarray(backend.to_numpy(backend.array_namespace(grads[k]).linalg.svdvals(grads[k])))
            fro = float(np.sqrt(np.sum(s**2)))
            row[f"{prefix}{k}_effective_rank"] = spectral.effective_rank(s)
            row[f"{prefix}{k}_nuclear"] = float(s.sum())
            row[f"{prefix}{k}_nuclear_ratio"] = float(s.sum()) / fro if fro > 0 else math.nan

    init = float(net.loss(task.W0, task.X_train, task.Y_train))
    probe(task.W0, "init_")
    found = {}

    def callback(step: int, state: Any) -> bool | None:
        if step % probe_every or not step:
            return None
        loss = float(net.loss(state["weights"], task.X_train, task.Y_train))
        if loss <= matched * init:
            probe(state["weights"], "")
            found.update(step=step, loss_ratio=loss / init)
            return True
        return None

    finetune(net, task, full(), adam(lr), steps=max_steps, batch_size=batch_size, record_every=max_steps,
             rng=streams.method, diagnostics="none", callback=callback)
    row["matched"] = bool(found)
    row["step"] = found.get("step", max_steps)
    row["loss_ratio"] = found.get("loss_ratio", math.nan)
    return row


# =========================================================================== #
# G-6: the wall clock of a projector computation
# =========================================================================== #
@_serial_blas
def projector_timing_trial(*, n: int, method: str, seed: int, rank: int = 16, repeat: int = 2) -> dict:
    """Seconds (best of ``repeat``) of one projector computation on an ``n x n`` Gaussian gradient, one BLAS thread.

    ``method``: ``"svd"`` (:func:`lowrank_lab.linalg.svd`) or ``"dct"`` (fast DCT along
    the rows, ``l1`` scores, top-``rank`` sort: DCT column selection).  A sweep caches
    the measurement, so a notebook re-executed from the cache shows the same numbers.
    """
    import time  # noqa: PLC0415

    method = check_choice(method, "method", ("svd", "dct"))
    G = np.random.default_rng(seed).standard_normal((check_int(n, "n", low=2), n))

    def run() -> None:
        if method == "svd":
            linalg.svd(G)
        else:
            np.argsort(-np.abs(linalg.dct(G, axis=0)).sum(axis=1))[:rank]

    best = math.inf
    for _ in range(check_int(repeat, "repeat", low=1)):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return {"seconds": best}

