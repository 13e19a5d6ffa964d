"""Tests for lecture9.estimators.discrete and lecture9.enumeration, against exact enumeration and quadrature."""

from __future__ import annotations

import math

import pytest
import torch
from scipy import integrate

from lecture9 import enumeration, estimators

# Today's home of the leave-one-out baseline (chapter 8); it may move to lecture9.baselines.
from lecture9.baselines import LeaveOneOutBaseline, group_means

D = torch.distributions
DTYPE = torch.float64


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def toy(t):
    """The binary toy cost (b - t)^2 of Tucker et al. (2017), elementwise."""
    return lambda b: (b - t) ** 2


def summed_toy(t):
    """sum_i (b_i - t)^2 over the event dimension."""
    return lambda b: ((b - t) ** 2).sum(-1)


def coupled(b):
    """A cost that couples the bits: (sum_i w_i b_i - 1)^2."""
    w = torch.linspace(0.5, 1.5, b.shape[-1], dtype=b.dtype)
    return ((b * w).sum(-1) - 1.0) ** 2


def independent_bernoulli(logits):
    return D.Independent(D.Bernoulli(logits=logits), 1)


def assert_unbiased(per_sample, exact, num_se=5.0):
    mean = per_sample.mean(0)
    se = per_sample.std(0) / math.sqrt(per_sample.shape[0])
    gap = (mean - exact).abs()
    assert (gap <= num_se * se + 1e-12).all(), f"mean {mean}, exact {exact}, gap / se {gap / se}"


LOGITS = torch.tensor([-1.0, 0.3, 1.2], dtype=DTYPE)


# ----------------------------------------------------------------------------------------------
# the exact reference
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("t", [0.45, 0.499])
def test_enumerated_gradient_closed_form_per_bit(t):
    # f(b) = sum_i (b_i - t)^2: E = sum_i p_i (1-t)^2 + (1-p_i) t^2, d/d logit_i = p_i (1-p_i) (1-2t)
    value, grad = enumeration.enumerated_gradient(
        summed_toy(t), independent_bernoulli, {"logits": LOGITS}
    )
    p = torch.sigmoid(LOGITS)
    assert torch.allclose(value, (p * (1 - t) ** 2 + (1 - p) * t**2).sum(), atol=1e-12)
    assert torch.allclose(grad["logits"], p * (1 - p) * (1 - 2 * t), atol=1e-12)
    # the plain (batched) Bernoulli: one problem per entry
    value, grad = enumeration.enumerated_gradient(toy(t), D.Bernoulli, {"logits": LOGITS})
    assert torch.allclose(value, p * (1 - t) ** 2 + (1 - p) * t**2, atol=1e-12)
    assert torch.allclose(grad["logits"], p * (1 - p) * (1 - 2 * t), atol=1e-12)


def test_enumerated_gradient_probs_and_sixteen_bits():
    probs = torch.full((16,), 0.3, dtype=DTYPE)
    value, grad = enumeration.enumerated_gradient(
        summed_toy(0.45), lambda probs: D.Independent(D.Bernoulli(probs=probs), 1), {"probs": probs}
    )
    assert value.shape == ()
    assert torch.allclose(value, torch.tensor(16 * (0.3 * 0.55**2 + 0.7 * 0.45**2), dtype=DTYPE))
    assert torch.allclose(
        grad["probs"], torch.full((16,), 0.55**2 - 0.45**2, dtype=DTYPE)
    )  # d/dp = f(1) - f(0)


@pytest.mark.parametrize("family", ["Categorical", "OneHotCategorical"])
def test_enumerated_gradient_categorical_against_autograd(family):
    logits = torch.tensor([[0.2, -1.0, 0.5, 1.5], [0.0, 0.0, 0.0, 0.0]], dtype=DTYPE)
    values = torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=DTYPE)
    f = (lambda k: values[k]) if family == "Categorical" else (lambda x: x @ values)
    value, grad = enumeration.enumerated_gradient(f, getattr(D, family), {"logits": logits})
    leaf = logits.clone().requires_grad_(True)
    expected = (torch.softmax(leaf, -1) * values).sum(-1)
    (expected_grad,) = torch.autograd.grad(expected.sum(), leaf)
    assert torch.allclose(value, expected.detach(), atol=1e-12)
    assert torch.allclose(grad["logits"], expected_grad, atol=1e-12)


