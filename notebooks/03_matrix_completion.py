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
# # 03 · Matrix completion by (inexact) alternating minimization
#
# **Question.** Can alternating minimization (AltMin) tolerate *approximate*
# least-squares solves — making each sweep nearly linear in the number of observed
# entries |Ω| — without losing sample complexity? And how does it compare with the
# standard completion solvers, on synthetic matrices and on real ratings?
#
# **Claims tested** (study C; the papers are listed in `docs/references.md`):
# * Gu, Song, Yin, Zhang (arXiv 2302.11068): "our algorithm runs in time Õ(|Ω| k),
#   which is nearly linear in the time to verify the solution while preserving the
#   sample complexity. This improves upon all prior known alternating minimization
#   approaches which require Õ(|Ω| k²) time." The analysis tolerates a "moderate amount
#   of errors caused by approximate updates".
# * JNS13: AltMin "provably recovers the matrix M by observing a nearly linear in n
#   number of entries", for M with "incoherent rows and columns".
# * Brief C4, *reproduced if*: the phase boundary moves roughly in proportion to k and
#   tracks |Ω| ∝ k n log n; **the CG-2 and small-ε boundaries coincide with the exact
#   boundary**; with injected ε, linear convergence down to a floor ∝ ε, warm-started CG
#   converges linearly to machine precision at a slightly slower rate; at large k the
#   time-per-sweep slope is ≈ 2 for exact and ≈ 1 for CG; coherent matrices fail where
#   incoherent ones succeed; on MovieLens every low-rank method beats bias-only,
#   unregularized AltMin degrades as k grows while regularized solvers stay flat or
#   U-shaped.
#
# **Setup.** Everything runs through `lowrank_lab.completion` on
# `lowrank_lab.completion.Observations` (sorted entries with row/column offsets; no dense
# m × n array is formed by any solver) and the sweeps through
# `lowrank_lab.experiments.run_sweep` with the trial functions of
# `lowrank_lab.completion.trials`. The approximate AltMin is the study design's stand-in (a):
# `cg_iters` warm-started conjugate-gradient steps per row, applying Σ u_i u_iᵀ as
# U_Ωᵀ(U_Ω v); the perturbed variant is stand-in (b): exact solves plus a random
# perturbation of relative size ε per row. Both are *reconstructions* — the paper uses a
# sketching-preconditioned high-accuracy regression solver and has no public code — and
# so are the row-trimming details of the spectral initialization (rows of U₀ with norm
# above 2√(k/m) are zeroed before re-orthonormalization, JNS13's 2μ√(k/m) with μ folded
# into the constant).
#
# **Statistics.** Success probabilities come from `SEEDS_PT` seeds per cell with Wilson
# intervals; each 50 % transition is interpolated (`analysis.transition_ci`) with a
# cluster bootstrap over seeds; ratios of two methods' transitions use a paired
# bootstrap (`analysis.transition_ratio_ci`: seed s gives every method the same truth
# and mask). Every pass threshold is fixed in the parameter cell below, before the runs;
# the verdict table (§8) lists them. Numbers in the text are generated from the runs.

# %% tags=["parameters"]
import os

SMOKE = os.environ.get("LOWRANK_SMOKE") == "1"
# C-1 phase diagram (study design: m = n = 500; n = 200 here so that 12 seeds per cell fit the budget)
N_PT = 60 if SMOKE else 200
RANKS_PT = (2, 4) if SMOKE else (2, 5, 10, 20)
RATIOS = (1.0, 2.0, 4.0) if SMOKE else (1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0)  # |Omega| / (k (m + n - k))
SEEDS_PT = 3 if SMOKE else 10
REFINE = () if SMOKE else (1.05, 1.1, 1.15, 1.2, 1.3, 1.4)  # extra ratios where the k >= 10 curves jump 0 -> 1
REFINE_RANKS = () if SMOKE else (10, 20)
VARIANT_RANK = 2 if SMOKE else 5  # CG-1/CG-4 and epsilon variants, one rank
EPS_PT = (1e-3, 1e-2)  # the "small epsilon" of the claim (their floors 1.6 eps lie below SUCCESS_TOL)
BASELINE_RANK = 2 if SMOKE else 10
SWEEPS = 50
# n-sweep at one rank: degrees of freedom (|Omega| ~ n) against k n log n
N_SWEEP = (40, 80) if SMOKE else (100, 200, 400, 800)
RANK_NS = 2 if SMOKE else 5
# C-2 convergence
N_CONV, RANK_CONV, RATIO_CONV, SEEDS_CONV = (80, 2, 4.0, 2) if SMOKE else (300, 5, 4.0, 5)
RATIO_NEAR = 1.5 if SMOKE else 1.25  # near the transition: why CG-2 can beat exact there (at k = BASELINE_RANK, n = N_PT)
# C-3 timing (study design: n = 2000-4000, |Omega| ~ 2e6, k up to 128; reduced)
N_TIME, NNZ_TIME = (400, 20_000) if SMOKE else (3000, 1_000_000)
RANKS_TIME = (4, 8, 16) if SMOKE else (8, 16, 32, 64, 128)
# C-4 solver comparison (ScaledGD's reference setup n = 1000, r = 10, p = 0.2; n = 500 here)
N_CMP, RANK_CMP, P_CMP = (100, 3, 0.3) if SMOKE else (500, 10, 0.2)
SEEDS_CMP = 2 if SMOKE else 5  # evaluation seeds; tuning uses TUNE_SEEDS other seeds
TUNE_SEEDS = [100] if SMOKE else [100, 101]
ITER_CMP = 60 if SMOKE else 300
TUNE_GRIDS = {"svp": ("step_size", (0.5, 0.75, 1.0, 1.25, 1.5)),
              "scaled_gd": ("step_size", (0.25, 0.5, 0.75, 1.0, 1.25)),
              "soft_impute": ("reg", (1e-1, 1e-2, 1e-3, 1e-4, 1e-5)),
              "svt": ("tau", (0.5, 1.0, 2.0, 5.0, 10.0))}
# C-5 coherence
N_COH, RANK_COH, P_COH = (80, 2, 0.3) if SMOKE else (300, 5, 0.2)
EXPONENTS = (0.0, 1.0) if SMOKE else (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)
SEEDS_COH = 3 if SMOKE else 20  # 20, not 10: with 10/10 successes the Wilson lower bound is only 0.72
# C-6 MovieLens (study design: 5 splits, k in {1, 2, 3, 5, 10, 20, 50})
ML_SPLITS = (0, 1) if SMOKE else (0, 1, 2, 3, 4)
ML_RANKS = (1, 2) if SMOKE else (1, 2, 5, 10, 20, 50)
ML_SUBSAMPLE = 0.2 if SMOKE else 1.0
ML_SWEEPS = 5 if SMOKE else 15
SUFFIX = "_smoke" if SMOKE else ""  # smoke sizes are far too small for the printed verdicts to mean anything

# pass thresholds, fixed before the runs
SUCCESS_TOL = 0.05  # one success criterion for every solver: relative error < 0.05 after the budget
STRICT_TOL = 1e-4  # the study design's criterion, shown as a sensitivity check for the solvers without a floor
COINCIDE = 1.15  # boundaries coincide: paired 95% CI of the transition ratio inside [1/1.15, 1.15]
SLOPE_K = (0.7, 1.3)  # "roughly proportional to k": log-log slope of |Omega|_50 against k, CI inside
FLOOR_SPREAD = 3.0  # floor / epsilon varies by less than this factor over epsilon
CG_SLOWER = 1.25  # CG-2's error ratio per sweep at most this times exact's
TIME_SLOPES = (1.5, 1.3)  # exact's time slope >= 1.5, CG's <= 1.3 (top three k)
COH_SUCCESS = (0.8, 0.2)  # incoherent success >= 0.8 (Wilson CI low end), most coherent <= 0.2 (CI high end)
FLAT_RANGE = 0.02  # regularized ALS: test RMSE range over k below this

# %%
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import HTML, Markdown, display
from matplotlib.ticker import MaxNLocator

from lowrank_lab import analysis, backend, completion, datasets
from lowrank_lab.completion import sample_entries
from lowrank_lab.completion import trials as completion_trials
from lowrank_lab.experiments import run_sweep
from lowrank_lab.matrices import low_rank_matrix
from lowrank_lab.plotting import PALETTE, fit_line, plot_band, savefig, seed_summary, use_style

use_style()
xp = backend.get_namespace()
T_START = time.perf_counter()
fmt = analysis.format_ci
VERDICTS = []  # rows of the verdict table (section 8)
NAMES = {"exact": "AltMin (exact)", "cg1": "AltMin-CG1", "cg2": "AltMin-CG2", "cg4": "AltMin-CG4",
         "eps0.001": r"AltMin, $\varepsilon = 10^{-3}$", "eps0.01": r"AltMin, $\varepsilon = 10^{-2}$",
         "eps0.1": r"AltMin, $\varepsilon = 10^{-1}$", "svp": "SVP", "scaled_gd": "ScaledGD",
         "soft_impute": "SoftImpute-ALS", "svt": "SVT", "bias": "biases only", "als": "regularized ALS",
         "altmin_cg": "regularized ALS-CG2"}
