"""Issue 9 (hardening): bad input gets a clear error naming the argument, never a silently wrong result.

Each test fails on the code before the issue and passes after it.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, to_xp

from lowrank_lab import _validation, linalg


# --------------------------------------------------------------------------- #
# segment_sum: its promises are checked
# --------------------------------------------------------------------------- #
def test_segment_sum_refuses_unsorted_ids_promised_sorted(xp):
    vals = to_xp(xp, np.arange(4.0))
    ids = to_xp(xp, np.array([1, 0, 1, 0]))
    with pytest.raises(ValueError, match=r"segment_ids must be non-decreasing with sorted=True, got 1 before 0"):
        linalg.segment_sum(vals, ids, 2, sorted=True)
    assert_close(linalg.segment_sum(vals, ids, 2, sorted=False), np.array([4.0, 2.0]), xp=xp)


@pytest.mark.parametrize("bad", [-1, 5])
@pytest.mark.parametrize("is_sorted", [False, True])
def test_segment_sum_names_an_out_of_range_id(xp, bad, is_sorted):
    ids = np.array([0, 1, bad]) if bad > 0 else np.array([bad, 0, 1])
    with pytest.raises(ValueError, match=rf"segment_ids must be in \[0, n_segments=2\), got {bad}"):
        linalg.segment_sum(to_xp(xp, np.ones((3, 4))), to_xp(xp, ids), 2, sorted=is_sorted)


def test_segment_sum_refuses_float_ids_and_mixed_namespaces():
    with pytest.raises(TypeError, match="segment_ids must be an integer array"):
        linalg.segment_sum(np.ones(2), np.array([0.0, 1.0]), 2)
    strict = pytest.importorskip("array_api_strict")
    with pytest.raises(TypeError, match="values, segment_ids must be arrays of one namespace"):
        linalg.segment_sum(np.ones(2), strict.asarray([0, 1]), 2)


# --------------------------------------------------------------------------- #
# the shared memory check
# --------------------------------------------------------------------------- #
def test_memory_limit_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("LOWRANK_MEMORY_LIMIT", "1MiB")
    assert _validation.memory_limit() == 2**20
    with pytest.raises(_validation.MemoryLimitError, match=r"shape: a thing would take 2 MiB, more than the memory "
                                                          r"limit of 1 MiB \(LOWRANK_MEMORY_LIMIT\)"):
        _validation.check_memory(2 * 2**20, "shape", "a thing")
    monkeypatch.setenv("LOWRANK_MEMORY_LIMIT", "none")
    _validation.check_memory(2**60, "shape", "a thing")
    monkeypatch.setenv("LOWRANK_MEMORY_LIMIT", "lots")
    with pytest.raises(ValueError, match="LOWRANK_MEMORY_LIMIT must be a positive number of bytes"):
        _validation.memory_limit()
    monkeypatch.delenv("LOWRANK_MEMORY_LIMIT")
    total = _validation.physical_memory()
    assert _validation.memory_limit() == (total // 2 if total else 8 * 2**30)
    assert issubclass(_validation.MemoryLimitError, ValueError) and issubclass(_validation.MemoryLimitError, MemoryError)


# --------------------------------------------------------------------------- #
# completion: indices, factors, namespaces, memory
# --------------------------------------------------------------------------- #
def test_observations_refuse_fractional_indices_given_as_lists():
    from lowrank_lab.completion import Observations

    with pytest.raises(TypeError, match=r"rows must be an integer array, got dtype float64 \(e.g. 0.9\)"):
        Observations([0.9, 1.7], [0, 0], [1.0, 2.0], shape=(2, 2))
    with pytest.raises(TypeError, match="cols must be an integer array"):
        Observations([0, 1], [0, 1.5], [1.0, 2.0], shape=(2, 2))
    obs = Observations([1, 0], (0, 1), [1.0, 2.0], shape=(2, 2))  # integer lists and tuples still work
    assert obs.rows.tolist() == [0, 1] and obs.cols.tolist() == [1, 0]


def test_predict_refuses_fractional_indices_and_mismatched_factors(xp):
    from lowrank_lab.completion import predict

    F, G = to_xp(xp, np.ones((3, 2))), to_xp(xp, np.ones((4, 2)))
    with pytest.raises(TypeError, match="rows must be an integer array"):
        predict((F, G), [0.9, 1.7], [0, 0])
    assert_close(predict((F, G), [2, 0], [3, 1]), np.array([2.0, 2.0]), xp=xp)
    with pytest.raises(ValueError, match=r"result factors must have the same rank \(columns\), got F \(3, 2\) "
                                         r"and G \(4, 3\)"):
        predict((F, to_xp(xp, np.ones((4, 3)))), [0], [0])


def test_rmse_names_arrays_from_two_backends():
    strict = pytest.importorskip("array_api_strict")
    from lowrank_lab import backend
    from lowrank_lab.completion import Observations, mae, rmse

    obs = Observations([0, 1], [0, 0], [1.0, 0.0], shape=(2, 1))
    F = backend.asarray(np.ones((2, 1)), xp=strict)
    G = backend.asarray(np.ones((1, 1)), xp=strict)
    for metric in (rmse, mae):
        with pytest.raises(TypeError, match="result and obs must live in one namespace, got result on "
                                            "array_api_strict and obs on numpy"):
            metric((F, G), obs)
        with pytest.raises(TypeError, match="result F, result G must be arrays of one namespace"):
            metric((np.ones((2, 1)), F), obs)


def test_observations_refuse_shapes_beyond_the_memory_limit(monkeypatch):
    from lowrank_lab.completion import Observations, sample_entries

    monkeypatch.setenv("LOWRANK_MEMORY_LIMIT", "64MiB")
    with pytest.raises(MemoryError, match=r"shape: the row and column offsets of a 1000000000 x 1000000000 matrix "
                                          r"and the sorted copies of its 3 entries would take 14.9 GiB, more than "
                                          r"the memory limit of 64 MiB"):
        Observations([0, 1, 2], [0, 1, 2], [1.0, 2.0, 3.0], shape=(10**9, 10**9))
    monkeypatch.setenv("LOWRANK_MEMORY_LIMIT", "1MiB")
    with pytest.raises(ValueError, match="shape: the row and column offsets of a 200000 x 10 matrix"):
        sample_entries((np.ones((200_000, 1)), np.ones((10, 1))), n_observed=3, rng=0)
    with pytest.raises(ValueError, match=r"shape must have m \* n < 2\^63"):
        Observations([0], [0], [1.0], shape=(2**32, 2**32))
    assert Observations([0], [0], [1.0], shape=(1000, 1000)).nnz == 1


def test_altmin_names_a_negative_seed():
    from lowrank_lab.completion import altmin, sample_entries
    from lowrank_lab.matrices import low_rank_matrix

    obs = sample_entries(low_rank_matrix(10, 8, 2, rng=0), p=0.6, rng=1)
    with pytest.raises(ValueError, match="rng seed must be a non-negative integer, got -1"):
        altmin(obs, 2, rng=-1)
    with pytest.raises(TypeError, match="rng must be None, an int seed"):
        altmin(obs, 2, rng=True)


def test_evaluate_checks_the_test_set_and_clip_is_ordered():
    from lowrank_lab.completion import Observations, evaluate, fit_ratings_model

    train = Observations([0, 0, 1, 2, 3], [0, 1, 1, 2, 0], [5.0, 3.0, 4.0, 1.0, 2.0], shape=(4, 3))
    model = fit_ratings_model(train, solver=None)
    small = Observations([0, 1], [0, 2], [4.0, 1.0], shape=(3, 3))
    with pytest.raises(ValueError, match=r"test must have the shape of the model's training matrix \(4, 3\), "
                                         r"got \(3, 3\)"):
        evaluate(model, small)
    with pytest.raises(ValueError, match=r"clip must be \(low, high\) with low < high, got \(5.0, 0.5\)"):
        fit_ratings_model(train, solver=None, clip=(5.0, 0.5))
    with pytest.raises(TypeError, match="clip must be a pair"):
        fit_ratings_model(train, solver=None, clip=5.0)
    ok = evaluate(fit_ratings_model(train, solver=None, clip=(0.5, 5.0)), train)
    assert ok["n"] == 5 and 0 < ok["rmse"] < 2


# --------------------------------------------------------------------------- #
# tolerances follow the dtype
# --------------------------------------------------------------------------- #
def test_float32_psd_truth_is_psd_and_solved_symmetrically():
    from lowrank_lab.sensing import SOLVERS, gaussian_sensing

    F = np.random.default_rng(0).standard_normal((10, 2)).astype(np.float32)
    M = F @ F.T
    M = (M + M.T) / 2  # exactly symmetric, rank 2: eight eigenvalues are float32 round-off (~1e-7)
    assert np.linalg.eigvalsh(M).min() < -1e-12 * np.abs(np.linalg.eigvalsh(M)).max()
    problem = gaussian_sensing(M, 200, rng=1)
    assert problem.psd and problem.symmetric
    result = SOLVERS["factored_gd"](problem, 2, rng=0, max_iter=5)
    assert result.params["parameterization"] == "symmetric" and result.factors[0].dtype == np.float32


def test_solvers_and_dense_builders_refuse_oversized_requests(monkeypatch):
    from lowrank_lab.completion import SOLVERS, Observations
    from lowrank_lab.matrices import coherent_low_rank_matrix, low_rank_matrix

    monkeypatch.setenv("LOWRANK_MEMORY_LIMIT", "64MiB")
    obs = Observations([0, 1, 2], [0, 1, 2], [1.0, 2.0, 3.0], shape=(10**6, 10**6))  # 16 MB of offsets
    for name, solver in SOLVERS.items():
        with pytest.raises(MemoryError, match=r"rank: the factors and work arrays of a rank-10 model of a "
                                              r"1000000 x 1000000 matrix would take 1.79 GiB, more than the memory "
                                              r"limit of 64 MiB"):
            solver(obs, 10, **({"reg": 1.0} if name == "soft_impute" else {}))
    for builder in (low_rank_matrix, coherent_low_rank_matrix):
        with pytest.raises(ValueError, match=r"m, n: a dense 100000 x 100000 matrix \(float64\) and its rank-2 "
                                             r"factors would take 74.5 GiB"):
            builder(100_000, 100_000, 2, rng=0)
    assert low_rank_matrix(100, 100, 2, rng=0).shape == (100, 100)


# --------------------------------------------------------------------------- #
# Marchenko-Pastur fits do not count round-off as signal
# --------------------------------------------------------------------------- #
def test_marchenko_pastur_fit_of_a_rank_deficient_matrix_reports_its_rank_and_no_bulk():
    from threadpoolctl import threadpool_limits

    from lowrank_lab import spectral
    from lowrank_lab.matrices import low_rank_matrix

    W = np.asarray(low_rank_matrix(300, 150, 5, rng=1).matrix)
    fits = []
    for threads in (1, 2):
        with threadpool_limits(threads):
            fits.append(spectral.fit_marchenko_pastur(W))
    for fit in fits:
        assert fit.n_spikes == 5 and fit.numerical_rank == 5 and fit.method == "rank-deficient"
        assert fit.variance == 0.0 and fit.lambda_plus == 0.0
    np.testing.assert_allclose(fits[0].spikes, np.linalg.svd(W, compute_uv=False)[:5] ** 2 / 300, rtol=1e-10)
    # given eigenvalues: exact zeros are round-off too; a noisy low-rank matrix keeps its MP bulk
    assert spectral.fit_marchenko_pastur(np.r_[np.zeros(50), 1.0, 2.0], aspect_ratio=2.0).n_spikes == 2
    noisy = W + 0.01 * np.random.default_rng(0).standard_normal(W.shape)
    fit = spectral.fit_marchenko_pastur(noisy)
    assert fit.method == "trimmed-quantile" and fit.numerical_rank == 150 and fit.n_spikes == 5
    assert fit.variance == pytest.approx(1e-4, rel=0.05)
