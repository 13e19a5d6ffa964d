"""Tests of lecture9.plotting.error_rates and lecture9.plotting.sgd_runs."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
import torch

from lecture9 import plotting


def test_error_rates_give_the_exact_slope_in_the_legend():
    n = torch.tensor([100.0, 400.0, 1600.0])
    fig = plotting.plot_error_rates(n, {"a": 1.1 / n.sqrt()}, {"a": 1.0 / n.sqrt()})
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["a, exact (slope -0.50)", "a, measured"]
    assert fig.axes[0].get_xscale() == "log" and fig.axes[0].get_yscale() == "log"
    plt.close(fig)
    with pytest.raises(ValueError, match="like sample_sizes"):
        plotting.plot_error_rates(n, {"a": n[:2]}, {})


def test_sgd_runs_draw_one_run_and_the_band():
    trajectory = torch.linspace(0, 1, 11)[:, None] + torch.linspace(-0.1, 0.1, 5)[None, :]   # (11 steps, 5 runs)
    fig = plotting.plot_sgd_runs({"constant step": trajectory}, 1.0)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "step $t$"
    assert [line.get_ydata()[-1] for line in ax.lines][:1] == [pytest.approx(0.9)]      # the first run
    plt.close(fig)
    with pytest.raises(ValueError, match="num_runs"):
        plotting.plot_sgd_runs({"x": torch.zeros(3)}, 0.0)
