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
# * "α̂ lies within 2σ_α of the truth, fingers bias it upwards, and the fix removes the
#   bias" (D-3).
# * φ and principal angles agree with SciPy and the random baseline E φ = max(i, j)/n (D-4).
# * Intruder dimensions (Shuttleworth et al., "LoRA vs Full Fine-tuning: An Illusion of
#   Equivalence"): "adding a random rank-one λvvᵀ larger than W's singular values
#   already creates intruders" (E1, proposed cause (a)).
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
N_SEEDS = 3 if SMOKE else 10
STRENGTHS = (0.0, 0.5, 1.0, 1.5, 2.0) if SMOKE else tuple(round(x, 2) for x in [0.0, *list(__import__("numpy").linspace(0.4, 2.4, 21))])
PARETO_ALPHAS = (2.0, 3.0, 4.0, 6.0)
PARETO_SIZES = (256,) if SMOKE else (256, 1024, 4096)
PARETO_SEEDS = 3 if SMOKE else 5
N_DIM = 60 if SMOKE else 200  # side of the matrices in the subspace and intruder panels

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import scipy.linalg

from lowrank_lab import backend, spectral
from lowrank_lab.experiments import run_sweep
from lowrank_lab.plotting import PALETTE, plot_band, savefig, use_style
from lowrank_lab.matrices import low_rank_matrix
from lowrank_lab.spectral.trials import bbp_threshold, pareto_powerlaw_trial, spiked_noise_matrix, spiked_noise_trial

use_style()
xp = backend.get_namespace()
print(f"backend: {backend.backend_name(xp)}, smoke: {SMOKE}")

# %% [markdown]
# ## 1. Pure noise: the Marchenko–Pastur bulk
#
# Gaussian N × M matrices with unit-variance entries, M = 256 and Q ∈ {1, 2, 4}.
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
    ax.plot(grid, spectral.marchenko_pastur_density(grid, q), color=PALETTE[1], label="MP density (s² = 1)")
    ax.axvline(fit.threshold, color="0.2", ls="--", lw=1, label="λ₊ + TW margin (fitted)")
    ax.set(title=f"Q = {q}", xlabel="eigenvalue of WᵀW/N")
    edge_rows.append({"Q": q, "fitted variance": fit.variance, "fitted λ₊": fit.lambda_plus, "theory λ₊": hi,
                      "edge error %": 100 * (fit.lambda_plus / hi - 1), "λ_max": fit.lambda_max,
                      "spikes": fit.n_spikes})
axes[0].set_ylabel("density")
axes[0].legend(loc="upper right")
fig.suptitle(f"ESD of pure Gaussian noise against Marchenko–Pastur (M = {M_COLS})", y=1.03)
savefig(fig, "04_mp_bulk")
plt.show()
edges = pd.DataFrame(edge_rows)
edges.round(4)

# %% [markdown]
# ## 2. Noise plus spikes: detection against the BBP threshold
#
# Three orthogonal spikes of strength θ are planted: W/√N = X/√N + θ Σ u_i v_iᵀ. In the
# large-matrix limit a spike leaves the bulk exactly when θ exceeds the BBP threshold
# θ_c = (M/N)^¼ (Baik, Ben Arous and Péché; rectangular form by Benaych-Georges and
# Nadakuditi), with eigenvalue (1 + θ²)(c + θ²)/θ², c = M/N. The sweep runs through
# `run_sweep` (cached in `data/sweeps/`), several seeds per strength.

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
noise_only = spikes[spikes.theta_over_bbp == 0]
false_spikes = int(noise_only["n_detected"].sum())
edge_err = float((noise_only["lambda_plus"] / noise_only["lambda_plus_theory"] - 1).abs().max())
print(f"pure noise: {false_spikes} false spike(s) in {len(noise_only)} matrices; max edge error {100 * edge_err:.2f}%")

fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
plot_band(axes[0], spikes, "theta_over_bbp", "n_detected", label="detected (median, IQR)", marker="o", ms=3)
axes[0].axvline(1.0, color="0.4", ls=":", lw=1)
axes[0].step([0, 1, 1, spikes.theta_over_bbp.max()], [0, 0, 3, 3], where="post", color="0.3", lw=1, label="large-N limit")
axes[0].set(xlabel="spike strength θ / θ_BBP", ylabel="spikes detected (of 3)", title=f"Spike detection (N = {n_rows}, M = {M_COLS})")
axes[0].legend()
above = spikes[spikes.theta_over_bbp > 0]
plot_band(axes[1], above, "theta_over_bbp", "top_eigenvalue", label="largest eigenvalue", marker="o", ms=3)
theory = above.groupby("theta_over_bbp")["spike_prediction"].first()
axes[1].plot(theory.index, theory.values, color="0.2", ls="--", lw=1, label="BBP prediction")
axes[1].axhline(spikes["threshold"].median(), color=PALETTE[1], lw=1, ls=":", label="detection threshold")
axes[1].set(xlabel="spike strength θ / θ_BBP", ylabel="eigenvalue of WᵀW/N", title="Where the spikes sit")
axes[1].legend()
savefig(fig, "04_spike_detection")
plt.show()

