# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version,-jupytext.text_representation.format_version
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · The spectral toolkit: noise, spikes, power laws and intruders
#
# **Question.** The later studies read weight and gradient matrices through a handful
# of spectral metrics. On spectra whose answer we know — pure Marchenko–Pastur noise,
# noise plus planted spikes, power-law tails, constructed fine-tuning updates — do the
# metrics of `lowrank_lab.spectral` return that answer, and what does each one miss?
#
# **Claims and criteria** (study D; the papers are listed in `docs/references.md`):
# * "The MP edge is within a few percent, and pure noise produces no false spikes once
#   the TW margin is applied"; detected spikes switch on near the BBP threshold (D-2).
#   We add the two finite-size laws behind that threshold: the squared overlap of the top
#   eigenvector with the planted direction (Benaych-Georges & Nadakuditi 2012) and the
#   Tracy–Widom law of the top noise eigenvalue (Johnstone 2001).
# * "α̂ lies within 2σ_α of the truth, fingers bias it upwards, and the fix removes the
#   bias" (D-3) — tested over finger counts and sizes, not one setup.
# * φ and principal angles agree with SciPy and the random baseline E φ = max(i, j)/n (D-4).
# * Intruder dimensions (Shuttleworth et al., "LoRA vs Full Fine-tuning: An Illusion of
#   Equivalence"): "adding a random rank-one λvvᵀ larger than W's singular values
#   already creates intruders" (E1, proposed cause (a)).
#
# Every pass threshold is fixed in the parameter cell below, before any run; the verdict
# table at the end (§7) prints each claim with its statistic, 95 % interval, threshold and
# verdict. Numbers in the text are generated from the runs.
#
# **Normalization used throughout.** The ESD of W ∈ ℝ^{N×M} (N ≥ M, transposed if
# needed) is the set of eigenvalues of X = WᵀW/N, with aspect ratio Q = N/M. For i.i.d.
# entries of variance s² the bulk lies in [s²(1 − Q^−½)², s²(1 + Q^−½)²]. No
# WeightWatcher rescaling is applied.

# %% tags=["parameters"]
import os

SMOKE = os.environ.get("LOWRANK_SMOKE") == "1"
M_COLS = 64 if SMOKE else 256  # M: the smaller side of the noise matrices
ASPECTS = (1, 2, 4)
N_SEEDS = 3 if SMOKE else 10  # seeds per spike strength
STRENGTHS = ((0.0, 0.5, 1.0, 1.5, 2.0) if SMOKE
             else tuple(round(x, 2) for x in [0.0, *list(__import__("numpy").linspace(0.4, 2.4, 21))]))
OFFSET_SIZES = (32, 64) if SMOKE else (64, 128, 256, 512, 1024)  # M for the finite-size offset of the spike
OFFSET_STRENGTHS = (2.5,)  # theta / theta_BBP where the offset is measured
TW_DRAWS = 40 if SMOKE else 400  # pure-noise matrices for the Tracy-Widom histogram
PARETO_ALPHAS = (2.0, 3.0, 4.0, 6.0)
PARETO_SIZES = (256,) if SMOKE else (256, 1024, 4096)
PARETO_SEEDS = 3 if SMOKE else 5
FINGER_COUNTS = (1, 3) if SMOKE else (1, 3, 10)
FINGER_SCALES = (2.0, 50.0) if SMOKE else (1.5, 5.0, 50.0)  # fingers at scale..1.5 scale x the largest sample
N_DIM = 60 if SMOKE else 200  # side of the matrices in the subspace and intruder panels
INTRUDER_SEEDS = 3 if SMOKE else 10
INTRUDER_SIZES = 9 if SMOKE else 21  # update sizes on a log grid 0.05..4 sigma_1

# pass thresholds, fixed before the runs
EDGE_TOL = 0.05  # |fitted lambda_+ / theory - 1| (study design: "within a few percent")
MAX_FALSE_SPIKES = 0  # detected spikes in pure noise with the TW margin
ONSET_RANGE = (1.0, 1.5)  # 50 % detection onset in units of theta_BBP (finite-size shift above 1 allowed)
OFFSET_TOL = 0.02  # |lambda_top / BBP prediction - 1| at the largest M, single spike
OVERLAP_TOL = 0.05  # |mean simulated overlap^2 - theory| for theta >= 1.5 theta_BBP
TW_MEAN_TOL = 0.3  # |mean TW statistic - TW1 mean| in TW units
KS_MIN_P = 0.01  # Kolmogorov-Smirnov p-value against TW1
COVERAGE_MIN = 0.85  # share of clean fits with |alpha_hat - alpha| < 2 sigma (nominal 0.95)
FIX_Z_MAX = 1.0  # |mean z| after fix_fingers in every finger regime
PHI_SHARED_MIN = 0.9  # phi(i, j) for i, j <= 2 (shared directions)
ANGLE_TOL = 1e-10  # radians, ours vs scipy
BASELINE_SE = 3.0  # random phi within this many standard errors of max(i, j)/n

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import scipy.linalg
import scipy.stats
from IPython.display import HTML, Markdown, display
from matplotlib.ticker import MaxNLocator

from lowrank_lab import analysis, backend, spectral
from lowrank_lab.experiments import run_sweep
from lowrank_lab.matrices import low_rank_matrix
from lowrank_lab.plotting import PALETTE, plot_band, savefig, use_style
from lowrank_lab.spectral.trials import (
    INTRUDER_EPS_GRID,
    bbp_threshold,
    intruder_update_trial,
    pareto_powerlaw_trial,
    spiked_noise_matrix,
    spiked_noise_trial,
    spiked_overlap_trial,
    top_noise_eigenvalue_trial,
)

use_style()
xp = backend.get_namespace()
print(f"backend: {backend.backend_name(xp)}, smoke: {SMOKE}")
fmt = analysis.format_ci
VERDICTS = []  # rows of the verdict table (section 7)


def caption(name, text):
    """Figure caption under the figure: what is plotted, the setup, what to see, and the file name."""
    display(Markdown(f"*Figure `{name}` (figures/{name}.png, .pdf).* {text}"))


# %% [markdown]
# ## 1. Pure noise: the Marchenko–Pastur bulk
#
# Gaussian N × M matrices with unit-variance entries, M = `M_COLS` and Q ∈ `ASPECTS`.
# `fit_marchenko_pastur` estimates the variance by trimmed quantile matching (robust to
# a few spikes; documented in its docstring), places the edge λ₊, and adds a
# Tracy–Widom margin (Johnstone's scaling, 99.9% quantile) before counting spikes.

