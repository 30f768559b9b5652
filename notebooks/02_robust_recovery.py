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
# The paper gives no numbers. **"Reproduced if"** (study design, B4): ℓ2 GD's error scales with
# the outlier magnitude for any p > 0 while ℓ1 SubGM recovers X* up to a substantial p
# (boundary located empirically); at small α the curves for the different r′ nearly
# coincide while at α = 1e-1 the over-parameterized runs are slower or stall; the
# success-probability curves overlap across r′; exactly r singular values of U grow and
# the rest stay O(α); the final error shrinks as α shrinks.
#
# **Setup and conventions** (study design, B2). X* = U*U*ᵀ ⪰ 0 (d × d, rank r, singular values
# 1, 1 — `low_rank_matrix(d, d, r, psd=True)`). Symmetric Gaussian sensing matrices
# A_i = (Z + Zᵀ)/2. Outliers: exactly ⌊pm⌉ measurements, chosen at random, get
# ±100·median|⟨A_i, X*⟩| added (random signs). Loss f(U) = (1/m) Σ|⟨A_i, UUᵀ⟩ − y_i|,
# sub-gradient (1/m) Σ sign(r_i)(A_i + A_iᵀ)U, U₀ = αB₀ with (B₀)_ij ~ N(0, 1/d).
# **Step sizes.** Two families, both tuned per width r′ (section 1): the solver's default
# *capped robust Polyak step* η_t = min(η_max, ¼·median_i|r_i| / ‖g_t‖²_F) (the median
# residual stands in for the unknown optimality gap: **reconstruction — our choice, not
# the paper's**, see `docs/sensing.md`), and the study design's geometric decay η_t = η₀ρᵗ
# (**reconstruction — check against the paper**) restricted to decays that finish within
# T (ρ ≥ 0.995: ρᵀ ≤ 3·10⁻⁷). Baselines from the same initialization: ℓ2 GD on
# (1/2m) Σ r_i² (`factored_gd` with twice the step), its step tuned per r′, outlier
# fraction and outlier size on a log grid, and the convex nuclear-norm proximal gradient
# (`nuclear_norm_pgd`, ℓ2 data fit). Success means ‖UUᵀ − X*‖_F/‖X*‖_F < 10⁻³.
#
# **Statistics.** Orderings and curves: 5 seeds (median and interquartile band); success
# probabilities: 20 seeds per cell with 95 % Wilson intervals; ratios, slopes and
# transition points: 95 % bootstrap intervals over seeds (`lowrank_lab.analysis`). Tuning
# uses its own seeds (100, 101), never the evaluation seeds. Every pass threshold is set
# in the parameters cell below, before any run; a claim passes when the point estimate
# meets it (the interval is printed next to it in the verdict table).
#
# **Sizes (honest deviations from the study design).** d = 20, r = 2, r′ ∈ {2, 5, 20}
# (= r, 2.5r, d; study design: d = 40, r = 3, r′ ∈ {3, 10, 40}), m = 8dr = 320, T = 3000, so that
# the runs fit in a few minutes on one CPU core. Smoke mode (CI) uses d = 10 and
# fewer points; its printed verdicts are not meaningful. Every number in the text below is
# generated from the run that produced the figures.

# %% tags=["parameters"]
import os

