"""Machinery shared by the completion solvers: segment sides, the monitor, operator SVDs, initializations."""

from __future__ import annotations

import contextlib
import math
from typing import Any

from .. import backend, linalg
from .._validation import check_array, check_choice, check_int, check_memory
from ..iteration import Iterate, iterate
from ..results import HistoryRecorder
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

    def __init__(self, obs: Observations, by: str, plan: Any = None) -> None:
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
        self.layout = linalg.padded_layout(self.offsets) if plan is not None and plan.need_layout else None
        self.blocks = None if plan is None else plan.blocks(self.offsets, self.indices, self.n_fixed)


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
        self.previous: float | None = None
        self.executor: Any = None  # a solver's thread pool for the fused check (AltMin's kernel plan)
        self.n_threads = 1

    def residual(self, F: Any, G: Any) -> Any:
        return linalg.sampled_dot(F, G, self.obs.rows, self.obs.cols) - self.obs.values

    def squared_error(self, F: Any, G: Any) -> Any:
        """``||P_Omega(F G^T - M)||^2`` without forming the residual (fused kernel, on the run's threads)."""
        return linalg.sampled_squared_error(F, G, self.obs.rows, self.obs.cols, self.obs.values,
                                            executor=self.executor, n_threads=self.n_threads)

    def metrics(self, F: Any, G: Any, sq: Any, extra: dict | None = None) -> dict:
        """History values besides the loss (device scalars; converted once at the end).

        ``sq`` is the squared training residual ``||P_Omega(F G^T - M)||^2``.
        """
        xp = self.xp
        values = {
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

    def converged(self, loss: Any, sq: Any, *, use_change: bool = True) -> bool:
        """Host-side convergence test on a checked iteration (divergence is the driver's)."""
        host_loss = float(loss)
        rel_res = math.sqrt(max(float(sq), 0.0)) / self.values_norm
        previous, self.previous = self.previous, host_loss
        if rel_res <= self.tol:
            return True
        return bool(use_change and previous is not None
                    and abs(previous - host_loss) <= self.tol * max(abs(host_loss), 1e-300))


def _drive(monitor: _Monitor, initial: tuple, step: Any, loss_of: Any, *, max_iter: int, check_every: int = 1,
           callback: Any = None, progress: bool = False, desc: str = "", use_change: bool = True,
           check_from: int = 0, extra: Any = None, context: Any = None, residual: bool = True) -> Any:
    """Run a completion solver on :func:`lowrank_lab.iteration.iterate` with the shared monitor.

    ``initial`` and every state returned by ``step`` start with the factors ``(F, G)``;
    ``loss_of(F, G, sq)`` is the solver's objective from the squared training residual
    ``sq``; ``extra(it)`` adds history values; convergence is
    :meth:`_Monitor.converged` on iterations ``>= check_from``.  With ``residual=True``
    the residual vector is kept in ``it.cache["r"]`` for steps that use it (SVT, SVP,
    ScaledGD); with ``residual=False`` (AltMin) only its norm is computed, by the fused
    :func:`lowrank_lab.linalg.sampled_squared_error`, which never forms it.
    """
    xp = monitor.xp

    def measure(it: Iterate) -> Any:
        F, G = it.state[0], it.state[1]
        if residual:
            r = monitor.residual(F, G)
            it.cache["r"] = r
            sq = xp.sum(r * r)
        else:
            sq = monitor.squared_error(F, G)
        it.cache["sq"] = sq
        return loss_of(F, G, sq)

    def metrics(it: Iterate) -> dict:
        it.loss  # noqa: B018 - fills the squared residual
        return monitor.metrics(it.state[0], it.state[1], it.cache["sq"], None if extra is None else extra(it))

    def check(it: Iterate) -> str | None:
        if it.iteration < check_from:
            return None
        return "converged" if monitor.converged(it.loss, it.cache["sq"], use_change=use_change) else None

    with context if context is not None else contextlib.nullcontext():
        return iterate(initial, step, loss=measure, factors=lambda st: (st[0], st[1]), recorder=monitor.recorder,
                       metrics=metrics, check=check, max_iter=max_iter, check_every=check_every, callback=callback,
                       progress=progress, desc=desc, finite_factors=True, loss_name="train_loss")


def _check_rank(rank: Any, shape: tuple[int, int], nnz: int = 0) -> int:
    k = check_int(rank, "rank", low=1, high=min(shape), high_label="min(m, n)")
    _check_solver_memory(shape, k, nnz)
    return k


def solver_nbytes(shape: tuple[int, int], rank: int, nnz: int) -> int:
    """Bytes a completion solver allocates: factors, sketches and work arrays, plus per-entry buffers.

    About six ``(m + n) x (rank + 10)`` float64 arrays at once (the factors, their QRs,
    the randomized SVD's sketch of width ``rank + 10``, the next iterate) and four
    per-entry arrays (residual, the half-steps' ones).
    """
    m, n = shape
    return 8 * (6 * (int(m) + int(n)) * (int(rank) + 10) + 4 * int(nnz))


def _check_solver_memory(shape: tuple[int, int], rank: int, nnz: int) -> None:
    m, n = shape
    check_memory(solver_nbytes(shape, rank, nnz), "rank",
                 f"the factors and work arrays of a rank-{rank} model of a {m} x {n} matrix",
                 hint="a completion solver holds (m + n) x (rank + 10) arrays; use a smaller rank or shape")





def _all_finite(xp: Any, *arrays: Any) -> bool:
    return all(bool(xp.all(xp.isfinite(a))) for a in arrays)


def _matmat(obs: Observations, values: Any, X: Any) -> Any:
    """``S @ X`` for the sparse matrix ``S`` with ``values`` (row order) on the observed entries."""
    return linalg.csr_matmul(obs.row_offsets, obs.cols, values, X)


def _rmatmat(obs: Observations, col_values: Any, Y: Any) -> Any:
    """``S^T @ Y`` with the sparse matrix's values given in column order."""
    return linalg.csr_matmul(obs.col_offsets, obs.col_rows, col_values, Y)


def _qr(xp: Any, A: Any) -> tuple[Any, Any]:
    return linalg.thin_qr(A)


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
    svd: Any = None,
) -> tuple[Any, Any, Any]:
    """``(U, S, V)`` with ``A ~ U diag(S) V^T``: the solver's partial SVD of an implicit operator.

    ``svd`` is the solver's :class:`SVDChoice`: ``"randomized"`` (the default) uses the
    call's ``n_oversamples`` / ``n_power_iter`` (a fixed number of products);
    ``"krylov"`` iterates to the choice's tolerance
    (:func:`lowrank_lab.linalg.partial_svd_operator`).
    """
    svd = svd if svd is not None else SVDChoice()
    if svd.method == "randomized":
        options = {"n_oversamples": n_oversamples, "n_power_iter": n_power_iter, **svd.options}
    else:
        options = dict(svd.options)
    U, S, Vt = linalg.partial_svd_operator(matmat, rmatmat, shape, rank, like=like, method=svd.method, rng=rng,
                                           start=start, **options)
    return U, S, xp.matrix_transpose(Vt)


