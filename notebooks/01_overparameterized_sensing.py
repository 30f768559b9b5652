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
# # 01 · Over-parameterized matrix sensing: symmetry, width, initialization scale, conditioning
#
# **Question.** Gradient descent on a factored model recovers a rank-r matrix from
# Gaussian measurements. When the factor width k exceeds r, how much slower does it get,
# and what do the symmetry of the parameterization (X Xᵀ versus F Gᵀ) and the
# initialization scale α have to do with it? And how does preconditioning (ScaledGD)
# remove the dependence on the condition number?
#
# **Claims tested** (study A, `docs/references.md`: Xiong, Ding, Du, "How Over-Parameterization
# Slows Down Gradient Descent in Matrix Sensing: The Curses of Symmetry and
# Initialization", ICLR 2024; Tong, Ma, Chi, ScaledGD, arXiv 2005.08898):
# * symmetric X Xᵀ with k > r: "a novel Ω(1/T²) lower bound of randomly initialized GD
#   for the over-parameterized case (k > r)"; with k = r the rate is "exp(−Ω(T))";
# * asymmetric F Gᵀ, k > r: "global exact convergence ... with an exp(−Ω(α²T)) rate
#   where α is the initialization scale", hence a "speed up from Ω(1/T²) to linear
#   convergence" on a symmetric problem;
# * a method that modifies **one step** of GD attains "a convergence rate independent
#   of α, recovering the rate in the exact-parameterization case";
# * ScaledGD: a linear rate whose contraction factor does not depend on κ.
#
# **"Reproduced if"** (brief, A4): k = r gives straight semilog lines down to ~1e-12;
# symmetric k > r is sublinear with a late log-log slope ≈ −1 on ‖XXᵀ − M*‖_F (−2 on the
# loss); asymmetric k > r is linear with median rate/α² roughly constant (pilot ≈ 0.013);
# FGᵀ beats XXᵀ at every α; ‖FᵀF − GᵀG‖ is nearly constant; ScaledGD needs about the
# same number of iterations at every κ while GD's count grows roughly linearly in κ;
# with the fix the rate no longer depends on α.
#
# **Setup and conventions** (brief, A2). Truth M* = U* diag(σ*) U*ᵀ, PSD, rank r = 2,
# σ* = (1, 0.5). Measurements y_i = ⟨A_i, M*⟩ with i.i.d. N(0, 1) entries of A_i
# (non-symmetric A_i so that F Gᵀ is identifiable), A stored as an m × n² matrix.
# Losses f(X) = (1/4m) Σ r_i² and f(F, G) = (1/2m) Σ r_i²; GD with a constant step η;
# X₀ = αZ with Z_ij ~ N(0, 1/n), F₀ and G₀ independent. "Rate" below is the slope of
# −ln(relative error) per iteration in the late phase (`late_phase_rate`). The "fully
# observed" variant replaces the operator by the identity (loss (1/4)‖XXᵀ − M*‖²_F),
# which is cheap enough for the 10⁵-step runs.
#
# **Sizes (honest deviations from the brief).** To keep the full notebook within about
# ten minutes on a 2-core CPU, the Gaussian-sensing runs use n = 30 (brief: 50) with
# m = 5nr = 300 and T = 2·10⁴; the rate-versus-α and singular-value panels use the fully
# observed n = 30 problem with T = 10⁵ (as the brief's pilots did); ScaledGD uses n = 20,
# r = 3, m = 5nr = 300 (brief: n = 60); the one-step fix uses the pilot problem
# (n = 20, r = 2, k = 4, m = 800, η = 0.2). Smoke mode (CI) shrinks everything further
# and its printed verdicts are not meaningful; the numbers quoted in the text are from
# the full-size run.

# %% tags=["parameters"]
import os

SMOKE = os.environ.get("LOWRANK_SMOKE") == "1"
N = 10 if SMOKE else 30  # side of the Gaussian-sensing truth
M_FACTOR = 8 if SMOKE else 5  # m = M_FACTOR * n * r
T_SENSING = 2_000 if SMOKE else 20_000
N_FULL = 10 if SMOKE else 30  # side of the fully observed problem
T_FULL = 5_000 if SMOKE else 100_000
CURVE_SEEDS = (0, 1) if SMOKE else (0, 1, 2)
SCALED_SEEDS = (0, 1) if SMOKE else tuple(range(5))
RATE_SEEDS = (0, 1, 2) if SMOKE else tuple(range(10))
ALPHAS = (0.4, 0.8) if SMOKE else (0.1, 0.2, 0.4, 0.8)
KAPPAS = (1.0, 10.0) if SMOKE else (1.0, 10.0, 100.0)
N_SCALED = 10 if SMOKE else 20
T_SCALED = 1_500 if SMOKE else 10_000
FIX_N, FIX_M = (10, 200) if SMOKE else (20, 800)
FIX_T = 1_500 if SMOKE else 3_000
FIX_ALPHAS = (1e-2, 1e-1) if SMOKE else (1e-3, 1e-2, 1e-1, 0.3)
FIX_SEEDS = (0, 1) if SMOKE else tuple(range(5))
CACHE_VERSION = 1

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lowrank_lab import backend
from lowrank_lab.analysis import crossover, iterations_to, late_phase_rate, loglog_slope, verdict
from lowrank_lab.experiments import run_sweep
from lowrank_lab.plotting import PALETTE, fit_line, plot_band, savefig, use_style
from lowrank_lab.sensing.trials import sensing_curve_trial, sensing_summary_trial