SMOKE = os.environ.get("LOWRANK_SMOKE") == "1"
D = 10 if SMOKE else 20
R = 2
WIDTHS = (2, 5) if SMOKE else (2, 5, 20)
T = 1_500 if SMOKE else 3_000
SEEDS = (0, 1) if SMOKE else tuple(range(5))  # curves and orderings: 5 seeds
SUCCESS_SEEDS = tuple(range(4)) if SMOKE else tuple(range(20))  # success probabilities: 20 seeds per cell
TUNE_SEEDS = (100, 101)  # tuning seeds, disjoint from the evaluation seeds
ALPHAS = (1e-1, 1e-3) if SMOKE else (1e-1, 1e-2, 1e-3, 1e-4, 1e-6)
TUNE_ALPHAS = (1e-3,) if SMOKE else (1e-2, 1e-4, 1e-6)
FRACTIONS = (0.0, 0.2, 0.4) if SMOKE else (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
M_FACTORS = (4, 8) if SMOKE else (2, 4, 6, 8, 12, 16)  # m / (d r) for the sample-complexity panel
STEP_CAPS = (0.03, 0.3) if SMOKE else (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)  # Polyak cap eta_max
GEOMETRIC = ((0.1, 0.995),) if SMOKE else tuple((e, r) for e in (0.03, 0.1, 0.3) for r in (0.995, 0.997))
L2_STEPS = (0.01, 0.1) if SMOKE else (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)  # l2 GD step on (1/2m) sum r_i^2
OUTLIER_SCALES = (1.0, 100.0) if SMOKE else (1.0, 10.0, 100.0, 1000.0)
SUCCESS_LEVEL = 1e-3  # success: final relative error below this
# verdict thresholds, fixed before the runs
COINCIDE_RATIO = 10.0  # "curves coincide": median final errors of the r' within a factor 10
SPEED_LEVEL = 1e-2  # ... and the iterations to reach this error within SPEED_RATIO
SPEED_RATIO = 1.5
STALL_RATIO = 10.0  # "alpha = 0.1 stalls": over-parameterized final error >= 10x the exact-rank one
BREAKDOWN_P = 0.3  # "l1 recovers up to a substantial p": every seed succeeds up to p >= 0.3
L2_FAIL = 0.1  # "l2 fails for any p > 0": median final error above 0.1 at every p > 0
L2_SLOPE = 0.7  # "l2 error scales with the outlier size": log-log slope above 0.7
OVERLAP_RATIO = 1.5  # "success curves overlap": 50 % points of the r' within a factor 1.5
GROWN = 0.5  # a singular value "has grown" when it ends above 0.5 (the truth's are 1)
ORDER_ALPHA = 10.0  # "stays O(alpha)": ends below 10 alpha
SHRINK_RHO = 0.5  # "error shrinks with alpha": Spearman rho(alpha, error) above 0.5 at every p
CACHE_VERSION = 2

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display
from matplotlib.colors import LogNorm

from lowrank_lab import analysis, backend
from lowrank_lab.experiments import run_sweep
from lowrank_lab.plotting import PALETTE, mark_diverged, plot_band, plot_success, savefig, use_style
from lowrank_lab.sensing.trials import sensing_curve_trial, sensing_summary_trial

use_style()
pd.set_option("display.width", 160)
pd.set_option("display.max_columns", 14)
xp = backend.get_namespace()
print(f"backend: {backend.backend_name(xp)}, smoke: {SMOKE}")

M = 8 * D * R
BASE = {"n": D, "rank": R, "n_measurements": M, "psd": True, "max_iter": T, "tol": 1e-13,
        "history_stride": 50, "record_singular_values": False}
ERR = r"$\|UU^{\mathsf{T}} - X^\star\|_F\,/\,\|X^\star\|_F$"
VERDICTS = []  # rows of the verdict table, filled claim by claim


def check(frame):
    bad = frame[frame["status"] != "ok"]
    assert bad.empty, bad["error"].unique()
    return frame


def caption(name, text):
    display(Markdown(f"*Figure (`figures/{name}.png`).* {text}"))


def tex(a):
    """alpha for a mathtext label: 10^{-6} for powers of ten, else the plain number."""
    k = np.log10(a)
    return f"10^{{{int(round(k))}}}" if abs(k - round(k)) < 1e-9 else f"{a:g}"


def e(v):
    """A number for the narrative: 2 significant digits, scientific when small or large."""
    return "diverged" if not np.isfinite(v) else (f"{v:.1e}" if (abs(v) < 1e-2 or abs(v) >= 1e3) and v != 0
                                                  else f"{v:.2g}")


# %% [markdown]
# ## 1. Step sizes tuned per width r′, at p = 0 (the study design's protocol)
#
# For every r′ we score each schedule on the tuning seeds at p = 0 and α ∈ TUNE_ALPHAS by
# the median of log₁₀(max(final error, 10⁻¹²)) + t_stop/T (errors at round-off tie, and
# the run that stops first wins the tie). Candidates: the capped Polyak step for every
# cap η_max in STEP_CAPS, and the geometric decays (η₀, ρ) in GEOMETRIC, all of which
# finish within T. The ℓ2 baseline's step is tuned in the same way, separately for every
# (r′, p, outlier size) at which it is compared, on L2_STEPS; a step qualifies only if no
# tuning run diverges.

# %%
tune_grid = [{**BASE, "solver": "subgradient_l1", "width": w, "init_scale": a, "outlier_fraction": 0.0,
              "step_size": c, "decay": None} for w in WIDTHS for a in TUNE_ALPHAS for c in STEP_CAPS]
tune_grid += [{**BASE, "solver": "subgradient_l1", "width": w, "init_scale": a, "outlier_fraction": 0.0,
               "step_size": e0, "decay": rho} for w in WIDTHS for a in TUNE_ALPHAS for e0, rho in GEOMETRIC]
tune = check(run_sweep("02_tune_l1", tune_grid, sensing_summary_trial, seeds=TUNE_SEEDS, cache_version=CACHE_VERSION))
tune["rule"] = np.where(tune["decay"].isna(), "Polyak", "geometric")
tune["score"] = np.log10(tune["final_error"].clip(1e-12, 1e3)) + tune["n_iter"] / T
polyak_best = analysis.best_on_grid(tune[tune["rule"] == "Polyak"], "width", "step_size", "score")
geo_score = tune[tune["rule"] == "geometric"].groupby(["width", "step_size", "decay"])["score"].median().reset_index()
geo_best = geo_score.loc[geo_score.groupby("width")["score"].idxmin()].assign(
    schedule=lambda f: f["step_size"].map("{:g}".format) + "/" + f["decay"].map("{:g}".format))
SCHEDULE = {}
for w in WIDTHS:
    pb = polyak_best.set_index("width").loc[w]
    gb = geo_best.set_index("width").loc[w]
    if pb["score"] <= gb["score"]:
        SCHEDULE[w] = {"step_size": float(pb["step_size"]), "decay": None}
    else:
        e0, rho = (float(v) for v in gb["schedule"].split("/"))
        SCHEDULE[w] = {"step_size": e0, "decay": rho}
tuning_table = pd.DataFrame({
    "r′": WIDTHS,
    "best Polyak cap": [polyak_best.set_index("width").loc[w, "step_size"] for w in WIDTHS],
    "its score": [round(polyak_best.set_index("width").loc[w, "score"], 2) for w in WIDTHS],
    "cap interior to grid": [bool(polyak_best.set_index("width").loc[w, "interior"]) for w in WIDTHS],
    "best geometric (η₀/ρ)": [geo_best.set_index("width").loc[w, "schedule"] for w in WIDTHS],
    "its score ": [round(geo_best.set_index("width").loc[w, "score"], 2) for w in WIDTHS],
    "chosen": [("Polyak, cap " if SCHEDULE[w]["decay"] is None else f"geometric ρ = {SCHEDULE[w]['decay']}, η₀ = ")
               + f"{SCHEDULE[w]['step_size']:g}" for w in WIDTHS],
})
display(tuning_table)
print("median final error per schedule (rows) and width (columns), at p = 0, over alphas and tuning seeds:")
print(tune.assign(schedule=np.where(tune["rule"] == "Polyak", "Polyak cap " + tune["step_size"].astype(str),
                                    "geometric " + tune["step_size"].astype(str) + "/" + tune["decay"].astype(str)))
      .groupby(["schedule", "width"])["final_error"].median().unstack("width").map(lambda v: f"{v:.0e}").to_string())


def l1(w):
    return {**BASE, "solver": "subgradient_l1", "width": w, **SCHEDULE[w]}


# ℓ2 GD: one tuned step per (r', p, outlier size) at which it is compared
L2_KEYS = sorted({(w, 0.2, 100.0) for w in WIDTHS} | {(5 if 5 in WIDTHS else WIDTHS[-1], p, 100.0) for p in FRACTIONS}
                 | {(R, 0.1, s) for s in OUTLIER_SCALES})
l2_tune_grid = [{**BASE, "solver": "factored_gd", "width": w, "init_scale": 1e-3, "outlier_fraction": p,
                 "outlier_scale": s, "step_size": 2 * h} for w, p, s in L2_KEYS for h in L2_STEPS]
l2_tune = check(run_sweep("02_tune_l2", l2_tune_grid, sensing_summary_trial, seeds=TUNE_SEEDS,
                          cache_version=CACHE_VERSION))
l2_tune["l2_step"] = l2_tune["step_size"] / 2
l2_tune["log_error"] = np.log10(l2_tune["final_error"].clip(1e-12, 1e3))
l2_tune["stable"] = np.isfinite(l2_tune["final_error"])
l2_best = analysis.best_on_grid(l2_tune, ["width", "outlier_fraction", "outlier_scale"], "l2_step", "log_error",
                                valid="stable")
L2_STEP = {(r.width, r.outlier_fraction, r.outlier_scale): float(r.l2_step) for r in l2_best.itertuples()}
print("ℓ2 GD, tuned step per (r′, p, outlier size):")
print(l2_best.rename(columns={"log_error": "median log10 error"}).to_string(index=False))


def l2(w, p, s=100.0):
    return {**BASE, "solver": "factored_gd", "width": w, "step_size": 2 * L2_STEP[(w, p, s)]}


n_edge = int((~l2_best["interior"]).sum())
display(Markdown(
    f"**Tuning outcome.** The chosen ℓ1 schedules: "
    + "; ".join(f"r′ = {w}: {tuning_table.set_index('r′').loc[w, 'chosen']}" for w in WIDTHS)
    + f". The capped Polyak step's best cap is interior to its grid for "
    f"{int(polyak_best['interior'].sum())} of {len(WIDTHS)} widths (with the exact rank every large cap reaches "
    f"round-off: the cap is then inactive, the step is Polyak's, and ties go to the earliest stop). The ℓ2 "
    f"baseline's step optimum is interior for {len(l2_best) - n_edge} of {len(l2_best)} settings. Under outliers "
    f"a small ℓ2 step can win by *not* fitting: starting from α = 10⁻³, an iterate that barely moves has relative "
    f"error ≈ 1, less than the least-squares fit to the outliers; the ℓ2 baseline is given that advantage."))

# %% [markdown]
# ## 2. B-1. Error against iteration under 20 % outliers, one panel per r′
#
# p = 0.2, ℓ1 SubGM at α ∈ {10⁻¹, 10⁻³, 10⁻⁶} with the schedule chosen for its r′
# against tuned ℓ2 GD (α = 10⁻³); five seeds (median, interquartile band). The dotted
# lines (right axis) are the ℓ1 step sizes η_t (median over seeds).

# %%
p_b1 = 0.2
b1_alphas = (1e-1, 1e-3) if SMOKE else (1e-1, 1e-3, 1e-6)
b1_grid = [{**l1(w), "init_scale": a, "outlier_fraction": p_b1} for w in WIDTHS for a in b1_alphas]
b1_grid += [{**l2(w, p_b1), "init_scale": 1e-3, "outlier_fraction": p_b1} for w in WIDTHS]
b1 = check(run_sweep("02_curves", b1_grid, sensing_curve_trial, seeds=SEEDS, cache_version=CACHE_VERSION))

fig, axes = plt.subplots(1, len(WIDTHS), figsize=(3.9 * len(WIDTHS), 3.9), sharey=True)
for j, (ax, w) in enumerate(zip(axes, WIDTHS)):
    ax2 = ax.twinx()
    for k, a in enumerate(b1_alphas):
        sub = b1[(b1["solver"] == "subgradient_l1") & (b1["width"] == w) & (b1["init_scale"] == a)]
        plot_band(ax, sub, "iteration", "relative_error", color=PALETTE[k], label=rf"$\ell_1$ SubGM, $\alpha = {tex(a)}$")
        steps = sub.groupby("iteration")["step_size_t"].median()
        ax2.plot(steps.index, steps.values, color=PALETTE[k], lw=0.9, ls=":")
    sub = b1[(b1["solver"] == "factored_gd") & (b1["width"] == w)]
    plot_band(ax, sub[np.isfinite(sub["relative_error"])], "iteration", "relative_error", color="k", linestyle="--",
              label=rf"$\ell_2$ GD (tuned step {L2_STEP[(w, p_b1, 100.0)]:g}), $\alpha = 10^{{-3}}$")
    ax.set_yscale("log")
    ax2.set_yscale("log")
    ax2.set_ylim(1e-8, 10)
    ax2.grid(False)
    if j == len(WIDTHS) - 1:
        ax2.set_ylabel(r"$\ell_1$ step size $\eta_t$ (dotted)")
    else:
        ax2.set_yticklabels([])
    rule = "Polyak cap" if SCHEDULE[w]["decay"] is None else f"geom. ρ = {SCHEDULE[w]['decay']}, η₀ ="
    ax.set_title(rf"$r' = {w}$" + (" (exact)" if w == R else " (over-param.)") + f"\n{rule} {SCHEDULE[w]['step_size']:g}",
                 fontsize=10)
    ax.set_xlabel("iteration $t$")
axes[0].set_ylabel(ERR)
handles, labels = axes[0].get_legend_handles_labels()
fig.suptitle(f"B-1. d = {D}, r = {R}, m = {M}, p = {p_b1}: ℓ1 sub-gradient method against ℓ2 GD", y=1.02)
fig.tight_layout()
fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=len(labels), fontsize=8.5)
savefig(fig, "02_error_vs_iteration")
plt.show()

