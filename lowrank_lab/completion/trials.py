"""Trial functions for the matrix-completion sweeps of notebook ``03_matrix_completion``.

Each trial is an importable module-level function called by
:func:`lowrank_lab.experiments.run_sweep` as ``trial(**config, seed=seed)``; it
returns a dict of scalars (one row) or a DataFrame (a curve).

* **Solvers** are named as in :data:`lowrank_lab.completion.SOLVERS` (``"altmin"``,
  ``"soft_impute"``, ``"svt"``, ``"svp"``, ``"scaled_gd"``); variants are keyword
  options of the solver (``solve="cg", cg_iters=2``, ``perturbation=1e-3``), passed
  through the trial's ``**options`` and refused, naming them, when the solver does
  not take them (a typo never silently changes only the cache key).
  :func:`variant_label` turns a config into a display name.
* **Seeds** (:func:`lowrank_lab.backend.trial_streams`): streams ``truth``, ``sample``
  and ``solver``, so every solver sees the same problem for a seed and no stream is
  shared between the data and the solver.
* The array backend is the one named by ``LOWRANK_BACKEND`` (default NumPy).

How the trials call each solver (documented choices of the study, see
:data:`STUDY_SETTINGS`): ``soft_impute`` gets ``2 * rank`` as its maximum rank with
``reg = 1e-6 ||P_Omega(M)||`` and ``tol = 1e-12`` (the nuclear-norm solution, as
rank-capped softImpute, of a noiseless problem); ``svt`` chooses its rank itself (its
cap stays at the default); every other solver gets ``rank``.

Examples
--------
>>> row = recovery_trial(n=30, rank=2, oversampling=4.0, seed=0)
>>> row["success"], row["dof"]
(True, 116)
>>> recovery_trial(n=30, rank=2, oversampling=4.0, seed=0, solve="cg", cg_iters=2)["success"]
True
"""

from __future__ import annotations

import functools
import math
import time
from typing import Any

import numpy as np
import pandas as pd

from .. import backend
from .._validation import check_choice, check_float, check_int, check_options
from ..matrices import coherent_low_rank_matrix, incoherence, low_rank_matrix
from .altmin import altmin
from .observations import sample_entries, train_test_split
from .registry import SOLVERS

__all__ = [
    "coverage_probability",
    "coverage_transition",
    "coherence_trial",
    "convergence_trial",
    "movielens_trial",
    "recovery_trial",
    "run_solver",
    "variant_label",
    "solver_trial",
    "timing_trial",
]


def _soft_impute_settings(obs: Any, rank: int) -> tuple[int, dict]:
    return 2 * rank, {"reg": 1e-6 * float(obs.xp.linalg.vector_norm(obs.values)), "tol": 1e-12}


def _svt_settings(obs: Any, rank: int) -> tuple[None, dict]:
    return None, {}


#: Per-solver rank argument and default options the trials use (overridable by options).
STUDY_SETTINGS = {"soft_impute": _soft_impute_settings, "svt": _svt_settings}


def run_solver(solver: str, obs: Any, rank: int, *, truth: Any, rng: Any, max_iter: int, **options: Any) -> Any:
    """Run ``completion.SOLVERS[solver]`` with the study's settings and the given options.

    Examples
    --------
    >>> from lowrank_lab.matrices import low_rank_matrix
    >>> from lowrank_lab.completion import sample_entries
    >>> truth = low_rank_matrix(30, 30, 2, rng=0)
    >>> obs = sample_entries(truth, p=0.5, rng=1)
    >>> run_solver("altmin", obs, 2, truth=truth, rng=0, max_iter=5, solve="cg").solver
    'altmin_cg'
    >>> run_solver("altmin", obs, 2, truth=truth, rng=0, max_iter=5, cg_iter=2)
    Traceback (most recent call last):
    ...
    TypeError: options has unknown key(s) ['cg_iter'] for altmin; it accepts [...]
    """
    check_choice(solver, "solver", tuple(SOLVERS))
    fn = SOLVERS[solver]
    options = check_options(fn, options, exclude=("truth", "rng", "max_iter"))
    rank_arg, defaults = STUDY_SETTINGS[solver](obs, rank) if solver in STUDY_SETTINGS else (rank, {})
    return fn(obs, rank_arg, truth=truth, rng=rng, max_iter=max_iter, **{**defaults, **options})


