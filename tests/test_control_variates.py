"""Tests of lecture9.control_variates against closed forms and quadrature.

Tolerances are derived from standard errors (5 SE at a fixed seed) or from exact
arithmetic. The problem: the Fig. 2 problem of Mohamed et al. (2020), f(x) = (x - k)^2,
x ~ N(mu, sigma^2); closed forms (d = mu - k): grad_mu = 2 d, grad_sigma = 2 sigma.
"""

from __future__ import annotations

import math

import pytest
import torch
from conftest import exact_quadratic_grad, gaussian_params, gen, quadratic, variance_and_se

from lecture9 import baselines as bl
from lecture9 import control_variates as cv
from lecture9 import estimators, reference

Normal = torch.distributions.Normal
DTYPE = torch.float64


# ---------------------------------------------------------------------------
# The general construction
# ---------------------------------------------------------------------------


def test_control_variate_per_sample_formula():
    f = torch.tensor([[1.0, 2.0], [3.0, 5.0], [4.0, 1.0]], dtype=DTYPE)
    h = torch.tensor([[0.5, 1.0], [1.5, -1.0], [2.0, 0.0]], dtype=DTYPE)
    out = cv.control_variate(
        f, h, torch.tensor([1.0, 0.0], dtype=DTYPE), beta=torch.tensor([2.0, -1.0], dtype=DTYPE)
    )
    expected = f - torch.tensor([2.0, -1.0], dtype=DTYPE) * (
        h - torch.tensor([1.0, 0.0], dtype=DTYPE)
    )
    torch.testing.assert_close(out, expected)


def test_optimal_beta_and_correlation_match_hand_formulas():
    g = gen(0)
    f = torch.randn(50, 3, generator=g, dtype=DTYPE)
    h = f + torch.randn(50, 3, generator=g, dtype=DTYPE)
    fc, hc = f - f.mean(0), h - h.mean(0)
    torch.testing.assert_close(cv.optimal_beta(f, h), (fc * hc).sum(0) / (hc * hc).sum(0))
    rho = (fc * hc).sum(0) / ((fc * fc).sum(0) * (hc * hc).sum(0)).sqrt()
    torch.testing.assert_close(cv.correlation(f, h), rho)
    torch.testing.assert_close(cv.variance_reduction_factor(rho), 1 - rho**2)
    assert cv.variance_reduction_factor(0.6) == pytest.approx(0.64)


def test_estimated_beta_minimises_the_sample_variance():
    # With the same-sample beta the adjusted sample variance equals (1 - rho_hat^2) Var_hat(f) exactly.
    g = gen(1)
    x = torch.randn(1000, generator=g, dtype=DTYPE)
    f, h = torch.exp(x), x
    out = cv.control_variate(f, h, 0.0, beta="estimate")
    rho = cv.correlation(f, h)
    torch.testing.assert_close(out.var(), (1 - rho**2) * f.var())


def test_leave_one_out_beta_matches_a_loop():
    g = gen(2)
    f = torch.randn(7, 2, generator=g, dtype=DTYPE)
    h = 0.5 * f + torch.randn(7, 2, generator=g, dtype=DTYPE)
    out = cv.control_variate(f, h, 0.25, beta="leave_one_out")
    for n in range(7):
        keep = [i for i in range(7) if i != n]
        beta_n = cv.optimal_beta(f[keep], h[keep])
        torch.testing.assert_close(out[n], f[n] - beta_n * (h[n] - 0.25))


def test_same_sample_beta_is_biased_leave_one_out_and_pilot_are_not():
    # E[e^U], U ~ U(0, 1), h = U, N = 5 samples, 20 000 repetitions (columns).
    n, reps = 5, 20_000
    u = torch.rand(n, reps, generator=gen(20), dtype=DTYPE)
    u_pilot = torch.rand(n, reps, generator=gen(21), dtype=DTYPE)
    beta_pilot = cv.optimal_beta(torch.exp(u_pilot), u_pilot)
    errors = {
        beta if isinstance(beta, str) else "pilot": cv.control_variate(
            torch.exp(u), u, 0.5, beta=beta
        ).mean(0)
        - (math.e - 1)
        for beta in ("estimate", "leave_one_out", beta_pilot)
    }
    se = {name: float(err.std()) / math.sqrt(reps) for name, err in errors.items()}
    assert (
        float(errors["estimate"].mean()) < -10 * se["estimate"]
    )  # O(1/N) bias, clearly visible at N = 5
    for name in ("leave_one_out", "pilot"):
        assert abs(float(errors[name].mean())) < 5 * se[name]


