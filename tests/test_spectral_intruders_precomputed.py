"""intruder_dimensions with precomputed singular vectors (used by the fine-tuning diagnostics)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import to_xp

from lowrank_lab import linalg, spectral


def test_precomputed_vectors_give_the_same_counts(xp):
    gen = np.random.default_rng(0)
    U0 = np.linalg.qr(gen.standard_normal((40, 30)))[0]
    V0 = np.linalg.qr(gen.standard_normal((30, 30)))[0]
    W0 = to_xp(xp, (U0 * (3.0 / np.arange(1, 31))) @ V0.T)
    W = W0 + to_xp(xp, 2.0 * np.outer(gen.standard_normal(40), gen.standard_normal(30)) / 30)
    eps = np.linspace(0.1, 0.9, 9)
    ref = spectral.intruder_dimensions(W, W0, 10, eps)
    fast = spectral.intruder_dimensions(W, W0, 10, eps, tuned_vectors=linalg.randomized_svd(W, 10, rng=0).U,
                                        base_vectors=linalg.svd(W0).U)
    np.testing.assert_array_equal(ref.count, fast.count)
    wide = spectral.intruder_dimensions(W, W0, 3, 0.5, tuned_vectors=linalg.svd(W).U)
    assert wide.count == spectral.intruder_dimensions(W, W0, 3, 0.5).count


def test_precomputed_vectors_are_checked():
    W = np.eye(6, 4)
    with pytest.raises(ValueError, match="tuned_vectors must have shape"):
        spectral.intruder_dimensions(W, W, 3, tuned_vectors=np.eye(6, 2))
    with pytest.raises(ValueError, match="base_vectors must have shape"):
        spectral.intruder_dimensions(W, W, 3, base_vectors=np.eye(5, 4))
