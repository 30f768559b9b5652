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
# # 05 · LoRA vs full fine-tuning: intruder dimensions in an exact linear laboratory
#
# **Question.** When LoRA and full fine-tuning reach the same training loss, do they reach
# the same kind of solution? Shuttleworth, Andreas, Torralba and Sharma ("LoRA vs Full
# Fine-tuning: An Illusion of Equivalence", arXiv 2410.21228) say no, and name the
# difference: *intruder dimensions*. Here every ingredient is exact — a linear layer with
# analytic gradients, a "pretrained" W₀ with a chosen spectrum, a target update of chosen
# rank and size — so we can ask which of their claims a linear model already shows, and
# why.
#
# **Claims tested** (quoted from the papers; criteria from the study design, study E4):
# * Shuttleworth et al.: "the weight matrices trained with LoRA have new, high-ranking
#   singular vectors, which we call intruder dimensions. Intruder dimensions do not appear
#   during full fine-tuning" — *full FT has about 0 intruders at ε = 0.5, low-rank LoRA more*.
# * "Higher-rank, rank-stabilized LoRA models closely mirror full fine-tuning" — *with tuned
#   learning rates, counts fall with r under rank-stabilized scaling* (the mirroring itself
#   is an open trend: the study design's pilot did not reproduce it).
# * LoRA models with intruders "become worse models of the pre-training distribution and
#   adapt less robustly to multiple tasks sequentially" — *forgetting correlates positively
#   with the intruder count; intruders accumulate over tasks*.
# * Their causal test: scaling the intruder singular values down "recovers pre-training
#   loss with little loss on the target" (study design's summary) — *lower forgetting at a small
#   target cost*.
# * Hu et al. ("LoRA: Low-Rank Adaptation of Large Language Models", arXiv 2106.09685, §7):
#   "the top singular vector overlap significantly between A_{r=8} and A_{r=64}" (why "r = 1
#   performs quite well"); seed-to-seed similarity far above random matrices; ΔW
#   "amplifies" directions of W that are not emphasized, more so at small r
#   (amplification 21.5 at r = 4 against 1.9 at r = 64 in their Table 7).
#
# **Setup.** `lowrank_lab.adapters` (see `docs/adapters.md`): an n × n linear layer,
# y = W x, squared loss, pretrained W₀ = U₀ diag(σ) V₀ᵀ with σ_i = 3 i⁻¹ and Haar singular
# vectors; a target ΔW* of rank 4 with a flat spectrum and Haar singular vectors; N = 24 <
# n = 64 isotropic fine-tuning inputs, labels from the teacher W₀ + ΔW*. Two update sizes:
# the study design's **large** update ‖ΔW*‖₂ = 0.4 σ₁(W₀), and a **small** one, 0.1 σ₁ = σ₁₀(W₀),
# closer to what fine-tuning does to a real network (an update that does not dwarf the
# pretrained spectrum; reconstruction, ours). Methods: full fine-tuning, LoRA with
# α/r (α = 8, PEFT's default), rsLoRA (α/√r) and α = 2r, r ∈ {1, …, 64}, and B-only
# LoRA (A frozen), all with PEFT's initialization (A Kaiming-uniform, B = 0), all trained
# by **full-batch gradient descent** until the training loss is 10⁻³ of its initial value
# (the *matched loss*), with the learning rate tuned per method and rank on a log grid.
# Intruders: among the top k = 10 left singular vectors of the merged W₀ + ΔW, those whose
# largest |cos| with every left singular vector of W₀ is below ε (the reference code's
# convention). Forgetting: E_{x∼pre}‖(W − W₀)x‖² = tr(ΔW Σ_pre ΔWᵀ) with Σ_pre = I.
# Every statistic is over 5 seeds (the same tasks for every method), with bootstrap 95 %
# CIs, and every verdict threshold is fixed in the parameters cell below.

# %% tags=["parameters"]
import os

SMOKE = os.environ.get("LOWRANK_SMOKE") == "1"
N_DIM = 16 if SMOKE else 64  # n = m: the linear layer is n x n
N_TRAIN = 8 if SMOKE else 24  # N < n fine-tuning samples
TASK_RANK = 2 if SMOKE else 4  # rank of the target update
NORMS = {"large": 0.4, "small": 0.1}  # ||dW*||_2 / sigma_1(W0): the study design's update, and one at sigma_10
RANKS = (1, 4, 16) if SMOKE else (1, 2, 4, 8, 16, 32, 64)
SCALINGS = ("lora", "rslora", "lora_2r")  # alpha / r, alpha / sqrt(r), alpha = 2r
B_ONLY_RANKS = (16,) if SMOKE else (32, 64)  # B-only needs r >= N to fit the data
# lr = 2^k x base_learning_rate(method, r); the small update needs larger rates (LoRA leaves B = 0 more slowly)
LR_EXPONENTS = {"large": (-2, 0, 2), "small": (-1, 1, 3)} if SMOKE else {"large": tuple(range(-4, 3)),
                                                                           "small": tuple(range(-2, 5))}
SEEDS = (0, 1) if SMOKE else (0, 1, 2, 3, 4)  # the same seeds tune the learning rate and give the statistics
MAX_STEPS = 150 if SMOKE else 1000
MATCHED_LOSS = 1e-3  # stop at this fraction of the initial training loss
EPS_CLAIM = 0.5  # the reference code's threshold (k = 10)
N_TASKS = 3 if SMOKE else 5
SEQ_CONFIGS = (("full", N_DIM), ("lora", 4), ("lora", 16), ("rslora", 16))
SEQ_LR_FACTOR = 0.5  # sequences run at half the tuned rate (later tasks start from a moved W)
LAMBDAS = (1.0, 0.75, 0.5, 0.25, 0.0)
LAMBDA_CLAIM = 0.75  # PEFT's default mitigation_lambda
REPLICA_N = 32 if SMOKE else 128
REPLICA_RANKS = (1, 4, 8, 16) if SMOKE else (1, 2, 4, 8, 16, 32, 64)
REPLICA_PAIR = (4, 16) if SMOKE else (8, 64)
REPLICA_STEPS = 100 if SMOKE else 800
TOY_POINTS = 5 if SMOKE else 12
TOY_SEEDS = 3 if SMOKE else 10
# verdict thresholds, fixed before the runs
FULL_ABOUT_ZERO = 0.5  # "about 0 intruders": mean count of full FT at eps = 0.5 at most this
SMALL_COST = 0.10  # "small target cost": at most 10 % of the training-loss reduction undone
PHI_TOP = 0.5  # "exceeds 0.5"
PHI_RANDOM_FACTOR = 5.0  # "well above the random control": at least 5x its expectation i/n
MIRROR_FORGETTING = 0.10  # "mirrors full FT": forgetting within 10 % and the same intruder count
SUFFIX = "_smoke" if SMOKE else ""

