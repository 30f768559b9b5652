"""Objectives of known landscape intrinsic dimension, as flat-vector problems.

A *flat-vector problem* is what :func:`lowrank_lab.intrinsic.landscape.train_subspace`
trains in a random subspace: an object with ``theta0`` (the starting point, a
vector of length ``n_params``), ``loss(theta)`` (a 0-d array) and
``gradient(theta)`` (a vector), plus ``minimum_loss`` (the loss of training all
parameters, for the fraction-of-improvement rule).  Models of the adapter lab
enter the same way through the flat parameter layout
(:class:`lowrank_lab.intrinsic.projections.ParameterLayout`).

Examples
--------
>>> problem = li_toy_problem(rng=0)
>>> problem.n_params, problem.intrinsic_dimension
(1000, 10)
>>> float(problem.loss(problem.solution())) < 1e-20
True
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from .. import backend
from .._validation import check_float, check_int

__all__ = ["LiToyProblem", "li_toy_problem"]


@dataclass(frozen=True, eq=False)
class LiToyProblem:
    """Li et al.'s toy: ``D`` parameters in ``groups`` equal groups, group ``g`` must sum to ``g``.

    ``loss(theta) = sum_{g=1}^{G} (sum_{j in group g} theta_j - g)^2``.  The loss
    depends on ``theta`` only through ``G`` linear functionals, so its minimizers
    form an affine subspace of dimension ``D - G`` and a generic ``d``-dimensional
    random affine subspace through ``theta_0`` meets it exactly when ``d >= G``:
    the landscape's intrinsic dimension is ``G`` (10 for the paper's ``D = 1000``).

    Attributes
    ----------
    theta0 : array (D,)
        The starting point.
    targets : array (G,)
        ``1, 2, ..., G``.
    groups : int
    """

    theta0: Any
    targets: Any
    groups: int

    @property
    def n_params(self) -> int:
        """``D``."""
        return int(self.theta0.shape[0])

    @property
    def group_size(self) -> int:
        """Parameters per group, ``D / G``."""
        return self.n_params // self.groups

    @property
    def intrinsic_dimension(self) -> int:
        """The landscape's intrinsic dimension ``G``."""
        return self.groups

    @property
    def minimum_loss(self) -> float:
        """The loss of training all parameters: 0."""
        return 0.0

    def _residual(self, theta: Any) -> Any:
        xp = backend.array_namespace(theta)
        return xp.sum(xp.reshape(theta, (self.groups, self.group_size)), axis=1) - self.targets

    def loss(self, theta: Any) -> Any:
        """``sum_g (sum_{j in g} theta_j - g)^2`` (a 0-d array on ``theta``'s device)."""
        xp = backend.array_namespace(theta)
        r = self._residual(theta)
        return xp.sum(r * r)

    def gradient(self, theta: Any) -> Any:
        """``d loss / d theta_j = 2 (sum_{i in g(j)} theta_i - g(j))``."""
        xp = backend.array_namespace(theta)
        r = self._residual(theta)
        return xp.reshape(xp.broadcast_to(2.0 * r[:, None], (self.groups, self.group_size)), (-1,))

    def solution(self) -> Any:
        """The minimizer closest to ``theta0`` (each group shifted evenly onto its target)."""
        xp = backend.array_namespace(self.theta0)
        r = self._residual(self.theta0)
        shift = xp.broadcast_to((r / self.group_size)[:, None], (self.groups, self.group_size))
        return self.theta0 - xp.reshape(shift, (-1,))


def li_toy_problem(D: int = 1000, groups: int = 10, *, init_scale: float = 1.0, rng: Any = None,
                   xp: ModuleType | None = None, like: Any = None, dtype: Any = None) -> LiToyProblem:
    """The toy objective of Li et al. (2018), section 2: ``D = 1000``, 10 groups of 100.

    Parameters
    ----------
    D : int, default 1000
        Number of parameters, a multiple of ``groups``.
    groups : int, default 10
        Number of groups, the landscape's intrinsic dimension.
    init_scale : float, default 1.0
        ``theta0 ~ N(0, init_scale^2)`` i.i.d. (0 gives ``theta0 = 0``).  The paper
        does not say how it initialized the toy (reconstruction); the intrinsic
        dimension does not depend on it.
    rng, xp, like, dtype
        Host random stream of ``theta0``; target namespace / device; dtype (float64).

    Examples
    --------
    >>> p = li_toy_problem(init_scale=0.0)
    >>> float(p.loss(p.theta0))  # 1 + 4 + ... + 100
    385.0
    """
    groups = check_int(groups, "groups", low=1)
    D = check_int(D, "D", low=groups)
    if D % groups:
        raise ValueError(f"D must be a multiple of groups={groups}, got {D}")
    init_scale = check_float(init_scale, "init_scale", low=0.0)
    gen = backend.as_generator(rng)
    theta0 = init_scale * gen.standard_normal(D)
    targets = np.arange(1, groups + 1, dtype=np.float64)
    if dtype is None:
        dtype = backend.float_dtype(backend.array_namespace(like), like) if like is not None else None
    if like is not None:
        return LiToyProblem(backend.asarray(theta0, like=like, dtype=dtype),
                            backend.asarray(targets, like=like, dtype=dtype), groups)
    xp = xp or backend.get_namespace("numpy")
    return LiToyProblem(backend.asarray(theta0, xp=xp, dtype=dtype), backend.asarray(targets, xp=xp, dtype=dtype),
                        groups)
