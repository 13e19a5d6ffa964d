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
the score-function moments in chapter 8, *Control variates*.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
from collections.abc import Callable

import numpy as np
import torch
from numpy.polynomial.hermite_e import hermegauss
from scipy import integrate
from scipy.special import roots_hermitenorm, roots_legendre

from ._validation import MAX_NUM_NODES, check_choice, check_finite, check_positive, check_positive_int

__all__ = [
    "ESTIMATORS",
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
]

#: Estimator names understood by :func:`estimator_moments` and :func:`quadratic_variance`.
ESTIMATORS = (
    "score_function",
    "score_function_optimal_baseline",
    "pathwise",
    "measure_valued",
    "measure_valued_coupled",
)
#: Gaussian parameters that can be differentiated.
PARAMS = ("loc", "scale")

#: Default number of Gauss-Hermite nodes (exact for polynomials up to degree 2n - 1).
NUM_NODES = 600
_NUM_LEGENDRE = 600
_NUM_LEGENDRE_PANEL = 10  # nodes per interval between consecutive Hermite nodes
_RAYLEIGH_MAX = 12.0  # P(W > 12) = exp(-72): negligible


@functools.lru_cache(maxsize=8)
def _hermite(num_nodes: int):
    # numpy's hermegauss overflows beyond ~350 nodes; scipy computes the same rule stably.
    z, w = hermegauss(num_nodes) if num_nodes <= 150 else roots_hermitenorm(num_nodes)
    return torch.from_numpy(z), torch.from_numpy(w / math.sqrt(2 * math.pi))


@functools.lru_cache(maxsize=8)
def _legendre(num_nodes: int, lo: float, hi: float):
    t, w = roots_legendre(num_nodes)
    x = 0.5 * (hi - lo) * t + 0.5 * (hi + lo)
    return torch.from_numpy(x), torch.from_numpy(0.5 * (hi - lo) * w)


@functools.lru_cache(maxsize=8)
def _rayleigh(num_nodes: int):
    w, v = _legendre(num_nodes, 0.0, _RAYLEIGH_MAX)
    return w, v * w * torch.exp(-0.5 * w**2)


def _check(f, loc, scale):
    if not callable(f):
        raise TypeError(f"f must be a callable (torch tensor -> tensor), got {type(f).__name__}")
    loc = float(check_finite(float(loc.detach()) if isinstance(loc, torch.Tensor) else loc, "loc"))
    scale = float(check_positive(float(scale.detach()) if isinstance(scale, torch.Tensor) else scale, "scale"))
    return loc, scale


def _eval(f, x: torch.Tensor) -> torch.Tensor:
    fx = f(x)
    if not isinstance(fx, torch.Tensor):
        fx = torch.as_tensor(fx, dtype=x.dtype)
    if fx.shape != x.shape:
        try:
            fx = fx.expand(x.shape)
        except RuntimeError as err:
            raise ValueError(
                f"f must act elementwise: input shape {tuple(x.shape)}, output shape {tuple(fx.shape)}"
            ) from err
    check_finite(fx.detach(), "f(x)", hint="the cost f returned NaN or inf at a quadrature node; make f finite")
    return fx.to(torch.float64)


def _eval_grad(f, x: torch.Tensor) -> torch.Tensor:
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        fx = _eval(f, x)
        if not fx.requires_grad:
            if bool((fx != fx[:1]).any()):
                raise ValueError(
                    "f's output does not depend on x through autograd (a step function such as (x > 0).float(), "
                    "or a detached x), so the pathwise estimator is undefined for it; use the score-function "
                    "or measure-valued estimator for a cost that is not differentiable in x"
                )
            return torch.zeros_like(x)
        (g,) = torch.autograd.grad(fx.sum(), x, allow_unused=True)
    return torch.zeros_like(x) if g is None else g.detach()


def gaussian_expectation(f: Callable, loc: float, scale: float, *, num_nodes: int = NUM_NODES) -> float:
    r"""Expectation :math:`\mathbb{E}_{\mathcal{N}(x;\mu,\sigma^2)}[f(x)]` by Gauss-Hermite quadrature.

    .. math::

        \mathbb{E}[f(x)] = \int f(\mu + \sigma z)\, \phi(z)\, dz
        \approx \sum_{i=1}^{n} w_i f(\mu + \sigma z_i),

    with the probabilists' Hermite nodes :math:`z_i` and weights :math:`w_i` (normalised
    to sum to one). Exact for polynomials of degree below :math:`2n`.

    Args:
        f: torch callable acting elementwise on a 1-D float64 tensor.
        loc: mean :math:`\mu`.
        scale: standard deviation :math:`\sigma > 0`.
        num_nodes: number of quadrature nodes.

    Returns:
        The expectation as a float.

    Raises:
        ValueError: if ``scale`` is not positive or ``loc`` is not finite.
        TypeError: if ``f`` is not callable.

    Shapes:
        - input of ``f``: ``(num_nodes,)``; output: ``(num_nodes,)``.
    """
    loc, scale = _check(f, loc, scale)
    z, w = _hermite(_check_nodes(num_nodes))
    return float((w * _eval(f, loc + scale * z)).sum())


