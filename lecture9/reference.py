r"""Exact means and single-sample variances of the gradient estimators, by quadrature.

The ground truth that the tests and the plots of chapters 3-7 compare the Monte Carlo
estimators of :mod:`lecture9.estimators` against, for a Gaussian measure
:math:`\mathcal{N}(x; \mu, \sigma^2)` and a cost ``f`` (a torch callable acting
elementwise on a 1-D tensor). Reproduces the exact curves of Figures 2 and 3 of
Mohamed et al. (2020), Sec. 3 (a comparison of the estimators of Secs. 4-6).

Every single-sample estimate is a function of a few standard random variables, so its
mean and variance are low-dimensional integrals:

- Gaussian expectations :math:`\mathbb{E}[g(Z)]`, :math:`Z \sim \mathcal{N}(0, 1)`, by
  probabilists' Gauss-Hermite quadrature with 600 nodes (score function, optimal
  baseline, pathwise): ``numpy.polynomial.hermite_e.hermegauss`` up to 150 nodes and
  ``scipy.special.roots_hermitenorm`` (the same rule, computed stably) beyond. 600 nodes
  resolve costs as narrow as :math:`e^{-20 x^2}` (the square of Figure 3's sharpest cost)
  to about :math:`10^{-11}`.
- Weibull / Rayleigh expectations :math:`\mathbb{E}[g(W)]`, density :math:`w e^{-w^2/2}` on
  :math:`w > 0` (measure-valued loc), by Gauss-Legendre quadrature on :math:`[0, 12]`.
- Double-sided Maxwell expectations :math:`\mathbb{E}[g(M)] = \mathbb{E}[Z^2 g(Z)]`
  (measure-valued scale) by Gauss-Hermite, and the coupled pair :math:`(M, UM)` by a
  Gauss-Hermite rule in :math:`M` with a cumulative Gauss-Legendre rule in :math:`U`.

``method="quad"`` computes the same integrals with the adaptive
``scipy.integrate.quad`` instead (slower; an independent check). For
:math:`f(x) = (x - k)^2` every variance has a closed form, :func:`quadratic_variance`,
which the tests compare the quadrature against.

Exact score-function moments with and without baselines (:class:`ScoreFunctionMoments`, by
Gauss-Hermite quadrature for a Gaussian or by enumeration for a finite discrete
distribution) give the exact variances of the baselines of :mod:`lecture9.baselines`.

Introduced in chapter 3, *Gradients of expectations* (:func:`gaussian_expectation`,
:func:`exact_gradient`); the estimator moments in chapter 7, *Comparing the estimators*;
the score-function moments in chapter 8, *Control variates*; the series and sums
:func:`poisson_rate_gradient` and :func:`even_floor_gradient` (the score function of
discrete and discontinuous costs) in chapter 4.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
from collections.abc import Callable

import numpy as np
import torch
from scipy import integrate

from ._validation import (
    MAX_NUM_NODES,
    call_checked,
    check_callable,
    check_choice,
    check_finite,
    check_float,
    check_int,
    check_mapping,
    check_positive,
    check_positive_int,
    check_size,
)
from .quadrature import hermite_rule, integrand_slopes, integrand_values, legendre_rule

__all__ = [
    "ESTIMATORS",
    "NUM_NODES",
    "PARAMS",
    "gaussian_expectation",
    "exact_gradient",
    "estimator_moments",
    "quadratic_variance",
    "ScoreFunctionMoments",
    "gaussian_scores",
    "gaussian_score_function_moments",
    "discrete_score_function_moments",
    "exact_optimal_baseline",
    "poisson_rate_gradient",
    "even_floor_gradient",
]

#: Gaussian parameters that can be differentiated.
PARAMS = ("loc", "scale")

#: Default number of Gauss-Hermite nodes (exact for polynomials up to degree 2n - 1).
NUM_NODES = 600
_NUM_LEGENDRE = 600
_NUM_LEGENDRE_PANEL = 10  # nodes per interval between consecutive Hermite nodes
_RAYLEIGH_MAX = 12.0  # P(W > 12) = exp(-72): negligible


@functools.lru_cache(maxsize=8)
def _rayleigh(num_nodes: int):
    w, v = legendre_rule(num_nodes, 0.0, _RAYLEIGH_MAX)
    return w, v * w * torch.exp(-0.5 * w**2)


def _check(f, loc, scale):
    check_callable(f, "f", example="lambda x: (x - 3.0) ** 2 (torch tensor -> tensor)")
    loc = check_float(loc.detach() if isinstance(loc, torch.Tensor) else loc, "loc")
    scale = check_float(
        scale.detach() if isinstance(scale, torch.Tensor) else scale,
        "scale",
        minimum=0.0,
        strict=True,
    )
    return loc, scale


def gaussian_expectation(
    f: Callable, loc: float, scale: float, *, num_nodes: int = NUM_NODES
) -> float:
    r"""Expectation :math:`\mathbb{E}_{\mathcal{N}(\mu,\sigma^2)}[f]` by Gauss-Hermite quadrature,
    :math:`\sum_i w_i f(\mu + \sigma z_i)`.

    Exact for polynomials of degree below :math:`2n`, ``n = num_nodes``.

    Raises:
        ValueError: if ``scale`` is not positive or ``loc`` is not finite.
        TypeError: if ``f`` is not callable.

    Shapes:
        input of ``f``: ``(num_nodes,)``; output: ``(num_nodes,)``.
    """
    loc, scale = _check(f, loc, scale)
    z, w = hermite_rule(_check_nodes(num_nodes))
    return float((w * integrand_values(f, loc + scale * z)).sum())


def exact_gradient(
    f: Callable, loc: float, scale: float, *, num_nodes: int = NUM_NODES
) -> dict[str, float]:
    r"""Exact gradient of :math:`\mathbb{E}_{\mathcal{N}(x;\mu,\sigma^2)}[f(x)]` in :math:`\mu` and :math:`\sigma`.

    Uses the score-function identity inside the integral, so ``f`` need not be
    differentiable (Mohamed et al. 2020, Sec. 4):

    .. math::

        \partial_\mu \mathbb{E}[f] = \mathbb{E}\Big[f(\mu + \sigma Z)\,\frac{Z}{\sigma}\Big], \qquad
        \partial_\sigma \mathbb{E}[f] = \mathbb{E}\Big[f(\mu + \sigma Z)\,\frac{Z^2 - 1}{\sigma}\Big],

    each computed by Gauss-Hermite quadrature. Arguments and errors as :func:`gaussian_expectation`.
    """
    loc, scale = _check(f, loc, scale)
    z, w = hermite_rule(_check_nodes(num_nodes))
    fx = integrand_values(f, loc + scale * z)
    return {
        "loc": float((w * fx * z).sum() / scale),
        "scale": float((w * fx * (z**2 - 1)).sum() / scale),
    }


# ----------------------------------------------------------------------------------------------
# moments by fixed-order (Gauss) quadrature
# ----------------------------------------------------------------------------------------------


def _score_function_gauss(f, loc, scale, param, num_nodes, *, optimal: bool):
    m = gaussian_score_function_moments(f, loc, scale, param, num_nodes=num_nodes)
    return m.grad, (m.optimal_variance if optimal else m.variance())


def _pathwise_gauss(f, loc, scale, param, num_nodes):
    z, w = hermite_rule(num_nodes)
    g = integrand_slopes(f, loc + scale * z)
    est = g if param == "loc" else g * z
    mean = float((w * est).sum())
    return mean, float((w * est**2).sum()) - mean**2


def _measure_valued_gauss(f, loc, scale, param, num_nodes, *, coupled: bool):
    z, w = hermite_rule(num_nodes)
    x = loc + scale * z
    if param == "loc":
        r, v = _rayleigh(_NUM_LEGENDRE)
        c = 1.0 / (scale * math.sqrt(2 * math.pi))
        fp, fm = integrand_values(f, loc + scale * r), integrand_values(f, loc - scale * r)
        ep, em = float((v * fp).sum()), float((v * fm).sum())
        mean = c * (ep - em)
        if coupled:
            second = c**2 * float((v * (fp - fm) ** 2).sum())
        else:
            second = c**2 * (float((v * fp**2).sum()) + float((v * fm**2).sum()) - 2 * ep * em)
        return mean, second - mean**2
    # scale: x+ = loc + scale * M (double-sided Maxwell), x- ~ N(loc, scale^2)
    c = 1.0 / scale
    fx = integrand_values(f, x)
    wm = w * z**2  # Maxwell weights: E[g(M)] = E[Z^2 g(Z)]
    ep, em = float((wm * fx).sum()), float((w * fx).sum())
    mean = c * (ep - em)
    if coupled:
        # E[(f(a) - f(b))^2] with a = loc + scale M, b = loc + scale U M, U M ~ N(0, 1):
        # E f(a)^2 + E f(b)^2 - 2 E[f(a) A(M)], where A(m) = E_U f(loc + scale U m) is the mean of f
        # over [0, m], from a cumulative Gauss-Legendre rule between consecutive nodes.
        avg = _running_average(f, loc, scale, z)
        cross = float((wm * fx * avg).sum())
        second = c**2 * (float((wm * fx**2).sum()) + float((w * fx**2).sum()) - 2 * cross)
    else:
        second = c**2 * (float((wm * fx**2).sum()) + float((w * fx**2).sum()) - 2 * ep * em)
    return mean, second - mean**2


def _check_nodes(num_nodes) -> int:
    return check_positive_int(num_nodes, "num_nodes", maximum=MAX_NUM_NODES)


def _running_average(f, loc: float, scale: float, z: torch.Tensor) -> torch.Tensor:
    """``A(z_i) = (1 / z_i) * int_0^{z_i} f(loc + scale * y) dy`` at every (non-zero) node ``z_i``."""
    t, v = legendre_rule(_NUM_LEGENDRE_PANEL, 0.0, 1.0)
    out = torch.empty_like(z)
    for side in (z > 0, z < 0):
        nodes = z[side]
        order = torch.argsort(nodes.abs())
        ends = nodes[order]
        starts = torch.cat([ends.new_zeros(1), ends[:-1]])
        width = ends - starts  # signed
        points = starts[:, None] + width[:, None] * t[None, :]
        panel = width * (
            v[None, :]
            * integrand_values(f, (loc + scale * points).reshape(-1)).reshape(points.shape)
        ).sum(1)
        integral = torch.empty_like(ends)
        integral[order] = torch.cumsum(panel, 0)
        out[side] = integral / nodes
    if (z == 0).any():
        out[z == 0] = integrand_values(f, torch.full((1,), loc, dtype=z.dtype))[0]
    return out


# ----------------------------------------------------------------------------------------------
# the same integrals with adaptive quadrature (scipy.integrate.quad)
# ----------------------------------------------------------------------------------------------


def _scalar_integrand(f, derivative=False):
    def g(x: float) -> float:
        t = torch.tensor([x], dtype=torch.float64)
        return float((integrand_slopes(f, t) if derivative else integrand_values(f, t))[0])

    return g


def _quad(g, lo, hi):
    value, _ = integrate.quad(g, lo, hi, limit=400, epsabs=1e-13, epsrel=1e-11)
    return value


_LO, _HI = -14.0, 14.0  # the adaptive rule's range in standard deviations


def _phi(z: float) -> float:
    return math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


def _score_function_quad(f, loc, scale, param, *, optimal: bool):
    fs = _scalar_integrand(f)
    s = (lambda z: z / scale) if param == "loc" else (lambda z: (z * z - 1) / scale)

    def expect(g):
        return _quad(lambda z: g(fs(loc + scale * z), s(z)) * _phi(z), _LO, _HI)

    m = ScoreFunctionMoments(
        mean_f=expect(lambda f_, s_: f_),
        mean_f2=expect(lambda f_, s_: f_**2),
        grad=expect(lambda f_, s_: f_ * s_),
        mean_s2=expect(lambda f_, s_: s_**2),
        mean_f_s2=expect(lambda f_, s_: f_ * s_**2),
        mean_f2_s2=expect(lambda f_, s_: f_**2 * s_**2),
    )
    return m.grad, (m.optimal_variance if optimal else m.variance())


def _pathwise_quad(f, loc, scale, param):
    integrand_slopes(
        f, loc + scale * hermite_rule(64)[0]
    )  # f must be differentiable: checked at once
    d = _scalar_integrand(f, derivative=True)
    est = (lambda z: d(loc + scale * z)) if param == "loc" else (lambda z: d(loc + scale * z) * z)
    mean = _quad(lambda z: est(z) * _phi(z), _LO, _HI)
    return mean, _quad(lambda z: est(z) ** 2 * _phi(z), _LO, _HI) - mean**2


def _measure_valued_quad(f, loc, scale, param, *, coupled: bool):
    phi, lo, hi = _phi, _LO, _HI
    fs = _scalar_integrand(f)
    if param == "loc":
        rho = lambda r: r * math.exp(-0.5 * r * r)  # noqa: E731  Weibull(sqrt 2, 2) density
        c = 1.0 / (scale * math.sqrt(2 * math.pi))
        fp = lambda r: fs(loc + scale * r)  # noqa: E731
        fm = lambda r: fs(loc - scale * r)  # noqa: E731
        ep = _quad(lambda r: fp(r) * rho(r), 0.0, hi)
        em = _quad(lambda r: fm(r) * rho(r), 0.0, hi)
        mean = c * (ep - em)
        if coupled:
            second = c**2 * _quad(lambda r: (fp(r) - fm(r)) ** 2 * rho(r), 0.0, hi)
        else:
            second = c**2 * (
                _quad(lambda r: fp(r) ** 2 * rho(r), 0.0, hi)
                + _quad(lambda r: fm(r) ** 2 * rho(r), 0.0, hi)
                - 2 * ep * em
            )
        return mean, second - mean**2
    c = 1.0 / scale
    maxwell = lambda m: m * m * phi(m)  # noqa: E731  double-sided Maxwell density
    ep = _quad(lambda m: fs(loc + scale * m) * maxwell(m), lo, hi)
    em = _quad(lambda z: fs(loc + scale * z) * phi(z), lo, hi)
    mean = c * (ep - em)
    if coupled:

        def inner(m):
            a = fs(loc + scale * m)
            return _quad(lambda u: (a - fs(loc + scale * u * m)) ** 2, 0.0, 1.0)

        second = c**2 * _quad(lambda m: inner(m) * maxwell(m), lo, hi)
    else:
        second = c**2 * (
            _quad(lambda m: fs(loc + scale * m) ** 2 * maxwell(m), lo, hi)
            + _quad(lambda z: fs(loc + scale * z) ** 2 * phi(z), lo, hi)
            - 2 * ep * em
        )
    return mean, second - mean**2


def estimator_moments(
    estimator: str,
    f: Callable,
    loc: float,
    scale: float,
    param: str,
    *,
    method: str = "gauss",
    num_nodes: int = NUM_NODES,
) -> tuple[float, float]:
    r"""Exact mean and variance of ONE sample's gradient estimate, for :math:`\mathcal{N}(\mu, \sigma^2)`.

    With :math:`Z \sim \mathcal{N}(0,1)` and :math:`x = \mu + \sigma Z`, a single-sample
    estimate :math:`\hat\eta` of :math:`\partial_\theta \mathbb{E}[f(x)]` is (Mohamed et al.
    2020, Secs. 4-6):

    - ``"score_function"``: :math:`f(x)\, s(Z)` with :math:`s = Z/\sigma` (loc) or
      :math:`(Z^2 - 1)/\sigma` (scale).
    - ``"score_function_optimal_baseline"``: :math:`(f(x) - b^*)\, s(Z)` with the optimal
      constant :math:`b^* = \mathbb{E}[f s^2] / \mathbb{E}[s^2]`, whose variance is
      :math:`\mathbb{E}[f^2 s^2] - \mathbb{E}[f s^2]^2/\mathbb{E}[s^2] - \eta^2` (Sec. 7).
    - ``"pathwise"``: :math:`f'(x)` (loc) or :math:`f'(x) Z` (scale); ``f'`` by autograd.
    - ``"measure_valued"``: :math:`c\,(f(x^+) - f(x^-))` with independent :math:`x^\pm`
      (Weibull / Rayleigh for loc, double-sided Maxwell minus Normal for scale).
    - ``"measure_valued_coupled"``: the same with common random numbers.

    The variance is :math:`\mathbb{E}[\hat\eta^2] - (\mathbb{E}\hat\eta)^2`; the variance of an
    ``N``-sample average is this divided by ``N``.

    Raises:
        ValueError: if ``estimator``, ``param`` or ``method`` is unknown, or ``scale <= 0``.
    """
    check_choice(estimator, ESTIMATORS, "estimator")
    check_choice(param, PARAMS, "param")
    check_choice(method, ("gauss", "quad"), "method")
    loc, scale = _check(f, loc, scale)
    gauss, quad = _MOMENTS[estimator]
    if method == "quad":
        mean, var = quad(f, loc, scale, param)
    else:
        mean, var = gauss(f, loc, scale, param, _check_nodes(num_nodes))
    return mean, max(var, 0.0)  # round-off can leave a zero variance at -1e-32


def _rules(gauss, quad, **options) -> tuple:
    return functools.partial(gauss, **options), functools.partial(quad, **options)


#: The exact moments of each estimator: name -> (Gauss rule, adaptive rule).
_MOMENTS = {
    "score_function": _rules(_score_function_gauss, _score_function_quad, optimal=False),
    "score_function_optimal_baseline": _rules(
        _score_function_gauss, _score_function_quad, optimal=True
    ),
    "pathwise": (_pathwise_gauss, _pathwise_quad),
    "measure_valued": _rules(_measure_valued_gauss, _measure_valued_quad, coupled=False),
    "measure_valued_coupled": _rules(_measure_valued_gauss, _measure_valued_quad, coupled=True),
}
#: Estimator names understood by :func:`estimator_moments` and :func:`quadratic_variance`
#: (names of :data:`~lecture9.estimators.registry.REGISTRY`).
ESTIMATORS = tuple(_MOMENTS)


# ----------------------------------------------------------------------------------------------
# exact score-function moments (with and without baselines)
# ----------------------------------------------------------------------------------------------


def _check_moment_baseline(value, name: str):
    """A finite number, or a finite tensor for moments computed for a batch of parameters."""
    if isinstance(value, torch.Tensor) and value.dim() > 0:
        return check_finite(value, name)
    return check_float(value, name)


@dataclasses.dataclass(frozen=True)
class ScoreFunctionMoments:
    r"""The six moments :math:`\mathbb{E}[f]`, :math:`\mathbb{E}[f^2]`, ``grad``
    :math:`= \mathbb{E}[fs]`, :math:`\mathbb{E}[s^2]`, :math:`\mathbb{E}[fs^2]`,
    :math:`\mathbb{E}[f^2s^2]` of a cost and a score.

    :math:`s = \partial_\theta \log p(x;\theta)` for one scalar parameter. From them follow the
    exact variances of the score-function estimator with a constant, the optimal, a
    moving-average and the leave-one-out baseline (Mohamed et al. 2020, Sec. 7.4). From
    :func:`gaussian_score_function_moments` or :func:`discrete_score_function_moments`.

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
        """
        b = _check_moment_baseline(baseline, "baseline")
        baseline_variance = _check_moment_baseline(baseline_variance, "baseline_variance")
        if bool((torch.as_tensor(baseline_variance) < 0).any()):
            raise ValueError(f"baseline_variance must be >= 0, got {baseline_variance}")
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
        """Single-sample variance with a stationary
        :class:`lecture9.baselines.MovingAverageBaseline` at fixed parameters.

        At stationarity the average of batch means has mean :math:`\\mathbb{E}[f]` and
        variance :math:`\\frac{1-\\gamma}{1+\\gamma}\\operatorname{Var}[f] / B` for batches of size :math:`B`.
        """
        decay = check_float(decay, "decay", minimum=0.0, maximum=1.0)
        batch_size = check_positive_int(batch_size, "batch_size")
        v = (1 - decay) / (1 + decay) * self.var_f / batch_size
        return self.variance(self.mean_f, v)

    def rloo_variance(self, group_size: int) -> float:
        """Variance of one leave-one-out estimate (the mean over a group of :math:`K` samples).

        .. math::

            \\operatorname{Var} = \\frac{\\operatorname{Var}[fs]}{K}
            + \\frac{\\mathbb{E}[f^2]\\mathbb{E}[s^2] + (\\mathbb{E}[fs])^2
                     + (K-2)\\,\\mathbb{E}[s^2]\\,\\mathbb{E}[f]^2}{K(K-1)}
            - \\frac{2\\,\\mathbb{E}[f]\\,\\mathbb{E}[f s^2]}{K}.

        Multiply by :math:`K` to compare with single-sample variances at the same
        number of samples; as :math:`K \\to \\infty` this tends to
        :meth:`variance` with :math:`b = \\mathbb{E}[f]`.

        Raises:
            ValueError: if :math:`K < 2`.
        """
        k = check_positive_int(group_size, "group_size", minimum=2)
        var_fs = self.mean_f2_s2 - self.grad**2
        cross = (
            self.mean_f2 * self.mean_s2 + self.grad**2 + (k - 2) * self.mean_s2 * self.mean_f**2
        ) / (k * (k - 1))
        return var_fs / k + cross - 2 * self.mean_f * self.mean_f_s2 / k


def gaussian_scores(x: torch.Tensor, loc, scale) -> dict[str, torch.Tensor]:
    """Scores of :math:`\\mathcal N(\\mu, \\sigma^2)` at samples ``x``.

    .. math::

        \\partial_\\mu \\log p = \\frac{x - \\mu}{\\sigma^2}, \\qquad
        \\partial_\\sigma \\log p = \\frac{(x - \\mu)^2 - \\sigma^2}{\\sigma^3}.

    Raises:
        ValueError: if ``scale`` is not finite and > 0 or ``loc`` is not finite.

    Shapes:
        ``x``: ``(num_samples, *batch_shape)``; each result the same.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor of samples, got {type(x).__name__}")
    check_finite(x, "x")
    for name, value in (("loc", loc), ("scale", scale)):
        if isinstance(value, bool) or not isinstance(value, (numbers.Real, torch.Tensor)):
            raise TypeError(f"{name} must be a number or a tensor, got {type(value).__name__}")
    loc = check_finite(torch.as_tensor(loc, dtype=x.dtype), "loc")
    scale = check_positive(torch.as_tensor(scale, dtype=x.dtype), "scale")
    d = x - loc
    scores = {"loc": d / scale**2, "scale": (d * d - scale**2) / scale**3}
    for value in scores.values():
        check_finite(value, "the scores", hint="x and loc too far apart for scale")
    return scores


