r"""Gradient estimators for discrete random variables: relaxations, straight-through and DisARM.

Introduced in chapter 10, *Discrete latent variables*. A Bernoulli or categorical sample
is a step function of its parameters, so the pathwise estimator has no path to
differentiate (Mohamed et al. 2020, Sec. 5); the score function works unchanged
(:func:`lecture9.estimators.score_function_grad`). This module adds the estimators
practitioners use besides it:

- :func:`gumbel_max_sample`: exact categorical samples as
  :math:`\arg\max_k (\text{logits}_k + G_k)` with i.i.d. standard Gumbel :math:`G_k`.
- The Gumbel-softmax / Concrete relaxation (Jang et al. 2017; Maddison et al. 2017) is
  ``torch.distributions.RelaxedBernoulli`` / ``RelaxedOneHotCategorical``, and its
  pathwise estimator is :func:`lecture9.estimators.pathwise_grad` with those families.
- :func:`straight_through_grad`: the hard sample forward, the relaxation's gradient
  backward (Bengio et al. 2013; the straight-through Gumbel-softmax of Jang et al. 2017).
- :func:`disarm_grad`: the unbiased antithetic estimator of Dong, Mnih & Tucker (2020)
  for Bernoulli variables.

Every estimator keeps the contract of :mod:`lecture9.estimators` (cost ``f``, family or
factory, ``params`` dict, ``num_samples``, keyword-only ``generator``; per-sample
gradients of shape ``(num_samples, *param.shape)``); exact gradients for checking them
come from :func:`lecture9.enumeration.enumerated_gradient` (also importable as ``lecture9.reference.enumerated_gradient``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import distributions as D

from ._validation import check_generator, check_num_samples, check_temperature
from .sampling import draw, uniform_noise

__all__ = ["gumbel_max_sample", "straight_through_grad", "disarm_grad"]


def _contract():
    # lecture9.estimators re-exports this module's estimators, so its helpers are imported
    # at call time: either module can then be imported first.
    from . import estimators

    return estimators


def _checked_arguments(distribution, params, num_samples, generator):
    """The shared argument checks of the estimators' contract: ``(estimators, num_samples, generator, params, dist)``."""
    est = _contract()
    params = est._as_params(params)
    return est, check_num_samples(num_samples), check_generator(generator), params, est._build(distribution, params)


def _base(dist: D.Distribution) -> D.Distribution:
    while isinstance(dist, D.Independent):
        dist = dist.base_dist
    return dist


def _per_sample_grads(est, leaves, params, logits_n, grad_logits):
    """Chain rule from a per-sample logits gradient to per-sample gradients of the given params."""
    names = list(leaves)
    grads = torch.autograd.grad((logits_n * grad_logits.detach()).sum(), [leaves[n] for n in names],
                                allow_unused=True)
    return {n: est._per_sample(g, leaves[n], params[n]) for n, g in zip(names, grads)}


