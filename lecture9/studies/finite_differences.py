"""Finite-difference gradients of an expectation, and why they are not enough.

Introduced in chapter 3, *Gradients of expectations*; Mohamed et al. (2020), Sec. 2.

For :math:`\\mathcal{F}(\\mu) = \\mathbb{E}_{\\mathcal{N}(\\mu, \\sigma^2)}[f(x)]`:

- the central difference of two *independent* Monte Carlo estimates,
  :math:`(\\hat{\\mathcal{F}}(\\mu + h) - \\hat{\\mathcal{F}}(\\mu - h)) / 2h`, has variance
  :math:`\\mathrm{Var}[\\hat{\\mathcal{F}}] / (2h^2)`, which explodes as :math:`h \\to 0`;
- the forward difference with common random numbers, per sample
  :math:`(f(x + h) - f(x)) / h` with :math:`x = \\mu + \\sigma\\epsilon`, has bounded
  variance but a bias :math:`\\tfrac{h}{2}\\mathbb{E}[f''(x)] + O(h^2)`.

Both are vectorised over samples and repeated estimates. :func:`finite_difference_of_expectation`
differences the *exact* expectation (Gauss-Hermite quadrature), so its only error is the
:math:`O(h^2)` of the difference: a check for the estimators of chapters 4 and 5.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .._validation import (
    call_checked,
    check_callable,
    check_float,
    check_generator,
    check_num_samples,
    check_size,
    check_step,
)
from ..reference import gaussian_expectation

__all__ = [
    "independent_central_difference",
    "forward_difference",
    "finite_difference_of_expectation",
]


def independent_central_difference(
    f: Callable[[Tensor], Tensor],
    loc: float,
    scale: float,
    h: float,
    num_samples: int,
    *,
    num_estimates: int = 1,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Central differences of two independent Monte Carlo estimates of :math:`\\mathcal{F}(\\mu \\pm h)`.

    .. math::

        \\hat\\eta_h = \\frac{\\hat{\\mathcal{F}}_N(\\mu + h) - \\hat{\\mathcal{F}}_N(\\mu - h)}{2h},
        \\qquad \\hat{\\mathcal{F}}_N(m) = \\frac1N \\sum_{n=1}^N f(m + \\sigma\\epsilon_n),

    with fresh noise :math:`\\epsilon_n` in each of the two estimates.

    Shapes:
        output: ``(num_estimates,)``.
    """
    loc, scale, h = _check_point(f, loc, scale, h)
    n = check_num_samples(num_samples)
    r = check_num_samples(num_estimates, "num_estimates")
    check_size(
        n * r,
        "num_samples * num_estimates",
        workaround="average the estimates of several smaller calls",
    )
    check_generator(generator)
    eps = torch.randn(2, r, n, generator=generator, dtype=torch.float64)
    plus = call_checked(f, loc + h + scale * eps[0], name="f(x)", shape=(r, n)).mean(dim=-1)
    minus = call_checked(f, loc - h + scale * eps[1], name="f(x)", shape=(r, n)).mean(dim=-1)
    return (plus - minus) / (2 * h)


def _check_point(f, loc, scale, h) -> tuple[float, float, float]:
    check_callable(f, "f")
    loc = check_float(loc, "loc")
    scale = check_float(scale, "scale", minimum=0.0, strict=True)
    return loc, scale, check_step(h, "h", at=loc)


def forward_difference(
    f: Callable[[Tensor], Tensor],
    loc: float,
    scale: float,
    h: float,
    num_samples: int,
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Per-sample forward differences with common random numbers,
    :math:`(f(x + h) - f(x)) / h`, :math:`x = \\mu + \\sigma\\epsilon`.

    Their mean estimates :math:`\\nabla_\\mu \\mathcal{F}` with the bias
    :math:`\\tfrac{h}{2}\\mathbb{E}[f''(x)] + O(h^2)` (exactly :math:`h` for :math:`f = (x - k)^2`).

    Shapes:
        output: ``(num_samples,)``.
    """
    loc, scale, h = _check_point(f, loc, scale, h)
    n = check_num_samples(num_samples, maximum=10**8)
    check_generator(generator)
    x = loc + scale * torch.randn(n, generator=generator, dtype=torch.float64)
    return (
        call_checked(f, x + h, name="f(x)", shape=(n,))
        - call_checked(f, x, name="f(x)", shape=(n,))
    ) / h


def finite_difference_of_expectation(
    f: Callable[[Tensor], Tensor], loc: float, scale: float, *, h: float = 1e-4
) -> dict[str, float]:
    """Central differences of the exact :math:`\\mathbb{E}_{\\mathcal{N}(\\mu, \\sigma^2)}[f]`
    in :math:`\\mu` and :math:`\\sigma`.

    .. math::

        \\frac{\\mathcal{F}(\\mu + h, \\sigma) - \\mathcal{F}(\\mu - h, \\sigma)}{2h}, \\qquad
        \\frac{\\mathcal{F}(\\mu, \\sigma + h) - \\mathcal{F}(\\mu, \\sigma - h)}{2h},

    with :math:`\\mathcal{F}` by Gauss-Hermite quadrature.
    """
    loc, scale, h = _check_point(f, loc, scale, h)
    if h >= scale:
        raise ValueError(
            f"h must be below scale, got h={h} and scale={scale} (the difference uses scale - h > 0)"
        )

    def expectation(m, s):
        return gaussian_expectation(f, m, s)

    return {
        "loc": (expectation(loc + h, scale) - expectation(loc - h, scale)) / (2 * h),
        "scale": (expectation(loc, scale + h) - expectation(loc, scale - h)) / (2 * h),
    }