def variant_label(solver: str = "altmin", solve: Any = "exact", cg_iters: Any = 2, perturbation: Any = 0.0) -> str:
    """Display name of a solver configuration: ``"exact"``, ``"cg2"``, ``"eps0.001"`` or the solver's name.

    Missing values (NaN in a sweep frame, where a column belongs to another solver)
    take the solver's defaults.

    Examples
    --------
    >>> variant_label("altmin", "cg", 4.0), variant_label("altmin", perturbation=1e-3), variant_label("svp")
    ('cg4', 'eps0.001', 'svp')
    """
    if solver != "altmin":
        return solver
    solve = "exact" if _missing(solve) else solve
    if solve == "cg":
        return f"cg{2 if _missing(cg_iters) else int(cg_iters)}"
    eps = 0.0 if _missing(perturbation) else float(perturbation)
    return f"eps{eps:g}" if eps > 0 else "exact"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _streams(seed: int) -> Any:
    return backend.trial_streams(check_int(seed, "seed", low=0), "truth", "sample", "solver")


def recovery_trial(
    *,
    n: int,
    rank: int,
    oversampling: float,
    seed: int,
    solver: str = "altmin",
    m: int | None = None,
    max_iter: int = 50,
    threshold: float = 1e-4,
    **options: Any,
) -> dict:
    """One cell of the phase diagram (Jain, Netrapalli & Sanghavi 2013; Gu et al. 2023).

    An incoherent ``m x n`` rank-``rank`` truth (Haar singular vectors, unit singular
    values) is observed with probability ``p = oversampling * dof / (m n)`` per entry,
    where ``dof = rank (m + n - rank)``; success means relative error ``< threshold``
    after at most ``max_iter`` sweeps.  ``options`` go to the solver (e.g. ``solve="cg"``).
    """
    m = n if m is None else m
    rank = check_int(rank, "rank", low=1)
    oversampling = check_float(oversampling, "oversampling", low=0.0, low_inclusive=False)
    check_choice(solver, "solver", tuple(SOLVERS))
    check_options(SOLVERS[solver], options, exclude=("truth", "rng", "max_iter"))  # validate early
    g_truth, g_sample, g_solver = _streams(seed)
    xp = backend.get_namespace()
    dof = rank * (m + n - rank)
    p = min(1.0, oversampling * dof / (m * n))
    truth = low_rank_matrix(m, n, rank, rng=g_truth, xp=xp)
    obs = sample_entries(truth, p=p, rng=g_sample)
    t0 = time.perf_counter()
    res = run_solver(solver, obs, rank, truth=truth, rng=g_solver, max_iter=max_iter, **options)
    err = res.final("relative_error")
    return {
        "success": bool(err < threshold),
        "relative_error": float(err),
        "n_iter": int(res.n_iter),
        "stop_reason": res.stop_reason,
        "p": float(p),
        "n_observed": int(obs.nnz),
        "dof": int(dof),
        "theory_scale": float(rank * max(m, n) * math.log(max(m, n))),
        "time_s": time.perf_counter() - t0,
    }


def convergence_trial(
    *, n: int, rank: int, oversampling: float, seed: int, max_iter: int = 50, **options: Any
) -> pd.DataFrame:
    """Error against sweep for one AltMin variant (``options`` of :func:`~lowrank_lab.completion.altmin`).

    Returns the history: ``iteration``, ``relative_error``, ``train_rmse``, ``time_s``.
    """
    options = check_options(altmin, options, exclude=("truth", "rng", "max_iter", "tol"))
    g_truth, g_sample, g_solver = _streams(seed)
    xp = backend.get_namespace()
    truth = low_rank_matrix(n, n, rank, rng=g_truth, xp=xp)
    p = min(1.0, oversampling * rank * (2 * n - rank) / (n * n))
    obs = sample_entries(truth, p=p, rng=g_sample)
    res = altmin(obs, rank, truth=truth, rng=g_solver, max_iter=max_iter, tol=0.0, **options)
    return res.history[["iteration", "relative_error", "train_rmse", "time_s"]].copy()


