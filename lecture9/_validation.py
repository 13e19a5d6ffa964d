"""Argument checks shared by every module of :mod:`lecture9`: one check per rule.

Each check raises ``TypeError`` (wrong kind of object) or ``ValueError`` (right
kind, bad value) with a message that names the argument, the value, and what is allowed.
Numbers may be Python numbers, NumPy scalars or 0-d tensors / arrays; counts must be
integer-valued (``bool`` and floats are refused, so ``1.7`` never becomes ``1``).
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "MAX_NUM_SAMPLES",
    "MAX_NUM_NODES",
    "MAX_WORK",
    "MIN_TEMPERATURE",
    "check_positive_int",
    "check_num_samples",
    "check_int",
    "check_float",
    "check_generator",
    "check_positive",
    "check_finite",
    "check_probability",
    "check_array",
    "check_bool",
    "check_shape",
    "check_distribution",
    "check_samples",
    "check_broadcast",
    "as_finite_tensor",
    "check_choice",
    "check_callable",
    "check_output",
    "call_checked",
    "check_size",
    "check_temperature",
    "check_step",
    "check_path",
    "check_tensor",
    "check_mapping",
    "check_dtype",
    "check_instance",
    "check_arguments",
    "check_public_functions",
]

#: The most samples one call may draw: past it, a clear error instead of torch's allocator error.
MAX_NUM_SAMPLES = 10**9
#: The most quadrature nodes one call may use.
MAX_NUM_NODES = 10**6
#: The most elements (samples x estimates, paths x customers, ...) one call may allocate or loop over.
MAX_WORK = 10**8


def _scalar(value):
    """Unwrap a 0-d tensor or 0-d NumPy array into a Python/NumPy scalar; anything else unchanged."""
    if isinstance(value, torch.Tensor) and value.dim() == 0:
        return value.item()
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value[()]
    return value


def _is_bool(value) -> bool:
    return isinstance(value, (bool, np.bool_)) or (
        isinstance(value, torch.Tensor) and value.dtype == torch.bool
    )


def check_int(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return an integer-valued ``value`` (int, NumPy integer, 0-d integer tensor) as an ``int`` in range."""
    raw = value
    if not _is_bool(value) and not (isinstance(value, torch.Tensor) and value.is_floating_point()):
        value = _scalar(value)
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        kind = "an integer" if minimum is None else f"an integer >= {minimum}"
        fix = (
            f"; use {name}={int(raw)}"
            if isinstance(raw, float) and math.isfinite(raw) and raw == int(raw)
            else ""
        )
        raise TypeError(f"{name} must be {kind}, got {raw!r} of type {type(raw).__name__}{fix}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(
            f"{name} must be at most {maximum:,}, got {value:,}; split the work into smaller calls"
        )
    return value


def check_positive_int(value, name: str, *, minimum: int = 1, maximum: int | None = None) -> int:
    """Return ``value`` as an ``int`` after checking it is an integer in ``[minimum, maximum]``.

    Python ints, NumPy integers and 0-d integer tensors are accepted; floats (even ``2.0``),
    bools, strings and ``None`` are not (``TypeError`` naming the argument).
    """
    try:
        return check_int(value, name, minimum=minimum, maximum=maximum)
    except TypeError:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise TypeError(
            f"{name} must be {kind}, got {value!r} of type {type(value).__name__}; "
            f"pass e.g. {name}={max(minimum, 1) * 10}"
        ) from None


def check_num_samples(
    num_samples, name: str = "num_samples", *, maximum: int | None = MAX_NUM_SAMPLES
) -> int:
    """Return a number of samples as an ``int``: an integer in ``[1, MAX_NUM_SAMPLES]``.

    For counts that are not sample counts (epochs, batch sizes) use :func:`check_positive_int`.
    """
    if (
        isinstance(num_samples, numbers.Integral)
        and not isinstance(num_samples, bool)
        and num_samples < 1
    ):
        raise ValueError(f"{name} must be >= 1, got {num_samples}; draw at least one sample")
    return check_positive_int(num_samples, name, maximum=maximum)


