"""Observed entries of a matrix, for matrix completion (study C; see docs/references.md).

:class:`Observations` holds the entries ``(row, col, value)`` of an ``m x n``
matrix that a completion solver sees.  Entries are kept **sorted by row** (then
column) with CSR-style ``row_offsets``, plus a stable **column-sorted
permutation** ``col_order`` with ``col_offsets``, so both alternating half-steps
of a completion solver are segment operations over contiguous runs (see
:mod:`lowrank_lab.linalg`).  Nothing here ever forms the dense ``m x n`` array.

Builders
--------
:class:`Observations`
    From index and value arrays (any Array API namespace) or, with
    :meth:`Observations.from_dataframe`, from a pandas DataFrame.  Validation
    refuses out-of-range indices, NaN/inf values and (by default) duplicate
    entries, naming the problem.  Rows and columns without any entry are legal.
:func:`sample_entries`
    Uniform sampling of a known truth: Bernoulli(``p``) per entry, or a fixed
    number of distinct entries.  Works from a dense array, a
    :class:`~lowrank_lab.matrices.LowRankMatrix` or a pair of factors ``(F, G)``
    (``M = F G^T``; the dense matrix is then never formed, which is how
    benchmarks reach 10^7 entries).
:func:`train_test_split`, :func:`random_partition`
    Seeded splits of the observed entries.
:func:`coherent_low_rank_matrix`, :func:`incoherence`
    Ground truths with power-law row norms (a few heavy rows) for the
    coherence experiment, and the standard incoherence ``mu(U) = (m/k) max_i
    ||e_i^T U||^2``.

Random numbers are drawn on the host from a :class:`numpy.random.Generator`
and the results moved to the target namespace, so the same seed gives the same
sample on every backend.

Examples
--------
>>> import numpy as np
>>> from lowrank_lab.completion import sample_entries
>>> from lowrank_lab.matrices import low_rank_matrix
>>> truth = low_rank_matrix(30, 20, 2, rng=0)
>>> obs = sample_entries(truth, p=0.5, rng=1)
>>> obs.shape, 200 < obs.nnz < 400
((30, 20), True)
>>> bool(np.all(np.diff(np.asarray(obs.rows)) >= 0))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from .._validation import (
    check_array,
    check_choice,
    check_float,
    check_indices,
    check_int,
    check_memory,
)
from ..linalg import column_order, first_distinct, sampled_dot, segment_sum, stable_argsort
from ..matrices import LowRankMatrix

__all__ = [
    "Observations",
    "random_partition",
    "sample_entries",
    "train_test_split",
]

DUPLICATES = ("error", "mean", "sum", "last")


class Observations:
    """Observed entries ``M[rows[t], cols[t]] = values[t]`` of an ``m x n`` matrix.

    Parameters
    ----------
    rows, cols : integer arrays, shape (N,)
        Row indices in ``[0, m)`` and column indices in ``[0, n)``.  Lists are accepted.
    values : real array, shape (N,)
        Observed values (finite).  Integer values are cast to float64; float32 stays.
        Its namespace (NumPy, CuPy, ``array_api_strict``...) is the namespace of the
        result; ``rows`` and ``cols`` are moved there.
    shape : (int, int)
        ``(m, n)``.
    duplicates : {"error", "mean", "sum", "last"}, default "error"
        What to do with repeated ``(row, col)`` pairs: refuse them, or merge them
        by their mean, their sum, or the last one given.

    Attributes
    ----------
    rows, cols, values : arrays, shape (nnz,)
        The entries **sorted by row, then column** (int64 indices).
    row_offsets : int64 array, shape (m + 1,)
        Row ``i``'s entries are ``[row_offsets[i], row_offsets[i + 1])``.
    col_order : int64 array, shape (nnz,)
        Stable permutation sorting the entries by column (rows ascending within a column).
    col_offsets : int64 array, shape (n + 1,)
        Column ``j``'s entries are ``col_order[col_offsets[j]:col_offsets[j + 1]]``.
    col_rows, col_cols, col_values : arrays, shape (nnz,)
        ``rows``, ``cols``, ``values`` in column order (cached, for the column half-steps).
    shape : (int, int)

    Notes
    -----
    Validation (ranges, finiteness, duplicates) synchronizes with the device once,
    here at the boundary; the arrays built here are then used unchanged by solvers.

    Examples
    --------
    >>> import numpy as np
    >>> obs = Observations([2, 0, 0], [1, 3, 0], [5.0, 1.0, 2.0], shape=(3, 4))
    >>> obs.rows, obs.cols, obs.values
    (array([0, 0, 2]), array([0, 3, 1]), array([2., 1., 5.]))
    >>> obs.row_offsets, obs.col_offsets
    (array([0, 2, 2, 3]), array([0, 1, 2, 2, 3]))
    >>> obs.row_counts, obs.nnz, round(obs.density, 3)
    (array([2, 0, 1]), 3, 0.25)
    >>> Observations([0, 0], [1, 1], [1.0, 3.0], shape=(1, 2), duplicates="mean").values
    array([2.])
    """

    __slots__ = (
        "_rows", "_cols", "_values", "_shape", "_row_offsets", "_col_order", "_col_offsets",
        "_col_rows", "_col_cols", "_col_values",
    )

    def __init__(self, rows: Any, cols: Any, values: Any, shape: Any, *, duplicates: str = "error") -> None:
        duplicates = check_choice(duplicates, "duplicates", DUPLICATES)
        m, n = _check_shape(shape)
        values = check_array(values, "values", ndim=1, finite=False, min_size=0)
        _check_memory(m, n, int(values.shape[0]))
        xp = backend.array_namespace(values)
        rows = _check_index_array(rows, "rows", xp, values)
        cols = _check_index_array(cols, "cols", xp, values)
        nnz = values.shape[0]
        if rows.shape[0] != nnz or cols.shape[0] != nnz:
            raise ValueError(
                f"rows, cols and values must have the same length, got {rows.shape[0]}, {cols.shape[0]} and {nnz}"
            )
        if nnz:
            _check_range(rows, m, "rows", "m")
            _check_range(cols, n, "cols", "n")
            finite = xp.isfinite(values)
            if not bool(xp.all(finite)):
                bad = int(xp.sum(xp.astype(~finite, xp.int64)))
                first = int(xp.argmax(xp.astype(~finite, xp.int8)))
                raise ValueError(
                    f"values must be finite, got {bad} NaN or infinite value(s) "
                    f"(first at entry ({int(rows[first])}, {int(cols[first])}))"
                )
        # sort by (row, col): stable by column, then stable by row (radix passes on NumPy)
        by_col = stable_argsort(cols, n)
        order = xp.take(by_col, stable_argsort(xp.take(rows, by_col), m))
        key = xp.take(rows * n + cols, order)
        rows = xp.take(rows, order)
        cols = xp.take(cols, order)
        values = xp.take(values, order)
        if nnz > 1:
            repeated = key[1:] == key[:-1]
            n_rep = int(xp.sum(xp.astype(repeated, xp.int64)))
            if n_rep:
                if duplicates == "error":
                    at = int(xp.argmax(xp.astype(repeated, xp.int8)))
                    raise ValueError(
                        f"duplicate entries: {n_rep} (row, col) pair(s) appear more than once, e.g. "
                        f"({int(rows[at])}, {int(cols[at])}); pass duplicates='mean', 'sum' or 'last' to merge them"
                    )
                rows, cols, values = _merge_duplicates(xp, key, rows, cols, values, duplicates)
        _fill(self, rows, cols, values, (m, n))

    # ------------------------------------------------------------------ #
    # builders
    # ------------------------------------------------------------------ #
    @classmethod
    def from_dataframe(
        cls,
        frame: Any,
        *,
        row: str = "row",
        col: str = "col",
        value: str = "value",
        shape: Any = None,
        xp: Any = None,
        dtype: Any = None,
        duplicates: str = "error",
    ) -> Observations:
        """Build from a pandas DataFrame with integer row/column codes and a value column.

        Parameters
        ----------
        frame : pandas.DataFrame
        row, col, value : str
            Column names (default ``"row"``, ``"col"``, ``"value"``).
        shape : (int, int), optional
            Defaults to ``(max(row) + 1, max(col) + 1)``.
        xp : namespace, optional
            Target namespace (default NumPy).
        dtype : dtype, optional
            Floating dtype of the values (default float64).
        duplicates : {"error", "mean", "sum", "last"}

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"user": [0, 1, 1], "item": [2, 0, 1], "rating": [4.0, 3.5, 5.0]})
        >>> Observations.from_dataframe(df, row="user", col="item", value="rating")
        Observations(shape=(2, 3), nnz=3, density=0.5, dtype=float64, backend=numpy)
        """
        import pandas as pd  # noqa: PLC0415

        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
        for label, name in ((row, "row"), (col, "col"), (value, "value")):
            if label not in frame.columns:
                raise KeyError(f"{name} column {label!r} not in frame (columns: {list(frame.columns)})")
        host_rows = frame[row].to_numpy()
        host_cols = frame[col].to_numpy()
        for arr, name, label in ((host_rows, "row", row), (host_cols, "col", col)):
            if arr.dtype.kind not in "iu":
                raise TypeError(f"{name} column {label!r} must hold integer codes, got dtype {arr.dtype} "
                                f"(map ids to 0..m-1 first, e.g. with pandas.factorize)")
        host_vals = frame[value].to_numpy(dtype=np.float64)
        if shape is None:
            shape = (int(host_rows.max()) + 1 if host_rows.size else 0,
                     int(host_cols.max()) + 1 if host_cols.size else 0)
        xp = xp if xp is not None else backend.get_namespace("numpy")
        vals = backend.asarray(host_vals, xp=xp, dtype=dtype if dtype is not None else xp.float64)
        return cls(
            backend.asarray(host_rows.astype(np.int64), xp=xp),
            backend.asarray(host_cols.astype(np.int64), xp=xp),
            vals,
            shape,
            duplicates=duplicates,
        )

    @classmethod
    def _trusted(cls, rows: Any, cols: Any, values: Any, shape: tuple[int, int]) -> Observations:
        """Skip validation and sorting: the caller guarantees sorted, unique, in-range entries."""
        _check_memory(shape[0], shape[1], int(values.shape[0]))
        obj = cls.__new__(cls)
        _fill(obj, rows, cols, values, shape)
        return obj

    # ------------------------------------------------------------------ #
    # read-only views
    # ------------------------------------------------------------------ #
    rows = property(lambda self: self._rows, doc="Row indices (row-sorted order).")
    cols = property(lambda self: self._cols, doc="Column indices (row-sorted order).")
    values = property(lambda self: self._values, doc="Observed values (row-sorted order).")
    shape = property(lambda self: self._shape, doc="``(m, n)``.")
    row_offsets = property(lambda self: self._row_offsets, doc="CSR offsets of the rows, shape (m + 1,).")
    col_order = property(lambda self: self._col_order, doc="Stable permutation to column order.")
    col_offsets = property(lambda self: self._col_offsets, doc="Offsets of the columns in column order, (n + 1,).")
    col_rows = property(lambda self: self._col_rows, doc="Row indices in column order.")
    col_cols = property(lambda self: self._col_cols, doc="Column indices in column order (non-decreasing).")
    col_values = property(lambda self: self._col_values, doc="Values in column order.")

    @property
    def nnz(self) -> int:
        """Number of observed entries ``|Omega|``."""
        return int(self._values.shape[0])

    def __len__(self) -> int:
        return self.nnz

    @property
    def density(self) -> float:
        """``|Omega| / (m n)``."""
        m, n = self._shape
        return self.nnz / (m * n)

    @property
    def xp(self) -> Any:
        """Array namespace of the entries."""
        return backend.array_namespace(self._values)

    @property
    def dtype(self) -> Any:
        return self._values.dtype

    @property
    def row_counts(self) -> Any:
        """Entries per row, shape (m,)."""
        return self._row_offsets[1:] - self._row_offsets[:-1]

    @property
    def col_counts(self) -> Any:
        """Entries per column, shape (n,)."""
        return self._col_offsets[1:] - self._col_offsets[:-1]

    # ------------------------------------------------------------------ #
    # derived observations
    # ------------------------------------------------------------------ #
    def with_values(self, values: Any) -> Observations:
        """Same entries with new ``values`` (given in row-sorted order), e.g. residuals.

        Examples
        --------
        >>> import numpy as np
        >>> obs = Observations([0, 1], [1, 0], [1.0, 2.0], shape=(2, 2))
        >>> obs.with_values(obs.values - 1.0).col_values
        array([1., 0.])
        """
        values = check_array(values, "values", ndim=1, min_size=0)
        if values.shape[0] != self.nnz:
            raise ValueError(f"values must have length nnz={self.nnz}, got {values.shape[0]}")
        if backend.backend_name(backend.array_namespace(values)) != backend.backend_name(self.xp):
            values = backend.asarray(values, like=self._values)
        obj = Observations.__new__(Observations)
        for slot in Observations.__slots__:
            object.__setattr__(obj, slot, getattr(self, slot))
        obj._values = values
        obj._col_values = self.xp.take(values, self._col_order)
        return obj

    def select(self, index: Any) -> Observations:
        """The entries at positions ``index`` (in row-sorted order; ints or a boolean mask).

        Examples
        --------
        >>> import numpy as np
        >>> obs = Observations([0, 1, 2], [0, 1, 2], [1.0, 2.0, 3.0], shape=(3, 3))
        >>> obs.select(np.array([2, 0])).values
        array([1., 3.])
        """
        host = np.asarray(backend.to_numpy(index))
        if host.dtype == bool:
            if host.shape != (self.nnz,):
                raise ValueError(f"index must be a boolean mask of length nnz={self.nnz}, got shape {host.shape}")
            host = np.flatnonzero(host)
        elif host.dtype.kind not in "iu":
            raise TypeError(f"index must hold integer positions or be a boolean mask, got dtype {host.dtype}")
        host = np.unique(host.astype(np.int64))  # sorted positions keep the row order
        if host.size and (host[0] < 0 or host[-1] >= self.nnz):
            raise ValueError(f"index must be in [0, nnz={self.nnz}), got values in [{host[0]}, {host[-1]}]")
        xp = self.xp
        idx = backend.asarray(host, like=self._rows)
        return Observations._trusted(
            xp.take(self._rows, idx), xp.take(self._cols, idx), xp.take(self._values, idx), self._shape
        )

    def transpose(self) -> Observations:
        """Observations of ``M^T`` (shape ``(n, m)``)."""
        return Observations._trusted(self._col_cols, self._col_rows, self._col_values, (self._shape[1], self._shape[0]))

    def to_dataframe(self) -> Any:
        """The entries as a pandas DataFrame with columns ``row``, ``col``, ``value`` (host copy)."""
        import pandas as pd  # noqa: PLC0415

        return pd.DataFrame(
            {
                "row": backend.to_numpy(self._rows).astype(np.int64),
                "col": backend.to_numpy(self._cols).astype(np.int64),
                "value": backend.to_numpy(self._values),
            }
        )

    def to_namespace(self, xp: Any) -> Observations:
        """A copy in another namespace (e.g. NumPy -> CuPy); same order and offsets."""
        obj = Observations.__new__(Observations)
        for slot in Observations.__slots__:
            value = getattr(self, slot)
            if slot != "_shape":
                value = backend.asarray(value, xp=xp)
            object.__setattr__(obj, slot, value)
        return obj

    def __repr__(self) -> str:
        m, n = self._shape
        return (
            f"Observations(shape=({m}, {n}), nnz={self.nnz}, density={self.density:.3g}, "
            f"dtype={self.dtype}, backend={backend.backend_name(self.xp)})"
        )


# ---------------------------------------------------------------------- #
# construction helpers
# ---------------------------------------------------------------------- #
def _check_shape(shape: Any) -> tuple[int, int]:
    if not isinstance(shape, (tuple, list)) or len(shape) != 2:
        raise ValueError(f"shape must be a pair (m, n), got {shape!r}")
    m = check_int(shape[0], "shape[0] (m)", low=1)
    n = check_int(shape[1], "shape[1] (n)", low=1)
    if m * n >= 2**63:  # entries are keyed by the int64 row * n + col
        raise ValueError(f"shape must have m * n < 2^63 (int64 entry keys), got ({m}, {n})")
    return m, n


def observations_nbytes(m: int, n: int, nnz: int) -> int:
    """Bytes :class:`Observations` allocates: row and column offsets plus the sorted copies of the entries.

    ``8 (m + n + 2)`` bytes of offsets, and about ``80`` bytes per entry (indices,
    values, keys and the column-order copies, int64 / float64).
    """
    return 8 * (int(m) + int(n) + 2) + 80 * int(nnz)


def _check_memory(m: int, n: int, nnz: int) -> None:
    check_memory(
        observations_nbytes(m, n, nnz), "shape",
        f"the row and column offsets of a {m} x {n} matrix and the sorted copies of its {nnz} entries",
        hint="completion needs (m + n) int64 offsets whatever the number of entries; use a smaller shape",
    )


def _check_index_array(x: Any, name: str, xp: Any, like: Any) -> Any:
    return check_indices(x, name, like=like)


def _check_range(idx: Any, bound: int, name: str, label: str) -> None:
    xp = backend.array_namespace(idx)
    lo = int(xp.min(idx))
    hi = int(xp.max(idx))
    if lo < 0 or hi >= bound:
        bad = lo if lo < 0 else hi
        raise ValueError(f"{name} must be in [0, {label}={bound}), got {bad}")


def _merge_duplicates(xp: Any, key: Any, rows: Any, cols: Any, values: Any, how: str) -> tuple:
    """Merge runs of equal (sorted) keys."""
    nnz = key.shape[0]
    starts = xp.concat([xp.ones(1, dtype=xp.bool), key[1:] != key[:-1]])
    group = xp.cumulative_sum(xp.astype(starts, xp.int64)) - 1
    n_groups = int(group[-1]) + 1
    first = xp.nonzero(starts)[0]
    if how == "last":
        last = xp.concat([first[1:] - 1, xp.asarray([nnz - 1], dtype=first.dtype)])
        merged = xp.take(values, last)
    else:
        merged = segment_sum(values, group, n_groups, sorted=True)
        if how == "mean":
            counts = xp.astype(xp.concat([first[1:], xp.asarray([nnz], dtype=first.dtype)]) - first, values.dtype)
            merged = merged / counts
    return xp.take(rows, first), xp.take(cols, first), merged


def _offsets(sorted_ids: Any, n_segments: int) -> Any:
    xp = backend.array_namespace(sorted_ids)
    bounds = xp.arange(n_segments + 1, dtype=sorted_ids.dtype, device=backend.device(sorted_ids))
    return xp.astype(xp.searchsorted(sorted_ids, bounds, side="left"), xp.int64)


def _fill(obj: Observations, rows: Any, cols: Any, values: Any, shape: tuple[int, int]) -> None:
    xp = backend.array_namespace(values)
    m, n = shape
    obj._rows = rows
    obj._cols = cols
    obj._values = values
    obj._shape = (int(m), int(n))
    obj._row_offsets = _offsets(rows, m)
    col_order, obj._col_rows, obj._col_cols, obj._col_values, obj._col_offsets = column_order(rows, cols, values, n)
    obj._col_order = col_order if col_order.dtype == xp.int64 else xp.astype(col_order, xp.int64)


# ---------------------------------------------------------------------- #
# sampling and splitting
# ---------------------------------------------------------------------- #
def _truth_parts(truth: Any) -> tuple[str, Any, tuple[int, int]]:
    """("dense", M) or ("factors", (F, G)) and the shape."""
    if isinstance(truth, LowRankMatrix):
        return "dense", truth.matrix, truth.shape
    if isinstance(truth, tuple) and len(truth) == 2:
        F = check_array(truth[0], "truth[0] (F)", ndim=2)
        G = check_array(truth[1], "truth[1] (G)", ndim=2)
        if F.shape[1] != G.shape[1]:
            raise ValueError(f"truth factors must have the same number of columns, got {F.shape} and {G.shape}")
        return "factors", (F, G), (int(F.shape[0]), int(G.shape[0]))
    M = check_array(truth, "truth", ndim=2)
    return "dense", M, (int(M.shape[0]), int(M.shape[1]))


def _sorted_unique(x: np.ndarray) -> np.ndarray:
    """``numpy.unique(x)`` by a sort and a mask: the same array, without NumPy 2's hash-based
    ``unique`` (27 s against 0.2 s for 10^7 int64 here)."""
    x = np.sort(x)
    if x.size > 1:
        x = x[np.concatenate(([True], x[1:] != x[:-1]))]
    return x


def _uniform_positions(total: int, count: int, gen: np.random.Generator) -> np.ndarray:
    """``count`` distinct sorted integers drawn uniformly from ``[0, total)``.

    The draws (and so every sample of a seed) are those of the original
    ``numpy.unique`` / ``Generator.choice`` formulation; only the bookkeeping is faster.
    """
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    if count > total // 4:  # dense: one permutation is cheapest
        return np.sort(gen.permutation(total)[:count]).astype(np.int64)
    picked = _sorted_unique(gen.integers(0, total, size=count + count // 8 + 16, dtype=np.int64))
    while picked.size < count:  # rare top-up: a uniform random set stays uniform under unions
        extra = gen.integers(0, total, size=2 * (count - picked.size) + 16, dtype=np.int64)
        picked = _sorted_unique(np.concatenate([picked, extra]))
    if picked.size > count:  # a uniform subset of a uniform set is uniform
        # Generator.choice(array) draws these indices and gathers; a mask keeps them sorted (no re-sort)
        keep = np.zeros(picked.size, dtype=bool)
        keep[gen.choice(picked.size, size=count, replace=False)] = True
        picked = picked[keep]
    return picked


_ROWWISE_MIN = 1 << 22  # samples of at least this many entries are drawn row by row (see sample_entries)
_ROWWISE_MAX_COLS = 1 << 24  # ... when a row's bitmap of seen columns (n bytes per thread) stays small


def _draws_for_distinct(k: np.ndarray, n: int) -> np.ndarray:
    """Uniform draws from ``[0, n)`` that give ``k`` distinct values with high probability: the
    coupon collector's mean ``n (H_n - H_{n-k})`` plus four of its standard deviations and 8."""
    k = k.astype(np.float64)
    mean = n * np.log((n + 0.5) / (n - k + 0.5))
    var = np.maximum(n * n * (1.0 / (n - k + 0.5) - 1.0 / (n + 0.5)) - mean, 0.0)
    return (k + np.ceil(np.maximum(mean - k, 0.0) + 4.0 * np.sqrt(var) + 8.0)).astype(np.int64)


