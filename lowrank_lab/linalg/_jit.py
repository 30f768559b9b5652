"""Optional compiled kernels (Numba), used by :mod:`lowrank_lab.linalg` on NumPy only.

Numba is the ``fast`` extra (installed by ``make``).  Without it, or with
``LOWRANK_NUMBA=0`` in the environment, or when it cannot compile, every caller
takes its SciPy / NumPy path instead; :func:`segment_ls_kernel` returns None then.

The kernels release the GIL (``nogil=True``), so :func:`lowrank_lab.linalg`
runs them on several threads over disjoint segment ranges.  Their floating-point
reductions may be reassociated (vectorized) by the compiler, so they agree with the
SciPy path to rounding, not bit for bit; the order depends only on a segment's
length, so results do not depend on the thread count.

The fast Walsh-Hadamard kernel (:func:`fwht_kernel`, used by
:func:`lowrank_lab.linalg.fwht`) is built separately, on first use, without
``fastmath``: it only adds and subtracts, in a fixed order.
"""

from __future__ import annotations

import os
import threading
import warnings
from typing import Any

__all__ = ["column_order_kernel", "column_scatter_kernels", "first_distinct_kernel", "fwht_kernel", "numba_enabled", "residual_norm2_kernel", "sampled_dot_kernel",
           "segment_cg_kernel", "segment_ls_kernel"]

_LOCK = threading.Lock()
_KERNELS: Any = None
_TRIED = False
_FWHT: Any = None
_FWHT_TRIED = False
_SAMPLING: Any = None
_SAMPLING_TRIED = False


def numba_enabled() -> bool:
    """Whether the compiled kernels may be used (Numba importable and not disabled)."""
    return _kernels() is not None


def segment_ls_kernel() -> Any:
    """The compiled segment least-squares kernel, or None (see the module docstring)."""
    kernels = _kernels()
    return None if kernels is None else kernels[0]


def segment_cg_kernel() -> Any:
    """The compiled segment conjugate-gradient kernel, or None (see the module docstring)."""
    kernels = _kernels()
    return None if kernels is None else kernels[1]


def fwht_kernel() -> Any:
    """The compiled in-place fast Walsh-Hadamard kernel, or None (see the module docstring).

    Built on first use, separately from the AltMin kernels (a session that only
    transforms does not compile those, and the other way round).
    """
    global _FWHT, _FWHT_TRIED
    if _disabled():
        return None
    with _LOCK:
        if not _FWHT_TRIED:
            _FWHT_TRIED = True
            try:
                _FWHT = _build_fwht()
            except Exception as exc:  # a Numba that cannot handle this NumPy
                warnings.warn(f"lowrank_lab: Numba FWHT kernel unavailable ({type(exc).__name__}: {exc}); "
                              "using the array butterfly", RuntimeWarning, stacklevel=3)
                _FWHT = None
    return _FWHT


def _disabled() -> bool:
    return os.environ.get("LOWRANK_NUMBA", "1").strip().lower() in ("0", "false", "no", "off")


def residual_norm2_kernel() -> Any:
    """The compiled fused squared-residual kernel, or None (see the module docstring)."""
    kernels = _kernels()
    return None if kernels is None else kernels[2]


def sampled_dot_kernel() -> Any:
    """The compiled gather-and-dot kernel of :func:`lowrank_lab.linalg.sampled_dot`, or None."""
    kernels = _kernels()
    return None if kernels is None else kernels[3]


def column_order_kernel() -> Any:
    """The compiled counting-sort transpose of :func:`lowrank_lab.linalg.column_order`, or None."""
    kernels = _kernels()
    return None if kernels is None else kernels[4]


def _sampling_kernels() -> Any:
    """The sampling kernels (first distinct draws per segment, threaded column scatter), built on first use."""
    global _SAMPLING, _SAMPLING_TRIED
    if _disabled():
        return None
    with _LOCK:
        if not _SAMPLING_TRIED:
            _SAMPLING_TRIED = True
            try:
                _SAMPLING = _build_sampling()
            except Exception as exc:  # pragma: no cover - a Numba that cannot handle this NumPy
                warnings.warn(f"lowrank_lab: Numba sampling kernels unavailable ({type(exc).__name__}: {exc}); "
                              "using the NumPy path", RuntimeWarning, stacklevel=3)
                _SAMPLING = None
    return _SAMPLING


def first_distinct_kernel() -> Any:
    """The compiled kernel of :func:`lowrank_lab.linalg.first_distinct`, or None."""
    kernels = _sampling_kernels()
    return None if kernels is None else kernels[0]


def column_scatter_kernels() -> Any:
    """``(column_counts, column_scatter)``: the two halves of the counting-sort transpose, for
    threads that each scatter a range of columns; or None."""
    kernels = _sampling_kernels()
    return None if kernels is None else (kernels[1], kernels[2])