# %%
import logging

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import HTML, Markdown, display
from matplotlib.ticker import MaxNLocator

from lowrank_lab import analysis, backend, linalg, spectral
from lowrank_lab.adapters import DEFAULT_EPS
from lowrank_lab.adapters import trials as T
from lowrank_lab.experiments import run_sweep
from lowrank_lab.plotting import PALETTE, savefig, use_style

use_style()
logging.getLogger("fontTools").setLevel(logging.ERROR)  # font subsetting chatter of the PDF backend
pd.set_option("display.width", 160)
print(f"smoke: {SMOKE}; all runs use NumPy on the host (the matrices are {N_DIM} x {N_DIM})")
COMMON = dict(n=N_DIM, task_rank=TASK_RANK, n_train=N_TRAIN, max_steps=MAX_STEPS, matched_loss=MATCHED_LOSS)
CONFIGS = [("full", N_DIM)] + [(m, r) for m in SCALINGS for r in RANKS] + [("b_only", r) for r in B_ONLY_RANKS]
R_MAX = max(RANKS)
NAMES = {"full": "full FT", "lora": "LoRA α/r", "rslora": "rsLoRA α/√r", "lora_2r": "LoRA α = 2r",
         "b_only": "B-only LoRA"}
COLORS = {"full": PALETTE[7], "lora": PALETTE[0], "rslora": PALETTE[1], "lora_2r": PALETTE[2], "b_only": PALETTE[3]}
COND_TITLE = {c: rf"{c} update, $\|\Delta W^*\|_2 = {v:g}\,\sigma_1$" for c, v in NORMS.items()}


def label(method, rank):
    return NAMES[method] if method == "full" else f"{NAMES[method]}, r = {rank}"


def ci(values):
    est, low, high = analysis.bootstrap_ci(np.asarray(values, dtype=float))
    return est, low, high


def fmt_ci(est, low, high, digits=2):
    return f"{est:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


# %% [markdown]
# ## 1. Why the linear toy is informative: the update does not see W₀
#
# For the squared loss the gradient with respect to W is G = (W − W*)XᵀX/N-shaped:
# G = Rᵀ X / N with residual R = X(ΔW − ΔW*)ᵀ. It depends on W₀ only through ΔW*, so
# **every method learns the same ΔW whatever W₀ is** (for a ΔW* drawn independently of W₀);
# W₀ only enters the *measurement* of intruders. Two exact consequences follow, for
# gradient descent from ΔW = 0 (full) or B = 0 (LoRA):
#
# * every gradient's columns lie in span(ΔW*) + span(ΔW), so both methods keep
#   **the same 4-dimensional left singular subspace**, span(U*): LoRA cannot invent left
#   directions the target does not have;
# * full GD keeps ΔW in the **row span of the data**, ΔW(I − P_X) = 0, and converges to the
#   minimum-norm fit ΔW* P_X; LoRA keeps s·B A₀(I − P_X) — its random initial A in the
#   directions no sample constrains (study E2, reconstruction).
#
# So in this laboratory LoRA's update is full FT's update *plus* an unconstrained part
# with the same left vectors: larger singular values, more forgetting, and — if the left
# vectors then outrank W₀'s — intruders.
#
# ## 2. Tuning the learning rate per method and rank
#
# Each configuration runs at seven learning rates 2^k × `base_learning_rate(method, r)` (a
# scale-adjusted centre: LoRA's first step moves ΔW by lr·s²·G A₀ᵀA₀, so the base rate
# gives every configuration the first step of full fine-tuning) on all five seeds; the
# chosen rate reaches the matched loss in the fewest median steps among the rates at which
# **every** seed gets there (configurations that never get there — r < rank ΔW* — take the
# rate with the lowest final loss). The statistics below are the runs at the chosen rate.
# The optimum must be interior to the grid; the grid of the small update sits two steps
# higher (LoRA leaves B = 0 more slowly when the target is small).

# %%
def score(frame):
    diverged = frame["stop_reason"] == "diverged"
    return np.where(frame["converged"], frame["steps"],
                    np.where(diverged, np.inf, MAX_STEPS * (1.0 + frame["train_loss_ratio"])))


tuning, best, runs = {}, {}, {}
for cond, norm in NORMS.items():
    grid = [dict(method=m, rank=r, lr_multiplier=2.0**k, norm=norm, **COMMON) for m, r in CONFIGS
            for k in LR_EXPONENTS[cond]]
    frame = run_sweep(f"05_runs_{cond}{SUFFIX}", grid, T.finetune_trial, seeds=SEEDS)
    frame["score"] = score(frame)
    tuning[cond] = frame
    chosen = analysis.best_on_grid(frame, ["method", "rank"], "lr_multiplier", "score", valid="converged")
    chosen["lr_multiplier"] = chosen["lr_multiplier"].fillna(min(2.0**k for k in LR_EXPONENTS[cond]))
    best[cond] = chosen
    keep = chosen.set_index(["method", "rank"])["lr_multiplier"]
    picked = frame.set_index(["method", "rank"]).join(keep.rename("chosen"))
    runs[cond] = picked[picked.lr_multiplier == picked.chosen].reset_index().assign(condition=cond)

table = pd.concat([best[c].assign(condition=c) for c in NORMS])
table["k"] = np.log2(table["lr_multiplier"]).round().astype(int)
table["cell"] = table["k"].astype(str) + np.where(table["interior"], "", " (edge)") + np.where(
    table["qualified"], "", " ×")
print("log2 of the chosen learning-rate multiplier; (edge): optimum at the grid's end; ×: never reached the matched loss")
display(table.pivot_table(index=["condition", "method"], columns="rank", values="cell", aggfunc="first").fillna(""))
reached = table[table.qualified]
print(f"configurations reaching the matched loss: {len(reached)} of {len(table)}; "
      f"interior optimum among them: {int(reached.interior.sum())}")


def lr_of(cond, method, rank):
    row = best[cond].set_index(["method", "rank"]).loc[(method, rank)]
    return float(row.lr_multiplier) * T.base_learning_rate(method, rank, N_DIM)


