from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close

from lowrank_lab import backend
from lowrank_lab.matrices import low_rank_matrix


def test_low_rank_matrix_spectrum_and_factors(xp):
    M = low_rank_matrix(40, 30, 4, condition_number=8.0, rng=0, xp=xp)
    host = backend.to_numpy(M.matrix)
    s = np.linalg.svd(host, compute_uv=False)
    np.testing.assert_allclose(s[:4], np.linspace(1, 1 / 8, 4), rtol=1e-10)
    assert s[4] < 1e-12
    assert M.rank == 4 and M.shape == (40, 30) and M.condition_number == pytest.approx(8.0)
    F, G = M.balanced_factors()
    assert_close(F @ xp.matrix_transpose(G), host, xp=xp, atol=1e-12)
    Fh, Gh = backend.to_numpy(F), backend.to_numpy(G)
    np.testing.assert_allclose(Fh.T @ Fh, Gh.T @ Gh, atol=1e-12)


def test_psd_and_explicit_spectrum(xp):
    M = low_rank_matrix(20, 20, 3, spectrum=[0.5, 1.0, 0.25], psd=True, rng=1, xp=xp)
    host = backend.to_numpy(M.matrix)
    np.testing.assert_allclose(host, host.T, atol=1e-14)
    assert np.all(np.linalg.eigvalsh(host) > -1e-12)
    assert_close(M.singular_values, np.array([1.0, 0.5, 0.25]), xp=xp)


def test_same_seed_same_matrix_on_every_backend(xp):
    a = low_rank_matrix(15, 12, 2, rng=5, xp=xp)
    b = low_rank_matrix(15, 12, 2, rng=5)
    assert_close(a.matrix, b.matrix, xp=xp, atol=1e-12)
    like = low_rank_matrix(5, 5, 1, rng=0, like=a.matrix)
    assert backend.backend_name(backend.array_namespace(like.matrix)) == backend.backend_name(xp)


def test_incoherent_with_high_probability():
    M = low_rank_matrix(400, 300, 5, rng=2)
    mu = 400 / 5 * np.max(np.sum(M.left**2, axis=1))
    assert 1.0 <= mu < 5.0  # Haar-like bases: mu = O(log m)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"rank": 0}, r"rank must be in \[1, min\(m, n\)=10\], got 0"),
        ({"rank": 11}, "rank must be in"),
        ({"condition_number": 0.5}, "condition_number"),
        ({"spectrum": [1.0, -1.0, 1.0]}, "spectrum must be positive"),
        ({"spectrum": [1.0, 2.0]}, "spectrum must have length"),
        ({"spectrum": [1.0, np.nan, 1.0]}, "spectrum must be finite"),
        ({"psd": True}, "psd=True needs a square"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, match):
    args = {"m": 12, "n": 10, "rank": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        low_rank_matrix(**args)
