"""House style and deterministic figure files.

Plots read tables: the helpers here take pandas DataFrames (typically the output
of :func:`lowrank_lab.experiments.run_sweep`) and aggregate over seeds.

:func:`savefig` writes ``figures/NAME.png`` and ``figures/NAME.pdf`` with fixed
metadata, so regenerating a figure without a code change gives identical bytes.

Examples
--------
>>> import tempfile, matplotlib
>>> matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> use_style()
>>> fig, ax = plt.subplots()
>>> _ = ax.plot([1, 2, 3])
>>> with tempfile.TemporaryDirectory() as d:
...     paths = savefig(fig, "example", directory=d)
...     [p.name for p in paths]
['example.png', 'example.pdf']
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd

from . import paths
from .analysis import seed_summary
from ._validation import check_numbers

__all__ = [
    "HOUSE_STYLE",
    "PALETTE",
    "annotate_slope",
    "fit_line",
    "plot_band",
    "savefig",
    "seed_summary",
    "style",
    "use_style",
]

#: Colour-blind-safe palette (Okabe-Ito), in plotting order.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]

#: rcParams of the house style.
HOUSE_STYLE: dict[str, Any] = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 110,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.05,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 8.5,
    "legend.frameon": False,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.6,
    "axes.prop_cycle": mpl.cycler(color=PALETTE),
    "image.cmap": "viridis",
    "pdf.fonttype": 42,  # TrueType: editable text in vector editors
    "svg.hashsalt": "lowrank_lab",
    "path.simplify": True,
}

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def use_style() -> None:
    """Apply the house style globally (notebooks call this once)."""
    mpl.rcParams.update(HOUSE_STYLE)


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Context manager applying the house style temporarily."""
    with mpl.rc_context(HOUSE_STYLE):
        yield