# per-seed numbers: final error and iterations to SPEED_LEVEL
last = b1.sort_values("iteration").groupby(["solver", "width", "init_scale", "seed"]).tail(1)
per_seed = last.set_index(["solver", "width", "init_scale", "seed"])["relative_error"].sort_index()  # sorted: fast, warning-free .loc
speed = (b1.groupby(["solver", "width", "init_scale", "seed"])
         .apply(lambda g: analysis.iterations_to(g["iteration"], g["relative_error"], SPEED_LEVEL), include_groups=False))
small = min(b1_alphas)
over_widths = [w for w in WIDTHS if w > R]
fin = {(w, a): per_seed.loc[("subgradient_l1", w, a)].to_numpy() for w in WIDTHS for a in b1_alphas}
l2_fin = {w: per_seed.loc[("factored_gd", w, 1e-3)].to_numpy() for w in WIDTHS}
spread_all = analysis.spread_ratio([fin[(w, small)] for w in WIDTHS])
spread_over = analysis.spread_ratio([fin[(w, small)] for w in over_widths]) if len(over_widths) > 1 else (np.nan,) * 3
speed_all = analysis.spread_ratio([speed.loc[("subgradient_l1", w, small)].to_numpy() for w in WIDTHS])
stall = analysis.spread_ratio([fin[(min(over_widths), 0.1)], fin[(R, 0.1)]])
rows = []
for w in WIDTHS:
    rows.append({"r′": w, **{f"ℓ1 α={a:g}": e(np.median(fin[(w, a)])) for a in b1_alphas},
                 "ℓ2 GD": e(np.median(l2_fin[w])),
                 f"ℓ1 α={small:g}: iterations to {SPEED_LEVEL:g}": np.median(speed.loc[("subgradient_l1", w, small)])})
