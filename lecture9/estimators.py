r"""Monte Carlo gradient estimators: score function, pathwise and measure-valued.

Introduced in chapters 3-7 (*Gradients of expectations* to *Comparing the
estimators*), following Mohamed et al. (2020), *Monte Carlo Gradient Estimation
in Machine Learning*, Secs. 4-6. Every estimator targets the sensitivity

.. math::

    \eta = \nabla_\theta \mathbb{E}_{p(x; \theta)}[f(x)]
         = \nabla_\theta \int p(x; \theta) f(x) \, dx

and every estimator in this module keeps to **one contract** (in the spirit of
DeepMind's ``mc_gradients`` ``gradient_estimators.py``).

**Inputs.**

- ``f``: the cost, a callable mapping a tensor of samples of shape
  ``(num_samples, *batch_shape, *event_shape)`` to one cost per sample and batch
  entry, shape ``(num_samples, *batch_shape)``. Batch entries are independent
  problems: the cost of batch entry ``b`` may only depend on the sample of entry
  ``b`` (reduce over ``event_shape`` inside ``f``). The score-function and
  measure-valued estimators treat ``f`` as a black box (no gradient flows through
  it); the pathwise estimator differentiates it.
- ``distribution``: a :class:`torch.distributions.Distribution` subclass (e.g.
  ``torch.distributions.Normal``) or any factory callable ``**params ->
  Distribution`` (e.g. a ``lambda loc, scale: TransformedDistribution(...)``).
- ``params``: the distributional parameters :math:`\theta` as a dict of named
  tensors, e.g. ``{"loc": torch.tensor(1.0), "scale": torch.tensor(1.0)}``,
  passed to ``distribution(**params)``. Parameters may be batched, e.g. shape
  ``()``, ``(3,)`` or ``(2, 3)``, and may broadcast against each other like in
  ``torch.distributions``. Their ``requires_grad`` flag is ignored: the
  estimators detach them and return gradients as plain tensors.
- ``num_samples``: the number :math:`N \geq 1` of independent samples.
- ``generator``: a :class:`torch.Generator` or ``None`` (PyTorch's default one).
  All randomness is drawn from it, so the same seed gives the same tensors;
  the module never touches the global random state.

**Outputs.** A dict ``{name: Tensor}`` with one entry per parameter, of shape
``(num_samples, *param.shape)``: the per-sample (single-sample) gradient
estimates, i.e. the per-sample Jacobians of the estimator, returned so that one
can monitor variance. ``grads[name].mean(0)`` is the Monte Carlo estimate of
:math:`\nabla_\theta \mathbb{E}[\sum_b f_b(x)]` with respect to that parameter
and ``grads[name].var(0)`` is the variance of a single-sample estimate. For
unshared (unbroadcast) parameters, entry ``b`` is the gradient of
:math:`\mathbb{E}[f_b(x_b)]`; a parameter that is broadcast over batch entries
collects the sum of their gradients.

**Estimators.**

- :func:`score_function_grad`: :math:`f(x) \nabla_\theta \log p(x; \theta)`, with
  an optional baseline (Sec. 4). Any family with a differentiable ``log_prob``,
  discrete ones included.
- :func:`pathwise_grad`: :math:`\nabla_\theta f(g(\epsilon; \theta))` through an
  explicit, differentiable sampling path (Sec. 5). Reparameterizable families
  only; ``f`` must be differentiable.
- :func:`measure_valued_grad`: :math:`c_\theta (f(x^+) - f(x^-))` from a weak
  derivative :math:`\nabla_\theta p = c_\theta (p^+ - p^-)` (Sec. 6), with or
  without coupling.
- :func:`score_function_surrogate`: a surrogate loss whose gradient is the
  score-function estimate, for training loops.
- :func:`sample`: draws from a distribution with an explicit ``generator``
  (``torch.distributions`` sampling takes none), differentiably for
  reparameterizable families.

Example:

.. code-block:: python

    import torch
    from lecture9 import estimators

    generator = torch.Generator().manual_seed(0)
    params = {"loc": torch.tensor(1.0), "scale": torch.tensor(1.0)}
    f = lambda x: (x - 3.0) ** 2
    grads = estimators.pathwise_grad(f, torch.distributions.Normal, params, 1000,
                                     generator=generator)
    grads["loc"].mean(0), grads["loc"].var(0)   # estimate, single-sample variance
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping

import torch
from torch import distributions as D

from ._validation import check_generator, check_num_samples, check_shape
from .sampling import normal_noise, uniform_noise
from .sampling import draw as _draw

__all__ = [
    "MEASURE_VALUED_SUPPORTED",
    "sample",
    "is_reparameterizable",
    "score_function_grad",
    "pathwise_grad",
    "measure_valued_grad",
    "score_function_surrogate",
]

#: The weak-derivative decompositions :func:`measure_valued_grad` knows, by family
#: and parameter name (Mohamed et al. 2020, Sec. 6).
MEASURE_VALUED_SUPPORTED = {
    "Normal": ("loc", "scale"),
    "Bernoulli": ("probs", "logits"),
    "Poisson": ("rate",),
    "Exponential": ("rate",),
}

# Parameters that must be strictly positive, whatever the family.
_POSITIVE_PARAMS = ("scale", "rate", "concentration", "concentration0", "concentration1", "df", "alpha", "temperature")


# ----------------------------------------------------------------------------------------------
# parameters and distributions
# ----------------------------------------------------------------------------------------------


def _family_name(distribution) -> str:
    return getattr(distribution, "__name__", type(distribution).__name__)


def _as_params(params) -> dict[str, torch.Tensor]:
    """Validate ``params`` and return a dict of detached floating-point tensors."""
    if not isinstance(params, Mapping) or len(params) == 0:
        raise TypeError(
            f"params must be a non-empty dict of named tensors, got {params!r}; "
            'pass e.g. {"loc": torch.tensor(1.0), "scale": torch.tensor(1.0)}'
        )
    out = {}
    for name, value in params.items():
        if not isinstance(name, str):
            raise TypeError(f"params keys must be parameter names (str), got {name!r}")
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            value = torch.tensor(float(value), dtype=torch.get_default_dtype())
        if not isinstance(value, torch.Tensor):
            raise TypeError(
                f"params[{name!r}] must be a tensor or a number, got {type(value).__name__}; "
                f"pass e.g. torch.tensor(1.0)"
            )
        value = value.detach()
        if not value.is_floating_point():
            value = value.to(torch.get_default_dtype())
        if not torch.isfinite(value).all():
            raise ValueError(f"params[{name!r}] must be finite everywhere, got {value}")
        if name in _POSITIVE_PARAMS and not (value > 0).all():
            raise ValueError(
                f"params[{name!r}] must be > 0 everywhere, got {value}; "
                f"a {name} is strictly positive (e.g. torch.tensor(1.0))"
            )
        if name == "probs" and not ((value >= 0) & (value <= 1)).all():
            raise ValueError(f"params['probs'] must lie in [0, 1], got {value}")
        out[name] = value
    return out


def _build(distribution, params: Mapping[str, torch.Tensor]) -> D.Distribution:
    """Call ``distribution(**params)`` and check that it returns a Distribution."""
    if not callable(distribution):
        raise TypeError(
            f"distribution must be a torch.distributions.Distribution subclass or a factory "
            f"**params -> Distribution, got {distribution!r}; pass e.g. torch.distributions.Normal"
        )
    name = _family_name(distribution)
    try:
        dist = distribution(**params)
    except TypeError as err:
        raise TypeError(
            f"could not build {name}(**params) from params with keys {sorted(params)}: {err}; "
            f"name the parameters as the distribution does (e.g. loc/scale, probs, rate)"
        ) from err
    except ValueError as err:
        raise ValueError(f"invalid params for {name}: {err}") from err
    if not isinstance(dist, D.Distribution):
        raise TypeError(
            f"distribution(**params) must return a torch.distributions.Distribution, "
            f"got {type(dist).__name__}"
        )
    return dist


def _event_dim(dist: D.Distribution, name: str) -> int:
    """Number of trailing event dimensions of parameter ``name`` (0 for scalar parameters)."""
    try:
        constraint = dist.arg_constraints.get(name)
        return int(getattr(constraint, "event_dim", 0)) if constraint is not None else 0
    except (NotImplementedError, AttributeError, TypeError):
        return 0


def _expanded(distribution, params: dict[str, torch.Tensor], dist: D.Distribution, num_samples: int):
    """One copy of every parameter per sample, so that one backward pass gives per-sample gradients.

    Sample ``i`` only depends on copy ``i``, hence the gradient of a sum over samples with
    respect to the copies is the tensor of per-sample gradients.
    """
    batch_ndim = len(dist.batch_shape)
    leaves = {}
    for name, value in params.items():
        param_batch_ndim = value.dim() - _event_dim(dist, name)
        pad = max(batch_ndim - param_batch_ndim, 0)
        shape = (num_samples,) + (1,) * pad + tuple(value.shape)
        leaves[name] = value.reshape((1,) * (pad + 1) + tuple(value.shape)).expand(shape).clone().requires_grad_(True)
    dist_n = _build(distribution, leaves)
    expected = torch.Size((num_samples,)) + dist.batch_shape
    if dist_n.batch_shape != expected:
        raise ValueError(
            f"{_family_name(distribution)} built from per-sample parameters has batch shape "
            f"{tuple(dist_n.batch_shape)}, expected {tuple(expected)}; the distribution's batch shape must "
            f"follow its parameters (for a TransformedDistribution, build the base distribution with the "
            f"parameters' shape, e.g. Uniform(torch.zeros_like(loc), torch.ones_like(loc)))"
        )
    return dist_n, leaves


def _per_sample(grad: torch.Tensor | None, leaf: torch.Tensor, param: torch.Tensor) -> torch.Tensor:
    if grad is None:
        grad = torch.zeros_like(leaf)
    return grad.detach().reshape((leaf.shape[0],) + tuple(param.shape))


def is_reparameterizable(distribution, params) -> bool:
    """Whether :func:`pathwise_grad` can differentiate through samples of this family.

    Introduced in chapter 5, *The pathwise estimator*.

    Args:
        distribution: a ``torch.distributions.Distribution`` subclass or factory.
        params: dict of named parameter tensors.

    Returns:
        ``True`` if the family has a differentiable sampling path (``has_rsample``).
    """
    return bool(_build(distribution, _as_params(params)).has_rsample)


def sample(distribution, params, num_samples: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Draw samples with an explicit random generator.

    ``torch.distributions`` samplers take no generator, so this function draws the base
    noise itself (``torch.randn``, ``torch.rand``, ``torch.poisson``, ...) and transforms
    it: :math:`x = \mu + \sigma \epsilon` for location-scale families, the inverse CDF
    :math:`x = F^{-1}(u)` (Laplace, Cauchy, Exponential), the transforms of a
    ``TransformedDistribution`` (Logistic, Gumbel, Weibull, Pareto, LogNormal, ...), Gamma
    draws for Gamma, Beta, Dirichlet and StudentT. For reparameterizable families the
    samples stay differentiable in ``params`` (like ``rsample``); for discrete ones they
    are constants (like ``sample``). Mohamed et al. (2020), Sec. 5 (sampling paths).
    Introduced in chapter 3, *Gradients of expectations*.

    Args:
        distribution: a ``torch.distributions.Distribution`` subclass or a factory
            ``**params -> Distribution``.
        params: dict of named parameter tensors, e.g. ``{"loc": ..., "scale": ...}``.
        num_samples: number of samples, an integer >= 1.
        generator: random generator; ``None`` uses PyTorch's default one.

    Returns:
        Samples of shape ``(num_samples, *batch_shape, *event_shape)``.

    Raises:
        ValueError: if ``num_samples < 1`` or a parameter is invalid (e.g. a non-positive scale).
        TypeError: if ``params`` is not a dict of tensors or the family has no sampler here.

    Shapes:
        - ``params[name]``: any shape that broadcasts to ``batch_shape`` (plus its event dims).
        - returned samples: ``(num_samples, *batch_shape, *event_shape)``.
    """
    num_samples = check_num_samples(num_samples)
    generator = check_generator(generator)
    dist = _build(distribution, _float_params(params))
    return _draw(dist, (num_samples,), generator)


