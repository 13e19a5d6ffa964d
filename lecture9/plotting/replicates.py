"""Figures of repeated runs: learning curves with bands over seeds, and per-seed values.

Introduced in chapter 9, *Training a variational autoencoder*.

Both helpers take the summaries of :mod:`lecture9.studies.replicates` and draw the mean of the
runs as a line, the range over seeds as a band (learning curves) or every seed as a
point beside the mean, a short line (values), so that a difference between settings can be read
against the spread between seeds. Every helper draws inside
``lecture9.plotting.style``, never changes global matplotlib state and returns the
``Figure``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .._validation import check_array, check_public_functions
from .common import color, figure, legend_location, style

__all__ = ["plot_learning_curve_bands", "plot_values_by_seed"]


def _replicate_style(label: str, index: int = 0) -> dict:
    """Colour and line style of a setting label such as ``"score function + baseline, S=2"``."""
    name = label.split(",")[0].strip().replace(" + baseline", "_baseline").replace(" ", "_")
    compact = label.replace(" ", "")
    return {
        "color": color(name, index),
        "linestyle": "--" if "S=1" in compact and "S=10" not in compact else "-",
    }


def plot_learning_curve_bands(
    summaries: Mapping[str, Mapping],
    *,
    ylabel: str = "test ELBO (nats)",
    xlabel: str = "epoch",
    ylim=None,
    width: float = 7.0,
    height: float = 3.4,
    styles: Mapping[str, Mapping] | None = None,
    legend_loc: str = "lower right",
):
    """Mean over seeds (line) and range over seeds (band) of each setting, against epochs.

    Raises:
        ValueError: if ``summaries`` is empty.

    Shapes:
        Each entry has one value per epoch.
    """
    if not summaries:
        raise ValueError("summaries must hold at least one setting")
    legend_loc = legend_location(legend_loc, optional=False)
    if ylim is not None and check_array(ylim, "ylim", ndim=1).shape != (2,):
        raise ValueError(f"ylim must be a pair (bottom, top), got {ylim}")
    fig, ax = figure(1, 1, width=width, height=height)
    with style():
        for i, (label, summary) in enumerate(summaries.items()):
            line = dict((styles or {}).get(label, _replicate_style(label, i)))
            epoch = np.asarray(summary["epoch"], dtype=float)
            ax.fill_between(
                epoch, summary["min"], summary["max"], color=line["color"], alpha=0.2, lw=0
            )
            ax.plot(epoch, summary["mean"], label=label, **line)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.legend(loc=legend_loc)
    return fig


def plot_values_by_seed(
    values: Mapping[str, object],
    *,
    ylabel: str,
    logy: bool = True,
    width: float = 7.0,
    height: float = 3.2,
    styles: Mapping[str, Mapping] | None = None,
):
    """One column per setting: every seed's value as a dot and their mean as a short line, log scale by default.

    Raises:
        ValueError: if ``values`` is empty, or holds a non-positive value with ``logy``.

    Shapes:
        Each entry: ``(seeds,)``.
    """
    if not values:
        raise ValueError("values must hold at least one setting")
    arrays = {label: np.asarray(v, dtype=float).ravel() for label, v in values.items()}
    if logy and any((a <= 0).any() for a in arrays.values()):
        raise ValueError("values must be > 0 to be drawn on a log scale; pass logy=False")
    fig, ax = figure(1, 1, width=width, height=height)
    with style():
        for i, (label, a) in enumerate(arrays.items()):
            color = dict((styles or {}).get(label, _replicate_style(label, i)))["color"]
            mean = a.mean()
            ax.hlines(mean, i - 0.3, i + 0.3, color=color, lw=2.5)
            ax.plot(
                np.full(len(a), i) + np.linspace(-0.12, 0.12, len(a)),
                a,
                "o",
                color=color,
                markersize=5,
            )
            ax.annotate(
                f"{mean:.3g}",
                (i, a.max()),
                textcoords="offset points",
                xytext=(0, 4),
                ha="center",
                fontsize=8.5,
            )
        ax.set_xticks(
            range(len(arrays)),
            [label.replace(", ", "\n").replace(" + ", "\n+ ") for label in arrays],
        )
        if logy:
            ax.set_yscale("log")
            lo, hi = min(a.min() for a in arrays.values()), max(a.max() for a in arrays.values())
            ax.set_ylim(lo / 5, hi * 4)
        ax.set_ylabel(ylabel)
    return fig


check_public_functions(globals())  # each public function checks its annotated arguments