# %%
fig, axes = plt.subplots(1, len(ASPECTS), figsize=(10, 3.2))
edge_rows = []
for ax, q in zip(axes, ASPECTS):
    rng = np.random.default_rng(q)
    W = backend.asarray(rng.standard_normal((q * M_COLS, M_COLS)), xp=xp)
    eig = backend.to_numpy(spectral.esd(W))
    fit = spectral.fit_marchenko_pastur(W)
    lo, hi = spectral.marchenko_pastur_edge(q)
    grid = np.linspace(max(lo, 1e-3), hi, 400)
    heights, _, _ = ax.hist(eig, bins=40, density=True, color=PALETTE[5], alpha=0.6, label="ESD")
    ax.set_ylim(0, 1.3 * heights.max())  # the Q = 1 density diverges at 0
    ax.plot(grid, spectral.marchenko_pastur_density(grid, q), color=PALETTE[1], label=r"MP density ($s^2 = 1$)")
    ax.axvline(fit.threshold, color="0.2", ls="--", lw=1, label=r"$\lambda_+$ + TW margin (fitted)")
    ax.set(title=f"$Q = {q}$", xlabel=r"eigenvalue $\lambda$ of $W^{T}W/N$")
    edge_rows.append({"Q": q, "fitted variance": fit.variance, "fitted λ₊": fit.lambda_plus, "theory λ₊": hi,
                      "edge error %": 100 * (fit.lambda_plus / hi - 1), "λ_max": fit.lambda_max,
                      "spikes": fit.n_spikes})
axes[0].set_ylabel("density")
axes[0].legend(loc="upper right", fontsize=8)
fig.suptitle(f"ESD of pure Gaussian noise against Marchenko–Pastur (M = {M_COLS})", y=1.03)
savefig(fig, "04_mp_bulk")
plt.show()
edges = pd.DataFrame(edge_rows)
display(edges.round(4))
caption("04_mp_bulk", f"Histogram of the eigenvalues of WᵀW/N for one N × M Gaussian matrix (M = {M_COLS}, "
        f"N = QM, unit variance) per aspect ratio Q, with the Marchenko–Pastur density for s² = 1 (orange) and the "
        "fitted edge plus Tracy–Widom margin (dashed): the spike threshold. What to see: the histogram follows the "
        "density up to the edge and nothing crosses the threshold.")

# %% [markdown]
# ## 2. Noise plus spikes: eigenvalues, eigenvectors and the edge at finite size
#
# Three orthogonal spikes of strength θ are planted: W/√N = X/√N + θ Σ u_i v_iᵀ. In the
# large-matrix limit a spike leaves the bulk exactly when θ exceeds the BBP threshold
# θ_c = (M/N)^¼ (Baik, Ben Arous and Péché; rectangular form by Benaych-Georges and
# Nadakuditi), with eigenvalue (1 + θ²)(c + θ²)/θ², c = M/N, and the top eigenvector
# keeps a squared overlap (θ⁴ − c)/(θ²(θ² + c)) with the planted direction
# (`spectral.spiked_overlap`; 0 below θ_c). Below θ_c the top eigenvalue of pure noise
# fluctuates on the N^−⅔ scale around Johnstone's centre with the Tracy–Widom law TW₁
# (`spectral.tracy_widom_scaling`, `spectral.tracy_widom_density`). All sweeps run
# through `run_sweep` (cached in `data/sweeps/`).

# %%
q_spikes = 2
n_rows = q_spikes * M_COLS
theta_c = bbp_threshold(n_rows, M_COLS)
spikes = run_sweep(
    "04_spike_detection",
    {"n_rows": [n_rows], "n_cols": [M_COLS], "n_spikes": [3],
     "strength": [round(float(s) * theta_c, 4) for s in STRENGTHS]},
    spiked_noise_trial,
    seeds=N_SEEDS,
)
overlaps = run_sweep(
    "04_spike_overlap",
    {"n_rows": [n_rows], "n_cols": [M_COLS], "strength": [round(float(s) * theta_c, 4) for s in STRENGTHS]},
    spiked_overlap_trial,
    seeds=N_SEEDS,
)
offsets = run_sweep(
    "04_spike_offset",
    [{"n_rows": q_spikes * m, "n_cols": m, "n_spikes": 1,
      "strength": round(s * bbp_threshold(q_spikes * m, m), 4)} for m in OFFSET_SIZES for s in OFFSET_STRENGTHS],
    spiked_noise_trial,
    seeds=N_SEEDS,
)
tw = run_sweep("04_tracy_widom", {"n_rows": [n_rows], "n_cols": [M_COLS]}, top_noise_eigenvalue_trial,
               seeds=TW_DRAWS)

noise_only = spikes[spikes.theta_over_bbp == 0]
false_spikes = int(noise_only["n_detected"].sum())
edge_err = float((noise_only["lambda_plus"] / noise_only["lambda_plus_theory"] - 1).abs().max())
# detection onset: per seed, the fraction of the 3 spikes detected; 50 % crossing with a bootstrap CI over seeds
det = spikes.assign(frac=spikes.n_detected / spikes.n_spikes).pivot_table(
    index="theta_over_bbp", columns="seed", values="frac")
det = det[det.index > 0]
onset = analysis.transition_ci(det.index.to_numpy(), det.to_numpy(), level=0.5, log_x=False)
# three-spike eigenvalue offset (largest of three) and single-spike offset against M
above = spikes[spikes.theta_over_bbp > 0].assign(rel=lambda d: d.top_eigenvalue / d.spike_prediction - 1)
above_far = above[above.theta_over_bbp >= 1.5]
three_off = analysis.bootstrap_ci(above_far.rel.to_numpy())
offsets["M"] = offsets["n_cols"]
offsets["rel"] = offsets.top_eigenvalue / offsets.spike_prediction - 1
off_by_m = {m: analysis.bootstrap_ci(g.rel.to_numpy()) for m, g in offsets.groupby("M")}
m_small, m_big = min(off_by_m), max(off_by_m)
# overlaps
ov_far = overlaps[overlaps.theta_over_bbp >= 1.5]
ov_err = ov_far.groupby("theta_over_bbp").apply(
    lambda g: abs(g.overlap_columns.mean() - g.overlap_columns_theory.iloc[0]), include_groups=False)
ov_worst = float(ov_err.max())
# Tracy-Widom
z = tw.tw_statistic.to_numpy()
tw_s = np.linspace(-5.5, 5.5, 221)
tw_pdf = np.array([spectral.tracy_widom_density(s) for s in tw_s])
tw_mean_theory = float(np.sum(tw_s * tw_pdf) * (tw_s[1] - tw_s[0]))
tw_mean = analysis.bootstrap_ci(z)
ks = scipy.stats.kstest(z, lambda v: np.array([spectral.tracy_widom_cdf(float(np.clip(x, -8, 8))) for x in
                                               np.atleast_1d(v)]))

fig, axes = plt.subplots(2, 2, figsize=(10.5, 7.2))
ax = axes[0, 0]
plot_band(ax, spikes, "theta_over_bbp", "n_detected", label="detected (median, IQR over seeds)", marker="o", ms=3)
ax.step([0, 1, 1, spikes.theta_over_bbp.max()], [0, 0, 3, 3], where="post", color="0.3", lw=1, ls="--",
        label="large-$N$ limit")
ax.axvspan(onset.low, onset.high, color=PALETTE[1], alpha=0.15, lw=0, label="50 % onset, 95 % CI")
ax.set(xlabel=r"spike strength $\theta/\theta_{\mathrm{BBP}}$", ylabel="spikes detected (of 3)",
       title=f"(a) Detection ($N = {n_rows}$, $M = {M_COLS}$)")
