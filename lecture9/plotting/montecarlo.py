"""Figure helpers for the Monte Carlo chapters (chapter 1, *Monte Carlo estimation*, and chapter 2, *Sampling*).

Every helper draws inside :func:`lecture9.plotting.style`, accepts an optional
``ax`` to draw into, and returns the ``Figure``.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch

from .common import figure, style


def _dtype_of(distribution) -> torch.dtype:
    """Floating dtype of a distribution's parameters (the grid its log_prob is evaluated on)."""
    try:
        mean = distribution.mean
    except NotImplementedError:
        mean = None
    if isinstance(mean, torch.Tensor) and mean.is_floating_point():
        return mean.dtype
    return torch.get_default_dtype()


__all__ = [
    "MC_COLORS",
    "plot_pi_scatter",
    "plot_convergence",
    "plot_running_mean",
    "plot_estimator_histogram",
    "plot_loglog_error",
    "plot_density_comparison",
    "plot_integrand_and_proposals",
    "plot_rejection_envelope",
    "plot_sgd_trajectory",
]

#: Colours of the Monte Carlo figures (Okabe-Ito, colour-blind safe).
MC_COLORS = {
    "inside": "#0072B2",
    "outside": "#E69F00",
    "estimate": "#0072B2",
    "band": "#56B4E9",
    "truth": "#000000",
    "reference": "#D55E00",
    "target": "#000000",
    "envelope": "#D55E00",
    "histogram": "#56B4E9",
}
_CYCLE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]


def _np(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=float)


def _axes(ax, width=7.0, height=None):
    if ax is None:
        fig, ax = figure(1, 1, width=width, height=height)
        return fig, ax
    return ax.figure, ax


def plot_pi_scatter(points, *, ax=None, marker_size: float = 4.0):
    """Scatter of uniform points in the unit square, inside / outside the quarter circle.

    The title gives :math:`n` and the estimate :math:`\\hat{\\pi} = 4 n_\\text{in} / n`.

    Introduced in chapter 1, *Monte Carlo estimation*.

    Args:
        points: tensor or array of shape ``(n, 2)`` in the unit square.
        ax: axes to draw into (default: a new square figure).
        marker_size: scatter marker size.

    Returns:
        The ``Figure``.
    """
    p = _np(points)
    inside = (p**2).sum(1) <= 1.0
    estimate = 4.0 * inside.mean()
    with style():
        fig, ax = _axes(ax, width=4.5, height=4.5)
        ax.scatter(p[inside, 0], p[inside, 1], s=marker_size, color=MC_COLORS["inside"], label=f"inside ({inside.sum()})")
        ax.scatter(p[~inside, 0], p[~inside, 1], s=marker_size, color=MC_COLORS["outside"], label=f"outside ({(~inside).sum()})")
        t = np.linspace(0.0, math.pi / 2, 200)
        ax.plot(np.cos(t), np.sin(t), color="black", linewidth=1.5, label="quarter circle $x^2 + y^2 = 1$")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        ax.set_xlabel("$x$")
        ax.set_ylabel("$y$")
        ax.set_title(f"$n = {len(p)}$, $\\pi \\approx {estimate:.4f}$")
        ax.legend(loc="lower left", framealpha=0.9)
    return fig


def plot_convergence(sample_sizes, estimates, truth=None, *, standard_errors=None, ax=None,
                     ylabel: str = "estimate", label: str = "estimate", truth_label: str = "exact value"):
    """Estimates against the sample size :math:`n` (log x axis), with the exact value.

    Introduced in chapter 1, *Monte Carlo estimation*.

    Args:
        sample_sizes: the values of :math:`n`.
        estimates: one estimate per sample size.
        truth: the exact value (a horizontal line), optional.
        standard_errors: if given, error bars of +-2 standard errors.
        ax: axes to draw into.
        ylabel, label, truth_label: axis label and legend entries.

    Returns:
        The ``Figure``.
    """
    n, est = _np(sample_sizes), _np(estimates)
    with style():
        fig, ax = _axes(ax)
        if standard_errors is not None:
            ax.errorbar(n, est, yerr=2 * _np(standard_errors), fmt="o-", color=MC_COLORS["estimate"],
                        capsize=3, markersize=4, label=f"{label} $\\pm 2$ SE")
        else:
            ax.plot(n, est, "o-", color=MC_COLORS["estimate"], markersize=4, label=label)
        if truth is not None:
            ax.axhline(float(truth), color=MC_COLORS["truth"], linestyle="--", linewidth=1.2, label=truth_label)
        ax.set_xscale("log")
        ax.set_xlabel("number of samples $n$")
        ax.set_ylabel(ylabel)
        ax.legend()
    return fig


