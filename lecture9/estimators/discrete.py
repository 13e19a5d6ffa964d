r"""Estimators for discrete variables: Gumbel-max, Gumbel-softmax, straight-through and DisARM.

Introduced in chapter 10, *Discrete latent variables*. A Bernoulli or categorical sample is
a step function of its parameters, so the pathwise estimator has no path to differentiate
(Mohamed et al. 2020, Sec. 5); the score function works unchanged. Besides it:

- Gumbel-max: :math:`k = \arg\max_j (\text{logits}_j + G_j)`, :math:`G_j` i.i.d. standard
  Gumbel, is an exact categorical sample (Maddison et al. 2017, Sec. 3.1).
- Gumbel-softmax / Concrete (Jang et al. 2017; Maddison et al. 2017): the relaxed sample
  :math:`z = \operatorname{softmax}((\text{logits} + G)/\tau)` (binary:
  :math:`z = \sigma((\ell + L)/\tau)`, :math:`L` logistic) and the pathwise gradient of
  :math:`\mathbb{E}[f(z)]`, biased for the discrete objective.
- Straight-through Gumbel-softmax (Jang et al. 2017, Sec. 2.2): the hard sample
  :math:`b = H(z)` forward (:math:`z > 1/2`, or the one-hot arg max), the relaxation's
  gradient backward, ``b + z - z.detach()``; biased.
- DisARM (Dong, Mnih & Tucker 2020, Eq. 6): the antithetic pair :math:`b = 1[u < \sigma(\alpha)]`,
  :math:`\tilde b = 1[1 - u < \sigma(\alpha)]` gives the unbiased
  :math:`\tfrac12 (f(b) - f(\tilde b))(-1)^{\tilde b_i} 1[b_i \neq \tilde b_i]\,\sigma(|\alpha_i|)`,
  ARM (Yin & Zhou 2019) with the antithetic noise integrated out.

The estimator functions keep the package contract; the building blocks
(:func:`~lecture9.estimators.relaxed_bernoulli`,
:func:`~lecture9.estimators.relaxed_one_hot`, :func:`~lecture9.estimators.straight_through`,
:func:`~lecture9.estimators.disarm_logit_grad`) act on given noise, for models that draw
their own (the VAEs). Like :mod:`torch.distributions`, they take ``validate_args``:
``False`` skips the argument and result checks, for a training step whose inputs are
finite by construction (the VAEs' encoder logits and clamped noise).
Exact gradients for checking them: :func:`lecture9.enumeration.enumerated_gradient`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import distributions as D

from .._validation import (
    check_bool,
    check_finite,
    check_generator,
    check_num_samples,
    check_temperature,
    check_tensor,
)
from ..families import build, evaluate_cost, innermost
from ..sampling import draw, uniform_noise
from .contract import checked, expanded, per_sample
from .registry import register

__all__ = [
    "DEFAULT_TEMPERATURE",
    "gumbel_max_sample",
    "relaxed_bernoulli",
    "relaxed_one_hot",
    "hard_sample",
    "straight_through",
    "disarm_logit_grad",
    "gumbel_softmax_grad",
    "straight_through_grad",
    "disarm_grad",
]

#: Temperature of the Concrete relaxation unless another is given.
DEFAULT_TEMPERATURE = 0.5
_RELAXED_FAMILIES = ("Bernoulli", "OneHotCategorical")


def gumbel_max_sample(
    logits: torch.Tensor, num_samples: int, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Categorical samples by the Gumbel-max trick (category indices, ``torch.long``).

    Raises:
        TypeError: if ``logits`` is not a floating-point tensor.
        ValueError: if ``num_samples < 1``, ``logits`` is a scalar or not finite.

    Shapes:
        ``logits``: ``(*batch_shape, K)``; result: ``(num_samples, *batch_shape)``.
    """
    num_samples = check_num_samples(num_samples)
    generator = check_generator(generator)
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise TypeError(
            f"logits must be a floating-point tensor, got {logits!r}; pass e.g. torch.zeros(3)"
        )
    if logits.dim() == 0:
        raise ValueError(
            "logits must have the categories along a last dimension, got a scalar; pass e.g. torch.zeros(3)"
        )
    if not torch.isfinite(logits).all():
        raise ValueError(f"logits must be finite, got {logits}")
    logits = logits.detach()
    gumbel = draw(
        D.Gumbel(torch.zeros_like(logits), torch.ones_like(logits)), (num_samples,), generator
    )
    return (logits + gumbel).argmax(-1)


def _check_relaxation(logits, noise, temperature, noise_name: str) -> None:
    """The checks of the relaxations: floating tensors and a temperature float32 can represent."""
    check_tensor(logits, "logits", floating=True, finite=False)
    check_tensor(noise, noise_name, floating=True, finite=False)
    check_temperature(temperature)


