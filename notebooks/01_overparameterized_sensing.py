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
# **"Reproduced if"** (study design, A4): k = r gives straight semilog lines down to ~1e-12;
# symmetric k > r is sublinear with a late log-log slope ≈ −1 on ‖XXᵀ − M*‖_F (−2 on the
# loss); asymmetric k > r is linear with median rate/α² roughly constant (pilot ≈ 0.013);
# FGᵀ beats XXᵀ at every α; ‖FᵀF − GᵀG‖ is nearly constant; ScaledGD needs about the
# same number of iterations at every κ while GD's count grows roughly linearly in κ;
# with the fix the rate no longer depends on α.
#
# **Setup and conventions** (study design, A2). Truth M* = U* diag(σ*) U*ᵀ, PSD, rank r = 2,
# σ* = (1, 0.5) (κ = 2) and a κ = 10 variant (σ* = (1, 0.1)). Measurements
# y_i = ⟨A_i, M*⟩ with i.i.d. N(0, 1) entries of A_i (non-symmetric A_i so that F Gᵀ is
# identifiable), A stored as an m × n² matrix. Losses f(X) = (1/4m) Σ r_i² and
# f(F, G) = (1/2m) Σ r_i²; GD with a constant step η, **tuned separately for X Xᵀ and
# F Gᵀ** on a log grid (section 0); X₀ = αZ with Z_ij ~ N(0, 1/n), F₀ and G₀ independent.
# "Rate" is the slope of −ln(relative error) per iteration in the late phase
# (`late_phase_rate`). The "fully observed" variant replaces the operator by the
# identity (loss (1/4)‖XXᵀ − M*‖²_F).
#
# **Statistics.** Every ordering and every curve uses 5 seeds (median line,
# interquartile band); rates, slopes and ratios carry 95 % bootstrap intervals over
# seeds (`lowrank_lab.analysis`); fractions of seeds carry Wilson intervals. Tuning uses
# its own seeds (100, 101). Every pass threshold is fixed in the parameters cell before
# the runs and named next to its verdict; a claim passes when the point estimate meets
# it, and the verdict table at the end prints the interval beside it.
#
# **Sizes (honest deviations from the study design).** To keep the full notebook near ten
# minutes on one CPU core, the Gaussian-sensing runs use n = 30 (study design: 50) with
# m = 5nr = 300 and T = 5·10³ at the tuned steps (which are 4–8× the study design's η = 0.1, so
# ηT matches or exceeds the study design's 0.1 · 2·10⁴); the fully observed runs use n = 30 and
# T = 1.5·10⁴ at the tuned steps; ScaledGD uses n = 20, r = 3, m = 5nr = 300 (study design:
# n = 60); the one-step fix uses the issue's pilot problem (n = 20, r = 2, k = 4, m = 800,
# η = 0.2). Smoke mode (CI) shrinks everything and its verdicts are not meaningful.
# Every number in the text is generated from the run that made the figures.

# %% tags=["parameters"]
import os

SMOKE = os.environ.get("LOWRANK_SMOKE") == "1"
N = 10 if SMOKE else 30  # side of the Gaussian-sensing truth (A-1, A-2, A-7)
M_FACTOR = 8 if SMOKE else 5  # m = M_FACTOR * n * r
T_SENSING = 1_500 if SMOKE else 5_000
N_FULL = 10 if SMOKE else 30  # side of the fully observed problem (A-2 right, A-3, A-4, plateau)
T_FULL = 3_000 if SMOKE else 15_000
T_TUNE = 500 if SMOKE else 3_000  # tuning budget (steps) of the step-size grids
CURVE_SEEDS = (0, 1) if SMOKE else tuple(range(5))  # orderings and curves: 5 seeds
SCALED_SEEDS = (0, 1) if SMOKE else tuple(range(5))
RATE_SEEDS = (0, 1, 2) if SMOKE else tuple(range(10))  # rate against alpha: 10 seeds per alpha
TUNE_SEEDS = (100, 101)  # tuning seeds, disjoint from the evaluation seeds
ALPHAS = (0.4, 0.8) if SMOKE else (0.1, 0.2, 0.4, 0.8)
STEPS = (0.1, 0.4, 1.6) if SMOKE else (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2)  # GD step grid (tuned per model)
KAPPA_VARIANT = 10.0  # the exact-parameterization panel's ill-conditioned variant
PLATEAU_ALPHAS = (1e-2, 1e-4) if SMOKE else (1e-2, 1e-3, 1e-4, 1e-6)  # long-plateau panel
T_PLATEAU = 1_500 if SMOKE else 3_000
KAPPAS = (1.0, 10.0) if SMOKE else (1.0, 10.0, 100.0)
N_SCALED = 10 if SMOKE else 20
T_SCALED = 1_500 if SMOKE else 10_000
GD_STEPS_SCALED = (0.5, 1.0) if SMOKE else (0.25, 0.5, 0.8, 1.0, 1.25, 1.6)
OVER_KAPPAS = (2.0, 10.0)  # A-7: over-parameterized GD vs ScaledGD vs ScaledGD(lambda)
OVER_ALPHA = 1e-3
OVER_DAMPING = 1e-3  # lambda of ScaledGD(lambda)
OVER_STEPS = (0.2, 0.5) if SMOKE else (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)  # GD at kappa = 2 wanted the low end
T_OVER = 1_000 if SMOKE else 2_000
FIX_N, FIX_M = (10, 200) if SMOKE else (20, 800)
FIX_T = 1_500 if SMOKE else 3_000
FIX_ALPHAS = (1e-2, 1e-1) if SMOKE else (1e-3, 1e-2, 1e-1, 0.3)
FIX_SEEDS = (0, 1) if SMOKE else tuple(range(5))
TARGET = 1e-6  # iterations counted to this relative error (A-5, A-7)
# verdict thresholds, fixed before the runs
EXACT_FLOOR = 1e-11  # "k = r converges linearly down to ~1e-12": every seed ends below this
SLOPE_ERROR, SLOPE_LOSS, SLOPE_TOL = -1.0, -2.0, 0.2  # symmetric k > r: late log-log slopes within +-0.2
EXPONENT_TOL = 0.2  # "rate ∝ alpha^2": fitted exponent of rate on alpha^2 within 1 +- 0.2 (see A-3)
WIN_FRACTION = 1.0  # "FG^T beats XX^T at every alpha": in every seed at every alpha
DRIFT_MAX = 0.1  # "||D|| nearly constant": relative drift below 10 %
SCALED_RATIO = 1.5  # "ScaledGD is kappa-free": iterations within a factor 1.5 over kappa
GD_KAPPA_EXPONENT = 0.6  # "GD grows roughly linearly in kappa": exponent of iterations on kappa above 0.6
FIX_RATIO = 2.0  # "with the fix the rate does not depend on alpha": rates within a factor 2 over alpha
FIX_FLOOR = 1e-10  # ... and every fixed run ends below this
CACHE_VERSION = 2

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from lowrank_lab import analysis, backend
from lowrank_lab.analysis import crossover, iterations_to, late_phase_rate, loglog_slope
from lowrank_lab.experiments import run_sweep
from lowrank_lab.plotting import PALETTE, plot_band, savefig, use_style
from lowrank_lab.sensing.trials import sensing_curve_trial, sensing_summary_trial

use_style()
pd.set_option("display.width", 160)
xp = backend.get_namespace()
print(f"backend: {backend.backend_name(xp)}, smoke: {SMOKE}")

RANK = 2
M = M_FACTOR * N * RANK
BASE = {"n": N, "rank": RANK, "n_measurements": M, "condition_number": 2.0, "symmetric_sensing": False,
        "solver": "factored_gd", "max_iter": T_SENSING, "tol": 1e-13}
FULL = {"solver": "factored_gd", "n": N_FULL, "rank": RANK, "n_measurements": None, "condition_number": 2.0,
        "max_iter": T_FULL, "tol": 1e-13, "history_stride": 50}
PSTYLE = {"symmetric": dict(color=PALETTE[1]), "asymmetric": dict(color=PALETTE[0])}
MODEL = {"symmetric": r"$XX^{\mathsf{T}}$", "asymmetric": r"$FG^{\mathsf{T}}$"}
ERR = r"$\|\widehat{M} - M^\star\|_F\,/\,\|M^\star\|_F$"
VERDICTS = []


