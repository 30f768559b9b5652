"""Trial functions of the intrinsic-dimension lab (module-level, picklable, for sweeps).

Each takes its config and an integer ``seed`` and returns a dict row.  Random
streams follow the suite's seed contract
(:func:`lowrank_lab.backend.trial_streams`): ``"init"`` draws the problem's
starting point and ``"projection"`` the random subspace, so a seed gives the same
``theta_0`` for every ``d`` and projection kind, and a different subspace per seed.

Examples
--------
>>> row = toy_subspace_trial(d=12, projection="fastfood", seed=0)
>>> row["loss_improvement"] > 0.999
True

The adapter-lab trials train a model of :mod:`lowrank_lab.adapters` through
:func:`lowrank_lab.adapters.finetune`: :func:`digits_subspace_trial` (an MLP on
scikit-learn's digits, DID or SAID at budget ``d``) with its direct-training
reference :func:`digits_direct_trial`, and :func:`teacher_subspace_trial` /
:func:`teacher_direct_trial` (regression on a teacher network, for the
fraction-of-loss-improvement rule).  Streams: ``"init"`` draws ``theta_0`` (the
same for the subspace runs and the direct reference of a seed), ``"projection"``
the subspace; the digits split and the label shuffle use a fixed ``data_seed``
(one data set for every seed, as in Li et al.).
"""

from __future__ import annotations

import functools
import time

import numpy as np

from .. import backend
from .._validation import check_choice, check_float, check_int
from ..adapters import Task, adam, finetune, full, mlp, per_layer, synthetic_task
from ..datasets import digits
from .landscape import train_subspace
from .problems import li_toy_problem
from .projections import PROJECTIONS, make_projection
from .subspace import accuracy, classification_task, said_adapter, subspace_adapter

__all__ = ["BRIDGE_ADAPTERS", "METHODS", "digits_adapter_trial", "digits_direct_trial", "digits_subspace_trial", "pretrained_family_direct_trial",
           "pretrained_family_trial", "teacher_direct_trial", "teacher_subspace_trial", "toy_subspace_trial"]

#: Subspace parameterizations of the adapter-lab trials.
METHODS = ("did", "said")


def toy_subspace_trial(
    d: int,
    seed: int,
    *,
    projection: str = "fastfood",
    D: int = 1000,
    groups: int = 10,
    init_scale: float = 1.0,
    optimizer: str = "adam",
    lr: float = 1.0,
    max_iter: int = 2000,
    tol: float = 1e-6,
    stall_patience: int | None = 20,
    backend_name: str | None = None,
) -> dict:
    """Subspace training of Li et al.'s toy at dimension ``d``: one row of a d_int sweep.

    Defaults (Adam, step 1.0, at most 2000 steps, stop at ``1e-6`` of the initial
    loss or after 20 checks, i.e. 200 steps, without a 0.1 % improvement) were
    chosen on the toy so that every projection reaches a ``1e-3`` relative loss by
    ``d = 11`` on every one of 10 seeds; ``d = 10`` itself is ill-conditioned (a
    square ``10 x 10`` random system) and some seeds need more steps there.

    Returns
    -------
    dict
        ``initial_loss`` (``L_0`` at ``z = 0``), ``loss`` (final ``L_d``),
        ``loss_improvement`` (``(L_0 - L_d) / L_0``, the toy's ``L_full`` being 0),
        ``n_iter``, ``stop_reason``, ``wall_time_s``.
    """
    check_choice(projection, "projection", tuple(PROJECTIONS))
    xp = backend.get_namespace(backend_name)
    streams = backend.trial_streams(seed, "init", "projection")
    problem = li_toy_problem(D, groups, init_scale=init_scale, rng=streams.init, xp=xp)
    P = make_projection(projection, D, d, rng=streams.projection, xp=xp)
    result = train_subspace(problem, P, optimizer=optimizer, lr=lr, max_iter=max_iter, tol=tol,
                            stall_patience=stall_patience)
    initial = float(result.history["loss"].iloc[0])
    final = result.final("loss")
    return {
        "initial_loss": initial,
        "loss": final,
        "loss_improvement": (initial - final) / (initial - problem.minimum_loss),
        "n_iter": result.n_iter,
        "stop_reason": result.stop_reason,
        "wall_time_s": result.wall_time,
    }


# --------------------------------------------------------------------------- #
# adapter-lab models: digits MLP (classification) and a teacher MLP (regression)
# --------------------------------------------------------------------------- #
@functools.lru_cache(maxsize=4)
def _digits(data_seed: int, shuffle_labels: bool):  # noqa: ANN202 - cached host data
    return digits(shuffle_labels=shuffle_labels, rng=data_seed)


