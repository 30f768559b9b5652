"""Test helpers (imported by test modules as ``from helpers import ...``)."""

from __future__ import annotations

import numpy as np

from lowrank_lab import backend


def assert_close(actual, desired, *, rtol=1e-7, atol=0.0, xp=None, check_dtype=True):
    """Like SciPy's ``xp_assert_close``: check namespace, dtype and shape before values.

    ``desired`` may be a NumPy array or scalar; it is compared with ``actual`` on the host.
    """
    if xp is not None:
        got = backend.backend_name(backend.array_namespace(actual))
        assert got == backend.backend_name(xp), f"namespace: expected {backend.backend_name(xp)}, got {got}"
    a = backend.to_numpy(actual)
    d = np.asarray(backend.to_numpy(desired) if not np.isscalar(desired) else desired)
    if check_dtype and d.dtype.kind == "f" and a.dtype != d.dtype:
        raise AssertionError(f"dtype: expected {d.dtype}, got {a.dtype}")
    assert a.shape == d.shape or d.ndim == 0, f"shape: expected {d.shape}, got {a.shape}"
    np.testing.assert_allclose(a, d, rtol=rtol, atol=atol)


def to_xp(xp, array, dtype=None):
    """Host array -> namespace ``xp``."""
    return backend.asarray(np.asarray(array), xp=xp, dtype=dtype)
