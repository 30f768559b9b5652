"""Matrix completion lab (study C): observations, solvers, metrics, ratings models, trials.

``observations``
    Observed entries (:class:`Observations`), sampling and splits.
``altmin``, ``solvers``
    Alternating minimization (exact or CG least squares), softImpute-ALS, SVT, SVP,
    ScaledGD; each ``solver(obs, rank, *, ...) -> SolverResult``, listed in
    :data:`SOLVERS`.  No solver forms a dense ``m x n`` matrix.
``metrics``
    :func:`predict`, :func:`rmse`, :func:`mae`, :func:`relative_error` from factors.
``ratings``
    Biases plus a low-rank model of explicit ratings, and the MovieLens split.
``trials``
    The sweep trials of notebook 03 (``lowrank_lab.completion.trials``).

Examples
--------
>>> from lowrank_lab.matrices import low_rank_matrix
>>> from lowrank_lab.completion import sample_entries, SOLVERS
>>> truth = low_rank_matrix(60, 50, 2, rng=0)
>>> obs = sample_entries(truth, p=0.5, rng=1)
>>> res = SOLVERS["altmin"](obs, 2, truth=truth, max_iter=30, rng=2)
>>> res.stop_reason, bool(res.final("relative_error") < 1e-8)
('converged', True)
"""

from .altmin import JITTER, altmin
from .metrics import mae, predict, relative_error, rmse
from .observations import (
    Observations,
    random_partition,
    sample_entries,
    train_test_split,
)
from .ratings import (
    BiasModel,
    RatingsModel,
    evaluate,
    fit_biases,
    fit_ratings_model,
    movielens_observations,
    movielens_split,
)
from .registry import SOLVERS, run_solver
from .solvers import scaled_gd, soft_impute, svp, svt

__all__ = [
    "JITTER",
    "SOLVERS",
    "run_solver",
    "BiasModel",
    "Observations",
    "RatingsModel",
    "altmin",
    "evaluate",
    "fit_biases",
    "fit_ratings_model",
    "mae",
    "movielens_observations",
    "movielens_split",
    "predict",
    "random_partition",
    "relative_error",
    "rmse",
    "sample_entries",
    "scaled_gd",
    "soft_impute",
    "svp",
    "svt",
    "train_test_split",
]