def _finite_result(out: torch.Tensor, names: str, validate: bool = True) -> torch.Tensor:
    """One check of the result instead of one per input: NaN or inf in an input makes it non-finite.

    ``validate=False`` (a building block's ``validate_args``) returns ``out`` unchecked.
    """
    return check_finite(out, names) if validate else out


def relaxed_bernoulli(
    logits: torch.Tensor, noise: torch.Tensor, temperature: float, *, validate_args: bool = True
) -> torch.Tensor:
    """The binary Concrete sample :math:`\\sigma((\\ell + L)/\\tau)` for given logistic noise ``L``.

    Shapes:
        ``logits`` and ``noise`` broadcast; the result has their broadcast shape.
    """
    validate = check_bool(validate_args, "validate_args")
    if validate:
        _check_relaxation(logits, noise, temperature, "noise")
    out = torch.sigmoid((logits + noise) / temperature)
    return _finite_result(out, "logits and noise", validate)


def relaxed_one_hot(
    logits: torch.Tensor, gumbel: torch.Tensor, temperature: float, *, validate_args: bool = True
) -> torch.Tensor:
    """The Concrete sample :math:`\\operatorname{softmax}((\\text{logits} + G)/\\tau)` for given Gumbel noise.

    Shapes:
        ``logits`` and ``gumbel`` broadcast, categories last; the result has their broadcast shape.
    """
    validate = check_bool(validate_args, "validate_args")
    if validate:
        _check_relaxation(logits, gumbel, temperature, "gumbel")
    out = torch.softmax((logits + gumbel) / temperature, dim=-1)
    return _finite_result(out, "logits and gumbel", validate)


def hard_sample(relaxed: torch.Tensor, one_hot: bool) -> torch.Tensor:
    """The exact discrete sample a relaxed one rounds to: ``relaxed > 1/2``, or the one-hot arg max."""
    check_tensor(relaxed, "relaxed", floating=True)
    if check_bool(one_hot, "one_hot"):
        return torch.nn.functional.one_hot(relaxed.argmax(-1), relaxed.shape[-1]).to(relaxed.dtype)
    return (relaxed > 0.5).to(relaxed.dtype)


def straight_through(
    hard: torch.Tensor, relaxed: torch.Tensor, *, validate_args: bool = True
) -> torch.Tensor:
    """``hard`` forward, the gradient of ``relaxed`` backward: ``hard + (relaxed - relaxed.detach())``."""
    validate = check_bool(validate_args, "validate_args")
    if validate:
        check_tensor(hard, "hard", floating=True, finite=False)
        check_tensor(relaxed, "relaxed", floating=True, finite=False)
    return _finite_result(hard + (relaxed - relaxed.detach()), "hard and relaxed", validate)


def disarm_logit_grad(
    diff: torch.Tensor,
    b: torch.Tensor,
    b_anti: torch.Tensor,
    logits: torch.Tensor,
    *,
    validate_args: bool = True,
) -> torch.Tensor:
    """The DisARM estimate for each logit from an antithetic pair ``b``, ``b_anti`` (no gradient).

    ``diff`` is :math:`f(b) - f(\\tilde b)`, shaped to broadcast against the logits.
    """
    validate = check_bool(validate_args, "validate_args")
    if validate:
        for value, name in ((diff, "diff"), (b, "b"), (b_anti, "b_anti"), (logits, "logits")):
            check_tensor(value, name, floating=True, finite=False)
    sign = 1.0 - 2.0 * b_anti
    out = (
        0.5
        * diff.detach()
        * sign
        * (b != b_anti).to(b.dtype)
        * torch.sigmoid(logits.detach().abs())
    )
    return _finite_result(out, "diff, b, b_anti and logits", validate)


def _relaxed_grad(
    f, distribution, params, num_samples, temperature, generator, hard: bool, caller: str
):
    """Per-sample gradients of ``f`` at the relaxed sample (``hard=False``) or straight through it."""
    num_samples, generator, params = checked(num_samples, generator, params)
    dist = build(distribution, params)
    base = innermost(dist)
    if type(base) not in (D.Bernoulli, D.OneHotCategorical):
        raise TypeError(
            f"{caller} needs a Bernoulli or OneHotCategorical distribution (optionally in Independent), got "
            f"{type(base).__name__}; pass distribution=torch.distributions.Bernoulli or OneHotCategorical"
        )
    tau = torch.tensor(
        check_temperature(temperature), dtype=base.logits.dtype, device=base.logits.device
    )
    dist_n, leaves = expanded(distribution, params, dist, num_samples)
    logits_n = innermost(dist_n).logits
    one_hot = type(base) is D.OneHotCategorical
    relaxed = (
        D.RelaxedOneHotCategorical(tau, logits=logits_n)
        if one_hot
        else D.RelaxedBernoulli(tau, logits=logits_n)
    )
    z = draw(relaxed, (), generator)
    x = straight_through(hard_sample(z, one_hot), z) if hard else z
    fx = evaluate_cost(f, x, torch.Size((num_samples,)) + dist.batch_shape, differentiable=True)
    names = list(leaves)
    if not fx.requires_grad:
        return {
            n: torch.zeros((num_samples,) + tuple(params[n].shape), dtype=params[n].dtype)
            for n in names
        }
    grads = torch.autograd.grad(fx.sum(), [leaves[n] for n in names], allow_unused=True)
    return {n: per_sample(g, leaves[n], params[n]) for n, g in zip(names, grads)}


