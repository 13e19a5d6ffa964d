"""Tests of lecture9.montecarlo against closed forms, with tolerances from the standard error."""

from __future__ import annotations

import dataclasses
import math

import matplotlib
import numpy as np
import pytest
import torch
from scipy import integrate, stats

matplotlib.use("Agg")

from lecture9 import montecarlo as mc  # noqa: E402

D = torch.distributions
NUM_SE = 5.0


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


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
        lo, hi = mc.mc_estimate(lambda x: x, D.Exponential(2.0), 200, generator=g).confidence_interval()
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
    good = mc.integral_estimate(f, 0.0, 20.0, 20_000, proposal=D.Exponential(torch.tensor(0.5, dtype=torch.float64)),
                                generator=gen(9))
    assert_within_se(uniform, truth)
    assert_within_se(good, truth)
    assert good.standard_error < uniform.standard_error
    assert 1 <= good.effective_sample_size <= 20_000


def test_integral_estimate_zero_variance_proposal():
    # f proportional to the Cauchy density: f/p is the constant pi.
    est = mc.integral_estimate(lambda x: 1 / (1 + x**2), -math.inf, math.inf, 1000,
                               proposal=D.Cauchy(torch.tensor(0.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64)),
                               generator=gen(10))
    assert est.value == pytest.approx(math.pi, rel=1e-10)
    assert est.effective_sample_size == pytest.approx(1000)


def test_importance_estimate_known_tail_probability():
    # Pr(X > 3) for X ~ N(0, 1), sampled from N(3, 1).
    truth = float(stats.norm.sf(3.0))
    est = mc.importance_estimate(lambda x: (x > 3.0).double(), D.Normal(0.0, 1.0), D.Normal(3.0, 1.0), 20_000,
                                 generator=gen(11))
    assert_within_se(est, truth)
    assert 1 <= est.effective_sample_size <= 20_000


def test_importance_estimate_gaussian_moment_multivariate():
    target = D.Independent(D.Normal(torch.tensor([1.0, -1.0]), torch.tensor([1.0, 0.5])), 1)
    proposal = D.Independent(D.Normal(torch.zeros(2), torch.full((2,), 2.0)), 1)
    est = mc.importance_estimate(lambda x: x.square().sum(-1), target, proposal, 50_000, generator=gen(12))
    assert_within_se(est, 1.0 + 1.0 + 1.0 + 0.25)


def test_self_normalized_with_unnormalized_log_density():
    # p(x) ∝ exp(-x^4 / 4): E[x^2] by quadrature.
    log_p = lambda x: -(x**4) / 4  # noqa: E731
    z = integrate.quad(lambda x: math.exp(-(x**4) / 4), -np.inf, np.inf)[0]
    truth = integrate.quad(lambda x: x**2 * math.exp(-(x**4) / 4), -np.inf, np.inf)[0] / z
    est = mc.importance_estimate(lambda x: x**2, log_p, D.Normal(0.0, 1.5), 50_000, self_normalized=True,
                                 generator=gen(13))
    assert_within_se(est, truth)


def test_self_normalized_equals_plain_for_equal_target_and_proposal():
    dist = D.Normal(0.0, 1.0)
    est = mc.importance_estimate(lambda x: x**2, dist, dist, 1000, self_normalized=True, generator=gen(14))
    plain = mc.mc_estimate(lambda x: x**2, dist, 1000, generator=gen(14))
    assert est.value == pytest.approx(plain.value, rel=1e-6)
    assert est.effective_sample_size == pytest.approx(1000)


def test_effective_sample_size_closed_forms():
    assert mc.effective_sample_size(torch.zeros(10)) == pytest.approx(10)
    assert mc.effective_sample_size(torch.tensor([0.0, -math.inf, -math.inf])) == pytest.approx(1)
    w = torch.tensor([1.0, 2.0, 3.0])
    assert mc.effective_sample_size(w.log()) == pytest.approx(36 / 14)


