"""Small models with analytic gradients: linear layer, deep linear network, two-layer MLP.

A model is a **value** (:class:`Model`, a frozen dataclass of plain functions): it holds
no weights.  Weights are a ``dict[str, array]`` of ``out x in`` matrices (and 1-D
biases where the model has them); samples are **rows**, so ``X`` is ``N x n_in`` and a
linear layer predicts ``Y = X W^T``.

Every model gives

* ``model.predict(weights, X)``: outputs (``N x n_out``; logits for the cross-entropy loss),
* ``model.loss(weights, X, Y)``: the mean loss over the ``N`` rows (0-d array),
* ``model.loss_and_grads(weights, X, Y)``: ``(loss, {name: dL/dname})`` for every weight,
  computed analytically by back-propagation (no autograd), batched, with Array API calls only,
* ``model.linear_map(weights)``: the end-to-end matrix of a linear model (None for the MLP).

Losses (``loss=``)
------------------
``"squared"``
    ``L = 1/(2N) sum_i ||f(x_i) - y_i||^2``, so ``dL/df = (f - Y) / N``.
``"cross_entropy"``
    Softmax cross-entropy against target distributions (one-hot rows or probabilities):
    ``L = -1/N sum_i sum_c y_ic log softmax(f(x_i))_c`` and
    ``dL/df = (softmax(f) * rowsum(Y) - Y) / N``.

Factored gradients
------------------
The gradient of every weight matrix is an outer product over the batch,
``G = D^T H`` (``D``: ``N x out`` back-propagated errors, ``H``: ``N x in`` layer inputs).
``loss_and_grads(..., factored=True)`` returns it unformed as an
:class:`OuterProduct`; adapters whose pullback only needs products with ``G`` (LoRA:
``G A^T`` and ``B^T G``) then never form the ``m x n`` matrix, which is what makes
the analytic LoRA step as cheap as autograd's (see ``benchmarks/bench_finetune.py``).

Examples
--------
>>> import numpy as np
>>> model = linear(3, 2)
>>> W = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
>>> X = np.eye(3)
>>> loss, grads = model.loss_and_grads({"W": W}, X, X @ W.T)
>>> float(loss), grads["W"].shape
(0.0, (2, 3))
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import backend
from .._validation import check_choice, check_int

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "Model",
    "OuterProduct",
    "deep_linear",
    "dense_gradient",
    "linear",
    "mlp",
]

#: Loss functions every model accepts.
LOSSES = ("squared", "cross_entropy")
#: Hidden activations of :func:`mlp`.
ACTIVATIONS = ("tanh", "relu")


# =========================================================================== #
# namespaces on the hot path
# =========================================================================== #
_NAMESPACES: dict[type, Any] = {}


def namespace(x: Any) -> Any:
    """``backend.array_namespace(x)`` memoized by array type (it costs ~25 us a call otherwise).

    The namespace of an array is a function of its type (NumPy, CuPy, ``array_api_strict``),
    so the training loop's per-step calls can share one lookup.
    """
    t = type(x)
    xp = _NAMESPACES.get(t)
    if xp is None:
        xp = _NAMESPACES[t] = backend.array_namespace(x)
    return xp


# =========================================================================== #
# factored gradients
# =========================================================================== #
@dataclass(frozen=True)
class OuterProduct:
    """A gradient ``G = left^T @ right`` kept unformed (``left``: N x m, ``right``: N x n).

    Examples
    --------
    >>> import numpy as np
    >>> G = OuterProduct(np.ones((2, 3)), np.eye(2, 4))
    >>> G.shape, G.dense()[0].tolist()
    ((3, 4), [1.0, 1.0, 0.0, 0.0])
    """

    left: Any
    right: Any

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.left.shape[1]), int(self.right.shape[1]))

    def dense(self) -> Any:
        """The ``m x n`` matrix ``left^T @ right``."""
        return self.left.T @ self.right

    def matmul(self, M: Any) -> Any:
        """``G @ M`` for ``M`` of shape (n, k), without forming ``G``."""
        return self.left.T @ (self.right @ M)

    def rmatmul(self, M: Any) -> Any:
        """``M @ G`` for ``M`` of shape (k, m), without forming ``G``."""
        return (M @ _transpose(self.left)) @ self.right


def _transpose(A: Any) -> Any:
    return A.T


def dense_gradient(G: Any) -> Any:
    """``G`` as an array (forms an :class:`OuterProduct`; arrays pass through)."""
    return G.dense() if isinstance(G, OuterProduct) else G


# =========================================================================== #
# the model value
# =========================================================================== #
@dataclass(frozen=True, repr=False)
class Model:
    """A model as a value: shapes, a loss, and plain functions for outputs and gradients.

    Build one with :func:`linear`, :func:`deep_linear` or :func:`mlp`.

    Attributes
    ----------
    name : str
        ``"linear"``, ``"deep_linear"`` or ``"mlp"``.
    shapes : dict
        ``name -> shape`` of every weight, in the model's order (``(out, in)`` for
        matrices, ``(out,)`` for biases).
    loss_kind : {"squared", "cross_entropy"}
    config : dict
        The builder's arguments (activation, dims, ...), for records.

    Notes
    -----
    The methods check the weights' names and shapes and the data's shapes (metadata
    only: no device synchronization).  Finiteness of the data is checked once, where a
    :class:`~lowrank_lab.adapters.tasks.Task` is built.
    """

    name: str
    shapes: Mapping[str, tuple[int, ...]]
    loss_kind: str
    config: Mapping[str, Any]
    _forward_backward: Callable[..., Any]
    _predict: Callable[..., Any]
    _linear_map: Callable[..., Any] | None = None

    # ----------------------------------------------------------------- metadata
    @property
    def matrices(self) -> tuple[str, ...]:
        """Names of the 2-D weights (the ones layer adapters attach to)."""
        return tuple(k for k, s in self.shapes.items() if len(s) == 2)

    @property
    def biases(self) -> tuple[str, ...]:
        """Names of the 1-D weights."""
        return tuple(k for k, s in self.shapes.items() if len(s) == 1)

    @property
    def n_in(self) -> int:
        return int(self.config["n_in"])

    @property
    def n_out(self) -> int:
        return int(self.config["n_out"])

    @property
    def num_params(self) -> int:
        """Number of scalars in a full set of weights."""
        return sum(math.prod(s) for s in self.shapes.values())

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}: {tuple(s)}" for k, s in self.shapes.items())
        return f"Model({self.name!r}, loss={self.loss_kind!r}, {{{shapes}}})"

    # ------------------------------------------------------------------ checks
    def check_weights(self, weights: Mapping[str, Any]) -> None:
        """Raise if ``weights`` lacks a weight, has an unknown one, or a wrong shape."""
        if not isinstance(weights, Mapping):
            raise TypeError(f"weights must be a mapping name -> array, got {type(weights).__name__}")
        missing = [k for k in self.shapes if k not in weights]
        unknown = [k for k in weights if k not in self.shapes]
        if missing or unknown:
            raise ValueError(
                f"weights must have exactly the keys {list(self.shapes)} of the {self.name} model; "
                f"missing {missing}, unknown {unknown}"
            )
        for k, shape in self.shapes.items():
            got = tuple(getattr(weights[k], "shape", ()))
            if got != tuple(shape):
                raise ValueError(f"weights[{k!r}] must have shape {tuple(shape)}, got {got}")

    def _check_data(self, X: Any, Y: Any | None = None) -> None:
        if getattr(X, "ndim", None) != 2 or X.shape[1] != self.n_in:
            raise ValueError(f"X must be 2-D of shape (N, n_in={self.n_in}), got shape {tuple(getattr(X, 'shape', ()))}")
        if Y is not None and (getattr(Y, "ndim", None) != 2 or tuple(Y.shape) != (X.shape[0], self.n_out)):
            raise ValueError(
                f"Y must have shape (N, n_out) = ({X.shape[0]}, {self.n_out}), got {tuple(getattr(Y, 'shape', ()))}"
            )

    # ------------------------------------------------------------- computation
    def predict(self, weights: Mapping[str, Any], X: Any) -> Any:
        """Model outputs for the rows of ``X`` (logits for the cross-entropy loss)."""
        self.check_weights(weights)
        self._check_data(X)
        return self._predict(weights, X)

    def loss(self, weights: Mapping[str, Any], X: Any, Y: Any) -> Any:
        """Mean loss over the rows of ``X`` (a 0-d array)."""
        self.check_weights(weights)
        self._check_data(X, Y)
        return _loss_value(self.loss_kind, self._predict(weights, X), Y)

    def loss_and_grads(self, weights: Mapping[str, Any], X: Any, Y: Any, *, factored: bool = False) -> tuple[Any, dict]:
        """``(loss, grads)`` with ``grads[name] = dL/d weights[name]`` for every weight.

        Parameters
        ----------
        weights : dict
        X : array (N, n_in)
        Y : array (N, n_out)
        factored : bool, default False
            Return the gradients of weight matrices as :class:`OuterProduct` (unformed
            ``D^T H``); biases are always arrays.
        """
        self.check_weights(weights)
        self._check_data(X, Y)
        return self._forward_backward(weights, X, Y, factored=factored)

    def linear_map(self, weights: Mapping[str, Any]) -> Any | None:
        """End-to-end matrix ``f(x) = M x`` of a linear model (``n_out x n_in``); None for the MLP."""
        if self._linear_map is None:
            return None
        self.check_weights(weights)
        return self._linear_map(weights)

    def init_weights(self, rng: Any = None, *, xp: Any = None, like: Any = None, dtype: Any = None) -> dict:
        """Random weights as PyTorch's ``nn.Linear`` draws them: ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.

        Matrices and biases alike (a bias uses its layer's fan-in).  Drawn on the host
        from ``rng`` in the model's weight order, then moved to ``xp`` / ``like``.
        """
        gen = backend.as_generator(rng)
        out = {}
        fan_in = None
        for k, shape in self.shapes.items():
            if len(shape) == 2:
                fan_in = shape[1]
            bound = 1.0 / math.sqrt(fan_in)
            out[k] = backend.random_uniform(shape, rng=gen, xp=xp, like=like, dtype=dtype, low=-bound, high=bound)
        return out


# =========================================================================== #
# losses
# =========================================================================== #
def _log_softmax(Z: Any, xp: Any) -> Any:
    Zs = Z - xp.max(Z, axis=1, keepdims=True)
    return Zs - xp.log(xp.sum(xp.exp(Zs), axis=1, keepdims=True))


def _loss_value(kind: str, F: Any, Y: Any) -> Any:
    xp = namespace(F)
    N = F.shape[0]
    if kind == "squared":
        R = F - Y
        return xp.sum(R * R) / (2.0 * N)
    return -xp.sum(Y * _log_softmax(F, xp)) / N


def _loss_and_output_grad(kind: str, F: Any, Y: Any) -> tuple[Any, Any]:
    xp = namespace(F)
    N = F.shape[0]
    if kind == "squared":
        R = F - Y
        return xp.sum(R * R) / (2.0 * N), R / N
    logp = _log_softmax(F, xp)
    loss = -xp.sum(Y * logp) / N
    return loss, (xp.exp(logp) * xp.sum(Y, axis=1, keepdims=True) - Y) / N


# =========================================================================== #
# linear and deep linear
# =========================================================================== #
def _chain_predict(names: tuple[str, ...], weights: Mapping[str, Any], X: Any) -> Any:
    H = X
    for k in names:
        H = H @ weights[k].T
    return H


def _chain_forward_backward(names: tuple[str, ...], kind: str, weights: Mapping[str, Any], X: Any, Y: Any,
                            *, factored: bool = False) -> tuple[Any, dict]:
    inputs = []
    H = X
    for k in names:
        inputs.append(H)
        H = H @ weights[k].T
    loss, D = _loss_and_output_grad(kind, H, Y)
    grads: dict[str, Any] = {}
    for idx in range(len(names) - 1, -1, -1):
        k = names[idx]
        G = OuterProduct(D, inputs[idx])
        grads[k] = G if factored else G.dense()
        if idx:
            D = D @ weights[k]
    return loss, {k: grads[k] for k in names}


def _chain_linear_map(names: tuple[str, ...], weights: Mapping[str, Any]) -> Any:
    M = weights[names[0]]
    for k in names[1:]:
        M = weights[k] @ M
    return M


def linear(n_in: int, n_out: int, *, loss: str = "squared") -> Model:
    """A linear layer ``f(x) = W x`` (one weight ``"W"``, ``n_out x n_in``).

    With ``loss="squared"`` this is least-squares regression, the testbed of the
    study design; with ``"cross_entropy"``, multinomial logistic regression.

    Examples
    --------
    >>> import numpy as np
    >>> model = linear(4, 2)
    >>> model.shapes, model.matrices
    ({'W': (2, 4)}, ('W',))
    >>> W = np.ones((2, 4)); X = np.ones((3, 4))
    >>> float(model.loss({"W": W}, X, np.zeros((3, 2))))
    16.0
    """
    n_in = check_int(n_in, "n_in", low=1)
    n_out = check_int(n_out, "n_out", low=1)
    loss = check_choice(loss, "loss", LOSSES)
    names = ("W",)
    return Model(
        "linear", {"W": (n_out, n_in)}, loss, {"n_in": n_in, "n_out": n_out},
        functools.partial(_chain_forward_backward, names, loss),
        functools.partial(_chain_predict, names),
        functools.partial(_chain_linear_map, names),
    )


def deep_linear(dims: Any, *, loss: str = "squared") -> Model:
    """A deep linear network ``f(x) = W_L ... W_2 W_1 x`` (no biases).

    Parameters
    ----------
    dims : sequence of int
        ``(n_in, h_1, ..., h_{L-1}, n_out)``, at least two entries; weight ``"W{l}"`` has
        shape ``(dims[l], dims[l-1])``.
    loss : {"squared", "cross_entropy"}

    Examples
    --------
    >>> model = deep_linear((5, 4, 3))
    >>> model.shapes
    {'W1': (4, 5), 'W2': (3, 4)}
    """
    dims = tuple(dims) if not isinstance(dims, int) else (dims,)
    if len(dims) < 2:
        raise ValueError(f"dims must have at least two entries (n_in, ..., n_out), got {dims}")
    dims = tuple(check_int(d, "dims entries", low=1) for d in dims)
    loss = check_choice(loss, "loss", LOSSES)
    names = tuple(f"W{l}" for l in range(1, len(dims)))
    shapes = {f"W{l}": (dims[l], dims[l - 1]) for l in range(1, len(dims))}
    return Model(
        "deep_linear", shapes, loss, {"n_in": dims[0], "n_out": dims[-1], "dims": dims},
        functools.partial(_chain_forward_backward, names, loss),
        functools.partial(_chain_predict, names),
        functools.partial(_chain_linear_map, names),
    )


# =========================================================================== #
# two-layer MLP
# =========================================================================== #
def _activate(activation: str, Z: Any, xp: Any) -> Any:
    if activation == "tanh":
        return xp.tanh(Z)
    return xp.where(Z > 0, Z, xp.zeros_like(Z))


def _activation_grad(activation: str, Z: Any, H: Any, xp: Any) -> Any:
    if activation == "tanh":
        return 1.0 - H * H
    return xp.astype(Z > 0, Z.dtype)


def _mlp_hidden(activation: str, bias: bool, weights: Mapping[str, Any], X: Any) -> tuple[Any, Any]:
    xp = namespace(X)
    Z = X @ weights["W1"].T
    if bias:
        Z = Z + weights["b1"][None, :]
    return Z, _activate(activation, Z, xp)


def _mlp_predict(activation: str, bias: bool, weights: Mapping[str, Any], X: Any) -> Any:
    _, H = _mlp_hidden(activation, bias, weights, X)
    F = H @ weights["W2"].T
    if bias:
        F = F + weights["b2"][None, :]
    return F


def _mlp_forward_backward(activation: str, bias: bool, kind: str, weights: Mapping[str, Any], X: Any, Y: Any,
                          *, factored: bool = False) -> tuple[Any, dict]:
    xp = namespace(X)
    Z, H = _mlp_hidden(activation, bias, weights, X)
    F = H @ weights["W2"].T
    if bias:
        F = F + weights["b2"][None, :]
    loss, D2 = _loss_and_output_grad(kind, F, Y)
    D1 = (D2 @ weights["W2"]) * _activation_grad(activation, Z, H, xp)
    G1, G2 = OuterProduct(D1, X), OuterProduct(D2, H)
    grads = {"W1": G1 if factored else G1.dense()}
    if bias:
        grads["b1"] = xp.sum(D1, axis=0)
    grads["W2"] = G2 if factored else G2.dense()
    if bias:
        grads["b2"] = xp.sum(D2, axis=0)
    return loss, grads


def mlp(n_in: int, n_hidden: int, n_out: int, *, activation: str = "tanh", loss: str = "squared",
        bias: bool = True) -> Model:
    """A two-layer perceptron ``f(x) = W2 act(W1 x + b1) + b2``.

    Parameters
    ----------
    n_in, n_hidden, n_out : int
    activation : {"tanh", "relu"}
        The derivative of ReLU at 0 is taken as 0 (PyTorch's convention).
    loss : {"squared", "cross_entropy"}
    bias : bool, default True
        Include ``b1`` (``n_hidden``) and ``b2`` (``n_out``).

    Examples
    --------
    >>> model = mlp(3, 5, 2, activation="relu", loss="cross_entropy")
    >>> model.shapes, model.matrices, model.biases
    ({'W1': (5, 3), 'b1': (5,), 'W2': (2, 5), 'b2': (2,)}, ('W1', 'W2'), ('b1', 'b2'))
    """
    n_in = check_int(n_in, "n_in", low=1)
    n_hidden = check_int(n_hidden, "n_hidden", low=1)
    n_out = check_int(n_out, "n_out", low=1)
    activation = check_choice(activation, "activation", ACTIVATIONS)
    loss = check_choice(loss, "loss", LOSSES)
    if not isinstance(bias, bool):
        raise TypeError(f"bias must be a bool, got {bias!r}")
    shapes: dict[str, tuple[int, ...]] = {"W1": (n_hidden, n_in)}
    if bias:
        shapes["b1"] = (n_hidden,)
    shapes["W2"] = (n_out, n_hidden)
    if bias:
        shapes["b2"] = (n_out,)
    config = {"n_in": n_in, "n_out": n_out, "n_hidden": n_hidden, "activation": activation, "bias": bias}
    return Model(
        "mlp", shapes, loss, config,
        functools.partial(_mlp_forward_backward, activation, bias, loss),
        functools.partial(_mlp_predict, activation, bias),
        None,
    )