def _relaxed_estimator(name: str, hard: bool, doc: str) -> Callable:
    """Register the estimator ``name``: :func:`_relaxed_grad` at the relaxed or (``hard``) hard sample."""

    def estimator(
        f: Callable,
        distribution,
        params,
        num_samples: int,
        *,
        temperature=DEFAULT_TEMPERATURE,
        generator=None,
    ) -> dict[str, torch.Tensor]:
        return _relaxed_grad(
            f, distribution, params, num_samples, temperature, generator, hard, f"{name}_grad"
        )

    estimator.__name__ = estimator.__qualname__ = f"{name}_grad"
    estimator.__doc__ = doc
    properties = {"unbiased": False, "temperature": True, "families": _RELAXED_FAMILIES}
    return register(name, differentiable_cost=True, **properties)(torch.enable_grad()(estimator))


gumbel_softmax_grad = _relaxed_estimator(
    "gumbel_softmax",
    False,
    """Per-sample Gumbel-softmax (Concrete) gradient estimates: ``f`` at the relaxed sample.

    The pathwise gradient of the relaxed objective (the same draws as
    :func:`~lecture9.estimators.pathwise_grad` on ``RelaxedBernoulli`` /
    ``RelaxedOneHotCategorical``); ``f`` must accept relaxed values.

    Args:
        temperature: :math:`\\tau > 0`, a number or a scalar tensor.

    Raises:
        TypeError: for another family; ValueError: as the contract, or a bad ``temperature``.

    Shapes:
        ``f(x)``: ``(num_samples, *batch_shape)``; ``grads[name]``: ``(num_samples, *params[name].shape)``.
    """,
)
straight_through_grad = _relaxed_estimator(
    "straight_through",
    True,
    """Per-sample straight-through Gumbel-softmax gradient estimates: ``f`` at the hard sample.

    The hard sample (an exact sample of the discrete distribution) forward, the Concrete
    relaxation's gradient backward. Arguments, errors and shapes as :func:`gumbel_softmax_grad`.
    """,
)


@register("disarm", evaluations=2, families=("Bernoulli",))
@torch.enable_grad()
def disarm_grad(
    f: Callable, distribution, params, num_samples: int, *, generator=None
) -> dict[str, torch.Tensor]:
    """Per-pair DisARM gradient estimates for Bernoulli variables (two evaluations of ``f`` a row).

    Gradients for ``probs`` or a factory's own parameters follow from the logits' by the chain rule.

    Raises:
        TypeError: if the family is not Bernoulli (optionally in ``Independent``).

    Shapes:
        ``f(x)`` (twice): ``(num_samples, *batch_shape)``; ``grads[name]``: ``(num_samples, *params[name].shape)``.
    """
    num_samples, generator, params = checked(num_samples, generator, params)
    dist = build(distribution, params)
    if type(innermost(dist)) is not D.Bernoulli:
        raise TypeError(
            f"disarm_grad needs a Bernoulli distribution (optionally in Independent), got "
            f"{type(innermost(dist)).__name__}; use score_function_grad with a leave-one-out "
            "baseline for other families"
        )
    probs = params.get("probs")
    if probs is not None and bool(((probs.detach() <= 0) | (probs.detach() >= 1)).any()):
        raise ValueError(
            "probs must lie in (0, 1) for disarm_grad, got a probability of 0 or 1: there the antithetic "
            "pair never differs and DisARM would return 0, while the one-sided gradient is f(1) - f(0); "
            "use measure_valued_grad at the boundary"
        )
    dist_n, leaves = expanded(distribution, params, dist, num_samples)
    logits_n = innermost(dist_n).logits.expand(dist_n.batch_shape + dist_n.event_shape)
    probs = torch.sigmoid(logits_n.detach())
    u = uniform_noise(logits_n.shape, logits_n, generator)
    b, b_anti = (u < probs).to(u.dtype), (1 - u < probs).to(u.dtype)
    cost_shape = torch.Size((num_samples,)) + dist.batch_shape
    diff = evaluate_cost(f, b, cost_shape, differentiable=False) - evaluate_cost(
        f, b_anti, cost_shape, differentiable=False
    )
    diff = diff.reshape(tuple(diff.shape) + (1,) * len(dist.event_shape))
    grad_logits = disarm_logit_grad(diff, b, b_anti, logits_n)
    names = list(leaves)
    grads = torch.autograd.grad(
        (logits_n * grad_logits).sum(), [leaves[n] for n in names], allow_unused=True
    )
    return {n: per_sample(g, leaves[n], params[n]) for n, g in zip(names, grads)}