PLAIN = {k: v.replace(r"$\varepsilon = 10^{-3}$", "ε = 1e-3").replace(r"$\varepsilon = 10^{-2}$", "ε = 1e-2")
         .replace(r"$\varepsilon = 10^{-1}$", "ε = 1e-1") for k, v in NAMES.items()}


def caption(name, text):
    """Figure caption under the figure: what is plotted, the setup, what to see, and the file name."""
    display(Markdown(f"*Figure `{name}` (figures/{name}.png, .pdf).* {text}"))


print(f"backend: {backend.backend_name(xp)}, smoke: {SMOKE}")

# %% [markdown]
# ## 1. Exact recovery in one picture
#
# A 200 × 200 incoherent rank-5 matrix, 30% of its entries observed: exact AltMin and
# AltMin with 2 CG steps per row (the unit tests assert < 1e-6 for exactly this
# problem). The per-sweep operation count comes from the kernels' cost model
# (`result.params["ops_per_sweep"]`).

# %%
truth = low_rank_matrix(200, 200, 5, rng=0, xp=xp)
obs = sample_entries(truth, p=0.3, rng=1)
demo = {s: completion.altmin(obs, 5, solve=s, truth=truth, rng=2, max_iter=60) for s in ("exact", "cg")}
for s, res in demo.items():
    print(f"{s:>5}: {res.stop_reason} after {res.n_iter} sweeps, relative error {res.final('relative_error'):.1e}, "
          f"{res.params['ops_per_sweep'] / 1e6:.1f} Mflop per sweep")

# %% [markdown]
# ## 2. Phase transition (C-1)
#
# m = n = `N_PT`, Haar singular vectors, unit singular values, Bernoulli sampling with
# p = ratio · k(m + n − k)/(mn), at most 50 sweeps. **One success criterion for every
# solver:** relative error < `SUCCESS_TOL` at the end. The ε-perturbed runs have an
# error floor proportional to ε by design (§3 measures the constant), so a criterion that
# all solvers can meet must sit above the largest floor compared: we compare the ε of
# `EPS_PT`; ε = 0.1, whose floor exceeds any sensible criterion, appears only in §3. For
# the solvers without a floor the criterion barely matters if failed runs do not end
# between the two criteria; the text below counts them, and the table prints the
# transitions under the study design's stricter `STRICT_TOL` beside ours. Exact AltMin and CG-2 run over all
# ranks; CG-1, CG-4 and the two ε at k = `VARIANT_RANK`; SVP and ScaledGD (300
# iterations) at k = `BASELINE_RANK`. The ratio grid is refined between 1 and 3 degrees
# of freedom, where the transitions lie, and further (`REFINE`) for exact AltMin and CG-2
# at k ∈ `REFINE_RANKS`, whose success curves jumped from 0 to 1 inside one cell of the
# first grid (a refinement added after that first run). An interval that still spans a
# whole grid cell says the grid cannot resolve the transition there
# (`analysis.transition_ci` then reports the cell rather than a zero-width bootstrap).

# %%
# Each method is a solver of `completion.SOLVERS` with keyword options; `variant_label`
# names it for the tables and plots ("exact", "cg2", "eps0.001", "svp", ...).
METHODS = {"exact": {"solver": "altmin"}, "cg1": {"solver": "altmin", "solve": "cg", "cg_iters": 1},
           "cg2": {"solver": "altmin", "solve": "cg", "cg_iters": 2},
           "cg4": {"solver": "altmin", "solve": "cg", "cg_iters": 4},
           **{f"eps{e:g}": {"solver": "altmin", "perturbation": e} for e in (1e-3, 1e-2, 1e-1)},
           "svp": {"solver": "svp"}, "scaled_gd": {"solver": "scaled_gd"}}


def method_name(frame):
    """The display key of each row's method (from its solver and option columns)."""
    cols = [c if c in frame else None for c in ("solver", "solve", "cg_iters", "perturbation")]
    return [completion_trials.variant_label(*(row[c] if c else None for c in cols)) for _, row in frame.iterrows()]


def grid(methods, ranks, n=N_PT):
    return [{"n": n, "rank": k, "oversampling": ratio, **METHODS[m],
             "max_iter": SWEEPS if m not in ("svp", "scaled_gd") else 300}
            for m in methods for k in ranks for ratio in RATIOS]


eps_names = [f"eps{e:g}" for e in EPS_PT]
configs = (grid(["exact", "cg2"], RANKS_PT) + grid(["cg1", "cg4", *eps_names], [VARIANT_RANK])
           + grid(["svp", "scaled_gd"], [BASELINE_RANK])
           + [{"n": N_PT, "rank": k, "oversampling": r, **METHODS[m], "max_iter": SWEEPS}
              for m in ("exact", "cg2") for k in REFINE_RANKS for r in REFINE])
t0 = time.perf_counter()
pt = run_sweep(f"03_phase{SUFFIX}", configs, completion_trials.recovery_trial, seeds=SEEDS_PT, cache_version=2)
print(f"{len(pt)} trials, {pt['status'].eq('failed').sum()} failed, {time.perf_counter() - t0:.0f} s")
pt["method"] = method_name(pt)
pt["success"] = (pt["relative_error"] < SUCCESS_TOL).astype(float)
pt["strict"] = (pt["relative_error"] < STRICT_TOL).astype(float)


def success_matrix(frame, column="success"):
    """(ratio x seed) matrix of 0/1 outcomes for one method and rank."""
    return frame.pivot_table(index="oversampling", columns="seed", values=column).sort_index()


rows = []
for (method, k), g in pt.groupby(["method", "rank"]):
    S = success_matrix(g)
    est = analysis.transition_ci(S.index.to_numpy(), S.to_numpy())
    strict = success_matrix(g, "strict")
    rows.append({"method": method, "rank": k, "ratio_50": est.estimate, "low": est.low, "high": est.high,
                 "ratio_50 (strict 1e-4)": analysis.transition_point(strict.index.to_numpy(),
                                                                     strict.to_numpy().mean(axis=1)),
                 "coupon floor": completion_trials.coverage_transition(N_PT, N_PT, int(k))})
boundary = pd.DataFrame(rows)
boundary["|Ω|_50 / (k n log n)"] = boundary["ratio_50"] * boundary["rank"] * (2 * N_PT - boundary["rank"]) / (
    boundary["rank"] * N_PT * math.log(N_PT))
display(boundary.round(3))

# paired ratios CG-2 / exact per rank and variants / exact at VARIANT_RANK
ratios = {}
for k in RANKS_PT:
    ex = success_matrix(pt[(pt.method == "exact") & (pt["rank"] == k)])
    for m in ["cg2"] + (["cg1", "cg4", *eps_names] if k == VARIANT_RANK else []):
        other = success_matrix(pt[(pt.method == m) & (pt["rank"] == k)])
        ratios[(m, k)] = analysis.transition_ratio_ci(ex.index.to_numpy(), other.to_numpy(), ex.to_numpy())
ratio_tab = pd.DataFrame([{"method": PLAIN[m], "rank": k, "transition / exact's": fmt(*v)}
                          for (m, k), v in ratios.items()])
display(ratio_tab)

# %%
MARKERS = {"exact": "o", "cg1": "s", "cg2": "D", "cg4": "^", "eps0.001": "v", "eps0.01": "x", "svp": "s",
           "scaled_gd": "^"}
fig, axes = plt.subplots(1, 3, figsize=(13.5, 3.9), sharey=True)
for ax, methods, title in ((axes[0], ["exact", "cg2"], "(a) exact (solid) and CG-2 (dashed) by rank"),
                           (axes[1], ["exact", "cg1", "cg4", *eps_names], f"(b) variants at $k = {VARIANT_RANK}$"),
                           (axes[2], ["exact", "svp", "scaled_gd"], f"(c) baselines at $k = {BASELINE_RANK}$")):
    for m_i, m in enumerate(methods):
        ks = RANKS_PT if ax is axes[0] else [VARIANT_RANK if ax is axes[1] else BASELINE_RANK]
        for k_i, k in enumerate(ks):
            sub = pt[(pt.method == m) & (pt["rank"] == k)]
            color = PALETTE[k_i] if ax is axes[0] else PALETTE[m_i]
            label = (f"$k = {k}$" if m == "exact" else None) if ax is axes[0] else NAMES[m]
            s = seed_summary(sub, "oversampling", "success", spread="wilson")
            ax.plot(s["oversampling"], s["center"], color=color, ls="-" if m == "exact" else "--",
                    marker=MARKERS.get(m, "o"), ms=4, mfc="none" if m != "exact" else color, label=label)
            if m == "exact" or ax is not axes[0]:  # (a): bands for exact only, eight bands would hide the curves
                ax.fill_between(s["oversampling"], s["low"], s["high"], color=color, alpha=0.1, lw=0)
            if ax is axes[0] and m == "exact":
                floor = completion_trials.coverage_transition(N_PT, N_PT, int(k))
                ax.axvline(floor, color=color, ls=":", lw=1)
    ax.axhline(0.5, color="0.5", lw=0.8)
    ax.set(xscale="log", xlabel=r"oversampling $|\Omega| / (k(m + n - k))$", title=title)
    ax.set_xticks(list(RATIOS), [f"{r:g}" for r in RATIOS])
    ax.xaxis.set_minor_formatter(plt.NullFormatter())
    ax.legend(fontsize=8, loc="lower right")
