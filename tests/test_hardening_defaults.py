"""Issue 9 (hardening): solver defaults that work without tuning, and stop reasons that say what happened."""

from __future__ import annotations

import numpy as np
import pytest

from lowrank_lab.sensing import subgradient_l1
from lowrank_lab.sensing.trials import make_problem

# d, true rank r, widths r' (exact, over-parameterized, full), outlier fractions: ordinary problems of
# study B (m = 8 d r Gaussian measurements, outliers of 100 median|y|), small sizes.
GRID = [(d, r, w, p) for d, r in ((8, 1), (10, 2), (16, 2)) for w in sorted({r, 2 * r, d}) for p in (0.1, 0.3)]


def _run(d, r, w, p, **options):
    problem = make_problem(n=d, rank=r, n_measurements=8 * d * r, outlier_fraction=p, seed=0)
    return subgradient_l1(problem, w, rng=1, history_stride=10**6, record_singular_values=False, **options)


def test_subgradient_l1_defaults_recover_across_sizes_widths_and_outliers():
    failures = []
    for d, r, w, p in GRID:
        res = _run(d, r, w, p)
        err = res.final("relative_error")
        if w == r:  # exact rank: linear convergence to round-off, detected
            ok = err < 1e-8 and res.stop_reason == "converged"
        else:  # over-parameterized: study B's success level (the spurious directions stay small)
            ok = err < 1e-3 and res.stop_reason in ("converged", "max_iter")
        if not ok:
            failures.append(((d, r, w, p), res.stop_reason, f"{err:.1e}"))
    assert not failures, failures


def test_subgradient_l1_reports_stalled_when_the_iterates_freeze_far_from_a_solution():
    # a geometric schedule whose whole travel (0.05 / (1 - 0.9) = 0.5) cannot escape alpha = 1e-6
    res = _run(10, 2, 2, 0.3, decay=0.9)
    assert res.stop_reason == "stalled" and res.final("relative_error") > 0.9 and res.n_iter < 300
    # the Polyak rule at a stationary point (U = 0): no sub-gradient, frozen at once
    problem = make_problem(n=10, rank=2, n_measurements=160, outlier_fraction=0.3, seed=0)
    res = subgradient_l1(problem, 2, init=(np.zeros((10, 2)),), rng=1)
    assert res.stop_reason == "stalled" and res.n_iter == 0
    # near the truth, frozen means converged; the median ignores the 30% outliers, whose loss does not vanish
    res = _run(10, 2, 2, 0.3)
    assert res.stop_reason == "converged" and res.history["loss"].iloc[-1] > 0.5 * res.history["loss"].iloc[0]


def test_subgradient_l1_geometric_schedule_is_kept_and_checked():
    res = _run(8, 1, 1, 0.1, step_size=0.1, decay=0.99, init_scale=1e-3, max_iter=1500)
    assert res.params["step_rule"] == "geometric" and res.final("relative_error") < 1e-3
    steps = res.history["step_size"].to_numpy()
    assert steps[-1] == pytest.approx(0.1 * 0.99 ** int(res.history["iteration"].iloc[-1]))
    with pytest.raises(ValueError, match=r"decay must be a finite number in \(0, 1\]"):
        _run(8, 1, 1, 0.1, decay=1.5)
    with pytest.raises(ValueError, match="polyak must be a finite number"):
        _run(8, 1, 1, 0.1, polyak=0.0)


# --------------------------------------------------------------------------- #
# altmin with a ridge is regularized ALS unless the JNS13 variant is asked for
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def movielens():
    from lowrank_lab.completion import movielens_split

    return movielens_split(seed=0)


def test_altmin_orthonormalize_follows_reg_on_movielens(movielens):
    from lowrank_lab.completion import evaluate, fit_ratings_model

    train, test = movielens
    kwargs = {"solver": "altmin", "rank": 10, "max_iter": 15, "rng": 0}
    default = fit_ratings_model(train, reg=20.0, **kwargs)
    als = fit_ratings_model(train, reg=20.0, orthonormalize=False, **kwargs)
    jns13 = fit_ratings_model(train, reg=20.0, orthonormalize=True, **kwargs)
    assert default.result.params["orthonormalize"] is False
    rmse = {name: evaluate(model, test)["rmse"] for name, model in
            (("default", default), ("als", als), ("jns13", jns13))}
    assert rmse["default"] == rmse["als"]
    # the ridge on an orthonormal factor barely regularizes: regularized ALS is clearly better
    assert rmse["als"] < rmse["jns13"] - 0.005, rmse
    assert fit_ratings_model(train, reg=0.0, max_iter=1, solver="altmin", rank=2, rng=0).result.params[
        "orthonormalize"] is True
