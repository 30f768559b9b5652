"""Sweep trials for the spectral-toolkit notebook (``04_spectral_toolkit``).

Each function is a module-level trial for :func:`lowrank_lab.experiments.run_sweep`:
called as ``trial(**config, seed=seed)``, it returns a dict of scalars (one row).
Matrices are built on the host with NumPy (the fits work on host eigenvalues).

Examples
--------
>>> row = spiked_noise_trial(n_rows=200, n_cols=100, n_spikes=2, strength=3.0, seed=0)
>>> row["n_detected"], row["n_spikes"]
(2, 2)
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .. import spectral
from .._validation import check_float, check_int, check_memory

__all__ = ["bbp_threshold", "pareto_powerlaw_trial", "spiked_eigenvalue", "spiked_noise_trial", "spiked_noise_matrix",
           "spiked_overlap_trial", "top_noise_eigenvalue_trial", "intruder_update_trial", "INTRUDER_EPS_GRID"]


def bbp_threshold(n_rows: int, n_cols: int) -> float:
    """Signal strength theta at which a spike separates from the MP bulk: ``(M / N)^(1/4)``.

    For ``W / sqrt(N) = X / sqrt(N) + theta u v^T`` with unit ``u``, ``v`` and i.i.d.
    unit-variance noise ``X`` (N x M, N >= M): the BBP transition of the rectangular
    spiked model (Benaych-Georges and Nadakuditi, 2012).
    """
    n, m = max(n_rows, n_cols), min(n_rows, n_cols)
    return (m / n) ** 0.25


def spiked_eigenvalue(theta: float, n_rows: int, n_cols: int) -> float:
    """Limit of a spike's eigenvalue in the :func:`lowrank_lab.spectral.esd` normalization.

    ``(1 + theta^2)(c + theta^2) / theta^2`` with ``c = M / N`` above the BBP threshold,
    the MP edge ``(1 + sqrt(c))^2`` below it.
    """
    n, m = max(n_rows, n_cols), min(n_rows, n_cols)
    c = m / n
    if theta <= c**0.25:
        return (1 + math.sqrt(c)) ** 2
    return (1 + theta**2) * (c + theta**2) / theta**2


def spiked_noise_matrix(n_rows: int, n_cols: int, n_spikes: int, strength: float, rng) -> np.ndarray:
    """``X + sqrt(N) * strength * sum_i u_i v_i^T``: unit-variance Gaussian noise plus orthogonal spikes."""
    n_rows = check_int(n_rows, "n_rows", low=1)
    n_cols = check_int(n_cols, "n_cols", low=1)
    check_memory(8 * 2 * n_rows * n_cols, "n_rows, n_cols", f"a dense {n_rows} x {n_cols} noise matrix (float64, twice)")
    n = max(n_rows, n_cols)
    X = rng.standard_normal((n_rows, n_cols))
    if n_spikes:
        U = np.linalg.qr(rng.standard_normal((n_rows, n_spikes)))[0]
        V = np.linalg.qr(rng.standard_normal((n_cols, n_spikes)))[0]
        X = X + math.sqrt(n) * strength * (U @ V.T)
    return X


def spiked_noise_trial(*, n_rows: int, n_cols: int, n_spikes: int, strength: float, seed: int,
                       tw_quantile: float = 0.999) -> dict:
    """Fit Marchenko-Pastur to noise plus ``n_spikes`` planted spikes of one strength.

    Returns the fitted variance (truth 1), the fitted and theoretical bulk edges, the
    number of detected spikes, and the mean detected spike location against the BBP
    prediction.
    """
    n_rows = check_int(n_rows, "n_rows", low=2)
    n_cols = check_int(n_cols, "n_cols", low=2)
    n_spikes = check_int(n_spikes, "n_spikes", low=0, high=min(n_rows, n_cols) // 4)
    strength = check_float(strength, "strength", low=0.0)
    rng = np.random.default_rng(seed)
    W = spiked_noise_matrix(n_rows, n_cols, n_spikes, strength, rng)
    fit = spectral.fit_marchenko_pastur(W, tw_quantile=tw_quantile)
    q = max(n_rows, n_cols) / min(n_rows, n_cols)
    return {
        "variance": fit.variance,
        "lambda_plus": fit.lambda_plus,
        "lambda_plus_theory": spectral.marchenko_pastur_edge(q)[1],
        "threshold": fit.threshold,
        "n_spikes": n_spikes,
        "n_detected": fit.n_spikes,
        "top_eigenvalue": fit.lambda_max,
        "spike_prediction": spiked_eigenvalue(strength, n_rows, n_cols) if n_spikes else math.nan,
        "theta_over_bbp": strength / bbp_threshold(n_rows, n_cols),
    }


def pareto_powerlaw_trial(*, alpha: float, n: int, n_fingers: int = 0, finger_scale: float = 50.0,
                          seed: int) -> dict:
    """Fit ``powerlaw_alpha`` to ``n`` Pareto eigenvalues of density exponent ``alpha`` (xmin = 1).

    ``n_fingers`` outliers at ``finger_scale`` to ``1.5 * finger_scale`` times the largest
    sample are appended; the row reports the plain fit and the ``fix_fingers`` fit.
    """
    alpha = check_float(alpha, "alpha", low=1.0, low_inclusive=False)
    n = check_int(n, "n", low=10)
    n_fingers = check_int(n_fingers, "n_fingers", low=0, high=10)
    rng = np.random.default_rng(seed)
    eigenvalues = rng.pareto(alpha - 1.0, n) + 1.0  # pdf ~ x^-alpha on [1, inf)
    if n_fingers:
        top = eigenvalues.max()
        eigenvalues = np.concatenate([eigenvalues, top * np.linspace(finger_scale, 1.5 * finger_scale, n_fingers)])
    plain = spectral.powerlaw_alpha(eigenvalues)
    fixed = spectral.powerlaw_alpha(eigenvalues, fix_fingers=True)
    return {
        "alpha_true": alpha,
        "alpha_hat": plain.alpha,
        "sigma": plain.sigma,
        "xmin": plain.xmin,
        "n_tail": plain.n_tail,
        "alpha_fixed": fixed.alpha,
        "sigma_fixed": fixed.sigma,
        "n_fingers_found": fixed.n_fingers,
        "z_plain": (plain.alpha - alpha) / plain.sigma,
        "z_fixed": (fixed.alpha - alpha) / fixed.sigma,
    }


def spiked_overlap_trial(*, n_rows: int, n_cols: int, strength: float, seed: int) -> dict:
    """One planted spike of strength ``theta``: top eigenvalue and squared overlaps of the top singular pair.

    ``W = X + sqrt(N) theta u v^T`` (:func:`spiked_noise_matrix` with one spike).  Returns
    the top eigenvalue of ``W^T W / N``, the squared overlaps ``<v_hat, v>^2`` (columns,
    the ESD side) and ``<u_hat, u>^2`` (rows) with their large-matrix limits
    (:func:`lowrank_lab.spectral.spiked_overlap`), and ``theta / theta_BBP``.

    Examples
    --------
    >>> row = spiked_overlap_trial(n_rows=400, n_cols=200, strength=3.0, seed=0)
    >>> row["overlap_columns"] > 0.9, round(row["overlap_columns_theory"], 3)
    (True, 0.942)
    """
    n_rows = check_int(n_rows, "n_rows", low=2)
    n_cols = check_int(n_cols, "n_cols", low=2)
    strength = check_float(strength, "strength", low=0.0)
    check_memory(8 * 3 * n_rows * n_cols, "n_rows, n_cols", f"a dense {n_rows} x {n_cols} matrix and its SVD")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, n_cols))
    u = np.linalg.qr(rng.standard_normal((n_rows, 1)))[0][:, 0]
    v = np.linalg.qr(rng.standard_normal((n_cols, 1)))[0][:, 0]
    n = max(n_rows, n_cols)
    W = X + math.sqrt(n) * strength * np.outer(u, v)
    U, S, Vt = np.linalg.svd(W, full_matrices=False)
    col_vec, row_vec = (Vt[0], U[:, 0]) if n_rows >= n_cols else (U[:, 0], Vt[0])
    col_truth, row_truth = (v, u) if n_rows >= n_cols else (u, v)
    return {
        "theta_over_bbp": strength / bbp_threshold(n_rows, n_cols),
        "top_eigenvalue": float(S[0] ** 2 / n),
        "eigenvalue_theory": spiked_eigenvalue(strength, n_rows, n_cols),
        "overlap_columns": float(col_vec @ col_truth) ** 2,
        "overlap_rows": float(row_vec @ row_truth) ** 2,
        "overlap_columns_theory": spectral.spiked_overlap(strength, n_rows, n_cols, side="columns"),
        "overlap_rows_theory": spectral.spiked_overlap(strength, n_rows, n_cols, side="rows"),
    }


def top_noise_eigenvalue_trial(*, n_rows: int, n_cols: int, seed: int) -> dict:
    """Largest eigenvalue of ``W^T W / N`` for white unit-variance Gaussian noise, and its Tracy-Widom statistic.

    ``tw_statistic = (lambda_max - center) / scale`` with Johnstone's centre and scale
    (:func:`lowrank_lab.spectral.tracy_widom_scaling`); it converges in law to TW1.

    Examples
    --------
    >>> row = top_noise_eigenvalue_trial(n_rows=200, n_cols=100, seed=0)
    >>> -6 < row["tw_statistic"] < 6
    True
    """
    n_rows = check_int(n_rows, "n_rows", low=2)
    n_cols = check_int(n_cols, "n_cols", low=2)
    check_memory(8 * 2 * n_rows * n_cols, "n_rows, n_cols", f"a dense {n_rows} x {n_cols} noise matrix")
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((n_rows, n_cols))
    n = max(n_rows, n_cols)
    top = float(np.linalg.svd(W, compute_uv=False)[0] ** 2 / n)
    center, scale = spectral.tracy_widom_scaling(n_rows, n_cols)
    return {"top_eigenvalue": top, "tw_center": center, "tw_scale": scale, "tw_statistic": (top - center) / scale,
            "mp_edge": spectral.marchenko_pastur_edge(n / min(n_rows, n_cols))[1]}


#: Thresholds at which :func:`intruder_update_trial` also counts intruders (columns ``intruders_eps0.10`` ...).
INTRUDER_EPS_GRID = tuple(round(0.1 + 0.05 * i, 2) for i in range(17))


def intruder_update_trial(*, n: int, update: str, size: float, seed: int, k: int = 10, eps: float = 0.5,
                          decay: float = 1.0, base_seed: int = 11) -> dict:
    """Intruder dimensions of ``W0 + dW`` for one constructed update (study E1, cause (a)).

    ``W0 = U0 diag(i^-decay) V0^T`` (``n x n``, random orthogonal factors from
    ``base_seed``, the same for every trial, so ``sigma_1(W0) = 1``).  The update, drawn
    from ``seed``, has Frobenius norm ``size``:

    * ``"random rank one"``: ``size * v w^T`` with random unit ``v``, ``w``;
    * ``"aligned rank one"``: ``size * u0_1 v0_1^T`` along ``W0``'s top pair;
    * ``"dense full rank"``: a Gaussian matrix scaled to Frobenius norm ``size``.

    Returns the intruder count among the top ``k`` at ``eps`` and at every threshold of
    :data:`INTRUDER_EPS_GRID` (columns ``intruders_eps0.10``, ...), and the spectral
    norm of the update over ``sigma_1(W0)``.

    Examples
    --------
    >>> intruder_update_trial(n=40, update="random rank one", size=3.0, seed=0)["intruders"]
    1
    """
    n = check_int(n, "n", low=k + 1)
    size = check_float(size, "size", low=0.0)
    if update not in ("random rank one", "aligned rank one", "dense full rank"):
        raise ValueError(f"update must be 'random rank one', 'aligned rank one' or 'dense full rank', got {update!r}")
    U0, V0, W0 = _intruder_base(n, float(decay), int(base_seed))
    g = np.random.default_rng(seed)
    if update == "random rank one":
        v, w = g.standard_normal(n), g.standard_normal(n)
        dW = size * np.outer(v / np.linalg.norm(v), w / np.linalg.norm(w))
    elif update == "aligned rank one":
        dW = size * np.outer(U0[:, 0], V0[:, 0])
    else:
        D = g.standard_normal((n, n))
        dW = size * D / np.linalg.norm(D)
    grid = np.asarray(sorted({*INTRUDER_EPS_GRID, float(eps)}))
    res = spectral.intruder_dimensions(W0 + dW, W0, k=k, eps=grid, base_vectors=U0)
    counts = dict(zip(grid.tolist(), np.asarray(res.count).tolist()))
    out = {"intruders": int(counts[float(eps)]), "update_spectral_norm": float(np.linalg.norm(dW, 2))}
    out.update({f"intruders_eps{e:.2f}": int(counts[e]) for e in INTRUDER_EPS_GRID})
    return out


@functools.lru_cache(maxsize=4)
def _intruder_base(n: int, decay: float, base_seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    base = np.random.default_rng(base_seed)
    U0 = np.linalg.qr(base.standard_normal((n, n)))[0]
    V0 = np.linalg.qr(base.standard_normal((n, n)))[0]
    sigma = 1.0 / np.arange(1, n + 1) ** decay
    return U0, V0, (U0 * sigma) @ V0.T
