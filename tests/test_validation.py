"""Property tests of the estimators' argument validation, and the shared checks of lecture9._validation.

Random shapes, dtypes and values: every call either returns finite per-sample gradients of the
contract's shapes or raises ValueError / TypeError, never another exception.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lecture9 import _validation, estimators

Normal = torch.distributions.Normal
ESTIMATORS = (estimators.score_function_grad, estimators.pathwise_grad, estimators.measure_valued_grad)

shapes = st.sampled_from([(), (1,), (2,), (3,), (2, 3), (3, 2)])
dtypes = st.sampled_from([torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int64])
values = st.one_of(st.floats(-1e3, 1e3), st.sampled_from([0.0, -1.0, 1e-30, float("nan"), float("inf"), -float("inf")]))
counts = st.one_of(st.integers(-2, 40), st.sampled_from([10**12, 2.0, 1.7, "10", None, True]))


@st.composite
def parameter(draw):
    shape, dtype = draw(shapes), draw(dtypes)
    value = draw(values)
    if dtype == torch.int64 and not math.isfinite(value):
        value = 1.0
    return torch.full(shape, value).to(dtype)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(estimator=st.sampled_from(ESTIMATORS), loc=parameter(), scale=parameter(), num_samples=counts,
       shift=st.floats(-10, 10))
def test_estimators_return_finite_gradients_or_a_clear_error(estimator, loc, scale, num_samples, shift):
    try:
        grads = estimator(lambda x: (x - shift) ** 2, Normal, {"loc": loc, "scale": scale}, num_samples,
                          generator=torch.Generator().manual_seed(0))
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
        _validation.check_vae(torch.nn.Linear(2, 2))
