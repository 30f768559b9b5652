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
# `lowrank_lab.completion.trials`. The approximate AltMin is the brief's stand-in (a):
# `cg_iters` warm-started conjugate-gradient steps per row, applying Σ u_i u_iᵀ as
# U_Ωᵀ(U_Ω v); the perturbed variant is stand-in (b): exact solves plus a random
# perturbation of relative size ε per row. Both are *reconstructions* — the paper uses a
# sketching-preconditioned high-accuracy regression solver and has no public code — and
# so are the row-trimming details of the spectral initialization (rows of U₀ with norm
# above 2√(k/m) are zeroed before re-orthonormalization, JNS13's 2μ√(k/m) with μ folded
# into the constant).

# %% tags=["parameters"]
import os

SMOKE = os.environ.get("LOWRANK_SMOKE") == "1"
# C-1 phase diagram (brief: m = n = 500, 10 seeds; reduced for the 15-minute budget)
N_PT = 60 if SMOKE else 300
RANKS_PT = (2, 4) if SMOKE else (2, 5, 10, 20)
RATIOS = (1.0, 2.0, 4.0) if SMOKE else (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)  # |Omega| / (k (m + n - k))
SEEDS_PT = 2 if SMOKE else 5
VARIANT_RANK = 2 if SMOKE else 5  # CG-1/CG-4 and epsilon variants, one rank
BASELINE_RANK = 2 if SMOKE else 10
SWEEPS = 50
# C-2 convergence
N_CONV, RANK_CONV, RATIO_CONV, SEEDS_CONV = (80, 2, 4.0, 1) if SMOKE else (300, 5, 4.0, 3)
# C-3 timing (brief: n = 2000-4000, |Omega| ~ 2e6, k up to 128; reduced)
N_TIME, NNZ_TIME = (400, 20_000) if SMOKE else (3000, 1_000_000)
RANKS_TIME = (4, 8, 16) if SMOKE else (8, 16, 32, 64, 128)
# C-4 solver comparison (ScaledGD's reference setup: n = 1000, r = 10, p = 0.2)
N_CMP, RANK_CMP, P_CMP, SEEDS_CMP = (100, 3, 0.3, 1) if SMOKE else (1000, 10, 0.2, 2)
# C-5 coherence
N_COH, RANK_COH, P_COH = (80, 2, 0.3) if SMOKE else (300, 5, 0.2)
EXPONENTS = (0.0, 1.0) if SMOKE else (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)
# C-6 MovieLens (brief: 5 splits, k in {1, 2, 3, 5, 10, 20, 50}; reduced)
ML_SPLITS = (0,) if SMOKE else (0, 1)
ML_RANKS = (1, 2) if SMOKE else (1, 2, 5, 10, 20, 50)
ML_SUBSAMPLE = 0.2 if SMOKE else 1.0
ML_SWEEPS = 5 if SMOKE else 15
SUFFIX = "_smoke" if SMOKE else ""  # smoke sizes are far too small for the printed verdicts to mean anything

# %%
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lowrank_lab import backend, completion, datasets
from lowrank_lab.analysis import transition_point, verdict
from lowrank_lab.completion import trials as completion_trials
from lowrank_lab.experiments import run_sweep
from lowrank_lab.plotting import PALETTE, fit_line, savefig, seed_summary, use_style
from lowrank_lab.completion import sample_entries
from lowrank_lab.matrices import low_rank_matrix

use_style()
xp = backend.get_namespace()
T_START = time.perf_counter()


def report(claim, ok, detail):
    """Print whether a claim is reproduced (lowrank_lab.analysis.verdict), with the numbers behind it."""
    print(f"[{verdict(ok)}] {claim}: {detail}")


print(f"backend: {backend.backend_name(xp)}, smoke: {SMOKE}")

# %% [markdown]
# ## 1. Exact recovery in one picture
#
# A 200 × 200 incoherent rank-5 matrix, 30% of its entries observed: exact AltMin and
# AltMin with 2 CG steps per row both reach relative error ~1e-10 in a few dozen sweeps
# (the unit tests assert < 1e-6 for exactly this problem). The per-sweep operation
# count comes from the kernels' cost model (`result.params["ops_per_sweep"]`).

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
# p = ratio · k(m + n − k)/(mn), at most 50 sweeps, success = relative error < 1e-4
# (for ε-perturbed runs, whose floor is ∝ ε by design, success = error < max(1e-4, 10ε)).
# Exact AltMin and CG-2 over all ranks; CG-1, CG-4 and ε ∈ {1e-3, 1e-2, 1e-1} at one
# rank; SVP and ScaledGD as baselines at k = `BASELINE_RANK`.

