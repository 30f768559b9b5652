"""Pretrained weights, downstream tasks and the forgetting probe (the shared testbed of studies E-I).

* :func:`pretrained_weights`: a "pretrained" ``W0 = U0 diag(sigma) V0^T`` with Haar ``U0``,
  ``V0`` and a controlled spectrum (:func:`spectrum_values`: a power law
  ``sigma_i = sigma_1 i^-decay``, gapped top singular values over a low bulk) or an
  i.i.d. Gaussian matrix (a Marchenko-Pastur bulk: the near-degenerate control).
* :func:`target_update`: the update ``dW*`` of a downstream task, with controlled rank,
  spectrum, spectral norm relative to ``sigma_1(W0)``, alignment with ``W0``'s top
  singular subspaces or with the input covariance, and an optional small full-rank part.
* :func:`input_covariance`: isotropic or power-law (anisotropic) input covariances.
* :func:`make_task` / :func:`synthetic_task` / :func:`linear_task`: a :class:`Task`
  holds the fine-tuning data (``Y`` from the teacher ``W0 + dW*``), test data, the
  pretrained weights, ``dW*``, the pretraining input covariance and source samples.
* :func:`task_sequence`: tasks for continual fine-tuning (same ``W0``, independent
  ``dW*_t`` and data).
* :func:`forgetting`: ``E_{x~pre} ||(W - W0) x||^2 = tr(dW Sigma_pre dW^T)`` for linear
  models (end-to-end map), the loss on source samples labelled by ``W0`` otherwise.

Random numbers are drawn on the host from ``rng`` and moved next to the weights, so the
same seed gives the same task on every backend.  The pretraining "source distribution"
is ``x ~ N(0, Sigma_pre)`` with targets from the pretrained model itself, which is
therefore a perfect model of it (zero source loss under the squared loss).  This
construction is ours (reconstruction: the papers fine-tune real pretrained networks).

Examples
--------
>>> task = linear_task(16, rank=2, norm=0.4, n_train=8, rng=0)
>>> task.X_train.shape, task.Y_train.shape, task.W0["W"].shape
((8, 16), (8, 16), (16, 16))
>>> import numpy as np
>>> s = np.linalg.svd(task.delta_star["W"], compute_uv=False)
>>> int((s > 1e-12).sum()), round(float(s[0] / np.linalg.norm(task.W0["W"], 2)), 6)
(2, 0.4)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import backend, linalg
from .._validation import check_array, check_choice, check_float, check_int
from ..matrices import low_rank_matrix
from .models import Model, linear
from .parameterizations import merge

__all__ = [
    "SPECTRA",
    "Task",
    "forgetting",
    "input_covariance",
    "linear_task",
    "make_task",
    "minimum_norm_update",
    "pretrained_weights",
    "row_space_residual",
    "spectrum_values",
    "synthetic_task",
    "target_update",
    "task_sequence",
]

#: Spectra of :func:`pretrained_weights`.
SPECTRA = ("power_law", "gapped", "iid")


# =========================================================================== #
# pretrained weights
# =========================================================================== #
def spectrum_values(q: int, kind: str = "power_law", *, sigma1: float = 3.0, decay: float = 1.0,
                    n_top: int = 10, bulk: float = 0.2) -> np.ndarray:
    """Host singular values (descending) of a synthetic pretrained matrix.

    ``"power_law"``: ``sigma_i = sigma1 * i^-decay`` (the study's ``3 i^-1``).
    ``"gapped"``: ``n_top`` values equally spaced from ``sigma1`` down to ``sigma1 / 2``,
    then a bulk equally spaced from ``bulk * sigma1`` down to ``bulk * sigma1 / 10`` (a
    gap of ``(1/2 - bulk) sigma1`` below the top).

    Examples
    --------
    >>> spectrum_values(4, decay=1.0, sigma1=2.0).tolist()
    [2.0, 1.0, 0.6666666666666666, 0.5]
    >>> spectrum_values(5, "gapped", sigma1=1.0, n_top=2, bulk=0.2).round(3).tolist()
    [1.0, 0.5, 0.2, 0.11, 0.02]
    """
    q = check_int(q, "q", low=1)
    kind = check_choice(kind, "spectrum", ("power_law", "gapped"))
    sigma1 = check_float(sigma1, "sigma1", low=0.0, low_inclusive=False)
    if kind == "power_law":
        decay = check_float(decay, "decay", low=0.0)
        return sigma1 * np.arange(1, q + 1, dtype=np.float64) ** (-decay)
    n_top = check_int(n_top, "n_top", low=1, high=q, high_label="min(m, n)")
    bulk = check_float(bulk, "bulk", low=0.0, high=0.5, low_inclusive=False, high_inclusive=False)
    top = sigma1 * np.linspace(1.0, 0.5, n_top) if n_top > 1 else np.array([sigma1])
    rest = q - n_top
    low = bulk * sigma1 * (np.linspace(1.0, 0.1, rest) if rest > 1 else np.ones(rest))
    return np.concatenate([top, low])


def pretrained_weights(m: int, n: int, *, spectrum: str = "power_law", sigma1: float = 3.0, decay: float = 1.0,
                       n_top: int = 10, bulk: float = 0.2, rng: Any = None, xp: Any = None, like: Any = None,
                       dtype: Any = None) -> Any:
    """A "pretrained" ``m x n`` weight with a controlled spectrum.

    Parameters
    ----------
    m, n : int
    spectrum : {"power_law", "gapped", "iid"}
        ``"power_law"`` and ``"gapped"``: ``U0 diag(sigma) V0^T`` with Haar singular
        vectors and :func:`spectrum_values`.  ``"iid"``: Gaussian entries scaled so that
        the Marchenko-Pastur edge ``(sqrt(m) + sqrt(n)) s`` equals ``sigma1`` (a bulk with
        no gap: the control of the study design's pitfalls).
    sigma1, decay, n_top, bulk : float / int
        See :func:`spectrum_values`.
    rng, xp, like, dtype
        Host random stream, target namespace (or an array to sit next to), dtype.

    Examples
    --------
    >>> import numpy as np
    >>> W0 = pretrained_weights(20, 10, sigma1=3.0, rng=0)
    >>> np.round(np.linalg.svd(W0, compute_uv=False)[:3], 6).tolist()
    [3.0, 1.5, 1.0]
    """
    m = check_int(m, "m", low=1)
    n = check_int(n, "n", low=1)
    spectrum = check_choice(spectrum, "spectrum", SPECTRA)
    gen = backend.as_generator(rng)
    if spectrum == "iid":
        sigma1 = check_float(sigma1, "sigma1", low=0.0, low_inclusive=False)
        return backend.random_normal((m, n), rng=gen, xp=xp, like=like, dtype=dtype,
                                     scale=sigma1 / (math.sqrt(m) + math.sqrt(n)))
    values = spectrum_values(min(m, n), spectrum, sigma1=sigma1, decay=decay, n_top=n_top, bulk=bulk)
    if like is not None:
        xp = backend.array_namespace(like)
    xp = xp if xp is not None else backend.get_namespace("numpy")
    W = low_rank_matrix(m, n, min(m, n), spectrum=backend.asarray(values, xp=xp), rng=gen, xp=xp).matrix
    if like is not None:
        W = backend.asarray(W, like=like)
    return W if dtype is None else xp.astype(W, dtype)


# =========================================================================== #
# covariances and target updates (host NumPy, moved at the end)
# =========================================================================== #
def _haar(d: int, k: int, gen: np.random.Generator) -> np.ndarray:
    Q, R = np.linalg.qr(gen.standard_normal((d, k)))
    return Q * np.where(np.diag(R) < 0, -1.0, 1.0)


def input_covariance(n: int, kind: str = "isotropic", *, decay: float = 1.0, basis: Any = None,
                     rng: Any = None, xp: Any = None, like: Any = None) -> Any:
    """Input covariance ``Sigma`` (``n x n``, trace ``n``).

    ``"isotropic"``: the identity.  ``"anisotropic"``: eigenvalues proportional to
    ``i^-decay`` (rescaled to mean 1) with Haar eigenvectors, or the columns of
    ``basis`` (``n x n`` orthonormal, most important first) when given.

    Examples
    --------
    >>> import numpy as np
    >>> S = input_covariance(4, "anisotropic", decay=1.0, rng=0)
    >>> round(float(np.trace(S)), 10), bool(np.all(np.linalg.eigvalsh(S) > 0))
    (4.0, True)
    """
    n = check_int(n, "n", low=1)
    kind = check_choice(kind, "kind", ("isotropic", "anisotropic"))
    if kind == "isotropic":
        S = np.eye(n)
    else:
        decay = check_float(decay, "decay", low=0.0)
        lam = np.arange(1, n + 1, dtype=np.float64) ** (-decay)
        lam *= n / lam.sum()
        if basis is None:
            Q = _haar(n, n, backend.as_generator(rng))
        else:
            Q = np.asarray(backend.to_numpy(check_array(basis, "basis", ndim=2)), dtype=np.float64)
            if Q.shape != (n, n) or not np.allclose(Q.T @ Q, np.eye(n), atol=1e-8):
                raise ValueError(f"basis must be an orthonormal {n} x {n} matrix, got shape {Q.shape}")
        S = (Q * lam) @ Q.T
        S = 0.5 * (S + S.T)
    if like is not None:
        return backend.asarray(S, like=like, dtype=like.dtype)
    return backend.asarray(S, xp=xp if xp is not None else backend.get_namespace("numpy"))


def _mixed_basis(T: np.ndarray, a: float, k: int, gen: np.random.Generator) -> np.ndarray:
    """``k`` orthonormal columns whose overlap ``||T^T V||_F^2 / k`` with ``span(T)`` is exactly ``a``."""
    d, t = T.shape
    G = gen.standard_normal((d, k))
    inside = T @ (T.T @ G)
    outside = G - inside
    parts = []
    if a > 0:
        if t < k:
            raise ValueError(f"align_rank must be >= rank={k} for alignment > 0, got {t}")
        parts.append(math.sqrt(a) * np.linalg.qr(inside)[0])
    if a < 1:
        if d - t < k:
            raise ValueError(f"the complement of the aligned subspace ({d - t} dims) must hold rank={k} "
                             f"directions for alignment < 1")
        parts.append(math.sqrt(1 - a) * np.linalg.qr(outside)[0])
    return sum(parts)


def target_update(W0: Any, rank: int, *, norm: float = 0.4, spectrum: str = "flat", decay: float = 1.0,
                  alignment: float | None = None, align_with: str = "w0", align_rank: int | None = None,
                  input_basis: Any = None, residual: float = 0.0, rng: Any = None) -> Any:
    """The target update ``dW*`` of a downstream task (same shape, namespace and device as ``W0``).

    ``dW* = U* diag(s) V*^T + E`` with

    * ``s``: ``rank`` values with ``s_1 = norm * sigma_1(W0)``, all equal (``"flat"``) or
      ``s_i = s_1 i^-decay`` (``"power_law"``);
    * ``U*``, ``V*``: Haar (``alignment=None``), or with a controlled overlap
      ``||T^T V*||_F^2 / rank = alignment`` with a subspace ``T``: the top ``align_rank``
      (default ``rank``) left and right singular vectors of ``W0`` (``align_with="w0"``;
      both sides aligned), or the top input-covariance eigenvectors ``input_basis``
      (``align_with="input"``; right side only, ``n x >= align_rank`` orthonormal columns);
    * ``E``: a dense Gaussian part with spectral norm ``residual * sigma_1(W0)`` (0: none),
      the "small full-rank part" of the study design.

    Examples
    --------
    >>> import numpy as np
    >>> W0 = pretrained_weights(12, 10, rng=0)
    >>> dW = target_update(W0, 2, norm=0.5, alignment=1.0, rng=1)
    >>> U0 = np.linalg.svd(W0)[0][:, :2]
    >>> Ut = np.linalg.svd(dW)[0][:, :2]
    >>> round(float(np.linalg.norm(U0.T @ Ut) ** 2 / 2), 6)
    1.0
    """
    W0 = check_array(W0, "W0", ndim=2)
    m, n = W0.shape
    rank = check_int(rank, "rank", low=1, high=min(m, n), high_label="min(m, n)")
    norm = check_float(norm, "norm", low=0.0)
    spectrum = check_choice(spectrum, "spectrum", ("flat", "power_law"))
    residual = check_float(residual, "residual", low=0.0)
    align_with = check_choice(align_with, "align_with", ("w0", "input"))
    gen = backend.as_generator(rng)
    W0h = np.asarray(backend.to_numpy(W0), dtype=np.float64)
    U0, s0, V0t = np.linalg.svd(W0h, full_matrices=False)
    sigma1 = float(s0[0])
    if spectrum == "flat":
        s = np.full(rank, norm * sigma1)
    else:
        s = norm * sigma1 * np.arange(1, rank + 1, dtype=np.float64) ** (-check_float(decay, "decay", low=0.0))
    if alignment is None:
        U = _haar(m, rank, gen)
        V = _haar(n, rank, gen)
    else:
        a = check_float(alignment, "alignment", low=0.0, high=1.0)
        t = rank if align_rank is None else check_int(align_rank, "align_rank", low=rank, high=min(m, n),
                                                       high_label="min(m, n)")
        if align_with == "w0":
            U = _mixed_basis(U0[:, :t], a, rank, gen)
            V = _mixed_basis(V0t[:t].T, a, rank, gen)
        else:
            if input_basis is None:
                raise ValueError("align_with='input' needs input_basis (eigenvectors of the input covariance)")
            T = np.asarray(backend.to_numpy(check_array(input_basis, "input_basis", ndim=2)), dtype=np.float64)
            if T.shape[0] != n or T.shape[1] < t:
                raise ValueError(f"input_basis must have shape (n={n}, >= {t}), got {T.shape}")
            U = _haar(m, rank, gen)
            V = _mixed_basis(T[:, :t], a, rank, gen)
    dW = (U * s) @ V.T
    if residual > 0:
        E = gen.standard_normal((m, n))
        dW = dW + residual * sigma1 * E / np.linalg.norm(E, 2)
    return backend.asarray(dW, like=W0, dtype=W0.dtype)


# =========================================================================== #
# tasks
# =========================================================================== #
@dataclass(frozen=True, repr=False)
class Task:
    """A downstream task on a pretrained model.

    Attributes
    ----------
    X_train, Y_train : arrays (N, n_in), (N, n_out)
        Fine-tuning data; ``Y`` from the teacher ``W0 + dW*`` (plus noise), or one-hot
        argmax labels under the cross-entropy loss.
    X_test, Y_test : arrays
        Held-out data of the same task.
    W0 : dict
        The pretrained weights (reference of forgetting and of every diagnostic).
    delta_star : dict
        The target update per weight (absent: no change).
    sigma_pre : array (n_in, n_in)
        Covariance of the pretraining inputs (the forgetting probe of linear models).
    X_source, Y_source : arrays or None
        Pretraining samples labelled by ``W0`` (the forgetting probe of the MLP).
    input_cov : array (n_in, n_in)
        Covariance of the fine-tuning inputs.
    params : dict
        How the task was made (for records).
    """

    X_train: Any
    Y_train: Any
    X_test: Any
    Y_test: Any
    W0: Mapping[str, Any]
    delta_star: Mapping[str, Any]
    sigma_pre: Any
    input_cov: Any
    X_source: Any = None
    Y_source: Any = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("X_train", "Y_train", "X_test", "Y_test"):
            check_array(getattr(self, name), name, ndim=2)
        if self.X_train.shape[0] != self.Y_train.shape[0] or self.X_test.shape[0] != self.Y_test.shape[0]:
            raise ValueError("X and Y must have the same number of rows (train and test)")
        unknown = [k for k in self.delta_star if k not in self.W0]
        if unknown:
            raise ValueError(f"delta_star names weights {unknown} that W0 lacks ({list(self.W0)})")

    @property
    def n_train(self) -> int:
        return int(self.X_train.shape[0])

    @property
    def target_weights(self) -> dict:
        """``W0 + dW*``: the teacher of the task."""
        return merge(self.W0, self.delta_star)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}: {tuple(v.shape)}" for k, v in self.W0.items())
        return (f"Task(n_train={self.n_train}, n_test={self.X_test.shape[0]}, W0={{{shapes}}}, "
                f"targets={list(self.delta_star)})")


def _gaussian_rows(N: int, cov: np.ndarray, gen: np.random.Generator) -> np.ndarray:
    lam, Q = np.linalg.eigh(cov)
    root = Q * np.sqrt(np.clip(lam, 0.0, None))
    return gen.standard_normal((N, cov.shape[0])) @ root.T


def _labels(model: Model, weights: Mapping[str, Any], X: Any, noise: float, gen: np.random.Generator) -> Any:
    F = model.predict(weights, X)
    xp = backend.array_namespace(F)
    if model.loss_kind == "cross_entropy":
        C = F.shape[1]
        idx = xp.argmax(F, axis=1)
        return xp.astype(idx[:, None] == xp.arange(C, device=backend.device(F))[None, :], F.dtype)
    if noise > 0:
        F = F + backend.random_normal(tuple(F.shape), rng=gen, like=F, scale=noise)
    return F


def make_task(model: Model, W0: Mapping[str, Any], delta_star: Mapping[str, Any], *, n_train: int,
              n_test: int = 1000, input_cov: Any = None, sigma_pre: Any = None, n_source: int = 0,
              noise: float = 0.0, rng: Any = None, params: Mapping[str, Any] | None = None) -> Task:
    """A :class:`Task` from pretrained weights and a target update: samples and teacher labels.

    Parameters
    ----------
    model : Model
    W0 : dict
        Pretrained weights (all of the model's weights).
    delta_star : dict
        Target updates for some of them.
    n_train, n_test : int
        Fine-tuning and test samples, ``x ~ N(0, input_cov)``.
    input_cov, sigma_pre : array (n_in, n_in), optional
        Fine-tuning and pretraining input covariances (default: identity).
    n_source : int, default 0
        Pretraining samples ``x ~ N(0, sigma_pre)`` labelled by ``W0`` (needed by the
        forgetting probe of non-linear models).
    noise : float, default 0
        Standard deviation of Gaussian label noise (squared loss; fine-tuning data only).
    rng : seed or Generator

    Examples
    --------
    >>> import numpy as np
    >>> model = linear(3, 2)
    >>> W0 = {"W": np.ones((2, 3))}
    >>> task = make_task(model, W0, {"W": np.eye(2, 3)}, n_train=5, rng=0)
    >>> bool(np.allclose(task.Y_train, task.X_train @ (np.ones((2, 3)) + np.eye(2, 3)).T))
    True
    """
    if not isinstance(model, Model):
        raise TypeError(f"model must be a Model, got {type(model).__name__}")
    model.check_weights(W0)
    n_train = check_int(n_train, "n_train", low=1)
    n_test = check_int(n_test, "n_test", low=1)
    n_source = check_int(n_source, "n_source", low=0)
    noise = check_float(noise, "noise", low=0.0)
    gen = backend.as_generator(rng)
    like = W0[model.matrices[0]]
    n_in = model.n_in

    def _cov(C: Any, name: str) -> np.ndarray:
        if C is None:
            return np.eye(n_in)
        C = np.asarray(backend.to_numpy(check_array(C, name, ndim=2)), dtype=np.float64)
        if C.shape != (n_in, n_in) or not np.allclose(C, C.T, atol=1e-10 * max(1.0, np.abs(C).max())):
            raise ValueError(f"{name} must be a symmetric {n_in} x {n_in} matrix, got shape {C.shape}")
        return C

    cov_ft = _cov(input_cov, "input_cov")
    cov_pre = _cov(sigma_pre, "sigma_pre")
    target = merge(W0, delta_star)
    dt = like.dtype  # data in the weights' precision (float32 weights, float32 data)
    X_train = backend.asarray(_gaussian_rows(n_train, cov_ft, gen), like=like, dtype=dt)
    X_test = backend.asarray(_gaussian_rows(n_test, cov_ft, gen), like=like, dtype=dt)
    Y_train = _labels(model, target, X_train, noise, gen)
    Y_test = _labels(model, target, X_test, 0.0, gen)
    X_source = Y_source = None
    if n_source:
        X_source = backend.asarray(_gaussian_rows(n_source, cov_pre, gen), like=like, dtype=dt)
        Y_source = _labels(model, W0, X_source, 0.0, gen)
    return Task(X_train, Y_train, X_test, Y_test, dict(W0), dict(delta_star),
                backend.asarray(cov_pre, like=like, dtype=dt), backend.asarray(cov_ft, like=like, dtype=dt),
                X_source, Y_source, dict(params or {}))


def synthetic_task(model: Model, *, rank: int = 4, norm: float = 0.4, n_train: int = 24, n_test: int = 1000,
                   spectrum: str = "power_law", sigma1: float = 3.0, decay: float = 1.0, n_top: int = 10,
                   bulk: float = 0.2, target_spectrum: str = "flat", target_decay: float = 1.0,
                   alignment: float | None = None, align_with: str = "w0", align_rank: int | None = None,
                   residual: float = 0.0, target_layers: Any = None, inputs: str = "isotropic",
                   input_decay: float = 1.0, pretrain_inputs: str = "isotropic", n_source: int | None = None,
                   noise: float = 0.0, W0: Mapping[str, Any] | None = None, rng: Any = None, xp: Any = None,
                   dtype: Any = None) -> Task:
    """The study's testbed for any model: pretrained weights, a controlled ``dW*``, Gaussian data.

    Every weight matrix of ``model`` gets :func:`pretrained_weights` (``spectrum``,
    ``sigma1``, ...); biases start at 0.  The layers in ``target_layers`` (default: every
    matrix) get a :func:`target_update`.  Inputs are isotropic or anisotropic
    (:func:`input_covariance`; with ``align_with="input"`` the target's right vectors
    align with the fine-tuning inputs' top eigenvectors).  Streams, in order: pretrained
    weights, covariances, target updates, data (``rng`` is split with
    ``SeedSequence.spawn``; passing ``W0`` skips the first).

    Examples
    --------
    >>> from lowrank_lab.adapters.models import mlp
    >>> task = synthetic_task(mlp(8, 6, 3), rank=1, n_train=10, target_layers=("W1",), rng=0)
    >>> sorted(task.delta_star), task.X_source.shape
    (['W1'], (1000, 8))
    """
    if not isinstance(model, Model):
        raise TypeError(f"model must be a Model, got {type(model).__name__}")
    g_w0, g_cov, g_target, g_data = backend.spawn_generators(rng, 4)
    if xp is None:
        xp = backend.get_namespace("numpy")
    if W0 is None:
        W0 = {}
        for k, shape in model.shapes.items():
            if len(shape) == 2:
                W0[k] = pretrained_weights(*shape, spectrum=spectrum, sigma1=sigma1, decay=decay, n_top=n_top,
                                           bulk=bulk, rng=g_w0, xp=xp, dtype=dtype)
            else:
                W0[k] = xp.zeros(shape, dtype=dtype or xp.float64)
    else:
        model.check_weights(W0)
        W0 = dict(W0)
    layers = model.matrices if target_layers is None else tuple(target_layers)
    for k in layers:
        if k not in model.matrices:
            raise ValueError(f"target_layers must name weight matrices of the model {model.matrices}, got {k!r}")
    like = W0[model.matrices[0]]
    n_in = model.n_in
    cov_ft = input_covariance(n_in, inputs, decay=input_decay, rng=g_cov, like=like)
    cov_pre = input_covariance(n_in, pretrain_inputs, decay=input_decay, rng=g_cov, like=like)
    basis = None
    if align_with == "input":
        lam, Q = np.linalg.eigh(np.asarray(backend.to_numpy(cov_ft)))
        basis = Q[:, ::-1]
    delta = {}
    for k in layers:
        if align_with == "input" and model.shapes[k][1] != n_in:
            raise ValueError(f"align_with='input' aligns layers that read the inputs; {k!r} has "
                             f"{model.shapes[k][1]} inputs, not n_in={n_in}")
        delta[k] = target_update(W0[k], rank, norm=norm, spectrum=target_spectrum, decay=target_decay,
                                 alignment=alignment, align_with=align_with, align_rank=align_rank,
                                 input_basis=basis, residual=residual, rng=g_target)
    if n_source is None:
        n_source = 0 if model.linear_map(W0) is not None else 1000
    params = {"model": model.name, "rank": rank, "norm": norm, "n_train": n_train, "spectrum": spectrum,
              "sigma1": sigma1, "decay": decay, "alignment": alignment, "align_with": align_with,
              "residual": residual, "inputs": inputs, "pretrain_inputs": pretrain_inputs, "noise": noise}
    return make_task(model, W0, delta, n_train=n_train, n_test=n_test, input_cov=cov_ft, sigma_pre=cov_pre,
                     n_source=n_source, noise=noise, rng=g_data, params=params)


def linear_task(n_in: int, n_out: int | None = None, **kwargs: Any) -> Task:
    """:func:`synthetic_task` for the linear layer ``linear(n_in, n_out)`` (square by default).

    The study's E3 setup is ``linear_task(64, rank=4, norm=0.4, n_train=24)`` with the
    power-law ``W0`` (``sigma_i = 3 i^-1``).
    """
    return synthetic_task(linear(n_in, n_in if n_out is None else n_out), **kwargs)


def task_sequence(model: Model, n_tasks: int, *, cumulative: bool = True, rng: Any = None,
                  **kwargs: Any) -> tuple[Task, ...]:
    """``n_tasks`` tasks on the same pretrained weights, each with its own update and fresh data.

    For continual fine-tuning (:func:`~lowrank_lab.adapters.training.finetune_sequence`):
    task ``t`` is trained from the merged weights of task ``t - 1``; every task keeps the
    pretrained ``W0`` as its reference.  Task ``t`` draws an independent update ``E_t`` (as
    :func:`synthetic_task` would).  ``cumulative=True`` (default): its teacher is
    ``W0 + E_1 + ... + E_t``, so knowledge accumulates and the earlier tasks stay valid
    (reconstruction: a linear stand-in for learning new skills in sequence);
    ``cumulative=False``: ``W0 + E_t``, independent (conflicting) tasks.  ``kwargs`` go
    to :func:`synthetic_task`.

    Examples
    --------
    >>> import numpy as np
    >>> tasks = task_sequence(linear(8, 8), 3, rank=1, n_train=4, rng=0)
    >>> len(tasks), tasks[0].W0["W"] is tasks[2].W0["W"]
    (3, True)
    >>> int(np.linalg.matrix_rank(tasks[2].delta_star["W"]))      # three rank-one updates so far
    3
    """
    n_tasks = check_int(n_tasks, "n_tasks", low=1)
    if not isinstance(cumulative, bool):
        raise TypeError(f"cumulative must be a bool, got {cumulative!r}")
    gens = backend.spawn_generators(rng, n_tasks + 1)
    first = synthetic_task(model, rng=gens[0], **kwargs)
    tasks = [first]
    total = dict(first.delta_star)
    for t in range(1, n_tasks):
        own = synthetic_task(model, W0=first.W0, rng=gens[t], **kwargs)
        if not cumulative:
            tasks.append(own)
            continue
        total = {k: total[k] + v for k, v in own.delta_star.items()}
        data_gen = backend.spawn_generators(gens[t], 1)[0]
        tasks.append(make_task(model, first.W0, total, n_train=own.n_train, n_test=int(own.X_test.shape[0]),
                               input_cov=own.input_cov, sigma_pre=own.sigma_pre,
                               n_source=0 if own.X_source is None else int(own.X_source.shape[0]),
                               noise=float(own.params.get("noise", 0.0)), rng=data_gen,
                               params={**own.params, "task": t + 1, "cumulative": True}))
    return tuple(tasks)


# =========================================================================== #
# probes
# =========================================================================== #
def forgetting(model: Model, task: Task, weights: Mapping[str, Any]) -> Any:
    """The forgetting probe (0-d array): how far ``weights`` moved on the pretraining distribution.

    Linear models: ``E_{x ~ N(0, Sigma_pre)} ||(M - M0) x||^2 = tr(dM Sigma_pre dM^T)`` with
    ``M`` the end-to-end matrix (``M = W`` for a linear layer).  Other models: the loss on
    the task's source samples (labelled by ``W0``).

    Examples
    --------
    >>> import numpy as np
    >>> task = linear_task(4, rank=1, n_train=3, rng=0)
    >>> W = {"W": task.W0["W"] + np.eye(4)}
    >>> float(forgetting(linear(4, 4), task, W))          # tr(I I I) with Sigma_pre = I
    4.0
    """
    M = model.linear_map(weights)
    if M is not None:
        dM = M - model.linear_map(task.W0)
        xp = backend.array_namespace(dM)
        return xp.sum((dM @ task.sigma_pre) * dM)
    if task.X_source is None:
        raise ValueError("forgetting of a non-linear model needs source samples: build the task with n_source > 0")
    return model.loss(weights, task.X_source, task.Y_source)


def minimum_norm_update(task: Task, model: Model | None = None) -> Any:
    """The smallest update fitting the training data of a linear layer: ``dW = R^T (X^+)^T``.

    ``R = Y - X W0^T``.  Gradient descent on the full ``dW`` from 0 (full fine-tuning
    with the squared loss) converges to it, since every gradient ``R^T X`` lies in the
    row span of ``X``: the reference update of full fine-tuning on a linear task.
    """
    if list(task.W0) != ["W"]:
        raise ValueError(f"minimum_norm_update needs a linear-layer task (weights ['W']), got {list(task.W0)}")
    X = task.X_train
    xp = backend.array_namespace(X)
    R = task.Y_train - X @ xp.matrix_transpose(task.W0["W"])
    return xp.matrix_transpose(xp.linalg.pinv(X) @ R)


def row_space_residual(delta: Any, X: Any) -> Any:
    """``||dW (I - P_X)||_F``: the part of an update outside the row span of the data ``X`` (N x n).

    Full gradient descent from ``dW = 0`` keeps it at 0; LoRA does not (its ``B A_init``
    term carries the random ``A_init`` directions the data never constrain).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.eye(2, 4)                      # the data span e1, e2
    >>> float(row_space_residual(np.ones((3, 4)), X) ** 2)
    6.0
    """
    xp = backend.array_namespace(delta, X)
    _, s, Vt = linalg.svd(X)
    keep = s > s[0] * max(X.shape) * xp.finfo(X.dtype).eps
    Vt = Vt[: int(xp.sum(xp.astype(keep, xp.int64))), :]  # orthonormal basis of the row span
    outside = delta - (delta @ xp.matrix_transpose(Vt)) @ Vt
    return xp.sqrt(xp.sum(outside * outside))