def test_enumerated_gradient_errors():
    with pytest.raises(ValueError, match="16 bits"):
        enumeration.enumerated_gradient(
            summed_toy(0.5), independent_bernoulli, {"logits": torch.zeros(17)}
        )
    with pytest.raises(TypeError, match="Normal"):
        enumeration.enumerated_gradient(
            toy(0.5), D.Normal, {"loc": torch.zeros(()), "scale": torch.ones(())}
        )
    with pytest.raises(ValueError, match="f\\(x\\)"):
        enumeration.enumerated_gradient(lambda b: b.sum(), D.Bernoulli, {"logits": torch.zeros(3)})


# ----------------------------------------------------------------------------------------------
# unbiased estimators against enumeration
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cost", [summed_toy(0.45), coupled], ids=["summed_toy", "coupled"])
def test_score_function_rloo_and_disarm_unbiased(cost):
    params = {"logits": LOGITS}
    _, exact = enumeration.enumerated_gradient(cost, independent_bernoulli, params)
    plain = estimators.score_function_grad(
        cost, independent_bernoulli, params, 40_000, generator=gen(1)
    )
    rloo = estimators.score_function_grad(
        cost,
        independent_bernoulli,
        params,
        40_000,
        baseline=LeaveOneOutBaseline(2),
        generator=gen(2),
    )
    disarm = estimators.disarm_grad(cost, independent_bernoulli, params, 20_000, generator=gen(3))
    assert disarm["logits"].shape == (20_000, 3)
    assert_unbiased(plain["logits"], exact["logits"])
    assert_unbiased(group_means(rloo["logits"], 2), exact["logits"])
    assert_unbiased(disarm["logits"], exact["logits"])


def test_disarm_probs_by_chain_rule_and_batch():
    probs = torch.tensor([0.2, 0.5, 0.9], dtype=DTYPE)
    _, exact = enumeration.enumerated_gradient(toy(0.45), D.Bernoulli, {"probs": probs})
    grads = estimators.disarm_grad(
        toy(0.45), D.Bernoulli, {"probs": probs}, 20_000, generator=gen(4)
    )
    assert grads["probs"].shape == (20_000, 3)
    assert_unbiased(grads["probs"], exact["probs"])


def test_disarm_single_bernoulli_is_exact_at_zero_logit():
    # at logit 0 the pair always differs, so every estimate equals (f(1) - f(0)) / 4
    grads = estimators.disarm_grad(
        toy(0.45), D.Bernoulli, {"logits": torch.tensor(0.0, dtype=DTYPE)}, 100, generator=gen(5)
    )
    assert torch.allclose(grads["logits"], torch.full((100,), 0.025, dtype=DTYPE))


def test_disarm_variance_below_rloo_at_equal_evaluations():
    n = 20_000  # pairs: 2 evaluations of f each, like one RLOO group of K = 2
    # the sample variance's relative SE is about sqrt(2 / n) = 1 %: demand a clear margin
    for family, cost in ((D.Bernoulli, toy(0.45)), (independent_bernoulli, coupled)):
        params = {"logits": LOGITS}
        disarm = estimators.disarm_grad(cost, family, params, n, generator=gen(6))["logits"]
        rloo = estimators.score_function_grad(
            cost, family, params, 2 * n, baseline=LeaveOneOutBaseline(2), generator=gen(7)
        )["logits"]
        var_disarm, var_rloo = disarm.var(0), group_means(rloo, 2).var(0)
        if family is D.Bernoulli:  # one bit per problem: lower for every logit
            assert (var_disarm < 0.8 * var_rloo).all(), (var_disarm, var_rloo)
        else:  # three coupled bits: lower in total
            assert var_disarm.sum() < 0.8 * var_rloo.sum(), (var_disarm, var_rloo)


# ----------------------------------------------------------------------------------------------
# relaxations: Gumbel-softmax (pathwise on RelaxedBernoulli) and straight-through
# ----------------------------------------------------------------------------------------------