def _digits_setup(seed: int, hidden: int, shuffle_labels: bool, data_seed: int, activation: str):
    hidden = check_int(hidden, "hidden", low=1)
    model = mlp(64, hidden, 10, activation=activation, loss="cross_entropy")
    streams = backend.trial_streams(seed, "init", "projection")
    task = classification_task(model, _digits(int(data_seed), bool(shuffle_labels)), rng=streams.init)
    return model, task, streams


def _classification_row(model, task, res, shuffle_labels: bool, t0: float) -> dict:
    train_acc = accuracy(model, res.weights, task.X_train, task.Y_train)
    test_acc = accuracy(model, res.weights, task.X_test, task.Y_test)
    return {
        # shuffled labels: only memorization can fit, so performance is training accuracy (Li et al.)
        "accuracy": train_acc if shuffle_labels else test_acc,
        "train_accuracy": train_acc,
        "test_accuracy": test_acc,
        "initial_loss": float(res.history["train_loss"].iloc[0]),
        "loss": float(model.loss(res.weights, task.X_train, task.Y_train)),
        "num_params": int(res.params["num_params"]),
        "D": int(model.num_params),
        "n_iter": res.n_iter,
        "stop_reason": res.stop_reason,
        "wall_time_s": time.perf_counter() - t0,
    }


def digits_subspace_trial(
    d: int,
    seed: int,
    *,
    hidden: int = 128,
    method: str = "did",
    projection: str = "fastfood",
    shuffle_labels: bool = False,
    steps: int = 300,
    lr: float = 0.05,
    activation: str = "relu",
    data_seed: int = 0,
) -> dict:
    """Train the digits MLP ``64-hidden-10`` in a random ``d``-dimensional subspace: one row of a d_int sweep.

    The adapter lab's one-hidden-layer :func:`~lowrank_lab.adapters.mlp` (ReLU,
    softmax cross-entropy, biases; ``D = 75 hidden + 10`` parameters) from the
    initialization ``theta_0`` of stream ``"init"``, on scikit-learn's digits
    (:func:`lowrank_lab.datasets.digits`, fixed split ``data_seed``), full batch,
    Adam at step ``lr`` for ``steps`` steps, through
    :func:`lowrank_lab.adapters.finetune` with :func:`~lowrank_lab.intrinsic.subspace.subspace_adapter`
    (``method="did"``) or :func:`~lowrank_lab.intrinsic.subspace.said_adapter`
    (``"said"``, budget ``d`` including the per-tensor scales).

    **Reconstruction / reduction**: Li et al. train LeNets and 784-200-200-10 MLPs on
    MNIST with mini-batches for many epochs; the study's digits MLP has two hidden
    layers.  Defaults (one hidden layer, ReLU, 300 full-batch Adam steps at 0.05) were
    chosen so that a sweep fits a laptop CPU: direct training then reaches about 96 %
    test accuracy at every width.

    Returns
    -------
    dict
        ``accuracy`` (test accuracy; **training** accuracy with ``shuffle_labels``,
        where test accuracy is chance), ``train_accuracy``, ``test_accuracy``,
        ``initial_loss``, ``loss`` (final training loss), ``num_params`` (= ``d``),
        ``D``, ``n_iter``, ``stop_reason``, ``wall_time_s``.

    Examples
    --------
    >>> row = digits_subspace_trial(100, 0, hidden=16, steps=100)
    >>> row["num_params"], row["D"], row["accuracy"] > 0.5
    (100, 1210, True)
    """
    check_choice(method, "method", METHODS)
    check_choice(projection, "projection", tuple(PROJECTIONS))
    steps = check_int(steps, "steps", low=1)
    lr = check_float(lr, "lr", low=0.0, low_inclusive=False)
    t0 = time.perf_counter()
    model, task, streams = _digits_setup(seed, hidden, shuffle_labels, data_seed, activation)
    adapter = (subspace_adapter if method == "did" else said_adapter)(d, projection)
    res = finetune(model, task, adapter, adam(lr), steps=steps, rng=streams.projection, diagnostics="none",
                   record_every=steps)
    return _classification_row(model, task, res, shuffle_labels, t0)