def _float_params(params) -> dict[str, torch.Tensor]:
    """Like :func:`_as_params` but keeps the autograd graph (for differentiable sampling)."""
    checked = _as_params(params)
    return {name: (params[name] if isinstance(params[name], torch.Tensor) and params[name].is_floating_point()
                   else checked[name]) for name in checked}


# ----------------------------------------------------------------------------------------------
# costs and baselines
# ----------------------------------------------------------------------------------------------


def _cost(f, x: torch.Tensor, expected: torch.Size, *, differentiable: bool) -> torch.Tensor:
    if not callable(f):
        raise TypeError(f"f must be a callable mapping samples to costs, got {type(f).__name__}")
    if differentiable:
        fx = f(x)
    else:
        with torch.no_grad():
            fx = f(x)
    check_shape(
        fx,
        expected,
        "f(x)",
        hint=(
            f"f must return one cost per sample and batch entry: samples of shape {tuple(x.shape)} -> costs of "
            f"shape {tuple(expected)} (reduce over event dimensions inside f, do not average over samples)"
        ),
    )
    return fx if differentiable else fx.detach()


def _as_tensor(value, like: torch.Tensor, name: str) -> torch.Tensor:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return torch.tensor(float(value), dtype=like.dtype, device=like.device)
    if isinstance(value, torch.Tensor):
        return value.detach().to(like.dtype)
    raise TypeError(f"{name} must be a number, a tensor, a dict or a callable, got {type(value).__name__}")


