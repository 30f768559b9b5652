"""MovieLens ml-latest-small (lowrank_lab.datasets) and the explicit-rating model (lowrank_lab.completion.ratings)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from helpers import assert_close, to_xp

from lowrank_lab import backend, datasets
from lowrank_lab.completion import trials
from lowrank_lab.completion import Observations, movielens_observations, ratings


@pytest.fixture(scope="module")
def movielens():
    return datasets.movielens_small()


def _host(x):
    return backend.to_numpy(x)


def test_shipped_files_match_their_recorded_hashes():
    hashes = datasets.verify_checksums()
    assert set(hashes) == {"README.txt", "movies.csv", "ratings.csv"}
    assert hashes["ratings.csv"] == "80da8b3393dae325bbba5a31f291a6ba55d8d4f4396de3c456f2c1635b1b70e8"


def test_a_changed_file_is_detected(tmp_path):
    src = datasets.paths.data_dir() / datasets.MOVIELENS_DIR
    shutil.copytree(src, tmp_path / "ml")
    with (tmp_path / "ml" / "ratings.csv").open("a") as fh:
        fh.write("1,1,5.0,0\n")
    with pytest.raises(datasets.ChecksumError, match="ratings.csv has SHA-256"):
        datasets.movielens_small(directory=tmp_path / "ml")
    (tmp_path / "ml" / "SHA256SUMS").unlink()
    with pytest.raises(FileNotFoundError, match="SHA256SUMS"):
        datasets.verify_checksums(tmp_path / "ml")


def test_movielens_matches_its_documented_statistics(movielens):
    obs = movielens_observations(movielens)
    assert obs.shape == (610, 9724) and obs.nnz == 100836
    vals = _host(obs.values)
    assert vals.min() == 0.5 and vals.max() == 5.0 and abs(vals.mean() - 3.5016) < 1e-3
    assert set(np.unique(vals * 2)) <= set(range(1, 11))  # half stars
    users = _host(obs.row_counts)
    items = _host(obs.col_counts)
    assert users.min() == 20 and np.median(users) == 70.5
    assert (items == 1).sum() == 3446 and (items >= 10).sum() == 2269
    assert obs.density == pytest.approx(0.0170, abs=1e-4)
    # id maps: row u is user user_ids[u], column i is movie item_ids[i]
    frame = movielens.frame
    first = frame.iloc[0]
    assert movielens.user_ids[int(first["row"])] == first["userId"]
    assert movielens.item_ids[int(first["col"])] == first["movieId"]
    assert len(movielens.movies) == 9742
    assert "users=610" in repr(movielens)


def test_the_documented_split_is_seeded_and_80_20(movielens):
    train, test = ratings.movielens_split(movielens, seed=0)
    assert (train.nnz, test.nnz) == (80669, 20167)
    again, _ = ratings.movielens_split(movielens_observations(movielens), seed=0)
    assert np.array_equal(_host(again.rows), _host(train.rows)) and np.array_equal(_host(again.cols), _host(train.cols))
    other, _ = ratings.movielens_split(movielens, seed=1)
    assert not np.array_equal(_host(other.cols), _host(train.cols))
    unseen = (_host(train.col_counts)[_host(test.cols)] == 0).sum()
    assert unseen > 100  # some test movies have no training rating


def test_biases_solve_the_ridge_problem(xp, rng):
    m, n = 6, 5
    lin = rng.choice(m * n, size=20, replace=False)
    rows, cols = lin // n, lin % n
    vals = rng.integers(1, 11, size=20) / 2.0
    obs = Observations(to_xp(xp, rows), to_xp(xp, cols), to_xp(xp, vals), (m, n))
    model = ratings.fit_biases(obs, reg_user=2.0, reg_item=3.0, n_iter=500)
    # reference: the joint ridge problem (block coordinate descent converges to it)
    mu = vals.mean()
    X = np.zeros((20, m + n))
    X[np.arange(20), rows] = 1.0
    X[np.arange(20), m + cols] = 1.0
    D = np.diag([2.0] * m + [3.0] * n)
    beta = np.linalg.solve(X.T @ X + D, X.T @ (vals - mu))
    assert model.global_mean == pytest.approx(mu)
    assert_close(model.user_bias, beta[:m], rtol=1e-8, atol=1e-10, xp=xp)
    assert_close(model.item_bias, beta[m:], rtol=1e-8, atol=1e-10, xp=xp)
    with pytest.raises(ValueError, match="reg_user"):
        ratings.fit_biases(obs, reg_user=-1.0)
    with pytest.raises(TypeError, match="train must be Observations"):
        ratings.fit_biases(vals)


def _subsample(movielens, xp):
    """Users with id <= 150: ~22k ratings, an end-to-end problem small enough for array_api_strict."""
    frame = movielens.frame
    sub = frame[frame["userId"] <= 150]
    cols = np.searchsorted(np.unique(sub["col"]), sub["col"])
    obs = Observations(to_xp(xp, sub["row"].to_numpy()), to_xp(xp, cols), to_xp(xp, sub["rating"].to_numpy()),
                       (int(sub["row"].max()) + 1, int(cols.max()) + 1))
    return ratings.movielens_split(obs, seed=0)


def test_movielens_end_to_end_on_a_subsample_beats_biases(movielens, xp):
    train, test = _subsample(movielens, xp)
    mean_only = float(xp.sqrt(xp.mean((test.values - xp.mean(train.values)) ** 2)))
    bias = ratings.evaluate(ratings.fit_ratings_model(train, solver=None), test)
    als = ratings.fit_ratings_model(train, solver="altmin", rank=5, reg=10.0, orthonormalize=False, max_iter=15,
                                     rng=0, test=test)
    low_rank = ratings.evaluate(als, test)
    assert low_rank["rmse"] < bias["rmse"] < mean_only
    assert low_rank["mae"] < bias["mae"]
    assert 0.5 < low_rank["mae"] < low_rank["rmse"] < 1.0
    assert "test_rmse" in als.result.history
    # movies without training ratings get exactly the bias prediction
    unseen = _host(train.col_counts)[_host(test.cols)] == 0
    assert unseen.any()
    idx = np.flatnonzero(unseen)
    r, c = xp.take(test.rows, to_xp(xp, idx)), xp.take(test.cols, to_xp(xp, idx))
    expected = xp.clip(als.bias.predict(r, c), min=0.5, max=5.0)
    assert_close(als.predict(r, c), _host(expected), rtol=1e-12, xp=xp)
    assert_close(als.bias.item_bias[int(c[0])], 0.0)
    soft = ratings.fit_ratings_model(train, solver="soft_impute", rank=5, reg=15.0, max_iter=20, rng=0)
    assert ratings.evaluate(soft, test)["rmse"] < bias["rmse"]
    with pytest.raises(ValueError, match="solver must be one of"):
        ratings.fit_ratings_model(train, solver="nmf")


def test_movielens_trial_on_a_subsample():
    bias = trials.movielens_trial(solver="bias", rank=1, seed=0, subsample=0.3)
    als = trials.movielens_trial(solver="altmin", rank=2, reg=10.0, orthonormalize=False, seed=0, subsample=0.3,
                                 max_iter=5)
    assert als["n_train"] == bias["n_train"] < 30000
    assert als["rmse"] < bias["rmse"] < 1.1
    with pytest.raises(ValueError, match="solver must be one of"):
        trials.movielens_trial(solver="nmf", rank=2, reg=1.0, seed=0)
    with pytest.raises(TypeError, match="reg"):
        trials.movielens_trial(solver="svp", rank=2, reg=1.0, seed=0)
    with pytest.raises(TypeError, match="bias-only"):
        trials.movielens_trial(solver="bias", rank=1, reg=1.0, seed=0)


def test_movielens_trial_streams_are_not_the_split_stream():
    """The split is seeded by the seed; the solver's stream is an independent child stream."""
    import numpy as np

    from lowrank_lab import backend

    streams = backend.trial_streams(0, "subsample", "holdout", "solver")
    split_gen = np.random.default_rng(0)
    assert streams.solver.random() != split_gen.random()