axes[0].set_ylabel(f"P(relative error < {SUCCESS_TOL:g})")
savefig(fig, "03_phase_transition")
plt.show()
caption("03_phase_transition",
        f"Success probability (relative error < {SUCCESS_TOL:g} after {SWEEPS} sweeps; 300 iterations for SVP and "
        f"ScaledGD) against the oversampling |Ω|/(k(m + n − k)), for m = n = {N_PT}, {SEEDS_PT} seeds per point, "
        "shaded: Wilson 95 % intervals (in (a) for exact AltMin only); horizontal line: 50 %. (a) Exact AltMin (solid) and CG-2 (dashed) per rank k; "
        "dotted verticals: the coupon-collector floor, where half the masks have a row or column with fewer than k "
        f"entries. (b) CG-1, CG-4 and ε-perturbed AltMin at k = {VARIANT_RANK}. (c) SVP and ScaledGD at "
        f"k = {BASELINE_RANK}. Open markers distinguish curves that lie on top of each other. What to see: where each "
        "curve crosses 50 %; CG-2 crosses at or before exact; k = 2 needs more oversampling, its coupon-collector "
        "floor being highest.")

# %% [markdown]
# ### The n-sweep: degrees of freedom or k n log n?
#
# At one n the two reference scalings are both ∝ k and cannot be told apart. Varying n
# at fixed k = `RANK_NS` separates them: if |Ω|₅₀ ∝ k(2n − k) (degrees of freedom) the
# transition in dof units is flat in n, if |Ω|₅₀ ∝ k n log n it grows like log n. We fit
# the exponent b of |Ω|₅₀ ∝ n^b (bootstrap over seeds): dof scaling gives b ≈ 1, the
# theory scale gives the local slope of n log n, 1 + 1/ln n̄ over this range.

# %%
ns_configs = [c for n in N_SWEEP for c in grid(["exact"], [RANK_NS], n=n)]
ns = run_sweep(f"03_nsweep{SUFFIX}", ns_configs, completion_trials.recovery_trial, seeds=SEEDS_PT, cache_version=2)
ns["success"] = (ns["relative_error"] < SUCCESS_TOL).astype(float)
ns_rows, ns_boot = [], []
for n, g in ns.groupby("n"):
    S = success_matrix(g)
    est = analysis.transition_ci(S.index.to_numpy(), S.to_numpy())
    dof = RANK_NS * (2 * n - RANK_NS)
    ns_rows.append({"n": n, "ratio_50": est.estimate, "low": est.low, "high": est.high, "omega_50": est.estimate * dof,
                    "coupon floor": completion_trials.coverage_transition(int(n), int(n), RANK_NS)})
ns_tab = pd.DataFrame(ns_rows)
display(ns_tab.round(3))
n_arr = ns_tab["n"].to_numpy(float)
ok = np.isfinite(ns_tab["omega_50"].to_numpy())
b_hat = fit_line(n_arr[ok], ns_tab["omega_50"].to_numpy()[ok], log_x=True, log_y=True)[0] if ok.sum() >= 2 else np.nan
# bootstrap of the exponent: resample seeds within each n, recompute the transitions and the slope
rng_b = np.random.default_rng(0)
b_boot = []
mats = {n: success_matrix(g) for n, g in ns.groupby("n")}
for _ in range(300):
    pts = []
    for n, S in mats.items():
        cols = rng_b.integers(0, S.shape[1], S.shape[1])
        r50 = analysis.transition_point(S.index.to_numpy(), S.to_numpy()[:, cols].mean(axis=1))
        pts.append((n, r50 * RANK_NS * (2 * n - RANK_NS)))
    pts = np.array(pts, dtype=float)
    if np.all(np.isfinite(pts[:, 1])):
        b_boot.append(np.polyfit(np.log(pts[:, 0]), np.log(pts[:, 1]), 1)[0])
b_ci = (b_hat, *np.quantile(b_boot, [0.025, 0.975])) if b_boot else (b_hat, np.nan, np.nan)
n_geo = float(np.exp(np.mean(np.log(n_arr))))
b_theory = 1 + 1 / math.log(n_geo)

fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.8))
ax = axes[0]
ax.errorbar(n_arr, ns_tab["omega_50"], yerr=np.abs(np.vstack([ns_tab["low"], ns_tab["high"]]) * RANK_NS
                                                   * (2 * n_arr - RANK_NS) - ns_tab["omega_50"].to_numpy()),
            fmt="o", ms=5, capsize=3, color=PALETTE[0], label=r"$|\Omega|_{50}$ (95 % CI)")
nn = np.geomspace(n_arr.min() * 0.9, n_arr.max() * 1.1, 100)
dof_c = np.nanmedian(ns_tab["omega_50"] / (RANK_NS * (2 * n_arr - RANK_NS)))
th_c = np.nanmedian(ns_tab["omega_50"] / (RANK_NS * n_arr * np.log(n_arr)))
ax.plot(nn, dof_c * RANK_NS * (2 * nn - RANK_NS), color=PALETTE[1], ls="--",
        label=rf"degrees of freedom: ${dof_c:.2f}\,k(2n-k)$")
ax.plot(nn, th_c * RANK_NS * nn * np.log(nn), color=PALETTE[2], ls=":",
        label=rf"theory scale: ${th_c:.2f}\,k\,n\log n$")
ax.set(xscale="log", yscale="log", xlabel="$n$ ($m = n$)", ylabel=r"observed entries at 50 % success $|\Omega|_{50}$",
       title=f"(a) Transition against $n$ ($k = {RANK_NS}$)")
ax.set_xticks(list(N_SWEEP), [str(v) for v in N_SWEEP])
ax.xaxis.set_minor_formatter(plt.NullFormatter())
ax.legend(fontsize=8)
ax = axes[1]
ax.errorbar(n_arr, ns_tab["ratio_50"], yerr=np.abs(np.vstack([ns_tab["low"], ns_tab["high"]]) - ns_tab["ratio_50"].to_numpy()),
            fmt="o", ms=5, capsize=3, color=PALETTE[0], label="transition (95 % CI)")
ax.plot(nn, np.full_like(nn, dof_c), color=PALETTE[1], ls="--", label="degrees-of-freedom scaling")
ax.plot(nn, th_c * nn * np.log(nn) / (2 * nn - RANK_NS), color=PALETTE[2], ls=":", label=r"$k\,n\log n$ scaling")
ax.plot(n_arr, ns_tab["coupon floor"], color="0.4", ls="-.", lw=1, label="coupon-collector floor")
ax.set(xscale="log", xlabel="$n$ ($m = n$)", ylabel=r"$|\Omega|_{50} / (k(2n - k))$", title="(b) The same in dof units")
ax.set_xticks(list(N_SWEEP), [str(v) for v in N_SWEEP])
ax.xaxis.set_minor_formatter(plt.NullFormatter())
ax.legend(fontsize=8)
savefig(fig, "03_n_sweep")
plt.show()
caption("03_n_sweep",
        f"Exact AltMin at k = {RANK_NS}, n ∈ {list(N_SWEEP)}, {SEEDS_PT} seeds per cell, same criterion as "
        "`03_phase_transition`. (a) Number of observed entries at the 50 % transition (bootstrap 95 % CI) with the "
        "two reference curves, each with its one constant fitted (median ratio). (b) The transition in "
        "degrees-of-freedom units, with the coupon-collector floor. What to see: which curve the points follow as n "
        "grows; both references are drawn.")

# %%
main_b = boundary[boundary.method == "exact"].set_index("rank")
valid = main_b.dropna(subset=["ratio_50"])
slope_k = (np.nan, np.nan, np.nan)
if len(valid) >= 2:
    kk = valid.index.to_numpy(float)
    omega = valid["ratio_50"].to_numpy() * kk * (2 * N_PT - kk)
    s_hat = fit_line(kk, omega, log_x=True, log_y=True)[0]
    mats_k = {k: success_matrix(pt[(pt.method == "exact") & (pt["rank"] == k)]) for k in valid.index}
    sb = []
    for _ in range(300):
        pts = []
        for k, S in mats_k.items():
            cols = rng_b.integers(0, S.shape[1], S.shape[1])
            pts.append((k, analysis.transition_point(S.index.to_numpy(), S.to_numpy()[:, cols].mean(axis=1))
                        * k * (2 * N_PT - k)))
        pts = np.array(pts, dtype=float)
        if np.all(np.isfinite(pts[:, 1])):
            sb.append(np.polyfit(np.log(pts[:, 0]), np.log(pts[:, 1]), 1)[0])
    slope_k = (s_hat, *np.quantile(sb, [0.025, 0.975]))
cg_ok = all(1 / COINCIDE <= ratios[("cg2", k)][1] and ratios[("cg2", k)][2] <= COINCIDE for k in RANKS_PT
            if np.isfinite(ratios[("cg2", k)][0]))
eps_ok = all(1 / COINCIDE <= ratios[(m, VARIANT_RANK)][1] and ratios[(m, VARIANT_RANK)][2] <= COINCIDE
             for m in eps_names)
