"""Sensing solvers: the phenomena of studies A and B at small sizes, plus the solver contract.

Phenomena (Xiong, Ding & Du 2024; Ma & Fattahi 2022):
* exact parameterization (k = r) converges linearly to relative error < 1e-8;
* symmetric over-parameterization (k > r) is orders of magnitude worse at the same
  budget, with a sublinear ~1/t error;
* asymmetric over-parameterization converges linearly, slower for smaller alpha,
  and the one-step imbalance injection removes the alpha dependence;
* ScaledGD's iteration count to 1e-6 barely moves from kappa 1 to 100, GD's grows;
* the l1 sub-gradient method recovers the truth under 30% gross outliers, l2 GD does not.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from helpers import assert_close

from lowrank_lab import backend
from lowrank_lab.matrices import low_rank_matrix
from lowrank_lab.sensing import fully_observed, gaussian_sensing
from lowrank_lab.results import SolverResult
from lowrank_lab.sensing import factored_gd, nuclear_norm_pgd, scaled_gd, subgradient_l1
from lowrank_lab.sensing.trials import iterations_to, late_phase_rate, loglog_slope, make_problem


def _sensing(xp, *, n=8, rank=2, m=None, kappa=2.0, symmetric_sensing=False, seed=0, **noise):
    """Study A's truth (sigma = (1, 0.5) for rank 2) seen through Gaussian (or full) sensing."""
    m = 8 * n * rank if m is None else m
    return make_problem(n=n, rank=rank, n_measurements=m, condition_number=kappa,
                        symmetric_sensing=symmetric_sensing, seed=seed, xp=xp, **noise)


def _curve(result):
    h = result.history
    return h["iteration"].to_numpy(dtype=float), h["relative_error"].to_numpy(dtype=float)


def _linear_fit_r2(t, e):
    coef = np.polyfit(t, np.log(e), 1)
    resid = np.log(e) - np.polyval(coef, t)
    return 1.0 - resid.var() / np.log(e).var(), -coef[0]


# --------------------------------------------------------------------------- #
# study A: parameterization, width, initialization scale
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("parameterization", ["symmetric", "asymmetric"])
def test_exact_parameterization_converges_linearly(xp, parameterization):
    problem = _sensing(xp)
    res = factored_gd(problem, 2, parameterization=parameterization, step_size=0.2, init_scale=0.1,
                      max_iter=3000, tol=1e-12, rng=1, history_stride=5)
    assert isinstance(res, SolverResult) and res.solver == "factored_gd"
    assert res.stop_reason == "converged", res
    assert res.final("relative_error") < 1e-8
    t, e = _curve(res)
    # after the initial phase the log error is a straight line (linear convergence)
    late = (e < 1e-2) & (e > 1e-11)
    r2, rate = _linear_fit_r2(t[late], e[late])
    assert r2 > 0.98 and rate > 1e-2, (r2, rate)
    assert backend.backend_name(backend.array_namespace(res.factors[0])) == backend.backend_name(xp)
    assert len(res.factors) == (1 if parameterization == "symmetric" else 2)


def test_symmetric_overparameterization_is_orders_of_magnitude_worse(xp):
    problem = _sensing(xp)
    kw = {"parameterization": "symmetric", "step_size": 0.2, "init_scale": 0.1, "max_iter": 1500, "tol": 0.0,
          "rng": 1, "history_stride": 50}
    exact = factored_gd(problem, 2, **kw)
    over = factored_gd(problem, 4, **kw)
    assert exact.final("relative_error") < 1e-9
    assert over.final("relative_error") > 1e3 * exact.final("relative_error")
    assert over.final("relative_error") > 1e-5  # still far from the truth


def test_symmetric_overparameterized_error_decays_like_one_over_t():
    """Fully observed, k > r: the error curve is sublinear with log-log slope ~ -1 (Xiong, Ding & Du 2024)."""
    M = low_rank_matrix(10, 10, 2, condition_number=2.0, psd=True, rng=0)
    res = factored_gd(fully_observed(M), 4, step_size=0.1, init_scale=0.5, max_iter=20000, tol=0.0, rng=1,
                      history_stride=100, record_singular_values=False)
    t, e = _curve(res)
    slope = loglog_slope(t, e, start=2000)
    assert -1.25 < slope < -0.8, slope
    # ... and nothing like linear: the error halves only over ever longer stretches
    assert e[t == 10000][0] / e[-1] < 3.0


