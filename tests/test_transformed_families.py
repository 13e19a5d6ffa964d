"""Tests of lecture9.transformed_families: densities in closed form, and pathwise gradients against exact ones."""

import math

import pytest
import torch

from lecture9 import estimators
from lecture9 import transformed_families as tf


def f64(v):
    return torch.tensor(v, dtype=torch.float64)


def test_log_probs_match_the_closed_forms():
    x = torch.linspace(0.1, 5.0, 50, dtype=torch.float64)
    s = f64(1.2)
    assert torch.allclose(
        tf.rayleigh(s).log_prob(x), torch.log(x) - 2 * torch.log(s) - x**2 / (2 * s**2)
    )
    z = (x - 0.5) / 1.2
    assert torch.allclose(
        tf.logistic(f64(0.5), s).log_prob(x),
        -z - torch.log(s) - 2 * torch.nn.functional.softplus(-z),
    )
    normal = tf.isotropic_normal(
        torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    )
    assert normal.event_shape == (3,)
    assert torch.allclose(
        normal.log_prob(torch.zeros(3, dtype=torch.float64)), f64(-1.5 * math.log(2 * math.pi))
    )


def test_pathwise_gradients_of_the_means():
    # Rayleigh mean sigma sqrt(pi / 2): gradient sqrt(pi / 2); logistic mean loc: gradients 1 and 0
    g = estimators.pathwise_grad(
        lambda x: x,
        tf.rayleigh,
        {"scale": f64(1.2)},
        50_000,
        generator=torch.Generator().manual_seed(0),
    )["scale"]
    assert abs(g.mean().item() - math.sqrt(math.pi / 2)) < 5 * g.std().item() / math.sqrt(g.numel())
    g = estimators.pathwise_grad(
        lambda x: x,
        tf.logistic,
        {"loc": f64(0.5), "scale": f64(1.2)},
        50_000,
        generator=torch.Generator().manual_seed(1),
    )
    assert torch.allclose(g["loc"], torch.ones_like(g["loc"]))
    assert abs(g["scale"].mean().item()) < 5 * g["scale"].std().item() / math.sqrt(50_000)


def test_bad_input_is_named():
    with pytest.raises(TypeError, match="scale"):
        tf.rayleigh(1.0)
    with pytest.raises(ValueError, match="scale"):
        tf.logistic(f64(0.0), f64(-1.0))
    with pytest.raises(ValueError, match="loc"):
        tf.isotropic_normal(f64(0.0), f64(1.0))