def test_inverse_cdf_sample_exponential_ks():
    rate = 2.0
    x = mc.inverse_cdf_sample(lambda u: -torch.log1p(-u) / rate, 5000, generator=gen(15))
    assert x.shape == (5000,)
    assert stats.kstest(x.numpy(), stats.expon(scale=1 / rate).cdf).pvalue > 0.01
    # A Distribution's icdf gives the same numbers.
    y = mc.inverse_cdf_sample(D.Exponential(torch.tensor(rate, dtype=torch.float64)), 5000, generator=gen(15))
    torch.testing.assert_close(x, y)


@pytest.mark.parametrize(
    "dist, cdf",
    [
        (D.Normal(0.5, 2.0), stats.norm(0.5, 2.0).cdf),
        (D.Laplace(0.0, 1.0), stats.laplace(0.0, 1.0).cdf),
        (D.Cauchy(1.0, 0.5), stats.cauchy(1.0, 0.5).cdf),
        (D.LogNormal(0.0, 0.5), stats.lognorm(0.5).cdf),
        (D.Uniform(-1.0, 3.0), stats.uniform(-1.0, 4.0).cdf),
        (D.MixtureSameFamily(D.Categorical(torch.tensor([0.3, 0.7])), D.Normal(torch.tensor([-2.0, 2.0]), torch.tensor([0.5, 1.0]))),
         lambda x: 0.3 * stats.norm(-2, 0.5).cdf(x) + 0.7 * stats.norm(2, 1.0).cdf(x)),
    ],
)
def test_sample_distribution_ks(dist, cdf):
    x = mc.sample_distribution(dist, 4000, generator=gen(16))
    assert x.shape == (4000,)
    assert stats.kstest(x.double().numpy(), cdf).pvalue > 0.01


def test_sample_distribution_discrete_and_shapes():
    b = mc.sample_distribution(D.Bernoulli(torch.tensor([0.2, 0.7])), 20_000, generator=gen(17))
    assert b.shape == (20_000, 2)
    for j, p in enumerate([0.2, 0.7]):
        assert abs(b[:, j].mean() - p) < NUM_SE * math.sqrt(p * (1 - p) / 20_000)
    c = mc.sample_distribution(D.Categorical(torch.tensor([0.2, 0.3, 0.5])), 20_000, generator=gen(17))
    assert c.shape == (20_000,)
    for k, p in enumerate([0.2, 0.3, 0.5]):
        assert abs((c == k).double().mean() - p) < NUM_SE * math.sqrt(p * (1 - p) / 20_000)
    pois = mc.sample_distribution(D.Poisson(torch.tensor(3.0)), 20_000, generator=gen(17))
    assert abs(pois.mean() - 3.0) < NUM_SE * math.sqrt(3.0 / 20_000)
    mvn = mc.sample_distribution(D.MultivariateNormal(torch.zeros(3), torch.eye(3)), 10, generator=gen(17))
    assert mvn.shape == (10, 3)


def test_sample_distribution_gamma_moments():
    x = mc.sample_distribution(D.Gamma(torch.tensor(2.0), torch.tensor(1.5)), 20_000, generator=gen(3))
    mean, var = 2.0 / 1.5, 2.0 / 1.5**2
    assert abs(x.mean() - mean) < NUM_SE * math.sqrt(var / 20_000)


def test_sample_distribution_unsupported_family():
    with pytest.raises(TypeError, match="cannot sample VonMises"):
        mc.sample_distribution(D.VonMises(torch.tensor(0.0), torch.tensor(1.0)), 10, generator=gen())


# --------------------------------------------------------------------------- rejection sampling


