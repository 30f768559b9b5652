"""The diagnostics callback and the sweep trials of notebook 07 (small configurations)."""

from __future__ import annotations

import numpy as np
import pytest

from lowrank_lab.adapters import finetune, full, linear
from lowrank_lab.adapters import projection as P
from lowrank_lab.adapters import projection_trials as T
from lowrank_lab.adapters.projection_diagnostics import GradientDiagnostics

SMALL = dict(m=8, n=16, n_train=64, steps=40, record_every=20)


class _Guard(dict):
    """A callback state that fails when the diagnostics read anything on a step they should skip."""

    def __init__(self, allowed, **kw):
        super().__init__(**kw)
        self.allowed = allowed

    def __getitem__(self, key):
        if not self.allowed:
            raise AssertionError(f"read {key!r} on an unrecorded step")
        return super().__getitem__(key)


def test_diagnostics_read_the_state_only_on_recorded_steps():
    diag = GradientDiagnostics(every=5)
    W = {"W": np.eye(3)}
    state = dict(weights=W, gradients={"W": np.ones((3, 3))}, optimizer_state=())
    for step in range(11):
        diag(step, _Guard(step % 5 == 0, **state))
    assert diag.frame()["step"].tolist() == [0, 5, 10]


def test_diagnostics_measure_the_projector_and_the_update():
    task = T.pretraining_task(0, linear(16, 12), n_train=64)  # a full-rank teacher
    diag = GradientDiagnostics(every=10, reference=task.W0)
    finetune(linear(16, 12), task, full(), P.galore(0.02, 2, update_gap=10), steps=40, batch_size=16,
             callback=diag, diagnostics="none", rng=1)
    f = diag.frame()
    assert f["step"].tolist() == [0, 10, 20, 30, 40]
    assert np.isnan(f["captured_energy"].iloc[0]) and f["captured_energy"].iloc[1:].between(0, 1 + 1e-12).all()
    assert f["projector_overlap"].iloc[2:].between(0, 1 + 1e-12).all()
    assert f["delta_effective_rank"].iloc[0] == 0 and f["delta_effective_rank"].iloc[-1] > 2  # above r
    assert (f["grad_nuclear_ratio"] >= 1 - 1e-12).all()
    assert set(diag.spectra) == {(s, "W") for s in range(0, 41, 10)}


def test_lora_updates_stay_within_the_rank_while_galore_exceeds_it():
    a = T.pretrain_trial(method="lora", rank=2, lr=0.02, seed=0, **SMALL)
    b = T.pretrain_trial(method="galore", rank=2, lr=0.02, seed=0, update_gap=5, **SMALL)
    a, b = a[a.kind == "record"], b[b.kind == "record"]
    assert a["delta_effective_rank"].max() <= 2 + 1e-9
    assert b["delta_effective_rank"].iloc[-1] > 2
    assert a["state_floats"].iloc[0] == 2 * 2 * (8 + 16)  # Adam on B (8 x 2) and A (2 x 16)
    assert b["state_floats"].iloc[0] == 8 * 2 + 2 * 2 * 16
    assert b["svd_count"].iloc[0] == 8  # refreshes at steps 0, 5, ..., 35


@pytest.mark.parametrize("method", T.METHODS)
def test_every_method_runs_on_the_harness(method):
    rows = T.pretrain_trial(method=method, rank=2, lr=0.01, seed=1, update_gap=10, **SMALL)
    assert rows["final_train_loss_ratio"].iloc[0] < 1.0
    assert set(rows[rows.kind == "record"]["step"]) == {0, 20, 40}
    refresh = rows[rows.kind == "refresh"]
    if method in ("adam", "lora"):
        assert refresh.empty
    elif method != "galore_dct":
        assert refresh["step"].tolist() == [0, 10, 20, 30]
        assert refresh["overlap"].iloc[1:].between(0, 1 + 1e-9).all() or method.startswith("apollo")


def test_spikes_int8_weights_and_the_loss_profile():
    rows = T.pretrain_trial(method="fira", rank=2, lr=0.01, seed=0, spikes=(10,), loss_every=5, **SMALL)
    profile = rows[rows.kind == "loss"]
    assert profile["step"].tolist() == list(range(0, 41, 5))
    q = T.pretrain_trial(method="galore", rank=2, lr=0.01, seed=0, weight_bits=8, rounding="nearest", m=16,
                         n=16, n_train=64, steps=20, record_every=20)
    assert q["final_train_loss_ratio"].iloc[0] <= 1.0


def test_deep_models_record_every_layer():
    rows = T.pretrain_trial(method="galore", rank=2, lr=0.01, seed=0, model="deep_linear", hidden=8, **SMALL)
    assert set(rows["layer"]) == {"W1", "W2", "W3"}
    stopped = T.pretrain_trial(method="adam", rank=2, lr=0.01, seed=0, stop=0.5, **SMALL)
    assert stopped["stop_reason"].iloc[0] == "converged" and stopped["n_iter"].iloc[0] < 40
    assert stopped["steps_to"].isna().all()  # 1e-3 was not reached before stopping at 0.5


