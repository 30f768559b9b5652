"""Figures of the atlas and the adapter report (shared by ``lowrank-lab inspect`` and notebook 10)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_choice
from ._atlas import EIGENVALUE_CONVENTIONS, MIN_SIGMA_SQUARED, _shuffle, weight_spectrum
from ._powerlaw import powerlaw_alpha
from ._random_matrix import fit_marchenko_pastur, marchenko_pastur_density

__all__ = ["METRIC_LABELS", "plot_atlas_heatmap", "plot_esd", "plot_intruder_counts"]

#: Axis/colour-bar labels of the atlas columns (mathtext).
METRIC_LABELS = {
    "alpha": r"power-law exponent $\hat\alpha$",
    "alpha_weighted": r"$\hat\alpha_w = \hat\alpha\,\log_{10}\lambda_{\max}$",
    "stable_rank": r"stable rank $\|W\|_F^2/\|W\|_2^2$",
    "effective_rank": r"effective rank (Roy-Vetterli)",
    "spectral_entropy": r"normalized spectral entropy",
    "mp_spikes": r"MP spikes (beyond $\lambda_+$ + TW)",
    "mp_softrank": r"MP soft rank $\lambda_+/\lambda_{\max}$",
    "rand_softrank": r"$\lambda_{\max}$(shuffled) / $\lambda_{\max}$",
    "n_above_random": r"eigenvalues above the shuffled $\lambda_{\max}$",
    "log_norm": r"$\log_{10}\sum_i\lambda_i$",
    "log_spectral_norm": r"$\log_{10}\lambda_{\max}$",
    "numerical_rank": "numerical rank",
    "ks_distance": "KS distance of the power-law fit",
}


def _axes(ax: Any, figsize: tuple[float, float] = (6.4, 3.2)) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt.subplots(figsize=figsize)[1]


def plot_atlas_heatmap(
    frame: pd.DataFrame,
    metric: str,
    *,
    ax: Any = None,
    kinds: Any = None,
    annotate: bool = True,
    fmt: str = "{:.2g}",
    cmap: str = "viridis",
    label: str | None = None,
) -> Any:
    """Heatmap of one atlas column: matrix type (rows) against block index (columns).

    Rows without a block index (embeddings, pooler) are left out; each type appears
    in the order of its first row unless ``kinds`` gives the order.  Missing
    cells are blank.

    Returns
    -------
    matplotlib.image.AxesImage
    """
    if metric not in frame.columns:
        raise ValueError(f"metric must be a column of the atlas, got {metric!r}")
    blocks = frame[frame["layer"].notna()]
    if blocks.empty:
        raise ValueError("frame has no rows with a block index (column 'layer'): nothing to draw")
    order = list(kinds) if kinds is not None else list(dict.fromkeys(blocks["kind"]))
    layers = sorted(int(v) for v in blocks["layer"].unique())
    grid = (blocks.assign(layer=blocks["layer"].astype(int))
            .pivot_table(index="kind", columns="layer", values=metric, aggfunc="mean")
            .reindex(index=order, columns=layers))
    ax = _axes(ax, (1.2 + 0.75 * len(layers), 0.9 + 0.42 * len(order)))
    values = grid.to_numpy(dtype=float)
    image = ax.imshow(np.ma.masked_invalid(values), aspect="auto", cmap=cmap)
    ax.set_xticks(range(len(layers)), [str(v) for v in layers])
    ax.set_yticks(range(len(order)), [k.replace("_", " ") for k in order])
    ax.set_xlabel("block (layer index)")
    ax.set_ylabel("matrix type")
    ax.grid(False)
    bar = ax.figure.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
    bar.set_label(label or METRIC_LABELS.get(metric, metric.replace("_", " ")), fontsize=8.5)
    if annotate:
        finite = values[np.isfinite(values)]
        mid = (finite.min() + finite.max()) / 2 if finite.size else 0.0
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=8,
                        color="white" if v < mid else "black")
    return image


def plot_esd(
    W: Any,
    *,
    ax: Any = None,
    eigenvalues: str = "normalized",
    name: str | None = None,
    randomize: bool = True,
    rng: Any = 0,
    bins: int = 60,
    method: str = "auto",
) -> dict:
    """ESD of one matrix on log-log axes with its Marchenko-Pastur and power-law fits.

    Draws the density of the eigenvalues per decade (log-spaced bins, the lowest 1 %
    left out of the axis), the fitted MP density
    (:func:`fit_marchenko_pastur`, its edge ``lambda_+`` dashed), the power-law
    tail ``p(lambda) ~ lambda^-alpha`` from ``xmin`` (:func:`powerlaw_alpha`,
    scaled to the tail's share of the eigenvalues) and, with ``randomize``, the ESD
    of the matrix with its entries shuffled.

    Returns
    -------
    dict
        ``powerlaw`` (:class:`PowerLawFit`), ``mp`` (:class:`MarchenkoPasturFit`),
        ``eigenvalues`` and, with ``randomize``, ``shuffled`` (host arrays, descending).
    """
    eigenvalues = check_choice(eigenvalues, "eigenvalues", EIGENVALUE_CONVENTIONS)
    W = np.asarray(W) if isinstance(W, (list, tuple)) else W
    N, M = max(W.shape), min(W.shape)
    scale = 1.0 / N if eigenvalues == "normalized" else 1.0
    s = weight_spectrum(W, method=method)
    lam = scale * s * s
    pl = powerlaw_alpha(lam, min_eigenvalue=MIN_SIGMA_SQUARED * scale)
    mp = fit_marchenko_pastur(s * s / N, aspect_ratio=N / M)
    ax = _axes(ax, (4.2, 3.2))
    pos = lam[lam > 0]
    low = max(float(np.quantile(pos, 0.01)), float(pos.max()) * 1e-6)  # a few near-zero values would stretch the axis
    edges = np.geomspace(low, pos.max() * 1.0001, bins + 1)
    width = np.diff(np.log10(edges))

    def per_decade(values: np.ndarray) -> np.ndarray:
        counts, _ = np.histogram(values, edges)
        d = counts / (values.size * width)
        return np.where(d > 0, d, np.nan)

    ax.stairs(per_decade(pos), edges, color="#0072B2", lw=1.3, label="trained ESD")
    out = {"powerlaw": pl, "mp": mp, "eigenvalues": lam}
    if randomize:
        seed = rng if isinstance(rng, int) else 0
        s_r = weight_spectrum(_shuffle(W if hasattr(W, "dtype") else np.asarray(W), seed), method=method)
        lam_r = scale * s_r * s_r
        ax.stairs(per_decade(lam_r[lam_r > 0]), edges, color="#999999", lw=1.1, label="entries shuffled")
        out["shuffled"] = lam_r
    unit = scale * N  # eigenvalues in this convention = unit * (sigma^2 / N)
    ln10 = math.log(10.0)
    grid = np.geomspace(max(low, mp.lambda_minus * unit * 1.0001), mp.lambda_plus * unit * 0.9999, 300)
    # density per decade of lambda: lambda * rho(lambda) * ln 10
    mp_density = np.asarray(marchenko_pastur_density(grid / unit, mp.aspect_ratio, mp.variance)) / unit
    ax.plot(grid, grid * mp_density * ln10, color="#009E73", lw=1.4,
            label=rf"MP fit, $\lambda_+ = {mp.lambda_plus * unit:.3g}$")
    ax.axvline(mp.lambda_plus * unit, color="#009E73", ls="--", lw=1.0)
    tail = np.geomspace(pl.xmin, lam[0], 100)
    share = pl.n_tail / lam.size
    pl_density = share * (pl.alpha - 1) / pl.xmin * (tail / pl.xmin) ** (-pl.alpha)
    ax.plot(tail, tail * pl_density * ln10, color="#D55E00", lw=1.6,
            label=rf"power law, $\hat\alpha = {pl.alpha:.2f}$")
    ax.axvline(pl.xmin, color="#D55E00", ls=":", lw=1.0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"eigenvalue $\lambda = \sigma^2/N$" if eigenvalues == "normalized" else r"eigenvalue $\lambda = \sigma^2$")
    ax.set_ylabel(r"fraction per decade, $\lambda\rho(\lambda)\ln 10$")
    if name:
        ax.set_title(name, fontsize=9)
    ax.legend(loc="best", fontsize=8)
    return out


def plot_intruder_counts(report: pd.DataFrame, *, axes: Any = None, eps: float = 0.5) -> Any:
    """Intruder dimensions of an adapter report: total count against eps, and per module at ``eps``.

    Parameters
    ----------
    report : DataFrame
        From :func:`adapter_report` (columns ``intruders_eps_<e>``).
    axes : pair of Axes, optional
    eps : float, default 0.5
        Threshold of the per-module bars (must be in the report's sweep).

    Returns
    -------
    pair of Axes
    """
    cols = [c for c in report.columns if c.startswith("intruders_eps_")]
    if not cols:
        raise ValueError("report must come from adapter_report (no 'intruders_eps_*' columns)")
    sweep = np.array([float(c.removeprefix("intruders_eps_")) for c in cols])
    col = f"intruders_eps_{eps:g}"
    if col not in report.columns:
        raise ValueError(f"eps must be one of the report's thresholds {sweep.tolist()}, got {eps}")
    if axes is None:
        import matplotlib.pyplot as plt  # noqa: PLC0415

        height = max(2.8, 0.16 * len(report) + 1.0)
        _, axes = plt.subplots(1, 2, figsize=(9.0, height), gridspec_kw={"width_ratios": [1, 1.4]})
    left, right = axes
    total = report[cols].sum(axis=0).to_numpy()
    left.plot(sweep, total, marker="o", color="#D55E00")
    left.set_xlabel(r"threshold $\varepsilon$")
    left.set_ylabel(f"intruders, summed over {len(report)} modules")
    k = int(report["k"].max()) if "k" in report else None
    left.set_title(f"top k = {k} singular vectors" if k else "intruder dimensions", fontsize=9)
    from matplotlib.ticker import MaxNLocator  # noqa: PLC0415

    left.yaxis.set_major_locator(MaxNLocator(integer=True))
    names = [m.replace("encoder.layer.", "L").replace(".attention.self.", " ").replace(".attention.output.", " attn-out ")
             for m in report["module"]]
    y = np.arange(len(report))
    right.barh(y, report[col].to_numpy(), color="#0072B2")
    right.set_yticks(y, names, fontsize=8)
    right.invert_yaxis()
    right.set_xlabel(rf"intruders at $\varepsilon = {eps:g}$")
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    right.set_xlim(0, max(1, math.ceil(float(report[col].max()) * 1.1)))
    return axes