def _kernels() -> Any:
    global _KERNELS, _TRIED
    if _disabled():
        return None
    with _LOCK:
        if not _TRIED:
            _TRIED = True
            try:
                _KERNELS = _build()
            except Exception as exc:  # ImportError, or a Numba that cannot handle this NumPy
                warnings.warn(f"lowrank_lab: Numba kernels unavailable ({type(exc).__name__}: {exc}); "
                              "using the SciPy path", RuntimeWarning, stacklevel=3)
                _KERNELS = None
    return _KERNELS


def _jit_decorator(options: dict) -> Any:
    """``numba.njit(cache=True, **options)``, or uncached where Numba finds no cache location; None without Numba."""
    try:
        import numba  # noqa: PLC0415
    except ImportError:
        return None

    def jit(fn: Any) -> Any:
        try:
            return numba.njit(cache=True, **options)(fn)
        except Exception:  # no cache locator (no writable place): compile each session instead
            return numba.njit(**options)(fn)

    return jit


def _build() -> Any:
    # reassoc lets the dot products vectorize; no "nnan"/"ninf": NaN must propagate to
    # the caller, whose divergence checks depend on it.
    jit = _jit_decorator({"nogil": True, "fastmath": {"reassoc", "contract"}})
    if jit is None:
        return None
    import numpy as np  # noqa: PLC0415

    @jit
    def longest_segment(indptr, start, stop):  # pragma: no cover - compiled
        """Most entries in one of the segments ``[start, stop)`` (the gather buffers' length)."""
        longest = 0
        for s in range(start, stop):
            longest = max(longest, indptr[s + 1] - indptr[s])
        return longest

    @jit
    def segment_ls(indptr, indices, factor, values, shift, start, stop, out):  # pragma: no cover - compiled
        """Solve ``(sum_t f f^T + shift[s] I) x = sum_t v_t f`` for segments ``[start, stop)``.

        Gathers each segment's factor rows transposed (``buf[a, t]``), forms the lower
        triangle of the normal matrix by dot products over ``t`` (two rows at a time), and
        solves by Cholesky.  Returns False if a pivot is not positive (or is NaN); the
        caller then redoes the range on its general path.
        """
        k = factor.shape[1]
        buf = np.empty((k, longest_segment(indptr, start, stop)))  # transposed: dot products over t
        A = np.empty((k, k))
        b = np.empty(k)
        ok = True
        for s in range(start, stop):
            lo = indptr[s]
            n = indptr[s + 1] - lo
            for t in range(n):
                j = indices[lo + t]
                for a in range(k):
                    buf[a, t] = factor[j, a]
            vals = values[lo:lo + n]
            for a in range(0, k - 1, 2):  # rows a, a + 1 together: 3 loads per 2 multiply-adds
                x0 = buf[a, :n]
                x1 = buf[a + 1, :n]
                s0 = 0.0
                s1 = 0.0
                for t in range(n):
                    s0 += x0[t] * vals[t]
                    s1 += x1[t] * vals[t]
                b[a] = s0
                b[a + 1] = s1
                for c in range(a + 1):
                    xc = buf[c, :n]
                    s0 = 0.0
                    s1 = 0.0
                    for t in range(n):
                        s0 += x0[t] * xc[t]
                        s1 += x1[t] * xc[t]
                    A[a, c] = s0
                    A[a + 1, c] = s1
                s1 = 0.0
                for t in range(n):
                    s1 += x1[t] * x1[t]
                A[a + 1, a + 1] = s1
            if k % 2 == 1:
                a = k - 1
                xa = buf[a, :n]
                s0 = 0.0
                for t in range(n):
                    s0 += xa[t] * vals[t]
                b[a] = s0
                for c in range(a + 1):
                    xc = buf[c, :n]
                    s0 = 0.0
                    for t in range(n):
                        s0 += xa[t] * xc[t]
                    A[a, c] = s0
            for a in range(k):
                A[a, a] += shift[s]
            for j in range(k):  # Cholesky, lower triangle in place
                d = A[j, j]
                for p in range(j):
                    d -= A[j, p] * A[j, p]
                if not d > 0.0:
                    ok = False
                    d = 1.0
                d = np.sqrt(d)
                A[j, j] = d
                for i in range(j + 1, k):
                    v = A[i, j]
                    for p in range(j):
                        v -= A[i, p] * A[j, p]
                    A[i, j] = v / d
            for i in range(k):  # L y = b
                v = b[i]
                for p in range(i):
                    v -= A[i, p] * b[p]
                b[i] = v / A[i, i]
            for i in range(k - 1, -1, -1):  # L^T x = y
                v = b[i]
                for p in range(i + 1, k):
                    v -= A[p, i] * b[p]
                b[i] = v / A[i, i]
            for a in range(k):
                out[s, a] = b[a]
        return ok

    @jit
    def segment_cg(indptr, indices, factor, values, shift, x0, n_iter, start, stop, out):  # pragma: no cover
        """``n_iter`` CG steps on each segment's ridge normal equations, from ``x0``.

        The operator ``p -> sum_t f_t (f_t . p) + shift[s] p`` is applied without
        forming it (``O(n k)`` per application); the steps, and the guards on
        non-positive curvature and zero residuals, are those of the array version in
        :func:`lowrank_lab.linalg.segment_cg`.
        """
        k = factor.shape[1]
        X = np.empty((longest_segment(indptr, start, stop), k))  # row-major: f_t . p over a
        x = np.empty(k)
        r = np.empty(k)
        p = np.empty(k)
        ap = np.empty(k)
        for s in range(start, stop):
            lo = indptr[s]
            n = indptr[s + 1] - lo
            for t in range(n):
                j = indices[lo + t]
                for a in range(k):
                    X[t, a] = factor[j, a]
            sh = shift[s]
            # r = b - A x0, with b = sum_t v_t f_t
            for a in range(k):
                x[a] = x0[s, a]
                r[a] = -sh * x[a]
            for t in range(n):
                d = 0.0
                for a in range(k):
                    d += X[t, a] * x[a]
                d = values[lo + t] - d
                for a in range(k):
                    r[a] += d * X[t, a]
            rr = 0.0
            for a in range(k):
                p[a] = r[a]
                rr += r[a] * r[a]
            for c in range(n_iter):
                for a in range(k):
                    ap[a] = sh * p[a]
                for t in range(n):
                    d = 0.0
                    for a in range(k):
                        d += X[t, a] * p[a]
                    for a in range(k):
                        ap[a] += d * X[t, a]
                pap = 0.0
                for a in range(k):
                    pap += p[a] * ap[a]
                alpha = rr / pap if pap > 0.0 else 0.0
                for a in range(k):
                    x[a] += alpha * p[a]
                if c + 1 == n_iter:
                    break
                rr_new = 0.0
                for a in range(k):
                    r[a] -= alpha * ap[a]
                    rr_new += r[a] * r[a]
                beta = rr_new / rr if rr > 0.0 else 0.0
                for a in range(k):
                    p[a] = r[a] + beta * p[a]
                rr = rr_new
            for a in range(k):
                out[s, a] = x[a]

    @jit
    def residual_norm2(rows, cols, U, V, values, start, stop):  # pragma: no cover - compiled
        """``sum_t (values[t] - U[rows[t]] . V[cols[t]])^2`` over ``[start, stop)``, nothing materialized."""
        k = U.shape[1]
        total = 0.0
        for t in range(start, stop):
            i = rows[t]
            j = cols[t]
            d = 0.0
            for a in range(k):
                d += U[i, a] * V[j, a]
            e = values[t] - d
            total += e * e
        return total

    @jit
    def sampled_dot(rows, cols, U, V, out, start, stop):  # pragma: no cover - compiled
        """``out[t] = U[rows[t]] . V[cols[t]]`` for ``t`` in ``[start, stop)`` (no gathered copies)."""
        k = U.shape[1]
        for t in range(start, stop):
            i = rows[t]
            j = cols[t]
            d = 0.0
            for a in range(k):
                d += U[i, a] * V[j, a]
            out[t] = d

    @jit
    def column_order(rows, cols, values, order, col_rows, col_cols, col_values, offsets):  # pragma: no cover
        """Stable counting sort of the entries by column: ``offsets`` (zeros on entry, n + 1) get
        the column offsets, ``order`` the permutation, ``col_*`` the entries in column order."""
        n_cols = offsets.shape[0] - 1
        for t in range(cols.shape[0]):
            offsets[cols[t] + 1] += 1
        for j in range(n_cols):
            offsets[j + 1] += offsets[j]
            for p in range(offsets[j], offsets[j + 1]):
                col_cols[p] = j
        fill = offsets[:-1].copy()
        for t in range(cols.shape[0]):
            j = cols[t]
            p = fill[j]
            fill[j] = p + 1
            order[p] = t
            col_rows[p] = rows[t]
            col_values[p] = values[t]

    return segment_ls, segment_cg, residual_norm2, sampled_dot, column_order