def test_asymmetric_overparameterized_rate_slows_with_alpha():
    """F G^T with k > r converges linearly at a rate ~ alpha^2 (fully observed, n = 30, medians over seeds)."""
    M = low_rank_matrix(30, 30, 2, condition_number=2.0, psd=True, rng=0)
    problem = fully_observed(M)
    rates = {}
    for alpha in (0.4, 0.8):
        per_seed = []
        for seed in range(3):
            res = factored_gd(problem, 4, parameterization="asymmetric", step_size=0.1, init_scale=alpha,
                              max_iter=12000, tol=1e-12, rng=seed, history_stride=20, record_singular_values=False)
            assert res.stop_reason == "converged" and res.final("relative_error") < 1e-10  # linear all the way
            t, e = _curve(res)
            per_seed.append(late_phase_rate(t, e))
        rates[alpha] = float(np.median(per_seed))
    assert rates[0.4] < 0.5 * rates[0.8], rates
    # roughly the alpha^2 law: halving alpha divides the rate by ~4
    assert 2.5 < rates[0.8] / rates[0.4] < 6.0, rates


def test_asymmetric_beats_symmetric_on_the_same_psd_problem(xp):
    problem = _sensing(xp, n=6, m=150)
    kw = {"step_size": 0.2, "init_scale": 0.3, "max_iter": 1500, "tol": 0.0, "rng": 3, "history_stride": 100,
          "record_singular_values": False}
    sym = factored_gd(problem, 4, parameterization="symmetric", **kw)
    asym = factored_gd(problem, 4, parameterization="asymmetric", **kw)
    assert asym.final("relative_error") < 0.05 * sym.final("relative_error")


def test_imbalance_is_nearly_conserved_and_recorded():
    """||F^T F - G^T G|| is conserved by gradient flow; GD's drift shrinks with the step."""
    M = low_rank_matrix(8, 8, 2, condition_number=2.0, rng=0)
    problem = fully_observed(M)
    drifts = []
    for eta in (0.02, 0.08):
        res = factored_gd(problem, 3, step_size=eta, init_scale=0.5, max_iter=int(8 / eta), tol=0.0, rng=0,
                          history_stride=5)
        d = res.history["imbalance"].to_numpy()
        drifts.append(np.max(np.abs(d - d[0])) / d[0])
    assert drifts[0] < 0.1 and drifts[0] < drifts[1], drifts
    h = res.history
    assert {"sigma_f_1", "sigma_f_3", "sigma_g_3", "imbalance", "loss", "relative_error", "time_s"} <= set(h.columns)
    assert np.all(h["sigma_f_1"] >= h["sigma_f_2"]) and np.all(np.diff(h["time_s"]) >= 0)


def test_one_step_fix_removes_the_alpha_dependence(xp):
    """Reconstruction of the one-step fix (issue 3 pilot, smaller): orthogonal injection -> 1e-12 for every alpha."""
    problem = _sensing(xp, n=10, m=200)
    alphas = (1e-1, 1e-3) if backend.is_numpy(xp) else (1e-3,)  # array_api_strict is slow: one alpha
    for alpha in alphas:
        kw = {"parameterization": "asymmetric", "step_size": 0.2, "init_scale": alpha, "max_iter": 2000,
              "tol": 1e-12, "rng": 1, "history_stride": 50, "record_singular_values": False}
        plain = factored_gd(problem, 4, **kw)
        fixed = factored_gd(problem, 4, one_step_fix="orthogonal", fix_iteration=500, **kw)
        rescaled = factored_gd(problem, 4, one_step_fix="rescale", fix_iteration=500, **kw)
        assert fixed.stop_reason == "converged" and fixed.final("relative_error") < 1e-10
        assert plain.final("relative_error") > 1e-5
        assert rescaled.final("relative_error") > 1e-5  # a plain rescaling barely helps
        # the injection makes the imbalance order one
        h = fixed.history
        injected = h.loc[h["iteration"] == 500, "imbalance"].iloc[0]
        assert injected > 0.5 and injected > 10 * h["imbalance"].iloc[0], (injected, h["imbalance"].iloc[0])
    assert fixed.params["one_step_fix"] == "orthogonal"


