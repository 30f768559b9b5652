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
# # 08 · Intrinsic dimension: of objective landscapes (random-subspace training) and of point clouds
#
# **Question.** Li et al. (2018) train a network only inside a random affine subspace
# θ = θ₀ + P z of its D parameters (z ∈ ℝᵈ, z = 0 at the start, P fixed with unit columns)
# and call the smallest d that reaches 90 % of direct training's performance the
# *intrinsic dimension of the objective landscape*, d_int90. Aghajanyan et al. (2021) use
# the same device to explain why fine-tuning large language models works with few
# parameters, and add a structure-aware variant (SAID: one trainable scale per tensor).
# A different notion with the same name is the *intrinsic dimension of a point cloud*
# (TwoNN, Facco et al. 2017; MLE, Levina and Bickel 2004). We keep the two apart:
# sections 1–4 are landscapes, section 5 point clouds.
#
# **Claims tested** (quoted; criteria from the study design, study H4):
# * Li et al.: in their toy (D = 1000, 10 groups of 100) "the loss reaches ≈ 0 exactly at
#   d = 10 for every projection type" (criterion); "the intrinsic dimension for a given
#   dataset varies little across a family of models with vastly different sizes" — *the
#   digits d_int90 is roughly flat across widths and inflates sharply with shuffled labels*.
# * Aghajanyan et al.: SAID ≤ DID (criterion), and "pre-training implicitly minimizes
#   intrinsic dimension" (not tested here, see the end).
# * Sensing (an open test, no fixed expectation): random-subspace training of the
#   factorized sensing problem, d_int against k, drawn against a flat prediction and a
#   dimension count.
# * Estimators: TwoNN and MLE "recover the true d on clean manifolds" (criterion); noise
#   inflates them, small N deflates high d (the study design's pitfalls).
#
# **Setup.** `lowrank_lab.intrinsic` (projections, `train_subspace`, `d_int` with both
# threshold rules and a cluster bootstrap over seeds, the DID and SAID adapters that run
# any model of the adapter lab through `lowrank_lab.adapters.finetune`, estimators,
# manifolds); design in `docs/intrinsic.md`. Every threshold of a verdict is fixed in the
# parameters cell before the runs. **Reductions for a CPU** (stated, not hidden): the digits
# MLP is the adapter lab's one-hidden-layer MLP 64-h-10 (D = 2.4k, 9.6k, 38k for
# h = 32, 128, 512; the study design's 64-h-h-10 would be 3.5k, 26k, 301k), trained full-batch
# with Adam for a fixed number of steps, 3 seeds and a coarse log grid of d.

# %% tags=["parameters"]
import os

SMOKE = os.environ.get("LOWRANK_SMOKE") == "1"

# %%
import logging
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from lowrank_lab import analysis
from lowrank_lab.adapters import adam, finetune, full, mlp, nola, per_layer, randlora, vera
from lowrank_lab.datasets import digits
from lowrank_lab.intrinsic import (
    d_int,
    intrinsic_dimension,
    local_pca,
    make_projection,
    manifolds,
    mle,
    participation_ratio,
    train_subspace,
    twonn,
)
from lowrank_lab.intrinsic import trials as T
from lowrank_lab.intrinsic.subspace import classification_task
from lowrank_lab.plotting import PALETTE, savefig, use_style

use_style()
logging.getLogger("fontTools").setLevel(logging.ERROR)
pd.set_option("display.width", 160)
T0 = time.perf_counter()

# sizes (smoke: tiny; full: CPU-feasible, about 10 minutes on one core)
TOY_DIMS = (5, 9, 10, 11, 15) if SMOKE else tuple(range(1, 21))
TOY_SEEDS = (0, 1) if SMOKE else (0, 1, 2, 3, 4)
KINDS = ("dense", "sparse", "fastfood")
WIDTHS = (16, 32) if SMOKE else (32, 128, 512)
DIGIT_DIMS = (30, 300) if SMOKE else (10, 30, 100, 300, 1000)
SHUFFLED_DIMS = (300,) if SMOKE else (100, 300, 1000, 3000)
SHUFFLED_WIDTH = 16 if SMOKE else 128
SAID_WIDTH = 16 if SMOKE else 128
DIGIT_SEEDS = (0, 1) if SMOKE else (0, 1, 2)
DIGIT_STEPS = 40 if SMOKE else 200
SUB_LR, DIRECT_LR = 0.05, 0.01
AGREE_DIMS = (30, 300) if SMOKE else (30, 100, 300)
COST_DS = (2**10, 2**12) if SMOKE else (2**10, 2**12, 2**14, 2**16)
EST_DIMS = (2, 5) if SMOKE else (2, 5, 10)
EST_NOISE = (0.0, 0.1) if SMOKE else (0.0, 0.01, 0.1)
EST_N = (500,) if SMOKE else (500, 2000, 10_000)
EST_N_SLOW = 2000  # participation ratio and local PCA only up to this N (local PCA: 100 neighbours per point)
SENS = dict(n=8, r=2, m=80) if SMOKE else dict(n=20, r=2, m=400)
SENS_KS = (2, 4) if SMOKE else (2, 4, 8)
SENS_SEEDS = (0, 1) if SMOKE else (0, 1, 2)
SENS_ITERS = 300 if SMOKE else 5000
SENS_EXACT = 0.999  # "near-exact recovery": relative loss <= 1e-3 (see section 6 for why not 1e-6)
N_BOOT = 200 if SMOKE else 2000
BRIDGE = {"vera": (4, 64), "nola": (32, 512), "randlora": (2, 10)} if SMOKE else \
    {"vera": (4, 16, 64), "nola": (32, 128, 512), "randlora": (2, 5, 10)}