def _build_sampling() -> Any:
    """Integer kernels only (no floating-point reductions): exact, thread-count independent."""
    import numpy as np  # noqa: PLC0415

    jit = _jit_decorator({"nogil": True})
    if jit is None:
        return None

    @jit
    def first_distinct(cand, c_off, k, n, out, out_off, short, lo, hi):  # pragma: no cover - compiled
        """For segments ``lo <= i < hi``: the first ``k[i]`` distinct values of
        ``cand[c_off[i]:c_off[i+1]]`` in draw order, sorted, into ``out[out_off[i]:...]``;
        ``short[i]`` gets how many were missing.  A bitmap of ``n`` flags finds repeats; an
        LSD radix sort (8-bit digits) orders each segment (5x faster than quicksort at
        500 values per segment)."""
        seen = np.zeros(n, dtype=np.bool_)
        widest = 0
        for i in range(lo, hi):
            widest = max(widest, k[i])
        tmp = np.empty(widest, dtype=np.int64)
        count = np.zeros(257, dtype=np.int64)
        passes = 1
        while (1 << (8 * passes)) < n:
            passes += 1
        for i in range(lo, hi):
            need = k[i]
            w = out_off[i]
            got = 0
            for t in range(c_off[i], c_off[i + 1]):
                if got == need:
                    break
                j = cand[t]
                if not seen[j]:
                    seen[j] = True
                    out[w + got] = j
                    got += 1
            short[i] = need - got
            for t in range(got):
                seen[out[w + t]] = False
            if got < 64:
                out[w:w + got].sort()
                continue
            in_out = True
            for p in range(passes):
                shift = 8 * p
                count[:] = 0
                for t in range(got):
                    v = out[w + t] if in_out else tmp[t]
                    count[((v >> shift) & 255) + 1] += 1
                for b in range(256):
                    count[b + 1] += count[b]
                for t in range(got):
                    v = out[w + t] if in_out else tmp[t]
                    b = (v >> shift) & 255
                    if in_out:
                        tmp[count[b]] = v
                    else:
                        out[w + count[b]] = v
                    count[b] += 1
                in_out = not in_out
            if not in_out:
                for t in range(got):
                    out[w + t] = tmp[t]

    @jit
    def column_counts(cols, offsets, col_cols):  # pragma: no cover - compiled
        """CSC column pointers (``offsets`` zeros on entry) and the column of every slot."""
        for t in range(cols.shape[0]):
            offsets[cols[t] + 1] += 1
        for j in range(offsets.shape[0] - 1):
            offsets[j + 1] += offsets[j]
            for p in range(offsets[j], offsets[j + 1]):
                col_cols[p] = j

    @jit
    def column_scatter(rows, cols, values, offsets, order, col_rows, col_values, jlo, jhi):  # pragma: no cover
        """The stable counting-sort scatter of the entries whose column is in ``[jlo, jhi)``."""
        fill = offsets[jlo:jhi].copy()
        for t in range(cols.shape[0]):
            j = cols[t]
            if jlo <= j < jhi:
                p = fill[j - jlo]
                fill[j - jlo] = p + 1
                order[p] = t
                col_rows[p] = rows[t]
                col_values[p] = values[t]

    return first_distinct, column_counts, column_scatter


