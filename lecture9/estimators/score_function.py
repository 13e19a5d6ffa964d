r"""The score-function (REINFORCE, likelihood-ratio) estimator, Mohamed et al. (2020), Sec. 4.

The log-derivative trick :math:`\nabla_\theta p = p \, \nabla_\theta \log p` gives

.. math::

    \nabla_\theta \mathbb{E}_{p(x;\theta)}[f(x)]
    = \mathbb{E}_{p(x;\theta)}\big[(f(x) - b)\, \nabla_\theta \log p(x; \theta)\big]

for any baseline :math:`b` independent of :math:`x` (Sec. 7). ``f`` is a black box; any
family with a differentiable ``log_prob`` works, discrete ones included (Bernoulli,
Categorical, OneHotCategorical, under ``Independent`` too). Biased when the support depends
on :math:`\theta` (Uniform ``low``/``high``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import torch

from .._validation import as_finite_tensor, check_broadcast, check_finite, check_shape, under_vmap
from ..families import as_params, build, check_cost_finite, evaluate_cost
from ..sampling import draw
from .contract import checked, expanded, finite_grads, per_sample
from .registry import register

__all__ = ["score_function_grad", "score_function_terms", "score_function_surrogate"]

_BASELINE_KINDS = "a number, a tensor, a dict or a callable"


def score_function_terms(f, distribution, params, x: torch.Tensor) -> dict[str, torch.Tensor]:
    r"""The score-function terms :math:`f(x_n)\,\nabla_\theta \log p(x_n; \theta)` at given samples ``x``.

    :func:`score_function_grad` without the draw, e.g. at quadrature nodes (Sec. 4).

    Raises:
        ValueError: if ``x`` does not have shape ``(num_samples, *batch_shape, *event_shape)``.

    Shapes:
        ``x``: ``(num_samples, *batch_shape, *event_shape)``; result: ``(num_samples, *params[name].shape)``.
    """
    params = as_params(params)
    dist = build(distribution, params)
    if not isinstance(x, torch.Tensor) or x.dim() < 1:
        raise TypeError(
            f"x must be a tensor of samples of shape (num_samples, *batch_shape, *event_shape), got {x!r}"
        )
    check_shape(x, dist._extended_shape(torch.Size(x.shape[:1])), "x")
    check_finite(x, "x")
    return _score_terms(f, distribution, params, dist, x.detach(), None)


@register("score_function_optimal_baseline", baseline="optimal")
@register("score_function", baseline="optional", terms=score_function_terms, terms_at="samples")
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
    r"""Per-sample score-function (REINFORCE) gradient estimates (package contract; Secs. 4 and 7).

    Args:
        baseline: ``None``; a number or tensor broadcastable to the cost shape; a callable
            ``baseline(f_values) -> Tensor`` of ``f_values``' shape (e.g. leave-one-out,
            :mod:`lecture9.baselines`); or a dict ``{param_name: number or tensor}``, one
            constant per parameter (a tensor of the parameter's shape: one per entry).

    Raises:
        ValueError: as the contract, or if the baseline does not broadcast or is not finite.

    Shapes:
        ``f(x)``: ``(num_samples, *batch_shape)``; ``grads[name]``: ``(num_samples, *params[name].shape)``.
    """
    num_samples, generator, params = checked(num_samples, generator, params)
    dist = build(distribution, params)
    x = draw(dist, (num_samples,), generator).detach()
    return finite_grads(
        _score_terms(f, distribution, params, dist, x, baseline), "score_function_grad"
    )


def _score_terms(f, distribution, params, dist, x, baseline) -> dict[str, torch.Tensor]:
    num_samples = x.shape[0]
    cost_shape = torch.Size((num_samples,)) + dist.batch_shape
    fx = evaluate_cost(f, x, cost_shape, differentiable=False, copy=True, finite=False)
    with torch.enable_grad():
        dist_n, leaves = expanded(distribution, params, dist, num_samples)
        log_prob = dist_n.log_prob(x)
    names = list(leaves)
    weights, per_param_baselines = _baseline_weights(fx, baseline, names)
    total = (weights * log_prob).sum()
    if not math.isfinite(total.item()):
        check_cost_finite(fx)  # name the source: weights and baselines are checked above
    grads = torch.autograd.grad(
        total,
        [leaves[n] for n in names],
        allow_unused=True,
        retain_graph=bool(per_param_baselines),
    )
    out = {n: per_sample(g, leaves[n], params[n]) for n, g in zip(names, grads)}
    if per_param_baselines:
        out.update(_per_parameter_terms(fx, log_prob, leaves, params, out, per_param_baselines))
    return out


def _baseline_weights(fx, baseline, names) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The weights ``f(x) - b`` of one shared baseline, or ``f(x)`` and the per-parameter ones."""
    if isinstance(baseline, Mapping):
        unknown = set(baseline) - set(names)
        if unknown:
            raise ValueError(
                f"baseline has keys {sorted(unknown)} that are not parameters; use keys from {names}"
            )
        per_param = {
            n: as_finite_tensor(v, fx, f"baseline[{n!r}]", allowed=_BASELINE_KINDS)
            for n, v in baseline.items()
        }
        return fx, per_param
    if baseline is None:
        return fx, {}
    if callable(baseline):
        check_cost_finite(fx)  # before the baseline sees it
        with torch.no_grad():
            b = baseline(fx.clone())
        check_shape(
            b,
            fx.shape,
            "baseline(f_values)",
            hint="a callable baseline must return one value per cost",
        )
        return fx - check_finite(b.detach(), "baseline(f_values)"), {}
    b = as_finite_tensor(baseline, fx, "baseline", allowed=_BASELINE_KINDS)
    return fx - check_broadcast(b, fx.shape, "baseline"), {}


def _per_parameter_terms(fx, log_prob, leaves, params, out, per_param_baselines):
    """Replace each parameter's term by the one with its own baseline."""
    names = list(leaves)
    scores = None
    if any(b.dim() == 0 or b.shape == params[n].shape for n, b in per_param_baselines.items()):
        scores = torch.autograd.grad(
            log_prob.sum(), [leaves[n] for n in names], allow_unused=True, retain_graph=True
        )
        scores = {n: per_sample(s, leaves[n], params[n]) for n, s in zip(names, scores)}
    terms = {}
    for n, b in per_param_baselines.items():
        if b.dim() == 0 or b.shape == params[n].shape:
            terms[n] = out[n] - b * scores[n]
        else:
            w = fx - check_broadcast(b, fx.shape, f"baseline[{n!r}]")
            (g,) = torch.autograd.grad(
                (w * log_prob).sum(), [leaves[n]], allow_unused=True, retain_graph=True
            )
            terms[n] = per_sample(g, leaves[n], params[n])
    return terms


def score_function_surrogate(
    log_prob: torch.Tensor,
    cost: torch.Tensor,
    baseline=None,
    *,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Surrogate loss :math:`(f(x) - b)\log p(x; \theta)` whose gradient is the score-function estimate.

    The cost and the baseline are detached (Mohamed et al. 2020, Sec. 4; Schulman et al. 2015).
    If the cost also depends on the parameters directly (an ELBO), add the cost itself:
    ``cost + score_function_surrogate(log_prob, cost, baseline)``. ``reduction`` is
    ``"mean"``, ``"sum"`` or ``"none"``.

    Raises:
        TypeError: if ``log_prob`` or ``cost`` is not a tensor.
        ValueError: if the shapes do not broadcast, ``reduction`` is unknown, or ``cost``,
            ``log_prob`` or their product is not finite.

    Shapes:
        ``log_prob``, ``cost``, ``baseline``: broadcastable, e.g. ``(num_samples, *batch_shape)``;
        the loss: ``()`` or the broadcast shape.
    """
    if not isinstance(log_prob, torch.Tensor):
        raise TypeError(f"log_prob must be a torch.Tensor, got {type(log_prob).__name__}")
    if not isinstance(cost, torch.Tensor):
        raise TypeError(f"cost must be a torch.Tensor, got {type(cost).__name__}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    weight = cost.detach()
    if baseline is not None:
        weight = weight - as_finite_tensor(baseline, weight, "baseline")
    try:
        loss = weight * log_prob
    except RuntimeError as err:
        raise ValueError(
            f"cost (shape {tuple(cost.shape)}), baseline and log_prob (shape {tuple(log_prob.shape)}) "
            f"must broadcast; pass one cost per sample"
        ) from err
    out = loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss
    total = out if reduction != "none" else out.detach().sum()
    if not under_vmap(total) and not math.isfinite(total.item()):  # name the source
        check_finite(weight, "cost")
        check_finite(log_prob.detach(), "log_prob")
        if not bool(torch.isfinite(loss.detach()).all()):
            raise ValueError(
                "score_function_surrogate overflowed: cost * log_prob is not finite; rescale the cost"
            )
    return out
