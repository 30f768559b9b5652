"""Observations, sampling and splits (lowrank_lab.completion.observations)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import assert_close, to_xp

from lowrank_lab import backend
from lowrank_lab.completion import Observations, random_partition, sample_entries, train_test_split
from lowrank_lab.matrices import coherent_low_rank_matrix, incoherence, low_rank_matrix


def _host(x):
    return backend.to_numpy(x)


def _random_entries(rng, m, n, count):
    lin = rng.choice(m * n, size=count, replace=False)
    return lin // n, lin % n, rng.standard_normal(count)


def test_entries_are_row_sorted_with_offsets_and_a_stable_column_order(xp, rng):
    m, n = 7, 5
    rows, cols, vals = _random_entries(rng, m, n, 20)
    obs = Observations(to_xp(xp, rows), to_xp(xp, cols), to_xp(xp, vals), (m, n))
    order = np.lexsort((cols, rows))
    assert_close(obs.rows, rows[order].astype(float), check_dtype=False)
    assert_close(obs.cols, cols[order].astype(float), check_dtype=False)
    assert_close(obs.values, vals[order], xp=xp)
    assert _host(obs.row_offsets).tolist() == np.searchsorted(rows[order], np.arange(m + 1)).tolist()
    # column order: sorted by column, rows ascending inside a column
    c_order = np.lexsort((rows, cols))
    assert _host(obs.col_rows).tolist() == rows[c_order].tolist()
    assert _host(obs.col_cols).tolist() == cols[c_order].tolist()
    assert_close(obs.col_values, vals[c_order], xp=xp)
    assert_close(xp.take(obs.values, obs.col_order), vals[c_order], xp=xp)
    assert _host(obs.col_offsets).tolist() == np.searchsorted(cols[c_order], np.arange(n + 1)).tolist()
    assert obs.nnz == len(obs) == 20 and obs.shape == (m, n)
    assert obs.density == pytest.approx(20 / 35)
    assert _host(obs.row_counts).sum() == 20 and _host(obs.col_counts).sum() == 20


def test_empty_rows_and_columns_are_legal(xp):
    obs = Observations(to_xp(xp, [0, 2]), to_xp(xp, [0, 3]), to_xp(xp, [1.0, 2.0]), (4, 5))
    assert _host(obs.row_counts).tolist() == [1, 0, 1, 0]
    assert _host(obs.col_counts).tolist() == [1, 0, 0, 1, 0]


def test_from_dataframe_and_back(xp):
    df = pd.DataFrame({"user": [2, 0, 1], "item": [0, 1, 1], "rating": [3.0, 4.5, 1.0]})
    obs = Observations.from_dataframe(df, row="user", col="item", value="rating", xp=xp)
    assert obs.shape == (3, 2)
    assert backend.backend_name(obs.xp) == backend.backend_name(xp)
    back = obs.to_dataframe()
    assert back["row"].tolist() == [0, 1, 2] and back["value"].tolist() == [4.5, 1.0, 3.0]
    again = Observations.from_dataframe(back, shape=(4, 3), xp=xp)
    assert again.shape == (4, 3) and again.nnz == 3


@pytest.mark.parametrize(
    ("rows", "cols", "vals", "shape", "err", "match"),
    [
        ([0, 5], [0, 1], [1.0, 2.0], (5, 2), ValueError, r"rows must be in \[0, m=5\), got 5"),
        ([0, 1], [0, -1], [1.0, 2.0], (5, 2), ValueError, r"cols must be in \[0, n=2\), got -1"),
        ([0, 1], [0, 1], [1.0, np.nan], (5, 2), ValueError, r"values must be finite.*\(1, 1\)"),
        ([0, 1], [0, 1], [np.inf, 1.0], (5, 2), ValueError, "values must be finite"),
        ([1, 1], [0, 0], [1.0, 2.0], (5, 2), ValueError, r"duplicate entries.*\(1, 0\)"),
        ([0, 1], [0], [1.0, 2.0], (5, 2), ValueError, "same length"),
        ([0], [0], [1.0], (0, 2), ValueError, "shape"),
        ([0], [0], [1.0], (3,), ValueError, "shape"),
    ],
)
def test_invalid_entries_are_refused_with_the_problem_named(xp, rows, cols, vals, shape, err, match):
    with pytest.raises(err, match=match):
        Observations(to_xp(xp, np.asarray(rows, dtype=np.int64)), to_xp(xp, np.asarray(cols, dtype=np.int64)),
                     to_xp(xp, vals), shape)


def test_index_type_errors_name_the_argument(xp):
    with pytest.raises(TypeError, match="rows must be an integer array"):
        Observations(to_xp(xp, [0.0, 1.0]), to_xp(xp, np.array([0, 1])), to_xp(xp, [1.0, 2.0]), (2, 2))
    with pytest.raises(ValueError, match="cols must be 1-D"):
        Observations(to_xp(xp, np.array([0, 1])), to_xp(xp, np.zeros((2, 1), dtype=np.int64)),
                     to_xp(xp, [1.0, 2.0]), (2, 2))
    with pytest.raises(ValueError, match="duplicates must be one of"):
        Observations([0], [0], to_xp(xp, [1.0]), (1, 1), duplicates="max")
    with pytest.raises(TypeError, match="row column 'r' must hold integer codes"):
        Observations.from_dataframe(pd.DataFrame({"r": [0.5], "c": [0], "v": [1.0]}), row="r", col="c", value="v")
    with pytest.raises(KeyError, match="value column 'v'"):
        Observations.from_dataframe(pd.DataFrame({"row": [0], "col": [0]}), value="v")


@pytest.mark.parametrize(("how", "expected"), [("mean", [2.0, 5.0]), ("sum", [4.0, 5.0]), ("last", [3.0, 5.0])])
def test_duplicates_can_be_merged(xp, how, expected):
    obs = Observations(to_xp(xp, np.array([1, 0, 0])), to_xp(xp, np.array([1, 2, 2])),
                       to_xp(xp, [5.0, 1.0, 3.0]), (2, 3), duplicates=how)
    assert obs.nnz == 2
    assert_close(obs.values, np.array(expected), xp=xp)


def test_bernoulli_sampling_matches_the_law_and_the_truth(xp):
    truth = low_rank_matrix(60, 50, 3, rng=0, xp=xp)
    p = 0.3
    counts = [sample_entries(truth, p=p, rng=s).nnz for s in range(20)]
    mean, sd = np.mean(counts), np.sqrt(3000 * p * (1 - p))
    assert abs(mean - 3000 * p) < 4 * sd / np.sqrt(20)
    assert np.std(counts) == pytest.approx(sd, rel=0.5)
    obs = sample_entries(truth, p=p, rng=1)
    dense = _host(truth.matrix)
    assert_close(obs.values, dense[_host(obs.rows), _host(obs.cols)], xp=xp)
    lin = _host(obs.rows) * 50 + _host(obs.cols)
    assert np.all(np.diff(lin) > 0)  # sorted and distinct
    # uniform over rows: row counts are not far from their mean
    assert _host(obs.row_counts).max() < 3 * p * 50


def test_fixed_count_sampling_factors_and_seeds(xp):
    truth = low_rank_matrix(40, 30, 2, rng=0, xp=xp)
    a = sample_entries(truth, n_observed=123, rng=7)
    b = sample_entries(truth.balanced_factors(), n_observed=123, rng=7)
    assert a.nnz == b.nnz == 123
    assert _host(a.rows).tolist() == _host(b.rows).tolist()
    assert_close(b.values, _host(a.values), rtol=1e-12, atol=1e-15, xp=xp)
    # same seed, same sample on every backend
    ref = sample_entries(low_rank_matrix(40, 30, 2, rng=0), n_observed=123, rng=7)
    assert _host(ref.cols).tolist() == _host(a.cols).tolist()
    assert_close(a.values, _host(ref.values), rtol=1e-12, xp=xp)
    full = sample_entries(truth, n_observed=1200, rng=0)
    assert full.nnz == 1200 and full.density == 1.0


def test_sampling_noise_and_errors(xp):
    truth = low_rank_matrix(30, 20, 2, rng=0, xp=xp)
    clean = sample_entries(truth, n_observed=200, rng=3)
    noisy = sample_entries(truth, n_observed=200, noise=0.1, rng=3)
    diff = _host(noisy.values) - _host(clean.values)
    assert 0.07 < diff.std() < 0.13
    with pytest.raises(ValueError, match="exactly one of p"):
        sample_entries(truth, p=0.5, n_observed=10)
    with pytest.raises(ValueError, match="exactly one of p"):
        sample_entries(truth)
    with pytest.raises(ValueError, match="p must be"):
        sample_entries(truth, p=0.0)
    with pytest.raises(ValueError, match="n_observed must be"):
        sample_entries(truth, n_observed=601)
    with pytest.raises(ValueError, match="noise must be"):
        sample_entries(truth, p=0.5, noise=-1.0)
    with pytest.raises(ValueError, match="truth"):
        sample_entries(to_xp(xp, np.ones(3)), p=0.5)


def test_train_test_split_is_a_seeded_partition(xp, rng):
    rows, cols, vals = _random_entries(rng, 20, 15, 100)
    obs = Observations(to_xp(xp, rows), to_xp(xp, cols), to_xp(xp, vals), (20, 15))
    train, test = train_test_split(obs, test_fraction=0.2, rng=0)
    assert (train.nnz, test.nnz) == (80, 20) and train.shape == test.shape == obs.shape
    keys = lambda o: set(zip(_host(o.rows).tolist(), _host(o.cols).tolist()))  # noqa: E731
    assert keys(train).isdisjoint(keys(test)) and keys(train) | keys(test) == keys(obs)
    again, _ = train_test_split(obs, test_fraction=0.2, rng=0)
    assert keys(again) == keys(train)
    other, _ = train_test_split(obs, test_fraction=0.2, rng=1)
    assert keys(other) != keys(train)
    with pytest.raises(ValueError, match="test_fraction"):
        train_test_split(obs, test_fraction=1.0)
    with pytest.raises(TypeError, match="obs must be Observations"):
        train_test_split(np.ones(3))
    parts = random_partition(obs, 3, rng=0)
    assert sum(p.nnz for p in parts) == 100
    assert set().union(*(keys(p) for p in parts)) == keys(obs)
    with pytest.raises(ValueError, match="n_parts"):
        random_partition(obs, 0)


def test_derived_observations(xp):
    obs = Observations(to_xp(xp, np.array([0, 1, 1])), to_xp(xp, np.array([2, 0, 2])),
                       to_xp(xp, [1.0, 2.0, 3.0]), (2, 3))
    shifted = obs.with_values(obs.values + 1.0)
    assert_close(shifted.values, np.array([2.0, 3.0, 4.0]), xp=xp)
    assert_close(shifted.col_values, np.array([3.0, 2.0, 4.0]), xp=xp)
    with pytest.raises(ValueError, match="values must have length nnz=3"):
        obs.with_values(to_xp(xp, [1.0]))
    sub = obs.select(np.array([True, False, True]))
    assert_close(sub.values, np.array([1.0, 3.0]), xp=xp)
    with pytest.raises(ValueError, match="index must be in"):
        obs.select(np.array([5]))
    t = obs.transpose()
    assert t.shape == (3, 2)
    assert _host(t.rows).tolist() == [0, 2, 2] and _host(t.cols).tolist() == [1, 0, 1]
    moved = obs.to_namespace(backend.get_namespace("numpy"))
    assert isinstance(moved.values, np.ndarray) and moved.nnz == 3
    assert "nnz=3" in repr(obs)


def test_incoherence_and_coherent_truths(xp):
    flat = coherent_low_rank_matrix(300, 100, 3, exponent=0.0, rng=0, xp=xp)
    mild = coherent_low_rank_matrix(300, 100, 3, exponent=0.5, rng=0, xp=xp)
    heavy = coherent_low_rank_matrix(300, 100, 3, exponent=1.5, rng=0, xp=xp)
    mus = [incoherence(t.left) for t in (flat, mild, heavy)]
    assert 1.0 <= mus[0] < mus[1] < mus[2] <= 100.0
    assert mus[0] < 6 and mus[2] > 30
    assert incoherence(flat.right) < 6  # only the left side is made coherent
    assert backend.backend_name(backend.array_namespace(heavy.matrix)) == backend.backend_name(xp)
    assert_close(xp.linalg.matrix_norm(heavy.matrix, ord=2), 1.0, rtol=1e-10)
    with pytest.raises(ValueError, match="exponent"):
        coherent_low_rank_matrix(10, 10, 2, exponent=-1.0)