def relaxed_objective(f, theta, tau):
    """E[f(sigmoid((theta + L) / tau))], L logistic, by quadrature."""

    def integrand(l):
        z = torch.sigmoid(torch.tensor([(theta + l) / tau], dtype=DTYPE))
        return float(f(z)[0]) * math.exp(-abs(l)) / (1 + math.exp(-abs(l))) ** 2

    return integrate.quad(integrand, -60, 60, points=[-theta], limit=400, epsabs=1e-13)[0]


@pytest.mark.parametrize("theta,tau", [(0.0, 0.5), (-1.0, 0.5), (1.0, 1.0)])
def test_relaxed_moments_mean_is_derivative_of_relaxed_objective(theta, tau):
    f, h = toy(0.45), 1e-4
    mean, variance = enumeration.relaxed_bernoulli_moments(f, theta, tau, "gumbel_softmax")
    slope = (relaxed_objective(f, theta + h, tau) - relaxed_objective(f, theta - h, tau)) / (2 * h)
    assert mean == pytest.approx(slope, abs=1e-7)
    assert variance > 0


@pytest.mark.parametrize("theta", [-1.0, 0.7])
def test_gumbel_softmax_unbiased_for_relaxed_objective_and_biased_for_discrete(theta):
    tau, f = 0.5, toy(0.45)
    params = {
        "temperature": torch.tensor(tau, dtype=DTYPE),
        "logits": torch.tensor(theta, dtype=DTYPE),
    }
    grads = estimators.pathwise_grad(f, D.RelaxedBernoulli, params, 40_000, generator=gen(8))[
        "logits"
    ]
    mean, variance = enumeration.relaxed_bernoulli_moments(f, theta, tau, "gumbel_softmax")
    assert_unbiased(grads, torch.tensor(mean, dtype=DTYPE))
    assert float(grads.var()) == pytest.approx(variance, rel=0.05)
    _, exact = enumeration.enumerated_gradient(
        f, D.Bernoulli, {"logits": torch.tensor(theta, dtype=DTYPE)}
    )
    se = float(grads.std()) / math.sqrt(grads.shape[0])
    assert abs(float(grads.mean()) - float(exact["logits"])) > 10 * se


def test_gumbel_softmax_independent_vector_logits():
    # Independent(RelaxedBernoulli) with vector logits and the temperature given per bit.
    tau = 0.5

    def factory(temperature, logits):
        return D.Independent(D.RelaxedBernoulli(temperature, logits=logits), 1)

    params = {"temperature": torch.full((3,), tau, dtype=DTYPE), "logits": LOGITS}
    grads = estimators.pathwise_grad(summed_toy(0.45), factory, params, 40_000, generator=gen(9))[
        "logits"
    ]
    expected = torch.tensor(
        [
            enumeration.relaxed_bernoulli_moments(toy(0.45), float(a), tau, "gumbel_softmax")[0]
            for a in LOGITS
        ],
        dtype=DTYPE,
    )
    assert_unbiased(grads, expected)


@pytest.mark.parametrize("theta,tau", [(0.0, 0.5), (-1.0, 0.5), (1.0, 0.2)])
def test_straight_through_matches_its_own_expectation(theta, tau):
    f = toy(0.45)
    grads = estimators.straight_through_grad(
        f,
        D.Bernoulli,
        {"logits": torch.tensor(theta, dtype=DTYPE)},
        40_000,
        temperature=tau,
        generator=gen(10),
    )["logits"]
    mean, variance = enumeration.relaxed_bernoulli_moments(f, theta, tau, "straight_through")
    assert_unbiased(grads, torch.tensor(mean, dtype=DTYPE))
    assert float(grads.var()) == pytest.approx(variance, rel=0.05)


def test_straight_through_forward_is_an_exact_sample_and_independent_works():
    seen = []
    f = lambda b: (seen.append(b.detach()), summed_toy(0.45)(b))[1]  # noqa: E731
    grads = estimators.straight_through_grad(
        f, independent_bernoulli, {"logits": LOGITS}, 40_000, temperature=0.5, generator=gen(11)
    )
    assert grads["logits"].shape == (40_000, 3)
    b = seen[0]
    assert set(b.unique().tolist()) <= {0.0, 1.0}
    p = torch.sigmoid(LOGITS)
    assert ((b.mean(0) - p).abs() <= 5 * torch.sqrt(p * (1 - p) / 40_000)).all()
    # the per-bit straight-through expectation of a separable cost is the scalar one
    expected = torch.tensor(
        [
            enumeration.relaxed_bernoulli_moments(toy(0.45), float(a), 0.5, "straight_through")[0]
            for a in LOGITS
        ],
        dtype=DTYPE,
    )
    assert_unbiased(grads["logits"], expected)


