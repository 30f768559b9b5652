"""Matrix sensing lab (studies A and B): problems, solvers, trials.

``problems``
    Gaussian and fully observed sensing problems with noise and outliers
    (:func:`gaussian_sensing`, :func:`fully_observed`).
``solvers``
    Factored gradient descent (symmetric ``X X^T`` or asymmetric ``F G^T``), ScaledGD,
    the l1 sub-gradient method, nuclear-norm proximal gradient.  Every solver has the
    signature ``solver(problem, rank, *, ...) -> SolverResult`` and is listed in
    :data:`SOLVERS`.
``trials``
    The sweep trials of notebooks 01 and 02 (``lowrank_lab.sensing.trials``).

Examples
--------
>>> from lowrank_lab.matrices import low_rank_matrix
>>> from lowrank_lab import sensing
>>> M = low_rank_matrix(8, 8, 2, psd=True, rng=0)
>>> problem = sensing.gaussian_sensing(M, 120, rng=1)
>>> res = sensing.SOLVERS["factored_gd"](problem, 2, step_size=0.2, init_scale=0.1, max_iter=3000, rng=2)
>>> res.stop_reason
'converged'
"""

from .problems import (
    GaussianOperator,
    IdentityOperator,
    SensingProblem,
    fully_observed,
    gaussian_sensing,
    sensing_operator_nbytes,
)
from .registry import SOLVERS, run_solver
from .solvers import factored_gd, nuclear_norm_pgd, scaled_gd, subgradient_l1

__all__ = [
    "SOLVERS",
    "run_solver",
    "GaussianOperator",
    "IdentityOperator",
    "SensingProblem",
    "factored_gd",
    "fully_observed",
    "gaussian_sensing",
    "nuclear_norm_pgd",
    "scaled_gd",
    "sensing_operator_nbytes",
    "subgradient_l1",
]
