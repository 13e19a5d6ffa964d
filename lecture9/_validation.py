"""Argument checks shared by every module of :mod:`lecture9`.

Each check raises ``TypeError`` (wrong kind of object) or ``ValueError`` (right
kind, bad value) with a message that names the argument and says how to fix it.
"""

from __future__ import annotations

import math
import numbers

import torch

__all__ = [
    "check_num_samples",
    "check_generator",
    "check_positive",
    "check_finite",
    "check_shape",
    "check_distribution",
]


def check_num_samples(num_samples, name: str = "num_samples") -> int:
    """Return ``num_samples`` as an ``int`` after checking it is an integer >= 1."""
    if isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral):
        if isinstance(num_samples, torch.Tensor) and num_samples.dim() == 0 and not num_samples.is_floating_point():
            num_samples = int(num_samples)
        else:
            raise TypeError(
                f"{name} must be a positive integer, got {num_samples!r} "
                f"of type {type(num_samples).__name__}; pass e.g. {name}=1000"
            )
    if num_samples < 1:
        raise ValueError(f"{name} must be >= 1, got {num_samples}; draw at least one sample")
    return int(num_samples)


def check_generator(generator, name: str = "generator") -> torch.Generator | None:
    """Check that ``generator`` is ``None`` or a :class:`torch.Generator`."""
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(
            f"{name} must be a torch.Generator or None, got {type(generator).__name__}; "
            f"create one with torch.Generator().manual_seed(0)"
        )
    return generator


def check_positive(value, name: str):
    """Check that a number or every entry of a tensor is finite and strictly positive."""
    if isinstance(value, torch.Tensor):
        if not torch.isfinite(value).all() or not (value > 0).all():
            raise ValueError(f"{name} must be finite and > 0 everywhere, got {value}")
    else:
        if not isinstance(value, numbers.Real) or isinstance(value, bool):
            raise TypeError(f"{name} must be a positive number, got {value!r}")
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be finite and > 0, got {value}")
    return value


def check_finite(value, name: str):
    """Check that a number or every entry of a tensor is finite."""
    if isinstance(value, torch.Tensor):
        if not torch.isfinite(value).all():
            raise ValueError(f"{name} must be finite, got {value}")
    else:
        if not isinstance(value, numbers.Real) or isinstance(value, bool):
            raise TypeError(f"{name} must be a real number, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
    return value


def check_shape(tensor: torch.Tensor, expected: tuple[int, ...] | torch.Size, name: str, hint: str = "") -> torch.Tensor:
    """Check that ``tensor`` is a tensor of exactly the ``expected`` shape."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    if tuple(tensor.shape) != tuple(expected):
        extra = f"; {hint}" if hint else ""
        raise ValueError(f"{name} has shape {tuple(tensor.shape)}, expected {tuple(expected)}{extra}")
    return tensor


def check_distribution(dist, name: str) -> torch.distributions.Distribution:
    """Check that ``dist`` is a :class:`torch.distributions.Distribution` instance."""
    if not isinstance(dist, torch.distributions.Distribution):
        raise TypeError(
            f"{name} must be a torch.distributions.Distribution instance, got {type(dist).__name__}; "
            f"e.g. torch.distributions.Normal(0.0, 1.0)"
        )
    return dist
