"""Monte Carlo estimates as random variables (chapter 1): convergence, running means, histograms, errors.

Every helper draws inside :func:`lecture9.plotting.style`, accepts an optional
``ax`` to draw into, and returns the ``Figure``. A series given as a dict
``{name: values}`` takes the estimator's colour when ``name`` is a key of
``ESTIMATOR_COLORS``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .._validation import (
    check_array,
    check_callable,
    check_float,
    check_int,
    check_public_functions,
)
from .common import (
    CYCLE,
    MC_COLORS,
    as_numpy,
    axes,
    display_name,
    draw_series,
    dtype_of,
    finish_axes,
    named_series,
    optional_mapping,
    style,
    truth_line,
)
from .common import color as series_color

__all__ = [
    "plot_pi_scatter",
    "plot_convergence",
    "plot_running_mean",
    "plot_estimator_histogram",
    "plot_loglog_error",
    "plot_integrand_and_proposals",
]


def plot_pi_scatter(points, *, ax=None, marker_size: float = 4.0):
    """Scatter of uniform points in the unit square, inside / outside the quarter circle.

    The title gives :math:`n` and the estimate :math:`\\hat{\\pi} = 4 n_\\text{in} / n`.
    """
    p = check_array(points, "points", ndim=2)
    if p.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), got {p.shape}")
    inside = (p**2).sum(1) <= 1.0
    estimate = 4.0 * inside.mean()
    with style():
        fig, ax = axes(ax, width=4.5, height=4.5)
        ax.scatter(
            p[inside, 0],
            p[inside, 1],
            s=marker_size,
            color=MC_COLORS["inside"],
            label=f"inside ({inside.sum()})",
        )
        ax.scatter(
            p[~inside, 0],
            p[~inside, 1],
            s=marker_size,
            color=MC_COLORS["outside"],
            label=f"outside ({(~inside).sum()})",
        )
        t = np.linspace(0.0, math.pi / 2, 200)
        ax.plot(
            np.cos(t),
            np.sin(t),
            color="black",
            linewidth=1.5,
            label="quarter circle $x^2 + y^2 = 1$",
        )
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        ax.set_xlabel("$x$")
        ax.set_ylabel("$y$")
        ax.set_title(f"$n = {len(p)}$, $\\pi \\approx {estimate:.4f}$")
        ax.legend(loc="lower left", framealpha=0.9)
    return fig


def plot_convergence(
    lines=None,
    markers=None,
    *,
    truth=None,
    standard_errors=None,
    ax=None,
    xlabel: str = "number of samples $n$",
    ylabel: str = "estimate",
    logy: bool = False,
    truth_label: str = "exact value",
    title: str | None = None,
    legend_loc: str = "best",
    colors=None,
):
    """Estimates or errors against the number of samples (log x axis), one series per method.

    An estimate converging to the exact value (``truth``, a dashed line, with
    error bars of plus/minus 2 standard errors), or errors against cost on
    log-log axes (``logy=True``), e.g. a quadrature rule in several dimensions
    against Monte Carlo, whose error :math:`\\sigma_f / \\sqrt{N}` does not
    depend on the dimension (Mohamed et al., 2020, Sec. 2).

    Raises:
        ValueError: if both ``lines`` and ``markers`` are empty, or ``x``, ``y``
            (and the standard errors) of a series differ in length.

    Shapes:
        Each series: ``x`` and ``y`` of shape ``(num_points,)``.
    """
    lines = optional_mapping(lines, "lines", example="{'name': (x, y)}")
    markers = optional_mapping(markers, "markers", example="{'name': (x, y)}")
    standard_errors = optional_mapping(standard_errors, "standard_errors")
    colors = optional_mapping(colors, "colors", example="{'name': '#0072B2'}")
    if not lines and not markers:
        raise ValueError("pass lines and/or markers to plot, as {name: (x, y)}")
    with style():
        fig, ax = axes(ax)
        draw_series(
            ax, lines, markers, colors=colors, standard_errors=standard_errors, line_marker="o"
        )
        if truth is not None:
            truth_line(ax.axhline, truth, truth_label)
        finish_axes(
            ax,
            xlabel=xlabel,
            ylabel=ylabel,
            title=title,
            logx=True,
            logy=logy,
            legend_loc=legend_loc,
        )
    return fig


def plot_running_mean(
    values,
    truth=None,
    *,
    ax=None,
    label: str = "running mean",
    ylabel: str = "estimate",
    xlabel: str = "number of samples $k$",
    color: str | None = None,
    num_se: float = 2.0,
    log_x: bool = True,
    max_points: int = 2000,
    title: str | None = None,
):
    """Running mean of per-sample values with a band of plus/minus ``num_se`` standard errors.

    The running mean :math:`\\bar{f}_k` of i.i.d. values approaches the truth as
    :math:`k` grows (law of large numbers; ``lecture9.montecarlo.running_mean``);
    the band shrinks like :math:`k^{-1/2}`.

    Raises:
        ValueError: if a series is empty or not 1-D, or the dict is empty.

    Shapes:
        Each series: ``(n,)``.
    """
    from ..montecarlo import running_mean

    series = {
        name: check_array(v, "values" if name == label else f"values[{name!r}]", ndim=1)
        for name, v in named_series(values, label).items()
    }
    num_se = check_float(num_se, "num_se", minimum=0.0)
    max_points = check_int(max_points, "max_points", minimum=2, maximum=10**7)
    if color is not None and not isinstance(color, str):
        raise TypeError(f"color must be a matplotlib colour name (str) or None, got {color!r:.60}")
    with style():
        fig, ax = axes(ax)
        for i, (name, v) in enumerate(series.items()):
            means, se = (as_numpy(t) for t in running_mean(torch.as_tensor(v)))
            k = np.arange(1, len(means) + 1)
            if len(k) > max_points:
                grid = (
                    np.geomspace(1, len(k), max_points)
                    if log_x
                    else np.linspace(1, len(k), max_points)
                )
                keep = np.unique(np.round(grid).astype(int)) - 1
                means, se, k = means[keep], se[keep], k[keep]
            if len(series) == 1:
                c = color or MC_COLORS["estimate"]
            else:
                c = series_color(name, i)
            ax.fill_between(
                k[1:],
                (means - num_se * se)[1:],
                (means + num_se * se)[1:],
                color=c,
                alpha=0.2,
                linewidth=0,
                label=f"{display_name(name)} $\\pm {num_se:g}$ SE",
            )
            ax.plot(k, means, color=c, linewidth=1.5, label=display_name(name))
        if truth is not None:
            truth_line(ax.axhline, truth, "exact value")
        finish_axes(ax, xlabel=xlabel, ylabel=ylabel, title=title, logx=log_x)
    return fig


def plot_estimator_histogram(
    estimates,
    truth=None,
    *,
    ax=None,
    bins: int = 40,
    labels=None,
    xlabel: str = "estimate",
    value_range=None,
    clip_quantile: float | None = None,
    title: str | None = None,
    legend_loc: str = "best",
):
    """Histogram(s) of repeated estimates: the estimator as a random variable.

    Shows unbiasedness (every histogram centred on the truth) and variance (their
    widths), e.g. of single-sample gradient estimates (Mohamed et al., 2020, Sec. 2.3).
    Bars are scaled so that each estimator's histogram has area equal to the
    fraction of its estimates inside the plotted range.

    Raises:
        ValueError: if there are no estimates or ``clip_quantile`` is not in (0, 1].

    Shapes:
        Each series: ``(num_estimates,)``.
    """
    groups = {
        k: check_array(v, "estimates", min_len=0).ravel()
        for k, v in named_series(estimates, labels or "estimates").items()
    }
    pooled = np.concatenate(list(groups.values()))
    if pooled.size == 0:
        raise ValueError("estimates is empty; pass at least one estimate")
    bins = check_int(bins, "bins", minimum=1, maximum=10**6)
    if value_range is not None:
        bounds = check_array(value_range, "value_range", ndim=1)
        if bounds.shape != (2,) or not bounds[0] < bounds[1]:
            raise ValueError(
                f"value_range must be a pair (low, high), low < high, got {value_range}"
            )
        lo, hi = bounds
    elif clip_quantile is not None:
        if not 0 < clip_quantile <= 1:
            raise ValueError(f"clip_quantile must be in (0, 1], got {clip_quantile}")
        lo, hi = np.quantile(pooled, [(1 - clip_quantile) / 2, (1 + clip_quantile) / 2])
    else:
        lo, hi = pooled.min(), pooled.max()
    edges = np.linspace(lo, hi, bins + 1)
    with style():
        fig, ax = axes(ax)
        for i, (name, v) in enumerate(groups.items()):
            inside = (v >= lo) & (v <= hi)
            outside = int((~inside).sum())
            note = f", {outside} outside the plot" if outside else ""
            c = series_color(name, i)
            ax.hist(
                v[inside],
                bins=edges,
                weights=np.full(inside.sum(), bins / (len(v) * (hi - lo))),
                histtype="stepfilled",
                alpha=0.4,
                color=c,
                edgecolor=c,
                linewidth=1.2,
                label=f"{display_name(name)}: mean {v.mean():.4f}, sd {v.std(ddof=1):.4f}{note}",
            )
        if truth is not None:
            truth = check_float(truth, "truth")
            truth_line(ax.axvline, truth, f"exact value {truth:.4f}", linewidth=1.5)
        finish_axes(ax, xlabel=xlabel, ylabel="density", title=title, legend_loc=legend_loc)
    return fig


def plot_loglog_error(
    sample_sizes,
    errors,
    *,
    ax=None,
    label: str = "RMSE",
    reference_slope: float = -0.5,
    ylabel: str = "root-mean-square error",
    color: str | None = None,
):
    """Error against sample size on log-log axes, with a reference line of slope -1/2.

    The reference line passes through the first point; the legend gives the fitted slope.
    """
    from ..montecarlo import loglog_slope

    n, e = check_array(sample_sizes, "sample_sizes", ndim=1), check_array(errors, "errors", ndim=1)
    slope = loglog_slope(n, e)
    with style():
        fig, ax = axes(ax)
        ax.loglog(
            n,
            e,
            "o-",
            color=color or MC_COLORS["estimate"],
            markersize=4,
            label=f"{label} (fitted slope {slope:.2f})",
        )
        if reference_slope is not None:
            ax.loglog(
                n,
                e[0] * (n / n[0]) ** reference_slope,
                "--",
                color=MC_COLORS["reference"],
                linewidth=1.2,
                label=f"reference slope ${reference_slope:g}$",
            )
        ax.set_xlabel("number of samples $n$")
        ax.set_ylabel(ylabel)
        ax.legend()
    return fig


def plot_integrand_and_proposals(
    x_grid,
    integrand,
    proposals: dict,
    *,
    ax=None,
    xlabel: str = "$x$",
    integrand_label: str = "$|f(x)|$ (normalised)",
    log_y: bool = False,
):
    """The integrand's shape against candidate proposal densities.

    A good proposal puts its mass where :math:`|f|` is large, and has tails at
    least as heavy as :math:`|f|`'s.
    """
    xg = torch.as_tensor(check_array(x_grid, "x_grid", ndim=1))
    check_callable(integrand, "integrand", example="lambda x: x**2 * torch.exp(-x)")
    fx = check_array(integrand(xg), "integrand(x_grid)", ndim=1).__abs__()
    if fx.shape != xg.shape:
        raise ValueError(f"integrand(x_grid) has shape {fx.shape}, expected {tuple(xg.shape)}")
    x = as_numpy(xg)
    area = np.trapezoid(fx, x) if hasattr(np, "trapezoid") else np.trapz(fx, x)
    with style():
        fig, ax = axes(ax)
        ax.plot(x, fx / area, color="black", linewidth=2.2, label=integrand_label)
        for i, (name, dist) in enumerate(proposals.items()):
            dens = dist.log_prob(xg.to(dtype_of(dist))).exp()
            ax.plot(x, as_numpy(dens), "--", color=CYCLE[i % len(CYCLE)], linewidth=1.6, label=name)
        if log_y:
            ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("density")
        ax.legend()
    return fig


check_public_functions(globals())  # each public function checks its annotated arguments
