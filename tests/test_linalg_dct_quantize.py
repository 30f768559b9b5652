"""The orthonormal DCT (SciPy's convention, every path) and the rounding primitives (unbiasedness, grids, bad input)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.fft
from helpers import assert_close, to_xp

from lowrank_lab import backend, linalg
from lowrank_lab.linalg import _dct


# --------------------------------------------------------------------------- DCT
@pytest.mark.parametrize("n", [1, 2, 7, 64])
def test_dct_matrix_is_scipys_orthonormal_dct(xp, n):
    D = linalg.dct_matrix(n, xp=xp)
    assert_close(D, scipy.fft.dct(np.eye(n), norm="ortho", axis=0), xp=xp, rtol=1e-12, atol=1e-13)
    assert_close(D @ xp.matrix_transpose(D), np.eye(n), xp=xp, atol=1e-12)
    assert_close(xp.matrix_transpose(D) @ D, np.eye(n), xp=xp, atol=1e-12)


def test_dct_matrix_rows_are_cosines():
    D = linalg.dct_matrix(8)
    j = np.arange(8)
    np.testing.assert_allclose(D[3], math.sqrt(2 / 8) * np.cos(math.pi * 3 * (2 * j + 1) / 16), rtol=1e-12)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_dct_and_idct_match_scipy_along_any_axis(xp, rng, axis):
    x = rng.standard_normal((6, 10))
    assert_close(linalg.dct(to_xp(xp, x), axis=axis), scipy.fft.dct(x, norm="ortho", axis=axis), xp=xp,
                 rtol=1e-11, atol=1e-12)
    assert_close(linalg.idct(to_xp(xp, x), axis=axis), scipy.fft.idct(x, norm="ortho", axis=axis), xp=xp,
                 rtol=1e-11, atol=1e-12)
    assert_close(linalg.idct(linalg.dct(to_xp(xp, x), axis=axis), axis=axis), x, xp=xp, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("inverse", [False, True])
def test_the_fast_path_agrees_with_the_standard_fallback(rng, inverse):
    x = rng.standard_normal((5, 33, 4))
    fast = _dct._transform(x, 1, inverse)
    slow = _dct._transform(x, 1, inverse, fast=False)
    np.testing.assert_allclose(fast, slow, rtol=1e-11, atol=1e-12)


def test_dct_float32_stays_float32_and_integers_become_float64(xp, rng):
    x = rng.standard_normal(16)
    out = linalg.dct(to_xp(xp, x, dtype=xp.float32))
    assert_close(out, scipy.fft.dct(x, norm="ortho").astype(np.float32), xp=xp, rtol=1e-4, atol=1e-5)
    assert linalg.dct(np.arange(4)).dtype == np.float64


def test_dct_refuses_bad_input():
    with pytest.raises(ValueError, match="axis must be in"):
        linalg.dct(np.ones((2, 3)), axis=2)
    with pytest.raises(ValueError, match="at least one axis"):
        linalg.dct(np.asarray(1.0))
    with pytest.raises(TypeError, match="x must be real"):
        linalg.dct(np.ones(3, dtype=complex))
    with pytest.raises(ValueError, match="n must be in"):
        linalg.dct_matrix(0)


# --------------------------------------------------------------------------- rounding
def test_stochastic_round_is_unbiased_and_lands_on_neighbours(xp):
    x = np.array([-1.75, -0.5, 0.1, 0.5, 2.9, 3.0])
    draws = np.stack([backend.to_numpy(linalg.stochastic_round(to_xp(xp, x), rng=s)) for s in range(4000)])
    assert set(np.unique(draws - np.floor(x))) <= {0.0, 1.0}
    frac = x - np.floor(x)
    se = np.sqrt(frac * (1 - frac) / len(draws)) + 1e-12
    assert np.all(np.abs(draws.mean(axis=0) - x) <= 5 * se + 1e-12)  # unbiased (5 standard errors)
    np.testing.assert_array_equal(draws[:, -1], 3.0)  # integers are kept


def test_stochastic_round_is_seeded_and_keeps_namespace_and_dtype(xp, rng):
    x = to_xp(xp, rng.uniform(-3, 3, size=(4, 5)), dtype=xp.float32)
    a, b = linalg.stochastic_round(x, rng=7), linalg.stochastic_round(x, rng=7)
    assert_close(a, backend.to_numpy(b), xp=xp)
    assert a.dtype == xp.float32


def test_round_to_nearest_error_is_at_most_half_a_step(xp, rng):
    x = rng.standard_normal(512)
    q = linalg.quantize_minmax(to_xp(xp, x), bits=8, group_size=128)
    step = (x.reshape(4, 128).max(1) - x.reshape(4, 128).min(1)) / 255
    err = np.abs(backend.to_numpy(linalg.dequantize(q)) - x).reshape(4, 128)
    assert np.all(err <= step[:, None] / 2 * (1 + 1e-9) + step[:, None] * 0.5)  # rounding + the rounded zero point
    codes = backend.to_numpy(q.codes)
    assert codes.dtype == np.uint8 and codes.min() >= 0 and codes.max() <= 255
    assert q.codes.shape == (4, 128) and q.shape == (512,)


def test_quantizer_matches_the_reference_formulas(rng):
    x = rng.uniform(-1.0, 2.0, size=(4, 8))
    q = linalg.quantize_minmax(x, bits=4, group_size=8)
    w = x.reshape(-1, 8)
    scale = np.maximum(w.max(1, keepdims=True) - w.min(1, keepdims=True), 1e-5) / 15
    zero = np.clip(-np.round(w.min(1, keepdims=True) / scale), 0, 15)
    codes = np.clip(np.round(w / scale) + zero, 0, 15)
    np.testing.assert_allclose(q.scale, scale)
    np.testing.assert_allclose(q.zero, zero)
    np.testing.assert_array_equal(q.codes, codes.astype(np.uint8))


def test_stochastic_quantization_keeps_small_updates_in_expectation_where_nearest_drops_them(rng):
    step = 2.0 / 255
    codes = np.concatenate([[0], rng.integers(1, 255, size=62), [255]])
    w = step * (codes - 128.0)  # weights on the 8-bit grid (zero point 128)
    update = np.full(64, 0.2 * step)
    update[[0, -1]] = 0.0  # keep the range (and so the grid) fixed
    near = linalg.dequantize(linalg.quantize_minmax(w + update, group_size=64))
    base = linalg.dequantize(linalg.quantize_minmax(w, group_size=64))
    np.testing.assert_allclose(near, base, atol=1e-12)  # round-to-nearest: the update is lost
    draws = np.stack([linalg.dequantize(linalg.quantize_minmax(w + update, group_size=64, rounding="stochastic",
                                                               rng=s)) for s in range(3000)])
    moved = draws.mean(axis=0)[1:-1] - base[1:-1]
    np.testing.assert_allclose(moved.mean(), 0.2 * step, rtol=0.05)  # stochastic rounding: kept on average


def test_quantizer_refuses_bad_input():
    with pytest.raises(ValueError, match="group_size must divide"):
        linalg.quantize_minmax(np.ones(10), group_size=4)
    with pytest.raises(ValueError, match="bits must be in"):
        linalg.quantize_minmax(np.ones(4), bits=0)
    with pytest.raises(ValueError, match="rounding must be one of"):
        linalg.quantize_minmax(np.ones(4), rounding="up")
    with pytest.raises(TypeError, match="q must be a Quantized"):
        linalg.dequantize(np.ones(3))
