"""Rank allocation (study I): oracle, AdaLoRA's schedule and masking, SoRA's proximal gates, IncreLoRA's growth."""

from __future__ import annotations


import numpy as np
import pytest
from helpers import assert_close, to_xp

from lowrank_lab.adapters import (
    TRUE_RANKS,
    AdapterState,
    adalora,
    adalora_allocator,
    adalora_budget,
    adam,
    allocation_error,
    brute_force_allocation,
    chain,
    constant_schedule,
    current_ranks,
    finetune,
    increlora,
    increlora_allocator,
    join_schedules,
    linear,
    linear_task,
    oracle_allocation,
    orthogonality_error,
    orthogonality_penalty,
    per_layer,
    prefix_allocation,
    sgd,
    soft_threshold,
    sora,
    sora_optimizer,
    sora_proximal,
    triplet_scores,
    uniform_allocation,
)
from lowrank_lab.adapters import allocation_trials as T
from lowrank_lab.adapters.allocation import _penalty_value


# --------------------------------------------------------------------------- #
# oracle
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("seed", range(12))
def test_oracle_is_optimal_against_brute_force(seed):
    gen = np.random.default_rng(seed)
    L = int(gen.integers(2, 4))
    spectra = [np.sort(gen.exponential(size=int(gen.integers(1, 5))))[::-1] for _ in range(L)]
    for budget in range(0, sum(len(s) for s in spectra) + 2):
        ranks = oracle_allocation(spectra, budget)
        assert sum(ranks) <= budget
        _, best = brute_force_allocation(spectra, budget)
        assert allocation_error(spectra, ranks) == pytest.approx(best, abs=1e-12)


def test_oracle_on_constructed_spectra_and_ties():
    spectra = [np.array([1.0]), np.array([0.9, 0.8, 0.7]), np.array([0.95, 0.1])]
    assert oracle_allocation(spectra, 1) == (1, 0, 0)
    assert oracle_allocation(spectra, 3) == (1, 1, 1)
    assert oracle_allocation(spectra, 5) == (1, 3, 1)
    assert oracle_allocation(spectra, 100) == (1, 3, 2)
    assert oracle_allocation([np.ones(2), np.ones(2)], 3) == (2, 1)  # ties by layer order
    assert oracle_allocation([np.array([1.0, 0.0])], 2) == (1,)  # zeros are never kept


def test_oracle_of_the_study_recovers_true_ranks_at_full_budget():
    spectra = T.target_spectra()
    assert oracle_allocation(spectra, sum(TRUE_RANKS)) == TRUE_RANKS
    assert allocation_error(spectra, TRUE_RANKS) == 0.0
    for b in (8, 16, 24, 40):
        o, u = oracle_allocation(spectra, b), uniform_allocation(8, b)
        assert allocation_error(spectra, o) < allocation_error(spectra, u)


def test_uniform_and_prefix_allocations():
    assert uniform_allocation(3, 7) == (3, 2, 2)
    assert uniform_allocation(3, 7, caps=(1, 5, 5)) == (1, 2, 2)
    norms = [np.array([3.0, 0.1, 5.0]), np.array([2.0, 1.0])]
    assert prefix_allocation(norms, 2) == (1, 1)
    assert prefix_allocation(norms, 3) == (1, 2)
    assert prefix_allocation(norms, 10) == (3, 2)  # nested: the 5.0 only after the 0.1


def test_allocation_errors_name_the_argument():
    with pytest.raises(TypeError, match="spectra"):
        oracle_allocation("abc", 2)
    with pytest.raises(ValueError, match="budget"):
        oracle_allocation([np.ones(2)], -1)
    with pytest.raises(ValueError, match="spectra\\[0\\]"):
        oracle_allocation([np.array([np.nan])], 1)
    with pytest.raises(ValueError, match="ranks"):
        allocation_error([np.ones(2)], (1, 1))


