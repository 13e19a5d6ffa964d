"""Figure helpers for chapter 10, *Discrete latent variables*.

Each helper draws inside the book style (``style()`` of the common helpers), on given
axes or a new figure, and returns the ``Figure``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from .common import ESTIMATOR_COLORS, figure, finish_axes, style

__all__ = ["DISCRETE_COLORS", "plot_step_samples", "plot_relaxation_tradeoff"]

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


def _np(values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().double().numpy()
    return np.asarray(values, dtype=float)


def _color(name: str, index: int) -> str:
    return DISCRETE_COLORS.get(name, ("#999999", "#F0E442", "#56B4E9")[index % 3])


def plot_step_samples(thetas, samples: Mapping[str, Sequence[float]], mean, *, ax=None,
                      xlabel: str = r"logit $\theta$", ylabel: str = "value",
                      mean_label: str = r"$\mathbb{E}[b] = \sigma(\theta)$"):
    """Samples drawn with fixed noise as functions of the parameter (steps), and their smooth mean.

    Introduced in chapter 10, *Discrete latent variables*: with the noise held fixed a
    Bernoulli sample jumps from 0 to 1 at one value of the logit and is flat elsewhere,
    while its expectation changes smoothly.

    Args:
        thetas: the parameter values on the horizontal axis.
        samples: ``{label: sample values at thetas}``, one step function per fixed noise.
        mean: the expectation at ``thetas``.
        ax: axes to draw on (default: a new figure).
        xlabel, ylabel, mean_label: labels.

    Returns:
        The figure.

    Shapes:
        ``thetas``, ``mean`` and each sample path: ``(n,)``.
    """
    if ax is None:
        fig, ax = figure(1, 1, width=6.0, height=3.0)
    else:
        fig = ax.figure
    x = _np(thetas)
    with style():
        for i, (label, values) in enumerate(samples.items()):
            ax.step(x, _np(values) + 0.015 * (i - (len(samples) - 1) / 2), where="post", linewidth=1.2,
                    color=("#0072B2", "#E69F00", "#009E73", "#CC79A7")[i % 4], label=label)
        ax.plot(x, _np(mean), color=ESTIMATOR_COLORS["exact"], linewidth=2.2, label=mean_label)
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
    Introduced in chapter 10, *Discrete latent variables*.

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
    fig, (left, right) = figure(1, 2, width=width, height=3.4)
    tau = _np(temperatures)
    with style():
        for i, name in enumerate(exact_means):
            color = _color(name, i)
            left.plot(tau, _np(exact_means[name]), color=color, label=f"{name} (exact)")
            right.plot(tau, _np(exact_variances[name]), color=color, label=f"{name} (exact)")
            if measured_means and name in measured_means:
                mt = _np(measured_temperatures)
                err = None if not measured_errors else _np(measured_errors[name])
                left.errorbar(mt, _np(measured_means[name]), yerr=err, fmt="o", color=color, markersize=4,
                              capsize=2, label=f"{name} (Monte Carlo)")
                right.plot(mt, _np(measured_variances[name]), "o", color=color, markersize=4)
        left.axhline(true_gradient, color=ESTIMATOR_COLORS["exact"], linestyle="--", linewidth=1.2,
                     label="exact gradient")
        left.axhline(0.0, color="#999999", linewidth=0.8)
        for i, (name, value) in enumerate((unbiased_variances or {}).items()):
            right.axhline(value, color=_color(name, i), linestyle="--", linewidth=1.2, label=name)
        finish_axes(left, xlabel=r"temperature $\tau$", ylabel="mean of one estimate", logx=True, legend_loc=None)
        finish_axes(right, xlabel=r"temperature $\tau$", ylabel="variance of one estimate", logx=True, logy=True,
                    legend_loc=None)
        left.legend(loc="lower left", fontsize=7)
        right.legend(loc="lower left", fontsize=7)
    return fig
