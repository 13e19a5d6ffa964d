"""Control variates: variance reduction that keeps the expectation, and the delta method.

Introduced in chapter 8, *Control variates*; Mohamed et al. (2020), Sec. 7.4.

A control variate is a function :math:`h` whose expectation we know. Replacing
the per-sample values :math:`f(x_n)` by

.. math::

    \\tilde f(x_n) = f(x_n) - \\beta \\, \\bigl(h(x_n) - \\mathbb{E}[h(x)]\\bigr)

leaves the mean unchanged for any fixed :math:`\\beta` and, with the optimal
:math:`\\beta^* = \\operatorname{Cov}(f, h) / \\operatorname{Var}(h)`, multiplies the
variance by :math:`1 - \\rho^2`, where :math:`\\rho` is the correlation of
:math:`f` and :math:`h`.

Everything here works on plain per-sample tensors (shape ``(num_samples, ...)``),
such as the per-sample gradients returned by :mod:`lecture9.estimators`:

- :func:`control_variate`, :func:`optimal_beta`, :func:`correlation`,
  :func:`variance_reduction_factor`: the general construction.
- The delta method (:func:`delta_method_grad`, :func:`delta_method_moments`): a Taylor
  expansion of ``f`` around the mean as control variate, for the score-function and
  pathwise estimators, whose per-sample terms come from :mod:`lecture9.estimators`.

Baselines (a control variate for the score function) are in :mod:`lecture9.baselines`;
exact moments in :mod:`lecture9.reference`.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import torch

from . import estimators
from ._validation import (
    as_finite_tensor,
    check_broadcast,
    check_callable,
    check_choice,
    check_finite,
    check_float,
    check_generator,
    check_num_samples,
    check_output,
    check_samples,
)
from .reference import gaussian_expectation
from .sampling import normal_noise

__all__ = [
    "control_variate",
    "optimal_beta",
    "correlation",
    "variance_reduction_factor",
    "taylor_coefficients",
    "delta_method_grad",
    "delta_method_moments",
]

_BETA_MODES = ("estimate", "leave_one_out")
_Normal = torch.distributions.Normal


def _check_pair(f_values, h_values, min_samples: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    f_values = check_samples(f_values, "f_values", min_samples)
    h_values = check_samples(h_values, "h_values", min_samples)
    if f_values.shape != h_values.shape:
        raise ValueError(
            f"f_values has shape {tuple(f_values.shape)} but h_values has shape {tuple(h_values.shape)}; "
            f"pass the values of f and of the control variate h at the same samples"
        )
    return f_values, h_values


def _zero_variance_threshold(h_values: torch.Tensor) -> torch.Tensor:
    # Rounding leaves a variance of about (eps * |h|)^2 for a constant h.
    eps = torch.finfo(h_values.dtype).eps
    return (16 * eps * h_values.abs().amax(0)) ** 2


def _raise_zero_variance(where: str = "") -> None:
    raise ValueError(
        f"h_values has zero variance{where}: a constant control variate is perfectly known and cannot "
        f"reduce variance (beta = Cov(f, h) / Var(h) is undefined); choose an h that varies with x"
    )


# ---------------------------------------------------------------------------
# The general construction
# ---------------------------------------------------------------------------


def _centred(f_values, h_values) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Checked, centred ``f`` and ``h`` values and the sum of squares of ``h`` (> 0 in every coordinate)."""
    f_values, h_values = _check_pair(f_values, h_values)
    fc = f_values - f_values.mean(0)
    hc = h_values - h_values.mean(0)
    var_h = (hc * hc).sum(0)
    if (var_h <= _zero_variance_threshold(h_values) * h_values.shape[0]).any():
        _raise_zero_variance()
    return fc, hc, var_h


def optimal_beta(f_values: torch.Tensor, h_values: torch.Tensor) -> torch.Tensor:
    r"""Estimate the variance-minimising coefficient
    :math:`\hat\beta = \widehat{\operatorname{Cov}}(f, h) / \widehat{\operatorname{Var}}(h)`.

    On the samples it was estimated from it adds a bias of order :math:`1/N`: estimate it on
    an independent batch and pass ``beta=`` to :func:`control_variate`, or use
    ``beta="leave_one_out"``. Mohamed et al. (2020), Sec. 7.4.

    Raises:
        ValueError: if the shapes differ, there are fewer than 2 samples, or ``h_values``
            has zero variance in some coordinate.
        TypeError: if an argument is not a tensor.

    Shapes:
        ``f_values``, ``h_values``: ``(num_samples, *shape)``; result: ``shape``.
    """
    fc, hc, var_h = _centred(f_values, h_values)
    return (fc * hc).sum(0) / var_h


