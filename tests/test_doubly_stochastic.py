"""Tests of lecture9.studies.doubly_stochastic against the closed forms, with standard-error tolerances."""

import math

import pytest
import torch

from lecture9 import optimization
from lecture9.studies import doubly_stochastic as ds

DATA = 2.0 + 1.5 * torch.randn(500, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def test_exact_loss_is_the_average_expected_squared_error():
    theta = torch.tensor([0.0, 1.0, 3.0], dtype=torch.float64)
    # E[(theta + eps - y)^2] = (theta - y)^2 + 1, averaged over the data
    direct = ((theta[:, None] - DATA[None, :]) ** 2 + 1.0).mean(dim=1)
    assert torch.allclose(ds.exact_loss(theta, DATA), direct)


def test_loss_estimates_are_unbiased():
    theta = torch.tensor([0.0, DATA.mean().item()], dtype=torch.float64)
    draws = ds.loss_estimates(
        theta, DATA, 4, num_estimates=20_000, generator=torch.Generator().manual_seed(1)
    )
    assert draws.shape == (20_000, 2)
    se = draws.std(dim=0) / math.sqrt(20_000)
    assert ((draws.mean(dim=0) - ds.exact_loss(theta, DATA)).abs() < 5 * se).all()


def test_gradient_estimates_are_unbiased_with_the_predicted_variance():
    theta = torch.full((40_000,), 0.5, dtype=torch.float64)
    g = ds.gradient_estimate(theta, DATA, 2, generator=torch.Generator().manual_seed(2))
    exact = 2 * (0.5 - DATA.mean().item())
    assert abs(g.mean().item() - exact) < 5 * g.std().item() / math.sqrt(g.numel())
    v = 4 * (1 + DATA.var(unbiased=False).item()) / 2
    assert abs(g.var().item() - v) < 5 * v * math.sqrt(2 / g.numel())


def test_constant_step_sgd_settles_around_the_minimiser_with_the_stationary_spread():
    runs = torch.full((400,), -2.0, dtype=torch.float64)
    trajectory = optimization.stochastic_gradient_descent(
        ds.gradient_estimator(DATA, 1),
        runs,
        learning_rate=0.05,
        num_steps=300,
        generator=torch.Generator().manual_seed(3),
    )
    last = trajectory[-1]  # 400 independent runs after 300 steps: stationary
    sd = ds.stationary_sd(0.05, 1, DATA)
    assert abs(last.mean().item() - DATA.mean().item()) < 5 * sd / math.sqrt(400)
    assert abs(last.std().item() - sd) < 5 * sd / math.sqrt(2 * 400)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="data"):
        ds.exact_loss(torch.tensor(0.0), torch.zeros(2, 2))
    with pytest.raises(TypeError, match="theta"):
        ds.gradient_estimate(0.0, DATA, 1)
    with pytest.raises(ValueError, match="learning_rate"):
        ds.stationary_sd(1.5, 1, DATA)
