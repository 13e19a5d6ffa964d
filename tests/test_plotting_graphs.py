"""Tests of lecture9.plotting.graphs (the chapter 3-5 figure helpers)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.patches import Circle, Polygon, Rectangle

from lecture9 import plotting


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _patches(ax, kind):
    return [p for p in ax.patches if type(p) is kind]


def test_reparameterization_graph_node_shapes():
    fig = plotting.reparameterization_graph()
    left, right = fig.axes
    # original form: z is the only random node; reparameterized: eps is, z becomes deterministic
    assert len(_patches(left, Circle)) == 1 and len(_patches(left, Rectangle)) == 3
    assert len(_patches(right, Circle)) == 1 and len(_patches(right, Rectangle)) == 4
    assert len(_patches(left, Polygon)) == 1 and len(_patches(right, Polygon)) == 1
    assert {t.get_text() for t in fig.legends[0].get_texts()} >= {"random node", "deterministic node", "gradient path"}


def test_draw_computation_graph_errors():
    fig, ax = plotting.figure()
    nodes = {"a": (0, 0, "parameter", "a"), "b": (1, 0, "random", "b")}
    with pytest.raises(ValueError, match="unknown node 'c'"):
        plotting.draw_computation_graph(ax, nodes, [("a", "c")])
    with pytest.raises(ValueError, match="not in edges"):
        plotting.draw_computation_graph(ax, nodes, [("a", "b")], gradient_edges=[("b", "a")])
    with pytest.raises(ValueError, match="node kind"):
        plotting.draw_computation_graph(ax, {**nodes, "c": (2, 0, "hexagon", "c")}, [("b", "c")])
    with pytest.raises(ValueError, match="same position"):
        plotting.draw_computation_graph(ax, {**nodes, "c": (1, 0, "random", "c")}, [("b", "c")])


def test_estimate_histograms_and_running_mean():
    g = torch.Generator().manual_seed(0)
    values = {"score_function": torch.randn(1000, generator=g) * 3 + 2, "pathwise": torch.randn(1000, generator=g) + 2}
    fig = plotting.estimate_histograms(values, truth=2.0)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[0].startswith("score function: mean") and labels[-1] == "exact: 2.000"
    fig = plotting.running_mean_plot(values, truth=2.0)
    line = fig.axes[0].get_lines()[0]
    np.testing.assert_allclose(line.get_ydata()[-1], values["score_function"].double().mean().item(), rtol=1e-6)
    with pytest.raises(ValueError, match="empty"):
        plotting.estimate_histograms({})
    with pytest.raises(ValueError, match="at least 2"):
        plotting.running_mean_plot({"a": [1.0]})


def test_variance_curves_convergence_density_trajectory():
    x = np.arange(5.0)
    fig = plotting.variance_curves(x, {"pathwise": x + 1}, {"pathwise": x[:2] + 1}, x_mc=x[:2])
    assert fig.axes[0].get_yscale() == "log"
    with pytest.raises(ValueError, match="expected"):
        plotting.variance_curves(x, {"pathwise": x[:3]})
    with pytest.raises(ValueError, match="pass exact"):
        plotting.variance_curves(x)
    fig = plotting.convergence_plot({"a": ([1, 10], [1.0, 0.1])}, {"a": ([1, 10], [1.0, 0.2])})
    assert fig.axes[0].get_xscale() == "log"
    with pytest.raises(ValueError, match="differ in length"):
        plotting.convergence_plot({"a": ([1, 10, 100], [1.0, 0.1])})
    grid = np.linspace(-3, 3, 50)
    plotting.density_check_plot(np.random.default_rng(0).standard_normal(500), grid, np.exp(-grid ** 2 / 2) / np.sqrt(2 * np.pi))
    with pytest.raises(ValueError, match="same length"):
        plotting.density_check_plot([0.0], grid, grid[:3])
    fig = plotting.trajectory_plot({"pathwise": torch.linspace(0, 1, 11)}, optimum=1.0)
    assert len(fig.axes[0].get_lines()) == 2
    with pytest.raises(ValueError, match="empty"):
        plotting.trajectory_plot({})