def check(frame):
    bad = frame[frame["status"] != "ok"]
    assert bad.empty, bad["error"].unique()
    return frame


def caption(name, text):
    display(Markdown(f"*Figure (`figures/{name}.png`).* {text}"))


def tex(a):
    """alpha for a mathtext label: 10^{-6} for powers of ten, else the plain number."""
    k = np.log10(a)
    return f"10^{{{int(round(k))}}}" if abs(k - round(k)) < 1e-9 and a < 0.05 else f"{a:g}"


def e(v):
    return "diverged" if not np.isfinite(v) else (f"{v:.1e}" if (abs(v) < 1e-2 or abs(v) >= 1e4) and v != 0
                                                  else f"{v:.3g}")


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


def tune_steps(name, base, models, grid, **extra):
    """Best step per model on ``grid`` (median log10 final error over the tuning seeds; no divergence)."""
    cfgs = [{**base, **extra, "parameterization": p, "step_size": s, "max_iter": T_TUNE,
             "record_singular_values": False} for p in models for s in grid]
    frame = check(run_sweep(name, cfgs, sensing_summary_trial, seeds=TUNE_SEEDS, cache_version=CACHE_VERSION))
    frame["log_error"] = np.log10(frame["final_error"].clip(1e-13, 1e3))
    frame["stable"] = np.isfinite(frame["final_error"])
    best = analysis.best_on_grid(frame, "parameterization", "step_size", "log_error", valid="stable")
    return {r.parameterization: float(r.step_size) for r in best.itertuples()}, best


# %% [markdown]
# ## 0. Step sizes, tuned separately for X Xᵀ and F Gᵀ
#
# Each model's step is chosen on the grid STEPS by the median log₁₀ final error after
# T_TUNE steps on the tuning seeds (k = 4, α = 0.4), among the steps with no diverged run;
# the grid extends past the stability limit so that the optimum is interior. Both the
# Gaussian problem and the fully observed one are tuned.

# %%
ETA, tune_gauss = tune_steps("01_tune_gauss", BASE, ("symmetric", "asymmetric"), STEPS, width=4, init_scale=0.4,
                             history_stride=50)
ETA_FULL, tune_full = tune_steps("01_tune_full", FULL, ("symmetric", "asymmetric"), STEPS, width=4, init_scale=0.4)
display(pd.concat({"Gaussian sensing": tune_gauss, "fully observed": tune_full}, names=["problem"]))
display(Markdown(
    "**Tuned steps.** Gaussian sensing: " + ", ".join(f"{MODEL[p]} η = {ETA[p]:g}" for p in ETA)
    + "; fully observed: " + ", ".join(f"{MODEL[p]} η = {ETA_FULL[p]:g}" for p in ETA_FULL)
    + f". Interior to the grid: {int(tune_gauss['interior'].sum() + tune_full['interior'].sum())} of 4 "
    "(the tuning table lists each model's best step; the study design's η = 0.1 is below all of them)."))

# %% [markdown]
# ## A-1. Exact versus over-parameterized, symmetric versus asymmetric (κ = 2 and κ = 10)
#
# Gaussian sensing, n = 30, r = 2, m = 300, α = 0.4, tuned steps, five seeds (median
# line, interquartile band). Top row: k = r = 2, κ = 2; middle row: k = r = 2, κ = 10;
# bottom row: k = 4, κ = 2. The symmetric k > r panel is on log-log axes, with the
# heuristic prediction √(k − r)/(2ηt‖M*‖_F) (each of the k − r spurious directions has
# s_t² ≈ 1/(2ηt), study A2, reconstruction) drawn dashed; the others are semilog (a
# straight line is linear convergence).

# %%
def curve_cfg(p, width, alpha, kappa=2.0):
    return {**BASE, "parameterization": p, "width": width, "init_scale": alpha, "condition_number": kappa,
            "step_size": ETA[p], "history_stride": 20}


curve_grid = [curve_cfg(p, 2, 0.4, k) for p in ("symmetric", "asymmetric") for k in (2.0, KAPPA_VARIANT)]
curve_grid += [curve_cfg(p, 4, a) for p in ("symmetric", "asymmetric") for a in ALPHAS]
curves = check(run_sweep("01_sensing_curves", curve_grid, sensing_curve_trial, seeds=CURVE_SEEDS,
                         cache_version=CACHE_VERSION))
a1 = curves[curves["init_scale"] == 0.4]
fits = per_run(a1, ["parameterization", "width", "condition_number"])
M_NORM = {k: float(np.linalg.norm(np.linspace(1.0, 1.0 / k, RANK))) for k in (2.0, KAPPA_VARIANT)}

rows_a1 = [(2, 2.0), (2, KAPPA_VARIANT), (4, 2.0)]
fig, axes = plt.subplots(3, 2, figsize=(10, 10))
a1_numbers = {}
for i, (width, kappa) in enumerate(rows_a1):
    for j, par in enumerate(("symmetric", "asymmetric")):
        ax = axes[i, j]
        sub = a1[(a1["parameterization"] == par) & (a1["width"] == width) & (a1["condition_number"] == kappa)]
        loglog = par == "symmetric" and width == 4
        sub = sub[sub["iteration"] > 0] if loglog else trim(sub)
        plot_band(ax, sub, "iteration", "relative_error", color=PSTYLE[par]["color"],
                  label=f"{MODEL[par]}, $k = {width}$ (median, IQR)")
        ax.set_yscale("log")
        run_fits = fits[(fits["parameterization"] == par) & (fits["width"] == width) & (fits["condition_number"] == kappa)]
        if loglog:
            ax.set_xscale("log")
            t = np.geomspace(T_SENSING / 100, T_SENSING, 50)
            theory = np.sqrt(width - RANK) / (2 * ETA[par] * t * M_NORM[kappa])
            ax.plot(t, theory, "k--", lw=1, label=r"theory $\sqrt{k-r}\,/\,(2\eta t\,\|M^\star\|_F)$")
            late_med = sub[sub["iteration"] >= T_SENSING / 10].groupby("iteration")["relative_error"].median()
            a1_numbers["theory_ratio"] = float(np.median(late_med.values * 2 * ETA[par] * late_med.index.values
                                                         * M_NORM[kappa] / np.sqrt(width - RANK)))
            slopes = [loglog_slope(g["iteration"], g["relative_error"], start=T_SENSING / 10)
                      for _, g in sub.groupby("seed")]
            a1_numbers["sym_over_slope"] = analysis.bootstrap_ci(slopes, "median")
            ax.text(0.04, 0.06, f"late log-log slope {analysis.format_ci(*a1_numbers['sym_over_slope'], digits=2)}",
                    transform=ax.transAxes, fontsize=8.5)
        else:
            a1_numbers[(par, width, kappa)] = analysis.bootstrap_ci(run_fits["rate"], "median")
            ax.text(0.35, 0.86, f"rate {analysis.format_ci(*a1_numbers[(par, width, kappa)], digits=2)} / iter",
                    transform=ax.transAxes, fontsize=8.5)
        ax.set_title(f"{MODEL[par]}, $k = {width}$ ({'exact' if width == RANK else 'over-param.'}), "
                     rf"$\kappa = {kappa:g}$, $\eta = {ETA[par]:g}$", fontsize=10)
        ax.set_xlabel("iteration $t$")
        ax.set_ylabel(ERR)
        ax.legend(fontsize=8, loc="lower left" if not loglog else "upper right")
fig.suptitle(f"A-1. GD on Gaussian sensing (n = {N}, r = 2, m = {M}, α = 0.4, {len(CURVE_SEEDS)} seeds)")
fig.tight_layout()
savefig(fig, "01_exact_vs_overparameterized")
plt.show()

exact_fits = fits[fits["width"] == RANK]
exact_worst = exact_fits.groupby("condition_number")["final_error"].max()
slope = a1_numbers["sym_over_slope"]
VERDICTS += [
    {"claim": "A: k = r converges linearly to ~1e-12 (both models, κ = 2 and 10)",
     "statistic": "largest final error over seeds, models and κ", "estimate": float(exact_worst.max()),
     "threshold": f"< {EXACT_FLOOR:g}", "ok": exact_worst.max() < EXACT_FLOOR},
    {"claim": "A: symmetric k > r is sublinear, slope ≈ −1 (Gaussian sensing)",
     "statistic": f"late log-log slope of the error (t ≥ T/10), median over seeds", "estimate": slope,
     "threshold": f"{SLOPE_ERROR:g} ± {SLOPE_TOL:g}", "ok": abs(slope[0] - SLOPE_ERROR) <= SLOPE_TOL},
]
display(analysis.verdict_table(VERDICTS[-2:]))

