"""plotting.plot_success (Wilson bands) and plotting.mark_diverged (issue 10)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from lowrank_lab import plotting  # noqa: E402
from lowrank_lab.analysis import wilson_interval  # noqa: E402


def test_plot_success_draws_wilson_band():
    fig, ax = plt.subplots()
    df = pd.DataFrame({"m": [2] * 10 + [4] * 10, "ok": [True] * 3 + [False] * 7 + [True] * 10})
    table = plotting.plot_success(ax, df, "m", "ok", label="r = 2")
    assert table["center"].tolist() == [0.3, 1.0]
    assert (table.loc[0, "low"], table.loc[0, "high"]) == pytest.approx(wilson_interval(3, 10))
    assert table.loc[1, "low"] == pytest.approx(wilson_interval(10, 10)[0]) and table.loc[1, "low"] < 1.0
    assert len(ax.lines) == 1 and len(ax.collections) == 1
    plt.close(fig)


def test_mark_diverged_sits_at_the_top_edge():
    fig, ax = plt.subplots()
    ax.set_yscale("log")
    ax.plot([0, 1], [1e-3, 1e-1])
    ylim = ax.get_ylim()
    art = plotting.mark_diverged(ax, np.array([0.2, 0.8]), color="k")
    assert art.get_offsets().shape == (2, 2)
    assert np.allclose(art.get_offsets()[:, 1], 0.97)
    assert ax.get_ylim() == ylim  # the data range is not stretched
    assert plotting.mark_diverged(ax, []) is None
    with pytest.raises(TypeError, match="x"):
        plotting.mark_diverged(ax, "a")
    plt.close(fig)
