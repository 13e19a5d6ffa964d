"""Control variates and baselines: variance reduction that keeps the expectation.

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
such as the per-sample gradients returned by :mod:`lecture9.estimators`, and
composes with its estimators through the ``baseline=`` argument of
:func:`lecture9.estimators.score_function_grad`:

- :func:`control_variate`, :func:`optimal_beta`, :func:`correlation`,
  :func:`variance_reduction_factor`: the general construction.
- Baselines for the score-function estimator: a constant (pass a number), the
  optimal constant per parameter (:func:`optimal_baseline`,
  :func:`exact_optimal_baseline`), an exponential moving average across steps
  (:class:`MovingAverageBaseline`) and the leave-one-out baseline
  (:func:`leave_one_out_baseline`, :class:`LeaveOneOutBaseline`).
- Exact single-sample moments with and without baselines
  (:class:`ScoreFunctionMoments`, by quadrature for a Gaussian or by enumeration
  for a discrete distribution): the truth that tests and plots compare against.
- The delta-method control variate (a Taylor expansion of ``f`` around the mean),
  for the score-function and pathwise estimators (:func:`delta_method_grad`).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Callable

import torch

from ._validation import check_generator, check_num_samples

__all__ = [
    "control_variate",
    "optimal_beta",
    "correlation",
    "variance_reduction_factor",
    "apply_baseline",
    "optimal_baseline",
    "exact_optimal_baseline",
    "MovingAverageBaseline",
    "leave_one_out_baseline",
    "LeaveOneOutBaseline",
    "group_means",
    "ScoreFunctionMoments",
    "gaussian_score_function_moments",
    "discrete_score_function_moments",
    "gaussian_scores",
    "taylor_coefficients",
    "delta_method_control_variate",
    "delta_method_grad",
    "delta_method_moments",
]

_BETA_MODES = ("estimate", "leave_one_out")


# ---------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------


def _check_samples(values, name: str, min_samples: int = 2) -> torch.Tensor:
    if not isinstance(values, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of per-sample values, got {type(values).__name__}")
    if values.dim() == 0:
        raise ValueError(f"{name} must have a leading sample dimension, got a 0-d tensor; pass shape (num_samples, ...)")
    if values.shape[0] < min_samples:
        raise ValueError(f"{name} needs at least {min_samples} samples along dim 0, got {values.shape[0]}")
    if not values.is_floating_point():
        values = values.to(torch.get_default_dtype())
    return values


def _check_pair(f_values, h_values, min_samples: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    f_values = _check_samples(f_values, "f_values", min_samples)
    h_values = _check_samples(h_values, "h_values", min_samples)
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


def _as_tensor_like(value, like: torch.Tensor, name: str) -> torch.Tensor:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, torch.Tensor)):
        raise TypeError(f"{name} must be a number or a tensor, got {type(value).__name__}")
    return torch.as_tensor(value, dtype=like.dtype, device=like.device)


def _check_broadcast(value: torch.Tensor, shape: torch.Size, name: str, target: str) -> None:
    try:
        out = torch.broadcast_shapes(value.shape, shape)
    except RuntimeError:
        out = None
    if out is None or tuple(out) != tuple(shape):
        raise ValueError(
            f"{name} has shape {tuple(value.shape)}, which does not broadcast to {target} {tuple(shape)}; "
            f"pass a number or a tensor of shape {tuple(shape)}"
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
    """Estimate the variance-minimising coefficient from samples.

    .. math::

        \\hat\\beta = \\frac{\\widehat{\\operatorname{Cov}}(f, h)}{\\widehat{\\operatorname{Var}}(h)}

    Using :math:`\\hat\\beta` on the same samples it was estimated from adds a bias
    of order :math:`1/N`; estimate it on an independent (pilot) batch and pass the
    result as ``beta=`` to :func:`control_variate` for an exactly unbiased
    estimate, or use ``beta="leave_one_out"``.

    Introduced in chapter 8, *Control variates*; Mohamed et al. (2020), Sec. 7.4.

    Args:
        f_values: per-sample values of the function whose mean is estimated.
        h_values: per-sample values of the control variate at the same samples.

    Returns:
        The estimated coefficient, one per coordinate.

    Raises:
        ValueError: if the shapes differ, there are fewer than 2 samples, or
            ``h_values`` has zero variance in some coordinate.
        TypeError: if an argument is not a tensor.

    Shapes:
        ``f_values``, ``h_values``: ``(num_samples, *shape)``; result: ``shape``.
    """
    fc, hc, var_h = _centred(f_values, h_values)
    return (fc * hc).sum(0) / var_h


def correlation(f_values: torch.Tensor, h_values: torch.Tensor) -> torch.Tensor:
    """Sample correlation :math:`\\hat\\rho` of ``f`` and ``h``, per coordinate.

    Introduced in chapter 8, *Control variates*.

    Args:
        f_values: per-sample values of ``f``.
        h_values: per-sample values of ``h`` at the same samples.

    Returns:
        The correlation, in :math:`[-1, 1]`.

    Raises:
        ValueError: on mismatched shapes or if either argument has zero variance.

    Shapes:
        ``f_values``, ``h_values``: ``(num_samples, *shape)``; result: ``shape``.
    """
    fc, hc, var_h = _centred(f_values, h_values)
    var_f = (fc * fc).sum(0)
    if (var_f <= _zero_variance_threshold(f_values) * f_values.shape[0]).any():
        raise ValueError("f_values has zero variance: there is nothing to reduce and the correlation is undefined")
    return ((fc * hc).sum(0) / torch.sqrt(var_f * var_h)).clamp(-1.0, 1.0)


def variance_reduction_factor(rho):
    """The factor :math:`1 - \\rho^2` by which the optimal control variate scales the variance.

    With :math:`\\beta^*`, :math:`\\operatorname{Var}[f - \\beta^*(h - \\mathbb{E}h)] =
    (1 - \\rho^2)\\operatorname{Var}[f]`.

    Introduced in chapter 8, *Control variates*.

    Args:
        rho: the correlation of ``f`` and ``h`` (number or tensor), in :math:`[-1, 1]`.

    Returns:
        :math:`1 - \\rho^2`, of the same type as ``rho``.

    Raises:
        ValueError: if some ``|rho| > 1``.
        TypeError: if ``rho`` is not a number or tensor.

    Shapes:
        Elementwise.
    """
    if isinstance(rho, torch.Tensor):
        if (rho.abs() > 1 + 1e-6).any():
            raise ValueError(f"rho must be a correlation in [-1, 1], got {rho}")
        return 1 - rho.clamp(-1, 1) ** 2
    if isinstance(rho, bool) or not isinstance(rho, numbers.Real):
        raise TypeError(f"rho must be a number or a tensor, got {type(rho).__name__}")
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


def control_variate(f_values: torch.Tensor, h_values: torch.Tensor, h_mean, *, beta="estimate") -> torch.Tensor:
    """Per-sample values adjusted by a control variate: :math:`f - \\beta (h - \\mathbb{E}[h])`.

    .. math::

        \\tilde f(x_n) = f(x_n) - \\beta\\,\\bigl(h(x_n) - \\mathbb{E}_{p(x;\\theta)}[h(x)]\\bigr),
        \\qquad
        \\bar\\eta = \\frac{1}{N}\\sum_{n=1}^N \\tilde f(x_n).

    For a ``beta`` that does not depend on the samples the mean is unchanged
    (:math:`\\mathbb{E}[h(x) - \\mathbb{E}h] = 0`); the variance is smallest at
    :math:`\\beta^* = \\operatorname{Cov}(f, h) / \\operatorname{Var}(h)`, where it is
    :math:`(1 - \\rho^2)\\operatorname{Var}(f)`.

    Introduced in chapter 8, *Control variates*; Mohamed et al. (2020), Sec. 7.4.

    Args:
        f_values: per-sample values of ``f`` (for example per-sample gradients
            from :mod:`lecture9.estimators`).
        h_values: per-sample values of the control variate at the same samples.
        h_mean: the exact expectation :math:`\\mathbb{E}[h]` (number or tensor
            broadcastable to one sample's shape).
        beta: the coefficient. A number or tensor (fixed; unbiased), for example
            ``optimal_beta(f_pilot, h_pilot)`` from an independent batch;
            ``"estimate"`` (default): :func:`optimal_beta` of these same samples,
            which adds a bias of order :math:`1/N`; ``"leave_one_out"``: sample
            ``n`` uses the coefficient estimated from the other samples, which is
            independent of it, so the estimate stays unbiased.

    Returns:
        The adjusted per-sample values; their mean is the controlled estimate.

    Raises:
        ValueError: on mismatched shapes, an ``h_mean`` or ``beta`` that does not
            broadcast, an unknown ``beta`` mode, too few samples, or (when beta is
            estimated) zero variance of ``h_values``.
        TypeError: if an argument has the wrong type.

    Shapes:
        ``f_values``, ``h_values``: ``(num_samples, *shape)``; ``h_mean``, a
        tensor ``beta``: broadcastable to ``shape``; result: ``(num_samples, *shape)``.
    """
    f_values, h_values = _check_pair(f_values, h_values, min_samples=1)
    h_mean = _as_tensor_like(h_mean, f_values, "h_mean")
    _check_broadcast(h_mean, f_values.shape[1:], "h_mean", "one sample's shape")
    if isinstance(beta, str):
        if beta == "estimate":
            beta_t = optimal_beta(f_values, h_values)
        elif beta == "leave_one_out":
            beta_t = _leave_one_out_beta(f_values, h_values)
        else:
            raise ValueError(f"beta must be a number, a tensor or one of {_BETA_MODES}, got {beta!r}")
    else:
        beta_t = _as_tensor_like(beta, f_values, "beta")
        _check_broadcast(beta_t, f_values.shape[1:], "beta", "one sample's shape")
    return f_values - beta_t * (h_values - h_mean)


# ---------------------------------------------------------------------------
# Baselines for the score-function estimator
# ---------------------------------------------------------------------------


def _baseline_values(baseline, f_values: torch.Tensor, name: str):
    if baseline is None:
        return torch.zeros((), dtype=f_values.dtype, device=f_values.device)
    if callable(baseline):
        b = baseline(f_values)
        if not isinstance(b, torch.Tensor) or b.shape != f_values.shape:
            got = tuple(b.shape) if isinstance(b, torch.Tensor) else type(b).__name__
            raise ValueError(
                f"a callable baseline must return a tensor of f_values' shape {tuple(f_values.shape)}, got {got}"
            )
        return b.detach()
    b = _as_tensor_like(baseline, f_values, name)
    return b.detach()


def apply_baseline(f_values: torch.Tensor, scores, baseline=None):
    """Per-sample score-function gradients with a baseline: :math:`(f(x_n) - b)\\,\\nabla_\\theta \\log p(x_n;\\theta)`.

    The same rule as ``score_function_grad(..., baseline=...)`` in
    :mod:`lecture9.estimators`, on tensors you already have. Because
    :math:`\\mathbb{E}[\\nabla_\\theta \\log p(x;\\theta)] = 0`, any ``b`` that does not
    depend on :math:`x_n` keeps the estimator unbiased.

    Introduced in chapter 8, *Control variates*; Mohamed et al. (2020), Sec. 7.4.

    Args:
        f_values: per-sample costs :math:`f(x_n)`.
        scores: per-sample scores :math:`\\nabla_\\theta \\log p(x_n;\\theta)`, a tensor or
            a dict ``{param_name: tensor}`` (see :func:`gaussian_scores`).
        baseline: ``None``; a number or tensor broadcastable to ``f_values``; a dict
            ``{param_name: number or tensor}`` (per-parameter constant, ``scores``
            must then be a dict); or a callable ``baseline(f_values) -> tensor`` of
            ``f_values``' shape (e.g. :func:`leave_one_out_baseline`).

    Returns:
        A tensor (or a dict of tensors, like ``scores``) of per-sample gradients.

    Raises:
        ValueError: if shapes do not broadcast or a dict baseline names unknown parameters.
        TypeError: on arguments of the wrong type.

    Shapes:
        ``f_values``: ``(num_samples, *batch_shape)``; each score:
        ``(num_samples, *param.shape)`` with ``param.shape`` equal to ``batch_shape``
        (or broadcastable); result: like ``scores``.
    """
    f_values = _check_samples(f_values, "f_values", min_samples=1)
    if isinstance(scores, dict):
        if isinstance(baseline, dict):
            unknown = set(baseline) - set(scores)
            if unknown:
                raise ValueError(f"baseline names parameters {sorted(unknown)} that are not in scores {sorted(scores)}")
        out = {}
        for name, s in scores.items():
            b = baseline.get(name) if isinstance(baseline, dict) else baseline
            out[name] = apply_baseline(f_values, s, b)
        return out
    if isinstance(baseline, dict):
        raise TypeError("a dict baseline needs a dict of scores {param_name: tensor}")
    s = _check_samples(scores, "scores", min_samples=1)
    if s.shape[0] != f_values.shape[0]:
        raise ValueError(f"scores has {s.shape[0]} samples but f_values has {f_values.shape[0]}")
    b = _baseline_values(baseline, f_values, "baseline")
    centred = f_values.detach() - b
    try:
        return centred * s
    except RuntimeError as err:
        raise ValueError(
            f"f_values of shape {tuple(f_values.shape)} and scores of shape {tuple(s.shape)} do not broadcast"
        ) from err


def optimal_baseline(f_values: torch.Tensor, scores):
    """Estimate the optimal constant baseline per parameter, :math:`b^* = \\mathbb{E}[f s^2] / \\mathbb{E}[s^2]`.

    The single-sample variance of :math:`(f - b)s` is
    :math:`\\mathbb{E}[(f - b)^2 s^2] - (\\nabla_\\theta F)^2`, a quadratic in ``b``
    minimised at :math:`b^*` (one value per parameter element, since the score
    :math:`s` differs per parameter). This is the optimal :math:`\\beta` of
    :func:`control_variate` with :math:`h = s`, :math:`\\mathbb{E}[h] = 0`, written
    as a baseline. Estimate it on an independent batch to stay exactly unbiased.

    Introduced in chapter 8, *Control variates*; Mohamed et al. (2020), Sec. 7.4.

    Args:
        f_values: per-sample costs :math:`f(x_n)`.
        scores: per-sample scores (a tensor, or a dict ``{param_name: tensor}``).

    Returns:
        ``b*`` per parameter element: a tensor, or a dict of tensors (usable as
        ``baseline=`` in :func:`lecture9.estimators.score_function_grad`).

    Raises:
        ValueError: if the scores are identically zero or the shapes do not broadcast.

    Shapes:
        ``f_values``: ``(num_samples, *batch_shape)``; each score:
        ``(num_samples, *param.shape)``; each result: ``param.shape``.
    """
    f_values = _check_samples(f_values, "f_values", min_samples=1)
    if isinstance(scores, dict):
        return {name: optimal_baseline(f_values, s) for name, s in scores.items()}
    s = _check_samples(scores, "scores", min_samples=1)
    if s.shape[0] != f_values.shape[0]:
        raise ValueError(f"scores has {s.shape[0]} samples but f_values has {f_values.shape[0]}")
    s2 = s.detach() ** 2
    denom = s2.sum(0)
    if (denom == 0).any():
        raise ValueError("scores are zero at every sample for some parameter; b* = E[f s^2] / E[s^2] is undefined")
    return (f_values.detach() * s2).sum(0) / denom


class MovingAverageBaseline:
    """An exponential moving average of the cost across optimisation steps, used as a baseline.

    After ``t`` updates with batch means :math:`\\bar f_1, \\dots, \\bar f_t` the value is

    .. math::

        b_t = \\frac{(1 - \\gamma) \\sum_{i=1}^{t} \\gamma^{t-i} \\bar f_i}{1 - \\gamma^t},

    the bias-corrected average (as in Adam), so the first value is the first
    batch mean. The baseline used at a step only depends on earlier steps, so
    :math:`(f - b_t) s` stays unbiased; call :meth:`update` *after* the gradient
    of the step was computed.

    Use it as ``baseline=ema`` in :func:`lecture9.estimators.score_function_grad`
    (the object is a callable that returns its current value in the costs'
    shape and remembers the costs it was shown), then call ``ema.update()``.

    Introduced in chapter 8, *Control variates*; Mohamed et al. (2020), Sec. 7.4.

    Args:
        decay: :math:`\\gamma \\in [0, 1)`; larger means a longer memory.
        initial: the value before any update (default 0).

    Raises:
        ValueError: if ``decay`` is outside ``[0, 1)``.

    Shapes:
        The value has the costs' per-sample shape (``batch_shape``), or is a scalar
        before the first update.
    """

    def __init__(self, decay: float = 0.9, initial: float = 0.0):
        if isinstance(decay, bool) or not isinstance(decay, numbers.Real) or not 0 <= decay < 1:
            raise ValueError(f"decay must be a number in [0, 1), got {decay!r}; e.g. decay=0.9")
        self.decay = float(decay)
        self.initial = initial
        self.num_updates = 0
        self._average: torch.Tensor | None = None
        self._last: torch.Tensor | None = None

    @property
    def value(self) -> torch.Tensor:
        """The current baseline value (a tensor)."""
        if self._average is None:
            return torch.as_tensor(float(self.initial))
        return self._average / (1 - self.decay**self.num_updates)

    def __call__(self, f_values: torch.Tensor) -> torch.Tensor:
        f_values = _check_samples(f_values, "f_values", min_samples=1)
        self._last = f_values.detach()
        return self.value.to(dtype=f_values.dtype, device=f_values.device).expand_as(f_values).clone()

    def update(self, f_values: torch.Tensor | None = None) -> torch.Tensor:
        """Fold a batch of costs into the average and return the new value.

        Args:
            f_values: per-sample costs of this step; by default the costs the
                baseline was last called with.

        Returns:
            The new value.

        Raises:
            ValueError: if no costs are given and the baseline was never called.
        """
        if f_values is None:
            if self._last is None:
                raise ValueError("update() needs f_values: the baseline has not been called on any costs yet")
            f_values = self._last
        f_values = _check_samples(f_values, "f_values", min_samples=1)
        batch_mean = f_values.detach().mean(0)
        if self._average is None:
            self._average = torch.zeros_like(batch_mean)
        self._average = self.decay * self._average + (1 - self.decay) * batch_mean
        self.num_updates += 1
        self._last = None
        return self.value

    def __repr__(self) -> str:
        return f"MovingAverageBaseline(decay={self.decay}, num_updates={self.num_updates})"


def _check_group_size(group_size, num_samples: int) -> int:
    if group_size is None:
        group_size = num_samples
    if isinstance(group_size, bool) or not isinstance(group_size, numbers.Integral):
        raise TypeError(f"group_size must be an integer >= 2 or None, got {group_size!r}")
    group_size = int(group_size)
    if group_size < 2:
        raise ValueError(
            f"the leave-one-out baseline needs K >= 2 samples per group, got K = {group_size}; "
            f"draw at least 2 samples (num_samples) per group"
        )
    if num_samples % group_size:
        raise ValueError(f"num_samples = {num_samples} is not a multiple of group_size = {group_size}")
    return group_size


def leave_one_out_baseline(f_values: torch.Tensor, group_size: int | None = None) -> torch.Tensor:
    """The leave-one-out baseline (RLOO): each sample's baseline is the mean cost of the *other* samples.

    With :math:`K` samples per group,

    .. math::

        b_n = \\frac{1}{K - 1} \\sum_{j \\ne n} f(x_j),
        \\qquad
        \\hat\\eta = \\frac{1}{K}\\sum_{n=1}^K \\bigl(f(x_n) - b_n\\bigr)\\nabla_\\theta \\log p(x_n;\\theta).

    :math:`b_n` is independent of :math:`x_n`, so every term is unbiased
    (Kool et al., 2019). The per-sample terms of one group are *not* independent:
    use :func:`group_means` to get one estimate per group before computing a variance.

    Pass it directly as ``baseline=leave_one_out_baseline`` (one group of all
    samples) or as ``baseline=LeaveOneOutBaseline(group_size=K)``.

    Introduced in chapter 8, *Control variates*; Kool et al. (2019).

    Args:
        f_values: per-sample costs; consecutive blocks of ``group_size`` samples
            along dim 0 form the groups.
        group_size: :math:`K \\ge 2`; default: all samples form one group.

    Returns:
        The baselines, of ``f_values``' shape.

    Raises:
        ValueError: if :math:`K < 2` or ``num_samples`` is not a multiple of :math:`K`.
        TypeError: if ``f_values`` is not a tensor or ``group_size`` not an integer.

    Shapes:
        ``f_values``: ``(num_samples, *batch_shape)``; result: the same.
    """
    f_values = _check_samples(f_values, "f_values", min_samples=1)
    k = _check_group_size(group_size, f_values.shape[0])
    f = f_values.detach()
    grouped = f.reshape(f.shape[0] // k, k, *f.shape[1:])
    baseline = (grouped.sum(1, keepdim=True) - grouped) / (k - 1)
    return baseline.reshape(f.shape)


class LeaveOneOutBaseline:
    """:func:`leave_one_out_baseline` with a fixed group size, as a ``baseline=`` callable.

    Introduced in chapter 8, *Control variates*; Kool et al. (2019).

    Args:
        group_size: :math:`K \\ge 2` samples per group, or ``None`` for one group.

    Raises:
        ValueError: if ``group_size < 2``.

    Shapes:
        ``(num_samples, *batch_shape)`` in and out.
    """

    def __init__(self, group_size: int | None = None):
        if group_size is not None:
            _check_group_size(group_size, group_size)
        self.group_size = group_size

    def __call__(self, f_values: torch.Tensor) -> torch.Tensor:
        return leave_one_out_baseline(f_values, self.group_size)

    def __repr__(self) -> str:
        return f"LeaveOneOutBaseline(group_size={self.group_size})"


def group_means(per_sample: torch.Tensor, group_size: int) -> torch.Tensor:
    """Average consecutive groups of ``group_size`` samples: one estimate per group.

    Introduced in chapter 8, *Control variates*.

    Args:
        per_sample: per-sample values (e.g. per-sample RLOO gradients).
        group_size: samples per group, >= 1, dividing ``num_samples``.

    Returns:
        The group means.

    Raises:
        ValueError: if ``group_size`` does not divide ``num_samples``.

    Shapes:
        ``(num_samples, *shape)`` -> ``(num_samples // group_size, *shape)``.
    """
    per_sample = _check_samples(per_sample, "per_sample", min_samples=1)
    k = check_num_samples(group_size, "group_size")
    if per_sample.shape[0] % k:
        raise ValueError(f"num_samples = {per_sample.shape[0]} is not a multiple of group_size = {k}")
    return per_sample.reshape(per_sample.shape[0] // k, k, *per_sample.shape[1:]).mean(1)


# ---------------------------------------------------------------------------
# Exact single-sample moments
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ScoreFunctionMoments:
    """Exact moments of :math:`f` and the score :math:`s = \\partial_\\theta \\log p(x;\\theta)` for one scalar parameter.

    From these six numbers follow the exact variance of the score-function
    estimator with any constant baseline, with the optimal one, with a moving
    average and with the leave-one-out baseline. Obtain them with
    :func:`gaussian_score_function_moments` or
    :func:`discrete_score_function_moments`.

    Introduced in chapter 8, *Control variates*; Mohamed et al. (2020), Sec. 7.4.

    Args:
        mean_f: :math:`\\mathbb{E}[f]`.
        mean_f2: :math:`\\mathbb{E}[f^2]`.
        grad: :math:`\\mathbb{E}[f s]`, the exact gradient.
        mean_s2: :math:`\\mathbb{E}[s^2]` (the Fisher information).
        mean_f_s2: :math:`\\mathbb{E}[f s^2]`.
        mean_f2_s2: :math:`\\mathbb{E}[f^2 s^2]`.

    Shapes:
        All scalars (floats), or tensors of one batch shape (batched problems).
    """

    mean_f: float
    mean_f2: float
    grad: float
    mean_s2: float
    mean_f_s2: float
    mean_f2_s2: float

    @property
    def optimal_baseline(self) -> float:
        """:math:`b^* = \\mathbb{E}[f s^2] / \\mathbb{E}[s^2]`."""
        return self.mean_f_s2 / self.mean_s2

    @property
    def var_f(self) -> float:
        """:math:`\\operatorname{Var}[f]`."""
        return self.mean_f2 - self.mean_f**2

    def variance(self, baseline: float = 0.0, baseline_variance: float = 0.0) -> float:
        """Single-sample variance of :math:`(f - b) s` for a baseline ``b`` independent of ``x``.

        .. math::

            \\operatorname{Var} = \\mathbb{E}[f^2 s^2] - 2\\,\\mathbb{E}[b]\\,\\mathbb{E}[f s^2]
            + \\mathbb{E}[b^2]\\,\\mathbb{E}[s^2] - (\\mathbb{E}[f s])^2.

        Args:
            baseline: the baseline, or its mean when it is random.
            baseline_variance: the variance of a random baseline (0 for a constant).

        Returns:
            The variance (float, or tensor for batched moments).
        """
        b = baseline
        return (
            self.mean_f2_s2
            - 2 * b * self.mean_f_s2
            + (b * b + baseline_variance) * self.mean_s2
            - self.grad**2
        )

    @property
    def optimal_variance(self) -> float:
        """Single-sample variance with :math:`b^*`: the least any constant baseline achieves."""
        return self.variance(self.optimal_baseline)

    def moving_average_variance(self, decay: float, batch_size: int) -> float:
        """Single-sample variance with a stationary :class:`MovingAverageBaseline` at fixed parameters.

        At stationarity the average of batch means has mean :math:`\\mathbb{E}[f]` and
        variance :math:`\\frac{1-\\gamma}{1+\\gamma}\\operatorname{Var}[f] / B` for batches of size :math:`B`.

        Args:
            decay: :math:`\\gamma`.
            batch_size: :math:`B`, samples per step.

        Returns:
            The variance (float).
        """
        v = (1 - decay) / (1 + decay) * self.var_f / batch_size
        return self.variance(self.mean_f, v)

    def rloo_variance(self, group_size: int) -> float:
        """Variance of one leave-one-out estimate (the mean over a group of :math:`K` samples).

        .. math::

            \\operatorname{Var} = \\frac{\\operatorname{Var}[fs]}{K}
            + \\frac{\\mathbb{E}[f^2]\\mathbb{E}[s^2] + (\\mathbb{E}[fs])^2 + (K-2)\\,\\mathbb{E}[s^2]\\,\\mathbb{E}[f]^2}{K(K-1)}
            - \\frac{2\\,\\mathbb{E}[f]\\,\\mathbb{E}[f s^2]}{K}.

        Multiply by :math:`K` to compare with single-sample variances at the same
        number of samples; as :math:`K \\to \\infty` this tends to
        :meth:`variance` with :math:`b = \\mathbb{E}[f]`.

        Args:
            group_size: :math:`K \\ge 2`.

        Returns:
            The variance of the :math:`K`-sample estimate (float).

        Raises:
            ValueError: if :math:`K < 2`.
        """
        k = _check_group_size(group_size, group_size)
        var_fs = self.mean_f2_s2 - self.grad**2
        cross = (self.mean_f2 * self.mean_s2 + self.grad**2 + (k - 2) * self.mean_s2 * self.mean_f**2) / (k * (k - 1))
        return var_fs / k + cross - 2 * self.mean_f * self.mean_f_s2 / k


def _float(x) -> float:
    return float(x.item()) if isinstance(x, torch.Tensor) else float(x)


def gaussian_scores(x: torch.Tensor, loc, scale) -> dict[str, torch.Tensor]:
    """Scores of :math:`\\mathcal N(\\mu, \\sigma^2)` at samples ``x``.

    .. math::

        \\partial_\\mu \\log p = \\frac{x - \\mu}{\\sigma^2}, \\qquad
        \\partial_\\sigma \\log p = \\frac{(x - \\mu)^2 - \\sigma^2}{\\sigma^3}.

    Introduced in chapter 4, *The score-function estimator*; used in chapter 8.

    Args:
        x: samples.
        loc: :math:`\\mu` (number or tensor broadcastable to one sample).
        scale: :math:`\\sigma > 0`.

    Returns:
        ``{"loc": tensor, "scale": tensor}``, each of ``x``'s shape.

    Shapes:
        ``x``: ``(num_samples, *batch_shape)``; each result the same.
    """
    loc = torch.as_tensor(loc, dtype=x.dtype)
    scale = torch.as_tensor(scale, dtype=x.dtype)
    d = x - loc
    return {"loc": d / scale**2, "scale": (d * d - scale**2) / scale**3}


def gaussian_score_function_moments(f: Callable, loc: float, scale: float, param: str) -> ScoreFunctionMoments:
    """Exact :class:`ScoreFunctionMoments` for :math:`x \\sim \\mathcal N(\\mu, \\sigma^2)`, by quadrature.

    Uses :func:`lecture9.reference.gaussian_expectation` for each moment.

    Introduced in chapter 8, *Control variates*.

    Args:
        f: a torch-callable cost, elementwise in ``x``.
        loc: :math:`\\mu` (a number).
        scale: :math:`\\sigma > 0` (a number).
        param: ``"loc"`` or ``"scale"``.

    Returns:
        The moments.

    Raises:
        ValueError: if ``param`` is not ``"loc"`` or ``"scale"``.

    Shapes:
        Scalar parameters.
    """
    from . import reference

    if param not in ("loc", "scale"):
        raise ValueError(f"param must be 'loc' or 'scale', got {param!r}")
    mu, sigma = _float(loc), _float(scale)

    def score(x):
        return gaussian_scores(x, mu, sigma)[param]

    def expect(g) -> float:
        return _float(reference.gaussian_expectation(g, mu, sigma))

    return ScoreFunctionMoments(
        mean_f=expect(lambda x: f(x)),
        mean_f2=expect(lambda x: f(x) ** 2),
        grad=expect(lambda x: f(x) * score(x)),
        mean_s2=expect(lambda x: score(x) ** 2),
        mean_f_s2=expect(lambda x: f(x) * score(x) ** 2),
        mean_f2_s2=expect(lambda x: f(x) ** 2 * score(x) ** 2),
    )


def _make_distribution(distribution, params: dict):
    if isinstance(distribution, type) and issubclass(distribution, torch.distributions.Distribution):
        return distribution(**params, validate_args=False)
    if callable(distribution):
        return distribution(**params)
    raise TypeError(f"distribution must be a torch.distributions.Distribution class or a factory, got {distribution!r}")


def discrete_score_function_moments(f: Callable, distribution, params: dict, param: str) -> ScoreFunctionMoments:
    """Exact :class:`ScoreFunctionMoments` for a finite discrete distribution, by enumeration.

    Sums over ``enumerate_support()``; the scores come from autograd of ``log_prob``.
    For example the binary toy problem of Tucker et al. (2017):
    ``discrete_score_function_moments(lambda b: (b - 0.45) ** 2, Bernoulli, {"logits": torch.tensor(0.)}, "logits")``.
    Batched parameters (one independent problem per batch entry, ``f`` elementwise)
    give tensor-valued moments, e.g. a whole curve against the logit at once.

    Introduced in chapter 8, *Control variates*.

    Args:
        f: a torch-callable cost of the outcomes, elementwise over the batch.
        distribution: a ``torch.distributions.Distribution`` class with finite
            support (Bernoulli, Categorical, Binomial, ...) or a factory ``**params -> Distribution``.
        params: its parameters.
        param: the parameter to differentiate.

    Returns:
        The moments, as floats for scalar parameters and as tensors of
        ``batch_shape`` otherwise.

    Raises:
        ValueError: if ``param`` is not in ``params`` or is not one scalar per batch entry.
        TypeError: if the distribution cannot enumerate its support.

    Shapes:
        ``params``: broadcast to ``batch_shape``; each moment: ``batch_shape``.
    """
    if param not in params:
        raise ValueError(f"param {param!r} is not one of the parameters {sorted(params)}")
    tensors = {k: torch.as_tensor(v).detach() for k, v in params.items()}
    tensors = {k: (v.to(torch.float64) if v.is_floating_point() else v) for k, v in tensors.items()}
    base = _make_distribution(distribution, tensors)
    if not base.has_enumerate_support:
        raise TypeError(f"{type(base).__name__} has no finite support to enumerate; use quadrature or sampling")
    batch = base.batch_shape
    if tensors[param].shape != batch:
        raise ValueError(
            f"params[{param!r}] has shape {tuple(tensors[param].shape)} but the batch shape is {tuple(batch)}: "
            f"the moments are for one scalar parameter per problem (e.g. Bernoulli logits), not a vector parameter"
        )
    support = base.enumerate_support(expand=True)  # (S, *batch, *event)
    n = support.shape[0]
    leaf = tensors[param].expand(n, *batch).clone().requires_grad_(True)
    expanded = {k: v.expand(n, *batch) if v.dim() <= len(batch) else v for k, v in tensors.items() if k != param}
    expanded[param] = leaf
    dist = _make_distribution(distribution, expanded)
    x = support.to(torch.float64) if support.is_floating_point() else support
    logp = dist.log_prob(x)
    (s,) = torch.autograd.grad(logp.sum(), leaf)
    prob = logp.detach().exp()
    fx = torch.as_tensor(f(x), dtype=torch.float64).detach().expand(n, *batch)

    def expect(v):
        out = (prob * v).sum(0)
        return float(out) if out.dim() == 0 else out

    return ScoreFunctionMoments(
        mean_f=expect(fx),
        mean_f2=expect(fx**2),
        grad=expect(fx * s),
        mean_s2=expect(s**2),
        mean_f_s2=expect(fx * s**2),
        mean_f2_s2=expect(fx**2 * s**2),
    )


def exact_optimal_baseline(f: Callable, loc: float, scale: float) -> dict[str, float]:
    """The exact optimal constant baseline per parameter of :math:`\\mathcal N(\\mu, \\sigma^2)`, by quadrature.

    .. math::

        b^*_\\theta = \\frac{\\mathbb{E}[f(x)\\, s_\\theta(x)^2]}{\\mathbb{E}[s_\\theta(x)^2]}

    with :math:`\\mathbb{E}` computed by :func:`lecture9.reference.gaussian_expectation`.

    Introduced in chapter 8, *Control variates*; Mohamed et al. (2020), Sec. 7.4.

    Args:
        f: a torch-callable cost, elementwise in ``x``.
        loc: :math:`\\mu` (a number).
        scale: :math:`\\sigma > 0` (a number).

    Returns:
        ``{"loc": float, "scale": float}``, usable as ``baseline=`` in
        :func:`lecture9.estimators.score_function_grad`.

    Shapes:
        Scalar parameters.
    """
    return {p: gaussian_score_function_moments(f, loc, scale, p).optimal_baseline for p in ("loc", "scale")}


# ---------------------------------------------------------------------------
# The delta method
# ---------------------------------------------------------------------------

_ESTIMATORS = ("score_function", "pathwise")


def _gaussian_params(params) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(params, dict) or set(params) != {"loc", "scale"}:
        raise ValueError(f"params must be a dict with keys 'loc' and 'scale', got {params!r}")
    loc = torch.as_tensor(params["loc"])
    scale = torch.as_tensor(params["scale"])
    if not loc.is_floating_point():
        loc = loc.to(torch.get_default_dtype())
    dtype = torch.promote_types(loc.dtype, scale.dtype if scale.is_floating_point() else loc.dtype)
    loc, scale = loc.detach().to(dtype), scale.detach().to(dtype)
    if not (scale > 0).all():
        raise ValueError(f"params['scale'] must be > 0 everywhere, got {scale}")
    loc, scale = torch.broadcast_tensors(loc, scale)
    return loc, scale


def taylor_coefficients(f: Callable, loc) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Value, first and second derivative of ``f`` at ``loc``, by autograd.

    ``f`` must act elementwise on the batch (``f(x)[..., i]`` depends on
    ``x[..., i]`` only), so the second derivative is the diagonal of the Hessian.

    Introduced in chapter 8, *Control variates*.

    Args:
        f: a torch-callable, twice differentiable cost, samples ``(N, *batch)`` -> ``(N, *batch)``.
        loc: the expansion point.

    Returns:
        ``(f(loc), f'(loc), f''(loc))``, each of ``loc``'s shape (detached).

    Shapes:
        ``loc``: ``batch_shape``; results: ``batch_shape``.
    """
    mu = torch.as_tensor(loc).detach().clone().unsqueeze(0).requires_grad_(True)
    with torch.enable_grad():
        value = f(mu)
        (d1,) = torch.autograd.grad(value.sum(), mu, create_graph=True)
        if d1.requires_grad:
            (d2,) = torch.autograd.grad(d1.sum(), mu, allow_unused=True)
            d2 = torch.zeros_like(mu) if d2 is None else d2
        else:
            d2 = torch.zeros_like(mu)
    return value.detach()[0], d1.detach()[0], d2.detach()[0]


def delta_method_control_variate(f: Callable, params: dict, x: torch.Tensor, *, estimator: str = "score_function", order: int = 2):
    """The delta-method control variate of a Gaussian gradient estimator: a Taylor expansion of ``f``.

    Expand the cost around the mean, :math:`\\tilde f(x) = f(\\mu) + f'(\\mu)(x-\\mu)
    + \\tfrac12 f''(\\mu)(x-\\mu)^2` (``order=2``; ``order=1`` drops the last term),
    and use the *same estimator applied to* :math:`\\tilde f` as control variate.
    Its expectation, the gradient of :math:`\\mathbb{E}[\\tilde f]`, is known in
    closed form: :math:`\\partial_\\mu = f'(\\mu)`, :math:`\\partial_\\sigma = \\sigma f''(\\mu)`
    (0 for ``order=1``).

    - score function: :math:`h_\\theta(x) = \\tilde f(x)\\,\\partial_\\theta \\log p(x;\\theta)`;
    - pathwise (:math:`x = \\mu + \\sigma\\epsilon`): :math:`h_\\mu = \\tilde f'(x)`,
      :math:`h_\\sigma = \\tilde f'(x)\\,\\epsilon`.

    Introduced in chapter 8, *Control variates*; Mohamed et al. (2020), Sec. 7.4 (delta method).

    Args:
        f: torch-callable cost, twice differentiable, elementwise over the batch.
        params: ``{"loc": ..., "scale": ...}`` of :math:`\\mathcal N(\\mu, \\sigma^2)`.
        x: samples from that Gaussian.
        estimator: ``"score_function"`` or ``"pathwise"``.
        order: 1 or 2.

    Returns:
        ``{"loc": (h_values, h_mean), "scale": (h_values, h_mean)}`` to pass to
        :func:`control_variate`.

    Raises:
        ValueError: on an unknown ``estimator`` or ``order``, or bad ``params``.

    Shapes:
        ``x``: ``(num_samples, *batch_shape)``; ``h_values``: the same; ``h_mean``: ``batch_shape``.
    """
    if estimator not in _ESTIMATORS:
        raise ValueError(f"estimator must be one of {_ESTIMATORS}, got {estimator!r}")
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    loc, scale = _gaussian_params(params)
    x = _check_samples(x, "x", min_samples=1).detach().to(loc.dtype)
    c0, c1, c2 = taylor_coefficients(f, loc)
    if order == 1:
        c2 = torch.zeros_like(c2)
    d = x - loc
    mean_loc = c1
    mean_scale = scale * c2
    if estimator == "score_function":
        f_tilde = c0 + c1 * d + 0.5 * c2 * d * d
        s = gaussian_scores(x, loc, scale)
        return {"loc": (f_tilde * s["loc"], mean_loc), "scale": (f_tilde * s["scale"], mean_scale)}
    eps = d / scale
    df_tilde = c1 + c2 * d
    return {"loc": (df_tilde, mean_loc), "scale": (df_tilde * eps, mean_scale)}


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

    Draws :math:`x = \\mu + \\sigma\\epsilon`, computes the plain per-sample
    estimates (score function :math:`f(x) s_\\theta(x)`, or pathwise
    :math:`f'(x)\\partial_\\theta x`) and adjusts them with
    :func:`delta_method_control_variate` through :func:`control_variate`. For a
    quadratic ``f`` with ``order=2`` and ``beta=1`` the control variate is exact
    and the variance is zero.

    Introduced in chapter 8, *Control variates*; Mohamed et al. (2020), Sec. 7.4 (delta method).

    Args:
        f: torch-callable cost, twice differentiable, elementwise over the batch.
        params: ``{"loc": ..., "scale": ...}``.
        num_samples: number of samples.
        estimator: ``"score_function"`` or ``"pathwise"``.
        order: 1 or 2 (Taylor order).
        beta: as in :func:`control_variate` (``0.0`` gives the plain estimator on
            the same samples, ``1.0`` the classic delta method).
        generator: random number generator.

    Returns:
        ``{"loc": tensor, "scale": tensor}`` of per-sample estimates.

    Raises:
        ValueError: on bad ``params``, ``estimator`` or ``order``.
        TypeError: on a bad ``generator`` or ``num_samples``.

    Shapes:
        Each result: ``(num_samples, *param.shape)`` (the broadcast ``batch_shape``).
    """
    num_samples = check_num_samples(num_samples)
    check_generator(generator)
    if estimator not in _ESTIMATORS:
        raise ValueError(f"estimator must be one of {_ESTIMATORS}, got {estimator!r}")
    loc, scale = _gaussian_params(params)
    eps = torch.randn((num_samples, *loc.shape), generator=generator, dtype=loc.dtype)
    x = loc + scale * eps
    if estimator == "score_function":
        fx = f(x).detach()
        s = gaussian_scores(x, loc, scale)
        plain = {"loc": fx * s["loc"], "scale": fx * s["scale"]}
    else:
        xr = x.clone().requires_grad_(True)
        with torch.enable_grad():
            (df,) = torch.autograd.grad(f(xr).sum(), xr)
        plain = {"loc": df, "scale": df * eps}
    cvs = delta_method_control_variate(f, {"loc": loc, "scale": scale}, x, estimator=estimator, order=order)
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
    f: Callable, loc: float, scale: float, param: str, *, estimator: str = "score_function", order: int = 2, beta: float = 1.0
) -> tuple[float, float]:
    """Exact mean and single-sample variance of the delta-method estimator, by quadrature.

    The per-sample estimate :math:`v(x) = \\hat\\eta(x) - \\beta\\,(h(x) - \\mathbb{E}[h])`
    (see :func:`delta_method_control_variate`) is integrated against
    :math:`\\mathcal N(\\mu, \\sigma^2)` with :func:`lecture9.reference.gaussian_expectation`.

    Introduced in chapter 8, *Control variates*; Mohamed et al. (2020), Sec. 7.4 (delta method).

    Args:
        f: torch-callable cost, twice differentiable, elementwise.
        loc: :math:`\\mu` (a number).
        scale: :math:`\\sigma > 0` (a number).
        param: ``"loc"`` or ``"scale"``.
        estimator: ``"score_function"`` or ``"pathwise"``.
        order: 1 or 2.
        beta: a fixed coefficient (1 is the classic delta method, 0 the plain estimator).

    Returns:
        ``(mean, variance)`` of one sample's estimate, floats.

    Raises:
        ValueError: on an unknown ``param``, ``estimator`` or ``order``.

    Shapes:
        Scalar parameters.
    """
    from . import reference

    if param not in ("loc", "scale"):
        raise ValueError(f"param must be 'loc' or 'scale', got {param!r}")
    if estimator not in _ESTIMATORS:
        raise ValueError(f"estimator must be one of {_ESTIMATORS}, got {estimator!r}")
    mu, sigma = _float(loc), _float(scale)
    params = {"loc": torch.tensor(mu, dtype=torch.float64), "scale": torch.tensor(sigma, dtype=torch.float64)}

    def per_sample(x: torch.Tensor) -> torch.Tensor:
        x = x.detach().to(torch.float64)
        if estimator == "score_function":
            plain = f(x).detach() * gaussian_scores(x, mu, sigma)[param]
        else:
            xr = x.clone().requires_grad_(True)
            with torch.enable_grad():
                (df,) = torch.autograd.grad(f(xr).sum(), xr)
            plain = df if param == "loc" else df * (x - mu) / sigma
        h_values, h_mean = delta_method_control_variate(f, params, x, estimator=estimator, order=order)[param]
        return plain - float(beta) * (h_values - h_mean)

    mean = _float(reference.gaussian_expectation(per_sample, mu, sigma))
    second = _float(reference.gaussian_expectation(lambda x: per_sample(x) ** 2, mu, sigma))
    return mean, max(second - mean**2, 0.0)
