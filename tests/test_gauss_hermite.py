"""The Gauss-Hermite rule behind every exact value, as the comparison chapter explains it.

The nodes of the ``n``-node rule are the roots of the probabilists' Hermite polynomial
``He_n`` and the weights ``(n - 1)! / (n He_{n-1}(z_i)^2)``; the rule is exact for every
polynomial of degree up to ``2n - 1`` under the standard normal and fails at degree ``2n``;
the change of variables ``x = mu + sigma z`` moves it to any Gaussian. Checked against
closed-form moments and the chapter's exact variances.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from numpy.polynomial import hermite_e

from lecture9 import quadrature, reference


def _normal_moment(k: int) -> float:
    """E[Z^k] for Z ~ N(0, 1): (k - 1)!! for even k, 0 for odd k."""
    return 0.0 if k % 2 else float(math.prod(range(k - 1, 0, -2)))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 12])
def test_nodes_are_the_roots_of_he_n_and_weights_follow_the_formula(n):
    z, w = (t.numpy() for t in quadrature.hermite_rule(n))
    roots = hermite_e.hermeroots([0] * n + [1])
    np.testing.assert_allclose(np.sort(z), np.sort(roots), atol=1e-10)
    he_before = hermite_e.hermeval(z, [0] * (n - 1) + [1])
    np.testing.assert_allclose(w, math.factorial(n - 1) / (n * he_before**2), rtol=1e-9)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 6, 8])
def test_exact_up_to_degree_2n_minus_1_and_not_at_2n(n):
    z, w = quadrature.hermite_rule(n)
    for k in range(2 * n):
        rule = float((w * z**k).sum())
        assert rule == pytest.approx(_normal_moment(k), rel=1e-10, abs=1e-10), (n, k)
    # He_n vanishes at every node, but E[He_n(Z)^2] = n!
    he_n_squared = hermite_e.hermeval(z.numpy(), [0] * n + [1]) ** 2
    assert float((w.numpy() * he_n_squared).sum()) == pytest.approx(0.0, abs=1e-9)
    assert _normal_moment(2 * n) != pytest.approx(float((w * z ** (2 * n)).sum()), rel=1e-6)


def _variance(g, loc: float, scale: float, n: int) -> float:
    z, w = quadrature.hermite_rule(n)
    gx = g(loc + scale * z)  # the change of variables x = mu + sigma z
    return float((w * gx**2).sum() - (w * gx).sum() ** 2)


def test_the_chapters_exact_variances_from_a_few_nodes():
    # score-function estimate of d/dmu E[(x - 3)^2] at mu = sigma = 1: a cubic, exact from 4 nodes
    score = lambda x: (x - 3.0) ** 2 * (x - 1.0)  # noqa: E731
    assert [round(_variance(score, 1.0, 1.0, n), 6) for n in (2, 3)] == [25.0, 81.0]
    for n in (4, 5, 20):
        assert _variance(score, 1.0, 1.0, n) == pytest.approx(87.0, rel=1e-12)
    _, exact = reference.estimator_moments(
        "score_function", lambda x: (x - 3.0) ** 2, 1.0, 1.0, "loc"
    )
    assert exact == pytest.approx(87.0, rel=1e-10)
    # pathwise estimate of d/dsigma E[(x + 3)^2]: a quadratic, exact from 3 nodes
    pathwise = lambda x: 2 * (x + 3.0) * (x - 1.0)  # noqa: E731
    assert _variance(pathwise, 1.0, 1.0, 3) == pytest.approx(72.0, rel=1e-12)
    assert _variance(pathwise, 1.0, 1.0, 2) == pytest.approx(64.0, rel=1e-12)


def test_smooth_non_polynomials_converge_to_their_closed_forms():
    z, w = quadrature.hermite_rule(reference.NUM_NODES)
    x = 1.0 + z
    bump = float((w * torch.exp(-10 * x**2)).sum())
    assert bump == pytest.approx(math.exp(-10 / 21) / math.sqrt(21), abs=1e-12)
    oscillation = float((w * torch.cos(5 * x)).sum())
    assert oscillation == pytest.approx(math.cos(5.0) * math.exp(-12.5), abs=1e-12)
    z40, w40 = quadrature.hermite_rule(40)
    assert abs(float((w40 * torch.exp(-10 * (1.0 + z40) ** 2)).sum()) - bump) > 1e-4
