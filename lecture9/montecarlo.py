"""Monte Carlo estimation and sampling: the estimator, importance and rejection sampling.

Introduced in chapter 1, *Monte Carlo estimation*, and chapter 2, *Sampling*.

An expectation (or any integral that can be written as one) is approximated by an
average over samples,

.. math::

    \\mathbb{E}_{p(x)}[f(x)] = \\int p(x) f(x) \\, dx
    \\approx \\hat{f}_N = \\frac{1}{N} \\sum_{i=1}^{N} f(x_i), \\qquad x_i \\sim p(x).

The estimator :math:`\\hat{f}_N` is itself a random variable: it is unbiased and its
variance is :math:`\\mathrm{Var}[f(x)] / N`, so its error shrinks like
:math:`O(1/\\sqrt{N})` (Mohamed et al. (2020), Sec. 2). Every estimate returned
here carries its standard error and a confidence interval.

Randomness is explicit: every random function takes a keyword
``generator: torch.Generator | None``. ``torch.distributions`` cannot sample with a
generator, so :func:`sample_distribution` draws base noise with the generator and
transforms it (location-scale, inverse CDF, ...).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from typing import Callable, NamedTuple

import torch
from scipy import stats

from .sampling import draw
from ._validation import (
    check_distribution,
    check_finite,
    check_generator,
    check_num_samples,
    check_positive,
)

__all__ = [
    "MonteCarloEstimate",
    "ImportanceEstimate",
    "RejectionSamples",
    "sample_distribution",
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
    "rejection_sample",
    "inverse_cdf_sample",
    "minimize_by_sampling",
    "stochastic_gradient_descent",
]

Tensor = torch.Tensor


# --------------------------------------------------------------------------- estimates


@dataclasses.dataclass(frozen=True)
class MonteCarloEstimate:
    """A Monte Carlo estimate with its standard error.

    Introduced in chapter 1, *Monte Carlo estimation*.

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

        Args:
            level: coverage probability, strictly between 0 and 1.

        Returns:
            ``(lower, upper)`` as floats.

        Raises:
            ValueError: if ``level`` is not in (0, 1).
        """
        if not isinstance(level, (int, float)) or isinstance(level, bool) or not 0.0 < level < 1.0:
            raise ValueError(f"level must be a number strictly between 0 and 1, got {level!r}; e.g. level=0.95")
        z = float(stats.norm.ppf(0.5 + level / 2.0))
        return (self.value - z * self.standard_error, self.value + z * self.standard_error)

    @classmethod
    def from_values(cls, values: Tensor) -> "MonteCarloEstimate":
        """Summarise per-sample values :math:`f(x_i)` into an estimate.

        Args:
            values: a 1-D tensor of per-sample values.

        Returns:
            The :class:`MonteCarloEstimate` of their mean.

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
        n = v.numel()
        se = float(v.std(unbiased=True) / math.sqrt(n)) if n > 1 else math.nan
        return cls(float(v.mean()), se, n)


@dataclasses.dataclass(frozen=True)
class ImportanceEstimate(MonteCarloEstimate):
    """An importance-sampling estimate with the effective sample size of its weights.

    Introduced in chapter 1 (integrals with a proposal) and chapter 2, *Sampling*.

    Attributes:
        effective_sample_size: Kong's effective sample size
            :math:`(\\sum_i w_i)^2 / \\sum_i w_i^2`, between 1 and ``num_samples``.
    """

    effective_sample_size: float = math.nan


class RejectionSamples(NamedTuple):
    """Result of :func:`rejection_sample`: ``(samples, acceptance_rate, num_proposed)``.

    Introduced in chapter 2, *Sampling*.
    """

    #: The accepted samples, shape ``(num_samples, *event_shape)``.
    samples: Tensor
    #: Accepted / proposed, an estimate of :math:`Z / M` (:math:`1/M` for a normalised target).
    acceptance_rate: float
    #: How many proposals were needed for ``num_samples`` acceptances.
    num_proposed: int


# --------------------------------------------------------------------------- sampling helpers


def _uniform(shape, generator, dtype, device) -> Tensor:
    """Uniform(0, 1) noise strictly above 0 (so that log and icdf stay finite)."""
    u = torch.rand(shape, generator=generator, dtype=dtype, device=device)
    return u.clamp_min(torch.finfo(dtype).tiny)


