r"""Counting evaluations of the cost: the price of a gradient estimator per sample.

Introduced in chapter 6, *Measure-valued gradient estimators*.

The three estimators of :mod:`lecture9.estimators` differ in how often they evaluate the
cost :math:`f` per sample of the gradient of :math:`\mathbb{E}_{p(x;\theta)}[f(x)]` with
:math:`\theta \in \mathbb{R}^P`: the score-function estimator once for all parameters, the
pathwise estimator once plus a backward pass, the measure-valued estimator twice *per
parameter* (one evaluation under :math:`p^+`, one under :math:`p^-`), so :math:`2P`.
:class:`CountingCost` wraps a cost and counts the values it computes;
:func:`evaluations_per_sample` runs one estimator with it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..estimators import registry

__all__ = ["CountingCost", "evaluations_per_sample"]


class CountingCost:
    """Wrap a cost ``f`` and count the cost values it computes (one per sample and call).

    Calling the wrapper calls ``f`` and adds the number of entries of the result to
    ``evaluations``, so a cost evaluated on ``n`` samples at once counts ``n``.

    Args:
        f: the cost, a callable returning a tensor with one value per sample.

    Raises:
        TypeError: if ``f`` is not callable, or returns something that is not a tensor.

    Shapes:
        Whatever ``f`` takes; the count is the number of entries of its output.
    """

    def __init__(self, f: Callable[[torch.Tensor], torch.Tensor]):
        if not callable(f):
            raise TypeError(f"f must be callable (the cost), got {type(f).__name__}")
        self.f = f
        self.evaluations = 0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        y = self.f(x)
        if not isinstance(y, torch.Tensor):
            raise TypeError(f"the cost must return a tensor, got {type(y).__name__}")
        self.evaluations += y.numel()
        return y

    def reset(self) -> None:
        """Set the count back to zero."""
        self.evaluations = 0

    def __repr__(self) -> str:
        return f"CountingCost(evaluations={self.evaluations})"


def evaluations_per_sample(
    estimator: str,
    f: Callable,
    distribution,
    params: dict,
    num_samples: int,
    *,
    generator: torch.Generator | None = None,
) -> float:
    """Evaluations of ``f`` per sample that one call of an estimator of :mod:`lecture9.estimators` makes.

    Raises:
        ValueError: on an unknown ``estimator``; otherwise as the estimator.

    Shapes:
        As the estimator.
    """
    spec = registry.get(estimator)
    cost = CountingCost(f)
    spec.grad(cost, distribution, params, num_samples, generator=generator)
    return cost.evaluations / num_samples