# %%
detect = spikes.groupby("theta_over_bbp")["n_detected"].mean()
half = detect[detect >= 1.5]
onset = float(half.index.min()) if len(half) else float("nan")
print(f"half of the spikes detected from θ/θ_BBP = {onset:.2f} on (finite-size shift above 1 expected)")
mp_ok = false_spikes == 0 and edge_err < 0.05
print("D-2 (edge within a few %, no false spikes with the TW margin):", "reproduced" if mp_ok else "NOT reproduced")

# %% [markdown]
# **What the figures show.** The fitted edge matches (1 + Q^−½)² to a fraction of a
# percent and pure noise yields no spikes once the Tracy–Widom margin is added — the D-2
# criterion. Spikes are detected from slightly *above* θ_BBP: at finite N a spike just
# past the threshold sits within a TW margin of the edge, so detection needs θ a little
# larger (the printed onset); far above it, the largest eigenvalue follows the BBP
# formula. Spikes below θ_c are invisible to *any* spectral method in the limit, not a
# weakness of this fit.
#
# ## 3. Power-law tails: α̂ ± σ_α, and fingers
#
# Eigenvalues drawn from a Pareto law with density ∝ λ^−α (λ ≥ 1), α ∈ {2, 3, 4, 6},
# n ∈ {256, 1024, 4096}. `powerlaw_alpha` is the Clauset–Shalizi–Newman MLE with the
# KS-chosen x_min, as WeightWatcher fits it; σ_α = (α̂ − 1)/√n_tail. Then three
# "fingers" (outliers at 50–75× the largest sample) are appended and the fit is redone
# with and without `fix_fingers=True` (drop the top eigenvalues that fail a Rényi
# log-spacing test, refit a power law truncated at the largest kept value).

# %%
pareto = run_sweep(
    "04_powerlaw_alpha",
    {"alpha": list(PARETO_ALPHAS), "n": list(PARETO_SIZES), "n_fingers": [0, 3]},
    pareto_powerlaw_trial,
    seeds=PARETO_SEEDS,
)
clean = pareto[pareto.n_fingers == 0]
fingers = pareto[pareto.n_fingers == 3]
coverage = float((clean["z_plain"].abs() < 2).mean())
print(f"clean samples: |α̂ − α| < 2σ in {100 * coverage:.0f}% of {len(clean)} fits (≈95% expected)")
print(f"with 3 fingers: mean z = {fingers['z_plain'].mean():+.2f} plain, {fingers['z_fixed'].mean():+.2f} with fix_fingers; "
      f"fingers found: {fingers['n_fingers_found'].mean():.2f} on average (3 planted)")

fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
offsets = dict(zip(PARETO_SIZES, np.linspace(-0.15, 0.15, len(PARETO_SIZES)) if len(PARETO_SIZES) > 1 else [0.0]))
for n_size, color in zip(PARETO_SIZES, PALETTE):
    sub = clean[clean.n == n_size].groupby("alpha_true")[["alpha_hat", "sigma"]].median()
    axes[0].errorbar(sub.index + offsets[n_size], sub["alpha_hat"], yerr=2 * sub["sigma"], fmt="o", ms=4,
                     capsize=2, color=color, label=f"n = {n_size}")
lim = [1.5, max(PARETO_ALPHAS) + 0.5]
axes[0].plot(lim, lim, color="0.4", lw=1, ls=":")
axes[0].set(xlabel="true α", ylabel="α̂ (median over seeds) ± 2σ_α", title="Clean power laws")
axes[0].legend()
z = pd.DataFrame({"plain fit": fingers["z_plain"].to_numpy(), "fix_fingers": fingers["z_fixed"].to_numpy(),
                  "clean (no fingers)": clean["z_plain"].to_numpy()[: len(fingers)]})