use_style()
xp = backend.get_namespace()
print(f"backend: {backend.backend_name(xp)}, smoke: {SMOKE}")

RANK = 2
M = M_FACTOR * N * RANK
BASE = {"n": N, "rank": RANK, "n_measurements": M, "condition_number": 2.0, "symmetric_sensing": False,
        "solver": "factored_gd", "step_size": 0.1, "max_iter": T_SENSING, "tol": 1e-13}
PSTYLE = {"symmetric": dict(color=PALETTE[1]), "asymmetric": dict(color=PALETTE[0])}


def trim(frame):
    """Drop the grid points after every run in ``frame`` had stopped (carried-forward tails)."""
    if "carried" not in frame:
        return frame
    last = frame.loc[~frame["carried"], "iteration"].max()
    return frame[frame["iteration"] <= last]


def per_run(frame, keys):
    """One row per run (config + seed) with the fitted late-phase rate and the last error."""
    rows = []
    for key, g in frame.groupby(keys + ["seed"], sort=True):
        g = g[~g["carried"]] if "carried" in g else g
        rows.append({**dict(zip(keys + ["seed"], key)),
                     "rate": late_phase_rate(g["iteration"], g["relative_error"]),
                     "final_error": g["relative_error"].iloc[-1]})
    return pd.DataFrame(rows)


# %% [markdown]
# ## Exact versus over-parameterized, symmetric versus asymmetric
#
# Gaussian sensing, n = 30, r = 2, m = 300, η = 0.1, α = 0.4, T = 2·10⁴, three seeds
# (median line, interquartile band). Top row: k = r = 2; bottom row: k = 4. The
# symmetric k > r panel is on log-log axes (its error should decay like 1/t); the
# others are semilog (a straight line is linear convergence).

# %%
curve_grid = [{**BASE, "parameterization": p, "width": 2, "init_scale": 0.4, "history_stride": 20}
              for p in ("symmetric", "asymmetric")]
curve_grid += [{**BASE, "parameterization": p, "width": 4, "init_scale": a, "history_stride": 20}
               for p in ("symmetric", "asymmetric") for a in ALPHAS]
curves = run_sweep("01_sensing_curves", curve_grid, sensing_curve_trial, seeds=CURVE_SEEDS,
                   cache_version=CACHE_VERSION)
assert (curves["status"] == "ok").all(), curves.loc[curves["status"] != "ok", "error"].unique()
a1 = curves[curves["init_scale"] == 0.4]
fits = per_run(a1, ["parameterization", "width"])
print(fits.groupby(["parameterization", "width"])[["rate", "final_error"]].median())

fig, axes = plt.subplots(2, 2, figsize=(10, 7))
a1_numbers = {}
for i, width in enumerate((2, 4)):
    for j, par in enumerate(("symmetric", "asymmetric")):
        ax = axes[i, j]
        sub = a1[(a1["parameterization"] == par) & (a1["width"] == width)]
        sub = sub[sub["iteration"] > 0] if (par == "symmetric" and width == 4) else trim(sub)
        plot_band(ax, sub, "iteration", "relative_error", color=PSTYLE[par]["color"],
                  label=f"{par}, k = {width}")
        ax.set_yscale("log")
        if par == "symmetric" and width == 4:
            ax.set_xscale("log")
            med = sub.groupby("iteration")["relative_error"].median()
            slope = loglog_slope(med.index, med.values, start=T_SENSING / 10)
            a1_numbers["sym_over_slope"] = slope
            ax.text(0.05, 0.08, f"log-log slope (t ≥ T/10): {slope:.2f}", transform=ax.transAxes)
        else:
            rate = fits[(fits["parameterization"] == par) & (fits["width"] == width)]["rate"].median()
            a1_numbers[(par, width)] = rate
            ax.text(0.4, 0.85, f"median rate: {rate:.2e} / iter", transform=ax.transAxes)
        ax.set_title(f"{'X Xᵀ' if par == 'symmetric' else 'F Gᵀ'}, k = {width} ({'exact' if width == 2 else 'over-param.'})")
        ax.set_xlabel("iteration t")
        ax.set_ylabel("‖model − M*‖_F / ‖M*‖_F")
fig.suptitle(f"A-1. GD on Gaussian sensing (n = {N}, r = 2, m = {M}, η = 0.1, α = 0.4)")
fig.tight_layout()
savefig(fig, "01_exact_vs_overparameterized")
plt.show()

exact_final = fits[fits["width"] == 2]["final_error"].max()
sym_over_final = fits[(fits["width"] == 4) & (fits["parameterization"] == "symmetric")]["final_error"].median()
print(f"k = r: worst final relative error over seeds and parameterizations = {exact_final:.2e} "
      f"-> {verdict(exact_final < 1e-11)} (straight semilog lines down to ~1e-12)")
