"""Tests for lecture9.estimators against exact gradients, exact per-sample formulas and quadrature."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import assert_unbiased as check_unbiased
from conftest import gen, variance_and_se
from scipy import stats

from lecture9 import estimators, reference, sampling

D = torch.distributions
Normal = D.Normal
LOC, SCALE = 1.0, 1.0
DTYPE = torch.float64


def normal_params(loc=LOC, scale=SCALE, shape=()):
    return {
        "loc": torch.full(shape, loc, dtype=DTYPE),
        "scale": torch.full(shape, scale, dtype=DTYPE),
    }


COSTS = {
    "constant": lambda x: torch.full_like(x, 2.5),
    "linear": lambda x: 3.0 * x - 1.0,
    "quadratic": lambda x: (x - 3.0) ** 2,
    "exp": lambda x: torch.exp(-1.0 * x**2),
    "cos": lambda x: torch.cos(1.58 * x),
}


def optimal_baseline(f, loc=LOC, scale=SCALE):
    """b* = E[f s^2] / E[s^2] per parameter, by quadrature."""
    e_fz2 = reference.gaussian_expectation(lambda x: f(x) * ((x - loc) / scale) ** 2, loc, scale)
    e_fz4 = reference.gaussian_expectation(
        lambda x: f(x) * (((x - loc) / scale) ** 2 - 1) ** 2, loc, scale
    )
    return {"loc": e_fz2, "scale": e_fz4 / 2.0}


def run(name, f, params, num_samples, generator):
    if name == "score_function":
        return estimators.score_function_grad(f, Normal, params, num_samples, generator=generator)
    if name == "score_function_optimal_baseline":
        return estimators.score_function_grad(
            f, Normal, params, num_samples, baseline=optimal_baseline(f), generator=generator
        )
    if name == "pathwise":
        return estimators.pathwise_grad(f, Normal, params, num_samples, generator=generator)
    return estimators.measure_valued_grad(
        f,
        Normal,
        params,
        num_samples,
        coupled=name == "measure_valued_coupled",
        generator=generator,
    )


# ------------------------------------------------------------------------------------------------
# unbiasedness
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("estimator", reference.ESTIMATORS)
@pytest.mark.parametrize("cost", sorted(COSTS))
def test_unbiased_for_normal_loc_and_scale(estimator, cost):
    f = COSTS[cost]
    n = 10_000
    grads = run(estimator, f, normal_params(), n, gen(1))
    truth = reference.exact_gradient(f, LOC, SCALE)
    for param in ("loc", "scale"):
        assert grads[param].shape == (n,)
        _, variance = reference.estimator_moments(estimator, f, LOC, SCALE, param)
        se = math.sqrt(max(variance, 0.0) / n)
        error = abs(grads[param].mean().item() - truth[param])
        assert error <= 5 * se + 1e-10, f"{estimator} {param}: error {error:.3g}, 5 se {5 * se:.3g}"


# ------------------------------------------------------------------------------------------------
# exact per-sample formulas
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_score_function_per_sample_formula(shape):
    loc = torch.linspace(-1.0, 1.0, math.prod(shape) or 1, dtype=DTYPE).reshape(shape)
    scale = torch.linspace(0.5, 2.0, math.prod(shape) or 1, dtype=DTYPE).reshape(shape)
    params = {"loc": loc, "scale": scale}
    f = COSTS["cos"]
    grads = estimators.score_function_grad(f, Normal, params, 50, generator=gen(7))
    x = sampling.draw(Normal(**params), (50,), gen(7))
    torch.testing.assert_close(grads["loc"], f(x) * (x - loc) / scale**2)
    torch.testing.assert_close(grads["scale"], f(x) * ((x - loc) ** 2 / scale**3 - 1 / scale))


def test_pathwise_per_sample_equals_autograd_of_the_same_sample_path():
    params = {
        "loc": torch.tensor([0.3, -1.0], dtype=DTYPE),
        "scale": torch.tensor([1.5, 0.7], dtype=DTYPE),
    }
    f = lambda x: torch.sin(2 * x) * x**2  # noqa: E731
    grads = estimators.pathwise_grad(f, Normal, params, 6, generator=gen(3))
    eps = torch.randn((6, 2), dtype=DTYPE, generator=gen(3))
    for i in range(6):  # the reference: a per-sample autograd loop over the same noise
        loc = params["loc"].clone().requires_grad_()
        scale = params["scale"].clone().requires_grad_()
        d_loc, d_scale = torch.autograd.grad(f(loc + scale * eps[i]).sum(), (loc, scale))
        torch.testing.assert_close(grads["loc"][i], d_loc)
        torch.testing.assert_close(grads["scale"][i], d_scale)
    # and the samples are those of `sampling.draw` with the same seed
    torch.testing.assert_close(
        sampling.draw(Normal(**params), (6,), gen(3)), params["loc"] + params["scale"] * eps
    )


def test_draw_is_differentiable_for_reparameterizable_families():
    loc = torch.tensor(0.5, dtype=DTYPE, requires_grad=True)
    x = sampling.draw(Normal(loc, torch.tensor(2.0, dtype=DTYPE)), (4,), gen())
    x.sum().backward()
    assert loc.grad.item() == pytest.approx(4.0)


def test_measure_valued_bernoulli_per_sample_is_the_finite_difference():
    f = lambda x: (x - 0.3) ** 2 * 3 + x  # noqa: E731
    probs = torch.tensor([0.2, 0.9], dtype=DTYPE)
    grads = estimators.measure_valued_grad(f, D.Bernoulli, {"probs": probs}, 5, generator=gen())
    torch.testing.assert_close(
        grads["probs"], torch.full((5, 2), f(torch.tensor(1.0)) - f(torch.tensor(0.0)), dtype=DTYPE)
    )


def _recording(f):
    """A cost that records the samples it is evaluated at."""
    calls = []

    def cost(x):
        calls.append(x.clone())
        return f(x)

    return cost, calls


@pytest.mark.parametrize("coupled", [True, False])
def test_measure_valued_normal_per_sample_formula(coupled):
    """Each per-sample estimate is c (f(x+) - f(x-)) at the points f was evaluated at, and those points
    have the laws of the weak derivative (Mohamed et al. 2020, Sec. 6): x+- = mu +- sigma W, W Rayleigh,
    for loc; x+ = mu + sigma M, M double-sided Maxwell, and x- ~ N(mu, sigma^2) (or mu + sigma U M) for scale."""
    loc = torch.tensor([0.3, -1.0], dtype=DTYPE)
    scale = torch.tensor([1.5, 0.7], dtype=DTYPE)
    f = lambda x: torch.sin(2 * x) + x**2  # noqa: E731  neither even nor odd about loc
    cost, calls = _recording(f)
    n = 4000
    grads = estimators.measure_valued_grad(
        cost, Normal, {"loc": loc, "scale": scale}, n, coupled=coupled, generator=gen(5)
    )
    assert len(calls) == 4  # x+ and x- for loc, then for scale
    loc_plus, loc_minus, scale_plus, scale_minus = calls
    torch.testing.assert_close(
        grads["loc"], (f(loc_plus) - f(loc_minus)) / (scale * math.sqrt(2 * math.pi))
    )
    torch.testing.assert_close(grads["scale"], (f(scale_plus) - f(scale_minus)) / scale)
    w_plus, w_minus = (loc_plus - loc) / scale, (loc - loc_minus) / scale
    if coupled:
        torch.testing.assert_close(w_plus, w_minus)
    for w in (w_plus, w_minus):
        assert stats.kstest(w.flatten().numpy(), stats.rayleigh.cdf).pvalue > 1e-3
    m = (scale_plus - loc) / scale
    assert stats.kstest(m.abs().flatten().numpy(), stats.maxwell.cdf).pvalue > 1e-3
    assert abs(float((m > 0).double().mean()) - 0.5) < 5 * 0.5 / math.sqrt(m.numel())
    z = (scale_minus - loc) / scale
    if coupled:  # x- = mu + sigma U M with U ~ U(0, 1) shared with M
        assert stats.kstest((z / m).flatten().numpy(), stats.uniform.cdf).pvalue > 1e-3
    assert stats.kstest(z.flatten().numpy(), stats.norm.cdf).pvalue > 1e-3


@pytest.mark.parametrize("coupled", [True, False])
def test_measure_valued_poisson_per_sample_formula(coupled):
    # x+ = x + 1 and x- = x (coupled) or an independent Poisson draw x' (uncoupled); c = 1.
    rate = torch.tensor([0.5, 4.0], dtype=DTYPE)
    f = lambda x: torch.cos(x) * x  # noqa: E731
    n = 64
    grads = estimators.measure_valued_grad(
        f, D.Poisson, {"rate": rate}, n, coupled=coupled, generator=gen(6)
    )
    g = gen(6)
    x = torch.poisson(rate.expand(n, 2).contiguous(), generator=g)
    x_minus = x if coupled else torch.poisson(rate.expand(n, 2).contiguous(), generator=g)
    torch.testing.assert_close(grads["rate"], f(x + 1) - f(x_minus))


@pytest.mark.parametrize("coupled", [True, False])
def test_measure_valued_exponential_per_sample_formula(coupled):
    # x+ = E1 ~ Exp(rate), x- ~ Gamma(2, rate): E1 + E2 (coupled) or E2 + E3 (uncoupled); c = 1 / rate.
    rate = torch.tensor([0.5, 2.0], dtype=DTYPE)
    f = lambda x: torch.sin(x)  # noqa: E731
    cost, calls = _recording(f)
    n = 4000
    grads = estimators.measure_valued_grad(
        cost, D.Exponential, {"rate": rate}, n, coupled=coupled, generator=gen(7)
    )
    x_plus, x_minus = calls
    torch.testing.assert_close(grads["rate"], (f(x_plus) - f(x_minus)) / rate)
    for i, r in enumerate(rate.tolist()):
        assert stats.kstest(x_plus[:, i].numpy(), stats.expon(scale=1 / r).cdf).pvalue > 1e-3
        assert stats.kstest(x_minus[:, i].numpy(), stats.gamma(2.0, scale=1 / r).cdf).pvalue > 1e-3
    if coupled:
        assert bool((x_minus > x_plus).all())


# ------------------------------------------------------------------------------------------------
# variance against quadrature
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("estimator", reference.ESTIMATORS)
@pytest.mark.parametrize("k", [-3.0, 0.0, 3.0])
def test_monte_carlo_variance_matches_quadrature(estimator, k):
    f = lambda x: (x - k) ** 2  # noqa: E731
    n = 50_000
    grads = run(estimator, f, normal_params(), n, gen(11))
    for param in ("loc", "scale"):
        _, exact = reference.estimator_moments(estimator, f, LOC, SCALE, param)
        mc, se = variance_and_se(grads[param])
        assert abs(mc - exact) <= 5 * se + 1e-9, (
            f"{estimator} {param} k={k}: {mc:.4g} vs {exact:.4g} (se {se:.2g})"
        )


@pytest.mark.parametrize("estimator", reference.ESTIMATORS)
@pytest.mark.parametrize("f", [lambda x: torch.exp(-10.0 * x**2), lambda x: torch.cos(5.0 * x)])
def test_monte_carlo_variance_matches_quadrature_for_figure3_costs(estimator, f):
    n = 50_000
    grads = run(estimator, f, normal_params(), n, gen(5))
    for param in ("loc", "scale"):
        _, exact = reference.estimator_moments(estimator, f, LOC, SCALE, param)
        mc, se = variance_and_se(grads[param])
        assert abs(mc - exact) <= 5 * se + 1e-9


# ------------------------------------------------------------------------------------------------
# discrete families and other measures
# ------------------------------------------------------------------------------------------------


def test_bernoulli_score_function_and_measure_valued_match_enumeration():
    f = lambda x: torch.exp(x) - 2 * x  # noqa: E731
    probs = torch.tensor([0.1, 0.5, 0.8], dtype=DTYPE)
    # d/dp [p f(1) + (1 - p) f(0)] = f(1) - f(0)
    truth = (f(torch.tensor(1.0, dtype=DTYPE)) - f(torch.tensor(0.0, dtype=DTYPE))).expand(3)
    check_unbiased(
        estimators.score_function_grad(f, D.Bernoulli, {"probs": probs}, 40_000, generator=gen())[
            "probs"
        ],
        truth,
    )
    mv = estimators.measure_valued_grad(f, D.Bernoulli, {"probs": probs}, 10, generator=gen())[
        "probs"
    ]
    torch.testing.assert_close(mv, truth.expand(10, 3))
    # logits: chain rule, times p (1 - p)
    logits = torch.tensor([-1.0, 0.0, 2.0], dtype=DTYPE)
    p = torch.sigmoid(logits)
    truth_logits = truth * p * (1 - p)
    check_unbiased(
        estimators.score_function_grad(f, D.Bernoulli, {"logits": logits}, 40_000, generator=gen())[
            "logits"
        ],
        truth_logits,
    )
    torch.testing.assert_close(
        estimators.measure_valued_grad(f, D.Bernoulli, {"logits": logits}, 4, generator=gen())[
            "logits"
        ],
        truth_logits.expand(4, 3),
    )


@pytest.mark.parametrize("coupled", [True, False])
def test_poisson_gradients_match_truncated_series(coupled):
    f = lambda x: torch.cos(x)  # noqa: E731
    rate = torch.tensor([0.5, 2.0, 6.0], dtype=DTYPE)
    r = rate.clone().requires_grad_()
    ks = torch.arange(120, dtype=DTYPE)[:, None]
    (truth,) = torch.autograd.grad((D.Poisson(r).log_prob(ks).exp() * f(ks)).sum(), r)
    check_unbiased(
        estimators.measure_valued_grad(
            f, D.Poisson, {"rate": rate}, 40_000, coupled=coupled, generator=gen()
        )["rate"],
        truth,
    )
    check_unbiased(
        estimators.score_function_grad(f, D.Poisson, {"rate": rate}, 40_000, generator=gen())[
            "rate"
        ],
        truth,
    )


def test_categorical_score_function_matches_enumeration():
    values = torch.tensor([1.0, -2.0, 3.0], dtype=DTYPE)
    f = lambda x: values[x]  # noqa: E731
    probs = torch.tensor([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]], dtype=DTYPE)
    p = probs.clone().requires_grad_()
    (truth,) = torch.autograd.grad((D.Categorical(probs=p).probs * values).sum(), p)
    grads = estimators.score_function_grad(
        f, D.Categorical, {"probs": probs}, 40_000, generator=gen()
    )
    assert grads["probs"].shape == (40_000, 2, 3)
    check_unbiased(grads["probs"], truth)
    logits = torch.tensor([0.5, -1.0, 0.0], dtype=DTYPE)
    lg = logits.clone().requires_grad_()
    (truth,) = torch.autograd.grad((torch.softmax(lg, -1) * values).sum(), lg)
    check_unbiased(
        estimators.score_function_grad(
            f, D.Categorical, {"logits": logits}, 40_000, generator=gen()
        )["logits"],
        truth,
    )


@pytest.mark.parametrize("coupled", [True, False])
def test_exponential_rate_all_estimators(coupled):
    f = lambda x: torch.sin(x)  # noqa: E731  E[sin X] = rate / (1 + rate^2)
    rate = torch.tensor([0.5, 2.0], dtype=DTYPE)
    truth = (1 - rate**2) / (1 + rate**2) ** 2
    params = {"rate": rate}
    check_unbiased(
        estimators.measure_valued_grad(
            f, D.Exponential, params, 40_000, coupled=coupled, generator=gen()
        )["rate"],
        truth,
    )
    check_unbiased(
        estimators.score_function_grad(f, D.Exponential, params, 40_000, generator=gen())["rate"],
        truth,
    )
    check_unbiased(
        estimators.pathwise_grad(f, D.Exponential, params, 40_000, generator=gen())["rate"], truth
    )


def logistic(loc, scale):
    base = D.Uniform(torch.zeros_like(loc), torch.ones_like(loc))
    return D.TransformedDistribution(
        base, [D.SigmoidTransform().inv, D.AffineTransform(loc, scale)]
    )


OTHER_FAMILIES = {
    "Laplace": (D.Laplace, {"loc": 0.5, "scale": 1.2}),
    "Logistic": (logistic, {"loc": 0.5, "scale": 1.2}),
    "Gumbel": (D.Gumbel, {"loc": 0.5, "scale": 1.2}),
    "Cauchy": (D.Cauchy, {"loc": 0.5, "scale": 1.2}),
    "StudentT": (D.StudentT, {"df": 5.0, "loc": 0.5, "scale": 1.2}),
    "Weibull": (D.Weibull, {"scale": 1.5, "concentration": 2.0}),
    "Gamma": (D.Gamma, {"concentration": 2.5, "rate": 1.2}),
    "Exponential": (D.Exponential, {"rate": 1.3}),
}


@pytest.mark.parametrize("family", sorted(OTHER_FAMILIES))
def test_pathwise_agrees_with_score_function_for_other_families(family):
    distribution, values = OTHER_FAMILIES[family]
    params = {k: torch.tensor(v, dtype=DTYPE) for k, v in values.items()}
    f = lambda x: torch.exp(-0.5 * x**2)  # noqa: E731  bounded and smooth: finite variance for every family
    n = 20_000
    pw = estimators.pathwise_grad(f, distribution, params, n, generator=gen(1))
    sf = estimators.score_function_grad(f, distribution, params, n, generator=gen(2))
    for name in params:
        se = math.sqrt(pw[name].var().item() / n + sf[name].var().item() / n)
        assert abs(pw[name].mean().item() - sf[name].mean().item()) <= 5 * se, name


SAMPLED = {
    "Normal": (Normal, {"loc": 0.5, "scale": 1.2}, stats.norm(0.5, 1.2)),
    "Laplace": (D.Laplace, {"loc": 0.5, "scale": 1.2}, stats.laplace(0.5, 1.2)),
    "Logistic": (logistic, {"loc": 0.5, "scale": 1.2}, stats.logistic(0.5, 1.2)),
    "Cauchy": (D.Cauchy, {"loc": 0.5, "scale": 1.2}, stats.cauchy(0.5, 1.2)),
    "Exponential": (D.Exponential, {"rate": 2.0}, stats.expon(scale=0.5)),
    "Gumbel": (D.Gumbel, {"loc": 0.5, "scale": 1.2}, stats.gumbel_r(0.5, 1.2)),
    "Uniform": (D.Uniform, {"low": -1.0, "high": 2.0}, stats.uniform(-1.0, 3.0)),
    "Weibull": (D.Weibull, {"scale": 1.5, "concentration": 2.0}, stats.weibull_min(2.0, scale=1.5)),
    "Pareto": (D.Pareto, {"scale": 1.5, "alpha": 3.0}, stats.pareto(3.0, scale=1.5)),
    "StudentT": (D.StudentT, {"df": 4.0, "loc": 0.5, "scale": 1.2}, stats.t(4.0, 0.5, 1.2)),
    "Gamma": (D.Gamma, {"concentration": 2.5, "rate": 2.0}, stats.gamma(2.5, scale=0.5)),
}


@pytest.mark.parametrize("family", sorted(SAMPLED))
def test_draw_has_the_right_distribution(family):
    distribution, values, frozen = SAMPLED[family]
    params = {k: torch.tensor(v, dtype=DTYPE) for k, v in values.items()}
    x = sampling.draw(distribution(**params), (5_000,), gen(2))
    assert x.shape == (5_000,)
    assert stats.kstest(x.numpy(), frozen.cdf).pvalue > 1e-3


@pytest.mark.parametrize(
    ("distribution", "params", "mean"),
    [
        (D.Bernoulli, {"probs": torch.tensor([0.2, 0.7])}, torch.tensor([0.2, 0.7])),
        (D.Poisson, {"rate": torch.tensor([0.5, 4.0])}, torch.tensor([0.5, 4.0])),
        (D.Categorical, {"probs": torch.tensor([0.2, 0.3, 0.5])}, torch.tensor(0.3 + 1.0)),
    ],
)
def test_draw_discrete_families(distribution, params, mean):
    x = sampling.draw(distribution(**params), (20_000,), gen())
    assert x.shape == (20_000, *mean.shape)
    se = x.double().std(0) / math.sqrt(20_000)
    assert ((x.double().mean(0) - mean).abs() <= 5 * se).all()


# ------------------------------------------------------------------------------------------------
# batches, baselines, surrogate
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
@pytest.mark.parametrize("estimator", reference.ESTIMATORS)
def test_batched_parameters(estimator, shape):
    size = math.prod(shape)
    loc = torch.linspace(-1.0, 1.0, size, dtype=DTYPE).reshape(shape)
    scale = torch.linspace(0.5, 1.5, size, dtype=DTYPE).reshape(shape)
    f = COSTS["quadratic"]  # (x - 3)^2: d/dloc = 2 (loc - 3), d/dscale = 2 scale
    params = {"loc": loc, "scale": scale}
    if estimator == "score_function_optimal_baseline":
        b_star = {
            "loc": (loc - 3) ** 2 + 3 * scale**2,
            "scale": (loc - 3) ** 2 + 5 * scale**2,
        }  # per entry
        grads = estimators.score_function_grad(
            f, Normal, params, 10_000, baseline=b_star, generator=gen()
        )
    else:
        grads = run(estimator, f, params, 10_000, gen())
    assert grads["loc"].shape == (10_000, *shape) and grads["scale"].shape == (10_000, *shape)
    check_unbiased(grads["loc"], 2 * (loc - 3))
    check_unbiased(grads["scale"], 2 * scale)


@pytest.mark.parametrize("estimator", ["score_function", "pathwise", "measure_valued_coupled"])
def test_broadcast_parameter_collects_the_gradients_of_its_batch_entries(estimator):
    params = {
        "loc": torch.tensor([-1.0, 0.0, 2.0], dtype=DTYPE),
        "scale": torch.tensor(1.5, dtype=DTYPE),
    }
    grads = run(estimator, COSTS["quadratic"], params, 20_000, gen())
    assert grads["loc"].shape == (20_000, 3) and grads["scale"].shape == (20_000,)
    check_unbiased(grads["loc"], 2 * (params["loc"] - 3))
    check_unbiased(grads["scale"], torch.tensor(3 * 2 * 1.5, dtype=DTYPE))


def test_baselines_number_tensor_callable_and_dict():
    f = COSTS["quadratic"]
    params = normal_params()
    plain = estimators.score_function_grad(f, Normal, params, 1000, generator=gen(4))
    x = sampling.draw(Normal(**params), (1000,), gen(4))
    score_loc = (x - LOC) / SCALE**2
    with_number = estimators.score_function_grad(
        f, Normal, params, 1000, baseline=2.0, generator=gen(4)
    )
    torch.testing.assert_close(with_number["loc"], plain["loc"] - 2.0 * score_loc)
    with_tensor = estimators.score_function_grad(
        f, Normal, params, 1000, baseline=torch.tensor(2.0), generator=gen(4)
    )
    torch.testing.assert_close(with_tensor["loc"], with_number["loc"])
    loo = lambda fx: (fx.sum(0, keepdim=True) - fx) / (fx.shape[0] - 1)  # noqa: E731  leave-one-out
    with_loo = estimators.score_function_grad(
        f, Normal, params, 1000, baseline=loo, generator=gen(4)
    )
    torch.testing.assert_close(with_loo["loc"], (f(x) - loo(f(x))) * score_loc)
    with_dict = estimators.score_function_grad(
        f, Normal, params, 1000, baseline={"loc": 2.0}, generator=gen(4)
    )
    torch.testing.assert_close(with_dict["loc"], with_number["loc"])
    torch.testing.assert_close(with_dict["scale"], plain["scale"])
    # a per-sample tensor baseline in the dict (broadcast to the cost shape)
    b = torch.linspace(0, 1, 1000, dtype=DTYPE)
    with_samples = estimators.score_function_grad(
        f, Normal, params, 1000, baseline={"scale": b}, generator=gen(4)
    )
    score_scale = (x - LOC) ** 2 / SCALE**3 - 1 / SCALE
    torch.testing.assert_close(with_samples["scale"], (f(x) - b) * score_scale)


def test_score_function_surrogate_gradient_is_the_score_function_estimate():
    f = COSTS["cos"]
    params = normal_params()
    grads = estimators.score_function_grad(f, Normal, params, 500, baseline=0.3, generator=gen(9))
    loc = params["loc"].clone().requires_grad_()
    scale = params["scale"].clone().requires_grad_()
    x = sampling.draw(Normal(**params), (500,), gen(9))
    loss = estimators.score_function_surrogate(Normal(loc, scale).log_prob(x), f(x), baseline=0.3)
    assert loss.shape == ()
    d_loc, d_scale = torch.autograd.grad(loss, (loc, scale))
    torch.testing.assert_close(d_loc, grads["loc"].mean())
    torch.testing.assert_close(d_scale, grads["scale"].mean())
    per_sample = estimators.score_function_surrogate(
        Normal(loc, scale).log_prob(x), f(x), reduction="none"
    )
    assert per_sample.shape == (500,)
    with pytest.raises(ValueError, match="reduction"):
        estimators.score_function_surrogate(per_sample, f(x), reduction="max")
    with pytest.raises(TypeError, match="cost"):
        estimators.score_function_surrogate(per_sample, 1.0)


def test_is_reparameterizable():
    assert estimators.is_reparameterizable(Normal, normal_params())
    assert not estimators.is_reparameterizable(D.Bernoulli, {"probs": torch.tensor(0.3)})


# ------------------------------------------------------------------------------------------------
# errors and determinism
# ------------------------------------------------------------------------------------------------


def test_errors():
    f = COSTS["quadratic"]
    with pytest.raises(TypeError, match="score_function_grad.*measure_valued_grad"):
        estimators.pathwise_grad(f, D.Bernoulli, {"probs": torch.tensor(0.3)}, 10)
    with pytest.raises(
        NotImplementedError, match="Normal: loc, scale.*Bernoulli.*Poisson.*Exponential"
    ):
        estimators.measure_valued_grad(
            f, D.Laplace, {"loc": torch.tensor(0.0), "scale": torch.tensor(1.0)}, 10
        )
    with pytest.raises(NotImplementedError, match="Gamma"):
        estimators.measure_valued_grad(
            f, D.Gamma, {"concentration": torch.tensor(2.0), "rate": torch.tensor(1.0)}, 3
        )
    with pytest.raises(NotImplementedError, match="log_scale"):
        estimators.measure_valued_grad(
            f,
            lambda loc, log_scale: Normal(loc, log_scale.exp()),
            {"loc": torch.tensor(0.0), "log_scale": torch.tensor(0.0)},
            3,
        )
    for estimator in (
        estimators.score_function_grad,
        estimators.pathwise_grad,
        estimators.measure_valued_grad,
    ):
        with pytest.raises(ValueError, match="num_samples"):
            estimator(f, Normal, normal_params(), 0)
        with pytest.raises(ValueError, match="scale"):
            estimator(f, Normal, normal_params(scale=0.0), 10)
        with pytest.raises(ValueError, match="scale"):
            estimator(f, Normal, normal_params(scale=-1.0), 10)
        with pytest.raises(ValueError, match="f\\(x\\) has shape"):
            estimator(lambda x: x.mean(), Normal, normal_params(), 10)
        with pytest.raises(ValueError, match="f\\(x\\) has shape"):
            estimator(lambda x: x.unsqueeze(-1), Normal, normal_params(shape=(3,)), 10)
        with pytest.raises(TypeError, match="generator"):
            estimator(f, Normal, normal_params(), 10, generator=0)
        with pytest.raises(TypeError, match="params"):
            estimator(f, Normal, [1.0, 1.0], 10)
    for coupled in (1, 0, "yes", None, torch.tensor(True)):
        with pytest.raises(TypeError, match="coupled must be a bool"):
            estimators.measure_valued_grad(f, Normal, normal_params(), 10, coupled=coupled)
    with pytest.raises(ValueError, match="baseline"):
        estimators.score_function_grad(f, Normal, normal_params(), 10, baseline=torch.zeros(3))
    with pytest.raises(ValueError, match="not parameters"):
        estimators.score_function_grad(f, Normal, normal_params(), 10, baseline={"mu": 1.0})
    with pytest.raises(ValueError, match="baseline\\(f_values\\)"):
        estimators.score_function_grad(
            f, Normal, normal_params(), 10, baseline=lambda fx: fx.mean()
        )
    with pytest.raises(TypeError, match="build"):
        estimators.score_function_grad(
            f, Normal, {"mu": torch.tensor(0.0), "sigma": torch.tensor(1.0)}, 10
        )


@pytest.mark.parametrize("estimator", reference.ESTIMATORS)
def test_same_seed_same_tensors(estimator):
    f = COSTS["cos"]
    first = run(estimator, f, normal_params(shape=(2,)), 100, gen(42))
    second = run(estimator, f, normal_params(shape=(2,)), 100, gen(42))
    other = run(estimator, f, normal_params(shape=(2,)), 100, gen(43))
    for name in first:
        assert torch.equal(first[name], second[name])
        assert not torch.equal(first[name], other[name])
    for distribution, params in [
        (Normal, normal_params()),
        (D.Poisson, {"rate": torch.tensor(3.0)}),
        (D.Categorical, {"probs": torch.tensor([0.5, 0.5])}),
    ]:
        assert torch.equal(
            sampling.draw(distribution(**params), (50,), gen(1)),
            sampling.draw(distribution(**params), (50,), gen(1)),
        )


def test_does_not_touch_the_global_random_state():
    state = torch.get_rng_state()
    estimators.score_function_grad(COSTS["cos"], Normal, normal_params(), 10, generator=gen())
    estimators.measure_valued_grad(COSTS["cos"], Normal, normal_params(), 10, generator=gen())
    assert torch.equal(state, torch.get_rng_state())


# ------------------------------------------------------------------------------------------------
# relaxed families (pathwise), multivariate measure-valued
# ------------------------------------------------------------------------------------------------


def _relaxed_bernoulli_truth(f, temperature: float, logits, num_nodes: int = 4000):
    """Gradient of E[f(x)], x = sigmoid((logits + L) / temperature), L ~ Logistic(0, 1), by Gauss-Legendre
    quadrature over u = sigmoid(L) in (0, 1) (one dimension per coordinate), differentiated by autograd."""
    from scipy.special import roots_legendre

    t, w = roots_legendre(num_nodes)
    u = torch.from_numpy(0.5 * (t + 1)).to(DTYPE)
    w = torch.from_numpy(0.5 * w).to(DTYPE)
    noise = torch.log(u) - torch.log1p(-u)  # the logistic noise
    tau = torch.tensor(temperature, dtype=DTYPE, requires_grad=True)
    lg = torch.as_tensor(logits, dtype=DTYPE).clone().requires_grad_(True)
    x = torch.sigmoid((lg.unsqueeze(-1) + noise) / tau)  # (*logits.shape, num_nodes)
    expectation = (w * f(x)).sum(-1)
    d_tau, d_logits = torch.autograd.grad(expectation.sum(), (tau, lg))
    return {"temperature": d_tau, "logits": d_logits}


def test_pathwise_relaxed_bernoulli_matches_quadrature():
    f = lambda x: (x - 0.45) ** 2  # noqa: E731
    params = {
        "temperature": torch.tensor(0.5, dtype=DTYPE),
        "logits": torch.tensor(0.3, dtype=DTYPE),
    }
    grads = estimators.pathwise_grad(f, D.RelaxedBernoulli, params, 40_000, generator=gen(21))
    truth = _relaxed_bernoulli_truth(f, 0.5, 0.3)
    for name in params:
        check_unbiased(grads[name], truth[name])


def test_pathwise_relaxed_bernoulli_under_independent_with_scalar_temperature():
    t = torch.tensor([0.45, 0.2, 0.8], dtype=DTYPE)
    f = lambda x: ((x - t) ** 2).sum(-1)  # noqa: E731  one cost per sample, summed over the 3 coordinates
    params = {
        "temperature": torch.tensor(0.5, dtype=DTYPE),
        "logits": torch.tensor([0.0, -1.0, 2.0], dtype=DTYPE),
    }
    grads = estimators.pathwise_grad(
        f,
        lambda temperature, logits: D.Independent(
            D.RelaxedBernoulli(temperature, logits=logits), 1
        ),
        params,
        40_000,
        generator=gen(22),
    )
    assert grads["temperature"].shape == (40_000,) and grads["logits"].shape == (40_000, 3)
    truth = _relaxed_bernoulli_truth(lambda x: (x - t.unsqueeze(-1)) ** 2, 0.5, params["logits"])
    check_unbiased(grads["logits"], truth["logits"])
    check_unbiased(grads["temperature"], truth["temperature"])
    # the issue's own call, float32: no broadcast error, one gradient per sample and parameter entry
    g = estimators.pathwise_grad(
        lambda x: x.sum(-1),
        lambda temperature, logits: D.Independent(
            D.RelaxedBernoulli(temperature, logits=logits), 1
        ),
        {"temperature": torch.tensor(0.5), "logits": torch.zeros(3)},
        1000,
    )
    assert g["temperature"].shape == (1000,) and g["logits"].shape == (1000, 3)


def _independent_normal(loc, scale):
    return D.Independent(Normal(loc, scale), 1)


@pytest.mark.parametrize("coupled", [True, False])
@pytest.mark.parametrize(
    ("cost", "truth"),
    [
        (
            lambda x: torch.full(x.shape[:-1], 2.0, dtype=x.dtype),
            lambda mu, s: (torch.zeros_like(mu), torch.zeros_like(s)),
        ),
        (lambda x: x.sum(-1), lambda mu, s: (torch.ones_like(mu), torch.zeros_like(s))),
        (lambda x: (x**2).sum(-1), lambda mu, s: (2 * mu, 2 * s)),
        # a cost that couples the coordinates: E[x1 x2 + x2 x3] = mu1 mu2 + mu2 mu3
        (
            lambda x: x[..., 0] * x[..., 1] + x[..., 1] * x[..., 2],
            lambda mu, s: (torch.stack([mu[1], mu[0] + mu[2], mu[1]]), torch.zeros_like(s)),
        ),
    ],
    ids=["constant", "linear", "quadratic", "coupling"],
)
def test_measure_valued_independent_normal(cost, truth, coupled):
    params = {
        "loc": torch.tensor([0.5, -1.0, 2.0], dtype=DTYPE),
        "scale": torch.tensor([1.0, 0.5, 2.0], dtype=DTYPE),
    }
    grads = estimators.measure_valued_grad(
        cost, _independent_normal, params, 20_000, coupled=coupled, generator=gen(23)
    )
    d_loc, d_scale = truth(params["loc"], params["scale"])
    assert grads["loc"].shape == (20_000, 3) and grads["scale"].shape == (20_000, 3)
    check_unbiased(grads["loc"], d_loc)
    check_unbiased(grads["scale"], d_scale)


def test_measure_valued_independent_bernoulli_with_a_coupling_cost():
    # E[b1 b2 b3] = p1 p2 p3: d/dp_i = product of the others (exact enumeration of the weak derivative)
    probs = torch.tensor([0.3, 0.6, 0.9], dtype=DTYPE)
    grads = estimators.measure_valued_grad(
        lambda b: b.prod(-1),
        lambda probs: D.Independent(D.Bernoulli(probs), 1),
        {"probs": probs},
        20_000,
        generator=gen(24),
    )
    truth = torch.stack([probs[1] * probs[2], probs[0] * probs[2], probs[0] * probs[1]])
    check_unbiased(grads["probs"], truth)


# ------------------------------------------------------------------------------------------------
# bad input that used to pass silently
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "f", [lambda x: (x > 0).to(x.dtype), lambda x: x.detach() ** 2], ids=["step", "detached"]
)
def test_pathwise_refuses_a_cost_without_a_gradient_path(f):
    with pytest.raises(
        ValueError, match="f's output does not depend on the sample x.*score_function_grad"
    ):
        estimators.pathwise_grad(f, Normal, normal_params(), 100, generator=gen())
    with pytest.raises(ValueError, match="f's output does not depend on x.*score-function"):
        reference.estimator_moments("pathwise", f, 0.0, 1.0, "loc")


def test_score_function_and_measure_valued_are_immune_to_in_place_costs():
    def in_place(x):
        x.mul_(0.0)
        return (x - 3.0) ** 2

    def clean(x):
        return (x - 3.0) ** 2

    for estimator in (estimators.score_function_grad, estimators.measure_valued_grad):
        a = estimator(
            lambda x: clean(x.clone()) + 0 * in_place(x),
            Normal,
            normal_params(),
            200,
            generator=gen(3),
        )
        b = estimator(clean, Normal, normal_params(), 200, generator=gen(3))
        for name in a:
            torch.testing.assert_close(a[name], b[name])


@pytest.mark.parametrize(
    "estimator",
    [estimators.score_function_grad, estimators.pathwise_grad, estimators.measure_valued_grad],
)
def test_estimators_name_bad_arguments(estimator):
    f = COSTS["quadratic"]
    with pytest.raises(ValueError, match="f\\(x\\) must be finite"):
        estimator(
            lambda x: torch.where(x > 1.0, torch.nan, x) ** 2,
            Normal,
            normal_params(),
            100,
            generator=gen(),
        )
    with pytest.raises(ValueError, match="num_samples must be at most"):
        estimator(f, Normal, normal_params(), 10**12)
    with pytest.raises(TypeError, match="num_samples"):
        estimator(f, Normal, normal_params(), 10.0)
    with pytest.raises(ValueError, match="shapes .*loc.*scale.*broadcast"):
        estimator(f, Normal, {"loc": torch.zeros(3), "scale": torch.ones(2)}, 10)


def test_score_function_names_non_finite_baselines():
    f = COSTS["quadratic"]
    for baseline, name in [
        (float("nan"), "baseline"),
        ({"loc": float("inf")}, "baseline\\['loc'\\]"),
        (lambda fx: fx * torch.nan, "baseline\\(f_values\\)"),
    ]:
        with pytest.raises(ValueError, match=f"{name} must be finite"):
            estimators.score_function_grad(f, Normal, normal_params(), 10, baseline=baseline)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_generator_with_cpu_parameters():
    with pytest.raises(ValueError, match="generator is a cuda generator"):
        estimators.score_function_grad(
            COSTS["quadratic"],
            Normal,
            normal_params(),
            10,
            generator=torch.Generator(device="cuda"),
        )


def test_terms_at_given_samples_match_the_gaussian_formulas():
    params = {
        "loc": torch.tensor([0.3, -1.0], dtype=DTYPE),
        "scale": torch.tensor([1.5, 0.7], dtype=DTYPE),
    }
    loc, scale = params["loc"], params["scale"]
    f = lambda x: torch.sin(2 * x) * x  # noqa: E731
    df = lambda x: 2 * torch.cos(2 * x) * x + torch.sin(2 * x)  # noqa: E731
    eps = torch.tensor([[0.0, 1.0], [-2.0, 0.5], [3.0, -0.1]], dtype=DTYPE)
    x = loc + scale * eps
    sf = estimators.score_function_terms(f, Normal, params, x)
    torch.testing.assert_close(sf["loc"], f(x) * eps / scale)
    torch.testing.assert_close(sf["scale"], f(x) * (eps**2 - 1) / scale)
    pw = estimators.pathwise_terms(f, Normal, params, eps)
    torch.testing.assert_close(pw["loc"], df(x))
    torch.testing.assert_close(pw["scale"], df(x) * eps)
    with pytest.raises(TypeError, match="location-scale"):
        estimators.pathwise_terms(
            f,
            D.Gamma,
            {"concentration": torch.tensor(2.0), "rate": torch.tensor(1.0)},
            torch.zeros(3),
        )
    with pytest.raises(ValueError, match="x has shape"):
        estimators.score_function_terms(f, Normal, params, torch.zeros(3, 3, dtype=DTYPE))


# --------------------------------------------------------------------------- more silent failures made errors


def test_pathwise_refuses_a_piecewise_constant_cost():
    # torch.round has a gradient path whose derivative is 0 everywhere: the true gradient is not 0.
    with pytest.raises(ValueError, match="f's gradient .* is zero at every sample"):
        estimators.pathwise_grad(torch.round, Normal, normal_params(), 100, generator=gen())
    with pytest.raises(ValueError, match="score_function_grad"):
        estimators.pathwise_terms(
            torch.floor, Normal, normal_params(), torch.linspace(-2, 2, 9, dtype=DTYPE)
        )


def test_pathwise_terms_names_non_finite_noise():
    noise = torch.tensor([0.0, float("nan")], dtype=DTYPE)
    with pytest.raises(ValueError, match="noise"):
        estimators.pathwise_terms(lambda x: x**2, Normal, normal_params(), noise)


@pytest.mark.parametrize(
    "estimator",
    [estimators.score_function_grad, estimators.pathwise_grad, estimators.measure_valued_grad],
)
def test_meta_params_get_a_clear_error(estimator):
    params = {"loc": torch.zeros((), device="meta"), "scale": torch.ones((), device="meta")}
    with pytest.raises(ValueError, match=r"params\['loc'\] is on the meta device"):
        estimator(lambda x: x**2, Normal, params, 10, generator=gen())


@pytest.mark.parametrize(
    "log_prob, cost, name",
    [
        (torch.zeros(4), torch.tensor([1.0, float("nan"), 0.0, 0.0]), "cost"),
        (torch.tensor([0.0, float("-inf"), 0.0, 0.0]), torch.ones(4), "log_prob"),
    ],
)
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_surrogate_names_the_non_finite_input(log_prob, cost, name, reduction):
    with pytest.raises(ValueError, match=f"^{name} must be finite"):
        estimators.score_function_surrogate(log_prob, cost, reduction=reduction)


def test_measure_valued_unsupported_family_is_also_a_type_error():
    with pytest.raises(TypeError, match="Gamma"):
        estimators.measure_valued_grad(
            lambda x: x,
            D.Gamma,
            {"concentration": torch.tensor(2.0), "rate": torch.tensor(1.0)},
            10,
            generator=gen(),
        )


def test_score_function_terms_names_non_finite_samples():
    with pytest.raises(ValueError, match="^x must be finite"):
        estimators.score_function_terms(
            lambda x: x**2, Normal, normal_params(), torch.tensor([float("nan")], dtype=DTYPE)
        )
