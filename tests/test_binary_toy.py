"""Tests of lecture9.studies.binary_toy against enumeration, the binomial law and the normal approximation."""

from __future__ import annotations

import math

import pytest
import torch

from lecture9.studies import binary_toy


def test_moments_are_the_closed_forms():
    thetas = torch.tensor([-2.0, 0.0, 1.5], dtype=torch.float64)
    p = torch.sigmoid(thetas)
    for t in (0.45, 0.499):
        m = binary_toy.toy_moments(t, thetas)
        torch.testing.assert_close(m.grad, p * (1 - p) * (1 - 2 * t))
        torch.testing.assert_close(m.mean_f, p * (1 - t) ** 2 + (1 - p) * t**2)
        # the optimal baseline (1 - p) f(1) + p f(0) gives zero variance
        torch.testing.assert_close(m.optimal_baseline, (1 - p) * (1 - t) ** 2 + p * t**2)
        assert (m.optimal_variance.abs() < 1e-12).all()


def test_samples_for_sign_is_the_normal_approximation():
    assert binary_toy.samples_for_sign(0.1, 1.0) == math.ceil(1.6448536269514722**2 * 100)
    assert binary_toy.samples_for_sign(-0.1, 1.0, probability=0.975) == math.ceil(
        1.959963984540054**2 * 100
    )
    assert binary_toy.samples_for_sign(0.5, 0.0) == 1
    with pytest.raises(ValueError, match="grad must be non-zero"):
        binary_toy.samples_for_sign(0.0, 1.0)
    with pytest.raises(ValueError, match="probability"):
        binary_toy.samples_for_sign(0.1, 1.0, probability=0.4)


def test_sign_simulations_match_the_exact_probabilities():
    reps = 20_000
    # RLOO: exact 1 - p^N - (1 - p)^N
    for theta, n in ((0.0, 3), (-2.0, 10)):
        exact = binary_toy.rloo_sign_probability(theta, n)
        sim = binary_toy.rloo_sign_simulation(
            0.45, theta, n, reps, generator=torch.Generator().manual_seed(n)
        )
        assert abs(sim - exact) < 5 * math.sqrt(exact * (1 - exact) / reps)
    # constant baseline b = 0, n = 1: the sign is right exactly when the cost-weighted score is positive
    p = 0.5
    exact = p  # one sample at theta = 0: b = 1 gives (1 - t)^2 (1 - p) > 0, b = 0 gives -t^2 p < 0
    sim = binary_toy.constant_baseline_sign_simulation(
        0.45, 0.0, 1, 0.0, reps, generator=torch.Generator().manual_seed(0)
    )
    assert abs(sim - exact) < 5 * math.sqrt(p * (1 - p) / reps)


def test_normal_approximation_gives_about_95_percent_for_plain_reinforce():
    m = binary_toy.toy_moments(0.45, 0.0)
    n = binary_toy.samples_for_sign(m.grad, m.variance())
    sim = binary_toy.constant_baseline_sign_simulation(
        0.45, 0.0, n, 0.0, 20_000, generator=torch.Generator().manual_seed(1)
    )
    assert abs(sim - 0.95) < 0.02


def test_toy_variances_measured_within_standard_errors():
    thetas_mc = torch.tensor([-1.0, 0.0, 1.0], dtype=torch.float64)
    n = 40_000
    exact, measured = binary_toy.toy_variances(
        0.45, thetas_mc, thetas_mc, num_samples=n, generator=torch.Generator().manual_seed(2)
    )
    for name in exact:
        # crude but safe bound on the SE of a sample variance of bounded values (|g| < 1): sqrt(E g^4 / n) <= sqrt(1 / n)
        assert ((measured[name] - exact[name]).abs() < 5 * math.sqrt(2.0 / n)).all(), name


def test_train_toy_exact_gradient_descends_and_reinforce_is_reproducible():
    p = binary_toy.train_toy(0.45, "exact gradient", num_steps=50, num_runs=3, lr=0.05)
    assert p.shape == (50, 3) and (p[1:] <= p[:-1]).all()
    a = binary_toy.train_toy(
        0.45, "RLOO", num_steps=20, num_runs=4, lr=0.05, generator=torch.Generator().manual_seed(3)
    )
    b = binary_toy.train_toy(
        0.45, "RLOO", num_steps=20, num_runs=4, lr=0.05, generator=torch.Generator().manual_seed(3)
    )
    torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="method must be one of"):
        binary_toy.train_toy(0.45, "sgd", num_steps=1, num_runs=1, lr=0.1)