# %%
r_ = {k: v for k, v in a1_numbers.items() if k != "sym_over_slope"}
caption("01_exact_vs_overparameterized",
        f"Relative error against iteration for GD on Gaussian sensing (n = {N}, r = {RANK}, m = {M}, α = 0.4, tuned "
        f"steps η = {ETA['symmetric']:g} for XXᵀ and {ETA['asymmetric']:g} for FGᵀ; median and interquartile band over "
        f"{len(CURVE_SEEDS)} seeds). Rows: exact width k = r at κ = 2, the same at κ = 10, over-parameterized k = 4 "
        f"at κ = 2. What to see: with k = r both models converge linearly to the 1e-13 tolerance (worst final error "
        f"{e(exact_worst.max())}), with rates "
        + ", ".join(f"{'XXᵀ' if p == 'symmetric' else 'FGᵀ'} κ = {k:g}: {r_[(p, 2, k)][0]:.2g}"
                    for p in ("symmetric", "asymmetric") for k in (2.0, KAPPA_VARIANT))
        + f" per iteration (κ = 10 is slower: GD's contraction depends on σ_r = 1/κ); with k = 4 XXᵀ is sublinear "
        f"(late log-log slope {analysis.format_ci(*slope, digits=2)}), parallel to the dashed 1/(2ηt) prediction and "
        f"{a1_numbers['theory_ratio']:.2g}× above it (the heuristic is for the fully observed loss; with m = 5nr "
        f"measurements the spurious directions also feel the sampling noise), while FGᵀ is linear again with rate "
        f"{r_[('asymmetric', 4, 2.0)][0]:.2g} per iteration.")

# %% [markdown]
# ## A-1′. The long plateau at small α (incremental learning)
#
# Fully observed problem (n = 30, r = 2, k = 4, κ = 2, tuned steps), α ∈ PLATEAU_ALPHAS,
# five seeds. From a small initialization the error sits on a plateau, then drops in two
# steps, one per true direction: a direction of eigenvalue σ_i grows like (1 + ησ_i)ᵗ from
# its initial size α√(k/n), so it is learned after about
# t_i ≈ ln(σ_i n / (α² k)) / (2ησ_i) steps (heuristic, reconstruction). The dotted
# verticals are these predictions for σ₁ = 1 and σ₂ = 0.5.

# %%
plat_grid = [{**FULL, "parameterization": p, "width": 4, "init_scale": a, "step_size": ETA_FULL[p],
              "max_iter": T_PLATEAU, "history_stride": 5, "record_singular_values": False}
             for p in ("symmetric", "asymmetric") for a in PLATEAU_ALPHAS]
plat = check(run_sweep("01_plateau", plat_grid, sensing_curve_trial, seeds=CURVE_SEEDS, cache_version=CACHE_VERSION))
fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.9), sharey=True)
predicted, measured = {}, []
for ax, par in zip(axes, ("symmetric", "asymmetric")):
    eta = ETA_FULL[par]
    for k, a in enumerate(PLATEAU_ALPHAS):
        sub = plat[(plat["parameterization"] == par) & (plat["init_scale"] == a) & (plat["iteration"] > 0)]
        plot_band(ax, sub, "iteration", "relative_error", color=PALETTE[k], label=rf"$\alpha = {tex(a)}$")
        for sigma in (1.0, 0.5):
            t_pred = np.log(sigma * N_FULL / (a**2 * 4)) / (2 * eta * sigma)
            predicted[(par, a, sigma)] = t_pred
            ax.axvline(t_pred, color=PALETTE[k], lw=0.8, ls=":")
        for seed, g in sub.groupby("seed"):  # learning the top direction: the error falls below 0.5
            measured.append({"parameterization": par, "alpha": a, "seed": seed,
                             "t_measured": iterations_to(g["iteration"], g["relative_error"], 0.5),
                             "t_predicted": predicted[(par, a, 1.0)]})
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("iteration $t$")
    ax.set_title(f"{MODEL[par]}, $k = 4$, $\\eta = {eta:g}$")
axes[0].set_ylabel(ERR)
axes[0].legend(fontsize=8, loc="lower left")
fig.suptitle(f"A-1′. Plateaus and incremental learning from small α (fully observed n = {N_FULL}, r = 2, k = 4)")
fig.tight_layout()
savefig(fig, "01_plateau")
plt.show()
measured = pd.DataFrame(measured)
plat_last = plat.sort_values("iteration").groupby(["parameterization", "init_scale", "seed"]).tail(1)
plat_expo = {par: analysis.power_law_exponent(g["init_scale"], g["relative_error"])
             for par, g in plat_last.groupby("parameterization")}
measured["ratio"] = measured["t_measured"] / measured["t_predicted"]
plateau_ratio = analysis.bootstrap_ci(measured["ratio"], "median")
# the plateau grows like log(1/alpha): slope of t_measured on ln(1/alpha) per seed, prediction 1/(eta sigma_1)
pl_slopes = {}
for par, g in measured.groupby("parameterization"):
    per_seed = [np.polyfit(np.log(1 / s["alpha"]), s["t_measured"], 1)[0] for _, s in g.groupby("seed")
                if s["t_measured"].notna().sum() >= 2]
    pl_slopes[par] = analysis.bootstrap_ci(per_seed, "median")
print(measured.groupby(["parameterization", "alpha"])[["t_measured", "t_predicted"]].median().round(0).to_string())
caption("01_plateau",
        f"Relative error against iteration (log-log; median and IQR over {len(CURVE_SEEDS)} seeds) from small "
        f"initializations α ∈ {{{', '.join(f'{a:g}' for a in PLATEAU_ALPHAS)}}}, fully observed n = {N_FULL}, r = 2, "
        f"k = 4, for XXᵀ (left) and FGᵀ (right); dotted verticals: the predicted times t₁, t₂ at which the "
        f"directions σ₁ = 1 and σ₂ = 0.5 are learned. What to see: a plateau whose length grows like ln(1/α) — the "
        f"time to learn the top direction grows by "
        + ", ".join(f"{'XXᵀ' if p == 'symmetric' else 'FGᵀ'} {analysis.format_ci(*v, digits=3)}" for p, v in pl_slopes.items())
        + f" steps per unit of ln(1/α) (prediction 1/(ησ₁) = "
        + ", ".join(f"{1 / ETA_FULL[p]:.3g}" for p in pl_slopes) + f"); measured/predicted time "
        f"{analysis.format_ci(*plateau_ratio, digits=2)} — then one drop per true direction (incremental learning), "
        f"and a second, long plateau at an error set by the spurious directions' initial size: the error at "
        f"T = {T_PLATEAU} scales as α^b with b = "
        + ", ".join(f"{analysis.format_ci(*v, digits=3)} ({'XXᵀ' if p == 'symmetric' else 'FGᵀ'})"
                    for p, v in plat_expo.items())
        + " (α² expected); leaving it takes ~1/(ηs₀²) steps for XXᵀ (the 1/t phase) and ~1/(cα²) for FGᵀ "
        "(the linear phase of A-3), far beyond T at small α.")

# %% [markdown]
# ## A-2. X Xᵀ versus F Gᵀ on the same PSD problem, at every α (k = 4)
#
# Left and middle: the Gaussian problems of A-1 (the same operator serves both models),
# k = 4, α ∈ ALPHAS, each model with its tuned step. Right: the fully observed problem
# (n = 30, T = 1.5·10⁴). We count the seeds (of five, same seeds for both models) in which
# F Gᵀ ends below X Xᵀ, with a Wilson interval, and the paired difference of the log₁₀
# final errors with a bootstrap interval; t× is the iteration after which the median F Gᵀ
# error stays below the median X Xᵀ error.

# %%
full_grid = [{**FULL, "parameterization": p, "width": 4, "init_scale": a, "step_size": ETA_FULL[p]}
             for p in ("symmetric", "asymmetric") for a in ALPHAS]
fullc = check(run_sweep("01_full_curves", full_grid, sensing_curve_trial, seeds=CURVE_SEEDS,
                        cache_version=CACHE_VERSION))


