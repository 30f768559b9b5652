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
# # 00 · A tour of low rank: spectra, rank metrics and randomized SVD
#
# **Question.** What does "low rank" look like in a spectrum, how do the usual rank
# metrics read the same spectrum differently, and how much accuracy does a randomized
# SVD trade for its speed?
#
# This is the teaching tour of the suite. It builds matrices with chosen spectra using
# `lowrank_lab.matrices.low_rank_matrix`, computes every metric of
# `lowrank_lab.spectral` (one documented definition per metric; papers in `docs/references.md`), and
# measures `lowrank_lab.linalg.randomized_svd` (Halko, Martinsson and Tropp, 2011)
# against the exact SVD on the selected backend (`LOWRANK_BACKEND=numpy|cupy`).
#
# **Claims checked here** (study design, study D):
# * D-1: on flat rank-r spectra, effective rank = stable rank = participation ratio = r
#   exactly; on power-law and geometric spectra the σ and σ² conventions diverge.
# * D-5: the rank-k error of a randomized SVD, ‖A − Â_k‖₂ / σ_{k+1} (≥ 1 by
#   Eckart–Young), is "2.2–2.4 at q = 0 and 1.03–1.07 at q = 2" on slow decay (pilot:
#   2000 × 1000, p = 10, σ_i = i^−0.5, k ∈ {20, 50}); "with q ≥ 2 the randomized SVD
#   comes within about 1.1 σ_{k+1}, and q = 0 is much worse".
# * Halko, Martinsson & Tropp (2011), Theorem 10.6 / Corollary 10.10 with Theorem 9.3:
#   the expected rank-k error is at most
#   σ_{k+1} + [(1 + √(k/(p−1))) σ_{k+1}^{2q+1} + (e√(k+p)/p) (Σ_{j>k} σ_j^{2(2q+1)})^{1/2}]^{1/(2q+1)}
#   (`spectral.randomized_svd_error_bound`); the measured errors should lie below it.
#
# Every pass threshold is set in the parameters cell before the runs; every number in
# the text is generated from the computation; the verdict table at the end lists claim,
# statistic with its interval, threshold and verdict.

# %% tags=["parameters"]
import os

SMOKE = os.environ.get("LOWRANK_SMOKE") == "1"
N_ROWS, N_COLS = (200, 100) if SMOKE else (2000, 1000)  # randomized-SVD test matrices
TARGET_RANKS = (10,) if SMOKE else (20, 50)
POWER_ITERS = (0, 1, 2, 4, 7)
OVERSAMPLES = (0, 5, 10, 20)
N_SEEDS = 2 if SMOKE else 5
METRIC_SIZE = 120 if SMOKE else 400  # side of the matrices in the metric panels
# verdict thresholds, fixed before the runs
IDENTITY_TOL = 1e-8  # D-1: |erank - r|, |stable rank - r|, |PR - r| on a flat rank-r spectrum
Q0_MIN = 1.5  # D-5: "q = 0 is much worse": median ratio at q = 0 (slow decay, p = 10) above this
Q2_MAX = 1.1  # D-5: "q >= 2 within about 1.1 sigma_{k+1}": median ratio at q = 2 below this

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.sparse.linalg import LinearOperator, svds
from tqdm.auto import tqdm

from IPython.display import Markdown, display

from lowrank_lab import analysis, backend, linalg, spectral
from lowrank_lab.plotting import PALETTE, savefig, use_style
from lowrank_lab.matrices import low_rank_matrix

use_style()
xp = backend.get_namespace()
print(f"backend: {backend.backend_name(xp)}, GPU available: {backend.gpu_available()}, smoke: {SMOKE}")
VERDICTS = []


def caption(name, text):
    display(Markdown(f"*Figure (`figures/{name}.png`).* {text}"))

# %% [markdown]
# ## 1. Matrices with a chosen spectrum
#
# `low_rank_matrix(m, n, r, spectrum=s)` draws Haar-like orthonormal U and V (so the
# matrix is incoherent) and returns M = U diag(s) Vᵀ together with its factors. Four
# spectra of rank r = 50 that a reader meets again and again in the suite:
#
# * **flat**: σ_i = 1 for i ≤ r — an exactly rank-r matrix with no preferred direction;
# * **power law**: σ_i = i^−1 — the heavy-tailed shape of trained weights (study D3);
# * **geometric**: σ_i = 0.9^i — fast, "numerically low rank" decay;
# * **flat + noise**: the flat matrix plus Gaussian noise of entry size 0.02/√n, whose
#   singular values fill the tail up to the Marchenko–Pastur edge.

