"""Intuition figures: what the score-function and pathwise estimators do to the samples.

Introduced in chapter 5, *The pathwise estimator*. To see how
:math:`\\mathcal{F}(\\mu) = \\mathbb{E}_{\\mathcal{N}(\\mu, \\sigma^2)}[f(x)]` changes when
:math:`\\mu` moves by :math:`\\delta`, the score function keeps the samples where they
are and **reweights** them by :math:`p(x_i; \\mu + \\delta) / p(x_i; \\mu)`; the pathwise
estimator keeps their weights and **moves** them to :math:`x_i + \\delta`. Both give an
unbiased estimate of :math:`\\mathcal{F}(\\mu + \\delta)`; as :math:`\\delta \\to 0` they
become the two gradient estimators.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .._validation import check_array, check_finite, check_float, check_public_functions
from .common import ESTIMATOR_COLORS, figure, style

__all__ = ["plot_reweight_vs_move"]


def plot_reweight_vs_move(
    samples,
    f: Callable,
    *,
    loc: float,
    scale: float,
    shift: float,
    xlabel: str = "$x$",
    ylabel: str = "cost $f(x)$",
):
    """Two panels over the cost curve: samples reweighted (score function) and samples moved (pathwise).

    Left: each sample at :math:`(x_i, f(x_i))`, its marker area proportional to the
    weight :math:`w_i = \\mathcal{N}(x_i \\mid \\mu + \\delta, \\sigma^2) / \\mathcal{N}(x_i \\mid \\mu, \\sigma^2)`
    (filled: :math:`w_i > 1`, open: :math:`w_i < 1`). Right: each sample moved from
    :math:`x_i` to :math:`x_i + \\delta`, an arrow along the cost curve. The densities
    before and after the shift are drawn at the bottom of both panels.

    Raises:
        ValueError: if ``samples`` is not one-dimensional or ``scale`` is not positive.
    """
    x = torch.as_tensor(check_array(samples, "samples", min_len=0))
    if x.dim() != 1 or x.numel() < 1:
        raise ValueError(f"samples must be a non-empty 1-D tensor, got shape {tuple(x.shape)}")
    loc, shift = check_float(loc, "loc"), check_float(shift, "shift")
    scale = check_float(scale, "scale", minimum=0.0, strict=True)
    before, after = _normal(loc, scale), _normal(loc + shift, scale)
    weights = torch.exp(after.log_prob(x) - before.log_prob(x)).numpy()
    fx, fmoved = _cost_on(f, x), _cost_on(f, x + shift)
    lo, hi = float(x.min()) - 0.3 * scale, float(x.max() + shift) + 0.3 * scale
    grid = torch.linspace(lo, hi, 300, dtype=torch.float64)
    fgrid = _cost_on(f, grid)
    top = 1.15 * float(max(fgrid.max(), fx.max(), fmoved.max()))
    # peak of the drawn densities: 35 % of the panel
    height = 0.35 * top * math.sqrt(2 * math.pi) * scale
    densities = [
        (height * d.log_prob(grid).exp().numpy(), ls) for d, ls in ((before, "-"), (after, "--"))
    ]
    fig, axes = figure(1, 2, height=3.4, sharey=True)
    with style():
        for ax, title in zip(axes, _TITLES):
            _draw_cost_and_densities(ax, grid.numpy(), fgrid, densities, title, xlabel)
        _draw_reweighted(axes[0], x.numpy(), fx, weights)
        axes[0].set_ylabel(ylabel)
        _draw_moved(axes[1], x.numpy(), fx, fmoved, shift)
        for ax in axes:
            ax.set_ylim(0.0, top)
            ax.legend(fontsize=7, loc="upper right")
    return fig


_TITLES = (
    "score function:\nthe samples stay, their weights change",
    "pathwise:\nthe weights stay, the samples move",
)


def _cost_on(f, x: torch.Tensor):
    """``f(x)`` as a NumPy array: ``f`` must return a finite tensor of the shape of ``x``."""
    if not callable(f):
        raise TypeError(f"f must be a callable cost, e.g. lambda x: (x - 2) ** 2, got {f!r:.60}")
    values = f(x)
    if not isinstance(values, torch.Tensor) or values.shape != x.shape:
        raise TypeError(
            f"f(x) must return a tensor of the shape of x {tuple(x.shape)}, got {values!r:.60}"
        )
    return check_finite(values.detach(), "f(x)").numpy()


def _normal(m, scale) -> torch.distributions.Normal:
    return torch.distributions.Normal(
        torch.tensor(float(m), dtype=torch.float64),
        torch.tensor(float(scale), dtype=torch.float64),
    )


def _draw_cost_and_densities(ax, grid, fgrid, densities, title, xlabel) -> None:
    ax.plot(grid, fgrid, color="0.45", linewidth=1.4, label="cost $f$")
    for (density, linestyle), name in zip(densities, (r"$p(x;\mu)$", r"$p(x;\mu+\delta)$")):
        ax.plot(grid, density, linestyle, color="0.7", linewidth=1.2, label=name)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlabel)


def _draw_reweighted(ax, x, fx, weights) -> None:
    color, up = ESTIMATOR_COLORS["score_function"], weights >= 1
    ax.scatter(x[up], fx[up], s=60 * weights[up], color=color, zorder=3, label=r"$w_i > 1$")
    ax.scatter(
        x[~up],
        fx[~up],
        s=60 * weights[~up],
        facecolors="white",
        edgecolors=color,
        zorder=3,
        label=r"$w_i < 1$",
    )


def _draw_moved(ax, x, fx, fmoved, shift) -> None:
    color = ESTIMATOR_COLORS["pathwise"]
    ax.scatter(x, fx, s=25, facecolors="white", edgecolors=color, zorder=3, label=r"$x_i$")
    ax.scatter(x + shift, fmoved, s=25, color=color, zorder=3, label=r"$x_i + \delta$")
    arrow = dict(arrowstyle="->", color=color, linewidth=0.9, shrinkA=3, shrinkB=3)
    for x0, y0, y1 in zip(x, fx, fmoved):
        ax.annotate("", xy=(x0 + shift, y1), xytext=(x0, y0), arrowprops=arrow)


check_public_functions(globals())  # each public function checks its annotated arguments
