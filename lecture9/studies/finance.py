r"""Option sensitivities by Monte Carlo: the Black-Scholes call and the digital option.

Chapter 5 (Broadie and Glasserman, 1996; Glasserman, 2003, Ch. 7). Under Black-Scholes

.. math::

    S_T = S_0 \exp\big((r - \tfrac12\sigma^2) T + \sigma\sqrt{T} Z\big),
    \quad Z \sim \mathcal{N}(0, 1),

a log-normal with ``loc`` :math:`m = \log S_0 + (r - \sigma^2/2) T` and ``scale``
:math:`s = \sigma\sqrt{T}`. The price :math:`V = \mathbb{E}[e^{-rT} h(S_T)]` of an option paying
:math:`h(S_T)`, its delta :math:`\partial_{S_0} V` and vega :math:`\partial_\sigma V` come from the
estimators' gradients in :math:`(m, s)` by the chain rule: :math:`\Delta = \partial_m V / S_0`,
:math:`\mathcal{V} = -\sigma T \partial_m V + \sqrt{T} \partial_s V`. With
:math:`d_{1,2} = (\log(S_0/K) + (r \pm \sigma^2/2) T) / (\sigma\sqrt{T})`, the call
:math:`h = (S_T - K)^+` has :math:`V = S_0\Phi(d_1) - K e^{-rT}\Phi(d_2)`,
:math:`\Delta = \Phi(d_1)`, :math:`\mathcal{V} = S_0 \phi(d_1) \sqrt{T}`; the digital
:math:`h = \mathbb{1}\{S_T > K\}` has :math:`V = e^{-rT}\Phi(d_2)`,
:math:`\Delta = e^{-rT}\phi(d_2) / (S_0 \sigma\sqrt{T})`,
:math:`\mathcal{V} = -e^{-rT}\phi(d_2) d_1 / \sigma`. The digital payoff is flat, so its
pathwise derivative is zero (the package refuses it); the likelihood ratio stays unbiased.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.stats import norm

from .. import estimators
from .._validation import (
    check_choice,
    check_finite,
    check_float,
    check_generator,
    check_num_samples,
    check_positive,
)
from ..sampling import draw

__all__ = [
    "ESTIMATORS",
    "GREEKS",
    "OPTIONS",
    "black_scholes",
    "discounted_payoff",
    "greeks_summary",
    "monte_carlo_greeks",
]

OPTIONS = ("call", "digital")
ESTIMATORS = ("pathwise", "score_function")
GREEKS = ("price", "delta", "vega")


def _market(spot, strike, rate, volatility, maturity):
    check_positive(spot, "spot")
    check_positive(strike, "strike")
    check_finite(rate, "rate")
    check_positive(volatility, "volatility")
    check_positive(maturity, "maturity")
    hint = "market data beyond it overflow exp(-rate * maturity) or exp(volatility**2 * maturity)"
    check_float(rate, "rate", minimum=-1.0, maximum=1.0, hint=hint)
    check_float(volatility, "volatility", maximum=10.0, hint=hint)
    check_float(maturity, "maturity", maximum=100.0, hint=hint)
    if isinstance(spot, torch.Tensor) and spot.dim() > 1:
        raise ValueError(
            f"spot must be a number or a 1-d tensor of spots, got shape {tuple(spot.shape)}"
        )


def black_scholes(
    spot, strike: float, rate: float, volatility: float, maturity: float, *, option: str = "call"
) -> dict[str, np.ndarray]:
    """Closed-form ``{"price", "delta", "vega"}`` of a call or digital option (float64 arrays).

    Raises:
        ValueError: on a non-positive spot, strike, volatility or maturity, or an unknown option.

    Shapes:
        ``spot``: ``()`` or ``(M,)``; every output: the same.
    """
    _market(spot, strike, rate, volatility, maturity)
    check_choice(option, OPTIONS, "option")
    s0 = np.asarray(spot.detach().cpu() if isinstance(spot, torch.Tensor) else spot, dtype=float)
    root_t = volatility * math.sqrt(maturity)
    d1 = (np.log(s0 / strike) + (rate + volatility**2 / 2) * maturity) / root_t
    d2 = d1 - root_t
    discount = math.exp(-rate * maturity)
    if option == "call":
        return {
            "price": s0 * norm.cdf(d1) - strike * discount * norm.cdf(d2),
            "delta": norm.cdf(d1),
            "vega": s0 * norm.pdf(d1) * math.sqrt(maturity),
        }
    return {
        "price": discount * norm.cdf(d2),
        "delta": discount * norm.pdf(d2) / (s0 * root_t),
        "vega": -discount * norm.pdf(d2) * d1 / volatility,
    }


def discounted_payoff(strike: float, rate: float, maturity: float, *, option: str = "call"):
    """The cost :math:`e^{-rT} h(S_T)` as a callable of the terminal price.

    Raises:
        ValueError: on a non-positive strike or maturity, or an unknown option.
    """
    check_positive(strike, "strike")
    check_finite(rate, "rate")
    check_positive(maturity, "maturity")
    check_choice(option, OPTIONS, "option")
    discount = math.exp(-rate * maturity)
    if option == "call":
        return lambda s: discount * torch.relu(s - strike)
    return lambda s: discount * (s > strike).to(s.dtype)


def monte_carlo_greeks(
    spot,
    strike: float,
    rate: float,
    volatility: float,
    maturity: float,
    num_samples: int,
    *,
    option: str = "call",
    estimator: str = "pathwise",
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    """Per-sample ``{"price", "delta", "vega"}`` by the pathwise or likelihood-ratio estimator.

    Raises:
        ValueError: on invalid market data or names, and for the pathwise digital delta.

    Shapes:
        ``spot``: ``()`` or ``(M,)``; every output: ``(num_samples, *spot.shape)``.
    """
    _market(spot, strike, rate, volatility, maturity)
    num_samples = check_num_samples(num_samples)
    check_choice(estimator, ESTIMATORS, "estimator")
    check_generator(generator)
    cost = discounted_payoff(strike, rate, maturity, option=option)
    s0 = torch.as_tensor(spot, dtype=torch.float64)
    loc = torch.log(s0) + (rate - volatility**2 / 2) * maturity
    params = {"loc": loc, "scale": torch.full_like(loc, volatility * math.sqrt(maturity))}
    grad = estimators.get(estimator).grad
    grads = grad(cost, torch.distributions.LogNormal, params, num_samples, generator=generator)
    price = cost(draw(torch.distributions.LogNormal(**params), num_samples, generator=generator))
    return {
        "price": price,
        "delta": grads["loc"] / s0,
        "vega": -volatility * maturity * grads["loc"] + math.sqrt(maturity) * grads["scale"],
    }


def greeks_summary(samples: dict[str, torch.Tensor]) -> dict[str, tuple[float, float, float]]:
    """Mean, standard error and single-sample variance of each per-sample Greek.

    Raises:
        TypeError: if ``samples`` is not a dict of tensors with a leading sample axis.

    Shapes:
        ``samples[name]``: ``(N,)``; result: ``{name: (mean, se, variance)}`` floats.
    """
    if not isinstance(samples, dict) or not all(
        isinstance(v, torch.Tensor) and v.dim() == 1 for v in samples.values()
    ):
        raise TypeError(
            "samples must be a dict of 1-d tensors, e.g. monte_carlo_greeks(...) at one spot"
        )
    return {
        name: (v.mean().item(), v.std().item() / math.sqrt(v.numel()), v.var().item())
        for name, v in samples.items()
    }