def test_rejection_sample_beta_ks_and_acceptance_rate():
    # Beta(2, 2) density 6x(1-x) <= 1.5 = M * Uniform(0, 1).
    m = 1.5
    res = mc.rejection_sample(D.Beta(2.0, 2.0), D.Uniform(0.0, 1.0), math.log(m), 5000, generator=gen(18))
    assert res.samples.shape == (5000,)
    assert stats.kstest(res.samples.double().numpy(), stats.beta(2, 2).cdf).pvalue > 0.01
    se = math.sqrt((1 / m) * (1 - 1 / m) / res.num_proposed)
    assert abs(res.acceptance_rate - 1 / m) < NUM_SE * se


def test_rejection_sample_mixture_with_normal_proposal():
    target = D.MixtureSameFamily(D.Categorical(torch.tensor([0.4, 0.6])),
                                 D.Normal(torch.tensor([-1.5, 1.5]), torch.tensor([0.6, 0.8])))
    proposal = D.Normal(0.0, 2.5)
    grid = torch.linspace(-15, 15, 30_001)
    log_m = float((target.log_prob(grid) - proposal.log_prob(grid)).max()) + 1e-3
    res = mc.rejection_sample(target.log_prob, proposal, log_m, 4000, generator=gen(19))
    cdf = lambda x: 0.4 * stats.norm(-1.5, 0.6).cdf(x) + 0.6 * stats.norm(1.5, 0.8).cdf(x)  # noqa: E731
    assert stats.kstest(res.samples.double().numpy(), cdf).pvalue > 0.01
    m = math.exp(log_m)
    assert abs(res.acceptance_rate - 1 / m) < NUM_SE * math.sqrt((1 / m) * (1 - 1 / m) / res.num_proposed)


def test_rejection_sample_unnormalised_target_rate_is_z_over_m():
    # p~(x) = 3 * 6x(1-x): Z = 3, M = 4.5 -> rate 2/3.
    log_p = lambda x: math.log(3.0) + D.Beta(2.0, 2.0).log_prob(x)  # noqa: E731
    res = mc.rejection_sample(log_p, D.Uniform(0.0, 1.0), math.log(4.5), 3000, generator=gen(20))
    assert abs(res.acceptance_rate - 2 / 3) < NUM_SE * math.sqrt((2 / 3) * (1 / 3) / res.num_proposed)


def test_rejection_sample_envelope_violation():
    with pytest.raises(ValueError, match="envelope"):
        mc.rejection_sample(D.Beta(2.0, 2.0), D.Uniform(0.0, 1.0), math.log(1.2), 100, generator=gen(21))


@pytest.mark.parametrize("log_m", [math.inf, -math.inf, math.nan, torch.tensor(math.inf)])
def test_rejection_sample_non_finite_log_m(log_m):
    with pytest.raises(ValueError, match="log_M"):
        mc.rejection_sample(D.Beta(2.0, 2.0), D.Uniform(0.0, 1.0), log_m, 100, generator=gen())


def test_rejection_sample_event_shape_mismatch():
    target = D.Independent(D.Normal(torch.zeros(2), 1.0), 1)
    with pytest.raises(ValueError, match="event_shape"):
        mc.rejection_sample(target, D.Normal(0.0, 3.0), 2.0, 10, generator=gen())


def test_rejection_sample_wrong_shape_log_prob():
    with pytest.raises(ValueError, match="target_log_prob returned shape"):
        mc.rejection_sample(lambda x: torch.zeros(3), D.Uniform(0.0, 1.0), 0.0, 10, generator=gen())


def test_rejection_sample_gives_up():
    with pytest.raises(RuntimeError, match="accepted only"):
        mc.rejection_sample(lambda x: torch.full_like(x, -50.0), D.Uniform(0.0, 1.0), 0.0, 10,
                            generator=gen(), max_proposals=1000)


# --------------------------------------------------------------------------- estimator properties