def timing_trial(
    *, n: int, rank: int, n_observed: int, solve: str, seed: int, n_sweeps: int = 3, cg_iters: int = 2,
    m: int | None = None,
) -> dict:
    """Seconds per AltMin sweep (no convergence checks inside the timed sweeps).

    The truth is given by factors (never dense).  Times each of ``n_sweeps`` sweeps
    between callbacks, so initialization and metrics are excluded, and returns their
    median (``time_per_sweep_s``) and minimum (``best_sweep_s``, the less noisy number
    on a shared machine; ``gflops`` uses it).
    """
    m = n if m is None else m
    n_sweeps = check_int(n_sweeps, "n_sweeps", low=1)
    g_truth, g_sample, g_solver = _streams(seed)
    xp = backend.get_namespace()
    F = backend.random_normal((m, rank), rng=g_truth, xp=xp)
    G = backend.random_normal((n, rank), rng=g_truth, xp=xp)
    obs = sample_entries((F, G), n_observed=n_observed, rng=g_sample)
    stamps: list[float] = []

    def clock(it: int, state: dict) -> bool:
        if it >= 1:
            _sync(xp, state["factors"][0])
            stamps.append(time.perf_counter())
        return it >= n_sweeps + 1

    res = altmin(obs, rank, solve=solve, cg_iters=cg_iters, max_iter=n_sweeps + 2, tol=0.0,
                            check_every=10**9, history_stride=10**9, callback=clock, rng=g_solver)
    sweeps = np.diff(np.asarray(stamps))
    per_sweep, best = float(np.median(sweeps)), float(np.min(sweeps))
    ops = res.params["ops_per_sweep"]
    return {"time_per_sweep_s": per_sweep, "best_sweep_s": best, "ops_per_sweep": ops, "gflops": ops / best / 1e9,
            "n_observed": int(obs.nnz), "backend": backend.backend_name(xp)}


def _sync(xp: Any, x: Any) -> None:
    if backend.is_cupy(xp):  # pragma: no cover - needs a GPU
        float(xp.sum(x[:1, :1]))


def solver_trial(*, solver: str, n: int, rank: int, p: float, seed: int, max_iter: int = 200,
                 condition_number: float = 1.0, **options: Any) -> pd.DataFrame:
    """Error against iteration and time for one solver on one problem (ScaledGD's reference setup, Tong, Ma & Chi 2021).

    Returns the history with columns ``iteration``, ``time_s``, ``relative_error``,
    ``train_rmse`` and ``solver``.  ``time_s`` includes the per-iteration metric
    computation, the same for every solver.  ``options`` go to the solver.
    """
    g_truth, g_sample, g_solver = _streams(seed)
    xp = backend.get_namespace()
    truth = low_rank_matrix(n, n, rank, condition_number=condition_number, rng=g_truth, xp=xp)
    obs = sample_entries(truth, p=p, rng=g_sample)
    res = run_solver(solver, obs, rank, truth=truth, rng=g_solver, max_iter=max_iter, **options)
    out = res.history[["iteration", "time_s", "relative_error", "train_rmse"]].copy()
    out["solver"] = solver
    out["stop_reason"] = res.stop_reason
    return out


def coherence_trial(
    *, n: int, rank: int, p: float, exponent: float, seed: int, solver: str = "altmin", max_iter: int = 50,
    threshold: float = 1e-4, **options: Any,
) -> dict:
    """Recovery of a truth whose left singular vectors have power-law row norms (incoherence, Candès & Recht 2009)."""
    g_truth, g_sample, g_solver = _streams(seed)
    xp = backend.get_namespace()
    truth = coherent_low_rank_matrix(n, n, rank, exponent=exponent, rng=g_truth, xp=xp)
    obs = sample_entries(truth, p=p, rng=g_sample)
    res = run_solver(solver, obs, rank, truth=truth, rng=g_solver, max_iter=max_iter, **options)
    err = res.final("relative_error")
    return {"mu": incoherence(truth.left), "success": bool(err < threshold), "relative_error": float(err),
            "n_observed": int(obs.nnz), "empty_rows": int(backend.to_numpy(obs.row_counts == 0).sum())}


@functools.lru_cache(maxsize=4)
def _movielens_split(seed: int) -> tuple:
    from .ratings import movielens_observations, movielens_split  # noqa: PLC0415

    return movielens_split(movielens_observations(xp=backend.get_namespace()), seed=seed)


