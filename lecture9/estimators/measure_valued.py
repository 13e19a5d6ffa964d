r"""The measure-valued (weak-derivative) estimator, Mohamed et al. (2020), Sec. 6.

A weak derivative :math:`\partial_\theta p(x;\theta) = c_\theta\,(p^+(x;\theta) - p^-(x;\theta))`
gives

.. math::

    \partial_\theta \mathbb{E}_{p(x;\theta)}[f(x)]
    = c_\theta \big(\mathbb{E}_{p^+}[f(x^+)] - \mathbb{E}_{p^-}[f(x^-)]\big),

one sample :math:`c_\theta (f(x^{+(n)}) - f(x^{-(n)}))`; ``f`` is a black box. Decompositions:

- Normal loc: :math:`c = 1/(\sigma\sqrt{2\pi})`, :math:`x^\pm = \mu \pm \sigma W`, :math:`W` Rayleigh
  (Weibull(:math:`\sqrt 2`, 2)).
- Normal scale: :math:`c = 1/\sigma`, :math:`x^+ = \mu + \sigma M` (double-sided Maxwell),
  :math:`x^- \sim \mathcal{N}(\mu, \sigma^2)`.
- Bernoulli probs: :math:`c = 1`, :math:`x^\pm = 1, 0` (logits: times :math:`p(1-p)`).
- Poisson rate: :math:`c = 1`, :math:`x^+ = x + 1`, :math:`x^- = x'`.
- Exponential rate: :math:`c = 1/\lambda`, :math:`x^+ \sim \mathrm{Exp}(\lambda)`,
  :math:`x^- \sim \mathrm{Gamma}(2, \lambda)`.

Coupling shares random numbers between :math:`x^+` and :math:`x^-` (Secs. 6-7): the same
:math:`W`; :math:`x^- = \mu + \sigma U M`; the same Poisson draw; :math:`x^- = x^+ + E`. Batch
entries are perturbed at once (their costs are independent). Under ``Independent(family, k)``
the cost may couple the event coordinates: the weak derivative is taken one coordinate at a
time, the others kept at a sample of :math:`p` (two evaluations of ``f`` per coordinate and
sample, Sec. 6 and deepmind/mc_gradients).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import distributions as D

from ..families import build, evaluate_cost, innermost
from ..sampling import draw, normal_noise, uniform_noise
from .contract import checked, finite_grads
from .registry import register

__all__ = [
    "MEASURE_VALUED_SUPPORTED",
    "MeasureValuedNotSupported",
    "measure_valued_grad",
    "supported_text",
]

#: The weak-derivative decompositions :func:`measure_valued_grad` knows, by family and parameter name.
MEASURE_VALUED_SUPPORTED = {
    "Normal": ("loc", "scale"),
    "Bernoulli": ("probs", "logits"),
    "Poisson": ("rate",),
    "Exponential": ("rate",),
}
_FAMILIES = tuple(MEASURE_VALUED_SUPPORTED)


class MeasureValuedNotSupported(NotImplementedError, TypeError):
    """``measure_valued_grad`` knows no weak derivative for this ``distribution`` or parameter."""


def supported_text() -> str:
    """The supported families and parameters, for messages."""
    return "; ".join(f"{fam}: {', '.join(ps)}" for fam, ps in MEASURE_VALUED_SUPPORTED.items())


def _check_family(dist: D.Distribution, params: dict[str, torch.Tensor]) -> D.Distribution:
    """The innermost distribution, if every parameter has a decomposition here; raises otherwise."""
    base = innermost(dist)
    family = type(base).__name__
    if family not in MEASURE_VALUED_SUPPORTED or type(base) is not getattr(D, family):
        raise MeasureValuedNotSupported(
            f"measure_valued_grad has no weak-derivative decomposition for {type(dist).__name__}"
            f"{'' if base is dist else f' of {family}'}; supported: {supported_text()}, each possibly under "
            f"Independent. Use score_function_grad (any family) or pathwise_grad instead"
        )
    for name in params:
        if name not in MEASURE_VALUED_SUPPORTED[family]:
            raise MeasureValuedNotSupported(
                f"measure_valued_grad has no decomposition for parameter {name!r} of {family}; supported: "
                f"{supported_text()}"
            )
        attr = getattr(base, name)
        try:
            same = torch.allclose(attr, params[name].expand(attr.shape).to(attr.dtype))
        except RuntimeError:
            same = False
        if not same:
            raise ValueError(
                f"params[{name!r}] is not the {name} of the {family} that distribution(**params) built; "
                f"pass the family's own parameters (e.g. torch.distributions.{family})"
            )
    return base


def _difference_of_costs(
    f, dist: D.Distribution, base: D.Distribution, num_samples: int, generator
):
    """``difference(x_plus, x_minus)``: ``f(x+) - f(x-)`` per sample and element."""
    shape = torch.Size((num_samples,)) + base.batch_shape
    cost_shape = torch.Size((num_samples,)) + dist.batch_shape
    if not dist.event_shape:
        return lambda xp, xm: (
            evaluate_cost(f, xp, cost_shape, differentiable=False)
            - evaluate_cost(f, xm, cost_shape, differentiable=False)
        )
    event_size = math.prod(dist.event_shape)
    x0 = draw(base, (num_samples,), generator).detach()
    mask = torch.eye(event_size, dtype=torch.bool, device=x0.device).reshape(
        (event_size,) + (1,) * (1 + len(dist.batch_shape)) + tuple(dist.event_shape)
    )
    rows = 2 * event_size * num_samples

    def difference(x_plus, x_minus):
        both = torch.stack(
            [torch.where(mask, x_plus, x0), torch.where(mask, x_minus, x0)]
        )  # (2, E, N, *b, *e)
        costs = evaluate_cost(
            f,
            both.reshape((rows,) + tuple(x0.shape[1:])),
            torch.Size((rows,)) + dist.batch_shape,
            differentiable=False,
        )
        diff = (costs[: rows // 2] - costs[rows // 2 :]).reshape((event_size,) + tuple(cost_shape))
        return diff.movedim(0, -1).reshape(shape)

    return difference


def _register_both(function: Callable) -> Callable:
    """Register ``function`` as ``"measure_valued"``, then coupled as ``"measure_valued_coupled"``."""
    for name, coupled in (("measure_valued", False), ("measure_valued_coupled", True)):
        properties = {"evaluations": 2, "per_parameter": True, "families": _FAMILIES}
        register(name, options={"coupled": coupled}, **properties)(function)
    return function


@_register_both
def measure_valued_grad(
    f: Callable[[torch.Tensor], torch.Tensor],
    distribution,
    params,
    num_samples: int,
    *,
    coupled: bool = True,
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    r"""Per-sample measure-valued (weak-derivative) gradient estimates (package contract).

    Args:
        coupled: share random numbers between the positive and negative parts.

    Raises:
        MeasureValuedNotSupported: (a ``NotImplementedError`` and ``TypeError``) if the family
            or a parameter has no decomposition here.
        TypeError: if ``coupled`` is not a bool.

    Shapes:
        ``f(x)``: ``(num_samples, *batch_shape)``; ``grads[name]``: ``(num_samples, *params[name].shape)``.
        Under ``Independent`` with ``E`` event entries, ``f`` sees ``2 * E * num_samples`` samples at once.
    """
    num_samples, generator, params = checked(num_samples, generator, params)
    if not isinstance(coupled, bool):
        raise TypeError(
            f"coupled must be a bool, got {coupled!r} of type {type(coupled).__name__}; pass coupled=True "
            f"(common random numbers) or coupled=False (independent samples)"
        )
    dist = build(distribution, params)
    base = _check_family(dist, params)
    difference = _difference_of_costs(f, dist, base, num_samples, generator)
    shape = torch.Size((num_samples,)) + base.batch_shape  # one element per sample and coordinate
    out = {}
    for name, value in params.items():
        c, x_plus, x_minus = _WEAK_DERIVATIVES[type(base).__name__](
            name, base, shape, coupled, generator
        )
        est = c * difference(x_plus, x_minus)
        pad = max(len(shape) - 1 - value.dim(), 0)
        target = (num_samples,) + (1,) * pad + tuple(value.shape)
        out[name] = (
            est.expand(shape)
            .sum_to_size(target)
            .reshape((num_samples,) + tuple(value.shape))
            .detach()
        )
    return finite_grads(out, "measure_valued_grad")


def _normal_parts(name: str, dist, shape, coupled: bool, generator):
    loc, scale = dist.loc, dist.scale
    if name == "loc":
        w_plus = torch.sqrt(-2.0 * torch.log(uniform_noise(shape, loc, generator)))
        w_minus = (
            w_plus
            if coupled
            else torch.sqrt(-2.0 * torch.log(uniform_noise(shape, loc, generator)))
        )
        return 1 / (scale * math.sqrt(2 * math.pi)), loc + scale * w_plus, loc - scale * w_minus
    sign = torch.where(uniform_noise(shape, loc, generator) < 0.5, -1.0, 1.0).to(loc.dtype)
    e = normal_noise((3,) + tuple(shape), loc, generator)
    maxwell = sign * torch.sqrt(e[0] * e[0] + e[1] * e[1] + e[2] * e[2])  # +-sqrt(chi^2_3)
    if coupled:
        x_minus = loc + scale * uniform_noise(shape, loc, generator) * maxwell
    else:
        x_minus = loc + scale * normal_noise(shape, loc, generator)
    return 1 / scale, loc + scale * maxwell, x_minus


def _bernoulli_parts(name: str, dist, shape, coupled: bool, generator):
    probs = dist.probs
    c = probs * (1 - probs) if name == "logits" else torch.ones_like(probs)
    like = {"dtype": probs.dtype, "device": probs.device}
    return c, torch.ones(shape, **like), torch.zeros(shape, **like)


def _poisson_parts(name: str, dist, shape, coupled: bool, generator):
    rate = dist.rate
    x = torch.poisson(rate.expand(shape).contiguous(), generator=generator)
    x_minus = x if coupled else torch.poisson(rate.expand(shape).contiguous(), generator=generator)
    return torch.ones_like(rate), x + 1, x_minus


def _exponential_parts(name: str, dist, shape, coupled: bool, generator):
    rate = dist.rate
    e1 = -torch.log(uniform_noise(shape, rate, generator)) / rate
    e2 = -torch.log(uniform_noise(shape, rate, generator)) / rate
    x_minus = e1 + e2 if coupled else e2 - torch.log(uniform_noise(shape, rate, generator)) / rate
    return 1 / rate, e1, x_minus


#: The constant :math:`c_\theta` and the samples :math:`x^\pm` of one weak derivative, by family.
_WEAK_DERIVATIVES = {
    "Normal": _normal_parts,
    "Bernoulli": _bernoulli_parts,
    "Poisson": _poisson_parts,
    "Exponential": _exponential_parts,
}