# %%
# Each method is a solver of `completion.SOLVERS` with keyword options; `variant_label`
# names it for the tables and plots ("exact", "cg2", "eps0.001", "svp", ...).
METHODS = {"exact": {"solver": "altmin"}, "cg1": {"solver": "altmin", "solve": "cg", "cg_iters": 1},
           "cg2": {"solver": "altmin", "solve": "cg", "cg_iters": 2},
           "cg4": {"solver": "altmin", "solve": "cg", "cg_iters": 4},
           **{f"eps{e:g}": {"solver": "altmin", "perturbation": e} for e in (1e-3, 1e-2, 1e-1)},
           "svp": {"solver": "svp"}, "scaled_gd": {"solver": "scaled_gd"}}


def method_name(frame):
    """The display name of each row's method (from its solver and option columns)."""
    cols = [c if c in frame else None for c in ("solver", "solve", "cg_iters", "perturbation")]
    return [completion_trials.variant_label(*(row[c] if c else None for c in cols)) for _, row in frame.iterrows()]


def grid(methods, ranks, thresholds=None):
    rows = []
    for method in methods:
        for k in ranks:
            for ratio in RATIOS:
                thr = (thresholds or {}).get(method, 1e-4)
                rows.append({"n": N_PT, "rank": k, "oversampling": ratio, **METHODS[method],
                             "max_iter": SWEEPS if method not in ("svp", "scaled_gd") else 300, "threshold": thr})
    return rows


eps_thr = {f"eps{e:g}": max(1e-4, 10 * e) for e in (1e-3, 1e-2, 1e-1)}
configs = (grid(["exact", "cg2"], RANKS_PT)
           + grid(["cg1", "cg4", *eps_thr], [VARIANT_RANK], eps_thr)
           + grid(["svp", "scaled_gd"], [BASELINE_RANK]))
t0 = time.perf_counter()
pt = run_sweep(f"03_phase{SUFFIX}", configs, completion_trials.recovery_trial, seeds=SEEDS_PT, cache_version=1)
print(f"{len(pt)} trials, {pt['status'].eq('failed').sum()} failed, {time.perf_counter() - t0:.0f} s")
pt["solver"] = method_name(pt)
pt["success"] = pt["success"].astype(float)
prob = pt.groupby(["solver", "rank", "oversampling"], as_index=False).agg(
    success=("success", "mean"), p=("p", "mean"), sweeps=("n_iter", "median"))


def transition(df):
    """Oversampling ratio where the success probability first reaches 1/2 (log-linear interpolation)."""
    return transition_point(df["oversampling"], df["success"], level=0.5, log_x=True)


boundary = (prob.groupby(["solver", "rank"]).apply(transition, include_groups=False)
            .rename("ratio_50").reset_index())
boundary["p_50"] = boundary["ratio_50"] * boundary["rank"] * (2 * N_PT - boundary["rank"]) / N_PT**2
boundary["omega_50_over_knlogn"] = boundary["p_50"] * N_PT**2 / (boundary["rank"] * N_PT * math.log(N_PT))
print(boundary.round(3).to_string())

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
ranks = list(RANKS_PT)
for ax, solver in zip(axes, ["exact", "cg2"]):
    sub = prob[prob["solver"] == solver]
    for row, k in enumerate(ranks):
        cells = sub[sub["rank"] == k].sort_values("p")
        ps = cells["p"].to_numpy()
        edges = np.sqrt(ps[:-1] * ps[1:]) if ps.size > 1 else np.array([])
        lo = np.concatenate([[ps[0] / 1.2], edges]) if ps.size else []
        hi = np.concatenate([edges, [ps[-1] * 1.2]]) if ps.size else []
        for a, b, s in zip(lo, hi, cells["success"]):
            ax.fill_between([a, b], row - 0.45, row + 0.45, color=plt.cm.viridis(s), lw=0)
    ys = np.arange(len(ranks))
    dof = np.array([k * (2 * N_PT - k) / N_PT**2 for k in ranks])
    theory = np.array([k * N_PT * math.log(N_PT) / N_PT**2 for k in ranks])
    for curve, color, ls, label in ((dof, "white", "-", "dof: |Ω| = k(m+n−k)"),
                                    (theory, "#D55E00", "--", "|Ω| = k n log n (C = 1)")):
        for row, p_ref in enumerate(curve):
            ax.plot([p_ref, p_ref], [row - 0.45, row + 0.45], color=color, ls=ls, lw=2.2,
                    label=label if row == 0 else None)
    ax.set(xscale="log", xlabel="sampling rate p", title=f"AltMin {solver}: P(success), n = {N_PT}")
    ax.xaxis.set_minor_formatter(plt.NullFormatter())
    ax.set_yticks(ys, [str(k) for k in ranks])
    ax.grid(False)
