"""Samplers checked by eye (chapters 2, 5 and 6): samples against densities, rejection geometry.

Every helper draws inside :func:`lecture9.plotting.style`, accepts an optional
``ax`` to draw into, and returns the ``Figure``.
"""

from __future__ import annotations

import numpy as np
import torch

from .._validation import check_array, check_int, check_public_functions
from .common import MC_COLORS, as_numpy, axes, dtype_of, finish_axes, style

__all__ = ["plot_density_comparison", "plot_rejection_envelope"]


def plot_density_comparison(
    samples,
    density,
    *,
    x_grid=None,
    envelope=None,
    weights=None,
    ax=None,
    bins: int = 60,
    sample_label: str = "samples",
    density_label: str = "target density $p(x)$",
    envelope_label: str = "envelope $M q(x)$",
    xlabel: str = "$x$",
    title: str | None = None,
    legend_loc: str = "best",
):
    """Normalised histogram of samples against the density they should follow.

    Checks a sampler by eye: inverse CDF, rejection and importance sampling, the
    change of variables :math:`p(x) = p(\\epsilon)\\, |\\nabla_\\epsilon g|^{-1}` of the
    pathwise estimator (Mohamed et al., 2020, Sec. 5.1), the measure-valued
    estimator's Weibull and Maxwell variables. The bars have area equal to the
    (weighted) fraction of samples inside ``x_grid``'s range.

    Raises:
        ValueError: if ``density`` is given as values without ``x_grid``, or of
            another length than ``x_grid``.

    Shapes:
        ``samples`` and ``weights``: ``(n,)``; ``x_grid`` and density values: ``(num_points,)``.
    """
    s = check_array(samples, "samples").ravel()
    bins = check_int(bins, "bins", minimum=1, maximum=10**6)
    as_values = not (callable(density) or isinstance(density, torch.distributions.Distribution))
    if envelope is not None and not (
        callable(envelope) or isinstance(envelope, torch.distributions.Distribution)
    ):
        raise TypeError(
            f"envelope must be a callable of x, a torch Distribution or None, got {envelope!r:.60}"
        )
    if as_values and x_grid is None:
        raise ValueError("density is given as values: pass x_grid, the points they belong to")
    if x_grid is None:
        lo, hi = np.quantile(s, [0.005, 0.995])
        x_grid = torch.linspace(float(lo), float(hi), 400, dtype=torch.float64)
    x_grid = torch.as_tensor(check_array(x_grid, "x_grid", min_len=2)).ravel()

    def evaluate(fn, name):
        if isinstance(fn, torch.distributions.Distribution):
            return as_numpy(fn.log_prob(x_grid.to(dtype_of(fn))).exp())
        return _pdf_on_grid(fn, x_grid, name)

    curve = as_numpy(density).ravel() if as_values else evaluate(density, "density")
    if curve.shape != (x_grid.numel(),):
        raise ValueError(
            f"x_grid and density must have the same length, got {x_grid.numel()} and {curve.size}"
        )
    xg = as_numpy(x_grid)
    with style():
        fig, ax = axes(ax)
        w = np.ones(len(s)) if weights is None else _sample_weights(weights, len(s))
        w = w / w.sum()
        mask = (s >= xg.min()) & (s <= xg.max())
        bar_weights = w[mask] / ((xg.max() - xg.min()) / bins)
        ax.hist(
            s[mask],
            bins=np.linspace(xg.min(), xg.max(), bins + 1),
            weights=bar_weights,
            color=MC_COLORS["histogram"],
            alpha=0.7,
            label=f"{sample_label} ($n = {len(s)}$)",
        )
        ax.plot(xg, curve, color=MC_COLORS["target"], linewidth=1.8, label=density_label)
        if envelope is not None:
            ax.plot(
                xg,
                evaluate(envelope, "envelope"),
                "--",
                color=MC_COLORS["envelope"],
                linewidth=1.5,
                label=envelope_label,
            )
        finish_axes(ax, xlabel=xlabel, ylabel="density", title=title, legend_loc=legend_loc)
    return fig


def _sample_weights(weights, n: int) -> np.ndarray:
    """Importance weights of ``n`` samples: finite, >= 0, not all zero."""
    w = check_array(weights, "weights").ravel()
    if w.shape != (n,) or (w < 0).any() or not w.sum() > 0:
        raise ValueError(
            f"weights must hold one weight >= 0 per sample ({n}), not all zero, got shape "
            f"{w.shape} with minimum {w.min() if w.size else None}"
        )
    return w


def _pdf_on_grid(fn, grid: torch.Tensor, name: str) -> np.ndarray:
    """``fn(grid)`` as a NumPy array of the grid's shape; a TypeError/ValueError naming ``name``."""
    if not callable(fn):
        raise TypeError(f"{name} must be a callable of x, got {fn!r:.60}")
    values = check_array(fn(grid), f"{name}(x)", finite=False)
    if values.shape != tuple(grid.shape):
        raise ValueError(
            f"{name}(x) has shape {values.shape}, expected {tuple(grid.shape)} (one value per x)"
        )
    return values


def plot_rejection_envelope(
    proposals,
    heights,
    accepted,
    target_pdf,
    envelope_pdf,
    *,
    x_grid=None,
    ax=None,
    xlabel: str = "$x$",
):
    """The geometry of rejection sampling: proposals lifted to uniform heights under the envelope.

    A proposal :math:`x \\sim q` with height :math:`h = u M q(x)`, :math:`u \\sim U(0, 1)`, is
    uniform under the envelope :math:`M q`; it is accepted when :math:`h \\le p(x)`, so the
    accepted points are uniform under :math:`p`.
    """
    x, h = check_array(proposals, "proposals", ndim=1), check_array(heights, "heights", ndim=1)
    acc = check_array(accepted, "accepted", ndim=1).astype(bool)
    if not x.shape == h.shape == acc.shape:
        raise ValueError(
            f"proposals, heights and accepted need one entry per proposal, got shapes "
            f"{x.shape}, {h.shape} and {acc.shape}"
        )
    if x_grid is None:
        x_grid = torch.linspace(float(x.min()), float(x.max()), 400, dtype=torch.float64)
    xg = torch.as_tensor(check_array(x_grid, "x_grid", ndim=1, min_len=2))
    target, envelope = (
        _pdf_on_grid(target_pdf, xg, "target_pdf"),
        _pdf_on_grid(envelope_pdf, xg, "envelope_pdf"),
    )
    with style():
        fig, ax = axes(ax)
        ax.scatter(x[acc], h[acc], s=6, color=MC_COLORS["inside"], label=f"accepted ({acc.sum()})")
        ax.scatter(
            x[~acc], h[~acc], s=6, color=MC_COLORS["outside"], label=f"rejected ({(~acc).sum()})"
        )
        ax.plot(
            as_numpy(xg),
            target,
            color=MC_COLORS["target"],
            linewidth=2,
            label="target $p(x)$",
        )
        ax.plot(
            as_numpy(xg),
            envelope,
            "--",
            color=MC_COLORS["envelope"],
            linewidth=1.8,
            label="envelope $M q(x)$",
        )
        ax.set_xlim(float(xg.min()), float(xg.max()))
        ax.set_xlabel(xlabel)
        ax.set_ylabel("density / height $u \\, M q(x)$")
        ax.legend()
    return fig


check_public_functions(globals())  # each public function checks its annotated arguments