def gaussian_score_function_moments(
    f: Callable, loc: float, scale: float, param: str, *, num_nodes: int = NUM_NODES
) -> ScoreFunctionMoments:
    """Exact :class:`ScoreFunctionMoments` for :math:`x \\sim \\mathcal N(\\mu, \\sigma^2)`,
    by Gauss-Hermite quadrature.

    The one computation of the score-function moments of a Gaussian: :func:`estimator_moments`
    (``"score_function"``, ``"score_function_optimal_baseline"``) and
    :func:`exact_optimal_baseline` read theirs from it. Arguments as :func:`gaussian_expectation`, and
    ``param`` (``"loc"`` or ``"scale"``).

    Raises:
        ValueError: as :func:`gaussian_expectation`, or for an unknown ``param``.
    """
    check_choice(param, PARAMS, "param")
    loc, scale = _check(f, loc, scale)
    z, w = hermite_rule(_check_nodes(num_nodes))
    fx = integrand_values(f, loc + scale * z)
    s = z / scale if param == "loc" else (z**2 - 1) / scale
    return _score_moments(lambda v: float((w * v).sum()), fx, s)


def _score_moments(expect, fx, s) -> ScoreFunctionMoments:
    """The six moments of ``f`` and the score ``s`` under the quadrature rule or enumeration ``expect``."""
    return ScoreFunctionMoments(
        mean_f=expect(fx),
        mean_f2=expect(fx**2),
        grad=expect(fx * s),
        mean_s2=expect(s**2),
        mean_f_s2=expect(fx * s**2),
        mean_f2_s2=expect(fx**2 * s**2),
    )


