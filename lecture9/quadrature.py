"""Quadrature rules: the Gauss rules of the exact truth, and tensor-product quadrature against Monte Carlo.

The one quadrature module of the package. :func:`hermite_rule` and :func:`legendre_rule`
are the fixed rules of :mod:`lecture9.reference` and :mod:`lecture9.enumeration`, with
:func:`integrand_values` / :func:`integrand_slopes` evaluating a cost at their nodes.

The curse of dimension, introduced in chapter 3, *Gradients of expectations* (why the gradient of an
expectation is hard); Mohamed et al. (2020), Sec. 1.

A tensor-product rule with :math:`m` nodes per axis needs :math:`m^d` evaluations of
:math:`f` in :math:`d` dimensions, so its error for a smooth integrand falls like
:math:`m^{-r} = n^{-r/d}`, while the Monte Carlo error :math:`\\sigma_f / \\sqrt{n}`
does not depend on :math:`d`. The rule used here for
:math:`\\mathbb{E}_{\\mathcal{N}(0, I_d)}[f]` is the product midpoint rule in probability
space: nodes :math:`\\Phi^{-1}((j - \\tfrac12)/m)`, :math:`j = 1, \\dots, m`, on each
axis, all with weight :math:`m^{-d}`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch
from numpy.polynomial.hermite_e import hermegauss
from scipy.special import roots_hermitenorm, roots_legendre
from torch import Tensor

from ._validation import (
    MAX_NUM_NODES,
    call_checked,
    check_callable,
    check_finite,
    check_float,
    check_positive_int,
)

__all__ = [
    "hermite_rule",
    "legendre_rule",
    "integrand_values",
    "integrand_slopes",
    "cosine_of_scaled_sum",
    "COSINE_OF_SCALED_SUM_MEAN",
    "COSINE_OF_SCALED_SUM_SD",
    "product_midpoint_rule",
    "midpoint_rule_errors",
]

#: :math:`\mathbb{E}[\cos(\sum_i x_i / \sqrt{d})] = e^{-1/2}` under :math:`\mathcal{N}(0, I_d)`, for every :math:`d`.
COSINE_OF_SCALED_SUM_MEAN = math.exp(-0.5)
#: Its standard deviation, :math:`\sqrt{(1 + e^{-2})/2 - e^{-1}}`, for every :math:`d`.
COSINE_OF_SCALED_SUM_SD = math.sqrt((1 + math.exp(-2)) / 2 - math.exp(-1))


@functools.lru_cache(maxsize=8)
def hermite_rule(num_nodes: int) -> tuple[Tensor, Tensor]:
    """Probabilists' Gauss-Hermite nodes and weights (summing to one) for :math:`\\mathbb{E}[g(Z)]`, float64."""
    num_nodes = check_positive_int(num_nodes, "num_nodes", maximum=MAX_NUM_NODES)
    # numpy's hermegauss overflows beyond ~350 nodes; scipy computes the same rule stably.
    z, w = hermegauss(num_nodes) if num_nodes <= 150 else roots_hermitenorm(num_nodes)
    return torch.from_numpy(z), torch.from_numpy(w / math.sqrt(2 * math.pi))


@functools.lru_cache(maxsize=8)
def legendre_rule(num_nodes: int, lo: float, hi: float) -> tuple[Tensor, Tensor]:
    """Gauss-Legendre nodes and weights on :math:`[lo, hi]`, float64."""
    num_nodes = check_positive_int(num_nodes, "num_nodes", maximum=MAX_NUM_NODES)
    lo, hi = check_float(lo, "lo"), check_float(hi, "hi")
    if not lo < hi or not math.isfinite(hi - lo):
        raise ValueError(f"lo must be below hi (and hi - lo finite), got lo={lo} and hi={hi}")
    t, w = roots_legendre(num_nodes)
    x = 0.5 * (hi - lo) * t + 0.5 * (hi + lo)
    return torch.from_numpy(x), torch.from_numpy(0.5 * (hi - lo) * w)


