r"""Exact truth for discrete distributions: expectations and gradients by enumerating the support.

Introduced in chapter 10, *Discrete latent variables*. A Bernoulli vector or a categorical
variable takes finitely many values, so an expectation and its gradient are finite sums,

.. math::

    \mathbb{E}[f] = \sum_{b} p(b; \theta)\, f(b), \qquad
    \nabla_\theta \mathbb{E}[f] = \sum_b \nabla_\theta p(b; \theta)\, f(b),

which :func:`enumerated_gradient` computes (the second by autograd through the first). The
relaxed estimators of :mod:`lecture9.estimators.discrete` aim at another objective; for one Bernoulli
logit their exact moments are one-dimensional integrals over the logistic noise
(:func:`relaxed_bernoulli_moments`); for a categorical variable they become integrals of
products of one-dimensional Gumbel integrals (:func:`relaxed_categorical_moments`). These are
the references that the tests and the plots of chapter 10 compare the Monte Carlo estimators
against; the exact score-function moments of
a finite discrete distribution are :func:`lecture9.reference.discrete_score_function_moments`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ._validation import check_dtype, check_finite, check_float, check_int, check_temperature
from .families import as_params, build, evaluate_cost
from .quadrature import integrand_slopes, legendre_rule

__all__ = [
    "MAX_ENUMERATED_BITS",
    "MAX_ENUMERATED_VALUES",
    "binary_codes",
    "enumerated_gradient",
    "relaxed_bernoulli_moments",
    "relaxed_categorical_moments",
]


#: Largest number of Bernoulli bits :func:`enumerated_gradient` enumerates (2**16 configurations).
MAX_ENUMERATED_BITS = 16
#: Largest number of joint values :func:`enumerated_gradient` sums over (as many as 16 bits).
MAX_ENUMERATED_VALUES = 2**MAX_ENUMERATED_BITS
#: Where each relaxed estimator evaluates ``f'``: the relaxed sample, or the hard one it rounds to.
_RELAXED_POINTS = {
    "gumbel_softmax": lambda z, s: z,
    "straight_through": lambda z, s: (s > 0).to(z.dtype),
}
_NUM_RELAXED_NODES = 2000  # Gauss-Legendre nodes per side of the jump
_RELAXED_RANGE = 40.0  # sigma'(40) = 4e-18: negligible


def binary_codes(bits: int, dtype=torch.float64) -> torch.Tensor:
    """Every code of ``bits`` bits, most significant first: shape ``(2**bits, bits)``."""
    bits = check_int(bits, "bits", minimum=0, maximum=24)
    check_dtype(dtype, "dtype", floating=False)
    codes = torch.arange(2**bits)
    return ((codes[:, None] >> torch.arange(bits - 1, -1, -1)) & 1).to(dtype)


def _values_of(base) -> torch.Tensor:
    """The values of one coordinate of ``base``: ``(V, *event_shape)`` (0/1, indices or one-hot rows)."""
    D = torch.distributions
    if type(base) is D.Bernoulli:
        return torch.tensor([0.0, 1.0], dtype=base.logits.dtype)
    k = base.logits.shape[-1]
    if type(base) is D.Categorical:
        return torch.arange(k)
    return torch.eye(k, dtype=base.logits.dtype)


def _independent_support(dist) -> torch.Tensor:
    """Every joint value of ``Independent(base, 1)``: ``(V**d, *batch_shape, d, *base_event)``."""
    D = torch.distributions
    base = dist.base_dist
    if (
        type(base) not in (D.Bernoulli, D.Categorical, D.OneHotCategorical)
        or dist.reinterpreted_batch_ndims != 1
    ):
        raise TypeError(
            f"enumerated_gradient enumerates Independent(family, 1) of Bernoulli, Categorical or OneHotCategorical, "
            f"not Independent({type(base).__name__}, {dist.reinterpreted_batch_ndims})"
        )
    values = _values_of(base)
    d = base.batch_shape[-1]
    if len(values) ** d > MAX_ENUMERATED_VALUES:
        raise ValueError(
            f"enumerated_gradient sums over at most {MAX_ENUMERATED_VALUES} joint values ({MAX_ENUMERATED_BITS} bits), "
            f"got {len(values)}**{d}; use a Monte Carlo estimator with many samples"
        )
    if type(base) is D.Bernoulli:
        index = binary_codes(d, torch.long)
    else:
        index = torch.cartesian_prod(*[torch.arange(len(values))] * d).reshape(-1, d)
    table = values[index]  # (V**d, d, *base_event)
    event = tuple(table.shape[1:])
    batch = tuple(dist.batch_shape)
    return table.reshape((len(table),) + (1,) * len(batch) + event).expand(
        (len(table),) + batch + event
    )


def _enumerated_support(dist: torch.distributions.Distribution) -> torch.Tensor:
    """Every value of a finite discrete distribution, shape ``(S, *batch_shape, *event_shape)``."""
    D = torch.distributions
    if isinstance(dist, D.Independent):
        return _independent_support(dist)
    if type(dist) not in (D.Bernoulli, D.Categorical, D.OneHotCategorical):
        raise TypeError(
            f"enumerated_gradient supports Bernoulli, Categorical and OneHotCategorical (and Independent over one "
            f"of them), got {type(dist).__name__}"
        )
    return dist.enumerate_support(expand=True)


def enumerated_gradient(
    f: Callable, distribution, params
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    r"""Exact :math:`\mathbb{E}_{p(b;\theta)}[f(b)]` and its gradient, by enumerating the support.

    .. math::

        \mathbb{E}[f] = \sum_{b} p(b; \theta)\, f(b), \qquad
        \nabla_\theta \mathbb{E}[f] = \sum_b \nabla_\theta p(b; \theta)\, f(b),

    the second by autograd through the first. The ground truth for the discrete
    estimators of chapter 10 (:mod:`lecture9.estimators.discrete`, and the score function on
    discrete families). For ``Independent(family, 1)`` over :math:`d` coordinates of :math:`V`
    values the sum has :math:`V^d \le 2^{16}` terms (:data:`MAX_ENUMERATED_VALUES`).

    Raises:
        TypeError: for another family or a malformed ``params``.
        ValueError: for more than 2**16 joint values, or if ``f`` returns the wrong shape.

    Shapes:
        ``expectation``: ``batch_shape``; ``gradient[name]``: ``params[name].shape``.
    """
    if not callable(f):
        raise TypeError(f"f must be a callable mapping values to costs, got {type(f).__name__}")
    checked = {n: v.to(torch.float64) for n, v in as_params(params).items()}
    _enumerated_support(build(distribution, checked))  # check the family before building a graph
    with torch.enable_grad():
        leaves = {n: v.clone().requires_grad_(True) for n, v in checked.items()}
        dist = build(distribution, leaves)
        support = _enumerated_support(dist)
        fx = evaluate_cost(
            f, support, support.shape[:1] + dist.batch_shape, differentiable=False
        ).to(torch.float64)
        expectation = (dist.log_prob(support).exp() * fx).sum(0)
        names = list(leaves)
        grads = torch.autograd.grad(
            expectation.sum(), [leaves[n] for n in names], allow_unused=True
        )
    gradient = {
        n: (torch.zeros_like(checked[n]) if g is None else g.detach()) for n, g in zip(names, grads)
    }
    return expectation.detach(), gradient


def relaxed_bernoulli_moments(
    f: Callable, logits: float, temperature: float, estimator: str
) -> tuple[float, float]:
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

    Raises:
        ValueError: for an unknown ``estimator`` or ``temperature <= 0``.
    """
    if not isinstance(estimator, str) or estimator not in _RELAXED_POINTS:
        raise ValueError(f"estimator must be one of {tuple(_RELAXED_POINTS)}, got {estimator!r}")
    if not callable(f):
        raise TypeError(f"f must be a callable (torch tensor -> tensor), got {type(f).__name__}")
    theta = float(check_finite(float(logits), "logits"))
    tau = check_temperature(temperature)
    nodes, weights = legendre_rule(_NUM_RELAXED_NODES, 0.0, _RELAXED_RANGE)
    s, w = (
        torch.cat([-nodes, nodes]),
        torch.cat([weights, weights]),
    )  # both sides of the jump at s = 0
    z = torch.sigmoid(s)
    at = _RELAXED_POINTS[estimator](z, s)
    l = tau * s - theta
    density = torch.exp(-l.abs()) / (1 + torch.exp(-l.abs())) ** 2  # logistic density of the noise
    slope = integrand_slopes(f, at)
    # one estimate is slope * z (1 - z) / tau; with dl = tau ds its weight is density * tau
    mean = float((w * density * slope * z * (1 - z)).sum())
    second = float((w * density * (slope * z * (1 - z)) ** 2 / tau).sum())
    return mean, second - mean**2