def _make_distribution(distribution, params: dict):
    if isinstance(distribution, type) and issubclass(
        distribution, torch.distributions.Distribution
    ):
        return distribution(**params, validate_args=False)
    if callable(distribution):
        return distribution(**params)
    raise TypeError(
        f"distribution must be a torch.distributions.Distribution class or a factory, got {distribution!r}"
    )


def discrete_score_function_moments(
    f: Callable, distribution, params: dict, param: str
) -> ScoreFunctionMoments:
    r"""Exact :class:`ScoreFunctionMoments` of a finite discrete distribution, by enumeration.

    Sums over ``enumerate_support()``, the scores by autograd of ``log_prob``; batched
    parameters give tensor-valued moments (e.g. a curve against the logit). For the toy
    problem of Tucker et al. (2017):
    ``discrete_score_function_moments(lambda b: (b - 0.45) ** 2, Bernoulli, {"logits": torch.tensor(0.)}, "logits")``.

    Raises:
        ValueError: if ``param`` is not in ``params`` or is not one scalar per batch entry.
        TypeError: if the distribution cannot enumerate its support.

    Shapes:
        ``params``: broadcast to ``batch_shape``; each moment: ``batch_shape``.
    """
    check_callable(f, "f", example="lambda b: (b - 0.45) ** 2")
    check_mapping(params, "params", example="{'logits': torch.tensor(0.0)}")
    if param not in params:
        raise ValueError(f"param {param!r} is not one of the parameters {sorted(params)}")
    tensors = {k: torch.as_tensor(v).detach() for k, v in params.items()}
    tensors = {k: (v.to(torch.float64) if v.is_floating_point() else v) for k, v in tensors.items()}
    for k, v in tensors.items():
        check_finite(v, f"params[{k!r}]")
    base = _make_distribution(distribution, tensors)
    if not base.has_enumerate_support:
        raise TypeError(
            f"{type(base).__name__} has no finite support to enumerate; use quadrature or sampling"
        )
    batch = base.batch_shape
    if tensors[param].shape != batch:
        raise ValueError(
            f"params[{param!r}] has shape {tuple(tensors[param].shape)} but the batch shape is {tuple(batch)}: "
            f"the moments are for one scalar parameter per problem (e.g. Bernoulli logits), not a vector parameter"
        )
    support = base.enumerate_support(expand=True)  # (S, *batch, *event)
    n = support.shape[0]
    leaf = tensors[param].expand(n, *batch).clone().requires_grad_(True)
    expanded = {
        k: v.expand(n, *batch) if v.dim() <= len(batch) else v
        for k, v in tensors.items()
        if k != param
    }
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

    return _score_moments(expect, check_finite(fx, "f(support)"), s)