# %%
fig, axes = plt.subplots(1, 2, figsize=(11.5, 3.6), sharey=True)
show = [("full", N_DIM), ("lora", 4), ("lora", R_MAX), ("rslora", 4), ("rslora", R_MAX), ("lora_2r", R_MAX)]
for ax, cond in zip(axes, NORMS):
    fr = tuning[cond]
    for i, (m, r) in enumerate(show):
        sub = fr[(fr.method == m) & (fr["rank"] == r)]
        med = sub.groupby("lr_multiplier")["score"].median().replace(np.inf, np.nan)
        ax.plot(med.index, med.clip(upper=MAX_STEPS).values, marker="o", ms=3.5, color=PALETTE[i % len(PALETTE)],
                ls="-" if m != "rslora" else "--", label=label(m, r))
        k = best[cond].set_index(["method", "rank"]).loc[(m, r), "lr_multiplier"]
        if k in med.index and np.isfinite(med.loc[k]):
            ax.plot([k], [min(med.loc[k], MAX_STEPS)], "*", ms=11, color=PALETTE[i % len(PALETTE)], mec="k", mew=0.5)
    ax.axhline(MAX_STEPS, color="0.5", ls=":", lw=1)
    ax.set(xscale="log", yscale="log", xlabel="learning-rate multiplier (× base rate)", title=COND_TITLE[cond])
    ax.set_xticks([2.0**k for k in LR_EXPONENTS[cond]], [f"$2^{{{k}}}$" for k in LR_EXPONENTS[cond]])
    ax.xaxis.set_minor_locator(plt.NullLocator())
