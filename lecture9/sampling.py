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

Introduced in chapter 2, *Sampling*; used by :mod:`lecture9.montecarlo` and
:mod:`lecture9.estimators`.
"""

from __future__ import annotations

import math

import torch
from torch import distributions as D

__all__ = ["draw", "uniform_noise", "normal_noise"]




def _noise(fn, shape, like: torch.Tensor, generator) -> torch.Tensor:
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
    comp = draw(d.component_distribution, sample_shape, g)  # (*s, *b, K, *e)
    which = draw(d.mixture_distribution, sample_shape, g)  # (*s, *b)
    event_dims = len(d.event_shape)
    index = which.reshape(which.shape + (1,) + (1,) * event_dims)
    index = index.expand(which.shape + (1,) + d.event_shape)
    return comp.gather(len(which.shape), index).squeeze(len(which.shape))


def draw(dist: D.Distribution, sample_shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor:
    """Draw ``sample_shape`` samples of ``dist`` with ``generator``; differentiable where possible.

    Args:
        dist: a ``torch.distributions.Distribution`` instance.
        sample_shape: the sample shape, e.g. ``(num_samples,)``.
        generator: random generator; ``None`` uses PyTorch's default one.

    Returns:
        Samples of shape ``sample_shape + batch_shape + event_shape``.

    Raises:
        TypeError: if the family has no generator-aware sampler here (e.g. VonMises).

    Shapes:
        Output: ``(*sample_shape, *batch_shape, *event_shape)``.
    """
    shape = dist._extended_shape(torch.Size(sample_shape))
    for cls in type(dist).__mro__:
        if cls in _SAMPLERS:
            return _SAMPLERS[cls](dist, shape, generator)
        if cls is D.TransformedDistribution:
            x = draw(dist.base_dist, sample_shape, generator)
            for transform in dist.transforms:
                x = transform(x)
            return x
        if cls is D.Independent:
            return draw(dist.base_dist, sample_shape, generator)
        if cls is D.MixtureSameFamily:
            return _sample_mixture_same_family(dist, shape, generator, sample_shape)
    if not dist.support.is_discrete:  # fall back on the inverse CDF
        like = dist.mean if isinstance(getattr(dist, "mean", None), torch.Tensor) else torch.zeros(())
        try:
            return dist.icdf(uniform_noise(shape, like, generator))
        except NotImplementedError:
            pass
    raise TypeError(
        f"lecture9 cannot sample {type(dist).__name__} with an explicit generator; "
        f"use a family with a known sampler (Normal, Laplace, Logistic, Cauchy, Exponential, Gumbel, Uniform, "
        f"Gamma, Beta, StudentT, Weibull, Pareto, Bernoulli, Categorical, Poisson, MixtureSameFamily, ...) or one with an icdf"
    )