BRIDGE_LR_FACTORS = (1.0,) if SMOKE else (1 / 3, 1.0, 3.0)  # around notebook 06's centre, chosen on seed 0 by training loss
PRE_WIDTHS = (16, 32) if SMOKE else (64, 256)
PRE_STEPS = (0, 50) if SMOKE else (0, 100, 1000)  # the study design's 10^4 is left out for time (see section 3)
PRE_DIMS = (8, 32) if SMOKE else (8, 16, 32, 64, 128, 256)
PRE_SEEDS = (0, 1) if SMOKE else (0, 1, 2)
PRE_FT_STEPS = 40 if SMOKE else 300

# verdict thresholds, fixed before the runs
TOY_WINDOW = 1  # d_int90 and d_int100 of the toy within one grid step of 10
FLAT_RATIO = 4.0  # "roughly flat": max/min of d_int90 over widths (their D spans 16x) at most 4
SHUFFLE_RATIO = 3.0  # "inflates sharply": shuffled d_int90 at least 3x the unshuffled one at the same width
EST_TOL = 0.10  # estimators within 10 % of the true d on clean manifolds at N >= 2000 (d <= 5)
SUFFIX = "_smoke" if SMOKE else ""


# %% [markdown]
# ## 1 · Li et al.'s toy: performance against d for the three projections (H-1)
#
# D = 1000 parameters in 10 groups of 100, loss Σ_g (Σ_{j∈g} θ_j − g)²: the loss sees θ only
# through 10 linear functionals, so the solution set is a 990-dimensional affine subspace
# and a random d-dimensional affine subspace meets it iff d ≥ 10. Performance is the
# fraction of the loss improvement (L₀ − L_d)/L₀ (the full-training loss is 0). θ₀ ~ N(0, I)
# (reconstruction: the paper does not say). Adam, step 1, at most 2000 steps. Same θ₀ for
# every d and kind at a seed, a new subspace per seed.

# %%
toy = {}
for kind in KINDS:
    toy[kind] = intrinsic_dimension(T.toy_subspace_trial, TOY_DIMS, seeds=TOY_SEEDS, config={"projection": kind},
                                    thresholds="loss_improvement", initial="initial_loss", full=0.0,
                                    name=f"toy_{kind}", n_resamples=N_BOOT)
toy100 = {kind: d_int(toy[kind].table, threshold="loss_improvement", level=0.999, initial="initial_loss", full=0.0,
                      n_resamples=N_BOOT) for kind in KINDS}
toy_rows = []
for kind in KINDS:
    e90, e100 = toy[kind]["loss_improvement"], toy100[kind]
    toy_rows.append({"projection": kind, "d_int90": e90.d, "90% CI": f"[{e90.low:g}, {e90.high:g}]",
                     "d_int100 (99.9 %)": e100.d, "100% CI": f"[{e100.low:g}, {e100.high:g}]",
                     "wall time (s)": round(float(toy[kind].table["wall_time_s"].sum()), 1)})
toy_summary = pd.DataFrame(toy_rows)
display(toy_summary)

fig, ax = plt.subplots(figsize=(6.4, 4.0))
for kind, color in zip(KINDS, PALETTE):
    c = toy[kind]["loss_improvement"].curve
    ax.plot(c["d"], c["mean"], "o-", color=color, label=kind, ms=4)
    ax.fill_between(c["d"], c["low"], c["high"], color=color, alpha=0.2)
ax.axhline(0.9, color="k", ls="--", lw=1, label="90 %")
ax.axvline(10, color="grey", ls=":", lw=1, label="true d_int = 10")
ax.set_xscale("log")
ax.set_xlabel("subspace dimension d")
ax.set_ylabel("fraction of loss improvement")
ax.set_title(f"Li et al.'s toy (D = 1000), {len(TOY_SEEDS)} seeds, mean and 95 % CI")
ax.legend(fontsize=8)
savefig(fig, f"08_toy_performance_vs_d{SUFFIX}")
plt.show()

# %% [markdown]
# ## 2 · Digits MLPs: d_int90 across widths, shuffled labels, both threshold rules (H-2)
#
# The adapter lab's MLP 64-h-10 (ReLU, softmax cross-entropy, biases), trained from
# PyTorch's initialization on scikit-learn's digits (1347 train / 450 test, fixed split).
# Subspace training uses the Fastfood projection (`subspace_adapter`) through
# `adapters.finetune` (Adam, step 0.05, full batch); the reference is direct training of
# all D parameters from the same θ₀ (Adam, step 0.01), one per seed. Both rules: the
# **relative** rule (seed mean ≥ 0.9 × direct accuracy; the reference of each seed is
# resampled with it) and the **absolute** rule (seed mean ≥ 90 % accuracy, the rule of Li
# et al.'s headline numbers). Shuffled labels: performance is *training* accuracy
# (memorization), as in Li et al.

# %%
def digits_sweep(hidden, dims, *, shuffle=False, method="did", projection="fastfood", name="digits"):
    cfg = {"hidden": hidden, "steps": DIGIT_STEPS, "shuffle_labels": shuffle}
    return intrinsic_dimension(
        T.digits_subspace_trial, dims, seeds=DIGIT_SEEDS,
        config={**cfg, "method": method, "projection": projection, "lr": SUB_LR},
        thresholds=("relative", "absolute"), reference_trial=T.digits_direct_trial,
        reference_config={**cfg, "lr": DIRECT_LR}, name=name, n_resamples=N_BOOT)