def _rowwise_positions(m: int, n: int, count: int, gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``count`` distinct uniformly random entries of an ``m x n`` matrix, row-sorted, drawn row by row.

    The number of entries of each row follows the multivariate hypergeometric law (the row
    counts of a uniform ``count``-subset); given them, each row's columns are a uniform
    subset of that size, taken as the first distinct values of i.i.d. uniform draws
    (:func:`lowrank_lab.linalg.first_distinct`; a row that comes up short draws again).
    Together: a uniformly random ``count``-subset, as the global draw, without sorting
    ``count`` linear indices.
    """
    k = gen.multivariate_hypergeometric(np.full(m, n, dtype=np.int64), count, method="marginals").astype(np.int64)
    draws = _draws_for_distinct(k, n)
    offsets = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(draws, out=offsets[1:])
    cand = gen.integers(0, n, size=int(offsets[-1]), dtype=np.int64)
    cols, short = first_distinct(cand, offsets, k, n)
    # Rare: a row that came up short keeps its draws, appends fresh ones, and takes its
    # first distinct values again (still the first k distinct of one i.i.d. sequence).
    pending = {int(i): cand[offsets[i]:offsets[i + 1]] for i in np.flatnonzero(short)}
    deficit = {i: int(short[i]) for i in pending}
    out_off = np.concatenate(([0], np.cumsum(k)))
    while pending:
        keys = sorted(pending)
        extra = [2 * deficit[i] + 16 for i in keys]
        more = np.split(gen.integers(0, n, size=sum(extra), dtype=np.int64), np.cumsum(extra)[:-1])
        seq = [np.concatenate([pending[i], e]) for i, e in zip(keys, more)]
        sub_off = np.concatenate(([0], np.cumsum([s.size for s in seq])))
        sub_cols, sub_short = first_distinct(np.concatenate(seq), sub_off, k[keys], n)
        sub_out = np.concatenate(([0], np.cumsum(k[keys])))
        for a, i in enumerate(keys):
            cols[out_off[i]:out_off[i + 1]] = sub_cols[sub_out[a]:sub_out[a + 1]]
        pending = {i: s for i, s, d in zip(keys, seq, sub_short.tolist()) if d}
        deficit = {i: d for i, d in zip(keys, sub_short.tolist()) if d}
    rows = np.repeat(np.arange(m, dtype=np.int64), k)
    return rows, cols


def sample_entries(
    truth: Any,
    *,
    p: float | None = None,
    n_observed: int | None = None,
    noise: float = 0.0,
    rng: Any = None,
) -> Observations:
    """Observe entries of a known matrix uniformly at random.

    Exactly one of ``p`` and ``n_observed`` is given:

    * ``p``: each entry is observed independently with probability ``p``
      (Candès & Recht 2009), so ``|Omega| ~ Binomial(mn, p)``.  Drawn exactly as
      ``|Omega| ~ Binomial(mn, p)`` followed by a uniform subset of that size.
    * ``n_observed``: a uniformly random set of exactly that many distinct entries.

    How the subset is drawn depends on its size (both are exactly uniform; a seed gives
    the same sample on every backend): below ``2**22`` entries, as ``count`` distinct
    linear indices (the draw every seeded sample of the suite's notebooks and caches
    was made with, kept so they stay valid); from ``2**22`` entries up to a quarter of
    the matrix (with at most ``2**24`` columns), row by row (hypergeometric row counts,
    then the first distinct columns of i.i.d. draws per row,
    :func:`lowrank_lab.linalg.first_distinct`), which needs no
    sort of ``count`` indices: at ``10**7`` entries (rank 10, 2.5 % density) sampling
    took 0.47 s against 1.4 s, and sampling plus AltMin's kernel plans 2.8 sweeps of
    exact AltMin instead of 7 (2-core machine, ``benchmarks/bench_completion.py``).

    Parameters
    ----------
    truth : array (m, n), LowRankMatrix, or tuple (F, G)
        The matrix; with factors, ``M = F @ G.T`` is never formed and the
        observed values are computed with :func:`lowrank_lab.linalg.sampled_dot`.
    p : float in (0, 1]
    n_observed : int in [1, m n]
    noise : float, default 0
        Standard deviation of additive Gaussian noise on the observed values.
    rng : int, Generator or None
        Host random stream (positions, then noise).

    Returns
    -------
    Observations
        In the namespace and on the device of ``truth``.

    Examples
    --------
    >>> import numpy as np
    >>> M = np.arange(12.0).reshape(3, 4)
    >>> obs = sample_entries(M, n_observed=5, rng=0)
    >>> obs.nnz, bool(np.all(obs.values == M[obs.rows, obs.cols]))
    (5, True)
    """
    kind, data, (m, n) = _truth_parts(truth)
    total = m * n
    if (p is None) == (n_observed is None):
        raise ValueError("give exactly one of p (sampling probability) and n_observed (number of entries)")
    gen = backend.as_generator(rng)
    if p is not None:
        p = check_float(p, "p", low=0.0, high=1.0, low_inclusive=False)
        count = int(gen.binomial(total, p))
    else:
        count = check_int(n_observed, "n_observed", low=1, high=total, high_label="m*n")
    noise = check_float(noise, "noise", low=0.0)
    _check_memory(m, n, count)
    if _ROWWISE_MIN <= count <= total // 4 and n <= _ROWWISE_MAX_COLS:
        host_rows, host_cols = _rowwise_positions(m, n, count, gen)
        linear = None
    else:
        linear = _uniform_positions(total, count, gen)
        host_rows = linear // n
        host_cols = linear % n
    like = data[0] if kind == "factors" else data
    xp = backend.array_namespace(like)
    rows = backend.asarray(host_rows, like=like)
    cols = backend.asarray(host_cols, like=like)
    if kind == "factors":
        F, G = data
        values = sampled_dot(F, G, rows, cols)
    else:
        flat = xp.reshape(data, (-1,))
        linear = host_rows * n + host_cols if linear is None else linear
        values = xp.take(flat, backend.asarray(linear, like=like))
    if noise > 0:
        values = values + backend.random_normal((count,), rng=gen, like=values, scale=noise)
    return Observations._trusted(rows, cols, values, (m, n))


def train_test_split(obs: Observations, *, test_fraction: float = 0.2, rng: Any = None) -> tuple:
    """Split the observed entries uniformly at random into ``(train, test)``.

    ``round(test_fraction * nnz)`` entries go to the test set; both keep the full
    ``shape`` (rows or columns may end up without training entries: solvers treat
    them with their ridge term, and :mod:`lowrank_lab.datasets` predicts them from
    biases).  The same ``rng`` gives the same split on every backend.

    Examples
    --------
    >>> import numpy as np
    >>> obs = Observations(np.arange(10), np.zeros(10, dtype=int), np.ones(10), shape=(10, 1))
    >>> train, test = train_test_split(obs, test_fraction=0.3, rng=0)
    >>> train.nnz, test.nnz
    (7, 3)
    """
    if not isinstance(obs, Observations):
        raise TypeError(f"obs must be Observations, got {type(obs).__name__}")
    test_fraction = check_float(test_fraction, "test_fraction", low=0.0, high=1.0,
                                low_inclusive=False, high_inclusive=False)
    gen = backend.as_generator(rng)
    n_test = int(round(test_fraction * obs.nnz))
    if n_test == 0 or n_test == obs.nnz:
        raise ValueError(f"test_fraction={test_fraction} leaves an empty train or test set for nnz={obs.nnz}")
    perm = gen.permutation(obs.nnz)
    return obs.select(np.sort(perm[n_test:])), obs.select(np.sort(perm[:n_test]))


def random_partition(obs: Observations, n_parts: int, *, rng: Any = None) -> list[Observations]:
    """Partition the entries uniformly at random into ``n_parts`` disjoint sets of (nearly) equal size.

    This is the sample splitting of JNS13's analysis (a fresh part per half-step).

    Examples
    --------
    >>> import numpy as np
    >>> obs = Observations(np.arange(9), np.zeros(9, dtype=int), np.ones(9), shape=(9, 1))
    >>> [part.nnz for part in random_partition(obs, 3, rng=0)]
    [3, 3, 3]
    """
    if not isinstance(obs, Observations):
        raise TypeError(f"obs must be Observations, got {type(obs).__name__}")
    n_parts = check_int(n_parts, "n_parts", low=1, high=obs.nnz, high_label="nnz")
    gen = backend.as_generator(rng)
    labels = gen.permutation(obs.nnz) % n_parts
    return [obs.select(np.flatnonzero(labels == i)) for i in range(n_parts)]