def check_generator(
    generator, name: str = "generator", *, device: torch.device | str | None = None
) -> torch.Generator | None:
    """Check that ``generator`` is ``None`` or a :class:`torch.Generator` (on ``device``'s type, if given)."""
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(
            f"{name} must be a torch.Generator or None, got {type(generator).__name__}; "
            f"create one with torch.Generator().manual_seed(0)"
        )
    if (
        generator is not None
        and device is not None
        and torch.device(device).type != generator.device.type
    ):
        raise ValueError(
            f"{name} is a {generator.device.type} generator but the parameters are on {torch.device(device).type}; "
            f"create the generator on the parameters' device, e.g. torch.Generator(device={str(device)!r})"
        )
    return generator


def check_float(
    value,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict: bool = False,
    hint: str = "",
) -> float:
    """Return a finite real ``value`` (Python/NumPy number, 0-d tensor or array) as a ``float`` in range.

    ``strict`` makes ``minimum`` exclusive. Strings, ``None`` and bools raise ``TypeError``.
    """
    raw, value = value, _scalar(value)
    extra = f"; {hint}" if hint else ""
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a real number, got {raw!r} of type {type(raw).__name__}{extra}"
        )
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}{extra}")
    if minimum is not None and (value <= minimum if strict else value < minimum):
        raise ValueError(
            f"{name} must be {'>' if strict else '>='} {minimum:g}, got {value}{extra}"
        )
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum:g}, got {value}{extra}")
    return value


def check_positive(value, name: str):
    """Check that a number or every entry of a tensor is finite and strictly positive."""
    if isinstance(value, torch.Tensor) and value.dim() > 0:
        if not torch.isfinite(value).all() or not (value > 0).all():
            raise ValueError(f"{name} must be finite and > 0 everywhere, got {value}")
        return value
    if isinstance(value, torch.Tensor):
        check_finite(value, name)
        if not bool(value > 0):
            raise ValueError(f"{name} must be finite and > 0, got {value.item()}")
        return value
    if _is_bool(value) or not isinstance(_scalar(value), numbers.Real):
        raise TypeError(f"{name} must be a positive number, got {value!r}")
    if not math.isfinite(_scalar(value)) or _scalar(value) <= 0:
        raise ValueError(f"{name} must be finite and > 0, got {value}")
    return value


def check_finite(value, name: str, *, hint: str = ""):
    """Check that a number or every entry of a tensor is finite (no NaN, no inf)."""
    extra = f"; {hint}" if hint else ""
    if isinstance(value, torch.Tensor):
        if under_vmap(
            value
        ):  # values are not inspectable inside torch.func transforms: checked outside
            return value
        if value.dtype == torch.bool or value.is_complex():
            raise TypeError(f"{name} must be a real tensor, got dtype {value.dtype}{extra}")
        # fast path: a finite sum means finite entries (one reduction and one read, a few
        # microseconds); an overflowing sum falls back to the entrywise test
        if not math.isfinite(value.sum().item()) and not bool(torch.isfinite(value).all()):
            raise ValueError(f"{name} must be finite, got NaN or inf{extra}")
    elif isinstance(value, np.ndarray) and value.ndim > 0:
        if value.dtype.kind not in "iuf":
            raise TypeError(
                f"{name} must be an array of real numbers, got dtype {value.dtype}{extra}"
            )
        if not np.isfinite(value).all():
            raise ValueError(f"{name} must be finite, got NaN or inf{extra}")
    else:
        check_float(value, name, hint=hint)
    return value


def check_array(
    values, name: str, *, ndim: int | None = None, min_len: int = 1, finite: bool = True
) -> np.ndarray:
    """Return numbers (a sequence, array or tensor) as a float64 NumPy array: real, finite, of ``ndim`` dims.

    Strings, ``None`` and non-numeric entries raise ``TypeError``; NaN/inf or a wrong shape ``ValueError``.
    """
    if values is None or isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of numbers, got {values!r}")
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu()
    try:
        out = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a sequence of numbers, got {values!r:.80}") from error
    if ndim is not None and out.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {out.shape}")
    if out.ndim > 0 and len(out) < min_len:
        raise ValueError(f"{name} needs at least {min_len} values, got {len(out)}")
    if finite and not np.isfinite(out).all():
        raise ValueError(f"{name} must be finite, got NaN or inf")
    return out


