"""The estimators of chapter 10 on categorical variables, against exact moments.

For K = 2, 4, 8 categories (and ``Independent`` over 3 of them) the Monte Carlo mean and
variance of the Gumbel-softmax and straight-through Gumbel-softmax estimates match
:func:`lecture9.enumeration.relaxed_categorical_moments` within 5 standard errors, the
score function (plain and with the leave-one-out baseline) matches the exact gradient of
:func:`lecture9.enumeration.enumerated_gradient` (unbiased), its mean and variance (and
those of RLOO over two codes) match a sum over the codes (and pairs of codes), and the exact moments reduce
to the one-bit quadrature of :func:`lecture9.enumeration.relaxed_bernoulli_moments` at K = 2.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import distributions as D

from lecture9 import enumeration, estimators
from lecture9.baselines import LeaveOneOutBaseline, group_means

TARGET = 0.45
NUM_SAMPLES = 40_000
DTYPE = torch.float64


def problem(k: int):
    """Logits from 0 down to -1 and category values from 0 up to 1: at K = 2 the binary toy at theta = -1."""
    return -torch.linspace(0.0, 1.0, k, dtype=DTYPE), torch.linspace(0.0, 1.0, k, dtype=DTYPE)


def toy(values):
    """The categorical toy cost (v . z - t)^2 of a one-hot or relaxed sample z (categories last)."""
    return lambda z: ((z * values).sum(-1) - TARGET) ** 2


def assert_moments(grads: torch.Tensor, mean: torch.Tensor, variance: torch.Tensor, what: str):
    """Sample mean and variance of ``grads`` (n, *shape) within 5 standard errors of the exact values."""
    n = grads.shape[0]
    centred = grads - grads.mean(0)
    se_mean = grads.std(0) / math.sqrt(n)
    se_var = ((centred**4).mean(0) - grads.var(0) ** 2).clamp_min(0).sqrt() / math.sqrt(n)
    z_mean = ((grads.mean(0) - mean) / se_mean).abs().max()
    z_var = ((grads.var(0) - variance) / se_var).abs().max()
    assert z_mean < 5, f"{what}: mean {grads.mean(0)} vs exact {mean} ({z_mean:.1f} SE)"
    assert z_var < 5, f"{what}: variance {grads.var(0)} vs exact {variance} ({z_var:.1f} SE)"


@pytest.mark.parametrize("k", [2, 4, 8])
@pytest.mark.parametrize("estimator", ["gumbel_softmax", "straight_through"])
@pytest.mark.parametrize("tau", [0.2, 1.0])
def test_relaxed_estimators_match_the_exact_moments(k, estimator, tau):
    logits, values = problem(k)
    grad = estimators.get(estimator).grad
    g = grad(
        toy(values),
        D.OneHotCategorical,
        {"logits": logits},
        NUM_SAMPLES,
        temperature=tau,
        generator=torch.Generator().manual_seed(k),
    )["logits"]
    mean, variance = enumeration.relaxed_categorical_moments(logits, values, TARGET, tau, estimator)
    assert_moments(g, mean, variance, f"{estimator}, K = {k}, tau = {tau}")


@pytest.mark.parametrize("estimator", ["gumbel_softmax", "straight_through"])
def test_independent_over_three_variables(estimator):
    """A separable cost over 3 variables: each variable's gradient has its own variable's exact moments."""
    logits = torch.stack(
        [problem(4)[0], problem(4)[0] + 0.5, torch.tensor([1.0, -0.5, 0.0, 0.3], dtype=DTYPE)]
    )
    values = problem(4)[1]

    def cost(z):
        return (((z * values).sum(-1) - TARGET) ** 2).sum(-1)

    bits = lambda logits: D.Independent(D.OneHotCategorical(logits=logits), 1)  # noqa: E731
    g = estimators.get(estimator).grad(
        cost,
        bits,
        {"logits": logits},
        NUM_SAMPLES,
        temperature=0.5,
        generator=torch.Generator().manual_seed(3),
    )["logits"]
    assert g.shape == (NUM_SAMPLES, 3, 4)
    exact = [
        enumeration.relaxed_categorical_moments(row, values, TARGET, 0.5, estimator)
        for row in logits
    ]
    assert_moments(
        g, torch.stack([m for m, _ in exact]), torch.stack([v for _, v in exact]), estimator
    )


@pytest.mark.parametrize("k", [2, 4, 8])
@pytest.mark.parametrize("family", [D.OneHotCategorical, D.Categorical])
def test_score_function_with_rloo_is_unbiased(k, family):
    logits, values = problem(k)
    f = toy(values) if family is D.OneHotCategorical else lambda idx: (values[idx] - TARGET) ** 2
    _, exact = enumeration.enumerated_gradient(f, family, {"logits": logits})
    for baseline, group in ((None, 1), (LeaveOneOutBaseline(4), 4)):
        g = estimators.score_function_grad(
            f,
            family,
            {"logits": logits},
            4 * 20_000,
            baseline=baseline,
            generator=torch.Generator().manual_seed(k),
        )["logits"]
        g = group_means(g, group) if group > 1 else g
        z = ((g.mean(0) - exact["logits"]) / (g.std(0) / math.sqrt(len(g)))).abs().max()
        assert z < 5, (
            f"score function (group {group}), K = {k}: {g.mean(0)} vs exact {exact['logits']}"
        )


def test_score_function_with_rloo_is_unbiased_over_independent_variables():
    logits = torch.tensor([[0.0, -1.0, 0.5], [1.0, 0.0, -2.0], [0.3, 0.3, 0.0]], dtype=DTYPE)
    values = torch.tensor([0.0, 0.4, 1.0], dtype=DTYPE)

    def cost(z):  # couples the three variables
        return ((z * values).sum((-2, -1)) - 1.2) ** 2

    bits = lambda logits: D.Independent(D.OneHotCategorical(logits=logits), 1)  # noqa: E731
    _, exact = enumeration.enumerated_gradient(cost, bits, {"logits": logits})
    g = group_means(
        estimators.score_function_grad(
            cost,
            bits,
            {"logits": logits},
            2 * 40_000,
            baseline=LeaveOneOutBaseline(2),
            generator=torch.Generator().manual_seed(5),
        )["logits"],
        2,
    )
    z = ((g.mean(0) - exact["logits"]) / (g.std(0) / math.sqrt(len(g)))).abs().max()
    assert z < 5, (g.mean(0), exact["logits"])


def exact_score_moments(cost, logits: torch.Tensor):
    r"""Exact mean and variance of the plain score function and of RLOO over K = 2 codes, by enumeration.

    ``logits`` (V, C): V independent categorical variables; the codes are the C**V one-hot
    tensors, the RLOO pairs the (C**V)**2 pairs of codes,
    :math:`\hat\eta = \tfrac12 (f(b_1) - f(b_2))(s(b_1) - s(b_2))` with the score
    :math:`s(b) = b - \operatorname{softmax}(\ell)`.
    """
    v, c = logits.shape
    index = torch.cartesian_prod(*[torch.arange(c)] * v).reshape(-1, v)
    codes = torch.nn.functional.one_hot(index, c).to(DTYPE)  # (C^V, V, C)
    probs = (codes * logits.softmax(-1)).sum(-1).prod(-1)  # (C^V,)
    scores = codes - logits.softmax(-1)
    f = cost(codes)
    plain = f[:, None, None] * scores
    pair = 0.5 * (f[:, None] - f[None, :])[..., None, None] * (scores[:, None] - scores[None, :])
    pair_probs = probs[:, None] * probs[None, :]

    def moments(values, weights):
        w = weights.reshape(weights.shape + (1, 1))
        mean = (w * values).sum(tuple(range(weights.dim())))
        return mean, (w * (values - mean) ** 2).sum(tuple(range(weights.dim())))

    return moments(plain, probs), moments(pair, pair_probs)


@pytest.mark.parametrize("k", [2, 4, 8, "independent"])
def test_score_function_and_rloo_match_the_exact_mean_and_variance(k):
    """Plain score function and RLOO (K = 2 codes): mean and variance within 5 SE of enumeration."""
    if k == "independent":  # three coupled variables of 4 categories
        logits = torch.tensor([[0.0, -1.0, 0.5, 0.2], [1.0, 0.0, -2.0, 0.4], [0.3, 0.3, 0.0, -0.5]])
        values = torch.tensor([0.0, 0.4, 1.0, 0.7], dtype=DTYPE)
        logits = logits.to(DTYPE)

        def cost(z):
            return ((z * values).sum((-2, -1)) - 1.2) ** 2

        family = lambda logits: D.Independent(D.OneHotCategorical(logits=logits), 1)  # noqa: E731
    else:
        logits, values = problem(k)
        cost, family = toy(values), D.OneHotCategorical
    (mean_sf, var_sf), (mean_rloo, var_rloo) = exact_score_moments(
        cost if k == "independent" else (lambda z: cost(z).sum(-1)),
        logits.reshape(-1, logits.shape[-1]),
    )
    shape = logits.shape
    _, exact = enumeration.enumerated_gradient(cost, family, {"logits": logits})
    torch.testing.assert_close(mean_sf.reshape(shape), exact["logits"])
    torch.testing.assert_close(mean_rloo.reshape(shape), exact["logits"])
    for baseline, group, mean, variance in (
        (None, 1, mean_sf, var_sf),
        (LeaveOneOutBaseline(2), 2, mean_rloo, var_rloo),
    ):
        g = estimators.score_function_grad(
            cost,
            family,
            {"logits": logits},
            group * NUM_SAMPLES,
            baseline=baseline,
            generator=torch.Generator().manual_seed(60 + group),
        )["logits"]
        g = group_means(g, group) if group > 1 else g
        assert_moments(
            g,
            mean.reshape(shape),
            variance.reshape(shape),
            f"score function (group {group}), K = {k}",
        )


@pytest.mark.parametrize("estimator", ["gumbel_softmax", "straight_through"])
@pytest.mark.parametrize("tau", [0.05, 0.5, 5.0])
def test_two_categories_are_one_bit(estimator, tau):
    """K = 2, v = (0, 1): the binary toy at logit -1, whose moments come from one-dimensional quadrature."""
    mean, variance = enumeration.relaxed_categorical_moments(*problem(2), TARGET, tau, estimator)
    mean_bit, variance_bit = enumeration.relaxed_bernoulli_moments(
        lambda b: (b - TARGET) ** 2, -1.0, tau, estimator
    )
    assert float(mean[1]) == pytest.approx(mean_bit, rel=2e-3, abs=1e-7)
    assert float(variance[1]) == pytest.approx(variance_bit, rel=2e-3)
    assert float(mean[0]) == pytest.approx(
        -float(mean[1]), abs=1e-12
    )  # the logits' gradients sum to zero


def test_the_exact_moments_reject_bad_arguments():
    logits, values = problem(3)
    with pytest.raises(ValueError, match="estimator"):
        enumeration.relaxed_categorical_moments(logits, values, TARGET, 0.5, "pathwise")
    with pytest.raises(ValueError, match="temperature"):
        enumeration.relaxed_categorical_moments(logits, values, TARGET, 0.0, "gumbel_softmax")
    with pytest.raises(ValueError, match="shape"):
        enumeration.relaxed_categorical_moments(
            torch.zeros(9), torch.zeros(9), TARGET, 0.5, "gumbel_softmax"
        )
    with pytest.raises(ValueError, match="shape"):
        enumeration.relaxed_categorical_moments(logits, values[:2], TARGET, 0.5, "gumbel_softmax")
    with pytest.raises(TypeError, match="logits"):
        enumeration.relaxed_categorical_moments([0.0, 1.0], values, TARGET, 0.5, "gumbel_softmax")
    with pytest.raises(ValueError, match="finite"):
        enumeration.relaxed_categorical_moments(
            torch.tensor([0.0, math.nan, 1.0]), values, TARGET, 0.5, "gumbel_softmax"
        )
