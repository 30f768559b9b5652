"""The completion lab's solver registry: one name per solver, variants are keyword options."""

from __future__ import annotations

from typing import Any

from .._validation import check_choice, check_options
from ..results import SolverResult
from .altmin import altmin
from .solvers import scaled_gd, soft_impute, svp, svt

__all__ = ["SOLVERS", "run_solver"]

#: The lab's solvers by name; each is ``solver(obs, rank, *, ...) -> SolverResult``.
SOLVERS = {
    "altmin": altmin,
    "soft_impute": soft_impute,
    "svt": svt,
    "svp": svp,
    "scaled_gd": scaled_gd,
}


def run_solver(name: str, obs: Any, rank: Any, **options: Any) -> SolverResult:
    """``SOLVERS[name](obs, rank, **options)``, refusing options the solver does not take.

    Examples
    --------
    >>> from lowrank_lab.matrices import low_rank_matrix
    >>> from lowrank_lab.completion import sample_entries
    >>> obs = sample_entries(low_rank_matrix(30, 30, 2, rng=0), p=0.5, rng=1)
    >>> run_solver("altmin", obs, 2, solve="cg", cg_iters=2, rng=0).solver
    'altmin_cg'
    >>> run_solver("altmin", obs, 2, step_size=1.0)
    Traceback (most recent call last):
    ...
    TypeError: options has unknown key(s) ['step_size'] for altmin; it accepts [...]
    """
    check_choice(name, "solver", tuple(SOLVERS))
    fn = SOLVERS[name]
    return fn(obs, rank, **check_options(fn, options))
