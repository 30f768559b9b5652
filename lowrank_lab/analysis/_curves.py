"""Comparisons of curves over seeds (issue 10); transitions and verdict tables are in ``_transitions``.

* :func:`spread_ratio` -- how far apart the seed-medians of several groups are
  (``max / min`` of the group medians), with a bootstrap CI that resamples the seeds
  of every group: the statistic behind "the curves for different widths coincide".
* :func:`proportional_constant` -- the constant ``c`` of ``y = c x`` fitted as the
  median of ``y / x`` over seeds, with its bootstrap CI (rate = c alpha^2).
* :func:`transition_spread` -- ``max / min`` of several groups' 50 % points, with a CI.
* :func:`power_law_exponent` -- the exponent of ``y = c x^b`` with a stratified bootstrap CI.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._validation import check_float, check_int, check_numbers

__all__ = ["power_law_exponent", "proportional_constant", "spread_ratio", "transition_spread"]


def spread_ratio(
    groups: Sequence[Any],
    *,
    statistic: str = "median",
    level: float = 0.95,
    n_resamples: int = 2000,
    rng: Any = 0,
) -> tuple[float, float, float]:
    """``(ratio, low, high)``: the largest over the smallest group center, with a bootstrap CI.

    Each element of ``groups`` holds one group's values over seeds (positive numbers,
    e.g. final errors or iteration counts).  The center of a group is its median (or
    mean); the ratio ``max_g center_g / min_g center_g`` is ``>= 1`` and equals 1 when
    the groups coincide.  The percentile bootstrap resamples the seeds of every group
    independently.  Non-finite values are dropped; a group left empty gives NaN.

    Examples
    --------
    >>> ratio, low, high = spread_ratio([[1.0, 1.1, 0.9], [2.0, 2.2, 1.8]])
    >>> round(ratio, 6), low <= ratio <= high
    (2.0, True)
    """
    if isinstance(groups, (str, bytes, Mapping)) or not isinstance(groups, Sequence) or len(groups) < 2:
        raise TypeError(f"groups must be a sequence of at least 2 arrays of values, got {type(groups).__name__}")
    if statistic not in ("mean", "median"):
        raise ValueError(f"statistic must be 'mean' or 'median', got {statistic!r}")
    level = check_float(level, "level", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    n_resamples = check_int(n_resamples, "n_resamples", low=1)
    arrays = []
    for i, g in enumerate(groups):
        x = check_numbers(g, f"groups[{i}]").ravel()
        x = x[np.isfinite(x)]
        if np.any(x <= 0):
            raise ValueError(f"groups[{i}] must hold positive values, got min {x.min():g}")
        if x.size == 0:
            return math.nan, math.nan, math.nan
        arrays.append(x)
    fn = np.median if statistic == "median" else np.mean
    centers = np.array([fn(x) for x in arrays])
    ratio = float(centers.max() / centers.min())
    gen = np.random.default_rng(rng)
    boot = np.empty((n_resamples, len(arrays)))
    for j, x in enumerate(arrays):
        boot[:, j] = fn(x[gen.integers(0, x.size, size=(n_resamples, x.size))], axis=1)
    ratios = boot.max(axis=1) / boot.min(axis=1)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(ratios, [alpha, 1.0 - alpha])
    return ratio, float(min(low, ratio)), float(max(high, ratio))


def proportional_constant(
    x: Any, y: Any, *, level: float = 0.95, n_resamples: int = 2000, rng: Any = 0
) -> tuple[float, float, float]:
    """``(c, low, high)``: the constant of ``y = c x`` as the median of ``y / x``, with its bootstrap CI.

    Used for "the rate is proportional to alpha^2": ``x = alpha^2`` and ``y`` the
    per-seed rates.  Pairs with a non-finite value or ``x == 0`` are dropped.

    Examples
    --------
    >>> c, low, high = proportional_constant([1.0, 2.0, 4.0], [0.5, 1.0, 2.0])
    >>> c, low, high
    (0.5, 0.5, 0.5)
    """
    x = check_numbers(x, "x").ravel()
    y = check_numbers(y, "y").ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y must be paired (equal length), got {x.size} and {y.size}")
    ok = np.isfinite(x) & np.isfinite(y) & (x != 0)
    from . import bootstrap_ci  # noqa: PLC0415  (the package's own bootstrap)

    return bootstrap_ci(y[ok] / x[ok], "median", level=level, n_resamples=n_resamples, rng=rng)


def _transition_boot(x: np.ndarray, samples: np.ndarray, level: float, log_x: bool, idx: np.ndarray) -> np.ndarray:
    from . import transition_point  # noqa: PLC0415

    means = np.nanmean(samples[:, idx], axis=2).T  # (n_resamples, n_x)
    return np.array([transition_point(x, row, level=level, log_x=log_x) for row in means])


def _check_samples(x: Any, samples: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    x = check_numbers(x, "x").ravel()
    s = check_numbers(samples, name)
    if s.ndim != 2 or s.shape[0] != x.size or s.shape[1] < 1:
        raise ValueError(f"{name} must be 2-D (len(x)={x.size}, n_seeds >= 1), got shape {s.shape}")
    return x, s


def transition_spread(
    x: Any,
    groups: Sequence[Any],
    *,
    level: float = 0.5,
    log_x: bool = True,
    ci: float = 0.95,
    n_resamples: int = 1000,
    rng: Any = 0,
) -> tuple[float, float, float]:
    """``(ratio, low, high)``: largest over smallest transition point among groups, with a bootstrap CI.

    Each group is a ``(len(x), n_seeds)`` array of 0/1 outcomes (e.g. one per model
    width); the transition of each is that of :func:`transition_ci`, and the bootstrap
    resamples the seeds of every group independently.  1 means the success curves
    switch on at the same ``x``; ``inf`` when a group never reaches ``level``.

    Examples
    --------
    >>> x = [1, 2, 4, 8]
    >>> a = [[0] * 10, [0] * 8 + [1] * 2, [0] * 2 + [1] * 8, [1] * 10]
    >>> ratio, low, high = transition_spread(x, [a, a])
    >>> ratio, low
    (1.0, 1.0)
    """
    from . import transition_point  # noqa: PLC0415

    if isinstance(groups, (str, bytes, Mapping)) or not isinstance(groups, Sequence) or len(groups) < 2:
        raise TypeError(f"groups must be a sequence of at least 2 arrays of outcomes, got {type(groups).__name__}")
    ci = check_float(ci, "ci", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    n_resamples = check_int(n_resamples, "n_resamples", low=1)
    checked = [_check_samples(x, g, f"groups[{i}]") for i, g in enumerate(groups)]
    x = checked[0][0]
    gen = np.random.default_rng(rng)
    points, boots = [], []
    for _, s in checked:
        p = transition_point(x, np.nanmean(s, axis=1), level=level, log_x=log_x)
        points.append(math.inf if math.isnan(p) else p)
        idx = gen.integers(0, s.shape[1], size=(n_resamples, s.shape[1]))
        b = _transition_boot(x, s, level, log_x, idx)
        boots.append(np.where(np.isnan(b), np.inf, b))
    points_arr, boot = np.array(points), np.stack(boots, axis=1)
    with np.errstate(invalid="ignore"):
        ratio = float(points_arr.max() / points_arr.min())
        ratios = boot.max(axis=1) / boot.min(axis=1)
    ratios = np.where(np.isnan(ratios), np.inf, ratios)
    alpha = (1.0 - ci) / 2.0
    low, high = np.quantile(ratios, [alpha, 1.0 - alpha], method="inverted_cdf")
    return ratio, float(min(low, ratio)), float(max(high, ratio))


def power_law_exponent(
    x: Any, y: Any, *, level: float = 0.95, n_resamples: int = 2000, rng: Any = 0
) -> tuple[float, float, float]:
    """``(b, low, high)``: the exponent of ``y = c x^b`` by least squares on logs, with a bootstrap CI.

    ``x`` and ``y`` are paired samples (e.g. one per seed and grid value).  The
    bootstrap resamples the pairs *within* each distinct value of ``x`` (stratified, so
    every resample keeps the design's grid).  Pairs with a non-positive or non-finite
    value are dropped; NaN with fewer than two distinct ``x``.

    Examples
    --------
    >>> b, low, high = power_law_exponent([1, 1, 2, 2, 4, 4], [1.0, 1.2, 2.0, 2.4, 4.0, 4.8])
    >>> round(b, 6), low <= b <= high
    (1.0, True)
    """
    x = check_numbers(x, "x").ravel()
    y = check_numbers(y, "y").ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y must be paired (equal length), got {x.size} and {y.size}")
    level = check_float(level, "level", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    n_resamples = check_int(n_resamples, "n_resamples", low=1)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    lx, ly = np.log(x[ok]), np.log(y[ok])
    if np.unique(lx).size < 2:
        return math.nan, math.nan, math.nan
    b = float(np.polyfit(lx, ly, 1)[0])
    gen = np.random.default_rng(rng)
    strata = [np.flatnonzero(lx == v) for v in np.unique(lx)]
    idx = np.concatenate([s[gen.integers(0, s.size, size=(n_resamples, s.size))] for s in strata], axis=1)
    bx, by = lx[idx], ly[idx]
    bx_c = bx - bx.mean(axis=1, keepdims=True)
    slopes = (bx_c * (by - by.mean(axis=1, keepdims=True))).sum(axis=1) / (bx_c * bx_c).sum(axis=1)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(slopes, [alpha, 1.0 - alpha])
    return b, float(min(low, b)), float(max(high, b))
