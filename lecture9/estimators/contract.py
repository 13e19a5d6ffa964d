"""What every estimator shares: the argument checks, per-sample parameters and per-sample gradients.

The contract itself is stated once, in :mod:`lecture9.estimators`. Parameters, families and
costs are checked by :mod:`lecture9.families`, the ground floor the exact truth shares.
"""

from __future__ import annotations

import math

import torch
from torch import distributions as D

from .._validation import check_generator, check_num_samples, check_size
from ..families import as_params, build, family_name, innermost

# checked, event_dim, expanded, per_sample and finite_grads are the estimator modules' shared
# steps (used only inside lecture9.estimators, after the estimators' own checks), not public API.
__all__ = ["is_reparameterizable"]


def checked(
    num_samples, generator, params
) -> tuple[int, torch.Generator | None, dict[str, torch.Tensor]]:
    """The checks every estimator starts with: sample count, parameters, generator on their device."""
    num_samples = check_num_samples(num_samples)
    params = as_params(params)
    check_size(
        num_samples * sum(p.numel() for p in params.values()),
        "num_samples x parameter entries",
        workaround="draw fewer samples per call and average the estimates of several calls",
    )
    generator = check_generator(generator, device=next(iter(params.values())).device)
    return num_samples, generator, params


def event_dim(dist: D.Distribution, name: str) -> int:
    """Number of trailing event dimensions of parameter ``name`` (0 for scalar parameters)."""
    try:
        constraint = dist.arg_constraints.get(name)
        return int(getattr(constraint, "event_dim", 0)) if constraint is not None else 0
    except (NotImplementedError, AttributeError, TypeError):
        return 0


def expanded(distribution, params: dict[str, torch.Tensor], dist: D.Distribution, num_samples: int):
    """One copy of every parameter per sample, so that one backward pass gives per-sample gradients.

    Sample ``i`` only depends on copy ``i``. Each parameter is padded according to its own
    shape against the batch shape of the innermost distribution (``Independent``
    reinterprets batch dims as event dims, which the parameters still carry).

    Raises:
        ValueError: if the family's batch shape does not follow its parameters.
    """
    inner = innermost(dist)
    batch_ndim = len(inner.batch_shape)
    leaves = {}
    for name, value in params.items():
        pad = max(batch_ndim - (value.dim() - event_dim(inner, name)), 0)
        shape = (num_samples,) + (1,) * pad + tuple(value.shape)
        leaves[name] = (
            value.reshape((1,) * (pad + 1) + tuple(value.shape))
            .expand(shape)
            .clone()
            .requires_grad_(True)
        )
    dist_n = build(distribution, leaves)
    expected = torch.Size((num_samples,)) + dist.batch_shape
    if dist_n.batch_shape != expected:
        raise ValueError(
            f"{family_name(distribution)} built from per-sample parameters has batch shape "
            f"{tuple(dist_n.batch_shape)}, expected {tuple(expected)}; the distribution's batch shape must "
            f"follow its parameters (for a TransformedDistribution, build the base distribution with the "
            f"parameters' shape, e.g. Uniform(torch.zeros_like(loc), torch.ones_like(loc)))"
        )
    return dist_n, leaves


def per_sample(grad: torch.Tensor | None, leaf: torch.Tensor, param: torch.Tensor) -> torch.Tensor:
    """The gradient for the per-sample copies ``leaf`` as ``(num_samples, *param.shape)`` (zeros if unused)."""
    if grad is None:
        grad = torch.zeros_like(leaf)
    return grad.detach().reshape((leaf.shape[0],) + tuple(param.shape))


def finite_grads(grads: dict[str, torch.Tensor], estimator: str) -> dict[str, torch.Tensor]:
    """Refuse per-sample gradients that overflowed (e.g. float16 parameters with a tiny scale).

    Raises:
        ValueError: naming the estimator and the parameter.
    """
    for name, g in grads.items():
        if not math.isfinite(g.sum().item()) and not bool(torch.isfinite(g).all()):
            raise ValueError(
                f"{estimator} overflowed: the per-sample gradients of params[{name!r}] ({g.dtype}) are not finite; "
                f"use float64 parameters or rescale the problem"
            )
    return grads


def is_reparameterizable(distribution, params) -> bool:
    """Whether :func:`~lecture9.estimators.pathwise_grad` can differentiate through samples (``has_rsample``).

    Raises:
        TypeError, ValueError: on bad ``distribution`` or ``params`` (as the estimators).
    """
    return bool(build(distribution, as_params(params)).has_rsample)