def sample_distribution(distribution, num_samples: int, *, generator: torch.Generator | None = None) -> Tensor:
    """Draw samples from a ``torch.distributions.Distribution`` with an explicit generator.

    ``Distribution.sample`` uses the global random state; this function draws the
    base noise with ``generator`` and transforms it (see :func:`lecture9.sampling.draw`):
    location-scale for the Normal family, the inverse CDF :math:`x = F^{-1}(u)`,
    :math:`u \\sim U(0, 1)` for distributions with an ``icdf``, comparisons of
    uniforms for Bernoulli and Categorical, and the transforms of a
    ``TransformedDistribution``.

    Introduced in chapter 2, *Sampling*.

    Args:
        distribution: a ``torch.distributions.Distribution`` instance.
        num_samples: number of samples, an integer >= 1.
        generator: the random number generator (``None``: the global one).

    Returns:
        The samples.

    Raises:
        TypeError: if ``distribution`` is not a Distribution, ``num_samples`` not an
            integer, or the family has no generator-aware sampler (e.g. VonMises).
        ValueError: if ``num_samples < 1``.

    Shapes:
        Output: ``(num_samples, *batch_shape, *event_shape)``.
    """
    check_distribution(distribution, "distribution")
    num_samples = check_num_samples(num_samples)
    check_generator(generator)
    with torch.no_grad():
        return draw(distribution, (num_samples,), generator)


def _check_generator_keyword(fn, name: str, signature: str) -> None:
    """Raise ``TypeError`` if the callable ``fn`` cannot take a ``generator=`` keyword.

    Callables whose signature Python cannot inspect (some builtins) are let through.
    """
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return
    for param in params:
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            return
        if param.name == "generator" and param.kind in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY,
        ):
            return
    raise TypeError(
        f"{name} must accept a generator keyword: expected the signature {signature}, e.g. "
        f"lambda n, generator=None: torch.rand(n, generator=generator); randomness is passed explicitly"
    )


def _draw(sampler, num_samples: int, generator, name: str = "sampler") -> Tensor:
    """Samples from a Distribution or a callable ``sampler(num_samples, generator=...)``."""
    if isinstance(sampler, torch.distributions.Distribution):
        return sample_distribution(sampler, num_samples, generator=generator)
    if not callable(sampler):
        raise TypeError(
            f"{name} must be a torch.distributions.Distribution or a callable "
            f"{name}(num_samples, generator=...) -> Tensor, got {type(sampler).__name__}"
        )
    _check_generator_keyword(sampler, name, f"{name}(num_samples, generator=None) -> Tensor")
    x = sampler(num_samples, generator=generator)
    if not isinstance(x, torch.Tensor) or x.dim() == 0 or x.shape[0] != num_samples:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(
            f"{name} must return a tensor with num_samples={num_samples} rows, got {got}; "
            f"the first dimension indexes the samples"
        )
    return x


def _evaluate(f, x: Tensor, num_samples: int, name: str = "f") -> Tensor:
    """Evaluate ``f`` on samples and check that it returns one value per sample."""
    if not callable(f):
        raise TypeError(f"{name} must be callable, mapping samples to one value per sample, got {type(f).__name__}")
    values = f(x)
    if not isinstance(values, torch.Tensor):
        raise TypeError(f"{name} must return a torch.Tensor, got {type(values).__name__}")
    if tuple(values.shape) != (num_samples,):
        raise ValueError(
            f"{name} returned shape {tuple(values.shape)}, expected ({num_samples},): one value per sample. "
            f"Reduce over the event dimensions inside {name} (e.g. .sum(-1))"
        )
    return values


def _scalar_batch(distribution, name: str) -> None:
    if distribution.batch_shape != torch.Size():
        raise ValueError(
            f"{name} must have batch_shape (), got {tuple(distribution.batch_shape)}; "
            f"for a multivariate density wrap it as torch.distributions.Independent({name}, 1)"
        )



def _target_log_prob(target, proposal, name: str):
    """``target.log_prob`` after checking that the target Distribution matches the proposal's space."""
    if target.event_shape != proposal.event_shape:
        raise ValueError(
            f"target and proposal must have the same event_shape, got {tuple(target.event_shape)} and "
            f"{tuple(proposal.event_shape)}; both must be densities over the same space"
        )
    _scalar_batch(target, name)
    return target.log_prob

# --------------------------------------------------------------------------- pi and plain MC