def check_probability(value, name: str, *, open_interval: bool = False) -> float:
    """Return a probability as a ``float`` in ``[0, 1]`` (``(0, 1)`` if ``open_interval``)."""
    value = check_float(value, name)
    if (open_interval and not 0 < value < 1) or not 0 <= value <= 1:
        interval = "(0, 1)" if open_interval else "[0, 1]"
        raise ValueError(f"{name} must be a probability in {interval}, got {value}")
    return value


def check_bool(value, name: str) -> bool:
    """Return a flag as a ``bool``: ``True``/``False`` (or a NumPy bool), nothing else."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"{name} must be True or False, got {value!r} of type {type(value).__name__}"
        )
    return bool(value)


def under_vmap(tensor: torch.Tensor) -> bool:
    try:
        return bool(torch._C._functorch.is_functorch_wrapped_tensor(tensor))
    except (AttributeError, RuntimeError):  # pragma: no cover - older torch
        return False


def check_shape(
    tensor: torch.Tensor, expected: tuple[int, ...] | torch.Size, name: str, hint: str = ""
) -> torch.Tensor:
    """Check that ``tensor`` is a tensor of exactly the ``expected`` shape."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    if tuple(tensor.shape) != tuple(expected):
        extra = f"; {hint}" if hint else ""
        raise ValueError(
            f"{name} has shape {tuple(tensor.shape)}, expected {tuple(expected)}{extra}"
        )
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
        raise TypeError(
            f"{name} must be a torch.Tensor of per-sample values, got {type(values).__name__}"
        )
    if values.dim() == 0:
        raise ValueError(
            f"{name} must have a leading sample dimension, got a 0-d tensor; pass shape (num_samples, ...)"
        )
    if values.shape[0] < min_samples:
        raise ValueError(
            f"{name} needs at least {min_samples} samples along dim 0, got {values.shape[0]}"
        )
    if not values.is_floating_point():
        values = values.to(torch.get_default_dtype())
    check_finite(values, name)
    return values


def check_broadcast(
    value: torch.Tensor, shape, name: str, target: str = "the cost shape"
) -> torch.Tensor:
    """Check that ``value`` broadcasts to ``shape`` (without growing it) and return it expanded.

    The one rule for baselines, ``h_mean`` and ``beta``: a scalar, a tensor of the trailing
    shape, or a tensor of the full ``shape``.
    """
    if tuple(value.shape) == tuple(shape):  # the common case, without broadcast_shapes' cost
        return value
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


def as_finite_tensor(
    value, like: torch.Tensor, name: str, *, allowed: str = "a number or a tensor"
) -> torch.Tensor:
    """A number or tensor (a baseline, ``h_mean``, ``beta``) as a finite, detached tensor like ``like``."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, torch.Tensor)):
        raise TypeError(f"{name} must be {allowed}, got {type(value).__name__}")
    return check_finite(
        torch.as_tensor(value).detach().to(dtype=like.dtype, device=like.device), name
    )


def check_choice(value, choices, name: str) -> str:
    """Check that ``value`` is one of ``choices`` (e.g. estimator names)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_callable(value, name: str, *, example: str = "lambda x: (x - 3.0) ** 2"):
    """Check that ``value`` is callable (a cost, a baseline, a policy)."""
    if not callable(value):
        raise TypeError(
            f"{name} must be a callable, got {value!r} of type {type(value).__name__}; e.g. {example}"
        )
    return value


def check_output(value, name: str, *, shape=None, hint: str = "") -> torch.Tensor:
    """Check what a user-supplied callable returned: a real tensor, of ``shape`` if given, finite.

    ``name`` is how the call reads, e.g. ``"f(x)"`` or ``"baseline(states)"``.
    """
    extra = f"; {hint}" if hint else ""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}{extra}")
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise ValueError(f"{name} has shape {tuple(value.shape)}, expected {tuple(shape)}{extra}")
    return check_finite(value, name, hint=hint)