def plot_running_mean(values, truth=None, *, ax=None, label: str = "running mean", ylabel: str = "estimate",
                      color: str | None = None, log_x: bool = True, max_points: int = 2000):
    """Running mean of per-sample values with a +-2 standard-error band (law of large numbers).

    Introduced in chapter 1, *Monte Carlo estimation*.

    Args:
        values: per-sample values :math:`f(x_i)` in sampling order, shape ``(n,)``.
        truth: the exact value (a dashed line), optional.
        ax: axes to draw into.
        label, ylabel: legend entry and y-axis label.
        color: line colour.
        log_x: logarithmic sample axis.
        max_points: at most this many points are drawn (indices spread over the run).

    Returns:
        The ``Figure``.
    """
    from ..montecarlo import running_mean

    means, se = running_mean(torch.as_tensor(values))
    means, se = _np(means), _np(se)
    k = np.arange(1, len(means) + 1)
    if len(k) > max_points:  # thin out long runs (log-spaced indices keep the early wandering visible)
        grid = np.geomspace(1, len(k), max_points) if log_x else np.linspace(1, len(k), max_points)
        keep = np.unique(np.round(grid).astype(int)) - 1
        means, se, k = means[keep], se[keep], k[keep]
    color = color or MC_COLORS["estimate"]
    with style():
        fig, ax = _axes(ax)
        ax.fill_between(k[1:], (means - 2 * se)[1:], (means + 2 * se)[1:], color=color, alpha=0.2,
                        linewidth=0, label=f"{label} $\\pm 2$ SE")
        ax.plot(k, means, color=color, linewidth=1.5, label=label)
        if truth is not None:
            ax.axhline(float(truth), color=MC_COLORS["truth"], linestyle="--", linewidth=1.2, label="exact value")
        if log_x:
            ax.set_xscale("log")
        ax.set_xlabel("number of samples $k$")
        ax.set_ylabel(ylabel)
        ax.legend()
    return fig


def plot_estimator_histogram(estimates, truth=None, *, ax=None, bins: int = 40, labels=None,
                             xlabel: str = "estimate", value_range=None, legend_loc: str = "best"):
    """Histogram(s) of repeated estimates: the estimator as a random variable.

    Introduced in chapter 1, *Monte Carlo estimation*.

    Args:
        estimates: a 1-D tensor/array of estimates, or a dict ``{label: estimates}``
            to compare several estimators.
        truth: the exact value (a dashed vertical line), optional.
        ax: axes to draw into.
        bins: histogram bins (shared edges across the estimators).
        labels: unused when ``estimates`` is a dict; a legend label otherwise.
        xlabel: x-axis label.
        value_range: ``(low, high)`` of the histogram; estimates outside are counted
            in the legend (default: the full range of the estimates).
        legend_loc: legend position (a matplotlib ``loc``).

    Returns:
        The ``Figure``.
    """
    groups = estimates if isinstance(estimates, dict) else {labels or "estimates": estimates}
    groups = {k: _np(v) for k, v in groups.items()}
    if value_range is None:
        lo = min(v.min() for v in groups.values())
        hi = max(v.max() for v in groups.values())
    else:
        lo, hi = float(value_range[0]), float(value_range[1])
    edges = np.linspace(lo, hi, bins + 1)
    with style():
        fig, ax = _axes(ax)
        for i, (name, v) in enumerate(groups.items()):
            outside = int(((v < lo) | (v > hi)).sum())
            note = f", {outside} outside the plot" if outside else ""
            ax.hist(v[(v >= lo) & (v <= hi)], bins=edges, weights=np.full(((v >= lo) & (v <= hi)).sum(), 1.0 / (len(v) * (hi - lo) / bins)),
                    alpha=0.55, color=_CYCLE[i % len(_CYCLE)],
                    label=f"{name}: mean {v.mean():.4f}, sd {v.std(ddof=1):.4f}{note}")
        if truth is not None:
            ax.axvline(float(truth), color=MC_COLORS["truth"], linestyle="--", linewidth=1.5, label=f"exact value {float(truth):.4f}")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("density")
        ax.legend(loc=legend_loc)
    return fig


