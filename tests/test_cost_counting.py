"""Tests of lecture9.studies.cost_counting: evaluations per sample of each estimator."""

from __future__ import annotations

import pytest
import torch

from lecture9.studies import cost_counting

NORMAL = torch.distributions.Normal
PARAMS = {
    "loc": torch.tensor(0.5, dtype=torch.float64),
    "scale": torch.tensor(2.0, dtype=torch.float64),
}


def test_counting_cost_counts_values_and_passes_them_through():
    cost = cost_counting.CountingCost(lambda x: x**2)
    torch.testing.assert_close(
        cost(torch.arange(6.0).reshape(2, 3)), torch.arange(6.0).reshape(2, 3) ** 2
    )
    assert cost.evaluations == 6
    cost.reset()
    assert cost.evaluations == 0
    with pytest.raises(TypeError, match="callable"):
        cost_counting.CountingCost(3.0)
    with pytest.raises(TypeError, match="tensor"):
        cost_counting.CountingCost(lambda x: 1.0)(torch.zeros(2))


@pytest.mark.parametrize(
    "estimator, expected",
    [("score_function", 1), ("pathwise", 1), ("measure_valued", 4), ("measure_valued_coupled", 4)],
)
def test_evaluations_per_sample_of_a_scalar_gaussian(estimator, expected):
    """Two parameters (loc, scale): the measure-valued estimator evaluates f twice for each, 4 in all."""
    got = cost_counting.evaluations_per_sample(
        estimator,
        lambda x: torch.cos(x),
        NORMAL,
        PARAMS,
        50,
        generator=torch.Generator().manual_seed(0),
    )
    assert got == expected


def test_unknown_estimator_is_named():
    with pytest.raises(ValueError, match="estimator must be one of"):
        cost_counting.evaluations_per_sample("finite_difference", torch.cos, NORMAL, PARAMS, 5)


@pytest.mark.parametrize("dim", [1, 3, 8])
def test_measure_valued_costs_4d_evaluations_for_a_diagonal_gaussian(dim):
    """Under Independent the weak derivative is taken one coordinate at a time: 2 evaluations per coordinate
    and parameter vector, 4D in all; the score-function and pathwise estimators need one."""
    diagonal = lambda loc, scale: torch.distributions.Independent(NORMAL(loc, scale), 1)  # noqa: E731
    params = {
        "loc": torch.zeros(dim, dtype=torch.float64),
        "scale": torch.ones(dim, dtype=torch.float64),
    }
    cost = lambda x: torch.logsumexp(x, dim=-1)  # noqa: E731  (couples the coordinates)
    counts = {
        name: cost_counting.evaluations_per_sample(
            name, cost, diagonal, params, 20, generator=torch.Generator().manual_seed(1)
        )
        for name in ("score_function", "pathwise", "measure_valued_coupled")
    }
    assert counts == {"score_function": 1, "pathwise": 1, "measure_valued_coupled": 4 * dim}
