r"""Baselines and control variates compared on the Fig. 2 problem, exact and measured.

Introduced in chapter 8, *Control variates and baselines*.

The problem is the gradient of :math:`\mathbb{E}_{\mathcal{N}(\mu, \sigma^2)}[(x - k)^2]`
(Mohamed et al., 2020, Fig. 2) at :math:`\mu = \sigma = 1`. For each method the quantity
compared is the variance of the gradient estimate *per sample drawn*:

- the score-function estimator with no baseline, a moving-average baseline, the optimal
  constant baseline :math:`b^* = \mathbb{E}[f s^2] / \mathbb{E}[s^2]` and the leave-one-out
  baseline (RLOO) with groups of :math:`K`, reported as :math:`K` times the variance of a
  group's mean (the :math:`K` terms of a group are dependent);
- the first-order delta-method control variate (Sec. 7.4), with :math:`\beta = 1`;
- the pathwise estimator.

:func:`exact_method_variances` gives them by quadrature (:mod:`lecture9.control_variates`,
:mod:`lecture9.reference`); :func:`measured_method_variances` measures them for a batch of
values of :math:`k` at once (a batch of independent problems), with standard errors.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from .. import baselines, estimators, reference
from .. import control_variates as cv
from .._validation import check_array, check_int, check_positive_int
from ..reference import estimator_moments

__all__ = ["quadratic_cost", "method_names", "exact_method_variances", "measured_method_variances"]

_PARAMS = ("loc", "scale")


def quadratic_cost(k) -> Callable[[torch.Tensor], torch.Tensor]:
    """The Fig. 2 cost :math:`f(x) = (x - k)^2`; ``k`` a number or a tensor of the problems' batch shape."""
    return lambda x: (x - k) ** 2


def method_names(group_size: int) -> tuple[str, ...]:
    """The labels of the compared methods, in the order of the tables."""
    return (
        "no baseline",
        "moving average",
        "optimal baseline",
        f"RLOO (K = {group_size})",
        "delta method (1st order)",
        "pathwise",
    )


def _check_settings(decay, batch_size, group_size):
    if not 0 <= decay < 1:
        raise ValueError(f"decay must be in [0, 1), got {decay}")
    check_positive_int(batch_size, "batch_size")
    check_positive_int(group_size, "group_size", minimum=2)


def exact_method_variances(
    f: Callable,
    loc: float,
    scale: float,
    param: str,
    *,
    decay: float,
    batch_size: int,
    group_size: int,
) -> dict[str, float]:
    """Exact single-sample variance of each method, for one cost and one parameter, by quadrature.

    Raises:
        ValueError: on a bad ``param`` or setting.

    Shapes:
        Scalars.
    """
    _check_settings(decay, batch_size, group_size)
    if param not in _PARAMS:
        raise ValueError(f"param must be 'loc' or 'scale', got {param!r}")
    m = reference.gaussian_score_function_moments(f, loc, scale, param)
    values = (
        m.variance(),
        m.moving_average_variance(decay, batch_size),
        m.optimal_variance,
        group_size * m.rloo_variance(group_size),
        cv.delta_method_moments(f, loc, scale, param, order=1)[1],
        estimator_moments("pathwise", f, loc, scale, param)[1],
    )
    return {name: float(v) for name, v in zip(method_names(group_size), values)}


def _variance_and_se(g: torch.Tensor, factor: int) -> tuple[torch.Tensor, torch.Tensor]:
    squares = (g - g.mean(0)) ** 2
    return factor * g.var(0), factor * squares.std(0) / math.sqrt(g.shape[0])


def measured_method_variances(
    ks: Sequence[float],
    *,
    num_samples: int,
    num_steps: int,
    decay: float,
    batch_size: int,
    group_size: int,
    warmup_steps: int = 20,
    generator: torch.Generator | None = None,
) -> tuple[dict, dict]:
    """Monte Carlo single-sample variances of the methods of :func:`exact_method_variances`, all ``k`` at once.

    The problems for the different ``k`` form one batch (``loc = scale = 1``). The moving
    average runs ``warmup_steps + num_steps`` steps of ``batch_size`` samples and its
    variance is measured on the last ``num_steps`` (``num_steps * batch_size`` samples);
    every other method uses ``num_samples`` samples. RLOO is reported per sample drawn,
    ``group_size`` times the variance of its group means.

    Raises:
        ValueError: on a bad setting, or ``num_samples`` not a multiple of ``group_size``.

    Shapes:
        ``ks``: ``(K,)`` -> tensors ``(K,)``.
    """
    _check_settings(decay, batch_size, group_size)
    if num_samples % group_size:
        raise ValueError(
            f"num_samples = {num_samples} must be a multiple of group_size = {group_size}"
        )
    num_steps = check_positive_int(num_steps, "num_steps", maximum=10**6)
    warmup_steps = check_int(warmup_steps, "warmup_steps", minimum=0, maximum=10**6)
    normal = torch.distributions.Normal
    k = torch.tensor(check_array(ks, "ks", ndim=1), dtype=torch.float64)
    f = quadratic_cost(k)  # f(x)[:, j] = (x[:, j] - k[j])^2
    params = {"loc": torch.ones_like(k), "scale": torch.ones_like(k)}
    stars = [reference.exact_optimal_baseline(quadratic_cost(float(kj)), 1.0, 1.0) for kj in k]
    b_star = {p: torch.tensor([b[p] for b in stars], dtype=torch.float64) for p in _PARAMS}
    ema = baselines.MovingAverageBaseline(decay=decay)
    ema_steps = []
    for step in range(num_steps + warmup_steps):
        grads = estimators.score_function_grad(
            f, normal, params, batch_size, baseline=ema, generator=generator
        )
        ema.update()
        if step >= warmup_steps:
            ema_steps.append(grads)
    rloo = estimators.score_function_grad(
        f,
        normal,
        params,
        num_samples,
        baseline=baselines.LeaveOneOutBaseline(group_size),
        generator=generator,
    )
    names = method_names(group_size)
    runs = dict(
        zip(
            names,
            (
                estimators.score_function_grad(f, normal, params, num_samples, generator=generator),
                {p: torch.cat([g[p] for g in ema_steps]) for p in params},
                estimators.score_function_grad(
                    f, normal, params, num_samples, baseline=b_star, generator=generator
                ),
                {p: baselines.group_means(rloo[p], group_size) for p in params},
                cv.delta_method_grad(
                    f, params, num_samples, order=1, beta=1.0, generator=generator
                ),
                estimators.pathwise_grad(f, normal, params, num_samples, generator=generator),
            ),
        )
    )
    variances, errors = {p: {} for p in _PARAMS}, {p: {} for p in _PARAMS}
    for name, grads in runs.items():
        factor = group_size if name.startswith("RLOO") else 1
        for p in _PARAMS:
            variances[p][name], errors[p][name] = _variance_and_se(grads[p], factor)
    return variances, errors