def savefig(
    fig: Any,
    name: str,
    *,
    directory: str | Path | None = None,
    formats: Sequence[str] = ("png", "pdf"),
) -> list[Path]:
    """Write ``fig`` as ``<directory>/<name>.<fmt>`` for each format, byte-for-byte reproducibly.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    name : str
        File stem such as ``"04_mp_spikes"`` (letters, digits, ``_ . -``).
    directory : path, optional
        Defaults to :func:`lowrank_lab.paths.figures_dir` (``figures/``, or
        ``LOWRANK_FIGURES_DIR``).
    formats : sequence of {"png", "pdf", "svg"}

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"name must be a file stem of letters, digits, '_', '.', '-', got {name!r}")
    allowed = {"png", "pdf", "svg"}
    bad = [f for f in formats if f not in allowed]
    if bad or not formats:
        raise ValueError(f"formats must be a non-empty subset of {sorted(allowed)}, got {list(formats)}")
    out_dir = Path(directory) if directory is not None else paths.figures_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    metadata = {
        "png": {"Software": None},
        "pdf": {"Creator": None, "Producer": None, "CreationDate": None, "ModDate": None},
        "svg": {"Creator": None, "Date": None},
    }
    written = []
    for fmt in formats:
        target = out_dir / f"{name}.{fmt}"
        tmp = target.with_name(f".{target.name}.tmp")
        with mpl.rc_context({"svg.hashsalt": "lowrank_lab"}):
            fig.savefig(tmp, format=fmt, metadata=metadata[fmt])
        tmp.replace(target)  # atomic: readers never see a half-written figure
        written.append(target)
    return written


def plot_band(
    ax: Any,
    frame: pd.DataFrame,
    x: str,
    y: str,
    *,
    label: str | None = None,
    color: str | None = None,
    center: str = "median",
    spread: str = "iqr",
    alpha: float = 0.2,
    **line_kwargs: Any,
) -> pd.DataFrame:
    """Plot the seed-aggregated ``y`` against ``x`` as a line with a shaded spread.

    Returns the aggregated table that was drawn.
    """
    summary = seed_summary(frame, x, y, center=center, spread=spread)
    (line,) = ax.plot(summary[x], summary["center"], label=label, color=color, **line_kwargs)
    ax.fill_between(summary[x], summary["low"], summary["high"], color=line.get_color(), alpha=alpha, lw=0)
    return summary


def fit_line(x: Any, y: Any, *, log_x: bool = False, log_y: bool = True) -> tuple[float, float]:
    """Least-squares slope and intercept of ``y`` against ``x`` on the chosen axes.

    With ``log_y`` (default) this is the log-linear rate of a linearly converging
    error; with both logs it is a log-log slope.  Logs are natural.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(10.0)
    >>> slope, _ = fit_line(t, np.exp(-0.5 * t))
    >>> round(slope, 6)
    -0.5
    """
    x = check_numbers(x, "x")
    y = check_numbers(y, "y")
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise ValueError(f"x and y must be 1-D of equal length >= 2, got shapes {x.shape} and {y.shape}")
    if (log_x and np.any(x <= 0)) or (log_y and np.any(y <= 0)):
        raise ValueError("values must be positive on a log axis")
    fx = np.log(x) if log_x else x
    fy = np.log(y) if log_y else y
    slope, intercept = np.polyfit(fx, fy, 1)
    return float(slope), float(intercept)


def annotate_slope(ax: Any, x: Any, y: Any, text: str, *, color: str | None = None, **kwargs: Any) -> None:
    """Write ``text`` (e.g. a fitted slope) near the midpoint of a curve."""
    x = check_numbers(x, "x")
    y = check_numbers(y, "y")
    if x.size == 0:
        return
    i = x.size // 2
    if not (math.isfinite(x[i]) and math.isfinite(y[i])):
        return
    ax.annotate(text, (x[i], y[i]), textcoords="offset points", xytext=(6, 6), color=color, fontsize=8.5, **kwargs)


# --------------------------------------------------------------------------- #
# issue 10: success probabilities with Wilson bands, diverged runs drawn apart
# --------------------------------------------------------------------------- #
def plot_success(
    ax: Any,
    frame: pd.DataFrame,
    x: str,
    success: str,
    *,
    label: str | None = None,
    color: str | None = None,
    level: float = 0.95,
    alpha: float = 0.18,
    **line_kwargs: Any,
) -> pd.DataFrame:
    """Plot the success probability (mean of the 0/1 column ``success`` per ``x``) with its Wilson band.

    The band is the Wilson score interval at ``level``
    (:func:`lowrank_lab.analysis.wilson_interval`), which, unlike a +-1 s.e. band, does
    not collapse at 0 and 1.  Returns the drawn table (``x, center, low, high, n``).

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().subplots()
    >>> df = pd.DataFrame({"m": [1, 1, 2, 2], "ok": [0, 0, 1, 1]})
    >>> plot_success(ax, df, "m", "ok")["high"].round(3).tolist()
    [0.658, 1.0]
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    if success not in frame.columns:
        raise KeyError(f"column {success!r} not in frame (columns: {list(frame.columns)})")
    frame = frame.assign(**{success: frame[success].astype(float)})
    summary = seed_summary(frame, x, success, spread="wilson", level=level)
    (line,) = ax.plot(summary[x], summary["center"], label=label, color=color, **line_kwargs)
    ax.fill_between(summary[x], summary["low"], summary["high"], color=line.get_color(), alpha=alpha, lw=0)
    return summary


def mark_diverged(
    ax: Any,
    x: Any,
    *,
    color: str | None = None,
    label: str | None = "diverged",
    y: float = 0.97,
    marker: str = "x",
    **kwargs: Any,
) -> Any:
    """Draw diverged runs as markers at the top edge of ``ax`` (``y`` in axes coordinates).

    A diverged run has no final value to plot; drawing it at a fake data value
    (e.g. 1e3) stretches the axis and reads as data.  The markers sit at the given
    ``x`` data positions and at a fixed height of the axes, outside the data's scale.
    Returns the scatter artist (None when ``x`` is empty).

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().subplots()
    >>> mark_diverged(ax, [0.3, 0.4]) is not None, mark_diverged(ax, []) is None
    (True, True)
    """
    x = check_numbers(x, "x").ravel()
    if x.size == 0:
        return None
    transform = mpl.transforms.blended_transform_factory(ax.transData, ax.transAxes)
    return ax.scatter(x, np.full(x.size, y), marker=marker, color=color, label=label, transform=transform,
                      clip_on=False, zorder=5, **kwargs)


__all__ += ["mark_diverged", "plot_success"]
