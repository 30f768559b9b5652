"""The sensing lab's solver registry: one name per solver, variants are keyword options."""

from __future__ import annotations

from typing import Any

from .._validation import check_choice, check_options
from ..results import SolverResult
from .solvers import factored_gd, nuclear_norm_pgd, scaled_gd, subgradient_l1

__all__ = ["SOLVERS", "run_solver"]

#: The lab's solvers by name; each is ``solver(problem, rank, *, ...) -> SolverResult``.
SOLVERS = {
    "factored_gd": factored_gd,
    "scaled_gd": scaled_gd,
    "subgradient_l1": subgradient_l1,
    "nuclear_norm_pgd": nuclear_norm_pgd,
}


def run_solver(name: str, problem: Any, rank: Any, **options: Any) -> SolverResult:
    """``SOLVERS[name](problem, rank, **options)``, refusing options the solver does not take.

    Examples
    --------
    >>> from lowrank_lab.matrices import low_rank_matrix
    >>> from lowrank_lab.sensing import gaussian_sensing
    >>> problem = gaussian_sensing(low_rank_matrix(6, 6, 1, psd=True, rng=0), 60, rng=1)
    >>> run_solver("factored_gd", problem, 1, step_size=0.2, init_scale=0.1, max_iter=5, rng=2).n_iter
    5
    >>> run_solver("factored_gd", problem, 1, decay=0.9)
    Traceback (most recent call last):
    ...
    TypeError: options has unknown key(s) ['decay'] for factored_gd; it accepts [...]
    """
    check_choice(name, "solver", tuple(SOLVERS))
    fn = SOLVERS[name]
    return fn(problem, rank, **check_options(fn, options))
