"""Tests of lecture9.plotting.intuition: reweighting against moving."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from lecture9 import plotting


def test_weights_are_the_density_ratio_and_samples_move_by_the_shift():
    x = torch.tensor([-1.0, 0.5, 2.0], dtype=torch.float64)
    fig = plotting.plot_reweight_vs_move(x, lambda x: x**2, loc=0.0, scale=1.0, shift=0.5)
    left, right = fig.axes
    # weights N(x | 0.5, 1) / N(x | 0, 1) = exp(0.5 x - 0.125): below 1 for x = -1, above for 0.5 and 2
    heavy, light = left.collections[0].get_offsets(), left.collections[1].get_offsets()
    assert np.allclose(np.asarray(heavy)[:, 0], [0.5, 2.0]) and np.allclose(
        np.asarray(light)[:, 0], [-1.0]
    )
    sizes = left.collections[0].get_sizes()
    assert np.allclose(sizes, 60 * np.exp(0.5 * np.array([0.5, 2.0]) - 0.125))
    moved = np.asarray(right.collections[1].get_offsets())
    assert np.allclose(moved[:, 0], [-0.5, 1.0, 2.5]) and np.allclose(
        moved[:, 1], [0.25, 1.0, 6.25]
    )
    plt.close(fig)


def test_rejects_bad_samples_and_scale():
    with pytest.raises(ValueError, match="samples"):
        plotting.plot_reweight_vs_move(
            torch.zeros(2, 2), lambda x: x, loc=0.0, scale=1.0, shift=0.1
        )
    with pytest.raises(ValueError, match="scale"):
        plotting.plot_reweight_vs_move(torch.zeros(2), lambda x: x, loc=0.0, scale=0.0, shift=0.1)
