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
Introduced in chapter 7, *Comparing the estimators*.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
import torch
from numpy.polynomial.hermite_e import hermegauss
from scipy import integrate
from scipy.special import roots_hermitenorm, roots_legendre

from ._validation import check_finite, check_positive

__all__ = [
    "ESTIMATORS",
    "PARAMS",
    "gaussian_expectation",
    "exact_gradient",
    "estimator_moments",
    "quadratic_variance",
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
    return fx.to(torch.float64)


def _eval_grad(f, x: torch.Tensor) -> torch.Tensor:
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        fx = _eval(f, x)
        if not fx.requires_grad:
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
    Introduced in chapter 3, *Gradients of expectations*.

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
    z, w = _hermite(int(num_nodes))
    return float((w * _eval(f, loc + scale * z)).sum())


def exact_gradient(f: Callable, loc: float, scale: float, *, num_nodes: int = NUM_NODES) -> dict[str, float]:
    r"""Exact gradient of :math:`\mathbb{E}_{\mathcal{N}(x;\mu,\sigma^2)}[f(x)]` in :math:`\mu` and :math:`\sigma`.

    Uses the score-function identity inside the integral, so ``f`` need not be
    differentiable (Mohamed et al. 2020, Sec. 4):

    .. math::

        \partial_\mu \mathbb{E}[f] = \mathbb{E}\Big[f(\mu + \sigma Z)\,\frac{Z}{\sigma}\Big], \qquad
        \partial_\sigma \mathbb{E}[f] = \mathbb{E}\Big[f(\mu + \sigma Z)\,\frac{Z^2 - 1}{\sigma}\Big],

    each computed by Gauss-Hermite quadrature.
    Introduced in chapter 3, *Gradients of expectations*.

    Args:
        f: torch callable acting elementwise on a 1-D float64 tensor.
        loc: mean :math:`\mu`.
        scale: standard deviation :math:`\sigma > 0`.
        num_nodes: number of quadrature nodes.

    Returns:
        ``{"loc": float, "scale": float}``.

    Raises:
        ValueError: if ``scale`` is not positive or ``loc`` is not finite.
    """
    loc, scale = _check(f, loc, scale)
    z, w = _hermite(int(num_nodes))
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
        fx = _eval(f, x)
        s = z / scale if param == "loc" else (z**2 - 1) / scale
        mean = float((w * fx * s).sum())
        second = float((w * fx**2 * s**2).sum())
        if estimator == "score_function_optimal_baseline":
            es2 = float((w * s**2).sum())
            efs2 = float((w * fx * s**2).sum())
            second = second - efs2**2 / es2
        return mean, second - mean**2
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
        mean = _quad(lambda z: fs(loc + scale * z) * s(z) * phi(z), lo, hi)
        second = _quad(lambda z: fs(loc + scale * z) ** 2 * s(z) ** 2 * phi(z), lo, hi)
        if estimator == "score_function_optimal_baseline":
            es2 = _quad(lambda z: s(z) ** 2 * phi(z), lo, hi)
            efs2 = _quad(lambda z: fs(loc + scale * z) * s(z) ** 2 * phi(z), lo, hi)
            second -= efs2**2 / es2
        return mean, second - mean**2
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
    Introduced in chapter 7, *Comparing the estimators*.

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
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    if param not in PARAMS:
        raise ValueError(f"param must be 'loc' or 'scale', got {param!r}")
    if method not in ("gauss", "quad"):
        raise ValueError(f"method must be 'gauss' or 'quad', got {method!r}")
    loc, scale = _check(f, loc, scale)
    if method == "quad":
        return _moments_quad(estimator, f, loc, scale, param)
    return _moments_gauss(estimator, f, loc, scale, param, int(num_nodes))


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

    Introduced in chapter 7, *Comparing the estimators*.

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
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    if param not in PARAMS:
        raise ValueError(f"param must be 'loc' or 'scale', got {param!r}")
    check_positive(float(scale), "scale")
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


# ----------------------------------------------------------------------------------------------
# discrete distributions: exact gradients by enumeration (chapter 10; section owned by discrete.py's author)
# ----------------------------------------------------------------------------------------------

#: Largest number of Bernoulli bits :func:`enumerated_gradient` enumerates (2**16 configurations).
MAX_ENUMERATED_BITS = 16
_NUM_RELAXED_NODES = 2000  # Gauss-Legendre nodes per side of the jump
_RELAXED_RANGE = 40.0  # sigma'(40) = 4e-18: negligible

__all__ += ["MAX_ENUMERATED_BITS", "enumerated_gradient", "relaxed_bernoulli_moments"]


def _enumerated_support(dist: torch.distributions.Distribution) -> torch.Tensor:
    """Every value of a finite discrete distribution, shape ``(S, *batch_shape, *event_shape)``."""
    D = torch.distributions
    if isinstance(dist, D.Independent):
        base = dist.base_dist
        if type(base) is not D.Bernoulli or dist.reinterpreted_batch_ndims != 1:
            raise TypeError(
                f"enumerated_gradient enumerates Independent(Bernoulli, 1), not Independent({type(base).__name__}, "
                f"{dist.reinterpreted_batch_ndims}); use Bernoulli, Independent(Bernoulli, 1), Categorical or "
                f"OneHotCategorical"
            )
        bits = dist.event_shape[-1]
        if bits > MAX_ENUMERATED_BITS:
            raise ValueError(
                f"enumerated_gradient enumerates at most {MAX_ENUMERATED_BITS} bits (2**{MAX_ENUMERATED_BITS} "
                f"configurations), got an event of {bits} bits; use a Monte Carlo estimator with many samples"
            )
        codes = torch.arange(2**bits)
        table = ((codes[:, None] >> torch.arange(bits - 1, -1, -1)) & 1).to(base.logits.dtype)  # (2^d, d)
        shape = (2**bits,) + tuple(dist.batch_shape) + (bits,)
        return table.reshape((2**bits,) + (1,) * len(dist.batch_shape) + (bits,)).expand(shape)
    if type(dist) not in (D.Bernoulli, D.Categorical, D.OneHotCategorical):
        raise TypeError(
            f"enumerated_gradient supports Bernoulli, Independent(Bernoulli, 1), Categorical and OneHotCategorical, "
            f"got {type(dist).__name__}"
        )
    return dist.enumerate_support(expand=True)


def enumerated_gradient(f: Callable, distribution, params) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    r"""Exact :math:`\mathbb{E}_{p(b;\theta)}[f(b)]` and its gradient, by enumerating the support.

    .. math::

        \mathbb{E}[f] = \sum_{b} p(b; \theta)\, f(b), \qquad
        \nabla_\theta \mathbb{E}[f] = \sum_b \nabla_\theta p(b; \theta)\, f(b),

    the second by autograd through the first. The ground truth for the discrete
    estimators of chapter 10 (:mod:`lecture9.discrete`, and the score function on
    discrete families). For ``Independent(Bernoulli, 1)`` over :math:`d` bits the sum has
    :math:`2^d` terms, so :math:`d \le 16` (:data:`MAX_ENUMERATED_BITS`).
    Introduced in chapter 10, *Discrete latent variables*.

    Args:
        f: cost with the contract of :mod:`lecture9.estimators`: values
            ``(S, *batch_shape, *event_shape)`` -> costs ``(S, *batch_shape)``.
        distribution: ``Bernoulli``, ``Categorical``, ``OneHotCategorical``, or a factory
            returning one of them or ``Independent(Bernoulli(...), 1)``.
        params: dict of named parameter tensors (computed in float64).

    Returns:
        ``(expectation, gradient)``: the exact expectation per batch entry, shape
        ``batch_shape``, and ``{name: Tensor}`` with the exact gradient of the summed
        expectation for every parameter, of that parameter's shape.

    Raises:
        TypeError: for another family or a malformed ``params``.
        ValueError: for more than 16 bits, or if ``f`` returns the wrong shape.

    Shapes:
        ``expectation``: ``batch_shape``; ``gradient[name]``: ``params[name].shape``.
    """
    from .estimators import _as_params, _build, _cost

    if not callable(f):
        raise TypeError(f"f must be a callable mapping values to costs, got {type(f).__name__}")
    checked = {n: v.to(torch.float64) for n, v in _as_params(params).items()}
    _enumerated_support(_build(distribution, checked))  # check the family before building a graph
    with torch.enable_grad():
        leaves = {n: v.clone().requires_grad_(True) for n, v in checked.items()}
        dist = _build(distribution, leaves)
        support = _enumerated_support(dist)
        fx = _cost(f, support, support.shape[:1] + dist.batch_shape, differentiable=False).to(torch.float64)
        expectation = (dist.log_prob(support).exp() * fx).sum(0)
        names = list(leaves)
        grads = torch.autograd.grad(expectation.sum(), [leaves[n] for n in names], allow_unused=True)
    gradient = {n: (torch.zeros_like(checked[n]) if g is None else g.detach()) for n, g in zip(names, grads)}
    return expectation.detach(), gradient


def relaxed_bernoulli_moments(f: Callable, logits: float, temperature: float, estimator: str) -> tuple[float, float]:
    r"""Exact mean and variance of one sample of a relaxed gradient estimate for one Bernoulli logit.

    With logistic noise :math:`L = \log u - \log(1-u)`, the Concrete sample
    :math:`z = \sigma((\theta + L)/\tau)` and the hard sample :math:`b = 1[\theta + L > 0]`,
    the single-sample estimates of :math:`\partial_\theta` are

    - ``"gumbel_softmax"`` (the pathwise estimator of the relaxed objective
      :math:`\mathbb{E}[f(z)]`, Jang et al. 2017; Maddison et al. 2017):
      :math:`f'(z)\, z(1-z)/\tau`;
    - ``"straight_through"`` (Bengio et al. 2013): :math:`f'(b)\, z(1-z)/\tau`;

    and their moments are one-dimensional integrals over the logistic density
    :math:`\sigma(l)\sigma(-l)`. In the variable :math:`s = (\theta + l)/\tau` the factor
    :math:`z(1-z)/\tau\,dl = \sigma'(s)\,ds` has unit width whatever the temperature, so a
    Gauss-Legendre rule on :math:`[-40, 0]` and :math:`[0, 40]` (split at the jump of ``b``)
    resolves every :math:`\tau`; ``f'`` comes from autograd, vectorised.
    Introduced in chapter 10, *Discrete latent variables*.

    Args:
        f: differentiable torch callable acting elementwise on a 1-D float64 tensor.
        logits: the Bernoulli logit :math:`\theta`.
        temperature: :math:`\tau > 0`.
        estimator: ``"gumbel_softmax"`` or ``"straight_through"``.

    Returns:
        ``(mean, variance)`` of a single-sample estimate, as floats.

    Raises:
        ValueError: for an unknown ``estimator`` or ``temperature <= 0``.
    """
    if estimator not in ("gumbel_softmax", "straight_through"):
        raise ValueError(f"estimator must be 'gumbel_softmax' or 'straight_through', got {estimator!r}")
    if not callable(f):
        raise TypeError(f"f must be a callable (torch tensor -> tensor), got {type(f).__name__}")
    theta = float(check_finite(float(logits), "logits"))
    tau = float(check_positive(float(temperature), "temperature"))
    nodes, weights = _legendre(_NUM_RELAXED_NODES, 0.0, _RELAXED_RANGE)
    s, w = torch.cat([-nodes, nodes]), torch.cat([weights, weights])  # both sides of the jump at s = 0
    z = torch.sigmoid(s)
    at = z if estimator == "gumbel_softmax" else (s > 0).to(z.dtype)
    l = tau * s - theta
    density = torch.exp(-l.abs()) / (1 + torch.exp(-l.abs())) ** 2  # logistic density of the noise
    slope = _eval_grad(f, at)
    # one estimate is slope * z (1 - z) / tau; with dl = tau ds its weight is density * tau
    mean = float((w * density * slope * z * (1 - z)).sum())
    second = float((w * density * (slope * z * (1 - z)) ** 2 / tau).sum())
    return mean, second - mean**2
