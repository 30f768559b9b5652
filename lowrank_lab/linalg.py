"""Linear algebra the Array API standard lacks, in one place.

Every routine here works on any Array API namespace through a *standard
fallback* written with standard calls only, and takes a *fast path* on NumPy
(NumPy / SciPy kernels) and CuPy (``cupyx``) where one exists.  Tests check that
both paths agree.  Nothing else in the library imports ``cupy`` or ``scipy`` for
array work.

Contents
--------
segment_sum
    Sum rows of ``values`` that share a segment id (scatter-add).
csr_matmul, sampled_dot, rowwise_dot
    Sparse (CSR) times dense, entries of ``U @ V.T`` at given positions, row-wise dot products.
batched_solve, lstsq
    Solves for stacks of small systems, least squares.
segment_normal_equations, segment_least_squares, segment_cg, padded_layout, blocked_csr, batched_spd_solve
    Per-segment normal equations ``sum f f^T``, ``sum v f`` of gathered factor rows,
    their ridge solutions, exact or by a few CG steps (the alternating-minimization
    kernels), batched SPD solves.
svd, truncated_svd, randomized_svd, randomized_svd_operator, svd_flip
    SVD with a deterministic sign convention; exact and randomized truncation
    (of an array, or of an implicit operator given by its products).
orthonormalize
    Thin QR with a positive diagonal of R (a unique, backend-independent basis).
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from . import _jit, backend
from ._validation import check_array, check_int

__all__ = [
    "SVDResult",
    "BlockedCSR",
    "PaddedLayout",
    "batched_solve",
    "batched_spd_solve",
    "blocked_csr",
    "csr_matmul",
    "has_compiled_kernels",
    "lstsq",
    "orthonormalize",
    "randomized_svd",
    "randomized_svd_operator",
    "padded_layout",
    "rowwise_dot",
    "sampled_dot",
    "segment_cg",
    "segment_least_squares",
    "segment_normal_equations",
    "segment_sum",
    "svd",
    "svd_flip",
    "truncated_svd",
]


class SVDResult(NamedTuple):
    """Thin SVD ``A = U @ diag(S) @ Vt`` with singular values in descending order."""

    U: Any
    S: Any
    Vt: Any


# --------------------------------------------------------------------------- #
# segment sums and sparse products
# --------------------------------------------------------------------------- #
def segment_sum(values: Any, segment_ids: Any, n_segments: int, *, sorted: bool = False) -> Any:
    """Sum the rows of ``values`` that share a segment id.

    ``out[s] = sum(values[i] for i where segment_ids[i] == s)``; empty segments give 0.

    Parameters
    ----------
    values : array, shape (N,) or (N, ...)
    segment_ids : integer array, shape (N,)
        Values in ``[0, n_segments)``.  Not checked (this is an inner-loop kernel).
    n_segments : int
    sorted : bool
        Promise that ``segment_ids`` is non-decreasing (enables a faster kernel).

    Examples
    --------
    >>> import numpy as np
    >>> segment_sum(np.array([1.0, 2.0, 3.0]), np.array([0, 2, 0]), 3)
    array([4., 0., 2.])
    """
    xp = backend.array_namespace(values, segment_ids)
    n_segments = check_int(n_segments, "n_segments", low=0)
    if segment_ids.ndim != 1 or values.ndim < 1 or values.shape[0] != segment_ids.shape[0]:
        raise ValueError(
            f"segment_ids must be 1-D with one id per row of values, got shapes "
            f"{tuple(segment_ids.shape)} and values {tuple(values.shape)}"
        )
    if backend.is_numpy(xp):
        return _segment_sum_numpy(values, segment_ids, n_segments, sorted)
    if backend.is_cupy(xp):  # pragma: no cover - needs a GPU
        import cupy  # noqa: PLC0415

        out = xp.zeros((n_segments, *values.shape[1:]), dtype=values.dtype)
        if hasattr(cupy.add, "at"):  # CuPy >= 13; cupyx.scatter_add is deprecated in 14
            cupy.add.at(out, segment_ids, values)
        else:
            import cupyx  # noqa: PLC0415

            cupyx.scatter_add(out, segment_ids, values)
        return out
    return _segment_sum_standard(values, segment_ids, n_segments, sorted)


def _segment_sum_numpy(values, segment_ids, n_segments, is_sorted):
    import numpy as np  # noqa: PLC0415

    values = np.asarray(values)
    ids = np.asarray(segment_ids)
    n = ids.shape[0]
    if n == 0:
        return np.zeros((n_segments, *values.shape[1:]), dtype=values.dtype)
    if is_sorted:
        offsets = np.searchsorted(ids, np.arange(n_segments + 1))
        # reduceat over the non-empty runs only: their starts are strictly increasing,
        # so each run sums exactly up to the next start (empty runs have zero length).
        nonempty = offsets[:-1] < offsets[1:]
        out = np.zeros((n_segments, *values.shape[1:]), dtype=values.dtype)
        out[nonempty] = np.add.reduceat(values, offsets[:-1][nonempty], axis=0)
        return out
    trailing = values.shape[1:]
    width = math.prod(trailing)
    if width == 1:
        out = np.bincount(ids, weights=values.reshape(n), minlength=n_segments)
    else:
        flat_ids = (ids[:, None] * width + np.arange(width)).ravel()
        out = np.bincount(flat_ids, weights=values.reshape(n * width), minlength=n_segments * width)
    return out.reshape((n_segments, *trailing)).astype(values.dtype, copy=False)


def _segment_sum_standard(values, segment_ids, n_segments, is_sorted):
    """Standard-only segment sum: sort, prefix sums, differences at segment boundaries."""
    xp = backend.array_namespace(values, segment_ids)
    if not is_sorted:
        order = xp.argsort(segment_ids, stable=True)
        segment_ids = xp.take(segment_ids, order, axis=0)
        values = xp.take(values, order, axis=0)
    prefix = xp.cumulative_sum(values, axis=0, include_initial=True)
    bounds = xp.searchsorted(segment_ids, xp.arange(n_segments + 1, dtype=segment_ids.dtype))
    return xp.take(prefix, bounds[1:], axis=0) - xp.take(prefix, bounds[:-1], axis=0)


def csr_matmul(indptr: Any, indices: Any, data: Any, dense: Any) -> Any:
    """Product of a CSR sparse matrix with a dense matrix, ``S @ dense``.

    ``S`` has ``len(indptr) - 1`` rows; row ``i`` holds ``data[indptr[i]:indptr[i+1]]`` at
    columns ``indices[indptr[i]:indptr[i+1]]``.  Uses ``scipy.sparse`` on NumPy,
    ``cupyx.scipy.sparse`` on CuPy, and a gather + :func:`segment_sum` elsewhere.

    Examples
    --------
    >>> import numpy as np
    >>> indptr, indices, data = np.array([0, 1, 3]), np.array([1, 0, 1]), np.array([2.0, 1.0, 1.0])
    >>> csr_matmul(indptr, indices, data, np.eye(2))
    array([[0., 2.],
           [1., 1.]])
    """
    xp = backend.array_namespace(indptr, indices, data, dense)
    n_rows = indptr.shape[0] - 1
    if backend.is_numpy(xp):
        import scipy.sparse as sp  # noqa: PLC0415

        S = sp.csr_array((data, indices, indptr), shape=(n_rows, dense.shape[0]))
        return S @ dense
    if backend.is_cupy(xp):  # pragma: no cover - needs a GPU
        import cupyx.scipy.sparse as csp  # noqa: PLC0415

        S = csp.csr_matrix((data, indices, indptr), shape=(n_rows, dense.shape[0]))
        return S @ dense
    return _csr_matmul_standard(indptr, indices, data, dense)


def _csr_matmul_standard(indptr, indices, data, dense):
    xp = backend.array_namespace(indptr, indices, data, dense)
    n_rows = indptr.shape[0] - 1
    counts = indptr[1:] - indptr[:-1]
    row_ids = xp.repeat(xp.arange(n_rows, dtype=indptr.dtype), counts)
    gathered = xp.take(dense, indices, axis=0)
    if dense.ndim == 2:
        gathered = gathered * data[:, None]
    else:
        gathered = gathered * data
    return _segment_sum_standard(gathered, row_ids, n_rows, True)


def sampled_dot(U: Any, V: Any, rows: Any, cols: Any, *, chunk_size: int = 1 << 20) -> Any:
    """Entries ``(U @ V.T)[rows[t], cols[t]]`` without forming ``U @ V.T``.

    Works in chunks of ``chunk_size`` entries so the gathered factor rows stay small.

    Examples
    --------
    >>> import numpy as np
    >>> U = np.array([[1.0, 0.0], [0.0, 2.0]]); V = np.array([[3.0, 1.0]])
    >>> sampled_dot(U, V, np.array([0, 1]), np.array([0, 0]))
    array([3., 2.])
    """
    xp = backend.array_namespace(U, V, rows, cols)
    n = rows.shape[0]
    numpy_path = backend.is_numpy(xp)
    parts = []
    for start in range(0, max(n, 1), chunk_size):
        stop = min(start + chunk_size, n)
        r = rows[start:stop]
        c = cols[start:stop]
        gathered = xp.take(U, r, axis=0)
        if numpy_path:  # in-place product and a BLAS matvec: one temporary instead of two (~1.5x faster)
            gathered *= xp.take(V, c, axis=0)
            parts.append(gathered @ xp.ones(U.shape[1], dtype=gathered.dtype))
        else:
            parts.append(xp.sum(gathered * xp.take(V, c, axis=0), axis=1))
    return parts[0] if len(parts) == 1 else xp.concat(parts)


def rowwise_dot(A: Any, B: Any) -> Any:
    """``out[t] = A[t] . B[t]`` for two ``(N, k)`` arrays (``sum(A * B, axis=1)``).

    NumPy fast path: ``einsum`` (no ``N x k`` temporary).

    Examples
    --------
    >>> import numpy as np
    >>> rowwise_dot(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 1.0], [0.0, 2.0]]))
    array([3., 8.])
    """
    xp = backend.array_namespace(A, B)
    if backend.is_numpy(xp):
        import numpy as np  # noqa: PLC0415

        return np.einsum("tk,tk->t", A, B)
    return xp.sum(A * B, axis=1)


# --------------------------------------------------------------------------- #
# solves
# --------------------------------------------------------------------------- #
def batched_solve(A: Any, b: Any) -> Any:
    """Solve a stack of square systems ``A[i] @ x[i] = b[i]``.

    Parameters
    ----------
    A : array, shape (..., k, k)
    b : array, shape (..., k) or (..., k, n_rhs)
        A trailing vector dimension is recognized when ``b.ndim == A.ndim - 1``.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.stack([np.eye(2) * 2, np.eye(2) * 4]); b = np.ones((2, 2))
    >>> batched_solve(A, b)
    array([[0.5 , 0.5 ],
           [0.25, 0.25]])
    """
    xp = backend.array_namespace(A, b)
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise ValueError(f"A must be a stack of square matrices (..., k, k), got shape {tuple(A.shape)}")
    vector = b.ndim == A.ndim - 1
    if b.shape[: A.ndim - 1] != A.shape[:-1] if vector else b.shape[:-1] != A.shape[:-1]:
        raise ValueError(f"b must have shape {tuple(A.shape[:-1])} or {tuple(A.shape[:-1])} + (n_rhs,), got {tuple(b.shape)}")
    rhs = b[..., None] if vector else b
    x = xp.linalg.solve(A, rhs)
    return x[..., 0] if vector else x


def lstsq(A: Any, b: Any, *, rcond: float | None = None) -> Any:
    """Minimum-norm least-squares solution of ``A @ x = b`` (``b`` 1-D or 2-D).

    ``rcond`` is the relative cut-off on singular values (default
    ``eps * max(A.shape)``, NumPy's convention).

    Examples
    --------
    >>> import numpy as np
    >>> lstsq(np.array([[1.0], [1.0]]), np.array([1.0, 3.0]))
    array([2.])
    """
    A = check_array(A, "A", ndim=2)
    b = check_array(b, "b", ndim=(1, 2))
    if b.shape[0] != A.shape[0]:
        raise ValueError(f"b must have {A.shape[0]} rows (A.shape[0]), got shape {tuple(b.shape)}")
    xp = backend.array_namespace(A, b)
    if backend.is_numpy(xp) or backend.is_cupy(xp):
        native = __import__("numpy") if backend.is_numpy(xp) else __import__("cupy")
        return native.linalg.lstsq(A, b, rcond=rcond)[0]
    if rcond is None:
        rcond = xp.finfo(A.dtype).eps * max(A.shape)
    U, s, Vt = xp.linalg.svd(A, full_matrices=False)
    keep = s > rcond * s[0]
    s_inv = xp.where(keep, 1.0 / xp.where(keep, s, 1.0), 0.0)
    vector = b.ndim == 1
    rhs = b[:, None] if vector else b
    x = xp.matrix_transpose(Vt) @ ((xp.matrix_transpose(U) @ rhs) * s_inv[:, None])
    return x[:, 0] if vector else x


# --------------------------------------------------------------------------- #
# normal equations of segments (alternating minimization) and SPD solves
# --------------------------------------------------------------------------- #
class PaddedLayout(NamedTuple):
    """Segments grouped by length into padded blocks, for batched GEMMs (see :func:`padded_layout`).

    ``blocks[b]`` is ``(gather, n_rows)`` with ``gather`` an integer array of shape
    ``(n_b, L_b)`` holding positions into the segmented entries, padded with
    ``n_entries`` (a slot that reads a zero); ``inverse`` maps segment ``s`` to its
    row in the concatenation of the blocks and ``order`` is its inverse (segment ids
    in block order).
    """

    blocks: tuple
    inverse: Any
    n_segments: int
    n_entries: int
    padded_entries: int
    order: Any = None


def padded_layout(indptr: Any, *, max_waste: float = 0.25, min_block: int = 32) -> PaddedLayout:
    """Group the segments of ``indptr`` into blocks of similar length (planned once, on the host).

    Segments are sorted by length and cut into blocks whose padded size exceeds
    the true size by at most ``max_waste`` (but at least ``min_block`` segments
    per block, unless lengths differ by more than 2x), so that
    :func:`segment_normal_equations` can use dense batched matrix products on
    any length distribution (uniform sampling or the power-law counts of real
    ratings).  The plan depends only on the sampling pattern.

    Examples
    --------
    >>> import numpy as np
    >>> lay = padded_layout(np.array([0, 2, 2, 5, 8]))
    >>> lay.n_segments, lay.n_entries, lay.padded_entries >= lay.n_entries
    (4, 8, True)
    """
    host = _host_ints(indptr)
    counts = np.diff(host)
    n_seg = counts.shape[0]
    n_entries = int(host[-1]) if host.size else 0
    order = np.argsort(counts, kind="stable")
    sorted_counts = counts[order]
    csum = np.concatenate([[0], np.cumsum(sorted_counts)])
    blocks = []
    padded = 0
    start = 0
    while start < n_seg:
        stop = start + 1
        first = max(int(sorted_counts[start]), 1)
        while stop < n_seg:  # lengths ascend: the newest segment sets the block's padded length
            size = stop + 1 - start
            length = int(sorted_counts[stop])
            true = int(csum[stop + 1] - csum[start])
            if size * length <= (1.0 + max_waste) * max(true, 1) or (size <= min_block and length <= 2 * first):
                stop += 1
            else:
                break
        segs = order[start:stop]
        length = int(sorted_counts[stop - 1])
        base = host[segs][:, None]
        offs = np.arange(length)[None, :]
        gather = np.where(offs < counts[segs][:, None], base + offs, n_entries).astype(np.int64)
        blocks.append((backend.asarray(gather, like=indptr), int(segs.shape[0])))
        padded += gather.size
        start = stop
    inverse = np.empty(n_seg, dtype=np.int64)
    inverse[order] = np.arange(n_seg)
    return PaddedLayout(tuple(blocks), backend.asarray(inverse, like=indptr), n_seg, n_entries, padded,
                        order.astype(np.int64))


class BlockedCSR(NamedTuple):
    """A CSR pattern cut into segment ranges and column blocks (see :func:`blocked_csr`).

    ``ranges[r] = (start, stop, parts)`` covers segments ``[start, stop)`` (one range
    per thread); ``parts[b] = (matrix, lo, hi)`` is a ``scipy.sparse.csr_array`` of
    ones with the range's entries whose column lies in ``[lo, hi)``, rows counted
    from ``start`` and columns from ``lo``.
    """

    ranges: tuple
    n_segments: int


def blocked_csr(
    indptr: Any, indices: Any, n_cols: int, *, block_cols: int, n_threads: int = 1,
    min_entries_per_thread: int = 1 << 15,
) -> BlockedCSR:
    """Plan cache-blocked, thread-parallel sparse products ``S @ W`` (once, on the host; NumPy only).

    Segments (rows of ``S``) are cut into at most ``n_threads`` contiguous ranges of
    about equal entry counts (at least ``min_entries_per_thread`` each, so small
    problems stay serial); :func:`segment_normal_equations` and
    :func:`segment_least_squares` run the ranges on parallel threads (SciPy's sparse
    kernels and the compiled kernel release the GIL), each writing its own rows of
    the output.  Inside a range, entries are split into blocks of
    ``block_cols`` columns so that the rows of ``W`` a block reads (``W[lo:hi]``)
    stay in cache: for the packed normal equations (``W`` of width ``k(k+1)/2``)
    this is ~1.4x faster once ``W`` outgrows the L2 cache.  Entries keep their
    order inside each segment, so results do not depend on ``n_threads``.

    Examples
    --------
    >>> import numpy as np
    >>> plan = blocked_csr(np.array([0, 2, 3]), np.array([0, 3, 1]), 4, block_cols=2)
    >>> [(start, stop, [(lo, hi, S.indices.tolist()) for S, lo, hi in parts]) for start, stop, parts in plan.ranges]
    [(0, 2, [(0, 2, [0, 1]), (2, 4, [1])])]
    """
    import scipy.sparse as sp  # noqa: PLC0415

    ptr = _host_ints(indptr)
    idx = _host_ints(indices)
    block_cols = max(1, int(block_cols))
    n_seg = ptr.shape[0] - 1
    nnz = int(ptr[-1]) if n_seg >= 0 else 0
    n_ranges = max(1, min(int(n_threads), nnz // max(1, int(min_entries_per_thread))))
    cuts = np.unique(np.concatenate([[0], np.searchsorted(ptr, np.linspace(0, nnz, n_ranges + 1)[1:-1]), [n_seg]]))
    ranges = []
    for start, stop in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
        r_ptr = ptr[start:stop + 1] - ptr[start]
        r_idx = idx[ptr[start]:ptr[stop]]
        seg = np.repeat(np.arange(stop - start), np.diff(r_ptr))
        blk = r_idx // block_cols
        order = np.argsort(blk, kind="stable")
        bounds = np.searchsorted(blk[order], np.arange(-(-n_cols // block_cols) + 1))
        parts = []
        for b in range(bounds.shape[0] - 1):
            sel = order[bounds[b]:bounds[b + 1]]
            lo, hi = b * block_cols, min(n_cols, (b + 1) * block_cols)
            itype = np.int32 if sel.size < 2**31 else np.int64
            ptr_b = np.searchsorted(seg[sel], np.arange(stop - start + 1)).astype(itype)
            mat = sp.csr_array((np.ones(sel.shape[0]), (r_idx[sel] - lo).astype(itype), ptr_b),
                               shape=(stop - start, hi - lo))
            parts.append((mat, lo, hi))
        ranges.append((start, stop, tuple(parts)))
    if not ranges:
        ranges.append((0, 0, ()))
    return BlockedCSR(tuple(ranges), n_seg)


_POOL: Any = None
_POOL_SIZE = 0
_POOL_LOCK = threading.Lock()


def _parallel_for(fn: Any, n: int) -> None:
    """``fn(0), ..., fn(n - 1)``: ``fn(0)`` on the calling thread, the rest on a shared pool.

    Meant for kernels that release the GIL (SciPy sparse products, large NumPy
    ufuncs) writing disjoint slices of preallocated outputs.  Exceptions propagate
    once every task has finished.
    """
    global _POOL, _POOL_SIZE
    if n <= 1:
        if n == 1:
            fn(0)
        return
    with _POOL_LOCK:
        if _POOL_SIZE < n - 1:  # grow (the old pool's idle threads exit when it is collected)
            _POOL, _POOL_SIZE = ThreadPoolExecutor(max_workers=n - 1, thread_name_prefix="lowrank_lab"), n - 1
        futures = [_POOL.submit(fn, i) for i in range(1, n)]
    try:
        fn(0)
    finally:
        wait(futures)
    for f in futures:
        f.result()


def _host_ints(x: Any) -> Any:
    return np.asarray(backend.to_numpy(x)).astype(np.int64)


def _sym_pack_indices(k: int) -> tuple:
    iu0, iu1 = np.triu_indices(k)
    full = np.zeros((k, k), dtype=np.int64)
    full[iu0, iu1] = np.arange(iu0.size)
    full[iu1, iu0] = np.arange(iu0.size)
    return iu0, iu1, full.reshape(-1)


def segment_normal_equations(
    indptr: Any,
    indices: Any,
    factor: Any,
    values: Any,
    *,
    layout: PaddedLayout | None = None,
    method: str = "auto",
    ones: Any = None,
    blocks: BlockedCSR | None = None,
    shift: Any = None,
) -> tuple[Any, Any]:
    """Normal equations of every segment: ``A[s] = sum f_i f_i^T`` and ``b[s] = sum v_t f_i``.

    For segment ``s`` (entries ``t`` in ``[indptr[s], indptr[s+1])`` with
    ``i = indices[t]``), ``A[s] = sum_t factor[i]^T factor[i]`` (k x k) and
    ``b[s] = sum_t values[t] * factor[i]``.  This is the least-squares kernel of
    alternating minimization for matrix completion, at ``O(|Omega| k^2)``.

    Two algorithms, chosen by ``method``:

    ``"packed"``
        The symmetric half of each outer product is formed once per *factor row*
        (``W = [f_a f_b]_{a<=b}``, shape ``m x k(k+1)/2``) and summed per segment by
        one sparse-times-dense product :func:`csr_matmul` (SciPy on NumPy,
        cuSPARSE on CuPy, gather + segment sum elsewhere); ``b`` is a second
        :func:`csr_matmul`.  Lowest overhead for small ``k``.
    ``"padded"``
        Gathers the factor rows of each block of a :func:`padded_layout` into an
        ``(n_b, L_b, k)`` array and uses batched GEMMs (``X^T X`` and ``X^T v``),
        built with standard calls only.  Memory-bounded in chunks; best for larger
        ``k`` and on GPUs.
    ``"auto"`` (default)
        ``"padded"`` when a ``layout`` is given and either ``k > 16`` or the
        namespace is not NumPy; ``"packed"`` otherwise.

    Parameters
    ----------
    indptr : int array (n_seg + 1,)
    indices : int array (nnz,)
        Factor rows, ``< factor.shape[0]`` (not checked: inner-loop kernel).
    factor : array (m, k)
    values : array (nnz,)
    layout : PaddedLayout, optional
        From :func:`padded_layout(indptr) <padded_layout>` (needed by ``"padded"``).
    ones : array (nnz,), optional
        A cached array of ones (saves an allocation per call on the packed path).
    blocks : BlockedCSR, optional
        From :func:`blocked_csr`: cache-blocked packed products on NumPy float64, the
        plan's segment ranges on parallel threads (ignored elsewhere).
    shift : float or array (n_seg,), optional
        Added to the diagonal of every ``A[s]`` (a ridge), in place where possible.

    Returns
    -------
    A : array (n_seg, k, k)
        Symmetric; empty segments give zeros.
    b : array (n_seg, k)

    Examples
    --------
    >>> import numpy as np
    >>> F = np.array([[1.0, 0.0], [1.0, 2.0]])
    >>> A, b = segment_normal_equations(np.array([0, 2, 2]), np.array([0, 1]), F, np.array([1.0, 1.0]))
    >>> A[0], b[0], A[1]
    (array([[2., 2.],
           [2., 4.]]), array([2., 2.]), array([[0., 0.],
           [0., 0.]]))
    """
    xp = backend.array_namespace(indptr, indices, factor, values)
    k = factor.shape[1]
    method = _normal_equations_method(method, layout, k, xp)
    if method == "padded":
        if layout is None:
            raise ValueError("method='padded' needs layout=padded_layout(indptr)")
        return _normal_equations_padded(layout, indices, factor, values, xp, shift)
    iu0, iu1, full = _sym_pack_indices(k)
    dev = backend.device(factor)
    i0 = xp.asarray(iu0, device=dev)
    i1 = xp.asarray(iu1, device=dev)
    W = xp.take(factor, i0, axis=1) * xp.take(factor, i1, axis=1)
    if blocks is not None and backend.is_numpy(xp) and factor.dtype == xp.float64:
        return _normal_equations_blocked(blocks, indptr, indices, factor, values, W, full, shift, solve=False)
    if ones is None:
        ones = xp.ones(indices.shape[0], dtype=factor.dtype, device=dev)
    G = csr_matmul(indptr, indices, ones, W)
    A = xp.reshape(xp.take(G, xp.asarray(full, device=dev), axis=1), (G.shape[0], k, k))
    b = csr_matmul(indptr, indices, values, factor)
    return _add_shift(A, shift, xp), b


def _normal_equations_method(method: str, layout: Any, k: int, xp: ModuleType) -> str:
    if method == "auto":
        return "padded" if layout is not None and (k > 16 or not backend.is_numpy(xp)) else "packed"
    if method not in ("packed", "padded"):
        raise ValueError(f"method must be one of ('auto', 'packed', 'padded'), got {method!r}")
    return method


def segment_least_squares(
    indptr: Any,
    indices: Any,
    factor: Any,
    values: Any,
    *,
    shift: Any = None,
    layout: PaddedLayout | None = None,
    method: str = "auto",
    ones: Any = None,
    blocks: BlockedCSR | None = None,
) -> Any:
    """Ridge solution of every segment: ``x[s] = (A[s] + shift[s] I)^{-1} b[s]``.

    ``A`` and ``b`` are the normal equations of :func:`segment_normal_equations`
    (same arguments), solved by :func:`batched_spd_solve`.  With a ``blocks`` plan
    on NumPy (float64, packed method) each thread of the plan forms *and solves* the
    systems of its own segment range, with the compiled kernel of
    :mod:`lowrank_lab._jit` when Numba is installed (the ``fast`` extra; ~2x faster),
    else with SciPy's sparse products and the vectorized Cholesky.  Pass a positive
    ``shift`` (or ensure every segment has at least ``k`` independent rows).

    Examples
    --------
    >>> import numpy as np
    >>> F = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    >>> x = segment_least_squares(np.array([0, 2, 4]), np.array([0, 1, 1, 2]), F, np.array([1.0, 4.0, 4.0, 2.0]))
    >>> x.round(12) + 0.0
    array([[1., 2.],
           [0., 2.]])
    """
    xp = backend.array_namespace(indptr, indices, factor, values)
    k = factor.shape[1]
    packed = _normal_equations_method(method, layout, k, xp) == "packed"
    if packed and blocks is not None and backend.is_numpy(xp) and factor.dtype == xp.float64:
        return _least_squares_blocked(blocks, indptr, indices, factor, values, shift)
    A, b = segment_normal_equations(indptr, indices, factor, values, layout=layout, method=method, ones=ones,
                                    blocks=blocks, shift=shift)
    return batched_spd_solve(A, b)


_GATHER_BUDGET = 1 << 27  # entries x k up to which segment_cg gathers the factor rows once


def segment_cg(
    indptr: Any,
    indices: Any,
    factor: Any,
    values: Any,
    x0: Any,
    *,
    n_iter: int,
    shift: Any = None,
    seg_ids: Any = None,
    blocks: BlockedCSR | None = None,
) -> Any:
    """``n_iter`` conjugate-gradient steps on every segment's ridge normal equations.

    Approximately solves ``(A[s] + shift[s] I) x[s] = b[s]`` (``A``, ``b`` as in
    :func:`segment_normal_equations`) from ``x0[s]``, applying ``A[s]`` as
    ``F_s^T (F_s p)`` without forming it: ``O(|Omega| k)`` per step instead of
    ``O(|Omega| k^2)``.  A segment whose curvature ``p^T A p`` is not positive, or
    whose residual is zero, stops moving (its step is 0).  This is the inner solve of
    the approximate AltMin (PAPERS.md C2).

    On NumPy with a ``blocks`` plan and Numba installed, a compiled kernel runs the
    plan's segment ranges on parallel threads; otherwise the steps are array
    operations (the factor rows gathered once while ``nnz * k`` is at most
    ``2**27``, else chunked; ``seg_ids`` -- the segment of every entry -- saves
    recomputing it).

    Examples
    --------
    >>> import numpy as np
    >>> F = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    >>> indptr, indices, v = np.array([0, 2, 4]), np.array([0, 1, 1, 2]), np.array([1.0, 4.0, 4.0, 2.0])
    >>> x = segment_cg(indptr, indices, F, v, np.zeros((2, 2)), n_iter=2)  # k steps solve a k x k system
    >>> x.round(10) + 0.0
    array([[1., 2.],
           [0., 2.]])
    """
    xp = backend.array_namespace(indptr, indices, factor, values, x0)
    n_iter = check_int(n_iter, "n_iter", low=1)
    n_seg = indptr.shape[0] - 1
    if shift is None:
        shift = xp.zeros(n_seg, dtype=factor.dtype, device=backend.device(factor))
    elif not hasattr(shift, "shape") or shift.ndim == 0:
        shift = xp.full(n_seg, float(shift), dtype=factor.dtype, device=backend.device(factor))
    if blocks is not None:
        _check_plan(blocks, indptr)
    kernel = _jit.segment_cg_kernel() if blocks is not None and backend.is_numpy(xp) else None
    if kernel is not None and factor.dtype == xp.float64:
        x = np.empty((n_seg, factor.shape[1]))
        args = (np.ascontiguousarray(indptr), np.ascontiguousarray(indices), np.ascontiguousarray(factor),
                np.ascontiguousarray(values, dtype=np.float64), np.ascontiguousarray(shift, dtype=np.float64),
                np.ascontiguousarray(x0, dtype=np.float64), n_iter)
        _parallel_for(lambda r: kernel(*args, blocks.ranges[r][0], blocks.ranges[r][1], x), len(blocks.ranges))
        return x

    counts = indptr[1:] - indptr[:-1]
    b = csr_matmul(indptr, indices, values, factor)
    if indices.shape[0] * factor.shape[1] <= _GATHER_BUDGET and not backend.is_cupy(xp):
        G = xp.take(factor, indices, axis=0)  # gathered once for all steps

        def apply(P: Any) -> Any:
            s = rowwise_dot(G, xp.repeat(P, counts, axis=0))
            return csr_matmul(indptr, indices, s, factor) + shift[:, None] * P
    else:  # chunked gathers: bounded memory (and no array-valued repeat, which CuPy lacks)
        if seg_ids is None:
            seg_ids = xp.repeat(xp.arange(n_seg, dtype=indices.dtype, device=backend.device(indices)), counts)

        def apply(P: Any) -> Any:
            s = sampled_dot(factor, P, indices, seg_ids)
            return csr_matmul(indptr, indices, s, factor) + shift[:, None] * P

    X = x0
    Rr = b - apply(X)
    P = Rr
    rr = xp.sum(Rr * Rr, axis=1)
    zero = xp.zeros_like(rr)
    one = xp.ones_like(rr)
    for c in range(n_iter):
        AP = apply(P)
        pAp = xp.sum(P * AP, axis=1)
        ok = pAp > 0
        alpha = xp.where(ok, rr / xp.where(ok, pAp, one), zero)
        X = X + alpha[:, None] * P
        if c + 1 == n_iter:
            break
        Rr = Rr - alpha[:, None] * AP
        rr_new = xp.sum(Rr * Rr, axis=1)
        ok = rr > 0
        beta = xp.where(ok, rr_new / xp.where(ok, rr, one), zero)
        P = Rr + beta[:, None] * P
        rr = rr_new
    return X


def has_compiled_kernels() -> bool:
    """Whether :func:`segment_least_squares` can use its compiled (Numba) kernel here.

    True when Numba (the ``fast`` extra) is installed, works with this NumPy, and
    ``LOWRANK_NUMBA`` is not ``0`` (then :func:`segment_cg` is compiled too).
    Compiles the kernels on first use (a few seconds, then cached on disk).
    """
    return _jit.numba_enabled()


def _least_squares_blocked(plan: BlockedCSR, indptr, indices, factor, values, shift):
    """NumPy segment least squares on a :func:`blocked_csr` plan, one thread per segment range.

    The compiled kernel (:mod:`lowrank_lab._jit`, Numba) when available, else SciPy
    sparse products and the vectorized Cholesky; a non-positive pivot anywhere sends
    the whole call to the latter (whose solve falls back to LU).
    """
    kernel = _jit.segment_ls_kernel()
    k = factor.shape[1]
    if kernel is not None:
        n_seg = _check_plan(plan, indptr)
        x = np.empty((n_seg, k))
        shift_arr = np.ascontiguousarray(np.broadcast_to(np.asarray(0.0 if shift is None else shift,
                                                                    dtype=np.float64), (n_seg,)))
        args = (np.ascontiguousarray(indptr), np.ascontiguousarray(indices), np.ascontiguousarray(factor),
                np.ascontiguousarray(values, dtype=np.float64), shift_arr)
        failed = []

        def work(r: int) -> None:
            start, stop, _ = plan.ranges[r]
            if not kernel(*args, start, stop, x):
                failed.append(r)

        _parallel_for(work, len(plan.ranges))
        if not failed:
            return x
    iu0, iu1, full = _sym_pack_indices(k)
    W = factor[:, iu0] * factor[:, iu1]
    return _normal_equations_blocked(plan, indptr, indices, factor, values, W, full, shift, solve=True)


def _check_plan(plan: BlockedCSR, indptr: Any) -> int:
    if plan.n_segments != indptr.shape[0] - 1:
        raise ValueError(f"blocks plans {plan.n_segments} segments but indptr has {indptr.shape[0] - 1}")
    return plan.n_segments


def _normal_equations_blocked(plan: BlockedCSR, indptr, indices, factor, values, W, full, shift, solve):
    """NumPy packed normal equations on a :func:`blocked_csr` plan, one thread per segment range.

    Returns ``(A, b)``, or the solutions ``x`` when ``solve``.
    """
    n_seg, k = _check_plan(plan, indptr), factor.shape[1]
    A = np.empty((n_seg, k, k))
    b = np.empty((n_seg, k))
    x = np.empty((n_seg, k)) if solve else None
    if shift is not None:
        shift = np.broadcast_to(np.asarray(shift, dtype=np.float64), (n_seg,))

    def work(r: int) -> None:
        start, stop, parts = plan.ranges[r]
        G = np.zeros((stop - start, W.shape[1]))
        for S, lo, hi in parts:
            G += S @ W[lo:hi]
        A_r = A[start:stop]
        np.take(G, full, axis=1, out=A_r.reshape(stop - start, k * k))
        if shift is not None:
            A_r.reshape(stop - start, k * k)[:, :: k + 1] += shift[start:stop, None]
        e0, e1 = int(indptr[start]), int(indptr[stop])
        b[start:stop] = csr_matmul(indptr[start:stop + 1] - e0, indices[e0:e1], values[e0:e1], factor)
        if solve:
            x[start:stop] = batched_spd_solve(A_r, b[start:stop])

    _parallel_for(work, len(plan.ranges))
    return x if solve else (A, b)


def _add_shift(A: Any, shift: Any, xp: ModuleType) -> Any:
    """``A[s] + shift[s] I`` (in place on NumPy: ``A`` is a fresh array here)."""
    if shift is None:
        return A
    n, k = A.shape[0], A.shape[-1]
    if backend.is_numpy(xp):
        import numpy as np  # noqa: PLC0415

        flat = np.asarray(A).reshape(n, k * k)
        flat[:, :: k + 1] += np.reshape(np.asarray(shift, dtype=A.dtype), (-1, 1))
        return A
    if not hasattr(shift, "shape") or shift.ndim == 0:
        return A + shift * xp.eye(k, dtype=A.dtype, device=backend.device(A))
    return A + shift[:, None, None] * xp.eye(k, dtype=A.dtype, device=backend.device(A))


def _normal_equations_padded(layout: PaddedLayout, indices: Any, factor: Any, values: Any, xp: ModuleType,
                             shift: Any = None):
    m, k = factor.shape
    dev = backend.device(factor)
    zero_idx = xp.zeros(1, dtype=indices.dtype, device=dev) + m  # points at the appended zero row
    idx_ext = xp.concat([indices, zero_idx])
    val_ext = xp.concat([values, xp.zeros(1, dtype=values.dtype, device=dev)])
    f_ext = xp.concat([factor, xp.zeros((1, k), dtype=factor.dtype, device=dev)], axis=0)
    budget = max(1, (1 << 22) // max(k, 1))  # ~32 MB of gathered float64 rows per chunk
    direct = backend.is_numpy(xp) and layout.order is not None  # NumPy: write results in place
    if direct:
        import numpy as np  # noqa: PLC0415

        A_out = np.zeros((layout.n_segments, k, k), dtype=factor.dtype)
        b_out = np.zeros((layout.n_segments, k), dtype=factor.dtype)
    A_parts, b_parts = [], []
    start = 0
    for gather, n_b in layout.blocks:
        L = gather.shape[1]
        if L == 0:
            if not direct:
                A_parts.append(xp.zeros((n_b, k, k), dtype=factor.dtype, device=dev))
                b_parts.append(xp.zeros((n_b, k), dtype=factor.dtype, device=dev))
            start += n_b
            continue
        step = max(1, budget // L)
        for lo in range(0, n_b, step):
            hi = min(lo + step, n_b)
            g = gather[lo:hi, :]
            rows = xp.take(idx_ext, xp.reshape(g, (-1,)))
            X = xp.reshape(xp.take(f_ext, rows, axis=0), (g.shape[0], L, k))
            v = xp.reshape(xp.take(val_ext, xp.reshape(g, (-1,))), (g.shape[0], L, 1))
            Xt = xp.matrix_transpose(X)
            if direct:
                seg = layout.order[start + lo:start + hi]
                A_out[seg] = Xt @ X
                b_out[seg] = (Xt @ v)[..., 0]
            else:
                A_parts.append(Xt @ X)
                b_parts.append((Xt @ v)[..., 0])
        start += n_b
    if direct:
        return _add_shift(A_out, shift, xp), b_out
    A = xp.take(xp.concat(A_parts, axis=0), layout.inverse, axis=0)
    b = xp.take(xp.concat(b_parts, axis=0), layout.inverse, axis=0)
    return _add_shift(A, shift, xp), b


def batched_spd_solve(A: Any, b: Any) -> Any:
    """Solve a stack of symmetric positive definite systems ``A[i] @ x[i] = b[i]``.

    ``A`` has shape ``(N, k, k)`` and ``b`` shape ``(N, k)``.  On NumPy with
    ``k <= 16`` a Cholesky factorization vectorized *across the batch* (one
    NumPy operation per pivot, no per-matrix LAPACK call) is used; it falls back
    to :func:`batched_solve` if a pivot is not positive.  Elsewhere, and for
    larger ``k``, this is :func:`batched_solve` (the standard ``linalg.solve``).

    Examples
    --------
    >>> import numpy as np
    >>> A = np.stack([np.array([[4.0, 2.0], [2.0, 3.0]]), np.eye(2)])
    >>> batched_spd_solve(A, np.array([[2.0, 1.0], [1.0, 2.0]]))
    array([[0.5, 0. ],
           [1. , 2. ]])
    """
    xp = backend.array_namespace(A, b)
    k = A.shape[-1]
    if backend.is_numpy(xp) and A.ndim == 3 and b.ndim == 2 and k <= 16:
        x = _spd_solve_numpy(A, b)
        if x is not None:
            return x
    return batched_solve(A, b)


def _spd_solve_numpy(A: Any, b: Any) -> Any:
    import numpy as np  # noqa: PLC0415

    k = A.shape[-1]
    a = np.ascontiguousarray(np.moveaxis(np.asarray(A), 0, -1))  # (k, k, N): each entry a contiguous N-vector
    x = np.ascontiguousarray(np.asarray(b).T)
    with np.errstate(invalid="ignore", divide="ignore"):
        for j in range(k):
            if not np.all(a[j, j] > 0):
                return None
            d = np.sqrt(a[j, j])
            a[j, j] = d
            if j + 1 < k:
                col = a[j + 1:, j]
                col /= d
                a[j + 1:, j + 1:] -= col[:, None, :] * col[None, :, :]
        for j in range(k):  # L y = b
            if j:
                x[j] -= np.einsum("pn,pn->n", a[j, :j], x[:j])
            x[j] /= a[j, j]
        for j in range(k - 1, -1, -1):  # L^T x = y
            if j + 1 < k:
                x[j] -= np.einsum("pn,pn->n", a[j + 1:, j], x[j + 1:])
            x[j] /= a[j, j]
    return np.ascontiguousarray(x.T)


# --------------------------------------------------------------------------- #
# orthonormal bases and SVDs
# --------------------------------------------------------------------------- #
def _qr_q(A: Any, xp: ModuleType) -> Any:
    """Q factor of a thin QR (no sign convention).

    On NumPy, ``numpy.linalg.qr`` returns a C-ordered Q, which keeps the next
    ``A @ Q`` product on the fast BLAS path (an F-ordered Q made it ~2x slower).
    """
    return xp.linalg.qr(A, mode="reduced")[0]


def orthonormalize(A: Any) -> Any:
    """Orthonormal basis of the column space of ``A`` (m x k, m >= k) by thin QR.

    The diagonal of R is made non-negative, which makes the basis unique for
    full-rank ``A`` and therefore identical across backends.

    Examples
    --------
    >>> import numpy as np
    >>> Q = orthonormalize(np.array([[2.0, 1.0], [0.0, 1.0], [0.0, 0.0]]))
    >>> bool(np.allclose(Q.T @ Q, np.eye(2))), bool(Q[0, 0] > 0)
    (True, True)
    """
    A = check_array(A, "A", ndim=2)
    xp = backend.array_namespace(A)
    m, k = A.shape
    if m < k:
        raise ValueError(f"A must have at least as many rows as columns, got shape {tuple(A.shape)}")
    Q, R = xp.linalg.qr(A, mode="reduced")
    signs = xp.sign(xp.linalg.diagonal(R))
    signs = xp.where(signs == 0, xp.ones_like(signs), signs)
    return Q * signs[None, :]


def svd_flip(U: Any, Vt: Any) -> tuple[Any, Any]:
    """Deterministic signs for singular vectors.

    Each left singular vector is flipped so that its entry of largest magnitude is
    positive, and the matching right vector with it (scikit-learn's
    ``u_based_decision=True``).  This makes SVDs comparable across backends and runs.
    """
    xp = backend.array_namespace(U, Vt)
    idx = xp.argmax(xp.abs(U), axis=0)
    pivots = xp.take_along_axis(U, idx[None, :], axis=0)[0, :]
    signs = xp.where(pivots < 0, -xp.ones_like(pivots), xp.ones_like(pivots))
    return U * signs[None, :], Vt * signs[:, None]


def _svd_raw(A: Any, xp: ModuleType) -> tuple[Any, Any, Any]:
    if backend.is_numpy(xp):
        import scipy.linalg  # noqa: PLC0415

        try:
            return scipy.linalg.svd(A, full_matrices=False, check_finite=False, lapack_driver="gesdd")
        except scipy.linalg.LinAlgError:  # gesdd can fail to converge where gesvd does not
            return scipy.linalg.svd(A, full_matrices=False, check_finite=False, lapack_driver="gesvd")
    return xp.linalg.svd(A, full_matrices=False)


def svd(A: Any) -> SVDResult:
    """Thin SVD with descending singular values and the :func:`svd_flip` sign convention.

    Examples
    --------
    >>> import numpy as np
    >>> U, S, Vt = svd(np.diag([1.0, 3.0]))
    >>> S
    array([3., 1.])
    """
    A = check_array(A, "A", ndim=2)
    xp = backend.array_namespace(A)
    U, S, Vt = _svd_raw(A, xp)
    U, Vt = svd_flip(U, Vt)
    return SVDResult(U, S, Vt)


def truncated_svd(A: Any, rank: int) -> SVDResult:
    """Exact best rank-``rank`` SVD (full thin SVD, then truncation).

    Examples
    --------
    >>> import numpy as np
    >>> truncated_svd(np.diag([1.0, 3.0, 2.0]), 2).S
    array([3., 2.])
    """
    A = check_array(A, "A", ndim=2)
    rank = check_int(rank, "rank", low=1, high=min(A.shape), high_label="min(m, n)")
    U, S, Vt = svd(A)
    return SVDResult(U[:, :rank], S[:rank], Vt[:rank, :])


def randomized_svd(
    A: Any,
    rank: int,
    *,
    n_oversamples: int = 10,
    n_power_iter: int | str = "auto",
    rng: Any = None,
) -> SVDResult:
    """Approximate top-``rank`` SVD by randomized range finding (Halko, Martinsson, Tropp 2011).

    Draws a Gaussian test matrix ``Omega`` (n x (rank + n_oversamples)) on the host
    and moves it to ``A``'s device, forms ``Y = (A A^T)^q A Omega`` with a QR
    re-orthonormalization after *every* product (numerically stable even for
    ``q = 7``), then takes the exact SVD of the small matrix ``Q^T A``.

    Parameters
    ----------
    A : array, shape (m, n)
    rank : int
        Number of singular triplets, ``1 <= rank <= min(m, n)``.
    n_oversamples : int, default 10
        Extra test vectors ``p``; ``rank + p`` is clipped to ``min(m, n)``.
    n_power_iter : int or "auto"
        Power iterations ``q``.  ``"auto"`` follows scikit-learn: 7 if
        ``rank < 0.1 * min(m, n)``, else 4.
    rng : int, Generator or None
        Seed for the test matrix.  The same seed gives the same result on every backend.

    Returns
    -------
    SVDResult
        ``U`` (m x rank), ``S`` (rank,), ``Vt`` (rank x n) with the :func:`svd_flip` signs.

    Notes
    -----
    The rank-k error ``||A - U diag(S) Vt||_2 / sigma_{k+1}`` is at least 1
    (Eckart-Young); for slowly decaying spectra ``q >= 2`` brings it within ~1.1.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((60, 5)) @ rng.standard_normal((5, 40))
    >>> res = randomized_svd(A, 5, rng=1)
    >>> bool(np.allclose(res.S, np.linalg.svd(A, compute_uv=False)[:5]))
    True
    """
    A = check_array(A, "A", ndim=2)
    m, n = A.shape
    rank = check_int(rank, "rank", low=1, high=min(m, n), high_label="min(m, n)")
    if n_power_iter == "auto":
        n_power_iter = 7 if rank < 0.1 * min(m, n) else 4
    xp = backend.array_namespace(A)
    At = xp.matrix_transpose(A)
    return randomized_svd_operator(
        lambda X: A @ X, lambda Y: At @ Y, (m, n), rank,
        like=A, n_oversamples=n_oversamples, n_power_iter=n_power_iter, rng=rng,
    )


def randomized_svd_operator(
    matmat: Any,
    rmatmat: Any,
    shape: tuple[int, int],
    rank: int,
    *,
    like: Any,
    n_oversamples: int = 10,
    n_power_iter: int = 4,
    rng: Any = None,
    start: Any = None,
) -> SVDResult:
    """Randomized top-``rank`` SVD of an implicit ``m x n`` operator (Halko et al. 2011).

    The operator is given by its products: ``matmat(X) = A @ X`` (X: n x s) and
    ``rmatmat(Y) = A^T @ Y`` (Y: m x s); this is how sparse-plus-low-rank matrices
    (``P_Omega(M - X) + U V^T`` in SoftImpute and SVT) are decomposed without being
    formed.  The algorithm is that of :func:`randomized_svd`: Gaussian test matrix
    drawn on the host and moved next to ``like``, ``n_power_iter`` rounds of
    ``A A^T`` with a QR after every product, then the exact SVD of the small
    ``A^T Q``.

    Parameters
    ----------
    matmat, rmatmat : callable
    shape : (int, int)
    rank : int
    like : array
        Any array in the target namespace and device (fixes where the test matrix goes).
    n_oversamples, n_power_iter : int
    rng : int, Generator or None
    start : array (m x s), optional
        A previous left basis to warm-start the range (subspace iteration): its
        columns replace the first ``s`` random test vectors.

    Returns
    -------
    SVDResult
        With the :func:`svd_flip` sign convention.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.diag([3.0, 2.0, 1.0, 0.5])
    >>> res = randomized_svd_operator(lambda X: A @ X, lambda Y: A.T @ Y, A.shape, 2, like=A, rng=0)
    >>> np.round(res.S, 12)
    array([3., 2.])
    """
    m, n = (int(d) for d in shape)
    rank = check_int(rank, "rank", low=1, high=min(m, n), high_label="min(m, n)")
    n_oversamples = check_int(n_oversamples, "n_oversamples", low=0)
    n_power_iter = check_int(n_power_iter, "n_power_iter", low=0)
    xp = backend.array_namespace(like)
    width = min(rank + n_oversamples, m, n)
    if start is None:
        Y = matmat(backend.random_normal((n, width), rng=rng, like=like))
    else:
        Y = start[:, :width] if start.shape[1] > width else start
        extra = width - Y.shape[1]
        if extra > 0:
            Y = xp.concat([Y, matmat(backend.random_normal((n, extra), rng=rng, like=like))], axis=1)
    Q = _qr_q(Y, xp)
    for _ in range(n_power_iter):
        Q = _qr_q(rmatmat(Q), xp)
        Q = _qr_q(matmat(Q), xp)
    Bt = rmatmat(Q)  # n x width = (Q^T A)^T
    Vb, S, Ubt = _svd_raw(Bt, xp)  # Q^T A = Ubt^T diag(S) Vb^T
    U = Q @ xp.matrix_transpose(Ubt[:rank, :])
    U, Vt = svd_flip(U, xp.matrix_transpose(Vb[:, :rank]))
    return SVDResult(U, S[:rank], Vt)
