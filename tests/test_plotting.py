"""Tests of lecture9.plotting: every helper returns its Figure with labelled axes, log scales and legends.

Agg backend, small inputs; each test closes its figures.
"""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Polygon, Rectangle

from lecture9 import plotting
from lecture9.vae import VAE


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)


def _legend_texts(ax) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None, "the axes have no legend"
    return [t.get_text() for t in legend.get_texts()]


def _check(fig, *, xlabel=True, ylabel=True, logx=None, logy=None, legend=True, ax_index=0):
    """The figure is a Figure; its axes are labelled, scaled and have a legend as expected."""
    assert isinstance(fig, Figure)
    ax = fig.axes[ax_index]
    if xlabel:
        assert ax.get_xlabel().strip()
    if ylabel:
        assert ax.get_ylabel().strip()
    if logx is not None:
        assert (ax.get_xscale() == "log") is logx
    if logy is not None:
        assert (ax.get_yscale() == "log") is logy
    if legend:
        assert _legend_texts(ax)
    return ax


def test_one_naming_style_and_no_twins():
    drawing = [n for n in plotting.__all__ if callable(getattr(plotting, n))]
    helpers = {"style", "figure", "finish_axes", "estimator_style"}
    assert all(n.startswith("plot_") for n in drawing if n not in helpers), drawing
    for old in (
        "learning_curves",
        "convergence_plot",
        "trajectory_plot",
        "density_check_plot",
        "plot_sgd_trajectory",
        "estimate_histograms",
        "running_mean_plot",
        "variance_curves",
        "encoder_reparameterization_graph",
    ):
        assert not hasattr(plotting, old), old
    assert len(plotting.__all__) == len(set(plotting.__all__))


def test_helpers_are_defined_once_in_common():
    from lecture9.plotting import (
        common,
        gradients,
        graphs,
        montecarlo,
        optimization,
        sampling,
        vae,
        variance,
    )

    for module in (gradients, graphs, montecarlo, optimization, sampling, vae, variance):
        for name in ("_numpy", "_np", "_axes", "_color", "as_numpy", "axes", "color"):
            value = getattr(module, name, None)
            assert value is None or getattr(value, "__module__", None) == common.__name__, (
                module,
                name,
            )


# --------------------------------------------------------------------------- Monte Carlo


def test_plot_pi_scatter(gen):
    points = torch.rand(300, 2, generator=gen)
    ax = _check(plotting.plot_pi_scatter(points))
    inside = int((points.square().sum(1) <= 1).sum())
    assert f"inside ({inside})" in _legend_texts(ax)


def test_plot_convergence_estimates_with_error_bars_and_truth():
    fig = plotting.plot_convergence(
        {"estimate": ([10, 100, 1000], [3.0, 3.1, 3.14])},
        truth=math.pi,
        standard_errors={"estimate": [0.5, 0.1, 0.05]},
        truth_label=r"$\pi$",
    )
    ax = _check(fig, logx=True, logy=False)
    assert sorted(_legend_texts(ax)) == sorted([r"estimate $\pm 2$ SE", r"$\pi$"])
    fig = plotting.plot_convergence(
        {r"$\hat\pi_n$": ([10, 100], [3.0, 3.1]), "moving_average": ([10, 100], [3.0, 3.1])}
    )
    assert _legend_texts(fig.axes[0]) == [
        r"$\hat\pi_n$",
        "moving average",
    ]  # math labels kept as written
    # the error bars span plus/minus two standard errors
    segments = ax.collections[0].get_segments()
    np.testing.assert_allclose([s[1, 1] - s[0, 1] for s in segments], [2.0, 0.4, 0.2])


def test_plot_convergence_errors_against_cost_log_log():
    fig = plotting.plot_convergence(
        {"a": ([1, 10], [1.0, 0.1])},
        {"a": ([1, 10], [1.0, 0.2]), "b": ([2], [0.5])},
        logy=True,
        ylabel="absolute error",
        colors={"b": "#123456"},
    )
    ax = _check(fig, logx=True, logy=True)
    assert _legend_texts(ax) == ["a", "b"]  # a name in lines and markers is one legend entry
    assert ax.get_lines()[0].get_color() == ax.get_lines()[1].get_color()
    assert ax.get_lines()[2].get_color() == "#123456"
    with pytest.raises(ValueError, match=r"lines\['a'\] has 2 values for 3 x-values"):
        plotting.plot_convergence({"a": ([1, 10, 100], [1.0, 0.1])})
    with pytest.raises(ValueError, match="standard_errors"):
        plotting.plot_convergence({"a": ([1, 10], [1.0, 0.1])}, standard_errors={"a": [0.1]})
    with pytest.raises(ValueError, match="lines and/or markers"):
        plotting.plot_convergence()


