"""Rounding and low-bit quantization: stochastic rounding and group-wise asymmetric min-max quantizers."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from .. import backend
from .._validation import check_array, check_choice, check_int

#: Rounding modes of :func:`quantize_minmax`.
ROUNDINGS = ("nearest", "stochastic")


def stochastic_round(x: Any, *, rng: Any = None) -> Any:
    """Round each entry down or up at random, up with probability ``x - floor(x)``.

    ``SR(x) = floor(x) + Bernoulli(x - floor(x))`` is **unbiased**: ``E SR(x) = x``
    (round-to-nearest is not: it drops every change smaller than half a step).  The
    uniform numbers are drawn on the host from ``rng`` and moved next to ``x``, so a seed
    gives the same rounding on every backend.

    Parameters
    ----------
    x : array
        Real values, in units of the quantization step.
    rng : seed or Generator

    Returns
    -------
    array
        Integer-valued floats, same shape, dtype, namespace and device as ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> draws = np.stack([stochastic_round(np.full(4, 0.25), rng=s) for s in range(2000)])
    >>> sorted(np.unique(draws).tolist()), round(float(draws.mean()), 2)
    ([0.0, 1.0], 0.25)
    """
    x = check_array(x, "x", finite=False, min_size=0)
    xp = backend.array_namespace(x)
    low = xp.floor(x)
    u = backend.random_uniform(tuple(x.shape), rng=rng, like=x, dtype=x.dtype)
    return low + xp.astype(u < (x - low), x.dtype)


class Quantized(NamedTuple):
    """A group-wise quantized array: ``x ~ scale * (codes - zero)`` per group.

    Attributes
    ----------
    codes : array of uint8 (bits <= 8) or int32
        Integer codes in ``[0, 2^bits - 1]``, shape ``(n_groups, group_size)``.
    scale, zero : arrays, shape (n_groups, 1)
        Step size and (integer-valued) zero point of every group.
    shape : tuple
        Shape of the original array (groups run over its C-order flattening).
    bits : int
    """

    codes: Any
    scale: Any
    zero: Any
    shape: tuple
    bits: int


def quantize_minmax(x: Any, *, bits: int = 8, group_size: int | None = None, rounding: str = "nearest",
                    rng: Any = None) -> Quantized:
    """Asymmetric min-max quantization per group (the reference code of Q-GaLore and GaLore's projector).

    The array is flattened in C order and cut into groups of ``group_size`` entries.
    Per group, with ``q_max = 2^bits - 1``::

        scale = max(max - min, 1e-5) / q_max
        zero  = clip(-round(min / scale), 0, q_max)
        codes = clip(rnd(x / scale) + zero, 0, q_max)

    where ``rnd`` rounds to nearest (half to even, as ``torch.round``) or
    stochastically (:func:`stochastic_round`; unbiased away from the clipped ends of
    the range).  :func:`dequantize` returns ``scale * (codes - zero)``.  As in the
    reference code, the zero point is clipped to ``[0, q_max]``: a group whose values do
    not straddle 0 saturates (groups of a weight matrix straddle 0 in practice).

    Parameters
    ----------
    x : array
    bits : int in [1, 16], default 8
    group_size : int, optional
        Must divide ``x.size``; default: one group for the whole array.
    rounding : {"nearest", "stochastic"}
    rng : seed or Generator
        For stochastic rounding.

    Returns
    -------
    Quantized

    Examples
    --------
    >>> import numpy as np
    >>> q = quantize_minmax(np.array([0.0, 0.1, 0.5, 1.0]), bits=2)
    >>> q.codes.tolist(), np.round(dequantize(q), 4).tolist()
    ([[0, 0, 2, 3]], [0.0, 0.0, 0.6667, 1.0])
    """
    x = check_array(x, "x", finite=False)  # no finiteness check: it would synchronize every step
    bits = check_int(bits, "bits", low=1, high=16)
    rounding = check_choice(rounding, "rounding", ROUNDINGS)
    xp = backend.array_namespace(x)
    size = math.prod(x.shape)
    if group_size is None:
        group_size = size
    group_size = check_int(group_size, "group_size", low=1, high=size, high_label="x.size")
    if size % group_size:
        raise ValueError(f"group_size must divide x.size={size}, got {group_size}")
    q_max = float(2**bits - 1)
    w = xp.reshape(x, (size // group_size, group_size))
    hi = xp.max(w, axis=1, keepdims=True)
    lo = xp.min(w, axis=1, keepdims=True)
    scale = xp.maximum(hi - lo, xp.full_like(hi, 1e-5)) / q_max
    zero = xp.clip(-xp.round(lo / scale), 0.0, q_max)
    scaled = w / scale
    rounded = xp.round(scaled) if rounding == "nearest" else stochastic_round(scaled, rng=rng)
    codes = xp.clip(rounded + zero, 0.0, q_max)
    codes = xp.astype(codes, xp.uint8 if bits <= 8 else xp.int32)
    return Quantized(codes, scale, zero, tuple(x.shape), bits)


def dequantize(q: Quantized) -> Any:
    """``scale * (codes - zero)`` reshaped to the original shape (the scales' dtype).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(-1.0, 1.0, 8)
    >>> err = np.abs(dequantize(quantize_minmax(x, bits=8)) - x).max()
    >>> bool(err <= 0.5 * 2.0 / 255 + 1e-12)
    True
    """
    if not isinstance(q, Quantized):
        raise TypeError(f"q must be a Quantized (from quantize_minmax), got {type(q).__name__}")
    xp = backend.array_namespace(q.scale)
    return xp.reshape(q.scale * (xp.astype(q.codes, q.scale.dtype) - q.zero), q.shape)