def integrand_values(f, x: Tensor) -> Tensor:
    """``f(x)`` at the nodes ``x`` as float64, checked elementwise and finite (raises ``ValueError``)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a tensor of nodes, got {x!r:.60}")
    fx = check_callable(f, "f", example="lambda x: (x - 3.0) ** 2")(x)
    if not isinstance(fx, torch.Tensor):
        try:
            fx = torch.as_tensor(check_float(fx, "f(x)"), dtype=x.dtype)
        except ValueError:
            raise ValueError(
                "f(x) must be finite, got NaN or inf; the cost f returned NaN or inf"
            ) from None
    if fx.shape != x.shape:
        try:
            fx = fx.expand(x.shape)
        except RuntimeError as err:
            raise ValueError(
                f"f must act elementwise: input shape {tuple(x.shape)}, output shape {tuple(fx.shape)}"
            ) from err
    check_finite(
        fx.detach(),
        "f(x)",
        hint="the cost f returned NaN or inf at a quadrature node; make f finite",
    )
    return fx.to(torch.float64)


def integrand_slopes(f, x: Tensor) -> Tensor:
    """``f'(x)`` at the nodes ``x`` by autograd; ``ValueError`` if ``f`` has no gradient path but varies."""
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        fx = integrand_values(f, x)
        if not fx.requires_grad:
            if bool((fx != fx[:1]).any()):
                raise ValueError(
                    "f's output does not depend on x through autograd (a step function such as (x > 0).float(), "
                    "or a detached x), so the pathwise estimator is undefined for it; use the score-function "
                    "or measure-valued estimator for a cost that is not differentiable in x"
                )
            return torch.zeros_like(x)
        (g,) = torch.autograd.grad(fx.sum(), x, allow_unused=True)
    return torch.zeros_like(x) if g is None else g.detach()


def cosine_of_scaled_sum(x: Tensor) -> Tensor:
    """The test integrand :math:`f(x) = \\cos\\big(\\sum_{i=1}^d x_i / \\sqrt{d}\\big)`.

    Under :math:`\\mathcal{N}(0, I_d)` the sum divided by :math:`\\sqrt{d}` is standard
    normal, so the mean (:data:`COSINE_OF_SCALED_SUM_MEAN`) and the standard deviation
    (:data:`COSINE_OF_SCALED_SUM_SD`) are the same in every dimension.

    Shapes:
        ``x``: ``(..., d)``; output: ``(...)``.
    """
    if not isinstance(x, torch.Tensor) or x.dim() < 1:
        raise ValueError("x must be a tensor of shape (..., d) with d >= 1")
    return torch.cos(check_finite(x, "x").sum(-1) / math.sqrt(x.shape[-1]))


def product_midpoint_rule(
    f: Callable[[Tensor], Tensor], dim: int, nodes_per_dim: int
) -> tuple[float, int]:
    """The product midpoint rule in probability space for :math:`\\mathbb{E}_{\\mathcal{N}(0, I_d)}[f]`.

    Raises:
        ValueError: on a non-positive ``dim`` or ``nodes_per_dim``, or more than
            :math:`10^7` evaluations (the grid would not fit in memory).
    """
    check_callable(f, "f", example="quadrature.cosine_of_scaled_sum")
    dim, m = check_positive_int(dim, "dim"), check_positive_int(nodes_per_dim, "nodes_per_dim")
    if (
        dim * math.log(m) > math.log(10**7) + 1e-9
    ):  # compared in logs: m ** dim itself may be astronomically large
        raise ValueError(
            f"nodes_per_dim ** dim = {m} ** {dim} evaluations is too many: above the cap of 1e7 for one call "
            f"(the grid would not fit in memory); use fewer nodes_per_dim or a smaller dim"
        )
    probabilities = (torch.arange(m, dtype=torch.float64) + 0.5) / m
    nodes = torch.special.ndtri(probabilities)
    grid = torch.cartesian_prod(*([nodes] * dim)).reshape(-1, dim)
    return float(call_checked(f, grid, name="f(x)", shape=(m**dim,)).mean()), m**dim


def midpoint_rule_errors(
    f: Callable[[Tensor], Tensor],
    truth: float,
    dim: int,
    *,
    max_evaluations: int,
    nodes_per_dim=(2, 4, 8, 16, 32, 64, 128),
) -> tuple[list[int], list[float]]:
    """Absolute errors of the product midpoint rule for growing node counts, within an evaluation budget."""
    check_callable(f, "f", example="quadrature.cosine_of_scaled_sum")
    truth = check_float(truth, "truth")
    dim = check_positive_int(dim, "dim")
    max_evaluations = check_positive_int(max_evaluations, "max_evaluations", maximum=10**7)
    if isinstance(nodes_per_dim, (str, bytes)) or not hasattr(nodes_per_dim, "__iter__"):
        raise TypeError(
            f"nodes_per_dim must be a sequence of positive integers, got {nodes_per_dim!r}"
        )
    nodes_per_dim = [check_positive_int(m, "nodes_per_dim entry") for m in nodes_per_dim]
    evaluations, errors = [], []
    for m in nodes_per_dim:
        if dim * math.log(m) > math.log(max_evaluations) + 1e-9:
            continue
        estimate, n = product_midpoint_rule(f, dim, m)
        evaluations.append(n)
        errors.append(abs(estimate - truth))
    return evaluations, errors