ax.yaxis.set_major_locator(MaxNLocator(integer=True))
ax.legend(loc="upper left", fontsize=8)
ax = axes[0, 1]
plot_band(ax, above, "theta_over_bbp", "top_eigenvalue", label="largest eigenvalue (median, IQR)", marker="o", ms=3)
theory = above.groupby("theta_over_bbp")["spike_prediction"].first()
ax.plot(theory.index, theory.values, color="0.2", ls="--", lw=1, label="BBP limit")
ax.axhline(spikes["threshold"].median(), color=PALETTE[1], lw=1, ls=":", label="detection threshold")
ax.set(xlabel=r"spike strength $\theta/\theta_{\mathrm{BBP}}$", ylabel=r"top eigenvalue of $W^{T}W/N$",
       title="(b) Where the top spike sits")
ax.legend(fontsize=8)
ax = axes[1, 0]
plot_band(ax, overlaps, "theta_over_bbp", "overlap_columns", label=r"simulation $\langle\hat v, v\rangle^2$ (median, IQR)",
          marker="o", ms=3)
plot_band(ax, overlaps, "theta_over_bbp", "overlap_rows", label=r"simulation $\langle\hat u, u\rangle^2$",
          marker="s", ms=3, color=PALETTE[2])
th = np.linspace(0, overlaps.theta_over_bbp.max(), 300)
ax.plot(th, [spectral.spiked_overlap(t * theta_c, n_rows, M_COLS) for t in th], color="0.2", ls="--", lw=1,
        label="theory (columns, ESD side)")
ax.plot(th, [spectral.spiked_overlap(t * theta_c, n_rows, M_COLS, side="rows") for t in th], color="0.2", ls=":",
        lw=1, label="theory (rows)")
ax.set(xlabel=r"spike strength $\theta/\theta_{\mathrm{BBP}}$", ylabel="squared overlap with the planted direction",
       ylim=(-0.03, 1.03), title=f"(c) Eigenvector overlap (one spike, {N_SEEDS} seeds)")
ax.legend(fontsize=8)
ax = axes[1, 1]
ms = sorted(off_by_m)
est = np.array([off_by_m[m] for m in ms])
ax.errorbar(ms, 100 * est[:, 0], yerr=100 * np.abs(est[:, 1:].T - est[:, 0]), fmt="o-", ms=4, capsize=3,
            color=PALETTE[0], label=rf"one spike, $\theta = {OFFSET_STRENGTHS[0]:g}\,\theta_{{\mathrm{{BBP}}}}$ (mean, 95 % CI)")
ax.axhline(0, color="0.4", lw=0.8)
ax.set(xscale="log", xlabel="matrix size $M$ ($N = 2M$)", ylabel="top eigenvalue / BBP limit − 1 (%)",
       title="(d) Single-spike offset against $M$")
ax.set_xticks(ms, [str(m) for m in ms])
ax.xaxis.set_minor_formatter(plt.NullFormatter())
ax.legend(fontsize=8)
fig.tight_layout()
savefig(fig, "04_spike_detection")
plt.show()
caption("04_spike_detection",
        f"(a) Number of the 3 planted spikes that `fit_marchenko_pastur` detects against θ/θ_BBP (N = {n_rows}, "
        f"M = {M_COLS}, {N_SEEDS} seeds per strength; median and IQR), with the large-N step and the 95 % bootstrap "
        "interval of the 50 % onset. (b) The largest eigenvalue against the BBP limit (dashed). (c) Squared overlap of "
        "the top singular vectors with the planted ones (one spike) against the Benaych-Georges–Nadakuditi limit. "
        f"(d) Relative offset of a single spike's eigenvalue from the BBP limit at θ = {OFFSET_STRENGTHS[0]:g} θ_BBP "
        f"against M (N = 2M, {N_SEEDS} seeds). What to see: detection switches on just above θ_BBP, eigenvalue and "
        "overlap follow the limits above the threshold, and the offset of (b) is a finite-size effect that shrinks "
        "with M.")

# %%
fig, ax = plt.subplots(figsize=(6.4, 3.8))
ax.hist(z, bins=30, density=True, color=PALETTE[5], alpha=0.6, label=f"simulation ({len(z)} matrices)")
ax.plot(tw_s, tw_pdf, color=PALETTE[1], label=r"Tracy–Widom density $F_1'(s)$")
ax.axvline(spectral.tracy_widom_quantile(0.999), color="0.2", ls="--", lw=1, label="99.9 % quantile (TW margin)")
ax.set(xlabel=r"$s = (\lambda_{\max} - \mu_{NM}) / \sigma_{NM}$", ylabel="density",
       title=f"Top eigenvalue of pure noise ($N = {n_rows}$, $M = {M_COLS}$)")
ax.legend(fontsize=8)
savefig(fig, "04_tracy_widom")
plt.show()
caption("04_tracy_widom",
        f"Histogram of the largest eigenvalue of WᵀW/N for {len(z)} pure-noise matrices (N = {n_rows}, M = {M_COLS}), "
        "centred and scaled with Johnstone's μ_NM and σ_NM, against the Tracy–Widom (β = 1) density computed with "
        "Bornemann's Fredholm-determinant method; dashed: the 99.9 % quantile that `fit_marchenko_pastur` adds to the "
        "edge. What to see: the histogram follows TW₁, so the margin's false-spike rate is about 0.1 % per matrix.")