def test_straight_through_one_hot_categorical():
    logits = torch.tensor([0.5, -0.5, 1.0], dtype=DTYPE)
    values = torch.tensor([1.0, 3.0, -1.0], dtype=DTYPE)
    seen = []
    f = lambda x: (seen.append(x.detach()), x @ values)[1]  # noqa: E731
    grads = estimators.straight_through_grad(
        f, D.OneHotCategorical, {"logits": logits}, 20_000, temperature=1.0, generator=gen(12)
    )["logits"]
    assert grads.shape == (20_000, 3)
    freq = seen[0].mean(0)
    p = torch.softmax(logits, -1)
    assert (seen[0].sum(-1) == 1).all() and (
        (freq - p).abs() <= 5 * torch.sqrt(p * (1 - p) / 20_000)
    ).all()
    # for a linear cost, f(hard) + grad f . (z - hard) = f(z): straight-through equals the relaxed pathwise gradient
    # (temperature of shape (1,), broadcast over the bits)
    relaxed = estimators.pathwise_grad(
        lambda x: x @ values,
        D.RelaxedOneHotCategorical,
        {"temperature": torch.tensor([1.0], dtype=DTYPE), "logits": logits},
        20_000,
        generator=gen(12),
    )["logits"]
    assert torch.allclose(grads, relaxed, atol=1e-10)


def test_gumbel_max_sample_frequencies():
    logits = torch.tensor([[0.0, 1.0, -1.0, 2.0], [0.3, 0.3, 0.3, 0.3]], dtype=DTYPE)
    k = estimators.gumbel_max_sample(logits, 40_000, generator=gen(13))
    assert k.shape == (40_000, 2) and k.dtype == torch.long
    freq = torch.nn.functional.one_hot(k, 4).to(DTYPE).mean(0)
    p = torch.softmax(logits, -1)
    assert ((freq - p).abs() <= 5 * torch.sqrt(p * (1 - p) / 40_000)).all()


def test_generator_makes_estimators_deterministic():
    params = {"logits": LOGITS}
    for fn, kw in (
        (estimators.disarm_grad, {}),
        (estimators.straight_through_grad, {"temperature": 0.5}),
    ):
        a = fn(coupled, independent_bernoulli, params, 50, generator=gen(14), **kw)["logits"]
        b = fn(coupled, independent_bernoulli, params, 50, generator=gen(14), **kw)["logits"]
        assert torch.equal(a, b)


# ----------------------------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("temperature", [0.0, -1.0, float("nan"), torch.tensor(-0.5)])
def test_straight_through_rejects_bad_temperature(temperature):
    with pytest.raises(ValueError, match="temperature"):
        estimators.straight_through_grad(
            toy(0.5), D.Bernoulli, {"logits": torch.zeros(2)}, 10, temperature=temperature
        )


def test_bad_input_names_the_argument():
    with pytest.raises(TypeError, match="temperature"):
        estimators.straight_through_grad(
            toy(0.5), D.Bernoulli, {"logits": torch.zeros(2)}, 10, temperature="hot"
        )
    with pytest.raises(TypeError, match="Bernoulli"):
        estimators.disarm_grad(
            toy(0.5), D.Normal, {"loc": torch.zeros(()), "scale": torch.ones(())}, 10
        )
    with pytest.raises(TypeError, match="Bernoulli"):
        estimators.disarm_grad(
            lambda x: x.sum(-1), D.OneHotCategorical, {"logits": torch.zeros(3)}, 10
        )
    with pytest.raises(TypeError, match="OneHotCategorical"):
        estimators.straight_through_grad(
            toy(0.5), D.Poisson, {"rate": torch.ones(())}, 10, temperature=1.0
        )
    for fn, kw in (
        (estimators.disarm_grad, {}),
        (estimators.straight_through_grad, {"temperature": 1.0}),
    ):
        with pytest.raises(ValueError, match="num_samples"):
            fn(toy(0.5), D.Bernoulli, {"logits": torch.zeros(())}, 0, **kw)
    with pytest.raises(ValueError, match="num_samples"):
        estimators.gumbel_max_sample(torch.zeros(3), 0)
    with pytest.raises(ValueError, match="logits"):
        estimators.gumbel_max_sample(torch.tensor(0.0), 5)
    with pytest.raises(ValueError, match="estimator"):
        enumeration.relaxed_bernoulli_moments(toy(0.5), 0.0, 0.5, "disarm")
    with pytest.raises(ValueError, match="temperature"):
        enumeration.relaxed_bernoulli_moments(toy(0.5), 0.0, 0.0, "gumbel_softmax")


