"""Tests of lecture9.baselines against closed forms, quadrature and enumeration.

Tolerances are derived from standard errors (5 SE at a fixed seed) or from exact
arithmetic. The problems:

- the Fig. 2 problem of Mohamed et al. (2020): f(x) = (x - k)^2, x ~ N(mu, sigma^2);
  b*_mu = 3 sigma^2 + d^2, b*_sigma = 5 sigma^2 + d^2 (d = mu - k);
- the binary toy of Tucker et al. (2017): f(b) = (b - t)^2, b ~ Bernoulli(sigmoid(theta)),
  grad = p (1 - p)(1 - 2t); enumerated exactly.
"""

from __future__ import annotations

import math

import pytest
import torch
from conftest import exact_quadratic_grad, gaussian_params, gen, quadratic, variance_and_se

from lecture9 import baselines as bl
from lecture9 import estimators, reference, sampling

Normal = torch.distributions.Normal
Bernoulli = torch.distributions.Bernoulli
DTYPE = torch.float64

TARGET = 0.45
THETA = math.log(0.3 / 0.7)  # p = sigmoid(theta) = 0.3


@pytest.mark.parametrize("param", ["loc", "scale"])
def test_estimated_optimal_baseline_within_standard_error(param):
    k, n = 3.0, 20_000
    x = 1 + torch.randn(n, generator=gen(5), dtype=DTYPE)
    fx = quadratic(k)(x)
    scores = reference.gaussian_scores(x, 1.0, 1.0)
    est = bl.optimal_baseline(fx, scores)[param]
    m = reference.gaussian_score_function_moments(quadratic(k), 1.0, 1.0, param)
    # delta method: b_hat - b* ~ mean(s^2 (f - b*)) / E[s^2]
    s2 = scores[param] ** 2
    se = float((s2 * (fx - m.optimal_baseline)).std() / math.sqrt(n) / m.mean_s2)
    assert abs(float(est) - m.optimal_baseline) < 5 * se


def test_apply_baseline_per_sample_formula_and_dict():
    x = torch.tensor([0.0, 1.5, 3.0], dtype=DTYPE)
    fx = quadratic(1.0)(x)
    scores = reference.gaussian_scores(x, 1.0, 2.0)
    torch.testing.assert_close(scores["loc"], (x - 1.0) / 4.0)
    torch.testing.assert_close(scores["scale"], ((x - 1.0) ** 2 - 4.0) / 8.0)
    out = bl.apply_baseline(fx, scores, {"loc": 2.0, "scale": 3.0})
    torch.testing.assert_close(out["loc"], (fx - 2.0) * scores["loc"])
    torch.testing.assert_close(out["scale"], (fx - 3.0) * scores["scale"])
    loo = bl.apply_baseline(fx, scores["loc"], bl.leave_one_out_baseline)
    torch.testing.assert_close(loo, (fx - (fx.sum() - fx) / 2) * scores["loc"])


def test_leave_one_out_baseline_per_sample():
    f = torch.arange(8, dtype=DTYPE).reshape(8, 1) ** 2
    b = bl.leave_one_out_baseline(f, group_size=4)
    for start in (0, 4):
        group = f[start : start + 4, 0]
        for i in range(4):
            assert float(b[start + i, 0]) == pytest.approx(float((group.sum() - group[i]) / 3))
    torch.testing.assert_close(bl.LeaveOneOutBaseline(4)(f), b)
    torch.testing.assert_close(bl.group_means(f, 4), f.reshape(2, 4, 1).mean(1))


def test_moving_average_baseline_updates():
    ema = bl.MovingAverageBaseline(decay=0.5)
    assert float(ema.value) == 0.0
    f1 = torch.tensor([1.0, 3.0], dtype=DTYPE)
    assert torch.equal(ema(f1), torch.zeros(2, dtype=DTYPE))  # the value before the update is used
    assert float(ema.update()) == pytest.approx(
        2.0
    )  # bias-corrected: first value = first batch mean
    ema(torch.tensor([6.0, 6.0], dtype=DTYPE))
    # ((0.5 * 0.5 * 2 + 0.5 * 6) / (1 - 0.25)
    assert float(ema.update()) == pytest.approx((0.25 * 2 + 0.5 * 6) / 0.75)
    assert ema.num_updates == 2


@pytest.mark.parametrize("group_size", [2, 4, 16])
def test_rloo_is_unbiased_and_has_its_exact_variance(group_size):
    k, groups = 3.0, 4096
    f = quadratic(k)
    params = gaussian_params()
    grads = estimators.score_function_grad(
        f,
        Normal,
        params,
        group_size * groups,
        baseline=bl.LeaveOneOutBaseline(group_size),
        generator=gen(group_size),
    )
    exact = exact_quadratic_grad(k)
    for p in params:
        est = bl.group_means(grads[p], group_size)
        m = reference.gaussian_score_function_moments(f, 1.0, 1.0, p)
        var = m.rloo_variance(group_size)
        assert abs(float(est.mean()) - exact[p]) < 5 * math.sqrt(var / groups)
        # the sample variance of the i.i.d. group estimates, within 5 of its standard errors
        measured, se = variance_and_se(est)
        assert abs(measured - var) < 5 * se, (p, measured, var, se)


def test_rloo_composes_with_score_function_grad_per_sample():
    f = quadratic(0.0)
    params = gaussian_params(0.5, 2.0)
    grads = estimators.score_function_grad(
        f, Normal, params, 8, baseline=bl.LeaveOneOutBaseline(4), generator=gen(7)
    )
    plain = estimators.score_function_grad(f, Normal, params, 8, generator=gen(7))
    x = sampling.draw(Normal(**params), (8,), gen(7))
    scores = reference.gaussian_scores(x, 0.5, 2.0)
    torch.testing.assert_close(plain["loc"], f(x) * scores["loc"])
    expected = bl.apply_baseline(f(x), scores, bl.LeaveOneOutBaseline(4))
    for p in params:
        torch.testing.assert_close(grads[p], expected[p])


