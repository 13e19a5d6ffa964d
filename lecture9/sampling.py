r"""Sampling from ``torch.distributions`` with an explicit random generator.

``torch.distributions`` samplers take no ``generator`` argument: they use PyTorch's
global random state. Every random function of :mod:`lecture9` takes a
``generator: torch.Generator | None`` instead, so this module draws the base noise
itself (``torch.randn``, ``torch.rand``, ``torch.poisson``, standard Gamma draws) and
transforms it: :math:`x = \mu + \sigma \epsilon` for location-scale families, the
inverse CDF :math:`x = F^{-1}(u)`, :math:`u \sim U(0, 1)` (Laplace, Cauchy,
Exponential and any family with an ``icdf``), the transforms of a
``TransformedDistribution`` (Logistic, Gumbel, Weibull, Pareto, LogNormal, ...), the
mixture indicator for ``MixtureSameFamily``, and Gamma draws for Gamma, Beta,
Dirichlet and StudentT. For reparameterizable families the samples stay
differentiable in the distribution's parameters (like ``rsample``); for discrete
ones they are constants (like ``sample``). Mohamed et al. (2020), Sec. 5.

Direct samplers of chapter 2, *Sampling*, for densities without a ``torch.distributions``
family: :func:`inverse_cdf_sample` (a quantile function) and :func:`rejection_sample`
(an envelope :math:`M q \\ge p`). Introduced in chapter 2; used by
:mod:`lecture9.montecarlo`, :mod:`lecture9.optimization` and :mod:`lecture9.estimators`.
"""

from __future__ import annotations

import copy
import inspect
import math
import numbers
from typing import NamedTuple

import torch
from torch import distributions as D

from ._validation import (
    check_distribution,
    check_finite,
    check_generator,
    check_num_samples,
    check_positive_int,
)

__all__ = [
    "draw",
    "uniform_noise",
    "normal_noise",
    "inverse_cdf_sample",
    "rejection_sample",
    "RejectionSamples",
    "RejectionSamplingError",
]

Tensor = torch.Tensor

#: Most numbers one call of :func:`draw` may allocate (2**31, 16 GiB in float64); past it, draw in chunks.
MAX_DRAW_NUMEL = 2**31


def _noise(fn, shape, like: torch.Tensor, generator) -> torch.Tensor:
    if not isinstance(like, torch.Tensor) or not like.is_floating_point():
        got = like.dtype if isinstance(like, torch.Tensor) else type(like).__name__
        raise TypeError(
            f"like must be a floating-point tensor (it sets the noise's dtype and device), got {got}"
        )
    if generator is not None and not isinstance(generator, torch.Generator):
        check_generator(generator)
    try:
        shape = torch.Size((shape,) if isinstance(shape, int) else shape)
    except TypeError:
        raise TypeError(f"shape must be a tuple of integers, got {shape!r}") from None
    if any(n < 0 for n in shape):
        raise ValueError(f"shape must have entries >= 0, got {tuple(shape)}")
    # Drawn on the generator's device (a CUDA generator cannot fill a CPU tensor, nor the
    # reverse), then moved to ``like``'s device, so a seed gives the same noise everywhere.
    if generator is None:
        return fn(shape, dtype=like.dtype, device=like.device)
    return fn(shape, generator=generator, dtype=like.dtype, device=generator.device).to(like.device)