def plot_loglog_error(sample_sizes, errors, *, ax=None, label: str = "RMSE", reference_slope: float = -0.5,
                      ylabel: str = "root-mean-square error", color: str | None = None):
    """Error against sample size on log-log axes, with a reference line of slope -1/2.

    The reference line passes through the first point; the legend gives the fitted slope.

    Introduced in chapter 1, *Monte Carlo estimation*; reused in chapter 2, *Sampling*.

    Args:
        sample_sizes: the values of :math:`n`.
        errors: the errors (e.g. RMSE over repetitions), positive.
        ax: axes to draw into (call again with the same ``ax`` to add curves).
        label: legend entry of the curve.
        reference_slope: slope of the reference line (``None``: no line).
        ylabel: y-axis label.
        color: curve colour.

    Returns:
        The ``Figure``.
    """
    from ..montecarlo import loglog_slope

    n, e = _np(sample_sizes), _np(errors)
    slope = loglog_slope(n, e)
    with style():
        fig, ax = _axes(ax)
        ax.loglog(n, e, "o-", color=color or MC_COLORS["estimate"], markersize=4,
                  label=f"{label} (fitted slope {slope:.2f})")
        if reference_slope is not None:
            ax.loglog(n, e[0] * (n / n[0]) ** reference_slope, "--", color=MC_COLORS["reference"], linewidth=1.2,
                      label=f"reference slope ${reference_slope:g}$")
        ax.set_xlabel("number of samples $n$")
        ax.set_ylabel(ylabel)
        ax.legend()
    return fig


def plot_density_comparison(samples, density, *, x_grid=None, envelope=None, weights=None, ax=None, bins: int = 60,
                            sample_label: str = "samples", density_label: str = "target density $p(x)$",
                            envelope_label: str = "envelope $M q(x)$", xlabel: str = "$x$",
                            legend_loc: str = "best"):
    """Normalised histogram of samples against a density curve (and optionally an envelope).

    Introduced in chapter 2, *Sampling*.

    Args:
        samples: 1-D samples.
        density: the density to compare with: a ``torch.distributions.Distribution``
            or a callable ``x -> p(x)`` on a float64 tensor.
        x_grid: where to evaluate the curves (default: the samples' 0.5-99.5 % range).
        envelope: optional callable ``x -> M q(x)`` drawn as a dashed curve.
        weights: optional non-negative sample weights (e.g. importance weights);
            the histogram then shows the weighted (self-normalised) density.
        ax: axes to draw into.
        bins: histogram bins.
        sample_label, density_label, envelope_label, xlabel: labels.
        legend_loc: legend position (a matplotlib ``loc``).

    Returns:
        The ``Figure``.
    """
    s = _np(samples)
    if x_grid is None:
        lo, hi = np.quantile(s, [0.005, 0.995])
        x_grid = torch.linspace(float(lo), float(hi), 400, dtype=torch.float64)
    x_grid = torch.as_tensor(x_grid, dtype=torch.float64)

    def evaluate(fn):
        if isinstance(fn, torch.distributions.Distribution):
            return _np(fn.log_prob(x_grid.to(_dtype_of(fn))).exp())
        return _np(fn(x_grid))

    xg = _np(x_grid)
    with style():
        fig, ax = _axes(ax)
        w = np.ones(len(s)) if weights is None else _np(weights)
        w = w / w.sum()
        mask = (s >= xg.min()) & (s <= xg.max())
        bar_weights = w[mask] / ((xg.max() - xg.min()) / bins)
        ax.hist(s[mask], bins=np.linspace(xg.min(), xg.max(), bins + 1), weights=bar_weights, color=MC_COLORS["histogram"],
                alpha=0.7, label=f"{sample_label} ($n = {len(s)}$)")
        ax.plot(xg, evaluate(density), color=MC_COLORS["target"], linewidth=1.8, label=density_label)
        if envelope is not None:
            ax.plot(xg, evaluate(envelope), "--", color=MC_COLORS["envelope"], linewidth=1.5, label=envelope_label)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("density")
        ax.legend(loc=legend_loc)
    return fig


