"""Matrix completion solvers (study C of PAPERS.md).

Every solver takes :class:`~lowrank_lab.problems.Observations` and never forms a
dense ``m x n`` array: the observed entries are touched through segment kernels
of :mod:`lowrank_lab.linalg` (sparse-times-dense products, sampled dot
products, per-segment normal equations), and low-rank iterates stay factored.

:func:`altmin`
    Alternating minimization (JNS13 skeleton): exact batched normal equations
    per row/column (``O(|Omega| k^2)`` per sweep), or the *approximate* variant of
    Gu, Song, Yin and Zhang with a fixed number of warm-started conjugate-gradient
    steps per row (``O(|Omega| k)`` per sweep); spectral initialization with row
    trimming; optional injected relative perturbation ``epsilon``; optional sample
    splitting (``resample``); ridge ``reg``.
:func:`soft_impute`
    softImpute-ALS (Hastie, Mazumder, Lee, Zadeh 2015) on the sparse-plus-low-rank
    structure; solves ``min 1/2 ||P_Omega(M - Z)||^2 + reg ||Z||_*`` for ranks up to ``rank``.
:func:`svt`
    Singular value thresholding (Cai, Candes, Shen 2010).
:func:`svp`
    Singular value projection / iterative hard thresholding (Jain, Meka, Dhillon 2010).
:func:`scaled_gd`
    ScaledGD for completion (Tong, Ma, Chi), spectral initialization.

Helpers: :func:`predict`, :func:`rmse`, :func:`mae`, :func:`relative_error`.

Every solver returns a :class:`~lowrank_lab.results.SolverResult` whose
``factors`` are ``(F, G)`` with estimate ``F @ G.T``, and whose history (one row
every ``history_stride`` iterations, plus the last) has ``iteration``,
``time_s``, ``train_loss`` (the solver's objective, documented per solver),
``train_rmse`` (RMSE on the observed entries), ``relative_residual``
(``||P_Omega(FG^T - M)|| / ||P_Omega(M)||``), ``relative_error``
(``||FG^T - M*||_F / ||M*||_F`` when ``truth`` is given, computed from the
factors through two thin QRs, so it is exact down to ~1e-15 and never forms a
dense matrix) and ``test_rmse`` (when a ``test`` set is given).  Iteration 0 is
the initialization.  Divergence (non-finite values, or a loss 1e8 times its
initial value) stops with ``stop_reason="diverged"`` and returns the last finite
iterate.

Examples
--------
>>> from lowrank_lab.problems import low_rank_matrix, sample_entries
>>> truth = low_rank_matrix(60, 50, 2, rng=0)
>>> obs = sample_entries(truth, p=0.5, rng=1)
>>> res = altmin(obs, 2, truth=truth, max_iter=30, rng=2)
>>> res.stop_reason, bool(res.final("relative_error") < 1e-8)
('converged', True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import backend, linalg
from ._solver_support import available_cpus, progress_bar, quiet_overflow, seed_of, serial_blas
from ._validation import check_array, check_callback, check_choice, check_float, check_int
from .problems.matrices import LowRankMatrix
from .problems.observations import Observations, random_partition
from .results import HistoryRecorder, SolverResult, is_diverged

__all__ = [
    "altmin",
    "mae",
    "predict",
    "relative_error",
    "rmse",
    "scaled_gd",
    "soft_impute",
    "svp",
    "svt",
]

#: Relative diagonal jitter added to every normal matrix (on top of ``reg``), so
#: that rows/columns with fewer than ``k`` (or no) observations get the
#: minimum-norm (zero) solution instead of NaN.
JITTER = 1e-12

#: Target bytes of packed factor rows per cache block in the exact NumPy kernel.
_CACHE_BYTES = 1 << 17


# --------------------------------------------------------------------------- #
# prediction and metrics
# --------------------------------------------------------------------------- #
def _factors_of(result: Any, name: str = "result") -> tuple[Any, Any]:
    if isinstance(result, SolverResult):
        factors = result.factors
    elif isinstance(result, (tuple, list)):
        factors = tuple(result)
    else:
        raise TypeError(f"{name} must be a SolverResult or a pair of factors (F, G), got {type(result).__name__}")
    if len(factors) != 2:
        raise ValueError(f"{name} must hold two factors (F, G) with estimate F @ G.T, got {len(factors)}")
    return factors[0], factors[1]


def predict(result: Any, rows: Any, cols: Any) -> Any:
    """Entries ``(F @ G.T)[rows[t], cols[t]]`` of a completion result (never the dense matrix).

    Parameters
    ----------
    result : SolverResult or (F, G)
    rows, cols : integer arrays of equal length

    Examples
    --------
    >>> import numpy as np
    >>> F, G = np.array([[1.0], [2.0]]), np.array([[3.0], [4.0]])
    >>> predict((F, G), np.array([0, 1]), np.array([1, 0]))
    array([4., 6.])
    """
    F, G = _factors_of(result)
    xp = backend.array_namespace(F, G)
    rows = _index_like(rows, "rows", F)
    cols = _index_like(cols, "cols", F)
    if rows.shape != cols.shape:
        raise ValueError(f"rows and cols must have the same shape, got {tuple(rows.shape)} and {tuple(cols.shape)}")
    if rows.shape[0] == 0:
        return xp.zeros(0, dtype=F.dtype, device=backend.device(F))
    for idx, bound, name in ((rows, F.shape[0], "rows"), (cols, G.shape[0], "cols")):
        lo, hi = int(xp.min(idx)), int(xp.max(idx))
        if lo < 0 or hi >= bound:
            raise ValueError(f"{name} must be in [0, {bound}), got {lo if lo < 0 else hi}")
    return linalg.sampled_dot(F, G, rows, cols)


def _index_like(idx: Any, name: str, like: Any) -> Any:
    if isinstance(idx, (list, tuple)):
        idx = np.asarray(idx, dtype=np.int64)
    xp_i = backend.array_namespace(idx)
    if idx.ndim != 1 or not xp_i.isdtype(idx.dtype, "integral"):
        raise TypeError(f"{name} must be a 1-D integer array, got dtype {idx.dtype} and shape {tuple(idx.shape)}")
    if backend.backend_name(xp_i) != backend.backend_name(backend.array_namespace(like)):
        idx = backend.asarray(backend.to_numpy(idx).astype(np.int64), like=like)
    return idx


def _check_obs(obs: Any, name: str = "obs") -> Observations:
    if not isinstance(obs, Observations):
        raise TypeError(f"{name} must be lowrank_lab.problems.Observations, got {type(obs).__name__}")
    if obs.nnz == 0:
        raise ValueError(f"{name} must hold at least one observed entry, got nnz=0")
    return obs


def rmse(result: Any, obs: Observations) -> float:
    """Root-mean-square error of the predictions on the entries of ``obs``.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_lab.problems import Observations
    >>> obs = Observations([0, 1], [0, 0], [1.0, 0.0], shape=(2, 1))
    >>> rmse((np.array([[1.0], [1.0]]), np.array([[1.0]])), obs)
    0.7071067811865476
    """
    obs = _check_obs(obs)
    xp = obs.xp
    r = predict(result, obs.rows, obs.cols) - obs.values
    return float(xp.sqrt(xp.mean(r * r)))


def mae(result: Any, obs: Observations) -> float:
    """Mean absolute error of the predictions on the entries of ``obs``.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_lab.problems import Observations
    >>> obs = Observations([0, 1], [0, 0], [1.0, 0.0], shape=(2, 1))
    >>> mae((np.array([[1.0], [1.0]]), np.array([[1.0]])), obs)
    0.5
    """
    obs = _check_obs(obs)
    xp = obs.xp
    return float(xp.mean(xp.abs(predict(result, obs.rows, obs.cols) - obs.values)))


def _truth_factors(truth: Any, shape: tuple[int, int], like: Any) -> tuple[Any, Any] | None:
    if truth is None:
        return None
    if isinstance(truth, LowRankMatrix):
        F, G = truth.balanced_factors()
    elif isinstance(truth, (tuple, list)) and len(truth) == 2:
        F = check_array(truth[0], "truth[0]", ndim=2)
        G = check_array(truth[1], "truth[1]", ndim=2)
    else:
        raise TypeError(
            "truth must be a LowRankMatrix or a pair of factors (F, G) with M = F @ G.T "
            f"(the dense matrix is never used), got {type(truth).__name__}"
        )
    if (F.shape[0], G.shape[0]) != tuple(shape) or F.shape[1] != G.shape[1]:
        raise ValueError(
            f"truth must have shape {tuple(shape)} (factors (m, r) and (n, r)), got factors "
            f"{tuple(F.shape)} and {tuple(G.shape)}"
        )
    if backend.backend_name(backend.array_namespace(F)) != backend.backend_name(backend.array_namespace(like)):
        raise TypeError("truth must live in the same namespace as the observations")
    return F, G


def _factored_distance(xp: Any, U: Any, V: Any, F: Any, G: Any) -> Any:
    """``||U V^T - F G^T||_F`` from thin QRs of ``[U, F]`` and ``[V, G]`` (no cancellation)."""
    _, R1 = xp.linalg.qr(xp.concat([U, F], axis=1))
    _, R2 = xp.linalg.qr(xp.concat([V, G], axis=1))
    k = U.shape[1]
    sign = xp.concat([xp.ones(k, dtype=U.dtype, device=backend.device(U)),
                      -xp.ones(F.shape[1], dtype=U.dtype, device=backend.device(U))])
    return xp.linalg.matrix_norm((R1 * sign[None, :]) @ xp.matrix_transpose(R2))


def _product_norm(xp: Any, F: Any, G: Any) -> Any:
    """``||F G^T||_F`` via the Gram matrices."""
    val = xp.sum((xp.matrix_transpose(F) @ F) * (xp.matrix_transpose(G) @ G))
    return xp.sqrt(xp.clip(val, min=0.0)) if hasattr(xp, "clip") else xp.sqrt(val)


def relative_error(result: Any, truth: Any) -> float:
    """``||F G^T - M*||_F / ||M*||_F`` from factors only (``truth``: LowRankMatrix or ``(F*, G*)``).

    Computed from thin QRs of ``[F, F*]`` and ``[G, G*]``: accurate to machine
    precision and ``O((m + n) k^2)``.

    Examples
    --------
    >>> from lowrank_lab.problems import low_rank_matrix
    >>> truth = low_rank_matrix(20, 10, 2, rng=0)
    >>> F, G = truth.balanced_factors()
    >>> relative_error((2 * F, G), truth)
    1.0
    """
    F, G = _factors_of(result)
    xp = backend.array_namespace(F, G)
    TF, TG = _truth_factors(truth, (F.shape[0], G.shape[0]), F)
    return float(_factored_distance(xp, F, G, TF, TG) / _product_norm(xp, TF, TG))


# --------------------------------------------------------------------------- #
# shared machinery
# --------------------------------------------------------------------------- #
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


# --------------------------------------------------------------------------- #
# alternating minimization
# --------------------------------------------------------------------------- #
def altmin(
    obs: Observations,
    rank: int,
    *,
    reg: float = 0.0,
    solve: str = "exact",
    cg_iters: int = 2,
    init: Any = "spectral",
    trim: float | None = 2.0,
    orthonormalize: bool = True,
    perturbation: float = 0.0,
    resample: bool | int = False,
    max_iter: int = 50,
    tol: float = 1e-10,
    truth: Any = None,
    test: Observations | None = None,
    check_every: int = 1,
    kernel: str = "auto",
    n_threads: int | None = None,
    callback: Any = None,
    rng: Any = None,
    history_stride: int = 1,
    progress: bool = False,
) -> SolverResult:
    """Alternating minimization for matrix completion, with exact or approximate least squares.

    One *sweep* solves, for every column ``j``, the ridge regression
    ``v_j = argmin sum_{i in Omega_j} (M_ij - u_i^T v_j)^2 + reg ||v_j||^2``
    (normal equations ``(sum u_i u_i^T + reg I) v_j = sum M_ij u_i``), then the same
    for every row ``i`` with ``V`` fixed (PAPERS.md C2, JNS13 skeleton).

    Parameters
    ----------
    obs : Observations
    rank : int
        ``k``, in ``[1, min(m, n)]``.
    reg : float, default 0
        Ridge ``lambda`` (theory uses 0; use a small positive value on real data).
    solve : {"exact", "cg"}
        ``"exact"``: batched normal equations, ``O(|Omega| k^2 + (m + n) k^3)`` per sweep
        (:func:`lowrank_lab.linalg.segment_least_squares`).  ``"cg"``: ``cg_iters``
        conjugate-gradient steps per row/column, warm-started from the previous
        iterate (expressed in the current basis), applying ``sum u_i u_i^T`` as
        ``U_Omega^T (U_Omega v)`` without forming it: ``O(|Omega| k)`` per sweep
        (PAPERS.md C2 robust variant (a); :func:`lowrank_lab.linalg.segment_cg`).
    cg_iters : int, default 2
        CG steps per half-sweep (each costs one application of every row's operator).
    init : {"spectral", "random"} or (U0, V0)
        ``"spectral"``: top-``k`` left singular vectors of ``P_Omega(M)/p_hat`` with row
        trimming, re-orthonormalized; ``"random"``: a random orthonormal ``U0``.
        Iteration 0 is ``U0 (P_Omega(M)^T U0 / p_hat)^T``.  A pair of factors starts there.
    trim : float or None, default 2.0
        Spectral-initialization trimming: rows of ``U0`` with norm above
        ``trim * sqrt(k/m)`` are zeroed before re-orthonormalization (JNS13's
        ``2 mu sqrt(k/m)`` with the incoherence ``mu`` folded into ``trim``;
        reconstruction -- check against the paper).  ``None`` disables it.
    orthonormalize : bool, default True
        QR-orthonormalize the factor held fixed before each half-step (JNS13).  The
        iterates' product is unchanged for ``reg = 0``; with ``reg > 0`` the ridge then
        acts on the product.  ``False`` gives classical regularized ALS, the minimizer
        of ``sum_Omega (M_ij - u_i^T v_j)^2 + reg (||U||^2 + ||V||^2)``.
    perturbation : float, default 0
        ``epsilon`` of PAPERS.md C2 variant (b): after each (exact or CG) solve, every
        row ``x_j`` of the solution gets a random perturbation of norm
        ``epsilon ||x_j||`` (reconstruction of "an injected perturbation of relative size
        epsilon": per row, Gaussian direction).
    resample : bool or int, default False
        Sample splitting of JNS13's analysis: partition ``Omega`` at random into
        ``2 max_iter + 1`` parts (``True``) or the given number of parts; the
        initialization uses part 0 and half-step ``h`` part ``1 + (h - 1) mod (parts - 1)``.
    max_iter : int, default 50
        Sweeps.
    tol : float, default 1e-10
        Stop ("converged") when the relative residual on ``Omega`` or the relative
        change of the training loss between checks is at most ``tol``.
    truth : LowRankMatrix or (F, G), optional
        Records ``relative_error``.
    test : Observations, optional
        Records ``test_rmse``.
    check_every : int, default 1
        Sweeps between convergence checks (each one synchronizes with the device).
    kernel : {"auto", "packed", "padded"}
        Normal-equation kernel of the exact solve
        (:func:`~lowrank_lab.linalg.segment_least_squares`).  ``"auto"``: on NumPy,
        ``"packed"`` (compiled when Numba is installed) at every ``k`` if Numba is
        installed, else up to ``k = 16``; ``"padded"`` (batched GEMMs) otherwise.
    n_threads : int or None
        Threads of the exact solve's packed kernel on NumPy (rows, and columns, are
        cut into ranges of equal entry counts, at least 32768 entries each; results do
        not depend on the count).  The kernel is compiled with Numba when it is
        installed (:func:`~lowrank_lab.linalg.segment_least_squares`).  ``None``: the
        CPUs available to the process; ``1``: serial.  While more than one runs, BLAS
        is limited to one thread (``threadpoolctl``), whose spinning workers would
        otherwise take the cores.  The CG solve is threaded (and compiled) only with
        Numba.  Ignored on other backends.
    callback : callable, optional
        ``callback(sweep, {"factors": (U, V), "loss": ...}) -> bool``; True stops.
    rng : int, Generator or None
        Random initialization, randomized SVD, perturbations, partitions.
    history_stride : int, default 1
    progress : bool, default False

    Returns
    -------
    SolverResult
        ``factors = (U, V)`` with estimate ``U @ V.T`` (with ``orthonormalize``, ``V``
        has orthonormal columns).  ``params`` holds the effective parameters and the
        cost model: ``ops_per_sweep`` (floating-point operations of one sweep,
        excluding convergence checks) and ``ops_breakdown``.  ``train_loss`` is
        ``1/2 sum_Omega r^2 + reg/2 (||U||_F^2 + ||V||_F^2)``.

    Notes
    -----
    Rows or columns with fewer than ``k`` observations make the normal matrix
    singular; a relative diagonal jitter (:data:`JITTER`, 1e-12 of the mean diagonal)
    is always added, so they get the minimum-norm (for none: zero) solution, never NaN.

    Examples
    --------
    >>> from lowrank_lab.problems import low_rank_matrix, sample_entries
    >>> truth = low_rank_matrix(80, 60, 3, rng=0)
    >>> obs = sample_entries(truth, p=0.4, rng=1)
    >>> exact = altmin(obs, 3, truth=truth, rng=0)
    >>> cg = altmin(obs, 3, solve="cg", cg_iters=3, truth=truth, max_iter=100, rng=0)
    >>> bool(exact.final("relative_error") < 1e-8), bool(cg.final("relative_error") < 1e-6)
    (True, True)
    >>> sorted(cg.params["ops_breakdown"])
    ['cg_applications', 'cg_vector_updates', 'qr', 'right_hand_sides']
    """
    obs = _check_obs(obs)
    xp = obs.xp
    m, n = obs.shape
    k = _check_rank(rank, obs.shape)
    reg = check_float(reg, "reg", low=0.0)
    solve = check_choice(solve, "solve", ("exact", "cg"))
    cg_iters = check_int(cg_iters, "cg_iters", low=1)
    trim = None if trim is None else check_float(trim, "trim", low=0.0, low_inclusive=False)
    if not isinstance(orthonormalize, (bool, np.bool_)):
        raise TypeError(f"orthonormalize must be a bool, got {orthonormalize!r}")
    perturbation = check_float(perturbation, "perturbation", low=0.0)
    max_iter = check_int(max_iter, "max_iter", low=0)
    tol = check_float(tol, "tol", low=0.0)
    check_every = check_int(check_every, "check_every", low=1)
    kernel = check_choice(kernel, "kernel", ("auto", "packed", "padded"))
    n_threads = available_cpus() if n_threads is None else check_int(n_threads, "n_threads", low=1)
    callback = check_callback(callback)
    if isinstance(resample, (bool, np.bool_)):
        n_parts = 2 * max_iter + 1 if resample else 0
    else:
        n_parts = check_int(resample, "resample", low=2, high=obs.nnz, high_label="nnz")
    if n_parts > obs.nnz:
        raise ValueError(f"resample=True needs 2*max_iter+1={n_parts} parts but obs has only {obs.nnz} entries")
    if isinstance(init, str):
        init = check_choice(init, "init", ("spectral", "random"))
    monitor = _Monitor(obs, truth, test, tol, history_stride)
    seed = seed_of(rng)
    gen_init, gen_perturb, gen_split = backend.spawn_generators(rng, 3) if rng is not None else (None, None, None)
    if gen_init is None:
        gen_init, gen_perturb, gen_split = (backend.as_generator(None) for _ in range(3))

    parts = random_partition(obs, n_parts, rng=gen_split) if n_parts else [obs]
    init_obs = parts[0]
    train_parts = parts[1:] if n_parts else parts
    # auto: the compiled packed kernel at every k (measured 2.6-3.3x faster than the padded
    # GEMMs at k = 32-128); without it, SciPy's packed products only up to k = 16
    small_k = k <= 16 or linalg.has_compiled_kernels()
    need_layout = kernel == "padded" or (kernel == "auto" and solve == "exact"
                                         and not (backend.is_numpy(xp) and small_k))
    packed_numpy = solve == "exact" and not need_layout and kernel != "padded" and backend.is_numpy(xp)
    compiled_cg = solve == "cg" and backend.is_numpy(xp) and linalg.has_compiled_kernels()
    if packed_numpy:
        block_rows = max(64, _CACHE_BYTES // (8 * k * (k + 1) // 2))
    else:  # the compiled CG kernel needs only the plan's segment ranges (one column block)
        block_rows = max(m, n) if compiled_cg else None
    sides = [(_Side(p, "col", need_layout, block_rows, n_threads), _Side(p, "row", need_layout, block_rows, n_threads))
             for p in train_parts]
    threaded = block_rows is not None and any(len(s.blocks.ranges) > 1 for pair in sides for s in pair)

    # ---- initialization -------------------------------------------------
    with quiet_overflow():
        if isinstance(init, str):
            if init == "spectral":
                U0, S0, V0s = _spectral(init_obs, k, gen_init)
                U0 = _trim_rows(xp, U0, trim)
            else:
                U0 = _random_orthonormal((m, k), gen_init, obs.values)
                S0 = V0s = None
            U, _ = _qr(xp, U0)
            if orthonormalize or S0 is None:
                V = _rmatmat(init_obs, init_obs.col_values / init_obs.density, U)
                if not orthonormalize:  # balance the scale between the two factors
                    Q, R = _qr(xp, V)
                    W, s, Zt = xp.linalg.svd(R, full_matrices=False)
                    root = xp.sqrt(s)
                    U = (U @ xp.matrix_transpose(Zt)) * root[None, :]
                    V = (Q @ W) * root[None, :]
            else:
                root = xp.sqrt(S0)
                U = U * root[None, :]
                V = V0s * root[None, :]
        else:
            U, V = _init_pair(init, k, obs.shape, obs.values)

    def loss_of(F: Any, G: Any, r: Any) -> Any:
        val = 0.5 * xp.sum(r * r)
        if reg > 0:
            val = val + 0.5 * reg * (xp.sum(F * F) + xp.sum(G * G))
        return val

    def perturb(X: Any) -> Any:
        if perturbation == 0:
            return X
        g = backend.random_normal(tuple(X.shape), rng=gen_perturb, like=X)
        gnorm = xp.linalg.vector_norm(g, axis=1)
        xnorm = xp.linalg.vector_norm(X, axis=1)
        scale = perturbation * xnorm / xp.where(gnorm > 0, gnorm, xp.ones_like(gnorm))
        return X + g * scale[:, None]

    def shift_of(diag_mean: Any) -> Any:
        """Per-segment diagonal shift ``reg + JITTER * (trace/k + global mean)``."""
        return reg + JITTER * (diag_mean + xp.mean(diag_mean) + 1e-300)

    def half_step(side: _Side, fixed: Any, warm: Any) -> Any:
        row_sq = xp.sum(fixed * fixed, axis=1)
        diag_mean = linalg.csr_matmul(side.offsets, side.indices, side.ones, row_sq[:, None])[:, 0] / k
        shift = shift_of(diag_mean)  # trace(A_s) / k from the factor's row norms
        if solve == "exact":
            X = linalg.segment_least_squares(
                side.offsets, side.indices, fixed, side.values, shift=shift, layout=side.layout,
                method=kernel, ones=side.ones, blocks=side.blocks,
            )
        else:
            X = linalg.segment_cg(side.offsets, side.indices, fixed, side.values, warm, n_iter=cg_iters,
                                  shift=shift, seg_ids=side.seg_ids, blocks=side.blocks)
        return perturb(X)

    # ---- cost model ------------------------------------------------------
    ops, breakdown = _altmin_ops(obs, k, solve, cg_iters, orthonormalize, sides[0],
                                 kernel if solve == "exact" else None)
    params = {
        "rank": k, "reg": reg, "solve": solve, "cg_iters": cg_iters if solve == "cg" else None,
        "init": init if isinstance(init, str) else "given", "trim": trim, "orthonormalize": bool(orthonormalize),
        "perturbation": perturbation, "resample": n_parts, "max_iter": max_iter, "tol": tol,
        "nnz": obs.nnz, "shape": obs.shape, "ops_per_sweep": ops, "ops_breakdown": breakdown,
        "kernel": kernel, "n_threads": n_threads if threaded else 1,
    }

    # ---- the loop ----------------------------------------------------------
    rec = monitor.recorder
    stop_reason = "max_iter"
    last_good = (U, V)
    bar = progress_bar(max_iter, progress, "altmin")
    t = 0
    with quiet_overflow(), serial_blas(threaded):
        for t in range(max_iter + 1):
            if t > 0:
                col_side, row_side = sides[(2 * (t - 1)) % len(sides)][0], sides[(2 * t - 1) % len(sides)][1]
                try:
                    if orthonormalize:
                        Qu, Ru = _qr(xp, U)
                        V = half_step(col_side, Qu, V @ xp.matrix_transpose(Ru))
                        Qv, Rv = _qr(xp, V)
                        U = half_step(row_side, Qv, Qu @ xp.matrix_transpose(Rv) if solve == "cg" else None)
                        V = Qv
                    else:
                        V = half_step(col_side, U, V)
                        U = half_step(row_side, V, U)
                except (np.linalg.LinAlgError, ValueError, ArithmeticError):
                    stop_reason = "diverged"
                    break
                bar.update(1)
            checking = t % check_every == 0 or t == max_iter
            recording = rec.due(t) or t == max_iter
            if checking or recording:
                r = monitor.residual(U, V)
                loss = loss_of(U, V, r)
                if recording:
                    rec.record(t, **monitor.metrics(U, V, r, loss))
                if checking:
                    verdict = monitor.check(loss, r)
                    if verdict == "diverged" or not _all_finite(xp, U, V):
                        stop_reason = "diverged"
                        break
                    last_good = (U, V)
                    if verdict == "converged":
                        stop_reason = "converged"
                        rec.record(t, **monitor.metrics(U, V, r, loss))
                        break
            if callback is not None and callback(t, {"factors": (U, V), "iteration": t}):
                stop_reason = "callback"
                break
    bar.close()
    if stop_reason == "diverged":
        U, V = last_good
    return rec.result(factors=(U, V), n_iter=t, stop_reason=stop_reason, seed=seed, solver=f"altmin_{solve}",
                      params=params)


def _altmin_ops(
    obs: Observations, k: int, solve: str, cg_iters: int, orthonormalize: bool, side_pair: tuple, kernel: str | None
) -> tuple[float, dict]:
    """Floating-point operation model of one sweep (both half-steps), from the shapes actually used."""
    m, n = obs.shape
    nnz = side_pair[0].nnz  # entries per half-step (a part of Omega with resample)
    packed = k * (k + 1) // 2
    out: dict[str, float] = {}
    if solve == "exact":
        padded_method = kernel == "padded" or (kernel == "auto" and side_pair[0].layout is not None
                                               and (k > 16 or not backend.is_numpy(obs.xp)))
        if padded_method:
            padded = side_pair[0].layout.padded_entries + side_pair[1].layout.padded_entries
            out["normal_matrices"] = 2.0 * padded * k * k
            out["right_hand_sides"] = 2.0 * padded * k
        else:
            out["normal_matrices"] = 2.0 * (2 * nnz * packed) + (m + n) * packed
            out["right_hand_sides"] = 2.0 * (2 * nnz * k)
        out["solves"] = (m + n) * (k**3 / 3.0 + 2.0 * k * k)
    else:
        applies = cg_iters + 1
        out["right_hand_sides"] = 2.0 * (2 * nnz * k) + 2.0 * (2 * nnz)
        out["cg_applications"] = 2.0 * applies * (4 * nnz * k) + applies * 2 * (m + n) * k
        out["cg_vector_updates"] = cg_iters * 10.0 * (m + n) * k
    if orthonormalize:
        out["qr"] = 2.0 * 4 * (m + n) * k * k
    return float(sum(out.values())), out


# --------------------------------------------------------------------------- #
# softImpute-ALS
# --------------------------------------------------------------------------- #
def _svd_of_product(xp: Any, F: Any, G: Any) -> tuple[Any, Any, Any]:
    """Thin SVD ``F G^T = U diag(s) V^T`` without forming ``F G^T``."""
    Qf, Rf = _qr(xp, F)
    Qg, Rg = _qr(xp, G)
    W, s, Zt = xp.linalg.svd(Rf @ xp.matrix_transpose(Rg), full_matrices=False)
    return Qf @ W, s, Qg @ xp.matrix_transpose(Zt)


def soft_impute(
    obs: Observations,
    rank: int,
    *,
    reg: float,
    init: Any = "random",
    max_iter: int = 100,
    tol: float = 1e-5,
    truth: Any = None,
    test: Observations | None = None,
    callback: Any = None,
    rng: Any = None,
    history_stride: int = 1,
    progress: bool = False,
) -> SolverResult:
    """softImpute-ALS (Hastie, Mazumder, Lee, Zadeh 2015, Algorithm 3.1; R package ``softImpute``).

    Minimizes ``1/2 ||P_Omega(M - A B^T)||_F^2 + reg/2 (||A||_F^2 + ||B||_F^2)`` over
    ``A = U D``, ``B = V D`` of width ``rank`` by alternating ridge regressions on the
    filled-in matrix ``X* = P_Omega(M) + P_Omega_perp(A B^T)``, which is
    *sparse plus low rank*: ``X* = P_Omega(M - A B^T) + A B^T``, so each step costs
    ``O(|Omega| k + (m + n) k^2)``.  Once ``rank`` exceeds the rank of the solution,
    the final soft-thresholded SVD step returns the solution of the convex
    nuclear-norm problem ``min 1/2 ||P_Omega(M - Z)||^2 + reg ||Z||_*`` (SoftImpute of
    Mazumder, Hastie, Tibshirani 2010).

    Parameters
    ----------
    obs : Observations
    rank : int
        Maximum rank (R's ``rank.max``).
    reg : float
        ``lambda > 0`` (no default: choose it on a validation set, warm-starting along a
        decreasing path with ``init=previous_result``; the common ``sigma_max/50``
        default is a heuristic).
    init : "random" or SolverResult or (F, G)
        Random orthonormal ``U`` with ``D = I`` (the R package's start), or a warm start.
    max_iter : int, default 100
    tol : float, default 1e-5
        Stop when ``||Z_t - Z_{t-1}||_F^2 / ||Z_{t-1}||_F^2 <= tol`` (the R package's rule).
    truth, test, callback, rng, history_stride, progress
        As in :func:`altmin`.

    Returns
    -------
    SolverResult
        ``factors = (U diag(d), V)`` with ``d`` the soft-thresholded singular values (zero
        columns dropped, at least one kept).  ``train_loss`` is the objective above.

    Examples
    --------
    >>> from lowrank_lab.problems import low_rank_matrix, sample_entries
    >>> truth = low_rank_matrix(60, 50, 2, rng=0)
    >>> obs = sample_entries(truth, p=0.5, rng=1)
    >>> res = soft_impute(obs, 5, reg=1e-3, tol=1e-9, max_iter=300, truth=truth, rng=0)
    >>> bool(res.final("relative_error") < 0.01), res.factors[0].shape[1] <= 5
    (True, True)
    """
    obs = _check_obs(obs)
    xp = obs.xp
    m, n = obs.shape
    k = _check_rank(rank, obs.shape)
    reg = check_float(reg, "reg", low=0.0, low_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", low=0)
    tol = check_float(tol, "tol", low=0.0)
    callback = check_callback(callback)
    monitor = _Monitor(obs, truth, test, tol, history_stride)
    seed = seed_of(rng)
    gen = backend.as_generator(rng)
    like = obs.values
    if isinstance(init, str):
        check_choice(init, "init", ("random",))
        U = _random_orthonormal((m, k), gen, like)
        Dsq = xp.ones(k, dtype=obs.dtype, device=backend.device(like))
        V = xp.zeros((n, k), dtype=obs.dtype, device=backend.device(like))
    else:
        F, G = _factors_of(init, "init")
        F, G = backend.asarray(F, like=like), backend.asarray(G, like=like)
        if F.shape[0] != m or G.shape[0] != n:
            raise ValueError(f"init factors must have {m} and {n} rows, got {tuple(F.shape)} and {tuple(G.shape)}")
        U, s, V = _svd_of_product(xp, F, G)
        width = min(k, s.shape[0])
        U, Dsq, V = U[:, :width], s[:width], V[:, :width]
        if width < k:  # pad with fresh directions and tiny weights
            extra = _random_orthonormal((m, k), gen, like)[:, : k - width]
            U, _ = _qr(xp, xp.concat([U, extra], axis=1))
            V = xp.concat([V, xp.zeros((n, k - width), dtype=obs.dtype, device=backend.device(like))], axis=1)
            Dsq = xp.concat([Dsq, xp.ones(k - width, dtype=obs.dtype, device=backend.device(like)) * 1e-8])

    def sparse_part(U: Any, Dsq: Any, V: Any) -> tuple[Any, Any, Any]:
        """Residual values ``M - A B^T`` on Omega (row order, column order) and ``A B^T`` there."""
        fit = linalg.sampled_dot(U * Dsq[None, :], V, obs.rows, obs.cols)
        res = obs.values - fit
        return res, xp.take(res, obs.col_order), fit

    def objective(res: Any, Dsq: Any) -> Any:
        return 0.5 * xp.sum(res * res) + reg * xp.sum(Dsq)

    def frob_ratio(U0: Any, D0: Any, V0: Any, U1: Any, D1: Any, V1: Any) -> Any:
        denom = xp.sum(D0 * D0)
        utu = D1[:, None] * (xp.matrix_transpose(U1) @ U0)
        vtv = D0[:, None] * (xp.matrix_transpose(V0) @ V1)
        uv = xp.sum(utu * xp.matrix_transpose(vtv))
        num = denom + xp.sum(D1 * D1) - 2.0 * uv
        return num / xp.maximum(denom, xp.asarray(1e-9, dtype=denom.dtype, device=backend.device(denom)))

    rec = monitor.recorder
    stop_reason = "max_iter"
    bar = progress_bar(max_iter, progress, "soft_impute")
    res, res_c, _ = sparse_part(U, Dsq, V)
    t = 0
    with quiet_overflow():
        for t in range(max_iter + 1):
            if t > 0:
                U_old, D_old, V_old = U, Dsq, V
                # B step: B^T = (D^2 + reg)^-1 D U^T X*, with U^T X* = (S^T U)^T + Dsq V^T
                B = _rmatmat(obs, res_c, U) + V * Dsq[None, :]  # (X*)^T U, n x k
                B = B * (Dsq / (Dsq + reg))[None, :]
                Vn, Dsq, Rt = xp.linalg.svd(B, full_matrices=False)
                V, U = Vn, U @ xp.matrix_transpose(Rt)
                res, res_c, _ = sparse_part(U, Dsq, V)
                # A step
                A = _matmat(obs, res, V) + U * Dsq[None, :]  # X* V, m x k
                A = A * (Dsq / (Dsq + reg))[None, :]
                Un, Dsq, Rt = xp.linalg.svd(A, full_matrices=False)
                U, V = Un, V @ xp.matrix_transpose(Rt)
                res, res_c, _ = sparse_part(U, Dsq, V)
                ratio = frob_ratio(U_old, D_old, V_old, U, Dsq, V)
                bar.update(1)
            F = U * Dsq[None, :]
            loss = objective(res, Dsq)
            if rec.due(t) or t == max_iter:
                rec.record(t, **monitor.metrics(F, V, -res, loss))
            if t > 0:
                host_ratio = float(ratio)
                if not math.isfinite(host_ratio) or is_diverged(float(loss), monitor.reference or float(loss)):
                    stop_reason = "diverged"
                    break
                if host_ratio <= tol:
                    stop_reason = "converged"
                    rec.record(t, **monitor.metrics(F, V, -res, loss))
                    break
            else:
                monitor.reference = float(loss)
            if callback is not None and callback(t, {"factors": (F, V), "iteration": t}):
                stop_reason = "callback"
                break
    bar.close()
    # final step: SVD of X* V, soft-threshold the singular values
    with quiet_overflow():
        M_hat = _matmat(obs, res, V) + U * Dsq[None, :]
        Uf, d, Rt = xp.linalg.svd(M_hat, full_matrices=False)
        Vf = V @ xp.matrix_transpose(Rt)
        d = xp.maximum(d - reg, xp.zeros_like(d))
        keep = max(1, int(xp.sum(xp.astype(d > 0, xp.int64))))
    factors = (Uf[:, :keep] * d[None, :keep], Vf[:, :keep])
    params = {"rank": k, "reg": reg, "max_iter": max_iter, "tol": tol, "nnz": obs.nnz, "shape": obs.shape,
              "effective_rank": int(xp.sum(xp.astype(d > 0, xp.int64))),
              "ops_per_sweep": float(4 * (2 * obs.nnz * k) + 2 * 2 * 2 * (m + n) * k * k)}
    return rec.result(factors=factors, n_iter=t, stop_reason=stop_reason, seed=seed, solver="soft_impute",
                      params=params)


# --------------------------------------------------------------------------- #
# SVT
# --------------------------------------------------------------------------- #
def svt(
    obs: Observations,
    *,
    tau: float | None = None,
    step: float | None = None,
    max_rank: int | None = None,
    rank_increment: int = 5,
    max_iter: int = 500,
    tol: float = 1e-4,
    truth: Any = None,
    test: Observations | None = None,
    callback: Any = None,
    rng: Any = None,
    history_stride: int = 1,
    progress: bool = False,
) -> SolverResult:
    """Singular value thresholding (Cai, Candes, Shen 2010).

    ``X_t = S_tau(Y_{t-1})``, ``Y_t = Y_{t-1} + step * P_Omega(M - X_t)``, with ``Y``
    supported on ``Omega`` (stored as its observed values) and ``S_tau`` the singular
    value soft-thresholding.  Only the singular values above ``tau`` are computed,
    by a warm-started randomized SVD of the sparse ``Y`` whose size grows by
    ``rank_increment`` until the smallest computed value falls below ``tau`` (the
    paper's rule).  Starts from ``Y_0 = k_0 step P_Omega(M)`` with
    ``k_0 = ceil(tau / (step ||P_Omega(M)||_2))``.

    Parameters
    ----------
    tau : float, optional
        Threshold.  The paper's ``tau = 5 n`` is about 5 times ``sigma_1`` of its
        normalized test matrices; the default is the scale-free
        ``5 ||P_Omega(M)||_2 / p_hat`` (about ``5 sigma_1(M)``; reconstruction).
    step : float, optional
        ``delta``; default ``1.2 / p_hat`` (the paper's choice).
    max_rank : int, optional
        Cap on the computed rank (default ``min(m, n) // 2``).
    rank_increment : int, default 5
    max_iter : int, default 500
    tol : float, default 1e-4
        Stop when ``||P_Omega(X_t - M)||_F / ||P_Omega(M)||_F <= tol``.
    truth, test, callback, rng, history_stride, progress
        As in :func:`altmin`.

    Returns
    -------
    SolverResult
        ``factors = (U diag(sigma - tau), V)``; history adds ``rank``.
        ``train_loss`` is ``1/2 ||P_Omega(X_t - M)||^2``.

    Examples
    --------
    >>> from lowrank_lab.problems import low_rank_matrix, sample_entries
    >>> truth = low_rank_matrix(60, 60, 2, rng=0)
    >>> obs = sample_entries(truth, p=0.5, rng=1)
    >>> res = svt(obs, truth=truth, rng=0)
    >>> bool(res.final("relative_error") < 0.01), int(res.history["rank"].iloc[-1])
    (True, 2)
    """
    obs = _check_obs(obs)
    xp = obs.xp
    m, n = obs.shape
    p_hat = obs.density
    max_rank = min(m, n) // 2 if max_rank is None else max_rank
    max_rank = check_int(max_rank, "max_rank", low=1, high=min(m, n), high_label="min(m, n)")
    rank_increment = check_int(rank_increment, "rank_increment", low=1)
    max_iter = check_int(max_iter, "max_iter", low=0)
    tol = check_float(tol, "tol", low=0.0)
    callback = check_callback(callback)
    monitor = _Monitor(obs, truth, test, tol, history_stride)
    seed = seed_of(rng)
    gen = backend.as_generator(rng)
    like = obs.values
    _, s1, _ = _operator_svd(xp, lambda X: _matmat(obs, obs.values, X), lambda Y: _rmatmat(obs, obs.col_values, Y),
                             obs.shape, 1, like=like, rng=gen, n_oversamples=5, n_power_iter=6)
    norm2 = float(s1[0])
    tau = 5.0 * norm2 / p_hat if tau is None else check_float(tau, "tau", low=0.0, low_inclusive=False)
    step = 1.2 / p_hat if step is None else check_float(step, "step", low=0.0, low_inclusive=False)
    k0 = max(1, math.ceil(tau / (step * norm2))) if norm2 > 0 else 1
    y = obs.values * (k0 * step)
    r_prev = 0
    U_prev = None
    rec = monitor.recorder
    stop_reason = "max_iter"
    bar = progress_bar(max_iter, progress, "svt")
    F = xp.zeros((m, 1), dtype=obs.dtype, device=backend.device(like))
    G = xp.zeros((n, 1), dtype=obs.dtype, device=backend.device(like))
    t = 0
    with quiet_overflow():
        for t in range(1, max_iter + 1):
            yc = xp.take(y, obs.col_order)
            s_k = min(r_prev + 1, max_rank)
            while True:
                U, S, V = _operator_svd(
                    xp, lambda X: _matmat(obs, y, X), lambda Y: _rmatmat(obs, yc, Y), obs.shape, s_k,
                    like=like, rng=gen, n_oversamples=5, n_power_iter=3,
                    start=None if U_prev is None else U_prev[:, : min(U_prev.shape[1], s_k + 5)],
                )
                if s_k >= max_rank or float(S[-1]) <= tau:
                    break
                s_k = min(s_k + rank_increment, max_rank)
            U_prev = U
            r = int(xp.sum(xp.astype(S > tau, xp.int64)))
            r_prev = r
            if r == 0:
                F = xp.zeros((m, 1), dtype=obs.dtype, device=backend.device(like))
                G = xp.zeros((n, 1), dtype=obs.dtype, device=backend.device(like))
            else:
                F = U[:, :r] * (S[:r] - tau)[None, :]
                G = V[:, :r]
            resid = linalg.sampled_dot(F, G, obs.rows, obs.cols) - obs.values
            loss = 0.5 * xp.sum(resid * resid)
            if rec.due(t) or t == max_iter:
                rec.record(t, **monitor.metrics(F, G, resid, loss, {"rank": r}))
            verdict = monitor.check(loss, resid, use_change=False)
            if verdict == "diverged":
                stop_reason = "diverged"
                break
            if verdict == "converged":
                stop_reason = "converged"
                rec.record(t, **monitor.metrics(F, G, resid, loss, {"rank": r}))
                break
            y = y - step * resid
            bar.update(1)
            if callback is not None and callback(t, {"factors": (F, G), "iteration": t}):
                stop_reason = "callback"
                break
    bar.close()
    params = {"tau": tau, "step": step, "max_rank": max_rank, "max_iter": max_iter, "tol": tol,
              "nnz": obs.nnz, "shape": obs.shape, "final_rank": r_prev}
    return rec.result(factors=(F, G), n_iter=t, stop_reason=stop_reason, seed=seed, solver="svt", params=params)


# --------------------------------------------------------------------------- #
# SVP / IHT
# --------------------------------------------------------------------------- #
def svp(
    obs: Observations,
    rank: int,
    *,
    step: float = 0.75,
    max_iter: int = 200,
    tol: float = 1e-10,
    n_power_iter: int = 1,
    truth: Any = None,
    test: Observations | None = None,
    check_every: int = 1,
    callback: Any = None,
    rng: Any = None,
    history_stride: int = 1,
    progress: bool = False,
) -> SolverResult:
    """Singular value projection / iterative hard thresholding (Jain, Meka, Dhillon 2010).

    ``X <- H_k(X - (step / p_hat) P_Omega(X - M))`` from ``X_0 = 0`` (so ``X_1`` is the
    spectral estimate), with ``H_k`` the best rank-``k`` approximation.  ``X`` is kept
    as factors and the rank-``k`` SVD of the sparse-plus-low-rank matrix is computed
    by a randomized range finder warm-started from the current left factor
    (``n_power_iter`` subspace iterations).

    Parameters
    ----------
    step : float, default 0.75
        ``eta``.  PAPERS.md C2 says ``eta ~ 1``; the SVP paper's experiments use
        ``1 / ((1 + delta) p)`` with ``delta = 1/3``, i.e. ``eta = 0.75``, and ``eta = 1``
        diverges on a 200 x 200, rank-5, p = 0.3 problem where 0.75 converges.
    n_power_iter : int, default 1
        Subspace iterations per step after the first (which uses 4).
    Others as in :func:`altmin`.

    Returns
    -------
    SolverResult
        ``factors = (U diag(S), V)``; ``train_loss`` is ``1/2 ||P_Omega(X - M)||^2``.

    Examples
    --------
    >>> from lowrank_lab.problems import low_rank_matrix, sample_entries
    >>> truth = low_rank_matrix(60, 60, 2, rng=0)
    >>> obs = sample_entries(truth, p=0.5, rng=1)
    >>> res = svp(obs, 2, truth=truth, rng=0)
    >>> bool(res.final("relative_error") < 1e-6)
    True
    """
    obs = _check_obs(obs)
    xp = obs.xp
    m, n = obs.shape
    k = _check_rank(rank, obs.shape)
    step = check_float(step, "step", low=0.0, low_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", low=0)
    tol = check_float(tol, "tol", low=0.0)
    n_power_iter = check_int(n_power_iter, "n_power_iter", low=0)
    check_every = check_int(check_every, "check_every", low=1)
    callback = check_callback(callback)
    monitor = _Monitor(obs, truth, test, tol, history_stride)
    seed = seed_of(rng)
    gen = backend.as_generator(rng)
    like = obs.values
    eta = step / obs.density
    F = xp.zeros((m, k), dtype=obs.dtype, device=backend.device(like))
    G = xp.zeros((n, k), dtype=obs.dtype, device=backend.device(like))
    U = None
    rec = monitor.recorder
    stop_reason = "max_iter"
    last_good = (F, G)
    bar = progress_bar(max_iter, progress, "svp")
    resid = -obs.values
    t = 0
    with quiet_overflow():
        for t in range(max_iter + 1):
            if t > 0:
                s = -eta * resid  # Y = X + s on Omega, with s = -eta P_Omega(X - M)
                sc = xp.take(s, obs.col_order)
                Fc, Gc = F, G

                def mm(X: Any, Fc: Any = Fc, Gc: Any = Gc, s: Any = s) -> Any:
                    return Fc @ (xp.matrix_transpose(Gc) @ X) + _matmat(obs, s, X)

                def rm(Y: Any, Fc: Any = Fc, Gc: Any = Gc, sc: Any = sc) -> Any:
                    return Gc @ (xp.matrix_transpose(Fc) @ Y) + _rmatmat(obs, sc, Y)

                U, S, V = _operator_svd(xp, mm, rm, obs.shape, k, like=like, rng=gen, n_oversamples=5,
                                        n_power_iter=n_power_iter if U is not None else 4, start=U)
                F, G = U * S[None, :], V
                resid = linalg.sampled_dot(F, G, obs.rows, obs.cols) - obs.values
                bar.update(1)
            loss = 0.5 * xp.sum(resid * resid)
            if rec.due(t) or t == max_iter:
                rec.record(t, **monitor.metrics(F, G, resid, loss))
            if t % check_every == 0 or t == max_iter:
                verdict = monitor.check(loss, resid) if t > 0 else None
                if t == 0:
                    monitor.reference = float(loss)
                if verdict == "diverged" or not _all_finite(xp, F, G):
                    stop_reason = "diverged"
                    break
                last_good = (F, G)
                if verdict == "converged":
                    stop_reason = "converged"
                    rec.record(t, **monitor.metrics(F, G, resid, loss))
                    break
            if callback is not None and callback(t, {"factors": (F, G), "iteration": t}):
                stop_reason = "callback"
                break
    bar.close()
    if stop_reason == "diverged":
        F, G = last_good
    params = {"rank": k, "step": step, "max_iter": max_iter, "tol": tol, "n_power_iter": n_power_iter,
              "nnz": obs.nnz, "shape": obs.shape}
    return rec.result(factors=(F, G), n_iter=t, stop_reason=stop_reason, seed=seed, solver="svp", params=params)


# --------------------------------------------------------------------------- #
# ScaledGD
# --------------------------------------------------------------------------- #
def scaled_gd(
    obs: Observations,
    rank: int,
    *,
    step: float = 0.5,
    init: Any = "spectral",
    max_iter: int = 500,
    tol: float = 1e-10,
    truth: Any = None,
    test: Observations | None = None,
    check_every: int = 1,
    callback: Any = None,
    rng: Any = None,
    history_stride: int = 1,
    progress: bool = False,
) -> SolverResult:
    """ScaledGD for matrix completion (Tong, Ma, Chi 2021).

    ``L <- L - (step/p_hat) P_Omega(L R^T - M) R (R^T R)^{-1}`` and
    ``R <- R - (step/p_hat) P_Omega(L R^T - M)^T L (L^T L)^{-1}`` (simultaneous), from the
    spectral initialization ``L = U S^{1/2}``, ``R = V S^{1/2}`` of the rank-``k`` SVD of
    ``P_Omega(M)/p_hat``.  The incoherence projection of the theory is omitted, as
    in practical code (PAPERS.md C2).  Per iteration ``O(|Omega| k + (m + n) k^2)``.

    Parameters
    ----------
    step : float, default 0.5
        ``eta`` (the reference setup's value).
    init : "spectral", "random" or (L0, R0)
    Others as in :func:`altmin`.

    Returns
    -------
    SolverResult
        ``factors = (L, R)``; ``train_loss`` is ``1/2 ||P_Omega(L R^T - M)||^2``;
        ``params["ops_per_sweep"]`` is the per-iteration operation count.

    Examples
    --------
    >>> from lowrank_lab.problems import low_rank_matrix, sample_entries
    >>> truth = low_rank_matrix(60, 60, 2, rng=0)
    >>> obs = sample_entries(truth, p=0.5, rng=1)
    >>> res = scaled_gd(obs, 2, truth=truth, rng=0)
    >>> bool(res.final("relative_error") < 1e-6)
    True
    """
    obs = _check_obs(obs)
    xp = obs.xp
    m, n = obs.shape
    k = _check_rank(rank, obs.shape)
    step = check_float(step, "step", low=0.0, low_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", low=0)
    tol = check_float(tol, "tol", low=0.0)
    check_every = check_int(check_every, "check_every", low=1)
    callback = check_callback(callback)
    monitor = _Monitor(obs, truth, test, tol, history_stride)
    seed = seed_of(rng)
    gen = backend.as_generator(rng)
    like = obs.values
    if isinstance(init, str):
        init = check_choice(init, "init", ("spectral", "random"))
        if init == "spectral":
            U, S, V = _spectral(obs, k, gen)
            root = xp.sqrt(S)
            L, R = U * root[None, :], V * root[None, :]
        else:
            scale = math.sqrt(float(xp.linalg.vector_norm(obs.values)) / math.sqrt(obs.density) / k)
            L = _random_orthonormal((m, k), gen, like) * scale
            R = _random_orthonormal((n, k), gen, like) * scale
    else:
        L, R = _init_pair(init, k, obs.shape, like)
    eta = step / obs.density
    rec = monitor.recorder
    stop_reason = "max_iter"
    last_good = (L, R)
    bar = progress_bar(max_iter, progress, "scaled_gd")
    t = 0
    with quiet_overflow():
        for t in range(max_iter + 1):
            resid = linalg.sampled_dot(L, R, obs.rows, obs.cols) - obs.values
            loss = 0.5 * xp.sum(resid * resid)
            if rec.due(t) or t == max_iter:
                rec.record(t, **monitor.metrics(L, R, resid, loss))
            if t % check_every == 0 or t == max_iter:
                verdict = monitor.check(loss, resid)
                if verdict == "diverged" or not _all_finite(xp, L, R):
                    stop_reason = "diverged"
                    break
                last_good = (L, R)
                if verdict == "converged":
                    stop_reason = "converged"
                    break
            if callback is not None and callback(t, {"factors": (L, R), "iteration": t}):
                stop_reason = "callback"
                break
            if t == max_iter:
                break
            gL = _matmat(obs, resid, R)
            gR = _rmatmat(obs, xp.take(resid, obs.col_order), L)
            try:
                L_new = L - eta * xp.matrix_transpose(
                    xp.linalg.solve(xp.matrix_transpose(R) @ R, xp.matrix_transpose(gL)))
                R_new = R - eta * xp.matrix_transpose(
                    xp.linalg.solve(xp.matrix_transpose(L) @ L, xp.matrix_transpose(gR)))
            except (np.linalg.LinAlgError, ValueError, ArithmeticError):
                stop_reason = "diverged"
                break
            L, R = L_new, R_new
            bar.update(1)
    bar.close()
    if stop_reason == "diverged":
        L, R = last_good
    params = {"rank": k, "step": step, "max_iter": max_iter, "tol": tol, "nnz": obs.nnz, "shape": obs.shape,
              "init": init if isinstance(init, str) else "given",
              "ops_per_sweep": float(3 * 2 * obs.nnz * k + 2 * 2 * (m + n) * k * k + 2 * (m + n) * k * k)}
    return rec.result(factors=(L, R), n_iter=t, stop_reason=stop_reason, seed=seed, solver="scaled_gd",
                      params=params)