# %%
m = n = METRIC_SIZE
r = 50 if not SMOKE else 20
i = np.arange(1, r + 1)
spectra = {
    "flat": np.ones(r),
    "power law (i^-1)": 1.0 / i,
    "geometric (0.9^i)": 0.9**i,
}
matrices = {name: low_rank_matrix(m, n, r, spectrum=s, rng=0, xp=xp).matrix for name, s in spectra.items()}
noise = backend.random_normal((m, n), rng=1, like=matrices["flat"]) * (0.02 / np.sqrt(n))
matrices["flat + noise"] = matrices["flat"] + noise

LABEL = {"power law (i^-1)": r"power law $\sigma_i = i^{-1}$", "geometric (0.9^i)": r"geometric $\sigma_i = 0.9^{i}$",
         "slow (i^-0.5)": r"slow ($\sigma_i = i^{-1/2}$)", "fast (i^-2)": r"fast ($\sigma_i = i^{-2}$)"}
fig, ax = plt.subplots(figsize=(6.4, 3.8))
floors = {}
for (name, M), color in zip(matrices.items(), PALETTE):
    s = backend.to_numpy(spectral.singular_values(M))
    floors[name] = float(np.median(s[r:] / s[0]))
    ax.semilogy(np.arange(1, s.size + 1), np.maximum(s, 1e-17), ".-", ms=3, lw=1, label=LABEL.get(name, name),
                color=color)
ax.axvline(r, color="0.5", ls=":", lw=1)
ax.text(r * 1.06, 1e-8, f"$r = {r}$", color="0.3", fontsize=9)
ax.set(xlabel="index $i$", ylabel=r"singular value $\sigma_i$", title=f"Spectra of {m}×{n} matrices built with rank {r}")
ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
savefig(fig, "00_spectra")
plt.show()

# %%
caption("00_spectra",
        f"Singular values σ_i against their index i for four {m}×{n} matrices built with rank r = {r} "
        f"(`low_rank_matrix`, Haar-like factors): a flat spectrum, a power law i⁻¹, a geometric decay 0.9ⁱ, and the "
        f"flat matrix plus Gaussian noise of entry size 0.02/√n; the dotted line marks r. What to see: past index r "
        f"the exact matrices drop to round-off (median σ_i/σ₁ for i > r: "
        + ", ".join(f"{k}: {v:.0e}" for k, v in floors.items() if k != "flat + noise")
        + f") while the noisy one keeps a floor at {floors['flat + noise']:.0e}: 'rank' is a question of threshold.")

# %% [markdown]
# The metrics below are different, documented answers to that question.
#
# ## 2. One spectrum, seven numbers
#
# | metric | uses | definition |
# |---|---|---|
# | effective rank (Roy–Vetterli) | σ | exp(entropy of p_i = σ_i/Σσ_j) |
# | stable rank | σ² | Σσ_i² / σ₁² |
# | participation ratio | σ² | (Σσ_i²)² / Σσ_i⁴ |
# | numerical rank | σ | #{σ_i > σ₁ · max(m, n) · eps} (NumPy's convention) |
# | ε-rank (ε = 1e-3) | σ | #{σ_i > ε σ₁} |
# | energy rank (τ = 0.9) | σ² | smallest k with Σ_{i≤k}σ_i² ≥ τ Σσ_i² |
# | spectral entropy | σ² | −Σ q_i ln q_i / ln(rank), q_i = σ_i²/Σσ² (WeightWatcher's normalized entropy, not a rank) |

# %%
def metric_row(name, M):
    return {
        "matrix": name,
        "effective_rank": spectral.effective_rank(M),
        "stable_rank": spectral.stable_rank(M),
        "participation_ratio": spectral.participation_ratio(M),
        "numerical_rank": spectral.numerical_rank(M),
        "eps_rank_1e-3": spectral.numerical_rank(M, rtol=1e-3),
        "energy_rank_0.9": spectral.energy_rank(M, energy=0.9),
        "spectral_entropy": spectral.spectral_entropy(M),
    }