def exact_gradient(f: Callable, loc: float, scale: float, *, num_nodes: int = NUM_NODES) -> dict[str, float]:
    r"""Exact gradient of :math:`\mathbb{E}_{\mathcal{N}(x;\mu,\sigma^2)}[f(x)]` in :math:`\mu` and :math:`\sigma`.

    Uses the score-function identity inside the integral, so ``f`` need not be
    differentiable (Mohamed et al. 2020, Sec. 4):

    .. math::

        \partial_\mu \mathbb{E}[f] = \mathbb{E}\Big[f(\mu + \sigma Z)\,\frac{Z}{\sigma}\Big], \qquad
        \partial_\sigma \mathbb{E}[f] = \mathbb{E}\Big[f(\mu + \sigma Z)\,\frac{Z^2 - 1}{\sigma}\Big],

    each computed by Gauss-Hermite quadrature. Arguments and errors as :func:`gaussian_expectation`.

    Returns:
        ``{"loc": float, "scale": float}``.
    """
    loc, scale = _check(f, loc, scale)
    z, w = _hermite(_check_nodes(num_nodes))
    fx = _eval(f, loc + scale * z)
    return {
        "loc": float((w * fx * z).sum() / scale),
        "scale": float((w * fx * (z**2 - 1)).sum() / scale),
    }


# ----------------------------------------------------------------------------------------------
# moments by fixed-order (Gauss) quadrature
# ----------------------------------------------------------------------------------------------


def _moments_gauss(estimator, f, loc, scale, param, num_nodes):
    z, w = _hermite(num_nodes)
    x = loc + scale * z
    if estimator in ("score_function", "score_function_optimal_baseline"):
        m = gaussian_score_function_moments(f, loc, scale, param, num_nodes=num_nodes)
        return _score_function_mean_variance(estimator, m)
    if estimator == "pathwise":
        g = _eval_grad(f, x)
        est = g if param == "loc" else g * z
        mean = float((w * est).sum())
        return mean, float((w * est**2).sum()) - mean**2
    coupled = estimator == "measure_valued_coupled"
    if param == "loc":
        r, v = _rayleigh(_NUM_LEGENDRE)
        c = 1.0 / (scale * math.sqrt(2 * math.pi))
        fp, fm = _eval(f, loc + scale * r), _eval(f, loc - scale * r)
        ep, em = float((v * fp).sum()), float((v * fm).sum())
        mean = c * (ep - em)
        if coupled:
            second = c**2 * float((v * (fp - fm) ** 2).sum())
        else:
            second = c**2 * (float((v * fp**2).sum()) + float((v * fm**2).sum()) - 2 * ep * em)
        return mean, second - mean**2
    # scale: x+ = loc + scale * M (double-sided Maxwell), x- ~ N(loc, scale^2)
    c = 1.0 / scale
    fx = _eval(f, x)
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


def _score_function_mean_variance(estimator: str, m) -> tuple[float, float]:
    """Mean and single-sample variance of the score-function estimator, plain or with b*."""
    return m.grad, (m.optimal_variance if estimator == "score_function_optimal_baseline" else m.variance())


def _check_nodes(num_nodes) -> int:
    return check_positive_int(num_nodes, "num_nodes", maximum=MAX_NUM_NODES)


def _running_average(f, loc: float, scale: float, z: torch.Tensor) -> torch.Tensor:
    """``A(z_i) = (1 / z_i) * int_0^{z_i} f(loc + scale * y) dy`` at every (non-zero) node ``z_i``."""
    t, v = _legendre(_NUM_LEGENDRE_PANEL, 0.0, 1.0)
    out = torch.empty_like(z)
    for side in (z > 0, z < 0):
        nodes = z[side]
        order = torch.argsort(nodes.abs())
        ends = nodes[order]
        starts = torch.cat([ends.new_zeros(1), ends[:-1]])
        width = ends - starts  # signed
        points = starts[:, None] + width[:, None] * t[None, :]
        panel = width * (v[None, :] * _eval(f, (loc + scale * points).reshape(-1)).reshape(points.shape)).sum(1)
        integral = torch.empty_like(ends)
        integral[order] = torch.cumsum(panel, 0)
        out[side] = integral / nodes
    if (z == 0).any():
        out[z == 0] = _eval(f, torch.full((1,), loc, dtype=z.dtype))[0]
    return out


