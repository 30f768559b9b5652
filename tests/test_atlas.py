"""The spectral atlas, the adapter report and ``lowrank-lab inspect``, on matrices with known spectra."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from helpers import to_xp
from safetensors import numpy as safetensors_numpy

from lowrank_lab import cli, datasets, spectral


def _orthogonal(rng, n):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def _with_spectrum(rng, s, m, n):
    """An m x n matrix with singular values s (len min(m, n)) and random singular vectors."""
    U, V = _orthogonal(rng, m)[:, : len(s)], _orthogonal(rng, n)[:, : len(s)]
    return (U * s) @ V.T


# --------------------------------------------------------------------------- known spectra
def test_flat_spectrum_identities(rng):
    W = _with_spectrum(rng, np.full(40, 2.0), 80, 40)
    row = spectral.atlas({"flat": W}, progress=False).iloc[0]
    assert row.stable_rank == pytest.approx(40) and row.effective_rank == pytest.approx(40)
    assert row.numerical_rank == 40 and row.spectral_entropy == pytest.approx(1.0)
    assert row.lambda_max == pytest.approx(4.0 / 80)  # sigma^2 / N in the default convention
    assert row.n_eigenvalues == 40 and row["shape"] == "80x40" and row.svd == "exact"


def test_power_law_spectrum_recovers_alpha_in_both_conventions(rng):
    alpha, N, M = 3.0, 300, 200
    u = (np.arange(M) + 0.5) / M
    lam = (1.0 - u) ** (-1.0 / (alpha - 1.0))  # Pareto quantiles: density ~ lambda^-alpha on [1, inf)
    W = _with_spectrum(rng, np.sqrt(N * lam[::-1]), N, M)
    norm = spectral.atlas({"pl": W}, progress=False, randomize=False).iloc[0]
    ww = spectral.atlas({"pl": W}, eigenvalues="weightwatcher", progress=False, randomize=False).iloc[0]
    assert abs(norm.alpha - alpha) < 2 * norm.alpha_sigma
    assert norm.alpha == pytest.approx(ww.alpha, rel=1e-12) and norm.n_tail == ww.n_tail
    assert ww.xmin == pytest.approx(N * norm.xmin, rel=1e-10)
    shift = math.log10(N)
    assert ww.log_norm - norm.log_norm == pytest.approx(shift, rel=1e-10)
    assert ww.log_spectral_norm - norm.log_spectral_norm == pytest.approx(shift, rel=1e-10)
    assert ww.alpha_weighted - norm.alpha_weighted == pytest.approx(norm.alpha * shift, rel=1e-10)
    assert ww.log_alpha_norm - norm.log_alpha_norm == pytest.approx(norm.alpha * shift, rel=1e-8)
    assert ww.mp_bulk_edge == pytest.approx(N * norm.mp_bulk_edge, rel=1e-10)
    assert ww.stable_rank == norm.stable_rank and ww.effective_rank == norm.effective_rank


def test_low_rank_plus_noise_has_its_spikes_and_no_traps(rng):
    N, M, r = 400, 200, 3
    signal = _with_spectrum(rng, np.r_[np.array([60.0, 50.0, 40.0]), np.zeros(M - r)], N, M)
    W = signal + rng.standard_normal((N, M))
    row = spectral.atlas({"spiked": W}, progress=False, rng=1).iloc[0]
    assert row.mp_spikes == r and row.numerical_rank == M
    assert row.rand_spikes == 0 and row.n_above_random == r
    assert row.warning == ""
    noise = spectral.atlas({"noise": rng.standard_normal((N, M))}, progress=False).iloc[0]
    assert noise.mp_spikes == 0 and noise.n_above_random == 0
    assert noise.rand_softrank == pytest.approx(1.0, abs=0.1)  # shuffling an i.i.d. matrix changes nothing


def test_exactly_low_rank_input_is_reported_not_counted_as_signal(rng):
    W = rng.standard_normal((120, 4)) @ rng.standard_normal((4, 60))
    row = spectral.atlas({"rank4": W}, progress=False).iloc[0]
    assert row.numerical_rank == 4
    assert row.mp_spikes <= row.numerical_rank
    assert "rank-deficient (numerical rank 4 < 60)" in row.warning


def test_numerical_rank_uses_the_stored_precision(rng):
    s = np.r_[np.ones(20), np.full(10, 1e-9)]
    W = _with_spectrum(rng, s, 60, 30)
    r64 = spectral.atlas({"w": W}, progress=False, randomize=False).iloc[0]
    r32 = spectral.atlas({"w": W.astype(np.float32)}, progress=False, randomize=False).iloc[0]
    assert r64.numerical_rank == 30 and r32.numerical_rank == 20
    assert r32["dtype"] == "float32" and r32.svd == "gram"


def test_gram_and_exact_spectra_agree_for_float32_weights(rng):
    W = (rng.standard_normal((900, 60)) * np.geomspace(1, 1e-3, 60)).astype(np.float32)
    exact = spectral.weight_spectrum(W, method="exact")
    gram = spectral.weight_spectrum(W, method="gram")
    np.testing.assert_allclose(gram, exact, rtol=1e-7)
    np.testing.assert_allclose(spectral.weight_spectrum(W), exact, rtol=1e-7)  # auto = gram here
    np.testing.assert_allclose(exact, np.linalg.svd(W.astype(np.float64), compute_uv=False), rtol=1e-12)
    wide = spectral.weight_spectrum(W.T, method="gram")
    np.testing.assert_allclose(wide, exact, rtol=1e-7)


def test_randomized_spectrum_reproduces_the_exact_tail_fit(rng):
    """A power-law tail of 50 eigenvalues above a flat bulk: the top-k fit sees the same tail."""
    alpha, N, M = 2.5, 300, 200
    u = (np.arange(50) + 0.5) / 50
    lam = np.sort(np.r_[(1.0 - u) ** (-1.0 / (alpha - 1.0)), np.linspace(0.01, 0.4, 150)])[::-1]
    W = _with_spectrum(rng, np.sqrt(N * lam), N, M)
    exact = spectral.atlas({"w": W}, progress=False).iloc[0]
    rand = spectral.atlas({"w": W}, svd="randomized", n_components=100, progress=False).iloc[0]
    assert exact.n_tail == 50
    assert rand.n_eigenvalues == 100 and rand.svd == "randomized"
    assert rand.alpha == pytest.approx(exact.alpha, rel=1e-5) and rand.n_tail == exact.n_tail
    assert rand.stable_rank == pytest.approx(exact.stable_rank, rel=1e-8)  # ||W||_F from the entries
    assert np.isnan(rand.effective_rank) and np.isnan(rand.mp_spikes) and np.isnan(rand.numerical_rank)
    assert rand.rand_lambda_max == pytest.approx(exact.rand_lambda_max, rel=1e-3)


def test_skipped_tensors_small_matrices_and_names(rng):
    weights = {
        "encoder.layer.0.attention.self.query.weight": rng.standard_normal((30, 30)),
        "encoder.layer.0.attention.self.query.bias": rng.standard_normal(30),
        "embeddings.position_ids": np.arange(12)[None, :],
        "embeddings.token_type_embeddings.weight": rng.standard_normal((2, 30)),
    }
    frame = spectral.atlas(weights, progress=False)
    assert list(frame["name"]) == ["encoder.layer.0.attention.self.query.weight", "embeddings.token_type_embeddings.weight"]
    assert dict(frame.attrs["skipped"]) == {"encoder.layer.0.attention.self.query.bias": "1-D",
                                            "embeddings.position_ids": "dtype int64"}
    small = frame.iloc[1]
    assert np.isnan(small.alpha) and "too small for ESD fits" in small.warning and small.stable_rank > 0
    assert frame.iloc[0].kind == "query" and frame.iloc[0].layer == 0 and pd.isna(small.layer)
    only = spectral.atlas(weights, include="query", progress=False)
    assert list(only["name"]) == ["encoder.layer.0.attention.self.query.weight"]


def test_names_to_layers_and_kinds():
    assert spectral.layer_index("model.layers.12.self_attn.q_proj.weight") == 12
    assert spectral.matrix_kind("model.layers.12.self_attn.q_proj.weight") == "query"
    assert spectral.matrix_kind("transformer.h.3.mlp.c_fc.weight") == "intermediate"
    assert spectral.layer_index("transformer.h.3.mlp.c_fc.weight") == 3
    assert spectral.matrix_kind("encoder.layer.1.output.dense.weight") == "output"
    assert spectral.matrix_kind("lm_head.weight") == "lm_head"


def test_atlas_is_seeded_and_backend_independent(xp, rng):
    W = rng.standard_normal((50, 30))
    W[:, 0] += 2.0
    host = spectral.atlas({"w": W, "v": W[:20]}, progress=False, rng=3)
    other = spectral.atlas({"w": to_xp(xp, W), "v": to_xp(xp, W[:20])}, progress=False, rng=3)
    numeric = host.select_dtypes("number").columns
    np.testing.assert_allclose(other[numeric].to_numpy(float), host[numeric].to_numpy(float), rtol=1e-9)
    again = spectral.atlas({"w": W, "v": W[:20]}, progress=False, rng=3)
    pd.testing.assert_frame_equal(again, host)


def _weightwatcher_fit(x):
    """WeightWatcher 0.7's ``WWFit.fit_power_law_standard`` (left-limit ECDF), as a plain loop."""
    x = np.sort(x)
    n_all = x.size
    best = (np.inf, None, None)
    for i in range(n_all - 1):
        n = n_all - i
        a = 1 + n / (np.sum(np.log(x[i:])) - n * np.log(x[i]))
        D = np.max(np.abs(1 - (x[i:] / x[i]) ** (1 - a) - np.arange(n) / n)) if a > 1 else 1.0
        if D < best[0]:
            best = (D, a, x[i])
    return best