table = pd.DataFrame([metric_row(name, M) for name, M in matrices.items()]).set_index("matrix")
table.round(2)

# %%
flat = table.loc["flat"]
identity_gap = max(abs(flat[c] - r) for c in ("effective_rank", "stable_rank", "participation_ratio"))
print(f"flat rank-{r}: max |metric - r| over erank, stable rank, PR = {identity_gap:.2e}")
VERDICTS.append({"claim": "D-1: flat rank-r spectrum: effective rank = stable rank = PR = r",
                 "statistic": "max |metric − r| over the three", "estimate": identity_gap,
                 "threshold": f"< {IDENTITY_TOL:g}", "ok": identity_gap < IDENTITY_TOL})
nz, fl = table.loc["flat + noise"], table.loc["flat"]
pl = table.loc["power law (i^-1)"]
display(Markdown(
    f"On the flat spectrum all three continuous ranks equal r = {r} to {identity_gap:.0e} — the D-1 identity. On "
    f"the others they disagree systematically: on the power law the σ-based effective rank is "
    f"{pl['effective_rank']:.1f}, the σ²-based stable rank {pl['stable_rank']:.1f} and participation ratio "
    f"{pl['participation_ratio']:.1f} (dominated by the top few). Thresholded counts depend on where the threshold "
    f"sits against the noise: noise of entry size 0.02/√n makes the noisy matrix \"full rank\" for the numerical "
    f"rank ({int(fl['numerical_rank'])} → {int(nz['numerical_rank'])}) and also moves the ε-rank at ε = 10⁻³ "
    f"({int(fl['eps_rank_1e-3'])} → {int(nz['eps_rank_1e-3'])}: the noise singular values, about "
    f"{floors['flat + noise']:.0e} σ₁, lie {'above' if floors['flat + noise'] > 1e-3 else 'below'} 10⁻³ σ₁), while the energy rank "
    f"({int(fl['energy_rank_0.9'])} → {int(nz['energy_rank_0.9'])}) and the continuous ranks barely move "
    f"(stable rank {fl['stable_rank']:.1f} → {nz['stable_rank']:.1f}), because they weigh the tail by its "
    f"energy."))

# %% [markdown]
# The divergence between conventions is easiest to see on a family: power laws
# σ_i = i^−γ with growing γ.

# %%
gammas = np.linspace(0.0, 2.0, 9 if SMOKE else 21)
rows = []
for gamma in gammas:
    s = np.arange(1, r + 1) ** -gamma
    s_xp = backend.asarray(s, xp=xp)  # metrics also accept precomputed singular values (1-D input)
    rows.append(
        {
            "gamma": gamma,
            "effective rank (σ)": spectral.effective_rank(s_xp),
            "stable rank (σ²)": spectral.stable_rank(s_xp),
            "participation ratio (σ²)": spectral.participation_ratio(s_xp),
            "energy rank τ=0.9 (σ²)": spectral.energy_rank(s_xp, energy=0.9),
        }
    )
family = pd.DataFrame(rows)

fig, ax = plt.subplots(figsize=(6.4, 3.8))
for col, color, marker in zip(family.columns[1:], PALETTE, "osD^"):
    ax.plot(family["gamma"], family[col], marker=marker, ms=3.5, label=col, color=color)
ax.set(xlabel=r"power-law exponent $\gamma$  ($\sigma_i = i^{-\gamma}$, $i \leq r$)", ylabel="rank estimate",
       yscale="log", title=f"Rank metrics disagree as the spectrum steepens (r = {r})")
