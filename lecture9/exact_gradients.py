"""Exact gradients of expectations that estimators are checked against: series, sums and differences of quadratures.

Introduced in chapter 4, *The score-function estimator* (and used in chapter 5,
*The pathwise estimator*). Each function returns the truth for one kind of check:

- :func:`finite_difference_of_expectation`: a central difference of the *exact*
  Gaussian expectation (Gauss-Hermite quadrature,
  :func:`lecture9.reference.gaussian_expectation`), so its only error is the
  :math:`O(h^2)` of the difference;
- :func:`poisson_rate_gradient`: the series
  :math:`\\nabla_\\lambda \\mathbb{E}_{\\mathrm{Pois}(\\lambda)}[f] = \\sum_j f(j)\\, \\mathrm{Pois}(j; \\lambda)(j/\\lambda - 1)`;
- :func:`even_floor_gradient`: the derivative of
  :math:`\\mathbb{E}_{\\mathcal{N}(\\mu, \\sigma^2)}\\big[\\mathbb{1}\\{\\lfloor x \\rfloor \\text{ even}\\}\\big]`
  with respect to :math:`\\mu`, a sum over the intervals :math:`[n, n + 1)`, :math:`n` even.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor

from . import reference
from ._validation import check_num_samples, check_positive

__all__ = ["finite_difference_of_expectation", "poisson_rate_gradient", "even_floor_gradient"]


def finite_difference_of_expectation(f: Callable[[Tensor], Tensor], loc: float, scale: float, *,
                                     h: float = 1e-4) -> dict[str, float]:
    """Central differences of the exact :math:`\\mathbb{E}_{\\mathcal{N}(\\mu, \\sigma^2)}[f]` in :math:`\\mu` and :math:`\\sigma`.

    .. math::

        \\frac{\\mathcal{F}(\\mu + h, \\sigma) - \\mathcal{F}(\\mu - h, \\sigma)}{2h}, \\qquad
        \\frac{\\mathcal{F}(\\mu, \\sigma + h) - \\mathcal{F}(\\mu, \\sigma - h)}{2h},

    with :math:`\\mathcal{F}` by Gauss-Hermite quadrature.

    Args:
        f: the cost, vectorised, one value per point.
        loc: :math:`\\mu`.
        scale: :math:`\\sigma > h`.
        h: the step, > 0.

    Returns:
        ``{"loc": ..., "scale": ...}``.
    """
    check_positive(h, "h")
    check_positive(scale - h, "scale - h")
    expectation = lambda m, s: reference.gaussian_expectation(f, m, s)
    return {
        "loc": (expectation(loc + h, scale) - expectation(loc - h, scale)) / (2 * h),
        "scale": (expectation(loc, scale + h) - expectation(loc, scale - h)) / (2 * h),
    }


def poisson_rate_gradient(f: Callable[[Tensor], Tensor], rate: float, *, terms: int = 60) -> float:
    """:math:`\\nabla_\\lambda \\mathbb{E}_{\\mathrm{Pois}(\\lambda)}[f] = \\sum_{j=0}^{J-1} f(j)\\, \\mathrm{Pois}(j; \\lambda)\\,(j/\\lambda - 1)`.

    Args:
        f: the cost on the counts, vectorised (a float64 tensor of counts in, one value each out).
        rate: :math:`\\lambda > 0`.
        terms: :math:`J`, the number of terms (the tail beyond must be negligible:
            choose :math:`J \\gg \\lambda`).

    Returns:
        The truncated series.
    """
    check_positive(rate, "rate")
    terms = check_num_samples(terms, "terms")
    j = torch.arange(terms, dtype=torch.float64)
    pmf = torch.distributions.Poisson(torch.tensor(float(rate), dtype=torch.float64)).log_prob(j).exp()
    return float((f(j) * pmf * (j / rate - 1)).sum())


def even_floor_gradient(loc: float, scale: float, *, num_intervals: int = 40) -> float:
    """:math:`\\nabla_\\mu \\mathbb{E}_{\\mathcal{N}(\\mu, \\sigma^2)}\\big[\\mathbb{1}\\{\\lfloor x \\rfloor \\text{ even}\\}\\big]`.

    .. math::

        \\frac{1}{\\sigma} \\sum_{n \\text{ even}} \\Big[\\phi\\big(\\tfrac{n - \\mu}{\\sigma}\\big)
        - \\phi\\big(\\tfrac{n + 1 - \\mu}{\\sigma}\\big)\\Big],

    summed over the even :math:`n` with :math:`|n - \\mu| \\le` ``num_intervals`` (the
    terms beyond are below :math:`\\phi(\\text{num\\_intervals} / \\sigma)`).

    Args:
        loc: :math:`\\mu`.
        scale: :math:`\\sigma > 0`.
        num_intervals: half-width of the range of :math:`n`.

    Returns:
        The derivative.
    """
    check_positive(scale, "scale")
    centre = 2 * math.floor(loc / 2)
    n = torch.arange(centre - 2 * (num_intervals // 2), centre + 2 * (num_intervals // 2) + 1, 2, dtype=torch.float64)
    phi = lambda z: torch.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)
    return float((phi((n - loc) / scale) - phi((n + 1 - loc) / scale)).sum() / scale)
