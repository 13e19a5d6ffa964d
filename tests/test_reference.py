"""Tests for lecture9.reference: the quadrature truth against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import exact_quadratic_grad, quadratic

from lecture9 import reference

LOC, SCALE = 1.0, 1.0
DTYPE = torch.float64
Bernoulli = torch.distributions.Bernoulli


def gaussian_exp_closed_form(k, loc, scale):
    """E[exp(-k X^2)], X ~ N(loc, scale^2), as a torch expression (differentiable in loc, scale)."""
    a = 1 + 2 * k * scale**2
    return torch.exp(-k * loc**2 / a) / torch.sqrt(a)


def gaussian_cos_closed_form(k, loc, scale):
    """E[cos(k X)] = cos(k loc) exp(-k^2 scale^2 / 2)."""
    return torch.cos(k * loc) * torch.exp(-0.5 * k**2 * scale**2)


@pytest.mark.parametrize("estimator", reference.ESTIMATORS)
@pytest.mark.parametrize("param", reference.PARAMS)
@pytest.mark.parametrize("k", [-3.0, -1.0, 0.0, 1.0, 2.5, 3.0])
def test_gauss_quadrature_matches_closed_form_for_quadratic_cost(estimator, param, k):
    mean, var = reference.estimator_moments(estimator, quadratic(k), LOC, SCALE, param)
    expected_mean = 2 * (LOC - k) if param == "loc" else 2 * SCALE
    assert mean == pytest.approx(expected_mean, abs=1e-9)
    assert var == pytest.approx(
        reference.quadratic_variance(estimator, k, LOC, SCALE, param), rel=1e-9, abs=1e-9
    )


@pytest.mark.parametrize("estimator", reference.ESTIMATORS)
@pytest.mark.parametrize("param", reference.PARAMS)
def test_gauss_quadrature_matches_closed_form_at_other_loc_and_scale(estimator, param):
    loc, scale, k = -0.7, 1.9, 0.4
    _, var = reference.estimator_moments(estimator, quadratic(k), loc, scale, param)
    assert var == pytest.approx(
        reference.quadratic_variance(estimator, k, loc, scale, param), rel=1e-9
    )


@pytest.mark.parametrize("estimator", reference.ESTIMATORS)
@pytest.mark.parametrize("param", reference.PARAMS)
def test_adaptive_quad_matches_closed_form(estimator, param):
    mean, var = reference.estimator_moments(
        estimator, quadratic(3.0), LOC, SCALE, param, method="quad"
    )
    assert mean == pytest.approx(-4.0 if param == "loc" else 2.0, abs=1e-7)
    assert var == pytest.approx(
        reference.quadratic_variance(estimator, 3.0, LOC, SCALE, param), rel=1e-7
    )


@pytest.mark.parametrize(
    ("estimator", "param", "f"),
    [
        ("score_function", "scale", lambda x: torch.exp(-10.0 * x**2)),
        ("pathwise", "loc", lambda x: torch.exp(-10.0 * x**2)),
        ("measure_valued_coupled", "loc", lambda x: torch.cos(5.0 * x)),
        ("measure_valued", "scale", lambda x: torch.cos(1.58 * x)),
        ("score_function_optimal_baseline", "loc", lambda x: torch.cos(5.0 * x)),
    ],
)
def test_gauss_and_adaptive_quadrature_agree_for_figure3_costs(estimator, param, f):
    gauss = reference.estimator_moments(estimator, f, LOC, SCALE, param)
    quad = reference.estimator_moments(estimator, f, LOC, SCALE, param, method="quad")
    assert gauss == pytest.approx(quad, rel=1e-6, abs=1e-10)


def test_quadratic_variance_is_vectorised_over_k():
    ks = np.linspace(-3, 3, 7)
    values = reference.quadratic_variance("score_function", ks, 1.0, 1.0, "loc")
    assert values.shape == (7,)
    assert values == pytest.approx(
        [reference.quadratic_variance("score_function", k, 1.0, 1.0, "loc") for k in ks]
    )


@pytest.mark.parametrize(
    ("closed_form", "cost", "k"),
    [
        (gaussian_exp_closed_form, lambda k: lambda x: torch.exp(-k * x**2), k)
        for k in (0.1, 1.0, 10.0)
    ]
    + [
        (gaussian_cos_closed_form, lambda k: lambda x: torch.cos(k * x), k)
        for k in (0.5, 1.58, 5.0)
    ],
)
def test_gaussian_expectation_and_gradient_against_closed_forms(closed_form, cost, k):
    """E[exp(-k x^2)] and E[cos(k x)] in closed form; their gradients by autograd of the closed form."""
    loc = torch.tensor(LOC, dtype=torch.float64, requires_grad=True)
    scale = torch.tensor(SCALE, dtype=torch.float64, requires_grad=True)
    truth = closed_form(k, loc, scale)
    d_loc, d_scale = torch.autograd.grad(truth, (loc, scale))
    f = cost(k)
    assert reference.gaussian_expectation(f, LOC, SCALE) == pytest.approx(
        truth.item(), rel=1e-10, abs=1e-14
    )
    grad = reference.exact_gradient(f, LOC, SCALE)
    assert grad["loc"] == pytest.approx(float(d_loc), rel=1e-8, abs=1e-13)
    assert grad["scale"] == pytest.approx(float(d_scale), rel=1e-8, abs=1e-13)


@pytest.mark.parametrize("estimator", reference.ESTIMATORS)
@pytest.mark.parametrize("param", reference.PARAMS)
@pytest.mark.parametrize(
    "f",
    [
        lambda x: torch.exp(-0.1 * x**2),
        lambda x: torch.exp(-10.0 * x**2),
        lambda x: torch.cos(0.5 * x),
        lambda x: torch.cos(5.0 * x),
    ],
)
def test_every_estimator_is_unbiased_in_exact_arithmetic(estimator, param, f):
    mean, var = reference.estimator_moments(estimator, f, LOC, SCALE, param)
    assert mean == pytest.approx(
        reference.exact_gradient(f, LOC, SCALE)[param], rel=1e-8, abs=1e-12
    )
    assert var >= -1e-12


def test_optimal_baseline_never_increases_the_variance():
    for k in np.linspace(-3, 3, 13):
        for param in reference.PARAMS:
            _, plain = reference.estimator_moments(
                "score_function", quadratic(k), LOC, SCALE, param
            )
            _, best = reference.estimator_moments(
                "score_function_optimal_baseline", quadratic(k), LOC, SCALE, param
            )
            assert best <= plain + 1e-9


def test_errors():
    f = quadratic(0.0)
    with pytest.raises(ValueError, match="estimator must be one of"):
        reference.estimator_moments("reinforce", f, 1.0, 1.0, "loc")
    with pytest.raises(ValueError, match="param must be"):
        reference.estimator_moments("pathwise", f, 1.0, 1.0, "mu")
    with pytest.raises(ValueError, match="method must be"):
        reference.estimator_moments("pathwise", f, 1.0, 1.0, "loc", method="mc")
    with pytest.raises(ValueError, match="scale"):
        reference.gaussian_expectation(f, 0.0, 0.0)
    with pytest.raises(ValueError, match="scale"):
        reference.exact_gradient(f, 0.0, -1.0)
    with pytest.raises(ValueError, match="scale"):
        reference.quadratic_variance("pathwise", 0.0, 1.0, -2.0, "loc")
    with pytest.raises(ValueError, match="estimator must be one of"):
        reference.quadratic_variance("reinforce", 0.0)
    with pytest.raises(TypeError, match="callable"):
        reference.gaussian_expectation(3.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="elementwise"):
        reference.gaussian_expectation(lambda x: x[:3], 0.0, 1.0)


def test_constant_cost_has_zero_gradient():
    f = lambda x: torch.full_like(x, 2.5)  # noqa: E731
    assert reference.gaussian_expectation(f, 0.3, 2.0) == pytest.approx(2.5)
    assert reference.exact_gradient(f, 0.3, 2.0) == pytest.approx(
        {"loc": 0.0, "scale": 0.0}, abs=1e-12
    )
    assert reference.estimator_moments("pathwise", f, 0.3, 2.0, "scale") == pytest.approx(
        (0.0, 0.0), abs=1e-12
    )
    # the score function pays for a constant cost: variance c^2 E[s^2] = 2.5^2 / scale^2
    assert reference.estimator_moments("score_function", f, 0.3, 2.0, "loc")[1] == pytest.approx(
        2.5**2 / 4
    )
    assert math.isclose(
        reference.estimator_moments("score_function_optimal_baseline", f, 0.3, 2.0, "loc")[1],
        0.0,
        abs_tol=1e-10,
    )


# ---------------------------------------------------------------------------
# Exact score-function moments (with baselines)
# ---------------------------------------------------------------------------


TARGET = 0.45
THETA = math.log(0.3 / 0.7)  # p = sigmoid(theta) = 0.3


def toy(b):
    return (b - TARGET) ** 2


@pytest.mark.parametrize("loc, scale, k", [(1.0, 1.0, 3.0), (1.0, 1.0, -3.0), (0.5, 2.0, 0.0)])
def test_exact_optimal_baseline_matches_closed_form(loc, scale, k):
    d = loc - k
    b = reference.exact_optimal_baseline(quadratic(k), loc, scale)
    assert b["loc"] == pytest.approx(3 * scale**2 + d**2, rel=1e-9)
    assert b["scale"] == pytest.approx(5 * scale**2 + d**2, rel=1e-9)
    for param in ("loc", "scale"):
        m = reference.gaussian_score_function_moments(quadratic(k), loc, scale, param)
        assert m.grad == pytest.approx(exact_quadratic_grad(k, loc, scale)[param], rel=1e-9)
        # b* minimises the variance over constants, and equals reference's optimal-baseline variance
        for delta in (-1.0, 1.0):
            assert m.variance(m.optimal_baseline + delta) > m.optimal_variance
        _, var_ref = reference.estimator_moments(
            "score_function_optimal_baseline", quadratic(k), loc, scale, param
        )
        assert m.optimal_variance == pytest.approx(float(var_ref), rel=1e-6)
        _, var_plain = reference.estimator_moments(
            "score_function", quadratic(k), loc, scale, param
        )
        assert m.variance() == pytest.approx(float(var_plain), rel=1e-6)


def test_toy_moments_by_enumeration_match_closed_forms():
    m = reference.discrete_score_function_moments(
        toy, Bernoulli, {"logits": torch.tensor(THETA, dtype=DTYPE)}, "logits"
    )
    p, t = 0.3, TARGET
    assert m.grad == pytest.approx(p * (1 - p) * (1 - 2 * t), rel=1e-12)
    var_plain = p * (1 - p) ** 2 * (1 - t) ** 4 + (1 - p) * p**2 * t**4 - m.grad**2
    assert m.variance() == pytest.approx(var_plain, rel=1e-12)
    assert m.optimal_baseline == pytest.approx((1 - p) * (1 - t) ** 2 + p * t**2, rel=1e-12)
    assert m.optimal_variance == pytest.approx(
        0.0, abs=1e-15
    )  # two outcomes: b* makes the estimator exact
    # baseline E[f] (what a moving average tracks): Var = (1 - 2t)^2 p (1 - p) (1 - 2p)^2
    assert m.variance(m.mean_f) == pytest.approx(
        (1 - 2 * t) ** 2 * p * (1 - p) * (1 - 2 * p) ** 2, rel=1e-12
    )


def test_discrete_moments_batched_equal_scalar():
    thetas = torch.tensor([-2.0, 0.0, 1.5], dtype=DTYPE)
    batched = reference.discrete_score_function_moments(
        toy, Bernoulli, {"logits": thetas}, "logits"
    )
    for i, theta in enumerate(thetas):
        scalar = reference.discrete_score_function_moments(
            toy, Bernoulli, {"logits": theta}, "logits"
        )
        for field in ("mean_f", "mean_f2", "grad", "mean_s2", "mean_f_s2", "mean_f2_s2"):
            assert float(getattr(batched, field)[i]) == pytest.approx(
                getattr(scalar, field), rel=1e-12
            )
        assert float(batched.rloo_variance(3)[i]) == pytest.approx(
            scalar.rloo_variance(3), rel=1e-12
        )
    with pytest.raises(ValueError, match="one scalar parameter per problem"):
        reference.discrete_score_function_moments(
            lambda c: c.double(),
            torch.distributions.Categorical,
            {"logits": torch.zeros(3)},
            "logits",
        )


def test_param_errors_of_the_moments():
    with pytest.raises(ValueError, match="param must be"):
        reference.gaussian_score_function_moments(quadratic(0.0), 1.0, 1.0, "rate")


def test_bad_input_is_named():
    f = quadratic(0.0)
    x = torch.zeros(3, dtype=DTYPE)
    for scale in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="scale"):
            reference.gaussian_scores(x, 0.0, scale)
    with pytest.raises(TypeError, match="num_nodes"):
        reference.gaussian_expectation(f, 0.0, 1.0, num_nodes=1.7)
    with pytest.raises(TypeError, match="num_nodes"):
        reference.estimator_moments("pathwise", f, 0.0, 1.0, "loc", num_nodes="abc")
    with pytest.raises(ValueError, match="num_nodes must be at most"):
        reference.gaussian_expectation(f, 0.0, 1.0, num_nodes=10**8)
    with pytest.raises(ValueError, match="num_nodes must be an integer >= 1"):
        reference.exact_gradient(f, 0.0, 1.0, num_nodes=0)
    with pytest.raises(ValueError, match="f\\(x\\) must be finite"):
        reference.gaussian_expectation(lambda x: torch.where(x > 0, torch.nan, x), 0.0, 1.0)


# --------------------------------------------------------------------------- NaN and bad types


@pytest.mark.parametrize(
    "call, error, name",
    [
        (
            lambda: reference.gaussian_scores(torch.tensor([float("nan")]), 0.0, 1.0),
            ValueError,
            "x must be finite",
        ),
        (lambda: reference.gaussian_scores(torch.zeros(2), "x", 1.0), TypeError, "loc"),
        (
            lambda: reference.quadratic_variance("pathwise", float("nan")),
            ValueError,
            "k and loc must be finite",
        ),
        (
            lambda: reference.discrete_score_function_moments(
                lambda x: x,
                torch.distributions.Bernoulli,
                {"probs": torch.tensor(float("nan"))},
                "probs",
            ),
            ValueError,
            "probs",
        ),
    ],
)
def test_non_finite_or_mistyped_input_is_named(call, error, name):
    with pytest.raises(error, match=name):
        call()
