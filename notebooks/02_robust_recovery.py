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
# # 02 · Robust recovery with an ℓ1 loss: small initialization, outliers, over-parameterization
#
# **Question.** Does the sub-gradient method (SubGM) on the nonsmooth ℓ1 factorized loss
# recover a low-rank PSD matrix from Gaussian measurements when a fraction p of them are
# gross outliers and the model rank r′ over-estimates the true rank r? What role does the
# initialization scale α play?
#
# **Claims tested** (study B, `docs/references.md`: Ma & Fattahi, "Global Convergence of
# Sub-gradient Method for Robust Matrix Recovery: Small Initialization, Noisy
# Measurements, and Over-parameterization", arXiv 2202.08788):
# * SubGM with small initialization "is agnostic to both over-parameterization and noise";
# * "small initialization nullifies the effect of over-parameterization on the
#   performance of SubGM, leading to an exponential improvement in its convergence rate";
# * "SubGM converges to the true solution, even under arbitrarily large and arbitrarily
#   dense noise values";
# * for Gaussian measurements, "the number of required samples to guarantee the global
#   convergence of SubGM is independent of the over-parameterized rank".
#
# The paper gives no numbers. **"Reproduced if"** (brief, B4): ℓ2 GD's error scales with
# the outlier magnitude for any p > 0 while ℓ1 SubGM recovers X* up to a substantial p
# (boundary located empirically); at small α the curves for the different r′ nearly
# coincide while at α = 1e-1 the over-parameterized runs are slower or stall; the
# success-probability curves overlap across r′; exactly r singular values of U grow and
# the rest stay O(α); the final error shrinks as α shrinks.
#
# **Setup and conventions** (brief, B2). X* = U*U*ᵀ ⪰ 0 (d × d, rank r, singular values
# 1, 1 — `low_rank_matrix(d, d, r, psd=True)`). Symmetric Gaussian sensing matrices
# A_i = (Z + Zᵀ)/2. Outliers: exactly ⌊pm⌉ measurements, chosen at random, get
# ±100·median|⟨A_i, X*⟩| added (random signs). Loss f(U) = (1/m) Σ|⟨A_i, UUᵀ⟩ − y_i|,
# sub-gradient (1/m) Σ sign(r_i)(A_i + A_iᵀ)U, U₀ = αB₀ with (B₀)_ij ~ N(0, 1/d), steps
# η_t = η₀ρᵗ (**geometric decay: reconstruction — check against the paper**).
# Baselines from the same initialization: ℓ2 GD on (1/2m) Σ r_i² (`factored_gd` with twice the step), and the
# convex nuclear-norm proximal gradient (`nuclear_norm_pgd`, ℓ2 data fit). Success means
# ‖UUᵀ − X*‖_F/‖X*‖_F < 1e-3.
#
# **Sizes (honest deviations from the brief).** d = 20, r = 2, r′ ∈ {2, 5, 20}
# (= r, 2.5r, d; brief: d = 40, r = 3, r′ ∈ {3, 10, 40}), m = 8dr = 320, T = 3000, so that
# the ~500 runs fit in a few minutes on a 2-core CPU. Smoke mode (CI) uses d = 10 and
# fewer points; its printed verdicts are not meaningful; the numbers quoted in the text
# are from the full-size run.

# %% tags=["parameters"]
import os