axes[0].set_ylabel("rank k")
axes[1].legend(loc="lower right", fontsize=8)
sm = plt.cm.ScalarMappable(cmap="viridis", norm=plt.Normalize(0, 1))
fig.colorbar(sm, ax=axes, label="success probability")
savefig(fig, "03_phase_transition")
plt.show()

# %%
main_b = boundary[boundary["solver"].isin(["exact", "cg2"])].pivot(index="rank", columns="solver", values="ratio_50")
print("50% transition, in units of the degrees of freedom k(2n - k):")
print(main_b.round(2).to_string())
valid = main_b.dropna()
if len(valid) >= 2:
    slope_exact, _ = fit_line(valid.index.to_numpy(float),
                              (valid["exact"] * valid.index * (2 * N_PT - valid.index)).to_numpy(float),
                              log_x=True, log_y=True)
    print(f"log-log slope of |Omega|_50 against k (exact): {slope_exact:.2f}  (1 = proportional to k)")
gap = (main_b["cg2"] / main_b["exact"]).dropna()
print(f"CG-2 / exact transition ratio per rank: {gap.round(2).to_dict()}  (1 = boundaries coincide)")
var_b = boundary[boundary["rank"] == VARIANT_RANK].set_index("solver")["ratio_50"]
print(f"transitions at k = {VARIANT_RANK}:", var_b.round(2).to_dict())
base_b = boundary[boundary["rank"] == BASELINE_RANK].set_index("solver")["ratio_50"]
print(f"transitions at k = {BASELINE_RANK}:", base_b.round(2).to_dict())
if len(valid) >= 2:
    report("phase boundary moves roughly in proportion to k", 0.6 <= slope_exact <= 1.4,
            f"|Omega|_50 ~ k^{slope_exact:.2f}; in dof units {valid['exact'].round(2).to_dict()}")
step = max(RATIOS[i + 1] / RATIOS[i] for i in range(len(RATIOS) - 1))
report("CG-2 boundary coincides with exact (within one grid step)",
        bool(np.all(np.abs(np.log(gap)) <= np.log(step) + 1e-9)), f"ratios {gap.round(2).to_dict()}")
eps_gap = {v: float(var_b.get(v, np.nan) / var_b.get("exact", np.nan)) for v in ("eps0.001", "eps0.01", "cg1", "cg4")}
report("small-epsilon boundaries coincide with exact (floor-adjusted success)",
        all(abs(np.log(eps_gap[v])) <= np.log(step) + 1e-9 for v in ("eps0.001", "eps0.01")),
        f"transition ratios to exact: { {k: round(v, 2) for k, v in eps_gap.items()} }")

# %% [markdown]
# **What the figure shows** (numbers quoted from the full-size run, n = 300, 5 seeds;
# the printed verdicts above are recomputed on every run). The 50% transition sits at
# ≈ 1.7 degrees of freedom for k = 5, 10, 20 and at ≈ 3.2 for k = 2, so |Ω|₅₀ grows a
# little slower than k (fitted exponent ≈ 0.74 over k = 2…20): **roughly proportional
# to k — reproduced**, with the caveat that at a single n the k n log n curve is only a
# rescaled dof line (both ∝ k), so these data cannot separate the two scalings; the
# constant in front of k n log n is ≈ 0.6, well below 1. **CG-2 and exact AltMin have the
# same boundary** at k = 2, 5 and 10, and at k = 20 CG-2 even succeeds one grid step
# earlier — the "preserving the sample complexity" claim is **reproduced**. With the
# floor-adjusted success criterion the ε ∈ {1e-3, 1e-2} boundaries coincide with the
# exact one too (ε = 0.1 one step earlier, its criterion being loose), whereas **CG-1**
# needs ≈ 2.5 dof within 50 sweeps: one CG step per sweep slows convergence enough to
# move the boundary. Baselines at k = 10: ScaledGD ≈ 1.9 dof, SVP ≈ 3.2 dof.
#
# ## 3. Exact vs approximate AltMin: error against sweep (C-2)

# %%
variants = ["exact", "cg1", "cg2", "cg4", "eps0.001", "eps0.01", "eps0.1"]
conv = run_sweep(f"03_convergence{SUFFIX}",
                 [{"n": N_CONV, "rank": RANK_CONV, "oversampling": RATIO_CONV, "max_iter": SWEEPS,
                   **{k: v for k, v in METHODS[v].items() if k != "solver"}} for v in variants],
                 completion_trials.convergence_trial, seeds=SEEDS_CONV, cache_version=1)
conv["variant"] = method_name(conv.assign(solver="altmin"))
fig, ax = plt.subplots(figsize=(6.4, 4.0))
styles = {"exact": ("k", "-"), "cg1": (PALETTE[0], "--"), "cg2": (PALETTE[1], "--"), "cg4": (PALETTE[2], "--"),
          "eps0.001": (PALETTE[3], ":"), "eps0.01": (PALETTE[4], ":"), "eps0.1": (PALETTE[5], ":")}
