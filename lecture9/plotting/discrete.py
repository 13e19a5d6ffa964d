"""Figure helpers for chapter 10, *Discrete latent variables*.

Each helper draws inside the book style (``style()`` of the common helpers), on given
axes or a new figure, and returns the ``Figure``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np

from .._validation import check_array, check_float, check_public_functions
from .common import ESTIMATOR_COLORS, as_numpy, figure, finish_axes, style
from .optimization import plot_learning_curves

__all__ = [
    "DISCRETE_COLORS",
    "plot_step_samples",
    "plot_relaxation_tradeoff",
    "plot_categorical_relaxation",
    "plot_discrete_vae_runs",
]

#: One colour per estimator of chapter 10, consistent with ``ESTIMATOR_COLORS`` (Okabe-Ito).
DISCRETE_COLORS = {
    "score function": ESTIMATOR_COLORS["score_function"],
    "RLOO": ESTIMATOR_COLORS["rloo"],
    "Gumbel-softmax": ESTIMATOR_COLORS["pathwise"],
    "straight-through": ESTIMATOR_COLORS["control_variate"],
    "DisARM": ESTIMATOR_COLORS["measure_valued"],
    "exact": ESTIMATOR_COLORS["exact"],
    "exact gradient": ESTIMATOR_COLORS["exact"],
}


def _estimator_color(name: str, index: int) -> str:
    return DISCRETE_COLORS.get(name, ("#999999", "#F0E442", "#56B4E9")[index % 3])


def _finish_temperature_panels(*panels) -> None:
    """Label each ``(ax, ylabel, logy)`` panel against the temperature on a log axis, no legend."""
    for ax, ylabel, logy in panels:
        finish_axes(
            ax, xlabel=r"temperature $\tau$", ylabel=ylabel, logx=True, logy=logy, legend_loc=None
        )


def plot_step_samples(
    thetas,
    samples: Mapping[str, Sequence[float]],
    mean,
    *,
    ax=None,
    xlabel: str | None = None,
    ylabel: str = "value",
    mean_label: str | None = None,
):
    """Samples drawn with fixed noise as functions of the parameter (steps), and their smooth mean.

    With the noise held fixed a
    Bernoulli sample jumps from 0 to 1 at one value of the logit and is flat elsewhere,
    while its expectation changes smoothly.

    Args:
        thetas: the parameter values on the horizontal axis.
        samples: ``{label: sample values at thetas}``, one step function per fixed noise.
        mean: the expectation at ``thetas``.
        ax: axes to draw on (default: a new figure).
        xlabel, ylabel, mean_label: labels (default: the logit :math:`\\theta` on the x-axis, and
            :math:`\\mathbb{E}[b] = \\sigma(\\theta)` for the mean).

    Returns:
        The figure.

    Shapes:
        ``thetas``, ``mean`` and each sample path: ``(n,)``.
    """
    xlabel = r"logit $\theta$" if xlabel is None else xlabel
    mean_label = r"$\mathbb{E}[b] = \sigma(\theta)$" if mean_label is None else mean_label
    if ax is None:
        fig, ax = figure(1, 1, width=6.0, height=3.0)
    else:
        fig = ax.figure
    x = check_array(thetas, "thetas", ndim=1)
    mean = check_array(mean, "mean", ndim=1)
    with style():
        for i, (label, values) in enumerate(samples.items()):
            ax.step(
                x,
                as_numpy(values) + 0.015 * (i - (len(samples) - 1) / 2),
                where="post",
                linewidth=1.2,
                color=("#0072B2", "#E69F00", "#009E73", "#CC79A7")[i % 4],
                label=label,
            )
        ax.plot(x, mean, color=ESTIMATOR_COLORS["exact"], linewidth=2.2, label=mean_label)
        finish_axes(ax, xlabel=xlabel, ylabel=ylabel, legend_loc="center right")
    return fig


def plot_relaxation_tradeoff(
    temperatures,
    exact_means: Mapping[str, Sequence[float]],
    exact_variances: Mapping[str, Sequence[float]],
    *,
    true_gradient: float,
    measured_temperatures=None,
    measured_means: Mapping[str, Sequence[float]] | None = None,
    measured_errors: Mapping[str, Sequence[float]] | None = None,
    measured_variances: Mapping[str, Sequence[float]] | None = None,
    unbiased_variances: Mapping[str, float] | None = None,
    width: float = 7.0,
):
    """Mean and variance of relaxed gradient estimators against the temperature, exact and measured.

    Left panel: the expectation of a single-sample estimate (exact lines, Monte Carlo
    markers with error bars) against the true gradient of the discrete objective.
    Right panel: the single-sample variance on log-log axes, with horizontal lines for
    the unbiased estimators, which have no temperature.

    Args:
        temperatures: the temperatures of the exact curves.
        exact_means, exact_variances: ``{estimator: values at temperatures}``.
        true_gradient: the exact gradient of the discrete objective.
        measured_temperatures: temperatures of the Monte Carlo markers.
        measured_means, measured_errors, measured_variances: ``{estimator: values at
            measured_temperatures}`` (errors: one standard error of the mean).
        unbiased_variances: ``{estimator: single-estimate variance}`` drawn as horizontal lines.
        width: figure width in inches.

    Returns:
        The figure.

    Shapes:
        ``temperatures`` and exact curves: ``(n,)``; measured ones: ``(m,)``.
    """
    tau = check_array(temperatures, "temperatures", ndim=1)
    true_gradient = check_float(true_gradient, "true_gradient")
    fig, (left, right) = figure(1, 2, width=width, height=3.4)
    with style():
        for i, name in enumerate(exact_means):
            color = _estimator_color(name, i)
            left.plot(tau, as_numpy(exact_means[name]), color=color, label=f"{name} (exact)")
            right.plot(tau, as_numpy(exact_variances[name]), color=color, label=f"{name} (exact)")
            if measured_means and name in measured_means:
                mt = as_numpy(measured_temperatures)
                err = None if not measured_errors else as_numpy(measured_errors[name])
                left.errorbar(
                    mt,
                    as_numpy(measured_means[name]),
                    yerr=err,
                    fmt="o",
                    color=color,
                    markersize=4,
                    capsize=2,
                    label=f"{name} (Monte Carlo)",
                )
                right.plot(mt, as_numpy(measured_variances[name]), "o", color=color, markersize=4)
        left.axhline(
            true_gradient,
            color=ESTIMATOR_COLORS["exact"],
            linestyle="--",
            linewidth=1.2,
            label="exact gradient",
        )
        left.axhline(0.0, color="#999999", linewidth=0.8)
        for i, (name, value) in enumerate((unbiased_variances or {}).items()):
            right.axhline(
                value, color=_estimator_color(name, i), linestyle="--", linewidth=1.2, label=name
            )
        _finish_temperature_panels(
            (left, "mean of one estimate", False), (right, "variance of one estimate", True)
        )
        left.legend(loc="lower left", fontsize=7)
        right.legend(loc="lower left", fontsize=7)
    return fig


def plot_categorical_relaxation(
    temperatures,
    exact: Mapping[tuple[str, int], tuple[Sequence[float], Sequence[float]]],
    *,
    measured_temperatures=None,
    measured: Mapping[tuple[str, int], tuple[Sequence[float], Sequence[float]]] | None = None,
    width: float = 7.0,
):
    r"""Bias and variance of the relaxed estimators of a categorical variable against the temperature.

    One colour per number of categories ``K``, one line style per estimator; exact lines and
    Monte Carlo markers. Left: the size of the bias, :math:`\|\mathbb{E}[\hat g] - \nabla\|`;
    right: the total variance of one estimate, :math:`\operatorname{tr}\operatorname{Cov}[\hat g]`;
    both on log-log axes.

    Args:
        temperatures: the temperatures of the exact curves.
        exact: ``{(estimator, K): (biases, variances)}`` at ``temperatures``.
        measured_temperatures: temperatures of the Monte Carlo markers.
        measured: ``{(estimator, K): (biases, variances)}`` at ``measured_temperatures``.
        width: figure width in inches.

    Returns:
        The figure.
    """
    tau = check_array(temperatures, "temperatures", ndim=1)
    if measured_temperatures is not None:
        measured_temperatures = check_array(measured_temperatures, "measured_temperatures", ndim=1)
    fig, (left, right) = figure(1, 2, width=width, height=3.4)
    sizes = sorted({k for _, k in exact})
    colors = dict(zip(sizes, ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00")))
    dashes = dict(zip(dict.fromkeys(name for name, _ in exact), ("-", "--", ":", "-.")))
    with style():
        for (name, k), (bias, variance) in exact.items():
            kw = {"color": colors[k], "linestyle": dashes[name]}
            left.plot(tau, as_numpy(bias), label=f"{name}, K = {k}", **kw)
            right.plot(tau, as_numpy(variance), **kw)
            if measured and (name, k) in measured:
                mt, (mb, mv) = as_numpy(measured_temperatures), measured[(name, k)]
                marker = "o" if dashes[name] == "-" else "s"
                left.plot(mt, as_numpy(mb), marker, color=colors[k], markersize=4, fillstyle="none")
                right.plot(
                    mt, as_numpy(mv), marker, color=colors[k], markersize=4, fillstyle="none"
                )
        _finish_temperature_panels(
            (left, "size of the bias", True), (right, "total variance of one estimate", True)
        )
        left.legend(loc="lower right", fontsize=7)
    return fig


def plot_discrete_vae_runs(
    curves: Mapping[str, Sequence[Sequence[float]]],
    variances: Mapping[str, float],
    *,
    epochs=None,
    ylabel: str = "test $-$ELBO (nats)",
    variance_label: str = "encoder-gradient variance",
    ylim: tuple[float, float] | None = None,
    width: float = 7.0,
):
    """Learning curves over several seeds (mean line, min-max band) and a bar chart of gradient variances.

    Left panel: for each estimator the mean over runs of a per-epoch metric (e.g. the test
    -ELBO with hard codes), shaded between the best and the worst run. Right panel: one
    bar per estimator (log scale), e.g. the total variance of the encoder gradient at
    common parameters.

    Args:
        curves: ``{estimator: runs}``, ``runs`` of shape ``(num_runs, num_epochs)``.
        variances: ``{estimator: value}`` for the bars (estimators may differ from ``curves``).
        epochs: x values of the curves (default ``1, 2, ...``).
        ylabel, variance_label: axis labels.
        ylim: optional y range of the left panel.
        width: figure width in inches.

    Returns:
        The figure.

    Raises:
        ValueError: if ``curves`` is empty or a run is not a 2-D array.

    Shapes:
        each ``curves[name]``: ``(num_runs, num_epochs)``.
    """
    if not curves:
        raise ValueError("curves is empty: pass {estimator: runs of shape (num_runs, num_epochs)}")
    runs = {name: as_numpy(values) for name, values in curves.items()}
    for name, values in runs.items():
        if values.ndim != 2:
            raise ValueError(
                f"curves[{name!r}] must have shape (num_runs, num_epochs), got {values.shape}"
            )
    num_epochs = next(iter(runs.values())).shape[1]
    steps = (
        np.arange(1, num_epochs + 1) if epochs is None else check_array(epochs, "epochs", ndim=1)
    )
    if steps.shape != (num_epochs,):
        raise ValueError(f"epochs has {steps.size} values for {num_epochs} epochs of the curves")
    others = itertools.cycle(
        ("#444444", "#999999", "#E69F00")
    )  # names without an estimator colour: greys first
    colors = {
        name: DISCRETE_COLORS.get(name) or next(others)
        for name in dict.fromkeys([*runs, *variances])
    }
    fig, (left, right) = figure(1, 2, width=width, height=3.4)
    plot_learning_curves(
        {n: v.mean(0) for n, v in runs.items()},
        steps=steps,
        ax=left,
        xlabel="epoch",
        ylabel=ylabel,
        ylim=ylim,
        colors=colors,
        bands={n: (v.min(0), v.max(0)) for n, v in runs.items()},
    )
    with style():
        names = list(variances)
        right.bar(
            range(len(names)), [variances[n] for n in names], color=[colors[n] for n in names]
        )
        right.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=7)
        finish_axes(right, xlabel="", ylabel=variance_label, logy=True, legend_loc=None)
    return fig


check_public_functions(globals())  # each public function checks its annotated arguments