@pytest.mark.parametrize("n", [200, 900])  # 900 goes through the pruned scan
def test_weightwatcher_ks_convention_matches_its_fit(n):
    x = 1.0 + np.random.default_rng(n).pareto(2.0, n)
    D, a, xmin = _weightwatcher_fit(x)
    fit = spectral.powerlaw_alpha(x, ks="weightwatcher", min_eigenvalue=0.0)
    assert fit.xmin == xmin and fit.alpha == pytest.approx(a, rel=1e-10)
    assert fit.ks_distance == pytest.approx(D, rel=1e-10)
    two = spectral.powerlaw_alpha(x, min_eigenvalue=0.0)
    assert two.ks_distance >= fit.ks_distance - 1e-12  # the two-sided distance is never smaller


def test_atlas_bad_arguments_name_them(rng):
    W = rng.standard_normal((20, 10))
    with pytest.raises(ValueError, match="eigenvalues must be one of"):
        spectral.atlas({"w": W}, eigenvalues="sigma")
    with pytest.raises(ValueError, match="svd must be one of"):
        spectral.atlas({"w": W}, svd="lanczos")
    with pytest.raises(ValueError, match="ks must be one of"):
        spectral.atlas({"w": W}, ks="one-sided")
    with pytest.raises(ValueError, match="n_components must be"):
        spectral.weight_spectrum(W, method="randomized", n_components=11)
    with pytest.raises(ValueError, match=r"weights\['w'\] must be finite"):
        spectral.atlas({"w": np.full((20, 10), np.nan)})