def uniform_noise(shape, like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Uniform noise on the open interval (0, 1), with ``like``'s dtype and device.

    The base noise of every inverse-CDF sampler: clamped away from 0 so that ``log(u)``
    and ``icdf(u)`` stay finite.

    Shapes:
        Output: ``shape``.
    """
    return _noise(torch.rand, shape, like, generator).clamp_min(torch.finfo(like.dtype).tiny)


def normal_noise(shape, like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Standard normal noise with ``like``'s dtype and device (the reparameterization's epsilon).

    Shapes:
        Output: ``shape``.
    """
    return _noise(torch.randn, shape, like, generator)


def _gamma(concentration: torch.Tensor, shape, generator) -> torch.Tensor:
    """Standard Gamma draws, differentiable in ``concentration`` (implicit reparameterization)."""
    g = torch._standard_gamma(concentration.expand(shape).contiguous(), generator=generator)
    return g.clamp_min(torch.finfo(g.dtype).tiny)


def _sample_normal(d, shape, g):
    return d.loc + d.scale * normal_noise(shape, d.loc, g)


def _sample_laplace(d, shape, g):
    u = uniform_noise(shape, d.loc, g) - 0.5
    return d.loc - d.scale * u.sign() * torch.log1p(-2.0 * u.abs())


def _sample_cauchy(d, shape, g):
    return d.loc + d.scale * torch.tan(math.pi * (uniform_noise(shape, d.loc, g) - 0.5))


def _sample_exponential(d, shape, g):
    return -torch.log(uniform_noise(shape, d.rate, g)) / d.rate


def _sample_uniform(d, shape, g):
    u = torch.rand(shape, dtype=d.low.dtype, device=d.low.device, generator=g)
    return d.low + (d.high - d.low) * u


def _sample_gamma(d, shape, g):
    return _gamma(d.concentration, shape, g) / d.rate


def _sample_beta(d, shape, g):
    a = _gamma(d.concentration1, shape, g)
    b = _gamma(d.concentration0, shape, g)
    eps = torch.finfo(a.dtype).eps
    return (a / (a + b)).clamp(min=torch.finfo(a.dtype).tiny, max=1 - eps)


def _sample_dirichlet(d, shape, g):
    x = _gamma(d.concentration, shape, g)
    return x / x.sum(-1, keepdim=True)


def _sample_student_t(d, shape, g):
    z = normal_noise(shape, d.loc, g)
    chi2 = 2.0 * _gamma(0.5 * d.df, shape, g)
    return d.loc + d.scale * z * torch.rsqrt(chi2 / d.df)


def _sample_bernoulli(d, shape, g):
    probs = d.probs.detach()
    return (uniform_noise(shape, probs, g) < probs).to(probs.dtype)


def _sample_geometric(d, shape, g):
    probs = d.probs.detach()
    return (torch.log(uniform_noise(shape, probs, g)) / torch.log1p(-probs)).floor()


def _sample_poisson(d, shape, g):
    return torch.poisson(d.rate.detach().expand(shape).contiguous(), generator=g)


def _sample_binomial(d, shape, g):
    count = d.total_count.detach().expand(shape).contiguous()
    probs = d.probs.detach().expand(shape).contiguous().to(count.dtype)
    return torch.binomial(count, probs, generator=g)


def _sample_categorical(d, shape, g):
    probs = d.probs.detach()
    k = probs.shape[-1]
    sample_shape = shape[: len(shape) - len(d.batch_shape)]
    count = math.prod(sample_shape)
    flat = probs.reshape(-1, k)
    idx = torch.multinomial(flat, count, replacement=True, generator=g)  # (batch, count)
    return idx.T.reshape(tuple(sample_shape) + tuple(d.batch_shape))


def _sample_one_hot_categorical(d, shape, g):
    idx = _sample_categorical(d._categorical, shape[:-1], g)
    return torch.nn.functional.one_hot(idx, d.probs.shape[-1]).to(d.probs.dtype)


def _sample_multivariate_normal(d, shape, g):
    eps = normal_noise(shape, d.loc, g)
    return d.loc + (d._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)


def _sample_logit_relaxed_bernoulli(d, shape, g):
    u = uniform_noise(shape, d.logits, g)
    u = u.clamp(max=1 - torch.finfo(u.dtype).eps)
    return (d.logits + torch.log(u) - torch.log1p(-u)) / d.temperature


def _sample_exp_relaxed_categorical(d, shape, g):
    u = uniform_noise(shape, d.logits, g).clamp(max=1 - torch.finfo(d.logits.dtype).eps)
    scores = (d.logits - torch.log(-torch.log(u))) / d.temperature
    return scores - scores.logsumexp(-1, keepdim=True)


_SAMPLERS = {
    D.Normal: _sample_normal,
    D.Laplace: _sample_laplace,
    D.Cauchy: _sample_cauchy,
    D.Exponential: _sample_exponential,
    D.Uniform: _sample_uniform,
    D.Gamma: _sample_gamma,
    D.Beta: _sample_beta,
    D.Dirichlet: _sample_dirichlet,
    D.StudentT: _sample_student_t,
    D.Bernoulli: _sample_bernoulli,
    D.Geometric: _sample_geometric,
    D.Poisson: _sample_poisson,
    D.Binomial: _sample_binomial,
    D.Categorical: _sample_categorical,
    D.OneHotCategorical: _sample_one_hot_categorical,
    D.MultivariateNormal: _sample_multivariate_normal,
    D.relaxed_bernoulli.LogitRelaxedBernoulli: _sample_logit_relaxed_bernoulli,
    D.relaxed_categorical.ExpRelaxedCategorical: _sample_exp_relaxed_categorical,
}


def _sample_mixture_same_family(d, shape, g, sample_shape):
    comp = draw_unchecked(d.component_distribution, sample_shape, g)  # (*s, *b, K, *e)
    which = draw_unchecked(d.mixture_distribution, sample_shape, g)  # (*s, *b)
    event_dims = len(d.event_shape)
    index = which.reshape(which.shape + (1,) + (1,) * event_dims)
    index = index.expand(which.shape + (1,) + d.event_shape)
    return comp.gather(len(which.shape), index).squeeze(len(which.shape))


def draw(
    distribution: D.Distribution, sample_shape=(), generator: torch.Generator | None = None
) -> torch.Tensor:
    """Draw ``sample_shape`` samples of ``distribution`` with ``generator``; differentiable where possible.

    The one public sampler of :mod:`lecture9` for ``torch.distributions`` families.

    Raises:
        TypeError: if ``distribution`` is not a Distribution, ``sample_shape`` not an
            integer or tuple of integers, ``generator`` not a Generator, or the family
            has no generator-aware sampler here (e.g. VonMises).
        ValueError: if ``sample_shape`` has a negative entry or the draw would hold
            more than ``MAX_DRAW_NUMEL`` numbers.

    Shapes:
        Output: ``(*sample_shape, *batch_shape, *event_shape)``.
    """
    check_distribution(distribution, "distribution")
    check_generator(generator)
    if isinstance(sample_shape, numbers.Integral) and not isinstance(sample_shape, bool):
        sample_shape = (int(sample_shape),)
    if not isinstance(sample_shape, (tuple, list, torch.Size)) or not all(
        isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in sample_shape
    ):
        raise TypeError(
            f"sample_shape must be an integer or a tuple of integers, got {sample_shape!r}; e.g. (1000,)"
        )
    if any(n < 0 for n in sample_shape):
        raise ValueError(f"sample_shape must have entries >= 0, got {tuple(sample_shape)}")
    numel = math.prod(distribution._extended_shape(torch.Size(sample_shape)))
    if numel > MAX_DRAW_NUMEL:
        raise ValueError(
            f"sample_shape {tuple(sample_shape)} asks for {numel:.3g} numbers, more than MAX_DRAW_NUMEL = "
            f"{MAX_DRAW_NUMEL:.3g} in one call; draw in chunks (e.g. lecture9.montecarlo.mc_estimate does)"
        )
    return draw_unchecked(distribution, tuple(int(n) for n in sample_shape), generator)


def draw_unchecked(dist: D.Distribution, sample_shape: tuple[int, ...], generator) -> torch.Tensor:
    """:func:`draw` without argument checks (internal hot path)."""
    shape = dist._extended_shape(torch.Size(sample_shape))
    for cls in type(dist).__mro__:
        if cls in _SAMPLERS:
            return _SAMPLERS[cls](dist, shape, generator)
        if cls is D.TransformedDistribution:
            x = draw_unchecked(dist.base_dist, sample_shape, generator)
            for transform in dist.transforms:
                x = transform(x)
            return x
        if cls is D.Independent:
            return draw_unchecked(dist.base_dist, sample_shape, generator)
        if cls is D.MixtureSameFamily:
            return _sample_mixture_same_family(dist, shape, generator, sample_shape)
    if not dist.support.is_discrete:  # fall back on the inverse CDF
        like = (
            dist.mean if isinstance(getattr(dist, "mean", None), torch.Tensor) else torch.zeros(())
        )
        try:
            return dist.icdf(uniform_noise(shape, like, generator))
        except NotImplementedError:
            pass
    raise TypeError(
        f"lecture9 cannot sample {type(dist).__name__} with an explicit generator; "
        "use a family with a known sampler (Normal, Laplace, Logistic, Cauchy, Exponential, Gumbel, "
        "Uniform, Gamma, Beta, StudentT, Weibull, Pareto, Bernoulli, Categorical, Poisson, "
        "MixtureSameFamily, ...) or one with an icdf"
    )


# --------------------------------------------------------------------------- callables and direct sampling


def check_generator_keyword(fn, name: str, signature: str) -> None:
    """Raise ``TypeError`` if the callable ``fn`` cannot take a ``generator=`` keyword."""
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


def draw_samples(sampler, num_samples: int, generator, name: str = "sampler") -> Tensor:
    """Samples from a Distribution or a callable ``sampler(num_samples, generator=...)``."""
    if isinstance(sampler, torch.distributions.Distribution):
        with torch.no_grad():
            return draw_unchecked(sampler, (num_samples,), generator)
    if not callable(sampler):
        raise TypeError(
            f"{name} must be a torch.distributions.Distribution or a callable "
            f"{name}(num_samples, generator=...) -> Tensor, got {type(sampler).__name__}"
        )
    check_generator_keyword(sampler, name, f"{name}(num_samples, generator=None) -> Tensor")
    x = sampler(num_samples, generator=generator)
    if not isinstance(x, torch.Tensor) or x.dim() == 0 or x.shape[0] != num_samples:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(
            f"{name} must return a tensor with num_samples={num_samples} rows, got {got}; "
            f"the first dimension indexes the samples"
        )
    return x


def evaluate_samples(f, x: Tensor, num_samples: int, name: str = "f") -> Tensor:
    """Evaluate ``f`` on samples and check that it returns one value per sample."""
    if not callable(f):
        raise TypeError(
            f"{name} must be callable, mapping samples to one value per sample, got {type(f).__name__}"
        )
    values = f(x)
    if not isinstance(values, torch.Tensor):
        raise TypeError(f"{name} must return a torch.Tensor, got {type(values).__name__}")
    if tuple(values.shape) != (num_samples,):
        raise ValueError(
            f"{name} returned shape {tuple(values.shape)}, expected ({num_samples},): one value per sample. "
            f"Reduce over the event dimensions inside {name} (e.g. .sum(-1))"
        )
    return values


def check_scalar_batch(distribution, name: str) -> None:
    if distribution.batch_shape != torch.Size():
        raise ValueError(
            f"{name} must have batch_shape (), got {tuple(distribution.batch_shape)}; "
            f"for a multivariate density wrap it as torch.distributions.Independent({name}, 1)"
        )


def target_log_density(target, proposal, name: str):
    """``target.log_prob`` after checking that the target Distribution matches the proposal's space."""
    if target.event_shape != proposal.event_shape:
        raise ValueError(
            f"target and proposal must have the same event_shape, got {tuple(target.event_shape)} and "
            f"{tuple(proposal.event_shape)}; both must be densities over the same space"
        )
    check_scalar_batch(target, name)
    return support_log_prob(target)


def _unvalidated(dist: D.Distribution) -> D.Distribution:
    """A shallow copy of ``dist`` (and of its base distributions) with argument validation off."""
    dist = copy.copy(dist)
    dist._validate_args = False
    if isinstance(dist, (D.Independent, D.TransformedDistribution)):
        dist.base_dist = _unvalidated(dist.base_dist)
    return dist


def support_log_prob(dist: D.Distribution):
    """``dist.log_prob`` that is ``-inf`` outside the support, where torch would raise or return NaN."""
    raw = _unvalidated(dist).log_prob

    def log_prob(x: Tensor) -> Tensor:
        return torch.where(dist.support.check(x), raw(x), -math.inf)

    return log_prob


class RejectionSamples(NamedTuple):
    """Result of :func:`rejection_sample`: ``(samples, acceptance_rate, num_proposed)``."""

    #: The accepted samples, shape ``(num_samples, *event_shape)``.
    samples: Tensor
    #: Accepted / proposed, an estimate of :math:`Z / M` (:math:`1/M` for a normalised target).
    acceptance_rate: float
    #: How many proposals were needed for ``num_samples`` acceptances.
    num_proposed: int


def inverse_cdf_sample(
    icdf, num_samples: int, *, generator: torch.Generator | None = None, dtype=torch.float64
) -> Tensor:
    """Direct sampling by the inverse CDF: :math:`x = F^{-1}(u)`, :math:`u \\sim U(0, 1)`.

    If :math:`F` is the CDF of :math:`X`, then :math:`\\Pr(F^{-1}(U) \\le x) = \\Pr(U \\le F(x)) = F(x)`.

    Devroye (1986), Sec. 2.1.

    Raises:
        TypeError: if ``icdf`` is not callable, is a Distribution without an
            ``icdf`` (e.g. Gamma), or for a bad ``num_samples`` / ``generator``.
        ValueError: if ``num_samples < 1`` or ``icdf`` returns the wrong shape.

    Shapes:
        Output: ``(num_samples,)``.
    """
    num_samples = check_num_samples(num_samples)
    check_generator(generator)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(
            f"dtype must be a floating torch.dtype (the uniforms' dtype), got {dtype!r}; "
            f"e.g. dtype=torch.float64"
        )
    distribution = icdf if isinstance(icdf, torch.distributions.Distribution) else None
    if distribution is not None:
        icdf = distribution.icdf
    elif not callable(icdf):
        raise TypeError(
            f"icdf must be a callable quantile function u -> x, got {type(icdf).__name__}"
        )
    no_icdf = TypeError(
        f"icdf: {type(distribution).__name__} does not implement icdf; pass the quantile function as a "
        f"callable instead, e.g. icdf=lambda u: torch.as_tensor(scipy.stats.gamma(a).ppf(u.numpy())), "
        f"or use lecture9.sampling.draw"
    )
    if (
        distribution is not None
        and type(distribution).icdf is torch.distributions.Distribution.icdf
    ):
        raise no_icdf
    u = uniform_noise((num_samples,), torch.empty((), dtype=dtype), generator)
    try:
        x = evaluate_samples(icdf, u, num_samples, "icdf")
    except NotImplementedError as error:
        if distribution is None:
            raise
        raise no_icdf from error
    bad = ~torch.isfinite(x)
    if bad.any():
        at = float(u[bad.nonzero()[0, 0]])
        raise ValueError(
            f"icdf returned a non-finite value ({float(x[bad][0])}) at u = {at:.6g}; the quantile "
            f"function must map (0, 1) to finite numbers"
        )
    return x


class RejectionSamplingError(RuntimeError):
    """Rejection sampling needed more than ``max_proposals`` proposals (a loose ``log_M`` or a small budget)."""


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

    von Neumann (1951); Robert and Casella (2004), Sec. 2.3.

    Raises:
        TypeError: for a bad ``target_log_prob``, ``proposal``, ``num_samples`` or ``generator``.
        ValueError: if ``log_M`` is not finite or not a single number, the event
            shapes differ, the target is a Distribution with a batch shape other than
            ``()``, the target log-density has the wrong shape, or the envelope is
            violated on a proposal.
        RejectionSamplingError: (a ``RuntimeError``) if more than ``max_proposals`` proposals are
            needed; the message says whether ``log_M`` is too loose or ``max_proposals`` too small.

    Shapes:
        ``samples``: ``(num_samples, *event_shape)``.
    """
    num_samples, max_proposals, log_M, target_log_prob = _rejection_arguments(
        target_log_prob, proposal, log_M, num_samples, generator, max_proposals
    )
    accept_prob_guess = max(min(1.0, math.exp(-min(log_M, 700.0))), 1.0 / max_proposals)
    chunks: list[Tensor] = []
    accepted = 0
    proposed = 0
    while accepted < num_samples:
        remaining = num_samples - accepted
        batch = int(min(max(math.ceil(1.2 * remaining / accept_prob_guess) + 16, 64), 2**20))
        batch = min(batch, max(64, max_proposals - proposed))  # stop near max_proposals
        with torch.no_grad():
            x = draw_unchecked(proposal, (batch,), generator)
        log_p = evaluate_samples(target_log_prob, x, batch, "target_log_prob").detach().double()
        log_ratio = _checked_log_ratio(log_p, proposal.log_prob(x).detach().double(), x, log_M)
        u = torch.rand(batch, generator=generator, dtype=torch.float64)
        idx = torch.nonzero(torch.log(u) < log_ratio).flatten()
        take = min(idx.numel(), remaining)
        proposed += int(idx[take - 1]) + 1 if take == remaining else batch
        chunks.append(x[idx[:take]])
        accepted += take
        if accepted < num_samples and proposed >= max_proposals:
            _raise_exhausted(accepted, proposed, num_samples, max_proposals, log_M)
    return RejectionSamples(torch.cat(chunks, 0), num_samples / proposed, proposed)


def _rejection_arguments(target_log_prob, proposal, log_M, num_samples, generator, max_proposals):
    num_samples = check_num_samples(num_samples)
    check_generator(generator)
    check_distribution(proposal, "proposal")
    check_scalar_batch(proposal, "proposal")
    max_proposals = check_positive_int(max_proposals, "max_proposals")
    if num_samples > max_proposals:
        raise ValueError(
            f"num_samples={num_samples} exceeds max_proposals={max_proposals}: every accepted sample needs at least "
            f"one proposal; raise max_proposals to at least num_samples / acceptance rate"
        )
    if isinstance(log_M, torch.Tensor):
        if log_M.numel() != 1:
            raise ValueError(
                f"log_M must be a single number, got a tensor of shape {tuple(log_M.shape)}"
            )
        log_M = log_M.item()
    log_M = float(check_finite(log_M, "log_M"))
    if isinstance(target_log_prob, torch.distributions.Distribution):
        target_log_prob = target_log_density(target_log_prob, proposal, "target_log_prob")
    elif not callable(target_log_prob):
        raise TypeError(
            f"target_log_prob must be a callable x -> log p(x) or a Distribution, got {type(target_log_prob).__name__}"
        )
    return num_samples, max_proposals, log_M, target_log_prob


def _checked_log_ratio(log_p: Tensor, log_q: Tensor, x: Tensor, log_M: float) -> Tensor:
    """``log p - log q - log M`` per proposal; ``ValueError`` on a NaN / +inf target or a violated envelope."""
    if torch.isnan(log_p).any() or torch.isposinf(log_p).any():
        i = int((torch.isnan(log_p) | torch.isposinf(log_p)).nonzero()[0, 0])
        raise ValueError(
            f"target_log_prob returned {float(log_p[i])} at x = {x[i].tolist()}; it must return a number "
            f"or -inf (zero density) for every proposal"
        )
    log_ratio = log_p - log_q - log_M
    violated = log_ratio > 1e-6
    if violated.any():
        i = int(
            torch.argmax(torch.where(violated, log_ratio, torch.full_like(log_ratio, -math.inf)))
        )
        needed = log_M + float(log_ratio[i])
        where = (
            f"{float(x[i]):.4g}"
            if x[i].numel() == 1
            else str([round(v, 4) for v in x[i].flatten().tolist()])
        )
        raise ValueError(
            f"the envelope M q(x) >= p(x) is violated at x = {where}: log p(x) - log q(x) = {needed:.4g} "
            f"> log_M = {log_M:.4g}; increase log_M to at least {needed:.4g} or use a wider proposal"
        )
    return log_ratio


def _raise_exhausted(
    accepted: int, proposed: int, num_samples: int, max_proposals: int, log_M: float
):
    rate = accepted / proposed
    if rate >= 0.5 * math.exp(-min(log_M, 700.0)):  # about the 1/M of a normalised target
        hint = (
            f"the acceptance rate {rate:.3g} is fine, but num_samples={num_samples} needs about "
            f"{math.ceil(num_samples / max(rate, 1e-300)):.3g} proposals: raise max_proposals"
        )
    else:
        hint = (
            "the envelope is too loose (M too large) - tighten log_M or choose a proposal closer "
            "to the target, or raise max_proposals"
        )
    raise RejectionSamplingError(
        f"rejection sampling accepted only {accepted} of {proposed} proposals "
        f"(max_proposals={max_proposals}); {hint}"
    )
