"""Models of explicit ratings: biases, then a low-rank model of the residuals (study C's MovieLens protocol).

:func:`fit_biases`
    ``r_ui ~ mu + b_u + b_i`` by ridge regression (alternating closed-form updates,
    the Surprise ``BaselineOnly`` ALS scheme with its defaults ``reg_u = 15``,
    ``reg_i = 10``, 10 sweeps).
:func:`fit_ratings_model`
    Biases first, then a low-rank model of the residuals ``r_ui - mu - b_u - b_i``
    by any solver of :data:`lowrank_lab.completion.SOLVERS`: ``r_hat_ui = mu + b_u +
    b_i + u_u^T v_i``.  Users or movies without training ratings get the bias
    prediction (their low-rank part is set to zero).
:func:`evaluate`
    Test RMSE and MAE.
:func:`movielens_observations`, :func:`movielens_split`
    The shipped MovieLens ratings (:func:`lowrank_lab.datasets.movielens_small`, host
    arrays) as :class:`~lowrank_lab.completion.Observations` in any namespace, and the
    documented seeded 80/20 split.

Examples
--------
>>> train, test = movielens_split(movielens_observations(), seed=0)
>>> train.nnz, test.nnz
(80669, 20167)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import backend, datasets
from .._validation import check_float, check_int
from ..linalg import csr_matmul
from ..results import SolverResult
from . import metrics
from .observations import Observations, train_test_split
from .registry import SOLVERS

__all__ = [
    "BiasModel",
    "RatingsModel",
    "evaluate",
    "fit_biases",
    "fit_ratings_model",
    "movielens_observations",
    "movielens_split",
]


def movielens_observations(data: datasets.RatingsData | None = None, *, xp: Any = None) -> Observations:
    """The MovieLens ratings matrix (users x movies) as :class:`Observations` in namespace ``xp``.

    ``data`` defaults to :func:`lowrank_lab.datasets.movielens_small` (the shipped copy,
    checksums verified).

    Examples
    --------
    >>> obs = movielens_observations()
    >>> obs.shape, obs.nnz
    ((610, 9724), 100836)
    """
    data = datasets.movielens_small() if data is None else data
    if not isinstance(data, datasets.RatingsData):
        raise TypeError(f"data must be lowrank_lab.datasets.RatingsData, got {type(data).__name__}")
    return Observations.from_dataframe(data.frame, row="row", col="col", value="rating", shape=data.shape, xp=xp)


def movielens_split(data: Any = None, *, test_fraction: float = 0.2, seed: int = 0) -> tuple:
    """The documented split: a uniformly random ``1 - test_fraction`` / ``test_fraction`` split of the ratings.

    ``data`` is :class:`Observations`, :class:`lowrank_lab.datasets.RatingsData` or None
    (the shipped copy, NumPy).  Drawn by :func:`train_test_split` with
    ``numpy.random.default_rng(seed)`` on the host (default ``seed=0``: the split
    every number in the notebook and the benchmark uses).  Some test movies have no
    training rating; they are predicted from the biases.
    """
    obs = data if isinstance(data, Observations) else movielens_observations(data)
    seed = check_int(seed, "seed", low=0)
    return train_test_split(obs, test_fraction=test_fraction, rng=np.random.default_rng(seed))


# --------------------------------------------------------------------------- #
# biases
# --------------------------------------------------------------------------- #
@dataclass(frozen=True, repr=False)
class BiasModel:
    """``r_hat_ui = global_mean + user_bias[u] + item_bias[i]``."""

    global_mean: float
    user_bias: Any
    item_bias: Any
    reg_user: float
    reg_item: float

    def predict(self, rows: Any, cols: Any) -> Any:
        xp = backend.array_namespace(self.user_bias)
        return self.global_mean + xp.take(self.user_bias, rows) + xp.take(self.item_bias, cols)

    def residuals(self, obs: Observations) -> Observations:
        """``obs`` with the bias prediction subtracted from its values."""
        return obs.with_values(obs.values - self.predict(obs.rows, obs.cols))

    def __repr__(self) -> str:
        return f"BiasModel(global_mean={self.global_mean:.4f}, reg_user={self.reg_user}, reg_item={self.reg_item})"


def fit_biases(train: Observations, *, reg_user: float = 15.0, reg_item: float = 10.0, n_iter: int = 10) -> BiasModel:
    """Ridge-regularized user and item biases around the global mean.

    Minimizes ``sum (r_ui - mu - b_u - b_i)^2 + reg_user sum b_u^2 + reg_item sum b_i^2``
    (``mu`` is the training mean) by ``n_iter`` alternating closed-form sweeps, items
    first: ``b_i = sum_u (r_ui - mu - b_u) / (reg_item + |R_i|)``, then
    ``b_u = sum_i (r_ui - mu - b_i) / (reg_user + |R_u|)`` (Surprise's ``BaselineOnly``
    ALS with its default regularization; reference code).  Users or items without
    ratings get bias 0.

    Examples
    --------
    >>> from lowrank_lab.completion import Observations
    >>> obs = Observations([0, 0, 1], [0, 1, 0], [5.0, 3.0, 4.0], shape=(2, 3))
    >>> bias = fit_biases(obs, reg_user=0.0, reg_item=0.0, n_iter=50)
    >>> round(bias.global_mean, 3), [round(float(v), 3) for v in bias.predict(obs.rows, obs.cols)]
    (4.0, [5.0, 3.0, 4.0])
    """
    if not isinstance(train, Observations):
        raise TypeError(f"train must be Observations, got {type(train).__name__}")
    reg_user = check_float(reg_user, "reg_user", low=0.0)
    reg_item = check_float(reg_item, "reg_item", low=0.0)
    n_iter = check_int(n_iter, "n_iter", low=1)
    xp = train.xp
    m, n = train.shape
    mu = float(xp.mean(train.values))
    dtype = train.dtype
    row_counts = xp.astype(train.row_counts, dtype)
    col_counts = xp.astype(train.col_counts, dtype)
    bu = xp.zeros(m, dtype=dtype, device=backend.device(train.values))
    bi = xp.zeros(n, dtype=dtype, device=backend.device(train.values))
    col_ones = xp.ones((m, 1), dtype=dtype, device=backend.device(train.values))
    row_ones = xp.ones((n, 1), dtype=dtype, device=backend.device(train.values))
    denom_i = reg_item + col_counts
    denom_i = xp.where(denom_i > 0, denom_i, xp.ones_like(denom_i))
    denom_u = reg_user + row_counts
    denom_u = xp.where(denom_u > 0, denom_u, xp.ones_like(denom_u))
    for _ in range(n_iter):
        resid_c = train.col_values - mu - xp.take(bu, train.col_rows)
        bi = csr_matmul(train.col_offsets, train.col_rows, resid_c, col_ones)[:, 0] / denom_i
        resid_r = train.values - mu - xp.take(bi, train.cols)
        bu = csr_matmul(train.row_offsets, train.cols, resid_r, row_ones)[:, 0] / denom_u
    # rows/columns without ratings get 0 (their sums are 0)
    bu = xp.where(row_counts > 0, bu, xp.zeros_like(bu))
    bi = xp.where(col_counts > 0, bi, xp.zeros_like(bi))
    return BiasModel(mu, bu, bi, reg_user, reg_item)


# --------------------------------------------------------------------------- #
# biases + low rank
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, repr=False)
class RatingsModel:
    """Biases plus a low-rank model of the residuals; predictions clipped to ``clip``."""

    bias: BiasModel
    result: SolverResult | None
    seen_rows: Any
    seen_cols: Any
    clip: tuple[float, float] | None

    def predict(self, rows: Any, cols: Any) -> Any:
        """``mu + b_u + b_i + u_u^T v_i`` (low-rank part only for users and movies seen in training)."""
        xp = backend.array_namespace(self.bias.user_bias)
        pred = self.bias.predict(rows, cols)
        if self.result is not None:
            low = metrics.predict(self.result, rows, cols)
            seen = xp.take(self.seen_rows, rows) & xp.take(self.seen_cols, cols)
            pred = pred + xp.where(seen, low, xp.zeros_like(low))
        if self.clip is not None:
            pred = xp.clip(pred, min=self.clip[0], max=self.clip[1])
        return pred

    def __repr__(self) -> str:
        solver = None if self.result is None else self.result.solver
        return f"RatingsModel(bias={self.bias!r}, solver={solver!r})"


def fit_ratings_model(
    train: Observations,
    *,
    solver: str | None = "altmin",
    rank: int = 10,
    reg_user: float = 15.0,
    reg_item: float = 10.0,
    clip: tuple[float, float] | None = (0.5, 5.0),
    test: Observations | None = None,
    **solver_kwargs: Any,
) -> RatingsModel:
    """Fit biases, then ``solver`` on the residuals (``solver=None``: biases only).

    Parameters
    ----------
    train : Observations
    solver : {"altmin", "soft_impute", "svp", "scaled_gd", "svt"} or None
    rank : int
        Passed to the solver (ignored by ``svt``).
    reg_user, reg_item : float
        Bias ridge penalties (:func:`fit_biases`).
    clip : (low, high) or None
        Clip predictions to the rating scale (default 0.5 to 5).
    test : Observations, optional
        Passed to the solver (on the residual scale) to record ``test_rmse`` of the
        residual model, which equals the unclipped test RMSE of the full model.
    **solver_kwargs
        E.g. ``reg=``, ``max_iter=``, ``rng=``.

    Examples
    --------
    >>> train, test = movielens_split(seed=0)
    >>> biases = evaluate(fit_ratings_model(train, solver=None), test)
    >>> model = fit_ratings_model(train, solver="altmin", rank=5, reg=10.0, orthonormalize=False,
    ...                           max_iter=10, rng=0)
    >>> bool(evaluate(model, test)["rmse"] < biases["rmse"])
    True
    """
    if not isinstance(train, Observations):
        raise TypeError(f"train must be Observations, got {type(train).__name__}")
    if solver is not None and solver not in SOLVERS:
        raise ValueError(f"solver must be one of {tuple(SOLVERS)} or None, got {solver!r}")
    bias = fit_biases(train, reg_user=reg_user, reg_item=reg_item)
    result = None
    if solver is not None:
        resid = bias.residuals(train)
        kwargs = dict(solver_kwargs)
        if test is not None:
            kwargs["test"] = bias.residuals(test)
        if solver == "svt":
            result = SOLVERS[solver](resid, **kwargs)
        else:
            result = SOLVERS[solver](resid, rank, **kwargs)
    return RatingsModel(bias, result, train.row_counts > 0, train.col_counts > 0,
                        None if clip is None else (float(clip[0]), float(clip[1])))


def evaluate(model: RatingsModel, test: Observations) -> dict[str, float]:
    """``{"rmse": ..., "mae": ..., "n": ...}`` of ``model`` on ``test``."""
    if not isinstance(model, RatingsModel):
        raise TypeError(f"model must be a RatingsModel (from fit_ratings_model), got {type(model).__name__}")
    if not isinstance(test, Observations):
        raise TypeError(f"test must be Observations, got {type(test).__name__}")
    xp = test.xp
    err = model.predict(test.rows, test.cols) - test.values
    return {"rmse": float(xp.sqrt(xp.mean(err * err))), "mae": float(xp.mean(xp.abs(err))), "n": test.nnz}