# --------------------------------------------------------------------------- #
# AdaLoRA: schedule, adapter, masking, penalty
# --------------------------------------------------------------------------- #
def test_budget_schedule_hits_b0_bT_and_is_cubic():
    kw = dict(init_budget=384, target_budget=64, total_steps=1000, t_init=100, t_final=300)
    b = [adalora_budget(t, **kw) for t in range(1001)]
    assert all(v == 384 for v in b[:101])
    assert all(v == 64 for v in b[700:])
    assert all(x >= y for x, y in zip(b, b[1:]))  # non-increasing
    for t in range(101, 700, 37):
        frac = 1.0 - (t - 100) / 600
        assert b[t] == int(320 * frac**3 + 64)
        assert abs(b[t] - (64 + 320 * frac**3)) < 1.0
    with pytest.raises(ValueError, match="target_budget"):
        adalora_budget(0, init_budget=4, target_budget=5, total_steps=10)
    with pytest.raises(ValueError, match="t_init"):
        adalora_budget(0, init_budget=4, target_budget=2, total_steps=10, t_init=5, t_final=5)


def test_adalora_init_delta_and_pullback(xp):
    W0 = to_xp(xp, np.zeros((7, 5)))
    adapter = adalora(3, alpha=6.0)
    state = adapter.init(W0, rng=0)
    assert float(xp.max(xp.abs(adapter.delta(state)))) == 0.0  # E = 0
    B = np.asarray(state.params["B"])
    assert abs(B.std() - 0.02) < 0.01 and adapter.config["scale"] == 2.0
    gen = np.random.default_rng(1)
    params = {k: to_xp(xp, gen.standard_normal(tuple(v.shape))) for k, v in state.params.items()}
    st = AdapterState(params)
    G = to_xp(xp, gen.standard_normal((7, 5)))
    g = adapter.pullback(st, G)
    eps = 1e-6
    for key in ("B", "E", "A"):  # directional derivative of <G, delta>
        D = to_xp(xp, gen.standard_normal(tuple(params[key].shape)))
        plus = AdapterState({**params, key: params[key] + eps * D})
        minus = AdapterState({**params, key: params[key] - eps * D})
        num = float(xp.sum(G * (adapter.delta(plus) - adapter.delta(minus)))) / (2 * eps)
        assert num == pytest.approx(float(xp.sum(g[key] * D)), rel=1e-6)


def test_masked_triplets_contribute_nothing():
    adapter = adalora(4)
    gen = np.random.default_rng(0)
    params = {"B": gen.standard_normal((6, 4)), "E": np.array([1.0, 0.0, 2.0, 0.0]), "A": gen.standard_normal((4, 5))}
    d0 = adapter.delta(AdapterState(params))
    changed = {k: v.copy() for k, v in params.items()}
    changed["B"][:, [1, 3]] = gen.standard_normal((6, 2))
    changed["A"][[1, 3], :] = gen.standard_normal((2, 5))
    assert_close(adapter.delta(AdapterState(changed)), d0, rtol=0, atol=1e-14)
    kept = {"B": params["B"][:, [0, 2]], "E": params["E"][[0, 2]], "A": params["A"][[0, 2], :]}
    assert_close(adalora(2, alpha=8.0).delta(AdapterState(kept)), 2.0 * d0, rtol=1e-12)  # scale 8/2 vs 8/4


def _model_task(L=3, n=10, rank=2, seed=0):
    model, task, spectra = T.allocation_task(seed, ranks=(1, 2, 4)[:L], n=n, n_train=60)
    return model, task, spectra


def test_allocator_never_exceeds_the_budget_and_masks_to_zero():
    model, task, _ = _model_task()
    steps, bT = 60, 4
    opt = adalora_allocator(chain(orthogonality_penalty(0.5), adam(0.02)), target_budget=bT, total_steps=steps,
                            t_init=5, t_final=15)
    seen = []

    def cb(it, state):
        ranks = current_ranks(state["optimizer_state"])
        seen.append((it, sum(ranks.values())))
        b = adalora_budget(it, init_budget=15, target_budget=bT, total_steps=steps, t_init=5, t_final=15)
        assert sum(ranks.values()) <= max(b, adalora_budget(max(it - 1, 0), init_budget=15, target_budget=bT,
                                                            total_steps=steps, t_init=5, t_final=15))
        params = state["adapter_state"].params
        if it > steps - 15 + 1:  # final phase: masked E are exactly 0
            opt_state = state["optimizer_state"]
            for layer, m in opt_state.mask.items():
                E = np.asarray(params[f"{layer}/E"])
                assert np.all(E[np.asarray(m) == 0] == 0.0)

    res = finetune(model, task, adalora(5), opt, steps=steps, rng=1, diagnostics="none", callback=cb)
    assert sum(current_ranks(res.optimizer_state).values()) <= bT
    assert seen[0][1] == 15 and seen[-1][1] <= bT