def test_spectral_init_is_exact_when_fully_observed(xp):
    M = low_rank_matrix(7, 5, 2, condition_number=3.0, rng=0, xp=xp)
    res = factored_gd(fully_observed(M), 2, init="spectral", max_iter=0)
    assert res.history["relative_error"].iloc[0] < 1e-12 and res.n_iter == 0
    P = low_rank_matrix(6, 6, 3, psd=True, rng=1, xp=xp)
    res = factored_gd(fully_observed(P), 3, init="spectral", max_iter=0)
    assert res.params["parameterization"] == "symmetric"
    assert res.history["relative_error"].iloc[0] < 1e-12
    X = res.factors[0]
    assert_close(X @ xp.matrix_transpose(X), backend.to_numpy(P.matrix), atol=1e-12, xp=xp)


def test_given_init_and_same_result_on_every_backend(xp):
    npx = backend.get_namespace("numpy")
    runs = []
    for ns in (xp, npx):
        problem = _sensing(ns, n=6, m=80)
        runs.append(factored_gd(problem, 3, parameterization="asymmetric", step_size=0.2, init_scale=0.1,
                                max_iter=200, tol=0.0, rng=4, history_stride=20))
    assert_close(runs[0].factors[0], backend.to_numpy(runs[1].factors[0]), rtol=1e-9, atol=1e-12, xp=xp)
    np.testing.assert_allclose(runs[0].history["loss"], runs[1].history["loss"], rtol=1e-9)
    # a given init (NumPy arrays are moved to the problem's backend) reproduces the seeded run
    F0 = backend.random_normal((6, 3), rng=0, xp=npx, scale=0.1)
    G0 = backend.random_normal((6, 3), rng=1, xp=npx, scale=0.1)
    problem = _sensing(xp, n=6, m=80)
    res = factored_gd(problem, 3, init=(F0, G0), max_iter=5, parameterization="asymmetric")
    assert res.params["init"] == "given" and res.history["imbalance"].iloc[0] == pytest.approx(
        np.linalg.norm(F0.T @ F0 - G0.T @ G0), rel=1e-12)


# --------------------------------------------------------------------------- #
# ScaledGD and conditioning
# --------------------------------------------------------------------------- #
def test_scaled_gd_iterations_do_not_depend_on_kappa_while_gd_grows():
    counts = {"scaled_gd": {}, "factored_gd": {}}
    npx = backend.get_namespace("numpy")
    for kappa in (1.0, 100.0):
        problem = make_problem(n=10, rank=2, n_measurements=150, condition_number=kappa, psd=False, seed=0, xp=npx)
        for name, solver in (("scaled_gd", scaled_gd), ("factored_gd", factored_gd)):
            res = solver(problem, 2, init="spectral", step_size=0.5, max_iter=10000, tol=1e-8, rng=0)
            t, e = _curve(res)
            counts[name][kappa] = iterations_to(t, e, 1e-6)
    s, g = counts["scaled_gd"], counts["factored_gd"]
    assert s[100.0] < 1.5 * s[1.0] and s[1.0] < 200, counts
    assert g[100.0] > 20 * g[1.0], counts


def test_scaled_gd_backends_and_overparameterized_damping(xp):
    problem = _sensing(xp, n=8, m=160, kappa=10.0)
    res = scaled_gd(problem, 2, parameterization="asymmetric", max_iter=300, rng=0)
    assert res.stop_reason == "converged" and res.final("relative_error") < 1e-8 and res.params["damping"] == 0.0
    res = scaled_gd(problem, 2, parameterization="symmetric", max_iter=300, rng=0)
    assert res.stop_reason == "converged" and res.final("relative_error") < 1e-8
    # k > r: default damping is positive and the run stays stable and accurate
    over = scaled_gd(problem, 4, parameterization="asymmetric", max_iter=300, rng=0, tol=0.0)
    assert over.params["damping"] > 0 and over.stop_reason == "max_iter"
    assert over.final("relative_error") < 1e-3


# --------------------------------------------------------------------------- #
# study B: l1 sub-gradient method under outliers
# --------------------------------------------------------------------------- #
def test_subgradient_l1_recovers_under_outliers_where_l2_fails(xp):
    problem = make_problem(n=10, rank=2, n_measurements=320, outlier_fraction=0.3, seed=0, xp=xp)
    assert problem.symmetric  # study B: symmetric sensing matrices
    l1 = subgradient_l1(problem, 2, step_size=0.3, decay=0.99, init_scale=1e-3, max_iter=2000, rng=1,
                        history_stride=50)
    assert l1.final("relative_error") < 1e-3, l1.final("relative_error")
    l2 = factored_gd(problem, 2, step_size=0.02, init_scale=1e-3, max_iter=2000, rng=1, history_stride=50)
    assert l2.stop_reason != "converged"
    assert l2.stop_reason == "diverged" or l2.final("relative_error") > 0.5
    assert "step_size" in l1.history.columns
    assert l1.history["step_size"].iloc[1] == pytest.approx(0.3 * 0.99**50)


