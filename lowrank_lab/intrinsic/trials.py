"""Trial functions of the intrinsic-dimension lab (module-level, picklable, for sweeps).

Each takes its config and an integer ``seed`` and returns a dict row.  Random
streams follow the suite's seed contract
(:func:`lowrank_lab.backend.trial_streams`): ``"init"`` draws the problem's
starting point and ``"projection"`` the random subspace, so a seed gives the same
``theta_0`` for every ``d`` and projection kind, and a different subspace per seed.

Examples
--------
>>> row = toy_subspace_trial(d=12, projection="fastfood", seed=0)
>>> row["loss_improvement"] > 0.999
True
"""

from __future__ import annotations

from .. import backend
from .._validation import check_choice
from .landscape import train_subspace
from .problems import li_toy_problem
from .projections import PROJECTIONS, make_projection

__all__ = ["toy_subspace_trial"]


def toy_subspace_trial(
    d: int,
    seed: int,
    *,
    projection: str = "fastfood",
    D: int = 1000,
    groups: int = 10,
    init_scale: float = 1.0,
    optimizer: str = "adam",
    lr: float = 1.0,
    max_iter: int = 2000,
    tol: float = 1e-6,
    stall_patience: int | None = 20,
    backend_name: str | None = None,
) -> dict:
    """Subspace training of Li et al.'s toy at dimension ``d``: one row of a d_int sweep.

    Defaults (Adam, step 1.0, at most 2000 steps, stop at ``1e-6`` of the initial
    loss or after 20 checks, i.e. 200 steps, without a 0.1 % improvement) were
    chosen on the toy so that every projection reaches a ``1e-3`` relative loss by
    ``d = 11`` on every one of 10 seeds; ``d = 10`` itself is ill-conditioned (a
    square ``10 x 10`` random system) and some seeds need more steps there.

    Returns
    -------
    dict
        ``initial_loss`` (``L_0`` at ``z = 0``), ``loss`` (final ``L_d``),
        ``loss_improvement`` (``(L_0 - L_d) / L_0``, the toy's ``L_full`` being 0),
        ``n_iter``, ``stop_reason``, ``wall_time_s``.
    """
    check_choice(projection, "projection", tuple(PROJECTIONS))
    xp = backend.get_namespace(backend_name)
    streams = backend.trial_streams(seed, "init", "projection")
    problem = li_toy_problem(D, groups, init_scale=init_scale, rng=streams.init, xp=xp)
    P = make_projection(projection, D, d, rng=streams.projection, xp=xp)
    result = train_subspace(problem, P, optimizer=optimizer, lr=lr, max_iter=max_iter, tol=tol,
                            stall_patience=stall_patience)
    initial = float(result.history["loss"].iloc[0])
    final = result.final("loss")
    return {
        "initial_loss": initial,
        "loss": final,
        "loss_improvement": (initial - final) / (initial - problem.minimum_loss),
        "n_iter": result.n_iter,
        "stop_reason": result.stop_reason,
        "wall_time_s": result.wall_time,
    }



