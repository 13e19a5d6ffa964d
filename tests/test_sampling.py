"""Tests of lecture9.sampling against closed forms and exact distributions, tolerances from the standard error."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import gen
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from lecture9 import sampling

D = torch.distributions
NUM_SE = 5.0


def test_inverse_cdf_sample_exponential_ks():
    rate = 2.0
    x = sampling.inverse_cdf_sample(lambda u: -torch.log1p(-u) / rate, 5000, generator=gen(15))
    assert x.shape == (5000,)
    assert stats.kstest(x.numpy(), stats.expon(scale=1 / rate).cdf).pvalue > 0.01
    # A Distribution's icdf gives the same numbers.
    y = sampling.inverse_cdf_sample(
        D.Exponential(torch.tensor(rate, dtype=torch.float64)), 5000, generator=gen(15)
    )
    torch.testing.assert_close(x, y)


@pytest.mark.parametrize(
    "dist, cdf",
    [
        (D.Normal(0.5, 2.0), stats.norm(0.5, 2.0).cdf),
        (D.Laplace(0.0, 1.0), stats.laplace(0.0, 1.0).cdf),
        (D.Cauchy(1.0, 0.5), stats.cauchy(1.0, 0.5).cdf),
        (D.LogNormal(0.0, 0.5), stats.lognorm(0.5).cdf),
        (D.Uniform(-1.0, 3.0), stats.uniform(-1.0, 4.0).cdf),
        (
            D.MixtureSameFamily(
                D.Categorical(torch.tensor([0.3, 0.7])),
                D.Normal(torch.tensor([-2.0, 2.0]), torch.tensor([0.5, 1.0])),
            ),
            lambda x: 0.3 * stats.norm(-2, 0.5).cdf(x) + 0.7 * stats.norm(2, 1.0).cdf(x),
        ),
    ],
)
def test_draw_ks(dist, cdf):
    x = sampling.draw(dist, 4000, generator=gen(16))
    assert x.shape == (4000,)
    assert stats.kstest(x.double().numpy(), cdf).pvalue > 0.01


def test_draw_discrete_and_shapes():
    b = sampling.draw(D.Bernoulli(torch.tensor([0.2, 0.7])), 20_000, generator=gen(17))
    assert b.shape == (20_000, 2)
    for j, p in enumerate([0.2, 0.7]):
        assert abs(b[:, j].mean() - p) < NUM_SE * math.sqrt(p * (1 - p) / 20_000)
    c = sampling.draw(D.Categorical(torch.tensor([0.2, 0.3, 0.5])), 20_000, generator=gen(17))
    assert c.shape == (20_000,)
    for k, p in enumerate([0.2, 0.3, 0.5]):
        assert abs((c == k).double().mean() - p) < NUM_SE * math.sqrt(p * (1 - p) / 20_000)
    pois = sampling.draw(D.Poisson(torch.tensor(3.0)), 20_000, generator=gen(17))
    assert abs(pois.mean() - 3.0) < NUM_SE * math.sqrt(3.0 / 20_000)
    mvn = sampling.draw(D.MultivariateNormal(torch.zeros(3), torch.eye(3)), 10, generator=gen(17))
    assert mvn.shape == (10, 3)


def test_draw_gamma_moments():
    x = sampling.draw(D.Gamma(torch.tensor(2.0), torch.tensor(1.5)), 20_000, generator=gen(3))
    mean, var = 2.0 / 1.5, 2.0 / 1.5**2
    assert abs(x.mean() - mean) < NUM_SE * math.sqrt(var / 20_000)


def test_draw_unsupported_family():
    with pytest.raises(TypeError, match="cannot sample VonMises"):
        sampling.draw(D.VonMises(torch.tensor(0.0), torch.tensor(1.0)), 10, generator=gen())


def test_rejection_sample_beta_ks_and_acceptance_rate():
    # Beta(2, 2) density 6x(1-x) <= 1.5 = M * Uniform(0, 1).
    m = 1.5
    res = sampling.rejection_sample(
        D.Beta(2.0, 2.0), D.Uniform(0.0, 1.0), math.log(m), 5000, generator=gen(18)
    )
    assert res.samples.shape == (5000,)
    assert stats.kstest(res.samples.double().numpy(), stats.beta(2, 2).cdf).pvalue > 0.01
    se = math.sqrt((1 / m) * (1 - 1 / m) / res.num_proposed)
    assert abs(res.acceptance_rate - 1 / m) < NUM_SE * se


def test_rejection_sample_mixture_with_normal_proposal():
    target = D.MixtureSameFamily(
        D.Categorical(torch.tensor([0.4, 0.6])),
        D.Normal(torch.tensor([-1.5, 1.5]), torch.tensor([0.6, 0.8])),
    )
    proposal = D.Normal(0.0, 2.5)
    grid = torch.linspace(-15, 15, 30_001)
    log_m = float((target.log_prob(grid) - proposal.log_prob(grid)).max()) + 1e-3
    res = sampling.rejection_sample(target.log_prob, proposal, log_m, 4000, generator=gen(19))
    cdf = lambda x: 0.4 * stats.norm(-1.5, 0.6).cdf(x) + 0.6 * stats.norm(1.5, 0.8).cdf(x)  # noqa: E731
    assert stats.kstest(res.samples.double().numpy(), cdf).pvalue > 0.01
    m = math.exp(log_m)
    assert abs(res.acceptance_rate - 1 / m) < NUM_SE * math.sqrt(
        (1 / m) * (1 - 1 / m) / res.num_proposed
    )


def test_rejection_sample_unnormalised_target_rate_is_z_over_m():
    # p~(x) = 3 * 6x(1-x): Z = 3, M = 4.5 -> rate 2/3.
    log_p = lambda x: math.log(3.0) + D.Beta(2.0, 2.0).log_prob(x)  # noqa: E731
    res = sampling.rejection_sample(
        log_p, D.Uniform(0.0, 1.0), math.log(4.5), 3000, generator=gen(20)
    )
    assert abs(res.acceptance_rate - 2 / 3) < NUM_SE * math.sqrt(
        (2 / 3) * (1 / 3) / res.num_proposed
    )


def test_rejection_sample_envelope_violation():
    with pytest.raises(ValueError, match="envelope"):
        sampling.rejection_sample(
            D.Beta(2.0, 2.0), D.Uniform(0.0, 1.0), math.log(1.2), 100, generator=gen(21)
        )


@pytest.mark.parametrize("log_m", [math.inf, -math.inf, math.nan, torch.tensor(math.inf)])
def test_rejection_sample_non_finite_log_m(log_m):
    with pytest.raises(ValueError, match="log_M"):
        sampling.rejection_sample(
            D.Beta(2.0, 2.0), D.Uniform(0.0, 1.0), log_m, 100, generator=gen()
        )


def test_rejection_sample_event_shape_mismatch():
    target = D.Independent(D.Normal(torch.zeros(2), 1.0), 1)
    with pytest.raises(ValueError, match="event_shape"):
        sampling.rejection_sample(target, D.Normal(0.0, 3.0), 2.0, 10, generator=gen())


def test_rejection_sample_wrong_shape_log_prob():
    with pytest.raises(ValueError, match="target_log_prob returned shape"):
        sampling.rejection_sample(
            lambda x: torch.zeros(3), D.Uniform(0.0, 1.0), 0.0, 10, generator=gen()
        )


def test_rejection_sample_gives_up():
    with pytest.raises(RuntimeError, match="accepted only"):
        sampling.rejection_sample(
            lambda x: torch.full_like(x, -50.0),
            D.Uniform(0.0, 1.0),
            0.0,
            10,
            generator=gen(),
            max_proposals=1000,
        )


def test_inverse_cdf_not_callable():
    with pytest.raises(TypeError, match="icdf"):
        sampling.inverse_cdf_sample(3.0, 10)


@pytest.mark.parametrize("target", [3.0, "beta", None], ids=["float", "str", "none"])
def test_rejection_sample_non_callable_target(target):
    with pytest.raises(TypeError, match="target_log_prob must be a callable"):
        sampling.rejection_sample(target, D.Uniform(0.0, 1.0), 0.5, 10, generator=gen())


@pytest.mark.parametrize(
    "log_m",
    [torch.tensor([0.5, 0.6]), torch.zeros(2, 1), torch.zeros(0)],
    ids=["two", "2x1", "empty"],
)
def test_rejection_sample_multi_element_log_m(log_m):
    with pytest.raises(ValueError, match="log_M must be a single number"):
        sampling.rejection_sample(D.Beta(2.0, 2.0), D.Uniform(0.0, 1.0), log_m, 10, generator=gen())


def test_rejection_sample_single_element_tensor_log_m_accepted():
    a = sampling.rejection_sample(
        D.Beta(2.0, 2.0), D.Uniform(0.0, 1.0), torch.tensor([math.log(1.5)]), 50, generator=gen(5)
    )
    b = sampling.rejection_sample(
        D.Beta(2.0, 2.0), D.Uniform(0.0, 1.0), math.log(1.5), 50, generator=gen(5)
    )
    assert torch.equal(a.samples, b.samples)


def test_rejection_sample_batched_target():
    target = D.Beta(torch.tensor([2.0, 3.0]), torch.tensor([2.0, 3.0]))
    with pytest.raises(
        ValueError, match=r"target_log_prob must have batch_shape \(\), got \(2,\).*Independent"
    ):
        sampling.rejection_sample(target, D.Uniform(0.0, 1.0), 1.0, 10, generator=gen())


@pytest.mark.parametrize(
    "dist",
    [
        D.Gamma(torch.tensor(2.0), torch.tensor(1.0)),
        D.Beta(torch.tensor(2.0), torch.tensor(2.0)),
        D.Poisson(torch.tensor(3.0)),
    ],
    ids=["Gamma", "Beta", "Poisson"],
)
def test_inverse_cdf_distribution_without_icdf(dist):
    name = type(dist).__name__
    with pytest.raises(
        TypeError,
        match=rf"icdf: {name} does not implement icdf; pass the quantile function as a callable",
    ):
        sampling.inverse_cdf_sample(dist, 10, generator=gen())


def test_inverse_cdf_transformed_distribution_without_icdf():
    # TransformedDistribution defines icdf, but its Gamma base does not: the NotImplementedError is translated.
    dist = D.TransformedDistribution(
        D.Gamma(torch.tensor(2.0), torch.tensor(1.0)), [D.transforms.ExpTransform()]
    )
    with pytest.raises(
        TypeError, match="does not implement icdf; pass the quantile function as a callable"
    ):
        sampling.inverse_cdf_sample(dist, 10, generator=gen())


def test_inverse_cdf_with_quantile_callable_for_gamma():
    # The fix the error suggests: a quantile callable (here scipy's), KS-tested against Gamma(2, 1).
    quantile = lambda u: torch.as_tensor(stats.gamma(2.0).ppf(u.numpy()))  # noqa: E731
    x = sampling.inverse_cdf_sample(quantile, 4000, generator=gen(30))
    assert stats.kstest(x.numpy(), stats.gamma(2.0).cdf).pvalue > 0.01


# --------------------------------------------------------------------------- draw


def test_draw_is_differentiable_and_takes_an_int_or_a_tuple():
    loc = torch.tensor(0.5, requires_grad=True)
    x = sampling.draw(D.Normal(loc, 2.0), 1000, generator=gen(1))
    x.mean().backward()
    assert loc.grad == pytest.approx(1.0)  # d/dloc of loc + scale * eps
    assert sampling.draw(D.Normal(torch.zeros(3), 1.0), (4, 5), generator=gen()).shape == (4, 5, 3)
    assert sampling.draw(D.Normal(0.0, 1.0), 0, generator=gen()).shape == (0,)


@pytest.mark.parametrize(
    "args, err, match",
    [
        ((D.Normal(0.0, 1.0), 10**12), ValueError, "sample_shape .* MAX_DRAW_NUMEL"),
        ((D.Normal(0.0, 1.0), (-1,)), ValueError, "sample_shape must have entries >= 0"),
        ((D.Normal(0.0, 1.0), 2.5), TypeError, "sample_shape must be an integer"),
        (("normal", 10), TypeError, "distribution must be a torch.distributions.Distribution"),
        ((D.Normal(0.0, 1.0), 10, 0), TypeError, "generator must be a torch.Generator"),
    ],
    ids=["too-many", "negative", "float", "not-a-distribution", "bad-generator"],
)
def test_draw_bad_arguments(args, err, match):
    with pytest.raises(err, match=match):
        sampling.draw(*args)


# --------------------------------------------------------------------------- extreme and non-finite input


def test_inverse_cdf_non_finite_and_integer_dtype():
    with pytest.raises(ValueError, match="icdf returned a non-finite value"):
        sampling.inverse_cdf_sample(lambda u: torch.log(u - 2.0), 10, generator=gen())
    with pytest.raises(TypeError, match="dtype must be a floating torch.dtype"):
        sampling.inverse_cdf_sample(lambda u: u, 10, generator=gen(), dtype=torch.int64)


def test_rejection_more_samples_than_max_proposals_with_a_perfect_envelope():
    normal = D.Normal(0.0, 1.0)
    with pytest.raises(ValueError, match="num_samples=1000 exceeds max_proposals=100"):
        sampling.rejection_sample(normal, normal, 0.0, 1000, generator=gen(), max_proposals=100)
    # an envelope whose acceptance rate is the expected 1/M, but too few proposals: not blamed on the envelope
    with pytest.raises(RuntimeError, match="raise max_proposals") as info:
        sampling.rejection_sample(normal, normal, 2.0, 1000, generator=gen(), max_proposals=2000)
    assert "too loose" not in str(info.value)


def test_rejection_nan_target_density_is_named():
    with pytest.raises(ValueError, match="target_log_prob returned nan"):
        sampling.rejection_sample(
            lambda x: torch.full_like(x, math.nan), D.Normal(0.0, 1.0), 0.0, 10, generator=gen()
        )


def test_rejection_huge_log_m_gives_up_cleanly():
    with pytest.raises(RuntimeError, match="max_proposals=1000.*too loose"):
        sampling.rejection_sample(
            D.Normal(0.0, 1.0), D.Normal(0.0, 1.0), 800.0, 10, generator=gen(), max_proposals=1000
        )


def test_rejection_bounded_support_target_with_normal_proposal():
    # Uniform(0, 1) target, N(0.5, 1) proposal: M = max p/q = 1 / q(0 or 1) = sqrt(2 pi) exp(1/8).
    log_m = 0.5 * math.log(2 * math.pi) + 0.125
    res = sampling.rejection_sample(
        D.Uniform(0.0, 1.0), D.Normal(0.5, 1.0), log_m, 4000, generator=gen(31)
    )
    assert ((res.samples >= 0) & (res.samples <= 1)).all()
    assert stats.kstest(res.samples.double().numpy(), stats.uniform(0, 1).cdf).pvalue > 0.01
    m = math.exp(log_m)
    assert abs(res.acceptance_rate - 1 / m) < NUM_SE * math.sqrt(
        (1 / m) * (1 - 1 / m) / res.num_proposed
    )


# --------------------------------------------------------------------------- noise helpers, rejection errors


@pytest.mark.parametrize(
    "call, error, name",
    [
        (lambda: sampling.uniform_noise((3,), "x", None), TypeError, "like"),
        (
            lambda: sampling.normal_noise((3,), torch.zeros((), dtype=torch.int64), None),
            TypeError,
            "like",
        ),
        (lambda: sampling.uniform_noise((-1,), torch.zeros(()), None), ValueError, "shape"),
        (lambda: sampling.normal_noise("ab", torch.zeros(()), None), TypeError, "shape"),
        (lambda: sampling.normal_noise((3,), torch.zeros(()), "x"), TypeError, "generator"),
    ],
)
def test_noise_helpers_check_their_arguments(call, error, name):
    with pytest.raises(error, match=name):
        call()


def test_noise_helpers_accept_an_int_shape():
    assert sampling.uniform_noise(4, torch.zeros((), dtype=torch.float64), gen()).shape == (4,)


def test_a_hopeless_envelope_raises_the_rejection_error_naming_log_m():
    normal = torch.distributions.Normal(0.0, 1.0)
    with pytest.raises(sampling.RejectionSamplingError, match="log_M") as info:
        sampling.rejection_sample(
            normal.log_prob, normal, 800.0, 10, generator=gen(), max_proposals=10**4
        )
    assert isinstance(info.value, RuntimeError)


@settings(max_examples=50, deadline=None)
@given(
    sample_shape=st.one_of(
        st.integers(-3, 6),
        st.lists(st.integers(-2, 4), max_size=3).map(tuple),
        st.sampled_from([1.7, "abc", None, (2.0,), (True,), 10**12, (10**6, 10**6)]),
    ),
    batch=st.sampled_from([(), (3,), (2, 3)]),
    family=st.sampled_from(["Normal", "Gamma", "Bernoulli", "Poisson"]),
)
def test_draw_returns_the_requested_shape_or_names_sample_shape(sample_shape, batch, family):
    ones = torch.ones(batch)
    dist = {
        "Normal": lambda: torch.distributions.Normal(ones, 1.0),
        "Gamma": lambda: torch.distributions.Gamma(ones, ones),
        "Bernoulli": lambda: torch.distributions.Bernoulli(probs=0.3 * ones),
        "Poisson": lambda: torch.distributions.Poisson(2 * ones),
    }[family]()
    try:
        x = sampling.draw(dist, sample_shape, gen())
    except (ValueError, TypeError) as err:
        assert "sample_shape" in str(err), err
        return
    expected = (sample_shape,) if isinstance(sample_shape, int) else tuple(sample_shape)
    assert x.shape == expected + batch and bool(torch.isfinite(x).all())
    assert bool((dist.support.check(x)).all())
