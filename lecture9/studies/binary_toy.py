r"""The binary toy problem of REINFORCE: exact moments, samples for the right sign, training.

Introduced in chapter 8, *Control variates and baselines*; the problem of Tucker et al.
(2017) and Grathwohl et al. (2018):

.. math::

    \min_\theta \; \mathbb{E}_{b \sim \mathrm{Bernoulli}(p)}\bigl[(b - t)^2\bigr], \qquad
    p = \operatorname{sigmoid}(\theta),

with exact gradient :math:`p(1 - p)(1 - 2t)` and score :math:`b - p` of the logit. The
single-sample REINFORCE estimate :math:`(b - t)^2 (b - p)` has a size of about 0.125
whatever :math:`t`, so for :math:`t` close to :math:`\tfrac12` the signal is tiny next to
the noise.

With :math:`N` independent estimates of mean :math:`g` and standard deviation
:math:`\sigma_1`, the probability that their average has the sign of :math:`g` is about
:math:`\Phi(\sqrt N |g| / \sigma_1)`, so a probability :math:`q` needs

.. math::

    N_q = \bigl\lceil (z_q\, \sigma_1 / |g|)^2 \bigr\rceil, \qquad z_{0.95} = 1.645

:func:`samples_for_sign` computes it.

For RLOO with one group of :math:`N` the estimate is
:math:`(f(1) - f(0))\, m (N - m) / (N (N - 1))` with :math:`m` the number of ones, so the sign
is right exactly when :math:`0 < m < N`: :math:`1 - p^N - (1 - p)^N`
(:func:`rloo_sign_probability`).
"""

from __future__ import annotations

import math

import torch

from .. import baselines, estimators, reference
from .._validation import (
    check_choice,
    check_float,
    check_generator,
    check_int,
    check_probability,
    check_size,
)

__all__ = [
    "toy_cost",
    "toy_moments",
    "toy_variances",
    "samples_for_sign",
    "rloo_sign_probability",
    "constant_baseline_sign_simulation",
    "rloo_sign_simulation",
    "TRAINING_METHODS",
    "train_toy",
]

#: Methods of :func:`train_toy`.
TRAINING_METHODS = ("no baseline", "moving average", "RLOO", "exact gradient")

_BERNOULLI = torch.distributions.Bernoulli


def _check_target(target) -> float:
    return check_float(
        target, "target", minimum=-1e6, maximum=1e6, hint="(b - target)**2 must stay finite"
    )


def _check_theta(theta) -> float:
    return check_float(
        theta, "theta", minimum=-700.0, maximum=700.0, hint="exp(-theta) must stay finite"
    )