def test_subgradient_small_init_keeps_spurious_directions_small():
    """B-4: with r' > r and small alpha, exactly r singular values of U grow; the rest stay small."""
    problem = make_problem(n=10, rank=2, n_measurements=320, seed=0)
    res = subgradient_l1(problem, 6, step_size=0.3, decay=0.99, init_scale=1e-4, max_iter=2000, rng=1,
                         history_stride=100)
    last = res.history.iloc[-1]
    grown = [last[f"sigma_{i}"] for i in (1, 2)]
    spurious = [last[f"sigma_{i}"] for i in range(3, 7)]
    assert min(grown) > 0.5 and max(spurious) < 0.05, (grown, spurious)
    assert res.final("relative_error") < 1e-2


def test_subgradient_asymmetric_variant_runs(xp):
    problem = _sensing(xp, n=6, m=150, kappa=1.0)
    res = subgradient_l1(problem, 2, parameterization="asymmetric", step_size=0.3, decay=0.99, init_scale=1e-2,
                         max_iter=1500, rng=0, history_stride=100)
    assert res.final("relative_error") < 1e-4 and len(res.factors) == 2


# --------------------------------------------------------------------------- #
# convex baseline
# --------------------------------------------------------------------------- #
def test_nuclear_norm_pgd_recovers_with_a_bias_that_shrinks_with_reg(xp):
    M = low_rank_matrix(8, 8, 2, rng=0, xp=xp)
    problem = gaussian_sensing(M, 140, rng=1)
    errors = []
    for reg in (1e-2, 1e-3):
        res = nuclear_norm_pgd(problem, reg=reg, max_iter=600, tol=1e-10, rng=0, history_stride=10)
        errors.append(res.final("relative_error"))
        loss = res.history["loss"].to_numpy()
        assert np.all(np.diff(loss) <= 1e-12 * loss[0])  # PGD with step < 1/L is monotone
        F, G = res.factors
        assert F.shape[1] == 2 and int(res.history["rank"].iloc[-1]) == 2
    assert errors[1] < 0.3 * errors[0] and errors[1] < 1e-2, errors
    psd = nuclear_norm_pgd(gaussian_sensing(low_rank_matrix(8, 8, 2, psd=True, rng=0, xp=xp), 140, rng=1),
                           reg=1e-3, max_iter=600, rng=0)
    assert psd.params["psd"] and psd.final("relative_error") < 1e-2
    F, G = psd.factors
    assert_close(F, backend.to_numpy(G), atol=1e-10, xp=xp)  # PSD: X = F F^T


def test_nuclear_norm_pgd_rank_cap_and_identity(xp):
    M = low_rank_matrix(6, 6, 2, rng=0, xp=xp)
    res = nuclear_norm_pgd(fully_observed(M), 1, reg=0.0, max_iter=50)
    assert res.params["step_size"] == pytest.approx(0.95)
    assert res.factors[0].shape == (6, 1)
    assert int(res.history["rank"].max()) == 1