def call_checked(fn, *args, name: str, shape=None, hint: str = "") -> torch.Tensor:
    """Call a user-supplied callable and check what it returns with :func:`check_output`."""
    return check_output(fn(*args), name, shape=shape, hint=hint)


def check_size(
    value,
    name: str,
    *,
    maximum: int = MAX_WORK,
    workaround: str = "split the work into smaller calls",
) -> int:
    """Check that a size (or a product of sizes, ``name`` saying which) is at most ``maximum``.

    Called before any large allocation or long loop; the message states the cap and how to go around it.
    """
    if value > maximum:
        shown = f"{value:,}" if value < 10**15 else f"{float(value):.3g}"
        raise ValueError(
            f"{name} is {shown}, above the cap of {maximum:,} for one call; {workaround}"
        )
    return value


#: The smallest temperature allowed: below it float32 cannot represent ``logits / temperature``.
MIN_TEMPERATURE = 1e-30


def check_temperature(
    temperature, name: str = "temperature", *, minimum: float = MIN_TEMPERATURE
) -> float:
    """Return a relaxation temperature as a ``float``: finite, >= ``minimum`` (float32 limit)."""
    if isinstance(temperature, torch.Tensor) and temperature.dim() != 0:
        raise ValueError(
            f"{name} must be a scalar, got a tensor of shape {tuple(temperature.shape)}"
        )
    if _is_bool(temperature) or not isinstance(_scalar(temperature), numbers.Real):
        raise TypeError(
            f"{name} must be a positive number or a scalar tensor, got {temperature!r} of type "
            f"{type(temperature).__name__}; pass e.g. {name}=0.5"
        )
    value = check_float(temperature, name, minimum=0.0, strict=True, hint=f"pass e.g. {name}=0.5")
    if value < minimum:
        raise ValueError(
            f"{name} must be at least {minimum:g} (float32 cannot represent the relaxation below it), "
            f"got {value:g}"
        )
    return value


def check_step(
    step, name: str = "h", *, at: float = 1.0, dtype: torch.dtype = torch.float64
) -> float:
    """Return a finite-difference step as a ``float``: finite, > 0, and large enough that ``at + step != at``.

    The smallest step allowed is ``finfo(dtype).eps * max(1, |at|)``; a smaller one would return 0.
    """
    value = check_float(step, name, minimum=0.0, strict=True)
    smallest = torch.finfo(dtype).eps * max(1.0, abs(at))
    if value < smallest:
        raise ValueError(
            f"{name} must be at least {smallest:.3g} ({dtype} cannot resolve a smaller step at "
            f"{at:g}), got {value:g}"
        )
    return value


def check_path(value, name: str, *, optional: bool = False) -> Path | None:
    """Return a file or folder path (``str`` or ``os.PathLike``) as a :class:`~pathlib.Path`.

    ``None`` is returned unchanged when ``optional``; anything else raises ``TypeError``.
    """
    if value is None and optional:
        return None
    if isinstance(value, (bytes, bool)) or not isinstance(value, (str, os.PathLike)):
        allowed = "a path (str or pathlib.Path)" + (" or None" if optional else "")
        raise TypeError(f"{name} must be {allowed}, got {value!r} of type {type(value).__name__}")
    if isinstance(value, str) and not value.strip():
        raise ValueError(f"{name} must be a non-empty path, got {value!r}")
    return Path(value)


