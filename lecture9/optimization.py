r"""Stochastic optimisation by sampling: random search and stochastic gradient descent.

Introduced in chapter 1, *Monte Carlo estimation* (the best of random candidates) and
chapter 2, *Sampling* (gradient descent with a Monte Carlo gradient estimate: the
simulation view of Mohamed et al. (2020), Sec. 2). Randomness is explicit: both take
a keyword ``generator``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ._validation import check_generator, check_num_samples, check_positive, check_positive_int
from .sampling import check_generator_keyword, draw_samples, evaluate_samples

__all__ = ["minimize_by_sampling", "stochastic_gradient_descent", "MAX_NUM_STEPS"]

#: The most steps one :func:`stochastic_gradient_descent` call may take (the trajectory is kept in memory).
MAX_NUM_STEPS = 10**7

Tensor = torch.Tensor


def minimize_by_sampling(
    f: Callable[[Tensor], Tensor],
    sampler,
    num_samples: int,
    *,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, float]:
    """Optimisation by sampling (random search): the best of ``num_samples`` random candidates.

    .. math::

        \\hat{x}^\\star_n = \\arg\\min_{i \\le n} f(x_i), \\qquad x_i \\sim p.

    Raises:
        TypeError, ValueError: as :func:`lecture9.montecarlo.mc_estimate`; ``ValueError``
            if ``f`` is not finite on a candidate.

    Shapes:
        candidates: ``(num_samples, *event_shape)``; ``x_best``: ``event_shape``.
    """
    num_samples = check_num_samples(num_samples)
    check_generator(generator)
    x = draw_samples(sampler, num_samples, generator)
    values = evaluate_samples(f, x, num_samples)
    finite = torch.isfinite(values)
    if not finite.all():
        i = int((~finite).nonzero()[0, 0])
        if x.is_floating_point() and not bool(torch.isfinite(x[i]).all()):
            raise ValueError(
                f"sampler returned a non-finite candidate ({x[i].tolist()}) at index {i}"
            )
        raise ValueError(
            f"f returned {float(values[i])} for candidate {i} (x = {x[i].tolist()}); the objective must be finite "
            f"on every candidate: restrict the sampler to where f is defined"
        )
    i = int(torch.argmin(values))
    return x[i], float(values[i])


def stochastic_gradient_descent(
    grad_estimate: Callable[..., Tensor],
    init: Tensor,
    *,
    learning_rate: float,
    num_steps: int,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Stochastic gradient descent :math:`\theta_{t+1} = \theta_t - \eta\,\hat g(\theta_t)`
    with a Monte Carlo gradient.

    With an unbiased :math:`\hat g` and a small step the iterates approach a stationary point
    of :math:`\mathcal{F}` (Robbins and Monro, 1951; Mohamed et al. 2020, Sec. 2).

    Raises:
        TypeError: if ``init`` is not a tensor, ``learning_rate`` not a number, or
            ``grad_estimate`` not a callable with a ``generator`` keyword.
        ValueError: if ``learning_rate`` is not finite and positive, ``num_steps`` is not in
            ``[1, MAX_NUM_STEPS]``, ``init`` is not finite, the iterate overflows, or
            ``grad_estimate`` returns the wrong shape or a non-finite value.

    Shapes:
        ``init``: ``param_shape``; output: ``(num_steps + 1, *param_shape)``.
    """
    if not isinstance(init, torch.Tensor):
        raise TypeError(f"init must be a torch.Tensor, got {type(init).__name__}")
    if not torch.isfinite(init).all():
        raise ValueError(f"init must be finite, got {init}")
    check_positive(learning_rate, "learning_rate")
    num_steps = check_positive_int(num_steps, "num_steps", maximum=MAX_NUM_STEPS)
    check_generator(generator)
    if not callable(grad_estimate):
        raise TypeError(f"grad_estimate must be callable, got {type(grad_estimate).__name__}")
    check_generator_keyword(
        grad_estimate, "grad_estimate", "grad_estimate(theta, generator=None) -> Tensor"
    )
    theta = init.detach().clone()
    trajectory = [theta]
    for _ in range(num_steps):
        g = grad_estimate(theta, generator=generator)
        if not isinstance(g, torch.Tensor) or g.shape != theta.shape:
            got = tuple(g.shape) if isinstance(g, torch.Tensor) else type(g).__name__
            raise ValueError(
                f"grad_estimate returned {got}, expected a tensor of shape {tuple(theta.shape)}"
            )
        if not torch.isfinite(g).all():
            raise ValueError(
                f"grad_estimate returned a non-finite gradient at step {len(trajectory)} (theta = {theta.tolist()}); "
                f"lower learning_rate or check the gradient estimate"
            )
        theta = theta - learning_rate * g.detach()
        if not torch.isfinite(theta).all():
            raise ValueError(
                f"the iterate overflowed to {theta.tolist()} at step {len(trajectory)}; lower learning_rate"
            )
        trajectory.append(theta)
    return torch.stack(trajectory)