b_in = (b_ci[1] <= b_theory <= b_ci[2], b_ci[1] <= 1.0 <= b_ci[2])
VERDICTS += [
    {"claim": "C4: the phase boundary moves roughly in proportion to k",
     "statistic": f"log-log slope of |Ω|₅₀ against k (exact, n = {N_PT}, bootstrap over seeds)",
     "estimate": fmt(*slope_k), "threshold": f"CI inside [{SLOPE_K[0]}, {SLOPE_K[1]}]",
     "ok": SLOPE_K[0] <= slope_k[1] and slope_k[2] <= SLOPE_K[1]},
    {"claim": "C4: the boundary tracks |Ω| ∝ k n log n (not the degrees of freedom)",
     "statistic": f"exponent b of |Ω|₅₀ ∝ n^b at k = {RANK_NS}; k n log n predicts {b_theory:.2f}, dof 1",
     "estimate": fmt(*b_ci), "threshold": f"CI contains {b_theory:.2f} and excludes 1",
     "ok": b_in[0] and not b_in[1]},
    {"claim": "C4: CG-2 boundary coincides with exact (sample complexity preserved)",
     "statistic": "paired ratio of 50 % transitions CG-2 / exact, per k: " + "; ".join(
         f"k = {k}: {fmt(*ratios[('cg2', k)])}" for k in RANKS_PT),
     "estimate": "see statistic", "threshold": f"every CI inside [1/{COINCIDE}, {COINCIDE}]", "ok": cg_ok},
    {"claim": "Gu et al.: CG-2 preserves the sample complexity (needs no more samples than exact)",
     "statistic": "upper ends of the CG-2 / exact transition-ratio CIs above",
     "estimate": ", ".join(f"{ratios[('cg2', k)][2]:.2f}" for k in RANKS_PT),
     "threshold": f"every upper end ≤ {COINCIDE}",
     "ok": all(ratios[("cg2", k)][2] <= COINCIDE for k in RANKS_PT if np.isfinite(ratios[("cg2", k)][0])),
     "note": "row added after the run (post hoc), when CG-2 turned out to need fewer samples at some k"},
    {"claim": "C4: small-ε boundaries coincide with exact",
     "statistic": f"paired ratio ε-AltMin / exact at k = {VARIANT_RANK}: " + "; ".join(
         f"ε = {float(m[3:]):g}: {fmt(*ratios[(m, VARIANT_RANK)])}" for m in eps_names),
     "estimate": "see statistic", "threshold": f"every CI inside [1/{COINCIDE}, {COINCIDE}]", "ok": eps_ok},
]
k2 = boundary[(boundary.method == "exact") & (boundary["rank"] == min(RANKS_PT))].iloc[0]
others = boundary[(boundary.method == "exact") & (boundary["rank"] > min(RANKS_PT))]
strict_shift = (boundary["ratio_50 (strict 1e-4)"] / boundary["ratio_50"])[boundary.method.isin(["exact", "cg2"])]
no_floor = pt[pt.method.isin(["exact", "cg2"])]
between = int(((no_floor.relative_error >= STRICT_TOL) & (no_floor.relative_error < SUCCESS_TOL)).sum())
failed_err = no_floor[no_floor.relative_error >= SUCCESS_TOL].relative_error
cg_far = {k: ratios[("cg2", k)] for k in RANKS_PT}
earlier = [k for k, v in cg_far.items() if v[2] < 1]
same_k = [k for k, v in cg_far.items() if v[1] <= 1 <= v[2]]
display(Markdown(
    f"**What the figures show.** The 50 % transitions of exact AltMin (n = {N_PT}, {SEEDS_PT} seeds per cell) "
    "are, in degrees of freedom, " + ", ".join(f"k = {int(r['rank'])}: {fmt(r.ratio_50, r.low, r.high)}"
                                              for _, r in boundary[boundary.method == 'exact'].iterrows())
    + f". |Ω|₅₀ grows like k^{slope_k[0]:.2f} (CI {slope_k[1]:.2f}–{slope_k[2]:.2f}). The k = {int(k2['rank'])} "
    f"transition is the outlier: its coupon-collector floor — the oversampling at which half the masks still have "
    f"a row or column with fewer than k entries, leaving its factor row undetermined — is "
    f"{k2['coupon floor']:.2f} dof, against " + ", ".join(f"{r['coupon floor']:.2f}" for _, r in others.iterrows())
    + " for the larger k (dotted lines): with few entries per row, small k pays for covering every row, not for the "
    "degrees of freedom. CG-2 against exact, paired over the same seeds: " + "; ".join(
        f"k = {k}: {fmt(*v)}" for k, v in cg_far.items())
    + ". " + (f"CG-2's transition lies *below* exact's (CI entirely below 1) at k = {earlier}: near the boundary "
              "CG-2 gets further within the sweep budget (§3, panel b explains why). " if earlier else
              "No CI lies entirely below 1. ")
    + (f"At k = {same_k} the two are indistinguishable (CI contains 1). " if same_k else "")
    + f" Of the {len(no_floor)} exact and CG-2 runs, {between} end between {STRICT_TOL:g} and {SUCCESS_TOL:g}; "
    f"the failed ones have median error {failed_err.median():.2g} (10th percentile {failed_err.quantile(0.1):.2g}), "
    f"so switching to the study design's strict criterion {STRICT_TOL:g} moves the exact and CG-2 transitions only by a "
    f"factor {np.nanmin(strict_shift):.2f}–{np.nanmax(strict_shift):.2f}. The n-sweep at k = {RANK_NS} gives |Ω|₅₀ ∝ "
    f"n^{fmt(*b_ci)}: the k n log n scaling predicts {b_theory:.2f} over this range, the degrees of freedom 1.0 — "
    + ("the data follow k n log n." if b_in[0] and not b_in[1] else "the data follow the degrees of freedom."
       if b_in[1] and not b_in[0] else "the interval does not separate the two (both or neither inside).")
    + f" The log n has a simple source: the coupon-collector floor, itself an n log n effect, rises from "
    f"{ns_tab['coupon floor'].iloc[0]:.2f} to {ns_tab['coupon floor'].iloc[-1]:.2f} dof over the same n "
    f"(the transition: {ns_tab['ratio_50'].iloc[0]:.2f} to {ns_tab['ratio_50'].iloc[-1]:.2f})."))

# %% [markdown]
# ## 3. Exact vs approximate AltMin: error against sweep (C-2)

# %%
variants = ["exact", "cg1", "cg2", "cg4", "eps0.001", "eps0.01", "eps0.1"]
conv = run_sweep(f"03_convergence{SUFFIX}",
                 [{"n": N_CONV, "rank": RANK_CONV, "oversampling": RATIO_CONV, "max_iter": SWEEPS,
                   **{k: v for k, v in METHODS[v].items() if k != "solver"}} for v in variants],
                 completion_trials.convergence_trial, seeds=SEEDS_CONV, cache_version=1)
conv["variant"] = method_name(conv.assign(solver="altmin"))
per_seed = []
for (v, seed), g in conv.groupby(["variant", "seed"]):
    x, y = g["iteration"].to_numpy(), g["relative_error"].to_numpy()
    row = {"variant": v, "seed": seed}
    if v.startswith("eps"):
        row["floor_over_eps"] = float(np.median(y[-10:])) / float(v[3:])
    else:
        mask = (y > 1e-9) & (y < 1e-2) & (x > 0)
        row["rate"] = math.exp(fit_line(x[mask], y[mask])[0]) if mask.sum() >= 3 else np.nan
    per_seed.append(row)
per_seed = pd.DataFrame(per_seed)
rates = {v: analysis.bootstrap_ci(g["rate"].to_numpy()) for v, g in per_seed.dropna(subset=["rate"]).groupby("variant")}
floors = {v: analysis.bootstrap_ci(g["floor_over_eps"].to_numpy())
          for v, g in per_seed.dropna(subset=["floor_over_eps"]).groupby("variant")}
near = run_sweep(f"03_near_transition{SUFFIX}",
                 [{"n": N_PT, "rank": BASELINE_RANK, "oversampling": RATIO_NEAR, "max_iter": SWEEPS,
                   **{k: v for k, v in METHODS[v].items() if k != "solver"}} for v in ("exact", "cg1", "cg2")],
                 completion_trials.convergence_trial, seeds=SEEDS_CONV, cache_version=1)
near["variant"] = method_name(near.assign(solver="altmin"))
fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.0))
ax = axes[0]
styles = {"exact": ("k", "-"), "cg1": (PALETTE[0], "--"), "cg2": (PALETTE[1], "--"), "cg4": (PALETTE[2], "--"),
          "eps0.001": (PALETTE[3], ":"), "eps0.01": (PALETTE[4], ":"), "eps0.1": (PALETTE[5], ":")}
for v in variants:
    color, ls = styles[v]
    plot_band(ax, conv[conv["variant"] == v], "iteration", "relative_error", color=color, ls=ls, label=NAMES[v])
ax.set(yscale="log", xlabel="sweep", ylabel=r"relative error $\|UV^{T} - M\|_F / \|M\|_F$",
       title=f"(a) $n = {N_CONV}$, $k = {RANK_CONV}$, $|\\Omega| = {RATIO_CONV:g}$ dof", ylim=(1e-16, 3))
