"""Finite-difference gradients of an expectation, and why they are not enough.

Introduced in chapter 3, *Gradients of expectations*; Mohamed et al. (2020), Sec. 2.

For :math:`\\mathcal{F}(\\mu) = \\mathbb{E}_{\\mathcal{N}(\\mu, \\sigma^2)}[f(x)]`:

- the central difference of two *independent* Monte Carlo estimates,
  :math:`(\\hat{\\mathcal{F}}(\\mu + h) - \\hat{\\mathcal{F}}(\\mu - h)) / 2h`, has variance
  :math:`\\mathrm{Var}[\\hat{\\mathcal{F}}] / (2h^2)`, which explodes as :math:`h \\to 0`;
- the forward difference with common random numbers, per sample
  :math:`(f(x + h) - f(x)) / h` with :math:`x = \\mu + \\sigma\\epsilon`, has bounded
  variance but a bias :math:`\\tfrac{h}{2}\\mathbb{E}[f''(x)] + O(h^2)`.

Both are vectorised over samples and repeated estimates.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from ._validation import check_generator, check_num_samples, check_positive

__all__ = ["independent_central_difference", "forward_difference"]


def independent_central_difference(f: Callable[[Tensor], Tensor], loc: float, scale: float, h: float,
                                   num_samples: int, *, num_estimates: int = 1,
                                   generator: torch.Generator | None = None) -> Tensor:
    """Central differences of two independent Monte Carlo estimates of :math:`\\mathcal{F}(\\mu \\pm h)`.

    .. math::

        \\hat\\eta_h = \\frac{\\hat{\\mathcal{F}}_N(\\mu + h) - \\hat{\\mathcal{F}}_N(\\mu - h)}{2h},
        \\qquad \\hat{\\mathcal{F}}_N(m) = \\frac1N \\sum_{n=1}^N f(m + \\sigma\\epsilon_n),

    with fresh noise :math:`\\epsilon_n` in each of the two estimates.

    Args:
        f: the cost, vectorised, one value per sample.
        loc: :math:`\\mu`.
        scale: :math:`\\sigma > 0`.
        h: the step :math:`h > 0`.
        num_samples: :math:`N` per Monte Carlo estimate.
        num_estimates: how many independent differences.
        generator: the random number generator.

    Returns:
        The differences.

    Shapes:
        output: ``(num_estimates,)``.
    """
    check_positive(scale, "scale")
    check_positive(h, "h")
    n = check_num_samples(num_samples)
    r = check_num_samples(num_estimates, "num_estimates")
    check_generator(generator)
    eps = torch.randn(2, r, n, generator=generator, dtype=torch.float64)
    plus = f(loc + h + scale * eps[0]).mean(dim=-1)
    minus = f(loc - h + scale * eps[1]).mean(dim=-1)
    return (plus - minus) / (2 * h)


def forward_difference(f: Callable[[Tensor], Tensor], loc: float, scale: float, h: float, num_samples: int, *,
                       generator: torch.Generator | None = None) -> Tensor:
    """Per-sample forward differences with common random numbers, :math:`(f(x + h) - f(x)) / h`, :math:`x = \\mu + \\sigma\\epsilon`.

    Their mean estimates :math:`\\nabla_\\mu \\mathcal{F}` with the bias
    :math:`\\tfrac{h}{2}\\mathbb{E}[f''(x)] + O(h^2)` (exactly :math:`h` for :math:`f = (x - k)^2`).

    Args:
        f: the cost, vectorised, one value per sample.
        loc: :math:`\\mu`.
        scale: :math:`\\sigma > 0`.
        h: the step :math:`h > 0`.
        num_samples: :math:`N`.
        generator: the random number generator.

    Returns:
        The per-sample differences.

    Shapes:
        output: ``(num_samples,)``.
    """
    check_positive(scale, "scale")
    check_positive(h, "h")
    n = check_num_samples(num_samples)
    check_generator(generator)
    x = loc + scale * torch.randn(n, generator=generator, dtype=torch.float64)
    return (f(x + h) - f(x)) / h