def test_triplet_scores_and_masking_threshold():
    ipt = {"L/B": np.ones((3, 2)), "L/E": np.array([2.0, 0.0]), "L/A": np.ones((2, 4))}
    unc = {k: np.ones_like(v) for k, v in ipt.items()}
    assert triplet_scores(ipt, unc, "L").tolist() == [4.0, 2.0]


def test_orthogonality_penalty_gradients_match_finite_differences():
    gen = np.random.default_rng(0)
    params = {"W1/B": gen.standard_normal((6, 3)), "W1/E": np.zeros(3), "W1/A": gen.standard_normal((3, 5)),
              "W2/B": gen.standard_normal((4, 2)), "W2/E": np.zeros(2), "W2/A": gen.standard_normal((2, 4))}
    zeros = {k: np.zeros_like(v) for k, v in params.items()}
    for form in ("peft", "paper"):
        t = orthogonality_penalty(0.5, form)
        g, _ = t.update(zeros, t.init(params), params)
        for key in ("W1/A", "W2/B"):
            D = gen.standard_normal(params[key].shape)
            eps = 1e-6
            plus = _penalty_value({**params, key: params[key] + eps * D}, 0.5, form)
            minus = _penalty_value({**params, key: params[key] - eps * D}, 0.5, form)
            assert (plus - minus) / (2 * eps) == pytest.approx(float(np.sum(g[key] * D)), rel=1e-5)
        assert np.all(g["W1/E"] == 0)


def test_orthogonality_penalty_drives_factors_orthonormal():
    gen = np.random.default_rng(1)
    params = {"B": 0.02 * gen.standard_normal((12, 4)), "E": np.zeros(4), "A": 0.02 * gen.standard_normal((4, 9))}
    opt = chain(orthogonality_penalty(0.5, "peft"), adam(0.01))
    st = opt.init(params)
    for _ in range(400):
        g = {k: np.zeros_like(v) for k, v in params.items()}
        u, st = opt.update(g, st, params)
        params = {k: params[k] + u[k] for k in params}
    a, b = orthogonality_error(params)[""]
    assert a < 0.1 and b < 0.1


# --------------------------------------------------------------------------- #
# SoRA
# --------------------------------------------------------------------------- #
def test_soft_threshold_is_the_l1_prox(xp):
    x = np.array([-2.0, -0.5, 0.0, 0.2, 0.7, 3.0])
    out = np.asarray(soft_threshold(to_xp(xp, x), 0.5))
    assert_close(out, np.array([-1.5, 0.0, 0.0, 0.0, 0.2, 2.5]), rtol=0, atol=1e-15)
    gen = np.random.default_rng(0)
    for _ in range(20):  # argmin_z 1/2 (z - x)^2 + tau |z| on a fine grid
        v, tau = gen.normal() * 2, abs(gen.normal())
        grid = np.linspace(-6, 6, 120001)
        z = grid[np.argmin(0.5 * (grid - v) ** 2 + tau * np.abs(grid))]
        assert float(soft_threshold(np.array([v]), tau)[0]) == pytest.approx(z, abs=2e-4)


