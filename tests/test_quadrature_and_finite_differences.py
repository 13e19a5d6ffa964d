"""Tests of lecture9.quadrature and lecture9.studies.finite_differences against closed forms."""

import math

import pytest
import torch

from lecture9 import quadrature
from lecture9.studies import finite_differences as fd


def test_midpoint_rule_integrates_the_test_function_and_converges():
    for dim in (1, 2, 3):
        estimate, n = quadrature.product_midpoint_rule(quadrature.cosine_of_scaled_sum, dim, 16)
        assert n == 16**dim
        assert abs(estimate - quadrature.COSINE_OF_SCALED_SUM_MEAN) < 0.02
    evaluations, errors = quadrature.midpoint_rule_errors(
        quadrature.cosine_of_scaled_sum,
        quadrature.COSINE_OF_SCALED_SUM_MEAN,
        1,
        max_evaluations=128,
    )
    assert evaluations == [2, 4, 8, 16, 32, 64, 128]
    assert errors[-1] < errors[0] / 10


def test_the_test_function_has_the_stated_mean_and_sd_in_any_dimension():
    x = torch.randn(200_000, 7, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    f = quadrature.cosine_of_scaled_sum(x)
    assert abs(
        f.mean().item() - quadrature.COSINE_OF_SCALED_SUM_MEAN
    ) < 5 * f.std().item() / math.sqrt(len(f))
    assert abs(f.std().item() - quadrature.COSINE_OF_SCALED_SUM_SD) < 0.005


def test_midpoint_rule_rejects_a_grid_too_large():
    with pytest.raises(ValueError, match="too many"):
        quadrature.product_midpoint_rule(quadrature.cosine_of_scaled_sum, 10, 10)


def test_independent_central_difference_is_unbiased_with_variance_growing_like_one_over_h_squared():
    # f = x^2 under N(m, 1): F(m) = m^2 + 1, dF/dm = 2m; Var[f(x)] = 4 m^2 + 2
    for h in (0.5, 0.05):
        d = fd.independent_central_difference(
            lambda x: x**2,
            1.0,
            1.0,
            h,
            100,
            num_estimates=4000,
            generator=torch.Generator().manual_seed(1),
        )
        variance = (
            ((4 * (1 + h) ** 2 + 2) + (4 * (1 - h) ** 2 + 2)) / 100 / (4 * h**2)
        )  # two independent means
        assert abs(d.mean().item() - 2.0) < 5 * math.sqrt(variance / 4000)
        assert abs(d.var().item() - variance) < 5 * variance * math.sqrt(2 / 4000)


def test_forward_difference_has_bias_h_for_a_quadratic():
    d = fd.forward_difference(
        lambda x: x**2, 1.0, 1.0, 0.3, 100_000, generator=torch.Generator().manual_seed(2)
    )
    assert abs(d.mean().item() - 2.3) < 5 * d.std().item() / math.sqrt(len(d))
    with pytest.raises(ValueError, match="h"):
        fd.forward_difference(lambda x: x, 0.0, 1.0, 0.0, 10)


@pytest.mark.parametrize(
    "kwargs, err, name",
    [({"dim": 1.5}, TypeError, "dim"), ({"nodes_per_dim": 0}, ValueError, "nodes_per_dim")],
)
def test_product_midpoint_rule_names_a_bad_count(kwargs, err, name):
    args = {"dim": 2, "nodes_per_dim": 3, **kwargs}
    with pytest.raises(err, match=name):
        quadrature.product_midpoint_rule(
            quadrature.cosine_of_scaled_sum, args["dim"], args["nodes_per_dim"]
        )