def median_crossover(frame, alpha):
    med = {p: frame[(frame["parameterization"] == p) & (frame["init_scale"] == alpha)]
           .groupby("iteration")["relative_error"].median() for p in ("symmetric", "asymmetric")}
    both = pd.concat(med, axis=1).dropna()
    return crossover(both.index, both["asymmetric"], both["symmetric"])


a2 = curves[(curves["width"] == 4)]
fig, axes = plt.subplots(1, 3, figsize=(14, 3.9))
for par in ("symmetric", "asymmetric"):
    for a, ls in ((min(ALPHAS), "--"), (max(ALPHAS), "-")):
        sub = a2[(a2["parameterization"] == par) & (a2["init_scale"] == a)]
        plot_band(axes[0], sub, "iteration", "relative_error", color=PSTYLE[par]["color"], linestyle=ls,
                  label=rf"{MODEL[par]}, $\alpha = {a:g}$")
axes[0].set_yscale("log")
axes[0].set_xlabel("iteration $t$")
axes[0].set_ylabel(ERR)
axes[0].set_title(f"Gaussian sensing, n = {N}, m = {M}", fontsize=10)
axes[0].legend(fontsize=8)
finals = per_run(a2, ["parameterization", "init_scale"])
finals_full = per_run(fullc, ["parameterization", "init_scale"])
for ax, frame, t_end in ((axes[1], finals, T_SENSING), (axes[2], finals_full, T_FULL)):
    for par in ("symmetric", "asymmetric"):
        sub = frame[frame["parameterization"] == par]
        plot_band(ax, sub, "init_scale", "final_error", color=PSTYLE[par]["color"], marker="o", ms=4,
                  label=f"{MODEL[par]} ({par})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(list(ALPHAS), [f"{a:g}" for a in ALPHAS])
    ax.set_xticks([], minor=True)
    ax.set_xlabel(r"initialization scale $\alpha$")
    ax.set_ylabel(f"relative error at $t = {t_end:g}$")
    ax.legend(fontsize=8)
axes[1].set_title(f"Gaussian sensing, T = {T_SENSING:g}", fontsize=10)
axes[2].set_title(f"fully observed n = {N_FULL}, T = {T_FULL:g}", fontsize=10)
fig.suptitle("A-2. Same PSD truth, k = 4: F Gᵀ (linear) against X Xᵀ (1/t), tuned steps")
fig.tight_layout()
savefig(fig, "01_symmetric_vs_asymmetric")
plt.show()

a2_results = {}
for name, frame, curves_frame in (("Gaussian sensing", finals, a2), ("fully observed", finals_full, fullc)):
    paired = frame.pivot_table(index=["init_scale", "seed"], columns="parameterization", values="final_error")
    wins = (paired["asymmetric"] < paired["symmetric"])
    n_win, n_all = int(wins.sum()), int(wins.size)
    diff = analysis.paired_difference(np.log10(paired["asymmetric"]), np.log10(paired["symmetric"]))
    cross = {a: median_crossover(curves_frame, a) for a in ALPHAS}
    per_alpha = wins.groupby("init_scale").agg(["sum", "count"])
    a2_results[name] = dict(n_win=n_win, n_all=n_all, wilson=analysis.wilson_interval(n_win, n_all), diff=diff,
                            cross=cross, per_alpha=per_alpha)
    print(f"{name}: FGᵀ below XXᵀ in {n_win}/{n_all} (α, seed) pairs; per α: "
          f"{ {a: str(int(r.iloc[0])) + '/' + str(int(r.iloc[1])) for a, r in per_alpha.iterrows()} }; "
          f"mean paired log10 difference {analysis.format_ci(*diff, digits=3)}; crossover t× per α: {cross}")
for name, res in a2_results.items():
    VERDICTS.append({"claim": f"A: FGᵀ beats XXᵀ at every α when k > r ({name})",
                     "statistic": "fraction of (α, seed) pairs with FGᵀ's final error below XXᵀ's [Wilson]",
                     "estimate": (res["n_win"] / res["n_all"], *res["wilson"]),
                     "threshold": f"= {WIN_FRACTION:g} (every seed, every α)",
                     "ok": res["n_win"] / res["n_all"] >= WIN_FRACTION,
                     "note": f"mean log10(FGᵀ/XXᵀ) = {analysis.format_ci(*res['diff'], digits=3)}"})
display(analysis.verdict_table(VERDICTS[-2:]))

# %%
g, f = a2_results["Gaussian sensing"], a2_results["fully observed"]
caption("01_symmetric_vs_asymmetric",
        f"Left: relative error against iteration for XXᵀ (orange) and FGᵀ (blue), k = 4, at the smallest and largest "
        f"α (dashed, solid), Gaussian sensing n = {N}, m = {M}. Middle and right: final error against α (median and "
        f"IQR over {len(CURVE_SEEDS)} seeds) in Gaussian sensing (T = {T_SENSING:g}) and fully observed "
        f"(n = {N_FULL}, T = {T_FULL:g}); each model at its tuned step. What to see: FGᵀ ends below XXᵀ in "
        f"{g['n_win']}/{g['n_all']} (α, seed) pairs in Gaussian sensing and {f['n_win']}/{f['n_all']} fully observed "
        f"(mean log₁₀ ratio {analysis.format_ci(*g['diff'], digits=3)} and {analysis.format_ci(*f['diff'], digits=3)}); "
        f"where it loses, its rate ∝ α² has not paid off within T (iteration after which the median FGᵀ error stays "
        f"below XXᵀ's, Gaussian sensing: "
        + ", ".join(f"α = {a:g}: {'not within T' if not np.isfinite(t) else f'{t:.0f}'}" for a, t in g["cross"].items())
        + "; fully observed: "
        + ", ".join(f"α = {a:g}: {'not within T' if not np.isfinite(t) else f'{t:.0f}'}" for a, t in f["cross"].items())
        + ").")

# %% [markdown]
# ## A-3. The asymmetric late-phase rate scales like α²
#
# Fully observed problem (n = 30, r = 2, k = 4, tuned η, T = 1.5·10⁴), 10 seeds per α.
# Left: each seed's late-phase rate against α² on log-log axes with the fitted law
# rate = c·α² (c = median of rate/α² with its bootstrap CI, shaded); the exponent of
# rate on α² is fitted over all seeds with a bootstrap CI (stratified by α). **Threshold
# (A-3):** the exponent within 1 ± EXPONENT_TOL. The α² law is the small-α asymptote of
# the imbalance (D = O(α²)), and at α = 0.8 the imbalance is no longer small against
# σ*₂ = 0.5, so a 20 % tolerance on the exponent is the precision this α range supports;
# the old test (max/min of the median rate/α² below 1.5) was replaced by it because a
# ratio of medians over four α has no interval. Right: each seed's rate against its
# measured initial imbalance ‖F₀ᵀF₀ − G₀ᵀG₀‖_F.

# %%
rate_grid = [{**FULL, "parameterization": "asymmetric", "width": 4, "init_scale": a,
              "step_size": ETA_FULL["asymmetric"], "record_singular_values": False} for a in ALPHAS]
rates = check(run_sweep("01_rate_vs_alpha", rate_grid, sensing_summary_trial, seeds=RATE_SEEDS,
                        cache_version=CACHE_VERSION))
rates["alpha2"] = rates["init_scale"] ** 2
c_fit = analysis.proportional_constant(rates["alpha2"], rates["rate"])
expo = analysis.power_law_exponent(rates["alpha2"], rates["rate"])
eta_a = ETA_FULL["asymmetric"]
per_alpha_c = {a: analysis.bootstrap_ci(g["rate"] / g["alpha2"], "median") for a, g in rates.groupby("init_scale")}
fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.9))
for k, a in enumerate(ALPHAS):
    sub = rates[rates["init_scale"] == a]
    axes[0].scatter(sub["alpha2"], sub["rate"], color=PALETTE[k], s=16, label=rf"$\alpha = {a:g}$ (one dot per seed)")
