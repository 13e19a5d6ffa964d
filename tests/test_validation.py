"""Property tests of the estimators' argument validation, and the shared checks of lecture9._validation.

Random shapes, dtypes and values: every call either returns finite per-sample gradients of the
contract's shapes or raises ValueError / TypeError, never another exception.
"""

from __future__ import annotations

import math
import time

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lecture9 import _validation, estimators, vae

Normal = torch.distributions.Normal
ESTIMATORS = (
    estimators.score_function_grad,
    estimators.pathwise_grad,
    estimators.measure_valued_grad,
)

shapes = st.sampled_from([(), (1,), (2,), (3,), (2, 3), (3, 2)])
dtypes = st.sampled_from([torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int64])
values = st.one_of(
    st.floats(-1e3, 1e3),
    st.sampled_from([0.0, -1.0, 1e-30, float("nan"), float("inf"), -float("inf")]),
)
counts = st.one_of(st.integers(-2, 40), st.sampled_from([10**12, 2.0, 1.7, "10", None, True]))


@st.composite
def parameter(draw):
    shape, dtype = draw(shapes), draw(dtypes)
    value = draw(values)
    if dtype == torch.int64 and not math.isfinite(value):
        value = 1.0
    return torch.full(shape, value).to(dtype)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    estimator=st.sampled_from(ESTIMATORS),
    loc=parameter(),
    scale=parameter(),
    num_samples=counts,
    shift=st.floats(-10, 10),
)
def test_estimators_return_finite_gradients_or_a_clear_error(
    estimator, loc, scale, num_samples, shift
):
    try:
        grads = estimator(
            lambda x: (x - shift) ** 2,
            Normal,
            {"loc": loc, "scale": scale},
            num_samples,
            generator=torch.Generator().manual_seed(0),
        )
    except (ValueError, TypeError):
        return
    for name, value in (("loc", loc), ("scale", scale)):
        assert grads[name].shape == (num_samples, *value.shape)
        assert bool(torch.isfinite(grads[name]).all())


def test_check_positive_int_refuses_truncation_and_names_the_argument():
    assert _validation.check_positive_int(torch.tensor(3), "epochs") == 3
    with pytest.raises(TypeError, match="epochs"):
        _validation.check_positive_int(1.7, "epochs")
    with pytest.raises(TypeError, match="epochs"):
        _validation.check_positive_int(True, "epochs")
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        _validation.check_positive_int(0, "batch_size")
    with pytest.raises(ValueError, match="num_nodes must be at most"):
        _validation.check_positive_int(10**7, "num_nodes", maximum=10**6)
    with pytest.raises(ValueError, match="draw at least one sample"):
        _validation.check_num_samples(0)


def test_check_broadcast_choice_samples_and_vae():
    assert _validation.check_broadcast(torch.zeros(3), (4, 3), "baseline").shape == (4, 3)
    with pytest.raises(ValueError, match="baseline has shape \\(2,\\)"):
        _validation.check_broadcast(torch.zeros(2), (4, 3), "baseline")
    with pytest.raises(ValueError, match="baseline has shape \\(5, 3\\)"):
        _validation.check_broadcast(torch.zeros(5, 3), (3,), "baseline")  # must not grow the target
    with pytest.raises(ValueError, match="estimator must be one of"):
        _validation.check_choice("reinforce", ("score_function", "pathwise"), "estimator")
    with pytest.raises(ValueError, match="f_values must be finite"):
        _validation.check_samples(torch.tensor([1.0, float("inf")]), "f_values")
    with pytest.raises(TypeError, match="model must be a lecture9.vae.VAE"):
        vae.check_vae(torch.nn.Linear(2, 2))


