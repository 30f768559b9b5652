"""Machinery shared by the completion solvers: segment sides, the monitor, operator SVDs, initializations."""

from __future__ import annotations

import math
from typing import Any

from .. import backend, linalg
from .._validation import check_array, check_int
from ..results import HistoryRecorder, is_diverged
from .metrics import (
    _check_obs,
    _factored_distance,
    _factors_of,
    _product_norm,
    _truth_factors,
)
from .observations import Observations


class _Side:
    """Segment structure for one half-step: segments are the rows (or columns) being solved for."""

    def __init__(self, obs: Observations, by: str, build_layout: bool, block_rows: int | None = None,
                 n_threads: int = 1) -> None:
        xp = obs.xp
        if by == "row":
            self.offsets, self.indices, self.values, self.seg_ids = obs.row_offsets, obs.cols, obs.values, obs.rows
            self.n_seg, self.n_fixed = obs.shape
        else:
            self.offsets, self.indices = obs.col_offsets, obs.col_rows
            self.values, self.seg_ids = obs.col_values, obs.col_cols
            self.n_fixed, self.n_seg = obs.shape
        self.nnz = obs.nnz
        self.ones = xp.ones(obs.nnz, dtype=obs.dtype, device=backend.device(obs.values))
        self.layout = linalg.padded_layout(self.offsets) if build_layout else None
        self.blocks = None
        if block_rows is not None:
            self.blocks = linalg.blocked_csr(self.offsets, self.indices, self.n_fixed, block_cols=block_rows,
                                             n_threads=n_threads)


class _Monitor:
    """Metrics on the training entries, the truth and the test set; convergence and divergence."""

    def __init__(self, obs: Observations, truth: Any, test: Any, tol: float, history_stride: int) -> None:
        self.obs = obs
        self.xp = obs.xp
        xp = self.xp
        self.truth = _truth_factors(truth, obs.shape, obs.values)
        self.truth_norm = None if self.truth is None else _product_norm(xp, *self.truth)
        if test is not None:
            test = _check_obs(test, "test")
            if test.shape != obs.shape:
                raise ValueError(f"test must have the shape of obs {obs.shape}, got {test.shape}")
            if backend.backend_name(test.xp) != backend.backend_name(xp):
                raise TypeError("test must live in the same namespace as obs")
        self.test = test
        self.tol = tol
        self.values_norm = float(xp.linalg.vector_norm(obs.values)) or 1.0
        self.recorder = HistoryRecorder(check_int(history_stride, "history_stride", low=1))
        self.reference: float | None = None
        self.previous: float | None = None

    def residual(self, F: Any, G: Any) -> Any:
        return linalg.sampled_dot(F, G, self.obs.rows, self.obs.cols) - self.obs.values

    def metrics(self, F: Any, G: Any, residual: Any, loss: Any, extra: dict | None = None) -> dict:
        xp = self.xp
        sq = xp.sum(residual * residual)
        values = {
            "train_loss": loss,
            "train_rmse": xp.sqrt(sq / self.obs.nnz),
            "relative_residual": xp.sqrt(sq) / self.values_norm,
        }
        if self.truth is not None:
            values["relative_error"] = _factored_distance(xp, F, G, *self.truth) / self.truth_norm
        if self.test is not None:
            r = linalg.sampled_dot(F, G, self.test.rows, self.test.cols) - self.test.values
            values["test_rmse"] = xp.sqrt(xp.mean(r * r))
        if extra:
            values.update(extra)
        return values

    def check(self, loss: Any, residual: Any, *, use_change: bool = True) -> str | None:
        """Host-side convergence / divergence test; None to go on."""
        host_loss = float(loss)
        if self.reference is None:
            self.reference = host_loss
        if is_diverged(host_loss, self.reference):
            return "diverged"
        rel_res = float(self.xp.linalg.vector_norm(residual)) / self.values_norm
        previous, self.previous = self.previous, host_loss
        if rel_res <= self.tol:
            return "converged"
        if use_change and previous is not None and abs(previous - host_loss) <= self.tol * max(abs(host_loss), 1e-300):
            return "converged"
        return None