def sample_unit_square(num_samples: int, *, generator: torch.Generator | None = None) -> Tensor:
    """Uniform points in the unit square :math:`[0, 1)^2`.

    Introduced in chapter 1, *Monte Carlo estimation*.

    Args:
        num_samples: number of points, an integer >= 1.
        generator: the random number generator.

    Returns:
        The points.

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

    Introduced in chapter 1, *Monte Carlo estimation*.

    Args:
        points: points in the unit square.

    Returns:
        The estimate of :math:`\\pi` with its standard error.

    Raises:
        ValueError: if ``points`` is not of shape ``(n, 2)``.

    Shapes:
        ``points``: ``(num_samples, 2)``.
    """
    if not isinstance(points, torch.Tensor) or points.dim() != 2 or points.shape[1] != 2 or points.shape[0] < 1:
        got = tuple(points.shape) if isinstance(points, torch.Tensor) else type(points).__name__
        raise ValueError(f"points must be a tensor of shape (num_samples, 2), got {got}")
    inside = (points.square().sum(-1) <= 1.0).double()
    return MonteCarloEstimate.from_values(4.0 * inside)


def estimate_pi(
    num_samples: int, *, generator: torch.Generator | None = None, batch_size: int = 2**22
) -> MonteCarloEstimate:
    """Estimate :math:`\\pi` by the fraction of uniform points inside the quarter circle.

    .. math::

        \\hat{\\pi}_n = \\frac{4}{n} \\sum_{i=1}^{n} \\mathbb{1}[u_i^2 + v_i^2 \\le 1],
        \\qquad (u_i, v_i) \\sim U([0, 1]^2),

    with standard error :math:`4 \\sqrt{\\hat{p}(1 - \\hat{p}) / (n - 1)}`,
    :math:`\\hat{p} = \\hat{\\pi}_n / 4`. Points are drawn in batches of ``batch_size``
    so that any ``num_samples`` fits in memory; for ``num_samples <= batch_size``
    the points are those of :func:`sample_unit_square` with the same generator.

    Introduced in chapter 1, *Monte Carlo estimation* (Metropolis and Ulam, 1949).

    Args:
        num_samples: number of points, an integer >= 1.
        generator: the random number generator.
        batch_size: points drawn per batch (memory bound), an integer >= 1.

    Returns:
        The :class:`MonteCarloEstimate` of :math:`\\pi`.

    Raises:
        TypeError, ValueError: for a bad ``num_samples``, ``batch_size`` or ``generator``.

    Shapes:
        Output: a scalar estimate.
    """
    num_samples = check_num_samples(num_samples)
    batch_size = check_num_samples(batch_size, "batch_size")
    check_generator(generator)
    inside = 0
    drawn = 0
    while drawn < num_samples:
        m = min(batch_size, num_samples - drawn)
        points = torch.rand(m, 2, generator=generator)
        inside += int((points.square().sum(-1) <= 1.0).sum())
        drawn += m
    p = inside / num_samples
    se = 4.0 * math.sqrt(p * (1.0 - p) / (num_samples - 1)) if num_samples > 1 else math.nan
    return MonteCarloEstimate(4.0 * p, se, num_samples)


