"""Per-segment normal equations and their solves: the alternating-minimization kernels and their plans."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from .. import backend
from .._validation import check_arrays, check_int
from . import _jit
from ._blas import one_blas_thread
from ._segment import csr_matmul, rowwise_dot, sampled_dot, stable_argsort
from ._solve import batched_spd_solve


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
    host = _host_ints(indptr, "indptr")
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


class _Range:
    """One thread's segment range of a :class:`BlockedCSR`: ``(start, stop, parts)``, parts built on first use.

    The compiled kernels need only ``start`` and ``stop``; the column-blocked sparse
    matrices (``parts``) serve the SciPy path, so they are made only if it runs (at
    10^7 entries they took 1-2 s of an AltMin run's set-up).
    """

    __slots__ = ("start", "stop", "_build", "_parts")

    def __init__(self, start: int, stop: int, build: Any) -> None:
        self.start, self.stop, self._build, self._parts = start, stop, build, None

    @property
    def parts(self) -> tuple:
        if self._parts is None:
            self._parts = self._build()
            self._build = None
        return self._parts

    def __getitem__(self, i: int) -> Any:
        return (self.start, self.stop)[i] if i in (0, 1, -3, -2) else self.parts

    def __len__(self) -> int:
        return 3

    def __iter__(self) -> Any:
        yield self.start
        yield self.stop
        yield self.parts


class BlockedCSR(NamedTuple):
    """A CSR pattern cut into segment ranges and column blocks (see :func:`blocked_csr`).

    ``ranges[r] = (start, stop, parts)`` (a :class:`_Range`, whose ``parts`` are built on
    first use) covers segments ``[start, stop)`` (one range
    per thread); ``parts[b] = (matrix, lo, hi)`` is a ``scipy.sparse.csr_array`` of
    ones with the range's entries whose column lies in ``[lo, hi)``, rows counted
    from ``start`` and columns from ``lo``.
    """

    ranges: tuple
    n_segments: int
    executor: Any = None


def blocked_csr(
    indptr: Any, indices: Any, n_cols: int, *, block_cols: int, n_threads: int = 1,
    min_entries_per_thread: int = 1 << 15, executor: Any = None,
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
    order inside each segment, so results do not depend on ``n_threads``.  The ranges
    run on ``executor`` (a ``concurrent.futures`` executor the caller owns, e.g. a
    :class:`KernelPlan`'s) or, when it is None, on a pool made for each call.

    Examples
    --------
    >>> import numpy as np
    >>> plan = blocked_csr(np.array([0, 2, 3]), np.array([0, 3, 1]), 4, block_cols=2)
    >>> [(start, stop, [(lo, hi, S.indices.tolist()) for S, lo, hi in parts]) for start, stop, parts in plan.ranges]
    [(0, 2, [(0, 2, [0, 1]), (2, 4, [1])])]
    """
    import scipy.sparse as sp  # noqa: PLC0415

    ptr = _host_ints(indptr, "indptr")
    idx = _host_ints(indices, "indices")
    block_cols = max(1, int(block_cols))
    n_seg = ptr.shape[0] - 1
    nnz = int(ptr[-1]) if n_seg >= 0 else 0
    n_ranges = max(1, min(int(n_threads), nnz // max(1, int(min_entries_per_thread))))
    cuts = np.unique(np.concatenate([[0], np.searchsorted(ptr, np.linspace(0, nnz, n_ranges + 1)[1:-1]), [n_seg]]))
    ranges = []

    def build(start: int, stop: int) -> Any:
        def parts_of_range() -> tuple:
            r_ptr = ptr[start:stop + 1] - ptr[start]
            r_idx = idx[ptr[start]:ptr[stop]]
            n_rseg = stop - start
            n_blocks = -(-n_cols // block_cols)
            seg = np.repeat(np.arange(n_rseg), np.diff(r_ptr))
            blk = r_idx // block_cols
            order = stable_argsort(blk, n_blocks)  # by block, segments (and entries) keep their order
            idx_s = r_idx[order]
            seg_s = seg[order]
            block_counts = np.bincount(blk, minlength=n_blocks)
            bounds = np.concatenate([[0], np.cumsum(block_counts)])
            blk_s = np.repeat(np.arange(n_blocks), block_counts)
            # entries per (block, segment) -> every block's row pointers at once
            counts = np.bincount(blk_s * n_rseg + seg_s, minlength=n_blocks * n_rseg).reshape(n_blocks, n_rseg)
            itype = np.int32 if r_idx.size < 2**31 else np.int64
            ptrs = np.zeros((n_blocks, n_rseg + 1), dtype=itype)
            np.cumsum(counts, axis=1, out=ptrs[:, 1:])
            ones = np.ones(idx_s.shape[0])
            parts = []
            for b in range(n_blocks):
                a, c = int(bounds[b]), int(bounds[b + 1])
                lo, hi = b * block_cols, min(n_cols, (b + 1) * block_cols)
                mat = sp.csr_array((ones[a:c], (idx_s[a:c] - lo).astype(itype), ptrs[b]), shape=(n_rseg, hi - lo))
                parts.append((mat, lo, hi))
            return tuple(parts)

        return parts_of_range

    for start, stop in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
        ranges.append(_Range(start, stop, build(start, stop)))
    if not ranges:
        ranges.append(_Range(0, 0, tuple))
    return BlockedCSR(tuple(ranges), n_seg, executor)


def _parallel_for(fn: Any, n: int, executor: Any = None) -> None:
    """``fn(0), ..., fn(n - 1)``: ``fn(0)`` on the calling thread, the rest on ``executor``.

    Meant for kernels that release the GIL (SciPy sparse products, large NumPy
    ufuncs) writing disjoint slices of preallocated outputs.  Without an executor a
    pool is made for this call and shut down after it (no module-level state).
    Exceptions propagate once every task has finished.
    """
    if n <= 1:
        if n == 1:
            fn(0)
        return
    if executor is None:
        with ThreadPoolExecutor(max_workers=n - 1, thread_name_prefix="lowrank_lab") as pool:
            _parallel_for(fn, n, pool)
        return
    futures = [executor.submit(fn, i) for i in range(1, n)]
    try:
        fn(0)
    finally:
        wait(futures)
    for f in futures:
        f.result()


#: Largest ``k`` at which the packed (SciPy sparse) normal equations beat the padded
#: batched GEMMs when Numba is not installed (with Numba the compiled packed kernel
#: wins at every ``k``: 2.6-3.3x at k = 32-128).  The one place this rule lives.
PACKED_MAX_K = 16

#: Target bytes of packed factor rows per cache block in the exact NumPy kernel.
CACHE_BLOCK_BYTES = 1 << 17


class KernelPlan:
    """How one alternating-minimization run solves its half-steps; owns its thread pool.

    Built once per run by :func:`altmin_kernel_plan`: the normal-equation kernel
    (``method``: ``"packed"`` or ``"padded"``), whether a padded layout is needed,
    the cache blocking of the packed kernel (``block_rows``), and the threads.  The
    plan's executor is created on first use and shut down by :meth:`close` (or on
    leaving a ``with`` block), so the library keeps no module-level pool.

    Examples
    --------
    >>> import numpy as np
    >>> with altmin_kernel_plan(4, (100, 80), np, solve="exact", n_threads=1) as plan:
    ...     plan.method, plan.need_layout, plan.block_rows
    ('packed', False, 1638)
    """

    def __init__(self, *, method: str, need_layout: bool, block_rows: int | None, n_threads: int) -> None:
        self.method = method
        self.need_layout = need_layout
        self.block_rows = block_rows
        self.n_threads = n_threads
        self._executor: Any = None

    @property
    def executor(self) -> Any:
        """The plan's thread pool (``n_threads - 1`` workers), or None when serial."""
        if self.n_threads <= 1:
            return None
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self.n_threads - 1, thread_name_prefix="lowrank_lab")
        return self._executor

    def blocks(self, indptr: Any, indices: Any, n_cols: int) -> BlockedCSR | None:
        """The :func:`blocked_csr` plan of one side (None when the kernels need none)."""
        if self.block_rows is None:
            return None
        return blocked_csr(indptr, indices, n_cols, block_cols=self.block_rows, n_threads=self.n_threads,
                           executor=self.executor)

    def close(self) -> None:
        """Shut the thread pool down (idempotent)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def __enter__(self) -> KernelPlan:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"KernelPlan(method={self.method!r}, need_layout={self.need_layout}, "
                f"block_rows={self.block_rows}, n_threads={self.n_threads})")


def altmin_kernel_plan(k: int, shape: tuple[int, int], xp: ModuleType, *, solve: str = "exact",
                       kernel: str = "auto", n_threads: int = 1) -> KernelPlan:
    """Choose the kernels of an alternating-minimization run (see :class:`KernelPlan`).

    ``kernel="auto"``: on NumPy, the packed kernel (compiled when Numba is installed)
    at every ``k`` with Numba, else up to :data:`PACKED_MAX_K`; the padded batched
    GEMMs otherwise (and on other backends).  The compiled CG kernel needs only the
    plan's segment ranges (one column block).
    """
    k = check_int(k, "k", low=1)
    if kernel not in ("auto", "packed", "padded"):
        raise ValueError(f"kernel must be one of ('auto', 'packed', 'padded'), got {kernel!r}")
    if solve not in ("exact", "cg"):
        raise ValueError(f"solve must be one of ('exact', 'cg'), got {solve!r}")
    numpy = backend.is_numpy(xp)
    small_k = k <= PACKED_MAX_K or has_compiled_kernels()
    need_layout = kernel == "padded" or (kernel == "auto" and solve == "exact" and not (numpy and small_k))
    packed_numpy = solve == "exact" and not need_layout and kernel != "padded" and numpy
    compiled_cg = solve == "cg" and numpy and has_compiled_kernels()
    if packed_numpy:
        block_rows = max(64, CACHE_BLOCK_BYTES // (8 * k * (k + 1) // 2))
    else:
        block_rows = max(shape) if compiled_cg else None
    method = "padded" if need_layout and solve == "exact" else "packed"
    return KernelPlan(method=method, need_layout=need_layout, block_rows=block_rows,
                      n_threads=check_int(n_threads, "n_threads", low=1) if block_rows is not None else 1)


def _host_ints(x: Any, name: str) -> Any:
    if not isinstance(x, (list, tuple)):
        check_arrays(**{name: x})
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
    xp = check_arrays(indptr=indptr, indices=indices, factor=factor, values=values)
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
        return "padded" if layout is not None and (k > PACKED_MAX_K or not backend.is_numpy(xp)) else "packed"
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
    :mod:`lowrank_lab.linalg._jit` when Numba is installed (the ``fast`` extra; ~2x faster),
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
    xp = check_arrays(indptr=indptr, indices=indices, factor=factor, values=values)
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
    the approximate AltMin (Gu, Song, Yin & Zhang 2023, arXiv:2302.11068).

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
    xp = check_arrays(indptr=indptr, indices=indices, factor=factor, values=values, x0=x0)
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
        _parallel_for(lambda r: kernel(*args, blocks.ranges[r][0], blocks.ranges[r][1], x), len(blocks.ranges),
                      blocks.executor)
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

    The compiled kernel (:mod:`lowrank_lab.linalg._jit`, Numba) when available, else SciPy
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
            start, stop = plan.ranges[r][0], plan.ranges[r][1]
            if not kernel(*args, start, stop, x):
                failed.append(r)

        _parallel_for(work, len(plan.ranges), plan.executor)
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

    _parallel_for(work, len(plan.ranges), plan.executor)
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


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def serial_blas(active: bool = True) -> Iterator[None]:
    """Limit BLAS to one thread (``threadpoolctl``) while the library runs its own threads.

    After each call, OpenBLAS's worker threads spin waiting for the next one and
    take the cores that our GIL-free kernels run on: measured on a 2-core machine, a
    2-thread AltMin sweep gained nothing until BLAS was limited to one thread (the
    BLAS calls inside the loop are ``m x k`` QRs, too small to benefit from threads).
    """
    with one_blas_thread(active):  # the cached controller of linalg._blas
        yield