a2grid = np.geomspace(min(ALPHAS) ** 2 / 1.5, max(ALPHAS) ** 2 * 1.5, 50)
axes[0].plot(a2grid, c_fit[0] * a2grid, "k-", lw=1, label=rf"fit: rate $= c\,\alpha^2$, $c = {c_fit[0]:.3g}$")
axes[0].fill_between(a2grid, c_fit[1] * a2grid, c_fit[2] * a2grid, color="k", alpha=0.12, lw=0)
axes[0].set_xscale("log")
axes[0].set_yscale("log")
axes[0].set_xlabel(r"$\alpha^2$")
axes[0].set_ylabel(r"late-phase rate $-\mathrm{d}\ln(\mathrm{error})/\mathrm{d}t$")
axes[0].legend(fontsize=8, loc="upper left")
for k, a in enumerate(ALPHAS):
    sub = rates[rates["init_scale"] == a]
    axes[1].scatter(sub["initial_imbalance"], sub["rate"], color=PALETTE[k], label=rf"$\alpha = {a:g}$", s=16)
axes[1].set_xscale("log")
axes[1].set_yscale("log")
axes[1].set_xlabel(r"initial imbalance $\|F_0^{\mathsf{T}}F_0 - G_0^{\mathsf{T}}G_0\|_F$")
axes[1].set_ylabel("late-phase rate (per iteration)")
axes[1].legend(fontsize=8)
fig.suptitle(f"A-3. Asymmetric over-parameterized GD (fully observed n = {N_FULL}, k = 4, η = {eta_a:g}): rate ∝ α²")
fig.tight_layout()
savefig(fig, "01_rate_vs_alpha")
plt.show()

within = [analysis.rank_correlation(np.log(g["initial_imbalance"]), np.log(g["rate"]))[0]
          for _, g in rates.groupby("init_scale")]
overall = analysis.rank_correlation(rates["initial_imbalance"], rates["rate"])
seed_spread = rates.groupby("init_scale")["rate"].agg(lambda s: s.max() / s.min()).max()
print("median rate/α² per α [CI]:", {a: analysis.format_ci(*v, digits=3) for a, v in per_alpha_c.items()})
print(f"exponent of rate on α²: {analysis.format_ci(*expo, digits=3)}; c = {analysis.format_ci(*c_fit, digits=3)} "
      f"(= {c_fit[0] / eta_a:.3g} η; study design's pilot at η = 0.1: 0.013 = 0.13 η)")
VERDICTS.append({"claim": "A: asymmetric k > r converges linearly with rate ∝ α²",
                 "statistic": "exponent b of rate = c (α²)^b over all seeds (stratified bootstrap)",
                 "estimate": expo, "threshold": f"|b − 1| ≤ {EXPONENT_TOL:g}", "ok": abs(expo[0] - 1) <= EXPONENT_TOL,
                 "note": f"c = {analysis.format_ci(*c_fit, digits=3)} = {c_fit[0] / eta_a:.3g} η"})
display(analysis.verdict_table(VERDICTS[-1:]))

# %%
caption("01_rate_vs_alpha",
        f"Left: the late-phase linear rate of asymmetric GD (k = 4 > r = 2, fully observed n = {N_FULL}, "
        f"η = {eta_a:g}, T = {T_FULL:g}) against α², one dot per seed ({len(RATE_SEEDS)} per α), with the fitted "
        f"law rate = cα² (line; band: 95 % bootstrap CI of c). Right: the same rates against each seed's initial "
        f"imbalance. What to see: the rate scales as (α²)^b with b = {analysis.format_ci(*expo, digits=3)} and "
        f"c = {analysis.format_ci(*c_fit, digits=3)} (= {c_fit[0] / eta_a:.3g}η; the study design's pilot reports 0.13η at "
        f"η = 0.1, with an unstated fitting convention); single seeds scatter by up to {seed_spread:.0f}× at one α. "
        f"Across α the rate follows the initial imbalance (Spearman ρ = {analysis.format_ci(*overall, digits=2)}), "
        f"within one α much less (mean ρ = {np.nanmean(within):.2f}): what matters is the imbalance along the "
        f"k − r spurious directions, a small part of ‖D₀‖_F.")

# %% [markdown]
# ## A-4. Inside the runs: spurious singular values and the conserved imbalance
#
# The fully observed runs of A-2, looked at from inside: symmetric runs at the smallest α
# and at α = 0.4, and the asymmetric run at α = 0.4. For X Xᵀ the heuristic (study A2,
# reconstruction) is s_t ≈ 1/√(2ηt) for each spurious singular value; for F Gᵀ the
# imbalance D = FᵀF − GᵀG is conserved by gradient flow.

# %%
A4 = 0.4
a4_alphas = sorted({min(ALPHAS), A4})
svc = fullc[(fullc["parameterization"] == "asymmetric") & (fullc["init_scale"] == A4)
            | (fullc["parameterization"] == "symmetric") & fullc["init_scale"].isin(a4_alphas)]
eta_s = ETA_FULL["symmetric"]
fig, axes = plt.subplots(1, 3, figsize=(14, 4.0))
sym = svc[(svc["parameterization"] == "symmetric") & (svc["iteration"] > 0)]
a4_slopes = {}
for k, a in enumerate(a4_alphas):
    sub = sym[sym["init_scale"] == a]
    med = sub.groupby("iteration")[["relative_error", "loss"]].median()
    a4_slopes[a] = {q: analysis.bootstrap_ci([loglog_slope(g["iteration"], g[q], start=T_FULL / 10)
                                              for _, g in sub.groupby("seed")], "median") for q in ("relative_error", "loss")}
    axes[0].loglog(med.index, med["relative_error"], color=PALETTE[k], label=rf"error, $\alpha = {a:g}$")
    axes[0].loglog(med.index, med["loss"], color=PALETTE[k], linestyle=":", label=rf"loss, $\alpha = {a:g}$")
t = np.geomspace(T_FULL / 100, T_FULL, 40)
axes[0].loglog(t, np.sqrt(2) / (2 * eta_s * t * M_NORM[2.0]), "k--", lw=1, label=r"theory $\sqrt{2}/(2\eta t\|M^\star\|_F)$")
axes[0].set_xlabel("iteration $t$")
axes[0].set_ylabel("relative error (solid), loss (dotted)")
axes[0].set_title(f"{MODEL['symmetric']}, $k = 4$: error and loss", fontsize=10)
axes[0].legend(fontsize=8, loc="lower left")
sub = sym[(sym["init_scale"] == A4) & (sym["seed"] == CURVE_SEEDS[0])]
styles = ["-", "--", "-.", ":"]
for i in range(1, 5):
    axes[1].loglog(sub["iteration"], sub[f"sigma_{i}"], color=PALETTE[i - 1], ls=styles[i - 1], lw=1.6,
                   label=rf"$\sigma_{i}(X_t)$" + (" (true direction)" if i <= RANK else " (spurious)"))
axes[1].loglog(t, 1 / np.sqrt(2 * eta_s * t), color="k", lw=1, ls=(0, (1, 1)), label=r"theory $1/\sqrt{2\eta t}$")
axes[1].set_xlabel("iteration $t$")
axes[1].set_ylabel(r"singular values of $X_t$")
axes[1].set_title(f"{MODEL['symmetric']}, α = {A4:g}, seed {CURVE_SEEDS[0]}", fontsize=10)
axes[1].legend(fontsize=8, loc="lower left")
asym = svc[(svc["parameterization"] == "asymmetric") & (svc["seed"] == CURVE_SEEDS[0]) & ~svc["carried"]]
for i in (3, 4):
    axes[2].semilogy(asym["iteration"], asym[f"sigma_f_{i}"], color=PALETTE[i - 3], ls="-", label=rf"$\sigma_{i}(F)$")
    axes[2].semilogy(asym["iteration"], asym[f"sigma_g_{i}"], color=PALETTE[i - 3], ls="--", label=rf"$\sigma_{i}(G)$")
axes[2].semilogy(asym["iteration"], asym["imbalance"], color="k", lw=2, label=r"$\|F^{\mathsf{T}}F - G^{\mathsf{T}}G\|_F$")
axes[2].semilogy(asym["iteration"], asym["relative_error"], color=PALETTE[2], ls="-.", label="relative error")
axes[2].set_xlabel("iteration $t$")
axes[2].set_ylabel("spurious singular values, imbalance, error")
axes[2].set_title(f"{MODEL['asymmetric']}, α = {A4:g}, seed {CURVE_SEEDS[0]}", fontsize=10)
axes[2].legend(fontsize=8, loc="lower left")
fig.suptitle("A-4. Symmetric: spurious directions decay like 1/√(2ηt); asymmetric: D is conserved")
fig.tight_layout()
savefig(fig, "01_singular_values")
plt.show()