#: Nodes of the quadrature over the Laplace variable mu, and over each Gumbel variable per mu.
_NUM_MU_NODES = 120
_NUM_GUMBEL_NODES = 400


def _gumbel_kernels(logits: torch.Tensor, tau: float, max_power: int):
    r"""Quadrature of the categorical relaxed moments: ``(w_mu, w_x, h, tail)``."""
    lse = float(torch.logsumexp(logits, 0))
    mu, w_mu = legendre_rule(_NUM_MU_NODES, lse - 5.0 - 6.0 * tau, lse + 40.0 + 36.0 * tau)
    a = torch.maximum(mu - 30.0 * tau, torch.full_like(mu, float(logits.min()) - 6.0))
    b = torch.maximum(
        torch.minimum(mu + 4.5 * tau, torch.full_like(mu, float(logits.max()) + 40.0)), a + 1e-9
    )
    grid = torch.linspace(0.0, 1.0, _NUM_GUMBEL_NODES, dtype=torch.float64)
    x = a[:, None] + (b - a)[:, None] * grid  # (M, N)
    w_x = ((b - a) / (_NUM_GUMBEL_NODES - 1))[:, None] * torch.ones_like(grid)
    w_x[:, [0, -1]] *= 0.5
    g = x[..., None] - logits  # (M, N, K)
    r = ((x - mu[:, None]) / tau)[..., None]
    powers = torch.arange(max_power + 1, dtype=torch.float64)
    h = torch.exp(
        (-g - torch.exp(-g) - torch.exp(r))[..., None] + r[..., None] * powers
    )  # (M, N, K, c)
    tail = torch.exp(-torch.exp(-(a[:, None] - logits)))  # Gumbel CDF at the grid's left end
    return w_mu, w_x, h, tail