def exact_optimal_baseline(f: Callable, loc: float, scale: float) -> dict[str, float]:
    """The exact optimal constant baseline per parameter of :math:`\\mathcal N(\\mu, \\sigma^2)`, by quadrature.

    .. math::

        b^*_\\theta = \\frac{\\mathbb{E}[f(x)\\, s_\\theta(x)^2]}{\\mathbb{E}[s_\\theta(x)^2]}

    read from :func:`gaussian_score_function_moments` (same arguments). Mohamed et al. (2020), Sec. 7.4.
    """
    return {p: gaussian_score_function_moments(f, loc, scale, p).optimal_baseline for p in PARAMS}


def quadratic_variance(estimator: str, k, loc: float = 1.0, scale: float = 1.0, param: str = "loc"):
    r"""Closed-form single-sample variance for the cost :math:`f(x) = (x - k)^2`.

    With :math:`d = \mu - k`, the true gradients are :math:`\partial_\mu = 2d` and
    :math:`\partial_\sigma = 2\sigma`, and the variances (derived from the Gaussian moments
    :math:`\mathbb{E}Z^{2j} = (2j-1)!!` and the Rayleigh moments :math:`\mathbb{E}W = \sqrt{\pi/2}`,
    :math:`\mathbb{E}W^2 = 2`, :math:`\mathbb{E}W^4 = 8`; chapter 7's exercise) are:

    - ``score_function``: :math:`(d^4 + 18 d^2\sigma^2 + 15\sigma^4)/\sigma^2 - 4d^2` (loc),
      :math:`(2d^4 + 60 d^2\sigma^2 + 78\sigma^4)/\sigma^2 - 4\sigma^2` (scale);
    - ``score_function_optimal_baseline``: :math:`8d^2 + 6\sigma^2` (loc, :math:`b^* = d^2 + 3\sigma^2`),
      :math:`40 d^2 + 24\sigma^2` (scale, :math:`b^* = d^2 + 5\sigma^2`);
    - ``pathwise``: :math:`4\sigma^2` (loc), :math:`4d^2 + 8\sigma^2` (scale);
    - ``measure_valued``: :math:`(8/\pi - 2) d^2 + 4\sigma^2/\pi` (loc), :math:`16 d^2 + 8\sigma^2` (scale);
    - ``measure_valued_coupled``: :math:`(16/\pi - 4) d^2` (loc), :math:`4 d^2 + 4\sigma^2` (scale).

    Raises:
        ValueError: if ``estimator`` or ``param`` is unknown or ``scale <= 0``.
    """
    check_choice(estimator, ESTIMATORS, "estimator")
    check_choice(param, PARAMS, "param")
    check_positive(float(scale), "scale")
    if not (np.isfinite(np.asarray(k, dtype=np.float64)).all() and math.isfinite(float(loc))):
        raise ValueError(f"k and loc must be finite, got k={k!r}, loc={loc!r}")
    d = float(loc) - np.asarray(k, dtype=np.float64)
    s2 = check_float(float(scale) ** 2 if float(scale) < 1e150 else math.inf, "scale ** 2")
    table = {
        ("score_function", "loc"): lambda: (d**4 + 18 * d**2 * s2 + 15 * s2**2) / s2 - 4 * d**2,
        ("score_function", "scale"): lambda: (2 * d**4 + 60 * d**2 * s2 + 78 * s2**2) / s2 - 4 * s2,
        ("score_function_optimal_baseline", "loc"): lambda: 8 * d**2 + 6 * s2,
        ("score_function_optimal_baseline", "scale"): lambda: 40 * d**2 + 24 * s2,
        ("pathwise", "loc"): lambda: 4 * s2 + 0 * d,
        ("pathwise", "scale"): lambda: 4 * d**2 + 8 * s2,
        ("measure_valued", "loc"): lambda: (8 / math.pi - 2) * d**2 + 4 * s2 / math.pi,
        ("measure_valued", "scale"): lambda: 16 * d**2 + 8 * s2,
        ("measure_valued_coupled", "loc"): lambda: (16 / math.pi - 4) * d**2,
        ("measure_valued_coupled", "scale"): lambda: 4 * d**2 + 4 * s2,
    }
    with np.errstate(over="ignore", invalid="ignore"):
        value = table[(estimator, param)]()
    check_finite(np.asarray(value, dtype=np.float64), "the variance", hint="k, loc or scale big")
    return float(value) if np.ndim(value) == 0 else value


