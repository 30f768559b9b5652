"""Gradient-projection transforms: the identities of the issue, reference-code facts, state sizes, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import assert_close, to_xp

from lowrank_lab import backend, linalg, spectral
from lowrank_lab.adapters import (
    adam,
    apply_updates,
    chain,
    matrix_labels,
    multi_transform,
    scale_by_adam,
    scale_by_learning_rate,
    sgd,
    state_floats,
    trace,
)
from lowrank_lab.adapters import projection as P


def _grads(xp, shape, steps, seed=0):
    gen = np.random.default_rng(seed)
    return [to_xp(xp, gen.standard_normal(shape)) for _ in range(steps)]


def _run(opt, grads, params):
    state = opt.init(params)
    for G in grads:
        u, state = opt.update({"W": G}, state, params)
        params = apply_updates(params, u)
    return params, state


def _svd_basis(G, r, side):
    U, _, Vt = linalg.svd(G)
    return U[:, :r] if side == "left" else Vt[:r].T


# --------------------------------------------------------------------------- the identities of the issue
@pytest.mark.parametrize("shape, side", [((6, 10), "left"), ((10, 6), "right")])
def test_galore_with_infinite_gap_is_adam_on_the_fixed_projection(xp, shape, side):
    r, lr = 3, 0.05
    grads = _grads(xp, shape, 8)
    params, state = _run(P.galore(lr, r, update_gap=None), grads, {"W": xp.zeros(shape, dtype=xp.float64)})
    B = _svd_basis(backend.to_numpy(grads[0]), r, side)
    a = adam(lr)
    q = {"R": np.zeros((r, shape[1]) if side == "left" else (shape[0], r))}
    sa, X = a.init(q), np.zeros(shape)
    for G in grads:
        G = backend.to_numpy(G)
        ua, sa = a.update({"R": B.T @ G if side == "left" else G @ B}, sa, q)
        q = apply_updates(q, ua)
        X += B @ ua["R"] if side == "left" else ua["R"] @ B.T
    assert_close(params["W"], X, xp=xp, rtol=1e-10, atol=1e-13)
    view = P.projectors(state)["W"]
    assert view.side == side and view.refreshes == 1


def test_galore_with_momentum_inside_full_rank_and_a_fixed_projector_is_momentum_sgd(xp):
    shape = (7, 5)
    grads = _grads(xp, shape, 10)
    zeros = {"W": xp.zeros(shape, dtype=xp.float64)}
    ours = chain(P.scale_by_galore(5, update_gap=None, inner=trace(0.9)), scale_by_learning_rate(0.1))
    a, _ = _run(ours, grads, zeros)
    b, _ = _run(sgd(0.1, momentum=0.9), grads, zeros)
    assert_close(a["W"], backend.to_numpy(b["W"]), xp=xp, rtol=1e-10, atol=1e-13)


def _regression_run(gap, steps=60, r=2, seed=0):
    """GaLore-Adam on ||(W - W*) X^T||^2 with a full-rank W* (n x n): the accumulated update dW."""
    gen = np.random.default_rng(seed)
    n = 8
    Wstar = gen.standard_normal((n, n))
    X = gen.standard_normal((64, n))
    opt = P.galore(0.05, r, update_gap=gap)
    params = {"W": np.zeros((n, n))}
    state = opt.init(params)
    for _ in range(steps):
        G = (params["W"] - Wstar) @ X.T @ X / 64
        u, state = opt.update({"W": G}, state, params)
        params = apply_updates(params, u)
    return params["W"]


def test_periodic_refresh_accumulates_an_update_of_rank_above_r_and_a_fixed_projector_does_not():
    assert spectral.numerical_rank(_regression_run(5), rtol=1e-8) > 2
    assert spectral.numerical_rank(_regression_run(None), rtol=1e-8) <= 2


def test_fira_with_a_zero_residual_reduces_to_galore(xp):
    gen = np.random.default_rng(3)
    U = np.linalg.qr(gen.standard_normal((6, 2)))[0]
    grads = [to_xp(xp, U @ gen.standard_normal((2, 9))) for _ in range(6)]  # every G in span(U): G - P R = 0
    zeros = {"W": xp.zeros((6, 9), dtype=xp.float64)}
    a, _ = _run(P.fira(0.03, 2, update_gap=None), grads, zeros)
    b, _ = _run(P.galore(0.03, 2, update_gap=None), grads, zeros)
    assert_close(a["W"], backend.to_numpy(b["W"]), xp=xp, rtol=1e-9, atol=1e-12)
    c, _ = _run(P.fira(0.03, 2, update_gap=None, scale=0.5), grads, zeros)  # residual G - alpha P R = (1 - alpha) G
    assert float(np.abs(backend.to_numpy(c["W"]) - backend.to_numpy(b["W"])).max()) > 1e-3


def test_fira_residual_is_g_minus_alpha_p_r_scaled_per_channel():
    gen = np.random.default_rng(0)
    G = gen.standard_normal((5, 8))
    alpha = 0.25
    t = P.scale_by_fira(2, update_gap=None, scale=alpha, gamma=None)
    u, _ = t.update({"W": G}, t.init({"W": np.zeros((5, 8))}))
    Pm = _svd_basis(G, 2, "left")
    R = Pm.T @ G
    N = R / (np.abs(R) + 1e-8)  # Adam's first step
    phi = np.linalg.norm(N, axis=0) / (np.linalg.norm(R, axis=0) + 1e-8)
    expected = alpha * Pm @ N + (G - alpha * Pm @ R) * phi[None, :]
    np.testing.assert_allclose(u["W"], expected, rtol=1e-7, atol=1e-10)


def test_frugal_with_a_zero_outside_step_is_galore(xp):
    grads = _grads(xp, (6, 9), 12)
    zeros = {"W": xp.zeros((6, 9), dtype=xp.float64)}
    ref, _ = _run(P.galore(0.02, 2, update_gap=4), grads, zeros)
    for opt in (P.frugal(0.02, 2, update_gap=4, outside="zero"), P.frugal(0.02, 2, update_gap=4, outside_scale=0.0)):
        got, _ = _run(opt, grads, zeros)
        assert_close(got["W"], backend.to_numpy(ref["W"]), xp=xp, rtol=1e-10, atol=1e-13)


def test_frugal_outside_step_is_sign_or_sgd_of_the_orthogonal_residual():
    gen = np.random.default_rng(1)
    G = gen.standard_normal((4, 7))
    Pm = _svd_basis(G, 2, "left")
    residual = G - Pm @ (Pm.T @ G)
    for outside, h in (("sign", np.sign(residual)), ("sgd", residual)):
        a = P.scale_by_frugal(2, update_gap=None, outside=outside, outside_scale=0.5)
        g = P.scale_by_galore(2, update_gap=None)
        ua = a.update({"W": G}, a.init({"W": G * 0}))[0]["W"]
        ug = g.update({"W": G}, g.init({"W": G * 0}))[0]["W"]
        np.testing.assert_allclose(ua - ug, 0.5 * h, atol=1e-12)


# --------------------------------------------------------------------------- DCT selection
def test_dct_selection_with_full_rank_captures_all_energy(xp):
    G = _grads(xp, (8, 12), 1)[0]
    t = P.scale_by_galore(8, projector="dct", update_gap=1)
    _, s = t.update({"W": G}, t.init({"W": G * 0}))
    basis = P.projectors(s)["W"].basis
    assert spectral.captured_energy(G, basis) == pytest.approx(1.0, rel=1e-12)
    assert state_floats(s) == 2 * 8 * 12  # only the indices are stored, not the projector


def test_dct_selection_keeps_the_cosines_with_the_largest_l1_score():
    D = linalg.dct_matrix(16)  # rows are the cosine vectors
    gen = np.random.default_rng(2)
    G = np.outer(D[3], gen.standard_normal(40)) * 5 + np.outer(D[11], gen.standard_normal(40)) * 3 \
        + 0.01 * gen.standard_normal((16, 40))
    t = P.scale_by_galore(2, projector="dct", update_gap=1)
    _, s = t.update({"W": G}, t.init({"W": G * 0}))
    leaf = s.leaves["W"]
    assert sorted(np.asarray(leaf.index).tolist()) == [3, 11]
    scores = np.abs(D @ G).sum(axis=1)  # the l1 score of every cosine
    assert set(np.argsort(-scores)[:2].tolist()) == {3, 11}
    np.testing.assert_allclose(P.projectors(s)["W"].basis, D[np.asarray(leaf.index)].T)


def test_first_r_dct_and_coordinate_projectors_are_index_kinds(xp):
    G = _grads(xp, (10, 6), 1)[0]  # m >= n: right side, d = 6
    for kind in ("dct_first", "coordinate"):
        t = P.scale_by_galore(3, projector=kind, update_gap=None)
        _, s = t.update({"W": G}, t.init({"W": G * 0}))
        B = backend.to_numpy(P.projectors(s)["W"].basis)
        assert B.shape == (6, 3)
        np.testing.assert_allclose(B.T @ B, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(B.sum(axis=1) * (B.sum(axis=1) - 1), 0.0)  # coordinate vectors


# --------------------------------------------------------------------------- state sizes
@pytest.mark.parametrize("m, n", [(6, 10), (10, 6)])
def test_optimizer_state_sizes_follow_the_formulas(m, n):
    r = 3
    params = {"W": np.zeros((m, n)), "b": np.zeros(m)}
    G = {"W": np.random.default_rng(0).standard_normal((m, n)), "b": np.ones(m)}
    d, other = min(m, n), max(m, n)  # the projector lives on the smaller side; moments are r x (larger side)
    bias = 2 * m
    expected = {
        "galore": P.galore(0.1, r),
        "fira": P.fira(0.1, r),
        "frugal": P.frugal(0.1, r),
        "apollo": P.apollo(0.1, r),
        "apollo_mini": P.apollo_mini(0.1),
        "galore_dct": P.galore(0.1, r, projector="dct"),
        "galore_adaptive": P.galore(0.1, r, adaptive_gap=True),
        "galore_int4": P.galore(0.1, r, projector_bits=4),
        "adam": adam(0.1),
    }
    formula = {
        "galore": d * r + 2 * r * other + bias,
        "fira": d * r + 2 * r * other + 1 + bias,  # + the limiter's previous norm
        "frugal": d * r + 2 * r * other + bias,
        "apollo": d * r + 2 * r * other + 1 + bias,
        "apollo_mini": d + 2 * other + 1 + bias,
        "galore_dct": 2 * r * other + bias,  # indices only
        "galore_adaptive": d * r + 2 * r * other + d + bias,  # + the lead vector of the last projector
        "galore_int4": 2 + 2 * r * other + bias,  # uint8 codes + one group's scale and zero point
        "adam": 2 * m * n + bias,
    }
    for name, opt in expected.items():
        state = opt.init(params)
        _, state = opt.update(G, state, params)
        assert state_floats(state) == formula[name], name


# --------------------------------------------------------------------------- limiter and APOLLO
def test_the_limiter_caps_the_growth_ratio_and_leaves_the_first_step_alone(xp):
    t = P.clip_by_norm_growth(1.01)
    s = t.init({"w": xp.zeros(3, dtype=xp.float64)})
    norms = [5.0, 6.0, 100.0, 0.5, 0.6, 40.0]
    out = []
    for k in norms:
        u, s = t.update({"w": to_xp(xp, np.full(3, k / math.sqrt(3)))}, s)
        out.append(float(np.linalg.norm(backend.to_numpy(u["w"]))))
    assert out[0] == pytest.approx(5.0)
    ratios = np.array(out[1:]) / np.array(out[:-1])
    assert np.all(ratios <= 1.01 * (1 + 1e-7))
    assert out[3] == pytest.approx(0.5)  # decreases pass unchanged


def test_fira_limiter_caps_the_residual_term_under_a_spike():
    gen = np.random.default_rng(4)
    grads = [gen.standard_normal((6, 9)) for _ in range(6)]
    grads[4] = 20 * grads[4]
    opt = P.scale_by_fira(2, update_gap=None, gamma=1.01)
    state = opt.init({"W": np.zeros((6, 9))})
    norms = []
    for G in grads:
        _, state = opt.update({"W": G}, state)
        norms.append(float(state.leaves["W"].limiter))
    assert np.all(np.array(norms[1:]) / np.array(norms[:-1]) <= 1.01 * (1 + 1e-7))


def test_apollo_follows_the_reference_code():
    gen = np.random.default_rng(5)
    G = gen.standard_normal((8, 20))  # left side
    r, scale = 3, 4.0
    t = P.scale_by_apollo(r, scale=scale, gamma=None, update_gap=None, seed=11)
    u, s = t.update({"W": G}, t.init({"W": G * 0}))
    Pm = P.projectors(s)["W"].basis
    assert Pm.shape == (8, 3)
    assert not np.allclose(Pm.T @ Pm, np.eye(3), atol=1e-2)  # not orthogonalized
    R = Pm.T @ G
    N = R / (np.abs(R) + 1e-8)
    phi = np.linalg.norm(N, axis=0) / (np.linalg.norm(R, axis=0) + 1e-8)
    np.testing.assert_allclose(u["W"], math.sqrt(scale) * G * phi[None, :], rtol=1e-9)
    mini = P.scale_by_apollo(1, scaling="tensor", gamma=None, update_gap=None, seed=11)
    um, _ = mini.update({"W": G}, mini.init({"W": G * 0}))
    ratio = um["W"] / G
    np.testing.assert_allclose(ratio, ratio[0, 0])


def test_apollo_gaussian_projector_has_variance_one_over_r():
    G = np.ones((400, 1000))
    t = P.scale_by_apollo(50, update_gap=None)
    _, s = t.update({"W": G}, t.init({"W": G * 0}))
    B = P.projectors(s)["W"].basis
    assert B.std() == pytest.approx(1 / math.sqrt(50), rel=0.02)


def test_apollo_redraws_its_projector_every_gap_and_keeps_the_moments():
    t = P.scale_by_apollo(2, update_gap=2)
    s = t.init({"W": np.zeros((4, 6))})
    bases = []
    for G in _grads(np, (4, 6), 4):
        _, s = t.update({"W": G}, s)
        bases.append(P.projectors(s)["W"].basis.copy())
    np.testing.assert_array_equal(bases[0], bases[1])
    assert not np.allclose(bases[1], bases[2])
    assert s.leaves["W"].inner.count == 4  # Adam's count was never reset


# --------------------------------------------------------------------------- moments at a refresh
def test_reprojected_moments_make_a_rotated_basis_invisible():
    """A refresh to the same subspace in a signed-permuted basis: 'reproject' rotates Adam's moments exactly."""
    gen = np.random.default_rng(6)
    base = np.linalg.qr(gen.standard_normal((6, 3)))[0]
    rot = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    calls = []

    def projector(G, side, rank, rng):
        calls.append(1)
        return base if len(calls) == 1 else base @ rot

    grads = [base @ gen.standard_normal((3, 9)) for _ in range(8)]
    zeros = {"W": np.zeros((6, 9))}
    fixed, _ = _run(P.galore(0.05, 3, update_gap=None, projector=lambda G, side, rank, rng: base), grads, zeros)
    calls.clear()
    rotated, _ = _run(P.galore(0.05, 3, update_gap=4, projector=projector, moments="reproject"), grads, zeros)
    np.testing.assert_allclose(rotated["W"], fixed["W"], rtol=1e-10, atol=1e-13)
    calls.clear()
    kept, _ = _run(P.galore(0.05, 3, update_gap=4, projector=projector, moments="keep"), grads, zeros)
    assert np.abs(kept["W"] - fixed["W"]).max() > 1e-3