@pytest.mark.parametrize(
    "f, h_mean, name",
    [
        # f(x) = exp(x / 2), h(x) = x, x ~ N(0, 1): a simple integral.
        (lambda x: torch.exp(x / 2), 0.0, "exp"),
    ],
)
def test_variance_ratio_matches_one_minus_rho_squared_simple(f, h_mean, name):
    e = math.exp
    exact = 1 - 0.25 * e(0.25) / (
        e(0.5) - e(0.25)
    )  # rho^2 = Cov(f, x)^2 / Var f, Cov = e^{1/8} / 2
    # the same number by quadrature
    mean_f = reference.gaussian_expectation(f, 0.0, 1.0)
    var_f = reference.gaussian_expectation(lambda x: f(x) ** 2, 0.0, 1.0) - mean_f**2
    cov = reference.gaussian_expectation(lambda x: f(x) * x, 0.0, 1.0)
    assert 1 - cov**2 / var_f == pytest.approx(exact, rel=1e-10)
    x = torch.randn(200_000, generator=gen(3), dtype=DTYPE)
    fx = f(x)
    ratio = cv.control_variate(fx, x, h_mean).var() / fx.var()
    # relative SE of the ratio at this N is about 0.9 % (measured over seeds): 5 % is > 5 SE.
    assert float(ratio) == pytest.approx(exact, rel=0.05)


@pytest.mark.parametrize("param", ["loc", "scale"])
@pytest.mark.parametrize("k", [0.0, 3.0])
def test_variance_ratio_matches_one_minus_rho_squared_score_function(param, k):
    # Control variate h = score (E h = 0) for the score-function estimator on the Fig. 2 problem.
    f = quadratic(k)
    m = reference.gaussian_score_function_moments(f, 1.0, 1.0, param)
    rho2 = m.mean_f_s2**2 / (m.mean_s2 * (m.mean_f2_s2 - m.grad**2))  # Cov(fs, s) = E[f s^2]
    exact = cv.variance_reduction_factor(math.sqrt(rho2))
    assert exact == pytest.approx(m.optimal_variance / m.variance(), rel=1e-10)
    x = 1 + torch.randn(100_000, generator=gen(4), dtype=DTYPE)
    s = reference.gaussian_scores(x, 1.0, 1.0)[param]
    fs = f(x) * s
    ratio = cv.control_variate(fs, s, 0.0).var() / fs.var()
    assert float(ratio) == pytest.approx(exact, rel=0.05)  # relative SE about 0.8 %


# ---------------------------------------------------------------------------
# Unbiasedness with estimators, over many seeds; the delta method
# ---------------------------------------------------------------------------


def test_every_method_keeps_the_mean_over_many_seeds():
    """Controlled minus plain has mean zero (within 5 SE); controlled mean equals the exact gradient."""
    k, n, seeds = 3.0, 16, 200
    f = quadratic(k)
    params = gaussian_params()
    exact = exact_quadratic_grad(k)
    b_star = reference.exact_optimal_baseline(f, 1.0, 1.0)
    x_pilot = 1 + torch.randn(64, generator=gen(10_001), dtype=DTYPE)  # an independent pilot batch
    b_pilot = bl.optimal_baseline(f(x_pilot), reference.gaussian_scores(x_pilot, 1.0, 1.0))
    ema = bl.MovingAverageBaseline(decay=0.8)
    ema.update(f(1 + torch.randn(32, generator=gen(10_002), dtype=DTYPE)))

    def sf(baseline):
        return lambda g: estimators.score_function_grad(
            f, Normal, params, n, baseline=baseline, generator=g
        )

    methods = {
        "constant": sf(5.0),
        "optimal exact": sf(b_star),
        "optimal pilot": sf(b_pilot),
        "moving average": sf(ema),
        "rloo K=4": sf(bl.LeaveOneOutBaseline(4)),
        "delta sf order 1": lambda g: cv.delta_method_grad(
            f, params, n, order=1, beta=1.0, generator=g
        ),
        "delta sf loo beta": lambda g: cv.delta_method_grad(
            f, params, n, order=1, beta="leave_one_out", generator=g
        ),
        "delta pathwise order 1": lambda g: cv.delta_method_grad(
            f, params, n, estimator="pathwise", order=1, beta=1.0, generator=g
        ),
    }
    plain = [
        estimators.score_function_grad(f, Normal, params, n, generator=gen(seed))
        for seed in range(seeds)
    ]
    for name, method in methods.items():
        controlled = [method(gen(seed)) for seed in range(seeds)]
        for p in params:
            v = torch.stack([c[p].mean() for c in controlled])
            d = v - torch.stack([q[p].mean() for q in plain])
            se_v, se_d = float(v.std()) / math.sqrt(seeds), float(d.std()) / math.sqrt(seeds)
            assert abs(float(v.mean()) - exact[p]) < 5 * se_v + 1e-12, (name, p)
            assert abs(float(d.mean())) < 5 * se_d + 1e-9, (name, p)