digit_runs = {}
for h in WIDTHS:
    digit_runs[("true", h)] = digits_sweep(h, DIGIT_DIMS, name=f"digits_h{h}")
digit_runs[("shuffled", SHUFFLED_WIDTH)] = digits_sweep(SHUFFLED_WIDTH, SHUFFLED_DIMS, shuffle=True,
                                                         name="digits_shuffled")


def dint_row(label, res):
    rel, ab = res["relative"], res["absolute"]
    ref = res.reference["accuracy"]
    return {"run": label, "D": int(res.table["D"].iloc[0]), "direct accuracy": round(float(ref.mean()), 3),
            "d_int90 relative": rel.d, "rel. CI": f"[{rel.low:g}, {rel.high:g}]", "rel. target": round(rel.target, 3),
            "d_int90 absolute": ab.d, "abs. CI": f"[{ab.low:g}, {ab.high:g}]",
            "wall time (s)": round(float(res.table["wall_time_s"].sum() + res.reference["wall_time_s"].sum()), 1)}


digit_summary = pd.DataFrame([dint_row(f"{lab} labels, h={h}", r) for (lab, h), r in digit_runs.items()])
display(digit_summary)

# %% [markdown]
# The bridge to adapters (H-6): first the trainable-parameter counts of NOLA, VeRA and
# RandLoRA on the same MLP (h = 128, every weight matrix adapted) at a few ranks, drawn as
# ticks on the d axis; they are trained below.

# %%
bridge_h = WIDTHS[1] if len(WIDTHS) > 1 else WIDTHS[0]
bridge_model = mlp(64, bridge_h, 10, loss="cross_entropy")
shapes = {k: bridge_model.shapes[k] for k in bridge_model.matrices}
budgets = []
for r in (1, 4, 16):
    budgets.append(("VeRA", r, sum(vera(r).num_params(s) for s in shapes.values())))
    budgets.append(("NOLA", r, sum(nola(r, 64, 64).num_params(s) for s in shapes.values())))
    budgets.append(("RandLoRA", r, sum(randlora(r).num_params(s) for s in shapes.values())))
budget_table = pd.DataFrame(budgets, columns=["adapter", "rank", "trainable parameters"])
display(budget_table.pivot(index="rank", columns="adapter", values="trainable parameters"))

fig, axes = plt.subplots(1, 2, figsize=(11, 4.0), sharey=True)
ax = axes[0]
for (lab, h), color in zip([k for k in digit_runs if k[0] == "true"], PALETTE):
    res = digit_runs[(lab, h)]
    c = res["relative"].curve
    ax.plot(c["d"], c["mean"], "o-", color=color, label=f"h={h} (D={int(res.table['D'].iloc[0])})")
    ax.fill_between(c["d"], c["low"], c["high"], color=color, alpha=0.2)
    ax.axhline(0.9 * res.reference["accuracy"].mean(), color=color, ls=":", lw=1)
ax.axhline(0.9, color="k", ls="--", lw=1, label="absolute 90 %")
for (name, r, n), marker in zip(budgets, ["|", "x", "+"] * 3):
    ax.plot([n], [0.02], marker=marker, color="k", ms=8)
ax.annotate("VeRA | NOLA x RandLoRA + budgets (h=%d), r = 1, 4, 16" % bridge_h, (0.02, 0.06),
            xycoords="axes fraction", fontsize=7)
ax.set_xscale("log")
ax.set_xlabel("subspace dimension d (trainable parameters)")
ax.set_ylabel("test accuracy")
ax.set_title("digits MLP, Fastfood subspace (dotted: 0.9 × direct)")
ax.legend(fontsize=8)
ax = axes[1]
res = digit_runs[("shuffled", SHUFFLED_WIDTH)]
c = res["relative"].curve
ax.plot(c["d"], c["mean"], "o-", color=PALETTE[3], label=f"shuffled labels, h={SHUFFLED_WIDTH}")
ax.fill_between(c["d"], c["low"], c["high"], color=PALETTE[3], alpha=0.2)
ax.axhline(0.9 * res.reference["accuracy"].mean(), color=PALETTE[3], ls=":", lw=1, label="0.9 × direct")
ax.axhline(0.9, color="k", ls="--", lw=1, label="absolute 90 %")
ax.set_xscale("log")
ax.set_xlabel("subspace dimension d")
ax.set_ylabel("training accuracy")
ax.set_title("shuffled labels (memorization)")
ax.legend(fontsize=8)
savefig(fig, f"08_digits_performance_vs_d{SUFFIX}")
plt.show()

# %% [markdown]
# The bridge trained (H-6): VeRA, NOLA and RandLoRA on both weight matrices of the same MLP
# (h = 128 at full size; biases frozen; from the same θ₀ per seed), Adam for the same
# steps; the step size per configuration is picked on seed 0 by the final *training* loss
# among {⅓, 1, 3} × notebook 06's centre (VeRA and NOLA 0.1, RandLoRA 0.01). Performance
# against the trainable-parameter count, next to the DID subspace curve.

# %%
bridge_rows = []
for method, sizes in BRIDGE.items():
    for size in sizes:
        best = None
        for f in BRIDGE_LR_FACTORS:
            lr = T.BRIDGE_ADAPTERS[method] * f
            row = T.digits_adapter_trial(DIGIT_SEEDS[0], method=method, size=size, hidden=bridge_h, steps=DIGIT_STEPS, lr=lr)
            if best is None or row["loss"] < best[1]["loss"]:
                best = (lr, row)
        lr = best[0]
        for seed in DIGIT_SEEDS:
            row = best[1] if seed == DIGIT_SEEDS[0] else T.digits_adapter_trial(
                seed, method=method, size=size, hidden=bridge_h, steps=DIGIT_STEPS, lr=lr)
            bridge_rows.append({"method": method, "size": size, "lr": lr, "seed": seed,
                                "num_params": row["num_params"], "accuracy": row["accuracy"]})
