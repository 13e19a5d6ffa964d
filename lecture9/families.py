"""Parameters, families and costs: the ground floor shared by the estimators and the exact truth.

A family is a :class:`torch.distributions.Distribution` subclass or a factory
``**params -> Distribution``; ``params`` is a dict of named tensors; a cost ``f`` maps
samples ``(n, *batch_shape, *event_shape)`` to costs ``(n, *batch_shape)``. The estimators
(:mod:`lecture9.estimators`) and the exact references (:mod:`lecture9.enumeration`) check
all three here, so both raise the same errors and neither imports the other.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import torch
from torch import distributions as D

from ._validation import check_finite, check_mapping, check_shape, check_tensor

__all__ = [
    "POSITIVE_PARAMS",
    "family_name",
    "as_params",
    "build",
    "innermost",
    "evaluate_cost",
    "check_cost_finite",
]

#: Parameters that must be strictly positive, whatever the family.
POSITIVE_PARAMS = (
    "scale",
    "rate",
    "concentration",
    "concentration0",
    "concentration1",
    "df",
    "alpha",
    "temperature",
)


def family_name(distribution) -> str:
    """The name of a family or factory, for messages."""
    return getattr(distribution, "__name__", type(distribution).__name__)


def _checked_param(name, value) -> torch.Tensor:
    if not isinstance(name, str):
        raise TypeError(f"params keys must be parameter names (str), got {name!r}")
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = torch.tensor(float(value), dtype=torch.get_default_dtype())
    if not isinstance(value, torch.Tensor):
        raise TypeError(
            f"params[{name!r}] must be a tensor or a number, got {type(value).__name__}; "
            f"pass e.g. torch.tensor(1.0)"
        )
    value = value.detach()
    if value.device.type == "meta":
        raise ValueError(
            f"params[{name!r}] is on the meta device, which holds no values; pass tensors on cpu or cuda"
        )
    if not value.is_floating_point():
        value = value.to(torch.get_default_dtype())
    if value.numel() == 1:  # one number: Python checks, cheaper than tensor reductions
        v = value.item()
        finite, positive = math.isfinite(v), v > 0
    else:
        finite = bool(torch.isfinite(value).all())
        positive = name not in POSITIVE_PARAMS or bool((value > 0).all())
    if not finite:
        raise ValueError(f"params[{name!r}] must be finite everywhere, got {value}")
    if name in POSITIVE_PARAMS and not positive:
        raise ValueError(
            f"params[{name!r}] must be > 0 everywhere, got {value}; "
            f"a {name} is strictly positive (e.g. torch.tensor(1.0))"
        )
    if name == "probs" and not ((value >= 0) & (value <= 1)).all():
        raise ValueError(f"params['probs'] must lie in [0, 1], got {value}")
    return value


def as_params(params) -> dict[str, torch.Tensor]:
    """Validate ``params`` and return a dict of detached floating-point tensors on one device.

    Raises:
        TypeError: if ``params`` is not a non-empty dict of named tensors or numbers.
        ValueError: on non-finite values, a non-positive scale-like parameter, probabilities
            outside [0, 1], meta tensors or tensors on several devices.
    """
    if not isinstance(params, Mapping) or len(params) == 0:
        raise TypeError(
            f"params must be a non-empty dict of named tensors, got {params!r}; "
            'pass e.g. {"loc": torch.tensor(1.0), "scale": torch.tensor(1.0)}'
        )
    out = {name: _checked_param(name, value) for name, value in params.items()}
    devices = {v.device for v in out.values()}
    if len(devices) > 1:
        raise ValueError(
            f"params must all be on one device, got {sorted(str(d) for d in devices)}; move them with .to(device)"
        )
    return out


def build(distribution, params: Mapping[str, torch.Tensor]) -> D.Distribution:
    """Call ``distribution(**params)`` and check that it returns a Distribution.

    Raises:
        TypeError: if ``distribution`` is not callable, the names do not fit, or the result
            is not a Distribution.
        ValueError: if the values are invalid for the family or the shapes do not broadcast.
    """
    if not callable(distribution):
        raise TypeError(
            f"distribution must be a torch.distributions.Distribution subclass or a factory "
            f"**params -> Distribution, got {distribution!r}; pass e.g. torch.distributions.Normal"
        )
    name = family_name(distribution)
    check_mapping(params, "params", example="{'loc': torch.tensor(0.0)}")
    try:
        dist = distribution(**params)
    except TypeError as err:
        raise TypeError(
            f"could not build {name}(**params) from params with keys {sorted(params)}: {err}; "
            f"name the parameters as the distribution does (e.g. loc/scale, probs, rate)"
        ) from err
    except (ValueError, RuntimeError) as err:
        shapes = {k: tuple(v.shape) for k, v in params.items()}
        raise ValueError(
            f"invalid params for {name} (shapes {shapes}): {err}; parameters must be valid for the family "
            f"and their shapes must broadcast against each other"
        ) from err
    if not isinstance(dist, D.Distribution):
        raise TypeError(
            f"distribution(**params) must return a torch.distributions.Distribution, "
            f"got {type(dist).__name__}"
        )
    return dist


def innermost(dist: D.Distribution) -> D.Distribution:
    """The distribution under any ``Independent`` wrappers (whose batch dims the parameters carry)."""
    while isinstance(dist, D.Independent):
        dist = dist.base_dist
    return dist


def evaluate_cost(
    f,
    x: torch.Tensor,
    expected: torch.Size,
    *,
    differentiable: bool,
    copy: bool = False,
    finite: bool = True,
) -> torch.Tensor:
    """``f(x)``, checked to have shape ``expected``; ``copy=True`` when the caller still needs ``x``.

    ``finite=False`` leaves the finiteness check to the caller (which checks a sum it computes anyway).

    Raises:
        TypeError: if ``f`` is not callable.
        ValueError: if ``f(x)`` has the wrong shape or (with ``finite``) NaN or inf values.
    """
    if not callable(f):
        raise TypeError(f"f must be a callable mapping samples to costs, got {type(f).__name__}")
    if not isinstance(expected, (tuple, torch.Size)):
        raise TypeError(f"expected must be the cost shape (a torch.Size), got {expected!r:.60}")
    check_tensor(x, "x", finite=False)
    if differentiable:
        fx = f(x)
    else:
        with torch.no_grad():
            fx = f(x.clone() if copy else x)
    check_shape(
        fx,
        expected,
        "f(x)",
        hint=(
            f"f must return one cost per sample and batch entry: samples of shape {tuple(x.shape)} -> costs of "
            f"shape {tuple(expected)} (reduce over event dimensions inside f, do not average over samples)"
        ),
    )
    if finite:
        check_cost_finite(fx)
    return fx if differentiable else fx.detach()


def check_cost_finite(fx: torch.Tensor) -> None:
    """Raise ``ValueError`` naming the cost if ``fx`` has NaN or inf values."""
    check_finite(
        fx.detach(),
        "f(x)",
        hint="the cost f returned NaN or inf at some samples; make f finite on the support",
    )