print(f"symmetric k > r: median final error {sym_over_final:.2e} after {T_SENSING} steps, late log-log slope "
      f"{a1_numbers['sym_over_slope']:.2f} -> {verdict(-1.3 < a1_numbers['sym_over_slope'] < -0.7)} (slope ≈ −1)")
print(f"asymmetric k > r: median linear rate {a1_numbers[('asymmetric', 4)]:.2e} per iteration")

# %% [markdown]
# **What A-1 shows.** With k = r both parameterizations converge linearly (straight
# semilog lines, rates ≈ 0.020 and 0.011 per iteration) down to the 1e-13 stopping
# tolerance, i.e. the double-precision floor: reproduced. With k = 4 > r the symmetric
# model is sublinear: on log-log axes the late error is a straight line of slope −0.88
# here (−1.00 in the longer fully observed runs of A-4), ending at 1e-3 after 2·10⁴
# steps, ten orders of magnitude above the exact case at the same budget: reproduced.
# The asymmetric model with k = 4 is again linear, with a much smaller rate
# (2.6e-4 per iteration at α = 0.4; A-3 shows it scales like α²).

# %% [markdown]
# ## X Xᵀ versus F Gᵀ on the same PSD problem, at every α (k = 4)
#
# Left and middle: the Gaussian problems of A-1 (the same operator serves both models),
# k = 4, α ∈ {0.1, 0.2, 0.4, 0.8}, T = 2·10⁴. Right: the fully observed problem
# (n = 30) run ten times longer, T = 10⁵. The asymmetric model wins eventually (linear
# against 1/t), but its rate is ∝ α², so at small α it needs time to overtake: we also
# measure the crossover iteration t× after which the median F Gᵀ error stays below the
# median X Xᵀ error.

# %%
full_grid = [{"solver": "factored_gd", "n": N_FULL, "rank": RANK, "width": 4, "n_measurements": None,
              "condition_number": 2.0, "parameterization": p, "init_scale": a, "step_size": 0.1,
              "max_iter": T_FULL, "tol": 1e-13, "history_stride": 50}
             for p in ("symmetric", "asymmetric") for a in ALPHAS]
fullc = run_sweep("01_full_curves", full_grid, sensing_curve_trial, seeds=CURVE_SEEDS, cache_version=CACHE_VERSION)
assert (fullc["status"] == "ok").all()


def median_crossover(frame, alpha):
    """First grid iteration from which the median asymmetric error stays below the symmetric one."""
    med = {p: frame[(frame["parameterization"] == p) & (frame["init_scale"] == alpha)]
           .groupby("iteration")["relative_error"].median() for p in ("symmetric", "asymmetric")}
    both = pd.concat(med, axis=1).dropna()
    return crossover(both.index, both["asymmetric"], both["symmetric"])


a2 = curves[curves["width"] == 4]
fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
for par in ("symmetric", "asymmetric"):
    for a, ls in ((min(ALPHAS), "--"), (max(ALPHAS), "-")):
        sub = a2[(a2["parameterization"] == par) & (a2["init_scale"] == a)]
        plot_band(axes[0], sub, "iteration", "relative_error", color=PSTYLE[par]["color"], linestyle=ls,
                  label=f"{'XXᵀ' if par == 'symmetric' else 'FGᵀ'}, α = {a:g}")
