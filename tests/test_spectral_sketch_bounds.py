"""spectral.randomized_svd_error_bound against Halko, Martinsson & Tropp (2011) (issue 10)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lowrank_lab import backend, linalg
from lowrank_lab.matrices import low_rank_matrix
from lowrank_lab.spectral import randomized_svd_error_bound


def _halko(s, k, p, q=0):
    """Theorem 10.6 / Corollary 10.10, written out independently."""
    s = np.sort(np.asarray(s, float))[::-1]
    e = 2 * q + 1
    a = (1 + np.sqrt(k / (p - 1))) * s[k] ** e
    b = np.e * np.sqrt(k + p) / p * np.sqrt(np.sum(s[k:] ** (2 * e)))
    return (a + b) ** (1 / e)


def test_matches_the_papers_formula(xp):
    s = np.arange(1, 61, dtype=float) ** -0.5
    s_xp = backend.asarray(s, xp=xp)
    for k, p, q in ((5, 2, 0), (10, 5, 0), (10, 10, 1), (20, 10, 2)):
        assert randomized_svd_error_bound(s_xp, k, p, q) == pytest.approx(_halko(s, k, p, q), rel=1e-12)
    assert randomized_svd_error_bound(s_xp, 10, 5, truncated=True) == pytest.approx(_halko(s, 10, 5) + s[10])
    frob = math.sqrt(1 + 10 / 4) * math.sqrt(np.sum(s[10:] ** 2))
    assert randomized_svd_error_bound(s_xp, 10, 5, norm="frobenius") == pytest.approx(frob)
    # a flat tail: the q = 0 bound is (1 + sqrt(k/(p-1)) + e sqrt(k+p)/p sqrt(n-k)) s_{k+1}
    flat = np.ones(30)
    expected = 1 + math.sqrt(4 / 3) + math.e * math.sqrt(8) / 4 * math.sqrt(26)
    assert randomized_svd_error_bound(backend.asarray(flat, xp=xp), 4, 4) == pytest.approx(expected)


def test_bound_decreases_with_power_iterations_and_oversampling():
    s = np.arange(1, 201, dtype=float) ** -0.5
    by_q = [randomized_svd_error_bound(s, 20, 10, q) for q in range(5)]
    assert all(a > b for a, b in zip(by_q, by_q[1:]))
    assert by_q[-1] > s[20]  # never below the optimum
    by_p = [randomized_svd_error_bound(s, 20, p) for p in (2, 5, 10, 20)]
    assert all(a > b for a, b in zip(by_p, by_p[1:]))


@pytest.mark.parametrize("q", [0, 1, 2])
def test_measured_error_lies_below_the_bound(q):
    n_rows, n_cols, k, p = 300, 200, 10, 5
    s = np.arange(1, n_cols + 1, dtype=float) ** -0.5
    A = low_rank_matrix(n_rows, n_cols, n_cols, spectrum=s, rng=0).matrix
    errors = []
    for seed in range(8):
        U, S, Vt = linalg.randomized_svd(A, k, n_oversamples=p, n_power_iter=q, rng=seed)
        errors.append(np.linalg.norm(A - (U * S) @ Vt, 2))
    bound = randomized_svd_error_bound(s, k, p, q, truncated=True)
    assert np.mean(errors) <= bound
    assert min(errors) >= s[k] * (1 - 1e-10)  # Eckart-Young


def test_bad_arguments():
    s = np.arange(10.0, 0.0, -1.0)
    with pytest.raises(ValueError, match="oversampling"):
        randomized_svd_error_bound(s, 3, 1)
    with pytest.raises(ValueError, match="rank"):
        randomized_svd_error_bound(s, 1, 5)
    with pytest.raises(ValueError, match="rank"):
        randomized_svd_error_bound(s, 10, 5)
    with pytest.raises(ValueError, match="norm"):
        randomized_svd_error_bound(s, 3, 5, norm="nuclear")
    with pytest.raises(ValueError, match="frobenius"):
        randomized_svd_error_bound(s, 3, 5, 1, norm="frobenius")
    with pytest.raises(TypeError, match="W"):
        randomized_svd_error_bound("s", 3, 5)
