"""Shared fixtures: the backend-parametrized ``xp`` fixture used by every backend test.

``xp`` runs a test on NumPy and on ``array_api_strict`` (which catches NumPy-isms
on a CPU machine) and on CuPy where a GPU is found (``pytest -m gpu``).
"""

from __future__ import annotations

import os

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("TQDM_DISABLE", "1")

from lowrank_lab import backend  # noqa: E402

_BACKEND_PARAMS = [
    pytest.param("numpy", id="numpy"),
    pytest.param("array_api_strict", id="array_api_strict"),
    pytest.param(
        "cupy",
        id="cupy",
        marks=[
            pytest.mark.gpu,
            pytest.mark.skipif(not backend.gpu_available(), reason="CuPy with a CUDA device not available"),
        ],
    ),
]


@pytest.fixture(params=_BACKEND_PARAMS)
def xp(request):
    """Array API namespace of each backend under test."""
    return backend.get_namespace(request.param)


@pytest.fixture
def rng():
    """A fresh seeded NumPy generator."""
    import numpy as np

    return np.random.default_rng(12345)
