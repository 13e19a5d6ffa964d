"""Shared figure style, colours and the small helpers every figure module uses; no global state."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

import matplotlib.legend
import matplotlib.pyplot as plt
import numpy as np
import torch

from .._validation import (
    check_choice,
    check_float,
    check_int,
    check_mapping,
    check_public_functions,
)

__all__ = [
    "BOOK_STYLE",
    "ESTIMATOR_COLORS",
    "ESTIMATOR_LABELS",
    "VARIANCE_METHOD_COLORS",
    "GRAPH_COLORS",
    "MC_COLORS",
    "style",
    "figure",
    "finish_axes",
    "estimator_style",
]

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

#: Legend label of each estimator name used by ``lecture9.reference``.
ESTIMATOR_LABELS = {
    "score_function": "score function",
    "score_function_optimal_baseline": "score function + optimal baseline",
    "score_function_baseline": "score function + baseline",
    "pathwise": "pathwise",
    "measure_valued": "measure-valued (uncoupled)",
    "measure_valued_coupled": "measure-valued (coupled)",
}

#: Colours of the variance-reduction methods, consistent with ``ESTIMATOR_COLORS``.
VARIANCE_METHOD_COLORS = {
    "no baseline": ESTIMATOR_COLORS["score_function"],
    "score function": ESTIMATOR_COLORS["score_function"],
    "constant baseline": "#999999",
    "moving average": "#009E73",
    "optimal baseline": ESTIMATOR_COLORS["score_function_baseline"],
    "RLOO": ESTIMATOR_COLORS["rloo"],
    "delta method": ESTIMATOR_COLORS["control_variate"],
    "control variate": ESTIMATOR_COLORS["control_variate"],
    "pathwise": ESTIMATOR_COLORS["pathwise"],
    "exact": ESTIMATOR_COLORS["exact"],
}

#: Colours of the computation-graph figures: node fills, edges and the gradient path.
GRAPH_COLORS = {
    "random": "#FBE3D6",
    "deterministic": "#DCEAF7",
    "parameter": "#E2F0D9",
    "edge": "#555555",
    "gradient": "#D55E00",
    "blocked": "#B00000",
}

#: Colours of the Monte Carlo and sampling figures (Okabe-Ito, colour-blind safe).
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

#: Colours of series without a colour of their own, in order.
CYCLE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")

_COLOR_KEYS = {"score_function_optimal_baseline": "score_function_baseline"}
_MARKERS = {
    "score_function": "o",
    "score_function_optimal_baseline": "s",
    "score_function_baseline": "s",
    "pathwise": "^",
    "measure_valued": "x",
    "measure_valued_coupled": "D",
}
_LINESTYLES = {"measure_valued": "--"}


@contextlib.contextmanager
def style():
    """Context manager that applies :data:`BOOK_STYLE` to figures created inside it."""
    with plt.rc_context(BOOK_STYLE):
        yield


def figure(
    nrows: int = 1, ncols: int = 1, *, width: float = 7.0, height: float | None = None, **subplot_kw
):
    """Create a figure and axes in the book style.

    Text and artists added later keep the book's fonts when the drawing code runs
    inside ``with style():`` too; the helpers in this package do.
    """
    nrows = check_int(nrows, "nrows", minimum=1, maximum=100)
    ncols = check_int(ncols, "ncols", minimum=1, maximum=100)
    if height is None:
        height = 2.8 * nrows
    with style():
        fig, axes = plt.subplots(
            nrows, ncols, figsize=(width, height), constrained_layout=True, **subplot_kw
        )
    return fig, axes


def finish_axes(
    ax,
    *,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    logx: bool = False,
    logy: bool = False,
    legend_loc: str | None = "best",
) -> None:
    """Scales, axis labels, title and legend of one panel, the same way in every figure."""
    legend_loc = legend_location(legend_loc)
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


def estimator_style(name: str) -> dict:
    """Return the line style of an estimator: colour, marker, line style and label.

    Raises:
        ValueError: if ``name`` is not a known estimator.
    """
    if not isinstance(name, str) or name not in ESTIMATOR_LABELS:
        raise ValueError(f"unknown estimator name={name!r}; use one of {sorted(ESTIMATOR_LABELS)}")
    return {
        "color": ESTIMATOR_COLORS[_COLOR_KEYS.get(name, name)],
        "marker": _MARKERS[name],
        "linestyle": _LINESTYLES.get(name, "-"),
        "label": ESTIMATOR_LABELS[name],
    }


#: The legend locations matplotlib accepts by name.
LEGEND_LOCATIONS = tuple(matplotlib.legend.Legend.codes)


def legend_location(value, name: str = "legend_loc", *, optional: bool = True) -> str | None:
    """A legend location by name (``"best"``, ``"upper left"``, ...), or ``None`` if ``optional``."""
    if value is None and optional:
        return None
    return check_choice(value, LEGEND_LOCATIONS, name)


def axis_scale(value, name: str = "xscale") -> str:
    """An axis scale, ``"linear"`` or ``"log"``."""
    return check_choice(value, ("linear", "log"), name)


def optional_mapping(value, name: str, *, example: str = "{'name': values}") -> dict:
    """A copy of the mapping ``value`` (``{}`` for ``None``); anything else a TypeError naming ``name``."""
    return {} if value is None else dict(check_mapping(value, name, example=example))


def as_numpy(values) -> np.ndarray:
    """A float64 NumPy copy of a tensor, array or list (detached, on the CPU)."""
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().double().numpy()
    return np.asarray(values, dtype=float)


def axes(ax, width: float = 7.0, height: float | None = None):
    """``(figure, ax)``: the given axes and their figure, or a new book-style figure with one axes."""
    if ax is None:
        return figure(1, 1, width=width, height=height)
    return ax.figure, ax


def truth_line(draw, truth, label: str, linewidth: float = 1.2, name: str = "truth") -> None:
    """The exact value as a black dashed line, ``draw`` being ``ax.axhline`` or ``ax.axvline``."""
    draw(
        check_float(truth, name),
        color=MC_COLORS["truth"],
        linestyle="--",
        linewidth=linewidth,
        label=label,
    )


def color(name: str, index: int, colors: Mapping[str, str] | None = None) -> str:
    """The colour of series ``name``: from ``colors``, else the estimator's or method's, else the cycle."""
    if colors and name in colors:
        return colors[name]
    if name in ESTIMATOR_COLORS:
        return ESTIMATOR_COLORS[name]
    for key, value in VARIANCE_METHOD_COLORS.items():
        if name.startswith(key):
            return value
    return CYCLE[index % len(CYCLE)]


def named_series(values, label: str) -> dict:
    """``{name: values}`` from a dict of series, or ``{label: values}`` for one series; ValueError if empty."""
    if isinstance(values, Mapping):
        if not values:
            raise ValueError("the dict of series is empty; pass {name: values}")
        return dict(values)
    return {label: values}


def display_name(name: str) -> str:
    """Legend text of a series name: the estimator's label; in an identifier (``"moving_average"``)
    underscores become spaces; any other text (math such as ``"$\\hat\\pi_n$"``) is kept as it is."""
    if name in ESTIMATOR_LABELS:
        return ESTIMATOR_LABELS[name]
    return name.replace("_", " ") if name.isidentifier() else name


def dtype_of(distribution) -> torch.dtype:
    """Floating dtype of a distribution's parameters (the grid its ``log_prob`` is evaluated on)."""
    try:
        mean = distribution.mean
    except NotImplementedError:
        mean = None
    if isinstance(mean, torch.Tensor) and mean.is_floating_point():
        return mean.dtype
    return torch.get_default_dtype()