display(pd.DataFrame(rows).set_index("r′"))
VERDICTS += [
    {"claim": "B: at small α the curves for all r′ coincide (final error)",
     "statistic": f"max/min median final error over r′ ∈ {set(WIDTHS)}, α = {small:g}, p = {p_b1}",
     "estimate": spread_all, "threshold": f"≤ {COINCIDE_RATIO:g}", "ok": spread_all[0] <= COINCIDE_RATIO},
    {"claim": "B: at small α the curves for the over-parameterized r′ coincide (final error)",
     "statistic": f"max/min median final error over r′ ∈ {set(over_widths)}",
     "estimate": spread_over, "threshold": f"≤ {COINCIDE_RATIO:g}", "ok": spread_over[0] <= COINCIDE_RATIO},
    {"claim": "B: at small α the curves for all r′ coincide (speed)",
     "statistic": f"max/min median iterations to {SPEED_LEVEL:g} over r′, α = {small:g}",
     "estimate": speed_all, "threshold": f"≤ {SPEED_RATIO:g}", "ok": speed_all[0] <= SPEED_RATIO},
    {"claim": "B: at α = 0.1 the over-parameterized runs are slower or stall",
     "statistic": f"median final error r′ = {min(over_widths)} / r′ = {R}, α = 0.1",
     "estimate": stall, "threshold": f"≥ {STALL_RATIO:g}",
     "ok": np.median(fin[(min(over_widths), 0.1)]) / np.median(fin[(R, 0.1)]) >= STALL_RATIO},
]
display(analysis.verdict_table(VERDICTS[-4:]))

# %%
exact_small = np.median(fin[(R, small)])
over_small = [np.median(fin[(w, small)]) for w in over_widths]
caption("02_error_vs_iteration",
        f"Relative error ‖UUᵀ − X*‖_F/‖X*‖_F against iteration (median and interquartile band over {len(SEEDS)} "
        f"seeds) for d = {D}, r = {R}, m = {M} Gaussian measurements of which a fraction p = {p_b1} are outliers of "
        f"size 100·median|y|; one panel per model width r′, each with its tuned step-size rule; dotted lines (right "
        f"axis): the ℓ1 step size η_t. What to see: ℓ2 GD (dashed) ends at a relative error of "
        f"{e(min(np.median(v) for v in l2_fin.values()))}–{e(max(np.median(v) for v in l2_fin.values()))}, fitted to "
        f"the outliers; ℓ1 SubGM with r′ = r converges to {e(exact_small)} from every α, the capped Polyak step "
        f"shrinking with the error; the over-parameterized runs stop improving at an α-dependent level "
        f"({', '.join(e(v) for v in over_small)} at α = {small:g} for r′ = {', '.join(map(str, over_widths))}), "
        f"{e(np.median(fin[(min(over_widths), 0.1)]))} at α = 0.1.")

# %% [markdown]
# **Sensitivity to the schedule.** The per-width tuning gives the exact rank a large Polyak
# cap and the over-parameterized widths small ones, so B-1's speed comparison mixes width
# and step size. As a check (not a pre-set verdict), the same runs at α = 10⁻⁶ with one
# common schedule for every width: the Polyak cap COMMON_CAP and the study design's geometric
# decay (η₀, ρ) = (0.1, 0.995).

# %%
COMMON_CAP = 0.03
common = {"Polyak cap 0.03": {"step_size": COMMON_CAP, "decay": None}, "geometric 0.1/0.995": {"step_size": 0.1,
                                                                                          "decay": 0.995}}
sens = check(run_sweep("02_schedule_sensitivity",
                       [{**BASE, "solver": "subgradient_l1", "width": w, "init_scale": small, "outlier_fraction": p_b1,
                         **sch} for w in WIDTHS for sch in common.values()],
                       sensing_curve_trial, seeds=SEEDS, cache_version=CACHE_VERSION))
sens["schedule"] = np.where(sens["decay"].isna(), "Polyak cap 0.03", "geometric 0.1/0.995")
sens_rows = []
for (sch, w), g in sens.groupby(["schedule", "width"]):
    per = [(gg["relative_error"].iloc[-1], analysis.iterations_to(gg["iteration"], gg["relative_error"], SPEED_LEVEL))
           for _, gg in g.sort_values("iteration").groupby("seed")]
    sens_rows.append({"schedule": sch, "r′": w, "median final error": np.median([v[0] for v in per]),
                      f"median iterations to {SPEED_LEVEL:g}": np.median([v[1] for v in per]),
                      "finals": [v[0] for v in per], "speeds": [v[1] for v in per]})
sens_tab = pd.DataFrame(sens_rows)
display(sens_tab.drop(columns=["finals", "speeds"]).set_index(["schedule", "r′"]).map(
    lambda v: e(v) if isinstance(v, float) else v))
sens_spread = {sch: (analysis.spread_ratio(list(g["finals"])), analysis.spread_ratio(list(g["speeds"])))
               for sch, g in sens_tab.groupby("schedule")}
for row in VERDICTS:  # the check is reported next to the pre-set verdicts it qualifies (not a verdict itself)
    if row["claim"].endswith("(speed)"):
        row["note"] = "post hoc, one common schedule: " + "; ".join(
            f"{sch}: {analysis.format_ci(*v[1], digits=3)}" for sch, v in sens_spread.items())
    if row["claim"].endswith("coincide (final error)") and "all r′" in row["claim"]:
        row["note"] = "post hoc, one common schedule: " + "; ".join(
            f"{sch}: {analysis.format_ci(*v[0], digits=3)}" for sch, v in sens_spread.items())