def correlation(f_values: torch.Tensor, h_values: torch.Tensor) -> torch.Tensor:
    """Sample correlation :math:`\\hat\\rho` of ``f`` and ``h``, per coordinate.

    Raises:
        ValueError: on mismatched shapes or if either argument has zero variance.

    Shapes:
        ``f_values``, ``h_values``: ``(num_samples, *shape)``; result: ``shape``.
    """
    fc, hc, var_h = _centred(f_values, h_values)
    var_f = (fc * fc).sum(0)
    if (var_f <= _zero_variance_threshold(f_values) * f_values.shape[0]).any():
        raise ValueError(
            "f_values has zero variance: there is nothing to reduce and the correlation is undefined"
        )
    return ((fc * hc).sum(0) / torch.sqrt(var_f * var_h)).clamp(-1.0, 1.0)


def variance_reduction_factor(rho):
    """The factor :math:`1 - \\rho^2` by which the optimal control variate scales the variance.

    With :math:`\\beta^*`, :math:`\\operatorname{Var}[f - \\beta^*(h - \\mathbb{E}h)] =
    (1 - \\rho^2)\\operatorname{Var}[f]`.

    Raises:
        ValueError: if some ``|rho| > 1`` or ``rho`` is NaN.
        TypeError: if ``rho`` is not a number or tensor.

    Shapes:
        Elementwise.
    """
    if isinstance(rho, torch.Tensor):
        check_finite(rho, "rho")
        if (rho.abs() > 1 + 1e-6).any():
            raise ValueError(f"rho must be a correlation in [-1, 1], got {rho}")
        return 1 - rho.clamp(-1, 1) ** 2
    if isinstance(rho, bool) or not isinstance(rho, numbers.Real):
        raise TypeError(f"rho must be a number or a tensor, got {type(rho).__name__}")
    check_finite(rho, "rho")
    if abs(rho) > 1 + 1e-12:
        raise ValueError(f"rho must be a correlation in [-1, 1], got {rho}")
    return 1.0 - min(1.0, float(rho) ** 2)


def _leave_one_out_beta(f_values: torch.Tensor, h_values: torch.Tensor) -> torch.Tensor:
    n = f_values.shape[0]
    if n < 3:
        raise ValueError(f"beta='leave_one_out' needs at least 3 samples, got {n}")
    # Centre first (covariances are shift invariant) to avoid cancellation.
    f = f_values - f_values.mean(0)
    h = h_values - h_values.mean(0)
    m = n - 1
    sum_f, sum_h = f.sum(0), h.sum(0)
    mean_f = (sum_f - f) / m
    mean_h = (sum_h - h) / m
    cov = ((f * h).sum(0) - f * h) - m * mean_f * mean_h
    var = ((h * h).sum(0) - h * h) - m * mean_h * mean_h
    if (var <= _zero_variance_threshold(h_values) * n).any():
        _raise_zero_variance(" once one sample is left out")
    return cov / var


def control_variate(
    f_values: torch.Tensor, h_values: torch.Tensor, h_mean, *, beta="estimate"
) -> torch.Tensor:
    r"""Per-sample values adjusted by a control variate: :math:`\tilde f = f - \beta (h - \mathbb{E}[h])`.

    For a ``beta`` that does not depend on the samples the mean is unchanged; the variance is
    smallest at :math:`\beta^* = \operatorname{Cov}(f, h) / \operatorname{Var}(h)`, where it is
    :math:`(1 - \rho^2)\operatorname{Var}(f)`. Mohamed et al. (2020), Sec. 7.4.

    Raises:
        ValueError: on mismatched shapes, an ``h_mean`` or ``beta`` that does not broadcast,
            an unknown ``beta`` mode, too few samples, or (beta estimated) a constant ``h``.
        TypeError: if an argument has the wrong type.

    Shapes:
        ``f_values``, ``h_values``: ``(num_samples, *shape)``; ``h_mean``, a tensor ``beta``:
        broadcastable to ``shape``; result: ``(num_samples, *shape)``.
    """
    f_values, h_values = _check_pair(f_values, h_values, min_samples=1)
    h_mean = as_finite_tensor(h_mean, f_values, "h_mean")
    check_broadcast(h_mean, f_values.shape[1:], "h_mean", "one sample's shape")
    if isinstance(beta, str):
        if beta == "estimate":
            beta_t = optimal_beta(f_values, h_values)
        elif beta == "leave_one_out":
            beta_t = _leave_one_out_beta(f_values, h_values)
        else:
            raise ValueError(
                f"beta must be a number, a tensor or one of {_BETA_MODES}, got {beta!r}"
            )
    else:
        beta_t = as_finite_tensor(beta, f_values, "beta")
        check_broadcast(beta_t, f_values.shape[1:], "beta", "one sample's shape")
    return f_values - beta_t * (h_values - h_mean)