def poisson_rate_gradient(
    f: Callable[[torch.Tensor], torch.Tensor], rate: float, *, terms: int | None = None
) -> float:
    """:math:`\\nabla_\\lambda \\mathbb{E}_{\\mathrm{Pois}(\\lambda)}[f]
    = \\sum_{j=0}^{J-1} f(j)\\, \\mathrm{Pois}(j; \\lambda)\\,(j/\\lambda - 1)`.

    ``terms`` (J) defaults to enough for a Poisson tail below 1e-12.

    Raises:
        ValueError: if ``terms`` leaves a tail above 1e-12 (the sum would be truncated), or J > 10^7.
    """
    check_callable(f, "f", example="lambda j: (j >= 3).double()")
    rate = check_float(rate, "rate", minimum=0.0, strict=True)
    needed = math.ceil(rate + 12 * math.sqrt(rate) + 30)
    terms = needed if terms is None else check_int(terms, "terms", minimum=1)
    check_size(
        max(terms, needed),
        "the number of terms needed at this rate",
        maximum=10**7,
        workaround="use a smaller rate",
    )
    tail = float(
        torch.special.gammainc(
            torch.tensor(float(terms), dtype=torch.float64), torch.tensor(rate, dtype=torch.float64)
        )
    )
    if tail > 1e-12:
        raise ValueError(
            f"terms={terms} truncates the sum: the Poisson({rate:g}) mass beyond it is {tail:.2g}; "
            f"use terms >= {needed} (or leave terms=None)"
        )
    j = torch.arange(terms, dtype=torch.float64)
    pmf = torch.distributions.Poisson(torch.tensor(rate, dtype=torch.float64)).log_prob(j).exp()
    return float((call_checked(f, j, name="f(j)", shape=(terms,)) * pmf * (j / rate - 1)).sum())


