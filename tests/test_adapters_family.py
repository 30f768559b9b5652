"""The LoRA family (study F): what each parameterization's formula allows.

Pullbacks against finite differences, rank caps, fixed subspaces, unchanged outputs at
step 0, trainable counts against the formulas, data-aware initializations against their
definitions, and bad input.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from helpers import assert_close, to_xp

from lowrank_lab import backend, spectral
from lowrank_lab.adapters import (
    AdapterState,
    activation_covariance,
    corda,
    damped_inverse,
    dora,
    dylora,
    eva,
    eva_adapters,
    eva_ranks,
    first_update_estimate,
    full,
    gradient_estimate,
    layer_inputs,
    linear,
    loldu,
    lora,
    lora_sb,
    lora_xs,
    maestro,
    merge,
    mlp,
    nola,
    orthogonal_lora,
    per_layer,
    pissa,
    randlora,
    svfit,
    svfit_rank,
    vera,
)

M, N = 6, 8


def _problem(xp, m=M, n=N, seed=0):
    gen = np.random.default_rng(seed)
    W0 = to_xp(xp, gen.standard_normal((m, n)))
    X = to_xp(xp, gen.standard_normal((20, n)))
    Y = to_xp(xp, gen.standard_normal((20, m)))
    C = to_xp(xp, np.eye(n) + 0.2 * np.ones((n, n)))
    G = to_xp(xp, gen.standard_normal((m, n)))
    return W0, X, Y, C, G


def _adapters(X, C, G):
    return {
        "pissa": pissa(2, alpha=4.0),
        "pissa_rs": pissa(2, alpha=4.0, rank_stabilized=True),
        "lora_xs": lora_xs(2),
        "dora": dora(2, detach_norm=False),
        "vera": vera(3),
        "nola": nola(2, 5, 4),
        "randlora": randlora(2),
        "svfit": svfit(3),
        "loldu": loldu(3),
        "orthogonal": orthogonal_lora(2),
        "lora_sb": lora_sb(2, G),
        "lora_sb_raw": lora_sb(2, G, estimate="raw"),
        "eva": eva(2, X),
        "corda_ipm": corda(2, C),
        "corda_kpm": corda(2, C, mode="kpm"),
        "dylora": dylora(3),
        "maestro": maestro(3),
    }


NAMES = ["pissa", "pissa_rs", "lora_xs", "dora", "vera", "nola", "randlora", "svfit", "loldu", "orthogonal", "lora_sb",
         "lora_sb_raw", "eva", "corda_ipm", "corda_kpm", "dylora", "maestro"]


def _generic(state, xp, seed=5):
    gen = np.random.default_rng(seed)
    return state.replace_params({k: v + to_xp(xp, 0.3 * gen.standard_normal(tuple(v.shape)))
                                 for k, v in state.params.items()})


def _fd_errors(xp, adapter, state, W0, X, Y, loss_of=None, h=1e-6):
    model = linear(W0.shape[1], W0.shape[0])

    def loss(params):
        if loss_of is not None:
            return loss_of(params)
        return float(model.loss({"W": W0 + adapter.delta(state.replace_params(params))}, X, Y))

    _, grads = model.loss_and_grads({"W": W0 + adapter.delta(state)}, X, Y)
    g = adapter.pullback(state, grads["W"])
    assert sorted(g) == sorted(state.params)
    gen = np.random.default_rng(11)
    for k, p in state.params.items():
        assert tuple(g[k].shape) == tuple(p.shape)
        V = to_xp(xp, gen.standard_normal(tuple(p.shape)))
        fd = (loss({**state.params, k: p + h * V}) - loss({**state.params, k: p - h * V})) / (2 * h)
        analytic = float(xp.sum(g[k] * V))
        assert fd == pytest.approx(analytic, rel=1e-6, abs=1e-9), k
    return g


@pytest.mark.parametrize("shape", [(M, N), (N, M)])
@pytest.mark.parametrize("name", NAMES)
def test_pullbacks_match_finite_differences(xp, name, shape):
    W0, X, Y, C, G = _problem(xp, *shape)
    adapter = _adapters(X, C, G)[name]
    state = _generic(adapter.init(W0, 1), xp)
    _fd_errors(xp, adapter, state, W0, X, Y)
    if adapter.accepts_factored:  # the factored gradient gives the same pullback
        model = linear(shape[1], shape[0])
        merged = {"W": W0 + adapter.delta(state)}
        _, dense = model.loss_and_grads(merged, X, Y)
        _, fact = model.loss_and_grads(merged, X, Y, factored=True)
        a, b = adapter.pullback(state, dense["W"]), adapter.pullback(state, fact["W"])
        for k in a:
            assert_close(b[k], backend.to_numpy(a[k]), rtol=1e-10, atol=1e-12, xp=xp)


def test_dora_detached_norm_is_the_gradient_with_the_norm_frozen(xp):
    W0, X, Y, _, _ = _problem(xp)
    adapter = dora(2, detach_norm=True)
    state = _generic(adapter.init(W0, 0), xp)
    model = linear(N, M)
    s = adapter.config["scale"]
    p0 = state.params
    V0 = W0 + s * (p0["B"] @ p0["A"])
    c0 = xp.sqrt(xp.sum(V0 * V0, axis=1))  # the norm, held at its current value

    def frozen_norm_loss(params):
        V = W0 + s * (params["B"] @ params["A"])
        return float(model.loss({"W": (params["magnitude"] / c0)[:, None] * V}, X, Y))

    _fd_errors(xp, adapter, state, W0, X, Y, loss_of=frozen_norm_loss)
    # ... and differs from the exact gradient (which the propagated variant matches above)
    exact = dora(2, detach_norm=False)
    _, grads = model.loss_and_grads({"W": W0 + adapter.delta(state)}, X, Y)
    g_det, g_exact = adapter.pullback(state, grads["W"]), exact.pullback(state, grads["W"])
    assert float(xp.max(xp.abs(g_det["B"] - g_exact["B"]))) > 1e-6
    assert_close(g_det["magnitude"], backend.to_numpy(g_exact["magnitude"]), rtol=1e-12, xp=xp)


@pytest.mark.parametrize("name", NAMES)
def test_trainable_counts_match_the_formulas(name):
    W0, X, Y, C, G = _problem(np)
    adapter = _adapters(X, C, G)[name]
    state = adapter.init(W0, 0)
    m, n = W0.shape
    formula = {
        "pissa": 2 * (m + n), "pissa_rs": 2 * (m + n), "lora_xs": 4, "dora": 2 * (m + n) + m, "vera": m + 3,
        "nola": 5 + 4, "randlora": math.ceil(min(m, n) / 2) * (2 + min(m, n)), "svfit": 3, "loldu": 3 + 1,
        "orthogonal": 2 * (m + n), "lora_sb": 4, "lora_sb_raw": 4, "eva": 2 * (m + n), "corda_ipm": 2 * (m + n),
        "corda_kpm": 2 * (m + n), "dylora": 3 * (m + n), "maestro": 3 * (m + n),
    }[name]
    assert adapter.num_params((m, n)) == formula
    assert sum(math.prod(v.shape) for v in state.params.values()) == formula
    assert pickle.loads(pickle.dumps(adapter)).num_params((m, n)) == formula


def test_randlora_matches_the_reference_counts():
    # the brief's F2 budgets: N (r + 64) with N = 64 / r
    assert [randlora(r).num_params((64, 64)) for r in (64, 32, 16, 8, 4, 2)] == [128, 192, 320, 576, 1088, 2112]
    assert randlora(5).num_params((64, 30)) == 6 * (5 + 30)


@pytest.mark.parametrize("name", ["pissa", "orthogonal", "lora_sb", "corda_ipm", "corda_kpm", "eva", "vera", "nola",
                                  "randlora", "svfit", "loldu", "dora", "dylora"])
def test_initial_output_is_unchanged(xp, name):
    W0, X, Y, C, G = _problem(xp)
    adapter = _adapters(X, C, G)[name]
    dW = adapter.delta(adapter.init(W0, 3))
    assert float(xp.max(xp.abs(dW))) <= 1e-13 * float(xp.max(xp.abs(W0)))


def test_lora_xs_moves_the_output_by_its_small_random_R():
    W0, *_ = _problem(np)
    state = lora_xs(2, init_std=1e-5).init(W0, 0)
    assert 0 < np.abs(lora_xs(2).delta(state)).max() < 1e-3


def test_pissa_factors_are_the_principal_triplets_divided_by_the_scale(xp):
    W0, *_ = _problem(xp)
    adapter = pissa(3, alpha=6.0)  # s = 2
    state = adapter.init(W0, 0)
    U, S, Vt = np.linalg.svd(backend.to_numpy(W0))
    top = (U[:, :3] * S[:3]) @ Vt[:3]
    assert_close(2.0 * (state.frozen["B0"] @ state.frozen["A0"]), top, rtol=1e-10, atol=1e-12, xp=xp)
    # B = U_r sqrt(S_r / s): its columns are orthogonal with squared norms S_r / s
    assert_close(state.params["B"].T @ state.params["B"], np.diag(S[:3] / 2.0), atol=1e-10, xp=xp)


def test_randomized_svd_initialization_agrees_with_the_exact_one():
    gen = np.random.default_rng(1)
    W0 = (gen.standard_normal((40, 5)) * np.array([9.0, 7, 5, 3, 1])) @ gen.standard_normal((5, 30))
    W0 = W0 + 1e-3 * gen.standard_normal((40, 30))
    for make in (lambda svd: pissa(3, svd=svd), lambda svd: lora_xs(3, svd=svd), lambda svd: svfit(3, svd=svd)):
        a, b = make("exact"), make("randomized")
        sa, sb = a.init(W0, 0), b.init(W0, 0)
        merged_a = a.delta(_generic(sa, np, 2))
        merged_b = b.delta(_generic(sb, np, 2))  # same parameters applied to (nearly) the same bases
        assert np.linalg.norm(merged_a - merged_b) < 1e-4 * np.linalg.norm(merged_a)


def test_lora_vera_nola_have_rank_at_most_r_randlora_and_full_reach_full_rank(xp):
    W0, X, Y, C, G = _problem(xp, 12, 10)
    for adapter, cap in ((lora(3), 3), (vera(3), 3), (nola(3, 20, 20), 3), (dylora(3), 3), (loldu(2), 2),
                         (lora_xs(2), 2), (svfit(4), 4)):
        state = _generic(adapter.init(W0, 0), xp)
        s = np.linalg.svd(backend.to_numpy(adapter.delta(state)), compute_uv=False)
        assert int((s > 1e-10 * s[0]).sum()) == cap, adapter.name
    for adapter in (randlora(3), full()):
        state = _generic(adapter.init(W0, 0), xp)
        s = np.linalg.svd(backend.to_numpy(adapter.delta(state)), compute_uv=False)
        assert int((s > 1e-10 * s[0]).sum()) == 10, adapter.name


@pytest.mark.parametrize("name", ["svfit", "lora_xs"])
def test_svfit_and_lora_xs_stay_in_w0_singular_subspaces(xp, name):
    gen = np.random.default_rng(4)
    U, _ = np.linalg.qr(gen.standard_normal((12, 12)))
    V, _ = np.linalg.qr(gen.standard_normal((10, 10)))
    W0h = (U[:, :10] * (3.0 / np.arange(1, 11))) @ V.T
    W0 = to_xp(xp, W0h)
    r = 3
    adapter = svfit(r) if name == "svfit" else lora_xs(r)
    state = _generic(adapter.init(W0, 0), xp)
    dW = backend.to_numpy(adapter.delta(state))
    Ur, Vr = U[:, :r], V[:, :r]
    assert np.abs(dW - Ur @ (Ur.T @ dW)).max() < 1e-12  # columns in span(U_r)
    assert np.abs(dW - (dW @ Vr) @ Vr.T).max() < 1e-12  # rows in span(V_r)
    W = W0h + dW
    # W = [U_r U_perp] blockdiag(M, S_perp) [V_r V_perp]^T: every left singular vector of the merged matrix
    # lies in span(U_r) or is one of W0's own u_j (j > r): nothing new outside W0's singular subspaces
    Uw = np.linalg.svd(W)[0][:, :10]
    in_top = np.linalg.norm(Ur.T @ Uw, axis=0)
    own = np.abs(U[:, r:10].T @ Uw).max(axis=0)
    assert np.all(np.isclose(in_top, 1.0, atol=1e-8) | np.isclose(own, 1.0, atol=1e-8))
    if name == "svfit":  # SVFit keeps every singular vector of W0: no intruder at any threshold
        res = spectral.intruder_dimensions(W, W0h, 10, np.array([0.5, 0.9, 0.99]))
        assert list(np.asarray(res.count)) == [0, 0, 0]


def test_svfit_rank_rule_and_energy_mode():
    W0 = np.diag(3.0 / np.arange(1, 65))
    r = svfit_rank(W0, 0.99)
    s2 = (3.0 / np.arange(1, 65)) ** 2
    assert s2[:r].sum() / s2.sum() >= 0.99 > s2[: r - 1].sum() / s2.sum()
    state = svfit().init(W0, 0)
    assert state.params["s"].shape == (r,)


def test_loldu_factors_reconstruct_w0():
    W0, *_ = _problem(np, 7, 5)
    import scipy.linalg

    P, L, U = scipy.linalg.lu(W0)
    state = loldu(5).init(W0, 0)
    D = np.diag(U)
    assert np.allclose(state.frozen["PL"] @ np.diag(D) @ state.frozen["Ut"], W0)  # P L D U' = W0 at full rank
    assert np.allclose(np.diag(state.frozen["Ut"]), 1.0)


def test_orthogonal_init_has_zero_product_but_nonzero_factors_and_gradients(xp):
    W0, X, Y, *_ = _problem(xp)
    adapter = orthogonal_lora(4)
    state = adapter.init(W0, 0)
    B, A = state.params["B"], state.params["A"]
    assert float(xp.max(xp.abs(B @ A))) < 1e-15 and float(xp.min(xp.abs(B))) > 0
    _, grads = linear(N, M).loss_and_grads({"W": W0}, X, Y)
    g = adapter.pullback(state, grads["W"])
    assert float(xp.max(xp.abs(g["A"]))) > 0 and float(xp.max(xp.abs(g["B"]))) > 0  # LoRA's B = 0 gives g_A = 0


def test_lora_sb_spans_the_best_rank_r_approximation_of_the_estimated_first_step(xp):
    W0, X, Y, _, _ = _problem(xp)
    G = gradient_estimate(linear(N, M), {"W": W0}, X, Y, n_samples=15)["W"]
    _, mean = linear(N, M).loss_and_grads({"W": W0}, X[:15, :], Y[:15, :])
    assert_close(G, 15 * backend.to_numpy(mean["W"]), rtol=1e-12, xp=xp)
    for estimate in ("sign", "raw"):
        adapter = lora_sb(2, G, estimate=estimate, lr=0.01, alpha=4.0)
        state = adapter.init(W0, 0)
        step = backend.to_numpy(first_update_estimate(G, estimate=estimate, lr=0.01))
        U, S, Vt = np.linalg.svd(step)
        best = (U[:, :2] * S[:2]) @ Vt[:2]
        f = state.frozen
        assert_close(adapter.config["scale"] * (f["B"] @ f["R0"] @ f["A"]), best, atol=1e-12, xp=xp)
    assert np.array_equal(backend.to_numpy(first_update_estimate(G, lr=0.5)), -0.5 * np.sign(backend.to_numpy(G)))


def test_lora_sb_accepts_a_gradient_function():
    W0, X, Y, _, G = _problem(np)
    a = lora_sb(2, lambda W: G).init(W0, 0)
    b = lora_sb(2, G).init(W0, 0)
    assert np.array_equal(a.frozen["B"], b.frozen["B"])


def test_eva_takes_the_top_principal_directions(xp):
    gen = np.random.default_rng(2)
    Xh = gen.standard_normal((300, N)) * np.linspace(3.0, 0.5, N)
    X = to_xp(xp, Xh)
    W0, *_ = _problem(xp)
    state = eva(3, X).init(W0, 0)
    Xc = Xh - Xh.mean(axis=0)
    Vt = np.linalg.svd(Xc, full_matrices=False)[2][:3]
    A = backend.to_numpy(state.params["A"])
    assert np.allclose(np.abs(A @ Vt.T), np.eye(3), atol=1e-10)
    assert float(xp.max(xp.abs(state.params["B"]))) == 0.0


def test_eva_ranks_redistribute_the_budget_and_adapters_keep_the_nominal_scale():
    gen = np.random.default_rng(0)
    acts = {"W1": gen.standard_normal((200, 8)) * np.array([20.0, 10, 1, 1, 1, 1, 1, 1]),
            "W2": gen.standard_normal((200, 6))}
    ranks = eva_ranks(acts, 2, rho=2.0)
    assert sum(ranks.values()) == 4 and ranks["W1"] >= 2 and max(ranks.values()) <= 4
    adapters = eva_adapters(acts, 2, alpha=8.0)
    assert all(a is None or a.config["scale"] == 4.0 for a in adapters.values())
    model = mlp(8, 6, 3)
    H = layer_inputs(model, model.init_weights(0), gen.standard_normal((10, 8)))
    assert H["W1"].shape == (10, 8) and H["W2"].shape == (10, 6)


def test_corda_components_rebuild_w0_and_the_modes_pick_the_ends(xp):
    W0, X, Y, C, _ = _problem(xp)
    fixed, inv, d = damped_inverse(C)
    assert d == 0.01
    U, S, Vt = np.linalg.svd(backend.to_numpy(W0 @ fixed), full_matrices=False)
    comps = Vt @ backend.to_numpy(inv)
    assert np.allclose((U * S) @ comps, backend.to_numpy(W0))  # W0 = U S (V^T C^{-1})
    for mode, sl in (("ipm", slice(0, 2)), ("kpm", slice(-2, None))):
        adapter = corda(2, C, mode=mode, alpha=4.0)
        f = adapter.init(W0, 0).frozen
        assert_close(2.0 * (f["B0"] @ f["A0"]), (U[:, sl] * S[sl]) @ comps[sl], atol=1e-10, xp=xp)


def test_corda_damps_a_rank_deficient_covariance():
    gen = np.random.default_rng(0)
    X = gen.standard_normal((3, N))  # 3 samples: covariance of rank 3
    C = activation_covariance(X)
    assert np.linalg.matrix_rank(C) == 3
    fixed, inv, d = damped_inverse(C)
    assert np.allclose(fixed @ inv, np.eye(N), atol=0.05)
    W0, *_ = _problem(np)
    state = corda(2, C).init(W0, 0)
    assert np.all(np.isfinite(state.params["A"]))


def test_vera_and_randlora_share_projections_across_seeds_unless_asked():
    W0, *_ = _problem(np)
    for make in (lambda seed: vera(2, projection_seed=seed), lambda seed: randlora(2, projection_seed=seed)):
        a, b = make(0).init(W0, 1), make(0).init(W0, 2)
        assert all(np.array_equal(a.frozen[k], b.frozen[k]) for k in a.frozen)
        c, d = make(None).init(W0, 1), make(None).init(W0, 2)
        assert not np.array_equal(c.frozen["A"], d.frozen["A"])
    big = vera(2, max_shape=(10, 10)).init(W0, 0)
    ref = vera(2, max_shape=(10, 10)).init(np.zeros((10, 10)), 0)
    assert np.array_equal(big.frozen["A"], ref.frozen["A"][:, :N])  # sliced from the largest shape, as PEFT
    st = randlora(2).init(W0, 0)
    assert np.isclose(st.frozen["A"].std(ddof=1), 1.0) and np.allclose(st.params["gamma"], 1.0 / N)


def test_family_adapters_train_through_finetune_with_float32():
    from lowrank_lab.adapters import adam, finetune, linear_task

    task = linear_task(8, rank=2, n_train=32, rng=0, dtype=np.float32)
    for adapter in (pissa(2), vera(4), randlora(2), dora(2), svfit(4), loldu(3), nola(2, 8)):
        res = finetune(linear(8, 8), task, adapter, adam(1e-2), steps=30, diagnostics="none", rng=1)
        assert res.weights["W"].dtype == np.float32
        assert res.history["train_loss"].iloc[-1] < res.history["train_loss"].iloc[0], adapter.name


def test_per_layer_with_family_adapters_on_an_mlp():
    from lowrank_lab.adapters import finetune, sgd, synthetic_task

    model = mlp(6, 5, 3)
    task = synthetic_task(model, rank=1, n_train=16, rng=0)
    res = finetune(model, task, {"W1": pissa(2), "W2": vera(2)}, sgd(0.05), steps=5, diagnostics="none", rng=0)
    assert res.params["num_params"] == 2 * (5 + 6) + 3 + 2


@pytest.mark.parametrize(("make", "err", "match"), [
    (lambda: pissa(0), ValueError, "rank"),
    (lambda: pissa(2, svd="qr"), ValueError, "svd"),
    (lambda: pissa(2, n_power_iter=-1), ValueError, "n_power_iter"),
    (lambda: lora_xs(2, init_std=-1.0), ValueError, "init_std"),
    (lambda: dora(2, detach_norm="yes"), TypeError, "detach_norm"),
    (lambda: vera(2, d_initial=math.nan), ValueError, "d_initial"),
    (lambda: nola(2, 0), ValueError, "n_basis_A"),
    (lambda: randlora(2, alpha=0.0), ValueError, "alpha"),
    (lambda: svfit(energy=1.5), ValueError, "energy"),
    (lambda: loldu(2, train_scale=1), TypeError, "train_scale"),
    (lambda: orthogonal_lora(3), ValueError, "even"),
    (lambda: lora_sb(2, np.ones((3, 3)), estimate="adam"), ValueError, "estimate"),
    (lambda: lora_sb(2, np.full((3, 3), np.nan)), ValueError, "gradient"),
    (lambda: eva(2, np.ones(4)), ValueError, "activations"),
    (lambda: corda(2, np.eye(3), mode="both"), ValueError, "mode"),
    (lambda: corda(2, np.eye(3), mode="kpm", svd="randomized"), ValueError, "kpm"),
    (lambda: eva_ranks({}, 2), TypeError, "activations"),
])
def test_bad_arguments_are_refused(make, err, match):
    with pytest.raises(err, match=match):
        make()


@pytest.mark.parametrize(("adapter", "W0", "match"), [
    (pissa(9), np.ones((6, 8)), r"rank must be in \[1, min\(m, n\)=6\], got 9"),
    (lora_sb(2, np.ones((5, 5))), np.ones((6, 8)), "gradient must have the weight's shape"),
    (eva(2, np.ones((10, 5))), np.ones((6, 8)), r"activations must be \(N, n=8\)"),
    (corda(2, np.eye(5)), np.ones((6, 8)), "covariance must be"),
    (randlora(7), np.ones((6, 8)), "rank"),
    (vera(2, max_shape=(3, 3)), np.ones((6, 8)), "max_shape"),
    (loldu(2), np.zeros((4, 4)), "pivots"),
    (pissa(2), np.ones(4), "2-D weight"),
])
def test_bad_weights_are_refused_at_init(adapter, W0, match):
    with pytest.raises(ValueError, match=match):
        adapter.init(W0, 0)


def test_merged_weights_through_per_layer_match_the_layer_delta():
    W0, X, Y, C, G = _problem(np)
    for adapter in _adapters(X, C, G).values():
        state = _generic(adapter.init(W0, 0), np)
        combined = per_layer({"W": adapter})
        cstate = AdapterState({f"W/{k}": v for k, v in state.params.items()},
                              {f"W/{k}": v for k, v in state.frozen.items()})
        assert np.allclose(merge({"W": W0}, combined.delta(cstate))["W"], W0 + adapter.delta(state))
