from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, to_xp

from lowrank_lab import backend


def test_get_namespace_names_and_errors(monkeypatch):
    assert backend.backend_name(backend.get_namespace("numpy")) == "numpy"
    assert backend.backend_name(backend.get_namespace("array_api_strict")) == "array_api_strict"
    with pytest.raises(ValueError, match="backend must be one of"):
        backend.get_namespace("torch")
    monkeypatch.setenv("LOWRANK_BACKEND", "array_api_strict")
    assert backend.backend_name(backend.get_namespace()) == "array_api_strict"
    monkeypatch.setenv("LOWRANK_BACKEND", "tpu")
    with pytest.raises(ValueError, match="LOWRANK_BACKEND"):
        backend.default_backend()


@pytest.mark.skipif(backend.gpu_available(), reason="checks the message shown without a GPU")
def test_cupy_without_gpu_gives_a_clear_message():
    with pytest.raises(RuntimeError, match="no CUDA device"):
        backend.get_namespace("cupy")


def test_namespace_follows_inputs(xp):
    x = to_xp(xp, [[1.0, 2.0]])
    assert backend.backend_name(backend.array_namespace(x)) == backend.backend_name(xp)
    assert backend.backend_name(backend.array_namespace(x, None, 3.0)) == backend.backend_name(xp)
    with pytest.raises(TypeError):
        backend.array_namespace(None)


def test_to_numpy_round_trip(xp):
    host = np.arange(6.0).reshape(2, 3)
    x = backend.asarray(host, xp=xp)
    out = backend.to_numpy(x)
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, host)
    y = backend.asarray(host, like=x)
    assert backend.backend_name(backend.array_namespace(y)) == backend.backend_name(xp)


def test_random_draws_are_identical_on_every_backend(xp):
    a = backend.random_normal((4, 3), rng=7, xp=xp)
    b = backend.random_normal((4, 3), rng=7, xp=backend.get_namespace("numpy"))
    assert_close(a, b, xp=xp, rtol=0)
    u = backend.random_uniform((5,), rng=3, xp=xp, low=-1.0, high=2.0)
    host = backend.to_numpy(u)
    assert host.min() >= -1.0 and host.max() < 2.0
    f32 = backend.random_normal((2,), rng=0, xp=xp, dtype=xp.float32)
    assert f32.dtype == xp.float32


def test_as_generator_and_spawn():
    g = np.random.default_rng(1)
    assert backend.as_generator(g) is g
    assert backend.as_generator(5).standard_normal() == np.random.default_rng(5).standard_normal()
    with pytest.raises(TypeError, match="rng must be"):
        backend.as_generator(np.random.RandomState(0))
    with pytest.raises(ValueError, match="rng seed"):
        backend.as_generator(-1)
    children = backend.spawn_generators(3, 2)
    again = backend.spawn_generators(3, 2)
    draws = [c.standard_normal() for c in children]
    assert draws == [c.standard_normal() for c in again]
    assert draws[0] != draws[1]


def test_float_dtype(xp):
    assert backend.float_dtype(xp) == xp.float64
    assert backend.float_dtype(xp, to_xp(xp, [1.0], dtype=xp.float32)) == xp.float32
    assert backend.float_dtype(xp, to_xp(xp, [1], dtype=xp.int64)) == xp.float64