def digits_direct_trial(
    seed: int,
    *,
    hidden: int = 128,
    shuffle_labels: bool = False,
    steps: int = 300,
    lr: float = 0.01,
    activation: str = "relu",
    data_seed: int = 0,
) -> dict:
    """Direct training of all ``D`` parameters of the digits MLP from the same ``theta_0``: the reference of d_int90.

    Same model, data and initialization as :func:`digits_subspace_trial` at this seed;
    Adam at step ``lr`` (default 0.01: the subspace's 0.05 is too large for the full
    space) on every tensor (matrices and biases), full batch.

    Examples
    --------
    >>> row = digits_direct_trial(0, hidden=16, steps=100)
    >>> row["num_params"] == row["D"] == 1210, row["accuracy"] > 0.8
    (True, True)
    """
    steps = check_int(steps, "steps", low=1)
    lr = check_float(lr, "lr", low=0.0, low_inclusive=False)
    t0 = time.perf_counter()
    model, task, streams = _digits_setup(seed, hidden, shuffle_labels, data_seed, activation)
    adapter = per_layer({k: full() for k in model.shapes})
    res = finetune(model, task, adapter, adam(lr), steps=steps, rng=streams.projection, diagnostics="none",
                   record_every=steps)
    return _classification_row(model, task, res, shuffle_labels, t0)


def _teacher_setup(seed: int, n_in: int, hidden: int, n_out: int, n_train: int):
    model = mlp(check_int(n_in, "n_in", low=1), check_int(hidden, "hidden", low=1),
                check_int(n_out, "n_out", low=1), activation="tanh", loss="squared")
    streams = backend.trial_streams(seed, "init", "projection")
    task = synthetic_task(model, n_train=check_int(n_train, "n_train", low=1), n_test=200, rng=streams.init)
    return model, task, streams


def _regression_row(model, task, res, t0: float) -> dict:
    return {
        "initial_loss": float(res.history["train_loss"].iloc[0]),
        "loss": float(model.loss(res.weights, task.X_train, task.Y_train)),
        "test_loss": float(model.loss(res.weights, task.X_test, task.Y_test)),
        "num_params": int(res.params["num_params"]),
        "D": int(model.num_params),
        "n_iter": res.n_iter,
        "stop_reason": res.stop_reason,
        "wall_time_s": time.perf_counter() - t0,
    }


def teacher_subspace_trial(
    d: int,
    seed: int,
    *,
    n_in: int = 16,
    hidden: int = 32,
    n_out: int = 4,
    n_train: int = 64,
    method: str = "did",
    projection: str = "fastfood",
    steps: int = 300,
    lr: float = 0.05,
) -> dict:
    """Regression in a random subspace: the adapter lab's tanh MLP fine-tuned towards its teacher.

    :func:`lowrank_lab.adapters.synthetic_task` (a "pretrained" ``W0`` and a low-rank
    teacher update) from stream ``"init"``; subspace training of all parameters as in
    :func:`digits_subspace_trial`.  Rows carry ``initial_loss`` (``L_0``) and
    ``loss`` (``L_d``) for ``d_int(threshold="loss_improvement")`` with
    ``L_full`` from :func:`teacher_direct_trial`.

    Examples
    --------
    >>> row = teacher_subspace_trial(50, 0, steps=50)
    >>> row["loss"] < row["initial_loss"]
    True
    """
    check_choice(method, "method", METHODS)
    check_choice(projection, "projection", tuple(PROJECTIONS))
    steps = check_int(steps, "steps", low=1)
    lr = check_float(lr, "lr", low=0.0, low_inclusive=False)
    t0 = time.perf_counter()
    model, task, streams = _teacher_setup(seed, n_in, hidden, n_out, n_train)
    adapter = (subspace_adapter if method == "did" else said_adapter)(d, projection)
    res = finetune(model, task, adapter, adam(lr), steps=steps, rng=streams.projection, diagnostics="none",
                   record_every=steps)
    return _regression_row(model, task, res, t0)


def teacher_direct_trial(
    seed: int,
    *,
    n_in: int = 16,
    hidden: int = 32,
    n_out: int = 4,
    n_train: int = 64,
    steps: int = 300,
    lr: float = 0.01,
) -> dict:
    """Direct fine-tuning of every parameter on the teacher task of :func:`teacher_subspace_trial` (gives ``L_full``).

    Examples
    --------
    >>> row = teacher_direct_trial(0, steps=50)
    >>> row["num_params"] == row["D"]
    True
    """
    steps = check_int(steps, "steps", low=1)
    lr = check_float(lr, "lr", low=0.0, low_inclusive=False)
    t0 = time.perf_counter()
    model, task, streams = _teacher_setup(seed, n_in, hidden, n_out, n_train)
    res = finetune(model, task, per_layer({k: full() for k in model.shapes}), adam(lr), steps=steps,
                   rng=streams.projection, diagnostics="none", record_every=steps)
    return _regression_row(model, task, res, t0)


