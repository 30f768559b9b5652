from __future__ import annotations

import math

import numpy as np
import pytest

from lowrank_lab.spectral import trials as st


def test_bbp_formulas_meet_the_edge_at_the_threshold():
    theta_c = st.bbp_threshold(400, 100)
    assert theta_c == pytest.approx(0.25**0.25)
    edge = (1 + math.sqrt(0.25)) ** 2
    assert st.spiked_eigenvalue(theta_c, 400, 100) == pytest.approx(edge)
    assert st.spiked_eigenvalue(0.5 * theta_c, 400, 100) == pytest.approx(edge)
    assert st.spiked_eigenvalue(2 * theta_c, 400, 100) > edge


def test_spiked_noise_trial_detects_strong_spikes_and_no_false_ones():
    strong = st.spiked_noise_trial(n_rows=256, n_cols=128, n_spikes=3, strength=2.5, seed=0)
    assert strong["n_detected"] == 3
    assert strong["top_eigenvalue"] == pytest.approx(strong["spike_prediction"], rel=0.15)
    for seed in range(3):
        noise = st.spiked_noise_trial(n_rows=256, n_cols=128, n_spikes=0, strength=0.0, seed=seed)
        assert noise["n_detected"] == 0
        assert abs(noise["lambda_plus"] / noise["lambda_plus_theory"] - 1) < 0.05


def test_pareto_trial_fingers_and_fix():
    clean = st.pareto_powerlaw_trial(alpha=3.0, n=2000, seed=1)
    assert abs(clean["z_plain"]) < 3
    fingered = st.pareto_powerlaw_trial(alpha=3.0, n=2000, n_fingers=3, seed=1)
    assert fingered["n_fingers_found"] >= 3
    assert abs(fingered["z_fixed"]) < 3
    assert abs(fingered["alpha_hat"] - 3.0) > abs(fingered["alpha_fixed"] - 3.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_spikes": 100}, "n_spikes"),
        ({"strength": -1.0}, "strength"),
        ({"n_rows": 1}, "n_rows"),
    ],
)
def test_spiked_trial_bad_arguments(kwargs, match):
    args = {"n_rows": 64, "n_cols": 32, "n_spikes": 1, "strength": 1.0, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=match):
        st.spiked_noise_trial(**args)


def test_pareto_trial_bad_alpha():
    with pytest.raises(ValueError, match="alpha"):
        st.pareto_powerlaw_trial(alpha=1.0, n=100, seed=0)
    assert isinstance(st.spiked_noise_matrix(8, 4, 1, 1.0, np.random.default_rng(0)), np.ndarray)
