"""Tests of lecture9.studies.comparison against closed forms (Mohamed et al. 2020, Sec. 3, quadratic cost)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lecture9.studies import comparison

LOC, SCALE = 1.0, 1.5
QUADRATIC = lambda x, k: (x - k) ** 2  # noqa: E731
NAMES = ("score_function", "pathwise", "measure_valued_coupled")


def _closed_form(k):
    """Single-sample variances of the three estimators of the gradient of E[(x - k)^2], x ~ N(LOC, SCALE^2)."""
    a, s2 = LOC - k, SCALE**2
    return {
        "loc": {
            "score_function": a**4 / s2 + 14 * a**2 + 15 * s2,
            "pathwise": 4 * s2,
            "measure_valued_coupled": 4 * (4 - math.pi) / math.pi * a**2,
        },
        "scale": {"pathwise": 8 * s2 + 4 * a**2, "measure_valued_coupled": 4 * s2 + 4 * a**2},
    }


def test_exact_table_is_the_closed_form():
    ks = np.array([-2.0, 0.0, 1.0, 2.5])
    table = comparison.exact_variance_table(QUADRATIC, ks, LOC, SCALE, NAMES)
    for i, k in enumerate(ks):
        for param, row in _closed_form(k).items():
            for name, value in row.items():
                assert table[param][name][i] == pytest.approx(value, rel=1e-8, abs=1e-9), (
                    param,
                    name,
                    k,
                )


def test_mc_table_is_within_five_standard_errors_of_the_exact_one():
    ks = [-1.0, 2.0]
    exact = comparison.exact_variance_table(QUADRATIC, ks, LOC, SCALE, NAMES)
    mc, se = comparison.mc_variance_table(
        QUADRATIC,
        ks,
        LOC,
        SCALE,
        NAMES,
        num_samples=20_000,
        generator=torch.Generator().manual_seed(0),
    )
    for param in comparison.PARAMS:
        for name in NAMES:
            keep = exact[param][name] > 1e-9
            z = np.abs(mc[param][name] - exact[param][name])[keep] / se[param][name][keep]
            assert (z < 5).all(), (param, name, z)
    gaps = comparison.variance_gaps(mc, se, exact)
    assert (
        gaps["count"] == 12
        and gaps["max_standard_errors"] < 5
        and gaps["median_relative_gap"] < 0.1
    )


def test_standard_error_of_a_gaussian_variance():
    """For Gaussian per-sample estimates (pathwise, quadratic cost), SE[s^2] = sigma_g^2 sqrt(2 / N)."""
    n = 40_000
    mc, se = comparison.mc_variance_table(
        QUADRATIC,
        [0.0],
        LOC,
        SCALE,
        ["pathwise"],
        num_samples=n,
        generator=torch.Generator().manual_seed(1),
    )
    assert se["loc"]["pathwise"][0] == pytest.approx(4 * SCALE**2 * math.sqrt(2 / n), rel=0.05)


def test_crossing_points_of_pathwise_and_coupled_measure_valued():
    ks = np.linspace(-4.0, 6.0, 401)
    exact = comparison.exact_variance_table(
        QUADRATIC, ks, LOC, SCALE, ("pathwise", "measure_valued_coupled")
    )
    got = comparison.crossing_points(
        ks, exact["loc"]["pathwise"], exact["loc"]["measure_valued_coupled"]
    )
    half_width = SCALE * math.sqrt(math.pi / (4 - math.pi))
    np.testing.assert_allclose(got, [LOC - half_width, LOC + half_width], atol=1e-3)
    assert comparison.crossing_points([0.0, 1.0], [1.0, 2.0], [3.0, 4.0]) == []


def test_variance_gaps_skip_exact_zeros():
    exact = {"loc": {"a": np.array([0.0, 2.0])}}
    mc = {"loc": {"a": np.array([0.1, 2.2])}}
    se = {"loc": {"a": np.array([0.1, 0.1])}}
    gaps = comparison.variance_gaps(mc, se, exact)
    assert gaps == {
        "count": 1,
        "median_relative_gap": pytest.approx(0.1),
        "max_standard_errors": pytest.approx(2.0),
    }


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="estimators must be"):
        comparison.exact_variance_table(QUADRATIC, [0.0], LOC, SCALE, ["sf"])
    with pytest.raises(ValueError, match="ks must be"):
        comparison.exact_variance_table(QUADRATIC, [], LOC, SCALE, NAMES)
    with pytest.raises(ValueError, match="num_samples must be an integer >= 2"):
        comparison.mc_variance_table(QUADRATIC, [0.0], LOC, SCALE, NAMES, num_samples=1)
    with pytest.raises(ValueError, match="same length"):
        comparison.crossing_points([0.0, 1.0], [1.0], [2.0, 3.0])
    with pytest.raises(ValueError, match="no entry to compare"):
        comparison.variance_gaps(
            {"loc": {"a": [1.0]}}, {"loc": {"a": [1.0]}}, {"loc": {"a": [0.0]}}
        )