axes[0].set_ylabel("steps to the matched loss (median)")
axes[1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
savefig(fig, "05_lr_tuning")
plt.show()

# %% [markdown]
# *Figure `05_lr_tuning`.* Median steps to the matched loss (10⁻³ of the initial loss)
# against the learning rate, relative to each configuration's base rate; runs that did not
# get there sit on the dotted line (the budget), diverged rates are missing; stars mark
# the chosen rates. Gradient descent is fastest just below its stability edge, so the
# optimum sits where the next rate on the grid diverges or oscillates.
#
# ## 3. Intruders at matched training loss (E-1 to E-4)
#
# ### E-1: where the top singular vectors of the fine-tuned matrix point

# %%
heat = {}
for cond, norm in NORMS.items():
    task = T.study_task(0, n=N_DIM, task_rank=TASK_RANK, norm=norm, n_train=N_TRAIN)
    U0 = backend.to_numpy(linalg.svd(task.W0["W"]).U)
    for m, r in (("full", N_DIM), ("lora", 4 if 4 in RANKS else RANKS[1])):
        res = T.run_method(task, m, r, lr_of(cond, m, r), backend.trial_streams(0, "task", "method").method,
                           matched_loss=MATCHED_LOSS, max_steps=MAX_STEPS)
        U = backend.to_numpy(linalg.svd(res.weights["W"]).U)
        heat[cond, m] = (np.abs(U.T @ U0)[:20, :20], res, np.abs(U.T @ U0).max(axis=1)[:10])

fig, axes = plt.subplots(2, 2, figsize=(9.2, 8.2))
for i, cond in enumerate(NORMS):
    for j, m in enumerate(("full", "lora")):
        C, res, smax = heat[cond, m]
        ax = axes[i, j]
        im = ax.imshow(C, cmap="magma", vmin=0, vmax=1, extent=[0.5, C.shape[1] + 0.5, C.shape[0] + 0.5, 0.5])
        ax.grid(False)
        for row, s in enumerate(smax, start=1):
            if s < EPS_CLAIM:
                ax.annotate("◀", (C.shape[1] + 0.6, row), color=PALETTE[1], fontsize=9, va="center",
                            annotation_clip=False)
        r = res.params["adapter_config"]["layers"]["W"].get("rank")
        name = "full fine-tuning" if m == "full" else f"LoRA α/r, r = {r}"
        ax.set(title=f"{name}\n{COND_TITLE[cond]}", xlabel=r"$j$ (singular vector of $W_0$)",
               ylabel=r"$i$ (singular vector of $W_0+\Delta W$)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
fig.colorbar(im, ax=axes, shrink=0.6, label=r"$|u_i^\top u^{(0)}_j|$")
savefig(fig, "05_cosine_heatmaps")
plt.show()

# %% [markdown]
# *Figure `05_cosine_heatmaps` (E-1).* |U_ftᵀU₀| for the top 20 × 20 singular vectors of
# the fine-tuned and the pretrained matrix, seed 0, at matched loss; ◀ marks an intruder
# among the top 10 (max |cos| < 0.5). A clean diagonal means the fine-tuned matrix keeps
# W₀'s singular directions in W₀'s order; a row with no bright entry is a new direction.

# %%
both = pd.concat(runs.values(), ignore_index=True)
both["label"] = [label(m, r) for m, r in zip(both.method, both["rank"])]
both["matched"] = both["converged"]
control_configs = [("full", N_DIM), ("lora", 4 if 4 in RANKS else RANKS[1]), ("lora", R_MAX), ("rslora", R_MAX),
                   ("b_only", max(B_ONLY_RANKS))]
control = {}
for cond, norm in NORMS.items():
    grid = [dict(method=m, rank=r, lr_multiplier=float(best[cond].set_index(["method", "rank"]).loc[(m, r),
                                                                                                      "lr_multiplier"]),
                 norm=norm, spectrum="iid", **COMMON) for m, r in control_configs]
    control[cond] = run_sweep(f"05_control_{cond}{SUFFIX}", grid, T.finetune_trial, seeds=SEEDS)


def long_eps(frame):
    cols = [f"intruders_eps{e:g}" for e in DEFAULT_EPS]
    out = frame.melt(id_vars=["method", "rank", "seed"], value_vars=cols, var_name="eps", value_name="count")
    out["eps"] = out["eps"].str.replace("intruders_eps", "").astype(float)
    return out


fig, axes = plt.subplots(2, 2, figsize=(10, 7.4), sharex=True, sharey=True)
for i, cond in enumerate(NORMS):
    for j, (kind, frame) in enumerate(((r"$\sigma_i = 3/i$", runs[cond]), ("i.i.d. (MP bulk)", control[cond]))):
        ax = axes[i, j]
        long = long_eps(frame)
        for m, r in control_configs:
            sub = long[(long.method == m) & (long["rank"] == r)]
            summ = analysis.seed_summary(sub, "eps", "count", center="mean", spread="ci")
            ax.plot(summ["eps"], summ["center"], marker="o", ms=3, color=COLORS[m],
                    ls="--" if r == R_MAX and m != "full" else "-", label=label(m, r))
            ax.fill_between(summ["eps"], summ["low"], summ["high"], color=COLORS[m], alpha=0.15, lw=0)
        ax.axvline(EPS_CLAIM, color="0.5", ls=":", lw=1)
        ax.set_title(f"$W_0$: {kind}\n{COND_TITLE[cond]}")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes[i, 0].set_ylabel("intruders among the top 10")
for ax in axes[-1]:
    ax.set_xlabel(r"threshold $\varepsilon$")
fig.tight_layout()
axes[0, 0].legend(fontsize=8)
savefig(fig, "05_intruders_vs_eps")
plt.show()

# %% [markdown]
# *Figure `05_intruders_vs_eps` (E-2).* Intruder count among the top k = 10 against the
# threshold ε, mean over seeds with bootstrap 95 % bands, at matched training loss. Left:
# the gapped power-law W₀; right: the i.i.d. control, whose Marchenko–Pastur bulk has no
# gaps (the study design's pitfall: near-degenerate singular vectors mix under any
# perturbation). In both columns the *same* updates ΔW are measured (section 1).

# %%
counts = {c: runs[c].assign(count=runs[c][f"intruders_eps{EPS_CLAIM:g}"]) for c in NORMS}
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
for ax, cond in zip(axes, NORMS):
    fr = counts[cond]
    full_rows = fr[fr.method == "full"]["count"]
    est, low, high = ci(full_rows)
    ax.axhspan(low, high, color=COLORS["full"], alpha=0.12, lw=0)
    ax.axhline(est, color=COLORS["full"], lw=1.2, label=NAMES["full"])
    for m in (*SCALINGS, "b_only"):
        sub = fr[fr.method == m]
        summ = analysis.seed_summary(sub, "rank", "count", center="mean", spread="ci")
        matched = sub.groupby("rank")["converged"].all().reindex(summ["rank"]).to_numpy()
        ax.plot(summ["rank"], summ["center"], "-", color=COLORS[m], lw=1.2, label=NAMES[m])
        ax.errorbar(summ["rank"], summ["center"], yerr=[summ["center"] - summ["low"], summ["high"] - summ["center"]],
                    fmt="none", ecolor=COLORS[m], elinewidth=0.8, capsize=2)
        ax.scatter(summ["rank"][matched], summ["center"][matched], color=COLORS[m], s=22, zorder=3)
        ax.scatter(summ["rank"][~matched], summ["center"][~matched], facecolor="white", edgecolor=COLORS[m], s=22,
                   zorder=3)
    ax.set(xscale="log", xlabel="adapter rank r", title=COND_TITLE[cond])
    ax.set_xticks(RANKS, [str(r) for r in RANKS])
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
axes[0].set_ylabel(rf"intruders at $\varepsilon$ = {EPS_CLAIM}, k = 10")
axes[0].legend(fontsize=8)
savefig(fig, "05_intruders_vs_rank")
plt.show()

# %% [markdown]
# *Figure `05_intruders_vs_rank` (E-3).* Intruder count at ε = 0.5 against the adapter
# rank for the three scalings (learning rate tuned per method and rank), mean and 95 %
# CI over seeds; full fine-tuning as the grey band. Hollow markers: configurations that
# cannot reach the matched loss (r below the rank of ΔW*, or B-only below r = N), shown at
# their final loss. At r = 4, α/r with α = 8 *is* α = 2r (both scale by 2).

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
corr = {}
for ax, cond in zip(axes, NORMS):
    fr = counts[cond][counts[cond].converged]
    rho = analysis.rank_correlation(fr["count"], fr["forgetting"])
    corr[cond] = rho
    jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(fr))
    for m in ("full", *SCALINGS, "b_only"):
        sel = (fr.method == m).to_numpy()
        ax.scatter(fr["count"].to_numpy()[sel] + jitter[sel], fr["forgetting"].to_numpy()[sel], s=14,
                   color=COLORS[m], alpha=0.75, label=NAMES[m])
    ax.set(xlabel=rf"intruders at $\varepsilon$ = {EPS_CLAIM}", ylabel=r"forgetting $\mathrm{tr}(\Delta W\,\Sigma_{pre}\,\Delta W^\top)$",
           title=f"{COND_TITLE[cond]}\nSpearman ρ = {fmt_ci(*rho)}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
axes[0].legend(fontsize=8)
savefig(fig, "05_forgetting_vs_intruders")
plt.show()

# %% [markdown]
# *Figure `05_forgetting_vs_intruders` (E-4).* Forgetting against the intruder count for
# every run that reached the matched loss (all methods, ranks and seeds; counts jittered
# horizontally), with Spearman's ρ and its bootstrap 95 % CI.

# %%
for cond in NORMS:
    fr = runs[cond]
    g = fr[fr.converged].groupby(["method", "rank"])
    summary = g.agg(intruders=(f"intruders_eps{EPS_CLAIM:g}", "mean"), forgetting=("forgetting", "mean"),
                    off_span=("off_span_fraction", "mean"), cosine_to_full_limit=("reference_cosine", "mean"),
                    spectral_norm=("delta_spectral_norm", "mean"), steps=("steps", "median"))
    print(f"\n{COND_TITLE[cond]} (means over seeds, matched runs only)")
    display(summary.round(3))

# %% [markdown]
# The table is the mechanism of section 1 in numbers: full FT leaves nothing outside the
# data's row span (`off_span` = ‖ΔW(I − P_X)‖_F/‖ΔW‖_F = 0) and equals the minimum-norm
# fit (cosine 1); every LoRA variant carries an unconstrained part, whose size orders the
# forgetting.
#
# ## 4. Intruders over a sequence of tasks (E-5)
#
# Five tasks in a row, each trained to the matched loss from the merged weights of the
# previous one (a fresh adapter per task). The teacher of task t is W₀ + E₁ + … + E_t with
# independent rank-4 updates E_s (`task_sequence(cumulative=True)`: new skills accumulate,
# old ones stay valid), fresh data for each task. Learning rates: half the tuned rate of
# the single task (later tasks start from moved weights; at the tuned rate some diverged).
# LoRA with r = 4 cannot fit the later tasks: each task's data also expose the earlier
# tasks' errors outside their data spans, so the needed update outgrows rank 4.

# %%
seq = {}
for cond, norm in NORMS.items():
    grid = [dict(method=m, rank=r, lr=SEQ_LR_FACTOR * lr_of(cond, m, r), n_tasks=N_TASKS, norm=norm, **COMMON)
            for m, r in SEQ_CONFIGS]
    seq[cond] = run_sweep(f"05_sequence_{cond}{SUFFIX}", grid, T.sequential_trial, seeds=SEEDS)

fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
for ax, cond in zip(axes, NORMS):
    fr = seq[cond]
    for i, (m, r) in enumerate(SEQ_CONFIGS):
        sub = fr[(fr.method == m) & (fr["rank"] == r)].assign(count=lambda d: d[f"intruders_eps{EPS_CLAIM:g}"])
        summ = analysis.seed_summary(sub, "task", "count", center="mean", spread="ci")
        ok = sub.groupby("task")["converged"].all().reindex(summ["task"]).to_numpy()
        color = COLORS[m] if m != "lora" or r != 16 else PALETTE[5]
        ax.plot(summ["task"], summ["center"], "-", color=color, label=label(m, r))
        ax.fill_between(summ["task"], summ["low"], summ["high"], color=color, alpha=0.12, lw=0)
        ax.scatter(summ["task"][ok], summ["center"][ok], color=color, s=20, zorder=3)
        ax.scatter(summ["task"][~ok], summ["center"][~ok], facecolor="white", edgecolor=color, s=20, zorder=3)
    ax.set(xlabel="tasks fine-tuned so far", title=COND_TITLE[cond])
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
axes[0].set_ylabel(rf"intruders at $\varepsilon$ = {EPS_CLAIM} (merged vs $W_0$)")
axes[0].legend(fontsize=8)
savefig(fig, "05_intruders_sequential")
plt.show()

# %% [markdown]
# *Figure `05_intruders_sequential` (E-5).* Intruders of the merged matrix against the
# pretrained W₀ after each task, mean and 95 % CI over seeds; hollow markers: the task was
# not fitted to the matched loss by every seed.
#
# ## 5. The causal test: scaling the intruders down (E-6)
#
# After fine-tuning, `scale_intruders` multiplies the intruder singular values of the
# merged matrix by λ (λ = 1: unchanged, λ = 0: removed). "merged" applies it to the full
# merged matrix (the library's default); "re-truncated" then stores the update as a rank-r
# adapter again, as PEFT's `reduce_intruder_dimension` does. Target cost: the fraction of
# the training-loss reduction undone; forgetting relative to λ = 1.

# %%
IV_CONFIGS = (("lora", 4 if 4 in RANKS else RANKS[1]), ("full", N_DIM))
iv = {}
for cond, norm in NORMS.items():
    grid = [dict(method=m, rank=r, lr=lr_of(cond, m, r), lambdas=LAMBDAS, norm=norm, **COMMON)
            for m, r in IV_CONFIGS]
    fr = run_sweep(f"05_intervention_{cond}{SUFFIX}", grid, T.intervention_trial, seeds=SEEDS)
    base = fr[fr.lam == 1.0].set_index(["method", "variant", "seed"])["forgetting"]
    fr["forgetting_ratio"] = fr["forgetting"].to_numpy() / base.reindex(
        pd.MultiIndex.from_frame(fr[["method", "variant", "seed"]])).to_numpy()
    iv[cond] = fr

fig, axes = plt.subplots(1, 2, figsize=(10, 3.9), sharey=True)
for ax, cond in zip(axes, NORMS):
    fr = iv[cond]
    for (m, variant), color, marker in ((("lora", "merged"), COLORS["lora"], "o"),
                                        (("lora", "retruncated"), PALETTE[5], "s"),
                                        (("full", "merged"), COLORS["full"], "^")):
        sub = fr[(fr.method == m) & (fr.variant == variant)]
        g = sub.groupby("lam").agg(x=("progress_lost", "mean"), y=("forgetting_ratio", "mean")).sort_index(
            ascending=False)
        name = NAMES[m] + (", r = " + str(IV_CONFIGS[0][1]) if m == "lora" else "")
        ax.plot(g["x"], g["y"], marker=marker, ms=5, color=color, label=f"{name} ({variant})")
        if m == "lora" and variant == "merged" and cond == "large":
            for lam, row in g.iterrows():
                if lam in (1.0, LAMBDA_CLAIM, 0.0):
                    ax.annotate(f"λ = {lam:g}", (row.x, row.y), textcoords="offset points", xytext=(5, -11),
                                fontsize=8)
    ax.axvline(SMALL_COST, color="0.5", ls=":", lw=1)
    ax.set(xlabel="target cost: fraction of the training-loss reduction undone", title=COND_TITLE[cond])
axes[0].set_ylabel("forgetting / forgetting at λ = 1")
axes[0].legend(fontsize=8)
savefig(fig, "05_intervention_tradeoff")
plt.show()
for cond in NORMS:
    fr = iv[cond]
    print(COND_TITLE[cond].replace("$", ""), "- mean intruders found at lambda = 1:",
          fr[fr.lam == 1.0].groupby(["method", "variant"])["n_intruders"].mean().round(2).to_dict())

# %% [markdown]
# *Figure `05_intervention_tradeoff` (E-6).* Forgetting (relative to the unmodified
# model) against the target cost as λ goes from 1 to 0, means over seeds; the dotted
# line is the "small cost" threshold. Full fine-tuning is scaled the same way wherever it
# has intruders.
#
# ## 6. LoRA §7 replica: subspace similarity and amplification (E-7, E-8)
#
# A separate teacher: a dominant rank-2 update (power-law spectrum, ‖ΔW*‖₂ = 0.4 σ₁) plus a
# small full-rank part (spectral norm 0.02 σ₁), n = 128, N = 512 > n samples (every
# direction is constrained), LoRA with α/r trained by Adam (lr 0.01, 800 steps) at every
# rank. φ(A₁, A₂, i, j) = ‖U₁^{(i)ᵀ}U₂^{(j)}‖²_F / min(i, j) on the right singular vectors
# of the A factors; a random pair has E φ = max(i, j)/n.

# %%
replica = run_sweep(f"05_replica{SUFFIX}", {"n": [REPLICA_N], "n_train": [4 * REPLICA_N], "ranks": [REPLICA_RANKS],
                                           "pair": [REPLICA_PAIR], "steps": [REPLICA_STEPS]},
                    T.lora_similarity_trial, seeds=SEEDS)
r1, r2 = REPLICA_PAIR
A = {}
for seed in (0, 1):
    task = T.replica_task(seed, n=REPLICA_N, n_train=4 * REPLICA_N)
    for r in (r1, r2):
        A[seed, r] = T.replica_run(task, r, seed, steps=REPLICA_STEPS).state.params["W/A"]
other = T.replica_run(T.replica_task(0, n=REPLICA_N, n_train=4 * REPLICA_N), r2, 10_000,
                      steps=REPLICA_STEPS).state.params["W/A"]
V = {k: spectral.singular_vectors(a, side="right") for k, a in A.items()}
V_other = spectral.singular_vectors(other, side="right")
gen = np.random.default_rng(123)
G1 = spectral.singular_vectors(gen.standard_normal((r2, REPLICA_N)), side="right")
G2 = spectral.singular_vectors(gen.standard_normal((r2, REPLICA_N)), side="right")
top = min(16, r2)
panels = [(f"φ($A_{{r={r1}}}$, $A_{{r={r2}}}$), seed 0", spectral.subspace_similarity_grid(V[0, r1], V[0, r2], r1, top)),
          (f"φ($A_{{r={r1}}}$, $A_{{r={r2}}}$), seed 1", spectral.subspace_similarity_grid(V[1, r1], V[1, r2], r1, top)),
          (f"φ($A_{{r={r2}}}$, $A'_{{r={r2}}}$): two initializations",
           spectral.subspace_similarity_grid(V[0, r2], V_other, top, top)),
          ("φ of two random Gaussian matrices", spectral.subspace_similarity_grid(G1, G2, top, top))]
fig, axes = plt.subplots(1, 4, figsize=(14, 3.8), gridspec_kw={"width_ratios": [1, 1, 1.6, 1.6], "wspace": 0.35})
for ax, (title, grid_) in zip(axes, panels):
    im = ax.imshow(np.asarray(grid_), cmap="magma", vmin=0, vmax=1, origin="lower", aspect="auto",
                   extent=[0.5, grid_.shape[1] + 0.5, 0.5, grid_.shape[0] + 0.5])
    ax.grid(False)
    ax.set(title=title, xlabel="j", ylabel="i")
    ax.title.set_fontsize(9)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
fig.colorbar(im, ax=axes, shrink=0.8, label=r"$\phi(i, j)$")
savefig(fig, "05_phi_heatmaps")
plt.show()

# %% [markdown]
# *Figure `05_phi_heatmaps` (E-7).* LoRA's Figures 3–4 in the toy: φ between the
# A factors of ranks r₁ and r₂ (two seeds), between two initializations at r₂ (same task),
# and between two random Gaussian matrices of the same shape (the control).

# %%
amp = replica[replica.kind == "amplification"].copy()
fig, ax = plt.subplots(figsize=(5.6, 3.8))
for col, name, color in (("amplification", r"$\|\Delta W\|_F / \|U_r^\top W_0 V_r\|_F$ (ΔW's directions)",
                          PALETTE[0]),
                         ("random_amplification", "same with random orthonormal $U, V$", PALETTE[5])):
    summ = analysis.seed_summary(amp, "rank", col, center="median", spread="ci")
    ax.plot(summ["rank"], summ["center"], "o-", ms=4, color=color, label=name)
    ax.fill_between(summ["rank"], summ["low"], summ["high"], color=color, alpha=0.15, lw=0)
ax.set(xscale="log", yscale="log", xlabel="LoRA rank r (top-r directions of ΔW)", ylabel="amplification factor",
       title="Amplification against the rank (E-8)")
ax.set_xticks(REPLICA_RANKS, [str(r) for r in REPLICA_RANKS])
ax.legend(fontsize=8)
savefig(fig, "05_amplification")
plt.show()
display(amp.groupby("rank")[["amplification", "random_amplification", "train_loss_ratio"]].median().round(3))

# %% [markdown]
# *Figure `05_amplification` (E-8).* Hu et al.'s amplification factor ‖ΔW‖_F/‖U_rᵀW₀V_r‖_F
# with U_r, V_r the top-r singular vectors of the LoRA update at rank r, median and 95 % CI
# over seeds (a random one-dimensional projection can be nearly 0, so the random ratio is
# heavy-tailed at r = 1), next to the same ratio for random orthonormal directions (their
# Table 7's "random" column).
#
# ## 7. The mechanism toys
#
# *Rank one* (proposed cause (a)): SVD(W₀ + λvvᵀ) with a random unit v. *Leakage*: the
# fraction of LoRA's update outside the data's row span, against the rank, and forgetting
# against it.

# %%
toy = run_sweep(f"05_rank_one{SUFFIX}", {"lam_over_sigma1": [round(float(x), 4) for x in
                                                             np.linspace(0.1, 2.0, TOY_POINTS)],
                                         "spectrum": ["power_law", "iid"], "n": [N_DIM]},
                T.rank_one_toy, seeds=TOY_SEEDS)
fig, axes = plt.subplots(1, 3, figsize=(14, 3.7))
ax = axes[0]
sigma = 3.0 / np.arange(1, N_DIM + 1)
for spec, color, name in (("power_law", PALETTE[0], r"$W_0$: $\sigma_i = 3/i$"), ("iid", PALETTE[1], r"$W_0$: i.i.d.")):
    sub = toy[toy.spectrum == spec].assign(count=lambda d: d[f"intruders_eps{EPS_CLAIM:g}"])
    summ = analysis.seed_summary(sub, "lam_over_sigma1", "count", center="mean", spread="ci")
    ax.plot(summ["lam_over_sigma1"], summ["center"], "o-", ms=3, color=color, label=name)
    ax.fill_between(summ["lam_over_sigma1"], summ["low"], summ["high"], color=color, alpha=0.15, lw=0)
ax.axvline(sigma[9] / sigma[0], color=PALETTE[0], ls=":", lw=1)
ax.text(sigma[9] / sigma[0] * 1.05, 0.1, r"$\sigma_{10}/\sigma_1$", color=PALETTE[0], fontsize=8.5)
ax.set(xlabel=r"$\lambda / \sigma_1(W_0)$", ylabel=rf"intruders at $\varepsilon$ = {EPS_CLAIM}",
       title=r"Rank-one toy: $W_0 + \lambda v v^\top$")
ax.legend(fontsize=8)
for cond, ax in zip(NORMS, axes[1:]):
    fr = runs[cond][runs[cond].converged]
    for m in (*SCALINGS, "b_only"):
        g = fr[fr.method == m].groupby("rank")["off_span_fraction"].mean()
        ax.plot(g.index, g.values, "o-", ms=3.5, color=COLORS[m], label=NAMES[m])
    f0 = fr[fr.method == "full"]["off_span_fraction"].mean()
    ax.axhline(f0, color=COLORS["full"], lw=1.2, label=NAMES["full"])
    ax.set(xscale="log", xlabel="adapter rank r", ylabel=r"$\|\Delta W (I-P_X)\|_F / \|\Delta W\|_F$",
           title=f"Update outside the data span\n{COND_TITLE[cond]}")
    ax.set_xticks(RANKS, [str(r) for r in RANKS])
axes[1].legend(fontsize=8)
savefig(fig, "05_mechanisms")
plt.show()
leak_rho = {c: analysis.rank_correlation(runs[c][runs[c].converged]["off_span_fraction"],
                                         runs[c][runs[c].converged]["forgetting"]) for c in NORMS}
for c in NORMS:
    print(f"{c}: Spearman(off-span fraction, forgetting) = {fmt_ci(*leak_rho[c])}")

# %% [markdown]
# *Figure `05_mechanisms`.* Left: intruders created by a random rank-one update λvvᵀ
# (mean and 95 % CI over seeds), for the gapped W₀ and the i.i.d. control. Middle and
# right: the part of each method's update outside the row span of the N = 24 training
# inputs, at matched loss (full FT: exactly 0).
#
# ## 8. Verdicts

# %%
rows = []


def add(claim, paper, statistic, value, threshold, ok, condition="—"):
    rows.append({"claim (study E4)": claim, "paper": paper, "condition": condition, "statistic": statistic,
                 "estimate [95% CI]": value, "threshold (pre-set)": threshold, "verdict": analysis.verdict(ok)})


r_low = 4 if 4 in RANKS else RANKS[1]
col = f"intruders_eps{EPS_CLAIM:g}"
for cond in NORMS:
    fr = runs[cond]
    full = fr[fr.method == "full"].set_index("seed")[col].sort_index()
    low = fr[(fr.method == "lora") & (fr["rank"] == r_low)].set_index("seed")[col].sort_index()
    est_full = ci(full)
    diff = analysis.paired_difference(low.to_numpy(), full.to_numpy())
    add("Full FT has ≈ 0 intruders at ε = 0.5; low-rank LoRA has more", "Shuttleworth et al. 2024",
        f"mean count of full FT; paired Δ (LoRA α/r, r = {r_low}) − full",
        f"{fmt_ci(*est_full)}; Δ = {fmt_ci(*diff)}", f"full ≤ {FULL_ABOUT_ZERO} and Δ CI > 0",
        est_full[0] <= FULL_ABOUT_ZERO and diff[1] > 0, cond)
for cond in NORMS:
    fr = runs[cond]
    rs = fr[(fr.method == "rslora") & fr.converged]
    rho = analysis.rank_correlation(rs["rank"], rs[col])
    add("With tuned learning rates, counts fall with r under rank-stabilized scaling", "Shuttleworth et al. 2024",
        "Spearman ρ(r, count), rsLoRA runs at matched loss", fmt_ci(*rho), "ρ CI < 0",
        bool(np.isfinite(rho[2]) and rho[2] < 0), cond)
for cond in NORMS:
    rho = corr[cond]
    add("Forgetting correlates positively with intruder count", "Shuttleworth et al. 2024",
        "Spearman ρ(count, forgetting), all matched runs", fmt_ci(*rho), "ρ CI > 0",
        bool(np.isfinite(rho[1]) and rho[1] > 0), cond)
for cond in NORMS:
    fr = iv[cond]
    sub = fr[(fr.method == "lora") & (fr.variant == "merged") & (fr.lam == LAMBDA_CLAIM)]
    red = ci(1.0 - sub["forgetting_ratio"])
    cost = ci(sub["progress_lost"])
    add(f"Scaling intruders down (λ = {LAMBDA_CLAIM}) lowers forgetting at a small target cost",
        "Shuttleworth et al. 2024", f"LoRA α/r r = {IV_CONFIGS[0][1]}: forgetting reduction; target cost",
        f"{fmt_ci(*red)}; cost {fmt_ci(*cost, digits=3)}", f"reduction CI > 0 and cost ≤ {SMALL_COST}",
        red[1] > 0 and cost[0] <= SMALL_COST, cond)
for cond in NORMS:
    fr = seq[cond]
    sub = fr[(fr.method == "lora") & (fr["rank"] == 16)]
    first = sub[sub.task == 1].set_index("seed")[col].sort_index()
    last = sub[sub.task == N_TASKS].set_index("seed")[col].sort_index()
    d = analysis.paired_difference(last.to_numpy(), first.to_numpy())
    fsub = fr[fr.method == "full"]
    dfull = analysis.paired_difference(fsub[fsub.task == N_TASKS].sort_values("seed")[col].to_numpy(),
                                       fsub[fsub.task == 1].sort_values("seed")[col].to_numpy())
    add("Intruders accumulate over tasks", "Shuttleworth et al. 2024",
        f"paired Δ count after task {N_TASKS} − task 1, LoRA α/r r = 16 (full FT: {fmt_ci(*dfull)})",
        fmt_ci(*d), "Δ CI > 0", d[1] > 0, cond)
pair = replica[replica.kind == "phi_pair"]
phi11 = ci(pair["phi_11"])
add(f"Top direction of φ(A_{r1}, A_{r2}) exceeds 0.5", "Hu et al. 2021, Fig. 3", "φ(1, 1), mean over seeds",
    fmt_ci(*phi11), f"CI > {PHI_TOP}", phi11[1] > PHI_TOP, "replica")
seeds_phi = replica[(replica.kind == "phi_seeds") & (replica.i == 2)]
phi_s = ci(seeds_phi["phi_seeds"])
expected = 2 / REPLICA_N
add("Seed-to-seed φ is well above the random control", "Hu et al. 2021, Fig. 4",
    f"φ(A_{r2}, A'_{r2}, 2, 2) (random: {seeds_phi['phi_random'].mean():.3f}, E = {expected:.3f})", fmt_ci(*phi_s),
    f"CI > {PHI_RANDOM_FACTOR:g} × {expected:.3f}", phi_s[1] > PHI_RANDOM_FACTOR * expected, "replica")
rho_amp = analysis.rank_correlation(amp["rank"], amp["amplification"])
add("Amplification is larger at small r", "Hu et al. 2021, Table 7", "Spearman ρ(r, amplification)",
    fmt_ci(*rho_amp), "ρ CI < 0", bool(np.isfinite(rho_amp[2]) and rho_amp[2] < 0), "replica")
for cond in NORMS:
    fr = runs[cond]
    full = fr[fr.method == "full"].sort_values("seed")
    hi = fr[(fr.method == "rslora") & (fr["rank"] == R_MAX)].sort_values("seed")
    dcount = analysis.paired_difference(hi[col].to_numpy(), full[col].to_numpy())
    excess = ci(hi["forgetting"].to_numpy() / full["forgetting"].to_numpy() - 1.0)
    add(f"(open trend) High-rank rsLoRA (r = {R_MAX}) mirrors full FT", "Shuttleworth et al. 2024",
        "paired Δ count; forgetting excess over full FT", f"Δ = {fmt_ci(*dcount)}; excess {fmt_ci(*excess)}",
        f"Δ CI ∋ 0 and excess CI < {MIRROR_FORGETTING}", dcount[1] <= 0 <= dcount[2] and excess[2] < MIRROR_FORGETTING,
        cond)
big = toy[(toy.spectrum == "power_law") & (toy.lam_over_sigma1 >= 1.0)]
hits = int((big[col] >= 1).sum())
wl = analysis.wilson_interval(hits, len(big))
add("(mechanism a) A random rank-one update larger than σ₁ creates an intruder", "Shuttleworth et al. 2024",
    "share of λ ≥ σ₁ draws with ≥ 1 intruder (Wilson)", f"{hits / len(big):.2f} [{wl[0]:.2f}, {wl[1]:.2f}]",
    "lower bound > 0.9", wl[0] > 0.9, "toy")
verdicts = pd.DataFrame(rows)
with pd.option_context("display.max_colwidth", None):
    display(HTML(verdicts.to_html(index=False)))  # plain HTML: the executed .ipynb stays diff-stable

# %% [markdown]
# ## 9. What the toy says, and where it disagrees
#
# The numbers below are computed from the runs above (means over the five seeds, bootstrap
# 95 % CIs in brackets). The observations at ε = 0.7 were not pre-registered as verdicts.

# %%
def cell(cond, method, rank, column):
    fr = runs[cond]
    return fr[(fr.method == method) & (fr["rank"] == rank)].sort_values("seed")[column].to_numpy()


def m(cond, method, rank, column, digits=2):
    return f"{np.mean(cell(cond, method, rank, column)):.{digits}f}"


col7 = "intruders_eps0.7"
d7 = {c: analysis.paired_difference(cell(c, "lora", r_low, col7), cell(c, "full", N_DIM, col7)) for c in NORMS}
excess = {c: {meth: ci(cell(c, meth, R_MAX, "forgetting") / cell(c, "full", N_DIM, "forgetting") - 1.0)
              for meth in ("lora", "rslora", "lora_2r")} for c in NORMS}
lam_row = {c: iv[c][(iv[c].method == "lora") & (iv[c].variant == "merged") & (iv[c].lam == LAMBDA_CLAIM)]
           for c in NORMS}
amp_tab = amp.groupby("rank")[["amplification", "random_amplification"]].median()
text = [
    "**Intruders at matched loss.**",
    f"* Large update: full FT has {m('large', 'full', N_DIM, col)} intruders at ε = {EPS_CLAIM}, LoRA α/r at "
    f"r = {r_low} {m('large', 'lora', r_low, col)}: LoRA has more, but full FT is far from 0 — the target itself "
    f"puts {TASK_RANK} new directions of size {NORMS['large']:g} σ₁ into the top of W₀'s spectrum.",
    f"* Small update: full FT has {m('small', 'full', N_DIM, col)} intruders at ε = {EPS_CLAIM}, LoRA at r = "
    f"{r_low} {m('small', 'lora', r_low, col)}; the difference appears at looser thresholds: at ε = 0.7 "
    f"LoRA − full = {fmt_ci(*d7['small'])} (large update: {fmt_ci(*d7['large'])}).",
    "",
    "**Forgetting and the scalings at the highest rank** (excess forgetting over full FT at "
    f"r = {R_MAX}, same seeds):",
]
for c in NORMS:
    text.append(f"* {c} update: α/r {fmt_ci(*excess[c]['lora'])}, rsLoRA {fmt_ci(*excess[c]['rslora'])}, "
                f"α = 2r {fmt_ci(*excess[c]['lora_2r'])}.")
text += [
    "",
    "**The intervention** at λ = " + f"{LAMBDA_CLAIM}: " + "; ".join(
        f"{c} update: forgetting × {lam_row[c]['forgetting_ratio'].mean():.2f} for "
        f"{100 * lam_row[c]['progress_lost'].mean():.1f} % of the training-loss reduction" for c in NORMS) + ".",
    "",
    f"**LoRA §7 replica:** φ(1, 1) between A_{r1} and A_{r2} is {phi11[0]:.2f}; median amplification at r = "
    f"{REPLICA_RANKS[0]} / {REPLICA_RANKS[-1]}: {amp_tab.amplification.iloc[0]:.1f} / "
    f"{amp_tab.amplification.iloc[-1]:.2f}, against {amp_tab.random_amplification.iloc[0]:.1f} / "
    f"{amp_tab.random_amplification.iloc[-1]:.2f} for random directions of the same width.",
    "",
    f"{int((verdicts.verdict == 'REPRODUCED').sum())} of {len(verdicts)} verdict rows are reproduced.",
]
display(Markdown("\n".join(text)))

# %% [markdown]
# **Reading the verdicts.**
#
# * **The study design's large update is a regime where full fine-tuning intrudes too.** A rank-4
#   update of spectral norm 0.4 σ₁ must place four new directions near the top of W₀'s
#   spectrum whatever the method: the *target* has intruders, and full FT, which fits the
#   minimum-norm ΔW* P_X, shows them. LoRA shows somewhat more. The paper's contrast
#   ("do not appear during full fine-tuning") needs an update that does not dwarf W₀'s top
#   spectrum — the small update, where full FT stays at about 0 across the ε sweep
#   (figure E-2) and LoRA's extra directions show up at looser thresholds than the
#   reference code's 0.5.
# * **The mechanism in this toy is leakage, not a new left direction.** Gradient descent
#   keeps LoRA's left singular subspace equal to the target's (section 1); what LoRA adds is
#   s·B A₀(I − P_X), its random initial A acting on directions no sample constrains. It
#   inflates the singular values of the learned directions (so they outrank W₀'s and
#   become intruders at a given ε) and it is what forgetting measures: forgetting tracks
#   the off-span fraction almost monotonically (Spearman in section 7), and the intruder
#   count only coarsely.
# * **Scalings under tuned learning rates.** Gradient descent on (B, A) with scale s is
#   gradient descent on (√s B, √s A) at rate s·lr from the initialization √s A₀: once the
#   rate is tuned, a scaling acts only through the effective size of A₀. α/r shrinks it as
#   r grows, rsLoRA less, α = 2r not at all — which orders their leakage and forgetting at
#   high rank. **In this toy high-rank α/r, not rsLoRA, is the one closest to full
#   fine-tuning**: the "higher-rank rsLoRA mirrors full fine-tuning" trend is not
#   reproduced (nor was it by the study design's pilot). Counts do fall with r under rsLoRA for
#   the small update, but they also fall (from a lower level) for α/r.
# * **The intervention** works where there are intruders to scale: for the large update,
#   PEFT's λ = 0.75 lowers forgetting at a small cost to the task (numbers above); for the
#   small update there is almost nothing to remove at ε = 0.5, so nothing changes. In this
#   toy the intruders carry the task (the target is low rank and large), so λ → 0 undoes
#   much more of it than in the paper.
# * **LoRA §7.** The A factors of different ranks and initializations share their top
#   directions far above the random control (the teacher's rank-2 core is learned into A),
#   and the amplification factor falls with r — but the same ratio for random directions
#   falls just as fast: with a ΔW* drawn independently of W₀, the factor mostly measures
#   that ‖U_rᵀW₀V_r‖ grows with r for any directions.
# * **Mechanism (a)** holds in most draws but not in enough of them for the pre-set
#   threshold: near λ ≈ σ₁ the rank-one direction mixes with W₀'s top singular vector
#   (two comparable singular values), and the mixed vector keeps |cos| > 0.5 with u₁
#   (the dip of figure `05_mechanisms`, left).
# * **Not tested here:** more fine-tuning data giving more intruders; the U-shape of the
#   pre-training loss against rank; Adam instead of gradient descent for the main
#   comparison (Adam's per-coordinate scaling would move full fine-tuning off the data's
#   row span too).