axes[1].boxplot([z[c] for c in z.columns], tick_labels=list(z.columns))
axes[1].axhspan(-2, 2, color=PALETTE[2], alpha=0.12, lw=0)
axes[1].axhline(0, color="0.4", lw=0.8)
axes[1].set(ylabel="(α̂ − α) / σ_α", title="Three fingers: bias and fix")
savefig(fig, "04_powerlaw")
plt.show()

# %%
bias_dir = "upwards" if fingers["z_plain"].mean() > 0 else "downwards"
fix_ok = abs(fingers["z_fixed"].mean()) < 1.0 and float((fingers["z_fixed"].abs() < 2.5).mean()) > 0.8
print(f"coverage within 2σ (clean): {'reproduced' if coverage >= 0.85 else 'NOT reproduced'}")
print(f"fingers bias α̂ {bias_dir} here (the brief expects upwards); the fix removes the bias: "
      f"{'reproduced' if fix_ok else 'NOT reproduced'}")

# %% [markdown]
# **What the figure shows.** On clean Pareto samples α̂ ± 2σ_α covers the truth at
# about the nominal rate, with σ_α shrinking like 1/√n. The fingers move α̂ by several
# σ — but **downwards**, not upwards as the brief states: added huge values increase
# Σ ln(λ/x_min) and the KS scan keeps a low x_min, so the plain MLE flattens. The upward
# bias seen by WeightWatcher on real ESDs needs the KS scan to jump to a tiny tail made
# mostly of fingers, which does not happen on these clean samples; we report the
# direction we measure. `fix_fingers=True` detects the outliers and brings α̂ back
# within about 2σ — that part of the claim is reproduced.
#
# ## 4. What each metric sees and misses
#
# Five M × M' matrices with the same Frobenius norm and the metrics of the suite. The
# rank-like numbers are divided by M so that 1 means "full".

# %%
m_rows, m_cols = 2 * M_COLS, M_COLS
rng = np.random.default_rng(7)
cases = {
    "MP noise": spiked_noise_matrix(m_rows, m_cols, 0, 0.0, rng),
    "noise + 3 spikes": spiked_noise_matrix(m_rows, m_cols, 3, 2.0 * theta_c, rng),
    "low rank 5": backend.to_numpy(low_rank_matrix(m_rows, m_cols, 5, rng=1).matrix),
    "low rank 5 + noise": backend.to_numpy(low_rank_matrix(m_rows, m_cols, 5, rng=1).matrix)
    + 0.1 / np.sqrt(m_rows) * rng.standard_normal((m_rows, m_cols)),
    "power-law σ_i = i^-1": backend.to_numpy(
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

fig, ax = plt.subplots(figsize=(9.5, 3.8))
show = metrics.drop(columns=["MP spikes", "power-law α"])
im = ax.imshow(show.to_numpy(), cmap="viridis", vmin=0, vmax=1, aspect="auto")
ax.set_xticks(range(show.shape[1]), show.columns, rotation=25, ha="right")
ax.set_yticks(range(show.shape[0]), show.index)
for (r_i, c_i), v in np.ndenumerate(show.to_numpy()):
    ax.text(c_i, r_i, f"{v:.2f}", ha="center", va="center", fontsize=8, color="w" if v < 0.6 else "k")
fig.colorbar(im, ax=ax, label="fraction of full rank (entropy: normalized)")
ax.set_title(f"Same Frobenius norm, different spectra ({m_rows}×{m_cols})")
ax.grid(False)
savefig(fig, "04_metric_matrix")
plt.show()
metrics.round(3)

# %% [markdown]
# **Reading the table.**
# * *Numerical rank* sees only round-off: "low rank 5 + noise" is full rank to it,
#   although 5 directions carry nearly all the energy. ε-rank and energy rank fix this
#   with an explicit threshold.
# * *Stable rank and participation ratio* (σ²) are dominated by the top directions:
#   three spikes cut them substantially, while *effective rank* (σ) barely moves — it
#   counts the bulk (compare the first two rows).
# * *Spectral entropy* is normalized by ln(rank): the exactly rank-5 matrix with equal
#   singular values scores 1, "maximally spread" within its own rank. It measures
#   flatness, not rank.
# * *MP spikes* is the only metric that separates signal from noise by a statistical
#   test, and the only one that is 0 on pure noise.
# * *Power-law α* returns a number for any spectrum with a tail, pure noise included;
#   it should be read together with the MP fit (HT-SR's "random-like" layers are those
#   whose ESD fits MP). For the exactly rank-5 matrix there is no tail to fit (five
#   non-zero eigenvalues): `powerlaw_alpha` raises rather than invent one, shown as NaN.
#
# ## 5. Subspace similarity (LoRA's φ) and principal angles
#
# φ(U₁, U₂, i, j) = ‖U₁^{(i)ᵀ}U₂^{(j)}‖²_F / min(i, j), on the top-i and top-j singular
# directions. Two constructed rank-8 "adapters" A₁, A₂ ∈ ℝ^{8×n} share a 2-dimensional
# top subspace; the rest is independent. We check our principal angles against
# `scipy.linalg.subspace_angles` and the random baseline E φ = max(i, j)/n.

# %%
n = N_DIM
rng = np.random.default_rng(3)
shared = np.linalg.qr(rng.standard_normal((n, 2)))[0]
A1 = np.hstack([shared * [5.0, 4.0], rng.standard_normal((n, 6))]).T  # rows: 8 x n
A2 = np.hstack([shared * [5.0, 4.0] + 0.1 * rng.standard_normal((n, 2)), rng.standard_normal((n, 6))]).T
U1 = spectral.singular_vectors(backend.asarray(A1, xp=xp), side="right")
U2 = spectral.singular_vectors(backend.asarray(A2, xp=xp), side="right")
phi = backend.to_numpy(spectral.subspace_similarity_grid(U1, U2))

ours = np.sort(backend.to_numpy(spectral.principal_angles(U1, U2)))
ref = np.sort(scipy.linalg.subspace_angles(backend.to_numpy(U1), backend.to_numpy(U2)))
print(f"principal angles vs scipy: max |difference| = {np.abs(ours - ref).max():.1e} rad")

draws = []
for seed in range(200 if not SMOKE else 40):
    g = np.random.default_rng(100 + seed)
    Ra = np.linalg.qr(g.standard_normal((n, 8)))[0]
    Rb = np.linalg.qr(g.standard_normal((n, 8)))[0]
    draws.append([spectral.subspace_similarity(Ra, Rb, i, j) for i, j in [(1, 1), (2, 8), (8, 8)]])
baseline = pd.DataFrame(draws, columns=["φ(1,1)", "φ(2,8)", "φ(8,8)"]).mean()
expected = pd.Series([1 / n, 8 / n, 8 / n], index=baseline.index)
print(pd.DataFrame({"mean over random draws": baseline, "max(i, j)/n": expected}).round(4))

fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.6))
im = axes[0].imshow(phi, origin="lower", cmap="magma", vmin=0, vmax=1,
                    extent=[0.5, phi.shape[1] + 0.5, 0.5, phi.shape[0] + 0.5])