rates, floors = {}, {}
for v in variants:
    s = seed_summary(conv[conv["variant"] == v], "iteration", "relative_error")
    color, ls = styles[v]
    ax.semilogy(s["iteration"], s["center"], color=color, ls=ls, label=v)
    y = s["center"].to_numpy()
    x = s["iteration"].to_numpy()
    mask = (y > 1e-9) & (y < 1e-2) & (x > 0)
    if v.startswith("eps"):
        floors[v] = float(np.median(y[-10:]))
    elif mask.sum() >= 3:
        rates[v] = math.exp(fit_line(x[mask], y[mask])[0])
ax.set(xlabel="sweep", ylabel="relative error ‖UVᵀ − M‖_F / ‖M‖_F",
       title=f"n = {N_CONV}, k = {RANK_CONV}, |Ω| = {RATIO_CONV:g} dof", ylim=(1e-16, 3))
ax.legend(ncol=2, fontsize=8)
savefig(fig, "03_convergence")
plt.show()
print("linear rates (error ratio per sweep):", {k: round(v, 3) for k, v in rates.items()})
print("error floors / epsilon:", {k: round(v / float(k[3:]), 3) for k, v in floors.items()})
ratios_eps = [v / float(k[3:]) for k, v in floors.items()]
report("with injected epsilon, linear convergence to a floor proportional to epsilon",
        max(ratios_eps) / min(ratios_eps) < 3, f"floor/epsilon in [{min(ratios_eps):.2f}, {max(ratios_eps):.2f}]")
report("warm-started CG converges linearly (to round-off), at most slightly slower than exact",
        all(v < 1 for v in rates.values()) and rates.get("cg2", 1) <= 1.25 * rates["exact"],
        f"rates { {k: round(v, 3) for k, v in rates.items()} }")

# %% [markdown]
# **What the figure shows.** Exact AltMin converges linearly to round-off (error ratio
# ≈ 0.55 per sweep at full size); warm-started CG-2 and CG-4 converge at the same rate
# (CG solves a k × k system exactly in k steps, k = 5 here, and warm starts make 2 steps
# enough once the iterates settle), CG-1 more slowly (≈ 0.70 per sweep) but still
# linearly to round-off — **reproduced** ("converges linearly to machine precision at a
# slightly slower rate"). The ε-perturbed runs converge linearly to a floor of
# ≈ 1.57 ε for ε = 1e-3, 1e-2, 1e-1 — **floor ∝ ε, reproduced** (verdicts printed above).
#
# ## 4. Runtime against rank k (C-3)
#
# Seconds per sweep at n = `N_TIME`, |Ω| = `NNZ_TIME` (reduced from the brief's 2·10⁶
# to fit this 2-core CPU), measured between callbacks so initialization and metrics are
# excluded. Exact AltMin forms every k × k normal matrix and solves it; CG-2 never
# forms them and applies each row's operator as F_Ωᵀ(F_Ω p). Both run here as compiled
# per-row kernels (Numba, on the CPU's two threads); without Numba, exact uses SciPy
# sparse products up to k = 16 and batched GEMMs on padded segments above, and CG-2
# array operations (about 5× slower at k = 10).

# %%
timing = run_sweep(f"03_timing{SUFFIX}", {"n": [N_TIME], "rank": list(RANKS_TIME), "n_observed": [NNZ_TIME],
                                          "solve": ["exact", "cg"], "n_sweeps": [3]},
                   completion_trials.timing_trial, seeds=1, cache_version=5)
fig, ax = plt.subplots(figsize=(6.4, 4.0))
slopes = {}
anchor = None
for (solve, label), color in zip([("exact", "exact"), ("cg", "CG-2")], PALETTE):
    sub = timing[timing["solve"] == solve].sort_values("rank")
    k, t = sub["rank"].to_numpy(float), sub["best_sweep_s"].to_numpy()
    anchor = (k[0], t[0]) if anchor is None else anchor
    top = slice(max(0, len(k) - 3), len(k))
    slopes[solve] = fit_line(k[top], t[top], log_x=True, log_y=True)[0]
    ops = sub["ops_per_sweep"].to_numpy()
    slopes[solve + "_ops"] = fit_line(k[top], ops[top], log_x=True, log_y=True)[0]
    ax.loglog(k, t, "o-", color=color, label=f"{label}: slope {slopes[solve]:.2f} (time), "
                                             f"{slopes[solve + '_ops']:.2f} (ops), top 3 k")