# ---------------------------------------------------------------------------
# The delta method
# ---------------------------------------------------------------------------


def _gaussian_params(params) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(params, dict) or set(params) != {"loc", "scale"}:
        raise ValueError(f"params must be a dict with keys 'loc' and 'scale', got {params!r}")
    loc = torch.as_tensor(params["loc"])
    scale = torch.as_tensor(params["scale"])
    if not loc.is_floating_point():
        loc = loc.to(torch.get_default_dtype())
    dtype = torch.promote_types(loc.dtype, scale.dtype if scale.is_floating_point() else loc.dtype)
    loc, scale = loc.detach().to(dtype), scale.detach().to(dtype)
    check_finite(loc, "params['loc']")
    if not (scale > 0).all() or not torch.isfinite(scale).all():
        raise ValueError(f"params['scale'] must be finite and > 0 everywhere, got {scale}")
    loc, scale = torch.broadcast_tensors(loc, scale)
    return loc, scale


def taylor_coefficients(f: Callable, loc) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Value, first and second derivative of ``f`` at ``loc``, by autograd.

    ``f`` must act elementwise on the batch (``f(x)[..., i]`` depends on
    ``x[..., i]`` only), so the second derivative is the diagonal of the Hessian.

    Raises:
        ValueError: if a coefficient is not finite.

    Shapes:
        ``loc``: ``batch_shape``; results: ``batch_shape``.
    """
    check_callable(f, "f")
    if isinstance(loc, bool) or not isinstance(loc, (numbers.Real, torch.Tensor)):
        raise TypeError(f"loc must be a number or a tensor, got {type(loc).__name__}")
    mu = torch.as_tensor(loc).detach().clone().unsqueeze(0)
    mu = check_finite(
        mu if mu.is_floating_point() else mu.to(torch.get_default_dtype()), "loc"
    ).requires_grad_(True)
    with torch.enable_grad():
        value = check_output(f(mu), "f(loc)", hint="f must map a tensor of locations to costs")
        (d1,) = torch.autograd.grad(value.sum(), mu, create_graph=True)
        if d1.requires_grad:
            (d2,) = torch.autograd.grad(d1.sum(), mu, allow_unused=True)
            d2 = torch.zeros_like(mu) if d2 is None else d2
        else:
            d2 = torch.zeros_like(mu)
    names = ("f(loc)", "f'(loc)", "f''(loc)")
    return tuple(check_finite(c.detach()[0], n) for c, n in zip((value, d1, d2), names))


def _delta_terms(f, loc, scale, spec, order: int, samples: torch.Tensor):
    """Plain per-sample estimates and delta-method control variates ``(h_values, h_mean)`` per parameter."""
    c0, c1, c2 = taylor_coefficients(f, loc)
    if order == 1:
        c2 = torch.zeros_like(c2)

    def f_tilde(x):
        d = x - loc
        return c0 + c1 * d + 0.5 * c2 * d * d

    params = {"loc": loc, "scale": scale}
    plain = spec.terms(f, _Normal, params, samples)
    h = spec.terms(f_tilde, _Normal, params, samples)
    return plain, {"loc": (h["loc"], c1), "scale": (h["scale"], scale * c2)}


def _check_delta(estimator, order):
    """The registry's spec of ``estimator``, if it has per-sample terms; raises ``ValueError`` otherwise."""
    with_terms = tuple(n for n, s in estimators.REGISTRY.items() if s.terms is not None)
    check_choice(estimator, with_terms, "estimator")
    if isinstance(order, bool) or order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    return estimators.get(estimator)


