from __future__ import annotations

import hashlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from lowrank_lab import plotting  # noqa: E402


def _figure():
    with plotting.style():
        fig, ax = plt.subplots()
        t = np.arange(1, 50)
        ax.loglog(t, 1 / t, label="1/t")
        ax.set_xlabel("iteration")
        ax.legend()
    return fig


def test_savefig_is_byte_for_byte_reproducible(tmp_path):
    digests = []
    for sub in ("a", "b"):
        fig = _figure()
        written = plotting.savefig(fig, "demo", directory=tmp_path / sub)
        plt.close(fig)
        assert [p.suffix for p in written] == [".png", ".pdf"]
        digests.append([hashlib.sha256(p.read_bytes()).hexdigest() for p in written])
    assert digests[0] == digests[1]
    assert not list((tmp_path / "a").glob(".*tmp"))


def test_savefig_honours_figures_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LOWRANK_FIGURES_DIR", str(tmp_path / "figs"))
    fig = _figure()
    (png,) = plotting.savefig(fig, "env_demo", formats=("png",))
    plt.close(fig)
    assert png.parent == tmp_path / "figs" and png.stat().st_size > 1000


@pytest.mark.parametrize("name", ["", "../x", "a b", None])
def test_savefig_rejects_bad_names(tmp_path, name):
    fig = _figure()
    with pytest.raises(ValueError, match="name must be"):
        plotting.savefig(fig, name, directory=tmp_path)
    with pytest.raises(ValueError, match="formats must be"):
        plotting.savefig(fig, "ok", directory=tmp_path, formats=("jpg",))
    plt.close(fig)


def test_seed_summary_and_band():
    frame = pd.DataFrame({"x": [1, 1, 1, 2, 2, 2], "seed": [0, 1, 2] * 2, "y": [1.0, 2.0, 3.0, 4.0, 6.0, 8.0]})
    s = plotting.seed_summary(frame, "x", "y", center="mean", spread="std")
    np.testing.assert_allclose(s["center"], [2.0, 6.0])
    np.testing.assert_allclose(s["high"] - s["center"], [1.0, 2.0])
    r = plotting.seed_summary(frame, "x", "y", spread="range")
    np.testing.assert_allclose(r["low"], [1.0, 4.0])
    assert list(r["n"]) == [3, 3]
    with pytest.raises(KeyError, match="zzz"):
        plotting.seed_summary(frame, "zzz", "y")
    with pytest.raises(ValueError, match="spread"):
        plotting.seed_summary(frame, "x", "y", spread="sem")
    fig, ax = plt.subplots()
    drawn = plotting.plot_band(ax, frame, "x", "y", label="y")
    assert len(ax.lines) == 1 and len(drawn) == 2
    plt.close(fig)


def test_fit_line_recovers_rates_and_slopes():
    t = np.arange(1.0, 100.0)
    assert plotting.fit_line(t, 3 * np.exp(-0.02 * t))[0] == pytest.approx(-0.02)
    assert plotting.fit_line(t, t**-2.0, log_x=True)[0] == pytest.approx(-2.0)
    with pytest.raises(ValueError, match="positive"):
        plotting.fit_line(t, -t)
    with pytest.raises(ValueError, match="equal length"):
        plotting.fit_line(t, t[:-1])
