"""Figure helpers for chapter 11, *Policy gradients*.

Each helper draws on a given ``ax`` (or a new book-style figure) and returns the
``Figure``. Estimates are always drawn beside the exact values they estimate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from .._validation import check_array, check_float, check_instance, check_public_functions
from .common import ESTIMATOR_COLORS, as_numpy, axes, finish_axes, style

__all__ = [
    "POLICY_GRADIENT_COLORS",
    "plot_gradient_agreement",
    "plot_estimator_variances",
    "plot_frozenlake",
    "plot_return_distributions",
    "plot_policy_training",
    "plot_gae_tradeoff",
]

#: Colours of the policy-gradient estimators (Okabe-Ito, consistent with ``ESTIMATOR_COLORS``).
POLICY_GRADIENT_COLORS = {
    "whole return": ESTIMATOR_COLORS["score_function"],
    "reward-to-go": ESTIMATOR_COLORS["score_function_baseline"],
    "reward-to-go + value baseline": ESTIMATOR_COLORS["measure_valued"],
    "dropped discount": ESTIMATOR_COLORS["rloo"],
    "package sampler": ESTIMATOR_COLORS["control_variate"],
    "Gymnasium step loop": ESTIMATOR_COLORS["pathwise"],
    "exact gradient": ESTIMATOR_COLORS["exact"],
    "exact V": ESTIMATOR_COLORS["measure_valued"],
    "learned V": ESTIMATOR_COLORS["score_function"],
    "no baseline": ESTIMATOR_COLORS["score_function"],
    "learned baseline": ESTIMATOR_COLORS["measure_valued"],
    "exact": ESTIMATOR_COLORS["exact"],
}

_ARROWS = {
    0: (-1, 0),
    1: (0, -1),
    2: (1, 0),
    3: (0, 1),
}  # FrozenLake: left, down, right, up (x, y up)


def _color(name: str, index: int) -> str:
    if name in POLICY_GRADIENT_COLORS:
        return POLICY_GRADIENT_COLORS[name]
    for key, value in POLICY_GRADIENT_COLORS.items():
        if name.startswith(key):
            return value
    return plt.rcParams["axes.prop_cycle"].by_key()["color"][index % 10]


def plot_gradient_agreement(
    exact, estimates: Mapping[str, tuple], *, ax=None, num_se: float = 2.0, title: str | None = None
):
    r"""Each entry of Monte Carlo gradient estimates against the exact gradient, with error bars.

    Points of an unbiased estimator scatter around the diagonal within their error bars;
    a biased one leaves it. Give an estimator's own exact expectation as a third element
    to draw it as open markers (e.g. the dropped-discount slip, whose expectation is not
    the gradient).

    Args:
        exact: the exact gradient (any shape; flattened).
        estimates: ``{name: (mean, standard_error)}`` or ``{name: (mean, standard_error,
            expectation)}``, each of the shape of ``exact``.
        ax: axes to draw on (default: a new figure).
        num_se: half-width of the error bars in standard errors.
        title: panel title.
    """
    x = check_array(exact, "exact").ravel()
    num_se = check_float(num_se, "num_se", minimum=0.0)
    with style():
        fig, ax = axes(ax, width=5.5, height=4.2)
        lo, hi = x.min(), x.max()
        for i, (name, values) in enumerate(estimates.items()):
            mean, se = as_numpy(values[0]).ravel(), as_numpy(values[1]).ravel()
            color = _color(name, i)
            ax.errorbar(
                x,
                mean,
                yerr=num_se * se,
                fmt="o",
                ms=4,
                color=color,
                capsize=2,
                label=f"{name} (±{num_se:g} SE)",
            )
            if len(values) > 2:
                ax.plot(
                    x,
                    as_numpy(values[2]).ravel(),
                    "s",
                    mfc="none",
                    ms=8,
                    color=color,
                    label=f"{name}: its exact expectation",
                )
            lo, hi = min(lo, (mean - num_se * se).min()), max(hi, (mean + num_se * se).max())
        pad = 0.05 * (hi - lo)
        ax.plot(
            [lo - pad, hi + pad],
            [lo - pad, hi + pad],
            color=POLICY_GRADIENT_COLORS["exact"],
            lw=1,
            label="estimate = exact gradient",
        )
        finish_axes(
            ax,
            xlabel=r"exact $\partial J / \partial \theta_{s,a}$",
            ylabel="Monte Carlo estimate",
            title=title,
            legend_loc="upper left",
        )
    return fig


def plot_estimator_variances(
    x,
    variances: Mapping[str, Sequence],
    *,
    xlabel: str,
    exact: Mapping[str, Sequence] | None = None,
    signal=None,
    ax=None,
    logy: bool = True,
    title: str | None = None,
):
    r"""Total variance :math:`\mathbb{E}\lVert \hat\eta - \nabla J \rVert^2` of one-episode estimates, per estimator.

    Measured values as markers, exact ones (by enumeration) as lines of the same colour.

    Args:
        x: the varied setting (e.g. the horizon).
        variances: ``{name: values}``, measured, one value per entry of ``x``.
        xlabel: label of ``x``.
        exact: ``{name: values}``, the exact variances, drawn as lines.
        signal: optional :math:`\lVert \nabla J \rVert^2` per entry of ``x``, drawn dashed:
            the signal the noise competes with.
        ax: axes to draw on (default: a new figure).
        logy: logarithmic variance axis.
        title: panel title.
    """
    xs = check_array(x, "x", ndim=1)
    signal = None if signal is None else check_array(signal, "signal", ndim=1)
    if signal is not None and signal.shape != xs.shape:
        raise ValueError(f"signal has {signal.size} values for {xs.size} values of x")
    with style():
        fig, ax = axes(ax, height=3.2)
        for i, (name, values) in enumerate(variances.items()):
            color = _color(name, i)
            has_exact = exact is not None and name in exact
            ax.plot(xs, as_numpy(values), "o", color=color, label=None if has_exact else name)
            if has_exact:
                ax.plot(xs, as_numpy(exact[name]), "-", color=color, label=name)
        if exact is not None:
            ax.plot([], [], "o", color="#777777", label="markers: measured, lines: exact")
        if signal is not None:
            ax.plot(
                xs,
                signal,
                "--",
                color=POLICY_GRADIENT_COLORS["exact"],
                label=r"$\|\nabla J\|^2$ (exact)",
            )
        finish_axes(
            ax,
            xlabel=xlabel,
            ylabel="total variance, one episode",
            logy=logy,
            title=title,
            legend_loc="lower right",
        )
    return fig


def _lake_grid(desc) -> np.ndarray:
    """The FrozenLake map ``desc`` (rows of bytes or str) as a 2-D array of letters."""
    message = f"desc must be the map as rows of bytes or str (env.unwrapped.desc), got {desc!r:.60}"
    if isinstance(desc, (str, bytes)) or not hasattr(desc, "__iter__"):
        raise TypeError(message)
    try:
        grid = np.array(
            [[c.decode() if isinstance(c, bytes) else str(c) for c in row] for row in desc]
        )
    except TypeError as error:
        raise TypeError(message) from error
    if grid.ndim != 2 or grid.size == 0:
        raise ValueError(message)
    return grid


def plot_frozenlake(desc, logits=None, *, values=None, ax=None, title: str | None = None):
    r"""The FrozenLake map, optionally coloured by ``values`` and with the policy as arrows.

    Arrows point along each action, their length proportional to :math:`\pi(a \mid s)`.
    Letters mark the start (S), holes (H) and goal (G).

    Args:
        desc: the map, ``env.unwrapped.desc`` (rows of bytes).
        logits: policy logits ``(S, A)`` with FrozenLake's actions (left, down, right, up).
        values: a value per state ``(S,)`` for the background colour (e.g. success probability).
        ax: axes to draw on (default: a new figure).
        title: panel title.
    """
    grid = _lake_grid(desc)
    rows, cols = grid.shape
    if values is not None:
        values = check_array(values, "values")
        if values.size != rows * cols:
            raise ValueError(
                f"values must hold one value per state ({rows * cols}), got {values.size}"
            )
    with style():
        fig, ax = axes(ax, width=3.6, height=3.6)
        if values is not None:
            image = ax.imshow(values.reshape(rows, cols), cmap="Blues", vmin=0, origin="upper")
            fig.colorbar(image, ax=ax, shrink=0.8)
        else:
            ax.imshow(np.zeros((rows, cols)), cmap="Greys", vmin=0, vmax=1, origin="upper")
        probs = (
            None
            if logits is None
            else torch.softmax(torch.as_tensor(check_array(logits, "logits", ndim=2)), -1).numpy()
        )
        for r in range(rows):
            for c in range(cols):
                letter = grid[r, c]
                if letter in "SHG":
                    ax.text(
                        c,
                        r,
                        letter,
                        ha="center",
                        va="center",
                        fontsize=12,
                        weight="bold",
                        color="#D55E00" if letter == "H" else "#000000",
                    )
                if probs is not None and letter not in "HG":
                    for a, (dx, dy) in _ARROWS.items():
                        p = probs[r * cols + c, a]
                        ax.arrow(
                            c,
                            r,
                            0.42 * p * dx,
                            -0.42 * p * dy,
                            width=0.02,
                            head_width=0.1 * (p > 0.05),
                            length_includes_head=True,
                            color="#333333",
                        )
        ax.set_xticks(range(cols))
        ax.set_yticks(range(rows))
        ax.grid(False)
        ax.set_xlabel("column")
        ax.set_ylabel("row")
        if title:
            ax.set_title(title)
    return fig


def plot_return_distributions(
    returns: Mapping[str, torch.Tensor],
    *,
    exact_mean: float | None = None,
    ax=None,
    title: str | None = None,
):
    """Empirical CDFs of episode returns from several samplers, with the exact mean return.

    Two samplers of the same process give CDFs that lie on top of each other.

    Args:
        returns: ``{name: returns}``, one 1-d tensor of episode returns each.
        exact_mean: the exact expected return, drawn as a vertical line.
        ax: axes to draw on (default: a new figure).
        title: panel title.
    """
    with style():
        fig, ax = axes(ax, height=3.0)
        styles = ("-", "--", ":", "-.")
        for i, (name, values) in enumerate(returns.items()):
            v = np.sort(as_numpy(values))
            mean, se = v.mean(), v.std(ddof=1) / np.sqrt(len(v))
            ax.step(
                v,
                np.arange(1, len(v) + 1) / len(v),
                where="post",
                ls=styles[i % 4],
                color=_color(name, i),
                label=f"{name}: mean {mean:.4f} ± {se:.4f}",
            )
        if exact_mean is not None:
            ax.axvline(
                exact_mean,
                color=POLICY_GRADIENT_COLORS["exact"],
                lw=1,
                label=f"exact mean {exact_mean:.4f}",
            )
        finish_axes(
            ax,
            xlabel="discounted return of an episode",
            ylabel="fraction of episodes ≤ return",
            title=title,
            legend_loc="lower right",
        )
    return fig


def plot_policy_training(
    episodes,
    curves: Mapping[str, torch.Tensor],
    *,
    exact=None,
    optimum: float | None = None,
    ax=None,
    logx: bool = False,
    title: str | None = None,
    legend_loc: str = "center right",
    xlabel: str = "episodes used",
    ylabel: str = "exact return J(θ)",
    optimum_label: str = "best policy, J = {:.3f}",
):
    r"""Training curves against the episodes (or batches) used, mean and range over seeds.

    By default the exact return :math:`J(\theta)` of a finite MDP; any return per
    iteration (e.g. a batch's mean return on CartPole) with ``ylabel``.

    Args:
        episodes: episodes (or batches) used after each iteration, shape ``(num_iterations,)``.
        curves: ``{name: returns}``, each of shape ``(num_seeds, num_iterations)``.
        exact: optional exact-gradient-ascent curve ``(num_iterations,)``, drawn against
            the same iterations (it uses no episodes).
        optimum: the best return reachable, drawn dotted, labelled ``optimum_label.format(optimum)``.
        ax: axes to draw on (default: a new figure).
        logx: logarithmic episode axis.
        title: panel title.
        legend_loc: where to put the legend.
        xlabel, ylabel: axis labels.
        optimum_label: the label of the optimum's line.

    Raises:
        TypeError, ValueError: if ``curves`` is not a non-empty mapping of
            ``(num_seeds, len(episodes))`` arrays.
    """
    xs = check_array(episodes, "episodes", ndim=1)
    exact = None if exact is None else check_array(exact, "exact", ndim=1)
    if exact is not None and exact.shape != xs.shape:
        raise ValueError(f"exact has {exact.size} values for {xs.size} values of episodes")
    check_instance(optimum_label, str, "optimum_label")
    if not isinstance(curves, Mapping) or not curves:
        raise TypeError(
            f"curves must be a non-empty mapping {{name: (seeds, iterations) returns}}, got {type(curves).__name__}"
        )
    with style():
        fig, ax = axes(ax, height=3.4)
        for i, (name, runs) in enumerate(curves.items()):
            runs = as_numpy(runs)
            if runs.ndim != 2 or runs.shape[1] != len(xs):
                raise ValueError(
                    f"curves[{name!r}] must have shape (num_seeds, {len(xs)}), got {runs.shape}"
                )
            color = _color(name, i)
            ax.plot(
                xs,
                runs.mean(0),
                color=color,
                label=f"{name} (mean of {runs.shape[0]} seeds, band: min to max)",
            )
            ax.fill_between(xs, runs.min(0), runs.max(0), color=color, alpha=0.2, lw=0)
        if exact is not None:
            ax.plot(
                xs,
                exact,
                color=POLICY_GRADIENT_COLORS["exact gradient"],
                ls="--",
                label="exact gradient ascent (same iterations)",
            )
        if optimum is not None:
            ax.axhline(optimum, color="#777777", ls=":", lw=1, label=optimum_label.format(optimum))
        finish_axes(
            ax,
            xlabel=xlabel,
            ylabel=ylabel,
            logx=logx,
            title=title,
            legend_loc=legend_loc,
        )
    return fig


def _check_series(series, name: str, length: int) -> None:
    if not isinstance(series, Mapping) or not series:
        raise TypeError(
            f"{name} must be a non-empty mapping {{label: values}}, got {type(series).__name__}"
        )
    for label, values in series.items():
        if as_numpy(values).shape[-1] != length:
            raise ValueError(
                f"{name}[{label!r}] has {as_numpy(values).shape[-1]} values, expected {length}"
            )


def plot_gae_tradeoff(
    lams,
    bias: Mapping[str, Sequence],
    variance: Mapping[str, Sequence],
    *,
    noise: Mapping[str, Sequence] | None = None,
    title: str | None = None,
):
    r"""Bias and variance of the GAE policy gradient against :math:`\lambda`, one line per value function.

    Args:
        lams: the values of :math:`\lambda`.
        bias: ``{name: values}``, the bias norm relative to :math:`\lVert \nabla J \rVert`.
        variance: ``{name: values}``, the total variance of a one-episode estimate.
        noise: ``{name: values}``, the noise level of the measured bias (what an unbiased
            estimator would show), drawn dashed.
        title: figure title.
    """
    xs = check_array(lams, "lams", ndim=1)
    _check_series(bias, "bias", len(xs))
    _check_series(variance, "variance", len(xs))
    with style():
        fig, (left, right) = plt.subplots(1, 2, figsize=(7.0, 3.0), layout="constrained")
        for i, (name, values) in enumerate(bias.items()):
            left.plot(xs, as_numpy(values), "o-", ms=4, color=_color(name, i), label=name)
            if noise is not None and name in noise:
                left.plot(
                    xs,
                    as_numpy(noise[name]),
                    "--",
                    lw=1,
                    color=_color(name, i),
                    label=f"{name}: noise level",
                )
        for i, (name, values) in enumerate(variance.items()):
            right.plot(xs, as_numpy(values), "o-", ms=4, color=_color(name, i), label=name)
        finish_axes(
            left,
            xlabel=r"$\lambda$",
            ylabel=r"$\|$bias$\| \,/\, \|\nabla J\|$",
            title="bias",
            legend_loc="upper right",
        )
        finish_axes(
            right,
            xlabel=r"$\lambda$",
            ylabel="total variance, one episode",
            title="variance",
            logy=True,
            legend_loc="upper left",
        )
        if title:
            fig.suptitle(title)
    return fig


check_public_functions(globals())  # each public function checks its annotated arguments