late = sym[(sym["init_scale"] == A4) & (sym["iteration"] >= T_FULL / 2)]
ratio_seeds = late.assign(r=2 * eta_s * late["iteration"] * late[["sigma_3", "sigma_4"]].min(axis=1) ** 2) \
    .groupby("seed")["r"].median()
ratio = analysis.bootstrap_ci(ratio_seeds, "median")
asym_all = svc[(svc["parameterization"] == "asymmetric") & ~svc["carried"]]
drifts = asym_all.groupby("seed")["imbalance"].agg(lambda d: (d.max() - d.min()) / d.iloc[0])
s_e, s_l = a4_slopes[A4]["relative_error"], a4_slopes[A4]["loss"]
VERDICTS += [
    {"claim": "A: symmetric k > r: late slope −1 on the error (fully observed)",
     "statistic": f"log-log slope for t ≥ T/10, α = {A4:g}, median over seeds", "estimate": s_e,
     "threshold": f"{SLOPE_ERROR:g} ± {SLOPE_TOL:g}", "ok": abs(s_e[0] - SLOPE_ERROR) <= SLOPE_TOL},
    {"claim": "A: symmetric k > r: late slope −2 on the loss (fully observed)",
     "statistic": "log-log slope of the loss, same runs", "estimate": s_l,
     "threshold": f"{SLOPE_LOSS:g} ± {SLOPE_TOL:g}", "ok": abs(s_l[0] - SLOPE_LOSS) <= SLOPE_TOL},
    {"claim": "A: ‖FᵀF − GᵀG‖ is nearly constant", "statistic": "largest relative drift of ‖D‖_F over a run (seeds)",
     "estimate": float(drifts.max()), "threshold": f"< {DRIFT_MAX:g}", "ok": drifts.max() < DRIFT_MAX},
]
display(analysis.verdict_table(VERDICTS[-3:]))

# %%
caption("01_singular_values",
        f"Inside the fully observed runs (n = {N_FULL}, r = 2, k = 4, tuned η = {eta_s:g} for XXᵀ and {eta_a:g} for "
        f"FGᵀ). Left: XXᵀ's relative error (solid) and loss (dotted), medians over {len(CURVE_SEEDS)} seeds, with "
        f"the predicted √(k−r)/(2ηt‖M*‖_F) (dashed). Middle: the four singular values of X_t for one seed with the "
        f"prediction 1/√(2ηt) for the two spurious ones. Right: spurious singular values of F (solid) and G (dashed), "
        f"the imbalance ‖FᵀF − GᵀG‖_F (thick black) and the error, one seed. What to see: XXᵀ's late slopes "
        f"{analysis.format_ci(*s_e, digits=3)} (error) and {analysis.format_ci(*s_l, digits=3)} (loss), and "
        f"2ηt·σ_min(X)² = {analysis.format_ci(*ratio, digits=3)} over the second half of the run (prediction 1); "
        f"FGᵀ's imbalance drifts by at most {100 * drifts.max():.1f} % while G's spurious part decays "
        f"geometrically and F's stays O(α).")

# %% [markdown]
# ## A-5. ScaledGD versus GD for condition numbers 1, 10, 100
#
# Gaussian sensing, n = 20, r = 3, m = 5nr = 300, asymmetric F Gᵀ with k = r, spectral
# initialization (same start for both methods), five seeds. ScaledGD uses η = 0.5
# (study design); GD's step is tuned per κ on GD_STEPS_SCALED (best median iterations to 10⁻⁶
# among steps with which every seed gets there), a grid that reaches past GD's stability
# limit so that the optimum is interior. Right: the measured late-phase contraction rate
# against κ with the predictions: GD's rate ∝ σ_r = 1/κ (constant fitted), ScaledGD's
# independent of κ (constant fitted).

# %%
sc_base = {"n": N_SCALED, "rank": 3, "width": 3, "n_measurements": 5 * N_SCALED * 3, "psd": False,
           "parameterization": "asymmetric", "init": "spectral", "max_iter": T_SCALED, "tol": 1e-12,
           "history_stride": 5, "record_singular_values": False}
sc_grid = [{**sc_base, "solver": "scaled_gd", "condition_number": k, "step_size": 0.5} for k in KAPPAS]
sc_grid += [{**sc_base, "solver": "factored_gd", "condition_number": k, "step_size": s}
            for k in KAPPAS for s in GD_STEPS_SCALED]
scg = check(run_sweep("01_scaled_gd", sc_grid, sensing_curve_trial, seeds=SCALED_SEEDS, cache_version=CACHE_VERSION))
counts = []
for key, g in scg.groupby(["solver", "condition_number", "step_size", "seed"]):
    g = g.sort_values("iteration")
    gg = g[~g["carried"]]
    counts.append({"solver": key[0], "kappa": key[1], "step_size": key[2], "seed": key[3],
                   "iters": iterations_to(g["iteration"], g["relative_error"], TARGET),
                   "rate": late_phase_rate(gg["iteration"], gg["relative_error"])})
counts = pd.DataFrame(counts)
counts["reached"] = counts["iters"].notna()
gd_best = analysis.best_on_grid(counts[counts["solver"] == "factored_gd"], "kappa", "step_size", "iters",
                                valid="reached")
best_step = dict(zip(gd_best["kappa"], gd_best["step_size"]))
print(gd_best.to_string(index=False))

fig, axes = plt.subplots(1, len(KAPPAS) + 1, figsize=(3.5 * (len(KAPPAS) + 1), 3.6))
for ax, k in zip(axes, KAPPAS):
    sub = trim(scg[(scg["condition_number"] == k) & (scg["solver"] == "scaled_gd")])
    plot_band(ax, sub, "iteration", "relative_error", color=PALETTE[0], label=r"ScaledGD ($\eta = 0.5$)")
    sub = trim(scg[(scg["condition_number"] == k) & (scg["solver"] == "factored_gd") & (scg["step_size"] == best_step[k])])
    plot_band(ax, sub, "iteration", "relative_error", color=PALETTE[1], label=rf"GD (tuned $\eta = {best_step[k]:g}$)")
    ax.set_yscale("log")
    ax.set_xlim(0, 1.1 * min(sub["iteration"].max(), sub.groupby("seed")["n_iter"].first().quantile(0.75)))
    ax.set_ylim(1e-13, 3)
    ax.set_title(rf"$\kappa = {k:g}$")
    ax.set_xlabel("iteration $t$")
axes[0].set_ylabel(r"$\|FG^{\mathsf{T}} - M^\star\|_F / \|M^\star\|_F$")
axes[0].legend(fontsize=8)
ax = axes[-1]
sel = counts[(counts["solver"] == "scaled_gd") | counts.apply(
    lambda r: r["solver"] == "factored_gd" and r["step_size"] == best_step[r["kappa"]], axis=1)]
kgrid = np.geomspace(min(KAPPAS) / 1.3, max(KAPPAS) * 1.3, 40)
c_gd = analysis.proportional_constant(1 / sel.loc[sel["solver"] == "factored_gd", "kappa"],
                                      sel.loc[sel["solver"] == "factored_gd", "rate"])
c_sc = analysis.bootstrap_ci(sel.loc[sel["solver"] == "scaled_gd", "rate"], "median")
for name, color, label in (("scaled_gd", PALETTE[0], "ScaledGD"), ("factored_gd", PALETTE[1], "GD (tuned η)")):
    plot_band(ax, sel[sel["solver"] == name], "kappa", "rate", color=color, marker="o", ms=4, label=f"{label}, measured")
ax.plot(kgrid, c_gd[0] / kgrid, color=PALETTE[1], ls="--", lw=1, label=rf"GD theory: rate $= c/\kappa$, $c = {c_gd[0]:.2g}$")
ax.plot(kgrid, np.full_like(kgrid, c_sc[0]), color=PALETTE[0], ls="--", lw=1, label="ScaledGD theory: κ-free")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel(r"condition number $\kappa$")
ax.set_ylabel("late-phase rate (per iteration)")
ax.legend(fontsize=8, loc="lower left")
fig.suptitle(f"A-5. ScaledGD versus GD (n = {N_SCALED}, r = 3, m = {5 * N_SCALED * 3}, spectral init, "
             f"{len(SCALED_SEEDS)} seeds)")
fig.tight_layout()
savefig(fig, "01_scaledgd_vs_gd")
plt.show()

