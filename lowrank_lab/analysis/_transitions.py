"""Phase transitions with uncertainty, and the verdict table notebooks print.

:func:`transition_ci`
    The point where a success probability crosses a level (``transition_point``),
    with a cluster-bootstrap confidence interval over seeds.
:func:`format_ci`
    ``"1.23 [1.10, 1.41]"``: an estimate with its interval, as verdict tables show it.
:func:`verdict_table`
    One row per claim: claim, statistic, estimate with CI, pre-set threshold, verdict.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .._validation import check_float, check_int, check_numbers

__all__ = ["TransitionEstimate", "format_ci", "transition_ci", "transition_ratio_ci", "verdict_table"]


class TransitionEstimate(NamedTuple):
    """:func:`transition_ci`'s answer.

    ``estimate`` is the crossing of the seed-mean curve (NaN: never reached);
    ``low``/``high`` the percentile interval of the bootstrap crossings (``inf`` or
    ``-inf`` stands for "beyond the grid" in the resamples: never reached, or reached at
    the first grid point, which makes the interval open on that side); ``reached`` the
    fraction of resamples whose curve reaches the level.
    """

    estimate: float
    low: float
    high: float
    reached: float


def _crossing(fx: np.ndarray, means: np.ndarray, level: float) -> np.ndarray:
    """Interpolated first crossing of ``level`` for each column of ``means`` (n, R); NaN if never."""
    hit = means >= level
    any_hit = hit.any(axis=0)
    first = np.argmax(hit, axis=0)
    prev = np.maximum(first - 1, 0)
    cols = np.arange(means.shape[1])
    y0, y1 = means[prev, cols], means[first, cols]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(y1 > y0, (level - y0) / (y1 - y0), 0.0)
    value = fx[prev] + t * (fx[first] - fx[prev])
    value = np.where(first == 0, -np.inf, value)  # reached at the first grid point: left of the grid
    return np.where(any_hit, value, np.nan)


def _bracket(fx: np.ndarray, means: np.ndarray, level: float) -> tuple[float, float] | None:
    """The grid cell ``(fx[i-1], fx[i])`` of the crossing when the curve jumps across it from 0 to 1, else None.

    Then no grid point lies inside the transition and interpolation cannot place it
    within the cell: every resample gives the same crossing, so a bootstrap interval
    would have zero width.  The honest interval is the cell itself.
    """
    hit = np.flatnonzero(means >= level)
    if hit.size == 0 or hit[0] == 0:
        return None
    i = hit[0]
    if means[i - 1] <= 0.0 and means[i] >= 1.0:
        return float(fx[i - 1]), float(fx[i])
    return None


def transition_ci(
    x: Any,
    success: Any,
    *,
    level: float = 0.5,
    log_x: bool = True,
    ci: float = 0.95,
    n_resamples: int = 2000,
    rng: Any = 0,
) -> TransitionEstimate:
    """Where a success probability crosses ``level``, with a bootstrap CI over seeds.

    ``success[i, s]`` is 1 (success) or 0 for grid point ``x[i]`` and seed ``s`` (NaN:
    missing).  The estimate is :func:`lowrank_lab.analysis.transition_point` of the
    seed-mean curve: linear interpolation (in ``log x`` with ``log_x``) between the last
    grid point below ``level`` and the first at or above it.  The interval is a cluster
    bootstrap: seeds are resampled with replacement, the same seeds at every grid
    point, and the percentile interval of the resampled crossings is returned.  A
    resample that never reaches the level counts as ``+inf``, one that already reaches
    it at the first grid point as ``-inf`` (the grid does not bracket it), so an
    interval end at ``+-inf`` says the grid is too short on that side.  When the
    seed-mean curve jumps from 0 straight to 1 between two grid points, the data cannot
    place the crossing inside that cell (every resample interpolates to the same
    point), so the interval is widened to the whole cell: refine the grid there.

    Parameters
    ----------
    x : array (n,)
        Distinct grid points (any order).
    success : array (n, n_seeds)
        0/1 outcomes (or probabilities) per grid point and seed.
    level : float in [0, 1], default 0.5
    log_x : bool, default True
    ci : float in (0, 1), default 0.95
    n_resamples : int, default 2000
    rng : seed, default 0
        Seeded so a notebook prints the same interval every run.

    Examples
    --------
    >>> x = [1.0, 2.0, 4.0, 8.0]
    >>> s = [[0, 0, 0, 0], [0, 0, 1, 0], [1, 1, 1, 0], [1, 1, 1, 1]]
    >>> est = transition_ci(x, s)
    >>> round(est.estimate, 3), est.low <= est.estimate <= est.high
    (2.828, True)
    """
    grid = check_numbers(x, "x")
    values = check_numbers(success, "success")
    if grid.ndim != 1 or values.ndim != 2 or values.shape[0] != grid.shape[0]:
        raise ValueError(f"success must have shape (len(x), n_seeds), got x {grid.shape} and success {values.shape}")
    if grid.size < 2 or values.shape[1] == 0:
        raise ValueError("x needs at least 2 grid points and success at least one seed")
    if np.unique(grid).size != grid.size or not np.all(np.isfinite(grid)):
        raise ValueError("x must hold distinct finite grid points")
    if log_x and np.any(grid <= 0):
        raise ValueError("x must be positive with log_x=True")
    level = check_float(level, "level", low=0.0, high=1.0)
    ci = check_float(ci, "ci", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    n_resamples = check_int(n_resamples, "n_resamples", low=1)
    order = np.argsort(grid)
    grid, values = grid[order], values[order]
    fx = np.log(grid) if log_x else grid

    def means_of(cols: np.ndarray) -> np.ndarray:  # (R, S) -> (n, R)
        picked = values[:, cols]
        ok = np.isfinite(picked)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(ok, picked, 0.0).sum(axis=2) / np.maximum(ok.sum(axis=2), 1)

    n_seeds = values.shape[1]
    point = _crossing(fx, means_of(np.arange(n_seeds)[None, :]), level)[0]
    gen = np.random.default_rng(rng)
    boot = _crossing(fx, means_of(gen.integers(0, n_seeds, size=(n_resamples, n_seeds))), level)
    reached = float(np.isfinite(boot).mean() + np.isneginf(boot).mean())
    boot = np.where(np.isnan(boot), np.inf, boot)
    alpha = (1.0 - ci) / 2.0
    low, high = np.quantile(boot, [alpha, 1.0 - alpha], method="inverted_cdf")
    cell = _bracket(fx, means_of(np.arange(n_seeds)[None, :])[:, 0], level)
    if cell is not None:  # resolution-limited: the interval is at least the grid cell of the jump
        low, high = min(float(low), cell[0]), max(float(high), cell[1])

    def back(v: float) -> float:
        if not math.isfinite(v):
            return float(v)
        return float(np.exp(v) if log_x else v)

    if np.isnan(point):
        estimate = math.nan
    elif np.isneginf(point):
        estimate = float(grid[0])
    else:
        estimate = back(point)
    return TransitionEstimate(estimate, back(float(low)), back(float(high)), reached)


def transition_ratio_ci(
    x: Any,
    success_a: Any,
    success_b: Any,
    *,
    level: float = 0.5,
    log_x: bool = True,
    ci: float = 0.95,
    n_resamples: int = 2000,
    rng: Any = 0,
) -> tuple[float, float, float]:
    """Ratio of two methods' transition points, ``x_a / x_b``, with a paired bootstrap CI.

    ``success_a`` and ``success_b`` have shape ``(len(x), n_seeds)`` and share their
    seeds (column ``s`` of both saw the same problem), so the seeds are resampled
    jointly.  Resamples in which either curve does not cross ``level`` inside the grid
    are dropped (their share is small when both crossings are bracketed); returns
    ``(ratio, low, high)``, NaN if the point estimate is not bracketed.  Where a curve
    jumps from 0 to 1 between two grid points, its crossing is only known to lie in
    that cell, and the interval is widened accordingly (see :func:`transition_ci`).

    Examples
    --------
    >>> x = [1.0, 2.0, 4.0, 8.0]
    >>> a = [[0, 0, 0], [0, 1, 0], [1, 1, 1], [1, 1, 1]]
    >>> transition_ratio_ci(x, a, a)  # the same outcomes: the paired ratio is exactly 1
    (1.0, 1.0, 1.0)
    """
    grid = check_numbers(x, "x")
    a = check_numbers(success_a, "success_a")
    b = check_numbers(success_b, "success_b")
    if a.shape != b.shape or a.ndim != 2 or grid.ndim != 1 or a.shape[0] != grid.size:
        raise ValueError(f"success_a and success_b must both have shape (len(x), n_seeds), got {a.shape} and {b.shape}")
    if grid.size < 2 or a.shape[1] == 0:
        raise ValueError("x needs at least 2 grid points and the successes at least one seed")
    if log_x and np.any(grid <= 0):
        raise ValueError("x must be positive with log_x=True")
    level = check_float(level, "level", low=0.0, high=1.0)
    ci = check_float(ci, "ci", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    n_resamples = check_int(n_resamples, "n_resamples", low=1)
    order = np.argsort(grid)
    grid, a, b = grid[order], a[order], b[order]
    fx = np.log(grid) if log_x else grid

    def crossings(values: np.ndarray, cols: np.ndarray) -> np.ndarray:
        picked = values[:, cols]
        ok = np.isfinite(picked)
        means = np.where(ok, picked, 0.0).sum(axis=2) / np.maximum(ok.sum(axis=2), 1)
        return _crossing(fx, means, level)

    def ratio(ca: np.ndarray, cb: np.ndarray) -> np.ndarray:
        r = np.exp(ca - cb) if log_x else ca / cb
        return np.where(np.isfinite(ca) & np.isfinite(cb), r, np.nan)

    cols0 = np.arange(a.shape[1])[None, :]
    point = float(ratio(crossings(a, cols0), crossings(b, cols0))[0])

    def mean_curve(values: np.ndarray) -> np.ndarray:
        ok = np.isfinite(values)
        return np.where(ok, values, 0.0).sum(axis=1) / np.maximum(ok.sum(axis=1), 1)

    cell_a, cell_b = _bracket(fx, mean_curve(a), level), _bracket(fx, mean_curve(b), level)
    gen = np.random.default_rng(rng)
    cols = gen.integers(0, a.shape[1], size=(n_resamples, a.shape[1]))
    boot = ratio(crossings(a, cols), crossings(b, cols))
    boot = boot[np.isfinite(boot)]
    if not math.isfinite(point) or boot.size == 0:
        return math.nan, math.nan, math.nan
    alpha = (1.0 - ci) / 2.0
    low, high = np.quantile(boot, [alpha, 1.0 - alpha])
    if cell_a is not None or cell_b is not None:  # resolution-limited: widen to what the grid cells allow
        xa = float(_crossing(fx, mean_curve(a)[:, None], level)[0])
        xb = float(_crossing(fx, mean_curve(b)[:, None], level)[0])
        lo_a, hi_a = cell_a if cell_a is not None else (xa, xa)
        lo_b, hi_b = cell_b if cell_b is not None else (xb, xb)
        if log_x:
            r_lo, r_hi = math.exp(lo_a - hi_b), math.exp(hi_a - lo_b)
        else:
            r_lo = lo_a / hi_b if hi_b > 0 else -math.inf
            r_hi = hi_a / lo_b if lo_b > 0 else math.inf
        low, high = min(float(low), r_lo), max(float(high), r_hi)
    return point, float(low), float(high)


def format_ci(estimate: float, low: float | None = None, high: float | None = None, *, digits: int = 3) -> str:
    """An estimate with its interval, ``"1.23 [1.1, 1.41]"`` (``digits`` significant digits);
    just the estimate when no interval is given.  ``inf`` prints as ``∞``, NaN as ``n/a``.

    Examples
    --------
    >>> format_ci(1.2345, 1.1, 1.41)
    '1.23 [1.1, 1.41]'
    >>> format_ci(2.0, 1.5, float("inf"))
    '2 [1.5, ∞]'
    >>> format_ci(2e-7)
    '2e-07'
    """
    digits = check_int(digits, "digits", low=1)

    def f(v: Any) -> str:
        v = math.nan if v is None else float(v)
        if math.isnan(v):
            return "n/a"
        if math.isinf(v):
            return "∞" if v > 0 else "−∞"
        return f"{v:.{digits}g}"

    if low is None and high is None:
        return f(estimate)
    return f"{f(estimate)} [{f(low)}, {f(high)}]"


_COLUMNS = ("claim", "statistic", "estimate [95% CI]", "threshold (pre-set)", "verdict")


def verdict_table(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The verdict table of a notebook: one row per claim.

    Each row is a mapping with the keys ``claim``, ``statistic`` (what is measured),
    ``estimate`` (text, a number, or a tuple ``(estimate, low, high)`` printed with
    :func:`format_ci`), ``threshold`` (the pre-set pass condition, as text) and ``ok``
    (bool: the statistic passed); optional ``note``.  The verdict column is
    :func:`lowrank_lab.analysis.verdict` of ``ok``.

    Examples
    --------
    >>> t = verdict_table([{"claim": "c", "statistic": "s", "estimate": "1 [0.9, 1.1]",
    ...                     "threshold": "< 2", "ok": True}])
    >>> list(t.columns), t.loc[0, "verdict"]
    (['claim', 'statistic', 'estimate [95% CI]', 'threshold (pre-set)', 'verdict', 'note'], 'REPRODUCED')
    >>> verdict_table([{"claim": "rate is kappa-free", "statistic": "iteration ratio",
    ...                 "estimate": (1.1, 1.0, 1.2), "threshold": "< 1.5", "ok": True}]).iloc[0, 2]
    '1.1 [1, 1.2]'
    """
    from . import verdict  # noqa: PLC0415

    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Sequence):
        raise TypeError(f"rows must be a sequence of mappings, got {type(rows).__name__}")
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise TypeError(f"rows[{i}] must be a mapping, got {type(row).__name__}")
        missing = [k for k in ("claim", "statistic", "estimate", "threshold", "ok") if k not in row]
        if missing:
            raise KeyError(f"rows[{i}] lacks {missing}")
        est = row["estimate"]
        if isinstance(est, str):
            text = est
        elif isinstance(est, (tuple, list)):
            text = format_ci(*est[:3])
        else:
            text = format_ci(est)
        out.append({"claim": str(row["claim"]), "statistic": str(row["statistic"]), "estimate [95% CI]": text,
                    "threshold (pre-set)": str(row["threshold"]), "verdict": verdict(bool(row["ok"])),
                    "note": str(row.get("note", ""))})
    return pd.DataFrame(out, columns=[*_COLUMNS, "note"])