def _check_thetas(thetas, name: str) -> torch.Tensor:
    if isinstance(thetas, (str, bytes)) or thetas is None:
        raise TypeError(f"{name} must be a sequence or tensor of logits, got {thetas!r}")
    try:
        thetas = torch.as_tensor(thetas, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as error:
        raise TypeError(f"{name} must be a sequence or tensor of logits, got {thetas!r}") from error
    if not bool(torch.isfinite(thetas).all()):
        raise ValueError(f"{name} must be finite, got {thetas}")
    return thetas


def toy_cost(target: float):
    """The cost :math:`f(b) = (b - t)^2` as a callable, elementwise in ``b``."""
    target = _check_target(target)
    return lambda b: (b - target) ** 2


def toy_moments(target: float, thetas) -> reference.ScoreFunctionMoments:
    """Exact moments of the toy at the logits ``thetas``, by enumeration over :math:`b \\in \\{0, 1\\}`.

    Shapes:
        ``thetas``: any shape (a batch of problems); the moments have that shape.
    """
    thetas = _check_thetas(thetas, "thetas")
    return reference.discrete_score_function_moments(
        toy_cost(target), _BERNOULLI, {"logits": thetas}, "logits"
    )


def toy_variances(
    target: float, thetas, thetas_mc, *, num_samples: int, generator: torch.Generator | None = None
):
    """Exact (at ``thetas``) and measured (at ``thetas_mc``) single-sample variances of three estimators.

    The estimators: REINFORCE without a baseline, with the constant baseline
    :math:`b = \\mathbb{E}[f]` (what a moving average converges to), and RLOO with
    :math:`K = 2`, reported per sample (twice the variance of a pair's mean).

    Shapes:
        ``thetas``: ``(T,)``; ``thetas_mc``: ``(M,)``.
    """
    names = ("no baseline", "baseline E[f] (moving average)", "RLOO (K = 2)")
    m = toy_moments(target, thetas)
    exact = dict(zip(names, (m.variance(), m.variance(m.mean_f), 2 * m.rloo_variance(2))))
    thetas_mc = _check_thetas(thetas_mc, "thetas_mc")
    mean_f = toy_moments(target, thetas_mc).mean_f
    runs = [
        estimators.score_function_grad(
            toy_cost(target),
            _BERNOULLI,
            {"logits": thetas_mc},
            num_samples,
            baseline=baseline,
            generator=generator,
        )["logits"]
        for baseline in (None, mean_f, baselines.LeaveOneOutBaseline(2))
    ]
    measured = dict(
        zip(names, (runs[0].var(0), runs[1].var(0), 2 * baselines.group_means(runs[2], 2).var(0)))
    )
    return exact, measured


def samples_for_sign(grad: float, variance: float, probability: float = 0.95) -> int:
    """Samples :math:`N` for the average of single-sample estimates to have the right sign with ``probability``.

    The normal approximation :math:`\\lceil (z_q \\sigma_1 / |g|)^2 \\rceil`; 1 when the variance
    is zero (up to rounding: below ``1e-15 * grad**2``).

    Raises:
        ValueError: if ``grad`` is zero, ``variance`` negative or ``probability`` not in (0.5, 1).
    """
    probability = check_probability(probability, "probability", open_interval=True)
    grad = check_float(grad, "grad", minimum=-1e150, maximum=1e150, hint="grad**2 must stay finite")
    variance = check_float(variance, "variance")
    if not 0.5 < probability < 1:
        raise ValueError(f"probability must be in (0.5, 1), got {probability}")
    if float(grad) == 0:
        raise ValueError("grad must be non-zero: a zero gradient has no sign to get right")
    if float(variance) < -1e-12 * float(grad) ** 2:
        raise ValueError(f"variance must be >= 0, got {variance}")
    grad, variance = float(grad), float(variance)
    if variance <= 1e-15 * grad**2:
        return 1
    z = (
        torch.distributions.Normal(0.0, 1.0)
        .icdf(torch.tensor(probability, dtype=torch.float64))
        .item()
    )
    needed = z**2 * variance / grad**2
    if not math.isfinite(needed):
        raise ValueError(
            f"variance / grad**2 overflows (grad={grad:g}, variance={variance:g}); rescale the problem"
        )
    return math.ceil(needed)


def rloo_sign_probability(theta: float, num_samples: int) -> float:
    """Exact probability that the RLOO estimate from one group of ``num_samples`` has the right sign."""
    num_samples = check_int(num_samples, "num_samples", minimum=2)
    p = 1 / (1 + math.exp(-_check_theta(theta)))
    return 1 - p**num_samples - (1 - p) ** num_samples


def constant_baseline_sign_simulation(
    target: float,
    theta: float,
    num_samples: int,
    baseline: float,
    repetitions: int,
    *,
    generator: torch.Generator | None = None,
) -> float:
    """Fraction of ``repetitions`` averages of ``num_samples`` REINFORCE estimates
    (constant baseline) with the right sign.

    The average depends only on the number of ones among the actions, a binomial count,
    which is drawn directly (so ``num_samples`` may be in the hundreds of thousands).
    ``baseline = 0`` is plain REINFORCE.
    """
    target, theta, baseline = (
        _check_target(target),
        _check_theta(theta),
        check_float(baseline, "baseline"),
    )
    num_samples = check_int(num_samples, "num_samples", minimum=1, maximum=10**15)
    repetitions = check_size(
        check_int(repetitions, "repetitions", minimum=1),
        "repetitions",
        workaround="average the fractions of several smaller calls",
    )
    check_generator(generator)
    p = 1 / (1 + math.exp(-theta))
    ones = torch.binomial(
        torch.full((repetitions,), float(num_samples), dtype=torch.float64),
        torch.full((repetitions,), p, dtype=torch.float64),
        generator=generator,
    )
    total = (
        ones * ((1 - target) ** 2 - baseline) * (1 - p)
        - (num_samples - ones) * (target**2 - baseline) * p
    )
    sign = 1.0 if 1 - 2 * target > 0 else -1.0
    return float((sign * total > 0).double().mean())


def rloo_sign_simulation(
    target: float,
    theta: float,
    num_samples: int,
    repetitions: int,
    *,
    generator: torch.Generator | None = None,
) -> float:
    """Fraction of ``repetitions`` RLOO estimates (one group of ``num_samples``) with the right sign.

    An estimate that is zero up to rounding (all actions equal) counts as a wrong sign.
    """
    theta = _check_theta(theta)
    num_samples = check_int(num_samples, "num_samples", minimum=2)
    repetitions = check_int(repetitions, "repetitions", minimum=1)
    check_size(
        num_samples * repetitions,
        "num_samples * repetitions",
        workaround="average the fractions of several smaller calls",
    )
    grads = estimators.score_function_grad(
        toy_cost(target),
        _BERNOULLI,
        {"logits": torch.full((repetitions,), float(theta), dtype=torch.float64)},
        num_samples,
        baseline=baselines.LeaveOneOutBaseline(),
        generator=generator,
    )
    sign = 1.0 if 1 - 2 * _check_target(target) > 0 else -1.0
    return float((sign * grads["logits"].mean(0) > 1e-12).double().mean())


def train_toy(
    target: float,
    method: str,
    *,
    num_steps: int,
    num_runs: int,
    lr: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Adam on the logits of ``num_runs`` independent copies of the toy, from :math:`\\theta = 0`.

    Each step draws two actions per run and applies REINFORCE with the chosen baseline
    (through :func:`lecture9.baselines.apply_baseline` on the score :math:`b - p`),
    or uses the exact gradient. The moving average (decay 0.9) is initialised with one
    independent batch of costs: started at 0, its first step would be a plain REINFORCE
    step whose large gradient inflates Adam's second-moment estimate for hundreds of steps.

    Raises:
        ValueError: on an unknown ``method``.
    """
    check_choice(method, TRAINING_METHODS, "method")
    target = _check_target(target)
    num_steps = check_int(num_steps, "num_steps", minimum=1, maximum=10**7)
    num_runs = check_int(num_runs, "num_runs", minimum=1)
    check_size(
        num_steps * num_runs, "num_steps * num_runs", workaround="use fewer runs or steps per call"
    )
    lr = check_float(lr, "lr", minimum=0.0, strict=True, maximum=1e6)
    check_generator(generator)
    theta = torch.zeros(num_runs, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([theta], lr=lr)
    ema = baselines.MovingAverageBaseline(decay=0.9)
    ema.update(
        (torch.rand(2, num_runs, generator=generator, dtype=torch.float64) < 0.5)
        .double()
        .sub(target)
        ** 2
    )
    baseline = {
        "no baseline": None,
        "moving average": ema,
        "RLOO": baselines.LeaveOneOutBaseline(2),
    }.get(method)
    history = []
    for _ in range(num_steps):
        p = torch.sigmoid(theta.detach())
        if method == "exact gradient":
            grad = p * (1 - p) * (1 - 2 * target)
        else:  # REINFORCE with two actions per run; the score of a logit is b - p
            b = (torch.rand(2, num_runs, generator=generator, dtype=torch.float64) < p).double()
            grad = baselines.apply_baseline((b - target) ** 2, b - p, baseline).mean(0)
            if method == "moving average":
                ema.update()
        optimizer.zero_grad()
        theta.grad = grad
        optimizer.step()
        history.append(torch.sigmoid(theta.detach()))
    return torch.stack(history)
