"""Baselines for the score-function estimator: constant, optimal, moving average, leave-one-out.

Introduced in chapter 8, *Control variates*; Mohamed et al. (2020), Sec. 7.4; Kool et al. (2019).

A baseline :math:`b` that does not depend on the sample it multiplies keeps

.. math::

    (f(x_n) - b)\\,\\nabla_\\theta \\log p(x_n; \\theta)

unbiased, since :math:`\\mathbb{E}[\\nabla_\\theta \\log p] = 0`: the control variate of
:mod:`lecture9.control_variates` with :math:`h = b\\,\\nabla_\\theta \\log p`. Every baseline
here composes with the ``baseline=`` argument of
:func:`lecture9.estimators.score_function_grad`; their exact variances are in
:class:`lecture9.reference.ScoreFunctionMoments`.
"""

from __future__ import annotations

import numbers

import torch

from ._validation import (
    as_finite_tensor,
    check_broadcast,
    check_finite,
    check_positive_int,
    check_samples,
)

__all__ = [
    "apply_baseline",
    "optimal_baseline",
    "MovingAverageBaseline",
    "leave_one_out_baseline",
    "LeaveOneOutBaseline",
    "group_means",
]


def _baseline_tensor(baseline, f_values: torch.Tensor, name: str):
    if baseline is None:
        return torch.zeros((), dtype=f_values.dtype, device=f_values.device)
    if callable(baseline):
        b = baseline(f_values)
        if not isinstance(b, torch.Tensor) or b.shape != f_values.shape:
            got = tuple(b.shape) if isinstance(b, torch.Tensor) else type(b).__name__
            raise ValueError(
                f"a callable baseline must return a tensor of f_values' shape {tuple(f_values.shape)}, got {got}"
            )
        return check_finite(b.detach(), "baseline(f_values)")
    return check_broadcast(
        as_finite_tensor(baseline, f_values, name).detach(), f_values.shape, name, "f_values' shape"
    )