def test_delta_method_is_exact_for_a_quadratic():
    f = quadratic(-3.0)
    exact = exact_quadratic_grad(-3.0)
    for estimator in ("score_function", "pathwise"):
        grads = cv.delta_method_grad(
            f, gaussian_params(), 64, estimator=estimator, order=2, beta=1.0, generator=gen(8)
        )
        for p in exact:
            torch.testing.assert_close(grads[p], torch.full((64,), exact[p], dtype=DTYPE))


def test_delta_method_terms_per_sample_formula():
    """The plain terms and the control variates at given samples, against the hand-written Taylor formulas."""
    f = lambda x: torch.sin(x)  # noqa: E731
    loc, scale = torch.tensor(0.3, dtype=DTYPE), torch.tensor(0.7, dtype=DTYPE)
    x = torch.tensor([0.0, 1.0, -2.0], dtype=DTYPE)
    c0, c1, c2 = math.sin(0.3), math.cos(0.3), -math.sin(0.3)
    d = x - 0.3
    plain, cvs = cv._delta_terms(f, loc, scale, estimators.get("score_function"), 2, x)
    f_tilde = c0 + c1 * d + 0.5 * c2 * d**2
    torch.testing.assert_close(plain["loc"], torch.sin(x) * d / 0.49)
    torch.testing.assert_close(plain["scale"], torch.sin(x) * (d**2 - 0.49) / 0.7**3)
    torch.testing.assert_close(cvs["loc"][0], f_tilde * d / 0.49)
    assert float(cvs["scale"][1]) == pytest.approx(0.7 * c2)
    eps = d / 0.7
    plain, cvs = cv._delta_terms(f, loc, scale, estimators.get("pathwise"), 1, eps)
    torch.testing.assert_close(plain["scale"], torch.cos(x) * eps)
    torch.testing.assert_close(cvs["scale"][0], c1 * d / 0.7)
    assert float(cvs["scale"][1]) == 0.0


def test_delta_method_unbiased_for_a_non_polynomial_cost():
    f = lambda x: torch.sin(2 * x)  # noqa: E731  exact: d/dmu = 2 cos(2 mu) e^{-2 s^2}; d/ds = -4 s sin(2 mu) e^{-2 s^2}
    mu, s, n = 0.4, 0.8, 20_000
    exact = {
        "loc": 2 * math.cos(2 * mu) * math.exp(-2 * s**2),
        "scale": -4 * s * math.sin(2 * mu) * math.exp(-2 * s**2),
    }
    for estimator in ("score_function", "pathwise"):
        grads = cv.delta_method_grad(
            f, gaussian_params(mu, s), n, estimator=estimator, order=2, beta=1.0, generator=gen(9)
        )
        plain = cv.delta_method_grad(
            f, gaussian_params(mu, s), n, estimator=estimator, order=2, beta=0.0, generator=gen(9)
        )
        fitted = cv.delta_method_grad(
            f, gaussian_params(mu, s), n, estimator=estimator, beta="estimate", generator=gen(9)
        )
        for p in exact:
            assert abs(float(grads[p].mean()) - exact[p]) < 5 * float(grads[p].std()) / math.sqrt(n)
            # Exact variances by quadrature: V(beta) = V(0) - 2 beta Cov(v, h) + beta^2 Var(h), so three values
            # of beta give Cov and Var(h), and the optimum V(0) - Cov^2 / Var(h) that a fitted beta approaches.
            v_minus, v_plain, v_one = (
                cv.delta_method_moments(f, mu, s, p, estimator=estimator, order=2, beta=b)[1]
                for b in (-1.0, 0.0, 1.0)
            )
            cov, var_h = (v_minus - v_one) / 4, (v_minus + v_one) / 2 - v_plain
            v_optimal = v_plain - cov**2 / var_h if var_h > 1e-12 else v_plain
            for values, expected in (
                (plain[p], v_plain),
                (grads[p], v_one),
                (fitted[p], v_optimal),
            ):
                measured, se = variance_and_se(values)
                assert abs(measured - expected) < 5 * se, (estimator, p, measured, expected, se)