def _monomial_moments(counts: torch.Tensor, w_mu, big_m, tau: float) -> torch.Tensor:
    r""":math:`\mathbb{E}[\prod_j z_j^{c_j}]` of the Concrete sample for each row of ``counts``
    (``n = \sum c \ge 1``)."""
    unique, inverse = torch.unique(counts, dim=0, return_inverse=True)
    k = counts.shape[1]
    factors = big_m[:, torch.arange(k), unique].prod(-1)  # (M, P)
    n = unique.sum(1).to(torch.float64)
    values = (w_mu @ factors) / (tau * torch.exp(torch.lgamma(n)))
    return values[inverse]


def _gumbel_softmax_moments(logits, values, target, tau):
    """Mean and second moment of the Gumbel-softmax estimate of the gradient of ``E[(v . z - t)^2]``."""
    k = len(logits)
    w_mu, w_x, h, tail = _gumbel_kernels(logits, tau, 6)
    big_m = torch.einsum("mn,mnjc->mjc", w_x, h)
    big_m[:, :, 0] += tail
    eye = torch.eye(k, dtype=torch.int64)
    i, j, l = torch.cartesian_prod(*[torch.arange(k)] * 3).T
    coef = (values[j] - target) * (values[i] - values[l])  # g_i = (2 / tau) sum_jl coef z_i z_j z_l
    m3 = _monomial_moments(eye[i] + eye[j] + eye[l], w_mu, big_m, tau)
    mean = torch.zeros(k, dtype=torch.float64).index_add_(0, i, coef * m3) * 2 / tau
    i, j, l, j2, l2 = torch.cartesian_prod(*[torch.arange(k)] * 5).T
    coef = (
        (values[j] - target)
        * (values[i] - values[l])
        * (values[j2] - target)
        * (values[i] - values[l2])
    )
    m6 = _monomial_moments(2 * eye[i] + eye[j] + eye[l] + eye[j2] + eye[l2], w_mu, big_m, tau)
    second = torch.zeros(k, dtype=torch.float64).index_add_(0, i, coef * m6) * 4 / tau**2
    return mean, second


