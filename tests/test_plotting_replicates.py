"""Tests of the figures of chapter 9's new helpers: bands over seeds, values by seed, the two gradient paths."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lecture9 import plotting  # noqa: E402
from lecture9.studies import replicates  # noqa: E402


def _summaries():
    histories = {
        "pathwise, S=1": [
            {"epoch": [1, 2, 3], "test_elbo": [-30.0, -25.0, -22.0]},
            {"epoch": [1, 2, 3], "test_elbo": [-31.0, -24.0, -21.0]},
        ],
        "score function + baseline, S=2": [
            {"epoch": [1, 2, 3], "test_elbo": [-33.0, -27.0, -23.0]},
            {"epoch": [1, 2, 3], "test_elbo": [-32.0, -28.0, -24.0]},
        ],
    }
    return replicates.summarize_runs(histories)


def test_learning_curve_bands_draw_the_mean_and_the_range():
    fig = plotting.plot_learning_curve_bands(_summaries(), ylim=(-35, -20))
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "test ELBO (nats)"
    lines = ax.get_lines()
    np.testing.assert_allclose(lines[0].get_ydata(), [-30.5, -24.5, -21.5])
    assert (
        lines[0].get_linestyle() == "--" and lines[1].get_linestyle() == "-"
    )  # S=1 dashed, S=2 solid
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2
    lo, hi = (
        bands[0].get_paths()[0].vertices[:, 1].min(),
        bands[0].get_paths()[0].vertices[:, 1].max(),
    )
    assert (lo, hi) == (-31.0, -21.0)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(_summaries())
    plt.close(fig)


def test_values_by_seed_one_dot_per_seed_on_a_log_axis():
    fig = plotting.plot_values_by_seed(
        {"pathwise, S=1": [7.3, 7.4, 7.5], "score function, S=1": [3.1e3, 3.3e3, 3.2e3]},
        ylabel="total variance",
    )
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "total variance"
    dots = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert [len(d.get_ydata()) for d in dots] == [3, 3]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["pathwise\nS=1", "score function\nS=1"]
    plt.close(fig)
    with pytest.raises(ValueError, match="log scale"):
        plotting.plot_values_by_seed({"a": [0.0, 1.0]}, ylabel="v")
    with pytest.raises(ValueError, match="at least one"):
        plotting.plot_values_by_seed({}, ylabel="v")


def test_gradient_paths_two_panels_and_a_legend():
    fig = plotting.plot_vae_gradient_paths()
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    titles = [ax.get_title() for ax in fig.axes]
    assert "naive backpropagation" in titles[0] and "REINFORCE" in titles[1]
    texts = {t.get_text() for t in fig.axes[1].texts}
    assert (
        r"$q$" in texts and r"$\mathcal{S}$" in texts
    )  # the log q node and the surrogate exist only below
    assert r"$q$" not in {t.get_text() for t in fig.axes[0].texts}
    assert fig.legends and "no gradient (sample, or detached)" in [
        t.get_text() for t in fig.legends[0].get_texts()
    ]
    plt.close(fig)