def test_unbiasedness_over_200_seeds():
    # Mean of 200 independent estimates with n = 50 lies within 5 standard errors of E[X^2] = 1.
    estimates = torch.tensor([
        mc.mc_estimate(lambda x: x**2, D.Normal(0.0, 1.0), 50, generator=gen(seed)).value for seed in range(200)
    ], dtype=torch.float64)
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
    estimates = torch.tensor([
        mc.importance_estimate(lambda x: (x > 2.0).double(), D.Normal(0.0, 1.0), D.Normal(2.0, 1.0), 50,
                               generator=gen(seed)).value for seed in range(200)
    ], dtype=torch.float64)
    assert abs(estimates.mean() - truth) < NUM_SE * estimates.std() / math.sqrt(200)


def test_integral_estimate_unbiased_over_200_seeds():
    truth = 1.0 / 3.0
    estimates = torch.tensor([mc.integral_estimate(lambda x: x**2, 0.0, 1.0, 30, generator=gen(s)).value
                              for s in range(200)], dtype=torch.float64)
    assert abs(estimates.mean() - truth) < NUM_SE * estimates.std() / math.sqrt(200)


def test_repeated_estimates_moments():
    est = mc.repeated_estimates(lambda x: x, D.Normal(2.0, 3.0), 25, 4000, generator=gen(22))
    assert est.shape == (4000,)
    assert abs(est.mean() - 2.0) < NUM_SE * 3.0 / math.sqrt(25 * 4000)
    assert abs(est.var() / (9.0 / 25) - 1.0) < NUM_SE * math.sqrt(2 / 3999)


def test_loglog_slope_is_minus_one_half():
    sizes = [10, 30, 100, 300, 1000, 3000]
    errors = mc.error_by_sample_size(lambda x: x**2, D.Normal(0.0, 1.0), 1.0, sizes, 300, generator=gen(23))
    slope = mc.loglog_slope(sizes, errors)
    assert -0.6 <= slope <= -0.4
    assert mc.loglog_slope([1, 10, 100], [1.0, 0.1, 0.01]) == pytest.approx(-1.0)


def test_running_mean_matches_cumulative_formulas():
    v = torch.randn(500, generator=gen(24), dtype=torch.float64) * 3 + 100
    means, se = mc.running_mean(v)
    assert means.shape == se.shape == (500,)
    for k in (2, 17, 500):
        assert means[k - 1] == pytest.approx(float(v[:k].mean()))
        assert se[k - 1] == pytest.approx(float(v[:k].std() / math.sqrt(k)))
    assert math.isnan(se[0])


def test_minimize_by_sampling_finds_the_best_candidate():
    box = D.Independent(D.Uniform(torch.zeros(2), torch.ones(2)), 1)
    f = lambda x: (x - torch.tensor([0.3, 0.6])).square().sum(-1)  # noqa: E731
    x_best, f_best = mc.minimize_by_sampling(f, box, 5000, generator=gen(25))
    candidates = mc.sample_distribution(box, 5000, generator=gen(25))
    assert f_best == pytest.approx(float(f(candidates).min()))
    assert x_best.shape == (2,) and f_best < 1e-3