def mc_estimate(
    f: Callable[[Tensor], Tensor], sampler, num_samples: int, *, generator: torch.Generator | None = None
) -> MonteCarloEstimate:
    """Plain Monte Carlo estimate of :math:`\\mathbb{E}_{p(x)}[f(x)]`.

    .. math::

        \\hat{f}_N = \\frac{1}{N} \\sum_{i=1}^{N} f(x_i), \\quad x_i \\sim p,
        \\qquad \\mathrm{SE} = \\frac{s}{\\sqrt{N}}.

    Introduced in chapter 1, *Monte Carlo estimation* (Mohamed et al. (2020), Sec. 2).

    Args:
        f: maps a batch of samples to one value per sample (vectorised).
        sampler: a ``torch.distributions.Distribution`` or a callable
            ``sampler(num_samples, generator=...)`` returning the samples.
        num_samples: :math:`N`, an integer >= 1.
        generator: the random number generator.

    Returns:
        The :class:`MonteCarloEstimate`.

    Raises:
        TypeError: for a bad ``num_samples``, ``generator``, ``sampler`` or ``f``, or a
            callable ``sampler`` without a ``generator`` keyword.
        ValueError: if ``num_samples < 1``, or ``sampler`` / ``f`` return the wrong shape.

    Shapes:
        samples: ``(num_samples, *event_shape)``; ``f(samples)``: ``(num_samples,)``.
    """
    num_samples = check_num_samples(num_samples)
    check_generator(generator)
    x = _draw(sampler, num_samples, generator)
    return MonteCarloEstimate.from_values(_evaluate(f, x, num_samples))


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

    Introduced in chapter 1, *Monte Carlo estimation*.

    Args:
        f: maps samples to one value per sample.
        sampler: a Distribution or a callable ``sampler(n, generator=...)``.
        num_samples: :math:`N` per estimate, an integer >= 1.
        num_repeats: number of estimates, an integer >= 1.
        generator: the random number generator.

    Returns:
        The estimates, in float64.

    Raises:
        TypeError, ValueError: as :func:`mc_estimate`, also for ``num_repeats``.

    Shapes:
        Output: ``(num_repeats,)``.
    """
    num_samples = check_num_samples(num_samples)
    num_repeats = check_num_samples(num_repeats, "num_repeats")
    check_generator(generator)
    total = num_samples * num_repeats
    values = _evaluate(f, _draw(sampler, total, generator), total)
    return values.detach().double().reshape(num_repeats, num_samples).mean(1)


def running_mean(values: Tensor) -> tuple[Tensor, Tensor]:
    """Running mean and running standard error of a sequence of per-sample values.

    .. math::

        \\bar{f}_k = \\frac{1}{k} \\sum_{i \\le k} f(x_i), \\qquad
        \\mathrm{SE}_k = \\frac{s_k}{\\sqrt{k}},

    with :math:`s_k` the unbiased sample standard deviation of the first :math:`k`
    values (``nan`` at :math:`k = 1`). The law of large numbers says
    :math:`\\bar{f}_k \\to \\mathbb{E}[f]`.

    Introduced in chapter 1, *Monte Carlo estimation*.

    Args:
        values: per-sample values :math:`f(x_i)` in sampling order.

    Returns:
        ``(means, standard_errors)``, both float64.

    Raises:
        ValueError: if ``values`` is not a non-empty 1-D tensor.

    Shapes:
        ``values``: ``(n,)``; outputs: ``(n,)`` each.
    """
    if not isinstance(values, torch.Tensor) or values.dim() != 1 or values.numel() == 0:
        raise ValueError("values must be a non-empty 1-D tensor of per-sample values")
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

    Introduced in chapter 1, *Monte Carlo estimation*.

    Args:
        f: maps samples to one value per sample.
        sampler: a Distribution or a callable ``sampler(n, generator=...)``.
        truth: the exact value of :math:`\\mathbb{E}[f]`.
        sample_sizes: the values of :math:`N` (integers >= 1).
        num_repeats: independent estimates per sample size.
        generator: the random number generator.

    Returns:
        The RMSE per sample size, float64.

    Raises:
        TypeError, ValueError: for bad sizes, a non-finite ``truth``, or as :func:`mc_estimate`.

    Shapes:
        Output: ``(len(sample_sizes),)``.
    """
    truth = float(check_finite(truth, "truth"))
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

    Introduced in chapter 1, *Monte Carlo estimation*; Monte Carlo gives about :math:`-1/2`.

    Args:
        sample_sizes: the values of :math:`N`.
        errors: the errors, positive.

    Returns:
        The fitted slope.

    Raises:
        ValueError: for fewer than two points, different lengths or non-positive values.

    Shapes:
        ``sample_sizes``, ``errors``: ``(k,)``, ``k >= 2``.
    """
    n = torch.as_tensor(sample_sizes, dtype=torch.float64).flatten()
    e = torch.as_tensor(errors, dtype=torch.float64).flatten()
    if n.numel() != e.numel() or n.numel() < 2:
        raise ValueError("sample_sizes and errors must have the same length, at least 2")
    if not ((n > 0).all() and (e > 0).all()):
        raise ValueError("sample_sizes and errors must be positive to take logarithms")
    x, y = n.log(), e.log()
    x = x - x.mean()
    return float((x * (y - y.mean())).sum() / x.square().sum())


# --------------------------------------------------------------------------- importance sampling


def effective_sample_size(log_weights: Tensor) -> float:
    """Kong's effective sample size of importance weights.

    .. math::

        \\mathrm{ESS} = \\frac{(\\sum_i w_i)^2}{\\sum_i w_i^2}
        = \\exp\\big(2 \\operatorname{logsumexp}(\\log w) - \\operatorname{logsumexp}(2 \\log w)\\big),

    between 1 (one weight dominates) and :math:`n` (equal weights); see Kong (1992).

    Introduced in chapter 1 (integrals with a proposal) and chapter 2, *Sampling*.

    Args:
        log_weights: log importance weights (``-inf`` for a zero weight).

    Returns:
        The effective sample size (``nan`` if every weight is zero).

    Raises:
        ValueError: if ``log_weights`` is not a non-empty 1-D tensor.

    Shapes:
        ``log_weights``: ``(n,)``.
    """
    if not isinstance(log_weights, torch.Tensor) or log_weights.dim() != 1 or log_weights.numel() == 0:
        raise ValueError("log_weights must be a non-empty 1-D tensor")
    lw = log_weights.detach().double()
    if torch.isneginf(lw).all():
        return math.nan
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
    """Estimate an arbitrary integral :math:`F = \\int_a^b f(x) \\, dx` with a proposal density.

    .. math::

        \\hat{F}_n = \\frac{1}{n} \\sum_{i=1}^{n}
        \\frac{f(x_i) \\, \\mathbb{1}[a \\le x_i \\le b]}{p(x_i)}, \\qquad x_i \\sim p,

    unbiased whenever :math:`p(x) > 0` wherever :math:`f(x) \\ne 0` on
    :math:`[a, b]`. Its variance depends on :math:`p`: it is zero for
    :math:`p \\propto |f|` (when :math:`f \\ge 0`), and infinite when :math:`p` has
    lighter tails than :math:`f^2 / p` can afford. The effective sample size is that
    of the weights :math:`|f(x_i)| / p(x_i)`.

    Introduced in chapter 1, *Monte Carlo estimation* (Owen (2013), Ch. 9).

    Args:
        f: the integrand, vectorised, one value per sample (``f`` is only
            used inside :math:`[a, b]`; outside, the term is 0).
        a: lower limit (may be ``-inf`` when a proposal is given).
        b: upper limit, ``b > a`` (may be ``inf`` when a proposal is given).
        num_samples: :math:`n`, an integer >= 1.
        proposal: a one-dimensional ``torch.distributions.Distribution`` to sample
            from; ``None`` means ``Uniform(a, b)`` (requires finite limits).
        generator: the random number generator.

    Returns:
        The :class:`ImportanceEstimate` of :math:`F`.

    Raises:
        TypeError: for a bad ``proposal``, ``f``, ``num_samples`` or ``generator``,
            or if ``a`` or ``b`` is not a real number.
        ValueError: if ``a >= b``, ``a`` or ``b`` is a tensor that is not a single
            number, a limit is infinite without a proposal, the proposal is not
            one-dimensional, or ``f`` returns the wrong shape.

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
        if isinstance(value, bool) or not isinstance(value, (int, float, torch.Tensor)) or math.isnan(float(value)):
            raise TypeError(f"{name} must be a real number (or +-inf with a proposal), got {value!r}")
    a, b = float(a), float(b)
    if not a < b:
        raise ValueError(f"the limits must satisfy a < b, got a={a}, b={b}")
    if proposal is None:
        if not (math.isfinite(a) and math.isfinite(b)):
            raise ValueError("an infinite limit needs a proposal with unbounded support, e.g. proposal=Cauchy(0., 1.)")
        proposal = torch.distributions.Uniform(torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64))
    check_distribution(proposal, "proposal")
    if proposal.event_shape != torch.Size() or proposal.batch_shape != torch.Size():
        raise ValueError(
            f"proposal must be a one-dimensional scalar distribution (event and batch shape ()), got "
            f"batch_shape {tuple(proposal.batch_shape)}, event_shape {tuple(proposal.event_shape)}"
        )
    x = sample_distribution(proposal, num_samples, generator=generator)
    log_q = proposal.log_prob(x)
    fx = _evaluate(f, x, num_samples)
    inside = (x >= a) & (x <= b)
    values = torch.where(inside, fx * torch.exp(-log_q), torch.zeros_like(fx))
    est = MonteCarloEstimate.from_values(values)
    ess = effective_sample_size(torch.log(values.detach().double().abs()))
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
    """Importance-sampling estimate of :math:`\\mathbb{E}_{p}[f(x)]` with samples from a proposal :math:`q`.

    With weights :math:`w_i = p(x_i) / q(x_i)`, :math:`x_i \\sim q`:

    .. math::

        \\hat{\\mu}_\\text{IS} = \\frac{1}{n} \\sum_i w_i f(x_i), \\qquad
        \\hat{\\mu}_\\text{SNIS} = \\frac{\\sum_i w_i f(x_i)}{\\sum_i w_i}.

    The first is unbiased and needs a normalised :math:`p`; the self-normalised
    second one is consistent (biased for finite :math:`n`) and works with an
    unnormalised :math:`\\tilde{p} = Z p`, since :math:`Z` cancels. Its standard
    error is the delta-method one,
    :math:`\\sqrt{\\sum_i \\bar{w}_i^2 (f(x_i) - \\hat{\\mu})^2}` with normalised
    weights :math:`\\bar{w}_i`. Both report Kong's effective sample size.

    Introduced in chapter 2, *Sampling* (Owen (2013), Ch. 9; Robert and Casella (2004), Sec. 3.3).

    Args:
        f: maps samples to one value per sample.
        target: the density :math:`p`, a ``torch.distributions.Distribution``, or
            (only with ``self_normalized=True``) a callable returning the
            unnormalised log-density :math:`\\log \\tilde{p}(x)`, one value per sample.
        proposal: the distribution :math:`q` the samples come from, batch shape ``()``.
        num_samples: :math:`n`, an integer >= 1.
        self_normalized: use the self-normalised estimator.
        generator: the random number generator.

    Returns:
        The :class:`ImportanceEstimate`.

    Raises:
        TypeError: for a bad ``f``, ``proposal``, ``target``, ``num_samples`` or
            ``generator``, a ``self_normalized`` that is not a bool, or a callable
            target without ``self_normalized=True``.
        ValueError: if target and proposal have different event shapes, a batch
            shape other than ``()``, or ``f`` / ``target`` return the wrong shape.

    Shapes:
        samples: ``(num_samples, *event_shape)``; ``f(samples)`` and
        ``target(samples)``: ``(num_samples,)``.
    """
    num_samples = check_num_samples(num_samples)
    check_generator(generator)
    if not isinstance(self_normalized, bool):
        raise TypeError(
            f"self_normalized must be a bool, got {self_normalized!r} of type {type(self_normalized).__name__}; "
            f"pass self_normalized=True or self_normalized=False"
        )
    check_distribution(proposal, "proposal")
    _scalar_batch(proposal, "proposal")
    if isinstance(target, torch.distributions.Distribution):
        log_p = _target_log_prob(target, proposal, "target")
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
    x = sample_distribution(proposal, num_samples, generator=generator)
    log_target = _evaluate(log_p, x, num_samples, "target")
    fx = _evaluate(f, x, num_samples).detach().double()
    log_w = log_target.detach().double() - proposal.log_prob(x).detach().double()
    ess = effective_sample_size(log_w)
    if not self_normalized:
        est = MonteCarloEstimate.from_values(torch.exp(log_w) * fx)
        return ImportanceEstimate(est.value, est.standard_error, num_samples, ess)
    w_bar = torch.softmax(log_w, 0)
    value = float((w_bar * fx).sum())
    se = float(torch.sqrt((w_bar.square() * (fx - value).square()).sum())) if num_samples > 1 else math.nan
    return ImportanceEstimate(value, se, num_samples, ess)


