r"""Monte Carlo estimates: plain, importance-weighted, and their errors.

Introduced in chapter 1, *Monte Carlo estimation* (importance sampling returns in
chapter 2, *Sampling*). An expectation (or any integral that can be written as one)
is approximated by an average over samples,

.. math::

    \mathbb{E}_{p(x)}[f(x)] = \int p(x) f(x) \, dx
    \approx \hat{f}_N = \frac{1}{N} \sum_{i=1}^{N} f(x_i), \qquad x_i \sim p(x).

The estimator :math:`\hat{f}_N` is itself a random variable: it is unbiased and its
variance is :math:`\mathrm{Var}[f(x)] / N`, so its error shrinks like
:math:`O(1/\sqrt{N})` (Mohamed et al. (2020), Sec. 2). Every estimate returned
here carries its standard error and a confidence interval.

Samplers are either a ``torch.distributions.Distribution`` (drawn with
:func:`lecture9.sampling.draw`) or a callable ``sampler(n, generator=...)``; every
random function takes a keyword ``generator: torch.Generator | None``. Streaming
estimates (:func:`estimate_pi`, :func:`mc_estimate`) process at most
:data:`CHUNK_SIZE` samples at a time, so memory stays bounded, and accept up to
:data:`MAX_STREAMING_SAMPLES` samples.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import torch
from scipy import stats

from ._validation import (
    MAX_NUM_SAMPLES,
    check_array,
    check_distribution,
    check_finite,
    check_generator,
    check_num_samples,
    check_positive_int,
)
from .sampling import (
    check_scalar_batch,
    draw_samples,
    draw_unchecked,
    evaluate_samples,
    support_log_prob,
    target_log_density,
)

__all__ = [
    "MonteCarloEstimate",
    "ImportanceEstimate",
    "MAX_STREAMING_SAMPLES",
    "CHUNK_SIZE",
    "sample_unit_square",
    "pi_from_points",
    "estimate_pi",
    "mc_estimate",
    "repeated_estimates",
    "running_mean",
    "error_by_sample_size",
    "loglog_slope",
    "integral_estimate",
    "importance_estimate",
    "effective_sample_size",
]

Tensor = torch.Tensor

#: Largest sample count of a streaming estimate (:func:`estimate_pi`, :func:`mc_estimate`): about
#: a minute or more of sampling; past it a clear error instead of hours of work.
MAX_STREAMING_SAMPLES = 10**10
#: Samples drawn and evaluated at once by the streaming estimates (memory bound, cache-friendly).
CHUNK_SIZE = 2**17

# --------------------------------------------------------------------------- estimates


@dataclasses.dataclass(frozen=True)
class MonteCarloEstimate:
    """A Monte Carlo estimate with its standard error.

    Attributes:
        value: the estimate :math:`\\hat{f}_N`.
        standard_error: the estimated standard deviation of :math:`\\hat{f}_N`,
            :math:`s / \\sqrt{N}` with :math:`s` the sample standard deviation
            (``nan`` when ``num_samples == 1``).
        num_samples: the number of samples :math:`N` the estimate averages.
    """

    value: float
    standard_error: float
    num_samples: int

    def confidence_interval(self, level: float = 0.95) -> tuple[float, float]:
        """Normal-approximation confidence interval ``value +- z * standard_error``.

        .. math::

            \\hat{f}_N \\pm z_{(1 + \\text{level}) / 2} \\, \\mathrm{SE}

        Raises:
            ValueError: if ``level`` is not in (0, 1).
        """
        if not isinstance(level, (int, float)) or isinstance(level, bool) or not 0.0 < level < 1.0:
            raise ValueError(
                f"level must be a number strictly between 0 and 1, got {level!r}; e.g. level=0.95"
            )
        z = float(stats.norm.ppf(0.5 + level / 2.0))
        return (self.value - z * self.standard_error, self.value + z * self.standard_error)

    @classmethod
    def from_values(cls, values: Tensor) -> MonteCarloEstimate:
        """Summarise per-sample values :math:`f(x_i)` into an estimate.

        Raises:
            ValueError: if ``values`` is not a non-empty 1-D tensor.

        Shapes:
            ``values``: ``(num_samples,)``.
        """
        if not isinstance(values, torch.Tensor) or values.dim() != 1 or values.numel() == 0:
            raise ValueError(
                "values must be a non-empty 1-D tensor of per-sample values, got "
                f"{tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__}"
            )
        v = values.detach().double()
        if not torch.isfinite(v).all():
            i = int((~torch.isfinite(v)).nonzero()[0])
            raise ValueError(
                f"values must be finite, got {float(v[i])} at index {i}; check the cost that produced them"
            )
        n = v.numel()
        se = float(v.std(unbiased=True) / math.sqrt(n)) if n > 1 else math.nan
        return cls(float(v.mean()), se, n)


@dataclasses.dataclass(frozen=True)
class ImportanceEstimate(MonteCarloEstimate):
    """An importance-sampling estimate with the effective sample size of its weights.

    Attributes:
        effective_sample_size: Kong's effective sample size
            :math:`(\\sum_i w_i)^2 / \\sum_i w_i^2`, between 1 and ``num_samples``.
    """

    effective_sample_size: float = math.nan


# --------------------------------------------------------------------------- pi and plain MC


def sample_unit_square(num_samples: int, *, generator: torch.Generator | None = None) -> Tensor:
    """Uniform points in the unit square :math:`[0, 1)^2`.

    Raises:
        TypeError, ValueError: for a bad ``num_samples`` or ``generator``.

    Shapes:
        Output: ``(num_samples, 2)``.
    """
    num_samples = check_num_samples(num_samples)
    check_generator(generator)
    return torch.rand(num_samples, 2, generator=generator)


def pi_from_points(points: Tensor) -> MonteCarloEstimate:
    """Estimate :math:`\\pi` from points in the unit square.

    With :math:`f(x) = \\mathbb{1}[\\lVert x \\rVert \\le 1]` and :math:`x \\sim U([0, 1]^2)`,
    :math:`\\mathbb{E}[f] = \\pi / 4`, so :math:`\\hat{\\pi} = 4 n_\\text{in} / n`.

    Raises:
        ValueError: if ``points`` is not of shape ``(n, 2)``.

    Shapes:
        ``points``: ``(num_samples, 2)``.
    """
    if (
        not isinstance(points, torch.Tensor)
        or points.dim() != 2
        or points.shape[1] != 2
        or points.shape[0] < 1
    ):
        got = tuple(points.shape) if isinstance(points, torch.Tensor) else type(points).__name__
        raise ValueError(f"points must be a tensor of shape (num_samples, 2), got {got}")
    check_finite(points, "points")
    inside = (points.square().sum(-1) <= 1.0).double()
    return MonteCarloEstimate.from_values(4.0 * inside)


def estimate_pi(
    num_samples: int, *, generator: torch.Generator | None = None, batch_size: int = 2**18
) -> MonteCarloEstimate:
    r"""Estimate :math:`\pi` as 4 times the fraction of uniform points :math:`(u, v) \in [0, 1]^2`
    with :math:`u^2 + v^2 \le 1`.

    Standard error :math:`4\sqrt{\hat p(1 - \hat p)/(n - 1)}`, :math:`\hat p = \hat\pi/4`. Points
    are drawn in batches of ``batch_size``; up to ``batch_size`` they are those of
    :func:`sample_unit_square` with the same generator. Metropolis and Ulam (1949).

    Raises:
        TypeError, ValueError: for a bad ``num_samples``, ``batch_size`` or ``generator``.

    Shapes:
        Output: a scalar estimate.
    """
    num_samples = _check_streaming_samples(num_samples)
    batch_size = check_positive_int(batch_size, "batch_size")
    check_generator(generator)
    inside = 0
    drawn = 0
    while drawn < num_samples:
        m = min(batch_size, num_samples - drawn)
        points = torch.rand(m, 2, generator=generator)
        inside += int((points.square_().sum(-1) <= 1.0).sum())
        drawn += m
    p = inside / num_samples
    se = 4.0 * math.sqrt(p * (1.0 - p) / (num_samples - 1)) if num_samples > 1 else math.nan
    return MonteCarloEstimate(4.0 * p, se, num_samples)


def mc_estimate(
    f: Callable[[Tensor], Tensor],
    sampler,
    num_samples: int,
    *,
    generator: torch.Generator | None = None,
) -> MonteCarloEstimate:
    r"""Plain Monte Carlo estimate :math:`\frac1N \sum_i f(x_i)`, :math:`x_i \sim p`, with
    standard error :math:`s/\sqrt N`.

    Mohamed et al. (2020), Sec. 2.

    Raises:
        TypeError: for a bad ``num_samples``, ``generator``, ``sampler`` or ``f``, or a
            callable ``sampler`` without a ``generator`` keyword.
        ValueError: if ``num_samples`` is not in [1, :data:`MAX_STREAMING_SAMPLES`],
            ``sampler`` / ``f`` return the wrong shape, or a sample or value is not finite.

    Shapes:
        samples: ``(num_samples, *event_shape)``; ``f(samples)``: ``(num_samples,)``.
    """
    num_samples = _check_streaming_samples(num_samples)
    check_generator(generator)
    count, mean, m2 = 0, 0.0, 0.0
    while count < num_samples:
        m = min(CHUNK_SIZE, num_samples - count)
        x = draw_samples(sampler, m, generator)
        values = evaluate_samples(f, x, m).detach().double()
        var, mu = torch.var_mean(values, correction=0)
        mu, chunk_m2 = float(mu), float(var) * m
        if not (math.isfinite(mu) and math.isfinite(chunk_m2)):
            _raise_non_finite(values, x, count)
        delta = mu - mean  # Chan et al.'s pairwise update: stable for any number of chunks
        total = count + m
        mean += delta * m / total
        m2 += chunk_m2 + delta * delta * count * m / total
        count = total
    se = math.sqrt(m2 / (count - 1) / count) if count > 1 else math.nan
    return MonteCarloEstimate(mean, se, count)


def _check_streaming_samples(num_samples) -> int:
    num_samples = check_num_samples(num_samples, maximum=None)
    if num_samples > MAX_STREAMING_SAMPLES:
        raise ValueError(
            f"num_samples={num_samples:.3g} is more than MAX_STREAMING_SAMPLES={MAX_STREAMING_SAMPLES:.0e}, hours of "
            f"sampling; the standard error shrinks only like 1/sqrt(num_samples): use fewer samples"
        )
    return num_samples


def _raise_non_finite(values: Tensor, x: Tensor, offset: int) -> None:
    """Raise a ValueError naming the sample (``sampler``) or value (``f``) that is not finite."""
    i = int((~torch.isfinite(values)).nonzero()[0, 0])
    xi = x[i]
    if xi.is_floating_point() and not torch.isfinite(xi).all():
        raise ValueError(
            f"sampler returned a non-finite sample ({xi.tolist()}) at index {offset + i}"
        )
    raise ValueError(
        f"f returned {float(values[i])} at sample index {offset + i} (x = {xi.tolist()}); f must be finite "
        f"on the samples for a Monte Carlo estimate"
    )


def repeated_estimates(
    f: Callable[[Tensor], Tensor],
    sampler,
    num_samples: int,
    num_repeats: int,
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Many independent Monte Carlo estimates at once: the estimator as a random variable.

    Draws ``num_repeats * num_samples`` samples in one call and averages them in
    groups of ``num_samples``. The spread of the result is the sampling
    distribution of :math:`\\hat{f}_N`: mean :math:`\\mathbb{E}[f]`, variance
    :math:`\\mathrm{Var}[f] / N`.

    Raises:
        TypeError, ValueError: as :func:`mc_estimate`, also for ``num_repeats``.

    Shapes:
        Output: ``(num_repeats,)``.
    """
    num_samples = check_num_samples(num_samples)
    num_repeats = check_positive_int(num_repeats, "num_repeats")
    check_generator(generator)
    total = num_samples * num_repeats
    if total > MAX_NUM_SAMPLES:
        raise ValueError(
            f"num_samples * num_repeats must be at most {MAX_NUM_SAMPLES:.0e} (all repeats are drawn at once), "
            f"got {num_samples} * {num_repeats} = {total:.3g}; lower num_repeats or num_samples"
        )
    values = evaluate_samples(f, draw_samples(sampler, total, generator), total)
    means = values.detach().double().reshape(num_repeats, num_samples).mean(1)
    return check_finite(means, "f(x)", hint="the cost returned NaN or inf at some samples")