def test_sora_proximal_step_thresholds_gates_after_the_inner_step_and_prunes():
    params = {"B": np.ones((3, 4)), "g": np.array([1.0, -0.05, 0.3, -2.0]), "A": np.ones((4, 2))}
    grads = {"B": np.zeros((3, 4)), "g": np.array([0.0, 0.0, 1.0, 0.0]), "A": np.zeros((4, 2))}
    t = sora_proximal(sgd(0.1), lam=1.0, lr=0.1)  # tau = 0.1
    st = t.init(params)
    u, st = t.update(grads, st, params)
    new = {k: params[k] + u[k] for k in params}
    assert_close(new["g"], np.array([0.9, 0.0, 0.1, -1.9]), rtol=0, atol=1e-12)
    assert np.asarray(st.mask[""]).tolist() == [1.0, 0.0, 1.0, 1.0]
    u, st = t.update({**grads, "g": np.array([0.0, -5.0, 0.0, 0.0])}, st, new)  # a pruned gate stays 0
    assert (new["g"] + u["g"])[1] == 0.0
    assert current_ranks(st) == {"": 2}  # gate 2 (0.1) reached 0 at the second step


def test_sora_adapter_pullback_and_weight_decay_reveals_rank():
    adapter = sora(4)
    state = adapter.init(np.zeros((5, 6)), rng=0)
    assert float(np.abs(adapter.delta(state)).max()) == 0.0 and adapter.config["scale"] == 4.0
    task = linear_task(16, rank=2, n_train=200, rng=0)
    lam = join_schedules((constant_schedule(0.0), constant_schedule(0.3)), (200,))  # lambda after a warm-up
    for optimizer in ("sgd",):
        res = finetune(linear(16, 16), task, sora(8), sora_optimizer(0.05, lam, weight_decay=0.01, optimizer=optimizer),
                       steps=800, rng=1, diagnostics="none")
        assert current_ranks(res.optimizer_state)["W"] == 2


# --------------------------------------------------------------------------- #
# IncreLoRA
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("score", ["triplet", "reserve"])
def test_increlora_adds_pairs_without_moving_delta_and_respects_the_budget(score):
    model, task, _ = _model_task()
    adapter = per_layer({k: increlora(6) for k in model.matrices})
    state = adapter.init(task.W0, rng=0)
    params = dict(state.params)
    opt = increlora_allocator(sgd(0.0), budget=7, interval=2, score=score)  # no training: pure growth
    st = opt.init(params)
    d0 = adapter.delta(AdapterState(params))
    _, grads = model.loss_and_grads({k: task.W0[k] + d0[k] for k in model.matrices}, task.X_train, task.Y_train)
    g = adapter.pullback(AdapterState(params), grads)
    totals = []
    for _ in range(12):
        u, st = opt.update(g, st, params)
        params = {k: params[k] + u[k] for k in params}
        d = adapter.delta(AdapterState(params))
        for k in model.matrices:
            assert_close(d[k], d0[k], rtol=0, atol=0)
        totals.append(sum(current_ranks(st).values()))
    assert totals[0] == 3 and totals[-1] == 7 and max(totals) <= 7
    assert all(b - a in (0, 1) for a, b in zip(totals, totals[1:]))


def test_increlora_trains_only_active_triplets_and_the_new_pair_starts_at_zero():
    model, task, _ = _model_task(L=2)
    adapter = per_layer({k: increlora(4) for k in model.matrices})
    opt = increlora_allocator(adam(0.01), budget=4, interval=10, score="reserve")
    def cb(it, state):
        params = state["adapter_state"].params
        mask = state["optimizer_state"].mask
        for layer, m in mask.items():
            E = np.asarray(params[f"{layer}/E"])
            assert np.all(E[np.asarray(m) == 0] == 0.0)  # reserved triplets: E = 0 (dW continuous)

    res = finetune(model, task, adapter, opt, steps=40, rng=0, diagnostics="none", callback=cb)
    assert sum(current_ranks(res.optimizer_state).values()) == 4


# --------------------------------------------------------------------------- #
# trials (smoke)
# --------------------------------------------------------------------------- #
def test_independent_linear_gradients_are_the_layers_own():
    model, task, _ = _model_task(L=2, n=5)
    W = {k: task.W0[k] for k in model.matrices}
    loss, grads = model.loss_and_grads(W, task.X_train, task.Y_train)
    ref = 0.0
    for l, k in enumerate(model.matrices):
        X = task.X_train[:, 5 * l:5 * (l + 1)]
        Y = task.Y_train[:, 5 * l:5 * (l + 1)]
        lin = linear(5, 5)
        lv, g = lin.loss_and_grads({"W": W[k]}, X, Y)
        ref += float(lv)
        assert_close(grads[k], g["W"], rtol=1e-12)
    assert float(loss) == pytest.approx(ref)
    M = model.linear_map(W)
    assert_close(M[5:, 5:], W["W2"], rtol=0) and float(np.abs(M[:5, 5:]).max()) == 0.0


