r"""Monte Carlo estimators of the Hessian of an expectation (score function and pathwise).

Chapter 5; the slides' "estimate of loss, estimate of gradient, estimate of Hessian"
(Mohamed et al., 2020, Secs. 4-5). Differentiating :math:`\mathcal{F}(\theta) =
\mathbb{E}_{p(x;\theta)}[f(x)]` twice, with the score :math:`s = \nabla_\theta \log p`,

.. math::

    \nabla^2_\theta \mathcal{F}
    = \mathbb{E}_{p(x;\theta)}\big[f(x)\,(s s^\top + \nabla^2_\theta \log p)\big]
    = \mathbb{E}_{p(\epsilon)}\big[\nabla^2_\theta f(g(\epsilon; \theta))\big];

for the Gaussian, :math:`x = \mu + \sigma\epsilon`, the pathwise entries are :math:`f''(x)`,
:math:`f''(x)\epsilon` and :math:`f''(x)\epsilon^2`. Both estimators keep the contract of
:mod:`lecture9.estimators` for univariate families and return per-sample Hessian entries
``{(a, b): tensor}``, one per ordered pair of parameter names.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .._validation import check_callable, check_output
from ..sampling import draw
from .contract import checked

__all__ = ["pathwise_hessian", "score_function_hessian"]


def _leaves(distribution, params: dict, num_samples: int):
    """One copy of every (broadcast) parameter per sample, and the distribution built on them."""
    for name, value in params.items():
        if not value.is_floating_point():
            raise TypeError(
                f"params[{name!r}] must be a floating-point tensor, got dtype {value.dtype}"
            )
    names = list(params)
    shared = torch.broadcast_tensors(*(params[n].detach() for n in names))
    leaves = {
        n: p.expand((num_samples, *p.shape)).clone().requires_grad_(True)
        for n, p in zip(names, shared)
    }
    if not callable(distribution):
        raise TypeError(
            f"distribution must be a torch.distributions class or a factory, got {distribution!r}"
        )
    dist = distribution(**leaves)
    if dist.event_shape != ():
        raise ValueError(
            f"the Hessian estimators need a univariate family (event_shape ()), got event_shape "
            f"{tuple(dist.event_shape)}; use Normal rather than Independent(Normal, 1)"
        )
    return names, leaves, dist


def _checked(f, num_samples, generator, params):
    check_callable(f, "f")
    return checked(num_samples, generator, params)


def _cost(f, x: torch.Tensor) -> torch.Tensor:
    return check_output(
        f(x), "f(x)", shape=x.shape, hint="f must return one cost per sample and batch entry"
    )


def _second(first: dict, leaves: dict, names: list) -> dict:
    """Per-sample second derivatives: the gradient of each first derivative, summed over samples."""
    out = {}
    for i, a in enumerate(names):
        for b in names[i:]:
            g = None
            if first[a].requires_grad:
                (g,) = torch.autograd.grad(
                    first[a].sum(), leaves[b], retain_graph=True, allow_unused=True
                )
            out[(a, b)] = torch.zeros_like(leaves[b]) if g is None else g
            out[(b, a)] = out[(a, b)]
    return out


def score_function_hessian(
    f: Callable[[torch.Tensor], torch.Tensor],
    distribution,
    params,
    num_samples: int,
    *,
    generator: torch.Generator | None = None,
) -> dict[tuple[str, str], torch.Tensor]:
    r"""Per-sample score-function estimates :math:`f(x)(s s^\top + \nabla^2 \log p)` of the Hessian.

    Any univariate family with a twice differentiable ``log_prob``; ``f`` is a black box.

    Raises:
        TypeError: if ``f`` is not callable, ``params`` not a dict of float tensors, or
            ``generator`` not a Generator.
        ValueError: if ``num_samples < 1``, the family is multivariate, or ``f`` returns the
            wrong shape.

    Shapes:
        ``f(x)`` and ``result[(a, b)]``: ``(num_samples, *batch_shape)``.
    """
    num_samples, generator, params = _checked(f, num_samples, generator, params)
    with torch.enable_grad():
        names, leaves, dist = _leaves(distribution, params, num_samples)
        x = draw(dist, (), generator).detach()
        log_p = dist.log_prob(x)
        grads = torch.autograd.grad(log_p.sum(), [leaves[n] for n in names], create_graph=True)
        first = dict(zip(names, grads))
        second = _second(first, leaves, names)
    fx = _cost(f, x.clone()).detach()
    return {(a, b): (fx * (first[a] * first[b] + h)).detach() for (a, b), h in second.items()}


def pathwise_hessian(
    f: Callable[[torch.Tensor], torch.Tensor],
    distribution,
    params,
    num_samples: int,
    *,
    generator: torch.Generator | None = None,
) -> dict[tuple[str, str], torch.Tensor]:
    r"""Per-sample pathwise estimates :math:`\nabla^2_\theta f(g(\epsilon;\theta))` of the Hessian.

    Reparameterizable univariate families; ``f`` must be twice differentiable.

    Raises:
        TypeError: as :func:`score_function_hessian`, or if the family has no sampling path.
        ValueError: as :func:`score_function_hessian`, or if ``f`` does not depend on the
            sample through autograd (a step function).

    Shapes:
        ``f(x)`` and ``result[(a, b)]``: ``(num_samples, *batch_shape)``.
    """
    num_samples, generator, params = _checked(f, num_samples, generator, params)
    with torch.enable_grad():
        names, leaves, dist = _leaves(distribution, params, num_samples)
        if not dist.has_rsample:
            raise TypeError(
                f"pathwise_hessian needs a reparameterizable family, {type(dist).__name__} has "
                f"no differentiable sampling path; use score_function_hessian"
            )
        fx = _cost(f, draw(dist, (), generator))
        if not fx.requires_grad:
            raise ValueError(
                "f's output does not depend on the sample through autograd (a step function?), "
                "so the pathwise Hessian would be 0; use score_function_hessian"
            )
        grads = torch.autograd.grad(fx.sum(), [leaves[n] for n in names], create_graph=True)
        second = _second(dict(zip(names, grads)), leaves, names)
    return {key: h.detach() for key, h in second.items()}