def _check_rank(rank: Any, shape: tuple[int, int]) -> int:
    return check_int(rank, "rank", low=1, high=min(shape), high_label="min(m, n)")





def _all_finite(xp: Any, *arrays: Any) -> bool:
    return all(bool(xp.all(xp.isfinite(a))) for a in arrays)


def _matmat(obs: Observations, values: Any, X: Any) -> Any:
    """``S @ X`` for the sparse matrix ``S`` with ``values`` (row order) on the observed entries."""
    return linalg.csr_matmul(obs.row_offsets, obs.cols, values, X)


def _rmatmat(obs: Observations, col_values: Any, Y: Any) -> Any:
    """``S^T @ Y`` with the sparse matrix's values given in column order."""
    return linalg.csr_matmul(obs.col_offsets, obs.col_rows, col_values, Y)


def _qr(xp: Any, A: Any) -> tuple[Any, Any]:
    Q, R = xp.linalg.qr(A, mode="reduced")
    return Q, R


def _operator_svd(
    xp: Any,
    matmat: Any,
    rmatmat: Any,
    shape: tuple[int, int],
    rank: int,
    *,
    like: Any,
    rng: Any,
    n_oversamples: int = 10,
    n_power_iter: int = 4,
    start: Any = None,
) -> tuple[Any, Any, Any]:
    """``(U, S, V)`` with ``A ~ U diag(S) V^T`` from :func:`lowrank_lab.linalg.randomized_svd_operator`."""
    U, S, Vt = linalg.randomized_svd_operator(
        matmat, rmatmat, shape, rank, like=like, rng=rng,
        n_oversamples=n_oversamples, n_power_iter=n_power_iter, start=start,
    )
    return U, S, xp.matrix_transpose(Vt)


def _spectral(obs: Observations, rank: int, rng: Any, n_power_iter: int = 4) -> tuple[Any, Any, Any]:
    """Top-``rank`` SVD of ``P_Omega(M) / p_hat`` (``p_hat = |Omega| / (m n)``)."""
    xp = obs.xp
    scale = 1.0 / obs.density
    vals = obs.values * scale
    cvals = obs.col_values * scale
    return _operator_svd(
        xp, lambda X: _matmat(obs, vals, X), lambda Y: _rmatmat(obs, cvals, Y), obs.shape, rank,
        like=obs.values, rng=rng, n_power_iter=n_power_iter,
    )


def _trim_rows(xp: Any, U: Any, trim: float | None) -> Any:
    """Zero the rows of an orthonormal ``U`` (m x k) whose norm exceeds ``trim * sqrt(k/m)``."""
    if trim is None:
        return U
    m, k = U.shape
    norms = xp.linalg.vector_norm(U, axis=1)
    keep = norms <= trim * math.sqrt(k / m)
    return xp.where(keep[:, None], U, xp.zeros_like(U))


def _random_orthonormal(shape: tuple[int, int], rng: Any, like: Any) -> Any:
    xp = backend.array_namespace(like)
    Q, _ = _qr(xp, backend.random_normal(shape, rng=rng, like=like))
    return Q


def _init_pair(init: Any, rank: int, shape: tuple[int, int], like: Any) -> tuple[Any, Any]:
    F, G = _factors_of(tuple(init), "init")
    F = check_array(F, "init[0]", ndim=2)
    G = check_array(G, "init[1]", ndim=2)
    if F.shape != (shape[0], rank) or G.shape != (shape[1], rank):
        raise ValueError(
            f"init factors must have shapes {(shape[0], rank)} and {(shape[1], rank)}, got "
            f"{tuple(F.shape)} and {tuple(G.shape)}"
        )
    return backend.asarray(F, like=like), backend.asarray(G, like=like)
