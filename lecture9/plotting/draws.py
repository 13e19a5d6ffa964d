"""One estimate among many: a histogram of repeated estimates with chosen draws marked.

Introduced in chapter 1, *Monte Carlo estimation*: the lecture's estimate of
:math:`\\pi` and the chapter's are two ordinary draws from the same distribution.
"""

from __future__ import annotations

from collections.abc import Mapping

from .._validation import check_array, check_float, check_public_functions
from .common import figure, style, truth_line

__all__ = ["plot_estimate_draws"]

_MARK_COLORS = ("#D55E00", "#0072B2", "#009E73", "#CC79A7")


def plot_estimate_draws(
    estimates,
    truth: float,
    marks: Mapping[str, float],
    *,
    ax=None,
    bins: int = 40,
    xlabel: str = "estimate",
):
    """Histogram of repeated estimates, the exact value, and chosen single estimates marked on it.

    Each mark's legend entry gives its value and the fraction of the repeated
    estimates at or below it (its percentile), so a reader sees at a glance whether
    it is an ordinary draw.

    Raises:
        ValueError: if ``estimates`` is not one-dimensional with at least two values.

    Shapes:
        ``estimates``: ``(num_runs,)``.
    """
    values = check_array(estimates, "estimates", min_len=0)
    if values.ndim != 1 or values.size < 2:
        raise ValueError(
            f"estimates must be one-dimensional with at least 2 values, got shape {values.shape}"
        )
    if ax is None:
        fig, ax = figure()
    else:
        fig = ax.figure
    with style():
        heights, _, _ = ax.hist(
            values,
            bins=bins,
            density=True,
            color="#999999",
            alpha=0.6,
            label=f"{values.size} runs: mean {values.mean():.4f}, sd {values.std(ddof=1):.4f}",
        )
        truth = check_float(truth, "truth")
        truth_line(ax.axvline, truth, f"exact value {truth:.4f}", linewidth=1.5)
        for i, (label, value) in enumerate(marks.items()):
            below = 100.0 * float((values <= value).mean())
            ax.axvline(
                float(value),
                color=_MARK_COLORS[i % len(_MARK_COLORS)],
                linewidth=2.0,
                label=f"{label}: {float(value):.4f} ({below:.0f} % of runs at or below)",
            )
        ax.set_ylim(0.0, 1.6 * float(heights.max()))  # room for the legend above the bars
        ax.set_xlabel(xlabel)
        ax.set_ylabel("density")
        ax.legend(loc="upper left", fontsize=8)
    return fig


check_public_functions(globals())  # each public function checks its annotated arguments
