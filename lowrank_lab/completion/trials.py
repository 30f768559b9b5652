"""Trial functions for the matrix-completion sweeps of notebook ``03_matrix_completion``.

Each trial is an importable module-level function called by
:func:`lowrank_lab.experiments.run_sweep` as ``trial(**config, seed=seed)``; it
returns a dict of scalars (one row) or a DataFrame (a curve).  Random streams
come from ``numpy.random.SeedSequence(seed).spawn``: one for the truth, one for
the sample, one for the solver, so every solver sees the same problem for a seed.
The array backend is the one named by ``LOWRANK_BACKEND`` (default NumPy).

Solver names used by the trials:

``"exact"``, ``"cg1"``, ``"cg2"``, ``"cg4"``...
    :func:`~lowrank_lab.completion.altmin` with exact solves or ``c`` CG steps.
``"eps1e-3"``, ...
    Exact AltMin with an injected relative perturbation ``epsilon`` (PAPERS.md C2 (b)).
``"soft_impute"``, ``"svt"``, ``"svp"``, ``"scaled_gd"``
    The baselines, with their documented defaults.

Examples
--------
>>> row = recovery_trial(n=30, rank=2, oversampling=4.0, solver="exact", seed=0)
>>> row["success"], row["dof"]
(True, 116)
"""

from __future__ import annotations

import functools
import math
import time
from typing import Any

import numpy as np
import pandas as pd

from .. import backend, completion
from .._validation import check_float, check_int
from ..matrices import coherent_low_rank_matrix, incoherence, low_rank_matrix
from .observations import sample_entries

__all__ = [
    "coherence_trial",
    "convergence_trial",
    "movielens_trial",
    "recovery_trial",
    "solver_kwargs",
    "solver_trial",
    "timing_trial",
]

BASELINES = ("soft_impute", "svt", "svp", "scaled_gd")


def solver_kwargs(name: str) -> tuple[Any, dict]:
    """``(function, kwargs)`` of a solver name (see the module docstring)."""
    if not isinstance(name, str):
        raise TypeError(f"solver must be a string, got {name!r}")
    if name == "exact":
        return completion.altmin, {"solve": "exact"}
    if name.startswith("cg") and name[2:].isdigit():
        return completion.altmin, {"solve": "cg", "cg_iters": int(name[2:])}
    if name.startswith("eps"):
        try:
            eps = float(name[3:])
        except ValueError:
            eps = -1.0
        if eps >= 0:
            return completion.altmin, {"solve": "exact", "perturbation": eps}
    if name in BASELINES:
        return getattr(completion, name), {}
    raise ValueError(
        f"solver must be 'exact', 'cg<c>', 'eps<epsilon>' or one of {BASELINES}, got {name!r}"
    )


def _run(name: str, obs: Any, rank: int, *, truth: Any, rng: Any, max_iter: int, **extra: Any) -> Any:
    fn, kwargs = solver_kwargs(name)
    kwargs.update(extra)
    if name == "soft_impute":
        kwargs.setdefault("reg", 1e-6 * float(obs.xp.linalg.vector_norm(obs.values)))
        kwargs.setdefault("tol", 1e-12)
        return fn(obs, 2 * rank, truth=truth, rng=rng, max_iter=max_iter, **kwargs)
    if name == "svt":
        return fn(obs, truth=truth, rng=rng, max_iter=max_iter, **kwargs)
    return fn(obs, rank, truth=truth, rng=rng, max_iter=max_iter, **kwargs)


def _streams(seed: int) -> list[np.random.Generator]:
    return backend.spawn_generators(check_int(seed, "seed", low=0), 3)


def recovery_trial(
    *,
    n: int,
    rank: int,
    oversampling: float,
    solver: str,
    seed: int,
    m: int | None = None,
    max_iter: int = 50,
    threshold: float = 1e-4,
) -> dict:
    """One cell of the phase diagram (PAPERS.md C3).

    An incoherent ``m x n`` rank-``rank`` truth (Haar singular vectors, unit singular
    values) is observed with probability ``p = oversampling * dof / (m n)`` per entry,
    where ``dof = rank (m + n - rank)``; success means relative error ``< threshold``
    after at most ``max_iter`` sweeps.
    """
    m = n if m is None else m
    rank = check_int(rank, "rank", low=1)
    oversampling = check_float(oversampling, "oversampling", low=0.0, low_inclusive=False)
    solver_kwargs(solver)  # validate early
    g_truth, g_sample, g_solver = _streams(seed)
    xp = backend.get_namespace()
    dof = rank * (m + n - rank)
    p = min(1.0, oversampling * dof / (m * n))
    truth = low_rank_matrix(m, n, rank, rng=g_truth, xp=xp)
    obs = sample_entries(truth, p=p, rng=g_sample)
    t0 = time.perf_counter()
    res = _run(solver, obs, rank, truth=truth, rng=g_solver, max_iter=max_iter)
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
    *, n: int, rank: int, oversampling: float, variant: str, seed: int, max_iter: int = 50
) -> pd.DataFrame:
    """Error against sweep for one AltMin variant (``"exact"``, ``"cg<c>"``, ``"eps<e>"``).

    Returns the history: ``iteration``, ``relative_error``, ``train_rmse``, ``time_s``.
    """
    fn, kwargs = solver_kwargs(variant)
    if fn is not completion.altmin:
        raise ValueError(f"variant must be an AltMin variant, got {variant!r}")
    g_truth, g_sample, g_solver = _streams(seed)
    xp = backend.get_namespace()
    truth = low_rank_matrix(n, n, rank, rng=g_truth, xp=xp)
    p = min(1.0, oversampling * rank * (2 * n - rank) / (n * n))
    obs = sample_entries(truth, p=p, rng=g_sample)
    res = fn(obs, rank, truth=truth, rng=g_solver, max_iter=max_iter, tol=0.0, **kwargs)
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

    res = completion.altmin(obs, rank, solve=solve, cg_iters=cg_iters, max_iter=n_sweeps + 2, tol=0.0,
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
                 condition_number: float = 1.0) -> pd.DataFrame:
    """Error against iteration and time for one solver on one problem (PAPERS.md C-4).

    Returns the history with columns ``iteration``, ``time_s``, ``relative_error``,
    ``train_rmse`` and ``solver``.  ``time_s`` includes the per-iteration metric
    computation, the same for every solver.
    """
    g_truth, g_sample, g_solver = _streams(seed)
    xp = backend.get_namespace()
    truth = low_rank_matrix(n, n, rank, condition_number=condition_number, rng=g_truth, xp=xp)
    obs = sample_entries(truth, p=p, rng=g_sample)
    res = _run(solver, obs, rank, truth=truth, rng=g_solver, max_iter=max_iter)
    out = res.history[["iteration", "time_s", "relative_error", "train_rmse"]].copy()
    out["solver"] = solver
    out["stop_reason"] = res.stop_reason
    return out