def running_mean(values: Tensor) -> tuple[Tensor, Tensor]:
    r"""Running mean :math:`\bar f_k` and running standard error :math:`s_k/\sqrt k` of per-sample values.

    :math:`s_k` is the unbiased standard deviation of the first :math:`k` values (``nan`` at
    :math:`k = 1`); by the law of large numbers :math:`\bar f_k \to \mathbb{E}[f]`.

    Raises:
        ValueError: if ``values`` is not a non-empty 1-D tensor.

    Shapes:
        ``values``: ``(n,)``; outputs: ``(n,)`` each.
    """
    if not isinstance(values, torch.Tensor) or values.dim() != 1 or values.numel() == 0:
        raise ValueError("values must be a non-empty 1-D tensor of per-sample values")
    check_finite(values, "values")
    v = values.detach().double()
    k = torch.arange(1, v.numel() + 1, dtype=torch.float64)
    means = v.cumsum(0) / k
    # Shifted sums (around the first value) keep the running variance numerically stable.
    d = v - v[0]
    s1, s2 = d.cumsum(0), d.square().cumsum(0)
    var = (s2 - s1.square() / k) / (k - 1)
    se = (var.clamp_min(0.0) / k).sqrt()
    se[0] = math.nan
    return means, se


def error_by_sample_size(
    f: Callable[[Tensor], Tensor],
    sampler,
    truth: float,
    sample_sizes,
    num_repeats: int = 200,
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Root-mean-square error of :math:`\\hat{f}_N` for several sample sizes :math:`N`.

    For an unbiased estimator :math:`\\mathrm{RMSE}(N) = \\sigma_f / \\sqrt{N}`, a
    line of slope :math:`-1/2` on a log-log plot.

    Raises:
        TypeError, ValueError: for bad sizes, a non-finite ``truth``, or as :func:`mc_estimate`.

    Shapes:
        Output: ``(len(sample_sizes),)``.
    """
    truth = float(check_finite(truth, "truth"))
    if isinstance(sample_sizes, (str, bytes)) or not hasattr(sample_sizes, "__iter__"):
        raise TypeError(f"sample_sizes must be a sequence of sample sizes, got {sample_sizes!r}")
    sizes = [check_num_samples(n, "sample_sizes entry") for n in sample_sizes]
    if not sizes:
        raise ValueError("sample_sizes must contain at least one sample size")
    errors = []
    for n in sizes:
        estimates = repeated_estimates(f, sampler, n, num_repeats, generator=generator)
        errors.append((estimates - truth).square().mean().sqrt())
    return torch.stack(errors)


def loglog_slope(sample_sizes, errors) -> float:
    """Least-squares slope of :math:`\\log(\\text{error})` against :math:`\\log N`.

    Monte Carlo gives about :math:`-1/2`.

    Raises:
        ValueError: for fewer than two points, different lengths or non-positive values.

    Shapes:
        ``sample_sizes``, ``errors``: ``(k,)``, ``k >= 2``.
    """
    n = torch.as_tensor(check_array(sample_sizes, "sample_sizes", min_len=0, finite=False))
    e = torch.as_tensor(check_array(errors, "errors", min_len=0, finite=False))
    n, e = n.flatten(), e.flatten()
    if n.numel() != e.numel() or n.numel() < 2:
        raise ValueError("sample_sizes and errors must have the same length, at least 2")
    if not ((n > 0).all() and (e > 0).all()):
        raise ValueError("sample_sizes and errors must be positive to take logarithms")
    if not (torch.isfinite(n).all() and torch.isfinite(e).all()):
        raise ValueError("sample_sizes and errors must be finite")
    x, y = n.log(), e.log()
    x = x - x.mean()
    if not bool((x != 0).any()):
        raise ValueError("sample_sizes must hold at least two different sizes to fit a slope")
    return float((x * (y - y.mean())).sum() / x.square().sum())


# --------------------------------------------------------------------------- importance sampling


def effective_sample_size(log_weights: Tensor) -> float:
    r"""Kong's effective sample size :math:`(\sum_i w_i)^2 / \sum_i w_i^2` of importance weights, from their logs.

    Between 1 (one weight dominates) and :math:`n` (equal weights); Kong (1992).

    Raises:
        ValueError: if ``log_weights`` is not a non-empty 1-D tensor, holds NaN or ``+inf``,
            or is ``-inf`` everywhere.

    Shapes:
        ``log_weights``: ``(n,)``.
    """
    if (
        not isinstance(log_weights, torch.Tensor)
        or log_weights.dim() != 1
        or log_weights.numel() == 0
    ):
        raise ValueError("log_weights must be a non-empty 1-D tensor")
    lw = log_weights.detach().double()
    if torch.isnan(lw).any() or torch.isposinf(lw).any():
        i = int((torch.isnan(lw) | torch.isposinf(lw)).nonzero()[0, 0])
        raise ValueError(
            f"log_weights[{i}] is {float(lw[i])}; log weights must be numbers or -inf (zero weight)"
        )
    if torch.isneginf(lw).all():
        raise ValueError(
            "log_weights are all -inf: every weight is zero, so no sample carries target mass; "
            "the proposal misses the target (choose a proposal that covers it)"
        )
    return float(torch.exp(2.0 * torch.logsumexp(lw, 0) - torch.logsumexp(2.0 * lw, 0)))


def integral_estimate(
    f: Callable[[Tensor], Tensor],
    a: float,
    b: float,
    num_samples: int,
    *,
    proposal: torch.distributions.Distribution | None = None,
    generator: torch.Generator | None = None,
) -> ImportanceEstimate:
    r"""Estimate :math:`\int_a^b f(x)\,dx` by
    :math:`\frac1n \sum_i f(x_i)\,\mathbb{1}[a \le x_i \le b] / p(x_i)`, :math:`x_i \sim p`.

    Unbiased whenever :math:`p > 0` where :math:`f \ne 0` on :math:`[a, b]`; the variance is zero
    for :math:`p \propto |f|` (:math:`f \ge 0`) and infinite for too light tails. The effective
    sample size is that of the weights :math:`|f(x_i)|/p(x_i)`. Owen (2013), Ch. 9.

    Raises:
        TypeError: for a bad ``proposal``, ``f``, ``num_samples`` or ``generator``, or
            limits that are not real numbers.
        ValueError: if ``a >= b``, a limit is infinite without a proposal, the proposal is
            not one-dimensional, or ``f`` returns the wrong shape.

    Shapes:
        samples: ``(num_samples,)``; ``f(samples)``: ``(num_samples,)``.
    """
    num_samples = check_num_samples(num_samples)
    check_generator(generator)
    for name, value in (("a", a), ("b", b)):
        if isinstance(value, torch.Tensor) and value.numel() != 1:
            raise ValueError(
                f"{name} must be a single number, got a tensor of shape {tuple(value.shape)}; "
                f"integral_estimate handles one interval at a time"
            )
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float, torch.Tensor))
            or math.isnan(float(value))
        ):
            raise TypeError(
                f"{name} must be a real number (or +-inf with a proposal), got {value!r}"
            )
    a, b = float(a), float(b)
    if not a < b:
        raise ValueError(f"the limits must satisfy a < b, got a={a}, b={b}")
    if proposal is None:
        if not (math.isfinite(a) and math.isfinite(b)):
            raise ValueError(
                "an infinite limit needs a proposal with unbounded support, e.g. proposal=Cauchy(0., 1.)"
            )
        proposal = torch.distributions.Uniform(
            torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)
        )
    check_distribution(proposal, "proposal")
    if proposal.event_shape != torch.Size() or proposal.batch_shape != torch.Size():
        raise ValueError(
            f"proposal must be a one-dimensional scalar distribution (event and batch shape ()), got "
            f"batch_shape {tuple(proposal.batch_shape)}, event_shape {tuple(proposal.event_shape)}"
        )
    with torch.no_grad():
        x = draw_unchecked(proposal, (num_samples,), generator)
    log_q = proposal.log_prob(x)
    fx = evaluate_samples(f, x, num_samples)
    inside = (x >= a) & (x <= b)
    values = torch.where(inside, fx * torch.exp(-log_q), torch.zeros_like(fx))
    if not bool(torch.isfinite(values).all()):
        fx_inside = torch.where(inside, fx, torch.zeros_like(fx))
        if not bool(torch.isfinite(fx_inside).all()):
            _raise_non_finite(fx_inside, x, 0)  # names f (or the sample)
        raise ValueError(
            "the importance weights 1 / q(x) overflowed: the proposal has almost no mass on "
            "[a, b]; choose a proposal that covers the interval"
        )
    est = MonteCarloEstimate.from_values(values)
    abs_values = values.detach().double().abs()
    ess = effective_sample_size(abs_values.log()) if (abs_values > 0).any() else math.nan
    return ImportanceEstimate(est.value, est.standard_error, est.num_samples, ess)


def importance_estimate(
    f: Callable[[Tensor], Tensor],
    target,
    proposal: torch.distributions.Distribution,
    num_samples: int,
    *,
    self_normalized: bool = False,
    generator: torch.Generator | None = None,
) -> ImportanceEstimate:
    r"""Importance-sampling estimate of :math:`\mathbb{E}_p[f]` with samples of a proposal :math:`q`.

    With weights :math:`w_i = p(x_i)/q(x_i)`: :math:`\frac1n\sum_i w_i f(x_i)` (unbiased, needs a
    normalised :math:`p`) or, with ``self_normalized``, :math:`\sum_i w_i f(x_i) / \sum_i w_i`
    (consistent, works with an unnormalised target; delta-method standard error). Both report
    Kong's effective sample size. Owen (2013), Ch. 9; Robert and Casella (2004), Sec. 3.3.

    Raises:
        TypeError: for a bad ``f``, ``proposal``, ``target``, ``num_samples`` or ``generator``,
            or a callable target without ``self_normalized=True``.
        ValueError: if target and proposal differ in event shape, have a batch shape, or
            ``f`` / ``target`` return the wrong shape.

    Shapes:
        samples: ``(num_samples, *event_shape)``; ``f(samples)``, ``target(samples)``: ``(num_samples,)``.
    """
    num_samples = check_num_samples(num_samples)
    check_generator(generator)
    if not isinstance(self_normalized, bool):
        raise TypeError(
            f"self_normalized must be a bool, got {self_normalized!r} of type {type(self_normalized).__name__}; "
            f"pass self_normalized=True or self_normalized=False"
        )
    check_distribution(proposal, "proposal")
    check_scalar_batch(proposal, "proposal")
    if isinstance(target, torch.distributions.Distribution):
        log_p = target_log_density(target, proposal, "target")
    elif callable(target):
        if not self_normalized:
            raise TypeError(
                "target is a callable (an unnormalised log-density): the plain importance estimate needs a "
                "normalised torch.distributions.Distribution; pass self_normalized=True or a Distribution"
            )
        log_p = target
    else:
        raise TypeError(
            f"target must be a torch.distributions.Distribution or a log-density callable, got {type(target).__name__}"
        )
    if isinstance(target, torch.distributions.Distribution):
        _check_proposal_covers(target, proposal)
    with torch.no_grad():
        x = draw_unchecked(proposal, (num_samples,), generator)
    log_target = evaluate_samples(log_p, x, num_samples, "target").detach().double()
    fx = evaluate_samples(f, x, num_samples).detach().double()
    for name, v in (("target", log_target), ("f", fx)):
        bad = torch.isnan(v) | torch.isposinf(v) if name == "target" else ~torch.isfinite(v)
        if bad.any():
            i = int(bad.nonzero()[0, 0])
            what = "log-density" if name == "target" else "value"
            raise ValueError(
                f"{name} returned the {what} {float(v[i])} at x = {x[i].tolist()}; it must be finite "
                f"({'or -inf' if name == 'target' else 'on the samples'})"
            )
    log_w = log_target - proposal.log_prob(x).detach().double()
    if torch.isneginf(log_w).all():
        raise ValueError(
            f"every importance weight is zero: the target density is 0 at all {num_samples} samples of the proposal; "
            f"the proposal misses the target's mass - choose one that covers it"
        )
    ess = effective_sample_size(log_w)
    if not self_normalized:
        est = MonteCarloEstimate.from_values(torch.exp(log_w) * fx)
        return ImportanceEstimate(est.value, est.standard_error, num_samples, ess)
    w_bar = torch.softmax(log_w, 0)
    value = float((w_bar * fx).sum())
    se = (
        float(torch.sqrt((w_bar.square() * (fx - value).square()).sum()))
        if num_samples > 1
        else math.nan
    )
    return ImportanceEstimate(value, se, num_samples, ess)


def _support_bounds(constraint):
    """``(lower, upper)`` bounds of a real support constraint, or ``None`` when unknown."""
    c = constraint
    while isinstance(c, torch.distributions.constraints.independent):
        c = c.base_constraint
    if (
        c is torch.distributions.constraints.real
        or c is torch.distributions.constraints.real_vector
    ):
        return -math.inf, math.inf
    lower, upper = getattr(c, "lower_bound", None), getattr(c, "upper_bound", None)
    if lower is None and upper is None:
        return None
    as_float = lambda b, default: default if b is None else torch.as_tensor(b, dtype=torch.float64)  # noqa: E731
    return as_float(lower, -math.inf), as_float(upper, math.inf)


def _check_proposal_covers(target, proposal, num_checks: int = 4096) -> None:
    """Raise a ValueError when the proposal's support misses part of the target's."""
    if target.support.is_discrete != proposal.support.is_discrete:
        raise ValueError(
            "target and proposal must both be continuous or both discrete (same support type)"
        )
    t, q = _support_bounds(target.support), _support_bounds(proposal.support)
    if t is not None and q is not None:
        if bool(torch.as_tensor(t[0] < q[0]).any()) or bool(torch.as_tensor(t[1] > q[1]).any()):
            raise ValueError(
                f"the proposal's support [{_fmt(q[0])}, {_fmt(q[1])}] does not cover the target's "
                f"[{_fmt(t[0])}, {_fmt(t[1])}]: importance sampling would never see the target mass outside it "
                f"and return a wrong estimate with a small standard error; choose a proposal whose support "
                f"contains the target's (e.g. a wider Normal or a Student-t)"
            )
        return
    try:
        with torch.no_grad():
            z = draw_unchecked(target, (num_checks,), torch.Generator().manual_seed(0))
    except TypeError:
        return  # cannot sample the target: nothing more to check
    outside = torch.isneginf(support_log_prob(proposal)(z))
    if outside.any():
        raise ValueError(
            f"the proposal has density zero on {float(outside.double().mean()):.1%} of the target's samples "
            f"(e.g. x = {z[outside][0].tolist()}): its support does not cover the target's; choose a proposal "
            f"whose support contains the target's"
        )


def _fmt(bound) -> str:
    values = torch.as_tensor(bound, dtype=torch.float64).flatten().tolist()
    return f"{values[0]:g}" if len(values) == 1 else str([round(v, 4) for v in values])