def test_stochastic_gradient_descent_converges_on_noisy_quadratic():
    # F(theta) = E[(theta - x)^2], x ~ N(3, 1): gradient estimate 2 (theta - x).
    def grad(theta, generator=None):
        x = 3.0 + torch.randn(16, generator=generator, dtype=torch.float64)
        return 2 * (theta - x).mean().reshape(theta.shape)

    lr, batch, steps, burn_in = 0.05, 16, 2000, 100
    traj = mc.stochastic_gradient_descent(grad, torch.tensor(0.0, dtype=torch.float64), learning_rate=lr,
                                          num_steps=steps, generator=gen(26))
    assert traj.shape == (steps + 1,)
    # Exact recursion: theta_{t+1} = theta_t - lr * grad(theta_t), same generator, same draws.
    g, theta = gen(26), torch.tensor(0.0, dtype=torch.float64)
    for t in range(5):
        theta = theta - lr * 2 * (theta - (3.0 + torch.randn(batch, generator=g, dtype=torch.float64)).mean())
        assert float(traj[t + 1]) == pytest.approx(float(theta), rel=1e-12)
    # e_t = theta_t - 3 is AR(1): e_{t+1} = a e_t + 2 lr xi_t, a = 1 - 2 lr, xi_t ~ N(0, 1 / batch).
    # Stationary variance v = (2 lr)^2 / batch / (1 - a^2), autocovariance v a^|i-j|; the start e_0 = -3
    # has decayed by a^burn_in (~1e-4 of the tolerance). SE of the mean of the last k iterates:
    a = 1 - 2 * lr
    v = (2 * lr) ** 2 / batch / (1 - a**2)
    tail = traj[burn_in:]
    k = tail.numel()
    lags = torch.arange(k, dtype=torch.float64)
    var_mean = v / k**2 * float((k + 2 * ((k - lags[1:]) * a ** lags[1:]).sum()))
    assert abs(float(tail.mean()) - 3.0) < NUM_SE * math.sqrt(var_mean)
    with pytest.raises(ValueError, match="grad_estimate returned"):
        mc.stochastic_gradient_descent(lambda t, generator=None: torch.zeros(3), torch.tensor(0.0), learning_rate=0.1,
                                       num_steps=1)


# --------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("n, err, match", [(0, ValueError, ">= 1"), (-3, ValueError, ">= 1"),
                                           (2.5, TypeError, "integer"), ("10", TypeError, "integer"),
                                           (True, TypeError, "integer")])
def test_bad_num_samples_everywhere(n, err, match):
    g = gen()
    normal = D.Normal(0.0, 1.0)
    calls = [
        lambda: mc.estimate_pi(n, generator=g),
        lambda: mc.mc_estimate(lambda x: x, normal, n, generator=g),
        lambda: mc.importance_estimate(lambda x: x, normal, normal, n, generator=g),
        lambda: mc.rejection_sample(normal, normal, 0.0, n, generator=g),
        lambda: mc.inverse_cdf_sample(normal.icdf, n, generator=g),
        lambda: mc.integral_estimate(lambda x: x, 0.0, 1.0, n, generator=g),
        lambda: mc.sample_distribution(normal, n, generator=g),
        lambda: mc.sample_unit_square(n, generator=g),
        lambda: mc.minimize_by_sampling(lambda x: x, normal, n, generator=g),
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
        mc.importance_estimate(lambda x: x.sum(-1), D.Normal(torch.zeros(2), 1.0), D.Normal(torch.zeros(2), 1.0), 10)


def test_importance_callable_target_needs_self_normalized():
    with pytest.raises(TypeError, match="self_normalized=True"):
        mc.importance_estimate(lambda x: x, lambda x: -x**2, D.Normal(0.0, 1.0), 10, generator=gen())
    with pytest.raises(TypeError, match="target must be"):
        mc.importance_estimate(lambda x: x, 3.0, D.Normal(0.0, 1.0), 10, generator=gen())


def test_wrong_shape_callables():
    normal = D.Normal(0.0, 1.0)
    with pytest.raises(ValueError, match=r"f returned shape \(10, 1\), expected \(10,\)"):
        mc.mc_estimate(lambda x: x[:, None], normal, 10, generator=gen())
    with pytest.raises(ValueError, match="target returned shape"):
        mc.importance_estimate(lambda x: x, lambda x: x[:3], normal, 10, self_normalized=True, generator=gen())
    with pytest.raises(ValueError, match="icdf returned shape"):
        mc.inverse_cdf_sample(lambda u: u[:, None], 10, generator=gen())
    with pytest.raises(ValueError, match="sampler must return"):
        mc.mc_estimate(lambda x: x, lambda n, generator=None: torch.zeros(n + 1), 10, generator=gen())
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
        mc.integral_estimate(lambda x: x, 0.0, 1.0, 10, proposal=D.Independent(D.Normal(torch.zeros(2), 1.0), 1))
    with pytest.raises(TypeError, match="proposal"):
        mc.integral_estimate(lambda x: x, 0.0, 1.0, 10, proposal="uniform")


def test_confidence_interval_bad_level():
    est = mc.MonteCarloEstimate(0.0, 1.0, 10)
    for level in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="level"):
            est.confidence_interval(level)


