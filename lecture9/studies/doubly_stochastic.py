"""Doubly stochastic objectives: a minibatch of the data and a simulation of the model.

Introduced in chapter 2, *Sampling* (the simulation view); Titsias and Lázaro-Gredilla
(2014); Mohamed et al. (2020), Sec. 2.

The example of the chapter: data :math:`y_1, \\dots, y_D`, a model that simulates
:math:`x \\sim \\mathcal{N}(\\theta, 1)`, and the objective

.. math::

    \\mathcal{F}(\\theta) = \\frac{1}{D}\\sum_{d=1}^{D}
    \\mathbb{E}_{x \\sim \\mathcal{N}(\\theta, 1)}\\big[(x - y_d)^2\\big]
    = (\\theta - \\bar{y})^2 + s_y^2 + 1,

with :math:`s_y^2` the biased sample variance of the data, minimised at
:math:`\\theta^\\star = \\bar{y}`. A minibatch :math:`B` drawn with replacement and one
simulation :math:`x_d = \\theta + \\varepsilon_d` per data point give the unbiased
estimates

.. math::

    \\hat{\\mathcal{F}}(\\theta) = \\frac{1}{|B|}\\sum_{d \\in B} (x_d - y_d)^2, \\qquad
    \\hat{g}(\\theta) = \\frac{1}{|B|}\\sum_{d \\in B} 2(x_d - y_d),

two sources of noise at once. Stochastic gradient descent with a constant step
:math:`\\alpha` does not converge to :math:`\\theta^\\star`: its iterates reach a
stationary distribution around it whose spread :func:`stationary_sd` gives in closed
form. Decreasing steps that meet the Robbins-Monro conditions are needed to reach
:math:`\\theta^\\star` itself.

Every function accepts a batch of parameters (any shape): one independent estimate,
or one independent run, per entry.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from .._validation import check_finite, check_generator, check_num_samples, check_positive

__all__ = [
    "exact_loss",
    "loss_estimates",
    "gradient_estimate",
    "gradient_estimator",
    "stationary_sd",
]


def _check_data(data) -> Tensor:
    if not isinstance(data, torch.Tensor) or data.dim() != 1 or data.numel() < 1:
        raise ValueError(
            "data must be a non-empty 1-D tensor of observations y_1, ..., y_D, got "
            f"{tuple(data.shape) if isinstance(data, torch.Tensor) else type(data).__name__}"
        )
    return check_finite(data.double(), "data")


def _check_theta_tensor(theta) -> Tensor:
    if not isinstance(theta, torch.Tensor):
        raise TypeError(
            f"theta must be a torch.Tensor (a scalar or a batch of parameters), got {type(theta).__name__}"
        )
    return check_finite(theta.double(), "theta")


def exact_loss(theta: Tensor, data: Tensor) -> Tensor:
    """The objective in closed form, :math:`(\\theta - \\bar{y})^2 + s_y^2 + 1`."""
    data, theta = _check_data(data), _check_theta_tensor(theta)
    return (theta - data.mean()) ** 2 + data.var(unbiased=False) + 1.0


def _minibatch_residuals(theta: Tensor, data: Tensor, batch_size: int, shape, generator) -> Tensor:
    # x_d - y_d for a minibatch drawn with replacement and one simulation x_d = theta + eps_d per data point;
    # shape (batch_size, *shape).
    index = torch.randint(len(data), (batch_size, *shape), generator=generator)
    x = theta + torch.randn((batch_size, *shape), generator=generator, dtype=torch.float64)
    return x - data[index]


def loss_estimates(
    theta: Tensor,
    data: Tensor,
    batch_size: int,
    *,
    num_estimates: int = 1,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Independent doubly stochastic estimates :math:`\\hat{\\mathcal{F}}(\\theta)` of the objective.

    Shapes:
        ``theta``: ``param_shape``; output: ``(num_estimates, *param_shape)``.
    """
    data, theta = _check_data(data), _check_theta_tensor(theta)
    batch_size = check_num_samples(batch_size, "batch_size")
    num_estimates = check_num_samples(num_estimates, "num_estimates")
    check_generator(generator)
    residuals = _minibatch_residuals(
        theta, data, batch_size, (num_estimates, *theta.shape), generator
    )
    return (residuals**2).mean(dim=0)


def gradient_estimate(
    theta: Tensor, data: Tensor, batch_size: int, *, generator: torch.Generator | None = None
) -> Tensor:
    """One doubly stochastic estimate :math:`\\hat{g}(\\theta)` of
    :math:`\\nabla_\\theta \\mathcal{F}` per parameter."""
    data, theta = _check_data(data), _check_theta_tensor(theta)
    batch_size = check_num_samples(batch_size, "batch_size")
    check_generator(generator)
    return (
        2.0 * _minibatch_residuals(theta, data, batch_size, tuple(theta.shape), generator)
    ).mean(dim=0)


def gradient_estimator(data: Tensor, batch_size: int) -> Callable[..., Tensor]:
    """The estimator as a function ``(theta, generator=None) -> g``, for
    :func:`lecture9.optimization.stochastic_gradient_descent`."""
    data = _check_data(data)
    batch_size = check_num_samples(batch_size, "batch_size")

    def estimate(theta: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return gradient_estimate(theta, data, batch_size, generator=generator)

    return estimate


def stationary_sd(learning_rate: float, batch_size: int, data: Tensor) -> float:
    """Standard deviation of the iterates of constant-step SGD once they have forgotten the start.

    With :math:`\\hat{g}(\\theta) = 2(\\theta - \\theta^\\star) + \\xi`, where the noise
    :math:`\\xi` has variance :math:`v = 4 (1 + s_y^2) / |B|` whatever :math:`\\theta`, the
    iterates follow :math:`\\theta_{t+1} - \\theta^\\star = (1 - 2\\alpha)(\\theta_t - \\theta^\\star) - \\alpha\\xi_t`,
    an autoregressive process with stationary variance

    .. math::

        \\frac{\\alpha^2 v}{1 - (1 - 2\\alpha)^2} = \\frac{\\alpha v}{4 (1 - \\alpha)}, \\qquad 0 < \\alpha < 1.
    """
    check_positive(learning_rate, "learning_rate")
    if not learning_rate < 1.0:
        raise ValueError(
            f"learning_rate must be < 1 for the iterates to settle, got {learning_rate}"
        )
    batch_size = check_num_samples(batch_size, "batch_size")
    data = _check_data(data)
    noise_variance = 4.0 * (1.0 + data.var(unbiased=False).item()) / batch_size
    return math.sqrt(learning_rate * noise_variance / (4.0 * (1.0 - learning_rate)))
