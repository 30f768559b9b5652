"""Importable trial functions for ``tests/test_experiments.py`` (workers import them by name).

Every trial appends one line ``<name> <config> <seed>`` to the file named by
``$SWEEP_COUNTER`` (when set), so tests can tell which trials really ran, in any
process.  ``$SWEEP_SLEEP`` (seconds) makes trials slow enough to be killed.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd

from lowrank_lab import backend


def _count(name: str, seed: int, **config) -> None:
    path = os.environ.get("SWEEP_COUNTER")
    if path:
        line = f"{name} {sorted(config.items())} {seed}\n".encode()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    delay = float(os.environ.get("SWEEP_SLEEP", "0") or 0)
    if delay:
        time.sleep(delay)


def noisy_product(a, b, seed):
    """One row: ``a * b`` plus seeded noise, with an int, a str and a bool output."""
    _count("noisy_product", seed, a=a, b=b)
    problem_rng, solver_rng = backend.spawn_generators(seed, 2)
    noise = float(problem_rng.standard_normal())
    return {
        "value": a * b + 0.01 * noise,
        "noise": np.float64(noise),
        "draw": int(solver_rng.integers(0, 1000)),
        "label": f"{a}x{b}",
        "positive": bool(noise > 0),
    }


def curve(n_iter, rate, seed):
    """Several rows: a geometric convergence curve with a named index."""
    _count("curve", seed, n_iter=n_iter, rate=rate)
    rng = np.random.default_rng(seed)
    start = 1.0 + rng.uniform()
    iteration = pd.Index(np.arange(n_iter), name="iteration")
    return pd.DataFrame({"loss": start * rate ** np.arange(n_iter), "seed": seed}, index=iteration)


def fragile(x, seed):
    """Raises for ``x == 2`` unless ``$SWEEP_FIXED=1``."""
    _count("fragile", seed, x=x)
    if x == 2 and os.environ.get("SWEEP_FIXED") != "1":
        raise ValueError(f"x={x} is not supported")
    return {"y": 10 * x + seed}


def bad_output(x, seed):
    """Returns an array: not a valid trial output."""
    _count("bad_output", seed, x=x)
    return {"y": np.arange(3)}


def reserved_output(x, seed):
    """Returns an ``error`` column, which the sweep reserves."""
    return {"error": 0.5}


def with_shape(shape, method, seed):
    """Tuple-valued config (``shape``) and a str config."""
    _count("with_shape", seed, shape=shape, method=method)
    assert isinstance(shape, tuple)
    rows, cols = shape
    return {"size": rows * cols, "upper": method.upper()}


def make_closure():
    """A trial that workers cannot import (a closure)."""

    def inner(x, seed):
        return {"y": x}

    return inner


def optional_metric(x, seed):
    """``None`` for odd ``x`` (a metric that is sometimes undefined), a float otherwise."""
    return {"metric": None if x % 2 else x / 2, "name": None if x % 2 else "even"}


def crash(x, seed):
    """Kills its own process for ``x == 2`` (a segfault or out-of-memory stand-in)."""
    if x == 2:
        os._exit(3)
    return {"y": x}
