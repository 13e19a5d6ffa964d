r"""The pathwise (reparameterization-trick) estimator, Mohamed et al. (2020), Sec. 5.

With :math:`x = g(\epsilon; \theta)` and parameter-free noise :math:`\epsilon`,

.. math::

    \nabla_\theta \mathbb{E}_{p(x;\theta)}[f(x)]
    = \mathbb{E}_{p(\epsilon)}\big[\nabla_x f(x)\, \nabla_\theta g(\epsilon; \theta)\big].

The paths are those of :func:`lecture9.sampling.draw` (location-scale, inverse CDF,
transforms, implicit reparameterization of Gamma-based families, relaxed Bernoulli and
categorical). Every sample gets its own copy of the parameters, so one backward pass
yields all per-sample gradients. Reparameterizable families only; ``f`` must be
differentiable.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .._validation import check_finite, check_shape
from ..families import as_params, build, check_cost_finite, evaluate_cost
from ..sampling import draw
from .contract import checked, expanded, finite_grads, per_sample
from .measure_valued import supported_text
from .registry import register

__all__ = ["pathwise_grad", "pathwise_terms"]


def pathwise_terms(f, distribution, params, noise: torch.Tensor) -> dict[str, torch.Tensor]:
    r"""The pathwise terms :math:`\nabla_\theta f(\mu + \sigma\epsilon_n)` at given standardised noise.

    :func:`pathwise_grad` without the draw, for a location-scale family (``loc`` and ``scale``
    attributes, e.g. Normal, Laplace, Cauchy) along :math:`x = \mu + \sigma \epsilon` (Sec. 5.1),
    e.g. at quadrature nodes.

    Raises:
        TypeError: if the family is not location-scale.

    Shapes:
        ``noise``: ``(num_samples, *batch_shape)``; result: ``(num_samples, *params[name].shape)``.
    """
    params = as_params(params)
    dist = build(distribution, params)
    if not (hasattr(dist, "loc") and hasattr(dist, "scale")) or dist.event_shape != ():
        raise TypeError(
            f"pathwise_terms needs a univariate location-scale family, got {type(dist).__name__}"
        )
    if not isinstance(noise, torch.Tensor) or noise.dim() < 1:
        raise TypeError(
            f"noise must be a tensor of shape (num_samples, *batch_shape), got {noise!r}"
        )
    check_shape(noise, dist._extended_shape(torch.Size(noise.shape[:1])), "noise")
    noise = check_finite(noise.detach(), "noise")
    return _pathwise_terms(
        f, distribution, params, dist, noise.shape[0], lambda d: d.loc + d.scale * noise
    )


@register(
    "pathwise",
    differentiable_cost=True,
    reparameterizable=True,
    terms=pathwise_terms,
    terms_at="noise",
)
@torch.enable_grad()
def pathwise_grad(
    f: Callable[[torch.Tensor], torch.Tensor],
    distribution,
    params,
    num_samples: int,
    *,
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    r"""Per-sample pathwise (reparameterization-trick) gradient estimates (package contract).

    Raises:
        TypeError: if the family is not reparameterizable (Bernoulli, Categorical, Poisson, ...).
        ValueError: as in the module contract, or if ``f``'s output does not depend on the sample
            through autograd (a step function such as ``(x > 0).float()``, or a detached ``x``),
            where the pathwise estimator would silently return 0.

    Shapes:
        ``f(x)``: ``(num_samples, *batch_shape)``; ``grads[name]``: ``(num_samples, *params[name].shape)``.
    """
    num_samples, generator, params = checked(num_samples, generator, params)
    dist = build(distribution, params)
    if not dist.has_rsample:
        raise TypeError(
            f"pathwise_grad needs a reparameterizable distribution, but {type(dist).__name__} has no "
            f"differentiable sampling path (has_rsample is False); use score_function_grad, or "
            f"measure_valued_grad (supported: {supported_text()})"
        )
    path = lambda d: draw(d, (), generator)  # noqa: E731
    return finite_grads(
        _pathwise_terms(f, distribution, params, dist, num_samples, path), "pathwise_grad"
    )


def _pathwise_terms(f, distribution, params, dist, num_samples, path) -> dict[str, torch.Tensor]:
    with torch.enable_grad():
        dist_n, leaves = expanded(distribution, params, dist, num_samples)
        x = path(dist_n)
        fx = evaluate_cost(
            f, x, torch.Size((num_samples,)) + dist.batch_shape, differentiable=True, finite=False
        )
        total = fx.sum()
        if not math.isfinite(total.item()):
            check_cost_finite(fx)
        names = list(leaves)
        if not fx.requires_grad:
            if bool(
                (fx != fx[:1]).any()
            ):  # varies with x, yet no gradient path: not differentiable
                raise ValueError(
                    "f's output does not depend on the sample x through autograd (a step function such as "
                    "(x > 0).float(), or a detached x), so the pathwise estimator would return 0; "
                    "use score_function_grad or measure_valued_grad for a cost that is not differentiable in x"
                )
            grads = [None] * len(names)  # a constant cost: the gradient is zero
        else:
            grads = torch.autograd.grad(total, [leaves[n] for n in names], allow_unused=True)
            # O(1) unless the first sample's gradient is 0 (then one pass): a zero gradient everywhere
            # although f varies means a piecewise-constant cost
            if (
                all(g is None or not bool(g.reshape(-1)[0]) for g in grads)
                and not any(g is not None and bool(g.any()) for g in grads)
                and bool((fx != fx[:1]).any())
            ):
                raise ValueError(
                    "f's gradient with respect to x is zero at every sample although f varies (a piecewise-"
                    "constant cost such as torch.round(x) or torch.floor(x)), so the pathwise estimator would "
                    "return 0; use score_function_grad or measure_valued_grad for a cost that is not "
                    "differentiable in x"
                )
    return {n: per_sample(g, leaves[n], params[n]) for n, g in zip(names, grads)}