# --------------------------------------------------------------------------- direct and rejection sampling


def inverse_cdf_sample(icdf, num_samples: int, *, generator: torch.Generator | None = None, dtype=torch.float64) -> Tensor:
    """Direct sampling by the inverse CDF: :math:`x = F^{-1}(u)`, :math:`u \\sim U(0, 1)`.

    If :math:`F` is the CDF of :math:`X`, then :math:`\\Pr(F^{-1}(U) \\le x) = \\Pr(U \\le F(x)) = F(x)`.

    Introduced in chapter 2, *Sampling* (Devroye (1986), Sec. 2.1).

    Args:
        icdf: the quantile function :math:`F^{-1}`, vectorised (``u`` tensor to
            ``x`` tensor of the same shape), or a Distribution with an ``icdf``.
        num_samples: number of samples, an integer >= 1.
        generator: the random number generator.
        dtype: floating dtype of the uniforms (float64 by default, for accurate tails).

    Returns:
        The samples.

    Raises:
        TypeError: if ``icdf`` is not callable, is a Distribution without an
            ``icdf`` (e.g. Gamma), or for a bad ``num_samples`` / ``generator``.
        ValueError: if ``num_samples < 1`` or ``icdf`` returns the wrong shape.

    Shapes:
        Output: ``(num_samples,)``.
    """
    num_samples = check_num_samples(num_samples)
    check_generator(generator)
    distribution = icdf if isinstance(icdf, torch.distributions.Distribution) else None
    if distribution is not None:
        icdf = distribution.icdf
    elif not callable(icdf):
        raise TypeError(f"icdf must be a callable quantile function u -> x, got {type(icdf).__name__}")
    no_icdf = TypeError(
        f"icdf: {type(distribution).__name__} does not implement icdf; pass the quantile function as a "
        f"callable instead, e.g. icdf=lambda u: torch.as_tensor(scipy.stats.gamma(a).ppf(u.numpy())), "
        f"or use sample_distribution"
    )
    if distribution is not None and type(distribution).icdf is torch.distributions.Distribution.icdf:
        raise no_icdf
    u = _uniform((num_samples,), generator, dtype, torch.device("cpu"))
    try:
        return _evaluate(icdf, u, num_samples, "icdf")
    except NotImplementedError as error:
        if distribution is None:
            raise
        raise no_icdf from error