def test_delta_method_moments_match_closed_forms():
    # f = (x - k)^2, sigma = 1: the first-order remainder is (x - mu)^2, so the score-function variances are
    # Var[z^2 z] = 15 (loc) and Var[z^2 (z^2 - 1)] = 74 (scale); pathwise: 4 (loc, unchanged) and Var[2 z^2] = 8.
    f = quadratic(3.0)
    expected = {
        ("score_function", 1): (15.0, 74.0),
        ("pathwise", 1): (4.0, 8.0),
        ("score_function", 2): (0.0, 0.0),
        ("pathwise", 2): (0.0, 0.0),
    }
    for (estimator, order), variances in expected.items():
        for p, var in zip(("loc", "scale"), variances):
            mean, variance = cv.delta_method_moments(
                f, 1.0, 1.0, p, estimator=estimator, order=order
            )
            assert mean == pytest.approx(exact_quadratic_grad(3.0)[p], rel=1e-9)
            assert variance == pytest.approx(var, abs=1e-8)
    _, plain = cv.delta_method_moments(f, 1.0, 1.0, "loc", beta=0.0)
    assert plain == pytest.approx(
        reference.quadratic_variance("score_function", 3.0, param="loc"), rel=1e-9
    )


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


def test_bad_inputs_raise_clear_errors():
    f = torch.randn(10, 2, generator=gen(0))
    with pytest.raises(ValueError, match="f_values has shape .* but h_values has shape"):
        cv.control_variate(f, torch.randn(10, 3, generator=gen(1)), 0.0)
    with pytest.raises(ValueError, match="zero variance"):
        cv.control_variate(f, torch.full((10, 2), 3.0), 3.0)
    with pytest.raises(ValueError, match="zero variance"):
        cv.optimal_beta(f, torch.zeros(10, 2))
    with pytest.raises(ValueError, match="zero variance"):
        cv.control_variate(f, torch.full((10, 2), 0.1), 0.1, beta="leave_one_out")
    with pytest.raises(ValueError, match="zero variance"):
        cv.correlation(f, torch.ones(10, 2))
    with pytest.raises(ValueError, match="h_mean has shape"):
        cv.control_variate(f, torch.randn(10, 2, generator=gen(2)), torch.zeros(3))
    with pytest.raises(ValueError, match="beta must be"):
        cv.control_variate(f, torch.randn(10, 2, generator=gen(2)), 0.0, beta="best")
    with pytest.raises(TypeError, match="f_values must be a torch.Tensor"):
        cv.control_variate([1.0, 2.0], torch.randn(2), 0.0)
    with pytest.raises(ValueError, match="rho must be a correlation"):
        cv.variance_reduction_factor(1.5)


def test_other_bad_inputs():
    with pytest.raises(ValueError, match="estimator must be one of"):
        cv.delta_method_grad(quadratic(0.0), gaussian_params(), 4, estimator="measure_valued")
    with pytest.raises(ValueError, match="order must be 1 or 2"):
        cv.delta_method_grad(quadratic(0.0), gaussian_params(), 4, order=3)
    with pytest.raises(ValueError, match="param must be"):
        cv.delta_method_moments(quadratic(0.0), 1.0, 1.0, "rate")


def test_non_finite_input_is_named():
    f = torch.randn(10, generator=gen(0), dtype=DTYPE)
    bad = f.clone()
    bad[3] = float("nan")
    with pytest.raises(ValueError, match="f_values must be finite"):
        cv.optimal_beta(bad, f)
    with pytest.raises(ValueError, match="h_values must be finite"):
        cv.control_variate(f, bad, 0.0)
    with pytest.raises(ValueError, match="h_mean must be finite"):
        cv.control_variate(f, f, float("inf"))
    with pytest.raises(ValueError, match="beta must be finite"):
        cv.control_variate(f, f, 0.0, beta=float("nan"))
    with pytest.raises(ValueError, match="rho must be finite"):
        cv.variance_reduction_factor(float("nan"))
    with pytest.raises(ValueError, match="rho must be finite"):
        cv.variance_reduction_factor(torch.tensor([0.5, float("nan")]))


def test_taylor_coefficients_names_a_bad_loc():
    with pytest.raises(TypeError, match="loc must be a number or a tensor"):
        cv.taylor_coefficients(quadratic, "abc")
    assert [float(c) for c in cv.taylor_coefficients(lambda x: x**2, torch.tensor(1))] == [
        1.0,
        2.0,
        2.0,
    ]


def test_taylor_coefficients_names_a_non_finite_loc():
    with pytest.raises(ValueError, match="^loc must be finite"):
        cv.taylor_coefficients(quadratic, float("nan"))