# --------------------------------------------------------------------------- adapters
def _base_and_lora(rng, tmp_path, rslora=False):
    base = {
        "encoder.layer.0.attention.self.query.weight": _with_spectrum(rng, np.geomspace(5, 0.5, 24), 24, 24),
        "encoder.layer.0.attention.self.value.weight": _with_spectrum(rng, np.geomspace(5, 0.5, 24), 24, 24),
        "encoder.layer.0.output.dense.weight": _with_spectrum(rng, np.geomspace(4, 0.4, 16), 16, 40),
    }
    r = 2
    factors = {
        "encoder.layer.0.attention.self.query": (3 * rng.standard_normal((r, 24)), 3 * rng.standard_normal((24, r))),
        "encoder.layer.0.output.dense": (0.01 * rng.standard_normal((r, 40)), 0.01 * rng.standard_normal((16, r))),
    }
    datasets.save_peft_adapter(tmp_path / "lora", factors, {"r": r, "lora_alpha": 4, "use_rslora": rslora},
                               dtype=np.float64)
    return base, factors, tmp_path / "lora"


@pytest.mark.parametrize("rslora", [False, True])
def test_merge_adapter_applies_the_scaling(rng, tmp_path, rslora):
    base, factors, path = _base_and_lora(rng, tmp_path, rslora)
    merged = spectral.merge_adapter(base, path)
    s = 4 / math.sqrt(2) if rslora else 2.0
    for module, (A, B) in factors.items():
        np.testing.assert_allclose(merged[f"{module}.weight"], base[f"{module}.weight"] + s * B @ A, rtol=1e-12)
    assert merged["encoder.layer.0.attention.self.value.weight"] is base["encoder.layer.0.attention.self.value.weight"]
    f32 = spectral.merge_adapter({k: v.astype(np.float32) for k, v in base.items()}, path)
    assert f32["encoder.layer.0.output.dense.weight"].dtype == np.float32


