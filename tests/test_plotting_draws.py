"""Tests of lecture9.plotting.draws: the histogram of repeated estimates with marked draws."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
import torch

from lecture9 import plotting


def test_marks_report_their_percentile_and_the_axes_are_labelled():
    estimates = torch.arange(100, dtype=torch.float64)  # 0, 1, ..., 99
    fig = plotting.plot_estimate_draws(
        estimates, 49.5, {"low": 9.0, "high": 89.0}, xlabel="estimate"
    )
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0].startswith("100 runs: mean 49.5000")
    assert "low: 9.0000 (10 % of runs at or below)" in labels
    assert "high: 89.0000 (90 % of runs at or below)" in labels
    assert ax.get_xlabel() == "estimate" and ax.get_ylabel() == "density"
    plt.close(fig)


def test_rejects_estimates_that_are_not_a_vector():
    with pytest.raises(ValueError, match="one-dimensional"):
        plotting.plot_estimate_draws(torch.zeros(3, 3), 0.0, {})
