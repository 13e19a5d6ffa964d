"""Figure helpers for the variance-reduction chapter (chapter 8, *Control variates*).

Each helper draws on a given ``ax`` (or a new book-style figure) inside the book
style (``style()`` of the common helpers) and returns the ``Figure``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from .common import ESTIMATOR_COLORS, figure, finish_axes, style

__all__ = [
    "VARIANCE_METHOD_COLORS",
    "plot_control_variate_scatter",
    "plot_exact_vs_measured",
    "plot_learning_curves",
]

#: Colours of the variance-reduction methods, consistent with ``ESTIMATOR_COLORS``.
VARIANCE_METHOD_COLORS = {
    "no baseline": ESTIMATOR_COLORS["score_function"],
    "score function": ESTIMATOR_COLORS["score_function"],
    "constant baseline": "#999999",
    "moving average": "#009E73",
    "optimal baseline": ESTIMATOR_COLORS["score_function_baseline"],
    "RLOO": ESTIMATOR_COLORS["rloo"],
    "delta method": ESTIMATOR_COLORS["control_variate"],
    "control variate": ESTIMATOR_COLORS["control_variate"],
    "pathwise": ESTIMATOR_COLORS["pathwise"],
    "exact": ESTIMATOR_COLORS["exact"],
}

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _np(values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().double().numpy()
    return np.asarray(values, dtype=float)


def _color(name: str, colors: Mapping[str, str] | None, index: int) -> str:
    if colors and name in colors:
        return colors[name]
    for key, value in VARIANCE_METHOD_COLORS.items():
        if name == key or name.startswith(key):
            return value
    return plt.rcParams["axes.prop_cycle"].by_key()["color"][index % 10]


def _axes(ax, width: float = 7.0, height: float | None = None):
    if ax is None:
        fig, ax = figure(1, 1, width=width, height=height)
        return fig, ax
    return ax.figure, ax


def plot_control_variate_scatter(f_values, h_values, *, h_mean: float, beta: float, ax=None, xlabel="h(x)", ylabel="f(x)", title=None):
    """Scatter of :math:`f(x_n)` against :math:`h(x_n)` with the fitted line of slope :math:`\\beta`.

    The vertical distances to the line are what is left after the control variate:
    :math:`f - \\beta(h - \\mathbb{E}h)` is the value read off where the line crosses
    :math:`h = \\mathbb{E}h`. The tighter the cloud around the line (the larger
    :math:`|\\rho|`), the larger the reduction.

    Introduced in chapter 8, *Control variates*.

    Args:
        f_values: per-sample values of ``f``.
        h_values: per-sample values of ``h``.
        h_mean: :math:`\\mathbb{E}[h]`.
        beta: the coefficient (slope).
        ax: axes to draw on (default: a new figure).
        xlabel, ylabel, title: labels.

    Returns:
        The figure.

    Shapes:
        ``f_values``, ``h_values``: ``(num_samples,)``.
    """
    f = _np(f_values)
    h = _np(h_values)
    fig, ax = _axes(ax, height=3.2)
    with style():
        ax.scatter(h, f, s=8, alpha=0.4, color=ESTIMATOR_COLORS["score_function"], label="samples $(h(x_n), f(x_n))$")
        grid = np.linspace(h.min(), h.max(), 50)
        intercept = f.mean() - beta * (h.mean() - h_mean)
        ax.plot(grid, intercept + beta * (grid - h_mean), color=ESTIMATOR_COLORS["control_variate"],
                label=rf"$\beta$ line, slope {beta:.3f}")
        ax.axvline(h_mean, color=ESTIMATOR_COLORS["exact"], linestyle=":", linewidth=1.2, label=r"$\mathbb{E}[h]$")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
        ax.legend(loc="best")
    return fig


def plot_exact_vs_measured(
    x,
    exact: Mapping[str, Sequence[float]],
    measured: Mapping[str, Sequence[float]] | None = None,
    *,
    ax=None,
    xlabel: str = "k",
    ylabel: str = "variance",
    title: str | None = None,
    logx: bool = False,
    logy: bool = True,
    colors: Mapping[str, str] | None = None,
    measured_x=None,
    legend: bool = True,
):
    """Exact curves as lines and Monte Carlo measurements as markers, one colour per method.

    Used for single-sample variances against a problem parameter (the Fig. 2
    problem of Mohamed et al., 2020) and for probabilities of a correct gradient
    sign against the number of samples.

    Introduced in chapter 8, *Control variates*.

    Args:
        x: the horizontal values of the exact curves.
        exact: ``{method: values}`` (lines; values of the same length as ``x``).
        measured: ``{method: values}`` (markers, same method names), optional.
        ax: axes to draw on (default: a new figure).
        xlabel, ylabel, title: labels.
        logx, logy: logarithmic axes.
        colors: ``{method: colour}`` overrides.
        measured_x: horizontal values of the markers (default ``x``).
        legend: draw a legend.

    Returns:
        The figure.

    Shapes:
        ``x``: ``(n,)``; each exact curve ``(n,)``; each measurement ``(m,)``
        with ``measured_x`` of shape ``(m,)``.
    """
    fig, ax = _axes(ax)
    xs = _np(x)
    mx = xs if measured_x is None else _np(measured_x)
    measured = measured or {}
    with style():
        names = list(dict.fromkeys([*exact, *measured]))
        for i, name in enumerate(names):
            color = _color(name, colors, i)
            if name in exact:
                ax.plot(xs, _np(exact[name]), color=color, label=name)
            if name in measured:
                ax.plot(mx, _np(measured[name]), linestyle="none", marker=_MARKERS[i % len(_MARKERS)],
                        markersize=5, color=color, markerfacecolor="white", markeredgewidth=1.3,
                        label=None if name in exact else name)
        finish_axes(ax, xlabel=xlabel, ylabel=ylabel, title=title, logx=logx, logy=logy,
                    legend_loc="best" if legend else None)
    return fig


def plot_learning_curves(
    curves: Mapping[str, Sequence[float]],
    *,
    steps=None,
    bands: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
    reference: float | None = None,
    reference_label: str = "optimum",
    ax=None,
    xlabel: str = "step",
    ylabel: str = "objective",
    title: str | None = None,
    logy: bool = False,
    colors: Mapping[str, str] | None = None,
    legend: bool = True,
):
    """Learning curves (one line per method), optional shaded bands and a horizontal reference.

    Introduced in chapter 8, *Control variates*.

    Args:
        curves: ``{method: values per step}``.
        steps: the step numbers (default ``0, 1, ...``).
        bands: ``{method: (lower, upper)}`` shaded around the curve, e.g. quantiles over runs.
        reference: a horizontal line, e.g. the optimal value.
        reference_label: its legend entry.
        ax: axes to draw on (default: a new figure).
        xlabel, ylabel, title: labels.
        logy: logarithmic vertical axis.
        colors: ``{method: colour}`` overrides.
        legend: draw a legend.

    Returns:
        The figure.

    Shapes:
        Each curve and band: ``(num_steps,)``.
    """
    fig, ax = _axes(ax)
    bands = bands or {}
    with style():
        for i, (name, values) in enumerate(curves.items()):
            v = _np(values)
            s = np.arange(len(v)) if steps is None else _np(steps)
            color = _color(name, colors, i)
            ax.plot(s, v, color=color, label=name)
            if name in bands:
                lo, hi = bands[name]
                ax.fill_between(s, _np(lo), _np(hi), color=color, alpha=0.2, linewidth=0)
        if reference is not None:
            ax.axhline(reference, color=ESTIMATOR_COLORS["exact"], linestyle="--", linewidth=1.2, label=reference_label)
        finish_axes(ax, xlabel=xlabel, ylabel=ylabel, title=title, logy=logy,
                    legend_loc="best" if legend else None)
    return fig