# ----------------------------------------------------------------------------------------------
# the same integrals with adaptive quadrature (scipy.integrate.quad)
# ----------------------------------------------------------------------------------------------


def _scalar(f, derivative=False):
    def g(x: float) -> float:
        t = torch.tensor([x], dtype=torch.float64)
        return float((_eval_grad(f, t) if derivative else _eval(f, t))[0])

    return g


def _quad(g, lo, hi):
    value, _ = integrate.quad(g, lo, hi, limit=400, epsabs=1e-13, epsrel=1e-11)
    return value


def _moments_quad(estimator, f, loc, scale, param):
    phi = lambda z: math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)  # noqa: E731
    lo, hi = -14.0, 14.0
    fs = _scalar(f)
    if estimator in ("score_function", "score_function_optimal_baseline"):
        s = (lambda z: z / scale) if param == "loc" else (lambda z: (z * z - 1) / scale)
        def expect(g):
            return _quad(lambda z: g(fs(loc + scale * z), s(z)) * phi(z), lo, hi)

        m = ScoreFunctionMoments(
            mean_f=expect(lambda f_, s_: f_), mean_f2=expect(lambda f_, s_: f_**2),
            grad=expect(lambda f_, s_: f_ * s_), mean_s2=expect(lambda f_, s_: s_**2),
            mean_f_s2=expect(lambda f_, s_: f_ * s_**2), mean_f2_s2=expect(lambda f_, s_: f_**2 * s_**2),
        )
        return _score_function_mean_variance(estimator, m)
    if estimator == "pathwise":
        d = _scalar(f, derivative=True)
        est = (lambda z: d(loc + scale * z)) if param == "loc" else (lambda z: d(loc + scale * z) * z)
        mean = _quad(lambda z: est(z) * phi(z), lo, hi)
        return mean, _quad(lambda z: est(z) ** 2 * phi(z), lo, hi) - mean**2
    coupled = estimator == "measure_valued_coupled"
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
            second = c**2 * (_quad(lambda r: fp(r) ** 2 * rho(r), 0.0, hi)
                             + _quad(lambda r: fm(r) ** 2 * rho(r), 0.0, hi) - 2 * ep * em)
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
        second = c**2 * (_quad(lambda m: fs(loc + scale * m) ** 2 * maxwell(m), lo, hi)
                         + _quad(lambda z: fs(loc + scale * z) ** 2 * phi(z), lo, hi) - 2 * ep * em)
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

    Args:
        estimator: one of :data:`ESTIMATORS`.
        f: torch callable acting elementwise on a 1-D float64 tensor (differentiable for
            ``"pathwise"``).
        loc: mean :math:`\mu`.
        scale: standard deviation :math:`\sigma > 0`.
        param: ``"loc"`` or ``"scale"``.
        method: ``"gauss"`` (fixed Gauss-Hermite / Gauss-Legendre rules, fast, default)
            or ``"quad"`` (adaptive ``scipy.integrate.quad``, slow).
        num_nodes: number of Gauss-Hermite nodes for ``method="gauss"``.

    Returns:
        ``(mean, variance)`` of a single-sample estimate, as floats.

    Raises:
        ValueError: if ``estimator``, ``param`` or ``method`` is unknown, or ``scale <= 0``.
    """
    check_choice(estimator, ESTIMATORS, "estimator")
    check_choice(param, PARAMS, "param")
    check_choice(method, ("gauss", "quad"), "method")
    loc, scale = _check(f, loc, scale)
    if estimator == "pathwise":  # f must be differentiable in x: checked on the nodes at once
        _eval_grad(f, loc + scale * _hermite(64)[0])
    if method == "quad":
        return _moments_quad(estimator, f, loc, scale, param)
    return _moments_gauss(estimator, f, loc, scale, param, _check_nodes(num_nodes))


# ----------------------------------------------------------------------------------------------
# exact score-function moments (with and without baselines)
# ----------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ScoreFunctionMoments:
    """Exact moments of :math:`f` and the score :math:`s = \\partial_\\theta \\log p(x;\\theta)` for one scalar parameter.

    From these six numbers follow the exact variance of the score-function
    estimator with any constant baseline, with the optimal one, with a moving
    average and with the leave-one-out baseline. Obtain them with
    :func:`gaussian_score_function_moments` or
    :func:`discrete_score_function_moments`.

    Mohamed et al. (2020), Sec. 7.4.

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
        """Single-sample variance with a stationary :class:`lecture9.baselines.MovingAverageBaseline` at fixed parameters.

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
        k = check_positive_int(group_size, "group_size", minimum=2)
        var_fs = self.mean_f2_s2 - self.grad**2
        cross = (self.mean_f2 * self.mean_s2 + self.grad**2 + (k - 2) * self.mean_s2 * self.mean_f**2) / (k * (k - 1))
        return var_fs / k + cross - 2 * self.mean_f * self.mean_f_s2 / k


def gaussian_scores(x: torch.Tensor, loc, scale) -> dict[str, torch.Tensor]:
    """Scores of :math:`\\mathcal N(\\mu, \\sigma^2)` at samples ``x``.

    .. math::

        \\partial_\\mu \\log p = \\frac{x - \\mu}{\\sigma^2}, \\qquad
        \\partial_\\sigma \\log p = \\frac{(x - \\mu)^2 - \\sigma^2}{\\sigma^3}.

    Args:
        x: samples.
        loc: :math:`\\mu` (number or tensor broadcastable to one sample).
        scale: :math:`\\sigma > 0`.

    Returns:
        ``{"loc": tensor, "scale": tensor}``, each of ``x``'s shape.

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
    return {"loc": d / scale**2, "scale": (d * d - scale**2) / scale**3}