def test_inverse_cdf_not_callable():
    with pytest.raises(TypeError, match="icdf"):
        mc.inverse_cdf_sample(3.0, 10)


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


@pytest.mark.parametrize("points", [torch.rand(5, 3), torch.rand(5), torch.zeros(0, 2), [[0.1, 0.2]]],
                         ids=["3-columns", "1d", "empty", "list"])
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
    ids=["empty-sizes", "nan-truth", "inf-truth", "nan-tensor-truth", "str-truth", "zero-size", "float-size"],
)
def test_error_by_sample_size_bad_input(truth, sizes, err, match):
    with pytest.raises(err, match=match):
        mc.error_by_sample_size(lambda x: x, D.Normal(0.0, 1.0), truth, sizes, 5, generator=gen())


@pytest.mark.parametrize("target", [3.0, "beta", None], ids=["float", "str", "none"])
def test_rejection_sample_non_callable_target(target):
    with pytest.raises(TypeError, match="target_log_prob must be a callable"):
        mc.rejection_sample(target, D.Uniform(0.0, 1.0), 0.5, 10, generator=gen())


@pytest.mark.parametrize("log_m", [torch.tensor([0.5, 0.6]), torch.zeros(2, 1), torch.zeros(0)],
                         ids=["two", "2x1", "empty"])
def test_rejection_sample_multi_element_log_m(log_m):
    with pytest.raises(ValueError, match="log_M must be a single number"):
        mc.rejection_sample(D.Beta(2.0, 2.0), D.Uniform(0.0, 1.0), log_m, 10, generator=gen())


def test_rejection_sample_single_element_tensor_log_m_accepted():
    a = mc.rejection_sample(D.Beta(2.0, 2.0), D.Uniform(0.0, 1.0), torch.tensor([math.log(1.5)]), 50, generator=gen(5))
    b = mc.rejection_sample(D.Beta(2.0, 2.0), D.Uniform(0.0, 1.0), math.log(1.5), 50, generator=gen(5))
    assert torch.equal(a.samples, b.samples)


def test_rejection_sample_batched_target():
    target = D.Beta(torch.tensor([2.0, 3.0]), torch.tensor([2.0, 3.0]))
    with pytest.raises(ValueError, match=r"target_log_prob must have batch_shape \(\), got \(2,\).*Independent"):
        mc.rejection_sample(target, D.Uniform(0.0, 1.0), 1.0, 10, generator=gen())


def _zero_grad(theta, generator=None):
    return torch.zeros_like(theta)


@pytest.mark.parametrize(
    "init, learning_rate, err, match",
    [
        (0.0, 0.1, TypeError, "init must be a torch.Tensor"),
        ([0.0, 1.0], 0.1, TypeError, "init must be a torch.Tensor"),
        (torch.tensor(0.0), 0.0, ValueError, "learning_rate must be finite and > 0"),
        (torch.tensor(0.0), -0.1, ValueError, "learning_rate must be finite and > 0"),
        (torch.tensor(0.0), math.nan, ValueError, "learning_rate must be finite and > 0"),
        (torch.tensor(0.0), math.inf, ValueError, "learning_rate must be finite and > 0"),
        (torch.tensor(0.0), "0.1", TypeError, "learning_rate must be a positive number"),
        (torch.tensor(0.0), True, TypeError, "learning_rate must be a positive number"),
    ],
    ids=["float-init", "list-init", "zero-lr", "negative-lr", "nan-lr", "inf-lr", "str-lr", "bool-lr"],
)
def test_stochastic_gradient_descent_bad_input(init, learning_rate, err, match):
    with pytest.raises(err, match=match):
        mc.stochastic_gradient_descent(_zero_grad, init, learning_rate=learning_rate, num_steps=3, generator=gen())


