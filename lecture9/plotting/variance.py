"""Variance and its reduction (chapters 3, 4, 5 and 8): exact variances against measured ones, control variates.

Every helper draws inside :func:`lecture9.plotting.style`, accepts an optional
``ax`` to draw into, and returns the ``Figure``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .._validation import check_array, check_float, check_public_functions
from .common import ESTIMATOR_COLORS, axes, draw_series, finish_axes, style

__all__ = ["plot_exact_vs_measured", "plot_control_variate_scatter"]


def plot_exact_vs_measured(
    x,
    exact: Mapping[str, Sequence[float]] | None = None,
    measured: Mapping[str, Sequence[float]] | None = None,
    *,
    measured_x=None,
    ax=None,
    xlabel: str = "",
    ylabel: str = "variance",
    title: str | None = None,
    logx: bool = False,
    logy: bool = True,
    colors: Mapping[str, str] | None = None,
    legend: bool = True,
    legend_loc: str = "best",
):
    """Exact curves as lines and Monte Carlo measurements of the same quantities as markers.

    Single-sample variances against a parameter of the problem (an offset added
    to the cost, the dimension, :math:`k` in the Fig. 2 problem of Mohamed et al.,
    2020, Sec. 3 and 4.3), and any other exact-versus-measured comparison (the
    probability of a correct gradient sign against the number of samples).

    Raises:
        ValueError: if both ``exact`` and ``measured`` are empty, or a series does
            not match the length of its x-values.

    Shapes:
        ``x``: ``(n,)``; each exact curve ``(n,)``; ``measured_x`` and each
        measurement ``(m,)``.
    """
    exact, measured = dict(exact or {}), dict(measured or {})
    if not exact and not measured:
        raise ValueError("pass exact and/or measured values to plot, as {name: values}")
    xs = check_array(x, "x")
    mx = xs if measured_x is None else check_array(measured_x, "measured_x")
    with style():
        fig, ax = axes(ax)
        draw_series(
            ax,
            {name: (xs, y) for name, y in exact.items()},
            {name: (mx, y) for name, y in measured.items()},
            colors=colors,
            marker_cycle=True,
            arg_names=("exact", "measured"),
        )
        if exact and measured and legend:
            ax.plot([], [], color="grey", label="exact (line)")
            ax.plot(
                [],
                [],
                ls="none",
                marker="o",
                markerfacecolor="white",
                markeredgecolor="grey",
                label="Monte Carlo (markers)",
            )
        finish_axes(
            ax,
            xlabel=xlabel,
            ylabel=ylabel,
            title=title,
            logx=logx,
            logy=logy,
            legend_loc=legend_loc if legend else None,
        )
    return fig


def plot_control_variate_scatter(
    f_values,
    h_values,
    *,
    h_mean: float,
    beta: float,
    ax=None,
    xlabel="h(x)",
    ylabel="f(x)",
    title=None,
):
    """Scatter of :math:`f(x_n)` against :math:`h(x_n)` with the fitted line of slope :math:`\\beta`.

    The vertical distances to the line are what is left after the control variate:
    :math:`f - \\beta(h - \\mathbb{E}h)` is the value read off where the line crosses
    :math:`h = \\mathbb{E}h`. The tighter the cloud around the line (the larger
    :math:`|\\rho|`), the larger the reduction.

    Shapes:
        ``f_values``, ``h_values``: ``(num_samples,)``.
    """
    f = check_array(f_values, "f_values", ndim=1)
    h = check_array(h_values, "h_values", ndim=1)
    if f.shape != h.shape:
        raise ValueError(f"f_values and h_values differ in length: {f.size} and {h.size}")
    h_mean, beta = check_float(h_mean, "h_mean"), check_float(beta, "beta")
    with style():
        fig, ax = axes(ax, height=3.2)
        ax.scatter(
            h,
            f,
            s=8,
            alpha=0.4,
            color=ESTIMATOR_COLORS["score_function"],
            label="samples $(h(x_n), f(x_n))$",
        )
        grid = np.linspace(h.min(), h.max(), 50)
        intercept = f.mean() - beta * (h.mean() - h_mean)
        ax.plot(
            grid,
            intercept + beta * (grid - h_mean),
            color=ESTIMATOR_COLORS["control_variate"],
            label=rf"$\beta$ line, slope {beta:.3f}",
        )
        ax.axvline(
            h_mean,
            color=ESTIMATOR_COLORS["exact"],
            linestyle=":",
            linewidth=1.2,
            label=r"$\mathbb{E}[h]$",
        )
        finish_axes(ax, xlabel=xlabel, ylabel=ylabel, title=title)
    return fig


check_public_functions(globals())  # each public function checks its annotated arguments