def rejection_sample(
    target_log_prob,
    proposal: torch.distributions.Distribution,
    log_M: float,
    num_samples: int,
    *,
    generator: torch.Generator | None = None,
    max_proposals: int = 10**8,
) -> RejectionSamples:
    """Rejection sampling from :math:`p` with the envelope :math:`M q(x) \\ge p(x)`.

    Propose :math:`x \\sim q`, accept with probability :math:`p(x) / (M q(x))`. The
    accepted samples are exact draws from :math:`p`; the acceptance rate is
    :math:`1 / M` for a normalised :math:`p` (:math:`Z / M` for :math:`\\tilde{p} = Z p`).
    Proposals are drawn and tested in vectorised batches sized from the expected
    acceptance rate until ``num_samples`` are accepted. Every proposal seen is
    checked against the envelope, :math:`\\log p(x) \\le \\log M + \\log q(x)`.

    Introduced in chapter 2, *Sampling* (von Neumann (1951); Robert and Casella (2004), Sec. 2.3).

    Args:
        target_log_prob: the (possibly unnormalised) target log-density: a
            callable ``x -> log p(x)`` with one value per sample, or a Distribution
            (its ``log_prob``).
        proposal: the proposal :math:`q`, batch shape ``()``.
        log_M: :math:`\\log M`, finite.
        num_samples: number of accepted samples wanted, an integer >= 1.
        generator: the random number generator.
        max_proposals: give up after this many proposals.

    Returns:
        :class:`RejectionSamples` ``(samples, acceptance_rate, num_proposed)``.

    Raises:
        TypeError: for a bad ``target_log_prob``, ``proposal``, ``num_samples`` or ``generator``.
        ValueError: if ``log_M`` is not finite or not a single number, the event
            shapes differ, the target is a Distribution with a batch shape other than
            ``()``, the target log-density has the wrong shape, or the envelope is
            violated on a proposal.
        RuntimeError: if more than ``max_proposals`` proposals are needed.

    Shapes:
        ``samples``: ``(num_samples, *event_shape)``.
    """
    num_samples = check_num_samples(num_samples)
    check_generator(generator)
    check_distribution(proposal, "proposal")
    _scalar_batch(proposal, "proposal")
    max_proposals = check_num_samples(max_proposals, "max_proposals")
    if isinstance(log_M, torch.Tensor):
        if log_M.numel() != 1:
            raise ValueError(f"log_M must be a single number, got a tensor of shape {tuple(log_M.shape)}")
        log_M = log_M.item()
    log_M = float(check_finite(log_M, "log_M"))
    if isinstance(target_log_prob, torch.distributions.Distribution):
        target_log_prob = _target_log_prob(target_log_prob, proposal, "target_log_prob")
    elif not callable(target_log_prob):
        raise TypeError(
            f"target_log_prob must be a callable x -> log p(x) or a Distribution, got {type(target_log_prob).__name__}"
        )
    accept_prob_guess = min(1.0, math.exp(-log_M)) if log_M > -700 else 1.0
    chunks: list[Tensor] = []
    accepted = 0
    proposed = 0
    while accepted < num_samples:
        remaining = num_samples - accepted
        batch = int(min(max(math.ceil(1.2 * remaining / accept_prob_guess) + 16, 64), 2**20))
        x = sample_distribution(proposal, batch, generator=generator)
        log_p = _evaluate(target_log_prob, x, batch, "target_log_prob").detach().double()
        log_ratio = log_p - proposal.log_prob(x).detach().double() - log_M
        violated = log_ratio > 1e-6
        if violated.any():
            i = int(torch.argmax(torch.where(violated, log_ratio, torch.full_like(log_ratio, -math.inf))))
            needed = log_M + float(log_ratio[i])
            where = f"{float(x[i]):.4g}" if x[i].numel() == 1 else str([round(v, 4) for v in x[i].flatten().tolist()])
            raise ValueError(
                f"the envelope M q(x) >= p(x) is violated at x = {where}: log p(x) - log q(x) = {needed:.4g} "
                f"> log_M = {log_M:.4g}; increase log_M to at least {needed:.4g} or use a wider proposal"
            )
        u = torch.rand(batch, generator=generator, dtype=torch.float64)
        idx = torch.nonzero(torch.log(u) < log_ratio).flatten()
        take = min(idx.numel(), remaining)
        proposed += int(idx[take - 1]) + 1 if take == remaining else batch
        chunks.append(x[idx[:take]])
        accepted += take
        if accepted < num_samples and proposed >= max_proposals:
            raise RuntimeError(
                f"rejection sampling accepted only {accepted} of {proposed} proposals (max_proposals={max_proposals}); "
                "the envelope is too loose (M too large) - tighten log_M or choose a proposal closer to the target"
            )
    return RejectionSamples(torch.cat(chunks, 0), num_samples / proposed, proposed)