# %%
VERDICTS += [
    {"claim": "D-2: MP edge within a few percent", "statistic": "max |fitted λ₊ / theory − 1| over pure-noise draws",
     "estimate": f"{100 * edge_err:.2f} %", "threshold": f"≤ {100 * EDGE_TOL:g} %", "ok": edge_err <= EDGE_TOL},
    {"claim": "D-2: no false spikes on pure noise with the TW margin",
     "statistic": f"false spikes in {len(noise_only)} pure-noise matrices (Wilson 95 % CI of the rate)",
     "estimate": f"{false_spikes} ({fmt(false_spikes / len(noise_only), *analysis.wilson_interval(min(false_spikes, len(noise_only)), len(noise_only)))})",
     "threshold": f"≤ {MAX_FALSE_SPIKES}", "ok": false_spikes <= MAX_FALSE_SPIKES},
    {"claim": "D-2: detection switches on near the BBP threshold",
     "statistic": "θ/θ_BBP where half the spikes are detected (bootstrap over seeds)",
     "estimate": fmt(*onset[:3]), "threshold": f"CI within [{ONSET_RANGE[0]}, {ONSET_RANGE[1]}]",
     "ok": ONSET_RANGE[0] <= onset.low and onset.high <= ONSET_RANGE[1]},
    {"claim": "Top spike eigenvalue follows the BBP limit (finite-size offset vanishing with M)",
     "statistic": f"single-spike offset λ/λ_BBP − 1 at M = {m_big} (at M = {m_small})",
     "estimate": f"{fmt(*off_by_m[m_big])} ({fmt(*off_by_m[m_small])})",
     "threshold": f"|offset| ≤ {OFFSET_TOL} at M = {m_big} and smaller than at M = {m_small}",
     "ok": max(abs(off_by_m[m_big][1]), abs(off_by_m[m_big][2])) <= OFFSET_TOL
     and abs(off_by_m[m_big][0]) < abs(off_by_m[m_small][0])},
    {"claim": "Top eigenvector overlap follows the BBP overlap formula",
     "statistic": "max over θ ≥ 1.5 θ_BBP of |mean simulated overlap² − theory|",
     "estimate": f"{ov_worst:.3f}", "threshold": f"≤ {OVERLAP_TOL}", "ok": ov_worst <= OVERLAP_TOL},
    {"claim": "Top noise eigenvalue follows Tracy–Widom (β = 1)",
     "statistic": f"mean of the TW statistic (TW₁ mean {tw_mean_theory:.3f}); KS p-value",
     "estimate": f"{fmt(*tw_mean)}; p = {ks.pvalue:.2g}",
     "threshold": f"|mean − TW₁ mean| ≤ {TW_MEAN_TOL} and p ≥ {KS_MIN_P}",
     "ok": abs(tw_mean[0] - tw_mean_theory) <= TW_MEAN_TOL and ks.pvalue >= KS_MIN_P},
]
r = 100 * three_off[0]
display(Markdown(
    f"**What the figures show.** The fitted edge is within {100 * edge_err:.2f} % of (1 + Q^−½)² over the "
    f"{len(noise_only)} pure-noise draws and {'no' if false_spikes == 0 else false_spikes} false spike"
    f"{'' if false_spikes == 1 else 's'} appear once the Tracy–Widom margin is added. Half of the planted spikes are "
    f"detected from θ/θ_BBP = {fmt(*onset[:3])} (95 % bootstrap CI): at finite N a spike just past θ_BBP sits within "
    f"a TW margin of the edge, so detection needs θ a little larger. Above 1.5 θ_BBP the largest eigenvalue lies "
    f"{r:+.1f} % (CI {100 * three_off[1]:+.1f} to {100 * three_off[2]:+.1f} %) from the BBP limit in panel (b). "
    "That offset is systematic, not noise, and has two finite-size sources: the BBP formula is the N → ∞ limit "
    "(spiked eigenvalues fluctuate on the N^−½ scale with an O(1/N) bias), and panel (b) plots the *largest* of three "
    "spikes of equal strength, whose expectation exceeds that of one spike by about the size of those fluctuations. "
    f"Panel (d) isolates the first source: with one spike at θ = {OFFSET_STRENGTHS[0]:g} θ_BBP the offset is "
    f"{fmt(*[100 * v for v in off_by_m[m_small]])} % at M = {m_small} and {fmt(*[100 * v for v in off_by_m[m_big]])} % "
    f"at M = {m_big}" + (f", and {fmt(*[100 * v for v in off_by_m[M_COLS]])} % at M = {M_COLS}, the size of panel (b), "
                         "so most of panel (b)'s offset comes from plotting the largest of three spikes"
                         if M_COLS in off_by_m else "")
    + f". The eigenvector overlap follows the Benaych-Georges–Nadakuditi formula to within {ov_worst:.3f} "
    "(panel c) above 1.5 θ_BBP; near the threshold the simulation stays above the limit, which is 0 below θ_BBP "
    f"while a finite matrix keeps an overlap of order M^−⅓. The top noise eigenvalue, centred and scaled, has mean "
    f"{fmt(*tw_mean)} against TW₁'s {tw_mean_theory:.3f} (Kolmogorov–Smirnov p = {ks.pvalue:.2g}). Spikes below θ_BBP "
    "are invisible to *any* spectral method in the limit, not a weakness of this fit."))

# %% [markdown]
# ## 3. Power-law tails: α̂ ± σ_α, and fingers of several sizes and counts
#
# Eigenvalues drawn from a Pareto law with density ∝ λ^−α (λ ≥ 1), α ∈ `PARETO_ALPHAS`,
# n ∈ `PARETO_SIZES`. `powerlaw_alpha` is the Clauset–Shalizi–Newman MLE with the
# KS-chosen x_min, as WeightWatcher fits it; σ_α = (α̂ − 1)/√n_tail. Then "fingers" are
# appended — `FINGER_COUNTS` outliers spread over `FINGER_SCALES` to 1.5 × that scale
# times the largest sample — and the fit is redone with and without `fix_fingers=True`
# (drop the top eigenvalues that fail a Rényi log-spacing test, refit a power law
# truncated at the largest kept value).

# %%
pareto = run_sweep(
    "04_powerlaw_alpha",
    [{"alpha": a, "n": n, "n_fingers": 0} for a in PARETO_ALPHAS for n in PARETO_SIZES]
    + [{"alpha": a, "n": n, "n_fingers": c, "finger_scale": s}
       for a in PARETO_ALPHAS for n in PARETO_SIZES for c in FINGER_COUNTS for s in FINGER_SCALES],
    pareto_powerlaw_trial,
    seeds=PARETO_SEEDS,
)
clean = pareto[pareto.n_fingers == 0]
fingers = pareto[pareto.n_fingers > 0]
cover_k = int((clean["z_plain"].abs() < 2).sum())
coverage = (cover_k / len(clean), *analysis.wilson_interval(cover_k, len(clean)))
regimes = []
for (c, s), g in fingers.groupby(["n_fingers", "finger_scale"]):
    regimes.append({"fingers": int(c), "scale": s, "z plain": analysis.bootstrap_ci(g.z_plain.to_numpy()),
                    "z fixed": analysis.bootstrap_ci(g.z_fixed.to_numpy()),
                    "found": g.n_fingers_found.mean()})
reg = pd.DataFrame(regimes)
reg["bias"] = ["up" if zp[1] > 0 else "down" if zp[2] < 0 else "none" for zp in reg["z plain"]]

fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), gridspec_kw={"width_ratios": [1.2, 1, 1]})
offs = dict(zip(PARETO_SIZES, np.linspace(-0.15, 0.15, len(PARETO_SIZES)) if len(PARETO_SIZES) > 1 else [0.0]))
for n_size, color in zip(PARETO_SIZES, PALETTE):
    sub = clean[clean.n == n_size].groupby("alpha_true")[["alpha_hat", "sigma"]].median()
    axes[0].errorbar(sub.index + offs[n_size], sub["alpha_hat"], yerr=2 * sub["sigma"], fmt="o", ms=4,
                     capsize=2, color=color, label=f"$n = {n_size}$")
lim = [1.5, max(PARETO_ALPHAS) + 0.5]
axes[0].plot(lim, lim, color="0.4", lw=1, ls=":", label=r"$\hat\alpha = \alpha$")
axes[0].set(xlabel=r"true $\alpha$", ylabel=r"$\hat\alpha$ (median over seeds) $\pm 2\sigma_\alpha$",
            title="(a) Clean power laws")
axes[0].legend(fontsize=8)
for ax, col, title in ((axes[1], "z plain", "(b) plain fit"), (axes[2], "z fixed", "(c) with fix_fingers")):
    mat = reg.pivot(index="fingers", columns="scale", values=col).map(lambda t: t[0])
    im = ax.imshow(mat.to_numpy(), cmap="RdBu_r", vmin=-6, vmax=6, origin="lower", aspect="auto")
    ax.set_xticks(range(mat.shape[1]), [f"{s:g}×" for s in mat.columns])
    ax.set_yticks(range(mat.shape[0]), [str(c) for c in mat.index])
    for (i, j), v in np.ndenumerate(mat.to_numpy()):
        ax.text(j, i, f"{v:+.1f}", ha="center", va="center", fontsize=9)
    ax.set(xlabel="finger size (× largest sample)", title=title)
    ax.grid(False)