it_table = sel.groupby(["solver", "kappa"])["iters"].median().unstack()
print(it_table)
sc_spread = analysis.spread_ratio([sel.loc[(sel["solver"] == "scaled_gd") & (sel["kappa"] == k), "iters"]
                                   for k in KAPPAS])
gd_sel = sel[sel["solver"] == "factored_gd"]
gd_expo = analysis.power_law_exponent(gd_sel["kappa"], gd_sel["iters"])
VERDICTS += [
    {"claim": "A: ScaledGD needs about the same number of iterations at every κ",
     "statistic": f"max/min median iterations to {TARGET:g} over κ ∈ {set(KAPPAS)}", "estimate": sc_spread,
     "threshold": f"≤ {SCALED_RATIO:g}", "ok": sc_spread[0] <= SCALED_RATIO},
    {"claim": "A: GD's iteration count grows roughly linearly in κ (tuned η)",
     "statistic": "exponent of iterations on κ", "estimate": gd_expo,
     "threshold": f"> {GD_KAPPA_EXPONENT:g}", "ok": gd_expo[0] > GD_KAPPA_EXPONENT},
]
display(analysis.verdict_table(VERDICTS[-2:]))

# %%
caption("01_scaledgd_vs_gd",
        f"Relative error against iteration for ScaledGD (η = 0.5) and GD (step tuned per κ: "
        + ", ".join(f"κ = {k:g}: {best_step[k]:g}" for k in KAPPAS)
        + f", optimum interior for {int(gd_best['interior'].sum())} of {len(KAPPAS)} κ) from the same spectral "
        f"initialization, Gaussian sensing n = {N_SCALED}, r = 3, m = {5 * N_SCALED * 3}, median and IQR over "
        f"{len(SCALED_SEEDS)} seeds; right: late-phase rates against κ with GD's predicted c/κ and ScaledGD's "
        f"κ-free rate (constants fitted). What to see: ScaledGD reaches {TARGET:g} in "
        + ", ".join(f"{it_table.loc['scaled_gd', k]:.0f}" for k in KAPPAS)
        + f" iterations (max/min {analysis.format_ci(*sc_spread, digits=3)}), GD in "
        + ", ".join(f"{it_table.loc['factored_gd', k]:.0f}" for k in KAPPAS)
        + f" (iterations ∝ κ^{gd_expo[0]:.2f}, CI [{gd_expo[1]:.2f}, {gd_expo[2]:.2f}]; part of GD's count is the "
        f"κ-independent initial phase).")

# %% [markdown]
# ## A-6. The one-step fix: rate with and without injected imbalance
#
# **Reconstruction (study A2, issue 3 — check against the paper).** The paper's one-step
# modification is not specified in the study design; we implement the issue's pilot version:
# once, at t₀ = 500, add to F an order-one random perturbation P = (I − QQᵀ)Z orthogonal
# to F's current column space (Z_ij ~ N(0, 1/n)), which injects imbalance PᵀP into
# FᵀF − GᵀG. Control: the plain rescaling F ← 2F, G ← G/2. Problem: the issue's pilot,
# n = 20, r = 2, k = 4, m = 800, η = 0.2, five seeds. Left: error curves (median over
# seeds); right: late-phase rate against α.

# %%
fix_base = {"solver": "factored_gd", "n": FIX_N, "rank": RANK, "width": 4, "n_measurements": FIX_M,
            "condition_number": 2.0, "symmetric_sensing": False, "parameterization": "asymmetric",
            "step_size": 0.2, "max_iter": FIX_T, "tol": 1e-14, "history_stride": 10, "fix_iteration": 500,
            "record_singular_values": False}
fix_grid = [{**fix_base, "init_scale": a, "one_step_fix": f} for a in FIX_ALPHAS for f in (None, "orthogonal", "rescale")]
fix_grid.append({**fix_base, "width": 2, "init_scale": 0.1, "one_step_fix": None})  # exact parameterization
fixc = check(run_sweep("01_one_step_fix", fix_grid, sensing_curve_trial, seeds=FIX_SEEDS, cache_version=CACHE_VERSION))
fixc["fix"] = fixc["one_step_fix"].fillna("none")
exact_rate = analysis.bootstrap_ci(per_run(fixc[fixc["width"] == 2], ["init_scale"])["rate"], "median")
fixc = fixc[fixc["width"] == 4]
fix_rates = per_run(fixc, ["fix", "init_scale"])

fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.9))
styles = {"none": "-", "orthogonal": "--", "rescale": ":"}
for k, a in enumerate(FIX_ALPHAS):
    for f in ("none", "orthogonal"):
        sub = trim(fixc[(fixc["fix"] == f) & (fixc["init_scale"] == a)])
        med = sub.groupby("iteration")["relative_error"].median()
        axes[0].semilogy(med.index, med.values, color=PALETTE[k], linestyle=styles[f],
                         label=rf"$\alpha = {a:g}$, {'plain GD' if f == 'none' else 'with fix'}")
axes[0].axvline(500, color="0.5", lw=0.8)
axes[0].text(520, 1e-13, "$t_0 = 500$", fontsize=8.5, color="0.4")
axes[0].set_xlabel("iteration $t$")
axes[0].set_ylabel(r"$\|FG^{\mathsf{T}} - M^\star\|_F / \|M^\star\|_F$")
axes[0].legend(fontsize=8, ncol=2)
labels = {"none": "plain GD", "orthogonal": "orthogonal injection (fix)", "rescale": r"rescale $F \leftarrow 2F,\ G \leftarrow G/2$"}
for k, f in enumerate(("none", "orthogonal", "rescale")):
    sub = fix_rates[fix_rates["fix"] == f]
    plot_band(axes[1], sub, "init_scale", "rate", color=PALETTE[k], marker="o", ms=4, label=labels[f],
              linestyle=styles[f])
axes[1].axhline(exact_rate[0], color="k", lw=0.8, ls="-.", label=f"exact width k = r ({exact_rate[0]:.3g})")
axes[1].set_xscale("log")
axes[1].set_yscale("log")
axes[1].set_xticks(list(FIX_ALPHAS), [f"{a:g}" for a in FIX_ALPHAS])
axes[1].set_xticks([], minor=True)
axes[1].set_xlabel(r"initialization scale $\alpha$")
axes[1].set_ylabel("late-phase rate (per iteration)")
axes[1].legend(fontsize=8)
fig.suptitle("A-6. One-step imbalance injection (reconstruction): the rate no longer depends on α")
fig.tight_layout()
savefig(fig, "01_one_step_fix")
plt.show()

with_fix = [fix_rates.loc[(fix_rates["fix"] == "orthogonal") & (fix_rates["init_scale"] == a), "rate"] for a in FIX_ALPHAS]
plain = [fix_rates.loc[(fix_rates["fix"] == "none") & (fix_rates["init_scale"] == a), "rate"] for a in FIX_ALPHAS]
fix_spread = analysis.spread_ratio(with_fix)
plain_spread = analysis.spread_ratio(plain)
worst_fixed = fix_rates[fix_rates["fix"] == "orthogonal"]["final_error"].max()
fix_med = fix_rates[fix_rates["fix"] == "orthogonal"].groupby("init_scale")["rate"].median()
print(fix_rates.groupby(["fix", "init_scale"])[["rate", "final_error"]].median().unstack("fix"))
VERDICTS.append({"claim": "A: with the one-step fix the rate no longer depends on α (reconstruction)",
                 "statistic": f"max/min median rate over α ∈ {set(FIX_ALPHAS)}; worst final error",
                 "estimate": fix_spread, "threshold": f"≤ {FIX_RATIO:g} and every run < {FIX_FLOOR:g}",
                 "ok": fix_spread[0] <= FIX_RATIO and worst_fixed < FIX_FLOOR,
                 "note": f"plain GD: {analysis.format_ci(*plain_spread, digits=3)}; worst fixed error {worst_fixed:.1e}"})
display(analysis.verdict_table(VERDICTS[-1:]))

