"""Tests of lecture9.optimization against closed forms and exact distributions, tolerances from the standard error."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import gen

from lecture9 import optimization, sampling

D = torch.distributions
NUM_SE = 5.0


def test_minimize_by_sampling_finds_the_best_candidate():
    box = D.Independent(D.Uniform(torch.zeros(2), torch.ones(2)), 1)
    f = lambda x: (x - torch.tensor([0.3, 0.6])).square().sum(-1)  # noqa: E731
    x_best, f_best = optimization.minimize_by_sampling(f, box, 5000, generator=gen(25))
    candidates = sampling.draw(box, 5000, generator=gen(25))
    assert f_best == pytest.approx(float(f(candidates).min()))
    assert x_best.shape == (2,) and f_best < 1e-3


def test_stochastic_gradient_descent_converges_on_noisy_quadratic():
    # F(theta) = E[(theta - x)^2], x ~ N(3, 1): gradient estimate 2 (theta - x).
    def grad(theta, generator=None):
        x = 3.0 + torch.randn(16, generator=generator, dtype=torch.float64)
        return 2 * (theta - x).mean().reshape(theta.shape)

    lr, batch, steps, burn_in = 0.05, 16, 2000, 100
    traj = optimization.stochastic_gradient_descent(
        grad,
        torch.tensor(0.0, dtype=torch.float64),
        learning_rate=lr,
        num_steps=steps,
        generator=gen(26),
    )
    assert traj.shape == (steps + 1,)
    # Exact recursion: theta_{t+1} = theta_t - lr * grad(theta_t), same generator, same draws.
    g, theta = gen(26), torch.tensor(0.0, dtype=torch.float64)
    for t in range(5):
        theta = theta - lr * 2 * (
            theta - (3.0 + torch.randn(batch, generator=g, dtype=torch.float64)).mean()
        )
        assert float(traj[t + 1]) == pytest.approx(float(theta), rel=1e-12)
    # e_t = theta_t - 3 is AR(1): e_{t+1} = a e_t + 2 lr xi_t, a = 1 - 2 lr, xi_t ~ N(0, 1 / batch).
    # Stationary variance v = (2 lr)^2 / batch / (1 - a^2), autocovariance v a^|i-j|; the start e_0 = -3
    # has decayed by a^burn_in (~1e-4 of the tolerance). SE of the mean of the last k iterates:
    a = 1 - 2 * lr
    v = (2 * lr) ** 2 / batch / (1 - a**2)
    tail = traj[burn_in:]
    k = tail.numel()
    lags = torch.arange(k, dtype=torch.float64)
    var_mean = v / k**2 * float(k + 2 * ((k - lags[1:]) * a ** lags[1:]).sum())
    assert abs(float(tail.mean()) - 3.0) < NUM_SE * math.sqrt(var_mean)
    with pytest.raises(ValueError, match="grad_estimate returned"):
        optimization.stochastic_gradient_descent(
            lambda t, generator=None: torch.zeros(3),
            torch.tensor(0.0),
            learning_rate=0.1,
            num_steps=1,
        )


def _zero_grad(theta, generator=None):
    return torch.zeros_like(theta)


@pytest.mark.parametrize(
    "init, learning_rate, err, match",
    [
        (0.0, 0.1, TypeError, "init must be a torch.Tensor"),
        ([0.0, 1.0], 0.1, TypeError, "init must be a torch.Tensor"),
        (torch.tensor(0.0), 0.0, ValueError, "learning_rate must be finite and > 0"),
        (torch.tensor(0.0), -0.1, ValueError, "learning_rate must be finite and > 0"),
        (torch.tensor(0.0), math.nan, ValueError, "learning_rate must be finite and > 0"),
        (torch.tensor(0.0), math.inf, ValueError, "learning_rate must be finite and > 0"),
        (torch.tensor(0.0), "0.1", TypeError, "learning_rate must be a positive number"),
        (torch.tensor(0.0), True, TypeError, "learning_rate must be a positive number"),
    ],
    ids=[
        "float-init",
        "list-init",
        "zero-lr",
        "negative-lr",
        "nan-lr",
        "inf-lr",
        "str-lr",
        "bool-lr",
    ],
)
def test_stochastic_gradient_descent_bad_input(init, learning_rate, err, match):
    with pytest.raises(err, match=match):
        optimization.stochastic_gradient_descent(
            _zero_grad, init, learning_rate=learning_rate, num_steps=3, generator=gen()
        )


def test_stochastic_gradient_descent_grad_estimate_needs_generator_keyword():
    with pytest.raises(
        TypeError,
        match=r"grad_estimate must accept a generator keyword.*grad_estimate\(theta, generator=None\)",
    ):
        optimization.stochastic_gradient_descent(
            lambda theta: torch.zeros_like(theta), torch.tensor(0.0), learning_rate=0.1, num_steps=1
        )
    with pytest.raises(TypeError, match="grad_estimate must be callable"):
        optimization.stochastic_gradient_descent(
            3.0, torch.tensor(0.0), learning_rate=0.1, num_steps=1
        )


# --------------------------------------------------------------------------- non-finite input


def test_minimize_by_sampling_nan_candidate_is_an_error():
    with pytest.raises(ValueError, match=r"f returned nan for candidate"):
        optimization.minimize_by_sampling(torch.log, D.Normal(0.0, 1.0), 100, generator=gen())


def test_sgd_non_finite_gradient_and_init():
    with pytest.raises(ValueError, match="grad_estimate returned a non-finite gradient at step 1"):
        optimization.stochastic_gradient_descent(
            lambda t, generator=None: torch.full_like(t, math.nan),
            torch.tensor(0.0),
            learning_rate=0.1,
            num_steps=3,
        )
    with pytest.raises(ValueError, match="init must be finite"):
        optimization.stochastic_gradient_descent(
            lambda t, generator=None: t, torch.tensor(math.inf), learning_rate=0.1, num_steps=3
        )


# --------------------------------------------------------------------------- bounded steps, no overflow


@pytest.mark.parametrize("num_steps", [optimization.MAX_NUM_STEPS + 1, 10**12, 2**70])
def test_sgd_refuses_step_counts_past_the_bound(num_steps):
    with pytest.raises(ValueError, match="num_steps must be at most"):
        optimization.stochastic_gradient_descent(
            lambda th, generator=None: 2 * th,
            torch.tensor(1.0),
            learning_rate=0.1,
            num_steps=num_steps,
        )


def test_sgd_refuses_an_iterate_that_overflows():
    with pytest.raises(ValueError, match="learning_rate"):
        optimization.stochastic_gradient_descent(
            lambda th, generator=None: th * 1e30,
            torch.tensor(1e30),
            learning_rate=1e30,
            num_steps=1,
        )


def test_minimize_by_sampling_names_the_sampler_for_a_nan_candidate():
    with pytest.raises(ValueError, match="^sampler returned a non-finite candidate"):
        optimization.minimize_by_sampling(
            lambda x: x**2, lambda n, generator=None: torch.full((n,), float("nan")), 5
        )