def _build_fwht() -> Any:
    """The FWHT kernel: additions and subtractions only, so no fastmath (results stay reproducible)."""
    jit = _jit_decorator({"nogil": True})
    if jit is None:
        return None

    @jit
    def fwht_stages(x, lo, hi, h, stop):  # pragma: no cover - compiled
        """Butterfly stages of strides ``h, 2h, ... < stop`` on ``x[lo:hi]``, two at a time (radix 4)."""
        while h < stop:
            if 4 * h <= stop:
                for i in range(lo, hi, 4 * h):
                    for j in range(i, i + h):
                        a = x[j]
                        b = x[j + h]
                        c = x[j + 2 * h]
                        d = x[j + 3 * h]
                        apb = a + b
                        amb = a - b
                        cpd = c + d
                        cmd = c - d
                        x[j] = apb + cpd
                        x[j + h] = amb + cmd
                        x[j + 2 * h] = apb - cpd
                        x[j + 3 * h] = amb - cmd
                h *= 4
            else:
                for i in range(lo, hi, 2 * h):
                    for j in range(i, i + h):
                        a = x[j]
                        b = x[j + h]
                        x[j] = a + b
                        x[j + h] = a - b
                h *= 2

    @jit
    def fwht(y, block):  # pragma: no cover - compiled
        """Unnormalized Walsh-Hadamard transform of each row of ``y`` (C-contiguous), in place.

        The strides below ``block`` run block by block (the block stays in cache for
        all of them), the larger ones over the whole row; both two stages per pass.
        Only additions and subtractions: the result equals the butterfly's up to the
        order of the two-stage sums, i.e. to rounding.
        """
        n_rows, length = y.shape
        bs = min(block, length)
        for m in range(n_rows):
            x = y[m]
            for s in range(0, length, bs):
                fwht_stages(x, s, s + bs, 1, bs)
            fwht_stages(x, 0, length, bs, length)

    return fwht
