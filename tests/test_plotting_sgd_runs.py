"""Tests of lecture9.plotting.sgd_runs: several SGD runs as one line and a band."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
import torch

from lecture9 import plotting


def test_sgd_runs_draw_one_run_and_the_band():
    trajectory = (
        torch.linspace(0, 1, 11)[:, None] + torch.linspace(-0.1, 0.1, 5)[None, :]
    )  # (11 steps, 5 runs)
    fig = plotting.plot_sgd_runs({"constant step": trajectory}, 1.0)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "step $t$"
    assert [line.get_ydata()[-1] for line in ax.lines][:1] == [pytest.approx(0.9)]  # the first run
    plt.close(fig)
    with pytest.raises(ValueError, match="num_runs"):
        plotting.plot_sgd_runs({"x": torch.zeros(3)}, 0.0)