def gumbel_max_sample(logits: torch.Tensor, num_samples: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Categorical samples by the Gumbel-max trick.

    .. math::

        k = \arg\max_j \,(\text{logits}_j + G_j), \qquad G_j \sim \mathrm{Gumbel}(0, 1)
        \text{ i.i.d.}, \qquad P(k = j) = \mathrm{softmax}(\text{logits})_j.

    The Gumbel noise is drawn through ``torch.distributions.Gumbel`` with ``generator``.
    Maddison et al. (2017), Sec. 3.1; Jang et al. (2017), Sec. 2.

    Args:
        logits: unnormalised log-probabilities, the categories along the last dimension.
        num_samples: number of samples, an integer >= 1.
        generator: random generator; ``None`` uses PyTorch's default one.

    Returns:
        Category indices (``torch.long``).

    Raises:
        TypeError: if ``logits`` is not a floating-point tensor.
        ValueError: if ``num_samples < 1``, ``logits`` is a scalar or not finite.

    Shapes:
        ``logits``: ``(*batch_shape, K)``; result: ``(num_samples, *batch_shape)``.
    """
    num_samples = check_num_samples(num_samples)
    generator = check_generator(generator)
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise TypeError(f"logits must be a floating-point tensor, got {logits!r}; pass e.g. torch.zeros(3)")
    if logits.dim() == 0:
        raise ValueError("logits must have the categories along a last dimension, got a scalar; pass e.g. torch.zeros(3)")
    if not torch.isfinite(logits).all():
        raise ValueError(f"logits must be finite, got {logits}")
    logits = logits.detach()
    gumbel = draw(D.Gumbel(torch.zeros_like(logits), torch.ones_like(logits)), (num_samples,), generator)
    return (logits + gumbel).argmax(-1)


@torch.enable_grad()
def straight_through_grad(
    f: Callable[[torch.Tensor], torch.Tensor],
    distribution,
    params,
    num_samples: int,
    *,
    temperature,
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    r"""Per-sample straight-through Gumbel-softmax gradient estimates.

    Draws the Concrete (Gumbel-softmax) relaxation :math:`z` of the variable with
    ``torch.distributions.RelaxedBernoulli`` / ``RelaxedOneHotCategorical`` and the hard
    sample :math:`b = H(z)` it rounds to (:math:`z > 1/2`, or the one-hot arg max),
    which is an exact sample of the discrete distribution. The cost is evaluated at the
    hard sample and differentiated as if :math:`b` were :math:`z`:

    .. math::

        \hat\eta = \nabla_b f(b)\big|_{b = H(z)} \; \nabla_\theta z(\epsilon; \theta, \tau),

    i.e. ``b + z - z.detach()`` (Bengio et al. 2013; Jang et al. 2017, Sec. 2.2). Biased
    for the discrete objective: the gradient of ``f`` at a corner stands in for a finite
    difference, and the relaxation's slope for the jump. ``f`` must be differentiable on
    the relaxed values.

    Args:
        f: differentiable cost, samples ``(num_samples, *batch_shape, *event_shape)`` ->
            costs ``(num_samples, *batch_shape)``.
        distribution: ``Bernoulli``, ``OneHotCategorical`` or a factory returning one,
            possibly wrapped in ``Independent``.
        params: dict of named parameter tensors (``logits`` or ``probs``).
        num_samples: number of samples, an integer >= 1.
        temperature: the relaxation's temperature :math:`\tau > 0`, a number or scalar tensor.
        generator: random generator; ``None`` uses PyTorch's default one.

    Returns:
        Dict ``{name: Tensor}`` of per-sample gradient estimates, each of shape
        ``(num_samples, *params[name].shape)``.

    Raises:
        TypeError: if the family is not Bernoulli or OneHotCategorical, or an argument has the wrong type.
        ValueError: if ``num_samples < 1``, ``temperature <= 0`` or ``f`` returns the wrong shape.

    Shapes:
        - samples passed to ``f``: ``(num_samples, *batch_shape, *event_shape)``.
        - returned ``grads[name]``: ``(num_samples, *params[name].shape)``.
    """
    est, num_samples, generator, params, dist = _checked_arguments(distribution, params, num_samples, generator)
    base = _base(dist)
    if type(base) not in (D.Bernoulli, D.OneHotCategorical):
        raise TypeError(
            f"straight_through_grad needs a Bernoulli or OneHotCategorical distribution (optionally in "
            f"Independent), got {type(base).__name__}; pass distribution=torch.distributions.Bernoulli"
        )
    tau = torch.tensor(check_temperature(temperature), dtype=base.logits.dtype, device=base.logits.device)
    dist_n, leaves = est._expanded(distribution, params, dist, num_samples)
    logits_n = _base(dist_n).logits
    if type(base) is D.Bernoulli:
        z = draw(D.RelaxedBernoulli(tau, logits=logits_n), (), generator)
        hard = (z > 0.5).to(z.dtype)
    else:
        z = draw(D.RelaxedOneHotCategorical(tau, logits=logits_n), (), generator)
        hard = torch.nn.functional.one_hot(z.argmax(-1), z.shape[-1]).to(z.dtype)
    x = hard + (z - z.detach())  # exactly the hard sample forward, the relaxed gradient backward
    fx = est._cost(f, x, torch.Size((num_samples,)) + dist.batch_shape, differentiable=True)
    names = list(leaves)
    if not fx.requires_grad:
        return {n: torch.zeros((num_samples,) + tuple(params[n].shape), dtype=params[n].dtype) for n in names}
    grads = torch.autograd.grad(fx.sum(), [leaves[n] for n in names], allow_unused=True)
    return {n: est._per_sample(g, leaves[n], params[n]) for n, g in zip(names, grads)}


@torch.enable_grad()
def disarm_grad(
    f: Callable[[torch.Tensor], torch.Tensor],
    distribution,
    params,
    num_samples: int,
    *,
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    r"""Per-pair DisARM gradient estimates for Bernoulli variables (Dong, Mnih & Tucker 2020).

    With :math:`u \sim \mathcal{U}(0, 1)^d`, the antithetic pair :math:`b = 1[u < \sigma(\alpha)]`,
    :math:`\tilde b = 1[1 - u < \sigma(\alpha)]` (both exact samples) gives, for logit
    :math:`\alpha_i` (Sec. 3, Eq. 6),

    .. math::

        \hat\eta_i = \tfrac12 \big(f(b) - f(\tilde b)\big)\,(-1)^{\tilde b_i}\,
        1[b_i \neq \tilde b_i]\; \sigma(|\alpha_i|),

    unbiased for :math:`\partial_{\alpha_i}\mathbb{E}[f(b)]`: the ARM estimator of Yin & Zhou
    (2019) with the antithetic noise integrated out. ``f`` is a black box. One row of the
    result is one pair, i.e. two evaluations of ``f``; the gradients for ``probs`` or a
    factory's own parameters follow from the logits' by the chain rule.

    Args:
        f: cost, samples ``(num_samples, *batch_shape, *event_shape)`` -> costs
            ``(num_samples, *batch_shape)``.
        distribution: ``Bernoulli`` or a factory returning one, possibly in ``Independent``.
        params: dict of named parameter tensors (``logits`` or ``probs``).
        num_samples: number of antithetic pairs, an integer >= 1.
        generator: random generator; ``None`` uses PyTorch's default one.

    Returns:
        Dict ``{name: Tensor}`` of per-pair gradient estimates, each of shape
        ``(num_samples, *params[name].shape)``.

    Raises:
        TypeError: if the family is not Bernoulli, or an argument has the wrong type.
        ValueError: if ``num_samples < 1`` or ``f`` returns the wrong shape.

    Shapes:
        - samples passed to ``f`` (twice): ``(num_samples, *batch_shape, *event_shape)``.
        - returned ``grads[name]``: ``(num_samples, *params[name].shape)``.
    """
    est, num_samples, generator, params, dist = _checked_arguments(distribution, params, num_samples, generator)
    if type(_base(dist)) is not D.Bernoulli:
        raise TypeError(
            f"disarm_grad needs a Bernoulli distribution (optionally in Independent), got "
            f"{type(_base(dist)).__name__}; use score_function_grad with a leave-one-out baseline for other families"
        )
    dist_n, leaves = est._expanded(distribution, params, dist, num_samples)
    logits_n = _base(dist_n).logits.expand(dist_n.batch_shape + dist_n.event_shape)
    probs = torch.sigmoid(logits_n.detach())
    u = uniform_noise(logits_n.shape, logits_n, generator)
    b, b_anti = (u < probs).to(u.dtype), (1 - u < probs).to(u.dtype)
    cost_shape = torch.Size((num_samples,)) + dist.batch_shape
    diff = est._cost(f, b, cost_shape, differentiable=False) - est._cost(f, b_anti, cost_shape, differentiable=False)
    diff = diff.reshape(tuple(diff.shape) + (1,) * len(dist.event_shape))
    sign = 1 - 2 * b_anti
    grad_logits = 0.5 * diff * sign * (b != b_anti).to(u.dtype) * torch.sigmoid(logits_n.detach().abs())
    return _per_sample_grads(est, leaves, params, logits_n, grad_logits)
