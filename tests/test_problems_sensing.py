"""Sensing problems: operator algebra, conventions, noise/outliers, memory limit, backends."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, to_xp

from lowrank_lab import backend
from lowrank_lab.matrices import low_rank_matrix
from lowrank_lab.sensing import fully_observed, gaussian_sensing, GaussianOperator, IdentityOperator, sensing_operator_nbytes, SensingProblem
from lowrank_lab.sensing import problems as sensing_module


def _truth(xp, n=6, rank=2, psd=True, seed=0, m=None):
    return low_rank_matrix(m or n, n, rank, psd=psd, rng=seed, xp=xp)


@pytest.mark.parametrize("symmetric", [False, True])
def test_adjoint_identity(xp, symmetric):
    """<A(X), y> = <X, A*(y)> for random X, y, on both operator kinds."""
    problem = gaussian_sensing(_truth(xp), 30, symmetric=symmetric, rng=1)
    op = problem.operator
    X = to_xp(xp, np.random.default_rng(2).standard_normal((6, 6)))
    y = to_xp(xp, np.random.default_rng(3).standard_normal(30))
    lhs = float(xp.sum(op.apply(X) * y))
    rhs = float(xp.sum(X * op.adjoint(y)))
    assert lhs == pytest.approx(rhs, rel=1e-12)
    assert tuple(op.apply(X).shape) == (30,)
    assert tuple(op.adjoint(y).shape) == (6, 6)
    assert backend.backend_name(backend.array_namespace(op.adjoint(y))) == backend.backend_name(xp)
    ident = fully_observed(_truth(xp)).operator
    y36 = to_xp(xp, np.random.default_rng(4).standard_normal(36))
    assert float(xp.sum(ident.apply(X) * y36)) == pytest.approx(float(xp.sum(X * ident.adjoint(y36))), rel=1e-12)


def test_row_major_convention_and_explicit_measurements(xp):
    """Row i of the operator matrix is vec(A_i) in C order: y_i = sum_jk A_i[j, k] M[j, k]."""
    M = _truth(xp, n=4, m=3, psd=False)
    problem = gaussian_sensing(M, 5, rng=7)
    A = backend.to_numpy(problem.operator.matrix).reshape(5, 3, 4)
    expected = np.einsum("ijk,jk->i", A, backend.to_numpy(M.matrix))
    assert_close(problem.measurements, expected, rtol=1e-12, atol=1e-14, xp=xp)
    # the same entries drawn by hand from the documented stream
    gen = np.random.default_rng(7)
    np.testing.assert_array_equal(A, gen.standard_normal((5, 3, 4)))


def test_symmetric_sensing_matrices(xp):
    """Symmetric sensing: A_i = (Z + Z^T)/2, so A*(y) is symmetric and antisymmetric X is invisible."""
    problem = gaussian_sensing(_truth(xp), 40, rng=1)
    assert problem.symmetric and problem.psd
    A = backend.to_numpy(problem.operator.matrix).reshape(40, 6, 6)
    np.testing.assert_array_equal(A, np.swapaxes(A, 1, 2))
    K = np.random.default_rng(0).standard_normal((6, 6))
    anti = to_xp(xp, K - K.T)
    assert float(xp.max(xp.abs(problem.operator.apply(anti)))) < 1e-12
    assert not problem.operator.observes_all
    # non-symmetric sensing sees it
    problem2 = gaussian_sensing(_truth(xp), 40, symmetric=False, rng=1)
    assert float(xp.max(xp.abs(problem2.operator.apply(anti)))) > 1e-3


def test_symmetric_default_follows_the_truth(xp):
    assert gaussian_sensing(_truth(xp, psd=True), 10, rng=0).symmetric
    assert not gaussian_sensing(_truth(xp, psd=False), 10, rng=0).symmetric
    rect = _truth(xp, n=5, m=4, psd=False)
    assert not gaussian_sensing(rect, 10, rng=0).symmetric
    # a plain symmetric array is recognized, and PSD-ness too
    sym = to_xp(xp, np.diag([1.0, 2.0, 0.0]))
    p = gaussian_sensing(sym, 10, rng=0)
    assert p.symmetric and p.psd and p.rank == 2
    indefinite = to_xp(xp, np.diag([1.0, -2.0, 0.0]))
    p = gaussian_sensing(indefinite, 10, rng=0)
    assert p.symmetric and not p.psd
    with pytest.raises(ValueError, match="symmetric"):
        gaussian_sensing(rect, 10, symmetric=True, rng=0)


def test_isometry_in_expectation(xp):
    """loss_weight * ||A(X)||^2 ~ ||X||_F^2 for both kinds (symmetric X), within sampling error."""
    X = _truth(xp, n=5, rank=2).matrix
    for symmetric in (False, True):
        problem = gaussian_sensing(_truth(xp, n=5), 4000, symmetric=symmetric, rng=11)
        AX = problem.operator.apply(X)
        ratio = problem.operator.loss_weight * float(xp.sum(AX * AX)) / float(xp.sum(X * X))
        assert abs(ratio - 1.0) < 0.1, (symmetric, ratio)


def test_same_seed_same_problem_on_every_backend(xp):
    """The host stream decides everything: identical operator, measurements and masks as on NumPy."""
    npx = backend.get_namespace("numpy")
    kwargs = {"noise_std": 0.01, "outlier_fraction": 0.2, "rng": 5}
    a = gaussian_sensing(_truth(xp, seed=3), 25, **kwargs)
    b = gaussian_sensing(_truth(npx, seed=3), 25, **kwargs)
    assert_close(a.operator.matrix, b.operator.matrix, rtol=0, xp=xp)
    assert_close(a.measurements, b.measurements, rtol=1e-12, atol=1e-12, xp=xp)
    np.testing.assert_array_equal(backend.to_numpy(a.outlier_mask), backend.to_numpy(b.outlier_mask))
    c = gaussian_sensing(_truth(npx, seed=3), 25, noise_std=0.01, outlier_fraction=0.2, rng=6)
    assert not np.allclose(backend.to_numpy(c.measurements), backend.to_numpy(b.measurements))


def test_outliers_and_noise(xp):
    M = _truth(xp, n=6)
    problem = gaussian_sensing(M, 200, outlier_fraction=0.3, outlier_scale=50.0, rng=2)
    mask = backend.to_numpy(problem.outlier_mask)
    assert mask.dtype == bool and mask.sum() == 60
    clean = backend.to_numpy(problem.operator.apply(M.matrix))
    s = backend.to_numpy(problem.measurements) - clean
    np.testing.assert_allclose(s, backend.to_numpy(problem.corruption), atol=1e-12)
    np.testing.assert_allclose(np.abs(s[mask]), 50.0 * np.median(np.abs(clean)), rtol=1e-10)
    assert np.all(np.abs(s[~mask]) < 1e-12)
    assert 10 < (s[mask] > 0).sum() < 50  # random signs
    noisy = gaussian_sensing(M, 2000, noise_std=0.5, rng=3)
    noise = backend.to_numpy(noisy.corruption)
    assert abs(noise.std() - 0.5) < 0.05 and not backend.to_numpy(noisy.outlier_mask).any()
    clean_problem = gaussian_sensing(M, 50, rng=4)
    assert float(xp.max(xp.abs(clean_problem.corruption))) == 0.0


def test_fully_observed(xp):
    M = _truth(xp, n=5, m=4, psd=False)
    problem = fully_observed(M)
    assert isinstance(problem.operator, IdentityOperator)
    assert problem.n_measurements == 20 and problem.operator.loss_weight == 1.0 and problem.operator.nbytes == 0
    assert_close(problem.measurements, backend.to_numpy(M.matrix).reshape(-1), rtol=0, xp=xp)
    assert problem.relative_error(M.matrix) == 0.0
    noisy = fully_observed(M, outlier_fraction=0.25, rng=0)
    assert int(backend.to_numpy(noisy.outlier_mask).sum()) == 5


def test_memory_limit_refusal_and_estimate():
    M = low_rank_matrix(50, 50, 2, rng=0)
    assert sensing_operator_nbytes(1000, (50, 50)) == 1000 * 2500 * 8
    with pytest.raises(ValueError, match="max_bytes") as info:
        gaussian_sensing(M, 1000, max_bytes=10 * 2**20)
    assert "19.1 MiB" in str(info.value) and "n_measurements=1000" in str(info.value)
    # float32 halves the estimate
    problem = gaussian_sensing(M, 500, max_bytes=5_000_000, dtype=np.float32, rng=0)
    assert problem.operator.nbytes == 5_000_000 and problem.operator.matrix.dtype == np.float32
    with pytest.raises(ValueError, match="max_bytes"):
        gaussian_sensing(M, 10, max_bytes=-1)
    assert gaussian_sensing(M, 3, max_bytes=None, rng=0).n_measurements == 3


def test_chunked_generation_matches_one_shot(xp, monkeypatch):
    """The row-chunked fill gives the same operator as one draw (same host stream)."""
    M = _truth(xp, n=6)
    whole = gaussian_sensing(M, 23, symmetric=True, rng=9)
    monkeypatch.setattr(sensing_module, "_CHUNK_BYTES", 5 * 36 * 8)  # 5 rows per chunk
    chunked = gaussian_sensing(M, 23, symmetric=True, rng=9)
    assert_close(chunked.operator.matrix, backend.to_numpy(whole.operator.matrix), rtol=0, xp=xp)


def test_problem_accessors_and_repr(xp):
    M = _truth(xp)
    problem = gaussian_sensing(M, 12, outlier_fraction=0.25, rng=0)
    assert isinstance(problem, SensingProblem) and isinstance(problem.operator, GaussianOperator)
    assert problem.shape == (6, 6) and problem.n_measurements == 12 and problem.rank == 2
    assert problem.truth_matrix is M.matrix
    assert "outliers=3" in repr(problem) and "GaussianOperator" in repr(problem.operator)
    X = M.matrix * 1.1
    assert problem.relative_error(X) == pytest.approx(0.1, rel=1e-10)
    bare = SensingProblem(operator=problem.operator, measurements=problem.measurements)
    assert np.isnan(bare.relative_error(X)) and bare.rank is None


def test_bad_inputs_name_the_argument(xp):
    M = _truth(xp)
    with pytest.raises(ValueError, match="n_measurements"):
        gaussian_sensing(M, 0)
    with pytest.raises(TypeError, match="n_measurements"):
        gaussian_sensing(M, 2.5)
    with pytest.raises(ValueError, match="outlier_fraction"):
        gaussian_sensing(M, 10, outlier_fraction=1.5)
    with pytest.raises(ValueError, match="noise_std"):
        gaussian_sensing(M, 10, noise_std=-1.0)
    with pytest.raises(ValueError, match="outlier_scale"):
        fully_observed(M, outlier_scale=float("nan"))
    with pytest.raises(ValueError, match="truth"):
        gaussian_sensing(to_xp(xp, np.ones(5)), 10)
    with pytest.raises(ValueError, match="truth must be finite"):
        gaussian_sensing(to_xp(xp, np.array([[1.0, np.nan], [0.0, 1.0]])), 10)
    with pytest.raises(TypeError, match="symmetric"):
        gaussian_sensing(M, 10, symmetric="yes")
    with pytest.raises(TypeError, match="truth"):
        gaussian_sensing(None, 10)


def test_float32_problem(xp):
    M = _truth(xp)
    problem = gaussian_sensing(M, 30, dtype=xp.float32, rng=0)
    assert problem.operator.matrix.dtype == xp.float32 and problem.measurements.dtype == xp.float32
    ref = gaussian_sensing(M, 30, rng=0)
    assert_close(problem.measurements, backend.to_numpy(ref.measurements).astype(np.float32), rtol=1e-4, atol=1e-5,
                 xp=xp)