def apply_baseline(f_values: torch.Tensor, scores, baseline=None):
    """Per-sample score-function gradients with a baseline: :math:`(f(x_n) - b)\\,\\nabla_\\theta \\log p(x_n;\\theta)`.

    The same rule as ``score_function_grad(..., baseline=...)`` in
    :mod:`lecture9.estimators`, on tensors you already have. Because
    :math:`\\mathbb{E}[\\nabla_\\theta \\log p(x;\\theta)] = 0`, any ``b`` that does not
    depend on :math:`x_n` keeps the estimator unbiased.

    Mohamed et al. (2020), Sec. 7.4.

    Raises:
        ValueError: if shapes do not broadcast or a dict baseline names unknown parameters.
        TypeError: on arguments of the wrong type.

    Shapes:
        ``f_values``: ``(num_samples, *batch_shape)``; each score:
        ``(num_samples, *param.shape)`` with ``param.shape`` equal to ``batch_shape``
        (or broadcastable); result: like ``scores``.
    """
    f_values = check_samples(f_values, "f_values", min_samples=1)
    if isinstance(scores, dict):
        if isinstance(baseline, dict):
            unknown = set(baseline) - set(scores)
            if unknown:
                raise ValueError(
                    f"baseline names parameters {sorted(unknown)} that are not in scores {sorted(scores)}"
                )
        out = {}
        for name, s in scores.items():
            b = baseline.get(name) if isinstance(baseline, dict) else baseline
            out[name] = apply_baseline(f_values, s, b)
        return out
    if isinstance(baseline, dict):
        raise TypeError("a dict baseline needs a dict of scores {param_name: tensor}")
    s = check_samples(scores, "scores", min_samples=1)
    if s.shape[0] != f_values.shape[0]:
        raise ValueError(f"scores has {s.shape[0]} samples but f_values has {f_values.shape[0]}")
    b = _baseline_tensor(baseline, f_values, "baseline")
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
    :func:`lecture9.control_variates.control_variate` with :math:`h = s`, :math:`\\mathbb{E}[h] = 0`, written
    as a baseline. Estimate it on an independent batch to stay exactly unbiased.

    Mohamed et al. (2020), Sec. 7.4.

    Raises:
        ValueError: if the scores are identically zero or the shapes do not broadcast.

    Shapes:
        ``f_values``: ``(num_samples, *batch_shape)``; each score:
        ``(num_samples, *param.shape)``; each result: ``param.shape``.
    """
    f_values = check_samples(f_values, "f_values", min_samples=1)
    if isinstance(scores, dict):
        return {name: optimal_baseline(f_values, s) for name, s in scores.items()}
    s = check_samples(scores, "scores", min_samples=1)
    if s.shape[0] != f_values.shape[0]:
        raise ValueError(f"scores has {s.shape[0]} samples but f_values has {f_values.shape[0]}")
    s2 = s.detach() ** 2
    denom = s2.sum(0)
    if (denom == 0).any():
        raise ValueError(
            "scores are zero at every sample for some parameter; b* = E[f s^2] / E[s^2] is undefined"
        )
    return (f_values.detach() * s2).sum(0) / denom


class MovingAverageBaseline:
    r"""An exponential moving average of the cost across optimisation steps, used as a baseline.

    After batch means :math:`\bar f_1, \dots, \bar f_t` the value is the bias-corrected
    :math:`b_t = (1 - \gamma) \sum_i \gamma^{t-i} \bar f_i / (1 - \gamma^t)` (as in Adam). It
    depends on earlier steps only, so :math:`(f - b_t) s` stays unbiased: pass
    ``baseline=ema`` to :func:`lecture9.estimators.score_function_grad` (the object returns
    its value and remembers the costs), then call ``ema.update()``. Mohamed et al. (2020), Sec. 7.4.

    Raises:
        ValueError: if ``decay`` is outside ``[0, 1)`` or ``initial`` is not finite.
        TypeError: if ``initial`` is not a number or tensor.

    Shapes:
        The value has the costs' per-sample shape, or is a scalar before the first update.
    """

    def __init__(self, decay: float = 0.9, initial: float = 0.0):
        if isinstance(decay, bool) or not isinstance(decay, numbers.Real) or not 0 <= decay < 1:
            raise ValueError(f"decay must be a number in [0, 1), got {decay!r}; e.g. decay=0.9")
        self.decay = float(decay)
        if isinstance(initial, torch.Tensor):
            initial = check_finite(initial.detach(), "initial")
        else:
            initial = float(check_finite(initial, "initial"))
        self.initial = initial
        self.num_updates = 0
        self._average: torch.Tensor | None = None
        self._last: torch.Tensor | None = None

    @property
    def value(self) -> torch.Tensor:
        """The current baseline value (a tensor)."""
        if self._average is None:
            return torch.as_tensor(self.initial)
        return self._average / (1 - self.decay**self.num_updates)

    def __call__(self, f_values: torch.Tensor) -> torch.Tensor:
        f_values = check_samples(f_values, "f_values", min_samples=1)
        self._last = f_values.detach()
        return (
            self.value.to(dtype=f_values.dtype, device=f_values.device).expand_as(f_values).clone()
        )

    def update(self, f_values: torch.Tensor | None = None) -> torch.Tensor:
        """Fold a batch of costs into the average and return the new value.

        Raises:
            ValueError: if no costs are given and the baseline was never called.
        """
        if f_values is None:
            if self._last is None:
                raise ValueError(
                    "update() needs f_values: the baseline has not been called on any costs yet"
                )
            f_values = self._last
        f_values = check_samples(f_values, "f_values", min_samples=1)
        batch_mean = f_values.detach().mean(0)
        if self._average is not None and batch_mean.shape != self._average.shape:
            raise ValueError(
                f"f_values has per-sample shape {tuple(batch_mean.shape)}, but the earlier batches had "
                f"{tuple(self._average.shape)}; pass costs of shape (num_samples, "
                f"{', '.join(map(str, self._average.shape))}) or use a new MovingAverageBaseline"
            )
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
        if num_samples < 2:
            raise ValueError(
                f"the leave-one-out baseline needs K >= 2 samples per group, got {num_samples}; "
                f"draw num_samples >= 2"
            )
        group_size = num_samples
    group_size = check_positive_int(group_size, "group_size", minimum=2)
    if num_samples % group_size:
        raise ValueError(
            f"num_samples = {num_samples} is not a multiple of group_size = {group_size}"
        )
    return group_size


def leave_one_out_baseline(f_values: torch.Tensor, group_size: int | None = None) -> torch.Tensor:
    r"""The leave-one-out baseline (RLOO): each sample's baseline is the mean cost of the other samples.

    :math:`b_n = \frac{1}{K-1}\sum_{j \ne n} f(x_j)` does not depend on :math:`x_n`, so every
    term stays unbiased (Kool et al., 2019); the terms of one group are not independent, so
    take :func:`group_means` before a variance. Pass ``baseline=leave_one_out_baseline`` (one
    group of all samples) or ``baseline=LeaveOneOutBaseline(group_size=K)``.

    Raises:
        ValueError: if :math:`K < 2` or ``num_samples`` is not a multiple of :math:`K`.
        TypeError: if ``f_values`` is not a tensor or ``group_size`` not an integer.

    Shapes:
        ``f_values``: ``(num_samples, *batch_shape)``; result: the same.
    """
    f_values = check_samples(f_values, "f_values", min_samples=1)
    k = _check_group_size(group_size, f_values.shape[0])
    f = f_values.detach()
    grouped = f.reshape(f.shape[0] // k, k, *f.shape[1:])
    baseline = (grouped.sum(1, keepdim=True) - grouped) / (k - 1)
    return baseline.reshape(f.shape)


class LeaveOneOutBaseline:
    """:func:`leave_one_out_baseline` with a fixed group size, as a ``baseline=`` callable.

    Kool et al. (2019).

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

    Raises:
        ValueError: if ``group_size`` does not divide ``num_samples``.

    Shapes:
        ``(num_samples, *shape)`` -> ``(num_samples // group_size, *shape)``.
    """
    per_sample = check_samples(per_sample, "per_sample", min_samples=1)
    k = check_positive_int(group_size, "group_size")
    if per_sample.shape[0] % k:
        raise ValueError(
            f"num_samples = {per_sample.shape[0]} is not a multiple of group_size = {k}"
        )
    return per_sample.reshape(per_sample.shape[0] // k, k, *per_sample.shape[1:]).mean(1)