axes[0].set_yscale("log")
axes[0].set_xlabel("iteration t")
axes[0].set_ylabel("relative error")
axes[0].set_title(f"Gaussian sensing, n = {N}, m = {M}")
axes[0].legend(fontsize=7.5)
finals = per_run(a2, ["parameterization", "init_scale"])
finals_full = per_run(fullc, ["parameterization", "init_scale"])
for ax, frame, t_end in ((axes[1], finals, T_SENSING), (axes[2], finals_full, T_FULL)):
    for par in ("symmetric", "asymmetric"):
        sub = frame[frame["parameterization"] == par]
        plot_band(ax, sub, "init_scale", "final_error", color=PSTYLE[par]["color"], marker="o",
                  label="X Xᵀ (symmetric)" if par == "symmetric" else "F Gᵀ (asymmetric)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(list(ALPHAS), [f"{a:g}" for a in ALPHAS])
    ax.set_xticks([], minor=True)
    ax.set_xlabel("initialization scale α")
    ax.set_ylabel(f"relative error at t = {t_end:g}")
    ax.legend(fontsize=7.5)
axes[1].set_title(f"Gaussian sensing, T = {T_SENSING:g}")
axes[2].set_title(f"fully observed n = {N_FULL}, T = {T_FULL:g}")
fig.suptitle("A-2. Same PSD truth: F Gᵀ (linear) ends far below X Xᵀ (1/t) given enough iterations; "
             "at small α that takes long")
fig.tight_layout()
savefig(fig, "01_symmetric_vs_asymmetric")
plt.show()

a2_results = {}
for name, frame, curves_frame in (("Gaussian, T=2e4", finals, a2), ("fully observed, T=1e5", finals_full, fullc)):
    paired = frame.pivot_table(index=["init_scale", "seed"], columns="parameterization", values="final_error")
    wins = (paired["asymmetric"] < paired["symmetric"]).groupby("init_scale").mean()
    cross = {a: median_crossover(curves_frame, a) for a in ALPHAS}
    a2_results[name] = (wins, cross)
    print(f"{name}: fraction of seeds where FGᵀ ends below XXᵀ, per α: {wins.round(2).to_dict()}")
    print(f"    crossover iteration t× per α: {cross}")
    print("    median final errors:")
    print(frame.groupby(["init_scale", "parameterization"])["final_error"].median().unstack().to_string())
wins_full, cross_full = a2_results["fully observed, T=1e5"]
wins_gauss, _ = a2_results["Gaussian, T=2e4"]
print(f"-> at T = {T_FULL:g} (fully observed): {verdict(bool((wins_full == 1.0).all()))} (FGᵀ beats XXᵀ at every α); "
      f"at T = {T_SENSING:g} (Gaussian): {verdict(bool((wins_gauss == 1.0).all()))}, FGᵀ ahead in every seed only "
      f"for α in {[a for a, w in wins_gauss.items() if w == 1.0]}, in some seeds for "
      f"{[a for a, w in wins_gauss.items() if 0 < w < 1]}")

# %% [markdown]
# **What A-2 shows.** Fully observed, run to T = 10⁵, the asymmetric model is ahead of
# the symmetric one after about a hundred iterations at every α and ends at ~1e-13,
# against 6e-5 for X Xᵀ (still on its 1/t trajectory), in every seed: the claim "FGᵀ
# beats XXᵀ at every α" and the "speed up from Ω(1/T²) to linear convergence" are
# reproduced. In Gaussian sensing with m = 5nr and T = 2·10⁴, however, F Gᵀ overtakes
# X Xᵀ only for α ≥ 0.4 within the budget (all seeds at α = 0.8, two of three at 0.4;
# median crossover t× ≈ 4,800 at α = 0.8 and ≈ 11,000 at α = 0.4); at α ≤ 0.2 it is
# still behind at T in every seed (≈ 5e-3 against 1e-3), because its
# rate ∝ α² is then too small to pay off within 2·10⁴ steps. At this budget the claim
# holds only for α ≥ 0.4; it holds at every α asymptotically.

# %% [markdown]
# ## The asymmetric late-phase rate scales like α²
#
# Fully observed problem (n = 30, r = 2, k = 4, η = 0.1, T = 10⁵), 10 seeds per α: the
# setting of the brief's pilot. Left: median (band: interquartile range) of the fitted
# rate divided by α², which should be flat. Right: each seed's rate against its measured
# initial imbalance ‖F₀ᵀF₀ − G₀ᵀG₀‖_F.

# %%
rate_grid = {"solver": ["factored_gd"], "n": [N_FULL], "rank": [RANK], "width": [4], "n_measurements": [None],
             "condition_number": [2.0], "parameterization": ["asymmetric"], "init_scale": list(ALPHAS),
             "step_size": [0.1], "max_iter": [T_FULL], "tol": [1e-13], "history_stride": [50],
             "record_singular_values": [False]}
rates = run_sweep("01_rate_vs_alpha", rate_grid, sensing_summary_trial, seeds=RATE_SEEDS,
                  cache_version=CACHE_VERSION)
assert (rates["status"] == "ok").all()
summary = rates.groupby("init_scale")[["rate", "rate_over_alpha2", "initial_imbalance"]].median()
summary["converged_frac"] = rates.groupby("init_scale")["stop_reason"].apply(lambda s: (s == "converged").mean())
print(summary)

fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
plot_band(axes[0], rates.assign(alpha2=rates["init_scale"] ** 2), "alpha2", "rate_over_alpha2", marker="o",
          color=PALETTE[0], label="median over seeds (IQR band)")
axes[0].set_xscale("log")
axes[0].set_ylim(0, None)
axes[0].set_xlabel("α²")
axes[0].set_ylabel("late-phase rate / α²")
slope_rate, _ = fit_line(summary.index.values ** 2, summary["rate"].values, log_x=True, log_y=True)
axes[0].text(0.05, 0.08, f"fit: rate ∝ (α²)^{slope_rate:.2f}", transform=axes[0].transAxes)
axes[0].legend(loc="upper right")
for k, a in enumerate(ALPHAS):
    sub = rates[rates["init_scale"] == a]
    axes[1].scatter(sub["initial_imbalance"], sub["rate"], color=PALETTE[k], label=f"α = {a:g}", s=18)
axes[1].set_xscale("log")
axes[1].set_yscale("log")
axes[1].set_xlabel("initial imbalance ‖F₀ᵀF₀ − G₀ᵀG₀‖_F")
axes[1].set_ylabel("late-phase rate (per iteration)")
axes[1].legend()
fig.suptitle(f"A-3. Asymmetric over-parameterized GD (fully observed n = {N_FULL}, k = 4): rate ~ α²")
fig.tight_layout()
savefig(fig, "01_rate_vs_alpha")
plt.show()

r_over = summary["rate_over_alpha2"]
spread = r_over.max() / r_over.min()
seed_spread = rates.groupby("init_scale")["rate_over_alpha2"].agg(lambda s: s.max() / s.min()).max()
log_corr = np.corrcoef(np.log(rates["initial_imbalance"]), np.log(rates["rate"]))[0, 1]
within = []
for a, sub in rates.groupby("init_scale"):
    if len(sub) > 2:
        within.append(np.corrcoef(np.log(sub["initial_imbalance"]), np.log(sub["rate"]))[0, 1])
print(f"median rate/α² per α: {np.round(r_over.values, 4)} (brief's pilot: ≈ 0.013 at every α); "
      f"max/min across α = {spread:.2f}; log-log slope of rate on α² = {slope_rate:.2f}")
print(f"largest single-seed spread of rate/α² within one α: {seed_spread:.1f}x")
print(f"correlation of log rate with log initial imbalance: all seeds {log_corr:.2f}, "
      f"within one α (mean) {np.mean(within) if within else float('nan'):.2f}")
print(f"-> {verdict(spread < 1.5 and abs(slope_rate - 1) < 0.2)} (median rate/α² roughly constant)")

# %% [markdown]
# **What A-3 shows.** The median late-phase rate divided by α² is flat across
# α ∈ {0.1, 0.2, 0.4, 0.8} (0.017, 0.017, 0.016, 0.024; max/min 1.5): the fitted rate
# scales as (α²)^1.07, reproducing the exp(−Ω(α²T)) law. The constant is of the order of
# the brief's pilot value 0.013 but not equal to it (the pilot's fitting convention is not
# stated, so we only claim the flatness). As in the pilot, single seeds scatter by about
# 10× (11× here). Across α the rate tracks the initial imbalance (both scale like α²;
# correlation of the logs 0.91), but *within* one α the total ‖D₀‖_F barely predicts a
# seed's rate (mean correlation 0.21): what matters is the imbalance along the k − r
# spurious directions, a small part of ‖D₀‖_F.

# %% [markdown]
# ## Inside the runs: spurious singular values and the conserved imbalance
#
# The fully observed runs of A-2 (n = 30, k = 4, η = 0.1, T = 10⁵, three seeds), looked
# at from inside: symmetric runs at α ∈ {0.1, 0.4} (the brief's sublinear panel uses
# {0.1, 0.5}) and the asymmetric run at α = 0.4. The heuristic (brief, A2,
# reconstruction) for X Xᵀ: a spurious direction of size s obeys s ← s − ηs³, so
# 2ηt·s_t² → 1; for F Gᵀ the imbalance D = FᵀF − GᵀG is conserved by gradient flow.

# %%
A4 = 0.4
a4_alphas = sorted({min(ALPHAS), A4})
svc = fullc[(fullc["parameterization"] == "asymmetric") & (fullc["init_scale"] == A4)
            | (fullc["parameterization"] == "symmetric") & fullc["init_scale"].isin(a4_alphas)]
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
sym = svc[(svc["parameterization"] == "symmetric") & (svc["iteration"] > 0)]
for k, a in enumerate(a4_alphas):
    sub = sym[sym["init_scale"] == a]
    med = sub.groupby("iteration")[["relative_error", "loss"]].median()
    slope_e = loglog_slope(med.index, med["relative_error"], start=T_FULL / 10)
    slope_l = loglog_slope(med.index, med["loss"], start=T_FULL / 10)
    axes[0].loglog(med.index, med["relative_error"], color=PALETTE[k],
                   label=f"α = {a:g}: error slope {slope_e:.2f}")
    axes[0].loglog(med.index, med["loss"], color=PALETTE[k], linestyle=":",
                   label=f"α = {a:g}: loss slope {slope_l:.2f}")
    if a == A4:
        a4_slopes = (slope_e, slope_l)
axes[0].set_xlabel("iteration t")
axes[0].set_title("X Xᵀ, k = 4: error and loss (fitted for t ≥ T/10)")
axes[0].legend(fontsize=7.5)
sub = sym[(sym["init_scale"] == A4) & (sym["seed"] == CURVE_SEEDS[0])]
for i in range(1, 5):
    axes[1].loglog(sub["iteration"], sub[f"sigma_{i}"], color=PALETTE[i - 1], label=f"σ_{i}(X)")
ax2 = axes[1].twinx()
s_min = sub[["sigma_3", "sigma_4"]].min(axis=1)
ax2.semilogx(sub["iteration"], 2 * 0.1 * sub["iteration"] * s_min**2, color="k", linestyle="--",
             label="2ηt·σ_4² (right)")
ax2.set_ylim(0, 1.5)
ax2.grid(False)
axes[1].set_xlabel("iteration t")
axes[1].set_title(f"X Xᵀ, α = {A4:g}: singular values of X")
h1, l1 = axes[1].get_legend_handles_labels()
h2, l2 = ax2.get_legend_handles_labels()
axes[1].legend(h1 + h2, l1 + l2, fontsize=7.5, loc="lower left")
asym = svc[(svc["parameterization"] == "asymmetric") & (svc["seed"] == CURVE_SEEDS[0]) & ~svc["carried"]]
for i in (3, 4):
    axes[2].semilogy(asym["iteration"], asym[f"sigma_f_{i}"], color=PALETTE[i - 3], label=f"σ_{i}(F)")
    axes[2].semilogy(asym["iteration"], asym[f"sigma_g_{i}"], color=PALETTE[i - 3], linestyle=":",
                     label=f"σ_{i}(G)")
axes[2].semilogy(asym["iteration"], asym["imbalance"], color="k", label="‖FᵀF − GᵀG‖_F")
axes[2].semilogy(asym["iteration"], asym["relative_error"], color=PALETTE[2], label="relative error")
axes[2].set_xlabel("iteration t")
axes[2].set_title(f"F Gᵀ, α = {A4:g}: spurious directions and imbalance")
axes[2].legend(fontsize=7.5)
fig.suptitle("A-4. Symmetric: spurious directions decay like 1/√(2ηt); asymmetric: D is conserved")
fig.tight_layout()
savefig(fig, "01_singular_values")
plt.show()

late = sub[sub["iteration"] >= T_FULL / 2]
ratio = float((2 * 0.1 * late["iteration"] * late[["sigma_3", "sigma_4"]].min(axis=1) ** 2).median())
asym_all = svc[(svc["parameterization"] == "asymmetric") & ~svc["carried"]]
drift = asym_all.groupby("seed")["imbalance"].agg(lambda d: (d.max() - d.min()) / d.iloc[0]).max()
print(f"symmetric α = {A4:g}: late log-log slopes error {a4_slopes[0]:.2f}, loss {a4_slopes[1]:.2f} "
      f"-> {verdict(abs(a4_slopes[0] + 1) < 0.15 and abs(a4_slopes[1] + 2) < 0.3)} (−1 and −2)")
print(f"2ηt·σ_min(X)² over the second half of the run (median): {ratio:.3f} (heuristic: → 1)")
print(f"asymmetric: largest relative drift of ‖D‖_F over a run: {drift:.3f} "
      f"-> {verdict(drift < 0.1)} (‖D‖ nearly constant)")

# %% [markdown]
# **What A-4 shows.** For X Xᵀ the two spurious singular values of X (σ₃, σ₄) decay like
# 1/√(2ηt): 2ηt·σ₄² → 1.00 over the second half of the run, and the error (loss) decays
# with log-log slope −1.00 (−2.00) for t ≥ 10⁴, exactly the brief's pilot: reproduced
# (at α = 0.1 the same slopes appear after a longer transient). For F Gᵀ the spurious
# singular values of F and G do not both vanish: their squares differ by the conserved
# imbalance, so F's spurious part stays O(α) while G's decays geometrically, and
# ‖FᵀF − GᵀG‖_F drifts by at most 2% over a run: reproduced.

# %% [markdown]
# ## ScaledGD versus GD for condition numbers 1, 10, 100
#
# Gaussian sensing, n = 20, r = 3, m = 5nr = 300, asymmetric F Gᵀ with k = r, spectral
# initialization (same start for both methods). ScaledGD uses η = 0.5 (brief); GD's step
# is tuned per κ on {0.25, 0.5, 0.8} (best median iterations to 1e-6). κ = 100 is beyond
# the brief's {1, 5, 10, 20} but is what the issue asks for. The singular values are
# linearly spaced from 1 to 1/κ.

# %%
sc_base = {"n": N_SCALED, "rank": 3, "width": 3, "n_measurements": 5 * N_SCALED * 3, "psd": False,
           "parameterization": "asymmetric", "init": "spectral", "max_iter": T_SCALED, "tol": 1e-12,
           "history_stride": 5, "record_singular_values": False}
sc_grid = [{**sc_base, "solver": "scaled_gd", "condition_number": k, "step_size": 0.5} for k in KAPPAS]
sc_grid += [{**sc_base, "solver": "factored_gd", "condition_number": k, "step_size": s}
            for k in KAPPAS for s in (0.25, 0.5, 0.8)]
scg = run_sweep("01_scaled_gd", sc_grid, sensing_curve_trial, seeds=SCALED_SEEDS, cache_version=CACHE_VERSION)
assert (scg["status"] == "ok").all()
counts = []
for key, g in scg.groupby(["solver", "condition_number", "step_size", "seed"]):
    g = g.sort_values("iteration")
    counts.append({"solver": key[0], "kappa": key[1], "step_size": key[2], "seed": key[3],
                   "iters": iterations_to(g["iteration"], g["relative_error"], 1e-6)})
counts = pd.DataFrame(counts)
med = counts.groupby(["solver", "kappa", "step_size"])["iters"].median().reset_index()
best_gd = med[med["solver"] == "factored_gd"].sort_values("iters").groupby("kappa").head(1)
best_step = dict(zip(best_gd["kappa"], best_gd["step_size"]))
print("GD step chosen per κ:", best_step)

fig, axes = plt.subplots(1, len(KAPPAS) + 1, figsize=(3.4 * (len(KAPPAS) + 1), 3.4))
for ax, k in zip(axes, KAPPAS):
    sub = trim(scg[(scg["condition_number"] == k) & (scg["solver"] == "scaled_gd")])
    plot_band(ax, sub, "iteration", "relative_error", color=PALETTE[0], label="ScaledGD (η = 0.5)")
    sub = trim(scg[(scg["condition_number"] == k) & (scg["solver"] == "factored_gd")
                   & (scg["step_size"] == best_step[k])])
    plot_band(ax, sub, "iteration", "relative_error", color=PALETTE[1], label=f"GD (η = {best_step[k]:g})")
    ax.set_yscale("log")
    ax.set_xlim(0, 1.1 * min(sub["iteration"].max(), sub.groupby("seed")["n_iter"].first().quantile(0.75)))
    ax.set_ylim(1e-13, 3)
    ax.set_title(f"κ = {k:g}")
    ax.set_xlabel("iteration t")
axes[0].set_ylabel("relative error")
axes[0].legend(fontsize=7.5)
ax = axes[-1]
sel = counts[(counts["solver"] == "scaled_gd") | counts.apply(
    lambda r: r["solver"] == "factored_gd" and r["step_size"] == best_step[r["kappa"]], axis=1)]
slopes = {}
for name, color in (("scaled_gd", PALETTE[0]), ("factored_gd", PALETTE[1])):
    sub = sel[sel["solver"] == name]
    summ = plot_band(ax, sub, "kappa", "iters", color=color, marker="o",
                     label="ScaledGD" if name == "scaled_gd" else "GD (tuned η)")
    slopes[name], _ = fit_line(summ["kappa"], summ["center"], log_x=True, log_y=True)
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("condition number κ")
ax.set_ylabel("iterations to error 1e-6")
ax.text(0.05, 0.9, f"slopes: ScaledGD {slopes['scaled_gd']:.2f}, GD {slopes['factored_gd']:.2f}",
        transform=ax.transAxes, fontsize=8)
ax.legend(loc="center right", fontsize=7.5)
fig.suptitle(f"A-5. ScaledGD versus GD (n = {N_SCALED}, r = 3, m = {5 * N_SCALED * 3}, spectral init)")
fig.tight_layout()
savefig(fig, "01_scaledgd_vs_gd")
plt.show()

it_table = sel.groupby(["solver", "kappa"])["iters"].median().unstack()
print(it_table)
s_ratio = it_table.loc["scaled_gd"].max() / it_table.loc["scaled_gd"].min()
g_ratio = it_table.loc["factored_gd", max(KAPPAS)] / it_table.loc["factored_gd", min(KAPPAS)]
print(f"ScaledGD: max/min iterations over κ = {s_ratio:.2f}; GD: κ={max(KAPPAS):g} / κ={min(KAPPAS):g} = {g_ratio:.1f} "
      f"(log-log slope {slopes['factored_gd']:.2f}) -> {verdict(s_ratio < 1.5 and slopes['factored_gd'] > 0.6)}")

# %% [markdown]
# **What A-5 shows.** ScaledGD reaches 1e-6 in 120–125 iterations at every κ (log-log
# slope of iterations on κ: −0.01), while tuned GD needs 125, ≈ 560 and ≈ 4,300 iterations
# at κ = 1, 10, 100 (slope 0.77; GD's contraction factor is 1 − ησ_r with σ_r = 1/κ, and
# its best step is capped by the stability limit set by σ₁ = 1). Reproduced: ScaledGD's
# count is flat, GD's grows roughly linearly in κ (a bit slower than linearly at this
# size, because part of GD's count is the κ-independent initial phase).

# %% [markdown]
# ## The one-step fix: rate with and without injected imbalance
#
# **Reconstruction (brief A2, issue 3 — check against the paper).** The paper's one-step
# modification is not specified in the brief; we implement the pilot version:
# once, at t₀ = 500, add to F an order-one random perturbation P = (I − QQᵀ)Z orthogonal
# to F's current column space (Z_ij ~ N(0, 1/n)), which injects imbalance PᵀP into
# FᵀF − GᵀG. Control: the plain rescaling F ← 2F, G ← G/2. Problem: the pilot,
# n = 20, r = 2, k = 4, m = 800, η = 0.2, 5 seeds. Left: error curves (median over
# seeds); right: late-phase rate against α.

# %%
fix_base = {"solver": "factored_gd", "n": FIX_N, "rank": RANK, "width": 4, "n_measurements": FIX_M,
            "condition_number": 2.0, "symmetric_sensing": False, "parameterization": "asymmetric",
            "step_size": 0.2, "max_iter": FIX_T, "tol": 1e-14, "history_stride": 10, "fix_iteration": 500,
            "record_singular_values": False}
fix_grid = [{**fix_base, "init_scale": a, "one_step_fix": f} for a in FIX_ALPHAS for f in (None, "orthogonal", "rescale")]
fix_grid.append({**fix_base, "width": 2, "init_scale": 0.1, "one_step_fix": None})  # exact parameterization
fixc = run_sweep("01_one_step_fix", fix_grid, sensing_curve_trial, seeds=FIX_SEEDS, cache_version=CACHE_VERSION)
assert (fixc["status"] == "ok").all()
fixc["fix"] = fixc["one_step_fix"].fillna("none")
exact_rate = per_run(fixc[fixc["width"] == 2], ["init_scale"])["rate"].median()
fixc = fixc[fixc["width"] == 4]
fix_rates = per_run(fixc, ["fix", "init_scale"])

fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
styles = {"none": "-", "orthogonal": "--", "rescale": ":"}
for k, a in enumerate(FIX_ALPHAS):
    for f in ("none", "orthogonal"):
        sub = trim(fixc[(fixc["fix"] == f) & (fixc["init_scale"] == a)])
        med = sub.groupby("iteration")["relative_error"].median()
        axes[0].semilogy(med.index, med.values, color=PALETTE[k], linestyle=styles[f],
                         label=f"α = {a:g}, {'plain GD' if f == 'none' else 'with fix'}")
axes[0].axvline(500, color="0.5", lw=0.8)
axes[0].set_xlabel("iteration t")
axes[0].set_ylabel("relative error")
axes[0].legend(fontsize=7, ncol=2)
labels = {"none": "plain GD", "orthogonal": "orthogonal injection (fix)", "rescale": "rescale F←2F, G←G/2"}
for k, f in enumerate(("none", "orthogonal", "rescale")):
    sub = fix_rates[fix_rates["fix"] == f]
    plot_band(axes[1], sub, "init_scale", "rate", color=PALETTE[k], marker="o", label=labels[f],
              linestyle=styles[f])
axes[1].set_xscale("log")
axes[1].set_yscale("log")
axes[1].set_xticks(list(FIX_ALPHAS), [f"{a:g}" for a in FIX_ALPHAS])
axes[1].set_xticks([], minor=True)
axes[1].set_xlabel("initialization scale α")
axes[1].set_ylabel("late-phase rate (per iteration)")
axes[1].legend(fontsize=7.5)
fig.suptitle("A-6. One-step imbalance injection (reconstruction): the rate no longer depends on α")
fig.tight_layout()
savefig(fig, "01_one_step_fix")
plt.show()

fr = fix_rates.groupby(["fix", "init_scale"])[["rate", "final_error"]].median().unstack("fix")
print(fr)
with_fix = fix_rates[fix_rates["fix"] == "orthogonal"].groupby("init_scale")["rate"].median()
plain = fix_rates[fix_rates["fix"] == "none"].groupby("init_scale")["rate"].median()
worst_fixed = fix_rates[fix_rates["fix"] == "orthogonal"]["final_error"].max()
print(f"rate with the fix: {np.round(with_fix.values, 4)} (max/min {with_fix.max() / with_fix.min():.2f}); "
      f"plain GD: {np.array2string(plain.values, formatter={'float_kind': lambda v: f'{v:.1e}'})} "
      f"(max/min {plain.max() / plain.min():.0f}); "
      f"exact parameterization k = r: {exact_rate:.4f}")
print(f"worst final error with the fix over all α and seeds: {worst_fixed:.1e} (pilot: 1e-14)")
print(f"-> {verdict(with_fix.max() / with_fix.min() < 2 and worst_fixed < 1e-10)} (rate independent of α)")

# %% [markdown]
# **What A-6 shows.** Without the fix, the late-phase rate falls with α (from 6.7e-3 at
# α = 0.3 to 1.4e-5 at α = 1e-3, a factor ≈ 480), and after 3,000 steps plain GD at
# α ≤ 0.1 still sits at 4e-4 to 4e-5. With one orthogonal injection at t₀ = 500, every α
# converges to ≈ 1e-14 within about a thousand further steps, at a rate of 0.031–0.035
# per iteration whatever α (max/min 1.12): the α-dependence is gone (reproduced), and
# the rate is about half the exact-parameterization rate (0.062), i.e. of the same
# order but not fully "recovering the rate in the exact-parameterization case". The
# plain rescaling barely helps, as in the pilot: it injects imbalance only along
# the r principal directions, not along the spurious ones that govern the slow phase.
# Whether this is the paper's modification remains to be checked (reconstruction).

# %% [markdown]
# ## Summary
#
# | claim (brief, A4) | toy result |
# |---|---|
# | k = r: linear to ~1e-12 (both parameterizations) | reproduced (A-1) |
# | symmetric k > r: sublinear, slope ≈ −1 (error), −2 (loss) | reproduced (A-1, A-4) |
# | asymmetric k > r: linear, rate/α² ≈ const | reproduced; constant 0.016–0.024, pilot 0.013 |
# | FGᵀ beats XXᵀ at every α | reproduced at T = 10⁵ (fully observed); at T = 2·10⁴ in Gaussian sensing only for α ≥ 0.4 (A-2) |
# | ‖D‖ nearly constant | reproduced (A-4) |
# | ScaledGD iterations independent of κ; GD ∝ κ | reproduced (A-5) |
# | one-step fix: rate independent of α | reproduced for the reconstruction; its rate is ≈ ½ the k = r rate |
#
# Sizes are smaller than the brief's (see the setup); every verdict above is printed by
# the notebook from the numbers it computes.
