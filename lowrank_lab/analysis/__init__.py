"""Tables in, numbers out: the statistics and curve analysis behind every printed verdict.

No plotting and no solver here: these functions take arrays or pandas tables (one row
per trial, or one per recorded iteration) and return numbers with their uncertainty.
Notebooks print verdicts from them; ``tests/test_analysis.py`` checks them on curves
and samples with known answers.

Curves
    :func:`late_phase_rate` (linear-convergence rate in the late phase),
    :func:`loglog_slope`, :func:`iterations_to`, :func:`crossover` (where one curve
    stays below another), :func:`transition_point` (where a success probability
    crosses a level), :func:`first_reaching` (the smallest grid point whose
    seed mean reaches a level, with a bootstrap over seeds: ``d_int90``).
Seeds
    :func:`seed_summary` (center and spread per group, with bootstrap confidence
    intervals), :func:`bootstrap_ci`, :func:`wilson_interval` (success
    probabilities), :func:`paired_difference` (paired CI of a difference between two
    methods on the same seeds), :func:`rank_correlation` (Spearman's rho with a
    bootstrap CI).
Tuning
    :func:`best_on_grid` (the best value of a hyper-parameter per group, and whether
    the optimum is interior to the grid).
Verdicts
    :func:`verdict` (the printed word from a boolean and a pre-set threshold).

Examples
--------
>>> import numpy as np
>>> t = np.arange(0, 1000, 10.0)
>>> round(late_phase_rate(t, np.exp(-0.01 * t)), 6)
0.01
>>> low, high = wilson_interval(9, 10)
>>> round(low, 3), round(high, 3)
(0.596, 0.982)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .._validation import check_float, check_int, check_numbers

__all__ = [
    "best_on_grid",
    "bootstrap_ci",
    "crossover",
    "FirstReaching",
    "first_reaching",
    "iterations_to",
    "late_phase_rate",
    "loglog_slope",
    "paired_difference",
    "rank_correlation",
    "seed_summary",
    "transition_point",
    "verdict",
    "wilson_interval",
]


# --------------------------------------------------------------------------- #
# curves
# --------------------------------------------------------------------------- #
def _check_frame(frame: Any, name: str = "frame") -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    return frame


def late_phase_rate(iterations: Any, errors: Any, *, floor: float = 1e-11, fraction: float = 0.5) -> float:
    """Linear convergence rate ``-d log(error) / dt`` fitted in the late phase.

    The fit uses the points above ``floor`` (machine-precision floor excluded) whose
    iteration lies in the last ``fraction`` of the span of those points, so the
    initial (alignment) phase is left out.  Logs are natural: an error
    ``exp(-c t)`` gives ``c``.  Returns NaN with fewer than 3 usable points.

    Examples
    --------
    >>> t = np.arange(0, 1000, 10.0)
    >>> err = np.where(t < 300, 1e-2, 1e-2 * np.exp(-0.02 * (t - 300)))
    >>> round(late_phase_rate(t, err), 6)
    0.02
    """
    t = check_numbers(iterations, "iterations")
    e = check_numbers(errors, "errors")
    ok = np.isfinite(e) & (e > floor)
    if ok.sum() < 3:
        return math.nan
    t, e = t[ok], e[ok]
    start = t[0] + (1.0 - fraction) * (t[-1] - t[0])
    sel = t >= start
    if sel.sum() < 3:
        sel = np.zeros_like(sel)
        sel[-3:] = True
    slope = np.polyfit(t[sel], np.log(e[sel]), 1)[0]
    return float(-slope)


def loglog_slope(iterations: Any, errors: Any, *, start: float, stop: float | None = None) -> float:
    """Slope of ``log(error)`` against ``log(t)`` over ``start <= t <= stop`` (NaN if < 3 points).

    Examples
    --------
    >>> t = np.arange(1, 1001.0)
    >>> round(loglog_slope(t, 3.0 / t, start=10), 6)
    -1.0
    """
    t = check_numbers(iterations, "iterations")
    e = check_numbers(errors, "errors")
    stop = np.inf if stop is None else stop
    sel = (t >= start) & (t <= stop) & (t > 0) & np.isfinite(e) & (e > 0)
    if sel.sum() < 3:
        return math.nan
    return float(np.polyfit(np.log(t[sel]), np.log(e[sel]), 1)[0])


def iterations_to(iterations: Any, errors: Any, threshold: float) -> float:
    """First recorded iteration with ``error <= threshold`` (NaN if never reached).

    Examples
    --------
    >>> iterations_to([0, 10, 20], [1.0, 1e-3, 1e-7], 1e-6)
    20.0
    """
    t = check_numbers(iterations, "iterations")
    e = check_numbers(errors, "errors")
    hit = np.nonzero(e <= threshold)[0]
    return float(t[hit[0]]) if hit.size else math.nan


def crossover(x: Any, a: Any, b: Any) -> float:
    """First ``x`` after which curve ``a`` stays strictly below curve ``b`` for good.

    ``x`` is increasing; returns ``x[0]`` if ``a < b`` everywhere, ``inf`` if ``a`` is not
    below ``b`` at the last point.  (Used for "the asymmetric error stays below the
    symmetric one from iteration t on".)

    Examples
    --------
    >>> crossover([0, 1, 2, 3], [5, 4, 1, 0], [3, 3, 3, 3])
    2.0
    >>> crossover([0, 1, 2], [5, 1, 5], [3, 3, 3])
    inf
    """
    x = check_numbers(x, "x")
    a = check_numbers(a, "a")
    b = check_numbers(b, "b")
    if not (x.shape == a.shape == b.shape) or x.ndim != 1:
        raise ValueError(f"x, a and b must be 1-D of equal length, got shapes {x.shape}, {a.shape}, {b.shape}")
    if x.size == 0:
        raise ValueError("x must not be empty")
    behind = ~(a < b)
    if behind[-1]:
        return math.inf
    if not behind.any():
        return float(x[0])
    return float(x[np.flatnonzero(behind)[-1] + 1])


def transition_point(x: Any, success: Any, *, level: float = 0.5, log_x: bool = True) -> float:
    """Where a success probability first reaches ``level``, interpolated between grid points.

    Linear interpolation in ``log x`` (``log_x``) or ``x`` between the last point below
    ``level`` and the first at or above it.  Returns ``x[0]`` if the first point
    already reaches the level and NaN if none does.

    Examples
    --------
    >>> round(transition_point([1, 2, 4, 8], [0.0, 0.2, 0.8, 1.0]), 4)
    2.8284
    """
    x = check_numbers(x, "x")
    y = check_numbers(success, "success")
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and success must be 1-D of equal length, got {x.shape} and {y.shape}")
    level = check_float(level, "level", low=0.0, high=1.0)
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    if log_x and np.any(x <= 0):
        raise ValueError("x must be positive with log_x=True")
    fx = np.log(x) if log_x else x
    above = np.flatnonzero(y >= level)
    if above.size == 0:
        return math.nan
    i = above[0]
    if i == 0:
        return float(x[0])
    t = (level - y[i - 1]) / (y[i] - y[i - 1])
    value = fx[i - 1] + t * (fx[i] - fx[i - 1])
    return float(np.exp(value) if log_x else value)


class FirstReaching(NamedTuple):
    """:func:`first_reaching`'s answer: the grid point and its bootstrap interval.

    ``inf`` stands for "not reached on the grid" (in ``estimate``, ``low`` or
    ``high``); ``reached`` is the fraction of bootstrap resamples that reach the
    level somewhere on the grid; ``threshold`` is the level the seed means were
    compared with (``level`` times the reference mean, or ``level``).
    """

    estimate: float
    low: float
    high: float
    reached: float
    threshold: float


def first_reaching(
    x: Any,
    samples: Any,
    level: float,
    *,
    reference: Any = None,
    ci: float = 0.95,
    n_resamples: int = 2000,
    rng: Any = 0,
) -> FirstReaching:
    """Smallest grid point whose seed mean reaches a level, with a bootstrap CI over seeds.

    ``samples[i, s]`` is the outcome at grid point ``x[i]`` for seed ``s`` (NaN:
    missing).  The curve is the mean over seeds at each grid point; the answer is
    the smallest ``x[i]`` with ``mean_i >= threshold`` (no interpolation: a grid
    point, as in Li et al.'s d_int90), where ``threshold = level`` or, with a
    ``reference``, ``level * mean(reference)`` (e.g. 0.9 x the accuracy of direct
    training).

    The interval comes from a cluster bootstrap: the seeds are resampled with
    replacement, the same seeds for every grid point (a seed's runs at different
    ``x`` share its data and initialization), and an array ``reference`` is
    resampled independently; the percentile interval of the resampled answers uses
    the ``inverted_cdf`` rule, so its ends are grid points (or ``inf``).

    Parameters
    ----------
    x : array (n,)
        Grid, any order (sorted here); no duplicates.
    samples : array (n, n_seeds)
        Outcomes (higher is better).
    level : float
        Absolute threshold, or a fraction of the reference mean.
    reference : float or array of samples, optional
    ci : float in (0, 1), default 0.95
    n_resamples : int, default 2000
    rng : seed, default 0
        Seeded so notebooks print the same interval every run.

    Examples
    --------
    >>> x = [1, 2, 4, 8]
    >>> acc = [[0.1, 0.2], [0.5, 0.7], [0.88, 0.94], [0.95, 0.97]]
    >>> first_reaching(x, acc, 0.9).estimate
    4.0
    >>> first_reaching(x, acc, 0.9, reference=[1.0, 1.0]).estimate  # 0.9 x 1.0
    4.0
    >>> first_reaching(x, acc, 1.0).estimate
    inf
    """
    grid = check_numbers(x, "x")
    values = check_numbers(samples, "samples")
    if grid.ndim != 1 or values.ndim != 2 or values.shape[0] != grid.shape[0]:
        raise ValueError(f"samples must have shape (len(x), n_seeds), got x {grid.shape} and samples {values.shape}")
    if grid.size == 0 or values.shape[1] == 0:
        raise ValueError("x and samples must not be empty")
    if np.unique(grid).size != grid.size or not np.all(np.isfinite(grid)):
        raise ValueError("x must hold distinct finite grid points")
    level = check_float(level, "level")
    ci = check_float(ci, "ci", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    n_resamples = check_int(n_resamples, "n_resamples", low=1)
    order = np.argsort(grid)
    grid, values = grid[order], values[order]
    ref = None if reference is None else np.atleast_1d(np.asarray(reference, dtype=float)).ravel()
    if ref is not None and (ref.size == 0 or not np.all(np.isfinite(ref))):
        raise ValueError("reference must be a finite number or a non-empty array of finite samples")

    def answer(means: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
        hit = means >= thresholds[None, :]  # (n, R)
        first = np.argmax(hit, axis=0)
        return np.where(hit.any(axis=0), grid[first], np.inf)

    def column_means(cols: np.ndarray) -> np.ndarray:  # cols (R, S) -> (n, R), NaN-aware
        picked = values[:, cols]  # (n, R, S)
        ok = np.isfinite(picked)
        count = ok.sum(axis=2)
        total = np.where(ok, picked, 0.0).sum(axis=2)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    n_seeds = values.shape[1]
    threshold = level if ref is None else level * float(ref.mean())
    estimate = float(answer(column_means(np.arange(n_seeds)[None, :]), np.array([threshold]))[0])
    gen = np.random.default_rng(rng)
    cols = gen.integers(0, n_seeds, size=(n_resamples, n_seeds))
    if ref is None:
        thresholds = np.full(n_resamples, level)
    elif ref.size == 1:
        thresholds = np.full(n_resamples, threshold)
    else:
        thresholds = level * ref[gen.integers(0, ref.size, size=(n_resamples, ref.size))].mean(axis=1)
    boot = answer(column_means(cols), thresholds)
    alpha = (1.0 - ci) / 2.0
    low, high = np.quantile(boot, [alpha, 1.0 - alpha], method="inverted_cdf")
    return FirstReaching(estimate, float(low), float(high), float(np.isfinite(boot).mean()), float(threshold))


# --------------------------------------------------------------------------- #
# seeds
# --------------------------------------------------------------------------- #
def bootstrap_ci(
    values: Any,
    statistic: str = "mean",
    *,
    level: float = 0.95,
    n_resamples: int = 2000,
    rng: Any = 0,
) -> tuple[float, float, float]:
    """``(estimate, low, high)``: a statistic of ``values`` with its percentile bootstrap CI.

    ``statistic`` is ``"mean"`` or ``"median"``.  NaN values are dropped; with fewer
    than 2 values the interval is ``(estimate, estimate)``.  Seeded (``rng``) so that
    notebooks print the same interval every run.

    Examples
    --------
    >>> est, low, high = bootstrap_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    >>> est, low < est < high
    (3.0, True)
    """
    x = check_numbers(values, "values").ravel()
    x = x[np.isfinite(x)]
    if statistic not in ("mean", "median"):
        raise ValueError(f"statistic must be 'mean' or 'median', got {statistic!r}")
    level = check_float(level, "level", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    n_resamples = check_int(n_resamples, "n_resamples", low=1)
    fn = np.mean if statistic == "mean" else np.median
    if x.size == 0:
        return math.nan, math.nan, math.nan
    est = float(fn(x))
    if x.size < 2:
        return est, est, est
    gen = np.random.default_rng(rng)
    idx = gen.integers(0, x.size, size=(n_resamples, x.size))
    stats = fn(x[idx], axis=1)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    return est, float(low), float(high)


def wilson_interval(successes: int, trials: int, *, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a success probability (non-degenerate at 0 and 1).

    Examples
    --------
    >>> low, high = wilson_interval(0, 10)
    >>> low, round(high, 3)
    (0.0, 0.278)
    """
    trials = check_int(trials, "trials", low=0)
    successes = check_int(successes, "successes", low=0, high=trials, high_label="trials")
    if trials == 0:
        return 0.0, 1.0
    level = check_float(level, "level", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    z = _normal_quantile(0.5 + level / 2.0)
    p = successes / trials
    denom = 1.0 + z * z / trials
    center = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, center - half), min(1.0, center + half)


def _normal_quantile(p: float) -> float:
    from scipy.stats import norm  # noqa: PLC0415

    return float(norm.ppf(p))


def seed_summary(
    frame: pd.DataFrame,
    by: str | Sequence[str],
    value: str,
    *,
    center: str = "median",
    spread: str = "iqr",
    level: float = 0.95,
    n_resamples: int = 2000,
) -> pd.DataFrame:
    """Aggregate ``value`` over seeds for each group of ``by``.

    Returns columns ``by..., center, low, high, n`` where ``center`` is the mean or
    median and ``[low, high]`` is mean +- std (``spread="std"``), the 25-75%
    interquartile range (``"iqr"``), the min-max range (``"range"``), the bootstrap
    CI of the center (``"ci"``, at ``level``), or the Wilson interval of a 0/1 success
    column (``"wilson"``, center is then the mean).

    Examples
    --------
    >>> df = pd.DataFrame({"k": [1, 1, 1, 2, 2, 2], "ok": [1, 1, 0, 0, 0, 0]})
    >>> seed_summary(df, "k", "ok", spread="wilson").round(3).to_dict("list")["high"]
    [0.939, 0.561]
    """
    frame = _check_frame(frame)
    by = [by] if isinstance(by, str) else list(by)
    for col in [*by, value]:
        if col not in frame.columns:
            raise KeyError(f"column {col!r} not in frame (columns: {list(frame.columns)})")
    if center not in ("mean", "median"):
        raise ValueError(f"center must be 'mean' or 'median', got {center!r}")
    if spread not in ("std", "iqr", "range", "ci", "wilson"):
        raise ValueError(f"spread must be 'std', 'iqr', 'range', 'ci' or 'wilson', got {spread!r}")
    grouped = frame.groupby(by, sort=True)[value]
    out = grouped.agg(["mean", "median", "std", "min", "max", "count"])
    out["q25"] = grouped.quantile(0.25)
    out["q75"] = grouped.quantile(0.75)
    result = pd.DataFrame(index=out.index)
    result["center"] = out["mean"] if spread == "wilson" else out[center]
    if spread == "std":
        std = out["std"].fillna(0.0)
        result["low"], result["high"] = out["mean"] - std, out["mean"] + std
    elif spread == "iqr":
        result["low"], result["high"] = out["q25"], out["q75"]
    elif spread == "range":
        result["low"], result["high"] = out["min"], out["max"]
    elif spread == "ci":
        cis = [bootstrap_ci(g.to_numpy(), center, level=level, n_resamples=n_resamples)[1:] for _, g in grouped]
        result["low"] = [c[0] for c in cis]
        result["high"] = [c[1] for c in cis]
    else:
        sums = grouped.sum()
        cis = [wilson_interval(int(round(s)), int(n), level=level) for s, n in zip(sums, out["count"])]
        result["low"] = [c[0] for c in cis]
        result["high"] = [c[1] for c in cis]
    result["n"] = out["count"].astype(int)
    return result.reset_index()


def paired_difference(
    a: Any, b: Any, *, level: float = 0.95, n_resamples: int = 2000, rng: Any = 0
) -> tuple[float, float, float]:
    """Mean of ``a - b`` over paired samples (same seeds / splits) with its bootstrap CI.

    Examples
    --------
    >>> est, low, high = paired_difference([1.0, 1.1, 0.9, 1.0], [0.5, 0.6, 0.4, 0.5])
    >>> round(est, 6), low > 0
    (0.5, True)
    """
    a = check_numbers(a, "a").ravel()
    b = check_numbers(b, "b").ravel()
    if a.shape != b.shape:
        raise ValueError(f"a and b must be paired (equal length), got {a.size} and {b.size}")
    return bootstrap_ci(a - b, "mean", level=level, n_resamples=n_resamples, rng=rng)


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import rankdata  # noqa: PLC0415

    rx, ry = rankdata(x), rankdata(y)
    if np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return math.nan
    return float(np.corrcoef(rx, ry)[0, 1])


def rank_correlation(
    x: Any, y: Any, *, level: float = 0.95, n_resamples: int = 2000, rng: Any = 0
) -> tuple[float, float, float]:
    """Spearman's rank correlation ``(rho, low, high)`` with a percentile bootstrap CI over pairs.

    Ties get average ranks.  Pairs with a NaN are dropped; resamples in which one
    variable is constant are skipped.  NaN if fewer than 3 pairs or a constant variable.

    Examples
    --------
    >>> rho, low, high = rank_correlation([1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5])
    >>> round(rho, 4), low < rho <= high
    (0.8286, True)
    """
    x = check_numbers(x, "x").ravel()
    y = check_numbers(y, "y").ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y must be paired (equal length), got {x.size} and {y.size}")
    level = check_float(level, "level", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    n_resamples = check_int(n_resamples, "n_resamples", low=1)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 3:
        return math.nan, math.nan, math.nan
    rho = _spearman(x, y)
    if not math.isfinite(rho):
        return math.nan, math.nan, math.nan
    from scipy.stats import rankdata  # noqa: PLC0415

    gen = np.random.default_rng(rng)
    idx = gen.integers(0, x.size, size=(n_resamples, x.size))
    rx = rankdata(x[idx], axis=1)
    ry = rankdata(y[idx], axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    denom = np.sqrt((rx * rx).sum(axis=1) * (ry * ry).sum(axis=1))
    ok = denom > 0
    stats = (rx * ry).sum(axis=1)[ok] / denom[ok]
    if stats.size == 0:
        return rho, rho, rho
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    return rho, float(low), float(high)


# --------------------------------------------------------------------------- #
# tuning
# --------------------------------------------------------------------------- #
def best_on_grid(
    frame: pd.DataFrame,
    by: str | Sequence[str],
    param: str,
    score: str,
    *,
    center: str = "median",
    minimize: bool = True,
    valid: str | None = None,
) -> pd.DataFrame:
    """The best grid value of ``param`` per group of ``by``, scored over seeds.

    For each group and each value of ``param``, ``score`` is aggregated over the rows
    (seeds) by ``center``; the best value minimizes (or maximizes) it.  With ``valid``
    (a boolean column), a value qualifies only if every one of its rows is valid
    (e.g. every seed reached the target loss); groups with no qualifying value fall
    back to all values and are flagged ``qualified=False``.

    Returns one row per group: ``by...``, ``param`` (the best value), ``score`` (its
    aggregate), ``qualified``, ``interior`` (the best value is neither the smallest nor
    the largest of the group's grid: the optimum was bracketed) and ``n_grid``.

    Examples
    --------
    >>> df = pd.DataFrame({"method": ["a"] * 6, "lr": [0.1, 0.1, 1.0, 1.0, 10.0, 10.0],
    ...                    "steps": [50, 60, 20, 22, 90, 100]})
    >>> best_on_grid(df, "method", "lr", "steps").to_dict("records")
    [{'method': 'a', 'lr': 1.0, 'steps': 21.0, 'qualified': True, 'interior': True, 'n_grid': 3}]
    """
    by = [by] if isinstance(by, str) else list(by)
    for col in [*by, param, score] + ([valid] if valid else []):
        if col not in frame.columns:
            raise KeyError(f"column {col!r} not in frame (columns: {list(frame.columns)})")
    if center not in ("mean", "median"):
        raise ValueError(f"center must be 'mean' or 'median', got {center!r}")
    rows = []
    for key, group in frame.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        agg = group.groupby(param, sort=True)[score].agg(center)
        grid = agg.index.to_numpy()
        ok = np.ones(len(agg), dtype=bool)
        if valid is not None:
            ok = group.groupby(param, sort=True)[valid].agg(lambda v: bool(np.all(v.astype(bool)))).to_numpy()
        qualified = bool(ok.any())
        cand = agg[ok] if qualified else agg
        cand = cand[np.isfinite(cand.to_numpy(dtype=float))]
        if cand.empty:
            best, value = math.nan, math.nan
        else:
            best = cand.idxmin() if minimize else cand.idxmax()
            value = float(cand.loc[best])
        interior = bool(len(grid) >= 3 and np.isfinite(best) and grid[0] < best < grid[-1])
        rows.append({**dict(zip(by, key)), param: best, score: value, "qualified": qualified,
                     "interior": interior, "n_grid": int(len(grid))})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- #
# verdicts
# --------------------------------------------------------------------------- #
def verdict(ok: bool) -> str:
    """The word a notebook prints for a claim: ``"REPRODUCED"`` or ``"NOT reproduced"``.

    Examples
    --------
    >>> verdict(True), verdict(False)
    ('REPRODUCED', 'NOT reproduced')
    """
    return "REPRODUCED" if bool(ok) else "NOT reproduced"


# --------------------------------------------------------------------------- #
# appended (issue 10): transitions with a CI, comparisons of curves, verdict tables
# --------------------------------------------------------------------------- #
from ._curves import (  # noqa: E402
    power_law_exponent,
    proportional_constant,
    spread_ratio,
    transition_spread,
)
from ._transitions import (  # noqa: E402
    TransitionEstimate,
    format_ci,
    transition_ci,
    transition_ratio_ci,
    verdict_table,
)

__all__ += ["TransitionEstimate", "format_ci", "power_law_exponent", "proportional_constant", "spread_ratio",
            "transition_ci", "transition_ratio_ci", "transition_spread", "verdict_table"]