display(Markdown(
    "With one schedule for every width, the max/min ratio over r′ of the median final error and of the iterations "
    f"to {SPEED_LEVEL:g} are: "
    + "; ".join(f"{sch}: final error {analysis.format_ci(*v[0], digits=3)}, speed {analysis.format_ci(*v[1], digits=3)}"
                for sch, v in sens_spread.items())
    + f" (tuned per width: {analysis.format_ci(*spread_all, digits=3)} and {analysis.format_ci(*speed_all, digits=3)}). "
    + " ".join(
        f"With the {sch} schedule the speeds {'coincide' if v[1][0] <= SPEED_RATIO else 'differ'} (ratio "
        f"{'≤' if v[1][0] <= SPEED_RATIO else '>'} {SPEED_RATIO:g}) and the final errors "
        f"{'coincide' if v[0][0] <= COINCIDE_RATIO else 'differ'} (ratio {'≤' if v[0][0] <= COINCIDE_RATIO else '>'} "
        f"{COINCIDE_RATIO:g})." for sch, v in sens_spread.items())
    + " Where the speeds coincide under a common schedule, the speed gap of the tuned runs comes from the per-width "
    "caps (a larger cap lets the spurious directions grow more, so the tuning gives the over-parameterized widths "
    "small caps), not from the width itself."))

# %% [markdown]
# ## 3. B-2. Final error over (α, p): ℓ1 against ℓ2, over-parameterized r′ = 5
#
# Median over five seeds of the final relative error; ℓ2 GD uses the step tuned for each
# p; cells where ℓ2 GD diverged in the majority of seeds are marked "div".

# %%
w_heat = 5 if 5 in WIDTHS else WIDTHS[-1]
heat_l1 = check(run_sweep("02_heatmap_l1", [{**l1(w_heat), "init_scale": a, "outlier_fraction": p}
                                            for a in ALPHAS for p in FRACTIONS],
                          sensing_summary_trial, seeds=SEEDS, cache_version=CACHE_VERSION))
heat_l2 = check(run_sweep("02_heatmap_l2", [{**l2(w_heat, p), "init_scale": a, "outlier_fraction": p}
                                            for a in ALPHAS for p in FRACTIONS],
                          sensing_summary_trial, seeds=SEEDS, cache_version=CACHE_VERSION))

fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
tables = {}
for ax, (name, frame) in zip(axes, ((r"$\ell_1$ SubGM", heat_l1), (r"$\ell_2$ GD (tuned step per $p$)", heat_l2))):
    table = frame.groupby(["init_scale", "outlier_fraction"])["final_error"].median().unstack()
    table = table.sort_index(ascending=False)
    tables[name] = table
    shown = table.replace(np.inf, np.nan).clip(1e-14, 1e2)
    im = ax.imshow(shown.values, norm=LogNorm(1e-14, 1e2), cmap="viridis_r", aspect="auto")
    for (i, j), v in np.ndenumerate(table.values):
        text = "div" if not np.isfinite(v) else f"{v:.0e}"
        ax.text(j, i, text, ha="center", va="center", fontsize=8,
                color="w" if np.isfinite(v) and v > 1e-3 else "k")
    ax.set_xticks(range(table.shape[1]), [f"{p:g}" for p in table.columns])
    ax.set_yticks(range(table.shape[0]), [f"$10^{{{int(round(np.log10(a)))}}}$" for a in table.index])
    ax.set_xlabel("outlier fraction $p$")
    ax.set_title(f"{name}, $r' = {w_heat}$")
    ax.grid(False)
axes[0].set_ylabel(r"initialization scale $\alpha$")
fig.colorbar(im, ax=axes, label="final relative error (median over seeds)")
fig.suptitle(f"B-2. Final error over (α, p), d = {D}, r = {R}, m = {M}")
savefig(fig, "02_heatmap_alpha_outliers")
plt.show()

t1, t2 = tables[r"$\ell_1$ SubGM"], tables[r"$\ell_2$ GD (tuned step per $p$)"]
shrink = {}
for p in FRACTIONS:
    sub = heat_l1[heat_l1["outlier_fraction"] == p]
    shrink[p] = analysis.rank_correlation(np.log(sub["init_scale"]), np.log(sub["final_error"].clip(1e-16, None)))
worst_p = min(shrink, key=lambda p: shrink[p][0])
VERDICTS.append({"claim": "B: the final error shrinks as α shrinks",
                 "statistic": f"Spearman ρ(log α, log final error), ℓ1, r′ = {w_heat}, smallest over p (p = {worst_p:g})",
                 "estimate": shrink[worst_p], "threshold": f"> {SHRINK_RHO:g} at every p",
                 "ok": all(v[0] > SHRINK_RHO for v in shrink.values()),
                 "note": "post hoc, below the breakdown p < 0.5: smallest ρ = " + analysis.format_ci(
                     *min((v for p, v in shrink.items() if p < 0.5), key=lambda v: v[0]), digits=2)})
gamma = {}
for p in FRACTIONS:  # error ~ alpha^gamma: per-seed log-log slope over the alphas, bootstrap over seeds
    sub = heat_l1[(heat_l1["outlier_fraction"] == p) & (heat_l1["final_error"] > 1e-12)]
    slopes = [np.polyfit(np.log(g["init_scale"]), np.log(g["final_error"]), 1)[0]
              for _, g in sub.groupby("seed") if g["init_scale"].nunique() >= 3]
    gamma[p] = analysis.bootstrap_ci(slopes, "median") if slopes else (np.nan,) * 3
print("Spearman ρ(log α, log error) per p:", {p: analysis.format_ci(*v, digits=2) for p, v in shrink.items()})
print("exponent γ of error ∝ α^γ per p (median over seeds, bootstrap CI):",
      {p: analysis.format_ci(*v, digits=2) for p, v in gamma.items()})
display(analysis.verdict_table(VERDICTS[-1:]))

# %%
l2_pos = t2.loc[:, [p for p in t2.columns if p > 0]]
div_cells = int((~np.isfinite(t2.values)).sum())
caption("02_heatmap_alpha_outliers",
        f"Median final relative error over {len(SEEDS)} seeds on a grid of initialization scale α and outlier "
        f"fraction p, for ℓ1 SubGM (left, tuned schedule for r′ = {w_heat}) and ℓ2 GD (right, step tuned per p); "
        f"d = {D}, r = {R}, r′ = {w_heat}, m = {M}. What to see: ℓ2 GD fails at every p > 0 "
        f"(errors {e(np.nanmin(l2_pos.replace(np.inf, np.nan).values))}–"
        f"{e(np.nanmax(l2_pos.replace(np.inf, np.nan).values))}; {div_cells} cells diverged) whatever α; the ℓ1 "
        f"error falls with α in every column, as a power law error ∝ α^γ with γ = "
        f"{', '.join(f'{gamma[p][0]:.2f}' for p in FRACTIONS)} for p = {', '.join(f'{p:g}' for p in FRACTIONS)}: "
        f"more outliers weaken the sign-gradient signal relative to the noise feeding the spurious directions, so a "
        f"given α buys less accuracy.")