# %%
caption("01_one_step_fix",
        f"Left: relative error of asymmetric GD (k = 4 > r = 2, Gaussian sensing n = {FIX_N}, m = {FIX_M}, η = 0.2; "
        f"median over {len(FIX_SEEDS)} seeds) without (solid) and with (dashed) one orthogonal injection of imbalance "
        f"at t₀ = 500, for each α. Right: late-phase rate against α (median, IQR) for plain GD, the fix and the "
        f"rescaling control; dash-dotted: the exact-width (k = r) rate. What to see: plain GD's rate spans "
        f"{analysis.format_ci(*plain_spread, digits=3)}× over α; with the fix it spans "
        f"{analysis.format_ci(*fix_spread, digits=3)}× ({', '.join(f'{v:.3g}' for v in fix_med)} per iteration) and every "
        f"run ends below {e(worst_fixed)}; the fixed rate is {fix_med.median() / exact_rate[0]:.2f} of the exact-width "
        f"rate {analysis.format_ci(*exact_rate, digits=3)} — of the same order, not fully 'recovering' it; the "
        f"rescaling barely helps (it injects imbalance only along the principal directions).")

# %% [markdown]
# ## A-7. Over-parameterized: GD against ScaledGD and ScaledGD(λ)
#
# Symmetric X Xᵀ with k = 4 > r = 2 on Gaussian sensing (n = 30, m = 300), κ ∈ {2, 10},
# five seeds. GD from α = 10⁻³; ScaledGD(λ) (Xu, Shen, Chi & Ma 2023,
# arXiv:2302.01186: X ← X − η∇f(X)(XᵀX + λI)⁻¹ from a small random initialization) from
# the same α with λ = OVER_DAMPING; plain ScaledGD from the spectral initialization with
# the solver's default small damping for k > r (reconstruction, `docs/sensing.md`). Each
# method's step is tuned per κ on OVER_STEPS by the median log₁₀ error after T_OVER/2
# steps on the tuning seeds.

# %%
ov_base = {"n": N, "rank": RANK, "width": 4, "n_measurements": M, "symmetric_sensing": False,
           "parameterization": "symmetric", "max_iter": T_OVER, "tol": 1e-13, "history_stride": 10,
           "record_singular_values": False}
METHODS = {
    "GD": {"solver": "factored_gd", "init": "small_random", "init_scale": OVER_ALPHA},
    "ScaledGD (spectral init)": {"solver": "scaled_gd", "init": "spectral"},
    "ScaledGD(λ)": {"solver": "scaled_gd", "init": "small_random", "init_scale": OVER_ALPHA, "damping": OVER_DAMPING},
}


def method_of(frame):
    """The method name of each row (configs carry the solver and its options, not a name)."""
    lam = (frame["solver"] == "scaled_gd") & (frame["init"] == "small_random")
    return np.where(frame["solver"] == "factored_gd", "GD", np.where(lam, "ScaledGD(λ)", "ScaledGD (spectral init)"))


ov_tune = check(run_sweep("01_over_tune", [{**ov_base, **cfg, "condition_number": k, "step_size": s,
                                            "max_iter": T_OVER // 2}
                                           for cfg in METHODS.values() for k in OVER_KAPPAS for s in OVER_STEPS],
                          sensing_summary_trial, seeds=TUNE_SEEDS, cache_version=CACHE_VERSION))
ov_tune["method"] = method_of(ov_tune)
ov_tune["log_error"] = np.log10(ov_tune["final_error"].clip(1e-13, 1e3))
ov_tune["stable"] = np.isfinite(ov_tune["final_error"])
ov_best = analysis.best_on_grid(ov_tune, ["method", "condition_number"], "step_size", "log_error", valid="stable")
OV_ETA = {(r.method, r.condition_number): float(r.step_size) for r in ov_best.itertuples()}
print(ov_best.to_string(index=False))
ov = check(run_sweep("01_over_methods", [{**ov_base, **cfg, "condition_number": k, "step_size": OV_ETA[(name, k)]}
                                         for name, cfg in METHODS.items() for k in OVER_KAPPAS],
                     sensing_curve_trial, seeds=CURVE_SEEDS, cache_version=CACHE_VERSION))
ov["method"] = method_of(ov)
fig, axes = plt.subplots(1, len(OVER_KAPPAS), figsize=(5.2 * len(OVER_KAPPAS), 3.9), sharey=True)
ov_rows = []
for ax, k in zip(axes, OVER_KAPPAS):
    for j, name in enumerate(METHODS):
        sub = ov[(ov["method"] == name) & (ov["condition_number"] == k)]
        plot_band(ax, trim(sub), "iteration", "relative_error", color=PALETTE[j],
                  label=f"{name}, $\\eta = {OV_ETA[(name, k)]:g}$")
        for seed, g in sub.groupby("seed"):
            ov_rows.append({"method": name, "kappa": k, "seed": seed, "final_error": g["relative_error"].iloc[-1],
                            "iters": iterations_to(g["iteration"], g["relative_error"], TARGET)})
    ax.set_yscale("log")
    ax.set_xlabel("iteration $t$")
    ax.set_title(rf"$XX^{{\mathsf{{T}}}}$, $k = 4 > r = 2$, $\kappa = {k:g}$", fontsize=10)
    ax.legend(fontsize=8, loc="lower left")
axes[0].set_ylabel(ERR)
fig.suptitle(f"A-7. Over-parameterized symmetric sensing (n = {N}, m = {M}): GD, ScaledGD, ScaledGD(λ), "
             f"{len(CURVE_SEEDS)} seeds")
fig.tight_layout()
savefig(fig, "01_overparameterized_scaledgd")
plt.show()
ov_rows = pd.DataFrame(ov_rows)
ov_table = ov_rows.groupby(["method", "kappa"]).agg(median_final_error=("final_error", "median"),
                                                    median_iters_to_target=("iters", "median"),
                                                    seeds_reaching=("iters", lambda s: int(s.notna().sum())))
print(ov_table.to_string())
lam = ov_rows[ov_rows["method"] == "ScaledGD(λ)"]
gd = ov_rows[ov_rows["method"] == "GD"]
paired = analysis.paired_difference(np.log10(lam.sort_values(["kappa", "seed"])["final_error"].clip(1e-16)),
                                    np.log10(gd.sort_values(["kappa", "seed"])["final_error"].clip(1e-16)))
caption("01_overparameterized_scaledgd",
        f"Relative error against iteration (median, IQR over {len(CURVE_SEEDS)} seeds) for the over-parameterized "
        f"symmetric model (k = 4, r = 2, Gaussian sensing n = {N}, m = {M}), κ = "
        + " and ".join(f"{k:g}" for k in OVER_KAPPAS)
        + f": GD from α = {OVER_ALPHA:g}, ScaledGD from the spectral initialization, ScaledGD(λ) from α = {OVER_ALPHA:g} "
        f"with λ = {OVER_DAMPING:g}; steps tuned per method and κ. What to see: median final errors "
        + "; ".join(f"{name} κ = {k:g}: {e(ov_table.loc[(name, k), 'median_final_error'])}"
                    for name in METHODS for k in OVER_KAPPAS)
        + f"; the step optimum is interior to its grid for {int(ov_best['interior'].sum())} of {len(ov_best)} "
        f"(method, κ) pairs (GD's scores vary little across its grid). ScaledGD(λ) against GD: mean log₁₀ ratio of final errors {analysis.format_ci(*paired, digits=3)} "
        f"(negative: ScaledGD(λ) ends lower; {'significantly' if paired[2] < 0 else 'not significantly'} at 95 %). "
        f"Expected mechanism (heuristic): with a fixed λ the spurious directions shrink like s ← s(1 − ηs²/λ) once "
        f"s² ≪ λ, a 1/t law with a constant λ/η times smaller than GD's; Xu et al.'s guarantee is linear "
        f"convergence to an α-dependent accuracy, which no method here reaches within T = {T_OVER} "
        f"(none gets to {TARGET:g}).")

# %% [markdown]
# ## Summary: verdict table
#
# One row per claim of study A4; estimates carry 95 % bootstrap intervals over seeds (or
# Wilson intervals for fractions of seeds); the thresholds were fixed in the parameters
# cell before the runs.

# %%
verdicts = analysis.verdict_table(VERDICTS)
display(verdicts)
n_rep = int((verdicts["verdict"] == analysis.verdict(True)).sum())
display(Markdown(
    f"**{n_rep} of {len(verdicts)} claims reproduced.** Sizes are smaller than the study design's (see the setup); "
    f"every estimate and verdict above is computed by the notebook from its runs, with the step sizes tuned "
    f"separately for each model (XXᵀ: η = {ETA['symmetric']:g}, FGᵀ: η = {ETA['asymmetric']:g} in Gaussian "
    f"sensing). The one-step fix is our reconstruction of the paper's modification."))