bridge = pd.DataFrame(bridge_rows)
bridge_summary = bridge.groupby(["method", "size"]).agg(num_params=("num_params", "first"), lr=("lr", "first"),
                                                         accuracy=("accuracy", "mean")).reset_index()
display(bridge_summary.round(3))

did_bridge = digit_runs[("true", bridge_h)]
fig, ax = plt.subplots(figsize=(6.4, 4.0))
c = did_bridge["relative"].curve
ax.plot(c["d"], c["mean"], "o-", color="k", label=f"DID subspace (all D = {int(did_bridge.table['D'].iloc[0])})")
ax.fill_between(c["d"], c["low"], c["high"], color="k", alpha=0.15)
for (method, sub), color in zip(bridge_summary.groupby("method"), PALETTE):
    ax.plot(sub["num_params"], sub["accuracy"], "s--", color=color, label=method)
ax.axvline(did_bridge["relative"].d, color="grey", ls=":", label=f"DID d_int90 = {did_bridge['relative'].d:g}")
ax.axhline(did_bridge["relative"].target, color="grey", ls="--", lw=1, label="0.9 × direct")
ax.set_xscale("log")
ax.set_xlabel("trainable parameters (d for DID)")
ax.set_ylabel("test accuracy")
ax.set_title(f"digits MLP h={bridge_h}: random-basis adapters on the d axis")
ax.legend(fontsize=7)
savefig(fig, f"08_adapter_bridge{SUFFIX}")
plt.show()

# %% [markdown]
# ## 3 · DID against SAID at equal budget, and pre-training (H-3)
#
# SAID's budget d counts its m = 4 per-tensor scales (W1, b1, W2, b2), so z has d − 4
# entries; DID's z has d. Same θ₀, data and step size at a seed. First on digits.

# %%
said_run = digits_sweep(SAID_WIDTH, DIGIT_DIMS, method="said", name="digits_said")
did_run = digit_runs.get(("true", SAID_WIDTH)) or digits_sweep(SAID_WIDTH, DIGIT_DIMS, name="digits_did")
said_summary = pd.DataFrame([dint_row(f"DID, h={SAID_WIDTH}", did_run), dint_row(f"SAID, h={SAID_WIDTH}", said_run)])
display(said_summary)
paired = did_run.table.merge(said_run.table, on=["d", "seed"], suffixes=("_did", "_said"))
said_gain = analysis.bootstrap_ci((paired["accuracy_said"] - paired["accuracy_did"]).to_numpy(), n_resamples=N_BOOT)
print(f"SAID - DID test accuracy over all (d, seed): {said_gain[0]:+.4f} [{said_gain[1]:+.4f}, {said_gain[2]:+.4f}]")

# %% [markdown]
# Then pre-training (**reconstruction**: the papers have no such toy). A family of
# regression tasks y = A_t tanh(B x), x ∈ ℝ¹⁶, sharing the latent map B (4 × 16) with a
# task readout A_t (4 × 4). A tanh MLP 16-w-32 is pre-trained on 8 tasks at once (one head
# per task, full-batch Adam 0.01) for T steps; the held-out 9th task keeps the trunk and
# gets a fresh head, and all its parameters (D = 1348 for w = 64, 5380 for w = 256) are
# trained in a random Fastfood subspace (DID) or with SAID (Adam 0.05, 300 steps).
# Performance: fraction of loss improvement against direct fine-tuning from the same start
# (L_full). T ∈ {0, 10², 10³}: the study design's 10⁴ is left out for time (a 2-seed pilot at
# 10⁴ gave the same d90 as 10³ for w = 64 and DID at w = 256). The verdict thresholds
# below were set after that 2-seed pilot, before this run.

# %%
pre_rows, pre_runs = [], {}
for width in PRE_WIDTHS:
    for T_pre in PRE_STEPS:
        for method in ("did", "said"):
            cfg = {"width": width, "pretrain_steps": T_pre, "steps": PRE_FT_STEPS}
            res = intrinsic_dimension(T.pretrained_family_trial, PRE_DIMS, seeds=PRE_SEEDS,
                                      config={**cfg, "method": method}, thresholds="loss_improvement",
                                      initial="initial_loss", reference_trial=T.pretrained_family_direct_trial,
                                      reference_config=cfg, name=f"pre_{width}_{T_pre}_{method}",
                                      n_resamples=N_BOOT)
            pre_runs[(width, T_pre, method)] = res
            e = res["loss_improvement"]
            pre_rows.append({"width": width, "pre-training steps": T_pre, "method": method.upper(),
                             "D": int(res.table["D"].iloc[0]), "d90": e.d, "CI": f"[{e.low:g}, {e.high:g}]"})
pre_table = pd.DataFrame(pre_rows)
display(pre_table.pivot(index=["width", "pre-training steps"], columns="method", values=["d90", "CI"]))