# %% [markdown]
# ## 4. ℓ1 against ℓ2 as the outlier fraction and the outlier size grow
#
# α = 10⁻⁴. Left: final error against p for ℓ1 SubGM with r′ = r and r′ = 5, tuned ℓ2 GD
# (r′ = 5), and the convex nuclear-norm baseline (ℓ2 data fit, weight 10⁻³). Right:
# p = 0.1, outliers of size s·median|y|; ℓ2's step tuned per s. Diverged runs are drawn
# as crosses on the top edge, not as data.

# %%
alpha_p = 1e-4 if 1e-4 in ALPHAS else min(ALPHAS)
NN_BASE = {k: v for k, v in BASE.items() if k != "record_singular_values"}  # the convex method has no factors
grid_p = [{**l1(R), "init_scale": alpha_p, "outlier_fraction": p} for p in FRACTIONS]
grid_p += [{**NN_BASE, "solver": "nuclear_norm_pgd", "width": D, "reg": 1e-3, "max_iter": 500, "tol": 1e-10,
            "outlier_fraction": p} for p in FRACTIONS]
grid_s = [{**l1(R), "init_scale": alpha_p, "outlier_fraction": 0.1, "outlier_scale": s} for s in OUTLIER_SCALES]
grid_s += [{**l2(R, 0.1, s), "init_scale": alpha_p, "outlier_fraction": 0.1, "outlier_scale": s}
           for s in OUTLIER_SCALES]
byp = check(run_sweep("02_outlier_fraction", grid_p, sensing_summary_trial, seeds=SEEDS, cache_version=CACHE_VERSION))
bys = check(run_sweep("02_outlier_scale", grid_s, sensing_summary_trial, seeds=SEEDS, cache_version=CACHE_VERSION))
curves_p = {
    rf"$\ell_1$ SubGM, $r' = {R}$": byp[byp["solver"] == "subgradient_l1"],
    rf"$\ell_1$ SubGM, $r' = {w_heat}$": heat_l1[heat_l1["init_scale"] == alpha_p],
    rf"$\ell_2$ GD, $r' = {w_heat}$ (tuned)": heat_l2[heat_l2["init_scale"] == alpha_p],
    r"nuclear-norm PGD (convex, $\ell_2$ fit)": byp[byp["solver"] == "nuclear_norm_pgd"],
}
fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.9))
summaries = {}
for k, (label, frame) in enumerate(curves_p.items()):
    ok = frame[np.isfinite(frame["final_error"])]
    summaries[label] = plot_band(axes[0], ok, "outlier_fraction", "final_error", color=PALETTE[k], marker="o",
                                 ms=4, label=label)
    mark_diverged(axes[0], frame.loc[~np.isfinite(frame["final_error"]), "outlier_fraction"], color=PALETTE[k],
                  label=None)
axes[0].axhline(SUCCESS_LEVEL, color="0.5", lw=0.8, linestyle=":")
axes[0].text(max(FRACTIONS), SUCCESS_LEVEL * 1.5, "success level", ha="right", fontsize=8, color="0.4")
finite = np.concatenate([f.loc[np.isfinite(f["final_error"]), "final_error"].to_numpy() for f in curves_p.values()])
axes[0].set_yscale("log")
axes[0].set_ylim(max(finite.min(), 1e-16) / 5, finite.max() * 20)
axes[0].set_xlabel("outlier fraction $p$")
axes[0].set_ylabel("final relative error")
fig.legend(*axes[0].get_legend_handles_labels(), loc="upper center", bbox_to_anchor=(0.27, 0.0), ncol=2,
           fontsize=8.5)
n_div_p = {label: int((~np.isfinite(f["final_error"])).sum()) for label, f in curves_p.items()}
for k, solver in enumerate(("subgradient_l1", "factored_gd")):
    sub = bys[bys["solver"] == solver]
    ok = sub[np.isfinite(sub["final_error"])]
    plot_band(axes[1], ok.assign(final_error=ok["final_error"].clip(1e-16, None)), "outlier_scale", "final_error",
              color=PALETTE[0 if k == 0 else 2], marker="o", ms=4,
              label=r"$\ell_1$ SubGM" if k == 0 else r"$\ell_2$ GD (step tuned per $s$)")
    mark_diverged(axes[1], sub.loc[~np.isfinite(sub["final_error"]), "outlier_scale"], color=PALETTE[2],
                  label=r"$\ell_2$ GD diverged" if k else None)
l2_s = bys[(bys["solver"] == "factored_gd") & np.isfinite(bys["final_error"])]
slopes = [np.polyfit(np.log(g["outlier_scale"]), np.log(g["final_error"]), 1)[0]
          for _, g in l2_s.groupby("seed") if g["outlier_scale"].nunique() >= 2]
l2_slope = analysis.bootstrap_ci(slopes, "median")
axes[1].set_xscale("log")
axes[1].set_yscale("log")
axes[1].set_xlabel(r"outlier size $s$ ($\times$ median $|y|$)")
axes[1].set_ylabel("final relative error")
axes[1].text(0.5, 0.62, rf"$\ell_2$ log-log slope {l2_slope[0]:.2f}", transform=axes[1].transAxes, fontsize=8.5)
axes[1].legend(fontsize=8.5, loc="center right")
fig.suptitle(f"Breakdown under outliers (d = {D}, r = {R}, m = {M}, α = {alpha_p:g})")
fig.tight_layout()
savefig(fig, "02_outlier_fraction")
plt.show()

ex = byp[byp["solver"] == "subgradient_l1"]
succ_by_p = ex.groupby("outlier_fraction")["success"].agg(["sum", "count"])
all_ok = [p for p in FRACTIONS if succ_by_p.loc[p, "sum"] == succ_by_p.loc[p, "count"]]
boundary = max([p for p in FRACTIONS if all(q in all_ok for q in FRACTIONS if q <= p)], default=np.nan)
l2_med = summaries[rf"$\ell_2$ GD, $r' = {w_heat}$ (tuned)"].set_index("outlier_fraction")["center"]
l2_pos_med = float(l2_med[l2_med.index > 0].min()) if (l2_med.index > 0).any() else np.nan
print(pd.DataFrame({k: v.set_index("outlier_fraction")["center"] for k, v in summaries.items()}).map(e).to_string())
print("ℓ1 (r′ = r) successes per p:", {p: f"{int(r['sum'])}/{int(r['count'])}" for p, r in succ_by_p.iterrows()})
print("diverged runs per curve:", n_div_p)
lo_b, hi_b = analysis.wilson_interval(int(succ_by_p.loc[boundary, "sum"]), int(succ_by_p.loc[boundary, "count"])) \
    if np.isfinite(boundary) else (np.nan, np.nan)
