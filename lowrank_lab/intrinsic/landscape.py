"""The intrinsic dimension of an objective landscape: subspace training and ``d_int90``.

Li et al. (2018) train in a random ``d``-dimensional affine subspace of the ``D``
parameters, ``theta = theta_0 + P z`` with ``z = 0`` at the start and ``P`` fixed
(:mod:`lowrank_lab.intrinsic.projections`), and call the smallest ``d`` that reaches
90 % of the performance of training all parameters the landscape's intrinsic
dimension ``d_int90``.

:func:`train_subspace`
    Gradient descent or Adam on ``z`` for a flat-vector problem (the toy of
    :mod:`lowrank_lab.intrinsic.problems`), on :func:`lowrank_lab.iteration.iterate`:
    one ``apply`` and one ``adjoint`` of ``P`` per step.
:func:`d_int`
    ``d_int90`` (any level) from a table of performance against ``d`` over seeds,
    with a bootstrap interval over seeds, under three rules:

    ``threshold="relative"``
        seed-mean accuracy ``>= level x`` the accuracy of direct training (the
        rule of Li et al.'s text and of their summary table for LeNet);
    ``threshold="absolute"``
        seed-mean accuracy ``>= level`` (the rule behind their headline numbers:
        recomputed from the arrays stored with their code, MNIST LeNet 290,
        pixel-shuffled LeNet 1,400 and FC 750 use an absolute 90 % accuracy; the
        relative rule gives 275, 750 and 550 on the same runs);
    ``threshold="loss_improvement"``
        for regression: seed mean of ``(L_0 - L_d) / (L_0 - L_full) >= level``
        (the fraction of the achievable loss improvement).
:func:`intrinsic_dimension`
    Sweeps ``d`` over a grid and seeds for a given trial function (through
    :func:`lowrank_lab.experiments.run_sweep`) and returns the table and ``d_int``.

Examples
--------
>>> from lowrank_lab.intrinsic import li_toy_problem, fastfood_projection
>>> problem = li_toy_problem(rng=0)
>>> res = train_subspace(problem, fastfood_projection(1000, 12, rng=1), lr=1.0, max_iter=1000, tol=1e-6)
>>> res.stop_reason, res.final("loss") < 1e-6 * float(problem.loss(problem.theta0))
('converged', True)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .. import analysis, backend
from .._validation import check_callback, check_choice, check_float, check_int
from ..experiments import run_sweep
from ..iteration import iterate
from ..results import HistoryRecorder, SolverResult

__all__ = ["OPTIMIZERS", "THRESHOLDS", "DintResult", "IntrinsicDimensionResult", "d_int", "intrinsic_dimension",
           "train_subspace"]

#: The rules of :func:`d_int`.
THRESHOLDS = ("relative", "absolute", "loss_improvement")

OPTIMIZERS = ("adam", "gd")


# --------------------------------------------------------------------------- #
# subspace training
# --------------------------------------------------------------------------- #
def train_subspace(
    problem: Any,
    projection: Any,
    *,
    lr: float,
    optimizer: str = "adam",
    max_iter: int = 1000,
    tol: float = 1e-12,
    stall_patience: int | None = None,
    stall_tol: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    check_every: int = 10,
    history_stride: int = 10,
    callback: Callable | None = None,
    progress: bool = False,
) -> SolverResult:
    """Train ``z`` in ``theta = theta_0 + P z`` from ``z = 0`` by gradient descent or Adam.

    The gradient in the subspace is ``P^T grad L(theta)`` (one ``adjoint``), the
    new point ``theta_0 + P z`` (one ``apply``).  Runs on the suite's iteration
    driver (checks every ``check_every`` steps, divergence returns the last good
    iterate, callbacks, history).

    Parameters
    ----------
    problem : flat-vector problem
        ``theta0``, ``loss(theta)``, ``gradient(theta)`` (see :mod:`lowrank_lab.intrinsic.problems`).
    projection : DenseProjection, SparseProjection or FastfoodProjection
        Shape ``(D, d)`` with ``D = len(problem.theta0)``.
    lr : float
        Step size (no default: it depends on the problem's scale; the projections'
        unit-norm columns keep it independent of ``d``).
    optimizer : {"adam", "gd"}, default "adam"
        Plain gradient descent, or Adam with bias correction (Kingma and Ba, 2015).
    max_iter : int, default 1000
    tol : float, default 1e-12
        Stop with ``"converged"`` once ``loss - minimum_loss`` is at most ``tol`` times
        its initial value (``minimum_loss``: the problem's attribute, else 0).
    stall_patience, stall_tol
        Stop with ``"stalled"`` after ``stall_patience`` checks without a relative
        improvement of ``stall_tol`` (None: never); useful below the intrinsic
        dimension, where the loss plateaus.
    betas, eps
        Adam's moment decays and denominator offset (bias-corrected Adam).
    check_every, history_stride : int
    callback : callable, optional
        ``callback(iteration, state) -> bool | None``; ``state`` has ``iteration``,
        ``factors`` (``(z, theta)``) and ``loss``.
    progress : bool, default False

    Returns
    -------
    SolverResult
        ``factors = (z, theta)``; history columns ``iteration, time_s, loss``.
    """
    check_choice(optimizer, "optimizer", OPTIMIZERS)
    lr = check_float(lr, "lr", low=0.0, low_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", low=0)
    tol = check_float(tol, "tol", low=0.0)
    beta1 = check_float(betas[0], "betas[0]", low=0.0, high=1.0, high_inclusive=False)
    beta2 = check_float(betas[1], "betas[1]", low=0.0, high=1.0, high_inclusive=False)
    eps = check_float(eps, "eps", low=0.0)
    callback = check_callback(callback)
    theta0 = problem.theta0
    D, d = projection.shape
    if theta0.ndim != 1 or theta0.shape[0] != D:
        raise ValueError(f"projection has D={D} rows but problem.theta0 has shape {tuple(theta0.shape)}")
    xp = backend.array_namespace(theta0)
    z0 = xp.zeros((d,), dtype=theta0.dtype, device=backend.device(theta0))
    floor = float(getattr(problem, "minimum_loss", 0.0))
    initial = {"gap": None}

    def loss(it: Any) -> Any:
        return problem.loss(it.state["theta"])

    def step(it: Any) -> dict:
        state = it.state
        grad = projection.adjoint(problem.gradient(state["theta"]))
        if optimizer == "gd":
            z = state["z"] - lr * grad
            new = {"z": z}
        else:
            t = state["t"] + 1
            m = beta1 * state["m"] + (1.0 - beta1) * grad
            v = beta2 * state["v"] + (1.0 - beta2) * grad * grad
            m_hat = m / (1.0 - beta1**t)
            v_hat = v / (1.0 - beta2**t)
            z = state["z"] - lr * m_hat / (xp.sqrt(v_hat) + eps)
            new = {"z": z, "m": m, "v": v, "t": t}
        new["theta"] = theta0 + projection.apply(new["z"])
        return new

    def check(it: Any) -> str | None:
        gap = float(it.loss) - floor
        if initial["gap"] is None:
            initial["gap"] = gap
        return "converged" if gap <= tol * initial["gap"] else None

    state0 = {"z": z0, "theta": theta0}
    if optimizer == "adam":
        state0.update(m=xp.zeros_like(z0), v=xp.zeros_like(z0), t=0)
    recorder = HistoryRecorder(stride=check_int(history_stride, "history_stride", low=1))
    out = iterate(
        state0, step, loss=loss, factors=lambda s: (s["z"], s["theta"]), recorder=recorder, max_iter=max_iter,
        check=check, check_every=check_int(check_every, "check_every", low=1), callback=callback,
        progress=progress, desc=f"subspace {optimizer} d={d}", stall_patience=stall_patience, stall_tol=stall_tol,
    )
    params = {"optimizer": optimizer, "lr": lr, "max_iter": max_iter, "tol": tol, "d": d, "D": D,
              "projection": getattr(projection, "kind", type(projection).__name__)}
    return recorder.result(factors=(out.state["z"], out.state["theta"]), n_iter=out.n_iter,
                           stop_reason=out.stop_reason, seed=getattr(projection, "seed", None),
                           solver=f"subspace_{optimizer}", params=params)


# --------------------------------------------------------------------------- #
# d_int from a table
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class DintResult:
    """``d_int`` at a level with its bootstrap interval over seeds.

    Attributes
    ----------
    d : float
        The smallest grid ``d`` whose seed mean reaches the threshold (``inf``: none).
    low, high : float
        Percentile bootstrap interval (grid points or ``inf``).
    reached : float
        Fraction of bootstrap resamples that reach the threshold on the grid.
    threshold : str
        ``"relative"``, ``"absolute"`` or ``"loss_improvement"``.
    level : float
    target : float
        The value the seed means were compared with.
    curve : pandas.DataFrame
        ``d, mean, low, high, n`` per grid point (seed mean and its bootstrap CI of
        the compared quantity: accuracy, or the fraction of loss improvement).
    """

    d: float
    low: float
    high: float
    reached: float
    threshold: str
    level: float
    target: float
    curve: pd.DataFrame = field(repr=False)

    def __str__(self) -> str:
        def fmt(v: float) -> str:
            return "not reached" if math.isinf(v) else f"{v:g}"

        return (f"d_int{round(100 * self.level)} ({self.threshold}) = {fmt(self.d)} "
                f"[{fmt(self.low)}, {fmt(self.high)}]")


def d_int(
    frame: pd.DataFrame,
    *,
    threshold: str = "relative",
    level: float = 0.9,
    value: str | None = None,
    d: str = "d",
    seed: str = "seed",
    reference: Any = None,
    initial: str | float | None = None,
    full: float | None = None,
    ci: float = 0.95,
    n_resamples: int = 2000,
    rng: Any = 0,
) -> DintResult:
    """``d_int`` (``d_int90`` at ``level=0.9``) from a table of performance against ``d`` over seeds.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per (``d``, ``seed``) run.
    threshold : {"relative", "absolute", "loss_improvement"}, default "relative"
        See the module docstring.  Li et al.'s headline numbers use ``"absolute"``.
    level : float, default 0.9
    value : str, optional
        Column compared: default ``"accuracy"`` for the accuracy rules and
        ``"loss"`` (the final loss ``L_d``) for ``"loss_improvement"``.
    d, seed : str
        Column names of the subspace dimension and the seed.
    reference : float or array, for ``"relative"``
        Accuracy of direct training (one number, or one per seed: then resampled in
        the bootstrap too).
    initial : str or float, for ``"loss_improvement"``
        ``L_0``, the loss at ``z = 0``: a column name (per run) or a number.
    full : float, for ``"loss_improvement"``
        ``L_full``, the loss of training all parameters (e.g. 0 for the toy).
    ci, n_resamples, rng
        Bootstrap settings (seeds resampled jointly across ``d``; see
        :func:`lowrank_lab.analysis.first_reaching`).

    Returns
    -------
    DintResult

    Examples
    --------
    >>> import pandas as pd
    >>> rows = [{"d": d, "seed": s, "accuracy": min(1.0, d / 100 + 0.05 * s)} for d in (50, 80, 90, 100) for s in range(3)]
    >>> print(d_int(pd.DataFrame(rows), threshold="absolute"))
    d_int90 (absolute) = 90 [80, 90]
    >>> d_int(pd.DataFrame(rows), threshold="relative", reference=0.95).d  # 0.9 x 0.95 = 0.855
    90.0
    """
    check_choice(threshold, "threshold", THRESHOLDS)
    level = check_float(level, "level", low=0.0, low_inclusive=False)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    if value is None:
        value = "loss" if threshold == "loss_improvement" else "accuracy"
    for col in (d, seed, value):
        if col not in frame.columns:
            raise KeyError(f"column {col!r} not in frame (columns: {list(frame.columns)})")
    data = frame[[d, seed, value]].copy()
    if threshold == "relative" and reference is None:
        raise ValueError("threshold='relative' needs reference= (the accuracy of direct training)")
    if threshold != "relative" and reference is not None:
        raise ValueError(f"reference= is only used with threshold='relative', got threshold={threshold!r}")
    if threshold == "loss_improvement":
        if initial is None or full is None:
            raise ValueError("threshold='loss_improvement' needs initial= (L_0: a column or a number) and full= (L_full)")
        full = check_float(full, "full")
        l0 = frame[initial].to_numpy(dtype=float) if isinstance(initial, str) else float(initial)
        gap = l0 - full
        if np.any(np.asarray(gap) <= 0):
            raise ValueError("initial loss must exceed the full-training loss (L_0 > L_full) for every run")
        data[value] = (l0 - frame[value].to_numpy(dtype=float)) / gap
    elif initial is not None or full is not None:
        raise ValueError("initial= and full= are only used with threshold='loss_improvement'")
    if data.duplicated([d, seed]).any():
        raise ValueError(f"frame has several rows for the same ({d}, {seed}); aggregate them first")
    table = data.pivot(index=d, columns=seed, values=value).sort_index()
    grid = table.index.to_numpy(dtype=float)
    samples = table.to_numpy(dtype=float)
    res = analysis.first_reaching(grid, samples, level, reference=reference, ci=ci, n_resamples=n_resamples, rng=rng)
    curve = analysis.seed_summary(data.rename(columns={d: "d"}), "d", value, center="mean", spread="ci",
                                  level=ci, n_resamples=n_resamples).rename(columns={"center": "mean"})
    return DintResult(res.estimate, res.low, res.high, res.reached, threshold, level, res.threshold, curve)


# --------------------------------------------------------------------------- #
# the sweep
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class IntrinsicDimensionResult:
    """The table of an :func:`intrinsic_dimension` sweep and its ``d_int`` per rule.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (``d``, seed): the trial's outputs (plus ``status`` / ``error``).
    estimates : dict
        Rule -> :class:`DintResult`.
    reference : pandas.DataFrame or None
        One row per seed of ``reference_trial`` (direct training), when given.
    """

    table: pd.DataFrame = field(repr=False)
    estimates: dict
    reference: pd.DataFrame | None = field(default=None, repr=False)

    def __getitem__(self, threshold: str) -> DintResult:
        return self.estimates[threshold]


def intrinsic_dimension(
    trial: Callable[..., Mapping[str, Any]],
    dims: Sequence[int],
    *,
    seeds: int | Sequence[int] = 5,
    config: Mapping[str, Any] | None = None,
    thresholds: str | Sequence[str] = ("relative",),
    level: float = 0.9,
    value: str | None = None,
    reference: Any = None,
    initial: str | float | None = None,
    full: float | None = None,
    reference_trial: Callable[..., Mapping[str, Any]] | None = None,
    reference_config: Mapping[str, Any] | None = None,
    name: str = "intrinsic_dimension",
    cache_dir: Any = False,
    cache_version: int | str = 0,
    executor: Any = "serial",
    n_workers: int | None = None,
    progress: bool = False,
    ci: float = 0.95,
    n_resamples: int = 2000,
) -> IntrinsicDimensionResult:
    """Sweep the subspace dimension ``d`` over a grid and seeds; return the table and ``d_int``.

    Calls ``trial(d=d, seed=seed, **config)`` for every ``d`` in ``dims`` and every
    seed (through :func:`lowrank_lab.experiments.run_sweep`: cached and resumable
    with ``cache_dir``, parallel with ``executor``), then :func:`d_int` for each rule
    in ``thresholds``.

    Parameters
    ----------
    trial : callable
        ``trial(d, seed, **config) -> dict`` of outputs (e.g. ``accuracy``,
        ``loss``, ``initial_loss``); a module-level function for the process and
        Dask executors or the cache (see :mod:`lowrank_lab.intrinsic.trials`).
    dims : sequence of int
        Grid of ``d``.
    seeds : int or sequence of int, default 5
    config : mapping, optional
        Fixed keyword arguments of the trial (scalars; part of the cache key).
    thresholds : str or sequence of str, default ("relative",)
        Rules to evaluate (see :func:`d_int`).
    level, value, reference, initial, full, ci, n_resamples
        Passed to :func:`d_int`.
    reference_trial : callable, optional
        ``reference_trial(seed, **reference_config) -> dict``: direct training of all
        parameters from the same ``theta_0`` (e.g.
        :func:`lowrank_lab.intrinsic.trials.digits_direct_trial`), run once per seed
        through ``run_sweep``.  It then supplies what ``reference`` and ``full`` would:
        the per-seed ``value`` column (default ``"accuracy"``) as the relative rule's
        reference (resampled with the seeds in the bootstrap), and the seed mean of
        its ``"loss"`` as ``L_full`` of the loss-improvement rule.  Exclusive with
        ``reference=`` and ``full=``.
    reference_config : mapping, optional
        Keyword arguments of ``reference_trial`` (default: ``config``).
    name, cache_dir, cache_version, executor, n_workers, progress
        Passed to :func:`lowrank_lab.experiments.run_sweep` (``cache_dir=False``:
        no cache, the default).

    Returns
    -------
    IntrinsicDimensionResult

    Examples
    --------
    >>> from lowrank_lab.intrinsic.trials import toy_subspace_trial
    >>> res = intrinsic_dimension(toy_subspace_trial, [5, 10, 15], seeds=2, config={"projection": "dense"},
    ...                           thresholds="loss_improvement", initial="initial_loss", full=0.0, n_resamples=200)
    >>> res["loss_improvement"].d
    10.0
    """
    dims = [check_int(v, "dims[i]", low=1) for v in dims]
    if not dims:
        raise ValueError("dims must not be empty")
    thresholds = (thresholds,) if isinstance(thresholds, str) else tuple(thresholds)
    for rule in thresholds:
        check_choice(rule, "thresholds[i]", THRESHOLDS)
    config = dict(config or {})
    if "d" in config or "seed" in config:
        raise ValueError("config must not set 'd' or 'seed' (the sweep sets them)")
    grid = {"d": dims, **{k: [v] for k, v in config.items()}}
    table = run_sweep(name, grid, trial, seeds=seeds, executor=executor, n_workers=n_workers,
                      cache_dir=cache_dir, cache_version=cache_version, progress=progress)
    ok = table[table["status"] == "ok"] if "status" in table.columns else table
    ref_table = None
    if reference_trial is not None:
        if reference is not None or full is not None:
            raise ValueError("give either reference_trial= or reference= / full=, not both")
        ref_config = dict(config if reference_config is None else reference_config)
        ref_table = run_sweep(f"{name}_reference", [ref_config] if ref_config else [{}], reference_trial,
                              seeds=seeds, executor=executor, n_workers=n_workers, cache_dir=cache_dir,
                              cache_version=cache_version, progress=progress)
        if "status" in ref_table.columns and (ref_table["status"] != "ok").any():
            raise RuntimeError(f"reference_trial failed for seeds {list(ref_table.loc[ref_table['status'] != 'ok', 'seed'])}")
        ref_ok = ref_table.sort_values("seed")
        run_seeds = sorted(ok["seed"].unique())
        if list(ref_ok["seed"]) != run_seeds:
            raise RuntimeError(f"reference seeds {list(ref_ok['seed'])} differ from the sweep's {run_seeds}")
        if "relative" in thresholds:
            reference = ref_ok[value or "accuracy"].to_numpy(dtype=float)
        if "loss_improvement" in thresholds:
            full = float(ref_ok["loss"].mean())
    estimates = {}
    for rule in thresholds:
        estimates[rule] = d_int(
            ok, threshold=rule, level=level, value=value,
            reference=reference if rule == "relative" else None,
            initial=initial if rule == "loss_improvement" else None,
            full=full if rule == "loss_improvement" else None,
            ci=ci, n_resamples=n_resamples,
        )
    return IntrinsicDimensionResult(table, estimates, ref_table)

