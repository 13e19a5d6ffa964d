"""The score-function and pathwise Hessian estimators against exact Hessians of Gaussian costs.

Exact values by closed form (polynomial and cosine costs) and by Gauss-Hermite quadrature.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lecture9.estimators import hessian

Normal = torch.distributions.Normal
PAIRS = (("loc", "loc"), ("loc", "scale"), ("scale", "scale"))


def _params(loc, scale):
    return {
        "loc": torch.tensor(loc, dtype=torch.float64),
        "scale": torch.tensor(scale, dtype=torch.float64),
    }


def cosine_hessian(loc, scale):
    """Closed form: E[cos 2x] = cos(2 mu) exp(-2 sigma^2)."""
    e = math.exp(-2 * scale**2)
    return {
        ("loc", "loc"): -4 * math.cos(2 * loc) * e,
        ("loc", "scale"): 8 * scale * math.sin(2 * loc) * e,
        ("scale", "scale"): math.cos(2 * loc) * (16 * scale**2 - 4) * e,
    }


def quadrature_hessian(f2, loc, scale, num_nodes=80):
    """E[f''(x) (1, eps)(1, eps)^T] by Gauss-Hermite quadrature (the pathwise identity, exactly)."""
    z, w = np.polynomial.hermite_e.hermegauss(num_nodes)
    w = w / w.sum()
    d2 = f2(loc + scale * z)
    return {
        ("loc", "loc"): float(w @ d2),
        ("loc", "scale"): float(w @ (d2 * z)),
        ("scale", "scale"): float(w @ (d2 * z**2)),
    }


CASES = [
    ("cos(2x)", lambda x: torch.cos(2 * x), 0.5, 0.8, cosine_hessian(0.5, 0.8)),
    (
        "x^3",
        lambda x: x**3,
        0.7,
        1.2,
        {("loc", "loc"): 6 * 0.7, ("loc", "scale"): 6 * 1.2, ("scale", "scale"): 6 * 0.7},
    ),
    (
        "sigmoid(2x)",
        lambda x: torch.sigmoid(2 * x),
        0.3,
        0.9,
        quadrature_hessian(
            lambda x: 4 * (s := 1 / (1 + np.exp(-2 * x))) * (1 - s) * (1 - 2 * s), 0.3, 0.9
        ),
    ),
]


def test_quadrature_agrees_with_the_closed_form():
    exact = cosine_hessian(0.5, 0.8)
    quad = quadrature_hessian(lambda x: -4 * np.cos(2 * x), 0.5, 0.8)
    for pair in PAIRS:
        assert quad[pair] == pytest.approx(exact[pair], abs=1e-12)


@pytest.mark.parametrize(
    "estimator",
    [hessian.score_function_hessian, hessian.pathwise_hessian],
    ids=["score_function", "pathwise"],
)
@pytest.mark.parametrize("name, f, loc, scale, exact", CASES, ids=[c[0] for c in CASES])
def test_hessian_estimates_are_within_five_standard_errors(estimator, name, f, loc, scale, exact):
    num = 100_000
    h = estimator(f, Normal, _params(loc, scale), num, generator=torch.Generator().manual_seed(0))
    for pair in PAIRS:
        values = h[pair]
        assert values.shape == (num,)
        se = values.std().item() / math.sqrt(num)
        assert abs(values.mean().item() - exact[pair]) < 5 * se, (name, pair)
    assert torch.equal(h[("loc", "scale")], h[("scale", "loc")])


def test_batched_parameters_are_independent_problems():
    params = {
        "loc": torch.tensor([0.0, 1.0], dtype=torch.float64),
        "scale": torch.tensor(1.0, dtype=torch.float64),
    }
    h = hessian.pathwise_hessian(
        lambda x: x**3, Normal, params, 20_000, generator=torch.Generator().manual_seed(1)
    )
    assert h[("loc", "loc")].shape == (20_000, 2)
    means = h[("loc", "loc")].mean(0)
    ses = h[("loc", "loc")].std(0) / math.sqrt(20_000)
    assert torch.all(
        (means - torch.tensor([0.0, 6.0], dtype=torch.float64)).abs() < 5 * ses + 1e-12
    )


def test_same_seed_same_estimates():
    args = (lambda x: torch.cos(2 * x), Normal, _params(0.5, 0.8), 100)
    a = hessian.score_function_hessian(*args, generator=torch.Generator().manual_seed(3))
    b = hessian.score_function_hessian(*args, generator=torch.Generator().manual_seed(3))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_pathwise_refuses_a_step_function_and_non_reparameterizable_families():
    with pytest.raises(ValueError, match="step function"):
        hessian.pathwise_hessian(lambda x: (x > 0).double(), Normal, _params(0.0, 1.0), 10)
    with pytest.raises(TypeError, match="score_function_hessian"):
        hessian.pathwise_hessian(
            lambda x: x,
            torch.distributions.Poisson,
            {"rate": torch.tensor(2.0, dtype=torch.float64)},
            10,
        )


def test_score_function_handles_a_discrete_family():
    # E[x^2] under Poisson(rate) is rate + rate^2: second derivative 2
    h = hessian.score_function_hessian(
        lambda x: x**2,
        torch.distributions.Poisson,
        {"rate": torch.tensor(2.0, dtype=torch.float64)},
        200_000,
        generator=torch.Generator().manual_seed(4),
    )
    values = h[("rate", "rate")]
    assert abs(values.mean().item() - 2.0) < 5 * values.std().item() / math.sqrt(values.numel())


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"f": 3.0}, TypeError, "f"),
        ({"num_samples": 0}, ValueError, "num_samples"),
        ({"num_samples": 2.5}, TypeError, "num_samples"),
        ({"generator": 1}, TypeError, "generator"),
        ({"params": {"loc": torch.tensor(0.0), "scale": torch.tensor(-1.0)}}, ValueError, "scale"),
        ({"f": lambda x: x.sum()}, ValueError, "f\\(x\\)"),
        (
            {
                "distribution": lambda loc, scale: torch.distributions.Independent(
                    Normal(loc, scale), 1
                ),
                "params": {"loc": torch.zeros(3), "scale": torch.ones(3)},
            },
            ValueError,
            "univariate",
        ),
    ],
)
@pytest.mark.parametrize("estimator", [hessian.score_function_hessian, hessian.pathwise_hessian])
def test_invalid_arguments_raise_naming_the_argument(estimator, kwargs, error, match):
    call = {
        "f": lambda x: x**2,
        "distribution": Normal,
        "params": _params(0.0, 1.0),
        "num_samples": 10,
        "generator": None,
        **kwargs,
    }
    with pytest.raises(error, match=match):
        estimator(
            call["f"],
            call["distribution"],
            call["params"],
            call["num_samples"],
            generator=call["generator"],
        )