@pytest.mark.parametrize("method", T.METHODS)
def test_allocation_trial_smoke(method):
    f = T.allocation_trial(method=method, budget=12, lr=0.01, seed=0, steps=30, record=3, n_train=64)
    ranks = f[[f"rank_W{l + 1}" for l in range(8)]].to_numpy()
    assert ranks.sum(axis=1).max() <= (256 if method.startswith("adalora") else 12)
    assert ranks[-1].sum() <= 12 and np.isfinite(f["rel_error"]).all()
    assert f["oracle_floor"].iloc[0] <= f["floor"].iloc[0] + 1e-12


def test_nested_and_sora_trials_smoke():
    for kind in ("maestro", "dylora"):
        f = T.nested_trial(lr=0.01, seed=0, steps=20, n_train=64, kind=kind)
        assert f["budget"].tolist() == [8, 16, 24, 40, 72]
        assert all(f[[f"rank_W{l + 1}" for l in range(8)]].sum(axis=1) <= f["budget"])
        assert (f["rel_error"] >= f["floor"] - 1e-12).all()
    p = T.sora_path_trial(lams=[0.0, 0.5], lr=0.01, seed=0, stage_steps=10, n_train=64, rank_max=8)
    assert p["rank_total"].iloc[0] == 64 and p["rank_total"].is_monotonic_decreasing
    r = T.sora_recovery_trial(r_star=2, lam=0.3, lr=0.02, seed=0, steps=20, n=12, rank_max=8, n_train=64)
    assert set(r.columns) >= {"step", "rank", "final_rank", "rel_error"}


# --------------------------------------------------------------------------- #
# every backend: the allocators give NumPy's numbers
# --------------------------------------------------------------------------- #
def _run_allocator(opt, params, grads_seq):
    st = opt.init(params)
    for g in grads_seq:
        u, st = opt.update(g, st, params)
        params = {k: params[k] + u[k] for k in params}
    return params, st


@pytest.mark.parametrize("which", ["adalora", "sora", "increlora"])
def test_allocators_agree_across_backends(xp, which):
    gen = np.random.default_rng(3)
    diag = "g" if which == "sora" else "E"
    host = {}
    for layer, (m, n, r) in {"W1": (6, 5, 4), "W2": (4, 7, 3)}.items():
        host[f"{layer}/B"] = gen.standard_normal((m, r))
        host[f"{layer}/{diag}"] = gen.standard_normal(r) if which != "increlora" else np.zeros(r)
        host[f"{layer}/A"] = gen.standard_normal((r, n))
    grads = [{k: gen.standard_normal(v.shape) for k, v in host.items()} for _ in range(6)]

    def make():
        if which == "adalora":
            return adalora_allocator(chain(orthogonality_penalty(0.5, "peft"), sgd(0.05)), target_budget=3,
                                     total_steps=6, t_init=1, t_final=1)
        if which == "sora":
            return sora_proximal(sgd(0.05), lam=8.0, lr=0.05)
        return increlora_allocator(chain(orthogonality_penalty(0.5, "paper"), sgd(0.05)), budget=5, interval=2,
                                   score="reserve")

    ref, st_ref = _run_allocator(make(), host, grads)
    out, st = _run_allocator(make(), {k: to_xp(xp, v) for k, v in host.items()},
                             [{k: to_xp(xp, v) for k, v in g.items()} for g in grads])
    for k in host:
        assert_close(out[k], ref[k], rtol=1e-10, atol=1e-12)
    assert current_ranks(st) == current_ranks(st_ref)
    assert sum(current_ranks(st).values()) <= (3 if which == "adalora" else 5 if which == "increlora" else 7)
    errs = orthogonality_error(out, diag)
    for layer, (a, b) in orthogonality_error(ref, diag).items():
        assert errs[layer] == pytest.approx((a, b), rel=1e-10)