ax.axhline(r, color="0.5", ls=":", lw=1)
ax.legend()
savefig(fig, "00_rank_metrics")
plt.show()
display(family.round(2).iloc[:: max(1, len(family) // 5)])

# %%
at1 = family.iloc[(family["gamma"] - 1.0).abs().argmin()]
caption("00_rank_metrics",
        f"Four rank metrics of the power-law spectra σ_i = i^−γ, i ≤ r = {r}, against γ (log scale; dotted: r). What to "
        f"see: at γ = 0 every metric equals r; at γ = {at1['gamma']:.1f} the σ-based effective rank is "
        f"{at1['effective rank (σ)']:.1f} while the σ²-based stable rank and participation ratio are "
        f"{at1['stable rank (σ²)']:.1f} and {at1['participation ratio (σ²)']:.1f} — a factor "
        f"{at1['effective rank (σ)'] / at1['stable rank (σ²)']:.1f} between two 'ranks' of the same matrix; "
        f"report which one you use.")

# %% [markdown]
# ## 3. Randomized SVD: oversampling p and power iterations q
#
# `randomized_svd(A, k, n_oversamples=p, n_power_iter=q)` sketches the range of A with
# k + p Gaussian test vectors, sharpens it by q rounds of (AAᵀ) with a QR
# re-orthonormalization after every product, and solves a small exact SVD. We measure
# the rank-k error relative to its optimum, ‖A − Â_k‖₂ / σ_{k+1} ≥ 1, on a slowly
# (σ_i = i^−0.5) and a quickly (σ_i = i^−2) decaying spectrum, for every target rank k
# and N_SEEDS seeds, and draw Halko et al.'s bound on its expectation (dashed, defined
# for p ≥ 2). The spectral norm of each residual is computed on the host by Lanczos
# (`scipy.sparse.linalg.svds`) on the implicit residual A − U S Vᵀ: an evaluation step,
# not part of the method.

# %%
def decaying(rate, seed=0):
    q_min = min(N_ROWS, N_COLS)
    s = np.arange(1, q_min + 1, dtype=float) ** -rate
    return low_rank_matrix(N_ROWS, N_COLS, q_min, spectrum=s, rng=seed, xp=xp).matrix, s


def randomized_svd_bound(d, k, p, q):
    """Halko et al.'s bound on E||A - A_k|| / sigma_{k+1} for the test matrix of decay d."""
    _, s = test_matrices[d]
    return spectral.randomized_svd_error_bound(s, k, p, q, truncated=True) / s[k]


def residual_norm(A_host, res):
    """‖A − U diag(S) Vt‖₂ by Lanczos on the implicit residual (no dense SVD per trial)."""
    U, S, Vt = (backend.to_numpy(a) for a in res)
    op = LinearOperator(
        A_host.shape,
        matvec=lambda x: A_host @ x.ravel() - U @ (S * (Vt @ x.ravel())),
        rmatvec=lambda y: A_host.T @ y.ravel() - Vt.T @ (S * (U.T @ y.ravel())),
        dtype=A_host.dtype,
    )
    return float(svds(op, k=1, return_singular_vectors=False, tol=1e-6, random_state=0)[0])


records = []
decays = {"slow (i^-0.5)": 0.5, "fast (i^-2)": 2.0}
grid = [(d, k, p, q) for d in decays for k in TARGET_RANKS for p in OVERSAMPLES for q in POWER_ITERS]
test_matrices = {d: decaying(rate) for d, rate in decays.items()}
for d, k, p, q in tqdm(grid, desc="randomized SVD grid"):
    A, s = test_matrices[d]
    A_host = backend.to_numpy(A)
    for seed in range(N_SEEDS):
        res = linalg.randomized_svd(A, k, n_oversamples=p, n_power_iter=q, rng=seed)
        err = residual_norm(A_host, res)
        records.append({"decay": d, "k": k, "p": p, "q": q, "seed": seed, "ratio": err / s[k]})
rsvd = pd.DataFrame(records)
summary = rsvd.groupby(["decay", "k", "p", "q"])["ratio"].median().unstack("q")
summary.round(3)

# %%
bounds = {(d, k, p, q): randomized_svd_bound(d, k, p, q) for d in decays for k in TARGET_RANKS for p in OVERSAMPLES
          for q in POWER_ITERS if p >= 2}
fig, axes = plt.subplots(len(TARGET_RANKS), 2, figsize=(9.6, 3.4 * len(TARGET_RANKS)), squeeze=False)
for row, k_show in enumerate(TARGET_RANKS):
    for ax, d in zip(axes[row], decays):
        for p, color, marker in zip(OVERSAMPLES, PALETTE, "osD^"):
            sub = rsvd[(rsvd.decay == d) & (rsvd.k == k_show) & (rsvd.p == p)]
            med = sub.groupby("q")["ratio"].median()
            lo, hi = sub.groupby("q")["ratio"].min(), sub.groupby("q")["ratio"].max()
            ax.plot(med.index, med.values, marker=marker, ms=3.5, color=color, label=f"$p = {p}$")
            ax.fill_between(med.index, lo.values, hi.values, color=color, alpha=0.15, lw=0)
            if p >= 2:
                ax.plot(POWER_ITERS, [bounds[(d, k_show, p, q)] for q in POWER_ITERS], color=color, ls="--", lw=0.9)
        ax.axhline(1.0, color="0.3", lw=0.8)
        ax.axhline(Q2_MAX, color="0.5", ls=":", lw=0.8)
        ax.set_yscale("log")
        ax.set_xticks(POWER_ITERS)
        ax.set(xlabel="power iterations $q$", title=f"{LABEL[d]} decay, $k = {k_show}$")
        ax.set_ylabel(r"$\|A - \hat A_k\|_2 \,/\, \sigma_{k+1}$")
axes[0, 0].plot([], [], "k--", lw=0.9, label="Halko et al. bound")
axes[0, 0].legend(fontsize=8, ncol=2)
fig.suptitle(f"Randomized SVD accuracy on {N_ROWS}×{N_COLS} matrices ({backend.backend_name(xp)}; "
             f"median and min–max over {N_SEEDS} seeds; dashed: expected-error bound)", y=1.01)
fig.tight_layout()
savefig(fig, "00_randomized_svd")
plt.show()

# %%
slow = "slow (i^-0.5)"
pilot = {}
for k in TARGET_RANKS:
    sub = rsvd[(rsvd.decay == slow) & (rsvd.k == k) & (rsvd.p == 10)]
    pilot[k] = (analysis.bootstrap_ci(sub[sub.q == 0]["ratio"], "median"),
                analysis.bootstrap_ci(sub[sub.q == 2]["ratio"], "median"))
means = rsvd.groupby(["decay", "k", "p", "q"])["ratio"].mean()
below = [(key, means[key], b) for key, b in bounds.items()]
n_below = sum(m <= b for _, m, b in below)
worst = max(below, key=lambda v: v[1] / v[2])
for k, (q0, q2) in pilot.items():
    print(f"slow decay, p = 10, k = {k}: ratio {analysis.format_ci(*q0, digits=3)} at q = 0, "
          f"{analysis.format_ci(*q2, digits=3)} at q = 2 (pilot: 2.2–2.4 and 1.03–1.07)")
print(f"mean measured ratio below Halko et al.'s bound in {n_below}/{len(below)} settings (p >= 2); closest: "
      f"{worst[0]} measured {worst[1]:.3f} vs bound {worst[2]:.3f}")
k_worst_q0 = min(pilot, key=lambda k: pilot[k][0][0])
k_worst_q2 = max(pilot, key=lambda k: pilot[k][1][0])
VERDICTS += [
    {"claim": "D-5: q = 0 is much worse (slow decay, p = 10)", "statistic": f"median ratio at q = 0, k = {k_worst_q0} "
     "(smallest over k)", "estimate": pilot[k_worst_q0][0], "threshold": f"> {Q0_MIN:g}",
     "ok": all(v[0][0] > Q0_MIN for v in pilot.values())},
    {"claim": "D-5: q ≥ 2 comes within about 1.1 σ_{k+1} (slow decay, p = 10)",
     "statistic": f"median ratio at q = 2, k = {k_worst_q2} (largest over k)", "estimate": pilot[k_worst_q2][1],
     "threshold": f"< {Q2_MAX:g}", "ok": all(v[1][0] < Q2_MAX for v in pilot.values())},
    {"claim": "Halko et al.: the expected error lies below the bound", "statistic": "settings (decay, k, p ≥ 2, q) "
     "whose mean measured ratio is below the bound", "estimate": f"{n_below}/{len(below)}",
     "threshold": "all", "ok": n_below == len(below)},
]
display(analysis.verdict_table(VERDICTS[-3:]))

# %%
fast = "fast (i^-2)"
loose = {q: bounds[(slow, TARGET_RANKS[0], 10, q)] / means[(slow, TARGET_RANKS[0], 10, q)] for q in (0, 2)}
f20 = {(p, q): rsvd[(rsvd.decay == fast) & (rsvd.k == TARGET_RANKS[0]) & (rsvd.p == p) & (rsvd.q == q)]["ratio"].median()
       for p in OVERSAMPLES for q in POWER_ITERS}
caption("00_randomized_svd",
        f"The rank-k error of `randomized_svd` relative to the optimum σ_(k+1), ‖A − Â_k‖₂/σ_(k+1) (log scale; "
        f"median and min–max over {N_SEEDS} seeds), against the number of power iterations q, one line per "
        f"oversampling p; rows: k = {', '.join(map(str, TARGET_RANKS))}; columns: slow (σ_i = i^−0.5) and fast "
        f"(σ_i = i^−2) decay; {N_ROWS}×{N_COLS} matrices. Dashed: Halko, Martinsson & Tropp's bound on the expected "
        f"error (Thm 10.6, Cor 10.10 with Thm 9.3; p ≥ 2); dotted: 1.1. What to see: on the slow spectrum a single "
        f"sketch is far from optimal whatever p (median "
        + ", ".join(f"{v[0][0]:.2f} at k = {k}" for k, v in pilot.items())
        + f", p = 10, q = 0) and two power iterations bring it to "
        + ", ".join(f"{v[1][0]:.3f}" for v in pilot.values())
        + f"; on the fast spectrum oversampling does most of the work (k = {TARGET_RANKS[0]}, q = 0: "
        f"{f20[(OVERSAMPLES[-1], 0)]:.3f} at p = {OVERSAMPLES[-1]}, {f20[(OVERSAMPLES[0], 0)]:.3g} at "
        f"p = {OVERSAMPLES[0]}). The mean measured error is below the bound in {n_below} of {len(below)} settings; "
        f"the bound over the measured mean is {loose[0]:.2f} at q = 0 and {loose[2]:.2f} at q = 2 (slow decay, "
        f"k = {TARGET_RANKS[0]}, p = 10).")

# %% [markdown]
# ## 4. What it costs
#
# Time of the randomized SVD against the exact thin SVD on the selected backend (on a
# GPU, set `LOWRANK_BACKEND=cupy`; the first call includes CUDA warm-up, so we time the
# second).

# %%
def best_time(fn, repeat=3):
    fn()
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        backend.to_numpy(out[1])  # forces completion on a GPU
        best = min(best, time.perf_counter() - t0)
    return best


A, s = test_matrices[slow]
k = TARGET_RANKS[-1]
timings = pd.DataFrame(
    [
        {"method": "exact thin SVD", "seconds": best_time(lambda: linalg.svd(A))},
        *[
            {"method": f"randomized, p=10, q={q}",
             "seconds": best_time(lambda q=q: linalg.randomized_svd(A, k, n_oversamples=10, n_power_iter=q, rng=0))}
            for q in (0, 2, 7)
        ],
    ]
)
timings["speed-up vs exact"] = timings["seconds"].iloc[0] / timings["seconds"]
display(timings.round(4))

# %% [markdown]
# ## Take-aways and verdict table
#
# One row per claim; the thresholds were fixed in the parameters cell before the runs.

# %%
verdicts = analysis.verdict_table(VERDICTS)
display(verdicts)
q2 = timings.set_index("method").loc["randomized, p=10, q=2"]
display(Markdown(
    f"* A \"rank\" is a threshold on a spectrum. The suite fixes one definition per metric (`lowrank_lab.spectral`, "
    f"each docstring says whether it uses σ or σ²) and reports which one a figure uses.\n"
    f"* Flat spectra make all continuous ranks agree (to {identity_gap:.0e}); realistic spectra do not (a factor "
    f"{at1['effective rank (σ)'] / at1['stable rank (σ²)']:.1f} between effective and stable rank at γ = 1).\n"
    f"* Randomized SVD with q = 2 power iterations and p = 10 is within a factor "
    f"{max(v[1][0] for v in pilot.values()):.3f} of the optimal rank-k error on the slowly decaying spectrum, "
    f"{q2['speed-up vs exact']:.1f}× faster than the exact thin SVD here ({backend.backend_name(xp)}, "
    f"{N_ROWS}×{N_COLS}, k = {TARGET_RANKS[-1]}); Halko et al.'s bound holds in {n_below} of {len(below)} settings. "
    f"The benchmark `benchmarks/bench_svd.py` compares it with scikit-learn.\n"
    f"* {int((verdicts['verdict'] == analysis.verdict(True)).sum())} of {len(verdicts)} claims reproduced."))