def test_plot_running_mean_one_series_and_several(gen):
    values = torch.randn(5000, generator=gen) + 2.0
    ax = _check(plotting.plot_running_mean(values, 2.0, max_points=100), logx=True)
    line = ax.get_lines()[0]
    assert (
        len(line.get_xdata()) <= 100 and line.get_xdata()[-1] == 5000
    )  # thinned, the last point kept
    np.testing.assert_allclose(line.get_ydata()[-1], values.double().mean().item(), rtol=1e-9)
    series = {
        "score_function": torch.randn(200, generator=gen) * 3,
        "pathwise": torch.randn(200, generator=gen),
    }
    ax = _check(plotting.plot_running_mean(series, truth=0.0))
    assert {"score function", "pathwise", "exact value"} <= set(_legend_texts(ax))
    assert ax.get_lines()[0].get_color() == plotting.ESTIMATOR_COLORS["score_function"]
    with pytest.raises(ValueError, match="empty"):
        plotting.plot_running_mean({})


def test_plot_estimator_histogram_areas_and_clipping(gen):
    values = {
        "score_function": torch.randn(2000, generator=gen) * 3 + 2,
        "pathwise": torch.randn(2000, generator=gen) + 2,
    }
    fig = plotting.plot_estimator_histogram(values, 2.0, bins=50, clip_quantile=0.9)
    ax = _check(fig)
    labels = _legend_texts(ax)
    assert labels[0].startswith("score function: mean") and "outside the plot" in labels[0]
    assert labels[-1] == "exact value 2.0000"
    # each histogram's area is the fraction of its estimates inside the plotted range
    for patch, v in zip(ax.patches, values.values()):
        xy = patch.get_xy()
        area = (
            np.trapezoid(xy[:, 1], xy[:, 0])
            if hasattr(np, "trapezoid")
            else np.trapz(xy[:, 1], xy[:, 0])
        )
        lo, hi = ax.patches[0].get_xy()[:, 0].min(), ax.patches[0].get_xy()[:, 0].max()
        inside = ((v.numpy() >= lo) & (v.numpy() <= hi)).mean()
        assert abs(abs(area) - inside) < 1e-6
    _check(plotting.plot_estimator_histogram(torch.randn(100, generator=gen), labels="plain"))
    with pytest.raises(ValueError, match="clip_quantile"):
        plotting.plot_estimator_histogram(values, clip_quantile=1.5)
    with pytest.raises(ValueError, match="empty"):
        plotting.plot_estimator_histogram({})


def test_plot_loglog_error_reports_the_fitted_slope():
    n = np.array([10, 100, 1000, 10000])
    ax = _check(plotting.plot_loglog_error(n, 3.0 / np.sqrt(n)), logx=True, logy=True)
    assert "fitted slope -0.50" in _legend_texts(ax)[0]


def test_plot_integrand_and_proposals():
    proposals = {
        "N(0, 1)": torch.distributions.Normal(0.0, 1.0),
        "Cauchy": torch.distributions.Cauchy(0.0, 1.0),
    }
    fig = plotting.plot_integrand_and_proposals(
        torch.linspace(-5, 5, 101), lambda x: 1 / (1 + x**2), proposals, log_y=True
    )
    ax = _check(fig, logy=True)
    assert _legend_texts(ax)[1:] == ["N(0, 1)", "Cauchy"]


# --------------------------------------------------------------------------- sampling


