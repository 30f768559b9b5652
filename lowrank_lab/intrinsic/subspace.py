"""Subspace training of the adapter lab's models: a frozen random basis is an adapter.

Two model-scope adapters (:class:`lowrank_lab.adapters.Adapter`, ``scope="model"``)
that act on **every** tensor of a model's weights dict (matrices and biases), laid out
as one flat vector by :class:`~lowrank_lab.intrinsic.projections.ParameterLayout`:

:func:`subspace_adapter` (DID, Li et al. 2018)
    ``theta = theta_0 + P z`` with ``z = 0`` at the start and ``P`` (``D x d``) a
    dense, sparse or Fastfood projection with unit-norm columns
    (:mod:`lowrank_lab.intrinsic.projections`); ``d`` trainable scalars.
:func:`said_adapter` (SAID, Aghajanyan et al. 2021)
    ``theta_i = theta_{0,i} + lambda_i (P z)_i`` for each of the ``m`` tensors, one
    trainable ``lambda_i`` per tensor (initialized to 1), ``z`` with ``d - m``
    entries, so the budget is exactly ``d``.

Both go through :func:`lowrank_lab.adapters.finetune` with any of its optimizers; the
projection and the layout sit in ``state.frozen`` (``"projection"``, ``"layout"``:
objects, not arrays, which ``finetune`` only passes along).  ``delta`` is one
``apply`` of ``P``, ``pullback`` one ``adjoint`` (SAID: one more ``apply`` for the
``lambda`` gradient), so the structured projections never form ``P``.  Run them with
``diagnostics="none"`` (the spectral diagnostics of ``finetune`` are meant for
low-rank adapters of single matrices and cost more than the step here).

:func:`classification_task` wraps labelled data (e.g. :func:`lowrank_lab.datasets.digits`)
as an adapter-lab :class:`~lowrank_lab.adapters.Task` with randomly initialized
``W0`` (training from scratch, Li et al.'s setting).

Examples
--------
>>> import numpy as np
>>> from lowrank_lab.adapters import adam, finetune, mlp
>>> from lowrank_lab.datasets import digits
>>> model = mlp(64, 32, 10, loss="cross_entropy")
>>> task = classification_task(model, digits(), rng=0)
>>> res = finetune(model, task, subspace_adapter(200, "fastfood"), adam(0.05), steps=100, rng=1,
...                diagnostics="none")
>>> res.params["num_params"], bool(accuracy(model, res.weights, task.X_test, task.Y_test) > 0.5)
(200, True)
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import backend
from .._validation import check_choice, check_int
from ..adapters.models import Model, dense_gradient
from ..adapters.parameterizations import Adapter, AdapterState
from ..adapters.tasks import Task
from .projections import PROJECTIONS, ParameterLayout, make_projection

__all__ = ["accuracy", "classification_task", "said_adapter", "subspace_adapter"]


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #
def _layout_of(weights: Any, who: str) -> ParameterLayout:
    if not isinstance(weights, Mapping) or not weights:
        raise TypeError(f"{who} is a model-scope adapter: init takes the whole weights dict, "
                        f"got {type(weights).__name__}")
    return ParameterLayout.from_params(weights)


def _projection(kind: str, D: int, d: int, layout: ParameterLayout, per_tensor_density: bool, rng: Any,
                like: Any) -> Any:
    options: dict[str, Any] = {"rng": rng, "like": like}
    if kind == "sparse" and per_tensor_density:
        options["segments"] = list(layout.sizes)
    return make_projection(kind, D, d, **options)


def _flat_gradient(layout: ParameterLayout, G: Mapping[str, Any]) -> Any:
    return layout.flatten({k: dense_gradient(G[k]) for k in layout.names})


def _zeros(n: int, like: Any) -> Any:
    xp = backend.array_namespace(like)
    return xp.zeros((n,), dtype=like.dtype, device=backend.device(like))


def _ones(n: int, like: Any) -> Any:
    xp = backend.array_namespace(like)
    return xp.ones((n,), dtype=like.dtype, device=backend.device(like))


def _check_kind(projection: str, per_tensor_density: bool) -> str:
    projection = check_choice(projection, "projection", tuple(PROJECTIONS))
    if not isinstance(per_tensor_density, bool):
        raise TypeError(f"per_tensor_density must be a bool, got {per_tensor_density!r}")
    return projection


# --------------------------------------------------------------------------- #
# DID: theta = theta_0 + P z
# --------------------------------------------------------------------------- #
def _did_init(d: int, kind: str, per_tensor: bool, weights: Mapping[str, Any], rng: Any = None) -> AdapterState:
    layout = _layout_of(weights, "subspace_adapter")
    D = layout.size
    check_int(d, "d", low=1, high=D, high_label="number of parameters D")
    like = next(iter(weights.values()))
    P = _projection(kind, D, d, layout, per_tensor, backend.as_generator(rng), like)
    return AdapterState({"z": _zeros(d, like)}, {"projection": P, "layout": layout})


def _did_delta(state: AdapterState) -> dict:
    P, layout = state.frozen["projection"], state.frozen["layout"]
    return layout.unflatten(P.apply(state.params["z"]))


def _did_pullback(state: AdapterState, G: Mapping[str, Any]) -> dict:
    P, layout = state.frozen["projection"], state.frozen["layout"]
    return {"z": P.adjoint(_flat_gradient(layout, G))}


def _budget(d: int, shapes: Any) -> int:
    return d


def subspace_adapter(d: int, projection: str = "fastfood", *, per_tensor_density: bool = False) -> Adapter:
    """Training in a random ``d``-dimensional affine subspace (Li et al. 2018) as a model-scope adapter.

    ``theta = theta_0 + P z`` over the flat vector of **all** the model's tensors
    (matrices and biases, in the weights dict's order), ``z = 0`` at the start (so
    the merged weights are exactly ``theta_0`` at step 0), ``P`` of shape ``D x d``
    with unit-norm columns, drawn at ``init`` from the adapter's stream and frozen.
    Each column is normalized over all layers together (one flat vector).  The
    gradient in ``z`` is ``P^T g`` with ``g`` the flattened ``dL/dtheta``.

    Parameters
    ----------
    d : int
        Subspace dimension (the trainable budget), ``1 <= d <= D`` (checked at ``init``).
    projection : {"dense", "sparse", "fastfood"}, default "fastfood"
        See :mod:`lowrank_lab.intrinsic.projections`; dense stores ``D d`` numbers.
    per_tensor_density : bool, default False
        Sparse only: the reference code's per-tensor densities ``1/sqrt(D_i)``
        (``segments=layout.sizes``); default one global density ``1/sqrt(D)``.

    Returns
    -------
    Adapter
        ``scope="model"``, ``params = {"z"}``, ``frozen = {"projection", "layout"}``,
        ``num_params = d``.

    Examples
    --------
    >>> import numpy as np
    >>> adapter = subspace_adapter(3, "dense")
    >>> state = adapter.init({"W": np.zeros((4, 2)), "b": np.zeros(4)}, rng=0)
    >>> adapter.num_params({"W": (4, 2), "b": (4,)}), state.frozen["projection"].shape
    (3, (12, 3))
    >>> float(np.abs(adapter.delta(state)["W"]).max())           # z = 0: theta_0 exactly
    0.0
    """
    d = check_int(d, "d", low=1)
    projection = _check_kind(projection, per_tensor_density)
    return Adapter(
        f"subspace_{projection}",
        functools.partial(_did_init, d, projection, per_tensor_density),
        _did_delta,
        _did_pullback,
        functools.partial(_budget, d),
        "model",
        {"d": d, "projection": projection, "per_tensor_density": per_tensor_density},
    )


# --------------------------------------------------------------------------- #
# SAID: theta_i = theta_0,i + lambda_i (P z)_i
# --------------------------------------------------------------------------- #
def _said_init(d: int, kind: str, per_tensor: bool, weights: Mapping[str, Any], rng: Any = None) -> AdapterState:
    layout = _layout_of(weights, "said_adapter")
    D, m = layout.size, layout.n_tensors
    if d <= m:
        raise ValueError(f"said_adapter needs d > m = {m} (one lambda per tensor is counted against d), got d={d}")
    check_int(d - m, "d - m", low=1, high=D, high_label="number of parameters D")
    like = next(iter(weights.values()))
    P = _projection(kind, D, d - m, layout, per_tensor, backend.as_generator(rng), like)
    return AdapterState({"z": _zeros(d - m, like), "lam": _ones(m, like)}, {"projection": P, "layout": layout})


def _said_delta(state: AdapterState) -> dict:
    P, layout = state.frozen["projection"], state.frozen["layout"]
    return layout.unflatten(layout.scale_segments(P.apply(state.params["z"]), state.params["lam"]))


def _said_pullback(state: AdapterState, G: Mapping[str, Any]) -> dict:
    P, layout = state.frozen["projection"], state.frozen["layout"]
    g = _flat_gradient(layout, G)
    lam = state.params["lam"]
    return {"z": P.adjoint(layout.scale_segments(g, lam)),
            "lam": layout.segment_dots(P.apply(state.params["z"]), g)}


def said_adapter(d: int, projection: str = "fastfood", *, per_tensor_density: bool = False) -> Adapter:
    """Structure-aware intrinsic dimension (SAID, Aghajanyan et al. 2021) as a model-scope adapter.

    ``theta_i = theta_{0,i} + lambda_i (P z)_i`` for each of the ``m`` tensors of the
    weights dict, with one global ``P`` (``D x (d - m)``, unit-norm columns) over the
    flat vector and one trainable scalar ``lambda_i`` per tensor, initialized to 1.

    **Budget: z has d - m entries**, ``lambda`` has ``m``, so exactly ``d`` scalars are
    trained, as the paper's notation ``theta^{d-m}`` for the projected part says
    ("the m scaling parameters count against d").  Circulating copies of SAID code
    subtract ``m + 1`` (their ``m`` counts every named parameter while ``lambda``
    has one entry per selected tensor, and they reserve one more); the paper gives no
    reason for the extra one, so we do not.  With ``d - m`` entries, SAID at budget
    ``d`` is comparable to :func:`subspace_adapter` at the same ``d`` on the
    trainable-parameter axis.  Requires ``d > m``.

    Gradients: ``dL/dz = P^T (lambda (.) g)`` (block ``i`` of the flat gradient ``g``
    scaled by ``lambda_i``) and ``dL/dlambda_i = <(P z)_i, g_i>``; at ``z = 0`` the
    ``lambda`` gradient is 0, so ``lambda`` moves only once ``z`` has.
    (**Reconstruction**: the paper leaves open how ``lambda`` is initialized and
    whether ``P`` is global or per tensor; we take 1 and global.)

    Parameters
    ----------
    d : int
        The total budget (``z`` and ``lambda``), ``d > m`` (checked at ``init``).
    projection : {"dense", "sparse", "fastfood"}, default "fastfood"
    per_tensor_density : bool, default False
        As in :func:`subspace_adapter`.

    Returns
    -------
    Adapter
        ``scope="model"``, ``params = {"z", "lam"}``, ``num_params = d``.

    Examples
    --------
    >>> import numpy as np
    >>> adapter = said_adapter(5, "dense")
    >>> state = adapter.init({"W": np.zeros((4, 2)), "b": np.zeros(4)}, rng=0)
    >>> state.params["z"].shape, state.params["lam"].tolist(), adapter.num_params({})
    ((3,), [1.0, 1.0], 5)
    """
    d = check_int(d, "d", low=2)
    projection = _check_kind(projection, per_tensor_density)
    return Adapter(
        f"said_{projection}",
        functools.partial(_said_init, d, projection, per_tensor_density),
        _said_delta,
        _said_pullback,
        functools.partial(_budget, d),
        "model",
        {"d": d, "projection": projection, "per_tensor_density": per_tensor_density},
    )


# --------------------------------------------------------------------------- #
# classification data as an adapter-lab task
# --------------------------------------------------------------------------- #
def _one_hot(y: np.ndarray, n_classes: int) -> np.ndarray:
    out = np.zeros((y.shape[0], n_classes))
    out[np.arange(y.shape[0]), y] = 1.0
    return out


def classification_task(model: Model, data: Any, *, rng: Any = None, n_source: int = 100, xp: Any = None,
                        dtype: Any = None) -> Task:
    """Labelled data (``X_train, y_train, X_test, y_test``) as a :class:`~lowrank_lab.adapters.Task` trained from scratch.

    ``W0`` is the model's random initialization (:meth:`Model.init_weights`, PyTorch's
    ``nn.Linear`` rule) from ``rng``: Li et al. train from scratch, so ``theta_0`` is
    an initialization, not a pretrained network.  Labels become one-hot rows.  The
    forgetting probe of the adapter lab needs source samples: the first ``n_source``
    test images labelled by ``W0``'s own predictions.  ``delta_star`` is empty (no
    teacher), ``sigma_pre`` and ``input_cov`` are the empirical input covariance.

    Parameters
    ----------
    model : Model
        Its ``n_in`` must match the data's features and ``n_out`` the number of classes.
    data : object with ``X_train, y_train, X_test, y_test``
        E.g. :func:`lowrank_lab.datasets.digits` (host NumPy arrays).
    rng : seed or Generator
        The initialization ``W0``.
    n_source : int, default 100
    xp, dtype : optional
        Target namespace and dtype of every array (default NumPy float64).

    Examples
    --------
    >>> from lowrank_lab.adapters import mlp
    >>> from lowrank_lab.datasets import digits
    >>> task = classification_task(mlp(64, 16, 10, loss="cross_entropy"), digits(), rng=0)
    >>> task.Y_train.shape, sorted(task.W0)
    ((1347, 10), ['W1', 'W2', 'b1', 'b2'])
    """
    if not isinstance(model, Model):
        raise TypeError(f"model must be a Model, got {type(model).__name__}")
    X_train = np.asarray(data.X_train, dtype=np.float64)
    X_test = np.asarray(data.X_test, dtype=np.float64)
    y_train = np.asarray(data.y_train)
    y_test = np.asarray(data.y_test)
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    if X_train.shape[1] != model.n_in or n_classes > model.n_out:
        raise ValueError(f"model maps {model.n_in} -> {model.n_out}, data has {X_train.shape[1]} features "
                         f"and {n_classes} classes")
    n_source = check_int(n_source, "n_source", low=1)
    xp = backend.get_namespace(xp) if xp is None or isinstance(xp, str) else xp
    W0 = model.init_weights(rng, xp=xp, dtype=dtype)
    like = next(iter(W0.values()))

    def move(a: np.ndarray) -> Any:
        return backend.asarray(a, like=like, dtype=like.dtype)

    Xs = X_test[:n_source]
    pred = np.asarray(backend.to_numpy(model.predict(W0, move(Xs))))
    cov = np.cov(X_train, rowvar=False)
    return Task(move(X_train), move(_one_hot(y_train, model.n_out)), move(X_test),
                move(_one_hot(y_test, model.n_out)), W0, {}, move(cov), move(cov),
                move(Xs), move(_one_hot(np.argmax(pred, axis=1), model.n_out)),
                {"kind": "classification", "n_classes": n_classes, "n_source": n_source})


def accuracy(model: Model, weights: Mapping[str, Any], X: Any, Y: Any) -> float:
    """Fraction of rows whose predicted class (argmax) is the argmax of the one-hot ``Y``.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_lab.adapters import linear
    >>> accuracy(linear(2, 2, loss="cross_entropy"), {"W": np.eye(2)}, np.eye(2), np.eye(2))
    1.0
    """
    if not isinstance(model, Model):
        raise TypeError(f"model must be a Model, got {type(model).__name__}")
    F = model.predict(weights, X)
    xp = backend.array_namespace(F, Y)
    hits = xp.astype(xp.argmax(F, axis=1) == xp.argmax(Y, axis=1), F.dtype)
    return float(xp.mean(hits))
