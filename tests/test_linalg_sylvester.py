"""Sylvester equations and LU factorizations: SciPy's kernels and the standard-only fallbacks agree."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from helpers import assert_close, to_xp

from lowrank_lab import linalg


def _spd(gen, k):
    M = gen.standard_normal((k, k))
    return M @ M.T + 0.1 * np.eye(k)


@pytest.mark.parametrize(("m", "n"), [(3, 3), (4, 2), (1, 5)])
def test_solve_sylvester_matches_scipy(xp, m, n):
    gen = np.random.default_rng(m + 10 * n)
    A, B, C = _spd(gen, m), _spd(gen, n), gen.standard_normal((m, n))
    ref = scipy.linalg.solve_sylvester(A, B, C)
    X = linalg.solve_sylvester(to_xp(xp, A), to_xp(xp, B), to_xp(xp, C))
    assert_close(X, ref, rtol=1e-9, atol=1e-12, xp=xp)
    for method in ("eigh", "kronecker"):  # both fallbacks, on every namespace
        assert_close(linalg.solve_sylvester(to_xp(xp, A), to_xp(xp, B), to_xp(xp, C), method=method), ref,
                     rtol=1e-9, atol=1e-12, xp=xp)


def test_solve_sylvester_general_matrices_use_the_kronecker_fallback(xp):
    gen = np.random.default_rng(3)
    A = gen.standard_normal((3, 3)) + 3 * np.eye(3)  # not symmetric
    B = gen.standard_normal((2, 2)) + 3 * np.eye(2)
    C = gen.standard_normal((3, 2))
    X = linalg.solve_sylvester(to_xp(xp, A), to_xp(xp, B), to_xp(xp, C))
    assert_close(X, scipy.linalg.solve_sylvester(A, B, C), rtol=1e-9, atol=1e-12, xp=xp)
    with pytest.raises(ValueError, match="symmetric"):
        linalg.solve_sylvester(to_xp(xp, A), to_xp(xp, B), to_xp(xp, C), method="eigh")


def test_solve_sylvester_bad_input():
    with pytest.raises(ValueError, match=r"A must be square with C's row count \(2, 2\)"):
        linalg.solve_sylvester(np.eye(3), np.eye(2), np.ones((2, 2)))
    with pytest.raises(ValueError, match="B must be square"):
        linalg.solve_sylvester(np.eye(2), np.eye(3), np.ones((2, 2)))
    with pytest.raises(ValueError, match="method"):
        linalg.solve_sylvester(np.eye(2), np.eye(2), np.ones((2, 2)), method="bartels")
    with pytest.raises(ValueError, match="finite"):
        linalg.solve_sylvester(np.eye(2), np.eye(2), np.full((2, 2), np.nan))


@pytest.mark.parametrize(("m", "n"), [(5, 5), (7, 4), (3, 6)])
def test_lu_matches_scipy(xp, m, n):
    gen = np.random.default_rng(m * n)
    A = gen.standard_normal((m, n))
    P, L, U = scipy.linalg.lu(A)
    res = linalg.lu(to_xp(xp, A))
    assert_close(res.P, P, xp=xp)
    assert_close(res.L, L, rtol=1e-10, atol=1e-12, xp=xp)
    assert_close(res.U, U, rtol=1e-10, atol=1e-12, xp=xp)
    assert_close(res.P @ res.L @ res.U, A, rtol=1e-10, atol=1e-12, xp=xp)


def test_lu_standard_fallback_on_numpy_input_agrees():
    from lowrank_lab.linalg._sylvester import _lu_standard

    A = np.random.default_rng(0).standard_normal((6, 4))
    a, b = linalg.lu(A), _lu_standard(A, np)
    for x, y in zip(a, b):
        assert np.allclose(x, y, atol=1e-12)
    assert np.all(np.abs(b.L) <= 1.0 + 1e-15) and np.allclose(np.tril(b.U, -1), 0.0)


def test_lu_refuses_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        linalg.lu(np.ones(3))
    with pytest.raises(ValueError, match="finite"):
        linalg.lu(np.array([[1.0, np.inf], [0.0, 1.0]]))
