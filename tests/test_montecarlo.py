"""Tests of lecture9.montecarlo against closed forms, with tolerances from the standard error."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from conftest import gen
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from lecture9 import montecarlo as mc
from lecture9 import optimization, sampling

D = torch.distributions
NUM_SE = 5.0


def assert_within_se(estimate, truth):
    assert math.isfinite(estimate.standard_error) and estimate.standard_error > 0
    assert abs(estimate.value - truth) < NUM_SE * estimate.standard_error, (estimate, truth)


# --------------------------------------------------------------------------- closed forms


def test_estimate_pi_within_5_se():
    est = mc.estimate_pi(200_000, generator=gen(1))
    assert est.num_samples == 200_000
    assert_within_se(est, math.pi)
    # SE formula: 4 sqrt(p(1-p)/(n-1)) evaluated at the truth, to 5 %.
    p = math.pi / 4
    assert est.standard_error == pytest.approx(4 * math.sqrt(p * (1 - p) / 200_000), rel=0.05)


def test_estimate_pi_batches_do_not_change_the_estimate():
    a = mc.estimate_pi(10_000, generator=gen(3))
    b = mc.estimate_pi(10_000, generator=gen(3), batch_size=1_000)
    assert a == b


def test_estimate_pi_equals_pi_from_points_of_sample_unit_square():
    est = mc.estimate_pi(3000, generator=gen(4))
    from_points = mc.pi_from_points(mc.sample_unit_square(3000, generator=gen(4)))
    assert est.value == pytest.approx(from_points.value)
    assert est.standard_error == pytest.approx(from_points.standard_error)


@pytest.mark.parametrize("power, truth", [(1, 1.0), (2, 1.0 + 4.0), (3, 1.0 + 3 * 4.0)])
def test_mc_estimate_gaussian_moments(power, truth):
    # X ~ N(1, 2^2): E[X] = 1, E[X^2] = 1 + 4, E[X^3] = mu^3 + 3 mu sigma^2 = 13.
    est = mc.mc_estimate(lambda x: x**power, D.Normal(1.0, 2.0), 50_000, generator=gen(2))
    assert_within_se(est, truth)


def test_mc_estimate_gaussian_variance_of_multivariate_sample():
    cov = torch.tensor([[2.0, 0.5], [0.5, 1.0]])
    dist = D.MultivariateNormal(torch.tensor([0.0, 1.0]), covariance_matrix=cov)
    # E[x1 * x2] = cov12 + mu1 mu2 = 0.5
    est = mc.mc_estimate(lambda x: x[:, 0] * x[:, 1], dist, 50_000, generator=gen(5))
    assert_within_se(est, 0.5)


def test_probability_against_cdf():
    a, b = -0.5, 1.3
    dist = D.Normal(0.3, 1.5)
    truth = float(stats.norm(0.3, 1.5).cdf(b) - stats.norm(0.3, 1.5).cdf(a))
    est = mc.mc_estimate(lambda x: ((x >= a) & (x <= b)).double(), dist, 50_000, generator=gen(6))
    assert_within_se(est, truth)


def test_mc_estimate_with_callable_sampler():
    sampler = lambda n, generator=None: torch.rand(n, generator=generator, dtype=torch.float64)  # noqa: E731
    est = mc.mc_estimate(torch.exp, sampler, 20_000, generator=gen(7))
    assert_within_se(est, math.e - 1.0)


def test_confidence_interval_uses_normal_quantile():
    est = mc.MonteCarloEstimate(1.0, 0.1, 100)
    lo, hi = est.confidence_interval(0.95)
    assert lo == pytest.approx(1.0 - 1.959963984540054 * 0.1)
    assert hi == pytest.approx(1.0 + 1.959963984540054 * 0.1)
    lo99, hi99 = est.confidence_interval(0.99)
    assert lo99 < lo and hi99 > hi


def test_confidence_interval_coverage():
    # 95 % intervals of 400 independent estimates cover the truth about 95 % of the time.
    g = gen(8)
    covered = 0
    for _ in range(400):
        lo, hi = mc.mc_estimate(
            lambda x: x, D.Exponential(2.0), 200, generator=g
        ).confidence_interval()
        covered += lo <= 0.5 <= hi
    rate = covered / 400
    assert abs(rate - 0.95) < NUM_SE * math.sqrt(0.95 * 0.05 / 400)


def test_from_values_matches_hand_computation():
    v = torch.tensor([1.0, 2.0, 4.0, 7.0])
    est = mc.MonteCarloEstimate.from_values(v)
    assert est.value == pytest.approx(3.5)
    assert est.standard_error == pytest.approx(float(np.std([1, 2, 4, 7], ddof=1) / 2))
    assert est.num_samples == 4
    assert math.isnan(mc.MonteCarloEstimate.from_values(torch.tensor([1.0])).standard_error)


def test_estimate_is_frozen():
    est = mc.MonteCarloEstimate(1.0, 0.1, 10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        est.value = 2.0  # type: ignore[misc]


def test_integral_estimate_uniform_and_good_proposal():
    # F = int_0^20 x^2 e^{-x} dx = 2 - 442 e^{-20}; per-sample variance 11 (uniform) vs 2.3 (Exponential(1/2)).
    f = lambda x: x**2 * torch.exp(-x)  # noqa: E731
    truth = 2.0 - 442.0 * math.exp(-20.0)
    uniform = mc.integral_estimate(f, 0.0, 20.0, 20_000, generator=gen(9))
    good = mc.integral_estimate(
        f,
        0.0,
        20.0,
        20_000,
        proposal=D.Exponential(torch.tensor(0.5, dtype=torch.float64)),
        generator=gen(9),
    )
    assert_within_se(uniform, truth)
    assert_within_se(good, truth)
    assert good.standard_error < uniform.standard_error
    assert 1 <= good.effective_sample_size <= 20_000


def test_integral_estimate_zero_variance_proposal():
    # f proportional to the Cauchy density: f/p is the constant pi.
    est = mc.integral_estimate(
        lambda x: 1 / (1 + x**2),
        -math.inf,
        math.inf,
        1000,
        proposal=D.Cauchy(
            torch.tensor(0.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64)
        ),
        generator=gen(10),
    )
    assert est.value == pytest.approx(math.pi, rel=1e-10)
    assert est.effective_sample_size == pytest.approx(1000)


def test_importance_estimate_known_tail_probability():
    # Pr(X > 3) for X ~ N(0, 1), sampled from N(3, 1).
    truth = float(stats.norm.sf(3.0))
    est = mc.importance_estimate(
        lambda x: (x > 3.0).double(),
        D.Normal(0.0, 1.0),
        D.Normal(3.0, 1.0),
        20_000,
        generator=gen(11),
    )
    assert_within_se(est, truth)
    assert 1 <= est.effective_sample_size <= 20_000


def test_importance_estimate_gaussian_moment_multivariate():
    target = D.Independent(D.Normal(torch.tensor([1.0, -1.0]), torch.tensor([1.0, 0.5])), 1)
    proposal = D.Independent(D.Normal(torch.zeros(2), torch.full((2,), 2.0)), 1)
    est = mc.importance_estimate(
        lambda x: x.square().sum(-1), target, proposal, 50_000, generator=gen(12)
    )
    assert_within_se(est, 1.0 + 1.0 + 1.0 + 0.25)


def test_self_normalized_with_unnormalized_log_density():
    # p(x) ∝ exp(-x^4 / 4): E[x^2] by quadrature.
    log_p = lambda x: -(x**4) / 4  # noqa: E731
    z = integrate.quad(lambda x: math.exp(-(x**4) / 4), -np.inf, np.inf)[0]
    truth = integrate.quad(lambda x: x**2 * math.exp(-(x**4) / 4), -np.inf, np.inf)[0] / z
    est = mc.importance_estimate(
        lambda x: x**2, log_p, D.Normal(0.0, 1.5), 50_000, self_normalized=True, generator=gen(13)
    )
    assert_within_se(est, truth)


def test_self_normalized_equals_plain_for_equal_target_and_proposal():
    dist = D.Normal(0.0, 1.0)
    est = mc.importance_estimate(
        lambda x: x**2, dist, dist, 1000, self_normalized=True, generator=gen(14)
    )
    plain = mc.mc_estimate(lambda x: x**2, dist, 1000, generator=gen(14))
    assert est.value == pytest.approx(plain.value, rel=1e-6)
    assert est.effective_sample_size == pytest.approx(1000)


def test_effective_sample_size_closed_forms():
    assert mc.effective_sample_size(torch.zeros(10)) == pytest.approx(10)
    assert mc.effective_sample_size(torch.tensor([0.0, -math.inf, -math.inf])) == pytest.approx(1)
    w = torch.tensor([1.0, 2.0, 3.0])
    assert mc.effective_sample_size(w.log()) == pytest.approx(36 / 14)


# --------------------------------------------------------------------------- estimator properties


def test_unbiasedness_over_200_seeds():
    # Mean of 200 independent estimates with n = 50 lies within 5 standard errors of E[X^2] = 1.
    estimates = torch.tensor(
        [
            mc.mc_estimate(lambda x: x**2, D.Normal(0.0, 1.0), 50, generator=gen(seed)).value
            for seed in range(200)
        ],
        dtype=torch.float64,
    )
    se = estimates.std() / math.sqrt(200)
    assert abs(estimates.mean() - 1.0) < NUM_SE * se
    # The spread matches Var[X^2] / n = 2 / 50. Each estimate is chi^2_50 / 50: variance s2 = 2 / 50 and
    # fourth central moment mu4 = s2^2 (3 + 12 / 50), so the unbiased sample variance of m = 200 estimates
    # has Var = (mu4 - s2^2 (m - 3) / (m - 1)) / m.
    m, s2 = 200, 2.0 / 50
    mu4 = s2**2 * (3.0 + 12.0 / 50)
    se_var = math.sqrt((mu4 - s2**2 * (m - 3) / (m - 1)) / m)
    assert abs(float(estimates.var()) - s2) < NUM_SE * se_var


def test_importance_unbiased_over_200_seeds():
    truth = float(stats.norm.sf(2.0))
    estimates = torch.tensor(
        [
            mc.importance_estimate(
                lambda x: (x > 2.0).double(),
                D.Normal(0.0, 1.0),
                D.Normal(2.0, 1.0),
                50,
                generator=gen(seed),
            ).value
            for seed in range(200)
        ],
        dtype=torch.float64,
    )
    assert abs(estimates.mean() - truth) < NUM_SE * estimates.std() / math.sqrt(200)


def test_integral_estimate_unbiased_over_200_seeds():
    truth = 1.0 / 3.0
    estimates = torch.tensor(
        [
            mc.integral_estimate(lambda x: x**2, 0.0, 1.0, 30, generator=gen(s)).value
            for s in range(200)
        ],
        dtype=torch.float64,
    )
    assert abs(estimates.mean() - truth) < NUM_SE * estimates.std() / math.sqrt(200)


def test_repeated_estimates_moments():
    est = mc.repeated_estimates(lambda x: x, D.Normal(2.0, 3.0), 25, 4000, generator=gen(22))
    assert est.shape == (4000,)
    assert abs(est.mean() - 2.0) < NUM_SE * 3.0 / math.sqrt(25 * 4000)
    assert abs(est.var() / (9.0 / 25) - 1.0) < NUM_SE * math.sqrt(2 / 3999)


def test_loglog_slope_is_minus_one_half():
    sizes, repeats = [10, 30, 100, 300, 1000, 3000], 300
    errors = mc.error_by_sample_size(
        lambda x: x**2, D.Normal(0.0, 1.0), 1.0, sizes, repeats, generator=gen(23)
    )
    slope = mc.loglog_slope(sizes, errors)
    # Standard error of the fitted slope. Each estimate of E[X^2] is (chi^2_N - N) / N: its squared error has
    # relative variance kurtosis - 1 = 2 + 12 / N, so log RMSE (half the log of a mean of `repeats` squared
    # errors) has variance v_N = (2 + 12 / N) / (4 repeats) (delta method), and the least-squares slope has
    # variance sum_i (x_i - mean x)^2 v_i / (sum_i (x_i - mean x)^2)^2 with x = log N.
    x = torch.log(torch.tensor(sizes, dtype=torch.float64))
    x = x - x.mean()
    v = (2.0 + 12.0 / torch.tensor(sizes, dtype=torch.float64)) / (4.0 * repeats)
    se = math.sqrt(float((x.square() * v).sum() / x.square().sum() ** 2))
    assert abs(slope + 0.5) < NUM_SE * se, (slope, se)
    assert mc.loglog_slope([1, 10, 100], [1.0, 0.1, 0.01]) == pytest.approx(-1.0)


def test_running_mean_matches_cumulative_formulas():
    v = torch.randn(500, generator=gen(24), dtype=torch.float64) * 3 + 100
    means, se = mc.running_mean(v)
    assert means.shape == se.shape == (500,)
    for k in (2, 17, 500):
        assert means[k - 1] == pytest.approx(float(v[:k].mean()))
        assert se[k - 1] == pytest.approx(float(v[:k].std() / math.sqrt(k)))
    assert math.isnan(se[0])


# --------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    "n, err, match",
    [
        (0, ValueError, ">= 1"),
        (-3, ValueError, ">= 1"),
        (2.5, TypeError, "integer"),
        ("10", TypeError, "integer"),
        (True, TypeError, "integer"),
    ],
)
def test_bad_num_samples_everywhere(n, err, match):
    g = gen()
    normal = D.Normal(0.0, 1.0)
    calls = [
        lambda: mc.estimate_pi(n, generator=g),
        lambda: mc.mc_estimate(lambda x: x, normal, n, generator=g),
        lambda: mc.importance_estimate(lambda x: x, normal, normal, n, generator=g),
        lambda: sampling.rejection_sample(normal, normal, 0.0, n, generator=g),
        lambda: sampling.inverse_cdf_sample(normal.icdf, n, generator=g),
        lambda: mc.integral_estimate(lambda x: x, 0.0, 1.0, n, generator=g),
        lambda: mc.sample_unit_square(n, generator=g),
        lambda: optimization.minimize_by_sampling(lambda x: x, normal, n, generator=g),
    ]
    for call in calls:
        with pytest.raises(err, match=match):
            call()


def test_bad_generator():
    with pytest.raises(TypeError, match="generator"):
        mc.estimate_pi(10, generator=0)


def test_importance_event_shape_mismatch():
    target = D.Independent(D.Normal(torch.zeros(2), 1.0), 1)
    with pytest.raises(ValueError, match="same event_shape"):
        mc.importance_estimate(lambda x: x.sum(-1), target, D.Normal(0.0, 1.0), 10, generator=gen())


def test_importance_batch_shape_rejected():
    with pytest.raises(ValueError, match="Independent"):
        mc.importance_estimate(
            lambda x: x.sum(-1), D.Normal(torch.zeros(2), 1.0), D.Normal(torch.zeros(2), 1.0), 10
        )


def test_importance_callable_target_needs_self_normalized():
    with pytest.raises(TypeError, match="self_normalized=True"):
        mc.importance_estimate(
            lambda x: x, lambda x: -(x**2), D.Normal(0.0, 1.0), 10, generator=gen()
        )
    with pytest.raises(TypeError, match="target must be"):
        mc.importance_estimate(lambda x: x, 3.0, D.Normal(0.0, 1.0), 10, generator=gen())


def test_wrong_shape_callables():
    normal = D.Normal(0.0, 1.0)
    with pytest.raises(ValueError, match=r"f returned shape \(10, 1\), expected \(10,\)"):
        mc.mc_estimate(lambda x: x[:, None], normal, 10, generator=gen())
    with pytest.raises(ValueError, match="target returned shape"):
        mc.importance_estimate(
            lambda x: x, lambda x: x[:3], normal, 10, self_normalized=True, generator=gen()
        )
    with pytest.raises(ValueError, match="icdf returned shape"):
        sampling.inverse_cdf_sample(lambda u: u[:, None], 10, generator=gen())
    with pytest.raises(ValueError, match="sampler must return"):
        mc.mc_estimate(
            lambda x: x, lambda n, generator=None: torch.zeros(n + 1), 10, generator=gen()
        )
    with pytest.raises(TypeError, match="f must return a torch.Tensor"):
        mc.mc_estimate(lambda x: 1.0, normal, 10, generator=gen())
    with pytest.raises(TypeError, match="sampler must be"):
        mc.mc_estimate(lambda x: x, "normal", 10, generator=gen())


def test_integral_estimate_bad_limits_and_proposal():
    with pytest.raises(ValueError, match="a < b"):
        mc.integral_estimate(lambda x: x, 1.0, 0.0, 10)
    with pytest.raises(ValueError, match="infinite limit"):
        mc.integral_estimate(lambda x: x, 0.0, math.inf, 10)
    with pytest.raises(ValueError, match="one-dimensional"):
        mc.integral_estimate(
            lambda x: x, 0.0, 1.0, 10, proposal=D.Independent(D.Normal(torch.zeros(2), 1.0), 1)
        )
    with pytest.raises(TypeError, match="proposal"):
        mc.integral_estimate(lambda x: x, 0.0, 1.0, 10, proposal="uniform")


def test_confidence_interval_bad_level():
    est = mc.MonteCarloEstimate(0.0, 1.0, 10)
    for level in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="level"):
            est.confidence_interval(level)


# --------------------------------------------------------------------------- documented errors


NOT_1D = [torch.zeros(0), torch.zeros(3, 2), torch.tensor(1.0), [0.0, 1.0]]


@pytest.mark.parametrize("bad", NOT_1D, ids=["empty", "2d", "scalar", "list"])
@pytest.mark.parametrize(
    "call, match",
    [
        (mc.effective_sample_size, "log_weights must be a non-empty 1-D tensor"),
        (mc.running_mean, "values must be a non-empty 1-D tensor"),
        (mc.MonteCarloEstimate.from_values, "values must be a non-empty 1-D tensor"),
    ],
    ids=["effective_sample_size", "running_mean", "from_values"],
)
def test_not_1d_values_rejected(call, match, bad):
    with pytest.raises(ValueError, match=match):
        call(bad)


@pytest.mark.parametrize(
    "points",
    [torch.rand(5, 3), torch.rand(5), torch.zeros(0, 2), [[0.1, 0.2]]],
    ids=["3-columns", "1d", "empty", "list"],
)
def test_pi_from_points_bad_shape(points):
    with pytest.raises(ValueError, match=r"points must be a tensor of shape \(num_samples, 2\)"):
        mc.pi_from_points(points)


@pytest.mark.parametrize(
    "sizes, errors, match",
    [
        ([10], [0.1], "same length, at least 2"),
        ([], [], "same length, at least 2"),
        ([10, 100, 1000], [0.1, 0.01], "same length, at least 2"),
        ([10, 100], [0.1, 0.0], "positive"),
        ([10, 100], [0.1, -0.01], "positive"),
        ([0, 100], [0.1, 0.01], "positive"),
    ],
    ids=["one-point", "empty", "unequal-lengths", "zero-error", "negative-error", "zero-size"],
)
def test_loglog_slope_bad_input(sizes, errors, match):
    with pytest.raises(ValueError, match=match):
        mc.loglog_slope(sizes, errors)


@pytest.mark.parametrize(
    "truth, sizes, err, match",
    [
        (1.0, [], ValueError, "sample_sizes must contain at least one"),
        (math.nan, [10], ValueError, "truth must be finite"),
        (math.inf, [10], ValueError, "truth must be finite"),
        (torch.tensor(math.nan), [10], ValueError, "truth must be finite"),
        ("1.0", [10], TypeError, "truth must be a real number"),
        (1.0, [10, 0], ValueError, "sample_sizes entry must be >= 1"),
        (1.0, [10, 2.5], TypeError, "sample_sizes entry must be a positive integer"),
    ],
    ids=[
        "empty-sizes",
        "nan-truth",
        "inf-truth",
        "nan-tensor-truth",
        "str-truth",
        "zero-size",
        "float-size",
    ],
)
def test_error_by_sample_size_bad_input(truth, sizes, err, match):
    with pytest.raises(err, match=match):
        mc.error_by_sample_size(lambda x: x, D.Normal(0.0, 1.0), truth, sizes, 5, generator=gen())


# --------------------------------------------------------------------------- bad inputs with clear errors


@pytest.mark.parametrize("name", ["a", "b"])
@pytest.mark.parametrize(
    "limit",
    [torch.tensor([0.0, 1.0]), torch.zeros(2, 2), torch.zeros(0)],
    ids=["two", "2x2", "empty"],
)
def test_integral_estimate_multi_element_limit(name, limit):
    kwargs = {"a": 0.0, "b": 1.0}
    kwargs[name] = limit if name == "a" else limit + 1.0
    with pytest.raises(
        ValueError, match=rf"^{name} must be a single number, got a tensor of shape"
    ):
        mc.integral_estimate(lambda x: x, kwargs["a"], kwargs["b"], 10, generator=gen())


def test_integral_estimate_single_element_tensor_limits_accepted():
    a = mc.integral_estimate(
        lambda x: x**2, torch.tensor([0.0]), torch.tensor(1.0), 100, generator=gen(3)
    )
    b = mc.integral_estimate(lambda x: x**2, 0.0, 1.0, 100, generator=gen(3))
    assert a == b


@pytest.mark.parametrize(
    "flag", [1, 0, "yes", None, torch.tensor(True)], ids=["one", "zero", "str", "none", "tensor"]
)
def test_self_normalized_must_be_bool(flag):
    normal = D.Normal(0.0, 1.0)
    with pytest.raises(TypeError, match="self_normalized must be a bool"):
        mc.importance_estimate(
            lambda x: x, normal, normal, 10, self_normalized=flag, generator=gen()
        )


def _sampler_without_generator(n):
    return torch.rand(n)


def _sampler_positional_only_generator(n, generator, /):
    return torch.rand(n, generator=generator)


@pytest.mark.parametrize(
    "call",
    [
        lambda s: mc.mc_estimate(lambda x: x, s, 10, generator=gen()),
        lambda s: mc.repeated_estimates(lambda x: x, s, 10, 3, generator=gen()),
        lambda s: mc.error_by_sample_size(lambda x: x, s, 0.5, [10, 20], 3, generator=gen()),
        lambda s: optimization.minimize_by_sampling(lambda x: x, s, 10, generator=gen()),
    ],
    ids=["mc_estimate", "repeated_estimates", "error_by_sample_size", "minimize_by_sampling"],
)
@pytest.mark.parametrize(
    "sampler",
    [
        _sampler_without_generator,
        _sampler_positional_only_generator,
        lambda n, seed=None: torch.rand(n),
    ],
    ids=["no-keyword", "positional-only", "other-keyword"],
)
def test_sampler_without_generator_keyword(call, sampler):
    with pytest.raises(
        TypeError,
        match=r"sampler must accept a generator keyword.*sampler\(num_samples, generator=None\)",
    ):
        call(sampler)


def test_sampler_generator_keyword_variants_accepted():
    def kw_only(n, *, generator=None):
        return torch.rand(n, generator=generator, dtype=torch.float64)

    def var_kw(n, **kwargs):
        return torch.rand(n, generator=kwargs["generator"], dtype=torch.float64)

    a = mc.mc_estimate(lambda x: x, kw_only, 100, generator=gen(4))
    b = mc.mc_estimate(lambda x: x, var_kw, 100, generator=gen(4))
    assert a == b


# --------------------------------------------------------------------------- determinism


def test_determinism_same_seed_same_tensors():
    normal = D.Normal(0.0, 1.0)
    assert mc.estimate_pi(1000, generator=gen(5)) == mc.estimate_pi(1000, generator=gen(5))
    assert mc.mc_estimate(torch.sin, normal, 100, generator=gen(5)) == mc.mc_estimate(
        torch.sin, normal, 100, generator=gen(5)
    )
    a = sampling.rejection_sample(
        D.Beta(2.0, 2.0), D.Uniform(0.0, 1.0), math.log(1.5), 500, generator=gen(5)
    )
    b = sampling.rejection_sample(
        D.Beta(2.0, 2.0), D.Uniform(0.0, 1.0), math.log(1.5), 500, generator=gen(5)
    )
    assert torch.equal(a.samples, b.samples) and a.acceptance_rate == b.acceptance_rate
    assert torch.equal(
        sampling.inverse_cdf_sample(normal.icdf, 100, generator=gen(5)),
        sampling.inverse_cdf_sample(normal.icdf, 100, generator=gen(5)),
    )
    i1 = mc.importance_estimate(torch.cos, normal, D.Normal(1.0, 2.0), 100, generator=gen(5))
    i2 = mc.importance_estimate(torch.cos, normal, D.Normal(1.0, 2.0), 100, generator=gen(5))
    assert i1 == i2
    assert not torch.equal(
        mc.sample_unit_square(10, generator=gen(5)), mc.sample_unit_square(10, generator=gen(6))
    )


def test_library_does_not_touch_global_rng():
    state = torch.random.get_rng_state()
    mc.estimate_pi(100, generator=gen())
    mc.mc_estimate(torch.sin, D.Normal(0.0, 1.0), 100, generator=gen())
    sampling.rejection_sample(
        D.Beta(2.0, 2.0), D.Uniform(0.0, 1.0), math.log(1.5), 100, generator=gen()
    )
    assert torch.equal(state, torch.random.get_rng_state())


# --------------------------------------------------------------------------- extreme and non-finite input


@pytest.mark.parametrize(
    "call",
    [lambda: mc.estimate_pi(10**12), lambda: mc.mc_estimate(torch.cos, D.Normal(0.0, 1.0), 10**12)],
    ids=["estimate_pi", "mc_estimate"],
)
def test_sample_counts_have_an_upper_bound(call):
    with pytest.raises(ValueError, match=r"num_samples=1e\+12 is more than MAX_STREAMING_SAMPLES"):
        call()


def test_mc_estimate_in_chunks_equals_the_closed_form(monkeypatch):
    # E[cos X] = exp(-1/2) for X ~ N(0, 1), with the streaming path forced through many small chunks;
    # the chunked mean and SE equal those of all the values at once (Chan et al.'s update is exact).
    monkeypatch.setattr(mc, "CHUNK_SIZE", 1000)
    values = []
    sampler = lambda n, generator=None: torch.randn(n, generator=generator, dtype=torch.float64)  # noqa: E731
    f = lambda x: (values.append(torch.cos(x)), torch.cos(x))[1]  # noqa: E731
    est = mc.mc_estimate(f, sampler, 10_500, generator=gen(40))
    assert len(values) == 11
    whole = mc.MonteCarloEstimate.from_values(torch.cat(values))
    assert est.value == pytest.approx(whole.value, rel=1e-12)
    assert est.standard_error == pytest.approx(whole.standard_error, rel=1e-9)
    assert_within_se(est, math.exp(-0.5))


@pytest.mark.parametrize(
    "f, sampler, name",
    [
        (lambda x: torch.log(x), D.Normal(0.0, 1.0), "f returned nan"),
        (lambda x: 1.0 / x.abs().clamp_max(0.0), D.Normal(0.0, 1.0), "f returned inf"),
        (
            lambda x: x,
            lambda n, generator=None: torch.full((n,), math.nan),
            "sampler returned a non-finite sample",
        ),
    ],
    ids=["nan-f", "inf-f", "nan-sampler"],
)
def test_mc_estimate_non_finite_is_an_error_naming_its_source(f, sampler, name):
    with pytest.raises(ValueError, match=name):
        mc.mc_estimate(f, sampler, 100, generator=gen())


def test_importance_proposal_that_misses_the_target_is_an_error():
    # U(0, 1) for N(0, 1): E[x^2] = 1 would come out as 1/3 * (density ratio) with a tiny SE.
    with pytest.raises(
        ValueError, match=r"proposal's support \[0, 1\] does not cover the target's \[-inf, inf\]"
    ):
        mc.importance_estimate(
            lambda x: x**2, D.Normal(0.0, 1.0), D.Uniform(0.0, 1.0), 1000, generator=gen()
        )
    with pytest.raises(ValueError, match=r"proposal's support .* does not cover"):
        mc.importance_estimate(
            lambda x: x, D.Gamma(2.0, 1.0), D.Uniform(0.0, 5.0), 1000, generator=gen()
        )


def test_importance_bounded_target_with_unbounded_proposal():
    # Uniform(0, 1) target, Normal proposal: outside-support log-densities are -inf (zero weight), not an error.
    est = mc.importance_estimate(
        lambda x: x, D.Uniform(0.0, 1.0), D.Normal(0.5, 1.0), 50_000, generator=gen(41)
    )
    assert_within_se(est, 0.5)
    snis = mc.importance_estimate(
        lambda x: x**2,
        D.Uniform(0.0, 1.0),
        D.Normal(0.5, 1.0),
        50_000,
        self_normalized=True,
        generator=gen(42),
    )
    assert_within_se(snis, 1.0 / 3.0)


def test_self_normalised_with_all_weights_zero_is_an_error():
    with pytest.raises(ValueError, match="every importance weight is zero"):
        mc.importance_estimate(
            lambda x: x,
            lambda x: torch.full_like(x, -math.inf),
            D.Normal(0.0, 1.0),
            100,
            self_normalized=True,
            generator=gen(),
        )
    with pytest.raises(ValueError, match="target returned the log-density nan"):
        mc.importance_estimate(
            lambda x: x,
            lambda x: torch.full_like(x, math.nan),
            D.Normal(0.0, 1.0),
            100,
            self_normalized=True,
            generator=gen(),
        )


@pytest.mark.parametrize(
    "log_weights, match",
    [
        (torch.tensor([0.0, math.nan]), r"log_weights\[1\] is nan"),
        (torch.tensor([math.inf, 0.0]), r"log_weights\[0\] is inf"),
        (torch.full((3,), -math.inf), "log_weights are all -inf"),
    ],
    ids=["nan", "inf", "all-zero-weights"],
)
def test_effective_sample_size_non_finite(log_weights, match):
    with pytest.raises(ValueError, match=match):
        mc.effective_sample_size(log_weights)


# --------------------------------------------------------------------------- non-finite input, bounds

_NAN2 = torch.tensor([1.0, float("nan")])


@pytest.mark.parametrize(
    "call, error, name",
    [
        (lambda: mc.MonteCarloEstimate.from_values(_NAN2), ValueError, "values"),
        (lambda: mc.pi_from_points(torch.full((3, 2), float("nan"))), ValueError, "points"),
        (lambda: mc.running_mean(_NAN2), ValueError, "values"),
        (lambda: mc.loglog_slope([10, 10], [0.1, 0.2]), ValueError, "sample_sizes"),
        (lambda: mc.loglog_slope([10, float("inf")], [0.1, 0.2]), ValueError, "sample_sizes"),
        (
            lambda: mc.repeated_estimates(
                torch.cos, torch.distributions.Normal(0.0, 1.0), 10, 10**12
            ),
            ValueError,
            "num_repeats",
        ),
    ],
    ids=[
        "from_values-nan",
        "pi_from_points-nan",
        "running_mean-nan",
        "loglog-equal-sizes",
        "loglog-inf",
        "repeats-too-many",
    ],
)
def test_bad_values_get_a_clear_error(call, error, name):
    with pytest.raises(error, match=name):
        call()


_BAD_MC_ARGS = {
    "num_samples": st.sampled_from(
        [0, -1, 1.7, "10", None, True, float("nan"), 2**70, mc.MAX_STREAMING_SAMPLES + 1]
    ),
    "generator": st.sampled_from(["abc", 123]),
    "f": st.sampled_from(["nan", "inf", "wrong-shape", "not-callable"]),
    "sampler": st.sampled_from(["abc", "no-generator", "wrong-rows", "nan-samples"]),
}
_MC_BAD_F = {
    "nan": lambda x: x * float("nan"),
    "inf": lambda x: x / 0.0,
    "wrong-shape": lambda x: x.sum(),
    "not-callable": 3,
}
_MC_BAD_SAMPLER = {
    "abc": "abc",
    "no-generator": lambda n: torch.randn(n),
    "wrong-rows": lambda n, generator=None: torch.randn(n + 1, generator=generator),
    "nan-samples": lambda n, generator=None: torch.full((n,), float("nan")),
}


@settings(max_examples=50, deadline=None)
@given(
    bad=st.sampled_from([None, *_BAD_MC_ARGS]),
    data=st.data(),
    loc=st.floats(-2, 2),
    scale=st.floats(0.1, 2),
    num_samples=st.integers(2, 3000),
    dtype=st.sampled_from([torch.float32, torch.float64]),
)
def test_mc_estimate_names_one_bad_argument_and_is_unbiased_otherwise(
    bad, data, loc, scale, num_samples, dtype
):
    args = {
        "f": torch.cos,
        "sampler": torch.distributions.Normal(torch.tensor(loc, dtype=dtype), scale),
        "num_samples": num_samples,
        "generator": gen(),
    }
    if bad is not None:
        value = data.draw(_BAD_MC_ARGS[bad])
        args[bad] = {"f": _MC_BAD_F, "sampler": _MC_BAD_SAMPLER}.get(bad, {}).get(value, value)

    def call():
        return mc.mc_estimate(
            args["f"], args["sampler"], args["num_samples"], generator=args["generator"]
        )

    if bad is None:
        est = call()
        truth = math.cos(loc) * math.exp(-(scale**2) / 2)
        assert (
            est.num_samples == num_samples
            and abs(est.value - truth) < 6 * est.standard_error + 1e-6
        )
        return
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert bad in str(info.value), info.value


def test_integral_estimate_names_f_when_it_is_not_finite():
    with pytest.raises(ValueError, match="^f returned nan"):
        mc.integral_estimate(lambda x: x * float("nan"), 0.0, 1.0, 10, generator=gen())
