"""The fast Walsh-Hadamard transform (lowrank_lab.linalg.fwht): SciPy's Hadamard matrix, every path, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from helpers import assert_close, to_xp

from lowrank_lab import backend, linalg
from lowrank_lab.linalg import _hadamard, _jit


@pytest.mark.parametrize("L", [1, 2, 4, 8, 64, 256])
def test_fwht_matches_scipy_hadamard(xp, rng, L):
    x = rng.standard_normal(L)
    out = linalg.fwht(to_xp(xp, x))
    assert_close(out, scipy.linalg.hadamard(L) @ x, xp=xp, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("axis", [0, 1, -1, 2])
def test_fwht_along_any_axis_leaves_the_others_alone(xp, rng, axis):
    x = rng.standard_normal((4, 8, 16))
    L = x.shape[axis]
    expected = np.moveaxis(np.tensordot(scipy.linalg.hadamard(L), np.moveaxis(x, axis, 0), axes=(1, 0)), 0, axis)
    assert_close(linalg.fwht(to_xp(xp, x), axis=axis), expected, xp=xp, rtol=1e-12, atol=1e-12)


def test_fwht_is_its_own_inverse_up_to_L_and_keeps_the_norm_up_to_sqrt_L(xp, rng):
    x = to_xp(xp, rng.standard_normal((3, 512)))
    y = linalg.fwht(x)
    assert_close(linalg.fwht(y) / 512, backend.to_numpy(x), xp=xp, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(backend.to_numpy(y), axis=1),
                               np.sqrt(512) * np.linalg.norm(backend.to_numpy(x), axis=1), rtol=1e-12)


def test_fwht_float32_stays_float32(xp, rng):
    x = rng.standard_normal(128)
    out = linalg.fwht(to_xp(xp, x, dtype=xp.float32))
    assert_close(out, (scipy.linalg.hadamard(128) @ x).astype(np.float32), xp=xp, rtol=1e-4, atol=1e-4)


def test_fwht_integer_input_is_transformed_in_float64():
    out = linalg.fwht(np.array([1, 0, 1, 0, 0, 1, 1, 0]))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [4, 2, 0, -2, 0, 2, 0, 2])  # Wikipedia's example


def test_fwht_does_not_modify_its_input(rng):
    x = rng.standard_normal(64)
    keep = x.copy()
    linalg.fwht(x)
    np.testing.assert_array_equal(x, keep)


@pytest.mark.parametrize("L", [2, 16, 1 << 12, 1 << 15])
def test_all_numpy_paths_agree_with_the_standard_fallback(rng, L):
    """Compiled kernel (cache blocks smaller and larger than L), array butterfly, standard butterfly."""
    x = rng.standard_normal((3, L))
    reference = backend.to_numpy(_hadamard._fwht_standard(x))
    butterfly = x.copy()
    _hadamard._fwht_numpy_inplace(butterfly, compiled=False)
    np.testing.assert_allclose(butterfly, reference, rtol=1e-12, atol=1e-9)
    kernel = _jit.fwht_kernel()
    if kernel is None:
        pytest.skip("Numba not available: the compiled path is not used")
    for block in (4, 1 << 10, 1 << 14):
        compiled = x.copy()
        kernel(compiled, block)
        np.testing.assert_allclose(compiled, reference, rtol=1e-12, atol=1e-9)


def test_numba_switch_off_takes_the_array_butterfly(monkeypatch, rng):
    x = rng.standard_normal(256)
    with_kernel = linalg.fwht(x)
    monkeypatch.setenv("LOWRANK_NUMBA", "0")
    assert _jit.fwht_kernel() is None
    np.testing.assert_allclose(linalg.fwht(x), with_kernel, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape, axis, message", [
    ((6,), -1, "power of two, got 6"),
    ((0,), -1, "power of two, got 0"),
    ((4, 3), 1, "power of two, got 3"),
    ((4,), 1, "axis must be in"),
])
def test_fwht_refuses_bad_shapes(shape, axis, message):
    with pytest.raises(ValueError, match=message):
        linalg.fwht(np.ones(shape), axis=axis)


def test_fwht_refuses_a_0d_array_as_a_type_error():
    with pytest.raises(TypeError, match="at least one axis"):
        linalg.fwht(np.ones(()))


def test_fwht_refuses_complex_and_non_arrays():
    with pytest.raises(TypeError, match="x must be real"):
        linalg.fwht(np.ones(4, dtype=complex))
    with pytest.raises(TypeError, match="axis must be an integer"):
        linalg.fwht(np.ones(4), axis=0.5)
    with pytest.raises(TypeError, match="x must be an array"):
        linalg.fwht(None)