SMOKE = os.environ.get("LOWRANK_SMOKE") == "1"
D = 10 if SMOKE else 20
R = 2
WIDTHS = (2, 5) if SMOKE else (2, 5, 20)
T = 1_500 if SMOKE else 3_000
SEEDS = (0, 1) if SMOKE else tuple(range(5))
SUCCESS_SEEDS = (0, 1) if SMOKE else tuple(range(10))
ALPHAS = (1e-1, 1e-3) if SMOKE else (1e-1, 1e-2, 1e-3, 1e-4, 1e-6)
FRACTIONS = (0.0, 0.2, 0.4) if SMOKE else (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
M_FACTORS = (4, 8) if SMOKE else (2, 4, 6, 8, 12, 16)  # m / (d r) for the sample-complexity panel
ETA0S = (0.3,) if SMOKE else (0.1, 0.3, 0.5)
RHOS = (0.99,) if SMOKE else (0.99, 0.995)
L2_STEP = 0.03  # step of l2 GD on (1/2m) sum r_i^2 (stable under the outliers used here)
CACHE_VERSION = 1

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm

from lowrank_lab import backend
from lowrank_lab.analysis import verdict
from lowrank_lab.experiments import run_sweep
from lowrank_lab.plotting import PALETTE, fit_line, plot_band, savefig, use_style
from lowrank_lab.sensing.trials import sensing_curve_trial, sensing_summary_trial

use_style()
pd.set_option("display.width", 160)
pd.set_option("display.max_columns", 12)
xp = backend.get_namespace()
print(f"backend: {backend.backend_name(xp)}, smoke: {SMOKE}")

M = 8 * D * R
BASE = {"n": D, "rank": R, "n_measurements": M, "psd": True, "max_iter": T, "tol": 1e-13,
        "history_stride": 50, "record_singular_values": False}


def check(frame):
    bad = frame[frame["status"] != "ok"]
    assert bad.empty, bad["error"].unique()
    return frame


# %% [markdown]
# ## Step-size schedule, tuned once at p = 0
#
# As the brief prescribes, η₀ and ρ are tuned once without outliers and then frozen:
# every r′, α ∈ {1e-2, 1e-4, 1e-6}, two seeds; the score is the mean of log10(final
# error), which penalizes schedules that fail anywhere. The total "travel"
# Σ η_t = η₀/(1 − ρ) must be long enough to escape from α (growth ~ exp(c Σ η_t)); the
# final step η₀ρᵀ must be small enough to leave no step-size floor; and a longer travel
# also lets the spurious directions grow more (B-2).

# %%
TUNE_ALPHAS = (1e-3,) if SMOKE else (1e-2, 1e-4, 1e-6)
tune = check(run_sweep(
    "02_tune_schedule",
    {**{k: [v] for k, v in BASE.items()}, "solver": ["subgradient_l1"], "width": list(WIDTHS),
     "init_scale": list(TUNE_ALPHAS), "outlier_fraction": [0.0], "step_size": list(ETA0S), "decay": list(RHOS)},
    sensing_summary_trial, seeds=SEEDS[:2], cache_version=CACHE_VERSION))
tune["log_error"] = np.log10(tune["final_error"].clip(1e-16, 1e3))
score = tune.groupby(["step_size", "decay"])["log_error"].mean()
print(tune.groupby(["step_size", "decay", "init_scale", "width"])["final_error"].median().unstack("width")
      .map(lambda v: f"{v:.0e}").to_string())
print("mean log10 error per schedule:", score.round(2).to_dict())
ETA0, RHO = score.idxmin()
print(f"chosen schedule: eta0 = {ETA0}, rho = {RHO} (travel eta0/(1-rho) = {ETA0 / (1 - RHO):.0f})")
L1 = {**BASE, "solver": "subgradient_l1", "step_size": ETA0, "decay": RHO}
# study B's l2 loss (1/2m) sum r_i^2 is factored_gd's symmetric loss (1/4m) sum r_i^2 times two:
# factored_gd with twice the step (the only factored_gd runs of this notebook)
L2 = {**BASE, "solver": "factored_gd", "step_size": 2 * L2_STEP}

# %% [markdown]
# ## B-1. Error against iteration under 20% outliers, one panel per r′
#
# p = 0.2, ℓ1 SubGM at α ∈ {1e-1, 1e-3, 1e-6} against ℓ2 GD (α = 1e-3), five seeds
# (median, interquartile band).

# %%
p_b1 = 0.2
b1_alphas = (1e-1, 1e-3) if SMOKE else (1e-1, 1e-3, 1e-6)
b1_grid = [{**L1, "width": w, "init_scale": a, "outlier_fraction": p_b1} for w in WIDTHS for a in b1_alphas]
b1_grid += [{**L2, "width": w, "init_scale": 1e-3, "outlier_fraction": p_b1} for w in WIDTHS]
b1 = check(run_sweep("02_curves", b1_grid, sensing_curve_trial, seeds=SEEDS[:3], cache_version=CACHE_VERSION))

fig, axes = plt.subplots(1, len(WIDTHS), figsize=(3.6 * len(WIDTHS), 3.6), sharey=True)
b1_final = {}
for ax, w in zip(axes, WIDTHS):
    for k, a in enumerate(b1_alphas):
        sub = b1[(b1["solver"] == "subgradient_l1") & (b1["width"] == w) & (b1["init_scale"] == a)]
        s = plot_band(ax, sub, "iteration", "relative_error", color=PALETTE[k], label=f"ℓ1 SubGM, α = {a:g}")
        b1_final[(w, a)] = s["center"].iloc[-1]
    sub = b1[(b1["solver"] == "factored_gd") & (b1["width"] == w)]
    s = plot_band(ax, sub, "iteration", "relative_error", color="k",
                  linestyle="--", label="ℓ2 GD, α = 1e-3")
    b1_final[(w, "l2")] = s["center"].iloc[-1]
    ax.set_yscale("log")
    ax.set_title(f"r′ = {w}" + (" (exact)" if w == R else " (over-param.)"))
    ax.set_xlabel("iteration t")
axes[0].set_ylabel("‖UUᵀ − X*‖_F / ‖X*‖_F")
axes[0].legend(fontsize=7.5, loc="lower left")
fig.suptitle(f"B-1. d = {D}, r = {R}, m = {M}, p = {p_b1}: ℓ1 sub-gradient method against ℓ2 GD")
fig.tight_layout()
savefig(fig, "02_error_vs_iteration")
plt.show()

for w in WIDTHS:
    row = ", ".join(f"α={a:g}: {b1_final[(w, a)]:.1e}" for a in b1_alphas)
    print(f"r′ = {w:2d}: final median error ℓ1 {row}; ℓ2 GD {b1_final[(w, 'l2')]:.1e}")
small = min(b1_alphas)
over_widths = [w for w in WIDTHS if w > R]
spread_small = max(b1_final[(w, small)] for w in WIDTHS) / min(b1_final[(w, small)] for w in WIDTHS)
spread_over = max(b1_final[(w, small)] for w in over_widths) / min(b1_final[(w, small)] for w in over_widths)
stall = min(b1_final[(w, 0.1)] for w in over_widths) / b1_final[(R, 0.1)]
gain = {w: b1_final[(w, 0.1)] / b1_final[(w, small)] for w in over_widths}
print(f"α = {small:g}: spread of the final error over all r′ {spread_small:.1e}x, over the over-parameterized "
      f"r′ only {spread_over:.1f}x; α = 0.1: over-parameterized / exact = {stall:.1e}x; "
      f"error(α = 0.1) / error(α = {small:g}) per over-parameterized r′: "
      + ", ".join(f"{w}: {g:.0f}x" for w, g in gain.items()))
print(f"-> curves for all r′ nearly coincide at small α: {verdict(spread_small < 10)}; for the over-parameterized "
      f"r′ among themselves: {verdict(spread_over < 10)}; over-parameterized runs stall at α = 0.1: "
      f"{verdict(stall > 10)}")

# %% [markdown]
# **What B-1 shows.** ℓ2 GD is ruined by the outliers (relative error 13–18: the
# least-squares fit follows the outliers). ℓ1 SubGM with r′ = r converges linearly to
# ~1e-13 from every α. Over-parameterized SubGM (r′ = 5, 20) plateaus at an error that
# depends on α: 1.4e-2 / 4.1e-2 at α = 0.1 (stalled: reproduced), 1.3e-3 / 1.5e-3 at
# α = 1e-6, i.e. 11× / 27× better with the smaller α. At α = 1e-6 the curves for r′ = 5
# and r′ = 20 nearly coincide (1.2× apart), as the brief expects, but they stay ten
# orders of magnitude above the exact-rank run: in this toy small initialization shrinks
# the effect of over-parameterization but does not "nullify" it. Partly reproduced.

# %% [markdown]
# ## B-2. Final error over (α, p): ℓ1 against ℓ2, over-parameterized r′ = 5
#
# Median over five seeds of the final relative error; cells where ℓ2 GD diverged are
# marked "div".

# %%
w_heat = 5
heat_grid = {**{k: [v] for k, v in L1.items()}, "width": [w_heat], "init_scale": list(ALPHAS),
             "outlier_fraction": list(FRACTIONS)}
heat_l1 = check(run_sweep("02_heatmap_l1", heat_grid, sensing_summary_trial, seeds=SEEDS, cache_version=CACHE_VERSION))
heat_grid_l2 = {**{k: [v] for k, v in L2.items()}, "width": [w_heat], "init_scale": list(ALPHAS),
                "outlier_fraction": list(FRACTIONS)}
heat_l2 = check(run_sweep("02_heatmap_l2", heat_grid_l2, sensing_summary_trial, seeds=SEEDS[:3],
                          cache_version=CACHE_VERSION))

fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
tables = {}
for ax, (name, frame) in zip(axes, (("ℓ1 SubGM", heat_l1), ("ℓ2 GD", heat_l2))):
    table = frame.groupby(["init_scale", "outlier_fraction"])["final_error"].median().unstack()
    table = table.sort_index(ascending=False)
    tables[name] = table
    shown = table.replace(np.inf, np.nan).clip(1e-14, 1e2)
    im = ax.imshow(shown.values, norm=LogNorm(1e-14, 1e2), cmap="viridis_r", aspect="auto")
    for (i, j), v in np.ndenumerate(table.values):
        text = "div" if not np.isfinite(v) else f"{v:.0e}"
        ax.text(j, i, text, ha="center", va="center", fontsize=7,
                color="w" if np.isfinite(v) and v > 1e-3 else "k")
    ax.set_xticks(range(table.shape[1]), [f"{p:g}" for p in table.columns])
    ax.set_yticks(range(table.shape[0]), [f"{a:g}" for a in table.index])
    ax.set_xlabel("outlier fraction p")
    ax.set_title(f"{name}, r′ = {w_heat}")
    ax.grid(False)
axes[0].set_ylabel("initialization scale α")
fig.colorbar(im, ax=axes, label="final relative error (median over seeds)")
fig.suptitle(f"B-2. Final error over (α, p), d = {D}, r = {R}, m = {M}")
savefig(fig, "02_heatmap_alpha_outliers")
plt.show()

t1, t2 = tables["ℓ1 SubGM"], tables["ℓ2 GD"]
print("ℓ1 SubGM:\n", t1.map(lambda v: f"{v:.1e}"))
print("ℓ2 GD:\n", t2.map(lambda v: f"{v:.1e}"))
# error ~ alpha^gamma: fitted exponent per outlier fraction (over the alphas where the error is above 1e-12)
gammas = {}
for p in t1.columns:
    col = t1[p]
    ok = np.isfinite(col) & (col > 1e-12) & (col < 0.5)
    if ok.sum() >= 3:
        gammas[p], _ = fit_line(col.index[ok], col[ok], log_x=True, log_y=True)
print("fitted exponent γ in error ∝ α^γ (ℓ1, r′ = 5):", {p: round(g, 2) for p, g in gammas.items()})
ranks = {p: pd.Series(t1[p].values).corr(pd.Series(np.log(t1.index.values)), method="spearman") for p in t1.columns}
print("rank correlation of final error with α, per p:", {p: round(float(v), 2) for p, v in ranks.items()})
shrinks = all(v >= 0.8 for v in ranks.values()) and all(t1[p].loc[min(ALPHAS)] < t1[p].loc[max(ALPHAS)]
                                                         for p in t1.columns)
print(f"final error shrinks as α shrinks (ℓ1, r′ = {w_heat}, every p): {verdict(shrinks)}")

# %% [markdown]
# **What B-2 shows.** ℓ2 GD fails as soon as p > 0, whatever α (error 12–20, and
# divergence of the fixed-step iteration for p ≥ 0.4, marked "div"). ℓ1 SubGM with
# r′ = 5 has a final error that shrinks monotonically with α in every column ("the final
# error shrinks as α shrinks": reproduced), roughly as a power law error ∝ α^γ whose
# exponent drops from γ ≈ 0.8 at p = 0 to γ ≈ 0.2–0.4 for p ≥ 0.1 (printed). More
# outliers weaken the sign-gradient signal (by 1 − 2p) relative to the sampling noise that
# feeds the spurious directions, so a given α buys less accuracy. This is the mechanism of
# the paper (the spurious directions grow more slowly than the true ones, and α sets where
# they start), but at m = 8dr the two growth rates are not well separated: α = 1e-6 reaches
# the 1e-3 success level only for p ≤ 0.1 with r′ = 5.

# %% [markdown]
# ## ℓ1 against ℓ2 as the outlier fraction grows (p = 0 … 0.5), and against the outlier size
#
# α = 1e-4. Left: final error against p for ℓ1 SubGM with r′ = r and r′ = 5, ℓ2 GD,
# and the convex nuclear-norm baseline (ℓ2 data fit, reg = 1e-3). Right: p = 0.1 and
# outliers of size s·median|y| for s ∈ {1, 10, 100, 1000}.

# %%
alpha_p = 1e-4 if 1e-4 in ALPHAS else min(ALPHAS)
grid_p = [{**L1, "width": R, "init_scale": alpha_p, "outlier_fraction": p} for p in FRACTIONS]
NN_BASE = {k: v for k, v in BASE.items() if k != "record_singular_values"}  # the convex method has no factors
grid_p += [{**NN_BASE, "solver": "nuclear_norm_pgd", "width": D, "reg": 1e-3, "max_iter": 500, "tol": 1e-10,
            "outlier_fraction": p} for p in FRACTIONS]
scales = (1.0, 100.0) if SMOKE else (1.0, 10.0, 100.0, 1000.0)
grid_s = [{**cfg, "width": R, "init_scale": alpha_p, "outlier_fraction": 0.1, "outlier_scale": s}
          for cfg in (L1, L2) for s in scales]
byp = check(run_sweep("02_outlier_fraction", grid_p, sensing_summary_trial, seeds=SEEDS, cache_version=CACHE_VERSION))
bys = check(run_sweep("02_outlier_scale", grid_s, sensing_summary_trial, seeds=SEEDS[:3],
                      cache_version=CACHE_VERSION))
over = heat_l1[heat_l1["init_scale"] == alpha_p]
l2p = heat_l2[heat_l2["init_scale"] == alpha_p]

fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
curves_p = {
    f"ℓ1 SubGM, r′ = {R}": byp[byp["solver"] == "subgradient_l1"],
    f"ℓ1 SubGM, r′ = {w_heat}": over,
    f"ℓ2 GD, r′ = {w_heat}": l2p,
    "nuclear-norm PGD (convex, ℓ2 fit)": byp[byp["solver"] == "nuclear_norm_pgd"],
}
summaries = {}
for k, (label, frame) in enumerate(curves_p.items()):
    frame = frame.assign(final_error=frame["final_error"].replace(np.inf, 1e3).clip(1e-14, 1e3))  # diverged -> 1e3
    summaries[label] = plot_band(axes[0], frame, "outlier_fraction", "final_error", color=PALETTE[k], marker="o",
                                 label=label)
axes[0].axhline(1e-3, color="0.5", lw=0.8, linestyle=":")
axes[0].set_yscale("log")
axes[0].set_ylim(1e-15, 1e8)
axes[0].set_xlabel("outlier fraction p")
axes[0].set_ylabel("final relative error (diverged: drawn at 1e3)")
axes[0].legend(fontsize=7.5, loc="upper left")
for k, solver in enumerate(("subgradient_l1", "factored_gd")):
    sub = bys[bys["solver"] == solver]
    finite = sub[np.isfinite(sub["final_error"])]
    s = plot_band(axes[1], finite.assign(final_error=finite["final_error"].clip(1e-14, None)), "outlier_scale",
                  "final_error", color=PALETTE[k if k == 0 else 2], marker="o",
                  label="ℓ1 SubGM" if k == 0 else "ℓ2 GD (converged runs)")
    div = sub[~np.isfinite(sub["final_error"])]
    if len(div):
        axes[1].scatter(div["outlier_scale"], np.full(len(div), 1e3), marker="x", color=PALETTE[2],
                        label=f"ℓ2 GD diverged ({len(div)} runs)")
    if solver == "factored_gd":
        l2_slope, _ = fit_line(s["outlier_scale"], s["center"], log_x=True, log_y=True)
axes[1].set_xscale("log")
axes[1].set_yscale("log")
axes[1].set_xlabel("outlier size s (× median |y|)")
axes[1].set_ylabel("final relative error")
axes[1].text(0.05, 0.5, f"ℓ2 log-log slope {l2_slope:.2f}", transform=axes[1].transAxes)
axes[1].legend(fontsize=7.5)
fig.suptitle(f"B-1′. Breakdown under outliers (d = {D}, r = {R}, m = {M}, α = {alpha_p:g})")
fig.tight_layout()
savefig(fig, "02_outlier_fraction")
plt.show()

exact = summaries[f"ℓ1 SubGM, r′ = {R}"].set_index("outlier_fraction")["center"]
boundary = max([p for p, v in exact.items() if v < 1e-3], default=float("nan"))
l2_fail = summaries[f"ℓ2 GD, r′ = {w_heat}"].set_index("outlier_fraction")["center"]
print("median final error against p:")
print(pd.DataFrame({k: v.set_index("outlier_fraction")["center"] for k, v in summaries.items()}).map(
    lambda v: f"{v:.1e}"))
print(f"ℓ1 SubGM (r′ = r) succeeds (< 1e-3) up to p = {boundary:g}; ℓ2 GD's error at p ≥ 0.1: "
      f"min {l2_fail[l2_fail.index > 0].min():.1e}; ℓ2 error ∝ outlier size^{l2_slope:.2f}")
print(f"-> {verdict(boundary >= 0.3 and l2_fail[l2_fail.index > 0].min() > 0.1 and l2_slope > 0.7)} "
      "(ℓ2 error scales with the outlier size, ℓ1 recovers up to a substantial p)")

# %% [markdown]
# **What this shows.** With r′ = r, ℓ1 SubGM recovers X* to ~1e-13 in every seed up to
# p = 0.4, and in three seeds of five at p = 0.5 (the other two end at 2e-2 and 0.6). Our outliers have random signs, so they have zero
# median and the sign-gradient keeps pointing at X* however dense they are: this is the
# paper's "arbitrarily large and arbitrarily dense noise" regime, and the brief's pitfall
# that median-type estimators fail as p → 1/2 applies to one-sided outliers, which we did
# not test. ℓ2 GD and the convex nuclear-norm estimator with an ℓ2 data fit are both
# destroyed by any p > 0 (errors 12–30; with the step that works on clean data ℓ2 GD
# even diverges for p ≥ 0.4, and in some runs at p = 0.3), and ℓ2's error grows linearly with the outlier size (log-log
# slope 1.03 over the converged runs) while ℓ1's does not depend on it: reproduced. The
# over-parameterized ℓ1 run (r′ = 5) degrades gracefully with p but is limited by the
# α-dependent floor of B-2 (below 1e-3 only at p = 0).

# %% [markdown]
# ## B-3. Success probability against the number of measurements, one curve per r′
#
# p = 0.1, α = 1e-6, m/(dr) ∈ {2, 4, 6, 8, 12, 16}, ten seeds per point; success means
# final relative error < 1e-3.

# %%
b3_grid = {**{k: [v] for k, v in L1.items() if k != "n_measurements"}, "width": list(WIDTHS),
           "init_scale": [1e-6], "outlier_fraction": [0.1], "n_measurements": [f * D * R for f in M_FACTORS]}
b3 = check(run_sweep("02_success", b3_grid, sensing_summary_trial, seeds=SUCCESS_SEEDS, cache_version=CACHE_VERSION))
b3["m_over_dr"] = b3["n_measurements"] / (D * R)
b3["success_rate"] = b3["success"].astype(float)

fig, ax = plt.subplots(figsize=(5.5, 3.8))
prob = b3.groupby(["width", "m_over_dr"])["success_rate"].mean().unstack("width")
n_seeds = b3.groupby(["width", "m_over_dr"])["success_rate"].count().unstack("width")
for k, w in enumerate(WIDTHS):
    p_hat = prob[w]
    se = np.sqrt(p_hat * (1 - p_hat) / n_seeds[w])  # binomial standard error of the success probability
    ax.plot(prob.index, p_hat, marker="o", color=PALETTE[k], label=f"r′ = {w}")
    ax.fill_between(prob.index, (p_hat - se).clip(0, 1), (p_hat + se).clip(0, 1), color=PALETTE[k], alpha=0.15, lw=0)
ax.set_ylim(-0.05, 1.05)
ax.set_xlabel("m / (d r)")
ax.set_ylabel(f"success probability (± 1 s.e., {len(SUCCESS_SEEDS)} seeds)")
ax.legend()
ax.set_title(f"B-3. SubGM, d = {D}, r = {R}, p = 0.1, α = 1e-6")
fig.tight_layout()
savefig(fig, "02_success_vs_measurements")
plt.show()

print(prob)
thresholds = {w: next((f for f in prob.index if prob.loc[f, w] >= 0.5), np.inf) for w in WIDTHS}
print("smallest m/(dr) with success probability >= 0.5, per r′:", thresholds)
finite = [v for v in thresholds.values() if np.isfinite(v)]
overlap = len(finite) == len(WIDTHS) and max(finite) / min(finite) <= 1.5
over_t = [thresholds[w] for w in WIDTHS if w > R]
overlap_over = all(np.isfinite(over_t)) and max(over_t) / min(over_t) <= 1.5
gap = float(np.abs(prob[[w for w in WIDTHS if w > R]].max(axis=1) - prob[[w for w in WIDTHS if w > R]].min(axis=1)).max())
print(f"-> curves overlap across all r′: {verdict(overlap)}; across the over-parameterized r′ only: "
      f"{verdict(overlap_over)} (largest gap in success probability between them: {gap:.2f})")

# %% [markdown]
# **What B-3 shows.** With r′ = r the success probability is already 0.8 at m = 2dr and
# 1 from m = 4dr. The over-parameterized curves switch on later, between m = 6dr and
# 8dr: in our toy the sample complexity of SubGM at a fixed α depends on whether the
# model is over-parameterized, because the α-dependent floor of the spurious directions
# (B-2) only falls below 1e-3 once the measurements make the sign-gradient clean enough.
# The brief's "B-3 curves overlap across r′" is therefore **not** reproduced with r′ = r
# included; but r′ = 5 and r′ = 20 overlap (largest gap 0.1 in success probability),
# which supports the paper's statement that the number of samples does not depend on the
# over-parameterized rank r′ once r′ > r.

# %% [markdown]
# ## B-4. Singular values of U_t over time (r′ = d = 20, α = 1e-4), without and with outliers

# %%
w4 = max(WIDTHS)
b4_fracs = (0.0, 0.2)
b4 = check(run_sweep("02_singular_values", [{**L1, "width": w4, "init_scale": 1e-4, "outlier_fraction": p,
                                             "record_singular_values": True, "history_stride": 10}
                                            for p in b4_fracs],
                     sensing_curve_trial, seeds=SEEDS[:1], cache_version=CACHE_VERSION))
fig, axes = plt.subplots(1, len(b4_fracs), figsize=(10, 3.8), sharey=True)
b4_numbers = {}
for ax, p in zip(axes, b4_fracs):
    run = b4[b4["outlier_fraction"] == p]
    for i in range(1, w4 + 1):
        ax.semilogy(run["iteration"], run[f"sigma_{i}"], color=PALETTE[0] if i <= R else "0.6",
                    lw=1.6 if i <= R else 0.8,
                    label="top r" if i == 1 else ("the other r′ − r" if i == R + 1 else None))
    ax.semilogy(run["iteration"], run["relative_error"], color=PALETTE[1], label="relative error")
    ax.axhline(1e-4, color="k", lw=0.6, linestyle=":", label="α")
    ax.set_xlabel("iteration t")
    ax.set_title(f"p = {p:g}")
    last = run.iloc[-1]
    others = [f"sigma_{i}" for i in range(R + 1, w4 + 1)]
    b4_numbers[p] = {"top": [last[f"sigma_{i}"] for i in range(1, R + 1)], "rest_final": last[others].max(),
                     "rest_peak": run[others].max().max(), "error": last["relative_error"]}
axes[0].set_ylabel("singular values of U_t")
axes[0].legend(fontsize=8)
fig.suptitle(f"B-4. SubGM, d = {D}, r = {R}, r′ = {w4}, α = 1e-4: exactly r directions grow")
fig.tight_layout()
savefig(fig, "02_singular_values")
plt.show()

for p, v in b4_numbers.items():
    print(f"p = {p:g}: top-{R} singular values {np.round(v['top'], 3)}; largest other: final {v['rest_final']:.1e} "
          f"(= {v['rest_final'] / 1e-4:.0f} α), peak {v['rest_peak']:.1e}; final error {v['error']:.1e}")
grow = all(min(v["top"]) > 0.5 and v["rest_final"] < 0.2 * min(v["top"]) for v in b4_numbers.values())
order_alpha = all(v["rest_final"] < 10 * 1e-4 for v in b4_numbers.values())
print(f"-> exactly r grow, the others stay well below: {verdict(grow)}; the others stay O(α) (< 10 α): "
      f"{verdict(order_alpha)}")

# %% [markdown]
# **What B-4 shows.** Exactly r = 2 singular values of U grow to 1 (= √σ*); the other 18
# stay well below, and most of them shrink below α. A few, however, grow from α = 1e-4
# to 1e-2 (p = 0) or 1e-1 (p = 0.2) before the decaying step freezes them; these few are
# the α-dependent error floor of B-1/B-2. "Exactly r singular values grow": reproduced;
# "the rest stay O(α)": not reproduced at this size (they end up to 100× α without
# outliers and 1,000× α with 20% outliers).

# %% [markdown]
# ## Summary
#
# | claim (brief, B4) | toy result (d = 20, r = 2, m = 8dr) |
# |---|---|
# | ℓ2 error scales with outlier size; ℓ1 recovers up to a substantial p | reproduced (r′ = r: every seed up to p = 0.4, 3/5 at 0.5, symmetric outliers; ℓ2 slope 1.03) |
# | small α: curves for different r′ nearly coincide; α = 1e-1 stalls | partly: α = 1e-1 stalls, r′ = 5 and 20 coincide at α = 1e-6, but both keep a ~1e-3 floor the exact rank does not have |
# | B-3 curves overlap across r′ | partly: r′ = 5 and 20 overlap; r′ = r needs 2–4× fewer measurements |
# | exactly r singular values grow, the rest stay O(α) | first half reproduced; a few spurious ones grow to 100–1000 α |
# | final error shrinks as α shrinks | reproduced (error ∝ α^γ, γ ≈ 0.8 at p = 0, 0.2–0.4 with outliers) |
#
# The step-size schedule (geometric decay, tuned once at p = 0: η₀ = 0.3, ρ = 0.99) is a
# reconstruction; other schedules (slower decay, longer runs, larger m) move the
# over-parameterized floor, and the brief's larger problem (d = 40, r = 3, m = 960) was
# not run.