def test_plot_density_comparison_with_a_distribution_a_callable_and_values(gen):
    samples = torch.randn(2000, generator=gen)
    normal = torch.distributions.Normal(0.0, 1.0)
    ax = _check(
        plotting.plot_density_comparison(
            samples, normal, envelope=lambda x: 1.5 * normal.log_prob(x).exp()
        )
    )
    assert len(ax.get_lines()) == 2 and "envelope $M q(x)$" in _legend_texts(ax)
    grid = np.linspace(-3, 3, 50)
    values = np.exp(-(grid**2) / 2) / np.sqrt(2 * np.pi)
    fig, axes = plotting.figure(1, 2)
    plotting.plot_density_comparison(samples, values, x_grid=grid, ax=axes[0], title="values")
    plotting.plot_density_comparison(
        samples,
        lambda x: (-(x**2) / 2).exp() / math.sqrt(2 * math.pi),
        x_grid=grid,
        ax=axes[1],
        weights=torch.ones(2000),
    )
    for ax in axes:
        _check(fig, ax_index=list(fig.axes).index(ax))
        np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), values, rtol=1e-12)
    with pytest.raises(ValueError, match="same length"):
        plotting.plot_density_comparison(samples, values[:3], x_grid=grid)
    with pytest.raises(ValueError, match="pass x_grid"):
        plotting.plot_density_comparison(samples, values)


def test_plot_rejection_envelope(gen):
    x = torch.randn(400, generator=gen) * 2
    broad = torch.distributions.Normal(0.0, 2.0)
    target = torch.distributions.Normal(0.0, 1.0)
    heights = torch.rand(400, generator=gen) * 2 * broad.log_prob(x).exp()
    accepted = heights <= target.log_prob(x).exp()
    fig = plotting.plot_rejection_envelope(
        x,
        heights,
        accepted,
        lambda t: target.log_prob(t).exp(),
        lambda t: 2 * broad.log_prob(t).exp(),
    )
    ax = _check(fig)
    assert f"accepted ({int(accepted.sum())})" in _legend_texts(ax)


# --------------------------------------------------------------------------- optimisation runs


def test_plot_trajectory_single_multi_coordinate_and_dict():
    ax = _check(plotting.plot_trajectory(torch.linspace(0, 3, 20), 3.0))
    assert _legend_texts(ax) == ["iterate", "optimum 3"]
    ax = _check(plotting.plot_trajectory(torch.zeros(11, 2), torch.tensor([1.0, 2.0]), label="SGD"))
    assert _legend_texts(ax) == ["SGD [0]", "SGD [1]", "optimum [0] 1", "optimum [1] 2"]
    fig = plotting.plot_trajectory(
        {"pathwise": torch.linspace(1, 0.01, 11), "score_function": torch.ones(11)}, logy=True
    )
    ax = _check(fig, logy=True)
    assert ax.get_lines()[0].get_color() == plotting.ESTIMATOR_COLORS["pathwise"]
    with pytest.raises(ValueError, match="empty"):
        plotting.plot_trajectory({})
    with pytest.raises(ValueError, match="one per coordinate"):
        plotting.plot_trajectory(torch.zeros(11, 2), [1.0, 2.0, 3.0])


def test_plot_learning_curves_of_values_with_bands_and_reference():
    curves = {"no baseline": [0.5, 0.3, 0.2], "RLOO": [0.5, 0.2, 0.05]}
    fig = plotting.plot_learning_curves(
        curves,
        bands={"RLOO": ([0.4, 0.1, 0.01], [0.6, 0.3, 0.1])},
        reference=0.0,
        logy=True,
        ylabel="p",
    )
    ax = _check(fig, logy=True)
    assert _legend_texts(ax) == ["no baseline", "RLOO", "optimum"]
    assert ax.get_lines()[1].get_color() == plotting.VARIANCE_METHOD_COLORS["RLOO"]


def test_plot_learning_curves_of_training_histories_with_a_time_panel():
    history = {"epoch": [1, 2, 3], "time": [0.1, 0.2, 0.3], "test_elbo": [-30.0, -25.0, -22.0]}
    fig = plotting.plot_learning_curves(
        {"pathwise": history, "score_function_baseline": history},
        time_axis=True,
        xlabel="epoch",
        ylabel="test ELBO (nats)",
        ylim=(-40, -17),
    )
    ax = _check(fig)
    assert _legend_texts(ax) == ["pathwise", "score function + baseline"]
    assert fig.axes[1].get_xlabel() == "training time (s)" and fig.axes[1].get_ylim() == (-40, -17)
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [1, 2, 3])
    with pytest.raises(ValueError, match="no \\['train_elbo'\\]"):
        plotting.plot_learning_curves({"a": history}, key="train_elbo")
    with pytest.raises(ValueError, match="time_axis"):
        plotting.plot_learning_curves({"a": [1.0, 2.0]}, time_axis=True)
    with pytest.raises(ValueError, match="at least one"):
        plotting.plot_learning_curves({})


