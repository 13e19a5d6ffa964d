"""Reparameterizable families built from a simple base distribution and a chain of transforms.

Introduced in chapter 5, *The pathwise estimator* (other reparameterizable families);
Mohamed et al. (2020), Sec. 5; Devroye (1986).

``torch.distributions`` lacks two of the lecture's families, and both have simple
inverse CDFs, so they are built here from a uniform base: the
``TransformedDistribution`` samples by pushing the base sample through the chain
(differentiably in the parameters, so the pathwise estimator applies) and computes
``log_prob`` by the change-of-variables formula.

- Logistic: :math:`F^{-1}(u) = \\mu + s \\log\\frac{u}{1 - u}`;
- Rayleigh: :math:`F(x) = 1 - e^{-x^2 / 2\\sigma^2}` on :math:`x \\ge 0`, so
  :math:`F^{-1}(u) = \\sigma\\sqrt{-2\\log(1 - u)}`.

:func:`isotropic_normal` makes a :math:`D`-dimensional Gaussian with independent
coordinates one event (``event_shape (D,)``), so a cost reduces over the coordinates.
All three are factories with the parameters as keywords, as
:mod:`lecture9.estimators` expects of a ``distribution``.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch import distributions as D
from torch.distributions import transforms

from ._validation import check_finite, check_positive

__all__ = ["logistic", "rayleigh", "isotropic_normal"]


def _tensor(value, name: str) -> Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor, got {type(value).__name__}; e.g. torch.tensor(1.0)"
        )
    return value


def logistic(loc: Tensor, scale: Tensor) -> D.TransformedDistribution:
    """Logistic(loc, scale) as the inverse CDF of a uniform: :math:`\\mu + s\\,\\mathrm{logit}(u)`.

    Density :math:`\\frac{e^{-z}}{s (1 + e^{-z})^2}`, :math:`z = (x - \\mu)/s`.
    """
    loc, scale = _tensor(loc, "loc"), _tensor(scale, "scale")
    check_finite(loc, "loc")
    check_positive(scale, "scale")
    base = D.Uniform(torch.zeros_like(loc), torch.ones_like(loc))
    return D.TransformedDistribution(
        base, [transforms.SigmoidTransform().inv, transforms.AffineTransform(loc, scale)]
    )


def rayleigh(scale: Tensor) -> D.TransformedDistribution:
    """Rayleigh(scale) as the inverse CDF of a uniform: :math:`\\sigma\\sqrt{-2\\log(1 - u)}`.

    Density :math:`\\frac{x}{\\sigma^2} e^{-x^2/2\\sigma^2}` on :math:`x \\ge 0`. The chain is
    :math:`u \\mapsto 1 - u \\mapsto \\log(\\cdot) \\mapsto -2(\\cdot)
    \\mapsto \\sqrt{\\cdot} \\mapsto \\sigma(\\cdot)`.
    """
    scale = _tensor(scale, "scale")
    check_positive(scale, "scale")
    base = D.Uniform(torch.zeros_like(scale), torch.ones_like(scale))
    chain = [
        transforms.AffineTransform(1.0, -1.0),
        transforms.ExpTransform().inv,
        transforms.AffineTransform(0.0, -2.0),
        transforms.PowerTransform(0.5),
        transforms.AffineTransform(0.0, scale),
    ]
    return D.TransformedDistribution(base, chain)


def isotropic_normal(loc: Tensor, scale: Tensor) -> D.Independent:
    """:math:`\\mathcal{N}(\\mu, \\mathrm{diag}(\\sigma^2))` with the last dimension as one event.

    Shapes:
        ``event_shape``: ``(D,)``.
    """
    loc, scale = _tensor(loc, "loc"), _tensor(scale, "scale")
    if loc.dim() < 1:
        raise ValueError("loc must have at least one dimension (the event dimension D)")
    return D.Independent(D.Normal(loc, scale), 1)
