"""Partial SVD to a tolerance: restarted block Lanczos bidiagonalization (block Krylov).

The top-``k`` singular triplets of an ``m x n`` operator given by its products
(``matmat(X) = A @ X``, ``rmatmat(Y) = A^T @ Y``), iterated until every wanted
triplet's residual is below a tolerance.  See :func:`krylov_svd_operator` for the
algorithm and ``docs/decisions.md`` ("Partial SVD to a tolerance") for why this
method rather than subspace iteration or LOBPCG.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from .. import backend
from .._validation import (
    check_array,
    check_arrays,
    check_callback,
    check_float,
    check_int,
)
from ..iteration import iterate
from ..results import HistoryRecorder
from ._altmin import serial_blas
from ._svd import SVDResult, _svd_raw, svd_flip

#: Default block widths: a dense product's cost per vector falls until ~16 columns (BLAS-3);
#: a sparse or implicit product costs about the same per vector, and a narrower block needs
#: fewer products (measured in benchmarks/bench_svd.py and docs/decisions.md).
DENSE_BLOCK = 16
OPERATOR_BLOCK = 8


@dataclass(frozen=True, repr=False)
class PartialSVDResult:
    """Top-``k`` singular triplets computed to a tolerance, with what it took.

    Unpacks like :class:`SVDResult`: ``U, S, Vt = result``.

    Attributes
    ----------
    U : array, shape (m, k)
    S : array, shape (k,)
        Descending.
    Vt : array, shape (k, n)
        With the :func:`~lowrank_lab.linalg.svd_flip` sign convention.
    residuals : array, shape (k,)
        ``||(A v_i - s_i u_i, A^T u_i - s_i v_i)|| / s_1`` in the input's namespace: the
        Lanczos recurrence's value, or recomputed from two products with ``verify=True``.
        They agree down to the rounding level of a product (about ``eps sqrt(n)``), below
        which the recurrence's value keeps falling and the recomputed one cannot.
    n_iter : int
        Block steps (each one product with ``A`` and one with ``A^T`` of a block).
    n_matvec : int
        Vectors multiplied by ``A`` or ``A^T`` in all (the cost in ARPACK's unit).
    n_restarts : int
    converged : bool
    stop_reason : str
        ``"converged"``, ``"max_iter"``, ``"callback"`` or ``"diverged"`` (non-finite products).
    tol : float
        The tolerance the run used.
    history : pandas.DataFrame
        Per step: ``iteration``, ``time_s``, ``max_residual`` (largest relative residual of the
        wanted triplets at the last Rayleigh-Ritz check), ``n_converged``, ``basis_size``, ``n_matvec``.
    """

    U: Any
    S: Any
    Vt: Any
    residuals: Any
    n_iter: int
    n_matvec: int
    n_restarts: int
    converged: bool
    stop_reason: str
    tol: float
    history: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __iter__(self):
        return iter((self.U, self.S, self.Vt))

    @property
    def svd(self) -> SVDResult:
        """The triplets as an :class:`SVDResult`."""
        return SVDResult(self.U, self.S, self.Vt)

    @property
    def max_residual(self) -> float:
        """Largest entry of ``residuals`` as a host float."""
        return float(np.max(backend.to_numpy(self.residuals)))

    def __repr__(self) -> str:
        return (
            f"PartialSVDResult(k={self.S.shape[0]}, stop_reason={self.stop_reason!r}, n_iter={self.n_iter}, "
            f"n_matvec={self.n_matvec}, max_residual={self.max_residual:.2e}, tol={self.tol:.1e})"
        )


# --------------------------------------------------------------------------- #
# block orthonormalization: CGS2 against a basis, then SVQB with random refill
# --------------------------------------------------------------------------- #
class _Context:
    """What every step shares: namespace, dtype, rounding level, random stream, counters."""

    def __init__(self, xp: ModuleType, like: Any, dtype: Any, rng: Any, matmat: Any, rmatmat: Any,
                 shape: tuple[int, int]) -> None:
        self.xp = xp
        self.like = like
        self.dtype = dtype
        self.eps = float(xp.finfo(dtype).eps)
        self.gen = backend.as_generator(rng)
        self._matmat = matmat
        self._rmatmat = rmatmat
        self.shape = shape
        self.n_matvec = 0
        self.pairs: list[tuple[Any, Any]] = []

    def buffers(self, ucols: int, vcols: int, current: Any = None) -> tuple[Any, Any]:
        """Two pairs of basis buffers, used in turn by successive cycles (allocated once).

        A restart writes the new cycle into the pair the current cycle does not use, so
        the iterate the driver keeps as "last good" is never overwritten.
        """
        if not self.pairs:
            xp, dev = self.xp, backend.device(self.like)
            m, n = self.shape
            self.pairs = [(xp.zeros((m, ucols), dtype=self.dtype, device=dev),
                           xp.zeros((n, vcols), dtype=self.dtype, device=dev)) for _ in range(2)]
        return self.pairs[1] if current is self.pairs[0][0] else self.pairs[0]

    def random(self, rows: int, cols: int) -> Any:
        return backend.random_normal((rows, cols), rng=self.gen, like=self.like, dtype=self.dtype)

    def _product(self, fn: Any, X: Any, rows: int, name: str) -> Any:
        Y = fn(X)
        if not hasattr(Y, "shape") or tuple(Y.shape) != (rows, X.shape[1]):
            raise ValueError(f"{name} must return an array of shape {(rows, X.shape[1])}, "
                             f"got {getattr(Y, 'shape', type(Y).__name__)}")
        if Y.dtype != self.dtype:
            Y = self.xp.astype(Y, self.dtype)
        self.n_matvec += X.shape[1]
        return Y

    def matmat(self, X: Any) -> Any:
        return self._product(self._matmat, X, self.shape[0], "matmat")

    def rmatmat(self, Y: Any) -> Any:
        return self._product(self._rmatmat, Y, self.shape[1], "rmatmat")


def _project_out(basis: Any, W: Any, xp: ModuleType, passes: int) -> tuple[Any, Any]:
    """``W - basis (basis^T W)``, ``passes`` times (classical Gram-Schmidt); coefficients summed."""
    if basis is None or basis.shape[1] == 0:
        return W, None
    Bt = xp.matrix_transpose(basis)
    C = None
    for _ in range(passes):
        Ci = Bt @ W
        W = W - basis @ Ci
        C = Ci if C is None else C + Ci
    return W, C


def _orth_block(W: Any, basis: Any, ctx: _Context, *, passes: int = 2, scale: Any = None,
                depth: int = 0) -> tuple[Any, Any, Any]:
    """Orthonormal ``Q`` (same width as ``W``), orthogonal to ``basis``, with ``W ~ basis C + Q R``.

    Classical Gram-Schmidt against ``basis`` (``passes`` times: two is enough for an
    arbitrary block, Giraud et al. 2005; one after the Lanczos recurrence has already
    removed the large components), then SVQB (Stathopoulos and Wu 2002): eigen-decompose
    the Gram matrix ``W^T W = Z diag(lam) Z^T`` and keep ``W Z lam^{-1/2}`` for the
    directions above the rounding level of ``scale`` (the block's norm before any
    projection); the others (a Krylov block that became dependent: an invariant subspace,
    a low-rank operator) are replaced by random directions, and their rows of ``R`` are
    zero, so the relation holds to rounding.  When the kept directions are small against
    ``scale`` or ill-conditioned (orthogonality would be lost in the normalization), the
    result is orthogonalized once more.  One host read of ``b + 1`` numbers.
    """
    xp = ctx.xp
    b = W.shape[1]
    w0 = xp.max(xp.linalg.vector_norm(W, axis=0)) if scale is None else scale
    W, C = _project_out(basis, W, xp, passes)
    G = xp.matrix_transpose(W) @ W
    G = (G + xp.matrix_transpose(G)) / 2
    lam, Z = xp.linalg.eigh(G)
    host = backend.to_numpy(xp.concat([lam, xp.reshape(w0, (1,))]))
    lam_h, scale = np.maximum(host[:-1], 0.0), float(host[-1])
    floor = (100.0 * ctx.eps * max(scale, 0.0)) ** 2
    if not np.all(np.isfinite(host)):
        raise FloatingPointError("non-finite values in a Krylov block (the operator returned NaN or inf)")
    keep = np.flatnonzero(lam_h > floor) if scale > 0 else np.zeros(0, dtype=np.int64)
    n_keep = keep.size
    parts_q, parts_r = [], []
    if n_keep:
        idx = backend.asarray(keep, like=lam, dtype=xp.int64)
        Zk = xp.take(Z, idx, axis=1)
        root = xp.sqrt(xp.take(lam, idx))
        Q = W @ (Zk / root[None, :])
        R = root[:, None] * xp.matrix_transpose(Zk)
        small = (1e-2 if passes == 1 else 1e-5) * scale
        ill = lam_h[keep].min() < 1e-8 * lam_h[keep].max() or lam_h[keep].min() < small ** 2
        if ill and depth < 2:  # refine: orthogonality lost to the conditioning of the block
            Q, C2, R2 = _orth_block(Q, basis, ctx, passes=1, depth=depth + 1)
            if C2 is not None:
                C = C + C2 @ R
            R = R2 @ R
        parts_q.append(Q)
        parts_r.append(R)
    if n_keep < b:  # refill with random directions orthogonal to everything so far
        done = [a for a in (basis, Q if n_keep else None) if a is not None]
        full = None if not done else (done[0] if len(done) == 1 else xp.concat(done, axis=1))
        Qr, _, _ = _orth_block(ctx.random(W.shape[0], b - n_keep), full, ctx, depth=depth + 1)
        parts_q.append(Qr)
        parts_r.append(xp.zeros((b - n_keep, b), dtype=ctx.dtype, device=backend.device(W)))
    Q = parts_q[0] if len(parts_q) == 1 else xp.concat(parts_q, axis=1)
    R = parts_r[0] if len(parts_r) == 1 else xp.concat(parts_r, axis=0)
    return Q, C, R


# --------------------------------------------------------------------------- #
# the Krylov state: locked triplets + one cycle of a block Lanczos bidiagonalization
# --------------------------------------------------------------------------- #
@dataclass
class _Ritz:
    X: Any          # left singular vectors of B (s x s)
    S: Any          # singular values of B (s,)
    Y: Any          # right singular vectors of B (s x s)
    s_host: np.ndarray     # singular values on the host
    r_host: np.ndarray     # their absolute residual norms on the host


@dataclass
class _State:
    """One cycle of the bidiagonalization, with the locked triplets.

    Buffers ``Ubuf`` (m x (L + capacity)) and ``Vbuf`` (n x (L + capacity + w)) hold
    ``[UL | Ua]`` and ``[VL | Va | Vnext]``: the ``L`` locked vectors, the cycle's ``s``
    basis vectors and the next right block of ``w``.  They satisfy
    ``A [VL, Va] = [UL, Ua] [[SL, 0], [0, B]]`` and
    ``A^T Ua = Va B^T + Vnext Lnext E_last^T`` (only the last ``last`` columns of ``Ua``
    couple to ``Vnext``).  Steps only write beyond ``L + s``, so an earlier state stays
    valid while a later one grows (the buffers are shared, never overwritten).
    """

    Ubuf: Any
    Vbuf: Any
    SL: np.ndarray      # locked singular values (host)
    RL: np.ndarray      # their residuals when locked (host, absolute)
    size: int
    width: int
    last: int
    B: Any
    Lnext: Any
    capacity: int
    j: int = 1
    n_restarts: int = 0
    max_residual: float = math.inf
    n_converged: int = 0
    ritz_cache: _Ritz | None = None

    @property
    def n_locked(self) -> int:
        return int(self.SL.size)

    @property
    def Ua(self) -> Any:
        return self.Ubuf[:, self.n_locked:self.n_locked + self.size]

    @property
    def Va(self) -> Any:
        return self.Vbuf[:, self.n_locked:self.n_locked + self.size]

    @property
    def Vnext(self) -> Any:
        L, s = self.n_locked, self.size
        return self.Vbuf[:, L + s:L + s + self.width]

    @property
    def basis_size(self) -> int:
        return self.n_locked + self.size

    @property
    def full(self) -> bool:
        """No room for another block in this cycle."""
        return self.size + self.width > self.capacity


def _ritz(state: _State, ctx: _Context) -> _Ritz:
    """Rayleigh-Ritz on the cycle (cached): ``B = X diag(S) Y^T``, residuals ``||Lnext X_last||``."""
    if state.ritz_cache is None:
        xp = ctx.xp
        # a small LAPACK SVD is ~3x slower with BLAS threads on a busy machine (36 vs 133 ms
        # at 300 x 300 on 2 cores): run it on one thread
        with serial_blas(backend.is_numpy(xp) and state.size <= 512):
            X, S, Yt = _svd_raw(state.B, xp)
        s = state.size
        res = xp.linalg.vector_norm(state.Lnext @ X[s - state.last:, :], axis=0)
        host = backend.to_numpy(xp.concat([S, res]))
        state.ritz_cache = _Ritz(X, S, xp.matrix_transpose(Yt), host[:s], host[s:])
    return state.ritz_cache


def _reference(state: _State, ritz: _Ritz) -> float:
    return max(float(ritz.s_host[0]), float(state.SL.max()) if state.SL.size else 0.0)


def _assess(state: _State, ctx: _Context, rank: int, tol: float) -> None:
    """Stores the largest relative residual of the wanted triplets and how many converged."""
    ritz = _ritz(state, ctx)
    want = rank - state.n_locked
    ref = _reference(state, ritz)
    rel = ritz.r_host[:want] / ref if ref > 0 else np.zeros(min(want, ritz.r_host.size))
    state.max_residual = float(rel.max()) if rel.size else 0.0
    if rel.size < want:  # the cycle does not span enough vectors yet
        state.max_residual = max(state.max_residual, 1.0)
    state.n_converged = state.n_locked + int(np.sum(rel <= tol))


def _expand(state: _State, ctx: _Context) -> _State:
    """One block step: ``A Vnext`` -> next left block, ``A^T U`` -> next right block."""
    xp = ctx.xp
    L, s, last, w = state.n_locked, state.size, state.last, state.width
    Ubuf, Vbuf = state.Ubuf, state.Vbuf
    Vnext = state.Vnext
    # the recurrence gives U_last^T A Vnext = Lnext^T: subtract it, then one full
    # reorthogonalization pass against every earlier and locked vector
    W = ctx.matmat(Vnext)
    scale = xp.max(xp.linalg.vector_norm(W, axis=0))
    W = W - Ubuf[:, L + s - last:L + s] @ xp.matrix_transpose(state.Lnext)
    Unew, C, R = _orth_block(W, Ubuf[:, :L + s], ctx, passes=1, scale=scale)
    C = C[L:, :]
    C = xp.concat([C[: s - last, :], C[s - last:, :] + xp.matrix_transpose(state.Lnext)], axis=0)
    B = xp.concat([
        xp.concat([state.B, C], axis=1),
        xp.concat([xp.zeros((w, s), dtype=ctx.dtype, device=backend.device(R)), R], axis=1),
    ], axis=0)
    Ubuf[:, L + s:L + s + w] = Unew
    Z = ctx.rmatmat(Unew)
    scale = xp.max(xp.linalg.vector_norm(Z, axis=0))
    Z = Z - Vnext @ xp.matrix_transpose(R)  # Vnext^T A^T Unew = R^T
    Vnew, _, Lnext = _orth_block(Z, Vbuf[:, :L + s + w], ctx, passes=1, scale=scale)
    Vbuf[:, L + s + w:L + s + 2 * w] = Vnew
    return _State(Ubuf, Vbuf, state.SL, state.RL, s + w, w, w, B, Lnext, state.capacity, state.j + 1,
                  state.n_restarts, state.max_residual, state.n_converged)


def _checkpoint(state: _State) -> bool:
    """Rayleigh-Ritz checks within a cycle: after ``j = 1, 2, 4, 8, ...`` blocks and at its end.

    Geometric spacing keeps the small SVDs' cost a fixed fraction of the cycle's while an
    easy problem (a low-rank operator, a warm start) stops within a factor 2 of the step
    where it converged.
    """
    j = state.j
    return state.full or (j & (j - 1)) == 0


def _capacity(max_basis: int, n_locked: int, width: int, shape: tuple[int, int]) -> int:
    m, n = shape
    return min(max_basis, m - n_locked, n - n_locked - width)


def _restart(state: _State, ctx: _Context, rank: int, tol: float, max_basis: int) -> _State:
    """Lock the converged wanted triplets; thick restart from the leading Ritz vectors.

    The kept Ritz vectors ``U x_i, V y_i`` satisfy ``A V y = s U x`` and
    ``A^T U X_k - V Y_k S_k = Vnext (Lnext X_last)``, so the restarted cycle starts with
    ``B = diag(s_k)`` and the next right block ``Vnext Q`` (``Lnext X_last = Q R``) at no
    product's cost: the thick restart of Wu and Simon (2000), Baglama and Reichel (2005).
    """
    xp = ctx.xp
    ritz = _ritz(state, ctx)
    want = rank - state.n_locked
    ref = _reference(state, ritz)
    rel = ritz.r_host / ref if ref > 0 else np.zeros_like(ritz.r_host)
    lock = [i for i in range(min(want, rel.size)) if rel[i] <= tol]
    L0, L = state.n_locked, state.n_locked + len(lock)
    w = state.width
    capacity = _capacity(max_basis, L, w, ctx.shape)
    rest = [i for i in range(rel.size) if i not in lock]
    # keep the wanted ones plus a block, or half the basis when that is more (Wu and Simon)
    n_keep = min(len(rest), capacity - w, max(rank - L + w, capacity // 2))
    rest = rest[:n_keep]
    Ubuf, Vbuf = ctx.buffers(0, 0, current=state.Ubuf)
    Ubuf[:, :L0] = state.Ubuf[:, :L0]
    Vbuf[:, :L0] = state.Vbuf[:, :L0]
    Ua, Va = state.Ua, state.Va
    SL, RL = state.SL, state.RL
    if lock:
        li = backend.asarray(np.asarray(lock), like=ritz.S, dtype=xp.int64)
        Ubuf[:, L0:L] = Ua @ xp.take(ritz.X, li, axis=1)
        Vbuf[:, L0:L] = Va @ xp.take(ritz.Y, li, axis=1)
        SL = np.concatenate([SL, ritz.s_host[lock]])
        RL = np.concatenate([RL, ritz.r_host[lock]])
    ki = backend.asarray(np.asarray(rest), like=ritz.S, dtype=xp.int64)
    Xk = xp.take(ritz.X, ki, axis=1)
    Ubuf[:, L:L + n_keep] = Ua @ Xk
    Vbuf[:, L:L + n_keep] = Va @ xp.take(ritz.Y, ki, axis=1)
    dev = backend.device(state.B)
    B = xp.eye(n_keep, dtype=ctx.dtype, device=dev) * xp.take(ritz.S, ki)[None, :]
    M = state.Lnext @ Xk[state.size - state.last:, :]  # A^T U1 - V1 S = Vnext M
    Qm, Rm = xp.linalg.qr(M, mode="reduced")
    q = int(Qm.shape[1])
    Vbuf[:, L + n_keep:L + n_keep + q] = state.Vnext @ Qm
    if q < w:  # fewer kept vectors than the block: complete the block at random
        extra, _, _ = _orth_block(ctx.random(ctx.shape[1], w - q), Vbuf[:, :L + n_keep + q], ctx)
        Vbuf[:, L + n_keep + q:L + n_keep + w] = extra
        Rm = xp.concat([Rm, xp.zeros((w - q, n_keep), dtype=ctx.dtype, device=dev)], axis=0)
    return _State(Ubuf, Vbuf, SL, RL, n_keep, w, n_keep, B, Rm, capacity, 1, state.n_restarts + 1,
                  state.max_residual, state.n_converged)


def _initial(ctx: _Context, rank: int, block: int, start: Any, max_basis: int) -> _State:
    xp = ctx.xp
    n = ctx.shape[1]
    if start is None:
        V0 = ctx.random(n, block)
    elif start.shape[1] < block:
        V0 = xp.concat([start, ctx.random(n, block - start.shape[1])], axis=1)
    else:
        V0 = start
    w = int(V0.shape[1])
    capacity = _capacity(max(max_basis, 2 * w), 0, w, ctx.shape)
    m, n = ctx.shape
    ucols = min(m, rank + max(max_basis, 2 * w))
    Ubuf, Vbuf = ctx.buffers(ucols, min(n, ucols + w))
    V1, _, _ = _orth_block(V0, None, ctx)
    Vbuf[:, :w] = V1
    U1, _, R = _orth_block(ctx.matmat(V1), None, ctx)
    Ubuf[:, :w] = U1
    Vnext, _, Lnext = _orth_block(ctx.rmatmat(U1), V1, ctx)
    Vbuf[:, w:2 * w] = Vnext
    return _State(Ubuf, Vbuf, np.zeros(0), np.zeros(0), w, w, w, R, Lnext, capacity)


def _top_triplets(state: _State, ctx: _Context, rank: int) -> tuple[Any, Any, Any, np.ndarray]:
    """Locked plus leading Ritz triplets of the cycle, sorted: ``U, S, V`` and residual estimates."""
    xp = ctx.xp
    ritz = _ritz(state, ctx)
    L = state.n_locked
    want = min(rank - L, state.size)
    U = state.Ua @ ritz.X[:, :want]
    V = state.Va @ ritz.Y[:, :want]
    if L:
        U = xp.concat([state.Ubuf[:, :L], U], axis=1)
        V = xp.concat([state.Vbuf[:, :L], V], axis=1)
    s_host = np.concatenate([state.SL, ritz.s_host[:want]])
    r_host = np.concatenate([state.RL, ritz.r_host[:want]])
    S = backend.asarray(s_host, like=ritz.S, dtype=ctx.dtype) if L else ritz.S[:want]
    if L:
        order = np.argsort(-s_host, kind="stable")
        idx = backend.asarray(order, like=S, dtype=xp.int64)
        U, V, S = xp.take(U, idx, axis=1), xp.take(V, idx, axis=1), xp.take(S, idx)
        r_host = r_host[order]
    return U, S, V, r_host


# --------------------------------------------------------------------------- #
# public functions
# --------------------------------------------------------------------------- #
def krylov_svd_operator(
    matmat: Any,
    rmatmat: Any,
    shape: tuple[int, int],
    rank: int,
    *,
    like: Any,
    tol: float = 1e-10,
    block_size: int | None = None,
    max_basis: int | None = None,
    max_iter: int = 1000,
    start: Any = None,
    rng: Any = None,
    callback: Any = None,
    verify: bool = False,
) -> PartialSVDResult:
    r"""Top-``rank`` SVD of an implicit ``m x n`` operator, iterated until the residuals meet ``tol``.

    Thick-restarted block Lanczos bidiagonalization (block Golub-Kahan: the block
    Krylov space of Musco and Musco 2015, grown until it is accurate rather than for a
    fixed number of steps) with full reorthogonalization and hard locking:

    1. A block ``V_1`` of ``w = block_size`` orthonormal columns (Gaussian, drawn on the
       host and moved next to ``like``; or the warm start ``start``).
    2. Steps ``U_j R_j = A V_j - U_{j-1} L_j^T``, ``V_{j+1} L_{j+1} = A^T U_j - V_j R_j^T``
       (the block recurrence), each new block then orthogonalized once more against *all*
       earlier and locked vectors (full reorthogonalization; the recurrence was the first
       pass, Giraud et al. 2005) and orthonormalized by SVQB, which replaces directions
       that became dependent (an invariant subspace, a low-rank operator) by random ones.
       This keeps ``A V = U B`` with ``B = U^T A V`` block upper bidiagonal.
    3. Rayleigh-Ritz at checkpoints (after 1, 2, 4, 8, ... blocks of a cycle and at its
       end): ``B = X diag(s) Y^T`` gives triplets ``(U x_i, s_i, V y_i)`` with
       ``A v_i = s_i u_i`` exactly and ``||A^T u_i - s_i v_i|| = ||L_{j+1} x_i^{last}||``,
       so every residual is known without a product.  The run stops when the ``rank``
       leading ones are below ``tol * s_1``.
    4. When the basis holds ``max_basis`` columns, the converged wanted triplets are
       locked (later blocks are orthogonalized against them) and the cycle restarts from
       the leading Ritz vectors (the wanted ones plus a block, or half the basis), with
       ``B = diag(s)`` and the next block taken from the known residual directions: the
       thick restart of Wu and Simon (2000) and Baglama and Reichel (2005), at no product.
    5. The residuals reported are the recurrence's (exact to rounding); with ``verify``
       they are recomputed with one product by ``A`` and one by ``A^T``.

    Parameters
    ----------
    matmat, rmatmat : callable
        ``matmat(X) = A @ X`` (X: n x s), ``rmatmat(Y) = A^T @ Y`` (Y: m x s), in ``like``'s
        namespace (as :func:`~lowrank_lab.linalg.randomized_svd_operator` takes them).
    shape : (int, int)
    rank : int
        Triplets wanted, ``1 <= rank <= min(m, n)``.
    like : array
        Any array in the target namespace, device and floating dtype.
    tol : float, default 1e-10
        Stop when every wanted triplet has ``||(A v - s u, A^T u - s v)|| <= tol * s_1``
        (a relative backward error, the criterion of IRLBA and PRIMME).  Then each ``s_i``
        is within ``tol * s_1`` of a singular value (within ``(tol s_1)^2 / gap_i`` once
        separated), and the sine of the angle of each vector to the true one is at most
        ``tol * s_1 / gap_i``, where ``gap_i`` is the distance from ``s_i`` to the other
        singular values: ask for ``tol`` about ``accuracy * gap_i / s_1`` to get vectors to
        ``accuracy``.  Tolerances below the rounding level
        (``eps * max(50, 4 sqrt(max(m, n)))``) are raised to it.
    block_size : int, optional
        Block width ``w``.  Default ``min(rank, 8)`` here, ``min(rank, 16)`` for dense arrays
        in :func:`krylov_svd`: a product with a dense matrix costs less per vector up to
        ~16 columns, while narrower blocks need fewer products (single-vector Lanczos needs
        the fewest).  A block at least as wide as the largest cluster of equal singular
        values among the wanted ones is needed to resolve its multiplicity.
    max_basis : int, optional
        Columns of a cycle's basis before a restart (memory: two buffers of
        ``(m + n) x (rank + max_basis)``).  Default ``max(3 rank + 4 w, 20)``.
    max_iter : int, default 1000
        Block steps at most.
    start : array (m x s) or SVD result, optional
        Warm start: a previous left basis (``A^T start`` begins the block: one product) or
        a previous result (its right vectors ``Vt`` begin the block).  The block is then
        ``max(w, s)`` wide (missing columns random).
    rng : int, Generator or None
        Seed of the random block (and of refills after a breakdown).
    callback : callable, optional
        ``callback(iteration, state) -> bool | None`` (the iteration driver's; True stops);
        ``state["factors"]`` are the current ``(U, S, Vt)`` (a Rayleigh-Ritz when read).
    verify : bool, default False
        Recompute the returned triplets' residuals explicitly (``2 rank`` more products)
        instead of reporting the recurrence's, which equal them to rounding (ARPACK and
        IRLBA report the recurrence's too; ``tests/test_krylov.py`` checks the agreement).

    Returns
    -------
    PartialSVDResult
        ``U, S, Vt`` (with the :func:`~lowrank_lab.linalg.svd_flip` signs), ``residuals``,
        ``n_iter``, ``n_matvec``, ``stop_reason`` and the history.

    Notes
    -----
    Sizes small against the basis (``2 rank + 3 w >= min(m, n)``) are decomposed densely:
    the operator is applied to the identity and its exact SVD taken (``n_iter = 0``).

    The loop runs on :func:`lowrank_lab.iteration.iterate` (``max_iter``, ``callback`` and
    ``stop_reason`` have its meaning; a product returning NaN or inf stops the run with
    ``"diverged"``).  Each step reads ``2 w + 2`` numbers on the host (the spectra of the
    two new blocks' Gram matrices, which detect breakdown), each checkpoint the singular
    values and residuals of ``B``.

    References: G. Golub and W. Kahan (1965), SIAM J. Numer. Anal. B 2; G. Golub, F. Luk
    and M. Overton (1981), ACM TOMS 7 (block Lanczos for the SVD); K. Wu and H. Simon
    (2000), SIAM J. Matrix Anal. Appl. 22 (thick restart); J. Baglama and L. Reichel (2005),
    SIAM J. Sci. Comput. 27 (IRLBA); A. Stathopoulos and K. Wu (2002), SIAM J. Sci.
    Comput. 23 (SVQB); L. Giraud, J. Langou, M. Rozloznik and J. van den Eshof (2005),
    Numer. Math. 101 (twice is enough); C. Musco and C. Musco (2015), NeurIPS,
    "Randomized Block Krylov Methods for Stronger and Faster Approximate Singular Value
    Decomposition".

    Examples
    --------
    >>> import numpy as np
    >>> A = np.diag(np.linspace(1.0, 2.0, 200))
    >>> res = krylov_svd_operator(lambda X: A @ X, lambda Y: A.T @ Y, A.shape, 3, like=A, rng=0)
    >>> res.converged, bool(res.max_residual <= 1e-10)
    (True, True)
    >>> np.round(res.S, 10)
    array([2.       , 1.9949749, 1.9899497])
    """
    m, n = (check_int(d, name, low=1) for d, name in zip(shape, ("shape[0]", "shape[1]")))
    rank = check_int(rank, "rank", low=1, high=min(m, n), high_label="min(m, n)")
    tol = check_float(tol, "tol", low=0.0, high=1.0, low_inclusive=False)
    if block_size is not None:
        block_size = check_int(block_size, "block_size", low=1, high=min(m, n), high_label="min(m, n)")
    max_iter = check_int(max_iter, "max_iter", low=0)
    callback = check_callback(callback)
    if not callable(matmat):
        raise TypeError(f"matmat must be callable, got {type(matmat).__name__}")
    if not callable(rmatmat):
        raise TypeError(f"rmatmat must be callable, got {type(rmatmat).__name__}")
    xp = check_arrays(like=like)
    dtype = backend.float_dtype(xp, like)
    block = min(rank, OPERATOR_BLOCK) if block_size is None else block_size
    if max_basis is None:
        max_basis = max(3 * rank + 4 * block, 20)
    else:
        max_basis = check_int(max_basis, "max_basis", low=rank + 2 * block, high_label="rank + 2 block_size")
    ctx = _Context(xp, like, dtype, rng, matmat, rmatmat, (m, n))
    tol = max(tol, ctx.eps * max(50.0, 4.0 * math.sqrt(max(m, n))))

    V0 = _start_block(start, ctx)
    if 2 * rank + 3 * block >= min(m, n):
        return _dense(ctx, rank, tol, verify)

    state0 = _initial(ctx, rank, block, V0, max_basis)
    recorder = HistoryRecorder(stride=1)

    def loss(it: Any) -> float:
        st = it.state
        if _checkpoint(st):
            _assess(st, ctx, rank, tol)
        return st.max_residual

    def check(it: Any) -> str | None:
        st = it.state
        if _checkpoint(st) and st.n_converged >= rank:
            return "converged"
        return None

    def step(it: Any) -> _State:
        st = it.state
        if st.full:
            st = _restart(st, ctx, rank, tol, max_basis)
        return _expand(st, ctx)

    def factors(st: _State) -> tuple:
        U, S, V, _ = _top_triplets(st, ctx, rank)
        return U, S, xp.matrix_transpose(V)

    outcome = iterate(
        state0, step, loss=loss, factors=factors, recorder=recorder, max_iter=max_iter, check=check,
        callback=callback, divergence_factor=math.inf, loss_name="max_residual",
        metrics=lambda it: {"n_converged": it.state.n_converged, "basis_size": it.state.basis_size,
                            "n_matvec": ctx.n_matvec},
    )
    final = outcome.state
    U, S, V, r_host = _top_triplets(final, ctx, rank)
    return _finish(ctx, U, S, V, None if verify else r_host, outcome.n_iter, final.n_restarts,
                   outcome.stop_reason, tol, recorder.frame())


def _start_block(start: Any, ctx: _Context) -> Any:
    if start is None:
        return None
    m, n = ctx.shape
    if hasattr(start, "Vt") and hasattr(start, "U"):
        Vt = check_array(start.Vt, "start.Vt", ndim=2)
        if Vt.shape[1] != n:
            raise ValueError(f"start.Vt must have {n} columns, got shape {tuple(Vt.shape)}")
        return backend.asarray(ctx.xp.matrix_transpose(Vt), like=ctx.like, dtype=ctx.dtype)
    start = check_array(start, "start", ndim=2)
    if start.shape[0] != m:
        raise ValueError(f"start must have {m} rows (a left basis), got shape {tuple(start.shape)}")
    return ctx.rmatmat(backend.asarray(start, like=ctx.like, dtype=ctx.dtype))


def _dense(ctx: _Context, rank: int, tol: float, verify: bool) -> PartialSVDResult:
    xp = ctx.xp
    m, n = ctx.shape
    dev = backend.device(ctx.like)
    if n <= m:
        A = ctx.matmat(xp.eye(n, dtype=ctx.dtype, device=dev))
    else:
        A = xp.matrix_transpose(ctx.rmatmat(xp.eye(m, dtype=ctx.dtype, device=dev)))
    U, S, Vt = _svd_raw(A, xp)
    frame = pd.DataFrame({"iteration": [0], "time_s": [0.0], "max_residual": [0.0]})
    return _finish(ctx, U[:, :rank], S[:rank], xp.matrix_transpose(Vt[:rank, :]), None if verify else
                   np.zeros(rank), 0, 0, "converged", tol, frame)


def _finish(ctx: _Context, U: Any, S: Any, V: Any, r_host: np.ndarray | None, n_iter: int, n_restarts: int,
            stop_reason: str, tol: float, history: pd.DataFrame) -> PartialSVDResult:
    """Signs, and the residuals: recomputed with two products (``r_host is None``) or the recurrence's."""
    xp = ctx.xp
    if r_host is None:
        AV = ctx.matmat(V)
        AtU = ctx.rmatmat(U)
        r = xp.sqrt(xp.sum((AV - U * S[None, :]) ** 2, axis=0) + xp.sum((AtU - V * S[None, :]) ** 2, axis=0))
    else:
        r = backend.asarray(r_host, like=S, dtype=ctx.dtype)
    ref = xp.max(S)
    r = r / xp.where(ref > 0, ref, xp.ones_like(ref))
    U, Vt = svd_flip(U, xp.matrix_transpose(V))
    return PartialSVDResult(U, S, Vt, r, int(n_iter), ctx.n_matvec, int(n_restarts), stop_reason == "converged",
                            stop_reason, float(tol), history)


def krylov_svd(
    A: Any,
    rank: int,
    *,
    tol: float = 1e-10,
    block_size: int | None = None,
    max_basis: int | None = None,
    max_iter: int = 1000,
    start: Any = None,
    rng: Any = None,
    callback: Any = None,
    verify: bool = False,
) -> PartialSVDResult:
    """Top-``rank`` SVD of a matrix to a tolerance (array front end of :func:`krylov_svd_operator`).

    Parameters
    ----------
    A : array (m, n) of any supported backend, or a SciPy / CuPy sparse matrix
        Dense input is validated (finite, real); sparse input is used through its products.
    rank, tol, block_size, max_basis, max_iter, start, rng, callback, verify
        As in :func:`krylov_svd_operator`.

    Returns
    -------
    PartialSVDResult

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((300, 200))
    >>> res = krylov_svd(A, 5, rng=1)
    >>> bool(np.allclose(res.S, np.linalg.svd(A, compute_uv=False)[:5], rtol=1e-12))
    True
    """
    A, like = _as_operand(A, "A")
    m, n = A.shape
    rank = check_int(rank, "rank", low=1, high=min(m, n), high_label="min(m, n)")
    At = A.T if like is not None else backend.array_namespace(A).matrix_transpose(A)
    if block_size is None:
        block_size = min(rank, OPERATOR_BLOCK if like is not None else DENSE_BLOCK)
    return krylov_svd_operator(
        lambda X: A @ X, lambda Y: At @ Y, (m, n), rank, like=A if like is None else like, tol=tol,
        block_size=block_size, max_basis=max_basis, max_iter=max_iter, start=start, rng=rng,
        callback=callback, verify=verify,
    )


def _as_operand(A: Any, name: str) -> tuple[Any, Any]:
    """``(A, None)`` for a validated dense array, ``(A, like)`` for a sparse matrix."""
    sparse = _sparse_kind(A)
    if sparse is None:
        return check_array(A, name, ndim=2), None
    if len(A.shape) != 2:
        raise ValueError(f"{name} must be 2-D, got shape {tuple(A.shape)}")
    kind = A.dtype.kind
    if kind == "c":
        raise TypeError(f"{name} must be real, got dtype {A.dtype}")
    A = A.tocsr()
    if kind != "f":
        A = A.astype(np.float64)
    check_array(A.data, f"{name}.data", ndim=1, min_size=0)
    if sparse == "cupy":  # pragma: no cover - needs a GPU
        import cupy  # noqa: PLC0415

        like = cupy.empty((0,), dtype=A.dtype)
    else:
        like = np.empty((0,), dtype=A.dtype)
    return A, like


def _sparse_kind(A: Any) -> str | None:
    try:
        import scipy.sparse  # noqa: PLC0415

        if scipy.sparse.issparse(A):
            return "scipy"
    except ImportError:  # pragma: no cover - scipy is a core dependency
        pass
    module = type(A).__module__
    if module.startswith("cupyx.scipy.sparse"):  # pragma: no cover - needs a GPU
        return "cupy"
    return None