# ---------------------------------------------------------------------------
# The binary toy of Tucker et al. (2017), by enumeration
# ---------------------------------------------------------------------------


def toy(b):
    return (b - TARGET) ** 2


def _two_point_variance_se(values: torch.Tensor, probs: torch.Tensor, n: int) -> float:
    mean = (probs * values).sum()
    mu2 = (probs * (values - mean) ** 2).sum()
    mu4 = (probs * (values - mean) ** 4).sum()
    return float(((mu4 - mu2**2) / n).sqrt())


def test_toy_baselines_reduce_variance_by_the_exact_margin():
    params = {"logits": torch.tensor(THETA, dtype=DTYPE)}
    m = reference.discrete_score_function_moments(toy, Bernoulli, params, "logits")
    exact_ratio = m.variance() / m.variance(m.mean_f)
    assert exact_ratio == pytest.approx(
        46.41, abs=0.01
    )  # the margin: 46x less variance with b = E[f]
    n = 20_000
    p = 0.3
    probs = torch.tensor([1 - p, p], dtype=DTYPE)
    score = torch.tensor([-p, 1 - p], dtype=DTYPE)
    cost = toy(torch.tensor([0.0, 1.0], dtype=DTYPE))
    for baseline, exact_var in [(None, m.variance()), (m.mean_f, m.variance(m.mean_f))]:
        grads = estimators.score_function_grad(
            toy, Bernoulli, params, n, baseline=baseline, generator=gen(11)
        )
        values = (cost - (baseline or 0.0)) * score
        se = _two_point_variance_se(values, probs, n)
        assert abs(float(grads["logits"].var()) - exact_var) < 5 * se
        assert abs(float(grads["logits"].mean()) - m.grad) < 5 * math.sqrt(exact_var / n)
    # the optimal baseline: every sample is the exact gradient
    grads = estimators.score_function_grad(
        toy, Bernoulli, params, 100, baseline=m.optimal_baseline, generator=gen(12)
    )
    torch.testing.assert_close(grads["logits"], torch.full((100,), m.grad, dtype=DTYPE))
    # RLOO with K = 4: exact variance by the moment formula, measured within 5 standard errors
    grads = estimators.score_function_grad(
        toy, Bernoulli, params, 4 * 8192, baseline=bl.LeaveOneOutBaseline(4), generator=gen(13)
    )
    est = bl.group_means(grads["logits"], 4)
    measured, se = variance_and_se(est)
    assert abs(measured - m.rloo_variance(4)) < 5 * se
    assert 4 * m.rloo_variance(4) < m.variance() / 5


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


def test_leave_one_out_needs_two_samples():
    with pytest.raises(ValueError, match="group_size must be an integer >= 2"):
        bl.leave_one_out_baseline(torch.randn(4), group_size=1)
    with pytest.raises(ValueError, match="K >= 2"):
        bl.leave_one_out_baseline(torch.randn(1))
    with pytest.raises(ValueError, match="group_size must be an integer >= 2"):
        bl.LeaveOneOutBaseline(group_size=1)
    with pytest.raises(ValueError, match="K >= 2"):
        estimators.score_function_grad(
            quadratic(0.0), Normal, gaussian_params(), 1, baseline=bl.leave_one_out_baseline
        )
    with pytest.raises(ValueError, match="not a multiple of group_size"):
        bl.leave_one_out_baseline(torch.randn(6), group_size=4)
    with pytest.raises(ValueError, match="group_size must be an integer >= 2"):
        reference.ScoreFunctionMoments(1, 1, 1, 1, 1, 1).rloo_variance(1)


def test_other_bad_inputs():
    with pytest.raises(ValueError, match="decay must be"):
        bl.MovingAverageBaseline(decay=1.0)
    with pytest.raises(ValueError, match="update\\(\\) needs f_values"):
        bl.MovingAverageBaseline().update()
    with pytest.raises(ValueError, match="scores are zero"):
        bl.optimal_baseline(torch.ones(3), torch.zeros(3))
    with pytest.raises(ValueError, match="not in scores"):
        bl.apply_baseline(torch.ones(3), {"loc": torch.ones(3)}, {"scale": 1.0})


@pytest.mark.parametrize(
    ("initial", "error"),
    [
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        ("abc", TypeError),
        (torch.tensor([1.0, float("nan")]), ValueError),
    ],
)
def test_moving_average_baseline_checks_initial_at_construction(initial, error):
    with pytest.raises(error, match="initial"):
        bl.MovingAverageBaseline(initial=initial)


def test_non_finite_costs_and_scores_are_named():
    good = torch.ones(4, dtype=DTYPE)
    bad = torch.tensor([1.0, float("nan"), 2.0, 3.0], dtype=DTYPE)
    with pytest.raises(ValueError, match="f_values must be finite"):
        bl.optimal_baseline(bad, good)
    with pytest.raises(ValueError, match="scores must be finite"):
        bl.optimal_baseline(good, bad)
    with pytest.raises(ValueError, match="f_values must be finite"):
        bl.MovingAverageBaseline()(bad)
    with pytest.raises(ValueError, match="baseline must be finite"):
        bl.apply_baseline(good, good, float("inf"))


def test_apply_baseline_names_a_baseline_that_does_not_broadcast():
    f_values, scores = torch.ones(10), torch.ones(10)
    with pytest.raises(ValueError, match="baseline has shape \\(7,\\)"):
        bl.apply_baseline(f_values, scores, torch.zeros(7))