_OPEN_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def draw_series(
    ax,
    lines,
    markers,
    *,
    colors=None,
    standard_errors=None,
    line_marker: str | None = None,
    marker_cycle: bool = False,
    arg_names=("lines", "markers"),
) -> None:
    """Draw ``{name: (x, y)}`` series: ``lines`` as lines, ``markers`` as open markers.

    A name in both gets one colour and one legend entry; ``standard_errors``
    (``{name: standard errors of y}``, lines only) become bars of plus/minus 2 standard
    errors. ``marker_cycle`` gives each name its own marker shape. Shape errors name
    the argument (``arg_names``) and the series.
    """
    names = list(dict.fromkeys([*lines, *markers]))
    standard_errors = standard_errors or {}
    for i, name in enumerate(names):
        c = color(name, i, colors)
        label = display_name(name)
        for group, arg in zip((lines, markers), arg_names):
            if name not in group:
                continue
            x, y = (as_numpy(v).ravel() for v in group[name])
            if x.shape != y.shape:
                raise ValueError(
                    f"{arg}[{name!r}] has {y.size} values for {x.size} x-values; pass one per x-value"
                )
            if group is markers:
                marker = _OPEN_MARKERS[i % len(_OPEN_MARKERS)] if marker_cycle else "o"
                ax.plot(
                    x,
                    y,
                    linestyle="none",
                    marker=marker,
                    markersize=5,
                    color=c,
                    markerfacecolor="white",
                    markeredgewidth=1.3,
                    label=label,
                )
            elif name in standard_errors:
                se = as_numpy(standard_errors[name]).ravel()
                if se.shape != y.shape:
                    raise ValueError(
                        f"standard_errors[{name!r}] has {se.size} values for {y.size} values of y"
                    )
                ax.errorbar(
                    x,
                    y,
                    yerr=2 * se,
                    color=c,
                    marker=line_marker,
                    markersize=3.5,
                    capsize=3,
                    label=f"{label} $\\pm 2$ SE",
                )
            else:
                ax.plot(x, y, color=c, marker=line_marker, markersize=3.5, label=label)
            label = None


check_public_functions(globals())  # each public function checks its annotated arguments
