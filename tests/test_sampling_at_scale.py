"""Issue 9 (set-up at scale): large samples are drawn row by row, exactly uniform, and the
threaded column view equals the serial one.

Speed is measured in ``benchmarks/bench_completion.py``; tests never assert wall-clock times.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, to_xp
from scipy import stats

from lowrank_lab import linalg
from lowrank_lab.completion import observations as obs_module
from lowrank_lab.completion import sample_entries
from lowrank_lab.linalg import _jit
from lowrank_lab.linalg import _segment


def _reference_first_distinct(cand, off, k):
    """The definition, one segment at a time in Python."""
    out, short = [], []
    for i in range(len(k)):
        chosen = []
        for c in cand[off[i]:off[i + 1]]:
            if len(chosen) == k[i]:
                break
            if c not in chosen:
                chosen.append(int(c))
        short.append(int(k[i]) - len(chosen))
        out.append(sorted(chosen) + [0] * (int(k[i]) - len(chosen)))
    return np.array([v for seg in out for v in seg], dtype=np.int64), np.array(short)


def _segments(rng, n_values, n_segments=40, max_draws=300):
    lengths = rng.integers(0, max_draws, n_segments)
    lengths[:4] = [0, 1, 2, 3]  # these come up short
    off = np.concatenate(([0], np.cumsum(lengths)))
    cand = rng.integers(0, n_values, int(off[-1]))
    k = np.minimum(rng.integers(0, max_draws, n_segments), n_values)
    k[:4] = min(4, n_values)
    return cand, off, k


@pytest.mark.parametrize("n_values", [5, 300, 70_000])  # radix: one, two and three 8-bit digits
def test_first_distinct_is_the_first_k_distinct_draws_sorted_on_every_path(xp, rng, monkeypatch, n_values):
    cand, off, k = _segments(rng, n_values)
    want, want_short = _reference_first_distinct(cand, off, k)
    assert want_short.any() and (want_short == 0).any()
    for numba in ("1", "0"):
        monkeypatch.setenv("LOWRANK_NUMBA", numba)
        got, short = linalg.first_distinct(*(to_xp(xp, a) for a in (cand, off, k)), n_values)
        assert isinstance(got, np.ndarray)
        np.testing.assert_array_equal(short, want_short)
        np.testing.assert_array_equal(got, want)


@pytest.mark.skipif(not _jit.numba_enabled(), reason="Numba not installed")
def test_threaded_first_distinct_and_column_order_equal_the_serial_kernels(rng, monkeypatch):
    cand, off, k = _segments(rng, 1000, n_segments=400)
    serial = linalg.first_distinct(cand, off, k, 1000)
    rows = np.sort(rng.integers(0, 500, 40_000))
    cols = rng.integers(0, 300, 40_000)
    vals = rng.standard_normal(40_000)
    serial_order = linalg.column_order(rows, cols, vals, 300)
    monkeypatch.setattr(_segment, "_SCATTER_MIN", 1)
    monkeypatch.setattr(_segment, "_scatter_threads", lambda n, n_cols: min(3, n_cols))
    threaded = linalg.first_distinct(cand, off, k, 1000)
    for a, b in zip(serial, threaded):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(serial_order, linalg.column_order(rows, cols, vals, 300)):
        np.testing.assert_array_equal(a, b)


def test_first_distinct_refuses_bad_layouts():
    with pytest.raises(ValueError, match="offsets"):
        linalg.first_distinct(np.array([0, 1]), np.array([0, 1]), np.array([1, 1]), 2)
    with pytest.raises(ValueError, match="n_values"):
        linalg.first_distinct(np.array([0, 5]), np.array([0, 2]), np.array([1]), 2)
    with pytest.raises(ValueError, match="non-decreasing"):
        linalg.first_distinct(np.array([0, 1]), np.array([0, 2, 2]), np.array([-1, 1]), 2)


@pytest.fixture
def rowwise(monkeypatch):
    """Every sample of at least 2 entries is drawn row by row."""
    monkeypatch.setattr(obs_module, "_ROWWISE_MIN", 2)


def test_rowwise_samples_are_distinct_sorted_and_observe_the_truth(xp, rng, rowwise):
    M = rng.standard_normal((30, 40))
    obs = sample_entries(to_xp(xp, M), n_observed=250, rng=3)
    rows, cols = np.asarray(obs.rows), np.asarray(obs.cols)
    linear = rows * 40 + cols
    assert obs.nnz == 250 and np.all(np.diff(linear) > 0)  # row-sorted, distinct
    assert_close(obs.values, M[rows, cols], xp=xp)
    F, G = rng.standard_normal((30, 3)), rng.standard_normal((40, 3))
    by_factors = sample_entries((to_xp(xp, F), to_xp(xp, G)), n_observed=250, rng=3)
    np.testing.assert_array_equal(np.asarray(by_factors.rows), rows)  # same positions, values from the factors
    assert_close(by_factors.values, (F @ G.T)[rows, cols], rtol=1e-12, xp=xp)


@pytest.mark.parametrize("starved", [False, True])
def test_rowwise_samples_are_uniform_subsets(rng, monkeypatch, rowwise, starved):
    """Every cell has probability count / (m n); row counts are hypergeometric.  ``starved``
    draws no spare candidates, so rows come up short and take the top-up path."""
    if starved:
        monkeypatch.setattr(obs_module, "_draws_for_distinct", lambda k, n: k.astype(np.int64))
    m, n, count, trials = 4, 6, 9, 4000
    hits = np.zeros(m * n)
    row_counts = np.zeros((trials, m))
    for seed in range(trials):
        obs = sample_entries(np.ones((m, n)), n_observed=count, rng=seed)
        rows, cols = np.asarray(obs.rows), np.asarray(obs.cols)
        assert obs.nnz == count and np.unique(rows * n + cols).size == count
        hits[rows * n + cols] += 1
        row_counts[seed] = np.bincount(rows, minlength=m)
    assert stats.chisquare(hits).pvalue > 1e-3  # each cell: count / (m n) of the trials
    # the first row's count against its hypergeometric law
    law = stats.hypergeom(m * n, n, count)
    observed = np.bincount(row_counts[:, 0].astype(int), minlength=n + 1)[: n + 1]
    expected = trials * law.pmf(np.arange(n + 1))
    keep = expected > 5
    assert stats.chisquare(observed[keep], expected[keep] * observed[keep].sum() / expected[keep].sum()).pvalue > 1e-3


def test_small_samples_keep_their_seeded_draw(rng):
    """Below the threshold the seeded sample is the linear-index draw of every earlier release."""
    M = rng.standard_normal((20, 30))
    obs = sample_entries(M, n_observed=100, rng=7)
    gen = np.random.default_rng(7)
    want = obs_module._uniform_positions(600, 100, gen)
    np.testing.assert_array_equal(np.asarray(obs.rows) * 30 + np.asarray(obs.cols), want)
