"""Shared figure style: readable in print and at the book's width, no global state."""

from __future__ import annotations

import contextlib

import matplotlib.pyplot as plt

__all__ = ["BOOK_STYLE", "ESTIMATOR_COLORS", "style", "figure", "finish_axes"]

#: rc settings applied inside :func:`style`; sized for a ~700 px wide book column.
BOOK_STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.8,
}

#: One colour per estimator, the same in every chapter (colour-blind safe, Okabe-Ito).
ESTIMATOR_COLORS = {
    "score_function": "#D55E00",
    "score_function_baseline": "#E69F00",
    "pathwise": "#0072B2",
    "measure_valued": "#009E73",
    "measure_valued_coupled": "#009E73",
    "rloo": "#CC79A7",
    "control_variate": "#56B4E9",
    "exact": "#000000",
}


@contextlib.contextmanager
def style():
    """Context manager that applies :data:`BOOK_STYLE` to figures created inside it."""
    with plt.rc_context(BOOK_STYLE):
        yield


def figure(nrows: int = 1, ncols: int = 1, *, width: float = 7.0, height: float | None = None, **subplot_kw):
    """Create a figure and axes in the book style.

    Text and artists added later keep the book's fonts when the drawing code runs
    inside ``with style():`` too; the helpers in this package do.

    Args:
        nrows, ncols: subplot grid.
        width: figure width in inches (7 fits the book column).
        height: figure height in inches; defaults to 2.8 per row.
        **subplot_kw: passed to :func:`matplotlib.pyplot.subplots`.

    Returns:
        ``(fig, axes)`` as from :func:`matplotlib.pyplot.subplots` with ``constrained_layout``.
    """
    if height is None:
        height = 2.8 * nrows
    with style():
        fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), constrained_layout=True, **subplot_kw)
    return fig, axes


def finish_axes(ax, *, xlabel: str, ylabel: str, title: str | None = None, logx: bool = False,
                logy: bool = False, legend_loc: str | None = "best") -> None:
    """Scales, axis labels, title and legend of one panel, the same way in every figure.

    Args:
        ax: the matplotlib ``Axes``.
        xlabel, ylabel: axis labels, with units.
        title: panel title, or ``None``.
        logx, logy: logarithmic axes.
        legend_loc: where to put the legend; ``None`` draws none.
    """
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if legend_loc is not None:
        ax.legend(loc=legend_loc)
    if title:
        ax.set_title(title)