def test_the_golore_counterexample_stalls_galore_and_not_random_projections():
    kw = dict(lr=0.001, seed=0, n=24, m=48, rank=4, noise=1.0, steps=600, update_gap=20, record_every=100)
    svd = T.golore_trial(method="galore", **kw)
    rnd = T.golore_trial(method="golore", **kw)
    sgd = T.golore_trial(method="sgd", **kw)
    assert svd["gap_ratio"].iloc[-1] > 0.9  # locked onto the noise rows
    assert svd["signal_share"].iloc[-1] < 0.05
    assert rnd["gap_ratio"].iloc[-1] < 0.6 and rnd["signal_share"].iloc[-1] > 0.5
    assert sgd["gap_ratio"].iloc[-1] < 1e-3


def test_golore_problem_gradient_and_gap():
    prob = T.golore_problem(6, 9, 2, 0.5, rng=0)
    X = np.random.default_rng(1).standard_normal((6, 9))
    eps = 1e-6
    E = np.zeros_like(X)
    E[1, 3] = eps
    f = lambda Y: float(prob.gap(Y))  # noqa: E731
    assert (f(X + E) - f(X - E)) / (2 * eps) == pytest.approx(prob.gradient(X)[1, 3], rel=1e-6)
    E = np.zeros_like(X)
    E[5, 0] = 1.0  # the last rows do not change f
    assert f(X + E) == pytest.approx(f(X))
    assert prob.gradient(X)[5, 0] == 0.0
    with pytest.raises(ValueError, match="rank must be in"):
        T.golore_problem(4, 4, 4, 1.0)


def test_lrc_adapter_is_exact_at_start_and_its_pullback_is_the_chain_rule():
    gen = np.random.default_rng(0)
    W = gen.standard_normal((5, 3)) @ gen.standard_normal((3, 7))
    a = T.lrc_adapter(3)
    s = a.init(W, 0)
    np.testing.assert_allclose(s.params["B"] @ s.params["A"], W, atol=1e-12)
    G = gen.standard_normal((5, 7))
    g = a.pullback(s, G)
    dB = gen.standard_normal(s.params["B"].shape) * 1e-6
    moved = s.replace_params({"B": s.params["B"] + dB, "A": s.params["A"]})
    assert np.sum(G * a.delta(moved)) == pytest.approx(np.sum(g["B"] * dB), rel=1e-6)
    assert a.num_params((5, 7)) == 36


def test_welore_trial_rows():
    rows = T.welore_trial(seed=0, lr=0.01, steps=60, ft_steps=20, m=8, n=16, hidden=12, depth=3, rank=4,
                          n_train=128, record_every=10, update_gap=10)
    assert set(rows["kind"]) == {"layer", "compression", "finetune"}
    comp = rows[rows.kind == "compression"].set_index("layer")
    assert comp.loc["uniform", "params"] <= comp.loc["welore", "params"]
    layers = rows[rows.kind == "layer"]
    assert len(layers) == 3 and (layers["weight_effective_rank"] > 0).all()
    small = T.pretraining_task(0, T.model_of("deep_linear", 4, 8, hidden=6), n_train=8, init_scale=0.1)
    full_init = T.pretraining_task(0, T.model_of("deep_linear", 4, 8, hidden=6), n_train=8)
    np.testing.assert_allclose(small.W0["W1"], 0.1 * full_init.W0["W1"])


def test_data_quality_trial_reports_matched_probes():
    row = T.data_quality_trial(seed=0, label_noise=0.2, teacher_rank=2, m=4, n=12, hidden=10, n_train=128,
                               batch_size=32, max_steps=200, lr=0.01)
    assert row["matched"] and row["loss_ratio"] <= 0.8
    for k in ("W1", "W2"):
        assert row[f"{k}_nuclear_ratio"] >= 1.0 - 1e-12
        assert 1.0 <= row[f"{k}_effective_rank"] <= 12


def test_make_optimizer_and_bad_input():
    assert T.make_optimizer("galore_dct", 0.1, 2).name == "galore"
    with pytest.raises(ValueError, match="method must be one of"):
        T.make_optimizer("sophia", 0.1, 2)
    with pytest.raises(ValueError, match="model must be one of"):
        T.model_of("cnn", 4, 4)


def test_projector_timing_trial_times_both_projectors():
    for method in ("svd", "dct"):
        row = T.projector_timing_trial(n=32, method=method, seed=0, rank=4)
        assert 0 < row["seconds"] < 10
    with pytest.raises(ValueError, match="method must be one of"):
        T.projector_timing_trial(n=8, method="qr", seed=0)

