"""Segment sums and sparse (CSR) products: scatter-adds, sparse times dense, sampled entries of ``U @ V.T``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend
from .._validation import check_arrays, check_int
from . import _jit


def segment_sum(values: Any, segment_ids: Any, n_segments: int, *, sorted: bool = False) -> Any:
    """Sum the rows of ``values`` that share a segment id.

    ``out[s] = sum(values[i] for i where segment_ids[i] == s)``; empty segments give 0.

    Parameters
    ----------
    values : array, shape (N,) or (N, ...)
    segment_ids : integer array, shape (N,)
        Values in ``[0, n_segments)`` (checked: an id out of range is a ``ValueError``
        that names it).
    n_segments : int
    sorted : bool
        Promise that ``segment_ids`` is non-decreasing (enables a faster kernel).  The
        promise is checked (one pass over the ids): a decreasing pair is a
        ``ValueError``, never a wrong sum.

    Notes
    -----
    The checks synchronize with the device once; the library's inner loops call the
    unchecked kernel on ids they built themselves.

    Examples
    --------
    >>> import numpy as np
    >>> segment_sum(np.array([1.0, 2.0, 3.0]), np.array([0, 2, 0]), 3)
    array([4., 0., 2.])
    """
    xp = check_arrays(values=values, segment_ids=segment_ids)
    n_segments = check_int(n_segments, "n_segments", low=0)
    if not isinstance(sorted, (bool, np.bool_)):
        raise TypeError(f"sorted must be a bool, got {sorted!r}")
    if segment_ids.ndim != 1 or values.ndim < 1 or values.shape[0] != segment_ids.shape[0]:
        raise ValueError(
            f"segment_ids must be 1-D with one id per row of values, got shapes "
            f"{tuple(segment_ids.shape)} and values {tuple(values.shape)}"
        )
    if not xp.isdtype(segment_ids.dtype, "integral"):
        raise TypeError(f"segment_ids must be an integer array, got dtype {segment_ids.dtype}")
    if segment_ids.shape[0]:
        lo, hi = int(xp.min(segment_ids)), int(xp.max(segment_ids))
        if lo < 0 or hi >= n_segments:
            raise ValueError(
                f"segment_ids must be in [0, n_segments={n_segments}), got {lo if lo < 0 else hi}"
            )
        if sorted and segment_ids.shape[0] > 1 and bool(xp.any(segment_ids[1:] < segment_ids[:-1])):
            at = int(xp.argmax(xp.astype(segment_ids[1:] < segment_ids[:-1], xp.int8)))
            raise ValueError(
                f"segment_ids must be non-decreasing with sorted=True, got {int(segment_ids[at])} before "
                f"{int(segment_ids[at + 1])} at position {at}; pass sorted=False"
            )
    return _segment_sum(values, segment_ids, n_segments, bool(sorted))


def _segment_sum(values: Any, segment_ids: Any, n_segments: int, sorted: bool = False) -> Any:
    """:func:`segment_sum` without the checks (ids built by the library)."""
    xp = backend.array_namespace(values, segment_ids)
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


def stable_argsort(x: Any, bound: int | None = None) -> Any:
    """Stable ``argsort`` of non-negative integers below ``bound`` (equal keys keep their order).

    NumPy fast path: keys below ``2^16`` sort in one LSD radix pass on ``uint16``
    (NumPy's stable sort is a radix sort for 16-bit types), keys below ``2^32`` in two;
    0.4 s against 2.0 s for 10^7 int64 keys below 20000 here.  Otherwise, and on
    other backends, ``xp.argsort(x, stable=True)``.  ``bound`` is trusted (the caller
    knows its keys, e.g. column indices below ``n``).

    Examples
    --------
    >>> import numpy as np
    >>> stable_argsort(np.array([2, 0, 2, 1, 0]), bound=3)
    array([1, 4, 3, 0, 2])
    """
    xp = check_arrays(x=x)
    if backend.is_numpy(xp) and bound is not None and x.ndim == 1 and bound <= 2**32:
        x = np.asarray(x)
        if bound <= 2**16:
            return np.argsort(x.astype(np.uint16), kind="stable").astype(np.int64, copy=False)
        low = np.argsort((x & 0xFFFF).astype(np.uint16), kind="stable")
        high = np.argsort((x[low] >> 16).astype(np.uint16), kind="stable")
        return low[high].astype(np.int64, copy=False)
    return xp.argsort(x, stable=True)


def column_order(rows: Any, cols: Any, values: Any, n_cols: int) -> tuple[Any, Any, Any, Any, Any]:
    """The entries in column order: ``(order, col_rows, col_cols, col_values, col_offsets)``.

    ``order`` is the stable permutation sorting ``cols`` (entries of one column keep
    their order), ``col_rows = rows[order]``, ``col_cols = cols[order]``,
    ``col_values = values[order]`` and ``col_offsets`` (``n_cols + 1``) the CSC column
    pointers.  NumPy with Numba: one compiled counting-sort pass (no sort, no gathers;
    0.5 s against 1.5 s for 10^7 entries), from ``2**21`` entries on several threads that
    each scatter one range of columns (the same result); otherwise :func:`stable_argsort`
    and gathers.

    Examples
    --------
    >>> import numpy as np
    >>> out = column_order(np.array([0, 0, 1]), np.array([2, 0, 0]), np.array([1.0, 2.0, 3.0]), 3)
    >>> [a.tolist() for a in out]
    [[1, 2, 0], [0, 1, 0], [0, 0, 2], [2.0, 3.0, 1.0], [0, 2, 2, 3]]
    """
    xp = check_arrays(rows=rows, cols=cols, values=values)
    n = cols.shape[0]
    kernel = _jit.column_order_kernel() if backend.is_numpy(xp) else None
    if kernel is not None:
        rows, cols, values = np.asarray(rows), np.asarray(cols), np.asarray(values)
        order = np.empty(n, dtype=np.int64)
        col_rows = np.empty(n, dtype=rows.dtype)
        col_cols = np.empty(n, dtype=cols.dtype)
        col_values = np.empty(n, dtype=values.dtype)
        offsets = np.zeros(n_cols + 1, dtype=np.int64)
        threads = _scatter_threads(n, n_cols)
        halves = _jit.column_scatter_kernels() if threads > 1 else None
        if halves is None:
            kernel(rows, cols, values, order, col_rows, col_cols, col_values, offsets)
            return order, col_rows, col_cols, col_values, offsets
        # Large inputs: the scatter's ~3 random writes per entry are bound by memory latency,
        # so threads that each scan every entry and write one range of columns finish sooner
        # (same slots, same stable order: the result does not depend on the thread count).
        counts, scatter = halves
        counts(cols, offsets, col_cols)
        bounds = [round(i * n_cols / threads) for i in range(threads + 1)]
        _run_threads(scatter, [(rows, cols, values, offsets, order, col_rows, col_values, lo, hi)
                               for lo, hi in zip(bounds[:-1], bounds[1:])])
        return order, col_rows, col_cols, col_values, offsets
    order = xp.astype(stable_argsort(cols, n_cols), xp.int64)
    sorted_cols = xp.take(cols, order)
    bounds = xp.arange(n_cols + 1, dtype=sorted_cols.dtype, device=backend.device(cols))
    offsets = xp.astype(xp.searchsorted(sorted_cols, bounds, side="left"), xp.int64)
    return order, xp.take(rows, order), sorted_cols, xp.take(values, order), offsets


_SCATTER_MIN = 1 << 21  # entries from which the threaded scatter pays (thread start-up, repeated scans)


def _scatter_threads(n: int, n_cols: int) -> int:
    if n < _SCATTER_MIN or n_cols < 2:
        return 1
    from ._altmin import available_cpus  # noqa: PLC0415  (_altmin imports this module)

    return max(1, min(available_cpus(), 4, n_cols))


def _run_threads(kernel: Any, calls: list) -> None:
    """Run a GIL-free kernel once per argument tuple, on that many threads, and wait."""
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    with ThreadPoolExecutor(max_workers=len(calls), thread_name_prefix="lowrank_lab") as pool:
        for job in [pool.submit(kernel, *args) for args in calls]:
            job.result()


def first_distinct(candidates: Any, offsets: Any, counts: Any, n_values: int) -> tuple[Any, Any]:
    """Per segment, the first ``counts[i]`` distinct candidates in draw order, sorted.

    Segment ``i`` holds ``candidates[offsets[i]:offsets[i+1]]``, integers in
    ``[0, n_values)``.  If the candidates are i.i.d. uniform draws, the first ``k``
    distinct ones are a uniformly random ``k``-subset (draws with rejection of repeats),
    so this turns independent draws into sampling without replacement, segment by
    segment (:func:`lowrank_lab.completion.sample_entries` draws large samples row by row
    with it).

    Parameters
    ----------
    candidates : integer array (N,)
    offsets : integer array (S + 1,), non-decreasing, ``offsets[0] = 0``, ``offsets[-1] = N``
    counts : integer array (S,), non-negative
    n_values : int
        Candidates lie in ``[0, n_values)``.

    Returns
    -------
    values : int64 array (counts.sum(),)
        Segment ``i``'s chosen values, sorted, at ``[cumsum(counts)[i-1], cumsum(counts)[i])``.
    short : int64 array (S,)
        How many distinct candidates segment ``i`` lacked (``0`` everywhere when there were
        enough); the missing tail of a short segment's slice is left unspecified.

    Notes
    -----
    NumPy with Numba: one compiled pass with a bitmap of ``n_values`` flags (``n_values``
    bytes per thread; per segment ``O(candidates + k)`` with an 8-bit radix sort).  Otherwise the same result from a stable ``unique`` of
    the keys ``segment * n_values + candidate`` (tested to agree).  Returns host (NumPy)
    arrays whatever the inputs' namespace: sampling is drawn on the host and moved to the
    device afterwards.

    Examples
    --------
    >>> import numpy as np
    >>> values, short = first_distinct(np.array([3, 1, 3, 0, 2, 2, 2]), np.array([0, 4, 7]), np.array([2, 2]), 4)
    >>> values.tolist(), short.tolist()
    ([1, 3, 2, 0], [0, 1])
    """
    check_arrays(candidates=candidates, offsets=offsets, counts=counts)
    n_values = check_int(n_values, "n_values", low=1)
    cand, off, k = (backend.to_numpy(a).astype(np.int64, copy=False) for a in (candidates, offsets, counts))
    S = k.shape[0]
    if cand.ndim != 1 or off.shape != (S + 1,) or (S and (off[0] != 0 or off[-1] != cand.shape[0])):
        raise ValueError(f"offsets must have len(counts) + 1 = {S + 1} entries from 0 to len(candidates) = "
                         f"{cand.shape[0]}; got shape {off.shape}")
    if S and (np.any(np.diff(off) < 0) or np.any(k < 0)):
        raise ValueError("offsets must be non-decreasing and counts non-negative")
    if cand.size and (cand.min() < 0 or cand.max() >= n_values):
        raise ValueError(f"candidates must lie in [0, n_values={n_values})")
    out_off = np.zeros(S + 1, dtype=np.int64)
    np.cumsum(k, out=out_off[1:])
    out = np.zeros(int(out_off[-1]), dtype=np.int64)
    short = np.zeros(S, dtype=np.int64)
    kernel = _jit.first_distinct_kernel()
    if kernel is not None:
        threads = _scatter_threads(cand.shape[0], S)
        if threads == 1:
            kernel(cand, off, k, n_values, out, out_off, short, 0, S)
            return out, short
        # disjoint ranges of segments, balanced by candidates; each thread has its own flags
        bounds = np.searchsorted(off, np.linspace(0, cand.shape[0], threads + 1), side="left").tolist()
        bounds[0], bounds[-1] = 0, S
        _run_threads(kernel, [(cand, off, k, n_values, out, out_off, short, lo, hi)
                              for lo, hi in zip(bounds[:-1], bounds[1:]) if hi > lo])
        return out, short
    seg = np.repeat(np.arange(S, dtype=np.int64), np.diff(off))
    keys, first = np.unique(seg * n_values + cand, return_index=True)  # first occurrences, in key order
    by_draw = np.argsort(first, kind="stable")
    keys = keys[by_draw]  # distinct keys in draw order (segments stay grouped: they were drawn grouped)
    key_seg = keys // n_values
    rank = np.arange(keys.size) - np.searchsorted(key_seg, key_seg, side="left")
    kept = np.sort(keys[rank < k[key_seg]])
    got = np.bincount(kept // n_values, minlength=S).astype(np.int64)
    short = k - got
    # place each segment's kept values at the start of its slice
    slot = out_off[kept // n_values] + (np.arange(kept.size) - np.searchsorted(kept // n_values, kept // n_values))
    out[slot] = kept % n_values
    return out, short


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
    xp = check_arrays(indptr=indptr, indices=indices, data=data, dense=dense)
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

    On NumPy with Numba installed a compiled kernel computes each dot product from the
    factor rows in place; otherwise the rows are gathered in chunks of ``chunk_size``
    entries so the gathered copies stay small.

    Examples
    --------
    >>> import numpy as np
    >>> U = np.array([[1.0, 0.0], [0.0, 2.0]]); V = np.array([[3.0, 1.0]])
    >>> sampled_dot(U, V, np.array([0, 1]), np.array([0, 0]))
    array([3., 2.])
    """
    xp = check_arrays(U=U, V=V, rows=rows, cols=cols)
    n = rows.shape[0]
    numpy_path = backend.is_numpy(xp)
    kernel = _jit.sampled_dot_kernel() if numpy_path and n else None
    if kernel is not None:  # compiled: no gathered N x k copies (10x faster at 10^7 entries, rank 10)
        U, V = np.asarray(U), np.asarray(V)
        out = np.empty(n, dtype=np.result_type(U.dtype, V.dtype))
        kernel(np.asarray(rows), np.asarray(cols), U, V, out, 0, n)
        return out
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


#: Entries per partial sum of :func:`sampled_squared_error`'s compiled path (fixed, so the
#: result does not depend on the number of threads).
SQUARED_ERROR_CHUNK = 1 << 16


def sampled_squared_error(U: Any, V: Any, rows: Any, cols: Any, values: Any, *, chunk_size: int = 1 << 15,
                          executor: Any = None, n_threads: int = 1) -> Any:
    """``sum_t (values[t] - (U @ V.T)[rows[t], cols[t]])^2`` without forming the residual.

    The training error of a completion iterate when only its norm is needed (the
    convergence checks): one pass over the entries.  On NumPy with Numba installed a
    compiled kernel fuses the gather, the dot products and the sum (no ``N x k``
    temporary, no residual vector), over fixed chunks of 65536 entries whose partial
    sums are added in order, on ``n_threads`` threads of ``executor`` (the kernel
    releases the GIL; the result does not depend on the thread count).  Otherwise
    entries are taken in chunks of ``chunk_size`` with standard calls only, so the
    temporaries stay in cache.  Returns a 0-d array in ``values``'s namespace, on its
    device (no host synchronization).

    Examples
    --------
    >>> import numpy as np
    >>> U = np.array([[1.0, 0.0], [0.0, 2.0]]); V = np.array([[3.0, 1.0]])
    >>> float(sampled_squared_error(U, V, np.array([0, 1]), np.array([0, 0]), np.array([1.0, 1.0])))
    5.0
    """
    xp = check_arrays(U=U, V=V, rows=rows, cols=cols, values=values)
    n = rows.shape[0]
    if backend.is_numpy(xp):
        kernel = _jit.residual_norm2_kernel()
        if kernel is not None and n:
            args = (np.asarray(rows), np.asarray(cols), np.asarray(U), np.asarray(V), np.asarray(values))
            n_chunks = -(-n // SQUARED_ERROR_CHUNK)
            partial = np.empty(n_chunks)
            n_workers = max(1, min(int(n_threads), n_chunks)) if executor is not None else 1

            def work(w: int) -> None:
                for c in range(w, n_chunks, n_workers):
                    start = c * SQUARED_ERROR_CHUNK
                    partial[c] = kernel(*args, start, min(start + SQUARED_ERROR_CHUNK, n))

            futures = [executor.submit(work, w) for w in range(1, n_workers)]
            try:
                work(0)
            finally:
                for f in futures:
                    f.result()
            return np.asarray(math.fsum(partial.tolist()), dtype=args[4].dtype)
    total = xp.zeros((), dtype=values.dtype, device=backend.device(values))
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        r = sampled_dot(U, V, rows[start:stop], cols[start:stop], chunk_size=chunk_size) - values[start:stop]
        total = total + xp.sum(r * r)
    return total


def rowwise_dot(A: Any, B: Any) -> Any:
    """``out[t] = A[t] . B[t]`` for two ``(N, k)`` arrays (``sum(A * B, axis=1)``).

    NumPy fast path: ``einsum`` (no ``N x k`` temporary).

    Examples
    --------
    >>> import numpy as np
    >>> rowwise_dot(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 1.0], [0.0, 2.0]]))
    array([3., 8.])
    """
    xp = check_arrays(A=A, B=B)
    if backend.is_numpy(xp):
        import numpy as np  # noqa: PLC0415

        return np.einsum("tk,tk->t", A, B)
    return xp.sum(A * B, axis=1)