axes[1].set_ylabel("number of fingers")
fig.colorbar(im, ax=axes[1:], label=r"mean $(\hat\alpha - \alpha)/\sigma_\alpha$")
savefig(fig, "04_powerlaw")
plt.show()
caption("04_powerlaw",
        f"(a) α̂ ± 2σ_α (median over {PARETO_SEEDS} seeds) against the true α for clean Pareto samples of size n. "
        "(b, c) Mean standardized error (α̂ − α)/σ_α over all α, n and seeds, for each number and size of appended "
        "fingers, without and with `fix_fingers=True` (blue: α̂ too small, red: too large). What to see: clean fits "
        "are calibrated; fingers pull α̂ down, more so the more and the larger they are; the fix brings the regimes "
        "whose fingers stand clear of the tail back near 0, not those at 1.5×.")

# %%
shown = reg.assign(**{"z plain": reg["z plain"].map(lambda t: fmt(*t)), "z fixed": reg["z fixed"].map(lambda t: fmt(*t))})
display(shown.rename(columns={"found": "fingers found (mean)"}).round(2))
worst_fixed = max(max(abs(t[1]), abs(t[2])) for t in reg["z fixed"])
up = reg[reg.bias == "up"]
down = reg[reg.bias == "down"]
none_ = reg[reg.bias == "none"]
VERDICTS += [
    {"claim": "D-3: α̂ within 2σ_α of the truth (clean)", "statistic": f"share of {len(clean)} clean fits within 2σ_α",
     "estimate": fmt(*coverage), "threshold": f"≥ {COVERAGE_MIN} (nominal 0.95)", "ok": coverage[0] >= COVERAGE_MIN},
    {"claim": "D-3: fingers bias α̂ upwards", "statistic": "regimes (count × size) with mean z CI > 0 / < 0 / containing 0",
     "estimate": f"{len(up)} / {len(down)} / {len(none_)} of {len(reg)}", "threshold": "upward bias (CI > 0) in every regime",
     "ok": len(up) == len(reg), "note": "measured direction: " + ("downwards" if len(down) else "none")},
    {"claim": "D-3: fix_fingers removes the bias", "statistic": "largest |CI end| of mean z after the fix over regimes",
     "estimate": f"{worst_fixed:.2f}", "threshold": f"≤ {FIX_Z_MAX}", "ok": worst_fixed <= FIX_Z_MAX},
]
fixed_ok = reg[[max(abs(t[1]), abs(t[2])) <= FIX_Z_MAX for t in reg["z fixed"]]]
fixed_bad = reg.drop(fixed_ok.index)
VERDICTS[-1]["note"] = (f"met in {len(fixed_ok)} of {len(reg)} regimes; fails for "
                        + ", ".join(f"{int(r_.fingers)} at {r_.scale:g}×" for _, r_ in fixed_bad.iterrows())
                        if len(fixed_bad) else "met in every regime")
bad_txt = ", ".join(f"{int(r_.fingers)} at {r_.scale:g}×: {fmt(*r_['z fixed'])}" for _, r_ in fixed_bad.iterrows())
fix_txt = (f"`fix_fingers=True` brings {len(fixed_ok)} of {len(reg)} regimes within |mean z| ≤ {FIX_Z_MAX:g} (CI ends): "
           + ", ".join(f"{int(r_.fingers)} at {r_.scale:g}×" for _, r_ in fixed_ok.iterrows()) + ". "
           + (f"It fails where the fingers are barely larger than the tail ({bad_txt}): "
              "the Rényi log-spacing test finds only part of them (see 'fingers found'), so the pre-set criterion "
              "over the whole grid is not met — the fix works for fingers well separated from the tail."
              if len(fixed_bad) else "The fix works in every regime tested."))
txt_regime = "; ".join(f"{int(r_.fingers)} finger{'s' if r_.fingers > 1 else ''} at {r_.scale:g}×: {fmt(*r_['z plain'])}"
                       for _, r_ in reg.iterrows())
display(Markdown(
    f"**What the figure shows.** On clean Pareto samples α̂ ± 2σ_α covers the truth in {100 * coverage[0]:.0f} % of "
    f"{len(clean)} fits (Wilson CI {100 * coverage[1]:.0f}–{100 * coverage[2]:.0f} %, nominal 95 %), with σ_α "
    f"shrinking like 1/√n. With fingers, the mean standardized error per regime is: {txt_regime}. So the bias is "
    f"**downwards** in {len(down)} of {len(reg)} regimes, indistinguishable from 0 in {len(none_)} and upwards in "
    f"{len(up)}: the study design's *upward* bias is not reproduced in any regime tested here (counts {list(FINGER_COUNTS)}, "
    f"sizes {list(FINGER_SCALES)} × the largest sample, n {list(PARETO_SIZES)}). Added huge values increase "
    "Σ ln(λ/x_min) while the KS scan keeps a low x_min, so the plain MLE flattens; a single small finger barely "
    "moves it. The upward bias seen by WeightWatcher on real ESDs needs the KS scan to jump to a tiny tail made "
    "mostly of fingers, which these clean samples do not produce — the verdict holds for that regime only. "
    + fix_txt))

# %% [markdown]
# ## 4. What each metric sees and misses
#
# Five 2M × M matrices with the same Frobenius norm and the metrics of the suite. The
# rank-like numbers are divided by M so that 1 means "full"; the spike count and the
# power-law α are not fractions and get their own panel.

# %%
m_rows, m_cols = 2 * M_COLS, M_COLS
rng = np.random.default_rng(7)
cases = {
    "MP noise": spiked_noise_matrix(m_rows, m_cols, 0, 0.0, rng),
    "noise + 3 spikes": spiked_noise_matrix(m_rows, m_cols, 3, 2.0 * theta_c, rng),
    "low rank 5": backend.to_numpy(low_rank_matrix(m_rows, m_cols, 5, rng=1).matrix),
    "low rank 5 + noise": backend.to_numpy(low_rank_matrix(m_rows, m_cols, 5, rng=1).matrix)
    + 0.1 / np.sqrt(m_rows) * rng.standard_normal((m_rows, m_cols)),
    "power law σᵢ = 1/i": backend.to_numpy(
        low_rank_matrix(m_rows, m_cols, m_cols, spectrum=1.0 / np.arange(1, m_cols + 1), rng=2).matrix),
}


def alpha_or_nan(W):
    """Power-law α, or NaN where the ESD has no tail to fit (a rank-5 matrix has 5 eigenvalues)."""
    try:
        return spectral.powerlaw_alpha(W).alpha
    except ValueError:
        return float("nan")


