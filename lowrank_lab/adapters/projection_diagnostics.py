"""Diagnostics of gradient projection recorded during training: a :func:`~lowrank_lab.adapters.finetune` callback.

:class:`GradientDiagnostics` is passed as ``callback=`` to ``finetune``.  Every
``every`` steps (and never in between: no host transfer on the other steps) it reads
the batch gradient the step uses, the optimizer state the step starts from and the
merged weights, and records per weight matrix:

``grad_norm``, ``grad_stable_rank``, ``grad_effective_rank``, ``grad_nuclear_ratio``
    ``||G||_F``, stable rank, Roy-Vetterli effective rank, and the nuclear norm over
    ``||G||_F`` (scale-free: in ``[1, sqrt(rank)]``).
``captured_energy``
    ``||P^T G||_F^2 / ||G||_F^2`` of the projector in the optimizer state (the one the
    previous step used, refreshed or not at this step); for APOLLO's Gaussian (and
    user) projectors, of an orthonormal basis of their span.
``projector_overlap``, ``refreshes``, ``gap``
    ``||P_a^T P_b||_F^2 / r`` between the projector now and the one at the previous
    recorded step (with ``every = T`` that is successive refreshes), the number of
    refreshes so far and the current gap.
``lead_cosine``
    Signed cosine between the first projector vectors now and at the previous record.
``delta_effective_rank``, ``delta_stable_rank``, ``delta_norm``
    Of ``W_t - W_0`` (``reference`` weights, usually ``task.W0``).

The singular values of every ``W_t`` are kept in :attr:`GradientDiagnostics.spectra`.

Examples
--------
>>> from lowrank_lab.adapters import finetune, full, linear, linear_task
>>> from lowrank_lab.adapters.projection import galore
>>> task = linear_task(12, rank=3, n_train=40, rng=0)
>>> diag = GradientDiagnostics(every=10, reference=task.W0)
>>> res = finetune(linear(12, 12), task, full(), galore(0.01, 2, update_gap=10), steps=30, batch_size=8,
...                callback=diag, diagnostics="none", rng=1)
>>> frame = diag.frame()
>>> frame["step"].tolist(), frame["refreshes"].tolist()
([0, 10, 20, 30], [0, 1, 2, 3])
>>> bool((frame["captured_energy"].dropna() <= 1.0 + 1e-12).all())
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .. import backend, linalg, spectral
from .._validation import check_int
from .models import dense_gradient
from .projection import projectors

__all__ = ["GradientDiagnostics"]


def _layer_of(key: str) -> str:
    return str(key).split("/", 1)[0]


class GradientDiagnostics:
    """A ``finetune`` callback that records gradient, projector and weight diagnostics every ``every`` steps.

    Parameters
    ----------
    every : int
        Record at steps ``0, every, 2 every, ...`` (the driver's callback runs every step;
        the other steps return at once).
    reference : dict, optional
        Weights ``W_0`` for the ``delta_*`` columns (default: the weights at step 0).
    layers : sequence of str, optional
        Weight matrices to record (default: every 2-D weight).
    spectra : bool, default True
        Keep the singular values of every recorded weight matrix.

    Attributes
    ----------
    rows : list of dict
    spectra : dict ``(step, layer) -> numpy array``
    """

    def __init__(self, every: int, *, reference: Mapping[str, Any] | None = None, layers: Any = None,
                 spectra: bool = True) -> None:
        self.every = check_int(every, "every", low=1)
        self.reference = None if reference is None else dict(reference)
        self.layers = None if layers is None else tuple(layers)
        self.keep_spectra = bool(spectra)
        self.rows: list[dict] = []
        self.spectra: dict = {}
        self._previous: dict = {}

    def __call__(self, step: int, state: Any) -> None:
        if step % self.every:
            return None
        weights = state["weights"]
        grads = state["gradients"]
        if self.reference is None:
            self.reference = dict(weights)
        views = {}
        for key, view in projectors(state["optimizer_state"]).items():
            views[_layer_of(key)] = view
        layers = self.layers or tuple(k for k, v in weights.items() if getattr(v, "ndim", 0) == 2)
        for name in layers:
            self.rows.append(self._row(step, name, weights[name], dense_gradient(grads[name]), views.get(name)))
        return None

    def _row(self, step: int, name: str, W: Any, G: Any, view: Any) -> dict:
        xp = backend.array_namespace(W)
        s_grad = np.asarray(backend.to_numpy(xp.linalg.svdvals(G)), dtype=np.float64)
        g_norm = float(np.sqrt(np.sum(s_grad**2)))
        row = {"step": int(step), "layer": name, "grad_norm": g_norm,
               "grad_stable_rank": spectral.stable_rank(s_grad),
               "grad_effective_rank": spectral.effective_rank(s_grad),
               "grad_nuclear_ratio": float(s_grad.sum() / g_norm) if g_norm > 0 else math.nan}
        D = W - self.reference[name]
        s_delta = np.asarray(backend.to_numpy(xp.linalg.svdvals(D)), dtype=np.float64)
        row.update(delta_norm=float(np.sqrt(np.sum(s_delta**2))), delta_effective_rank=spectral.effective_rank(s_delta),
                   delta_stable_rank=spectral.stable_rank(s_delta))
        if self.keep_spectra:
            self.spectra[(int(step), name)] = np.asarray(backend.to_numpy(xp.linalg.svdvals(W)), dtype=np.float64)
        row.update(captured_energy=math.nan, projector_overlap=math.nan, lead_cosine=math.nan, refreshes=0,
                   gap=math.nan)
        if view is not None:
            P = view.basis
            if view.kind in ("gaussian", "callable"):  # not orthonormal: measure the subspace it spans
                P = linalg.orthonormalize(P)
            if g_norm > 0:
                row["captured_energy"] = spectral.captured_energy(G, P, view.side)
            previous = self._previous.get(name)
            if previous is not None:
                C = xp.matrix_transpose(P) @ previous
                row["projector_overlap"] = float(xp.sum(C * C)) / min(int(P.shape[1]), int(previous.shape[1]))
                a, b = P[:, 0], previous[:, 0]
                row["lead_cosine"] = float(xp.sum(a * b) / (xp.linalg.vector_norm(a) * xp.linalg.vector_norm(b)))
            self._previous[name] = P
            row["refreshes"] = int(view.refreshes)
            row["gap"] = float(view.gap)
        return row

    def frame(self) -> pd.DataFrame:
        """One row per recorded step and layer."""
        return pd.DataFrame(self.rows)