def gaussian_score_function_moments(
    f: Callable, loc: float, scale: float, param: str, *, num_nodes: int = NUM_NODES
) -> ScoreFunctionMoments:
    """Exact :class:`ScoreFunctionMoments` for :math:`x \\sim \\mathcal N(\\mu, \\sigma^2)`, by Gauss-Hermite quadrature.

    The one computation of the score-function moments of a Gaussian: :func:`estimator_moments`
    (``"score_function"``, ``"score_function_optimal_baseline"``) and
    :func:`exact_optimal_baseline` read theirs from it. Arguments as :func:`gaussian_expectation`, and
    ``param`` (``"loc"`` or ``"scale"``).

    Returns:
        The moments (floats).

    Raises:
        ValueError: as :func:`gaussian_expectation`, or for an unknown ``param``.
    """
    check_choice(param, PARAMS, "param")
    loc, scale = _check(f, loc, scale)
    z, w = _hermite(_check_nodes(num_nodes))
    fx = _eval(f, loc + scale * z)
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
    for k, v in tensors.items():
        check_finite(v, f"params[{k!r}]")
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

    return _score_moments(expect, check_finite(fx, "f(support)"), s)


def exact_optimal_baseline(f: Callable, loc: float, scale: float) -> dict[str, float]:
    """The exact optimal constant baseline per parameter of :math:`\\mathcal N(\\mu, \\sigma^2)`, by quadrature.

    .. math::

        b^*_\\theta = \\frac{\\mathbb{E}[f(x)\\, s_\\theta(x)^2]}{\\mathbb{E}[s_\\theta(x)^2]}

    read from :func:`gaussian_score_function_moments` (same arguments). Mohamed et al. (2020), Sec. 7.4.

    Returns:
        ``{"loc": float, "scale": float}``, usable as ``baseline=`` in
        :func:`lecture9.estimators.score_function_grad`.
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


    Args:
        estimator: one of :data:`ESTIMATORS`.
        k: the shift of the cost; a number or an array of numbers.
        loc: mean :math:`\mu`.
        scale: standard deviation :math:`\sigma > 0`.
        param: ``"loc"`` or ``"scale"``.

    Returns:
        The variance, a float (or a numpy array of ``k``'s shape).

    Raises:
        ValueError: if ``estimator`` or ``param`` is unknown or ``scale <= 0``.
    """
    check_choice(estimator, ESTIMATORS, "estimator")
    check_choice(param, PARAMS, "param")
    check_positive(float(scale), "scale")
    if not (np.isfinite(np.asarray(k, dtype=np.float64)).all() and math.isfinite(float(loc))):
        raise ValueError(f"k and loc must be finite, got k={k!r}, loc={loc!r}")
    d = float(loc) - np.asarray(k, dtype=np.float64)
    s2 = float(scale) ** 2
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
    value = table[(estimator, param)]()
    return float(value) if np.ndim(value) == 0 else value


# The exact truth for discrete distributions lives in lecture9.enumeration (documented there); re-exported
# here too, so that ``lecture9.reference.enumerated_gradient`` works.
from .enumeration import MAX_ENUMERATED_BITS, enumerated_gradient, relaxed_bernoulli_moments  # noqa: E402,F401