# --------------------------------------------------------------------------- variance


def test_plot_exact_vs_measured_lines_and_markers():
    x = np.arange(1.0, 6.0)
    fig = plotting.plot_exact_vs_measured(
        x, {"pathwise": x + 1}, {"pathwise": x[:2] + 1}, measured_x=x[:2], xlabel="offset $c$"
    )
    ax = _check(fig, logy=True, logx=False)
    assert _legend_texts(ax) == ["pathwise", "exact (line)", "Monte Carlo (markers)"]
    assert (
        ax.get_lines()[0].get_color()
        == ax.get_lines()[1].get_color()
        == plotting.ESTIMATOR_COLORS["pathwise"]
    )
    _check(plotting.plot_exact_vs_measured(x, measured={"a": x}, logx=True, xlabel="D"), logx=True)
    with pytest.raises(ValueError, match=r"exact\['pathwise'\] has 3 values for 5 x-values"):
        plotting.plot_exact_vs_measured(x, {"pathwise": x[:3]})
    with pytest.raises(ValueError, match=r"measured\['pathwise'\] has 3 values"):
        plotting.plot_exact_vs_measured(x, measured={"pathwise": x[:3]})
    with pytest.raises(ValueError, match="exact and/or measured"):
        plotting.plot_exact_vs_measured(x)


def test_plot_control_variate_scatter(gen):
    u = torch.rand(300, generator=gen)
    ax = _check(plotting.plot_control_variate_scatter(u.exp(), u, h_mean=0.5, beta=1.69))
    assert "slope 1.690" in " ".join(_legend_texts(ax))


# --------------------------------------------------------------------------- estimators compared


def _quadratic(x, k):
    return (x - k) ** 2


def test_gradient_panels_return_their_figure():
    ks = np.linspace(-2, 2, 5)
    exact = {"score_function": ks**2 + 1, "pathwise": np.full(5, 4.0)}
    fig, axes = plotting.figure(1, 2)
    assert plotting.plot_variance_panel(axes[0], ks, exact, {"pathwise": np.full(5, 4.1)}) is fig
    _check(fig, logy=True)
    assert plotting.plot_function_panel(axes[1], _quadratic, [0.0, 1.0]) is fig
    _check(fig, ax_index=1)
    with pytest.raises(ValueError, match="one value per k"):
        plotting.plot_variance_panel(axes[0], ks, {"pathwise": ks[:2]})
    fig = plotting.plot_variance_figure(
        ks, {"loc": exact, "scale": exact}, f=_quadratic, ks_show=(-1.0, 1.0)
    )
    assert (
        isinstance(fig, Figure)
        and fig.subfigs[0].legends
        and all(ax.get_xlabel() for ax in fig.axes)
    )
    assert fig.axes[0].get_yscale() == "log"
    with pytest.raises(ValueError, match="'loc' and 'scale'"):
        plotting.plot_variance_figure(ks, {"loc": exact}, f=_quadratic, ks_show=(0.0,))


def test_weak_derivative_estimates_and_evaluations_panels():
    x = torch.linspace(-4, 4, 81)
    normal = torch.distributions.Normal(0.0, 1.0)
    fig, axes = plotting.figure(1, 3)
    plotting.plot_weak_derivative_panel(
        axes[0],
        x,
        -x * normal.log_prob(x).exp(),
        1.0,
        normal.log_prob(x).exp(),
        normal.log_prob(x).exp(),
    )
    names = ["score_function", "pathwise", "measure_valued_coupled"]
    plotting.plot_estimates_panel(axes[1], names, [1.0, 1.1, 0.9], [0.1, 0.05, 0.02], exact=1.0)
    plotting.plot_evaluations_panel(
        axes[2], [1, 10, 100], {"pathwise": [1, 1, 1], "measure_valued": [2, 20, 200]}
    )
    for i in range(3):
        _check(fig, ax_index=i, ylabel=i != 1)
    ticks = {t.get_position()[1]: t.get_text() for t in axes[1].get_yticklabels()}
    assert [ticks[y] for y in sorted(ticks, reverse=True)] == [
        plotting.ESTIMATOR_LABELS[n] for n in names
    ]
    assert axes[2].get_xscale() == axes[2].get_yscale() == "log"
    with pytest.raises(ValueError, match="one entry per name"):
        plotting.plot_estimates_panel(axes[1], names, [1.0], [0.1], exact=1.0)
    with pytest.raises(ValueError, match="unknown estimator"):
        plotting.estimator_style("reinforce")