def test_adapter_report_matches_the_toolkit(rng, tmp_path):
    base, factors, path = _base_and_lora(rng, tmp_path)
    report = spectral.adapter_report(base, path, progress=False, rng=0)
    assert list(report["module"]) == list(factors)
    for _, row in report.iterrows():
        A, B = factors[row.module]
        W0 = base[row.base_name]
        dW = 2.0 * B @ A
        res = spectral.intruder_dimensions(W0 + dW, W0, k=10, eps=np.array(spectral.DEFAULT_EPS))
        assert [row[f"intruders_eps_{e:g}"] for e in spectral.DEFAULT_EPS] == list(res.count)
        assert row.intruders == row["intruders_eps_0.5"]
        assert row.relative_norm == pytest.approx(np.linalg.norm(dW) / np.linalg.norm(W0))
        assert row.delta_effective_rank == pytest.approx(spectral.effective_rank(dW))
        assert row.delta_stable_rank == pytest.approx(spectral.stable_rank(dW))
        assert row.amplification == pytest.approx(spectral.amplification_factor(dW, W0, 2).amplification)
        assert row["rank"] == 2 and row.scaling == 2.0
    strong, weak = report.iloc[0], report.iloc[1]
    assert strong.intruders >= 1 and weak["intruders_eps_0.9"] == 0  # a large random update intrudes, a tiny one not
    counts = report[[f"intruders_eps_{e:g}" for e in spectral.DEFAULT_EPS]].to_numpy()
    assert np.all(np.diff(counts, axis=1) >= 0)


def test_adapter_shape_mismatch_names_file_module_and_base(rng, tmp_path):
    base, _, path = _base_and_lora(rng, tmp_path)
    base["encoder.layer.0.output.dense.weight"] = base["encoder.layer.0.output.dense.weight"][:, :30]
    with pytest.raises(ValueError, match=r"adapter_model.safetensors: shape mismatch for module "
                                         r"'encoder.layer.0.output.dense'.*\(16, 40\).*\(16, 30\)"):
        spectral.adapter_report(base, path, progress=False)
    del base["encoder.layer.0.output.dense.weight"]
    with pytest.raises(KeyError, match="no base tensor"):
        spectral.merge_adapter(base, path)


# --------------------------------------------------------------------------- figures and the command line
def _tiny_model(rng, path):
    tensors = {}
    for layer in range(2):
        for kind in ("attention.self.query", "attention.self.key", "attention.output.dense"):
            tensors[f"encoder.layer.{layer}.{kind}.weight"] = rng.standard_normal((24, 24)).astype(np.float32)
        tensors[f"encoder.layer.{layer}.intermediate.dense.weight"] = rng.standard_normal((48, 24)).astype(np.float32)
        tensors[f"encoder.layer.{layer}.intermediate.dense.bias"] = np.zeros(48, np.float32)
    safetensors_numpy.save_file(tensors, str(path))
    return tensors


def test_figures_draw(rng, tmp_path):
    import matplotlib.pyplot as plt

    weights = _tiny_model(rng, tmp_path / "m.safetensors")
    frame = spectral.atlas(weights, progress=False)
    fig, ax = plt.subplots()
    image = spectral.plot_atlas_heatmap(frame, "alpha", ax=ax)
    assert image.get_array().shape == (4, 2)  # 4 matrix types x 2 blocks
    with pytest.raises(ValueError, match="metric must be a column"):
        spectral.plot_atlas_heatmap(frame, "beta", ax=ax)
    out = spectral.plot_esd(weights["encoder.layer.0.attention.self.query.weight"], ax=ax)
    assert out["powerlaw"].alpha > 1 and out["shuffled"].shape == (24,)
    report = pd.DataFrame({"module": ["a", "b"], "k": [10, 10], "intruders_eps_0.1": [0, 1], "intruders_eps_0.5": [1, 2]})
    left, _ = spectral.plot_intruder_counts(report)
    assert list(left.lines[0].get_ydata()) == [1, 3]
    with pytest.raises(ValueError, match="eps must be one of"):
        spectral.plot_intruder_counts(report, eps=0.7)
    plt.close("all")


