"""Several runs of stochastic gradient descent: one run drawn, the spread of all as a band.

Introduced in chapter 2, *Sampling* (doubly stochastic optimisation with a constant step).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .._validation import check_array, check_public_functions
from .common import as_numpy, figure, style, truth_line

__all__ = ["plot_sgd_runs"]

_CYCLE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")


def plot_sgd_runs(
    trajectories: Mapping[str, object],
    optimum: float,
    *,
    ax=None,
    ylabel: str = r"$\theta_t$",
    quantiles: tuple[float, float] = (0.1, 0.9),
):
    """Iterates of independent SGD runs: the first run as a line, the runs' quantile band shaded.

    Raises:
        ValueError: if a trajectory is not two-dimensional.
    """
    if ax is None:
        fig, ax = figure()
    else:
        fig = ax.figure
    bounds = check_array(quantiles, "quantiles", ndim=1)
    if bounds.shape != (2,) or not 0 <= bounds[0] < bounds[1] <= 1:
        raise ValueError(
            f"quantiles must be a pair (low, high), 0 <= low < high <= 1, got {quantiles}"
        )
    lo_q, hi_q = bounds
    with style():
        for i, (label, trajectory) in enumerate(trajectories.items()):
            t = as_numpy(trajectory)
            if t.ndim != 2:
                raise ValueError(
                    f"trajectories[{label!r}] must have shape (num_steps + 1, num_runs), got {t.shape}"
                )
            steps = np.arange(t.shape[0])
            color = _CYCLE[i % len(_CYCLE)]
            lo, hi = np.quantile(t, [lo_q, hi_q], axis=1)
            ax.fill_between(
                steps,
                lo,
                hi,
                color=color,
                alpha=0.2,
                linewidth=0,
                label=f"{label}: {lo_q:.0%}-{hi_q:.0%} of {t.shape[1]} runs",
            )
            ax.plot(steps, t[:, 0], color=color, linewidth=1.2, label=f"{label}: one run")
        truth_line(ax.axhline, optimum, r"minimiser $\theta^\star$", linewidth=1.0, name="optimum")
        ax.set_xlabel("step $t$")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=8, loc="lower right")
    return fig


check_public_functions(globals())  # each public function checks its annotated arguments
