"""The causal test of Shuttleworth et al. (2024): scale the intruder dimensions of a merged matrix.

:func:`scale_intruders` finds the intruders among the top ``k`` singular triplets of the
merged matrix ``W = W0 + dW`` (threshold ``eps`` on the largest ``|cos|`` with ``W0``'s
left singular vectors) and replaces each such component ``sigma_j u_j v_j^T`` by
``lam sigma_j u_j v_j^T``:

    ``W_lam = W + (lam - 1) U_I diag(S_I) V_I^T``.

This is PEFT's ``reduce_intruder_dimension`` (``mitigation_lambda``, default 0.75), which
also works on the SVD of the merged matrix.  PEFT then stores the result as a LoRA
adapter again: it **re-truncates** ``W_lam - W0`` to its best rank-``r`` approximation.
Here the default is **no re-truncation** (``rank=None``): the intervention is applied to the
full merged matrix, because (i) the causal question is about the intruder components of
``W`` alone, and re-truncation changes other directions too (``U_I S_I V_I^T`` contains
pieces of ``W0``, so ``W_lam - W0`` has rank up to ``r + |I|`` and its rank-``r`` truncation
moves more than the intruders), and (ii) full fine-tuning has no rank to truncate to.
``rank=r`` reproduces PEFT's stored adapter for comparison.

Examples
--------
>>> import numpy as np
>>> W0 = np.diag([4.0, 3.0, 2.0, 1.0, 0.0])[:, :4]
>>> W = W0.copy(); W[4, 3] = 10.0                 # one strong new direction (an intruder)
>>> out = scale_intruders(W, W0, 0.0, k=3)       # lam = 0 removes sqrt(101) u v^T, u ~ e4 + 10 e5
>>> out.indices, round(float(out.singular_values[0]) ** 2, 6)
((0,), 101.0)
>>> bool(np.allclose(out.weights[:, :3], W0[:, :3])), bool(np.abs(out.weights[:, 3]).max() < 1e-12)
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import backend, linalg, spectral
from .._validation import check_array, check_float, check_int

__all__ = ["InterventionResult", "scale_intruders"]


@dataclass(frozen=True)
class InterventionResult:
    """The intervened matrix and what was changed.

    Attributes
    ----------
    weights : array (m, n)
        ``W + (lam - 1) U_I diag(S_I) V_I^T`` (re-truncated around ``W0`` if ``rank`` was given).
    indices : tuple of int
        Positions (0-based, by singular value) of the intruders among the top ``k``.
    singular_values : array
        Their singular values in ``W``.
    lam : float
    """

    weights: Any
    indices: tuple
    singular_values: Any
    lam: float


def scale_intruders(W_tuned: Any, W_base: Any, lam: float, *, k: int = 10, eps: float = 0.5,
                    rank: int | None = None) -> InterventionResult:
    """Scale the intruder singular values of the merged matrix ``W_tuned`` by ``lam``.

    Parameters
    ----------
    W_tuned : array (m, n)
        The merged fine-tuned matrix ``W0 + dW``.
    W_base : array (m, n)
        The pretrained ``W0``.
    lam : float >= 0
        1 leaves ``W_tuned`` unchanged; 0 removes the intruder components.
    k, eps
        Intruder definition (:func:`lowrank_lab.spectral.intruder_dimensions`).
    rank : int, optional
        PEFT's re-truncation: replace ``W_lam - W0`` by its best rank-``rank``
        approximation.  Default None: the full merged matrix (see the module docstring).

    Returns
    -------
    InterventionResult
    """
    W_tuned = check_array(W_tuned, "W_tuned", ndim=2)
    W_base = check_array(W_base, "W_base", ndim=2)
    lam = check_float(lam, "lam", low=0.0)
    xp = backend.array_namespace(W_tuned, W_base)
    U, S, Vt = linalg.svd(W_tuned)
    res = spectral.intruder_dimensions(W_tuned, W_base, k, eps, tuned_vectors=U)
    idx = res.indices
    W_new = W_tuned
    if idx:
        sel = backend.asarray([int(i) for i in idx], like=S, dtype=xp.int64)
        U_I = xp.take(U, sel, axis=1)
        S_I = xp.take(S, sel)
        Vt_I = xp.take(Vt, sel, axis=0)
        W_new = W_tuned + (lam - 1.0) * ((U_I * S_I[None, :]) @ Vt_I)
    if rank is not None:
        rank = check_int(rank, "rank", low=1, high=min(W_tuned.shape), high_label="min(m, n)")
        Ur, Sr, Vtr = linalg.truncated_svd(W_new - W_base, rank)
        W_new = W_base + (Ur * Sr[None, :]) @ Vtr
    S_out = xp.take(S, backend.asarray([int(i) for i in idx], like=S, dtype=xp.int64)) if idx else S[:0]
    return InterventionResult(W_new, idx, S_out, lam)