kk = np.array(RANKS_TIME, dtype=float)
ax.loglog(kk, anchor[1] * (kk / anchor[0]) ** 2, color="0.6", ls=":", lw=1, label="∝ k² (guide)")
ax.loglog(kk, anchor[1] * (kk / anchor[0]), color="0.6", ls="--", lw=1, label="∝ k (guide)")
ax.set(xlabel="rank k", ylabel="seconds per sweep (best of 3)",
       title=f"n = {N_TIME}, |Ω| = {NNZ_TIME:,} ({backend.backend_name(xp)})")
ax.legend(fontsize=7.5)
savefig(fig, "03_time_per_sweep")
plt.show()
print({k: round(v, 2) for k, v in slopes.items()})
print(timing[["solve", "rank", "time_per_sweep_s", "best_sweep_s", "ops_per_sweep", "gflops"]].round(4).to_string())
crossing = timing.pivot(index="rank", columns="solve", values="best_sweep_s")
faster = crossing.index[crossing["cg"] < crossing["exact"]].tolist()
report("time slope ~2 (exact) vs at most ~1 (CG) at large k",
        1.5 <= slopes["exact"] and slopes["cg"] <= 1.3,
        f"time slopes {slopes['exact']:.2f} / {slopes['cg']:.2f}, op-count slopes {slopes['exact_ops']:.2f} / "
        f"{slopes['cg_ops']:.2f}; CG-2 faster than exact at k = {faster or 'none of the measured k'}")

# %% [markdown]
# **What the figure shows.** The slopes in the legend are fitted over the three largest
# k. The *operation counts* follow the claim exactly (slope 2.0 for exact, 1.1 for CG-2;
# also asserted by the unit tests without any timing). The *wall time* on this 2-core
# CPU (best of 3 sweeps; timings on a shared machine can be off by 2x at single points)
# has a slope of ≈ 1.9 for exact, close to the k² of its operation count — the
# **claim's separation is reproduced** — while CG-2's time grows *more slowly* than its
# k-linear operation count over this range (slope well below 1, printed above): at
# these k its per-entry fixed costs (index loads, gathers, loop overhead) still weigh
# as much as the k-proportional arithmetic. In wall time CG-2 catches up with exact
# around k ≈ 16 and is several times faster at k = 128, the Õ(|Ω| k) vs Õ(|Ω| k²)
# advantage of Gu et al. on a 2-core CPU. (Earlier versions of this notebook, with
# uncompiled kernels — exact as SciPy products or batched GEMMs, CG-2 as array
# operations — measured slopes 1.6–1.8 and 0.7–1.3 and CG-2 faster only at k = 128:
# the constants, not the exponents, decide the crossing.) The verdict line
# above states where (if anywhere) CG-2 was faster in this run.
#
# ## 5. All solvers on one problem (C-4)
#
# n = `N_CMP`, k = `RANK_CMP`, p = `P_CMP` (ScaledGD's reference setup). SoftImpute-ALS
# solves a nuclear-norm *regularized* problem (here λ = 10⁻⁶‖P_Ω(M)‖, rank cap 2k), so it
# approaches the truth only as λ → 0; SVT with its default τ ≈ 5σ₁ likewise stops at a
# biased solution. `time_s` includes the same per-iteration error evaluation for all.

# %%
solvers_cmp = ["exact", "cg2", "svp", "scaled_gd", "soft_impute", "svt"]
cmp_df = run_sweep(f"03_solvers{SUFFIX}",
                   [{**METHODS.get(m, {"solver": m}), "n": N_CMP, "rank": RANK_CMP, "p": P_CMP, "max_iter": 300}
                    for m in solvers_cmp],
                   completion_trials.solver_trial, seeds=SEEDS_CMP, cache_version=4)
cmp_df["solver"] = method_name(cmp_df)
fig, ax = plt.subplots(figsize=(6.4, 4.0))
for solver, color in zip(solvers_cmp, PALETTE):
    sub = cmp_df[(cmp_df["solver"] == solver) & (cmp_df["seed"] == 0)]
    ax.semilogy(sub["time_s"], sub["relative_error"], color=color, label=solver)
ax.set(xlabel="wall-clock seconds", ylabel="relative error", xscale="log",
       title=f"n = {N_CMP}, k = {RANK_CMP}, p = {P_CMP}")
ax.legend(ncol=2)
savefig(fig, "03_solver_comparison")
plt.show()
last = cmp_df.sort_values("iteration").groupby(["solver", "seed"]).tail(1)
summary = last.groupby("solver").agg(final_error=("relative_error", "median"), seconds=("time_s", "median"),
                                     iterations=("iteration", "median"))


def time_to(df, target):
    hit = df[df["relative_error"] <= target]
    return float(hit["time_s"].iloc[0]) if len(hit) else np.nan


def median_time_to(solver, target=1e-6):
    times = [time_to(g, target) for _, g in cmp_df[cmp_df["solver"] == solver].groupby("seed")]
    times = [t for t in times if not np.isnan(t)]
    return float(np.median(times)) if times else np.nan