def even_floor_gradient(loc: float, scale: float, *, num_intervals: int | None = None) -> float:
    """:math:`\\nabla_\\mu \\mathbb{E}_{\\mathcal{N}(\\mu, \\sigma^2)}
    \\big[\\mathbb{1}\\{\\lfloor x \\rfloor \\text{ even}\\}\\big]`.

    .. math::

        \\frac{1}{\\sigma} \\sum_{n \\text{ even}} \\Big[\\phi\\big(\\tfrac{n - \\mu}{\\sigma}\\big)
        - \\phi\\big(\\tfrac{n + 1 - \\mu}{\\sigma}\\big)\\Big],

    summed over the even :math:`n` with :math:`|n - \\mu| \\le` ``num_intervals`` (default: enough
    that the terms beyond are below :math:`\\phi(10)`).

    Raises:
        ValueError: if ``num_intervals`` is too few for ``scale`` (a truncated sum), or above 10^7.
    """
    _check(lambda x: x, loc, scale)
    loc, scale = float(loc), float(scale)
    check_float(loc, "loc", minimum=-1e15, maximum=1e15, hint="float64 resolves |loc| <= 1e15")
    needed = 2 * math.ceil(min(5 * scale, 1e8)) + 2
    num_intervals = (
        needed if num_intervals is None else check_int(num_intervals, "num_intervals", minimum=1)
    )
    check_size(num_intervals, "num_intervals", maximum=10**7, workaround="use a smaller scale")
    if num_intervals < needed:
        raise ValueError(
            f"num_intervals={num_intervals} truncates the sum at scale={scale:g}; "
            f"use num_intervals >= {needed} (or leave num_intervals=None)"
        )
    centre = 2 * math.floor(loc / 2)
    n = torch.arange(
        centre - 2 * (num_intervals // 2),
        centre + 2 * (num_intervals // 2) + 1,
        2,
        dtype=torch.float64,
    )
    return float(
        (
            _standard_normal_pdf((n - loc) / scale) - _standard_normal_pdf((n + 1 - loc) / scale)
        ).sum()
        / scale
    )


def _standard_normal_pdf(z: torch.Tensor) -> torch.Tensor:
    return torch.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)