ax.legend(ncol=2, fontsize=8)
ax = axes[1]
for v in ("exact", "cg1", "cg2"):
    color, ls = styles[v]
    plot_band(ax, near[near["variant"] == v], "iteration", "relative_error", color=color, ls=ls, label=NAMES[v])
ax.axhline(SUCCESS_TOL, color="0.4", ls=":", lw=1, label="success criterion")
ax.set(yscale="log", xlabel="sweep", ylabel=r"relative error $\|UV^{T} - M\|_F / \|M\|_F$",
       title=f"(b) near the transition: $n = {N_PT}$, $k = {BASELINE_RANK}$, $|\\Omega| = {RATIO_NEAR:g}$ dof")
ax.legend(fontsize=8)
savefig(fig, "03_convergence")
plt.show()
caption("03_convergence",
        f"Relative error against sweep for exact AltMin, CG-c (c warm-started conjugate-gradient steps per row) and "
        f"ε-perturbed AltMin, n = {N_CONV}, k = {RANK_CONV}, |Ω| = {RATIO_CONV:g} degrees of freedom; median and IQR "
        f"over {SEEDS_CONV} seeds. (b) Exact AltMin, CG-1 and CG-2 near the phase transition (n = {N_PT}, "
        f"k = {BASELINE_RANK}, |Ω| = {RATIO_NEAR:g} dof), dotted: the success criterion. What to see: (a) linear "
        "convergence to round-off for exact and CG, to a floor proportional to ε for the perturbed runs; (b) near the "
        "transition the truncated CG solves keep converging while the exact solves stall or drift away.")
near_last = near.sort_values("iteration").groupby(["variant", "seed"]).tail(1).set_index(["variant", "seed"])
near_diff = analysis.paired_difference(np.log10(near_last.loc["cg2"].relative_error.sort_index().to_numpy()),
                                       np.log10(near_last.loc["exact"].relative_error.sort_index().to_numpy()))
near_med = near_last.groupby("variant").relative_error.median()
spread = max(f[0] for f in floors.values()) / min(f[0] for f in floors.values())
VERDICTS += [
    {"claim": "C4: with injected ε, linear convergence to a floor ∝ ε",
     "statistic": "floor / ε per ε (mean over seeds): " + "; ".join(f"ε = {float(v[3:]):g}: {fmt(*f)}"
                                                                    for v, f in floors.items()),
     "estimate": f"spread {spread:.2f}×", "threshold": f"spread < {FLOOR_SPREAD:g}×", "ok": spread < FLOOR_SPREAD},
    {"claim": "C4: warm-started CG converges linearly to round-off, slightly slower than exact",
     "statistic": "error ratio per sweep: " + "; ".join(f"{PLAIN[v]}: {fmt(*r)}" for v, r in rates.items()),
     "estimate": f"CG-2 / exact = {rates['cg2'][0] / rates['exact'][0]:.2f}",
     "threshold": f"all < 1 and CG-2 ≤ {CG_SLOWER} × exact",
     "ok": all(r[2] < 1 for r in rates.values()) and rates["cg2"][0] <= CG_SLOWER * rates["exact"][0]},
]
display(Markdown(
    "**What the figure shows.** Error ratios per sweep (mean over seeds, 95 % CI): " + "; ".join(
        f"{PLAIN[v]} {fmt(*r)}" for v, r in rates.items())
    + ". CG solves a k × k system exactly in k steps and warm starts make 2 steps enough once the iterates settle, "
    "so CG-2 and CG-4 track exact AltMin; CG-1 is slower but still linear to round-off. The ε-perturbed runs stop "
    "at a floor of " + "; ".join(f"{fmt(*f)} × ε for ε = {float(v[3:]):g}" for v, f in floors.items()) + ". "
    f"Panel (b) explains why CG-2 can succeed where exact AltMin does not, at the edge of the phase diagram: near the "
    f"transition ({RATIO_NEAR:g} dof, k = {BASELINE_RANK}) no variant has converged after {SWEEPS} sweeps (median "
    f"final errors: " + ", ".join(f"{PLAIN[v]} {e:.2g}" for v, e in near_med.items()) + "); the paired "
    f"log₁₀(CG-2 error / exact error) at the end is {fmt(*near_diff)}. "
    + ("Exact AltMin's error ends *above* 1: its iterates drift away instead of converging slowly. "
       if near_med.get("exact", 0) > 1 else "")
    + "Rows with few observed entries have ill-conditioned k × k systems; a likely reading (not isolated here) is "
    "that an exact solve follows their poorly determined directions fully while a truncated, warm-started CG solve "
    "damps them, an implicit regularization. Whether a run counts as a success there depends on where it is after "
    f"the {SWEEPS}-sweep budget, so CG-2 'beating' exact is a statement about how the iteration behaves near the "
    "boundary, not about the information-theoretic sample complexity."))

# %% [markdown]
# ## 4. Runtime against rank k (C-3)
#
# Seconds per sweep at n = `N_TIME`, |Ω| = `NNZ_TIME` (reduced from the study design's 2·10⁶
# to fit this 2-core CPU), measured between callbacks so initialization and metrics are
# excluded; one run, best of 3 sweeps per point (timings on a shared machine vary by
# up to 2× at single points; the operation counts do not). Exact AltMin forms every
# k × k normal matrix and solves it; CG-2 never forms them and applies each row's
# operator as F_Ωᵀ(F_Ω p). Both run as compiled per-row kernels (Numba); without Numba,
# exact uses SciPy sparse products up to k = 16 and batched GEMMs on padded segments
# above, and CG-2 array operations.

# %%
timing = run_sweep(f"03_timing{SUFFIX}", {"n": [N_TIME], "rank": list(RANKS_TIME), "n_observed": [NNZ_TIME],
                                          "solve": ["exact", "cg"], "n_sweeps": [3]},
                   completion_trials.timing_trial, seeds=1, cache_version=5)
fig, ax = plt.subplots(figsize=(6.6, 4.0))
slopes = {}
anchor = None
for (solve, label), color in zip([("exact", "AltMin (exact)"), ("cg", "AltMin-CG2")], PALETTE):
    sub = timing[timing["solve"] == solve].sort_values("rank")
    k, t = sub["rank"].to_numpy(float), sub["best_sweep_s"].to_numpy()
    anchor = (k[0], t[0]) if anchor is None else anchor
    top = slice(max(0, len(k) - 3), len(k))
    slopes[solve] = fit_line(k[top], t[top], log_x=True, log_y=True)[0]
    ops = sub["ops_per_sweep"].to_numpy()
    slopes[solve + "_ops"] = fit_line(k[top], ops[top], log_x=True, log_y=True)[0]
    ax.loglog(k, t, "o-", color=color, label=f"{label}: slope {slopes[solve]:.2f} (time), "
                                             f"{slopes[solve + '_ops']:.2f} (operations)")
kk = np.array(RANKS_TIME, dtype=float)
ax.loglog(kk, anchor[1] * (kk / anchor[0]) ** 2, color="0.6", ls=":", lw=1, label=r"$\propto k^2$ (guide)")
ax.loglog(kk, anchor[1] * (kk / anchor[0]), color="0.6", ls="--", lw=1, label=r"$\propto k$ (guide)")
ax.set(xlabel="rank $k$", ylabel="seconds per sweep (best of 3)",
       title=f"$n = {N_TIME}$, $|\\Omega| = {NNZ_TIME:,}$ ({backend.backend_name(xp)})")
ax.set_xticks(list(RANKS_TIME), [str(v) for v in RANKS_TIME])
ax.xaxis.set_minor_formatter(plt.NullFormatter())
ax.legend(fontsize=8)
savefig(fig, "03_time_per_sweep")
plt.show()
caption("03_time_per_sweep",
        f"Wall time of one AltMin sweep against k (n = {N_TIME}, |Ω| = {NNZ_TIME:,}, best of 3 sweeps, one run) for "
        "exact solves and CG-2, with k and k² guides; slopes fitted over the three largest k, for the time and for the "
        "kernels' operation counts. What to see: exact grows like k², CG-2 at most like k.")
display(timing[["solve", "rank", "time_per_sweep_s", "best_sweep_s", "ops_per_sweep", "gflops"]].round(4))
crossing = timing.pivot(index="rank", columns="solve", values="best_sweep_s")
faster = crossing.index[crossing["cg"] < crossing["exact"]].tolist()
speedup = float(crossing["exact"].iloc[-1] / crossing["cg"].iloc[-1])
VERDICTS.append({
    "claim": "C4: time-per-sweep slope ≈ 2 for exact, ≈ 1 for CG at large k",
    "statistic": "log-log slope of best sweep time over the top three k (one timing run; operation-count slopes "
                 f"{slopes['exact_ops']:.2f} / {slopes['cg_ops']:.2f})",
    "estimate": f"{slopes['exact']:.2f} / {slopes['cg']:.2f}",
    "threshold": f"exact ≥ {TIME_SLOPES[0]}, CG ≤ {TIME_SLOPES[1]}",
    "ok": slopes["exact"] >= TIME_SLOPES[0] and slopes["cg"] <= TIME_SLOPES[1],
    "note": "no CI: a single timing run"})