def test_cli_inspect_smoke(rng, tmp_path, capsys):
    model = tmp_path / "model.safetensors"
    weights = _tiny_model(rng, model)
    assert cli.main(["inspect", str(model), "--out", str(tmp_path / "out"), "--quiet", "--formats", "png"]) == 0
    text = capsys.readouterr().out
    assert "encoder.layer.1.intermediate.dense.weight" in text and "skipped 2 tensor(s)" in text
    written = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"atlas.csv", "atlas.parquet", "atlas_heatmap.png"} <= written and not any(n.endswith(".pdf") for n in written)
    assert any(n.startswith("esd_") and n.endswith(".png") for n in written)
    table = pd.read_parquet(tmp_path / "out" / "atlas.parquet")
    assert len(table) == 8 and pd.read_csv(tmp_path / "out" / "atlas.csv")["alpha"].notna().all()

    module = "encoder.layer.0.attention.self.query"
    datasets.save_peft_adapter(tmp_path / "lora", {module: (rng.standard_normal((2, 24)), rng.standard_normal((24, 2)))},
                               {"r": 2, "lora_alpha": 8})
    assert cli.main(["inspect", str(tmp_path), "--adapter", str(tmp_path / "lora"),
                     "--out", str(tmp_path / "out2"), "--quiet", "--formats", "png"]) == 0
    assert module in capsys.readouterr().out
    written = {p.name for p in (tmp_path / "out2").iterdir()}
    assert {"adapter_report.csv", "adapter_report.parquet", "intruders.png"} <= written
    report = pd.read_csv(tmp_path / "out2" / "adapter_report.csv")
    W0 = weights[f"{module}.weight"].astype(np.float64)
    assert report.loc[0, "relative_norm"] == pytest.approx(
        np.linalg.norm(datasets.load_peft_adapter(tmp_path / "lora").delta(module)) / np.linalg.norm(W0), rel=1e-6)

    assert cli.main(["inspect", str(tmp_path / "missing.safetensors"), "--quiet"]) == 2
    assert "known model" in capsys.readouterr().err
    assert cli.main(["inspect", str(model), "--esd", "nope", "--out", str(tmp_path / "o3"), "--quiet"]) == 2


# --------------------------------------------------------------------------- WeightWatcher, where installed
def test_agreement_with_weightwatcher_where_installed(rng):
    """alpha (with WeightWatcher's KS convention) and stable rank equal WeightWatcher's on the same matrices."""
    import logging

    pytest.importorskip("torch")
    level = logging.getLogger().level
    ww = pytest.importorskip("weightwatcher")
    logging.getLogger().setLevel(level)  # importing WeightWatcher sets the root logger to INFO
    logging.getLogger("weightwatcher").setLevel(logging.ERROR)
    model = {f"l{i}.weight": _with_spectrum(rng, np.sqrt(1.0 + rng.pareto(2.0, 60)) * 0.3, 120, 60)
             for i in range(3)}
    details = ww.WeightWatcher(model=model).analyze()
    ours = spectral.atlas(model, eigenvalues="weightwatcher", ks="weightwatcher", progress=False, randomize=False)
    merged = ours.assign(layer_name=ours["name"].str.removesuffix(".weight")).merge(
        details, left_on="layer_name", right_on="name", suffixes=("", "_ww"))
    assert len(merged) == 3
    np.testing.assert_allclose(merged["alpha"], merged["alpha_ww"], rtol=1e-10)
    np.testing.assert_allclose(merged["stable_rank"], merged["stable_rank_ww"], rtol=1e-10)
    np.testing.assert_allclose(merged["alpha_weighted"], merged["alpha_weighted_ww"], rtol=1e-8)
    np.testing.assert_allclose(merged["log_norm"], merged["log_norm_ww"], rtol=1e-10)
