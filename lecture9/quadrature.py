"""Tensor-product quadrature against Monte Carlo: the curse of dimension.

Introduced in chapter 3, *Gradients of expectations* (why the gradient of an
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

import math
from typing import Callable

import torch
from torch import Tensor

from ._validation import check_positive_int

__all__ = ["cosine_of_scaled_sum", "COSINE_OF_SCALED_SUM_MEAN", "COSINE_OF_SCALED_SUM_SD",
           "product_midpoint_rule", "midpoint_rule_errors"]

#: :math:`\mathbb{E}[\cos(\sum_i x_i / \sqrt{d})] = e^{-1/2}` under :math:`\mathcal{N}(0, I_d)`, for every :math:`d`.
COSINE_OF_SCALED_SUM_MEAN = math.exp(-0.5)
#: Its standard deviation, :math:`\sqrt{(1 + e^{-2})/2 - e^{-1}}`, for every :math:`d`.
COSINE_OF_SCALED_SUM_SD = math.sqrt((1 + math.exp(-2)) / 2 - math.exp(-1))


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
    return torch.cos(x.sum(-1) / math.sqrt(x.shape[-1]))


def product_midpoint_rule(f: Callable[[Tensor], Tensor], dim: int, nodes_per_dim: int) -> tuple[float, int]:
    """The product midpoint rule in probability space for :math:`\\mathbb{E}_{\\mathcal{N}(0, I_d)}[f]`.

    Args:
        f: the integrand, vectorised: ``(n, dim) -> (n,)``.
        dim: the dimension :math:`d`, >= 1.
        nodes_per_dim: :math:`m`, nodes per axis, >= 1.

    Returns:
        ``(estimate, evaluations)`` with ``evaluations = nodes_per_dim ** dim``.

    Raises:
        ValueError: on a non-positive ``dim`` or ``nodes_per_dim``, or more than
            :math:`10^7` evaluations (the grid would not fit in memory).
    """
    dim, m = check_positive_int(dim, "dim"), check_positive_int(nodes_per_dim, "nodes_per_dim")
    if m ** dim > 10**7:
        raise ValueError(f"nodes_per_dim ** dim = {m ** dim} evaluations is too many; keep it <= 1e7")
    probabilities = (torch.arange(m, dtype=torch.float64) + 0.5) / m
    nodes = torch.special.ndtri(probabilities)
    grid = torch.cartesian_prod(*([nodes] * dim)).reshape(-1, dim)
    return float(f(grid).mean()), m ** dim


def midpoint_rule_errors(f: Callable[[Tensor], Tensor], truth: float, dim: int, *, max_evaluations: int,
                         nodes_per_dim=(2, 4, 8, 16, 32, 64, 128)) -> tuple[list[int], list[float]]:
    """Absolute errors of the product midpoint rule for growing node counts, within an evaluation budget.

    Args:
        f: the integrand, vectorised: ``(n, dim) -> (n,)``.
        truth: the exact value of :math:`\\mathbb{E}[f]`.
        dim: the dimension :math:`d`.
        max_evaluations: only node counts with :math:`m^d \\le` ``max_evaluations`` are used.
        nodes_per_dim: the candidate node counts :math:`m`.

    Returns:
        ``(evaluations, errors)``: the numbers :math:`m^d` of evaluations and the
        errors :math:`|\\hat{F} - F|`, one per node count used.
    """
    evaluations, errors = [], []
    for m in nodes_per_dim:
        if m ** dim > max_evaluations:
            continue
        estimate, n = product_midpoint_rule(f, dim, m)
        evaluations.append(n)
        errors.append(abs(estimate - truth))
    return evaluations, errors