display(Markdown(
    f"**What the figure shows.** The operation counts follow the claim (slope {slopes['exact_ops']:.2f} for exact, "
    f"{slopes['cg_ops']:.2f} for CG-2; also asserted by the unit tests without timing). The wall time has slope "
    f"{slopes['exact']:.2f} for exact, close to the k² of its operation count, and {slopes['cg']:.2f} for CG-2 — "
    + ("below its k-linear operation count: at these k its per-entry fixed costs (index loads, gathers, loop "
       "overhead) still weigh as much as the k-proportional arithmetic. " if slopes["cg"] < 0.9 else "")
    + f"CG-2 is faster than exact at k = {faster or 'none of the measured k'}, and {speedup:.1f}× faster at "
    f"k = {RANKS_TIME[-1]}: the Õ(|Ω| k) against Õ(|Ω| k²) advantage of Gu et al. on this CPU."))

# %% [markdown]
# ## 5. All solvers on one problem (C-4)
#
# n = `N_CMP`, k = `RANK_CMP`, p = `P_CMP` (ScaledGD's reference setup, at half its n to
# fit the budget), `ITER_CMP` iterations. Every solver with a hyper-parameter is tuned
# the same way, on `TUNE_SEEDS` (not the evaluation seeds) over a grid whose optimum must
# be interior (`analysis.best_on_grid`): SVP's and ScaledGD's step (η/p̂), SVT's threshold
# τ (its default is ≈ 5σ₁ = 5 here) and SoftImpute-ALS's λ on a decreasing path
# 10⁻¹…10⁻⁵ (rank cap 2k; each λ from a cold start). The score is the number of
# iterations to relative error 10⁻⁶, or, for runs that never get there,
# `ITER_CMP` × (1 + final error), so a biased or slow setting loses. AltMin has no
# hyper-parameter. `time_s` includes the same per-iteration error evaluation for all.

# %%
def cmp_config(m, **extra):
    return {**METHODS.get(m, {"solver": m}), "n": N_CMP, "rank": RANK_CMP, "p": P_CMP, "max_iter": ITER_CMP, **extra}


def score_runs(frame):
    """Per (config, seed): iterations to 1e-6, else ITER_CMP * (1 + final error)."""
    out = []
    for keys, g in frame.groupby(["solver", "param", "seed"]):
        g = g.sort_values("iteration")
        hit = g[g["relative_error"] <= 1e-6]
        score = float(hit["iteration"].iloc[0]) if len(hit) else ITER_CMP * (1 + float(g["relative_error"].iloc[-1]))
        out.append(dict(zip(["solver", "param", "seed"], keys), score=score))
    return pd.DataFrame(out)


tune_cfgs = [cmp_config(m, **{name: v}) for m, (name, values) in TUNE_GRIDS.items() for v in values]
tune = run_sweep(f"03_solvers_tune{SUFFIX}", tune_cfgs, completion_trials.solver_trial, seeds=TUNE_SEEDS,
                 cache_version=5)
tune["param"] = [r["step_size"] if s in ("svp", "scaled_gd") else r["reg"] if s == "soft_impute" else r["tau"]
                 for s, (_, r) in zip(tune["solver"], tune.iterrows())]
best = analysis.best_on_grid(score_runs(tune), "solver", "param", "score")
display(best)
chosen = dict(zip(best["solver"], best["param"]))
solvers_cmp = ["exact", "cg2", "svp", "scaled_gd", "soft_impute", "svt"]
eval_cfgs = [cmp_config(m) for m in ("exact", "cg2")] + [
    cmp_config(m, **{TUNE_GRIDS[m][0]: float(chosen[m])}) for m in ("svp", "scaled_gd", "soft_impute", "svt")]
cmp_df = run_sweep(f"03_solvers{SUFFIX}", eval_cfgs, completion_trials.solver_trial, seeds=SEEDS_CMP,
                   cache_version=5)
cmp_df["method"] = method_name(cmp_df)

fig, ax = plt.subplots(figsize=(6.6, 4.0))
for solver, color in zip(solvers_cmp, PALETTE):
    for seed, g in cmp_df[cmp_df["method"] == solver].groupby("seed"):
        ax.semilogy(g["time_s"], g["relative_error"], color=color, lw=1, alpha=0.8,
                    label=NAMES[solver] + ("" if solver in ("exact", "cg2") else
                                           f" ({TUNE_GRIDS[solver][0].replace('_size', '')} = {chosen[solver]:g})")
                    if seed == cmp_df.seed.min() else None)
ax.set(xlabel="wall-clock seconds", ylabel=r"relative error $\|X - M\|_F / \|M\|_F$", xscale="log",
       title=f"$n = {N_CMP}$, $k = {RANK_CMP}$, $p = {P_CMP}$, {SEEDS_CMP} seeds, tuned")
ax.legend(ncol=2, fontsize=8)
savefig(fig, "03_solver_comparison")
plt.show()
caption("03_solver_comparison",
        f"Relative error against wall-clock time for every solver on the same problems (n = {N_CMP}, k = {RANK_CMP}, "
        f"p = {P_CMP}; one line per seed, {SEEDS_CMP} evaluation seeds), each at the hyper-parameter chosen on "
        "separate tuning seeds (legend). What to see: which solvers reach round-off, and how fast.")


def time_to(df, target):
    hit = df[df["relative_error"] <= target]
    return float(hit["time_s"].iloc[0]) if len(hit) else np.nan


last = cmp_df.sort_values("iteration").groupby(["method", "seed"]).tail(1)
summary = last.groupby("method").agg(final_error=("relative_error", "median"), seconds=("time_s", "median"),
                                     iterations=("iteration", "median"))
summary["reached 1e-6"] = [int(sum(np.isfinite(time_to(g, 1e-6)) for _, g in cmp_df[cmp_df.method == s].groupby("seed")))
                           for s in summary.index]
summary["seconds to 1e-6 (median)"] = [np.nanmedian([time_to(g, 1e-6) for _, g in cmp_df[cmp_df.method == s].groupby("seed")])
                                       if summary.loc[s, "reached 1e-6"] else np.nan for s in summary.index]
summary.index = [PLAIN[s] for s in summary.index]
display(summary.sort_values("seconds"))
edge = best[~best["interior"]]
display(Markdown(
    "**What the table shows** (medians over the evaluation seeds; seconds are wall time on this shared machine and "
    "vary from run to run, iterations and errors do not). Tuned values: " + ", ".join(
        f"{PLAIN[s]} {TUNE_GRIDS[s][0]} = {chosen[s]:g}" for s in chosen) + ". "
    + (f"The optimum sits at the edge of the grid for {', '.join(PLAIN[s] for s in edge.solver)}: "
       "for SoftImpute-ALS on noiseless data a smaller λ always means less bias, and the grid's smallest λ is where "
       "its iteration budget, not its bias, limits the error. " if len(edge) else "Every optimum is interior. ")
    + "Runs reaching 10⁻⁶: " + ", ".join(f"{s} {int(r['reached 1e-6'])}/{SEEDS_CMP}" for s, r in summary.iterrows())
    + ". Final errors: " + ", ".join(f"{s} {r.final_error:.1e}" for s, r in summary.iterrows())
    + ". Only AltMin has compiled kernels; ScaledGD, SVP, SVT and SoftImpute run as array operations (sparse "
    "products and randomized SVDs), so part of their time gap is implementation, not algorithm."))

# %% [markdown]
# ## 6. Coherence (C-5)
#
# Same p for all; the left singular vectors get power-law row norms with exponent γ
# (`coherent_low_rank_matrix`), which raises the incoherence μ(U) = (m/k) max_i ‖e_iᵀU‖².
# Each row is still observed about p·n times whatever γ is. To find *why* coherent
# truths fail, the sweep runs exact AltMin with and without the row trimming of the
# spectral initialization (rows of U₀ with norm above 2√(k/m) are zeroed) — trimming is
# exactly what removes the heavy rows of a coherent U*.

# %%
coh = run_sweep(f"03_coherence{SUFFIX}", {"n": [N_COH], "rank": [RANK_COH], "p": [P_COH],
                                          "exponent": list(EXPONENTS), "trim": [2.0, None]},
                completion_trials.coherence_trial, seeds=SEEDS_COH, cache_version=2)
coh["success"] = (coh["relative_error"] < SUCCESS_TOL).astype(float)
coh["trimmed"] = coh["trim"].notna()
fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.8))
for (trimmed, label), color, marker in zip([(True, "trimmed initialization (default)"),
                                            (False, "no trimming")], PALETTE, "os"):
    sub = coh[coh.trimmed == trimmed]
    s = seed_summary(sub, "exponent", "success", spread="wilson")
    axes[0].errorbar(s["exponent"], s["center"], yerr=np.abs(np.vstack([s["low"], s["high"]]) - s["center"].to_numpy()),
                     fmt=marker + "-", ms=4, capsize=3, color=color, label=label)
axes[0].set(xlabel=r"row-norm exponent $\gamma$", ylabel=f"P(relative error < {SUCCESS_TOL:g})",
            ylim=(-0.05, 1.05), title=f"(a) Success ($n = {N_COH}$, $k = {RANK_COH}$, $p = {P_COH}$)")