def delta_method_grad(
    f: Callable,
    params: dict,
    num_samples: int,
    *,
    estimator: str = "score_function",
    order: int = 2,
    beta="estimate",
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    """Per-sample Gaussian gradient estimates with the delta-method control variate.

    Expand the cost around the mean, :math:`\\tilde f(x) = f(\\mu) + f'(\\mu)(x-\\mu)
    + \\tfrac12 f''(\\mu)(x-\\mu)^2` (``order=2``; ``order=1`` drops the last term), and use
    the *same estimator applied to* :math:`\\tilde f` at the same samples as control variate
    :math:`h`, whose mean is known: :math:`\\partial_\\mu = f'(\\mu)`,
    :math:`\\partial_\\sigma = \\sigma f''(\\mu)`. Both per-sample terms come from
    :func:`lecture9.estimators.score_function_terms` / :func:`~lecture9.estimators.pathwise_terms`;
    they are combined by :func:`control_variate`. For a quadratic ``f`` with ``order=2`` and
    ``beta=1`` the variance is zero. Mohamed et al. (2020), Sec. 7.4 (delta method).

    Raises:
        ValueError: on bad ``params``, ``estimator`` or ``order``.
        TypeError: on a bad ``generator`` or ``num_samples``.

    Shapes:
        Each result: ``(num_samples, *param.shape)`` (the broadcast ``batch_shape``).
    """
    num_samples, f = check_num_samples(num_samples), check_callable(f, "f")
    spec = _check_delta(estimator, order)
    loc, scale = _gaussian_params(params)
    check_generator(generator, device=loc.device)
    eps = normal_noise((num_samples, *loc.shape), loc, generator)
    plain, cvs = _delta_terms(
        f, loc, scale, spec, order, loc + scale * eps if spec.terms_at == "samples" else eps
    )
    out = {}
    for p in ("loc", "scale"):
        h_values, h_mean = cvs[p]
        if isinstance(beta, str) and bool(((h_values - h_mean) == 0).all()):
            # e.g. the pathwise loc term with order=1: h is the constant f'(mu), nothing to control.
            out[p] = plain[p]
        else:
            out[p] = control_variate(plain[p], h_values, h_mean, beta=beta)
    return out


def delta_method_moments(
    f: Callable,
    loc: float,
    scale: float,
    param: str,
    *,
    estimator: str = "score_function",
    order: int = 2,
    beta: float = 1.0,
) -> tuple[float, float]:
    """Exact mean and single-sample variance of the delta-method estimator, by quadrature.

    The per-sample estimate :math:`v(x) = \\hat\\eta(x) - \\beta\\,(h(x) - \\mathbb{E}[h])`
    (the terms of :func:`delta_method_grad`, at Gauss-Hermite nodes) is integrated against
    :math:`\\mathcal N(\\mu, \\sigma^2)` with :func:`lecture9.reference.gaussian_expectation`.
    Mohamed et al. (2020), Sec. 7.4 (delta method).

    Raises:
        ValueError: on an unknown ``param``, ``estimator`` or ``order``, or non-finite ``beta``.

    Shapes:
        Scalar parameters.
    """
    check_choice(param, ("loc", "scale"), "param")
    check_callable(f, "f")
    spec = _check_delta(estimator, order)
    beta = float(check_finite(beta, "beta"))
    loc_t, scale_t = _gaussian_params(
        {
            "loc": torch.tensor(check_float(loc, "loc"), dtype=torch.float64),
            "scale": torch.tensor(check_float(scale, "scale"), dtype=torch.float64),
        }
    )
    mu, sigma = float(loc_t), float(scale_t)

    def per_sample(x: torch.Tensor) -> torch.Tensor:  # x: the quadrature nodes, shape (num_nodes,)
        samples = x.detach().to(torch.float64)
        samples = samples if spec.terms_at == "samples" else (samples - mu) / sigma
        plain, cvs = _delta_terms(f, loc_t, scale_t, spec, order, samples)
        h_values, h_mean = cvs[param]
        return plain[param] - beta * (h_values - h_mean)

    mean = gaussian_expectation(per_sample, mu, sigma)
    second = gaussian_expectation(lambda x: per_sample(x) ** 2, mu, sigma)
    return mean, max(second - mean**2, 0.0)
