"""Stochastic computation graphs and the figure helpers of chapters 3 to 5.

Introduced in chapter 3, *Gradients of expectations*, chapter 4, *The
score-function estimator*, and chapter 5, *The pathwise estimator*.

The main figure is the stochastic computation graph of Schulman et al. (2015)
before and after the reparameterization trick (Kingma and Welling, 2014;
Mohamed et al., 2020, Sec. 5): random nodes are circles, deterministic nodes
are squares, parameters are diamonds, and the path along which a gradient
flows back from the cost to the parameters is highlighted.

The other helpers draw the small figures of those chapters: histograms of
per-sample gradient estimates, running means (consistency), variance curves
(exact lines with Monte Carlo markers), a histogram against a density (the
change-of-variables check) and optimisation trajectories.

Every helper draws inside ``lecture9.plotting.style``, never changes global
matplotlib state, accepts an optional ``ax`` to draw on (a new figure in the
book style is created otherwise) and returns the ``Figure``.
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, Polygon, Rectangle

from .common import ESTIMATOR_COLORS, figure, finish_axes, style

__all__ = [
    "GRAPH_COLORS",
    "draw_computation_graph",
    "reparameterization_graph",
    "estimate_histograms",
    "running_mean_plot",
    "variance_curves",
    "density_check_plot",
    "trajectory_plot",
    "convergence_plot",
]

#: Colours of the computation-graph figure: node fills, edges and the gradient path.
GRAPH_COLORS = {
    "random": "#FBE3D6",
    "deterministic": "#DCEAF7",
    "parameter": "#E2F0D9",
    "edge": "#555555",
    "gradient": "#D55E00",
    "blocked": "#B00000",
}

_NODE_SIZE = 0.42  # half-width of a node in data units
_FALLBACK_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")


def _numpy(values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().double().numpy()
    return np.asarray(values, dtype=float)


def _color(name: str, index: int) -> str:
    return ESTIMATOR_COLORS.get(name, _FALLBACK_COLORS[index % len(_FALLBACK_COLORS)])


def _axes(ax, width: float = 7.0, height: float | None = None):
    if ax is None:
        fig, ax = figure(1, 1, width=width, height=height)
        return fig, ax
    return ax.figure, ax


def _node_patch(xy, kind: str):
    x, y = xy
    r = _NODE_SIZE
    if kind == "random":
        return Circle((x, y), r, facecolor=GRAPH_COLORS["random"], edgecolor="black", lw=1.4, zorder=3)
    if kind == "deterministic":
        return Rectangle((x - r * 0.9, y - r * 0.9), 1.8 * r, 1.8 * r, facecolor=GRAPH_COLORS["deterministic"],
                         edgecolor="black", lw=1.4, zorder=3)
    if kind == "parameter":
        pts = [(x, y + r * 1.15), (x + r * 1.15, y), (x, y - r * 1.15), (x - r * 1.15, y)]
        return Polygon(pts, closed=True, facecolor=GRAPH_COLORS["parameter"], edgecolor="black", lw=1.4, zorder=3)
    raise ValueError(f"node kind must be 'random', 'deterministic' or 'parameter', got {kind!r}")


def _shrunk_segment(p, q, shrink: float):
    p, q = np.asarray(p, float), np.asarray(q, float)
    d = q - p
    n = np.linalg.norm(d)
    if n == 0:
        raise ValueError("an edge joins two nodes at the same position; move one of them")
    u = d / n
    return p + shrink * u, q - shrink * u, u


def draw_computation_graph(ax, nodes, edges, *, gradient_edges=(), blocked_edges=(), title=None,
                           annotations=None):
    """Draw a stochastic computation graph on ``ax``.

    Random nodes (sampled from a distribution) are circles, deterministic nodes
    (functions of their parents) are squares and parameters are diamonds, as in
    Schulman et al. (2015). Forward edges are grey arrows; each edge in
    ``gradient_edges`` gets a second, dashed arrow in the gradient colour drawn
    in the backward direction (child to parent); edges in ``blocked_edges`` are
    crossed out where the gradient cannot pass (through a sampling step).

    Introduced in chapter 5, *The pathwise estimator*; Mohamed et al. (2020),
    Sec. 5.

    Args:
        ax: the matplotlib axes to draw on (its aspect is set to equal and its
            frame is hidden).
        nodes: ``{name: (x, y, kind, label)}`` with ``kind`` one of ``"random"``,
            ``"deterministic"`` or ``"parameter"`` and ``label`` the text in the node
            (math text such as ``"$z$"`` is fine).
        edges: ``[(parent, child), ...]``, the forward computation.
        gradient_edges: the subset of ``edges`` along which the gradient of the
            cost flows back.
        blocked_edges: the subset of ``edges`` through which it cannot flow.
        title: optional axes title.
        annotations: optional ``{name: text}`` written under a node (e.g. its
            distribution or formula).

    Returns:
        The ``Figure`` that holds ``ax``.

    Raises:
        ValueError: if an edge names an unknown node, a gradient or blocked edge
            is not among ``edges``, or a node kind is unknown.

    Shapes:
        Not tensor-valued: ``nodes`` and ``edges`` are plain Python containers.
    """
    edge_set = set(map(tuple, edges))
    for parent, child in edge_set:
        for name in (parent, child):
            if name not in nodes:
                raise ValueError(f"edge ({parent!r}, {child!r}) names the unknown node {name!r}; add it to nodes")
    for group, group_name in ((gradient_edges, "gradient_edges"), (blocked_edges, "blocked_edges")):
        for edge in group:
            if tuple(edge) not in edge_set:
                raise ValueError(f"{group_name} contains {tuple(edge)!r}, which is not in edges; add it to edges first")
    annotations = annotations or {}
    with style():
        ax.set_aspect("equal")
        ax.axis("off")
        ax.grid(False)
        for name, (x, y, kind, label) in nodes.items():
            ax.add_patch(_node_patch((x, y), kind))
            ax.text(x, y, label, ha="center", va="center", fontsize=12, zorder=4)
            if name in annotations:
                ax.text(x, y - _NODE_SIZE * 1.45, annotations[name], ha="center", va="top", fontsize=8.5,
                        color="#333333", zorder=4)
        shrink = _NODE_SIZE * 1.25
        for parent, child in edges:
            p, q = nodes[parent][:2], nodes[child][:2]
            a, b, u = _shrunk_segment(p, q, shrink)
            ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=14, color=GRAPH_COLORS["edge"],
                                         lw=1.4, zorder=2))
            if (parent, child) in set(map(tuple, blocked_edges)):
                m = (a + b) / 2
                ax.plot([m[0]], [m[1]], marker="x", markersize=14, mew=3, color=GRAPH_COLORS["blocked"], zorder=5)
        for parent, child in gradient_edges:
            p, q = nodes[parent][:2], nodes[child][:2]
            a, b, u = _shrunk_segment(p, q, shrink)
            normal = np.array([-u[1], u[0]]) * 0.16
            ax.add_patch(FancyArrowPatch(b + normal, a + normal, arrowstyle="-|>", mutation_scale=13,
                                         color=GRAPH_COLORS["gradient"], lw=1.8, linestyle=(0, (4, 2)), zorder=2))
        xs = [v[0] for v in nodes.values()]
        ys = [v[1] for v in nodes.values()]
        ax.set_xlim(min(xs) - 0.9, max(xs) + 0.9)
        ax.set_ylim(min(ys) - 1.2, max(ys) + 0.8)
        if title:
            ax.set_title(title)
    return ax.figure


def reparameterization_graph(*, width: float = 7.0, height: float = 3.6, param_label: str = r"$\varphi$"):
    """Draw the stochastic computation graph before and after reparameterization.

    Left, the original form: the parameters :math:`\\varphi` give the mean and
    scale of :math:`z \\sim \\mathcal{N}(\\mu, \\sigma^2)`, a random node, and the
    cost :math:`f(z)` depends on :math:`z`. Backpropagation stops at the random
    node (crossed-out edges): a sample has no derivative with respect to the
    parameters of the distribution it was drawn from. Right, the reparameterized
    form:

    .. math::

        z = \\mu + \\sigma \\epsilon, \\qquad \\epsilon \\sim \\mathcal{N}(0, 1),

    so :math:`z` is a deterministic node and the only random node,
    :math:`\\epsilon`, has no parameters. The gradient (dashed) flows from
    :math:`f` through :math:`z` into :math:`\\mu` and :math:`\\sigma` and on to
    :math:`\\varphi`.

    Introduced in chapter 5, *The pathwise estimator*; Schulman et al. (2015),
    Kingma and Welling (2014), Mohamed et al. (2020), Sec. 5.

    Args:
        width: figure width in inches.
        height: figure height in inches.
        param_label: label of the parameter node (the lecture's :math:`\\varphi`;
            chapter 9 writes the encoder's parameters :math:`\\phi`).

    Returns:
        The ``Figure`` with two panels and a legend.

    Shapes:
        Not tensor-valued.
    """
    fig, axes = figure(1, 2, width=width, height=height)
    left = {
        "phi": (0.0, 1.0, "parameter", param_label),
        "mu": (1.6, 2.0, "deterministic", r"$\mu$"),
        "sigma": (1.6, 0.0, "deterministic", r"$\sigma$"),
        "z": (3.2, 1.0, "random", r"$z$"),
        "f": (4.8, 1.0, "deterministic", r"$f$"),
    }
    left_edges = [("phi", "mu"), ("phi", "sigma"), ("mu", "z"), ("sigma", "z"), ("z", "f")]
    draw_computation_graph(
        axes[0], left, left_edges,
        gradient_edges=[("z", "f")],
        blocked_edges=[("mu", "z"), ("sigma", "z")],
        title="Original form",
        annotations={"f": r"$f(z)$"},
    )
    axes[0].text(3.3, -0.1, r"$z\sim\mathcal{N}(\mu,\sigma^2)$", fontsize=9, ha="center", va="top")
    right = {
        "phi": (0.0, 1.0, "parameter", param_label),
        "mu": (1.6, 2.0, "deterministic", r"$\mu$"),
        "sigma": (1.6, 0.0, "deterministic", r"$\sigma$"),
        "eps": (3.2, -0.6, "random", r"$\epsilon$"),
        "z": (3.2, 1.0, "deterministic", r"$z$"),
        "f": (4.8, 1.0, "deterministic", r"$f$"),
    }
    right_edges = [("phi", "mu"), ("phi", "sigma"), ("mu", "z"), ("sigma", "z"), ("eps", "z"), ("z", "f")]
    draw_computation_graph(
        axes[1], right, right_edges,
        gradient_edges=[("z", "f"), ("mu", "z"), ("sigma", "z"), ("phi", "mu"), ("phi", "sigma")],
        title="Reparameterized form",
        annotations={"eps": r"$\epsilon\sim\mathcal{N}(0,1)$", "z": "", "f": r"$f(z)$"},
    )
    for ax in axes:
        ax.set_xlim(-0.9, 5.7)
        ax.set_ylim(-1.8, 2.8)
    axes[1].text(3.75, 1.55, r"$z=\mu+\sigma\epsilon$", fontsize=9, ha="left", va="bottom")
    with style():
        handles = [
            Line2D([], [], marker="o", ls="none", markersize=11, markerfacecolor=GRAPH_COLORS["random"],
                   markeredgecolor="black", label="random node"),
            Line2D([], [], marker="s", ls="none", markersize=10, markerfacecolor=GRAPH_COLORS["deterministic"],
                   markeredgecolor="black", label="deterministic node"),
            Line2D([], [], marker="D", ls="none", markersize=9, markerfacecolor=GRAPH_COLORS["parameter"],
                   markeredgecolor="black", label="parameter"),
            Line2D([], [], color=GRAPH_COLORS["gradient"], ls="--", lw=1.8, label="gradient path"),
            Line2D([], [], marker="x", ls="none", markersize=9, mew=2.5, color=GRAPH_COLORS["blocked"],
                   label="gradient blocked"),
        ]
        fig.legend(handles=handles, loc="lower center", ncol=5, frameon=False, fontsize=8.5,
                   bbox_to_anchor=(0.5, -0.01))
        fig.get_layout_engine().set(rect=(0, 0.08, 1, 0.92))
    return fig


def estimate_histograms(estimates, *, truth=None, ax=None, bins: int = 60, xlabel: str = "gradient estimate",
                        title: str | None = None, clip_quantile: float = 0.995, density: bool = True,
                        legend_loc: str = "best"):
    """Overlay histograms of per-sample estimates, one per estimator.

    Used to show unbiasedness (every histogram is centred on the truth) and
    variance (their widths) of single-sample gradient estimates.

    Introduced in chapter 3, *Gradients of expectations*; Mohamed et al. (2020),
    Sec. 2.3.

    Args:
        estimates: ``{name: per-sample estimates}``; a name that is a key of
            ``ESTIMATOR_COLORS`` gets that estimator's colour. The legend shows the
            name with the sample mean and variance.
        truth: optional exact value, drawn as a vertical black line.
        ax: optional matplotlib axes; a new figure is created if ``None``.
        bins: number of bins, shared by all histograms.
        xlabel: x-axis label.
        title: optional axes title.
        clip_quantile: the x-range covers the central ``clip_quantile`` of all
            estimates pooled, so that a few extreme draws do not squash the plot.
        density: normalise the histograms to unit area.
        legend_loc: matplotlib legend location.

    Returns:
        The ``Figure`` that holds the axes.

    Raises:
        ValueError: if ``estimates`` is empty or ``clip_quantile`` is not in (0, 1].

    Shapes:
        Each value of ``estimates``: ``(num_samples,)`` (a tensor, array or list).
    """
    if not estimates:
        raise ValueError("estimates is empty; pass {name: per-sample estimates}")
    if not 0 < clip_quantile <= 1:
        raise ValueError(f"clip_quantile must be in (0, 1], got {clip_quantile}")
    fig, ax = _axes(ax)
    values = {name: _numpy(v).ravel() for name, v in estimates.items()}
    pooled = np.concatenate(list(values.values()))
    lo, hi = np.quantile(pooled, [(1 - clip_quantile) / 2, (1 + clip_quantile) / 2])
    edges = np.linspace(lo, hi, bins + 1)
    with style():
        for i, (name, v) in enumerate(values.items()):
            label = f"{name.replace('_', ' ')}: mean {v.mean():.3f}, var {v.var(ddof=1):.3g}"
            ax.hist(v, bins=edges, density=density, histtype="stepfilled", alpha=0.35, color=_color(name, i),
                    edgecolor=_color(name, i), lw=1.2, label=label)
        if truth is not None:
            ax.axvline(float(truth), color="black", lw=1.5, label=f"exact: {float(truth):.3f}")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("density" if density else "count")
        ax.legend(loc=legend_loc)
        if title:
            ax.set_title(title)
    return fig


def running_mean_plot(samples, *, truth=None, ax=None, num_se: float = 2.0, xlabel: str = "number of samples $N$",
                      ylabel: str = "running mean", title: str | None = None):
    """Plot the running mean of i.i.d. estimates with a band of plus/minus ``num_se`` standard errors.

    The running mean :math:`\\bar{\\eta}_N = \\frac{1}{N}\\sum_{n \\le N} \\hat{\\eta}_n`
    of a consistent estimator approaches the truth as :math:`N` grows; the band
    :math:`\\bar\\eta_N \\pm c\\, \\hat{s}_N / \\sqrt{N}` shrinks like
    :math:`N^{-1/2}`.

    Introduced in chapter 3, *Gradients of expectations* (consistency);
    Mohamed et al. (2020), Sec. 2.3.

    Args:
        samples: ``{name: i.i.d. per-sample estimates}``.
        truth: optional exact value, drawn as a horizontal black line.
        ax: optional matplotlib axes; a new figure is created if ``None``.
        num_se: half-width of the band in standard errors.
        xlabel: x-axis label (the x-axis is logarithmic).
        ylabel: y-axis label.
        title: optional axes title.

    Returns:
        The ``Figure`` that holds the axes.

    Raises:
        ValueError: if ``samples`` is empty or a series has fewer than 2 values.

    Shapes:
        Each value of ``samples``: ``(num_samples,)``.
    """
    if not samples:
        raise ValueError("samples is empty; pass {name: per-sample estimates}")
    fig, ax = _axes(ax)
    with style():
        for i, (name, v) in enumerate(samples.items()):
            v = _numpy(v).ravel()
            if v.size < 2:
                raise ValueError(f"samples[{name!r}] needs at least 2 values, got {v.size}")
            n = np.arange(1, v.size + 1)
            mean = np.cumsum(v) / n
            second = np.cumsum(v ** 2) / n
            var = np.maximum(second - mean ** 2, 0.0) * n / np.maximum(n - 1, 1)
            se = np.sqrt(var / n)
            c = _color(name, i)
            ax.plot(n, mean, color=c, label=name.replace("_", " "))
            ax.fill_between(n[1:], (mean - num_se * se)[1:], (mean + num_se * se)[1:], color=c, alpha=0.2, lw=0)
        if truth is not None:
            ax.axhline(float(truth), color="black", lw=1.2, ls="--", label="exact")
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.legend()
        if title:
            ax.set_title(title)
    return fig


def variance_curves(x, exact=None, mc=None, *, x_mc=None, ax=None, xlabel: str = "", ylabel: str = "variance",
                    logx: bool = False, logy: bool = True, title: str | None = None, legend_loc: str = "best"):
    """Plot exact curves as lines and Monte Carlo estimates of the same quantities as markers.

    Used for single-sample variances against a parameter of the problem (an
    offset added to the cost, the dimension, ...), and more generally for any
    exact-versus-estimated comparison (errors against cost).

    Introduced in chapter 3, *Gradients of expectations*, and chapter 4,
    *The score-function estimator*; Mohamed et al. (2020), Sec. 4.3.

    Args:
        x: the x-values of the exact curves.
        exact: optional ``{name: values at x}``, drawn as lines.
        mc: optional ``{name: values at x_mc}``, drawn as markers in the colour of
            the line with the same name.
        x_mc: x-values of the markers; defaults to ``x``.
        ax: optional matplotlib axes; a new figure is created if ``None``.
        xlabel: x-axis label.
        ylabel: y-axis label.
        logx: logarithmic x-axis.
        logy: logarithmic y-axis.
        title: optional axes title.
        legend_loc: matplotlib legend location.

    Returns:
        The ``Figure`` that holds the axes.

    Raises:
        ValueError: if both ``exact`` and ``mc`` are empty, or a series does not
            match the length of its x-values.

    Shapes:
        ``x``: ``(num_points,)``; each value of ``exact``: ``(num_points,)``;
        ``x_mc``: ``(num_mc,)``; each value of ``mc``: ``(num_mc,)``.
    """
    exact = dict(exact or {})
    mc = dict(mc or {})
    if not exact and not mc:
        raise ValueError("pass exact and/or mc values to plot")
    x = _numpy(x)
    x_mc = x if x_mc is None else _numpy(x_mc)
    fig, ax = _axes(ax)
    names = list(dict.fromkeys([*exact, *mc]))
    with style():
        for i, name in enumerate(names):
            c = _color(name, i)
            label = name.replace("_", " ")
            if name in exact:
                y = _numpy(exact[name])
                if y.shape != x.shape:
                    raise ValueError(f"exact[{name!r}] has shape {y.shape}, expected {x.shape} like x")
                ax.plot(x, y, color=c, label=label)
                label = None
            if name in mc:
                y = _numpy(mc[name])
                if y.shape != x_mc.shape:
                    raise ValueError(f"mc[{name!r}] has shape {y.shape}, expected {x_mc.shape} like x_mc")
                ax.plot(x_mc, y, ls="none", marker="o", markersize=5, markerfacecolor="white", markeredgecolor=c,
                        mew=1.4, label=label)
        if exact and mc:
            ax.plot([], [], color="grey", label="exact (line)")
            ax.plot([], [], ls="none", marker="o", markerfacecolor="white", markeredgecolor="grey",
                    label="Monte Carlo (markers)")
        finish_axes(ax, xlabel=xlabel, ylabel=ylabel, title=title, logx=logx, logy=logy, legend_loc=legend_loc)
    return fig


def density_check_plot(samples, x, density, *, ax=None, bins: int = 80, xlabel: str = "$x$",
                       sample_label: str = "samples", density_label: str = "density", title: str | None = None):
    """Histogram of samples against a density curve.

    The check of the change-of-variables formula
    :math:`p(x; \\theta) = p(\\epsilon)\\, |\\nabla_\\epsilon g(\\epsilon; \\theta)|^{-1}`:
    the histogram of :math:`x = g(\\epsilon; \\theta)` must follow the curve.

    Introduced in chapter 5, *The pathwise estimator*; Mohamed et al. (2020),
    Sec. 5.1.

    Args:
        samples: the draws.
        x: the grid of the density curve (its range is also the histogram range).
        density: the density on the grid.
        ax: optional matplotlib axes; a new figure is created if ``None``.
        bins: number of histogram bins.
        xlabel: x-axis label.
        sample_label: legend label of the histogram.
        density_label: legend label of the curve.
        title: optional axes title.

    Returns:
        The ``Figure`` that holds the axes.

    Raises:
        ValueError: if ``x`` and ``density`` differ in length.

    Shapes:
        ``samples``: ``(num_samples,)``; ``x`` and ``density``: ``(num_points,)``.
    """
    s, xs, d = _numpy(samples).ravel(), _numpy(x).ravel(), _numpy(density).ravel()
    if xs.shape != d.shape:
        raise ValueError(f"x and density must have the same length, got {xs.size} and {d.size}")
    fig, ax = _axes(ax)
    with style():
        inside = (s >= xs.min()) & (s <= xs.max())
        weights = np.full(s.shape, 1.0 / (s.size * (xs.max() - xs.min()) / bins))
        ax.hist(s[inside], bins=bins, range=(xs.min(), xs.max()), weights=weights[inside], histtype="stepfilled",
                alpha=0.35, color=_FALLBACK_COLORS[0], label=sample_label)
        ax.plot(xs, d, color="black", label=density_label)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("density")
        ax.legend()
        if title:
            ax.set_title(title)
    return fig


def trajectory_plot(iterates, *, optimum=None, ax=None, xlabel: str = "iteration $t$",
                    ylabel: str = r"parameter $\theta_t$", title: str | None = None):
    """Plot parameter trajectories of stochastic optimisation runs.

    Introduced in chapter 3, *Gradients of expectations* (the stochastic
    optimisation loop of Mohamed et al. (2020), Sec. 2.2, Fig. 1).

    Args:
        iterates: ``{name: parameter value at each iteration}``; a name that is a
            key of ``ESTIMATOR_COLORS`` gets that estimator's colour.
        optimum: optional exact optimum, drawn as a horizontal black line.
        ax: optional matplotlib axes; a new figure is created if ``None``.
        xlabel: x-axis label.
        ylabel: y-axis label.
        title: optional axes title.

    Returns:
        The ``Figure`` that holds the axes.

    Raises:
        ValueError: if ``iterates`` is empty.

    Shapes:
        Each value of ``iterates``: ``(num_steps + 1,)``.
    """
    if not iterates:
        raise ValueError("iterates is empty; pass {name: trajectory}")
    fig, ax = _axes(ax)
    with style():
        for i, (name, v) in enumerate(iterates.items()):
            v = _numpy(v).ravel()
            ax.plot(np.arange(v.size), v, color=_color(name, i), label=name.replace("_", " "), lw=1.4)
        if optimum is not None:
            ax.axhline(float(optimum), color="black", ls="--", lw=1.2, label=f"optimum {float(optimum):.3g}")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.legend()
        if title:
            ax.set_title(title)
    return fig



def convergence_plot(lines=None, markers=None, *, ax=None, xlabel: str = "number of evaluations of $f$",
                     ylabel: str = "absolute error", title: str | None = None, legend_loc: str = "best",
                     colors=None):
    """Log-log plot of errors against cost, one series per method, each with its own x-values.

    Used to compare a tensor-product quadrature rule in several dimensions with
    Monte Carlo, whose error :math:`\\sigma_f / \\sqrt{N}` does not depend on the
    dimension.

    Introduced in chapter 3, *Gradients of expectations*; Mohamed et al. (2020),
    Sec. 2.

    Args:
        lines: optional ``{name: (x, y)}`` drawn as lines with small markers.
        markers: optional ``{name: (x, y)}`` drawn as open markers only; a name
            that also appears in ``lines`` shares its colour.
        ax: optional matplotlib axes; a new figure is created if ``None``.
        xlabel: x-axis label.
        ylabel: y-axis label.
        title: optional axes title.
        legend_loc: matplotlib legend location.
        colors: optional ``{name: matplotlib colour}`` overriding the default
            colour of a series.

    Returns:
        The ``Figure`` that holds the axes.

    Raises:
        ValueError: if both ``lines`` and ``markers`` are empty, or ``x`` and ``y``
            of a series differ in length.

    Shapes:
        Each series: ``x`` and ``y`` of shape ``(num_points,)``.
    """
    lines = dict(lines or {})
    markers = dict(markers or {})
    if not lines and not markers:
        raise ValueError("pass lines and/or markers to plot")
    fig, ax = _axes(ax)
    names = list(dict.fromkeys([*lines, *markers]))
    colors = dict(colors or {})
    with style():
        for i, name in enumerate(names):
            c = colors.get(name, _color(name, i))
            label = name.replace("_", " ")
            for group, kw in ((lines, dict(marker=".", markersize=6)),
                              (markers, dict(ls="none", marker="o", markersize=5, markerfacecolor="white", mew=1.3))):
                if name not in group:
                    continue
                x, y = (_numpy(v).ravel() for v in group[name])
                if x.shape != y.shape:
                    raise ValueError(f"series {name!r}: x and y differ in length ({x.size} and {y.size})")
                ax.plot(x, y, color=c, markeredgecolor=c, label=label, **kw)
                label = None
        finish_axes(ax, xlabel=xlabel, ylabel=ylabel, title=title, logx=True, logy=True, legend_loc=legend_loc)
    return fig