def movielens_trial(
    *, solver: str, rank: int, seed: int, max_iter: int = 30, subsample: float = 1.0, holdout: float = 0.0,
    **options: Any,
) -> dict:
    """Test RMSE / MAE of biases + ``solver`` on MovieLens (study C's protocol).

    ``seed`` picks the documented 80/20 split (:func:`lowrank_lab.completion.movielens_split`);
    the solver, the subsample and the hold-out draw from the trial's own streams
    (:func:`lowrank_lab.backend.trial_streams`), never from the split's.  ``solver`` is
    ``"bias"`` (biases only) or a name of :data:`lowrank_lab.completion.SOLVERS`, with its
    options (e.g. ``reg=20.0, orthonormalize=False`` for regularized ALS, ``solve="cg"``,
    ``tau=`` for SVT, ``step_size=`` for SVP and ScaledGD); options the solver does not
    take are refused.  ``subsample < 1`` keeps that fraction of the training ratings
    (for tests).  ``holdout > 0`` fits on the rest of the training ratings and also
    reports ``val_rmse`` on the held-out fraction, for choosing hyperparameters without
    the test set.
    """
    from .ratings import evaluate, fit_ratings_model  # noqa: PLC0415

    seed = check_int(seed, "seed", low=0)
    if solver != "bias":
        check_choice(solver, "solver", ("bias", *SOLVERS))
        options = check_options(SOLVERS[solver], options, exclude=("rng", "test"))
    elif options:
        raise TypeError(f"options has unknown key(s) {sorted(options)} for the bias-only model; it accepts []")
    streams = backend.trial_streams(seed, "subsample", "holdout", "solver")
    train, test = _movielens_split(seed)
    if subsample < 1.0:
        train = train.select(streams.subsample.random(train.nnz) < subsample)
    val = None
    if holdout > 0:
        train, val = train_test_split(train, test_fraction=holdout, rng=streams.holdout)
    kwargs: dict[str, Any] = dict(options)
    if solver != "bias":
        kwargs.setdefault("max_iter", max_iter)
        kwargs["rng"] = streams.solver
    t0 = time.perf_counter()
    model = fit_ratings_model(train, solver=None if solver == "bias" else solver, rank=rank, **kwargs)
    fit_time = time.perf_counter() - t0
    scores = evaluate(model, test)
    out = {"rmse": scores["rmse"], "mae": scores["mae"], "fit_time_s": fit_time, "n_train": int(train.nnz)}
    if val is not None:
        out["val_rmse"] = evaluate(model, val)["rmse"]
    if model.result is not None:
        out["n_iter"] = int(model.result.n_iter)
        out["stop_reason"] = model.result.stop_reason
    return out


def coverage_probability(m: int, n: int, p: float, k: int) -> float:
    """Probability that every row and every column of a Bernoulli(``p``) mask has at least ``k`` entries.

    The coupon-collector floor of completion: a row (column) with fewer than ``k``
    observed entries leaves its ``k`` factor coordinates undetermined, so no method
    can recover the matrix.  Rows and columns are treated as independent (they are
    nearly so for ``p`` small): ``(1 - F(k - 1; n, p))^m (1 - F(k - 1; m, p))^n`` with
    ``F`` the binomial distribution function.

    Examples
    --------
    >>> round(coverage_probability(300, 300, 0.05, 2), 4)
    0.9979
    >>> coverage_probability(300, 300, 0.0, 1)
    0.0
    """
    from scipy.stats import binom  # noqa: PLC0415

    m = check_int(m, "m", low=1)
    n = check_int(n, "n", low=1)
    p = check_float(p, "p", low=0.0, high=1.0)
    k = check_int(k, "k", low=1)
    row_ok = float(binom.sf(k - 1, n, p))  # P(Bin(n, p) >= k)
    col_ok = float(binom.sf(k - 1, m, p))
    return float(np.exp(m * np.log(max(row_ok, 1e-300)) + n * np.log(max(col_ok, 1e-300)))) if row_ok * col_ok > 0 else 0.0


def coverage_transition(m: int, n: int, k: int, *, level: float = 0.5) -> float:
    """Oversampling ``|Omega| / (k (m + n - k))`` at which :func:`coverage_probability` reaches ``level``.

    Bisection in ``p``; the answer is expressed in degrees-of-freedom units, like the
    phase diagrams of :func:`recovery_trial` (``p = ratio * k (m + n - k) / (m n)``).

    Examples
    --------
    >>> round(coverage_transition(300, 300, 2), 2)
    2.25
    """
    m = check_int(m, "m", low=1)
    n = check_int(n, "n", low=1)
    k = check_int(k, "k", low=1)
    level = check_float(level, "level", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if coverage_probability(m, n, mid, k) < level else (lo, mid)
    return hi * m * n / (k * (m + n - k))