VERDICTS += [
    {"claim": "B: ℓ1 SubGM recovers X* up to a substantial p",
     "statistic": f"largest p with every seed successful (r′ = r); success rate there [Wilson]",
     "estimate": f"p = {boundary:g} ({int(succ_by_p.loc[boundary, 'sum'])}/{int(succ_by_p.loc[boundary, 'count'])}, "
                 f"[{lo_b:.2f}, {hi_b:.2f}])" if np.isfinite(boundary) else "none",
     "threshold": f"p ≥ {BREAKDOWN_P:g}", "ok": np.isfinite(boundary) and boundary >= BREAKDOWN_P},
    {"claim": "B: ℓ2 GD fails for any p > 0 (tuned step)",
     "statistic": f"smallest median final error over p > 0, r′ = {w_heat}", "estimate": l2_pos_med,
     "threshold": f"> {L2_FAIL:g}", "ok": l2_pos_med > L2_FAIL},
    {"claim": "B: ℓ2's error scales with the outlier size",
     "statistic": "log-log slope of ℓ2 final error against s (median over seeds)", "estimate": l2_slope,
     "threshold": f"> {L2_SLOPE:g}", "ok": l2_slope[0] > L2_SLOPE},
]
display(analysis.verdict_table(VERDICTS[-3:]))

# %%
l1s = bys[bys["solver"] == "subgradient_l1"].groupby("outlier_scale")["final_error"].median()
caption("02_outlier_fraction",
        f"Left: final relative error (median and interquartile band over {len(SEEDS)} seeds) against the outlier "
        f"fraction p at α = {alpha_p:g}, d = {D}, r = {R}, m = {M}; crosses on the top edge are diverged runs "
        f"({sum(n_div_p.values())} in all), not data; dotted line: the success level {SUCCESS_LEVEL:g}. Right: "
        f"p = 0.1 and outliers of size s·median|y|, r′ = r. What to see: ℓ1 SubGM with r′ = r succeeds in every seed "
        f"up to p = {boundary:g} (outliers with random signs have zero median, so the sign-gradient keeps pointing "
        f"at X*); ℓ2 GD with its best step and the convex nuclear-norm estimator with an ℓ2 fit fail at every "
        f"p > 0; ℓ2's error grows with the outlier size (log-log slope {analysis.format_ci(*l2_slope, digits=3)}) "
        f"while ℓ1's stays at {e(l1s.min())}–{e(l1s.max())}.")

# %% [markdown]
# ## 5. B-3. Success probability against the number of measurements, one curve per r′
#
# p = 0.1, α = 10⁻⁶, m/(dr) ∈ M_FACTORS, 20 seeds per cell, 95 % Wilson bands; success
# means final relative error < 10⁻³.

# %%
b3_grid = [{**l1(w), "n_measurements": f * D * R, "init_scale": 1e-6, "outlier_fraction": 0.1}
           for w in WIDTHS for f in M_FACTORS]
b3 = check(run_sweep("02_success", b3_grid, sensing_summary_trial, seeds=SUCCESS_SEEDS, cache_version=CACHE_VERSION))
b3["m_over_dr"] = b3["n_measurements"] / (D * R)

fig, ax = plt.subplots(figsize=(5.6, 3.9))
prob = {}
for k, w in enumerate(WIDTHS):
    prob[w] = plot_success(ax, b3[b3["width"] == w], "m_over_dr", "success", color=PALETTE[k], marker="o", ms=4,
                           label=rf"$r' = {w}$" + (" (exact)" if w == R else ""))
ax.set_ylim(-0.03, 1.03)
ax.set_xscale("log")
ax.set_xticks(M_FACTORS, [f"{f:g}" for f in M_FACTORS])
ax.minorticks_off()
ax.set_xlabel(r"measurements per degree of freedom, $m/(dr)$")
ax.set_ylabel(f"success probability ({len(SUCCESS_SEEDS)} seeds)")
ax.legend(loc="lower right")
ax.set_title(f"B-3. SubGM, d = {D}, r = {R}, p = 0.1, α = 1e-6")
fig.tight_layout()
savefig(fig, "02_success_vs_measurements")
plt.show()


def outcomes(w):
    sub = b3[b3["width"] == w].pivot_table(index="m_over_dr", columns="seed", values="success", aggfunc="first")
    return sub.astype(float)


xs = np.array(sorted(b3["m_over_dr"].unique()), dtype=float)
trans = {w: analysis.transition_ci(xs, outcomes(w).to_numpy())[:3] for w in WIDTHS}  # (estimate, low, high)
print(pd.DataFrame({rf"r′ = {w}": prob[w].set_index("m_over_dr")["center"] for w in WIDTHS}).to_string())
print("50 % point m/(dr) per r′ [bootstrap 95 % CI]:", {w: analysis.format_ci(*v, digits=3) for w, v in trans.items()})
over_all = analysis.transition_spread(xs, [outcomes(w).to_numpy() for w in WIDTHS])
over_only = analysis.transition_spread(xs, [outcomes(w).to_numpy() for w in over_widths]) \
    if len(over_widths) > 1 else (np.nan,) * 3
VERDICTS += [
    {"claim": "B: the success curves overlap across r′", "statistic": "max/min 50 % point m/(dr) over all r′",
     "estimate": over_all, "threshold": f"≤ {OVERLAP_RATIO:g}", "ok": over_all[0] <= OVERLAP_RATIO},
    {"claim": "B: the success curves overlap across the over-parameterized r′",
     "statistic": f"max/min 50 % point over r′ ∈ {set(over_widths)}", "estimate": over_only,
     "threshold": f"≤ {OVERLAP_RATIO:g}", "ok": over_only[0] <= OVERLAP_RATIO},
]
display(analysis.verdict_table(VERDICTS[-2:]))