summary["seconds_to_1e-6"] = [median_time_to(s) for s in summary.index]
print(summary.sort_values("seconds").to_string(float_format=lambda v: f"{v:.3g}"))

# %% [markdown]
# **What the table shows** (full size, median of 2 seeds; seconds are wall time on this
# machine and vary from run to run, the iteration counts and errors do not): exact
# AltMin reaches ~1e-10 in 13 sweeps, CG-2 in 12; ScaledGD (≈ 80 iterations) and SVP
# (≈ 50 iterations) also recover exactly, with cheaper iterations but more of them, and
# take several times longer to 1e-6; SVT stops at ≈ 1e-4 (the bias of its
# τ‖X‖_* + ½‖X‖_F² objective) and SoftImpute-ALS with a tiny λ is still at ≈ 2e-2 after
# 300 iterations — it solves a regularized problem and should be run along a decreasing
# λ path. The two AltMin variants are the fastest to every accuracy here; at k = 10 their
# sweeps cost about the same (both compiled), so which of them wins varies with the run
# (CG-2 in the committed one). Only AltMin has compiled kernels; ScaledGD, SVP, SVT and
# SoftImpute run as array operations (sparse products and randomized SVDs), so part of
# their gap is implementation, not algorithm.
#
# ## 6. Coherence (C-5)
#
# Same p for all; the left singular vectors get power-law row norms with exponent γ
# (`coherent_low_rank_matrix`), which raises the incoherence μ(U) = (m/k) max_i ‖e_iᵀU‖².

# %%
coh = run_sweep(f"03_coherence{SUFFIX}", {"n": [N_COH], "rank": [RANK_COH], "p": [P_COH],
                                          "exponent": list(EXPONENTS)},
                completion_trials.coherence_trial, seeds=SEEDS_PT, cache_version=1)
coh["success"] = coh["success"].astype(float)
coh_sum = coh.groupby("exponent").agg(mu=("mu", "mean"), success=("success", "mean"),
                                      median_error=("relative_error", "median"), empty_rows=("empty_rows", "mean"))
fig, ax = plt.subplots(figsize=(6.4, 3.6))
ax.plot(coh_sum["mu"], coh_sum["success"], "o-", color=PALETTE[0])
for i, (g, r) in enumerate(coh_sum.iterrows()):
    ax.annotate(f"γ={g:g}", (r["mu"], r["success"]), textcoords="offset points",
                xytext=(4, 6 if i % 2 == 0 else -14), fontsize=8)
ax.set(xscale="log", xlabel="incoherence μ(U*)", ylabel="success probability", ylim=(-0.05, 1.05),
       title=f"n = {N_COH}, k = {RANK_COH}, p = {P_COH}, exact AltMin")
savefig(fig, "03_coherence")
plt.show()
print(coh_sum.round(3).to_string())
first, last_ = coh_sum.iloc[0], coh_sum.iloc[-1]
report("coherent truths fail where incoherent ones succeed", first["success"] >= 0.8 and last_["success"] <= 0.2,
        f"mu {first['mu']:.1f} -> success {first['success']:.2f}; "
        f"mu {last_['mu']:.1f} -> success {last_['success']:.2f}")

# %% [markdown]
# **What the figure shows.** At p = 0.2 the incoherent truth (μ ≈ 4) and mildly coherent
# ones (μ up to ≈ 26) are recovered in every seed, while μ ≳ 40 fails in every seed
# (median errors 1e-3 to 2 at full size): **coherent matrices fail at a p where
# incoherent ones succeed — reproduced**. A few heavy rows carry most of U*, and
# Bernoulli sampling observes each of them only ≈ pn times.
#
# ## 7. MovieLens ml-latest-small (C-6)
#
# 100,836 ratings (610 users × 9,724 movies, density 1.7%), shipped in `data/` with its
# licence (research use; acknowledge Harper & Konstan 2015) and SHA-256 hashes checked
# on load. Protocol: seeded 80/20 splits (`completion.movielens_split`, seeds
# `ML_SPLITS` — reduced from the brief's 5); global mean + ridge user/item biases
# (Surprise's `BaselineOnly` ALS scheme and defaults) fitted first; each solver models
# the residuals; movies without training ratings get the bias prediction; predictions
# clipped to [0.5, 5]. (rank, λ) are chosen on a 10% validation split *of the training
# ratings*, never on the test set. "als" is AltMin without orthonormalization (regularized
# ALS, loss Σ(r − u_uᵀv_i)² + λ(‖U‖² + ‖V‖²)); "altmin_cg" is the same with 2 CG steps;
# SoftImpute-ALS's λ has the same scale. SVP and ScaledGD (no regularizer) use steps η/p̂
# with η ∈ {0.003, 0.01}: their uniform-sampling 1/p̂ scaling diverges on these data.
#
# **Caveat.** Real ratings are missing-not-at-random with heavy popularity skew (3,446
# movies have a single rating), so none of the recovery theory above applies here.