# --------------------------------------------------------------------------- #
# pre-training lowers the intrinsic dimension (H-3): a family of teacher tasks
# --------------------------------------------------------------------------- #
def _teacher_family(seed: int, n_in: int, latent: int, n_out: int, n_tasks: int, n_train: int, n_test: int):
    """Inputs and targets of ``n_tasks + 1`` tasks ``y = A_t tanh(B x)`` sharing ``B`` (the last one held out)."""
    gen = backend.as_generator(backend.trial_streams(seed, "family").family)
    B = gen.standard_normal((latent, n_in)) * (2.0 / np.sqrt(n_in))
    A = gen.standard_normal((n_tasks + 1, n_out, latent)) / np.sqrt(latent)
    X = gen.standard_normal((n_train + n_test, n_in))
    Hs = np.tanh(X @ B.T)
    Y = np.einsum("tok,nk->tno", A, Hs)  # (tasks, N, n_out)
    return X[:n_train], X[n_train:], Y[:, :n_train], Y[:, n_train:]


def _regression_task(model, W0: dict, X_train, Y_train, X_test, Y_test) -> Task:
    n_in = X_train.shape[1]
    Xs = X_test[:50]
    return Task(X_train, Y_train, X_test, Y_test, W0, {}, np.eye(n_in), np.eye(n_in), Xs,
                np.asarray(model.predict(W0, Xs)), {"kind": "teacher_family"})


@functools.lru_cache(maxsize=64)
def _pretrained_start(seed: int, width: int, pretrain_steps: int, n_in: int, latent: int, n_out: int, n_tasks: int,
                      n_train: int, n_test: int, pretrain_lr: float):
    """``(model, task)`` of the held-out task, starting from a trunk pre-trained for ``pretrain_steps``."""
    X_tr, X_te, Y_tr, Y_te = _teacher_family(seed, n_in, latent, n_out, n_tasks, n_train, n_test)
    streams = backend.trial_streams(seed, "pretrain", "head")
    multi = mlp(n_in, width, n_tasks * n_out, activation="tanh", loss="squared")
    Wp = multi.init_weights(streams.pretrain)
    if pretrain_steps > 0:
        cat = lambda Y: np.concatenate(list(Y[:n_tasks]), axis=1)  # noqa: E731 - multi-head targets
        pre_task = _regression_task(multi, Wp, X_tr, cat(Y_tr), X_te, cat(Y_te))
        Wp = finetune(multi, pre_task, per_layer({k: full() for k in multi.shapes}), adam(pretrain_lr),
                      steps=pretrain_steps, rng=0, diagnostics="none", record_every=pretrain_steps).weights
    model = mlp(n_in, width, n_out, activation="tanh", loss="squared")
    head = model.init_weights(streams.head)
    W0 = {"W1": Wp["W1"], "b1": Wp["b1"], "W2": head["W2"], "b2": head["b2"]}
    return model, _regression_task(model, W0, X_tr, Y_tr[n_tasks], X_te, Y_te[n_tasks])