rows = []
for name, W in cases.items():
    W = W / np.linalg.norm(W)
    Wx = backend.asarray(W, xp=xp)
    mp = spectral.fit_marchenko_pastur(Wx)
    rows.append({
        "matrix": name,
        "effective rank / M": spectral.effective_rank(Wx) / m_cols,
        "stable rank / M": spectral.stable_rank(Wx) / m_cols,
        "participation ratio / M": spectral.participation_ratio(Wx) / m_cols,
        "numerical rank / M": spectral.numerical_rank(Wx) / m_cols,
        "energy rank 0.9 / M": spectral.energy_rank(Wx) / m_cols,
        "spectral entropy": spectral.spectral_entropy(Wx),
        "MP spikes": mp.n_spikes,
        "power-law α": alpha_or_nan(Wx),
    })
metrics = pd.DataFrame(rows).set_index("matrix")

fig, axes = plt.subplots(1, 2, figsize=(11.5, 3.9), gridspec_kw={"width_ratios": [6, 2]})
ax = axes[0]
show = metrics.drop(columns=["MP spikes", "power-law α"])
im = ax.imshow(show.to_numpy(), cmap="viridis", vmin=0, vmax=1, aspect="auto")
ax.set_xticks(range(show.shape[1]), show.columns, rotation=25, ha="right")
ax.set_yticks(range(show.shape[0]), show.index)
for (r_i, c_i), v in np.ndenumerate(show.to_numpy()):
    ax.text(c_i, r_i, f"{v:.2f}", ha="center", va="center", fontsize=8, color="w" if v < 0.6 else "k")
fig.colorbar(im, ax=ax, label="fraction of full rank (entropy: normalized)")
ax.set_title(f"Same Frobenius norm, different spectra ({m_rows} × {m_cols})")
ax.grid(False)
ax = axes[1]
counts = metrics[["MP spikes", "power-law α"]]
ax.imshow(np.zeros(counts.shape), cmap="Greys", vmin=0, vmax=1, aspect="auto")
for (r_i, c_i), v in np.ndenumerate(counts.to_numpy()):
    ax.text(c_i, r_i, "n/a" if np.isnan(v) else (f"{int(v)}" if c_i == 0 else f"{v:.2f}"), ha="center",
            va="center", fontsize=9)
ax.set_xticks(range(2), ["MP spikes", "power-law α"], rotation=25, ha="right")
ax.set_yticks(range(counts.shape[0]), [""] * counts.shape[0])
ax.set_title("counts and fits")
ax.grid(False)
savefig(fig, "04_metric_matrix")
plt.show()
display(metrics.round(3))
caption("04_metric_matrix",
        f"Left: rank-like metrics divided by M = {m_cols} (colour and number) for five {m_rows} × {m_cols} matrices "
        "normalized to unit Frobenius norm. Right: the number of eigenvalues above the fitted MP edge plus TW margin, "
        "and the power-law α of the ESD (n/a: no tail to fit). What to see: each metric answers a different "
        "question — see the reading below.")

# %%
mx = metrics
drop = lambda col: 100 * (1 - mx.loc["noise + 3 spikes", col] / mx.loc["MP noise", col])  # noqa: E731
display(Markdown(
    "**Reading the table** (numbers from the table above).\n"
    f"* *Numerical rank* sees only round-off: \"low rank 5 + noise\" is {mx.loc['low rank 5 + noise', 'numerical rank / M']:.2f} "
    f"of full rank to it, although its 0.9-energy rank is {mx.loc['low rank 5 + noise', 'energy rank 0.9 / M']:.3f} M. "
    "ε-rank and energy rank fix this with an explicit threshold.\n"
    f"* *σ²-based metrics are dominated by the top directions*: adding three spikes to pure noise cuts the stable rank "
    f"from {mx.loc['MP noise', 'stable rank / M']:.3f} to {mx.loc['noise + 3 spikes', 'stable rank / M']:.3f} "
    f"({drop('stable rank / M'):.0f} % less) but the participation ratio only from "
    f"{mx.loc['MP noise', 'participation ratio / M']:.3f} to {mx.loc['noise + 3 spikes', 'participation ratio / M']:.3f} "
    f"({drop('participation ratio / M'):.0f} % less; it weighs the whole bulk's σ⁴, the stable rank only σ₁²), while "
    f"the σ-based *effective rank* moves by {drop('effective rank / M'):.1f} % — it counts the bulk.\n"
    f"* *Spectral entropy* is normalized by ln(rank): the exactly rank-5 matrix with equal singular values scores "
    f"{mx.loc['low rank 5', 'spectral entropy']:.2f}, \"maximally spread\" within its own rank. It measures flatness, not rank.\n"
    f"* *MP spikes* separates signal from noise by a statistical test: {int(mx.loc['MP noise', 'MP spikes'])} on pure noise, "
    f"{int(mx.loc['noise + 3 spikes', 'MP spikes'])} with three planted spikes, "
    f"{int(mx.loc['low rank 5 + noise', 'MP spikes'])} for rank 5 plus noise; for the exactly rank-5 matrix (no bulk, "
    "`method=\"rank-deficient\"`) every non-zero eigenvalue counts.\n"
    f"* *Power-law α* returns a number for any spectrum with a tail, pure noise included (α = "
    f"{mx.loc['MP noise', 'power-law α']:.2f} there); it should be read together with the MP fit (HT-SR's "
    "\"random-like\" layers are those whose ESD fits MP). For the exactly rank-5 matrix there is no tail to fit: "
    "`powerlaw_alpha` raises rather than invent one, shown as n/a."))

# %% [markdown]
# ## 5. Subspace similarity (LoRA's φ) and principal angles
#
# φ(U₁, U₂, i, j) = ‖U₁^{(i)ᵀ}U₂^{(j)}‖²_F / min(i, j), on the top-i and top-j singular
# directions. As in LoRA §7 (Fig. 3: the top directions of adapters trained with r = 8
# and r = 64 coincide, the rest are noise), two rank-8 "adapters" A₁, A₂ ∈ ℝ^{8×n} share
# a 2-dimensional subspace that carries most of their energy: the shared rows have norms
# 10 and 8, the six independent rows have i.i.d. N(0, 1/n) entries (norm ≈ 1), and A₂'s
# copy of the shared rows is perturbed by 5 % noise. We also check our principal angles
# against `scipy.linalg.subspace_angles` and the random baseline E φ = max(i, j)/n.

# %%
n = N_DIM
rng = np.random.default_rng(3)
shared = np.linalg.qr(rng.standard_normal((n, 2)))[0] * [10.0, 8.0]  # columns: the shared directions
A1 = np.hstack([shared, rng.standard_normal((n, 6)) / np.sqrt(n)]).T  # rows: 8 x n
A2 = np.hstack([shared + 0.05 * np.linalg.norm(shared, axis=0) * rng.standard_normal((n, 2)) / np.sqrt(n),
                rng.standard_normal((n, 6)) / np.sqrt(n)]).T
row_norms = np.linalg.norm(A1, axis=1)
U1 = spectral.singular_vectors(backend.asarray(A1, xp=xp), side="right")
U2 = spectral.singular_vectors(backend.asarray(A2, xp=xp), side="right")
phi = backend.to_numpy(spectral.subspace_similarity_grid(U1, U2))

ours = np.sort(backend.to_numpy(spectral.principal_angles(U1, U2)))
ref = np.sort(scipy.linalg.subspace_angles(backend.to_numpy(U1), backend.to_numpy(U2)))
angle_err = float(np.abs(ours - ref).max())