def _broadcast_to_cost(value: torch.Tensor, fx: torch.Tensor, name: str) -> torch.Tensor:
    try:
        return value.expand(fx.shape)
    except RuntimeError as err:
        raise ValueError(
            f"{name} has shape {tuple(value.shape)}, which does not broadcast to the cost shape "
            f"{tuple(fx.shape)}; pass a scalar, a tensor of shape batch_shape, or a per-sample tensor"
        ) from err


# ----------------------------------------------------------------------------------------------
# the estimators
# ----------------------------------------------------------------------------------------------


@torch.enable_grad()
def score_function_grad(
    f: Callable[[torch.Tensor], torch.Tensor],
    distribution,
    params,
    num_samples: int,
    *,
    baseline=None,
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    r"""Per-sample score-function (REINFORCE, likelihood-ratio) gradient estimates.

    The log-derivative trick :math:`\nabla_\theta p = p \, \nabla_\theta \log p` turns the
    gradient of an expectation into an expectation (Mohamed et al. 2020, Sec. 4):

    .. math::

        \nabla_\theta \mathbb{E}_{p(x;\theta)}[f(x)]
        = \mathbb{E}_{p(x;\theta)}\big[(f(x) - b)\, \nabla_\theta \log p(x; \theta)\big],

    for any constant baseline :math:`b` (Secs. 4 and 7; :math:`b = 0` by default). Sample
    :math:`n` gives :math:`(f(x^{(n)}) - b)\, \nabla_\theta \log p(x^{(n)}; \theta)`. ``f`` is
    a black box (evaluated without gradients); the family only needs a differentiable
    ``log_prob``, so discrete families (Bernoulli, Categorical, Poisson) work. The
    per-sample scores come from one vectorised backward pass through per-sample copies
    of the parameters (no loop over samples). For a Gaussian, the loc and scale samples
    are :math:`f(x)(x-\mu)/\sigma^2` and :math:`f(x)((x-\mu)^2/\sigma^3 - 1/\sigma)`.
    The identity needs a support that does not depend on :math:`\theta`: it is biased for
    e.g. the ``low`` / ``high`` of a Uniform or the ``scale`` of a Pareto (use
    :func:`pathwise_grad` there).
    Introduced in chapter 4, *The score-function estimator*.

    Args:
        f: cost, samples ``(num_samples, *batch_shape, *event_shape)`` -> costs
            ``(num_samples, *batch_shape)``.
        distribution: a ``torch.distributions.Distribution`` subclass or factory.
        params: dict of named parameter tensors.
        num_samples: number of samples, an integer >= 1.
        baseline: ``None`` (no baseline); a number or tensor broadcastable to the cost
            shape; a callable ``baseline(f_values) -> Tensor`` of ``f_values``' shape (a
            sample-dependent baseline such as leave-one-out, Sec. 7); or a dict
            ``{param_name: number or tensor}`` with one baseline per parameter (e.g. the
            optimal baseline :math:`b^* = \mathbb{E}[f s^2]/\mathbb{E}[s^2]`), where a
            tensor of the parameter's shape is one constant per parameter entry and any
            other tensor must broadcast to the cost shape. Parameters missing from the
            dict get no baseline. A sample-dependent baseline keeps the estimator unbiased
            only if it is independent of the sample it multiplies.
        generator: random generator; ``None`` uses PyTorch's default one.

    Returns:
        Dict ``{name: Tensor}`` of per-sample gradient estimates, each of shape
        ``(num_samples, *params[name].shape)``.

    Raises:
        ValueError: if ``num_samples < 1``, a parameter is invalid, ``f`` returns the
            wrong shape, or the baseline does not broadcast.
        TypeError: if an argument has the wrong type.

    Shapes:
        - samples passed to ``f``: ``(num_samples, *batch_shape, *event_shape)``.
        - ``f(x)``: ``(num_samples, *batch_shape)``.
        - returned ``grads[name]``: ``(num_samples, *params[name].shape)``.
    """
    num_samples = check_num_samples(num_samples)
    generator = check_generator(generator)
    params = _as_params(params)
    dist = _build(distribution, params)
    x = _draw(dist, (num_samples,), generator).detach()
    cost_shape = torch.Size((num_samples,)) + dist.batch_shape
    fx = _cost(f, x, cost_shape, differentiable=False)
    with torch.enable_grad():
        dist_n, leaves = _expanded(distribution, params, dist, num_samples)
        log_prob = dist_n.log_prob(x)
    names = list(leaves)
    leaf_list = [leaves[n] for n in names]

    per_param_baselines: dict[str, torch.Tensor] = {}
    if isinstance(baseline, Mapping):
        unknown = set(baseline) - set(names)
        if unknown:
            raise ValueError(
                f"baseline has keys {sorted(unknown)} that are not parameters; use keys from {names}"
            )
        per_param_baselines = {n: _as_tensor(v, fx, f"baseline[{n!r}]") for n, v in baseline.items()}
        weights = fx
    elif baseline is None:
        weights = fx
    elif callable(baseline):
        with torch.no_grad():
            b = baseline(fx)
        check_shape(b, fx.shape, "baseline(f_values)", hint="a callable baseline must return one value per cost")
        weights = fx - b.detach()
    else:
        weights = fx - _broadcast_to_cost(_as_tensor(baseline, fx, "baseline"), fx, "baseline")

    need_score = any(
        b.dim() == 0 or b.shape == params[n].shape for n, b in per_param_baselines.items()
    )
    grads = torch.autograd.grad(
        (weights * log_prob).sum(), leaf_list, allow_unused=True, retain_graph=bool(per_param_baselines)
    )
    out = {n: _per_sample(g, leaves[n], params[n]) for n, g in zip(names, grads)}
    if per_param_baselines:
        scores = None
        if need_score:
            scores = torch.autograd.grad(log_prob.sum(), leaf_list, allow_unused=True, retain_graph=True)
            scores = {n: _per_sample(s, leaves[n], params[n]) for n, s in zip(names, scores)}
        for n, b in per_param_baselines.items():
            if b.dim() == 0 or b.shape == params[n].shape:
                out[n] = out[n] - b * scores[n]
            else:
                w = fx - _broadcast_to_cost(b, fx, f"baseline[{n!r}]")
                (g,) = torch.autograd.grad((w * log_prob).sum(), [leaves[n]], allow_unused=True, retain_graph=True)
                out[n] = _per_sample(g, leaves[n], params[n])
    return out


@torch.enable_grad()
def pathwise_grad(
    f: Callable[[torch.Tensor], torch.Tensor],
    distribution,
    params,
    num_samples: int,
    *,
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    r"""Per-sample pathwise (reparameterization-trick) gradient estimates.

    Writes :math:`x = g(\epsilon; \theta)` with parameter-free noise
    :math:`\epsilon \sim p(\epsilon)` and differentiates through the sampling path
    (Mohamed et al. 2020, Sec. 5):

    .. math::

        \nabla_\theta \mathbb{E}_{p(x;\theta)}[f(x)]
        = \mathbb{E}_{p(\epsilon)}\big[\nabla_x f(x)\, \nabla_\theta g(\epsilon; \theta)\big],
        \qquad x = g(\epsilon; \theta).

    For a Gaussian :math:`x = \mu + \sigma \epsilon`, so the loc and scale samples are
    :math:`f'(x)` and :math:`f'(x)\,\epsilon`. The paths are the explicit transforms of
    :func:`sample` (location-scale, inverse CDF, ``TransformedDistribution`` transforms,
    implicit reparameterization of Gamma-based families, Sec. 5). ``f`` must be
    differentiable. Every sample gets its own copy of the parameters, so a single
    backward pass of the summed cost yields all per-sample gradients (no loop).
    Introduced in chapter 5, *The pathwise estimator*.

    Args:
        f: differentiable cost, samples ``(num_samples, *batch_shape, *event_shape)`` ->
            costs ``(num_samples, *batch_shape)``.
        distribution: a reparameterizable ``torch.distributions.Distribution`` subclass
            or factory (``has_rsample`` true).
        params: dict of named parameter tensors.
        num_samples: number of samples, an integer >= 1.
        generator: random generator; ``None`` uses PyTorch's default one.

    Returns:
        Dict ``{name: Tensor}`` of per-sample gradient estimates, each of shape
        ``(num_samples, *params[name].shape)``. The samples are the same as those of
        :func:`sample` with an identically seeded generator.

    Raises:
        TypeError: if the family is not reparameterizable (e.g. Bernoulli, Categorical,
            Poisson); use :func:`score_function_grad` or :func:`measure_valued_grad`.
        ValueError: if ``num_samples < 1``, a parameter is invalid or ``f`` returns the
            wrong shape.

    Shapes:
        - samples passed to ``f``: ``(num_samples, *batch_shape, *event_shape)``.
        - ``f(x)``: ``(num_samples, *batch_shape)``.
        - returned ``grads[name]``: ``(num_samples, *params[name].shape)``.
    """
    num_samples = check_num_samples(num_samples)
    generator = check_generator(generator)
    params = _as_params(params)
    dist = _build(distribution, params)
    if not dist.has_rsample:
        raise TypeError(
            f"pathwise_grad needs a reparameterizable distribution, but {type(dist).__name__} has no "
            f"differentiable sampling path (has_rsample is False); use score_function_grad, or "
            f"measure_valued_grad (supported: {_supported_text()})"
        )
    with torch.enable_grad():
        dist_n, leaves = _expanded(distribution, params, dist, num_samples)
        x = _draw(dist_n, (), generator)
        cost_shape = torch.Size((num_samples,)) + dist.batch_shape
        fx = _cost(f, x, cost_shape, differentiable=True)
        names = list(leaves)
        if fx.requires_grad:
            grads = torch.autograd.grad(fx.sum(), [leaves[n] for n in names], allow_unused=True)
        else:  # f does not depend on x (e.g. a constant): the gradient is zero
            grads = [None] * len(names)
    return {n: _per_sample(g, leaves[n], params[n]) for n, g in zip(names, grads)}


def _supported_text() -> str:
    return "; ".join(f"{fam}: {', '.join(ps)}" for fam, ps in MEASURE_VALUED_SUPPORTED.items())


def measure_valued_grad(
    f: Callable[[torch.Tensor], torch.Tensor],
    distribution,
    params,
    num_samples: int,
    *,
    coupled: bool = True,
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    r"""Per-sample measure-valued (weak-derivative) gradient estimates.

    A weak derivative writes the derivative of the density as a scaled difference of
    two densities, :math:`\partial_\theta p(x;\theta) = c_\theta\,(p^+(x;\theta) - p^-(x;\theta))`,
    so that (Mohamed et al. 2020, Sec. 6)

    .. math::

        \partial_\theta \mathbb{E}_{p(x;\theta)}[f(x)]
        = c_\theta \big(\mathbb{E}_{p^+}[f(x^+)] - \mathbb{E}_{p^-}[f(x^-)]\big),

    and sample :math:`n` gives :math:`c_\theta (f(x^{+(n)}) - f(x^{-(n)}))`. ``f`` is a
    black box and need not be differentiable. Implemented decompositions (Sec. 6):

    - Normal loc: :math:`c = 1/(\sigma\sqrt{2\pi})`, :math:`x^\pm = \mu \pm \sigma W` with
      :math:`W \sim \mathrm{Weibull}(\sqrt{2}, 2)` (double-sided Weibull / Rayleigh).
    - Normal scale: :math:`c = 1/\sigma`, :math:`x^+ = \mu + \sigma M` with :math:`M` double-sided
      Maxwell (density :math:`z^2 \phi(z)`), :math:`x^- \sim \mathcal{N}(\mu, \sigma^2)`.
    - Bernoulli probs: :math:`c = 1`, :math:`x^+ = 1`, :math:`x^- = 0` (logits by the chain
      rule, times :math:`p(1-p)`).
    - Poisson rate: :math:`c = 1`, :math:`x^+ = x + 1`, :math:`x^- = x'` with
      :math:`x, x' \sim \mathrm{Poisson}(\lambda)`.
    - Exponential rate: :math:`c = 1/\lambda`, :math:`x^+ \sim \mathrm{Exp}(\lambda)`,
      :math:`x^- \sim \mathrm{Gamma}(2, \lambda)` (sum of two exponentials).

    With ``coupled=True`` the two terms share random numbers (Secs. 6 and 7, common random
    numbers): the same :math:`W` for both Normal-loc terms; :math:`x^- = \mu + \sigma U M`
    with :math:`U \sim \mathcal{U}(0, 1)` for the Normal scale (since :math:`U M \sim \mathcal{N}(0,1)`);
    the same Poisson draw :math:`x` in :math:`x^+ = x + 1` and :math:`x^- = x`; and
    :math:`x^- = x^+ + E` for the Exponential. Both versions are unbiased; coupling
    usually lowers the variance. All batch entries are perturbed at once, which is valid
    because the cost of a batch entry only depends on its own sample (the module
    contract); in general the cost grows with the number of parameters (two evaluations
    of ``f`` per parameter).
    Introduced in chapter 6, *The measure-valued estimator*.

    Args:
        f: cost, samples ``(num_samples, *batch_shape)`` -> costs ``(num_samples, *batch_shape)``.
        distribution: ``torch.distributions.Normal``, ``Bernoulli``, ``Poisson`` or
            ``Exponential`` (or a factory returning one, with parameters under the
            family's own names).
        params: dict of named parameter tensors, e.g. ``{"loc": ..., "scale": ...}``.
        num_samples: number of samples, an integer >= 1.
        coupled: share random numbers between the positive and negative parts.
        generator: random generator; ``None`` uses PyTorch's default one.

    Returns:
        Dict ``{name: Tensor}`` of per-sample gradient estimates, each of shape
        ``(num_samples, *params[name].shape)``.

    Raises:
        NotImplementedError: if the family or a parameter has no decomposition here
            (the message lists the supported ones).
        TypeError: if ``coupled`` is not a bool.
        ValueError: if ``num_samples < 1``, a parameter is invalid or ``f`` returns the
            wrong shape.

    Shapes:
        - samples passed to ``f``: ``(num_samples, *batch_shape)``.
        - ``f(x)``: ``(num_samples, *batch_shape)``.
        - returned ``grads[name]``: ``(num_samples, *params[name].shape)``.
    """
    num_samples = check_num_samples(num_samples)
    generator = check_generator(generator)
    if not isinstance(coupled, bool):
        raise TypeError(
            f"coupled must be a bool, got {coupled!r} of type {type(coupled).__name__}; pass coupled=True "
            f"(common random numbers) or coupled=False (independent samples)"
        )
    params = _as_params(params)
    dist = _build(distribution, params)
    family = type(dist).__name__
    if family not in MEASURE_VALUED_SUPPORTED or type(dist) is not getattr(D, family):
        raise NotImplementedError(
            f"measure_valued_grad has no weak-derivative decomposition for {family}; supported: "
            f"{_supported_text()}. Use score_function_grad (any family) or pathwise_grad instead"
        )
    for name in params:
        if name not in MEASURE_VALUED_SUPPORTED[family]:
            raise NotImplementedError(
                f"measure_valued_grad has no decomposition for parameter {name!r} of {family}; supported: "
                f"{_supported_text()}"
            )
        attr = getattr(dist, name)
        if not torch.allclose(attr, params[name].expand(attr.shape).to(attr.dtype)):
            raise ValueError(
                f"params[{name!r}] is not the {name} of the {family} that distribution(**params) built; "
                f"pass the family's own parameters (e.g. torch.distributions.{family})"
            )
    shape = torch.Size((num_samples,)) + dist.batch_shape
    batch_ndim = len(dist.batch_shape)

    def cost(x):
        return _cost(f, x, shape, differentiable=False)

    out = {}
    for name, value in params.items():
        if family == "Normal":
            loc, scale = dist.loc, dist.scale
            if name == "loc":
                w_plus = torch.sqrt(-2.0 * torch.log(uniform_noise(shape, loc, generator)))
                w_minus = w_plus if coupled else torch.sqrt(-2.0 * torch.log(uniform_noise(shape, loc, generator)))
                est = (cost(loc + scale * w_plus) - cost(loc - scale * w_minus)) / (scale * math.sqrt(2 * math.pi))
            else:
                sign = torch.where(uniform_noise(shape, loc, generator) < 0.5, -1.0, 1.0).to(loc.dtype)
                e = normal_noise((3,) + tuple(shape), loc, generator)
                maxwell = sign * torch.sqrt(e[0] * e[0] + e[1] * e[1] + e[2] * e[2])  # +-sqrt(chi^2_3)
                if coupled:
                    x_minus = loc + scale * uniform_noise(shape, loc, generator) * maxwell
                else:
                    x_minus = loc + scale * normal_noise(shape, loc, generator)
                est = (cost(loc + scale * maxwell) - cost(x_minus)) / scale
        elif family == "Bernoulli":
            probs = dist.probs
            est = cost(torch.ones(shape, dtype=probs.dtype)) - cost(torch.zeros(shape, dtype=probs.dtype))
            if name == "logits":
                est = est * probs * (1 - probs)
        elif family == "Poisson":
            rate = dist.rate
            x = torch.poisson(rate.expand(shape).contiguous(), generator=generator)
            x_minus = x if coupled else torch.poisson(rate.expand(shape).contiguous(), generator=generator)
            est = cost(x + 1) - cost(x_minus)
        else:  # Exponential
            rate = dist.rate
            e1 = -torch.log(uniform_noise(shape, rate, generator)) / rate
            e2 = -torch.log(uniform_noise(shape, rate, generator)) / rate
            if coupled:
                x_minus = e1 + e2
            else:
                x_minus = e2 - torch.log(uniform_noise(shape, rate, generator)) / rate
            est = (cost(e1) - cost(x_minus)) / rate
        pad = max(batch_ndim - value.dim(), 0)
        target = (num_samples,) + (1,) * pad + tuple(value.shape)
        out[name] = est.expand(shape).sum_to_size(target).reshape((num_samples,) + tuple(value.shape)).detach()
    return out


def score_function_surrogate(
    log_prob: torch.Tensor,
    cost: torch.Tensor,
    baseline=None,
    *,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Surrogate loss whose gradient is the score-function estimate, for training loops.

    Returns :math:`(f(x) - b)\,\log p(x; \theta)` with the cost and the baseline treated
    as constants (detached), so that backpropagating it gives
    :math:`(f(x) - b)\,\nabla_\theta \log p(x; \theta)` (Mohamed et al. 2020, Sec. 4; the
    surrogate-loss view of stochastic computation graphs, Schulman et al. 2015). If the
    cost also depends on the parameters directly (e.g. an ELBO), add the cost itself to
    the loss: ``cost + score_function_surrogate(log_prob, cost, baseline)``. A learned
    baseline is trained with its own loss, e.g. ``((cost.detach() - baseline) ** 2).mean()``.
    Introduced in chapter 4, *The score-function estimator*; used in chapter 9.

    Args:
        log_prob: :math:`\log p(x; \theta)` of the (non-differentiable) samples, with a
            graph to the parameters.
        cost: the cost :math:`f(x)` per sample, broadcastable with ``log_prob``.
        baseline: ``None``, a number, or a tensor broadcastable to ``cost``.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
        The surrogate loss, a scalar for ``"mean"`` and ``"sum"``, else a tensor of the
        broadcast shape of ``log_prob`` and ``cost``.

    Raises:
        TypeError: if ``log_prob`` or ``cost`` is not a tensor.
        ValueError: if the shapes do not broadcast or ``reduction`` is unknown.

    Shapes:
        - ``log_prob``, ``cost``, ``baseline``: broadcastable, e.g. ``(num_samples, *batch_shape)``.
        - returned loss: ``()`` or the broadcast shape.
    """
    if not isinstance(log_prob, torch.Tensor):
        raise TypeError(f"log_prob must be a torch.Tensor, got {type(log_prob).__name__}")
    if not isinstance(cost, torch.Tensor):
        raise TypeError(f"cost must be a torch.Tensor, got {type(cost).__name__}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    weight = cost.detach()
    if baseline is not None:
        weight = weight - _as_tensor(baseline, weight, "baseline")
    try:
        loss = weight * log_prob
    except RuntimeError as err:
        raise ValueError(
            f"cost (shape {tuple(cost.shape)}), baseline and log_prob (shape {tuple(log_prob.shape)}) "
            f"must broadcast; pass one cost per sample"
        ) from err
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss
from .discrete import disarm_grad, straight_through_grad  # noqa: E402
