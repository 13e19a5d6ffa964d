"""Argument checks shared by every module of :mod:`lecture9`: one check per rule.

Each check raises ``TypeError`` (wrong kind of object) or ``ValueError`` (right
kind, bad value) with a message that names the argument and says how to fix it.
"""

from __future__ import annotations

import math
import numbers

import torch

__all__ = [
    "MAX_NUM_SAMPLES",
    "MAX_NUM_NODES",
    "check_positive_int",
    "check_num_samples",
    "check_generator",
    "check_positive",
    "check_finite",
    "check_shape",
    "check_distribution",
    "check_samples",
    "check_broadcast",
    "as_finite_tensor",
    "check_choice",
    "check_vae",
]

#: The most samples one call may draw: past it, a clear error instead of torch's allocator error.
MAX_NUM_SAMPLES = 10**9
#: The most quadrature nodes one call may use.
MAX_NUM_NODES = 10**6


def check_positive_int(value, name: str, *, minimum: int = 1, maximum: int | None = None) -> int:
    """Return ``value`` as an ``int`` after checking it is an integer in ``[minimum, maximum]``.

    Integer-valued 0-d integer tensors are accepted; floats (even ``2.0``) and bools are not,
    so that ``1.7`` is an error rather than silently becoming ``1``.
    """
    if isinstance(value, torch.Tensor) and value.dim() == 0 and not value.is_floating_point() and value.dtype != torch.bool:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise TypeError(
            f"{name} must be {kind}, got {value!r} of type {type(value).__name__}; "
            f"pass e.g. {name}={max(minimum, 1) * 10}"
        )
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum:.0e}, got {value}; split the work into smaller calls")
    return value


def check_num_samples(num_samples, name: str = "num_samples", *, maximum: int | None = MAX_NUM_SAMPLES) -> int:
    """Return a number of samples as an ``int``: an integer in ``[1, MAX_NUM_SAMPLES]``.

    For counts that are not sample counts (epochs, batch sizes) use :func:`check_positive_int`.
    """
    if isinstance(num_samples, numbers.Integral) and not isinstance(num_samples, bool) and num_samples < 1:
        raise ValueError(f"{name} must be >= 1, got {num_samples}; draw at least one sample")
    return check_positive_int(num_samples, name, maximum=maximum)


def check_generator(generator, name: str = "generator", *, device: torch.device | str | None = None) -> torch.Generator | None:
    """Check that ``generator`` is ``None`` or a :class:`torch.Generator` (on ``device``'s type, if given)."""
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(
            f"{name} must be a torch.Generator or None, got {type(generator).__name__}; "
            f"create one with torch.Generator().manual_seed(0)"
        )
    if generator is not None and device is not None and torch.device(device).type != generator.device.type:
        raise ValueError(
            f"{name} is a {generator.device.type} generator but the parameters are on {torch.device(device).type}; "
            f"create the generator on the parameters' device, e.g. torch.Generator(device={str(device)!r})"
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


def check_finite(value, name: str, *, hint: str = ""):
    """Check that a number or every entry of a tensor is finite (no NaN, no inf)."""
    extra = f"; {hint}" if hint else ""
    if isinstance(value, torch.Tensor):
        if _under_vmap(value):  # values are not inspectable inside torch.func transforms: checked outside
            return value
        # fast path: a finite sum means finite entries; an overflowing sum falls back to the entrywise test
        if not bool(torch.isfinite(value.sum())) and not bool(torch.isfinite(value).all()):
            raise ValueError(f"{name} must be finite, got NaN or inf{extra}")
    else:
        if not isinstance(value, numbers.Real) or isinstance(value, bool):
            raise TypeError(f"{name} must be a real number, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}{extra}")
    return value


def _under_vmap(tensor: torch.Tensor) -> bool:
    try:
        return bool(torch._C._functorch.is_functorch_wrapped_tensor(tensor))
    except (AttributeError, RuntimeError):  # pragma: no cover - older torch
        return False


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


def check_samples(values, name: str, min_samples: int = 1) -> torch.Tensor:
    """Check per-sample values: a finite tensor with a leading sample dimension of ``>= min_samples``.

    Returns the values as a floating-point tensor.
    """
    if not isinstance(values, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of per-sample values, got {type(values).__name__}")
    if values.dim() == 0:
        raise ValueError(f"{name} must have a leading sample dimension, got a 0-d tensor; pass shape (num_samples, ...)")
    if values.shape[0] < min_samples:
        raise ValueError(f"{name} needs at least {min_samples} samples along dim 0, got {values.shape[0]}")
    if not values.is_floating_point():
        values = values.to(torch.get_default_dtype())
    check_finite(values, name)
    return values


def check_broadcast(value: torch.Tensor, shape, name: str, target: str = "the cost shape") -> torch.Tensor:
    """Check that ``value`` broadcasts to ``shape`` (without growing it) and return it expanded.

    The one rule for baselines, ``h_mean`` and ``beta``: a scalar, a tensor of the trailing
    shape, or a tensor of the full ``shape``.
    """
    try:
        out = torch.broadcast_shapes(value.shape, shape)
    except RuntimeError:
        out = None
    if out is None or tuple(out) != tuple(shape):
        raise ValueError(
            f"{name} has shape {tuple(value.shape)}, which does not broadcast to {target} {tuple(shape)}; "
            f"pass a number or a tensor of shape {tuple(shape)} (or of its trailing dimensions)"
        )
    return value.expand(shape)


def as_finite_tensor(value, like: torch.Tensor, name: str, *, allowed: str = "a number or a tensor") -> torch.Tensor:
    """A number or tensor (a baseline, ``h_mean``, ``beta``) as a finite, detached tensor of ``like``'s dtype and device."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, torch.Tensor)):
        raise TypeError(f"{name} must be {allowed}, got {type(value).__name__}")
    return check_finite(torch.as_tensor(value).detach().to(dtype=like.dtype, device=like.device), name)


def check_choice(value, choices, name: str) -> str:
    """Check that ``value`` is one of ``choices`` (e.g. estimator names)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_vae(model, name: str = "model"):
    """Check that ``model`` is a :class:`lecture9.vae.VAE`."""
    from .vae import VAE

    if not isinstance(model, VAE):
        raise TypeError(
            f"{name} must be a lecture9.vae.VAE, got {type(model).__name__}; build one with "
            f"lecture9.vae.VAE(input_dim=64, latent_dim=8)"
        )
    return model


def check_temperature(temperature, name: str = "temperature") -> float:
    """Return a relaxation temperature as a ``float``: a finite number > 0 (or a 0-d tensor of one)."""
    if isinstance(temperature, bool) or not isinstance(temperature, (numbers.Real, torch.Tensor)):
        raise TypeError(
            f"{name} must be a positive number or a scalar tensor, got {type(temperature).__name__}; "
            f"pass e.g. {name}=0.5"
        )
    if isinstance(temperature, torch.Tensor) and temperature.dim() != 0:
        raise ValueError(f"{name} must be a scalar, got a tensor of shape {tuple(temperature.shape)}")
    value = float(temperature)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be finite and > 0, got {value}; pass e.g. {name}=0.5")
    return value