class SVDChoice:
    """A completion solver's ``svd_method`` / ``svd_options``, validated once.

    ``"randomized"`` keeps each solver's documented number of power iterations;
    ``"krylov"`` (block Lanczos, :func:`lowrank_lab.linalg.krylov_svd_operator`)
    iterates until every wanted triplet's residual is at most ``tol * sigma_1``
    (default ``1e-10``): accurate where the spectrum is flat or slowly decaying.
    """

    def __init__(self, method: str = "randomized", options: Any = None) -> None:
        self.method = check_choice(method, "svd_method", ("randomized", "krylov"))
        if options is not None and not isinstance(options, dict):
            raise TypeError(f"svd_options must be a dict of keyword options or None, got {type(options).__name__}")
        self.options = dict(options or {})
        allowed = ("n_oversamples", "n_power_iter") if self.method == "randomized" else (
            "tol", "block_size", "max_basis", "max_iter", "verify")
        unknown = sorted(k for k in self.options if k not in allowed)
        if unknown:
            raise TypeError(f"svd_options has unknown key(s) {unknown} for svd_method={self.method!r}; "
                            f"it accepts {list(allowed)}")

    def params(self) -> dict:
        return {"svd_method": self.method, **({"svd_options": self.options} if self.options else {})}


def _spectral(obs: Observations, rank: int, rng: Any, n_power_iter: int = 4, svd: Any = None) -> tuple[Any, Any, Any]:
    """Top-``rank`` SVD of ``P_Omega(M) / p_hat`` (``p_hat = |Omega| / (m n)``)."""
    xp = obs.xp
    scale = 1.0 / obs.density
    vals = obs.values * scale
    cvals = obs.col_values * scale
    return _operator_svd(
        xp, lambda X: _matmat(obs, vals, X), lambda Y: _rmatmat(obs, cvals, Y), obs.shape, rank,
        like=obs.values, rng=rng, n_power_iter=n_power_iter, svd=svd,
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
