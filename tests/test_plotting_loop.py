"""The stochastic optimisation loop figure (Mohamed et al., 2020, Fig. 1)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from lecture9 import plotting


def test_the_loop_has_both_phases_and_both_arrows():
    fig = plotting.plot_optimisation_loop()
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "simulation phase" in texts and "optimisation phase" in texts
    assert any("gradient estimate" in t for t in texts) and any(
        "parameters $\\theta_{t+1}$" in t for t in texts
    )
    plt.close(fig)


@pytest.mark.parametrize(
    "kwargs", [{"width": 0}, {"height": -1.0}, {"width": "7"}, {"height": True}]
)
def test_bad_sizes_are_refused_naming_the_argument(kwargs):
    with pytest.raises((TypeError, ValueError), match=next(iter(kwargs))):
        plotting.plot_optimisation_loop(**kwargs)