# %%
hashes = datasets.verify_checksums()  # raises if the shipped (non-frozen) release changed
print("MovieLens files verified:", {name: digest[:12] + "..." for name, digest in hashes.items()})
# methods: regularized ALS is AltMin without orthonormalization (Σ(r − u_uᵀv_i)² + λ(‖U‖² + ‖V‖²))
ML_METHODS = {"bias": {"solver": "bias"}, "als": {"solver": "altmin", "orthonormalize": False},
              "altmin_cg": {"solver": "altmin", "orthonormalize": False, "solve": "cg", "cg_iters": 2},
              "soft_impute": {"solver": "soft_impute"}, "svp": {"solver": "svp"}, "scaled_gd": {"solver": "scaled_gd"}}
ml_configs = [{**ML_METHODS["bias"], "rank": 1}]
ml_configs += [{**ML_METHODS["als"], "rank": k, "reg": g} for k in ML_RANKS for g in (0.0, 10.0, 20.0, 40.0)]
ml_configs += [{**ML_METHODS["altmin_cg"], "rank": k, "reg": 20.0} for k in ML_RANKS]
ml_configs += [{**ML_METHODS["soft_impute"], "rank": k, "reg": g} for k in ML_RANKS for g in (15.0, 25.0)]
ml_configs += [{**ML_METHODS[s], "rank": k, "step_size": st} for s in ("svp", "scaled_gd")
               for k in ML_RANKS[:3] for st in (0.003, 0.01)]
for c in ml_configs:
    c.update(max_iter=ML_SWEEPS, holdout=0.1, subsample=ML_SUBSAMPLE)
t0 = time.perf_counter()
ml = run_sweep(f"03_movielens{SUFFIX}", ml_configs, completion_trials.movielens_trial, seeds=list(ML_SPLITS),
               cache_version=1)
print(f"{len(ml)} fits, {ml['status'].eq('failed').sum()} failed, {time.perf_counter() - t0:.0f} s")
ml["step"] = ml["step_size"].fillna(0.0)
ml["reg"] = ml["reg"].fillna(0.0)
ml["solver"] = ["als" if s == "altmin" and c != "cg" else "altmin_cg" if s == "altmin" else s
                for s, c in zip(ml["solver"], ml["solve"])]
bias_rmse = ml[ml["solver"] == "bias"]["rmse"].mean()

fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.0))
curves = [("als", 0.0, "ALS λ=0 (unregularized)"), ("als", 20.0, "ALS λ=20"), ("altmin_cg", 20.0, "ALS-CG2 λ=20"),
          ("soft_impute", 15.0, "SoftImpute-ALS λ=15")]
for ax, zoom in zip(axes, (False, True)):
    for (solver, reg, label), color in zip(curves, PALETTE):
        sub = ml[(ml["solver"] == solver) & (ml["reg"] == reg)].groupby("rank")["rmse"].mean()
        ax.plot(sub.index, sub.values, "o-", color=color, label=label)
    for (solver, color) in (("svp", PALETTE[4]), ("scaled_gd", PALETTE[5])):
        sub = ml[(ml["solver"] == solver)].groupby("rank")["rmse"].min()
        ax.plot(sub.index, sub.values, "s--", color=color, label=f"{solver} (best step)")
    ax.axhline(bias_rmse, color="k", ls=":", label=f"biases only ({bias_rmse:.3f})")
    ax.set(xscale="log", xlabel="rank k", ylabel="test RMSE")
    ax.set_xticks(list(ML_RANKS), [str(k) for k in ML_RANKS])
    ax.xaxis.set_minor_formatter(plt.NullFormatter())
    if zoom:
        ax.set_ylim(bias_rmse - 0.03, bias_rmse + 0.02)
        ax.set_title("zoom on the regularized solvers")
    else:
        ax.set_title("MovieLens: test RMSE against rank (mean over splits)")
axes[0].legend(fontsize=7.5)
savefig(fig, "03_movielens_rmse")
plt.show()

# %%
key = ["solver", "rank", "reg", "step"]
by_cfg = ml.groupby(key, as_index=False)[["val_rmse", "rmse", "mae", "fit_time_s"]].mean()
chosen = by_cfg.loc[by_cfg.groupby("solver")["val_rmse"].idxmin()].set_index("solver")
final_rows = []
for solver, cfg in chosen.iterrows():
    for seed in ML_SPLITS:
        extra = dict(ML_METHODS[solver])
        if solver in ("als", "altmin_cg", "soft_impute"):
            extra["reg"] = float(cfg["reg"])
        elif solver in ("svp", "scaled_gd"):
            extra["step_size"] = float(cfg["step"])
        r = completion_trials.movielens_trial(rank=int(cfg["rank"]), seed=seed, max_iter=ML_SWEEPS,
                                              subsample=ML_SUBSAMPLE, **extra)
        final_rows.append({"solver": solver, "rank": int(cfg["rank"]), "reg": cfg["reg"], "step": cfg["step"],
                           "seed": seed, **r})