axes[0].legend(fontsize=8)
mu = coh.groupby("exponent")["mu"].mean()
axes[1].plot(mu.index, mu.values, "o-", color=PALETTE[2])
axes[1].axhline(N_COH / RANK_COH, color="0.4", ls=":", lw=1, label=r"maximum $m/k$")
axes[1].set(xlabel=r"row-norm exponent $\gamma$", ylabel=r"incoherence $\mu(U^*)$", yscale="log",
            title="(b) Incoherence of the truth")
axes[1].legend(fontsize=8)
savefig(fig, "03_coherence")
plt.show()
caption("03_coherence",
        f"(a) Success probability (Wilson 95 % intervals, {SEEDS_COH} seeds) of exact AltMin against the exponent γ of "
        f"the power-law row norms of U* (n = {N_COH}, k = {RANK_COH}, p = {P_COH}), with and without the row trimming "
        "of the spectral initialization. (b) The incoherence μ(U*) that each γ produces. What to see: at this p the "
        "incoherent truths are recovered and the coherent ones are not, and whether trimming is the cause.")
cs = coh.groupby(["trimmed", "exponent"])["success"].agg(["sum", "count"])
first = cs.loc[(True, EXPONENTS[0])]
lastc = cs.loc[(True, EXPONENTS[-1])]
w_first = analysis.wilson_interval(int(first["sum"]), int(first["count"]))
w_last = analysis.wilson_interval(int(lastc["sum"]), int(lastc["count"]))
VERDICTS.append({
    "claim": "C4: coherent matrices fail at a p where incoherent ones succeed",
    "statistic": f"success at γ = {EXPONENTS[0]:g} (μ = {mu.iloc[0]:.1f}) and γ = {EXPONENTS[-1]:g} "
                 f"(μ = {mu.iloc[-1]:.1f}), Wilson CI",
    "estimate": f"{fmt(first['sum'] / first['count'], *w_first)}; {fmt(lastc['sum'] / lastc['count'], *w_last)}",
    "threshold": f"CI low ≥ {COH_SUCCESS[0]}; CI high ≤ {COH_SUCCESS[1]}",
    "ok": w_first[0] >= COH_SUCCESS[0] and w_last[1] <= COH_SUCCESS[1],
    "note": f"{SEEDS_COH} seeds (raised from 10 after the first run: 10/10 cannot clear the pre-set Wilson bound)"})
succ = coh.groupby(["exponent", "trimmed"])["success"].mean().unstack()
display(pd.DataFrame({"μ": mu.round(1), "success, trimmed": succ[True], "success, no trimming": succ[False]}))
per_row = P_COH * N_COH
display(Markdown(
    f"**What the figure shows.** Each row is observed about p·n = {per_row:.0f} times whatever γ is, far more "
    f"than k = {RANK_COH}, so coherent truths do not fail for lack of entries per row. With the default trimmed "
    "initialization the success rates per γ are " + ", ".join(
        f"γ = {g:g} (μ = {mu[g]:.1f}): {succ.loc[g, True]:.2f}" for g in EXPONENTS)
    + "; without trimming " + ", ".join(f"{succ.loc[g, False]:.2f}" for g in EXPONENTS) + ". "
    + ("Trimming is therefore the mechanism here: it zeroes exactly the heavy rows that carry most of U*, and "
       "AltMin started without them does not recover them from the sampled entries. "
       if succ[False].mean() > succ[True].mean() + 0.1 else
       "Trimming is therefore *not* what makes coherent truths fail: without it they fail as well"
       + (", and earlier (trimming helps). " if succ[True].mean() > succ[False].mean() + 0.1 else ". ")
       + "What remains (not isolated here) is that with most of U*'s energy in a few rows, the entries sampled in "
       "the other rows carry little information about the column factors, and the spectral estimate P_Ω(M)/p is "
       "dominated by the few heavy rows. ")
    + "JNS13's guarantee requires incoherence; the toy confirms that it is needed, not how the sample complexity "
    "grows with μ."))

# %% [markdown]
# ## 7. MovieLens ml-latest-small (C-6)
#
# 100,836 ratings (610 users × 9,724 movies, density 1.7%), shipped in `data/` with its
# licence (research use; acknowledge Harper & Konstan 2015) and SHA-256 hashes checked
# on load. Protocol: seeded 80/20 splits (`completion.movielens_split`, seeds
# `ML_SPLITS`, the study design's 5); global mean + ridge user/item biases (Surprise's
# `BaselineOnly` ALS scheme and defaults) fitted first; each solver models the residuals;
# movies without training ratings get the bias prediction; predictions clipped to
# [0.5, 5]. (rank, λ or step) are chosen on a 10% validation split *of the training
# ratings*, never on the test set, with the same grid over k for every solver and a λ
# path for each regularized one. "regularized ALS" is AltMin without orthonormalization
# (loss Σ(r − u_uᵀv_i)² + λ(‖U‖² + ‖V‖²)); "ALS-CG2" is the same with 2 CG steps;
# SoftImpute-ALS's λ has the same scale. SVP and ScaledGD (no regularizer) use steps
# η/p̂ with η in `ML_STEPS` and k ≤ 10: their uniform-sampling 1/p̂ scaling diverges on
# these data at the usual η ≈ 1.
# Each method's chosen configuration is then compared with bias-only on the same splits:
# paired test-RMSE differences with bootstrap CIs (`analysis.paired_difference`).
#
# **Caveat.** Real ratings are missing-not-at-random with heavy popularity skew (3,446
# movies have a single rating), so none of the recovery theory above applies here.

# %%
hashes = datasets.verify_checksums()  # raises if the shipped (non-frozen) release changed
print("MovieLens files verified:", {name: digest[:12] + "..." for name, digest in hashes.items()})
ML_METHODS = {"bias": {"solver": "bias"}, "als": {"solver": "altmin", "orthonormalize": False},
              "altmin_cg": {"solver": "altmin", "orthonormalize": False, "solve": "cg", "cg_iters": 2},
              "soft_impute": {"solver": "soft_impute"}, "svp": {"solver": "svp"}, "scaled_gd": {"solver": "scaled_gd"}}
ML_REGS = {"als": (0.0, 5.0, 10.0, 20.0, 40.0), "altmin_cg": (5.0, 10.0, 20.0, 40.0), "soft_impute": (5.0, 15.0, 40.0)}
ML_STEPS = (0.001, 0.003, 0.01, 0.03)
ml_configs = [{**ML_METHODS["bias"], "rank": 1}]
ml_configs += [{**ML_METHODS[s], "rank": k, "reg": g} for s, regs in ML_REGS.items() for k in ML_RANKS for g in regs]
ml_configs += [{**ML_METHODS[s], "rank": k, "step_size": st} for s in ("svp", "scaled_gd")
               for k in ML_RANKS[:4] for st in ML_STEPS]
for c in ml_configs:
    c.update(max_iter=ML_SWEEPS, holdout=0.1, subsample=ML_SUBSAMPLE)
t0 = time.perf_counter()
ml = run_sweep(f"03_movielens{SUFFIX}", ml_configs, completion_trials.movielens_trial, seeds=list(ML_SPLITS),
               cache_version=2)
print(f"{len(ml)} fits, {ml['status'].eq('failed').sum()} failed, {time.perf_counter() - t0:.0f} s")
ml["step"] = ml["step_size"].fillna(0.0) if "step_size" in ml else 0.0
ml["reg"] = ml["reg"].fillna(0.0)
ml["method"] = ["bias" if s == "bias" else "als" if s == "altmin" and c != "cg" else "altmin_cg" if s == "altmin" else s
                for s, c in zip(ml["solver"], ml["solve"] if "solve" in ml else [None] * len(ml))]
bias_rmse = ml[ml["method"] == "bias"].set_index("seed")["rmse"].sort_index()

# %%
key = ["method", "rank", "reg", "step"]
by_cfg = ml.groupby(key, as_index=False)[["val_rmse", "rmse", "mae", "fit_time_s"]].mean()
chosen_ml = by_cfg.loc[by_cfg.groupby("method")["val_rmse"].idxmin()].set_index("method")
# is each validation optimum interior to its grid?  lambda (or step) at the chosen rank, and rank at the chosen lambda
edge_notes = []
for method, cfg in chosen_ml.iterrows():
    if method == "bias":
        continue
    param = "reg" if method in ML_REGS else "step"
    at_rank = ml[(ml.method == method) & (ml["rank"] == cfg["rank"])]
    at_param = ml[(ml.method == method) & (ml[param] == cfg[param])]
    b_param = analysis.best_on_grid(at_rank, "method", param, "val_rmse", center="mean").iloc[0]
    b_rank = analysis.best_on_grid(at_param, "method", "rank", "val_rmse", center="mean").iloc[0]
    edge_notes.append({"method": PLAIN[method], "chosen rank": int(cfg["rank"]), "rank interior": bool(b_rank.interior),
                       f"chosen λ / step": cfg[param], "λ / step interior": bool(b_param.interior)})
