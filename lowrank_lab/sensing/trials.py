"""Trial functions and curve analysis for the matrix sensing sweeps (notebooks 01 and 02).

A trial builds one problem and runs one solver from a config and a seed; sweeps
(:func:`lowrank_lab.experiments.run_sweep`) call it as ``trial(**config, seed=seed)``.

:func:`sensing_curve_trial`
    The run's history (error curve, imbalance, singular values), thinned to at
    most ``curve_points`` rows: a DataFrame, for convergence plots.
:func:`sensing_summary_trial`
    One row of scalars: final error, success, late-phase linear rate, log-log
    slope, initial imbalance, iterations to ``1e-6``...: a dict, for rate,
    heatmap and success-probability panels.

Both take the same config keys (all JSON-able), see :func:`run_config`.  The seed
is split with ``numpy.random.SeedSequence(seed).spawn(3)`` into the streams of
the truth, of the measurements (operator, outliers, noise) and of the solver's
initialization, so different solvers run with the same seed see the same problem
and the same initial point.

The curve analysis (:func:`~lowrank_lab.analysis.late_phase_rate`,
:func:`~lowrank_lab.analysis.loglog_slope`, :func:`~lowrank_lab.analysis.iterations_to`)
lives in :mod:`lowrank_lab.analysis`.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np
import pandas as pd

from .. import backend
from .._validation import check_choice, check_options
from ..analysis import iterations_to, late_phase_rate, loglog_slope
from ..matrices import low_rank_matrix
from .problems import fully_observed, gaussian_sensing
from .registry import SOLVERS

__all__ = [
    "STUDY_SETTINGS",
    "iterations_to",
    "late_phase_rate",
    "loglog_slope",
    "make_problem",
    "run_config",
    "sensing_curve_trial",
    "sensing_summary_trial",
]



# --------------------------------------------------------------------------- #
# problem and run from a config
# --------------------------------------------------------------------------- #
def make_problem(
    *,
    n: int,
    rank: int,
    n_measurements: int | None = None,
    condition_number: float = 1.0,
    psd: bool = True,
    symmetric_sensing: bool | None = None,
    outlier_fraction: float = 0.0,
    outlier_scale: float = 100.0,
    noise_std: float = 0.0,
    seed: int = 0,
    xp: Any = None,
) -> Any:
    """The sensing problem of a config: an ``n x n`` rank-``rank`` truth with ``sigma_1 = 1``.

    The singular values are linearly spaced from 1 to ``1/condition_number``
    (``condition_number=2`` with ``rank=2`` gives study A's ``(1, 0.5)``).
    ``n_measurements=None`` gives the fully observed variant.

    Examples
    --------
    >>> p = make_problem(n=6, rank=2, n_measurements=50, seed=3)
    >>> p.n_measurements, p.psd, p.symmetric
    (50, True, True)
    """
    truth_rng, data_rng, _ = _streams(seed)
    xp = xp if xp is not None else backend.get_namespace()
    truth = low_rank_matrix(n, n, rank, condition_number=condition_number, psd=psd, rng=truth_rng, xp=xp)
    noise = {"noise_std": noise_std, "outlier_fraction": outlier_fraction, "outlier_scale": outlier_scale}
    if n_measurements is None:
        return fully_observed(truth, rng=data_rng, **noise)
    return gaussian_sensing(truth, int(n_measurements), symmetric=symmetric_sensing, rng=data_rng, **noise)


#: The sensing studies' common settings, filled in for the options a solver accepts when a
#: config does not give them (small random initialization of scale 1e-2, step 0.1, the
#: l1 method's decay 0.99, the convex baseline's weight 1e-3).
STUDY_SETTINGS = {"init": "small_random", "init_scale": 1e-2, "step_size": 0.1, "decay": 0.99, "reg": 1e-3}


def run_config(
    *,
    solver: str,
    n: int,
    rank: int,
    width: int,
    n_measurements: int | None = None,
    condition_number: float = 1.0,
    psd: bool = True,
    symmetric_sensing: bool | None = None,
    outlier_fraction: float = 0.0,
    outlier_scale: float = 100.0,
    noise_std: float = 0.0,
    max_iter: int = 1000,
    tol: float = 1e-13,
    history_stride: int = 10,
    seed: int = 0,
    xp: Any = None,
    **options: Any,
) -> Any:
    """Build the problem of a config (:func:`make_problem`) and run ``solver`` on it.

    Parameters
    ----------
    solver : str
        A name of :data:`lowrank_lab.sensing.SOLVERS`.
    width : int
        Factor width ``k`` (``r'`` in study B); the rank cap of ``nuclear_norm_pgd``
        (``width >= n`` for no cap).
    n, rank, n_measurements, condition_number, psd, symmetric_sensing, outlier_fraction, outlier_scale, noise_std
        The problem (:func:`make_problem`).
    max_iter, tol, history_stride
        Passed to the solver (defaults 1000, 1e-13, 10).
    seed : int
        Split into the streams ``truth``, ``data`` and ``init``
        (:func:`lowrank_lab.backend.trial_streams`).
    **options
        Keyword options of the solver (e.g. ``step_size``, ``decay``, ``parameterization``,
        ``one_step_fix``).  A key the solver does not take is refused with a
        ``TypeError`` naming it.  :data:`STUDY_SETTINGS` fills the studies' common
        settings for the options the solver accepts and the config leaves out.

    Returns
    -------
    (SensingProblem, SolverResult)

    Notes
    -----
    Study B's l2 baseline, GD on ``(1/2m) sum r_i^2`` over ``U U^T``, is
    ``factored_gd`` (whose symmetric loss is ``(1/4m) sum r_i^2``) with twice the step.
    """
    check_choice(solver, "solver", tuple(SOLVERS))
    fn = SOLVERS[solver]
    options = check_options(fn, options, "config", exclude=("rng",))
    for key, value in STUDY_SETTINGS.items():
        if key in inspect.signature(fn).parameters:
            options.setdefault(key, value)
    problem = make_problem(
        n=n, rank=rank, n_measurements=n_measurements, condition_number=condition_number, psd=psd,
        symmetric_sensing=symmetric_sensing, outlier_fraction=outlier_fraction, outlier_scale=outlier_scale,
        noise_std=noise_std, seed=seed, xp=xp,
    )
    width_arg = (None if width >= n else width) if solver == "nuclear_norm_pgd" else width
    result = fn(problem, width_arg, max_iter=max_iter, tol=tol, history_stride=history_stride,
                rng=_streams(seed).init, **options)
    return problem, result


def sensing_curve_trial(*, seed: int = 0, curve_points: int = 400, **config: Any) -> pd.DataFrame:
    """Run a config and return its history on a fixed grid of about ``curve_points`` iterations.

    The grid depends only on ``max_iter`` and ``history_stride`` (points spread both
    linearly and logarithmically, so semilog and log-log plots are well sampled),
    so that curves of different seeds line up for seed aggregation.  A run that
    stopped early (converged) has its last recorded values carried forward to
    the end of the grid, flagged by ``carried=True``.  Columns: the history's
    (``iteration``, ``relative_error``, ``loss``, ``imbalance``, ``sigma_*``...;
    a history column named like a config key gets a ``_t`` suffix, e.g. the
    per-iteration ``step_size_t`` of ``subgradient_l1``) plus ``carried``,
    ``stop_reason`` and ``n_iter``.  Config keys: :func:`run_config`.

    Examples
    --------
    >>> df = sensing_curve_trial(solver="factored_gd", n=6, rank=2, width=2, init_scale=0.5,
    ...                          step_size=0.2, max_iter=400, seed=0, curve_points=50)
    >>> bool(df["relative_error"].iloc[-1] < 1e-8), df["stop_reason"].iloc[-1], int(df["iteration"].iloc[-1])
    (True, 'converged', 400)
    >>> bool(df["carried"].iloc[-1]), bool(df["carried"].iloc[0])
    (True, False)
    """
    _, result = run_config(seed=seed, **config)
    stride = int(config.get("history_stride", 10))
    max_iter = int(config.get("max_iter", 1000))
    frame = _on_grid(result.history, max_iter, stride, curve_points)
    frame = frame.drop(columns=[c for c in ("time_s",) if c in frame.columns])
    # history columns named like a config key (subgradient_l1's per-iteration step_size) get a "_t" suffix
    frame = frame.rename(columns={c: f"{c}_t" for c in frame.columns if c in config or c == "seed"})
    frame["stop_reason"] = result.stop_reason
    frame["n_iter"] = result.n_iter
    return frame.reset_index(drop=True)


def sensing_summary_trial(
    *,
    seed: int = 0,
    success_threshold: float = 1e-3,
    rate_floor: float = 1e-11,
    rate_fraction: float = 0.5,
    slope_start: float | None = None,
    **config: Any,
) -> dict:
    """Run a config and return one row of scalars.

    Keys: ``final_error`` (last relative error), ``min_error``, ``success``
    (``final_error < success_threshold``), ``rate`` (:func:`late_phase_rate`),
    ``rate_over_alpha2`` (``rate / init_scale^2``), ``loglog_slope`` (from
    ``slope_start``, default ``max_iter / 10``), ``initial_imbalance`` (asymmetric
    models), ``iterations_to_1e-6``, ``n_iter``, ``stop_reason``, ``wall_time_s``.

    Examples
    --------
    >>> row = sensing_summary_trial(solver="subgradient_l1", n=8, rank=1, width=1, n_measurements=160,
    ...                             outlier_fraction=0.2, init_scale=1e-3, step_size=0.2, decay=0.99,
    ...                             max_iter=1500, seed=0)
    >>> bool(row["success"]), row["stop_reason"]
    (True, 'max_iter')
    """
    _, result = run_config(seed=seed, **config)
    h = result.history
    it = h["iteration"].to_numpy(dtype=float)
    err = h["relative_error"].to_numpy(dtype=float) if "relative_error" in h else np.full(it.shape, np.nan)
    final_error = float(err[-1]) if err.size else math.nan
    if result.stop_reason == "diverged":
        final_error = math.inf
    alpha = float(config.get("init_scale", 1e-2))
    rate = late_phase_rate(it, err, floor=rate_floor, fraction=rate_fraction)
    start = slope_start if slope_start is not None else max(1.0, config.get("max_iter", 1000) / 10.0)
    row = {
        "final_error": final_error,
        "min_error": float(np.nanmin(err)) if err.size else math.nan,
        "success": bool(final_error < success_threshold),
        "rate": rate,
        "rate_over_alpha2": rate / alpha**2 if config.get("init", "small_random") == "small_random" else math.nan,
        "loglog_slope": loglog_slope(it, err, start=start),
        "initial_imbalance": float(h["imbalance"].iloc[0]) if "imbalance" in h and len(h) else math.nan,
        "iterations_to_1e-6": iterations_to(it, err, 1e-6),
        "n_iter": int(result.n_iter),
        "stop_reason": result.stop_reason,
        "wall_time_s": float(result.wall_time),
    }
    return row


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #
def _streams(seed: Any) -> Any:
    return backend.trial_streams(seed, "truth", "data", "init")


def _on_grid(history: pd.DataFrame, max_iter: int, stride: int, points: int) -> pd.DataFrame:
    """Rows of ``history`` at a fixed iteration grid (last row carried forward past the stop)."""
    points = max(int(points), 4)
    top = max(max_iter, 0)
    grid = np.linspace(0.0, top, points // 2)
    if top >= 1:
        grid = np.concatenate([grid, np.geomspace(1.0, top, points // 2)])
    grid = np.unique(np.round(grid / stride) * stride).astype(np.int64)
    grid = np.unique(np.concatenate([grid[grid <= top], [0, top]]))
    it = history["iteration"].to_numpy()
    idx = np.clip(np.searchsorted(it, grid, side="right") - 1, 0, len(it) - 1)
    frame = history.iloc[idx].copy()
    frame["carried"] = grid > it[idx]  # the run had stopped before this grid point
    frame["iteration"] = grid
    return frame
