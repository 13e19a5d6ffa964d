"""Error against sample size: measured points beside the exact curve.

Introduced in chapter 2, *Sampling* (plain Monte Carlo against importance sampling
for a rare event).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from .common import ESTIMATOR_COLORS, figure, style

__all__ = ["plot_error_rates"]

_CYCLE = ("#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00")


def _np(values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().double().numpy()
    return np.asarray(values, dtype=float)


def plot_error_rates(sample_sizes, measured: Mapping[str, object], exact: Mapping[str, object], *, ax=None,
                     ylabel: str = "root-mean-square error"):
    """Measured errors (markers) and exact errors (lines) against the sample size, on log-log axes.

    A line and the markers with the same label share a colour; the legend gives the
    slope of each exact line between the first and last sample size.

    Args:
        sample_sizes: the values of :math:`n`, positive.
        measured: ``{label: errors at sample_sizes}`` from repeated runs.
        exact: ``{label: errors at sample_sizes}`` in closed form (labels as in ``measured``).
        ax: axes to draw into (default: a new figure).
        ylabel: y-axis label.

    Returns:
        The ``Figure``.

    Raises:
        ValueError: if a series does not have one value per sample size.
    """
    n = _np(sample_sizes)
    if ax is None:
        fig, ax = figure()
    else:
        fig = ax.figure
    labels = list(dict.fromkeys([*exact, *measured]))
    with style():
        for i, label in enumerate(labels):
            color = _CYCLE[i % len(_CYCLE)]
            if label in exact:
                e = _np(exact[label])
                if e.shape != n.shape:
                    raise ValueError(f"exact[{label!r}] has shape {e.shape}, expected {n.shape} like sample_sizes")
                slope = np.log(e[-1] / e[0]) / np.log(n[-1] / n[0])
                ax.loglog(n, e, "-", color=color, label=f"{label}, exact (slope {slope:.2f})")
            if label in measured:
                m = _np(measured[label])
                if m.shape != n.shape:
                    raise ValueError(f"measured[{label!r}] has shape {m.shape}, expected {n.shape} like sample_sizes")
                ax.loglog(n, m, "o", color=color, markerfacecolor="white", markeredgewidth=1.4, label=f"{label}, measured")
        ax.set_xlabel("number of samples $n$")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=8)
    return fig