def coherence_trial(
    *, n: int, rank: int, p: float, exponent: float, seed: int, solver: str = "exact", max_iter: int = 50,
    threshold: float = 1e-4,
) -> dict:
    """Recovery of a truth whose left singular vectors have power-law row norms (PAPERS.md C-5)."""
    g_truth, g_sample, g_solver = _streams(seed)
    xp = backend.get_namespace()
    truth = coherent_low_rank_matrix(n, n, rank, exponent=exponent, rng=g_truth, xp=xp)
    obs = sample_entries(truth, p=p, rng=g_sample)
    res = _run(solver, obs, rank, truth=truth, rng=g_solver, max_iter=max_iter)
    err = res.final("relative_error")
    return {"mu": incoherence(truth.left), "success": bool(err < threshold), "relative_error": float(err),
            "n_observed": int(obs.nnz), "empty_rows": int(backend.to_numpy(obs.row_counts == 0).sum())}


@functools.lru_cache(maxsize=4)
def _movielens_split(seed: int) -> tuple:
    from .ratings import movielens_observations, movielens_split  # noqa: PLC0415

    return movielens_split(movielens_observations(xp=backend.get_namespace()), seed=seed)


def movielens_trial(
    *, solver: str, rank: int, reg: float, seed: int, max_iter: int = 30, subsample: float = 1.0,
    holdout: float = 0.0, **solver_options: Any,
) -> dict:
    """Test RMSE / MAE of biases + ``solver`` on MovieLens (PAPERS.md C3 protocol).

    ``seed`` picks the 80/20 split (:func:`lowrank_lab.datasets.movielens_split`);
    ``solver`` is ``"bias"`` (biases only), ``"als"`` (AltMin without
    orthonormalization: regularized ALS), ``"altmin"`` (JNS13 form with QR),
    ``"altmin_cg"`` (regularized ALS with 2 CG steps), ``"soft_impute"``, ``"svp"``,
    ``"scaled_gd"`` or ``"svt"``.  ``reg`` is the ridge / nuclear-norm weight (ignored
    by ``svp``, ``scaled_gd``; the threshold ``tau`` for ``svt``).  ``subsample < 1``
    keeps that fraction of the training ratings (for tests).  ``holdout > 0`` fits on
    the rest of the training ratings and also reports ``val_rmse`` on the held-out
    fraction (seeded by ``seed + 1000``), for choosing ``(rank, reg)`` without the test set.
    """
    from .ratings import evaluate, fit_ratings_model  # noqa: PLC0415

    train, test = _movielens_split(check_int(seed, "seed", low=0))
    if subsample < 1.0:
        keep = np.random.default_rng(seed + 1).random(train.nnz) < subsample
        train = train.select(keep)
    val = None
    if holdout > 0:
        from .observations import train_test_split  # noqa: PLC0415

        train, val = train_test_split(train, test_fraction=holdout, rng=np.random.default_rng(seed + 1000))
    kwargs: dict[str, Any] = dict(solver_options)
    name = {"bias": None, "als": "altmin", "altmin": "altmin", "altmin_cg": "altmin"}.get(solver, solver)
    if solver == "als":
        kwargs.update(orthonormalize=False, reg=reg)
    elif solver == "altmin":
        kwargs.update(orthonormalize=True, reg=reg)
    elif solver == "altmin_cg":
        kwargs.update(orthonormalize=False, reg=reg, solve="cg", cg_iters=kwargs.pop("cg_iters", 2))
    elif solver == "soft_impute":
        kwargs.update(reg=reg)
    elif solver == "svt":
        if reg > 0:
            kwargs["tau"] = reg
    elif solver not in ("bias", "svp", "scaled_gd"):
        raise ValueError(
            "solver must be one of ('bias', 'als', 'altmin', 'altmin_cg', 'soft_impute', 'svp', 'scaled_gd', "
            f"'svt'), got {solver!r}"
        )
    if name is not None:
        kwargs.setdefault("max_iter", max_iter)
        kwargs.setdefault("rng", seed)
    t0 = time.perf_counter()
    model = fit_ratings_model(train, solver=name, rank=rank, **kwargs)
    fit_time = time.perf_counter() - t0
    scores = evaluate(model, test)
    out = {"rmse": scores["rmse"], "mae": scores["mae"], "fit_time_s": fit_time, "n_train": int(train.nnz)}
    if val is not None:
        out["val_rmse"] = evaluate(model, val)["rmse"]
    if model.result is not None:
        out["n_iter"] = int(model.result.n_iter)
        out["stop_reason"] = model.result.stop_reason
    return out