def plot_integrand_and_proposals(x_grid, integrand, proposals: dict, *, ax=None, xlabel: str = "$x$",
                                 integrand_label: str = "$|f(x)|$ (normalised)", log_y: bool = False):
    """The integrand's shape against candidate proposal densities.

    A good proposal puts its mass where :math:`|f|` is large, and has tails at
    least as heavy as :math:`|f|`'s.

    Introduced in chapter 1, *Monte Carlo estimation*.

    Args:
        x_grid: 1-D grid of :math:`x`.
        integrand: callable ``x -> f(x)``; drawn as :math:`|f|` normalised to unit area on the grid.
        proposals: ``{label: Distribution}`` drawn as densities.
        ax: axes to draw into.
        xlabel, integrand_label: labels.
        log_y: logarithmic y axis (shows the tails).

    Returns:
        The ``Figure``.
    """
    xg = torch.as_tensor(x_grid, dtype=torch.float64)
    fx = _np(integrand(xg)).__abs__()
    x = _np(xg)
    area = np.trapezoid(fx, x) if hasattr(np, "trapezoid") else np.trapz(fx, x)
    with style():
        fig, ax = _axes(ax)
        ax.plot(x, fx / area, color="black", linewidth=2.2, label=integrand_label)
        for i, (name, dist) in enumerate(proposals.items()):
            dens = dist.log_prob(xg.to(_dtype_of(dist))).exp()
            ax.plot(x, _np(dens), "--", color=_CYCLE[i % len(_CYCLE)], linewidth=1.6, label=name)
        if log_y:
            ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("density")
        ax.legend()
    return fig


def plot_sgd_trajectory(trajectory, optimum=None, *, ax=None, ylabel: str = r"$\theta_t$", label: str = "SGD iterate"):
    """Parameter value(s) along a stochastic-gradient trajectory.

    Introduced in chapter 2, *Sampling* (the simulation view).

    Args:
        trajectory: ``(num_steps + 1,)`` or ``(num_steps + 1, d)`` iterates.
        optimum: the minimiser (scalar or ``(d,)``), drawn as dashed lines.
        ax: axes to draw into.
        ylabel, label: labels.

    Returns:
        The ``Figure``.
    """
    t = _np(trajectory)
    if t.ndim == 1:
        t = t[:, None]
    opt = None if optimum is None else np.atleast_1d(_np(optimum))
    with style():
        fig, ax = _axes(ax)
        for j in range(t.shape[1]):
            color = _CYCLE[j % len(_CYCLE)]
            name = label if t.shape[1] == 1 else f"{label} [{j}]"
            ax.plot(np.arange(len(t)), t[:, j], color=color, label=name)
            if opt is not None:
                ax.axhline(float(opt[j]), color=color, linestyle="--", linewidth=1.0,
                           label="minimiser" if t.shape[1] == 1 else f"minimiser [{j}]")
        ax.set_xlabel("step $t$")
        ax.set_ylabel(ylabel)
        ax.legend()
    return fig


def plot_rejection_envelope(proposals, heights, accepted, target_pdf, envelope_pdf, *, x_grid=None, ax=None,
                            xlabel: str = "$x$"):
    """The geometry of rejection sampling: proposals lifted to uniform heights under the envelope.

    A proposal :math:`x \\sim q` with height :math:`h = u M q(x)`, :math:`u \\sim U(0, 1)`, is
    uniform under the envelope :math:`M q`; it is accepted when :math:`h \\le p(x)`, so the
    accepted points are uniform under :math:`p`.

    Introduced in chapter 2, *Sampling*.

    Args:
        proposals: 1-D proposals :math:`x_i`.
        heights: their heights :math:`u_i M q(x_i)`.
        accepted: boolean mask of the accepted proposals.
        target_pdf: callable ``x -> p(x)`` (float64 tensor in and out).
        envelope_pdf: callable ``x -> M q(x)``.
        x_grid: where to draw the curves (default: the proposals' range).
        ax: axes to draw into.
        xlabel: x-axis label.

    Returns:
        The ``Figure``.
    """
    x, h = _np(proposals), _np(heights)
    acc = np.asarray(_np(accepted), dtype=bool)
    if x_grid is None:
        x_grid = torch.linspace(float(x.min()), float(x.max()), 400, dtype=torch.float64)
    xg = torch.as_tensor(x_grid, dtype=torch.float64)
    with style():
        fig, ax = _axes(ax)
        ax.scatter(x[acc], h[acc], s=6, color=MC_COLORS["inside"], label=f"accepted ({acc.sum()})")
        ax.scatter(x[~acc], h[~acc], s=6, color=MC_COLORS["outside"], label=f"rejected ({(~acc).sum()})")
        ax.plot(_np(xg), _np(target_pdf(xg)), color=MC_COLORS["target"], linewidth=2, label="target $p(x)$")
        ax.plot(_np(xg), _np(envelope_pdf(xg)), "--", color=MC_COLORS["envelope"], linewidth=1.8,
                label="envelope $M q(x)$")
        ax.set_xlim(float(xg.min()), float(xg.max()))
        ax.set_xlabel(xlabel)
        ax.set_ylabel("density / height $u \\, M q(x)$")
        ax.legend()
    return fig