final = pd.DataFrame(final_rows).groupby("solver").agg(
    rank=("rank", "first"), reg=("reg", "first"), test_rmse=("rmse", "mean"), test_mae=("mae", "mean"),
    fit_s=("fit_time_s", "mean"))
peers = pd.DataFrame({"test_rmse": [1.042, 0.866, "0.869–0.875", 0.861, 0.877, 0.863],
                      "fit_s": [np.nan, np.nan, np.nan, 27.6, "2.5–4.9 (+4.7 JVM)", 89]},
                     index=["[peer] global mean", "[peer] user+item biases", "[peer] Surprise SVD",
                            "[peer] Surprise SVD++", "[peer] Spark MLlib ALS",
                            "[peer] biases + fancyimpute SoftImpute"])
print("lowrank_lab, (rank, reg, step) chosen on validation, refit on the full training split:")
print(final.round(4).to_string())
print("\npeers measured by the issue's author on *one other* seeded 80/20 split (not the same split):")
print(peers.to_string())
print(f"\nbias-only test RMSE here: {bias_rmse:.4f}")

# %%
beats = {s: bool(final.loc[s, "test_rmse"] < final.loc["bias", "test_rmse"]) for s in final.index if s != "bias"}
unreg = ml[(ml["solver"] == "als") & (ml["reg"] == 0.0)].groupby("rank")["rmse"].mean()
reg20 = ml[(ml["solver"] == "als") & (ml["reg"] == 20.0)].groupby("rank")["rmse"].mean()
print("beats bias-only:", beats)
print("unregularized ALS test RMSE by rank:", unreg.round(3).to_dict())
print("ALS lambda=20 test RMSE by rank:   ", reg20.round(3).to_dict())
regularized = [s_ for s_ in ("als", "altmin_cg", "soft_impute") if s_ in beats]
report("every low-rank method beats bias-only", all(beats.values()), f"{beats}")
report("regularized AltMin/SoftImpute beat bias-only", all(beats[s_] for s_ in regularized),
        {s_: round(float(final.loc[s_, "test_rmse"]), 4) for s_ in regularized})
report("unregularized AltMin degrades as k grows",
        unreg.iloc[-1] > unreg.iloc[0] and unreg.iloc[0] > bias_rmse, f"{unreg.round(3).to_dict()}")
report("regularized ALS stays flat or U-shaped in k", reg20.max() - reg20.min() < 0.02,
        f"range {reg20.min():.4f}-{reg20.max():.4f}")
print(f"total notebook time: {time.perf_counter() - T_START:.0f} s")

# %% [markdown]
# **What the figure and table show** (full size: 2 splits). Regularized ALS, its CG-2
# variant and SoftImpute-ALS beat the bias-only baseline at every rank and are flat in
# k once k ≳ 5 (ALS λ = 20: 0.868 at k = 1 to 0.863 at k ≥ 10): the ridge / nuclear
# penalty switches off unneeded directions — **reproduced**. Unregularized AltMin is far
# *worse* than bias-only (0.97 at k = 1, 1.2–1.5 for k ≥ 5) and degrades as k grows —
# **reproduced** — because with λ = 0 every movie with fewer than k ratings is fitted
# exactly. SVP and ScaledGD have no regularizer, and their uniform-sampling step η/p̂
# diverges on these data; with the small steps of the grid, stopped after 15 iterations
# (early stopping is their only regularization), the validation-selected SVP (k = 5)
# and ScaledGD (k = 1) land just below bias-only, but ScaledGD is *worse* than bias-only
# for every k ≥ 2 (right panel; "best step" there is the best of the two steps on the
# test set, for display only). So "every low-rank method beats bias-only" holds for the
# selected configurations, and only barely for the unregularized SVP and ScaledGD. Validation-
# selected ALS (k = 50, λ = 10) and SoftImpute-ALS (k = 50, λ = 15) score ≈ 0.854 test
# RMSE, ≈ 0.653 MAE, against peers' 0.861 (SVD++) and 0.863 (biases + fancyimpute) on
# another split of the same data — comparable, not identical, protocols. ML-100k's
# ≈ 0.93 (biased SVD, 5-fold CV) is a magnitude check only. The target (RMSE ≤
# 0.862 on a seeded 80/20 split) is also checked by `benchmarks/bench_completion.py`.