edge_ml = pd.DataFrame(edge_notes)
display(edge_ml)
final_rows = []
for method, cfg in chosen_ml.iterrows():
    for seed in ML_SPLITS:
        extra = {k: v for k, v in ML_METHODS[method].items()}
        if method in ML_REGS:
            extra["reg"] = float(cfg["reg"])
        elif method in ("svp", "scaled_gd"):
            extra["step_size"] = float(cfg["step"])
        r = completion_trials.movielens_trial(rank=int(cfg["rank"]), seed=seed, max_iter=ML_SWEEPS,
                                              subsample=ML_SUBSAMPLE, **extra)
        final_rows.append({"method": method, "seed": seed, **r})
final = pd.DataFrame(final_rows)
test_bias = final[final.method == "bias"].set_index("seed")["rmse"].sort_index()
cmp_rows = []
for method, g in final.groupby("method"):
    if method == "bias":
        continue
    d = analysis.paired_difference(g.set_index("seed")["rmse"].sort_index().to_numpy(), test_bias.to_numpy())
    cmp_rows.append({"method": PLAIN[method], "key": method, "rank": int(chosen_ml.loc[method, "rank"]),
                     "λ": chosen_ml.loc[method, "reg"], "step": chosen_ml.loc[method, "step"],
                     "test RMSE": g["rmse"].mean(), "test MAE": g["mae"].mean(),
                     "RMSE − bias-only [95% CI]": fmt(*d, digits=2), "diff": d,
                     "significantly better": d[2] < 0, "fit s": g["fit_time_s"].mean()})
ml_cmp = pd.DataFrame(cmp_rows).sort_values("test RMSE")
display(ml_cmp.drop(columns=["diff", "key"]).round(4))
peers = pd.DataFrame({"test_rmse": [1.042, 0.866, "0.869–0.875", 0.861, 0.877, 0.863],
                      "fit_s": [np.nan, np.nan, np.nan, 27.6, "2.5–4.9 (+4.7 JVM)", 89]},
                     index=["[peer] global mean", "[peer] user+item biases", "[peer] Surprise SVD",
                            "[peer] Surprise SVD++", "[peer] Spark MLlib ALS",
                            "[peer] biases + fancyimpute SoftImpute"])
print("peers measured by the issue's author on *one other* seeded 80/20 split (not the same splits):")
print(peers.to_string())

fig, axes = plt.subplots(1, 2, figsize=(11, 4.0))
curves = [("als", 0.0, "ALS, λ = 0 (unregularized)"), ("als", 20.0, "regularized ALS, λ = 20"),
          ("altmin_cg", 20.0, "regularized ALS-CG2, λ = 20"), ("soft_impute", 15.0, "SoftImpute-ALS, λ = 15")]
for ax, zoom in zip(axes, (False, True)):
    for (method, reg, label), color in zip(curves, PALETTE):
        sub = ml[(ml["method"] == method) & (ml["reg"] == reg)]
        plot_band(ax, sub, "rank", "rmse", center="mean", spread="ci", color=color, marker="o", ms=3, label=label)
    for method, color in (("svp", PALETTE[4]), ("scaled_gd", PALETTE[5])):
        sub = ml[ml["method"] == method]
        best_step = sub.groupby("step")["val_rmse"].mean().idxmin()
        plot_band(ax, sub[sub.step == best_step], "rank", "rmse", center="mean", spread="ci", color=color, ls="--",
                  marker="s", ms=3, label=f"{NAMES[method]} (step {best_step:g}, best on validation)")
    ax.axhline(bias_rmse.mean(), color="k", ls=":", label=f"biases only ({bias_rmse.mean():.3f})")
    ax.set(xscale="log", xlabel="rank $k$", ylabel="test RMSE (mean over splits, 95 % CI)")
    ax.set_xticks(list(ML_RANKS), [str(k) for k in ML_RANKS])
    ax.xaxis.set_minor_formatter(plt.NullFormatter())
    if zoom:
        ax.set_ylim(bias_rmse.mean() - 0.03, bias_rmse.mean() + 0.02)
        ax.set_title("(b) zoom on the regularized solvers")
    else:
        ax.set_title(f"(a) MovieLens: test RMSE against rank ({len(ML_SPLITS)} splits)")
axes[0].legend(fontsize=8)
savefig(fig, "03_movielens_rmse")
plt.show()
caption("03_movielens_rmse",
        f"Test RMSE on MovieLens ml-latest-small against the rank k (mean and bootstrap 95 % CI over {len(ML_SPLITS)} "
        "seeded 80/20 splits) for regularized ALS at λ = 0 and 20, its CG-2 variant, SoftImpute-ALS and the "
        "unregularized SVP and ScaledGD (step chosen on validation), with the bias-only baseline (dotted). (b) zooms "
        "on the regularized solvers. What to see: regularized solvers are flat in k and below the baseline; "
        "unregularized AltMin degrades with k.")

# %%
unreg = ml[(ml["method"] == "als") & (ml["reg"] == 0.0)].groupby("rank")["rmse"].mean()
reg20 = ml[(ml["method"] == "als") & (ml["reg"] == 20.0)].groupby("rank")["rmse"].mean()
sig = ml_cmp[ml_cmp["significantly better"]]
not_sig = ml_cmp[~ml_cmp["significantly better"]]
VERDICTS += [
    {"claim": "C4: on MovieLens every low-rank method beats bias-only",
     "statistic": f"paired test-RMSE difference to bias-only over {len(ML_SPLITS)} splits (validation-chosen configs)",
     "estimate": "; ".join(f"{r.method}: {r['RMSE − bias-only [95% CI]']}" for _, r in ml_cmp.iterrows()),
     "threshold": "every CI < 0", "ok": len(not_sig) == 0,
     "note": "significant: " + (", ".join(sig.method) or "none")},
    {"claim": "C4: unregularized AltMin degrades as k grows",
     "statistic": "mean test RMSE of ALS with λ = 0 at the smallest and largest k; bias-only",
     "estimate": f"{unreg.iloc[0]:.3f} → {unreg.iloc[-1]:.3f}; {bias_rmse.mean():.3f}",
     "threshold": "largest k worse than smallest, both worse than bias-only",
     "ok": bool(unreg.iloc[-1] > unreg.iloc[0] > bias_rmse.mean())},
    {"claim": "C4: regularized ALS stays flat or U-shaped in k", "statistic": "range of mean test RMSE over k, λ = 20",
     "estimate": f"{reg20.min():.4f}–{reg20.max():.4f} (range {reg20.max() - reg20.min():.4f})",
     "threshold": f"range < {FLAT_RANGE}", "ok": bool(reg20.max() - reg20.min() < FLAT_RANGE)},
]
display(Markdown(
    f"**What the figure and table show** ({len(ML_SPLITS)} splits). Bias-only scores {bias_rmse.mean():.4f} test "
    "RMSE. Against it, paired over the same splits: " + "; ".join(
        f"{r.method} (k = {r['rank']}) {r['test RMSE']:.4f}, difference {r['RMSE − bias-only [95% CI]']}"
        for _, r in ml_cmp.iterrows())
    + ". Validation optima: " + "; ".join(
        f"{r.method}: k = {r['chosen rank']} ({'interior' if r['rank interior'] else 'grid edge'}), λ/step "
        f"{r['chosen λ / step']:g} ({'interior' if r['λ / step interior'] else 'grid edge'})" for _, r in edge_ml.iterrows())
    + (f" — where k sits at the top of the grid ({ML_RANKS[-1]}, the study design's largest rank) a larger rank might "
       "still help a little"
       if (edge_ml["chosen rank"] == ML_RANKS[-1]).any() else "")
    + f". **Significantly better than bias-only** (CI below 0): {', '.join(sig.method) or 'none'}"
    + (f"; not significantly: {', '.join(not_sig.method)}" if len(not_sig) else "") + ". "
    f"Unregularized AltMin (λ = 0) goes from {unreg.iloc[0]:.3f} at k = {unreg.index[0]} to {unreg.max():.3f} "
    f"(k = {unreg.idxmax()}), worse than bias-only at every k: with λ = 0 every movie with fewer than k ratings is "
    f"fitted exactly. Regularized ALS (λ = 20) stays within {reg20.min():.4f}–{reg20.max():.4f} across k: the ridge "
    "/ nuclear penalty switches off unneeded directions. SVP and ScaledGD have no regularizer and their uniform-"
    "sampling step η/p̂ diverges on these data; with the small steps of the grid, stopped after "
    f"{ML_SWEEPS} iterations (early stopping is their only regularization), they land near bias-only. Peers on "
    "another split of the same data (table above): SVD++ 0.861, biases + fancyimpute 0.863 — comparable, not "
    "identical, protocols. ML-100k's ≈ 0.93 (biased SVD, 5-fold CV) is a magnitude check only."))

# %% [markdown]
# ## 8. Verdicts
#
# One row per claim: the statistic, its estimate with a 95 % interval (bootstrap over
# seeds or splits, Wilson for proportions), the threshold fixed in the parameter cell
# before the runs, and the verdict (`lowrank_lab.analysis.verdict_table`).

# %%
verdicts = analysis.verdict_table(VERDICTS)
with pd.option_context("display.max_colwidth", None):
    display(HTML(verdicts.to_html(index=False)))
print(f"{int((verdicts.verdict == 'REPRODUCED').sum())} of {len(verdicts)} claims reproduced; "
      f"total notebook time: {time.perf_counter() - T_START:.0f} s")