# One bad argument at a time, the others valid: the error must be a ValueError/TypeError naming
# that argument; with no bad argument, the result must be finite and of the contract's shape.
_BAD_ESTIMATOR_ARGS = {
    "num_samples": st.sampled_from(
        [0, -1, 1.7, 2.0, "10", None, True, float("nan"), 10**12, 2**70]
    ),
    "loc": st.sampled_from([float("nan"), float("inf"), "abc", None]),
    "scale": st.sampled_from([0.0, -1.0, float("nan"), float("inf"), -float("inf")]),
    "generator": st.sampled_from(["abc", 123, 0.5]),
    "f": st.sampled_from(["nan", "inf", "wrong-shape", "not-a-tensor", "not-callable"]),
}
_COSTS = {
    "nan": lambda x: x * float("nan"),
    "inf": lambda x: x / 0.0,
    "wrong-shape": lambda x: x.sum(),
    "not-a-tensor": lambda x: 1.0,
    "not-callable": 3,
}
_NAMES = {"loc": "params['loc']", "scale": "params['scale']"}
_COST_MESSAGES = {
    "nan": "f(x) must be finite",
    "inf": "f(x) must be finite",
    "wrong-shape": "f(x) has shape",
    "not-a-tensor": "f(x) must be a torch.Tensor",
    "not-callable": "f must be a callable",
}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    estimator=st.sampled_from(ESTIMATORS),
    bad=st.sampled_from([None, *_BAD_ESTIMATOR_ARGS]),
    data=st.data(),
    shape=st.sampled_from([(), (3,), (2, 3)]),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    loc=st.floats(-3, 3),
    scale=st.floats(0.1, 3),
    num_samples=st.integers(1, 50),
)
def test_one_bad_argument_is_named_and_valid_calls_are_finite(
    estimator, bad, data, shape, dtype, loc, scale, num_samples
):
    args = {
        "f": lambda x: (x - 0.5) ** 2,
        "loc": torch.full(shape, loc, dtype=dtype),
        "scale": torch.full(shape, scale, dtype=dtype),
        "num_samples": num_samples,
        "generator": torch.Generator().manual_seed(0),
    }
    if bad is not None:
        value = data.draw(_BAD_ESTIMATOR_ARGS[bad])
        if bad in ("loc", "scale") and isinstance(value, float):
            value = torch.full(shape, value, dtype=dtype)
        args[bad] = _COSTS[value] if bad == "f" else value
        expected = _COST_MESSAGES[value] if bad == "f" else _NAMES.get(bad, bad)
    call = lambda: estimator(  # noqa: E731
        args["f"],
        Normal,
        {"loc": args["loc"], "scale": args["scale"]},  # noqa: E731
        args["num_samples"],
        generator=args["generator"],
    )
    if bad is None:
        grads = call()
        for name in ("loc", "scale"):
            assert grads[name].shape == (num_samples, *shape) and grads[name].dtype == dtype
            assert bool(torch.isfinite(grads[name]).all())
        return
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert expected in str(info.value), info.value