def test_chapter_10_figures_return_labelled_figures():
    import matplotlib.pyplot as plt

    from lecture9 import plotting

    thetas = torch.linspace(-3, 3, 50)
    fig = plotting.plot_step_samples(
        thetas, {"u = 0.5": (thetas > 0).float()}, torch.sigmoid(thetas)
    )
    assert fig.axes[0].get_xlabel() and fig.axes[0].get_ylabel()
    taus = [0.1, 1.0]
    fig2 = plotting.plot_relaxation_tradeoff(
        taus,
        {"Gumbel-softmax": [0.01, -0.01]},
        {"Gumbel-softmax": [1.0, 0.1]},
        true_gradient=0.02,
        unbiased_variances={"RLOO": 0.05},
    )
    assert fig2.axes[1].get_yscale() == "log"
    curves = {
        "RLOO": [[25.0, 22.0, 21.0], [26.0, 22.5, 21.2]],
        "DisARM": [[25.0, 21.8, 20.9], [25.5, 22.0, 21.0]],
    }
    fig3 = plotting.plot_discrete_vae_runs(
        curves, {"RLOO": 5.0, "DisARM": 4.0, "score function": 400.0}
    )
    left, right = fig3.axes
    assert (
        left.get_xlabel() == "epoch" and "ELBO" in left.get_ylabel() and right.get_yscale() == "log"
    )
    assert [t.get_text() for t in left.get_legend().get_texts()] == ["RLOO", "DisARM"]
    assert len(right.patches) == 3
    with pytest.raises(ValueError, match="curves"):
        plotting.plot_discrete_vae_runs({}, {})
    with pytest.raises(ValueError, match=r"num_runs, num_epochs"):
        plotting.plot_discrete_vae_runs({"RLOO": [1.0, 2.0]}, {})
    plt.close("all")


def test_building_blocks_validate_args_false_skips_the_checks_and_keeps_the_values():
    """``validate_args=False`` (the VAEs' training step) gives the checked result on valid
    inputs, and skips the argument and result checks, as in torch.distributions."""
    g = gen(3)
    logits = torch.randn(5, 4, generator=g, dtype=DTYPE)
    u = torch.rand(5, 4, generator=g, dtype=DTYPE)
    gumbel, logistic = -torch.log(-torch.log(u)), torch.log(u) - torch.log1p(-u)
    hard = (logits + gumbel == (logits + gumbel).amax(-1, keepdim=True)).to(DTYPE)
    b, b_anti = (u < torch.sigmoid(logits)).to(DTYPE), (1 - u < torch.sigmoid(logits)).to(DTYPE)
    calls = [
        (estimators.relaxed_one_hot, (logits, gumbel, 0.5)),
        (estimators.relaxed_bernoulli, (logits, logistic, 0.5)),
        (estimators.straight_through, (hard, torch.softmax(logits, -1))),
        (
            estimators.disarm_logit_grad,
            (torch.randn(5, 1, generator=g, dtype=DTYPE), b, b_anti, logits),
        ),
    ]
    for fn, args in calls:
        assert torch.equal(fn(*args, validate_args=False), fn(*args))
        bad = (torch.full_like(args[0], math.nan), *args[1:])
        with pytest.raises(ValueError, match="must be finite"):
            fn(*bad)
        assert torch.isnan(fn(*bad, validate_args=False)).any()  # unchecked: the caller's promise
        with pytest.raises(TypeError, match="validate_args must be True or False"):
            fn(*args, validate_args="no")