axes[0].set(xlabel="j (top-j directions of A₂)", ylabel="i (top-i directions of A₁)", title="φ(A₁, A₂, i, j)")
axes[0].grid(False)
fig.colorbar(im, ax=axes[0])
axes[1].plot(np.degrees(ours), "o-", ms=4, label="lowrank_lab")
axes[1].plot(np.degrees(ref), "x", ms=6, color=PALETTE[1], label="scipy.linalg.subspace_angles")
axes[1].set(xlabel="index", ylabel="principal angle (degrees)", title="Principal angles between the row spaces")
axes[1].legend()
savefig(fig, "04_subspace_similarity")
plt.show()

# %% [markdown]
# φ is close to 1 where both i, j ≤ 2 (the shared directions) and falls towards the
# random level max(i, j)/n beyond — the pattern of LoRA's Figure 3. The principal angles
# agree with SciPy to round-off, and the averaged random φ matches max(i, j)/n (D-4,
# **reproduced**).
#
# ## 6. Intruder dimensions on constructed updates
#
# A "pretrained" W₀ = U₀ diag(σ) V₀ᵀ with a power-law spectrum σ_i = i^−1 and three
# updates of growing size:
# * **random rank one**, ΔW = λ v wᵀ with random unit v, w — the paper's proposed cause (a);
# * **aligned rank one**, ΔW = λ u₁ v₁ᵀ along W₀'s own top direction;
# * **dense, full-rank** Gaussian ΔW of the same Frobenius norm (a crude stand-in for
#   full fine-tuning, whose updates are high rank).
#
# A tuned singular vector u_j (among the top k = 10) is an intruder when its largest
# |cosine| with every singular vector of W₀ is below ε = 0.5.

