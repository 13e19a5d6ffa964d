"""The discrete estimators on categorical families, against exact enumeration and quadrature."""

from __future__ import annotations

import math

import pytest
import torch

from lecture9 import enumeration, estimators
from lecture9.baselines import leave_one_out_baseline

D = torch.distributions
DTYPE = torch.float64


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def logits_of(k: int, *batch: int) -> torch.Tensor:
    return torch.linspace(-1.0, 1.2, k, dtype=DTYPE).expand(*batch, k) * torch.linspace(
        0.5, 1.5, math.prod(batch) or 1, dtype=DTYPE
    ).reshape(*batch, 1)


def within(estimates: torch.Tensor, exact: torch.Tensor, z: float = 5.0) -> None:
    mean = estimates.mean(0)
    se = estimates.std(0) / math.sqrt(len(estimates))
    assert bool(((mean - exact).abs() <= z * se + 1e-9).all()), (mean, exact, se)


def one_hot_cost(k: int):
    weights = torch.linspace(-1.0, 2.0, k, dtype=DTYPE) ** 2
    return lambda x: (x * weights).sum(-1) ** 2  # nonlinear in the one-hot vector under relaxation


def independent_one_hot(logits):
    return D.Independent(D.OneHotCategorical(logits=logits), 1)


@pytest.mark.parametrize("k", [2, 4, 8])
def test_score_function_with_leave_one_out_is_unbiased_on_one_hot_categoricals(k):
    f, params = one_hot_cost(k), {"logits": logits_of(k)}
    grads = estimators.score_function_grad(
        f, D.OneHotCategorical, params, 20_000, baseline=leave_one_out_baseline, generator=gen(k)
    )
    _, exact = enumeration.enumerated_gradient(f, D.OneHotCategorical, params)
    within(grads["logits"], exact["logits"])


@pytest.mark.parametrize("k", [2, 4, 8])
def test_score_function_is_unbiased_on_index_categoricals(k):
    values = torch.linspace(0.0, 3.0, k, dtype=DTYPE)
    f, params = (lambda i: values[i] ** 2), {"logits": logits_of(k)}
    grads = estimators.score_function_grad(f, D.Categorical, params, 20_000, generator=gen(10 + k))
    _, exact = enumeration.enumerated_gradient(f, D.Categorical, params)
    within(grads["logits"], exact["logits"])


def test_score_function_is_unbiased_on_independent_one_hot_categoricals():
    k, f = 4, one_hot_cost(4)
    cost = lambda x: f(x).sum(-1)  # noqa: E731  three categorical variables, one cost
    params = {"logits": logits_of(k, 3)}
    grads = estimators.score_function_grad(
        cost,
        independent_one_hot,
        params,
        20_000,
        baseline=leave_one_out_baseline,
        generator=gen(20),
    )
    _, exact = enumeration.enumerated_gradient(cost, independent_one_hot, params)
    assert exact["logits"].shape == (3, k)
    within(grads["logits"], exact["logits"])


@pytest.mark.parametrize("name", ["gumbel_softmax", "straight_through"])
@pytest.mark.parametrize("tau", [0.3, 1.0])
def test_two_categories_match_the_exact_binary_moments(name, tau):
    # K = 2: z_1 = sigmoid((l_1 - l_0 + L) / tau) with L logistic, the binary Concrete of logit l_1 - l_0
    g = lambda y: (y - 0.3) ** 2  # noqa: E731
    logits = torch.tensor([0.2, -0.4], dtype=DTYPE)
    spec = estimators.get(name)
    grads = spec.grad(
        lambda x: g(x[..., 1]),
        D.OneHotCategorical,
        {"logits": logits},
        40_000,
        temperature=tau,
        generator=gen(30),
    )["logits"]
    mean, variance = enumeration.relaxed_bernoulli_moments(
        g, float(logits[1] - logits[0]), tau, name
    )
    within(grads[:, 1:], torch.tensor([mean], dtype=DTYPE))
    assert torch.allclose(grads[:, 0], -grads[:, 1])
    squares = (grads[:, 1] - grads[:, 1].mean()) ** 2
    assert abs(float(squares.mean()) - variance) <= 5 * float(squares.std()) / math.sqrt(
        len(squares)
    )


@pytest.mark.parametrize("k", [2, 4, 8])
def test_gumbel_softmax_is_the_pathwise_gradient_of_the_relaxed_family(k):
    f, params, tau = one_hot_cost(k), {"logits": logits_of(k)}, 0.5

    def relaxed(logits):
        return D.RelaxedOneHotCategorical(torch.tensor(tau, dtype=DTYPE), logits=logits)

    ours = estimators.gumbel_softmax_grad(
        f, D.OneHotCategorical, params, 500, temperature=tau, generator=gen(40)
    )
    pathwise = estimators.pathwise_grad(f, relaxed, params, 500, generator=gen(40))
    torch.testing.assert_close(ours["logits"], pathwise["logits"])


@pytest.mark.parametrize("k", [2, 4, 8])
def test_straight_through_forward_is_an_exact_categorical_sample(k):
    f, params, seen = one_hot_cost(k), {"logits": logits_of(k, 3)}, []

    def cost(x):
        value = f(x).sum(-1)
        seen.append(value.detach())
        assert bool(((x.detach() == 0) | (x.detach() == 1)).all()) and bool(
            (x.detach().sum(-1) == 1).all()
        )
        return value

    grads = estimators.straight_through_grad(
        cost, independent_one_hot, params, 20_000, temperature=0.5, generator=gen(50 + k)
    )
    assert grads["logits"].shape == (20_000, 3, k) and bool(torch.isfinite(grads["logits"]).all())
    expectation, _ = enumeration.enumerated_gradient(
        lambda x: f(x).sum(-1), independent_one_hot, params
    )
    within(seen[0][:, None], expectation.reshape(1))


def test_relaxed_estimators_refuse_other_families_and_bad_temperatures():
    params = {"loc": torch.zeros(()), "scale": torch.ones(())}
    for name in estimators.names(temperature=True):
        with pytest.raises(TypeError, match="OneHotCategorical"):
            estimators.get(name).grad(lambda x: x, D.Normal, params, 10)
        with pytest.raises(ValueError, match="temperature"):
            estimators.get(name).grad(
                lambda x: x.sum(-1),
                D.OneHotCategorical,
                {"logits": torch.zeros(3)},
                10,
                temperature=0.0,
            )