def test_reset_moments_restart_adam_at_a_refresh():
    t = P.scale_by_galore(2, update_gap=3, moments="reset")
    s = t.init({"W": np.zeros((5, 7))})
    counts = []
    for G in _grads(np, (5, 7), 7):
        _, s = t.update({"W": G}, s)
        counts.append(s.leaves["W"].inner.count)
    assert counts == [1, 2, 3, 1, 2, 3, 1]


# --------------------------------------------------------------------------- the Q-GaLore adaptive gap
def _gap_after(cosine, sign_flips, shape=(10, 6)):
    gen = np.random.default_rng(7)
    u, v = np.linalg.qr(gen.standard_normal((shape[0], 1)))[0], np.linalg.qr(gen.standard_normal((shape[1], 1)))[0]
    t = P.scale_by_galore(1, update_gap=2, adaptive_gap=True, cosine=cosine, queue_size=3)
    s = t.init({"W": np.zeros(shape)})
    for i in range(14):
        sign = (-1.0) ** (i // 2) if sign_flips else 1.0  # flips between refreshes (every 2 steps)
        G = sign * (5 * u @ v.T) + 0.01 * gen.standard_normal(shape)
        _, s = t.update({"W": G}, s)
    return s.leaves["W"]


def test_a_stable_subspace_doubles_the_gap():
    leaf = _gap_after("signed", False)
    assert leaf.gap > 2 and len(leaf.cosines) == 3 and min(leaf.cosines) > 0.99


def test_signed_cosines_see_sign_flips_that_absolute_cosines_ignore():
    # m >= n: the projector is the right singular vector, whose sign follows G's under the svd_flip convention
    signed = _gap_after("signed", True)
    absolute = _gap_after("absolute", True)
    assert signed.gap == 2 and min(signed.cosines) < -0.99
    assert absolute.gap > 2


# --------------------------------------------------------------------------- INT8 weights and spikes
def test_round_to_nearest_weights_stall_where_stochastic_rounding_moves():
    gen = np.random.default_rng(8)
    W = gen.uniform(-1, 1, size=(4, 64))
    params = {"W": W}
    tiny = {"W": np.full((4, 64), 1e-4)}  # far below the 8-bit step (about 2 / 255)
    near = P.quantize_weights(8, group_size=64, rounding="nearest")
    first, _ = near.update({"W": np.zeros((4, 64))}, near.init(params), params)  # onto the grid
    on_grid = {"W": W + first["W"]}
    u, _ = near.update(tiny, near.init(on_grid), on_grid)
    assert np.abs(u["W"]).max() < 1e-12
    moved = [P.quantize_weights(8, group_size=64, seed=s).update(tiny, near.init(on_grid), on_grid)[0]["W"]
             for s in range(400)]
    mean = np.mean(moved, axis=0)
    assert mean[:, 1:-1].mean() == pytest.approx(1e-4, rel=0.2)  # unbiased on average


def test_quantize_weights_uses_the_offset_and_checks_its_input():
    offset = np.array([[-2.0, -2.0], [-2.0, -2.0]])
    t = P.quantize_weights(8, group_size=4, rounding="nearest", offset={"W": offset})
    p = {"W": np.array([[0.0, 1.0], [2.0, 3.0]])}
    u, _ = t.update({"W": np.zeros((2, 2))}, t.init(p), p)
    np.testing.assert_allclose(p["W"] + u["W"] + offset, [[-2.0, -1.0], [0.0, 1.0]], atol=3 / 255)
    # the reference quantizer clips its zero point to the code range: a group that does not straddle 0 saturates
    t = P.quantize_weights(8, group_size=4, rounding="nearest", offset={"W": np.full((2, 2), 10.0)})
    u, _ = t.update({"W": np.zeros((2, 2))}, t.init(p), p)
    np.testing.assert_allclose(p["W"] + u["W"] + 10.0, 3.0)
    with pytest.raises(ValueError, match="group_size must divide"):
        P.quantize_weights(group_size=3).init({"W": np.zeros((2, 2))})
    with pytest.raises(ValueError, match="needs params"):
        t.update({"W": np.zeros((2, 2))}, t.init(p))
    with pytest.raises(ValueError, match="offset names"):
        P.quantize_weights(offset={"V": np.zeros(1)}).init({"W": np.zeros((16, 16))})


def test_spikes_multiply_the_chosen_steps():
    t = P.inject_gradient_spikes([1, 3], 20.0)
    s = t.init({})
    got = []
    for _ in range(5):
        u, s = t.update({"g": np.ones(1)}, s)
        got.append(float(u["g"][0]))
    assert got == [1.0, 20.0, 1.0, 20.0, 1.0]


# --------------------------------------------------------------------------- composition, backends, dtypes
@pytest.mark.parametrize("make", [
    lambda: P.galore(0.02, 2, update_gap=3),
    lambda: P.galore(0.02, 2, update_gap=2, projector="dct"),
    lambda: P.galore(0.02, 2, update_gap=2, projector="randomized_svd", moments="reproject"),
    lambda: P.fira(0.02, 2, update_gap=3),
    lambda: P.frugal(0.02, 2, update_gap=3, projector="random"),
    lambda: P.apollo(0.02, 2, update_gap=3),
    lambda: P.apollo_mini(0.02),
    lambda: P.q_galore(0.02, 2, update_gap=2, group_size=4, projector_bits=4),
])
def test_every_transform_keeps_the_namespace_and_lowers_a_quadratic(xp, make):
    gen = np.random.default_rng(9)
    target = to_xp(xp, gen.standard_normal((6, 8)))
    opt = make()
    params = {"W": xp.zeros((6, 8), dtype=xp.float64), "b": xp.zeros(6, dtype=xp.float64)}
    state = opt.init(params)
    for _ in range(30):
        grads = {"W": params["W"] - target, "b": params["b"] - 1.0}
        u, state = opt.update(grads, state, params)
        params = apply_updates(params, u)
    W = params["W"]
    assert backend.backend_name(backend.array_namespace(W)) == backend.backend_name(xp)
    assert float(xp.sum((W - target) ** 2)) < float(xp.sum(target**2))


def test_float32_gradients_stay_float32(xp):
    G = to_xp(xp, np.random.default_rng(0).standard_normal((6, 8)), dtype=xp.float32)
    for opt in (P.galore(0.1, 2), P.fira(0.1, 2), P.galore(0.1, 2, projector="dct"), P.apollo(0.1, 2)):
        u, _ = opt.update({"W": G}, opt.init({"W": G * 0}), {"W": G * 0})
        assert u["W"].dtype == xp.float32


def test_projection_composes_with_multi_transform_and_chain():
    opt = chain(P.inject_gradient_spikes([], 1.0),
                multi_transform({"matrix": P.galore(0.1, 1), "other": sgd(0.1)}, matrix_labels))
    params = {"W": np.zeros((3, 4)), "b": np.zeros(3)}
    u, s = opt.update({"W": np.ones((3, 4)), "b": np.ones(3)}, opt.init(params), params)
    np.testing.assert_allclose(u["b"], -0.1)
    assert set(P.projectors(s)) == {"W"}
    assert state_floats(s) == 3 + 2 * 4  # the projector and rank-one moments; SGD is stateless


def test_one_dimensional_leaves_get_the_inner_transform_unprojected():
    opt = P.galore(0.1, 2)
    ref = adam(0.1)
    params = {"b": np.zeros(4)}
    g = {"b": np.array([1.0, -2.0, 3.0, 0.5])}
    np.testing.assert_allclose(opt.update(g, opt.init(params), params)[0]["b"],
                               ref.update(g, ref.init(params), params)[0]["b"])


def test_random_projectors_are_seeded_per_leaf_and_refresh():
    G = np.random.default_rng(0).standard_normal((6, 9))
    views = []
    for seed in (1, 1, 2):
        t = P.scale_by_galore(2, projector="random", seed=seed)
        _, s = t.update({"W": G, "V": G}, t.init({"W": G * 0, "V": G * 0}))
        views.append(P.projectors(s))
    np.testing.assert_array_equal(views[0]["W"].basis, views[1]["W"].basis)
    assert not np.allclose(views[0]["W"].basis, views[2]["W"].basis)
    assert not np.allclose(views[0]["W"].basis, views[0]["V"].basis)


def test_refuses_bad_input():
    with pytest.raises(ValueError, match="rank must be in"):
        P.galore(0.1, 0)
    with pytest.raises(ValueError, match="update_gap must be in"):
        P.galore(0.1, 2, update_gap=0)
    with pytest.raises(ValueError, match="projector must be one of"):
        P.galore(0.1, 2, projector="pca")
    with pytest.raises(ValueError, match="moments must be one of"):
        P.galore(0.1, 2, moments="rotate")
    with pytest.raises(ValueError, match="scale must be"):
        P.galore(0.1, 2, scale=0.0)
    with pytest.raises(ValueError, match="gamma must be"):
        P.fira(0.1, 2, gamma=0.5)
    with pytest.raises(ValueError, match="orthonormal"):
        P.frugal(0.1, 2, projector="gaussian")
    with pytest.raises(ValueError, match="outside must be one of"):
        P.frugal(0.1, 2, outside="adam")
    with pytest.raises(TypeError, match="inner must be a GradientTransformation"):
        P.scale_by_galore(2, inner=scale_by_adam)
    with pytest.raises(ValueError, match="scaling must be one of"):
        P.apollo(0.1, 2, scaling="row")
    with pytest.raises(ValueError, match="cosine must be one of"):
        P.galore(0.1, 2, cosine="cos")
    with pytest.raises(TypeError, match="adaptive_gap must be a bool"):
        P.galore(0.1, 2, adaptive_gap=1)
    t = P.scale_by_galore(2, projector=lambda G, side, rank, rng: np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"projector must return a \(4, 2\) array"):
        t.update({"W": np.ones((4, 5))}, t.init({"W": np.zeros((4, 5))}))
