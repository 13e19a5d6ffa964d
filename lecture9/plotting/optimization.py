"""Stochastic optimisation runs (chapters 2, 3, 8 and 9): parameter trajectories and learning curves.

Every helper draws inside :func:`lecture9.plotting.style` and returns the
``Figure``. A series named after an estimator or a variance-reduction method
(keys of ``ESTIMATOR_COLORS`` or ``VARIANCE_METHOD_COLORS``) gets its colour.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .._validation import check_array, check_public_functions
from .common import (
    ESTIMATOR_COLORS,
    as_numpy,
    axes,
    color,
    display_name,
    figure,
    finish_axes,
    named_series,
    style,
)

__all__ = ["plot_trajectory", "plot_learning_curves"]


def plot_trajectory(
    iterates,
    optimum=None,
    *,
    ax=None,
    label: str = "iterate",
    xlabel: str = "iteration $t$",
    ylabel: str = r"parameter $\theta_t$",
    title: str | None = None,
    logy: bool = False,
    legend_loc: str = "best",
):
    """Parameter values along stochastic-gradient runs, with the optimum.

    The stochastic optimisation loop of Mohamed et al. (2020), Sec. 2.2, Fig. 1.

    Raises:
        ValueError: if ``iterates`` is an empty dict, or ``optimum`` has neither
            one value nor one per coordinate.

    Shapes:
        Each run: ``(num_steps + 1,)`` or ``(num_steps + 1, d)``; ``optimum``: ``()`` or ``(d,)``.
    """
    runs = {
        name: check_array(run, "iterates", finite=False)
        for name, run in named_series(iterates, label).items()
    }
    opt = None if optimum is None else np.atleast_1d(check_array(optimum, "optimum")).ravel()
    with style():
        fig, ax = axes(ax)
        index = 0
        for name, run in runs.items():
            t = run.reshape(len(run), -1)
            if opt is not None and opt.size not in (1, t.shape[1]):
                raise ValueError(
                    f"optimum has {opt.size} values; pass one, or one per coordinate ({t.shape[1]})"
                )
            for j in range(t.shape[1]):
                c = color(name, index)
                index += 1
                ax.plot(
                    np.arange(len(t)),
                    t[:, j],
                    color=c,
                    lw=1.4,
                    label=display_name(name) if t.shape[1] == 1 else f"{display_name(name)} [{j}]",
                )
        if opt is not None:
            for j, value in enumerate(opt):
                ax.axhline(
                    float(value),
                    color=ESTIMATOR_COLORS["exact"],
                    ls="--",
                    lw=1.0,
                    label=f"optimum {value:.3g}" if opt.size == 1 else f"optimum [{j}] {value:.3g}",
                )
        finish_axes(ax, xlabel=xlabel, ylabel=ylabel, title=title, logy=logy, legend_loc=legend_loc)
    return fig


def plot_learning_curves(
    curves: Mapping[str, Sequence[float] | Mapping[str, Sequence[float]]],
    *,
    key: str = "test_elbo",
    steps=None,
    time_axis: bool = False,
    bands: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
    reference: float | None = None,
    reference_label: str = "optimum",
    ax=None,
    xlabel: str = "step",
    ylabel: str = "objective",
    title: str | None = None,
    logy: bool = False,
    ylim: tuple[float, float] | None = None,
    colors: Mapping[str, str] | None = None,
    legend: bool = True,
    width: float = 7.0,
):
    """Learning curves, one line per method or run, optional bands and a horizontal reference.

    Raises:
        ValueError: if ``curves`` is empty, a history lacks ``key``, ``"epoch"``
            or ``"time"``, or ``time_axis`` is asked with ``ax`` or plain curves.

    Shapes:
        Each curve, band and history entry: ``(num_steps,)``.
    """
    if not curves:
        raise ValueError("curves must hold at least one run")
    histories = [isinstance(v, Mapping) for v in curves.values()]
    if time_axis and (ax is not None or not all(histories)):
        raise ValueError("time_axis needs history dicts (with 'time') and a new figure (ax=None)")
    for name, value in curves.items():
        needed = [key, "epoch"] + (["time"] if time_axis else [])
        missing = [k for k in needed if isinstance(value, Mapping) and k not in value]
        if missing:
            raise ValueError(
                f"the history of {name!r} has no {missing}; pass histories of lecture9.training.train"
            )
    bands = bands or {}
    steps = None if steps is None else check_array(steps, "steps", ndim=1)
    if ax is None:
        fig, panels = figure(1, 2 if time_axis else 1, width=width, height=3.0)
        panels = list(np.atleast_1d(panels))
    else:
        fig, panels = ax.figure, [ax]
    with style():
        for i, (name, value) in enumerate(curves.items()):
            c = color(name, i, colors)
            if isinstance(value, Mapping):
                x, y = as_numpy(value["epoch"]), as_numpy(value[key])
            else:
                y = as_numpy(value)
                x = np.arange(len(y)) if steps is None else steps
                if x.shape != y.shape:
                    raise ValueError(f"steps has {x.size} values for {y.size} values of {name!r}")
            panels[0].plot(x, y, color=c, label=display_name(name))
            if name in bands:
                lo, hi = bands[name]
                panels[0].fill_between(
                    x, as_numpy(lo), as_numpy(hi), color=c, alpha=0.2, linewidth=0
                )
            if time_axis:
                panels[1].plot(as_numpy(value["time"]), y, color=c, label=display_name(name))
        for panel, panel_xlabel in zip(panels, (xlabel, "training time (s)")):
            if reference is not None:
                panel.axhline(
                    reference,
                    color=ESTIMATOR_COLORS["exact"],
                    linestyle="--",
                    linewidth=1.2,
                    label=reference_label,
                )
            if ylim is not None:
                panel.set_ylim(*ylim)
            finish_axes(
                panel,
                xlabel=panel_xlabel,
                ylabel=ylabel,
                title=title if panel is panels[0] else None,
                logy=logy,
                legend_loc="best" if legend and panel is panels[0] else None,
            )
    return fig


check_public_functions(globals())  # each public function checks its annotated arguments