def pretrained_family_trial(
    d: int | None,
    seed: int,
    *,
    width: int = 64,
    pretrain_steps: int = 0,
    method: str = "did",
    projection: str = "fastfood",
    n_in: int = 16,
    latent: int = 4,
    n_out: int = 4,
    n_tasks: int = 8,
    n_train: int = 256,
    n_test: int = 256,
    pretrain_lr: float = 0.01,
    steps: int = 300,
    lr: float = 0.05,
) -> dict:
    """Subspace fine-tuning on a held-out task after multi-task pre-training (H-3); ``d=None``: direct training.

    **Reconstruction** of the study design's H-3 (the papers give no such toy): a family of
    regression tasks ``y = A_t tanh(B x)`` with ``x ~ N(0, I_n_in)``, a shared latent map
    ``B`` (``latent x n_in``) and a task readout ``A_t`` (``n_out x latent``), drawn from
    stream ``"family"``.  A tanh MLP ``n_in-width-(n_tasks n_out)`` is pre-trained on
    the first ``n_tasks`` tasks at once (one head per task, full-batch Adam for
    ``pretrain_steps``; 0 = the random initialization); the held-out task ``n_tasks``
    keeps the pre-trained trunk (``W1, b1``) and gets a fresh head (``W2, b2``, stream
    ``"head"``).  All parameters are then trained in a random subspace (DID or SAID,
    budget ``d``; Adam ``lr``, ``steps``) through :func:`lowrank_lab.adapters.finetune`,
    or directly (``d=None``, Adam 0.01) for ``L_full``.  The pre-trained start is cached
    per process, so a sweep over ``d`` pre-trains once per (seed, width, steps).

    Returns
    -------
    dict
        ``initial_loss`` (``L_0``), ``loss`` (training loss after fine-tuning), ``test_loss``,
        ``num_params``, ``D``, ``n_iter``, ``stop_reason``, ``wall_time_s``.

    Examples
    --------
    >>> row = pretrained_family_trial(32, 0, width=16, pretrain_steps=50, steps=50)
    >>> row["num_params"], row["loss"] < row["initial_loss"]
    (32, True)
    """
    check_choice(method, "method", METHODS)
    check_choice(projection, "projection", tuple(PROJECTIONS))
    steps = check_int(steps, "steps", low=1)
    lr = check_float(lr, "lr", low=0.0, low_inclusive=False)
    t0 = time.perf_counter()
    model, task = _pretrained_start(int(seed), check_int(width, "width", low=1),
                                    check_int(pretrain_steps, "pretrain_steps", low=0), n_in, latent, n_out,
                                    n_tasks, n_train, n_test, float(pretrain_lr))
    if d is None:
        adapter, rate = per_layer({k: full() for k in model.shapes}), 0.01
    else:
        adapter, rate = (subspace_adapter if method == "did" else said_adapter)(d, projection), lr
    streams = backend.trial_streams(seed, "projection")
    res = finetune(model, task, adapter, adam(rate), steps=steps, rng=streams.projection, diagnostics="none",
                   record_every=steps)
    return _regression_row(model, task, res, t0)


def pretrained_family_direct_trial(seed: int, **config) -> dict:
    """Direct fine-tuning of :func:`pretrained_family_trial` (``d=None``): the reference giving ``L_full``.

    Examples
    --------
    >>> row = pretrained_family_direct_trial(0, width=16, pretrain_steps=0, steps=50)
    >>> row["num_params"] == row["D"]
    True
    """
    config = {k: v for k, v in config.items() if k not in ("method", "projection", "lr")}
    return pretrained_family_trial(None, seed, **config)


#: Adapters of study F placed on the d axis (H-6), with the learning-rate centres of notebook 06.
BRIDGE_ADAPTERS = {"vera": 0.1, "nola": 0.1, "randlora": 0.01}


def digits_adapter_trial(
    seed: int,
    *,
    method: str = "vera",
    size: int = 16,
    hidden: int = 128,
    steps: int = 300,
    lr: float | None = None,
    activation: str = "relu",
    data_seed: int = 0,
) -> dict:
    """Train the digits MLP through a random-basis adapter of study F (H-6): performance against trainable parameters.

    The model, data and ``theta_0`` of :func:`digits_subspace_trial` at this seed; the
    adapter acts on both weight matrices (biases frozen): ``vera(size)``,
    ``nola(4, size // 2, size - size // 2)`` (``size`` basis coefficients per matrix,
    LoRA rank 4) or ``randlora(size)``, the configurations of notebook 06.  Full-batch
    Adam at ``lr`` (default: notebook 06's centre for the method, not re-tuned here).
    ``num_params`` is the adapter's trainable count, to be placed on the same axis as
    the subspace dimension ``d``.

    Examples
    --------
    >>> row = digits_adapter_trial(0, method="vera", size=4, hidden=16, steps=30)
    >>> row["num_params"] == 16 + 4 + 10 + 4
    True
    """
    from ..adapters import nola, randlora, vera  # noqa: PLC0415 - only this trial needs them

    check_choice(method, "method", tuple(BRIDGE_ADAPTERS))
    size = check_int(size, "size", low=1)
    steps = check_int(steps, "steps", low=1)
    lr = BRIDGE_ADAPTERS[method] if lr is None else check_float(lr, "lr", low=0.0, low_inclusive=False)
    t0 = time.perf_counter()
    model, task, streams = _digits_setup(seed, hidden, False, data_seed, activation)
    if method == "vera":
        adapter = vera(size, projection_seed=seed)
    elif method == "nola":
        adapter = nola(4, max(1, size // 2), max(1, size - size // 2))
    else:
        adapter = randlora(size, projection_seed=seed)
    res = finetune(model, task, adapter, adam(lr), steps=steps, rng=streams.projection, diagnostics="none",
                   record_every=steps)
    return _classification_row(model, task, res, False, t0)