draws = []
for seed in range(200 if not SMOKE else 40):
    g = np.random.default_rng(100 + seed)
    Ra = np.linalg.qr(g.standard_normal((n, 8)))[0]
    Rb = np.linalg.qr(g.standard_normal((n, 8)))[0]
    draws.append([spectral.subspace_similarity(Ra, Rb, i, j) for i, j in [(1, 1), (2, 8), (8, 8)]])
draws = pd.DataFrame(draws, columns=["φ(1,1)", "φ(2,8)", "φ(8,8)"])
expected = pd.Series([1 / n, 8 / n, 8 / n], index=draws.columns)
base_tab = pd.DataFrame({"mean over random draws": draws.mean(), "standard error": draws.sem(),
                         "max(i, j)/n": expected})
base_tab["z"] = (base_tab["mean over random draws"] - base_tab["max(i, j)/n"]) / base_tab["standard error"]
display(base_tab.round(4))

fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
im = axes[0].imshow(phi, origin="lower", cmap="magma", vmin=0, vmax=1,
                    extent=[0.5, phi.shape[1] + 0.5, 0.5, phi.shape[0] + 0.5])
for (i, j), v in np.ndenumerate(phi):
    axes[0].text(j + 1, i + 1, f"{v:.2f}", ha="center", va="center", fontsize=8, color="w" if v < 0.5 else "k")
axes[0].set(xlabel=r"$j$ (top-$j$ directions of $A_2$)", ylabel=r"$i$ (top-$i$ directions of $A_1$)",
            title=r"$\phi(A_1, A_2, i, j)$")
axes[0].set_xticks(range(1, 9))
axes[0].set_yticks(range(1, 9))
axes[0].grid(False)
fig.colorbar(im, ax=axes[0], label=r"$\phi$")
axes[1].plot(range(1, 9), np.degrees(ours), "o-", ms=4, label="lowrank_lab")
axes[1].plot(range(1, 9), np.degrees(ref), "x", ms=7, color=PALETTE[1], label="scipy.linalg.subspace_angles")
axes[1].set(xlabel="principal angle index", ylabel="principal angle (degrees)",
            title="Principal angles between the row spaces")
axes[1].xaxis.set_major_locator(MaxNLocator(integer=True))
axes[1].legend(fontsize=8)
savefig(fig, "04_subspace_similarity")
plt.show()
caption("04_subspace_similarity",
        f"Left: LoRA's normalized subspace similarity φ(i, j) between the top-i right singular vectors of A₁ and the "
        f"top-j of A₂ (8 × {n} each; two shared directions of row norms 10 and 8, six independent rows of norm ≈ 1). "
        "Right: the principal angles between the two 8-dimensional row spaces, ours and SciPy's. What to see: φ ≈ 1 "
        "in the 2 × 2 corner of the shared directions and near the random level beyond; the angles agree to round-off.")

# %%
corner = float(phi[:2, :2].min())
beyond = float(phi[2:, 2:].max())
base_ok = bool((base_tab["z"].abs() <= BASELINE_SE).all())
VERDICTS += [
    {"claim": "D-4: φ finds the shared top directions (LoRA Fig. 3 pattern)", "statistic": "min φ(i, j) for i, j ≤ 2",
     "estimate": f"{corner:.3f}", "threshold": f"≥ {PHI_SHARED_MIN}", "ok": corner >= PHI_SHARED_MIN},
    {"claim": "D-4: principal angles agree with SciPy", "statistic": "max |ours − scipy| (rad)",
     "estimate": f"{angle_err:.1e}", "threshold": f"≤ {ANGLE_TOL:g}", "ok": angle_err <= ANGLE_TOL},
    {"claim": "D-4: random baseline E φ = max(i, j)/n", "statistic": "largest |z| of the mean over draws",
     "estimate": f"{base_tab['z'].abs().max():.2f}", "threshold": f"≤ {BASELINE_SE} standard errors", "ok": base_ok},
]
display(Markdown(
    f"**What the figure shows.** The shared rows dominate A₁ (row norms {', '.join(f'{v:.2f}' for v in row_norms)}), "
    f"so its top two right singular vectors are the shared directions: φ(1,1) = {phi[0, 0]:.3f}, "
    f"φ(2,2) = {phi[1, 1]:.3f}, and the whole 2 × 2 corner is ≥ {corner:.3f} — the pattern of LoRA's Figure 3. Beyond "
    f"the shared block φ(i, j) falls as min(i, j) grows: φ(8,8) = {phi[7, 7]:.3f}, close to the 2/8 that two shared "
    f"out of eight directions give, and the largest φ with both i, j > 2 is {beyond:.3f}. The principal angles agree "
    f"with SciPy to {angle_err:.1e} rad, and the averaged random φ is within {base_tab['z'].abs().max():.1f} standard "
    f"errors of max(i, j)/n."))

# %% [markdown]
# ## 6. Intruder dimensions on constructed updates
#
# A "pretrained" W₀ = U₀ diag(σ) V₀ᵀ (n × n, n = `N_DIM`) with a power-law spectrum
# σ_i = i^−1 and three updates of growing Frobenius norm
# (`spectral.trials.intruder_update_trial`, `INTRUDER_SEEDS` seeds each: a new random
# update per seed, W₀ fixed):
# * **random rank one**, ΔW = λ v wᵀ with random unit v, w — the paper's proposed cause (a);
# * **aligned rank one**, ΔW = λ u₁ v₁ᵀ along W₀'s own top direction (the same for every seed);
# * **dense, full-rank** Gaussian ΔW of the same Frobenius norm (a crude stand-in for
#   full fine-tuning, whose updates are high rank).
#
# A tuned singular vector u_j (among the top k = 10) is an intruder when its largest
# |cosine| with every singular vector of W₀ is below ε = 0.5.

# %%
sizes = [round(float(s), 4) for s in np.geomspace(0.05, 4.0, INTRUDER_SIZES)]
intr = run_sweep("04_intruders", {"n": [N_DIM], "update": ["random rank one", "aligned rank one", "dense full rank"],
                                  "size": sizes}, intruder_update_trial, seeds=INTRUDER_SEEDS)
sigma0 = 1.0 / np.arange(1, N_DIM + 1)
EPS_SIZES = (0.5, 1.5, 3.0)
eps_cols = [f"intruders_eps{e:.2f}" for e in INTRUDER_EPS_GRID]

fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.8))
styles = {"random rank one": ("o", "-", 0.0), "aligned rank one": ("s", "--", -0.08), "dense full rank": ("^", ":", 0.08)}
for (kind, (marker, ls, dy)), color in zip(styles.items(), PALETTE):
    sub = intr[intr["update"] == kind]
    s = analysis.seed_summary(sub, "size", "intruders", spread="range")
    axes[0].plot(s["size"], s["center"] + dy, marker=marker, ls=ls, ms=4, color=color, label=f"{kind} (median)")
    axes[0].fill_between(s["size"], s["low"] + dy, s["high"] + dy, color=color, alpha=0.15, lw=0)
