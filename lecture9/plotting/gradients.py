"""Gradient estimators compared (chapters 6 and 7): variance panels, costs, weak derivatives, estimates.

:func:`plot_variance_figure` reproduces Figures 2 and 3 of Mohamed et al. (2020), Sec. 3. The
``plot_*_panel`` helpers draw on the axes they are given (first argument);
:func:`plot_variance_figure` makes a whole figure. All draw inside
:func:`lecture9.plotting.style` and return the ``Figure``.

Estimators are named as in ``lecture9.reference``: ``"score_function"``,
``"score_function_optimal_baseline"``, ``"pathwise"``, ``"measure_valued"``
(uncoupled) and ``"measure_valued_coupled"``; :func:`lecture9.plotting.estimator_style`
gives each the same colour, marker and label everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import ticker
from matplotlib.lines import Line2D

from .._validation import check_array, check_float, check_int, check_public_functions
from .common import (
    ESTIMATOR_COLORS,
    ESTIMATOR_LABELS,
    as_numpy,
    axis_scale,
    estimator_style,
    style,
)

__all__ = [
    "plot_variance_panel",
    "plot_function_panel",
    "plot_variance_figure",
    "plot_weak_derivative_panel",
    "plot_estimates_panel",
    "plot_evaluations_panel",
]

#: Colours for the curves of the bottom-row function panels (one per k).
_K_COLORS = ("#332288", "#CC6677", "#117733", "#882255", "#44AA99")


def _legend_handles(names, exact_names, mc_names) -> list:
    handles = []
    for name in names:
        st = estimator_style(name)
        handles.append(
            Line2D(
                [],
                [],
                color=st["color"],
                linestyle=st["linestyle"] if name in exact_names else "none",
                marker=st["marker"] if name in mc_names else None,
                markerfacecolor="none",
                label=st["label"],
            )
        )
    return handles


def _log_ticks(axis) -> None:
    """Label a logarithmic axis at 1, 2 and 5 times powers of ten, as plain numbers."""
    axis.set_major_locator(ticker.LogLocator(base=10.0, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(ticker.NullFormatter())


def plot_variance_panel(
    ax,
    ks,
    exact: Mapping[str, Sequence[float]],
    mc: Mapping[str, Sequence[float]] | None = None,
    *,
    ks_mc=None,
    xscale: str = "linear",
    xlabel: str = r"$k$",
    ylabel: str = "variance of one sample",
    title: str | None = None,
    legend: bool = True,
    ylim: tuple[float, float] | None = None,
):
    r"""Draw the single-sample variance of several estimators against a parameter ``k``.

    Exact variances are drawn as lines, Monte Carlo estimates of the same
    variances as hollow markers of the same colour, on a logarithmic y-axis, as
    in Figures 2 and 3 of Mohamed et al. (2020), Sec. 3.

    Raises:
        ValueError: if an array does not have one entry per ``k``.

    Shapes:
        ``ks``: ``(K,)``; each ``exact[name]``: ``(K,)``; ``ks_mc`` and each
        ``mc[name]``: ``(K_mc,)``.
    """
    ks = check_array(ks, "ks", ndim=1)
    ks_mc = ks if ks_mc is None else check_array(ks_mc, "ks_mc", ndim=1)
    axis_scale(xscale)
    mc = {} if mc is None else mc
    drawn = []
    names = list(dict.fromkeys([*exact, *mc]))
    with style():
        for name in names:
            st = estimator_style(name)
            if name in exact:
                values = _per_k(exact, "exact", name, ks)
                ax.plot(
                    ks,
                    np.where(values > 0, values, np.nan),
                    color=st["color"],
                    linestyle=st["linestyle"],
                )
                drawn.append(values)
            if name in mc:
                values = _per_k(mc, "mc", name, ks_mc)
                ax.plot(
                    ks_mc,
                    np.where(values > 0, values, np.nan),
                    linestyle="none",
                    marker=st["marker"],
                    markersize=4.5,
                    markerfacecolor="none",
                    markeredgewidth=1.1,
                    color=st["color"],
                )
                drawn.append(values)
        ax.set_yscale("log")
        ax.set_xscale(xscale)
        if xscale == "log":
            _log_ticks(ax.xaxis)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title is not None:
            ax.set_title(title)
        ylim = _variance_limits(drawn) if ylim is None else ylim
        if ylim is not None:
            ax.set_ylim(*ylim)
        if legend:
            ax.legend(handles=_legend_handles(names, exact, mc), loc="best", frameon=False)
    return ax.figure


def _per_k(series, label: str, name: str, ks) -> np.ndarray:
    values = as_numpy(series[name])
    if values.shape != ks.shape:
        raise ValueError(
            f"{label}[{name!r}] has shape {values.shape}, expected {ks.shape} (one value per k)"
        )
    return values


def _variance_limits(drawn) -> tuple[float, float] | None:
    """From half the smallest to twice the largest positive value (at most six decades)."""
    values = np.concatenate([v[np.isfinite(v) & (v > 0)] for v in drawn]) if drawn else []
    if not len(values):
        return None
    top = values.max() * 2.0
    return max(values.min() / 2.0, top * 1e-6), top


def plot_function_panel(
    ax,
    f: Callable[[torch.Tensor, float], torch.Tensor],
    ks: Sequence[float],
    x=None,
    *,
    xlabel: str = r"$x$",
    title: str | None = None,
    legend: bool = True,
    ylim: tuple[float, float] | None = None,
    shade: tuple[float, float] | None = None,
):
    r"""Draw a family of costs :math:`f(x; k)` (solid) and their derivatives (dashed).

    The derivative :math:`\partial f / \partial x` is computed with autograd, so ``f``
    must be written in differentiable torch operations. This is the bottom row of
    Figures 2 and 3 of Mohamed et al. (2020), Sec. 3.

    Shapes:
        ``x``: ``(X,)``; ``f(x, k)``: ``(X,)``.
    """
    x = (
        torch.linspace(-4.0, 6.0, 801, dtype=torch.float64)
        if x is None
        else torch.as_tensor(check_array(x, "x", ndim=1))
    )
    with style():
        if shade is not None:
            ax.axvspan(*shade, color="0.9", linewidth=0)
        for i, k in enumerate(ks):
            xs = x.clone().requires_grad_(True)
            values = f(xs, k)
            if not isinstance(values, torch.Tensor) or values.shape != xs.shape:
                raise TypeError(
                    f"f(x, k) must return a tensor of the shape of x {tuple(xs.shape)}, "
                    f"got {values!r:.60}"
                )
            (deriv,) = torch.autograd.grad(values.sum(), xs)
            color = _K_COLORS[i % len(_K_COLORS)]
            ax.plot(
                x.numpy(), values.detach().numpy(), color=color, linestyle="-", label=f"$k = {k:g}$"
            )
            ax.plot(x.numpy(), deriv.numpy(), color=color, linestyle="--", linewidth=1.2)
        ax.axhline(0.0, color="0.6", linewidth=0.6)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(r"$f$ (solid), $\partial f/\partial x$ (dashed)")
        if title is not None:
            ax.set_title(title)
        if ylim is not None:
            ax.set_ylim(*ylim)
        if legend:
            ax.legend(loc="best", frameon=False, fontsize=8)
    return ax.figure


def plot_variance_figure(
    ks,
    exact: Mapping[str, Mapping[str, Sequence[float]]],
    mc: Mapping[str, Mapping[str, Sequence[float]]] | None = None,
    *,
    f: Callable[[torch.Tensor, float], torch.Tensor],
    ks_show: Sequence[float],
    ks_mc=None,
    xscale: str = "linear",
    x=None,
    title: str | None = None,
    function_ylim: tuple[float, float] | None = None,
    shade: tuple[float, float] | None = (-1.0, 3.0),
    width: float = 7.0,
    height: float = 6.0,
):
    r"""Draw one of Figures 2 and 3 of Mohamed et al. (2020), Sec. 3.

    Top row: the single-sample variance against ``k`` for :math:`\theta = \mu`
    (left) and :math:`\theta = \sigma` (right), exact lines and Monte Carlo
    markers (see ``plot_variance_panel``), with one legend above both panels. Bottom row: one panel per value in
    ``ks_show`` with the cost (solid) and its derivative (dashed), see
    ``plot_function_panel``.

    Raises:
        ValueError: if ``exact`` lacks ``"loc"`` or ``"scale"``.

    Shapes:
        ``ks``: ``(K,)``; ``exact[param][name]``: ``(K,)``; ``ks_mc`` and
        ``mc[param][name]``: ``(K_mc,)``.
    """
    check_array(ks, "ks", ndim=1)
    if ks_mc is not None:
        check_array(ks_mc, "ks_mc", ndim=1)
    axis_scale(xscale)
    missing = {"loc", "scale"} - set(exact)
    if missing:
        raise ValueError(f"exact must have the keys 'loc' and 'scale'; missing {sorted(missing)}")
    mc = {} if mc is None else mc
    with style():
        fig = plt.figure(figsize=(width, height), constrained_layout=True)
        top, bottom = fig.subfigures(2, 1, height_ratios=[1.6, 1.0])
        axes_top = top.subplots(1, 2, sharey=False)
        for ax, param, symbol in zip(axes_top, ("loc", "scale"), (r"\mu", r"\sigma")):
            plot_variance_panel(
                ax,
                ks,
                exact[param],
                mc.get(param),
                ks_mc=ks_mc,
                xscale=xscale,
                title=rf"$\theta = {symbol}$",
                legend=False,
            )
        names = list(dict.fromkeys([*exact["loc"], *mc.get("loc", {})]))
        top.legend(
            handles=_legend_handles(names, exact["loc"], mc.get("loc", {})),
            loc="outside upper center",
            ncol=2,
            frameon=False,
        )
        axes_bottom = np.atleast_1d(bottom.subplots(1, len(ks_show), sharey=True))
        for i, (ax, k) in enumerate(zip(axes_bottom, ks_show)):
            plot_function_panel(
                ax, f, [k], x, title=f"$k = {k:g}$", legend=False, ylim=function_ylim, shade=shade
            )
            if i > 0:
                ax.set_ylabel("")
        if title is not None:
            fig.suptitle(title)
    return fig


def plot_weak_derivative_panel(
    ax,
    x,
    derivative,
    constant: float,
    positive,
    negative,
    *,
    title: str | None = None,
    positive_label: str = r"$p^+(x)$",
    negative_label: str = r"$p^-(x)$",
    every: int = 8,
):
    r"""Draw a weak derivative :math:`\nabla_\theta p = c_\theta (p^+ - p^-)` against autograd.

    The autograd derivative of the density is the black line, the weak-derivative
    reconstruction :math:`c_\theta (p^+(x) - p^-(x))` the markers on top of it, and
    the two densities :math:`p^+` and :math:`p^-` thin shaded curves. Mohamed et al.
    (2020), Sec. 6.

    Shapes:
        ``x``, ``derivative``, ``positive``, ``negative``: ``(X,)``.
    """
    named = {"x": x, "derivative": derivative, "positive": positive, "negative": negative}
    x, derivative, positive, negative = (
        check_array(v, name, ndim=1, finite=False) for name, v in named.items()
    )
    if not x.shape == derivative.shape == positive.shape == negative.shape:
        raise ValueError(
            "x, derivative, positive and negative need one value per x, got shapes "
            f"{x.shape}, {derivative.shape}, {positive.shape} and {negative.shape}"
        )
    constant = check_float(constant, "constant")
    every = check_int(every, "every", minimum=1, maximum=10**6)
    with style():
        ax.fill_between(x, positive, color=ESTIMATOR_COLORS["pathwise"], alpha=0.18, linewidth=0)
        ax.plot(
            x, positive, color=ESTIMATOR_COLORS["pathwise"], linewidth=1.0, label=positive_label
        )
        ax.fill_between(
            x, negative, color=ESTIMATOR_COLORS["score_function"], alpha=0.18, linewidth=0
        )
        ax.plot(
            x,
            negative,
            color=ESTIMATOR_COLORS["score_function"],
            linewidth=1.0,
            label=negative_label,
        )
        ax.plot(
            x,
            derivative,
            color=ESTIMATOR_COLORS["exact"],
            label=r"$\nabla_\theta p(x;\theta)$ (autograd)",
        )
        ax.plot(
            x[::every],
            constant * (positive - negative)[::every],
            linestyle="none",
            marker="o",
            markersize=4,
            markerfacecolor="none",
            color=ESTIMATOR_COLORS["measure_valued"],
            label=r"$c_\theta\,(p^+ - p^-)$",
        )
        ax.axhline(0.0, color="0.6", linewidth=0.6)
        ax.set_xlabel(r"$x$")
        ax.set_ylabel("density / derivative")
        if title is not None:
            ax.set_title(title)
        ax.legend(
            loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=2, frameon=False, fontsize=8
        )
    return ax.figure


def plot_estimates_panel(
    ax,
    names: Sequence[str],
    means,
    standard_errors,
    exact: float,
    *,
    xlabel: str = "gradient estimate",
    title: str | None = None,
    num_se: float = 2.0,
):
    r"""Draw gradient estimates with error bars against the exact gradient.

    One row per estimator: the Monte Carlo estimate with ``num_se`` standard
    errors either side, in the estimator's colour, and the exact value as a black
    vertical line.

    Raises:
        ValueError: if ``means`` or ``standard_errors`` do not have one entry per name.

    Shapes:
        ``names``, ``means``, ``standard_errors``: ``(E,)``.
    """
    means = check_array(means, "means", ndim=1)
    ses = check_array(standard_errors, "standard_errors", ndim=1)
    num_se = check_float(num_se, "num_se", minimum=0.0)
    exact = check_float(exact, "exact")
    if means.shape != (len(names),) or ses.shape != (len(names),):
        raise ValueError(
            f"means and standard_errors need one entry per name ({len(names)}), "
            f"got shapes {means.shape} and {ses.shape}"
        )
    with style():
        rows = np.arange(len(names))[::-1]
        for row, name, mean, se in zip(rows, names, means, ses):
            st = estimator_style(name)
            ax.errorbar(
                mean,
                row,
                xerr=num_se * se,
                color=st["color"],
                marker=st["marker"],
                capsize=4,
                markerfacecolor="none",
                linestyle="none",
            )
        ax.axvline(exact, color=ESTIMATOR_COLORS["exact"], linewidth=1.2, label="exact gradient")
        ax.set_yticks(rows, [ESTIMATOR_LABELS[n] for n in names])
        ax.set_ylim(-0.7, len(names) - 0.3)
        ax.set_xlabel(xlabel + rf" ($\pm {num_se:g}$ s.e.)")
        ax.grid(axis="y", visible=False)
        if title is not None:
            ax.set_title(title)
        ax.legend(loc="lower right", frameon=False, fontsize=8)
    return ax.figure


def plot_evaluations_panel(
    ax,
    dims,
    evaluations: Mapping[str, Sequence[float]],
    *,
    title: str | None = None,
    ylabel: str = "evaluations of $f$ per sample",
):
    r"""Draw the number of cost evaluations per sample against the parameter dimension.

    Log-log axes, one line per estimator: the measure-valued estimator needs two
    evaluations per parameter dimension, Mohamed et al. (2020), Sec. 6.

    Shapes:
        ``dims`` and each ``evaluations[name]``: ``(D,)``.
    """
    dims = check_array(dims, "dims", ndim=1)
    with style():
        for name, counts in evaluations.items():
            st = estimator_style(name)
            ax.plot(
                dims,
                as_numpy(counts),
                color=st["color"],
                marker=st["marker"],
                linestyle=st["linestyle"],
                markerfacecolor="none",
                label=st["label"],
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"dimension $D$ of $x$ (the mean has $D$ entries)")
        ax.set_ylabel(ylabel)
        if title is not None:
            ax.set_title(title)
        ax.legend(loc="best", frameon=False)
    return ax.figure


check_public_functions(globals())  # each public function checks its annotated arguments
