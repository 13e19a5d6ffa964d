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
    x = torch.as_tensor(samples, dtype=torch.float64).detach()
    if x.dim() != 1 or x.numel() < 1:
        raise ValueError(f"samples must be a non-empty 1-D tensor, got shape {tuple(x.shape)}")
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")

    def normal(m):
        return torch.distributions.Normal(
            torch.tensor(float(m), dtype=torch.float64),
            torch.tensor(float(scale), dtype=torch.float64),
        )

    weights = torch.exp(normal(loc + shift).log_prob(x) - normal(loc).log_prob(x)).numpy()
    fx, fmoved = f(x).numpy(), f(x + shift).numpy()
    lo, hi = float(x.min()) - 0.3 * scale, float(x.max() + shift) + 0.3 * scale
    grid = torch.linspace(lo, hi, 300, dtype=torch.float64)
    fgrid = f(grid).numpy()
    top = 1.15 * float(max(fgrid.max(), fx.max(), fmoved.max()))
    density_height = (
        0.35 * top * math.sqrt(2 * math.pi) * scale
    )  # peak of the drawn densities: 35 % of the panel
    sf_color, pw_color = ESTIMATOR_COLORS["score_function"], ESTIMATOR_COLORS["pathwise"]
    fig, axes = figure(1, 2, height=3.4, sharey=True)
    with style():
        for ax, title in zip(
            axes,
            (
                "score function:\nthe samples stay, their weights change",
                "pathwise:\nthe weights stay, the samples move",
            ),
        ):
            ax.plot(grid.numpy(), fgrid, color="0.45", linewidth=1.4, label="cost $f$")
            for m, style_, name in (
                (loc, "-", r"$p(x;\mu)$"),
                (loc + shift, "--", r"$p(x;\mu+\delta)$"),
            ):
                ax.plot(
                    grid.numpy(),
                    density_height * normal(m).log_prob(grid).exp().numpy(),
                    style_,
                    color="0.7",
                    linewidth=1.2,
                    label=name,
                )
            ax.set_title(title, fontsize=9)
            ax.set_xlabel(xlabel)
        ax = axes[0]
        up = weights >= 1
        ax.scatter(
            x.numpy()[up], fx[up], s=60 * weights[up], color=sf_color, zorder=3, label=r"$w_i > 1$"
        )
        ax.scatter(
            x.numpy()[~up],
            fx[~up],
            s=60 * weights[~up],
            facecolors="white",
            edgecolors=sf_color,
            zorder=3,
            label=r"$w_i < 1$",
        )
        ax.set_ylabel(ylabel)
        ax = axes[1]
        ax.scatter(
            x.numpy(), fx, s=25, facecolors="white", edgecolors=pw_color, zorder=3, label=r"$x_i$"
        )
        ax.scatter(
            x.numpy() + shift, fmoved, s=25, color=pw_color, zorder=3, label=r"$x_i + \delta$"
        )
        for x0, y0, y1 in zip(x.numpy(), fx, fmoved):
            ax.annotate(
                "",
                xy=(x0 + shift, y1),
                xytext=(x0, y0),
                arrowprops=dict(
                    arrowstyle="->", color=pw_color, linewidth=0.9, shrinkA=3, shrinkB=3
                ),
            )
        for ax in axes:
            ax.set_ylim(0.0, top)
            ax.legend(fontsize=7, loc="upper right")
    return fig
