"""Tests of lecture9.studies.queueing: Lindley's recursion, and the pathwise sensitivities against the M/M/1 closed forms."""

import math

import pytest
import torch

from lecture9.studies import queueing


def test_vectorised_recursion_equals_the_loop():
    sojourn = queueing.mm1_sojourn_times(
        2.0, 1.0, 50, 3, generator=torch.Generator().manual_seed(1)
    )
    g = torch.Generator().manual_seed(1)
    interarrival = -torch.log(torch.rand(3, 50, generator=g, dtype=torch.float64)) / 1.0
    service = -torch.log(torch.rand(3, 50, generator=g, dtype=torch.float64)) / 2.0
    waiting = torch.zeros(3, 50, dtype=torch.float64)
    for n in range(1, 50):
        waiting[:, n] = torch.clamp(
            waiting[:, n - 1] + service[:, n - 1] - interarrival[:, n], min=0.0
        )
    assert torch.allclose(sojourn, waiting + service)


@pytest.mark.parametrize("wrt, exact", [("service_rate", -1.0), ("arrival_rate", 1.0)])
def test_sensitivities_match_the_steady_state_formulas(wrt, exact):
    mean, grad = queueing.mean_sojourn_sensitivity(
        2.0, 1.0, 2_000, 300, warm_up=200, wrt=wrt, generator=torch.Generator().manual_seed(2)
    )
    assert mean.shape == grad.shape == (300,)

    def se(v):
        return v.std().item() / math.sqrt(v.numel())

    assert abs(mean.mean().item() - queueing.mean_sojourn_time(2.0, 1.0)) < 5 * se(mean)
    assert abs(grad.mean().item() - exact) < 5 * se(grad)


def test_projected_sgd_finds_the_optimal_service_rate():
    estimate = queueing.queue_cost_gradient(
        0.25, 1.0, num_customers=300, num_paths=20, warm_up=30, min_service_rate=1.05
    )
    theta, g = torch.tensor(2.0, dtype=torch.float64), torch.Generator().manual_seed(3)
    iterates = []
    for t in range(150):
        theta = torch.clamp(theta - 2.0 / (t + 4) ** 0.6 * estimate(theta, generator=g), min=1.05)
        iterates.append(theta.item())
    assert abs(sum(iterates[-50:]) / 50 - 3.0) < 0.15  # exact optimum 1 + 1 / sqrt(0.25) = 3


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="service_rate"):
        queueing.mm1_sojourn_times(torch.ones(4, 2), 1.0, 10, 4)
    with pytest.raises(ValueError, match="stable"):
        queueing.mean_sojourn_time(1.0, 2.0)
    with pytest.raises(ValueError, match="wrt"):
        queueing.mean_sojourn_sensitivity(2.0, 1.0, 10, 2, wrt="price")
    with pytest.raises(ValueError, match="min_service_rate"):
        queueing.queue_cost_gradient(
            0.25, 1.0, num_customers=10, num_paths=2, warm_up=1, min_service_rate=0.5
        )
