r"""Comparing gradient estimators: exact variance tables, their Monte Carlo counterparts, crossings.

Introduced in chapter 7, *Comparing the estimators*.

For a Gaussian :math:`p(x;\theta) = \mathcal{N}(\mu, \sigma^2)` and a family of costs
:math:`f(x; k)`, the comparison of Mohamed et al. (2020), Sec. 3 (their Figures 2 and 3) is
the single-sample variance

.. math::

    V_{e,\theta}(k) = \operatorname{Var}[\hat\eta_{e,\theta}(x; k)], \qquad x \sim \mathcal{N}(\mu, \sigma^2),

of each estimator :math:`e` of :math:`\partial_\theta \mathbb{E}[f(x; k)]`, for
:math:`\theta \in \{\mu, \sigma\}`, as a function of :math:`k`. :func:`exact_variance_table`
computes it by quadrature (:func:`lecture9.reference.estimator_moments`);
:func:`mc_variance_table` estimates it from ``num_samples`` per-sample gradients of
:mod:`lecture9.estimators`, with the standard error of a sample variance,

.. math::

    \operatorname{SE}[s^2] \approx \sqrt{\frac{\widehat{\mathbb{E}}[(g - \bar g)^4] - (s^2)^2}{N}},

i.e. the standard deviation of the squared deviations :math:`(g_i - \bar g)^2` over
:math:`\sqrt N`; :func:`variance_gaps` says how far the two tables are apart, and
:func:`crossing_points` where two exact curves cross. Tables are nested dicts
``{param: {estimator: array of shape (K,)}}`` with ``param`` in ``("loc", "scale")``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

from .._validation import check_array, check_callable, check_float, check_int, check_mapping
from ..estimators import registry
from ..reference import ESTIMATORS, estimator_moments, exact_optimal_baseline

__all__ = [
    "PARAMS",
    "exact_variance_table",
    "mc_variance_table",
    "variance_gaps",
    "crossing_points",
]

#: The parameters of the Gaussian, in table order.
PARAMS = ("loc", "scale")


def _check_names(names) -> tuple[str, ...]:
    if isinstance(names, (str, bytes)) or not hasattr(names, "__iter__"):
        raise TypeError(f"estimators must be a sequence of estimator names, got {names!r}")
    names = tuple(names)
    unknown = [n for n in names if n not in ESTIMATORS]
    if not names or unknown:
        raise ValueError(
            f"estimators must be a non-empty sequence of names from {ESTIMATORS}, got unknown {unknown}"
        )
    return names


def _check_ks(ks) -> np.ndarray:
    ks = check_array(ks, "ks", min_len=0, finite=False)
    if ks.ndim != 1 or len(ks) == 0 or not np.isfinite(ks).all():
        raise ValueError(
            f"ks must be a non-empty 1-D sequence of finite numbers, got shape {ks.shape}"
        )
    return ks


def exact_variance_table(
    f: Callable, ks, loc: float, scale: float, estimators: Sequence[str]
) -> dict:
    """Exact single-sample variances of each estimator at each ``k``, by quadrature.

    Raises:
        ValueError: on an unknown estimator name, empty or non-finite ``ks``, or as
            :func:`lecture9.reference.estimator_moments`.

    Shapes:
        ``ks``: ``(K,)`` -> arrays ``(K,)``.
    """
    names, ks = _check_names(estimators), _check_ks(ks)
    check_callable(f, "f", example="lambda x, k: (x - k) ** 2")
    out = {param: {name: np.empty(len(ks)) for name in names} for param in PARAMS}
    for i, k in enumerate(ks):
        cost = lambda x, k=float(k): f(x, k)  # noqa: E731
        for param in PARAMS:
            for name in names:
                out[param][name][i] = estimator_moments(name, cost, loc, scale, param)[1]
    return out


def _mc_grads(name: str, cost, loc: float, scale: float, num_samples: int, generator):
    spec = registry.get(name)
    params = {
        "loc": torch.tensor(loc, dtype=torch.float64),
        "scale": torch.tensor(scale, dtype=torch.float64),
    }
    options = (
        {"baseline": exact_optimal_baseline(cost, loc, scale)} if spec.baseline == "optimal" else {}
    )
    return spec.grad(
        cost, torch.distributions.Normal, params, num_samples, generator=generator, **options
    )


def mc_variance_table(
    f: Callable,
    ks,
    loc: float,
    scale: float,
    estimators: Sequence[str],
    *,
    num_samples: int,
    generator: torch.Generator | None = None,
) -> tuple[dict, dict]:
    """Monte Carlo single-sample variances and their standard errors, in the layout of :func:`exact_variance_table`.

    At each ``k`` every estimator draws ``num_samples`` per-sample gradients from
    :mod:`lecture9.estimators` (``"score_function_optimal_baseline"`` uses the exact optimal
    constant baseline of :func:`lecture9.reference.exact_optimal_baseline`, so it is
    the estimator whose exact variance the table holds); the variance is their unbiased
    sample variance and its standard error the standard deviation of the squared
    deviations divided by :math:`\\sqrt{N}`.

    Raises:
        ValueError: as :func:`exact_variance_table`, or ``num_samples < 2``.

    Shapes:
        ``ks``: ``(K,)`` -> arrays ``(K,)``.
    """
    names, ks = _check_names(estimators), _check_ks(ks)
    check_callable(f, "f", example="lambda x, k: (x - k) ** 2")
    num_samples = check_int(num_samples, "num_samples", minimum=2, maximum=10**8)
    var = {param: {name: np.empty(len(ks)) for name in names} for param in PARAMS}
    se = {param: {name: np.empty(len(ks)) for name in names} for param in PARAMS}
    for i, k in enumerate(ks):
        cost = lambda x, k=float(k): f(x, k)  # noqa: E731
        for name in names:
            grads = _mc_grads(name, cost, loc, scale, num_samples, generator)
            for param in PARAMS:
                g = grads[param].reshape(num_samples)
                squares = (g - g.mean()) ** 2
                var[param][name][i] = g.var().item()
                se[param][name][i] = (squares.std() / math.sqrt(num_samples)).item()
    return var, se


def variance_gaps(mc: dict, mc_se: dict, exact: dict, *, tiny: float = 1e-9) -> dict[str, float]:
    """How far a Monte Carlo table is from the exact one at the same ``k``'s.

    Entries whose exact variance is below ``tiny`` (an exact zero, e.g. the coupled
    estimator at a symmetry) are skipped: their relative gap is undefined.

    Raises:
        ValueError: if the tables do not have the same keys and shapes, or nothing is compared.

    Shapes:
        Tables of arrays ``(K,)``.
    """
    for table, name in ((mc, "mc"), (mc_se, "mc_se"), (exact, "exact")):
        check_mapping(table, name, example="{'loc': {'pathwise': variances}}")
    tiny = check_float(tiny, "tiny", minimum=0.0)
    z, rel = [], []
    for param in mc:
        for name in mc[param]:
            m, s, e = (np.asarray(t[param][name], dtype=float) for t in (mc, mc_se, exact))
            if not m.shape == s.shape == e.shape:
                raise ValueError(
                    f"the tables differ in shape at [{param!r}][{name!r}]: {m.shape}, {s.shape}, {e.shape}"
                )
            keep = e > tiny
            z += list(np.abs(m[keep] - e[keep]) / s[keep])
            rel += list(np.abs(m[keep] / e[keep] - 1.0))
    if not z:
        raise ValueError("no entry to compare: every exact variance is (close to) zero")
    return {
        "count": len(z),
        "median_relative_gap": float(np.median(rel)),
        "max_standard_errors": float(max(z)),
    }


def crossing_points(ks, first, second) -> list[float]:
    """Where two curves sampled on the grid ``ks`` cross: the zeros of their log-ratio.

    The log-ratio :math:`d = \\log V_1 - \\log V_2` is interpolated linearly between
    consecutive grid points at which it changes sign; values are floored at ``1e-300``
    so that exact zeros do not produce ``-inf``.

    Raises:
        ValueError: if the three arrays differ in length or ``ks`` is not 1-D.

    Shapes:
        ``ks``, ``first``, ``second``: ``(K,)``.
    """
    ks = _check_ks(ks)
    first, second = check_array(first, "first", ndim=1), check_array(second, "second", ndim=1)
    if (first < 0).any() or (second < 0).any():
        raise ValueError("first and second must be >= 0 (variances): their log-ratio is compared")
    if not (first.shape == second.shape == ks.shape):
        raise ValueError(
            f"ks, first and second must have the same length, got {ks.shape}, {first.shape}, {second.shape}"
        )
    d = np.log(np.maximum(first, 1e-300)) - np.log(np.maximum(second, 1e-300))
    return [
        float(ks[i] - d[i] * (ks[i + 1] - ks[i]) / (d[i + 1] - d[i]))
        for i in range(len(ks) - 1)
        if d[i] * d[i + 1] < 0
    ]