def test_stochastic_gradient_descent_grad_estimate_needs_generator_keyword():
    with pytest.raises(TypeError, match=r"grad_estimate must accept a generator keyword.*grad_estimate\(theta, generator=None\)"):
        mc.stochastic_gradient_descent(lambda theta: torch.zeros_like(theta), torch.tensor(0.0), learning_rate=0.1,
                                       num_steps=1)
    with pytest.raises(TypeError, match="grad_estimate must be callable"):
        mc.stochastic_gradient_descent(3.0, torch.tensor(0.0), learning_rate=0.1, num_steps=1)


# --------------------------------------------------------------------------- bad inputs with clear errors


@pytest.mark.parametrize(
    "dist",
    [D.Gamma(torch.tensor(2.0), torch.tensor(1.0)), D.Beta(torch.tensor(2.0), torch.tensor(2.0)),
     D.Poisson(torch.tensor(3.0))],
    ids=["Gamma", "Beta", "Poisson"],
)
def test_inverse_cdf_distribution_without_icdf(dist):
    name = type(dist).__name__
    with pytest.raises(TypeError, match=rf"icdf: {name} does not implement icdf; pass the quantile function as a callable"):
        mc.inverse_cdf_sample(dist, 10, generator=gen())


def test_inverse_cdf_transformed_distribution_without_icdf():
    # TransformedDistribution defines icdf, but its Gamma base does not: the NotImplementedError is translated.
    dist = D.TransformedDistribution(D.Gamma(torch.tensor(2.0), torch.tensor(1.0)), [D.transforms.ExpTransform()])
    with pytest.raises(TypeError, match="does not implement icdf; pass the quantile function as a callable"):
        mc.inverse_cdf_sample(dist, 10, generator=gen())


def test_inverse_cdf_with_quantile_callable_for_gamma():
    # The fix the error suggests: a quantile callable (here scipy's), KS-tested against Gamma(2, 1).
    quantile = lambda u: torch.as_tensor(stats.gamma(2.0).ppf(u.numpy()))  # noqa: E731
    x = mc.inverse_cdf_sample(quantile, 4000, generator=gen(30))
    assert stats.kstest(x.numpy(), stats.gamma(2.0).cdf).pvalue > 0.01


@pytest.mark.parametrize("name", ["a", "b"])
@pytest.mark.parametrize("limit", [torch.tensor([0.0, 1.0]), torch.zeros(2, 2), torch.zeros(0)],
                         ids=["two", "2x2", "empty"])
def test_integral_estimate_multi_element_limit(name, limit):
    kwargs = {"a": 0.0, "b": 1.0}
    kwargs[name] = limit if name == "a" else limit + 1.0
    with pytest.raises(ValueError, match=rf"^{name} must be a single number, got a tensor of shape"):
        mc.integral_estimate(lambda x: x, kwargs["a"], kwargs["b"], 10, generator=gen())


def test_integral_estimate_single_element_tensor_limits_accepted():
    a = mc.integral_estimate(lambda x: x**2, torch.tensor([0.0]), torch.tensor(1.0), 100, generator=gen(3))
    b = mc.integral_estimate(lambda x: x**2, 0.0, 1.0, 100, generator=gen(3))
    assert a == b


