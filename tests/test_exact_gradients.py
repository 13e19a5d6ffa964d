"""Tests of the exact series and sums of lecture9.reference, and of the difference of exact expectations."""

import math

import pytest
from scipy import stats

from lecture9 import reference
from lecture9.studies import finite_differences


def test_finite_difference_of_the_expectation_of_a_quadratic():
    # E[(x - k)^2] = (mu - k)^2 + sigma^2: gradients 2 (mu - k) and 2 sigma
    grads = finite_differences.finite_difference_of_expectation(lambda x: (x - 2.0) ** 2, 1.0, 1.5)
    assert grads["loc"] == pytest.approx(-2.0, abs=1e-6)
    assert grads["scale"] == pytest.approx(3.0, abs=1e-6)


def test_poisson_series_against_the_derivative_of_the_tail_probability():
    # Pr(X >= 3) = 1 - e^-l (1 + l + l^2 / 2), derivative e^-l l^2 / 2
    rate = 2.5
    value = reference.poisson_rate_gradient(lambda j: (j >= 3).double(), rate)
    assert value == pytest.approx(math.exp(-rate) * rate**2 / 2, rel=1e-10)


def test_even_floor_gradient_against_a_difference_of_quadratures():
    def expectation(loc, scale=0.8):
        return sum(
            stats.norm.cdf(n + 1, loc, scale) - stats.norm.cdf(n, loc, scale)
            for n in range(-40, 41, 2)
        )

    h = 1e-5
    numerical = (expectation(0.3 + h) - expectation(0.3 - h)) / (2 * h)
    assert reference.even_floor_gradient(0.3, 0.8) == pytest.approx(numerical, abs=1e-7)
    assert reference.even_floor_gradient(8.3, 0.8) == pytest.approx(
        numerical, abs=1e-7
    )  # even shift: same
    assert reference.even_floor_gradient(7.3, 0.8) == pytest.approx(
        -numerical, abs=1e-7
    )  # odd shift: parity swaps


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="rate"):
        reference.poisson_rate_gradient(lambda j: j, -1.0)
    with pytest.raises(ValueError, match="scale"):
        reference.even_floor_gradient(0.0, 0.0)
