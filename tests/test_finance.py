"""Black-Scholes Greeks by the pathwise and likelihood-ratio estimators against the closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import norm

from lecture9.studies import finance

MARKET = {"spot": 100.0, "strike": 100.0, "rate": 0.05, "volatility": 0.2, "maturity": 1.0}
ARGS = tuple(MARKET.values())


def _greeks(option, estimator, num=100_000, seed=0):
    return finance.monte_carlo_greeks(
        *ARGS,
        num,
        option=option,
        estimator=estimator,
        generator=torch.Generator().manual_seed(seed),
    )


def test_closed_forms_match_textbook_values_and_finite_differences():
    call = finance.black_scholes(*ARGS)
    assert float(call["price"]) == pytest.approx(10.4506, abs=1e-4)
    assert float(call["delta"]) == pytest.approx(0.6368, abs=1e-4)
    assert float(call["vega"]) == pytest.approx(37.524, abs=1e-3)
    for option in finance.OPTIONS:
        h = 1e-5
        up = finance.black_scholes(100.0 + h, *ARGS[1:], option=option)["price"]
        down = finance.black_scholes(100.0 - h, *ARGS[1:], option=option)["price"]
        assert (up - down) / (2 * h) == pytest.approx(
            finance.black_scholes(*ARGS, option=option)["delta"], rel=1e-6
        )
        up = finance.black_scholes(*ARGS[:3], 0.2 + h, 1.0, option=option)["price"]
        down = finance.black_scholes(*ARGS[:3], 0.2 - h, 1.0, option=option)["price"]
        assert (up - down) / (2 * h) == pytest.approx(
            finance.black_scholes(*ARGS, option=option)["vega"], rel=1e-6
        )


def test_digital_closed_form():
    d2 = (math.log(1.0) + (0.05 - 0.02) * 1.0) / 0.2
    assert float(finance.black_scholes(*ARGS, option="digital")["price"]) == pytest.approx(
        math.exp(-0.05) * norm.cdf(d2)
    )


@pytest.mark.parametrize(
    "option, estimator",
    [("call", "pathwise"), ("call", "score_function"), ("digital", "score_function")],
)
def test_monte_carlo_greeks_are_within_five_standard_errors(option, estimator):
    exact = finance.black_scholes(*ARGS, option=option)
    for name, (mean, se, _) in finance.greeks_summary(_greeks(option, estimator)).items():
        assert abs(mean - float(exact[name])) < 5 * se, (option, estimator, name)


def test_pathwise_has_the_lower_variance_for_the_call():
    pathwise = finance.greeks_summary(_greeks("call", "pathwise"))
    score = finance.greeks_summary(_greeks("call", "score_function"))
    for name in ("delta", "vega"):
        assert pathwise[name][2] < score[name][2] / 3


def test_pathwise_refuses_the_digital_option():
    with pytest.raises(ValueError, match="score_function"):
        _greeks("digital", "pathwise", num=100)


def test_vectorised_over_spots():
    spots = torch.linspace(80.0, 120.0, 5, dtype=torch.float64)
    greeks = finance.monte_carlo_greeks(
        spots, *ARGS[1:], 50_000, generator=torch.Generator().manual_seed(2)
    )
    exact = finance.black_scholes(spots, *ARGS[1:])
    assert greeks["delta"].shape == (50_000, 5)
    se = greeks["delta"].std(0) / math.sqrt(50_000)
    assert np.all(np.abs(greeks["delta"].mean(0).numpy() - exact["delta"]) < 5 * se.numpy())


def test_same_seed_same_samples():
    a, b = (
        _greeks("call", "score_function", num=100, seed=5),
        _greeks("call", "score_function", num=100, seed=5),
    )
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(
    "change, error, match",
    [
        ({"spot": -1.0}, ValueError, "spot"),
        ({"strike": 0.0}, ValueError, "strike"),
        ({"volatility": float("nan")}, ValueError, "volatility"),
        ({"maturity": "1"}, TypeError, "maturity"),
        ({"rate": float("inf")}, ValueError, "rate"),
        ({"num_samples": 0}, ValueError, "num_samples"),
        ({"option": "put"}, ValueError, "option"),
        ({"estimator": "finite_difference"}, ValueError, "estimator"),
        ({"generator": 0}, TypeError, "generator"),
        ({"spot": torch.ones(2, 2)}, ValueError, "spot"),
    ],
)
def test_invalid_arguments_name_the_argument(change, error, match):
    call = {
        **MARKET,
        "num_samples": 10,
        "option": "call",
        "estimator": "pathwise",
        "generator": None,
        **change,
    }
    with pytest.raises(error, match=match):
        finance.monte_carlo_greeks(
            call["spot"],
            call["strike"],
            call["rate"],
            call["volatility"],
            call["maturity"],
            call["num_samples"],
            option=call["option"],
            estimator=call["estimator"],
            generator=call["generator"],
        )


def test_summary_rejects_batched_samples():
    with pytest.raises(TypeError, match="samples"):
        finance.greeks_summary({"delta": torch.zeros(3, 2)})