# %%
caption("02_success_vs_measurements",
        f"Success probability (final relative error < {SUCCESS_LEVEL:g}) against the number of measurements per "
        f"degree of freedom m/(dr), {len(SUCCESS_SEEDS)} seeds per point, 95 % Wilson bands; d = {D}, r = {R}, "
        f"p = 0.1 outliers, α = 10⁻⁶, one curve per width r′ with its tuned schedule. What to see: the 50 % points "
        + ", ".join(f"r′ = {w}: {analysis.format_ci(*trans[w], digits=3)}" for w in WIDTHS)
        + f" (ratio largest/smallest {analysis.format_ci(*over_all, digits=3)}; over the over-parameterized widths "
        f"only {analysis.format_ci(*over_only, digits=3)}).")

# %% [markdown]
# ## 6. B-4. Singular values of U_t over time (r′ = d, α = 10⁻⁴), without and with outliers
#
# One seed is drawn (a single illustration); the numbers below the figure are over five
# seeds.

# %%
w4 = max(WIDTHS)
b4_fracs = (0.0, 0.2)
b4 = check(run_sweep("02_singular_values", [{**l1(w4), "init_scale": 1e-4, "outlier_fraction": p,
                                             "record_singular_values": True, "history_stride": 10}
                                            for p in b4_fracs],
                     sensing_curve_trial, seeds=SEEDS, cache_version=CACHE_VERSION))
others = [f"sigma_{i}" for i in range(R + 1, w4 + 1)]
fig, axes = plt.subplots(1, len(b4_fracs), figsize=(10, 3.9), sharey=True)
for ax, p in zip(axes, b4_fracs):
    run = b4[(b4["outlier_fraction"] == p) & (b4["seed"] == SEEDS[0])]
    for i in range(1, w4 + 1):
        ax.semilogy(run["iteration"], run[f"sigma_{i}"], color=PALETTE[0] if i <= R else "0.55",
                    lw=1.6 if i <= R else 0.7,
                    label=rf"top $r = {R}$: $\sigma_1, \sigma_2$" if i == 1 else
                    (rf"the other $r' - r = {w4 - R}$" if i == R + 1 else None))
    ax.semilogy(run["iteration"], run["relative_error"], color=PALETTE[1], label="relative error")
    ax.axhline(1e-4, color="k", lw=0.7, linestyle=":", label=r"$\alpha = 10^{-4}$")
    ax.set_xlabel("iteration $t$")
    ax.set_title(f"$p = {p:g}$")
axes[0].set_ylabel(r"singular values $\sigma_i(U_t)$; relative error")
fig.tight_layout()
fig.legend(*axes[0].get_legend_handles_labels(), loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=4, fontsize=8.5)
fig.suptitle(f"B-4. SubGM, d = {D}, r = {R}, r′ = {w4}, α = 1e-4 (seed {SEEDS[0]})")
fig.tight_layout()
savefig(fig, "02_singular_values")
plt.show()

final4 = b4.sort_values("iteration").groupby(["outlier_fraction", "seed"]).tail(1)
n_grown = (final4[[f"sigma_{i}" for i in range(1, w4 + 1)]] > GROWN).sum(axis=1)
rest = final4[others].max(axis=1) / 1e-4
exactly = int((n_grown == R).sum())
small_rest = int((rest < ORDER_ALPHA).sum())
print(pd.DataFrame({"p": final4["outlier_fraction"], "seed": final4["seed"], "singular values > 0.5": n_grown,
                    "largest other / α": rest.round(1), "final error": final4["relative_error"].map(e)}).to_string(index=False))
VERDICTS += [
    {"claim": "B: exactly r singular values grow", "statistic": f"runs (p ∈ {set(b4_fracs)} × seeds) with exactly "
     f"r singular values above {GROWN:g}", "estimate": f"{exactly}/{len(final4)}",
     "threshold": "all runs", "ok": exactly == len(final4)},
    {"claim": "B: the other singular values stay O(α)", "statistic": "runs whose largest other singular value ends "
     f"below {ORDER_ALPHA:g} α; median ratio [CI]", "estimate": f"{small_rest}/{len(final4)}; "
     + analysis.format_ci(*analysis.bootstrap_ci(rest, "median"), digits=3),
     "threshold": "all runs", "ok": small_rest == len(final4)},
]
display(analysis.verdict_table(VERDICTS[-2:]))

# %%
caption("02_singular_values",
        f"Singular values of U_t (blue: the top r = {R}; grey: the other {w4 - R}) and the relative error (orange) "
        f"against iteration, for ℓ1 SubGM with r′ = d = {w4}, α = 10⁻⁴ (dotted), m = {M}, without (left) and with "
        f"20 % outliers (right); seed {SEEDS[0]} (a single illustration; the counts are over {len(SEEDS)} seeds). "
        f"What to see: in {exactly} of {len(final4)} runs exactly r singular values grow to 1 = √σ*; the largest of "
        f"the others ends at {rest.min():.1f}–{rest.max():.1f} α (median "
        f"{np.median(rest):.1f} α): the spurious directions that grow before the step shrinks are the "
        f"α-dependent error floor of B-1 and B-2.")

# %% [markdown]
# ## Summary: verdict table
#
# One row per claim of study B4; the estimate is the statistic with its 95 % interval
# (bootstrap over seeds, or Wilson for success counts); the thresholds were fixed in the
# parameters cell before the runs.

# %%
verdicts = analysis.verdict_table(VERDICTS)
display(verdicts)
n_rep = int((verdicts["verdict"] == analysis.verdict(True)).sum())
display(Markdown(
    f"**{n_rep} of {len(verdicts)} claims reproduced** at d = {D}, r = {R}, m = {M}, T = {T}. "
    f"With the tuned, finishing step sizes the exact-rank ℓ1 runs reach round-off "
    f"({e(exact_small)} at α = {small:g}, p = {p_b1}), while the over-parameterized runs end at an α-dependent floor "
    f"({', '.join(e(v) for v in over_small)}): small initialization shrinks the effect of over-parameterization "
    f"in proportion to α (γ at p = 0: {gamma[FRACTIONS[0]][0]:.2f}) rather than nullifying it in a finite run. "
    f"In speed, the widths differ by {speed_all[0]:.0f}× with per-width tuned caps but by only "
    + " and ".join(f"{v[1][0]:.2g}× ({sch})" for sch, v in sens_spread.items())
    + " with one common schedule: the over-parameterized runs are not slower to reach the truth's neighbourhood, "
    f"they stop at a floor. "
    f"The step-size rule is a reconstruction (the capped robust Polyak step, or the geometric decay of the study design); "
    f"the study design's larger problem (d = 40, r = 3, m = 960) was not run."))
