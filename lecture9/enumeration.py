r"""Exact truth for discrete distributions: expectations and gradients by enumerating the support.

Introduced in chapter 10, *Discrete latent variables*. A Bernoulli vector or a categorical
variable takes finitely many values, so an expectation and its gradient are finite sums,

.. math::

    \mathbb{E}[f] = \sum_{b} p(b; \theta)\, f(b), \qquad
    \nabla_\theta \mathbb{E}[f] = \sum_b \nabla_\theta p(b; \theta)\, f(b),

which :func:`enumerated_gradient` computes (the second by autograd through the first). The
relaxed estimators of :mod:`lecture9.discrete` aim at another objective; for one Bernoulli
logit their exact moments are one-dimensional integrals over the logistic noise
(:func:`relaxed_bernoulli_moments`). These are the references that the tests and the plots
of chapter 10 compare the Monte Carlo estimators against; the exact score-function moments of
a finite discrete distribution are :func:`lecture9.reference.discrete_score_function_moments`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ._validation import check_finite, check_temperature

__all__ = ["MAX_ENUMERATED_BITS", "enumerated_gradient", "relaxed_bernoulli_moments"]


#: Largest number of Bernoulli bits :func:`enumerated_gradient` enumerates (2**16 configurations).
MAX_ENUMERATED_BITS = 16
_NUM_RELAXED_NODES = 2000  # Gauss-Legendre nodes per side of the jump
_RELAXED_RANGE = 40.0  # sigma'(40) = 4e-18: negligible


def _enumerated_support(dist: torch.distributions.Distribution) -> torch.Tensor:
    """Every value of a finite discrete distribution, shape ``(S, *batch_shape, *event_shape)``."""
    D = torch.distributions
    if isinstance(dist, D.Independent):
        base = dist.base_dist
        if type(base) is not D.Bernoulli or dist.reinterpreted_batch_ndims != 1:
            raise TypeError(
                f"enumerated_gradient enumerates Independent(Bernoulli, 1), not Independent({type(base).__name__}, "
                f"{dist.reinterpreted_batch_ndims}); use Bernoulli, Independent(Bernoulli, 1), Categorical or "
                f"OneHotCategorical"
            )
        bits = dist.event_shape[-1]
        if bits > MAX_ENUMERATED_BITS:
            raise ValueError(
                f"enumerated_gradient enumerates at most {MAX_ENUMERATED_BITS} bits (2**{MAX_ENUMERATED_BITS} "
                f"configurations), got an event of {bits} bits; use a Monte Carlo estimator with many samples"
            )
        codes = torch.arange(2**bits)
        table = ((codes[:, None] >> torch.arange(bits - 1, -1, -1)) & 1).to(base.logits.dtype)  # (2^d, d)
        shape = (2**bits,) + tuple(dist.batch_shape) + (bits,)
        return table.reshape((2**bits,) + (1,) * len(dist.batch_shape) + (bits,)).expand(shape)
    if type(dist) not in (D.Bernoulli, D.Categorical, D.OneHotCategorical):
        raise TypeError(
            f"enumerated_gradient supports Bernoulli, Independent(Bernoulli, 1), Categorical and OneHotCategorical, "
            f"got {type(dist).__name__}"
        )
    return dist.enumerate_support(expand=True)


def enumerated_gradient(f: Callable, distribution, params) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    r"""Exact :math:`\mathbb{E}_{p(b;\theta)}[f(b)]` and its gradient, by enumerating the support.

    .. math::

        \mathbb{E}[f] = \sum_{b} p(b; \theta)\, f(b), \qquad
        \nabla_\theta \mathbb{E}[f] = \sum_b \nabla_\theta p(b; \theta)\, f(b),

    the second by autograd through the first. The ground truth for the discrete
    estimators of chapter 10 (:mod:`lecture9.discrete`, and the score function on
    discrete families). For ``Independent(Bernoulli, 1)`` over :math:`d` bits the sum has
    :math:`2^d` terms, so :math:`d \le 16` (:data:`MAX_ENUMERATED_BITS`).

    Args:
        f: cost with the contract of :mod:`lecture9.estimators`: values
            ``(S, *batch_shape, *event_shape)`` -> costs ``(S, *batch_shape)``.
        distribution: ``Bernoulli``, ``Categorical``, ``OneHotCategorical``, or a factory
            returning one of them or ``Independent(Bernoulli(...), 1)``.
        params: dict of named parameter tensors (computed in float64).

    Returns:
        ``(expectation, gradient)``: the exact expectation per batch entry, shape
        ``batch_shape``, and ``{name: Tensor}`` with the exact gradient of the summed
        expectation for every parameter, of that parameter's shape.

    Raises:
        TypeError: for another family or a malformed ``params``.
        ValueError: for more than 16 bits, or if ``f`` returns the wrong shape.

    Shapes:
        ``expectation``: ``batch_shape``; ``gradient[name]``: ``params[name].shape``.
    """
    from .estimators import _as_params, _build, _cost  # estimators imports this module

    if not callable(f):
        raise TypeError(f"f must be a callable mapping values to costs, got {type(f).__name__}")
    checked = {n: v.to(torch.float64) for n, v in _as_params(params).items()}
    _enumerated_support(_build(distribution, checked))  # check the family before building a graph
    with torch.enable_grad():
        leaves = {n: v.clone().requires_grad_(True) for n, v in checked.items()}
        dist = _build(distribution, leaves)
        support = _enumerated_support(dist)
        fx = _cost(f, support, support.shape[:1] + dist.batch_shape, differentiable=False).to(torch.float64)
        expectation = (dist.log_prob(support).exp() * fx).sum(0)
        names = list(leaves)
        grads = torch.autograd.grad(expectation.sum(), [leaves[n] for n in names], allow_unused=True)
    gradient = {n: (torch.zeros_like(checked[n]) if g is None else g.detach()) for n, g in zip(names, grads)}
    return expectation.detach(), gradient


def relaxed_bernoulli_moments(f: Callable, logits: float, temperature: float, estimator: str) -> tuple[float, float]:
    r"""Exact mean and variance of one sample of a relaxed gradient estimate for one Bernoulli logit.

    With logistic noise :math:`L = \log u - \log(1-u)`, the Concrete sample
    :math:`z = \sigma((\theta + L)/\tau)` and the hard sample :math:`b = 1[\theta + L > 0]`,
    the single-sample estimates of :math:`\partial_\theta` are

    - ``"gumbel_softmax"`` (the pathwise estimator of the relaxed objective
      :math:`\mathbb{E}[f(z)]`, Jang et al. 2017; Maddison et al. 2017):
      :math:`f'(z)\, z(1-z)/\tau`;
    - ``"straight_through"`` (Bengio et al. 2013): :math:`f'(b)\, z(1-z)/\tau`;

    and their moments are one-dimensional integrals over the logistic density
    :math:`\sigma(l)\sigma(-l)`. In the variable :math:`s = (\theta + l)/\tau` the factor
    :math:`z(1-z)/\tau\,dl = \sigma'(s)\,ds` has unit width whatever the temperature, so a
    Gauss-Legendre rule on :math:`[-40, 0]` and :math:`[0, 40]` (split at the jump of ``b``)
    resolves every :math:`\tau`; ``f'`` comes from autograd, vectorised.

    Args:
        f: differentiable torch callable acting elementwise on a 1-D float64 tensor.
        logits: the Bernoulli logit :math:`\theta`.
        temperature: :math:`\tau > 0`.
        estimator: ``"gumbel_softmax"`` or ``"straight_through"``.

    Returns:
        ``(mean, variance)`` of a single-sample estimate, as floats.

    Raises:
        ValueError: for an unknown ``estimator`` or ``temperature <= 0``.
    """
    from .reference import _eval_grad, _legendre

    if estimator not in ("gumbel_softmax", "straight_through"):
        raise ValueError(f"estimator must be 'gumbel_softmax' or 'straight_through', got {estimator!r}")
    if not callable(f):
        raise TypeError(f"f must be a callable (torch tensor -> tensor), got {type(f).__name__}")
    theta = float(check_finite(float(logits), "logits"))
    tau = check_temperature(temperature)
    nodes, weights = _legendre(_NUM_RELAXED_NODES, 0.0, _RELAXED_RANGE)
    s, w = torch.cat([-nodes, nodes]), torch.cat([weights, weights])  # both sides of the jump at s = 0
    z = torch.sigmoid(s)
    at = z if estimator == "gumbel_softmax" else (s > 0).to(z.dtype)
    l = tau * s - theta
    density = torch.exp(-l.abs()) / (1 + torch.exp(-l.abs())) ** 2  # logistic density of the noise
    slope = _eval_grad(f, at)
    # one estimate is slope * z (1 - z) / tau; with dl = tau ds its weight is density * tau
    mean = float((w * density * slope * z * (1 - z)).sum())
    second = float((w * density * (slope * z * (1 - z)) ** 2 / tau).sum())
    return mean, second - mean**2