fig, axes = plt.subplots(1, len(PRE_WIDTHS), figsize=(5.2 * len(PRE_WIDTHS), 3.8), sharey=True)
for ax, width in zip(np.atleast_1d(axes), PRE_WIDTHS):
    for T_pre, color in zip(PRE_STEPS, PALETTE):
        for method, ls in (("did", "-"), ("said", "--")):
            c = pre_runs[(width, T_pre, method)]["loss_improvement"].curve
            ax.plot(c["d"], c["mean"], ls, marker="o", ms=3, color=color, label=f"T={T_pre}, {method.upper()}")
    ax.axhline(0.9, color="k", lw=1, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel("budget d")
    ax.set_title(f"held-out task, width {width}")
np.atleast_1d(axes)[0].set_ylabel("fraction of loss improvement")
np.atleast_1d(axes)[0].legend(fontsize=7)
savefig(fig, f"08_pretraining_did_said{SUFFIX}")
plt.show()

# %% [markdown]
# ## 4 · Dense, sparse and Fastfood: agreement and cost
#
# Agreement: the toy's d_int90 per kind (section 1) and the digits accuracy at a few d for
# each kind (h = 32, same seeds). Cost: time and memory of one projected step (Pᵀg, then
# θ₀ + P z) at d = 256 as D grows (the full benchmark to D = 2²⁰ is
# `benchmarks/bench_intrinsic.py`).

# %%
agree_h = WIDTHS[0]
agree = {}
for kind in KINDS:
    res = intrinsic_dimension(T.digits_subspace_trial, AGREE_DIMS, seeds=DIGIT_SEEDS,
                              config={"hidden": agree_h, "steps": DIGIT_STEPS, "projection": kind, "lr": SUB_LR},
                              thresholds="absolute", name=f"agree_{kind}", n_resamples=N_BOOT)
    agree[kind] = res.table.groupby("d")["accuracy"].mean()
agree_table = pd.DataFrame(agree).round(3)
agree_table.index.name = f"d (h={agree_h}): seed-mean test accuracy"
display(agree_table)
agree_spread = float((agree_table.max(axis=1) - agree_table.min(axis=1)).max())

cost = []
gen = np.random.default_rng(0)
for D in COST_DS:
    for kind in KINDS:
        if kind == "dense" and D > 2**14:
            cost.append({"D": D, "kind": kind, "step (ms)": np.nan, "memory (MB)": D * 256 * 8 / 1e6})
            continue
        P = make_projection(kind, D, 256, rng=1)
        g, z = gen.standard_normal(D), gen.standard_normal(256)
        reps = 5
        t = time.perf_counter()
        for _ in range(reps):
            P.adjoint(g)
            P.apply(z)
        cost.append({"D": D, "kind": kind, "step (ms)": 1e3 * (time.perf_counter() - t) / reps,
                     "memory (MB)": P.nbytes / 1e6})
cost_table = pd.DataFrame(cost).pivot(index="D", columns="kind")
display(cost_table.round(3))

# %% [markdown]
# ## 5 · Intrinsic dimension of point clouds (H-5)
#
# TwoNN (F_emp = i/N, largest 10 % of μ discarded), MLE (k = 20, harmonic mean), the
# participation ratio and local PCA (k = 100, Fukunaga–Olsen 5 % rule) on hyperballs and
# hyperspheres Sᵈ of dimension d ∈ {2, 5, 10}, randomly rotated into ℝ⁵⁰, with isotropic
# noise σ and N points. The participation ratio and local PCA run up to N = 2000 only.

# %%
est_rows = []
for name in ("hyperball", "hypersphere"):
    for d in EST_DIMS:
        for sigma in EST_NOISE:
            for N in EST_N:
                pts = manifolds.sample_manifold(name, N, d, ambient_dim=50, noise=sigma, rng=7).points
                row = {"manifold": name, "d": d, "noise": sigma, "N": N,
                       "TwoNN": twonn(pts).dimension, "MLE": mle(pts).dimension}
                if N <= EST_N_SLOW:
                    row["PR"] = participation_ratio(pts).dimension
                    row["local PCA"] = local_pca(pts, k=min(100, N - 1)).dimension
                est_rows.append(row)
est = pd.DataFrame(est_rows)
display(est.round(2))

fig, axes = plt.subplots(1, len(EST_NOISE), figsize=(4 * len(EST_NOISE), 3.6), sharey=True)
for ax, sigma in zip(np.atleast_1d(axes), EST_NOISE):
    sub = est[(est["manifold"] == "hypersphere") & (est["noise"] == sigma)]
    for (method, color) in zip(("TwoNN", "MLE"), PALETTE):
        for d, ls in zip(EST_DIMS, ("-", "--", ":")):
            s = sub[sub["d"] == d]
            ax.plot(s["N"], s[method] / d, ls, marker="o", color=color, ms=3,
                    label=f"{method}, d={d}" if sigma == EST_NOISE[0] else None)
    ax.axhline(1.0, color="k", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("N")
    ax.set_title(f"hypersphere in R^50, noise {sigma}")
np.atleast_1d(axes)[0].set_ylabel("estimate / true d")
np.atleast_1d(axes)[0].legend(fontsize=7)
savefig(fig, f"08_estimators_manifolds{SUFFIX}")
plt.show()

# %% [markdown]
# Per layer on the digits MLP (h = 128 at full size), trained directly: the estimators on
# the inputs, the hidden ReLU representation and the logits of all 1797 images. Exact
# duplicate rows (identical images or dead units' identical codes) are dropped with a
# warning (`duplicates="drop"`).

# %%
data = digits()
layer_h = WIDTHS[1] if len(WIDTHS) > 1 else WIDTHS[0]
layer_model = mlp(64, layer_h, 10, activation="relu", loss="cross_entropy")
layer_task = classification_task(layer_model, data, rng=0)
trained = finetune(layer_model, layer_task, per_layer({k: full() for k in layer_model.shapes}), adam(DIRECT_LR),
                   steps=DIGIT_STEPS, rng=1, diagnostics="none").weights
X_all = np.concatenate([data.X_train, data.X_test])
Hid = np.maximum(X_all @ trained["W1"].T + trained["b1"], 0.0)
Logits = Hid @ trained["W2"].T + trained["b2"]
layer_rows = []
for lname, Z in (("input (64)", X_all), (f"hidden ReLU ({layer_h})", Hid), ("logits (10)", Logits)):
    layer_rows.append({"layer": lname, "TwoNN": twonn(Z, duplicates="drop").dimension,
                       "MLE": mle(Z, duplicates="drop").dimension, "PR": participation_ratio(Z).dimension,
                       "local PCA": local_pca(Z, k=100, duplicates="drop").dimension})
layer_table = pd.DataFrame(layer_rows).round(2)
display(layer_table)


# %% [markdown]
# ## 6 · Random-subspace training of factorized matrix sensing (H-4, an open test)
#
# y_i = ⟨A_i, M*⟩ with Gaussian A_i (m measurements, enough to determine M*), M* of rank
# r = 2 in ℝ^{n×n}, and the factorized loss ½‖𝒜(F Gᵀ) − y‖² with F, G ∈ ℝ^{n×k}: D = 2nk
# parameters θ = [vec F; vec G], θ₀ with N(0, 0.3²) entries. Adam in a random dense subspace
# (the problem is a flat-vector object written here, since labs do not import each other).
# Performance: fraction of loss improvement (L_full = 0). d_int90, and a near-exact
# recovery level d_int99.9 (seed-mean relative loss ≤ 10⁻³). **Why not 10⁻⁶:** in a pilot
# (seed 0) even the full space (d = D) did not reach 10⁻⁶ in 8000 steps of Adam (3 × 10⁻⁴
# for k = 2) or of gradient descent (10⁻³), the slow local convergence of factorized
# sensing (study A); 10⁻³ separates the d that recover from the d that plateau (pilot: k = 2
# plateaus at 5 × 10⁻³ at d = 70 and reaches 3 × 10⁻⁴ at d = 76). Adam, step 0.05,
# 5000 steps. Two predictions (both reconstructions): *flat* (Li
# et al.'s "varies little across model sizes": the k = r value for every k) and the
# *dimension count* 2ns − s² with s = (k + r)/2 (the codimension of the largest solution
# component: 76, 111, 175 for k = 2, 4, 8 at n = 20).

# %%
class FactorizedSensing:
    """½‖A vec(F Gᵀ) − y‖² over θ = [vec F; vec G] (NumPy, float64)."""

    def __init__(self, n, r, k, m, seed):
        gen = np.random.default_rng(seed)
        U = np.linalg.qr(gen.standard_normal((n, r)))[0]
        V = np.linalg.qr(gen.standard_normal((n, r)))[0]
        self.M = U @ np.diag(np.linspace(1.0, 0.5, r)) @ V.T
        self.A = gen.standard_normal((m, n * n)) / np.sqrt(m)
        self.y = self.A @ self.M.ravel()
        self.n, self.k = n, k
        self.theta0 = 0.3 * gen.standard_normal(2 * n * k)
        self.minimum_loss = 0.0

    def _fg(self, theta):
        nk = self.n * self.k
        return theta[:nk].reshape(self.n, self.k), theta[nk:].reshape(self.n, self.k)

    def loss(self, theta):
        F, G = self._fg(theta)
        res = self.A @ (F @ G.T).ravel() - self.y
        return 0.5 * float(res @ res)

    def gradient(self, theta):
        F, G = self._fg(theta)
        R = (self.A.T @ (self.A @ (F @ G.T).ravel() - self.y)).reshape(self.n, self.n)
        return np.concatenate([(R @ G).ravel(), (R.T @ F).ravel()])


def count_prediction(n, r, k):
    s = (k + r) / 2
    return 2 * n * s - s * s


sens_rows = []
for k in SENS_KS:
    D = 2 * SENS["n"] * k
    base = count_prediction(SENS["n"], SENS["r"], k)
    dims = sorted({int(round(f * base)) for f in (0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5)} | {D})
    dims = [d for d in dims if 1 <= d <= D]
    for seed in SENS_SEEDS:
        prob = FactorizedSensing(SENS["n"], SENS["r"], k, SENS["m"], seed)
        for d in dims:
            P = make_projection("dense", D, d, rng=1000 + seed)
            out = train_subspace(prob, P, lr=0.05, max_iter=SENS_ITERS, tol=1e-9, stall_patience=100)
            L0, Ld = out.history["loss"].iloc[0], out.final("loss")
            sens_rows.append({"k": k, "D": D, "d": d, "seed": seed, "initial_loss": L0, "loss": Ld})
sens = pd.DataFrame(sens_rows)
sens_summary = []
for k in SENS_KS:
    tab = sens[sens["k"] == k]
    e90 = d_int(tab, threshold="loss_improvement", initial="initial_loss", full=0.0, n_resamples=N_BOOT)
    e100 = d_int(tab, threshold="loss_improvement", level=SENS_EXACT, initial="initial_loss", full=0.0,
                 n_resamples=N_BOOT)
    sens_summary.append({"k": k, "D": 2 * SENS["n"] * k, "count prediction": count_prediction(SENS["n"], SENS["r"], k),
                         "d_int90": e90.d, "90 CI": f"[{e90.low:g}, {e90.high:g}]",
                         "d_int99.9": e100.d, "99.9 CI": f"[{e100.low:g}, {e100.high:g}]"})
sens_summary = pd.DataFrame(sens_summary)
display(sens_summary)

fig, ax = plt.subplots(figsize=(5.6, 4.0))
ks = np.array(SENS_KS)
ax.plot(ks, [count_prediction(SENS["n"], SENS["r"], k) for k in ks], "k-", label="dimension count 2ns − s²")
ax.plot(ks, [count_prediction(SENS["n"], SENS["r"], SENS["r"])] * len(ks), "k--", label="flat (value at k = r)")
ax.plot(ks, sens_summary["d_int99.9"], "o", color=PALETTE[0], ms=8, label="measured d_int99.9 (rel. loss ≤ 1e-3)")
ax.plot(ks, sens_summary["d_int90"], "s", color=PALETTE[1], ms=7, label="measured d_int90")
ax.set_xlabel("factor width k")
ax.set_ylabel("d_int")
ax.set_title(f"random-subspace Adam on factorized sensing (n={SENS['n']}, r={SENS['r']})")
ax.legend(fontsize=8)
savefig(fig, f"08_sensing_dint_vs_k{SUFFIX}")
plt.show()

# %% [markdown]
# ## 7 · Verdicts
#
# Each row: the claim, the statistic with its 95 % bootstrap interval over seeds, the
# threshold fixed in the parameters cell, and the verdict computed from these numbers.

# %%
rows = []


def add(claim, statistic, value, threshold, ok, note=""):
    rows.append({"claim (study H4)": claim, "statistic": statistic, "estimate [95% CI]": value,
                 "threshold (pre-set)": threshold, "verdict": analysis.verdict(ok), "note": note})


toy_ok = all(abs(toy[k]["loss_improvement"].d - 10) <= TOY_WINDOW and abs(toy100[k].d - 10) <= TOY_WINDOW
             for k in KINDS)
add("toy: loss ≈ 0 exactly at d = 10 for every projection", "d_int90 / d_int100 (99.9 %) per kind",
    "; ".join(f"{k}: {toy[k]['loss_improvement'].d:g} [{toy[k]['loss_improvement'].low:g}, "
              f"{toy[k]['loss_improvement'].high:g}] / {toy100[k].d:g} [{toy100[k].low:g}, {toy100[k].high:g}]"
              for k in KINDS),
    f"both within ±{TOY_WINDOW} of 10", toy_ok,
    f"d_int100 alone within ±{TOY_WINDOW} for every kind: {all(abs(toy100[k].d - 10) <= TOY_WINDOW for k in KINDS)}; "
    "below d = 10 the mean improvement is about d/10, so the 90 % level sits between 9 and 10 by construction")
true_runs = {h: digit_runs[("true", h)] for h in WIDTHS}
for rule in ("relative", "absolute"):
    vals = np.array([true_runs[h][rule].d for h in WIDTHS])
    ratio = float(np.max(vals) / np.min(vals)) if np.all(np.isfinite(vals)) else np.inf
    add(f"digits d_int90 roughly flat across widths ({rule} rule)", "max/min of d_int90 over h = " + ", ".join(map(str, WIDTHS)),
        f"{ratio:.2f} (" + ", ".join(f"h={h}: {true_runs[h][rule].d:g} [{true_runs[h][rule].low:g}, {true_runs[h][rule].high:g}]"
                                      for h in WIDTHS) + ")",
        f"≤ {FLAT_RATIO}", ratio <= FLAT_RATIO, f"D spans {true_runs[WIDTHS[-1]].table['D'].iloc[0] / true_runs[WIDTHS[0]].table['D'].iloc[0]:.0f}x")
    sh = digit_runs[("shuffled", SHUFFLED_WIDTH)][rule]
    base = digit_runs[("true", SHUFFLED_WIDTH)][rule] if ("true", SHUFFLED_WIDTH) in digit_runs else true_runs[WIDTHS[0]][rule]
    inflation = sh.d / base.d if np.isfinite(base.d) else np.nan
    add(f"shuffled labels inflate d_int90 sharply ({rule} rule)", f"shuffled / true d_int90 at h = {SHUFFLED_WIDTH}",
        f"{inflation:.1f} (shuffled {sh.d:g} [{sh.low:g}, {sh.high:g}], true {base.d:g} [{base.low:g}, {base.high:g}])",
        f"≥ {SHUFFLE_RATIO}", bool(inflation >= SHUFFLE_RATIO),
        "inf: not reached on the grid" if not np.isfinite(sh.d) else "")
s_rel, d_rel = said_run["relative"], did_run["relative"]
add("SAID ≤ DID (d_int90 at equal budget, digits)", f"d_int90 relative, h = {SAID_WIDTH}",
    f"SAID {s_rel.d:g} [{s_rel.low:g}, {s_rel.high:g}], DID {d_rel.d:g} [{d_rel.low:g}, {d_rel.high:g}]; "
    f"paired accuracy gain {said_gain[0]:+.3f} [{said_gain[1]:+.3f}, {said_gain[2]:+.3f}]",
    "SAID d_int90 ≤ DID d_int90", s_rel.d <= d_rel.d, "digits, from scratch (no pre-training)")
d90 = {k: v["loss_improvement"].d for k, v in pre_runs.items()}
falls = [d90[(w, PRE_STEPS[-1], m)] < d90[(w, 0, m)] for w in PRE_WIDTHS for m in ("did", "said")]
add("d90 falls with pre-training steps", f"d90 at T = {PRE_STEPS[-1]} vs T = 0, per width and method",
    "; ".join(f"w={w} {m.upper()}: {d90[(w, 0, m)]:g} -> {d90[(w, PRE_STEPS[-1], m)]:g}" for w in PRE_WIDTHS
              for m in ("did", "said")), "lower in all 4 cells", all(falls), "teacher family (reconstruction)")
wider = [d90[(PRE_WIDTHS[-1], t, m)] <= d90[(PRE_WIDTHS[0], t, m)] for t in PRE_STEPS for m in ("did", "said")]
add("d90 no higher for wider models", f"d90(w={PRE_WIDTHS[-1]}) <= d90(w={PRE_WIDTHS[0]}) per T and method",
    f"{sum(wider)} of {len(wider)} cells", "all cells", all(wider))
said_cells = [d90[(w, t, "said")] <= d90[(w, t, "did")] for w in PRE_WIDTHS for t in PRE_STEPS]
add("SAID ≤ DID (pre-training family)", "d90(SAID) <= d90(DID) per width and T", f"{sum(said_cells)} of {len(said_cells)} cells",
    "all cells", all(said_cells))
sens_note = "; ".join(f"k={r.k}: d_int99.9 {r['d_int99.9']:g} {r['99.9 CI']} vs count {r['count prediction']:.0f}"
                      for _, r in sens_summary.iterrows())
flat_dev = float(np.nanmax(np.abs(sens_summary["d_int99.9"] - count_prediction(SENS["n"], SENS["r"], SENS["r"]))))
count_dev = float(np.nanmax(np.abs(sens_summary["d_int99.9"] - sens_summary["count prediction"])))
rows.append({"claim (study H4)": "sensing panel reported against both predictions (open)", "statistic":
             "max |d_int99.9 − prediction| over k", "estimate [95% CI]": f"flat {flat_dev:.0f}, count {count_dev:.0f}",
             "threshold (pre-set)": "no fixed expectation", "verdict": "closer: " + ("count" if count_dev < flat_dev else "flat"),
             "note": sens_note})
clean = est[(est["noise"] == 0.0) & (est["N"] >= min(2000, max(EST_N))) & (est["d"] <= 5)]
rel_err = np.concatenate([np.abs(clean["TwoNN"] / clean["d"] - 1), np.abs(clean["MLE"] / clean["d"] - 1)])
add("TwoNN and MLE recover the true d on clean manifolds", "max relative error, d ≤ 5, N ≥ 2000, noise 0",
    f"{rel_err.max():.3f} over {rel_err.size} estimates", f"≤ {EST_TOL}", bool(rel_err.max() <= EST_TOL),
    "d = 10 is underestimated at small N (study design's pitfall), see the table")
verdicts = pd.DataFrame(rows)
with pd.option_context("display.max_colwidth", None):
    display(verdicts)

sh_res = digit_runs[("shuffled", SHUFFLED_WIDTH)]
sh_curve = sh_res["relative"].curve
display(Markdown(
    f"**Reading.** Toy: d_int100 (99.9 % of the improvement) is "
    + ", ".join(f"{k} {toy100[k].d:g}" for k in KINDS)
    + f"; d_int90 is " + ", ".join(f"{k} {toy[k]['loss_improvement'].d:g}" for k in KINDS)
    + " — the 90 % level is crossed just below 10 by construction, so the toy's sharp claim is about d_int100. "
    f"Digits: d_int90 = " + ", ".join(f"{true_runs[h]['relative'].d:g}" for h in WIDTHS)
    + f" (relative rule) for h = {', '.join(map(str, WIDTHS))} while D grows "
    f"{true_runs[WIDTHS[-1]].table['D'].iloc[0] / true_runs[WIDTHS[0]].table['D'].iloc[0]:.0f}-fold; with shuffled labels "
    f"direct training memorizes {sh_res.reference['accuracy'].mean():.2f} of the training set in {DIGIT_STEPS} steps "
    f"and the subspace reaches only {sh_curve['mean'].iloc[-1]:.2f} at d = {int(sh_curve['d'].iloc[-1])}, so "
    f"d_int90 > {int(sh_curve['d'].iloc[-1])}. Sensing: d_int99.9 = "
    + ", ".join(f"{r['d_int99.9']:g} (count {r['count prediction']:.0f})" for _, r in sens_summary.iterrows())
    + " for k = " + ", ".join(map(str, SENS_KS)) + ": it grows with k as the dimension count says, not flat. "
    f"Point clouds: clean estimates within {rel_err.max():.1%} for d ≤ 5; noise σ = 0.1 in ℝ⁵⁰ inflates every "
    f"estimator (TwoNN up to {est['TwoNN'].max():.0f})."))
print(f"total wall time {time.perf_counter() - T0:.0f} s")

# %% [markdown]
# ## What is not done, and reading the numbers
#
# * **Not done:** T = 10⁴ pre-training steps in H-3 (only in a 2-seed pilot, see
#   `docs/intrinsic.md`). The adapter bridge (H-6) trains VeRA, NOLA and RandLoRA on the
#   digits MLP from scratch (random θ₀), not the F-2 curves of notebook 06's pretrained
#   model; their step sizes are chosen on a 3-point grid only.
# * **Reductions:** one hidden layer instead of two, 200 full-batch Adam steps, 3 seeds and a
#   5-point log grid of d for digits (the study design asks 5 seeds and d up to 1600); the grid is a
#   factor ≈ 3 apart, so d_int90 is known to that resolution only and the bootstrap interval
#   cannot be narrower than a grid step. With 3 seeds, CIs are coarse.
# * The numbers of the discussion are the tables above (`toy_summary`, `digit_summary`,
#   `said_summary`, `agree_table`, `cost_table`, `est`, `layer_table`, `sens_summary`, `verdicts`).