def check_tensor(
    value, name: str, *, ndim: int | None = None, floating: bool = False, finite: bool = True
) -> torch.Tensor:
    """Check that ``value`` is a tensor (of ``ndim`` dims, floating-point, finite, as asked) and return it."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor, got {value!r:.60} of type {type(value).__name__}"
        )
    if ndim is not None and value.dim() != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {tuple(value.shape)}")
    if floating and not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    if finite and value.dtype != torch.bool and (floating or value.is_floating_point()):
        check_finite(value, name)
    return value


def check_mapping(value, name: str, *, example: str = "{'name': values}") -> Mapping:
    """Check that ``value`` is a mapping (a dict of results, settings, curves) and return it."""
    if not isinstance(value, Mapping):
        raise TypeError(
            f"{name} must be a mapping (dict), got {value!r:.60} of type {type(value).__name__}; "
            f"e.g. {example}"
        )
    return value


def check_dtype(value, name: str = "dtype", *, floating: bool = True) -> torch.dtype:
    """Check that ``value`` is a :class:`torch.dtype` (a floating one if ``floating``) and return it."""
    if not isinstance(value, torch.dtype):
        raise TypeError(
            f"{name} must be a torch.dtype, got {value!r} of type {type(value).__name__}; "
            f"e.g. {name}=torch.float64"
        )
    if floating and not value.is_floating_point:
        raise TypeError(f"{name} must be a floating-point dtype, got {value}")
    return value


def check_instance(value, cls, name: str, *, optional: bool = False):
    """Check that ``value`` is an instance of ``cls`` (a type or tuple of types), or ``None`` if ``optional``."""
    if (value is None and optional) or isinstance(value, cls):
        return value
    names = " or ".join(c.__name__ for c in (cls if isinstance(cls, tuple) else (cls,)))
    raise TypeError(
        f"{name} must be a {names}{' or None' if optional else ''}, got {value!r:.60} of type "
        f"{type(value).__name__}"
    )


def _annotation_check(value, name: str, annotation: str, optional: bool) -> None:
    """Check one argument against its (string) annotation; see :func:`check_arguments`."""
    if value is None:  # annotations do not always say None: refused only where it cannot work
        if not optional and annotation.startswith(("Mapping", "Sequence", "dict", "Callable")):
            raise TypeError(f"{name} must not be None (annotated {annotation})")
        return
    if name in ("width", "height"):
        check_float(value, name, minimum=0.0, strict=True)
    if name == "ax":
        if not hasattr(value, "figure") or isinstance(value, (str, bytes)):
            raise TypeError(f"ax must be a matplotlib Axes or None, got {value!r:.60}")
        return
    base = annotation.replace(" | None", "").replace("None | ", "").strip()
    if base in ("float", "int") and (isinstance(value, (str, bytes)) or _is_bool(value)):
        raise TypeError(
            f"{name} must be a number, got {value!r:.60} of type {type(value).__name__}"
        )
    if base == "float" and isinstance(_scalar(value), numbers.Real):
        check_float(value, name)
    elif base == "int" and isinstance(_scalar(value), numbers.Real):
        check_int(value, name, maximum=MAX_WORK)
    elif base == "bool":
        check_bool(value, name)
    elif base.startswith(("Mapping", "dict")):
        check_mapping(value, name)
    elif base.startswith(("Sequence", "tuple", "list")) and (
        isinstance(value, (str, bytes, numbers.Number)) or not hasattr(value, "__iter__")
    ):
        raise TypeError(f"{name} must be a sequence ({base}), got {value!r:.60}")
    elif base.startswith("Callable"):
        check_callable(value, name)


def check_arguments(fn):
    """Wrap ``fn`` so that each call checks its arguments against their annotations first.

    Only what the annotation states is checked (numbers finite and not strings, flags, mappings,
    sequences that are not strings, callables, ``ax`` a matplotlib Axes); unannotated
    arguments are left to the function. The wrapper costs one signature binding per call.
    """
    import functools
    import inspect

    signature = inspect.signature(fn)
    rules = {
        p.name: (str(p.annotation), p.default is None or "None" in str(p.annotation))
        for p in signature.parameters.values()
        if p.annotation is not p.empty or p.name == "ax"
    }

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        for name, value in bound.arguments.items():
            if name in rules:
                _annotation_check(value, name, *rules[name])
        return fn(*args, **kwargs)

    return wrapper


def check_public_functions(namespace: dict) -> None:
    """Wrap every function a module exports (its ``__all__``) with :func:`check_arguments`."""
    import inspect

    for name in namespace["__all__"]:
        if inspect.isfunction(namespace[name]) and name != "style":
            namespace[name] = check_arguments(namespace[name])
