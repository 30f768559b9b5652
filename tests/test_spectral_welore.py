"""WeLore's one-shot rank selection on constructed spectra, its uniform baseline, and the captured energy of a projector."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import to_xp

from lowrank_lab import spectral


def _diag(values, m=None):
    values = np.asarray(values, dtype=float)
    q = values.size
    W = np.zeros((m or q, q))
    W[np.arange(q), np.arange(q)] = values
    return W


def test_fast_decay_is_a_low_rank_component_and_a_flat_spectrum_stays_dense(xp):
    mats = {"fast": to_xp(xp, _diag(2.0 ** -np.arange(16.0))), "flat": to_xp(xp, _diag([1.0] * 15 + [0.5]))}
    sel = spectral.welore_ranks(mats, 0.3)
    t = sel.table.set_index("name")
    assert bool(t.loc["fast", "lrc"]) and not bool(t.loc["flat", "lrc"])
    assert t.loc["flat", "kept_rank"] == 16 and t.loc["flat", "params_after"] == 256
    assert t.loc["fast", "params_after"] == t.loc["fast", "kept_rank"] * 32
    assert sel.reduction >= 0.3
    assert sel.ranks == {"fast": int(t.loc["fast", "kept_rank"])}


def test_the_rule_is_the_reference_counts_with_one_global_threshold(rng):
    mats = {f"W{i}": rng.standard_normal((20, 12)) * (np.arange(1, 13) ** -float(i)) for i in range(4)}
    sel = spectral.welore_ranks(mats, 0.25)
    for _, row in sel.table.iterrows():
        k = spectral.welore_prune_rank(mats[row["name"]], sel.tau)
        assert row["k_prune"] == k
        assert bool(row["lrc"]) == (k / 12 > 0.4999)
        assert row["kept_rank"] == (12 - k if row["lrc"] else 12)


def test_tau_is_the_smallest_threshold_reaching_the_target(rng):
    mats = {f"W{i}": rng.standard_normal((16, 16)) @ np.diag(np.arange(1, 17) ** -(0.5 + i)) for i in range(5)}
    total = 5 * 256
    for target in (0.1, 0.3, 0.5):
        sel = spectral.welore_ranks(mats, target)
        assert sel.reduction >= target
        # a slightly smaller threshold (below the value that reached the target) does not reach it
        normalized = np.concatenate([(s - s[-1]) / (s[0] - s[-1]) for s in
                                     (np.linalg.svd(W, compute_uv=False) for W in mats.values())])
        below = normalized[normalized < sel.tau].max()
        params = 0
        for W in mats.values():
            s = np.linalg.svd(W, compute_uv=False)
            k = int(np.count_nonzero((s - s[-1]) / (s[0] - s[-1]) < below))
            params += (16 - k) * 32 if k / 16 > 0.4999 else 256
        assert 1 - params / total < target


def test_increasing_targets_prune_more():
    mats = {"a": _diag(np.arange(10, 0, -1.0) ** 2), "b": _diag(np.exp(-np.arange(10.0))), "c": _diag(np.ones(10))}
    taus = [spectral.welore_ranks(mats, r).tau for r in (0.1, 0.2, 0.4)]
    assert taus == sorted(taus)


def test_singular_values_with_shapes_give_the_same_selection(rng):
    mats = {"A": rng.standard_normal((30, 10)) * 0.5 ** np.arange(10), "B": rng.standard_normal((10, 10))}
    spectra = {k: np.linalg.svd(v, compute_uv=False) for k, v in mats.items()}
    a = spectral.welore_ranks(mats, 0.2)
    b = spectral.welore_ranks(spectra, 0.2, shapes={k: v.shape for k, v in mats.items()})
    assert a.tau == b.tau
    assert a.table.equals(b.table)


def test_unreachable_targets_report_what_is_achieved_and_zero_prunes_nothing():
    sel = spectral.welore_ranks({"flat": np.eye(6)}, 0.5)
    assert sel.reduction == 0.0 and sel.target == 0.5
    none = spectral.welore_ranks({"a": np.diag([4.0, 2.0, 1.0, 0.5])}, 0.0)
    assert none.tau == 0.0 and none.reduction == 0.0 and int(none.table["k_prune"].iloc[0]) == 0


def test_welore_refuses_bad_input():
    with pytest.raises(ValueError, match="reduction must be"):
        spectral.welore_ranks({"a": np.eye(3)}, 1.0)
    with pytest.raises(ValueError, match="shapes must give"):
        spectral.welore_ranks({"a": np.ones(3)}, 0.1)
    with pytest.raises(ValueError, match=r"shapes\['a'\] must be"):
        spectral.welore_ranks({"a": np.ones(3)}, 0.1, shapes={"a": (5, 4)})
    with pytest.raises(TypeError, match="non-empty dict"):
        spectral.welore_ranks({}, 0.1)


def test_uniform_ranks_fill_the_budget_with_one_fraction():
    shapes = {"a": (32, 32), "b": (16, 64), "c": (64, 64)}
    budget = 6000
    ranks = spectral.uniform_ranks(shapes, budget)
    cost = sum(min(r * sum(shapes[k]), np.prod(shapes[k])) for k, r in ranks.items())
    assert cost <= budget
    fractions = {k: r / min(shapes[k]) for k, r in ranks.items()}
    assert max(fractions.values()) - min(fractions.values()) < 1 / 16 + 1e-12  # one fraction, up to flooring
    bigger = {k: r + 1 for k, r in ranks.items()}
    assert sum(min(r * sum(shapes[k]), np.prod(shapes[k])) for k, r in bigger.items()) > budget
    with pytest.raises(ValueError, match="must be"):
        spectral.uniform_ranks({"a": (0, 3)}, 10)


def test_captured_energy_of_the_svd_projector_is_the_eckart_young_share(xp, rng):
    G = rng.standard_normal((12, 20)) @ np.diag(np.arange(1, 21) ** -1.0)
    U, s, Vt = np.linalg.svd(G, full_matrices=False)
    share = np.sum(s[:4] ** 2) / np.sum(s**2)
    assert spectral.captured_energy(to_xp(xp, G), to_xp(xp, U[:, :4])) == pytest.approx(share, rel=1e-12)
    assert spectral.captured_energy(to_xp(xp, G), to_xp(xp, Vt[:4].T), "right") == pytest.approx(share, rel=1e-12)
    Q = np.linalg.qr(rng.standard_normal((12, 4)))[0]
    assert spectral.captured_energy(G, Q) <= share  # no rank-4 projector beats the SVD's
    assert spectral.captured_energy(np.zeros((3, 4)), np.eye(3)[:, :1]) == 0.0
    with pytest.raises(ValueError, match="P must have 20 rows"):
        spectral.captured_energy(G, U[:, :4], "right")