axes[0].axvline(1.0, color="0.4", ls=":", lw=1)
axes[0].axvline(sigma0[9], color=PALETTE[0], ls=":", lw=1)
axes[0].text(sigma0[9] * 1.05, 6.5, r"$\sigma_{10}$", color=PALETTE[0], fontsize=9)
axes[0].text(1.05, 6.5, r"$\sigma_1$", color="0.3", fontsize=9)
axes[0].set(xscale="log", xlabel=r"update size $\|\Delta W\|_F / \sigma_1(W_0)$",
            ylabel=r"intruders among top 10 ($\varepsilon = 0.5$)",
            title=f"Which updates intrude ({INTRUDER_SEEDS} seeds, band: min–max)")
axes[0].yaxis.set_major_locator(MaxNLocator(integer=True))
axes[0].legend(fontsize=8, loc="upper left")
rand = intr[intr["update"] == "random rank one"]
for lam, color, ls, dy in zip(EPS_SIZES, PALETTE, ("-", "--", ":"), (-0.06, 0.0, 0.06)):
    near = min(sizes, key=lambda s_: abs(np.log(s_ / lam)))
    sub = rand[rand["size"] == near][eps_cols]
    axes[1].step(INTRUDER_EPS_GRID, sub.median().to_numpy() + dy, where="mid", color=color, ls=ls,
                 label=rf"random rank one, $\lambda = {near:.2g}\,\sigma_1$ (median)")
    axes[1].fill_between(INTRUDER_EPS_GRID, sub.min().to_numpy() + dy, sub.max().to_numpy() + dy, step="mid",
                         color=color, alpha=0.12, lw=0)
axes[1].set(xlabel=r"threshold $\varepsilon$", ylabel="intruders among top 10", title=r"Count against $\varepsilon$")
axes[1].yaxis.set_major_locator(MaxNLocator(integer=True))
axes[1].legend(fontsize=8)
savefig(fig, "04_intruders")
plt.show()
caption("04_intruders",
        f"Left: number of intruder dimensions (ε = 0.5, top k = 10) of W₀ + ΔW against the update size, for a random "
        f"rank-one, an aligned rank-one and a dense Gaussian update (W₀: {N_DIM} × {N_DIM}, σ_i = 1/i; median and "
        f"min–max over {INTRUDER_SEEDS} seeds; the curves are offset vertically by ±0.08 so that the two that sit at 0 "
        "stay visible). Right: the count against ε for random rank-one updates of three sizes (median and min–max; "
        "offset by ±0.06, since the medians coincide). What to see: a random "
        "rank-one update intrudes once it enters the top-10 window of W₀'s spectrum; the aligned one never does; the "
        "dense one only when it is several times σ₁.")

# %%
window = rand[rand["size"] > sigma0[9]]
cnt = window.intruders.value_counts().sort_index()
share_one = float((window.intruders == 1).mean())
zeros = window[window.intruders == 0]
big = rand[rand["size"] > 1.2]
every_seed = bool((big.groupby("seed").intruders.min() >= 1).all())
aligned_max = int(intr[intr["update"] == "aligned rank one"].intruders.max())
onsets = intr[intr.intruders > 0].groupby("update")["size"].min()
dense = intr[intr["update"] == "dense full rank"]
dense_onset = float(dense[dense.intruders > 0]["size"].min()) if (dense.intruders > 0).any() else float("nan")
dense_max = int(dense.intruders.max())
one_ci = analysis.wilson_interval(int((window.intruders == 1).sum()), len(window))
VERDICTS.append({
    "claim": "E1 (a): a random rank-one update larger than W₀'s singular values creates intruders; an aligned one does not",
    "statistic": "seeds with ≥ 1 intruder for every size > 1.2 σ₁; max count of the aligned update",
    "estimate": f"{int((big.groupby('seed').intruders.min() >= 1).sum())}/{big.seed.nunique()}; {aligned_max}",
    "threshold": "all seeds; 0", "ok": every_seed and aligned_max == 0})
zero_txt = (f" The count is 0 in {len(zeros)} of these runs, at sizes {sorted(set(np.round(zeros['size'], 2)))} σ₁, "
            "where the update is comparable to one of W₀'s own singular values (σ_i = 1/i is dense there): a likely "
            "reading, not tested further here, is that the tuned top vector then mixes the update direction with a "
            "pretrained one and keeps a cosine above ε with it. So the count is not 'exactly one' everywhere."
            if len(zeros) else "")
display(Markdown(
    f"**What the figure shows.** Above σ₁₀ the random rank-one update has exactly one intruder in "
    f"{100 * share_one:.0f} % of the {len(window)} (seed, size) runs (Wilson CI {100 * one_ci[0]:.0f}–"
    f"{100 * one_ci[1]:.0f} %); the counts are {cnt.to_dict()}.{zero_txt} Above 1.2 σ₁ every seed has at least one "
    f"intruder: the new top singular vector points in a direction no pretrained singular vector resembles. The "
    f"study design's claim (\"larger than W's singular values already creates intruders\") is "
    f"**{'reproduced' if every_seed and aligned_max == 0 else 'not reproduced'}**, and the threshold is lower than "
    f"stated: the first intruder appears at size {onsets.get('random rank one', float('nan')):.3g} σ₁, inside the top-10 "
    f"window (σ₁₀ = {sigma0[9]:.2f} σ₁). Along W₀'s own top direction the same update never intrudes (max count "
    f"{aligned_max}). A dense Gaussian update of equal Frobenius norm spreads over all n directions (its spectral "
    f"norm is only about 2/√n of its Frobenius norm), so it first intrudes at size {dense_onset:.3g} σ₁ and then "
    f"rotates up to {dense_max} of the top 10 at once. Intruders are the signature of an update that is *low rank "
    "and large relative to the spectrum*, which is LoRA's regime. The count grows with ε (right), which is why the "
    "suite plots the count against ε rather than quoting one threshold."))

# %% [markdown]
# ## 7. Verdicts
#
# One row per claim: the statistic, its estimate with a 95 % interval where it has one
# (bootstrap over seeds, or Wilson for proportions), the threshold fixed in the parameter
# cell before the runs, and the verdict (`lowrank_lab.analysis.verdict_table`).

# %%
verdicts = analysis.verdict_table(VERDICTS)
with pd.option_context("display.max_colwidth", None):
    display(HTML(verdicts.to_html(index=False)))
n_ok = int((verdicts.verdict == "REPRODUCED").sum())
display(Markdown(
    f"**Take-aways.** {n_ok} of {len(verdicts)} claims are reproduced. The MP fit is accurate at the edge and, with "
    "the Tracy–Widom margin, silent on pure noise; detection starts slightly above the BBP threshold at finite size, "
    "and the eigenvalue, eigenvector-overlap and Tracy–Widom laws behind it hold to the printed precision. The "
    "power-law MLE is calibrated on clean tails; fingers bias it — downwards in every regime tested here, against the "
    "study design's 'upwards' — and `fix_fingers=True` repairs it when the fingers stand well clear of the tail, not when "
    "they are barely larger than its largest sample. No single rank metric is \"the\" rank: σ-based effective "
    "rank counts the bulk, σ²-based metrics count the top, and only the MP test separates signal from noise."))