# --------------------------------------------------------------------------- optimisation by sampling


def minimize_by_sampling(
    f: Callable[[Tensor], Tensor], sampler, num_samples: int, *, generator: torch.Generator | None = None
) -> tuple[Tensor, float]:
    """Optimisation by sampling (random search): the best of ``num_samples`` random candidates.

    .. math::

        \\hat{x}^\\star_n = \\arg\\min_{i \\le n} f(x_i), \\qquad x_i \\sim p.

    Introduced in chapter 1, *Monte Carlo estimation*.

    Args:
        f: the objective, one value per candidate.
        sampler: a Distribution or callable ``sampler(n, generator=...)`` proposing candidates.
        num_samples: number of candidates, an integer >= 1.
        generator: the random number generator.

    Returns:
        ``(x_best, f_best)``: the best candidate and its objective value.

    Raises:
        TypeError, ValueError: as :func:`mc_estimate`.

    Shapes:
        candidates: ``(num_samples, *event_shape)``; ``x_best``: ``event_shape``.
    """
    num_samples = check_num_samples(num_samples)
    check_generator(generator)
    x = _draw(sampler, num_samples, generator)
    values = _evaluate(f, x, num_samples)
    i = int(torch.argmin(values))
    return x[i], float(values[i])


def stochastic_gradient_descent(
    grad_estimate: Callable[..., Tensor],
    init: Tensor,
    *,
    learning_rate: float,
    num_steps: int,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Stochastic gradient descent with a Monte Carlo gradient estimate.

    .. math::

        \\theta_{t+1} = \\theta_t - \\eta \\, \\hat{g}(\\theta_t), \\qquad
        \\mathbb{E}[\\hat{g}(\\theta)] = \\nabla_\\theta \\mathcal{F}(\\theta).

    With an unbiased :math:`\\hat{g}` (samples of the model and a minibatch of the
    data: doubly stochastic) and a small step, :math:`\\theta_t` approaches a
    stationary point of :math:`\\mathcal{F}` (Robbins and Monro, 1951).

    Introduced in chapter 2, *Sampling* (the simulation view); Mohamed et al. (2020), Sec. 2.

    Args:
        grad_estimate: ``grad_estimate(theta, generator=...) -> Tensor`` of ``theta``'s shape.
        init: the initial parameters.
        learning_rate: the step size :math:`\\eta > 0`.
        num_steps: number of steps, an integer >= 1.
        generator: the random number generator, passed to ``grad_estimate``.

    Returns:
        The trajectory, initial point included.

    Raises:
        TypeError: if ``init`` is not a tensor, ``learning_rate`` not a number, or
            ``grad_estimate`` not a callable with a ``generator`` keyword.
        ValueError: if ``learning_rate`` is not finite and positive, ``num_steps < 1``,
            or ``grad_estimate`` returns the wrong shape.

    Shapes:
        ``init``: ``param_shape``; output: ``(num_steps + 1, *param_shape)``.
    """
    if not isinstance(init, torch.Tensor):
        raise TypeError(f"init must be a torch.Tensor, got {type(init).__name__}")
    check_positive(learning_rate, "learning_rate")
    num_steps = check_num_samples(num_steps, "num_steps")
    check_generator(generator)
    if not callable(grad_estimate):
        raise TypeError(f"grad_estimate must be callable, got {type(grad_estimate).__name__}")
    _check_generator_keyword(grad_estimate, "grad_estimate", "grad_estimate(theta, generator=None) -> Tensor")
    theta = init.detach().clone()
    trajectory = [theta]
    for _ in range(num_steps):
        g = grad_estimate(theta, generator=generator)
        if not isinstance(g, torch.Tensor) or g.shape != theta.shape:
            got = tuple(g.shape) if isinstance(g, torch.Tensor) else type(g).__name__
            raise ValueError(f"grad_estimate returned {got}, expected a tensor of shape {tuple(theta.shape)}")
        theta = theta - learning_rate * g.detach()
        trajectory.append(theta)
    return torch.stack(trajectory)