# --------------------------------------------------------------------------- computation graphs


def _patches(ax, kind):
    return [p for p in ax.patches if type(p) is kind]


@pytest.mark.parametrize("param_label", [r"$\varphi$", r"$\phi$"])
def test_plot_reparameterization_graph_node_shapes(param_label):
    fig = plotting.plot_reparameterization_graph(param_label=param_label)
    left, right = fig.axes
    # original form: z is the only random node; reparameterized: eps is, z becomes deterministic
    assert len(_patches(left, Circle)) == 1 and len(_patches(left, Rectangle)) == 3
    assert len(_patches(right, Circle)) == 1 and len(_patches(right, Rectangle)) == 4
    assert len(_patches(left, Polygon)) == 1 and len(_patches(right, Polygon)) == 1
    assert param_label in [t.get_text() for t in left.texts]
    assert {t.get_text() for t in fig.legends[0].get_texts()} >= {
        "random node",
        "deterministic node",
        "gradient path",
    }


@pytest.mark.parametrize("estimator, random_nodes", [("pathwise", 1), ("score_function", 1)])
def test_plot_vae_computation_graph(estimator, random_nodes):
    fig = plotting.plot_vae_computation_graph(estimator=estimator)
    ax = fig.axes[0]
    assert len(_patches(ax, Circle)) == random_nodes and ax.get_title()
    with pytest.raises(ValueError, match="estimator must be"):
        plotting.plot_vae_computation_graph(estimator="measure_valued")


def test_plot_computation_graph_errors():
    fig, ax = plotting.figure()
    nodes = {"a": (0, 0, "parameter", "a"), "b": (1, 0, "random", "b")}
    assert plotting.plot_computation_graph(ax, nodes, [("a", "b")]) is fig
    with pytest.raises(ValueError, match="unknown node 'c'"):
        plotting.plot_computation_graph(ax, nodes, [("a", "c")])
    with pytest.raises(ValueError, match="not in edges"):
        plotting.plot_computation_graph(ax, nodes, [("a", "b")], gradient_edges=[("b", "a")])
    with pytest.raises(ValueError, match="node kind"):
        plotting.plot_computation_graph(ax, {**nodes, "c": (2, 0, "hexagon", "c")}, [("b", "c")])
    with pytest.raises(ValueError, match="same position"):
        plotting.plot_computation_graph(ax, {**nodes, "c": (1, 0, "random", "c")}, [("b", "c")])


# --------------------------------------------------------------------------- VAE


def test_vae_image_figures(gen):
    images = torch.rand(12, 64, generator=gen)
    fig = plotting.plot_image_grid(images, ncols=6, title="samples")
    assert isinstance(fig, Figure) and fig.axes[0].get_title() == "samples"
    assert fig.axes[0].get_images()[0].get_array().shape == (2 * 9 + 1, 6 * 9 + 1)
    fig = plotting.plot_reconstructions(images[:5], images[:5].flip(0))
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    with pytest.raises(ValueError, match="image_shape"):
        plotting.plot_image_grid(images[:, :10])
    with pytest.raises(ValueError, match="same shape"):
        plotting.plot_reconstructions(images[:5], images[:4])


def test_vae_latent_figures(gen):
    model = VAE(input_dim=64, latent_dim=2, hidden_dims=(8,), generator=gen)
    fig = plotting.plot_latent_traversal(model, values=[-1.0, 0.0, 1.0])
    _check(fig, legend=False)
    fig = plotting.plot_latent_scatter(torch.randn(50, 2, generator=gen), torch.arange(50) % 10)
    _check(fig, legend=False)
    with pytest.raises(ValueError, match="two distinct"):
        plotting.plot_latent_traversal(model, dims=(0, 0))
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plotting.plot_latent_scatter(torch.randn(5, 3), torch.arange(5))


def test_plot_gradient_variance_bars():
    fig = plotting.plot_gradient_variance_bars({"pathwise": 0.5, "score_function_baseline": 50.0})
    ax = _check(fig, xlabel=False, logy=True, legend=False)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["pathwise", "score function + baseline"]
    with pytest.raises(ValueError, match="> 0"):
        plotting.plot_gradient_variance_bars({"pathwise": 0.0})
