"""The M/M/1 queue as a differentiable simulator: sensitivities by the pathwise estimator.

Introduced in chapter 3, *Gradients of expectations* (worked example: tuning a queue);
the method is infinitesimal perturbation analysis (Glasserman, 2004), the pathwise
estimator of chapter 5 applied to a simulation.

Customers arrive at rate :math:`\\lambda` (exponential inter-arrival times :math:`A_n`)
and are served in order with exponential service times :math:`S_n`, rate
:math:`\\mu_s`. The waiting times follow Lindley's recursion
:math:`W_1 = 0`, :math:`W_n = \\max(0, W_{n-1} + S_{n-1} - A_n)`, whose closed form

.. math::

    W_n = R_n - \\min_{j \\le n} R_j, \\qquad R_n = \\sum_{j < n} (S_j - A_{j+1}), \\quad R_1 = 0,

vectorises the whole simulation with ``cumsum`` and ``cummin``. The sojourn time is
:math:`T_n = W_n + S_n`; in steady state :math:`\\mathbb{E}[T] = 1/(\\mu_s - \\lambda)` for
:math:`\\mu_s > \\lambda`. Writing :math:`S_n = E_n / \\mu_s` and :math:`A_n = E'_n / \\lambda`
with standard exponentials :math:`E_n, E'_n` makes every :math:`T_n` a differentiable
function of both rates along each simulated path, so autograd returns one
pathwise gradient per path.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .._validation import (
    check_float,
    check_generator,
    check_num_samples,
    check_positive,
    check_size,
)

__all__ = [
    "mm1_sojourn_times",
    "mean_sojourn_time",
    "mean_sojourn_sensitivity",
    "queue_cost_gradient",
]


def _rate(value, name: str, num_paths: int) -> Tensor:
    rate = (
        value
        if isinstance(value, torch.Tensor)
        else torch.tensor(check_float(value, name), dtype=torch.float64)
    )
    check_positive(rate, name)
    if rate.dim() not in (0, 2) or (rate.dim() == 2 and rate.shape not in ((num_paths, 1), (1, 1))):
        raise ValueError(
            f"{name} must be a number, a 0-d tensor or a tensor of shape (num_paths, 1) = "
            f"({num_paths}, 1), got shape {tuple(rate.shape)}"
        )
    return rate


def mm1_sojourn_times(
    service_rate,
    arrival_rate,
    num_customers: int,
    num_paths: int,
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Sojourn times :math:`T_n = W_n + S_n` of M/M/1 queues started empty, one queue per path.

    Shapes:
        output: ``(num_paths, num_customers)``.
    """
    n = check_num_samples(num_customers, "num_customers")
    paths = check_num_samples(num_paths, "num_paths")
    check_size(n * paths, "num_customers * num_paths", workaround="simulate fewer paths per call")
    check_generator(generator)
    mu = _rate(service_rate, "service_rate", paths)
    lam = _rate(arrival_rate, "arrival_rate", paths)
    dtype = torch.float64
    interarrival = -torch.log(torch.rand(paths, n, generator=generator, dtype=dtype)) / lam
    service = -torch.log(torch.rand(paths, n, generator=generator, dtype=dtype)) / mu
    steps = service[:, :-1] - interarrival[:, 1:]
    walk = torch.cat([torch.zeros(paths, 1, dtype=dtype), steps.cumsum(dim=1)], dim=1)
    waiting = walk - torch.cummin(walk, dim=1).values
    return waiting + service


def mean_sojourn_time(service_rate: float, arrival_rate: float) -> float:
    """The steady-state mean sojourn time :math:`1/(\\mu_s - \\lambda)` of a stable M/M/1 queue.

    Raises:
        ValueError: if :math:`\\mu_s \\le \\lambda` (the queue is unstable).
    """
    if not service_rate > arrival_rate > 0:
        raise ValueError(
            f"need service_rate > arrival_rate > 0 for a stable queue, got {service_rate}, {arrival_rate}"
        )
    return 1.0 / (service_rate - arrival_rate)


def mean_sojourn_sensitivity(
    service_rate: float,
    arrival_rate: float,
    num_customers: int,
    num_paths: int,
    *,
    warm_up: int = 0,
    wrt: str = "service_rate",
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Per-path mean sojourn time after a warm-up, and its pathwise derivative with respect to one rate.

    Each path gets its own copy of the rate, so one backward pass gives one gradient per
    path: i.i.d. estimates whose mean and standard error can be reported. Exact steady
    state values: :math:`\\partial \\mathbb{E}[T] / \\partial \\mu_s = -1/(\\mu_s - \\lambda)^2` and
    :math:`\\partial \\mathbb{E}[T] / \\partial \\lambda = 1/(\\mu_s - \\lambda)^2`.

    Shapes:
        both outputs: ``(num_paths,)``.
    """
    if wrt not in ("service_rate", "arrival_rate"):
        raise ValueError(f"wrt must be 'service_rate' or 'arrival_rate', got {wrt!r}")
    paths = check_num_samples(num_paths, "num_paths")
    if (
        isinstance(warm_up, bool)
        or not isinstance(warm_up, int)
        or not 0 <= warm_up < num_customers
    ):
        raise ValueError(f"warm_up must be an integer in [0, num_customers), got {warm_up!r}")
    rates = {"service_rate": service_rate, "arrival_rate": arrival_rate}
    leaf = torch.full((paths, 1), float(rates[wrt]), dtype=torch.float64, requires_grad=True)
    rates[wrt] = leaf
    sojourn = mm1_sojourn_times(
        rates["service_rate"], rates["arrival_rate"], num_customers, paths, generator=generator
    )
    mean = sojourn[:, warm_up:].mean(dim=1)
    (grad,) = torch.autograd.grad(mean.sum(), leaf)
    return mean.detach(), grad.squeeze(1)


def queue_cost_gradient(
    price: float,
    arrival_rate: float,
    *,
    num_customers: int,
    num_paths: int,
    warm_up: int,
    min_service_rate: float,
) -> Callable[..., Tensor]:
    """A stochastic gradient of the cost :math:`C(\\mu_s) = c\\,\\mu_s + \\mathbb{E}[T]`, for projected SGD.

    The returned ``estimate(rate, generator=None)`` clamps the rate to
    ``min_service_rate`` (projection onto a stable queue), simulates ``num_paths``
    paths and returns :math:`c + \\widehat{\\partial \\mathbb{E}[T] / \\partial \\mu_s}`, the
    pathwise estimate averaged over the paths. The exact minimiser is
    :math:`\\mu_s^\\star = \\lambda + 1/\\sqrt{c}`.
    """
    check_positive(price, "price")
    check_positive(arrival_rate, "arrival_rate")
    check_positive(min_service_rate, "min_service_rate")
    if not min_service_rate > arrival_rate:
        raise ValueError(
            f"min_service_rate must exceed arrival_rate = {arrival_rate} to keep the queue stable, "
            f"got {min_service_rate}"
        )

    def estimate(rate: Tensor, generator: torch.Generator | None = None) -> Tensor:
        rate = float(torch.clamp(rate, min=min_service_rate))
        _, grad = mean_sojourn_sensitivity(
            rate, arrival_rate, num_customers, num_paths, warm_up=warm_up, generator=generator
        )
        return price + grad.mean()

    return estimate