def _straight_through_moments(logits, values, target, tau):
    """Mean and second moment of the straight-through Gumbel-softmax estimate, ``f`` as above."""
    w_mu, w_x, h, tail = _gumbel_kernels(logits, tau, 2)
    # the factor of a category that is not the arg max: integrated up to the arg max's value x_n
    steps = 0.5 * (h[:, 1:] + h[:, :-1]) * w_x[:, 1, None, None, None]
    cumulative = torch.cat([torch.zeros_like(h[:, :1]), steps.cumsum(1)], 1)
    cumulative[..., 0] += tail[:, None, :]
    w = (
        values[:, None] - values[None, :]
    )  # w[i, l] = v_i - v_l; g_i = (2/tau) (v_k - t) z_i sum_l w_il z_l
    moments = {}
    for name, q in (
        ("other", cumulative),
        ("max", h),
    ):  # normalised moments m(1), m(2) and log of the mass
        q0 = q[..., 0].clamp_min(1e-300)
        moments[name] = (q[..., 1] / q0, q[..., 2] / q0, torch.log(q0))
    m1, m2, log_q0 = moments["other"]
    lin, spread = (
        m1 @ w.T,
        (m2 - m1**2) @ (w**2).T,
    )  # E[sum_l w_il y_l], Var[...] for independent y_l
    mean, second = torch.zeros_like(values), torch.zeros_like(values)
    for k in range(len(logits)):  # the category of the hard sample (a loop over categories)
        h1, h2, log_h0 = (m[..., k] for m in moments["max"])
        lin_k = lin + (h1 - m1[..., k])[..., None] * w[:, k]
        spread_k = (
            spread + ((h2 - h1**2) - (m2[..., k] - m1[..., k] ** 2))[..., None] * w[:, k] ** 2
        )
        first, squared = m1 * lin_k, m2 * (lin_k**2 + spread_k)
        first[..., k], squared[..., k] = (
            h1 * lin_k[..., k],
            h2 * (lin_k[..., k] ** 2 + spread_k[..., k]),
        )
        weight = w_mu[:, None] * w_x * torch.exp(log_q0.sum(-1) - log_q0[..., k] + log_h0)
        mean += 2 / tau**2 * (values[k] - target) * torch.einsum("mn,mni->i", weight, first)
        second += (
            4
            / (6 * tau**3)
            * (values[k] - target) ** 2
            * torch.einsum("mn,mni->i", weight, squared)
        )
    return mean, second


#: The moments of each relaxed estimator of a categorical variable.
_CATEGORICAL_MOMENTS = {
    "gumbel_softmax": _gumbel_softmax_moments,
    "straight_through": _straight_through_moments,
}


def relaxed_categorical_moments(logits, values, target: float, temperature: float, estimator: str):
    r"""Exact mean and variance of one relaxed gradient estimate for one categorical variable.

    The cost is :math:`f(z) = (v \cdot z - t)^2` of the one-hot (or relaxed) sample
    :math:`z`, whose :math:`K = 2`, :math:`v = (0, 1)` case is the binary toy cost
    :math:`(b - t)^2`. The Concrete sample is :math:`z = \operatorname{softmax}((\theta + G)/\tau)`
    with i.i.d. Gumbel :math:`G`, the hard one its arg max; the estimates of
    :math:`\nabla_\theta` are :math:`J_z^\top \nabla f(z)` (``"gumbel_softmax"``) and
    :math:`J_z^\top \nabla f(b)` (``"straight_through"``), polynomials in :math:`z` (times the
    arg max's indicator). Each moment :math:`\mathbb{E}[\prod_j z_j^{c_j}]` becomes, with
    :math:`S^{-n} = \int_0^\infty s^{n-1} e^{-sS} ds/(n-1)!`, an integral over :math:`s` of
    a product of one-dimensional Gumbel integrals (and, for the arg max, of their cumulative
    versions), computed by quadrature (relative error about 1e-8 for ``"gumbel_softmax"``, 1e-3
    for ``"straight_through"``, whose arg max needs cumulative integrals).

    Raises:
        TypeError: if ``logits`` or ``values`` is not a tensor.
        ValueError: for shapes other than ``(K,)`` with ``2 <= K <= 8``, non-finite entries,
            an unknown ``estimator`` or ``temperature <= 0``.
    """
    if estimator not in _CATEGORICAL_MOMENTS:
        raise ValueError(
            f"estimator must be 'gumbel_softmax' or 'straight_through', got {estimator!r}"
        )
    for name, tensor in (("logits", logits), ("values", values)):
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(
                f"{name} must be a torch.Tensor of shape (K,), got {type(tensor).__name__}"
            )
        if tensor.dim() != 1 or not 2 <= len(tensor) <= 8 or len(tensor) != len(logits):
            raise ValueError(
                f"{name} must have shape (K,) with 2 <= K <= 8 (the same K), got {tuple(tensor.shape)}"
            )
        check_finite(tensor, name)
    target = check_float(target, "target", minimum=-1e6, maximum=1e6)
    tau = check_temperature(temperature)
    target = float(check_finite(float(target), "target"))
    logits, values = logits.detach().to(torch.float64), values.detach().to(torch.float64)
    mean, second = _CATEGORICAL_MOMENTS[estimator](logits, values, target, tau)
    return mean, (second - mean**2).clamp_min(0.0)