# --------------------------------------------------------------------------- #
# the solver contract: divergence, callbacks, history, validation
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("solver", ["factored_gd", "scaled_gd", "subgradient_l1", "nuclear_norm_pgd"])
def test_huge_step_is_reported_as_divergence(xp, solver):
    problem = _sensing(xp, n=6, m=60)
    kw = {"step_size": 1e4, "max_iter": 200, "rng": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings leak out
        if solver == "factored_gd":
            res = factored_gd(problem, 2, init_scale=1.0, **kw)
        elif solver == "scaled_gd":
            res = scaled_gd(problem, 2, **kw)
        elif solver == "subgradient_l1":
            res = subgradient_l1(problem, 2, init_scale=1.0, decay=1.0, **kw)
        else:
            res = nuclear_norm_pgd(problem, **kw)
    assert res.stop_reason == "diverged" and not res.converged
    assert res.n_iter < 200
    for f in res.factors:  # the last finite iterate is returned, never NaN
        assert bool(xp.all(xp.isfinite(f)))


def test_callback_stops_and_sees_the_state(xp):
    problem = _sensing(xp, n=6, m=60)
    seen = []

    def cb(iteration, state):
        seen.append((iteration, set(state)))
        return iteration == 7

    for solver in (factored_gd, scaled_gd, subgradient_l1):
        seen.clear()
        res = solver(problem, 2, max_iter=100, callback=cb, rng=0)
        assert res.stop_reason == "callback" and res.n_iter == 7
        assert [s[0] for s in seen] == list(range(8)) and {"factors", "loss", "step_size"} <= seen[0][1]
        assert res.history["iteration"].iloc[-1] == 7
    res = nuclear_norm_pgd(problem, max_iter=100, callback=cb)
    assert res.stop_reason == "callback" and res.n_iter == 7


def test_history_stride_and_max_iter(xp):
    problem = _sensing(xp, n=6, m=60)
    res = factored_gd(problem, 2, max_iter=23, tol=0.0, history_stride=5, rng=0)
    assert list(res.history["iteration"]) == [0, 5, 10, 15, 20, 23]
    assert res.stop_reason == "max_iter" and res.n_iter == 23 and res.seed == 0
    assert {"loss", "relative_error", "relative_residual", "time_s", "sigma_1", "sigma_2"} <= set(res.history.columns)
    # loss normalizations (Xiong, Ding & Du 2024; Ma & Fattahi 2022) at X = 0, where r = -y
    y = problem.measurements
    m = problem.n_measurements
    zeros = np.zeros((6, 2))
    sym = factored_gd(problem, 2, parameterization="symmetric", init=(zeros,), max_iter=0)
    assert sym.history["loss"].iloc[0] == pytest.approx(float(xp.sum(y * y)) / (4 * m), rel=1e-12)
    asym = factored_gd(problem, 2, parameterization="asymmetric", init=(zeros, zeros), max_iter=0)
    assert asym.history["loss"].iloc[0] == pytest.approx(float(xp.sum(y * y)) / (2 * m), rel=1e-12)
    l1 = subgradient_l1(problem, 2, init=(zeros,), max_iter=0)
    assert l1.history["loss"].iloc[0] == pytest.approx(float(xp.sum(xp.abs(y))) / m, rel=1e-12)


def _loss_at(solver, problem, factors, parameterization):
    res = solver(problem, factors[0].shape[1], parameterization=parameterization, init=tuple(factors), max_iter=0)
    return res.history["loss"].iloc[0]


@pytest.mark.parametrize("solver_name", ["factored_gd", "scaled_gd", "subgradient_l1"])
@pytest.mark.parametrize("parameterization", ["symmetric", "asymmetric"])
def test_one_step_equals_finite_difference_gradient(xp, solver_name, parameterization):
    """The update of one iteration is -eta * (gradient of the recorded loss) [* preconditioner]."""
    solver = {"factored_gd": factored_gd, "scaled_gd": scaled_gd, "subgradient_l1": subgradient_l1}[solver_name]
    problem = _sensing(xp, n=4, rank=1, m=30, kappa=1.0)
    gen = np.random.default_rng(5)
    init = [gen.standard_normal((4, 2)) * 0.5 for _ in range(1 if parameterization == "symmetric" else 2)]
    eta = 1e-3
    kw = {"parameterization": parameterization, "step_size": eta}
    if solver_name == "scaled_gd":
        kw["damping"] = 0.1
    one = solver(problem, 2, init=tuple(init), max_iter=1, tol=0.0, **kw)
    steps = [(f0 - backend.to_numpy(f1)) / eta for f0, f1 in zip(init, one.factors)]
    h = 1e-6
    for which, f0 in enumerate(init):
        fd = np.zeros_like(f0)
        for idx in np.ndindex(*f0.shape):
            plus = [f.copy() for f in init]
            minus = [f.copy() for f in init]
            plus[which][idx] += h
            minus[which][idx] -= h
            fd[idx] = (_loss_at(solver, problem, plus, parameterization)
                       - _loss_at(solver, problem, minus, parameterization)) / (2 * h)
        if solver_name == "scaled_gd":
            other = init[0] if parameterization == "symmetric" else init[1 - which]
            fd = fd @ np.linalg.inv(other.T @ other + 0.1 * np.eye(2))
        np.testing.assert_allclose(steps[which], fd, rtol=1e-5, atol=1e-7)


def test_float32_runs(xp):
    M = low_rank_matrix(6, 6, 2, psd=True, rng=0, xp=xp)
    problem = gaussian_sensing(M, 100, dtype=xp.float32, rng=1)
    res = factored_gd(problem, 2, step_size=0.2, init_scale=0.1, max_iter=1500, tol=1e-5, rng=0)
    assert res.factors[0].dtype == xp.float32
    assert res.final("relative_error") < 1e-4


def test_bad_arguments_name_the_argument(xp):
    problem = _sensing(xp, n=6, m=40)
    sym_problem = _sensing(xp, n=6, m=40, symmetric_sensing=True)
    with pytest.raises(ValueError, match="rank"):
        factored_gd(problem, 0)
    with pytest.raises(ValueError, match=r"rank must be in \[1, min\(n1, n2\)=6\]"):
        scaled_gd(problem, 7)
    with pytest.raises(ValueError, match="parameterization"):
        factored_gd(problem, 2, parameterization="diagonal")
    with pytest.raises(ValueError, match="asymmetric"):
        factored_gd(sym_problem, 2, parameterization="asymmetric")
    with pytest.raises(ValueError, match="symmetric"):
        factored_gd(gaussian_sensing(low_rank_matrix(5, 4, 1, rng=0, xp=xp), 20, rng=0), 1,
                    parameterization="symmetric")
    with pytest.raises(ValueError, match="step_size"):
        factored_gd(problem, 2, step_size=-0.1)
    with pytest.raises(ValueError, match="init_scale"):
        factored_gd(problem, 2, init_scale=0.0)
    with pytest.raises(ValueError, match="init"):
        factored_gd(problem, 2, init="zeros")
    with pytest.raises(ValueError, match=r"init\[0\] must have shape"):
        factored_gd(problem, 2, init=(np.zeros((6, 3)), np.zeros((6, 2))), parameterization="asymmetric")
    with pytest.raises(ValueError, match="init must hold 2"):
        factored_gd(problem, 2, init=(np.zeros((6, 2)),), parameterization="asymmetric")
    with pytest.raises(ValueError, match=r"init\[0\] must be finite"):
        factored_gd(problem, 2, init=(np.full((6, 2), np.nan),), parameterization="symmetric")
    with pytest.raises(ValueError, match="one_step_fix"):
        factored_gd(problem, 2, one_step_fix="orthogonal", parameterization="symmetric")
    with pytest.raises(ValueError, match="one_step_fix"):
        factored_gd(problem, 2, one_step_fix="shake", parameterization="asymmetric")
    with pytest.raises(ValueError, match="max_iter"):
        factored_gd(problem, 2, max_iter=-1)
    with pytest.raises(ValueError, match="tol"):
        factored_gd(problem, 2, tol=-1.0)
    with pytest.raises(ValueError, match="check_every"):
        factored_gd(problem, 2, check_every=0)
    with pytest.raises(ValueError, match="history_stride"):
        subgradient_l1(problem, 2, history_stride=0)
    with pytest.raises(ValueError, match="decay"):
        subgradient_l1(problem, 2, decay=1.5)
    with pytest.raises(ValueError, match="damping"):
        scaled_gd(problem, 2, damping=-1.0)
    with pytest.raises(ValueError, match="reg"):
        nuclear_norm_pgd(problem, reg=-1.0)
    with pytest.raises(ValueError, match="psd"):
        nuclear_norm_pgd(gaussian_sensing(low_rank_matrix(5, 4, 1, rng=0, xp=xp), 20, rng=0), psd=True)
    with pytest.raises(TypeError, match="callback"):
        factored_gd(problem, 2, callback=3)
    with pytest.raises(TypeError, match="problem"):
        factored_gd(np.zeros((6, 6)), 2)
    with pytest.raises(TypeError, match="rng"):
        factored_gd(problem, 2, rng="seed")
    assert math.isfinite(factored_gd(problem, 2, max_iter=1).final("loss"))


def test_scaled_gd_lambda_beats_gd_when_over_parameterized():
    """ScaledGD(lambda) (small start, damped preconditioner) with k > r: far below GD at equal iterations."""
    from lowrank_lab.matrices import low_rank_matrix
    from lowrank_lab.sensing import gaussian_sensing

    M = low_rank_matrix(20, 20, 2, psd=True, condition_number=10, rng=0)
    P = gaussian_sensing(M, 400, rng=1)
    damped = scaled_gd(P, 5, init="small_random", init_scale=1e-3, damping=1e-3, step_size=0.3, max_iter=800, rng=2)
    gd = factored_gd(P, 5, init_scale=1e-3, step_size=0.3, max_iter=800, rng=2)
    assert damped.final("relative_error") < gd.final("relative_error") / 10