@pytest.mark.parametrize("flag", [1, 0, "yes", None, torch.tensor(True)], ids=["one", "zero", "str", "none", "tensor"])
def test_self_normalized_must_be_bool(flag):
    normal = D.Normal(0.0, 1.0)
    with pytest.raises(TypeError, match="self_normalized must be a bool"):
        mc.importance_estimate(lambda x: x, normal, normal, 10, self_normalized=flag, generator=gen())


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
        lambda s: mc.minimize_by_sampling(lambda x: x, s, 10, generator=gen()),
    ],
    ids=["mc_estimate", "repeated_estimates", "error_by_sample_size", "minimize_by_sampling"],
)
@pytest.mark.parametrize("sampler", [_sampler_without_generator, _sampler_positional_only_generator,
                                     lambda n, seed=None: torch.rand(n)], ids=["no-keyword", "positional-only", "other-keyword"])
def test_sampler_without_generator_keyword(call, sampler):
    with pytest.raises(TypeError, match=r"sampler must accept a generator keyword.*sampler\(num_samples, generator=None\)"):
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
    assert mc.mc_estimate(torch.sin, normal, 100, generator=gen(5)) == mc.mc_estimate(torch.sin, normal, 100, generator=gen(5))
    a = mc.rejection_sample(D.Beta(2.0, 2.0), D.Uniform(0.0, 1.0), math.log(1.5), 500, generator=gen(5))
    b = mc.rejection_sample(D.Beta(2.0, 2.0), D.Uniform(0.0, 1.0), math.log(1.5), 500, generator=gen(5))
    assert torch.equal(a.samples, b.samples) and a.acceptance_rate == b.acceptance_rate
    assert torch.equal(mc.inverse_cdf_sample(normal.icdf, 100, generator=gen(5)),
                       mc.inverse_cdf_sample(normal.icdf, 100, generator=gen(5)))
    i1 = mc.importance_estimate(torch.cos, normal, D.Normal(1.0, 2.0), 100, generator=gen(5))
    i2 = mc.importance_estimate(torch.cos, normal, D.Normal(1.0, 2.0), 100, generator=gen(5))
    assert i1 == i2
    assert not torch.equal(mc.sample_unit_square(10, generator=gen(5)), mc.sample_unit_square(10, generator=gen(6)))


def test_library_does_not_touch_global_rng():
    state = torch.random.get_rng_state()
    mc.estimate_pi(100, generator=gen())
    mc.mc_estimate(torch.sin, D.Normal(0.0, 1.0), 100, generator=gen())
    mc.rejection_sample(D.Beta(2.0, 2.0), D.Uniform(0.0, 1.0), math.log(1.5), 100, generator=gen())
    assert torch.equal(state, torch.random.get_rng_state())


# --------------------------------------------------------------------------- plotting smoke tests


def test_plotting_helpers_return_figures():
    import matplotlib.pyplot as plt

    from lecture9 import plotting

    g = gen(27)
    figs = [
        plotting.plot_pi_scatter(mc.sample_unit_square(300, generator=g)),
        plotting.plot_convergence([10, 100, 1000], [3.0, 3.1, 3.14], math.pi, standard_errors=[0.5, 0.1, 0.05]),
        plotting.plot_running_mean(torch.randn(200, generator=g), 0.0),
        plotting.plot_estimator_histogram({"a": torch.randn(100, generator=g), "b": torch.randn(100, generator=g)}, 0.0),
        plotting.plot_loglog_error([10, 100, 1000], [0.3, 0.1, 0.03]),
        plotting.plot_density_comparison(torch.randn(500, generator=g), D.Normal(0.0, 1.0),
                                         envelope=lambda x: 1.5 * torch.exp(D.Normal(0.0, 1.5).log_prob(x))),
        plotting.plot_integrand_and_proposals(torch.linspace(-5, 5, 101), lambda x: 1 / (1 + x**2),
                                              {"Normal": D.Normal(0.0, 1.0), "Cauchy": D.Cauchy(0.0, 1.0)}, log_y=True),
        plotting.plot_sgd_trajectory(torch.linspace(0, 3, 20), 3.0),
    ]
    for fig in figs:
        assert isinstance(fig, matplotlib.figure.Figure)
        plt.close(fig)
    assert "plot_pi_scatter" in plotting.__all__