@pytest.mark.parametrize(
    "bad, err",
    [
        ("hot", TypeError),
        (True, TypeError),
        (0.0, ValueError),
        (-1.0, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        (torch.ones(2), ValueError),
    ],
)
def test_check_temperature_names_the_argument(bad, err):
    with pytest.raises(err, match="temperature"):
        _validation.check_temperature(bad)


def test_check_temperature_accepts_numbers_and_scalar_tensors():
    assert _validation.check_temperature(0.5) == 0.5
    assert _validation.check_temperature(torch.tensor(2.0)) == 2.0


# ------------------------------------------------------------------------------------------------
# the shared checks: NumPy scalars and 0-d tensors are numbers; strings, None and bools are not
# ------------------------------------------------------------------------------------------------

import numpy as np  # noqa: E402


@pytest.mark.parametrize("good", [3, np.int64(3), np.int32(3), np.array(3), torch.tensor(3)])
def test_check_int_accepts_integer_kinds(good):
    assert _validation.check_int(good, "n", minimum=1) == 3
    assert type(_validation.check_positive_int(good, "n")) is int
    assert _validation.check_num_samples(good) == 3


@pytest.mark.parametrize(
    "bad",
    [
        True,
        np.bool_(True),
        2.5,
        2.0,
        np.float64(2.0),
        "3",
        None,
        torch.tensor(2.0),
        torch.tensor([1, 2]),
        np.arange(2),
    ],
)
def test_check_int_refuses_other_kinds_naming_the_argument(bad):
    with pytest.raises(TypeError, match=r"num_steps must be .*got"):
        _validation.check_int(bad, "num_steps", minimum=1)
    with pytest.raises(TypeError, match="num_steps"):
        _validation.check_positive_int(bad, "num_steps")


def test_check_int_range_messages():
    with pytest.raises(ValueError, match="repetitions must be an integer >= 1, got 0"):
        _validation.check_int(0, "repetitions", minimum=1)
    with pytest.raises(ValueError, match="horizon must be at most 1,000, got 10,000"):
        _validation.check_int(10_000, "horizon", maximum=1000)


@pytest.mark.parametrize(
    "good", [0.5, np.float32(0.5), np.float64(0.5), torch.tensor(0.5), np.array(0.5), 1]
)
def test_check_float_accepts_real_kinds(good):
    assert _validation.check_float(good, "loc") == 0.5 or good == 1
    assert _validation.check_finite(good, "loc") is good
    assert _validation.check_positive(good, "scale") is good


@pytest.mark.parametrize(
    "bad, err",
    [
        ("1.0", TypeError),
        (None, TypeError),
        (True, TypeError),
        ([1.0], TypeError),
        (float("nan"), ValueError),
        (np.float64("inf"), ValueError),
        (torch.tensor(float("-inf")), ValueError),
    ],
)
def test_check_float_names_argument_and_value(bad, err):
    with pytest.raises(err, match="learning_rate must be"):
        _validation.check_float(bad, "learning_rate")
    with pytest.raises(err, match="learning_rate"):
        _validation.check_finite(bad, "learning_rate")


def test_check_float_bounds_probability_and_bool():
    with pytest.raises(ValueError, match="scale must be > 0, got 0.0"):
        _validation.check_float(0.0, "scale", minimum=0.0, strict=True)
    with pytest.raises(ValueError, match="decay must be <= 1"):
        _validation.check_float(1.5, "decay", maximum=1.0)
    assert _validation.check_probability(np.float32(0.25), "p") == 0.25
    with pytest.raises(ValueError, match=r"p must be a probability in \(0, 1\), got 1.0"):
        _validation.check_probability(1.0, "p", open_interval=True)
    assert _validation.check_bool(np.bool_(True), "coupled") is True
    with pytest.raises(TypeError, match="coupled must be True or False, got 'no'"):
        _validation.check_bool("no", "coupled")


def test_check_temperature_and_step_refuse_what_float_cannot_represent():
    with pytest.raises(ValueError, match="temperature must be at least 1e-30"):
        _validation.check_temperature(1e-300)
    assert _validation.check_temperature(np.float64(1e-3)) == 1e-3
    with pytest.raises(ValueError, match="h must be at least 2.22e-16"):
        _validation.check_step(1e-300, "h", at=0.5)
    with pytest.raises(ValueError, match="h must be at least"):
        _validation.check_step(1e-5, "h", at=1e12)  # 1e12 + 1e-5 == 1e12 in float64
    with pytest.raises(ValueError, match="h must be at least 1.19e-07"):
        _validation.check_step(1e-9, "h", dtype=torch.float32)
    assert _validation.check_step(1e-6, "h") == 1e-6


def test_check_size_states_cap_and_workaround():
    assert _validation.check_size(10, "num_paths * num_customers") == 10
    with pytest.raises(
        ValueError,
        match=r"num_paths \* num_customers is 10,000,000,000, above the cap of "
        r"100,000,000 for one call; use fewer paths",
    ):
        _validation.check_size(10**10, "num_paths * num_customers", workaround="use fewer paths")


def test_check_callable_and_output():
    with pytest.raises(TypeError, match="baseline must be a callable, got 3"):
        _validation.check_callable(3, "baseline")
    out = torch.zeros(4)
    assert _validation.check_output(out, "f(x)", shape=(4,)) is out
    with pytest.raises(TypeError, match="f\\(x\\) must be a torch.Tensor, got float"):
        _validation.check_output(1.0, "f(x)")
    with pytest.raises(
        ValueError, match="baseline\\(states\\) has shape \\(3,\\), expected \\(4,\\)"
    ):
        _validation.check_output(torch.zeros(3), "baseline(states)", shape=(4,))
    with pytest.raises(ValueError, match="f\\(x\\) must be finite"):
        _validation.check_output(torch.tensor([1.0, float("nan")]), "f(x)")


# ------------------------------------------------------------------------------------------------
# The classes of unreliable behaviour, each with the examples that showed it
# ------------------------------------------------------------------------------------------------

D = torch.distributions


def _gen():
    return torch.Generator().manual_seed(0)


def _mdp(horizon=4):
    from lecture9 import policy_gradient as pg

    return pg.random_mdp(3, 2, horizon=horizon, discount=0.9, generator=_gen())


def _quick(fn, limit_s=2.0):
    """Run ``fn``, which must raise ValueError/TypeError, within ``limit_s`` seconds; return the error."""
    start = time.perf_counter()
    with pytest.raises((ValueError, TypeError)) as info:
        fn()
    assert time.perf_counter() - start < limit_s, (
        f"refused only after {time.perf_counter() - start:.1f} s"
    )
    return str(info.value)


def test_nan_and_infinity_are_refused_naming_the_argument():
    from lecture9 import policy_gradient as pg
    from lecture9 import quadrature, transformed_families
    from lecture9.studies import comparison, finite_differences

    cost = lambda x: (x - 0.5) ** 2  # noqa: E731
    nan = math.nan
    cases = {
        "truth": lambda: quadrature.midpoint_rule_errors(
            quadrature.cosine_of_scaled_sum, nan, 2, max_evaluations=100
        ),
        "loc": lambda: finite_differences.independent_central_difference(
            cost, nan, 1.0, 0.1, 8, num_estimates=2, generator=_gen()
        ),
        "first": lambda: comparison.crossing_points(
            [0.0, 1.0, 2.0], [1.0, nan, 3.0], [3.0, 2.5, 1.0]
        ),
        "discount": lambda: pg.gymnasium_returns(
            _frozenlake(), torch.zeros(16, 4), 3, discount=nan, generator=_gen()
        ),
        "logits": lambda: pg.gymnasium_returns(
            _frozenlake(), torch.full((16, 4), nan), 3, discount=0.9, generator=_gen()
        ),
        "baseline": lambda: pg.reinforce_grad(
            _mdp(),
            torch.zeros(3, 2, dtype=torch.float64),
            5,
            baseline=lambda *args: torch.full((5, 4), nan, dtype=torch.float64),
            generator=_gen(),
        ),
    }
    for name, call in cases.items():
        assert name in _quick(call), name
    with pytest.raises(ValueError, match="loc must be finite"):
        transformed_families.logistic(torch.tensor(nan), torch.tensor(1.0))


def _frozenlake(name="FrozenLake-v1"):
    import gymnasium

    return gymnasium.make(name, **({"is_slippery": False} if "Frozen" in name else {}))


def test_degenerate_counts_are_refused():
    from lecture9 import quadrature, reference
    from lecture9.studies import binary_toy

    with pytest.raises(ValueError, match="repetitions"):
        binary_toy.rloo_sign_simulation(0.45, 0.3, 4, repetitions=0, generator=_gen())
    with pytest.raises(ValueError, match="num_samples"):
        binary_toy.rloo_sign_probability(0.3, -5)
    with pytest.raises(ValueError, match="num_samples"):
        binary_toy.constant_baseline_sign_simulation(0.45, 0.3, -5, 0.2, 10, generator=_gen())
    with pytest.raises(ValueError, match="max_evaluations"):
        quadrature.midpoint_rule_errors(quadrature.cosine_of_scaled_sum, 0.5, 2, max_evaluations=-5)
    with pytest.raises(ValueError, match="num_intervals"):
        reference.even_floor_gradient(0.3, 1.0, num_intervals=0)


def test_precision_limits_are_refused_with_the_smallest_allowed_value():
    from lecture9 import bernoulli_vae, estimators, reference
    from lecture9.studies import finite_differences

    with pytest.raises(ValueError, match="temperature must be at least 1e-30"):
        estimators.straight_through_grad(
            lambda x: x, D.Bernoulli, {"logits": torch.tensor([0.3])}, 8, temperature=1e-300
        )
    with pytest.raises(ValueError, match="temperature must be at least 1e-30"):
        bernoulli_vae.BernoulliVAE(6, 3, (4,), temperature=1e-300)
    with pytest.raises(ValueError, match="h must be at least 2.22e-16"):
        finite_differences.forward_difference(lambda x: x**2, 1.0, 1.0, 1e-300, 8, generator=_gen())
    # enough terms at a large rate: the truth of d/d(rate) E[k] is 1
    assert reference.poisson_rate_gradient(lambda k: k.double(), 100.0) == pytest.approx(
        1.0, abs=1e-8
    )


def test_disarm_at_a_boundary_probability_is_a_clear_error():
    from lecture9 import estimators

    for p in (0.0, 1.0):
        with pytest.raises(ValueError, match=r"probs must lie in \(0, 1\).*measure_valued_grad"):
            estimators.disarm_grad(lambda x: x, D.Bernoulli, {"probs": torch.tensor([p])}, 8)
    one_sided = estimators.measure_valued_grad(
        lambda x: x, D.Bernoulli, {"probs": torch.tensor([0.0])}, 8, generator=_gen()
    )["probs"]
    assert bool((one_sided == 1).all())


def test_sizes_are_capped_before_any_large_allocation():
    from lecture9 import estimators, quadrature, vae
    from lecture9 import policy_gradient as pg
    from lecture9.studies import finite_differences, queueing

    assert "cap" in _quick(
        lambda: quadrature.product_midpoint_rule(quadrature.cosine_of_scaled_sum, 10**8, 3)
    )
    assert "horizon" in _quick(
        lambda: pg.exact_return(_mdp(10**9), torch.zeros(3, 2, dtype=torch.float64))
    )
    message = _quick(
        lambda: estimators.gumbel_softmax_grad(
            lambda x: x.sum(-1), D.OneHotCategorical, {"logits": torch.zeros(50_000)}, 100_000
        )
    )
    assert "100,000,000" in message and "fewer samples" in message
    assert "cap" in _quick(lambda: queueing.mm1_sojourn_times(2.0, 1.0, 10**5, 10**5))
    assert "cap" in _quick(
        lambda: finite_differences.independent_central_difference(
            lambda x: x, 1.0, 1.0, 0.1, 10**5, num_estimates=10**9
        )
    )
    assert "network weights" in _quick(lambda: vae.VAE(10**9, 2))


def test_numpy_integers_and_0d_tensors_count_like_ints():
    from lecture9 import policy_gradient as pg
    from lecture9.studies import binary_toy

    plain = binary_toy.rloo_sign_simulation(0.45, 0.3, 4, repetitions=10, generator=_gen())
    for count in (np.int64(10), np.arange(11)[10], torch.tensor(10)):
        assert (
            binary_toy.rloo_sign_simulation(0.45, 0.3, 4, repetitions=count, generator=_gen())
            == plain
        )
    episodes = pg.sample_episodes(_mdp(), torch.zeros(3, 2, dtype=torch.float64), np.int64(3))
    assert episodes.rewards.shape[0] == 3


def test_strings_and_none_are_type_errors_naming_the_argument():
    from lecture9 import policy_gradient as pg
    from lecture9 import reference, transformed_families
    from lecture9.studies import queueing

    cases = {
        "learning_rate": lambda v: pg.train_policy(_mdp(), 3, learning_rate=v),
        "rate": lambda v: reference.poisson_rate_gradient(lambda k: k.double(), v),
        "service_rate": lambda v: queueing.mm1_sojourn_times(v, 1.0, 5, 3),
        "loc": lambda v: transformed_families.logistic(v, torch.tensor(1.0)),
    }
    for name, call in cases.items():
        for value in ("2", None):
            with pytest.raises(TypeError, match=name):
                call(value)
    with pytest.raises(ValueError, match="learning_rate must be finite"):
        pg.train_policy(_mdp(), 3, learning_rate=math.inf)
    with pytest.raises(TypeError, match="env must have Discrete observation and action spaces"):
        pg.gymnasium_returns(_frozenlake("CartPole-v1"), torch.zeros(16, 4), 3, discount=0.9)


def test_callables_are_checked_on_what_they_return():
    from lecture9 import baselines, estimators

    normal = {"loc": torch.tensor([0.5]), "scale": torch.tensor([1.0])}
    with pytest.raises(ValueError, match=r"f\(x\) must be finite"):
        estimators.pathwise_grad(lambda x: x * math.nan, D.Normal, normal, 8)
    with pytest.raises(TypeError, match="f"):
        estimators.score_function_grad(lambda x: "abc", D.Normal, normal, 8)
    ema = baselines.MovingAverageBaseline(0.9)
    ema.update(torch.ones(4, 3))
    with pytest.raises(
        ValueError, match=r"f_values has per-sample shape \(2,\).*earlier batches had \(3,\)"
    ):
        ema.update(torch.ones(4, 2))