# %%
n = N_DIM
sigma0 = 1.0 / np.arange(1, n + 1)
W0 = backend.to_numpy(low_rank_matrix(n, n, n, spectrum=sigma0, rng=11).matrix)
U0, _, V0t = np.linalg.svd(W0)
g = np.random.default_rng(12)
v = g.standard_normal(n)
v /= np.linalg.norm(v)
w = g.standard_normal(n)
w /= np.linalg.norm(w)
dense = g.standard_normal((n, n))
dense /= np.linalg.norm(dense)
lambdas = np.geomspace(0.05, 4.0, 9 if SMOKE else 25)
rows = []
for lam in lambdas:
    updates = {"random rank one": lam * np.outer(v, w), "aligned rank one": lam * np.outer(U0[:, 0], V0t[0]),
               "dense full rank": lam * dense}
    for kind, dW in updates.items():
        res = spectral.intruder_dimensions(backend.asarray(W0 + dW, xp=xp), backend.asarray(W0, xp=xp), k=10, eps=0.5)
        rows.append({"lambda_over_sigma1": lam / sigma0[0], "update": kind, "intruders": res.count})
intr = pd.DataFrame(rows)

eps_grid = np.linspace(0.1, 0.9, 17)
curves = {}
for lam in (0.5, 1.5, 3.0):
    res = spectral.intruder_dimensions(backend.asarray(W0 + lam * np.outer(v, w), xp=xp), backend.asarray(W0, xp=xp),
                                       k=10, eps=eps_grid)
    curves[lam] = np.asarray(res.count)

fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
for (kind, sub), color in zip(intr.groupby("update", sort=False), PALETTE):
    axes[0].plot(sub["lambda_over_sigma1"], sub["intruders"], "o-", ms=3, color=color, label=kind)
axes[0].axvline(1.0, color="0.4", ls=":", lw=1)
axes[0].axvline(sigma0[9] / sigma0[0], color=PALETTE[0], ls=":", lw=1)
axes[0].text(sigma0[9] / sigma0[0] * 1.05, 7, "σ₁₀", color=PALETTE[0], fontsize=8.5)
axes[0].set(xscale="log", xlabel="update size ‖ΔW‖_F / σ₁(W₀)", ylabel="intruders among top 10 (ε = 0.5)",
            title="A random rank-one update intrudes first")
axes[0].legend()
for (lam, counts), color in zip(curves.items(), PALETTE):
    axes[1].step(eps_grid, counts, where="mid", color=color, label=f"random rank one, λ = {lam}σ₁")
axes[1].set(xlabel="threshold ε", ylabel="intruders among top 10", title="Count against ε")
axes[1].legend()
savefig(fig, "04_intruders")
plt.show()

big = intr[intr.lambda_over_sigma1 > 1.2]
rand_one = bool((big[big["update"] == "random rank one"]["intruders"] >= 1).all())
aligned_none = int(intr[intr["update"] == "aligned rank one"]["intruders"].max()) == 0
onsets = intr[intr.intruders > 0].groupby("update")["lambda_over_sigma1"].min()
print("first update size (‖ΔW‖_F / σ₁) with an intruder:", onsets.round(3).to_dict())
print(f"random rank-one update larger than σ₁ creates an intruder: {rand_one}; aligned update never does: {aligned_none}")
print("E1 cause (a):", "reproduced" if rand_one and aligned_none else "NOT reproduced")

# %% [markdown]
# **What the figure shows.** A random rank-one update creates exactly one intruder as
# soon as its size enters the top-10 window of W₀'s spectrum (above σ₁₀, well before it
# passes σ₁), and keeps exactly one however large it grows: the new top singular vector
# points in a direction no pretrained singular vector resembles. The claim of the brief
# ("larger than W's singular values already creates intruders") is **reproduced**, and
# the threshold is lower than stated: larger than the k-th singular value suffices. Along
# W₀'s own top direction the same update never intrudes. A dense Gaussian update of equal
# Frobenius norm spreads over all n directions (its spectral norm is only about 2/√n of
# its Frobenius norm), so it leaves the top-10 vectors recognizable until it is several
# times larger — and then rotates many of them at once. Intruders are the signature of an
# update that is *low rank and large relative to the spectrum*, which is LoRA's regime.
# The count grows with ε (right), which is why the suite plots the count against ε rather
# than quoting one threshold.
#
# ## Take-aways
#
# * The MP fit is accurate at the edge and, with the Tracy–Widom margin, silent on pure
#   noise; detection starts slightly above the BBP threshold at finite size.
# * The power-law MLE is calibrated on clean tails; fingers bias it (downwards in these
#   synthetic samples), and `fix_fingers=True` repairs it.
# * No single rank metric is "the" rank: σ-based effective rank counts the bulk, σ²-based
#   metrics count the top, and only the MP test separates signal from noise.
