r"""Monte Carlo gradient estimators: score function, pathwise, measure-valued and discrete.

Introduced in chapters 3-7 (*Gradients of expectations* to *Comparing the
estimators*), following Mohamed et al. (2020), *Monte Carlo Gradient Estimation
in Machine Learning*, Secs. 4-6. Every estimator targets the sensitivity

.. math::

    \eta = \nabla_\theta \mathbb{E}_{p(x; \theta)}[f(x)]
         = \nabla_\theta \int p(x; \theta) f(x) \, dx

and every estimator in this package keeps to **one contract** (in the spirit of
DeepMind's ``mc_gradients`` ``gradient_estimators.py``).

**Inputs.**

- ``f``: the cost, a callable mapping a tensor of samples of shape
  ``(num_samples, *batch_shape, *event_shape)`` to one cost per sample and batch
  entry, shape ``(num_samples, *batch_shape)``. Batch entries are independent
  problems: the cost of batch entry ``b`` may only depend on the sample of entry
  ``b`` (reduce over ``event_shape`` inside ``f``). The score-function and
  measure-valued estimators treat ``f`` as a black box (no gradient flows through
  it) and hand it a copy of the samples, so ``f`` may modify its input in place;
  the pathwise estimator differentiates it.
- ``distribution``: a :class:`torch.distributions.Distribution` subclass (e.g.
  ``torch.distributions.Normal``) or any factory callable ``**params ->
  Distribution`` (e.g. a ``lambda loc, scale: TransformedDistribution(...)``).
- ``params``: the distributional parameters :math:`\theta` as a dict of named
  tensors, e.g. ``{"loc": torch.tensor(1.0), "scale": torch.tensor(1.0)}``,
  passed to ``distribution(**params)``. Parameters may be batched, e.g. shape
  ``()``, ``(3,)`` or ``(2, 3)``, and may broadcast against each other like in
  ``torch.distributions``, also under ``Independent`` (e.g. a scalar ``temperature``
  with vector ``logits``). Their ``requires_grad`` flag is ignored: the
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

**Estimators**, one module per family, each registered by name in :mod:`.registry`
(:func:`~lecture9.estimators.registry.get`, :data:`~lecture9.estimators.registry.REGISTRY`;
the names are the keys below):

- :func:`score_function_grad` (``"score_function"``; Sec. 4): :math:`f(x) \nabla_\theta \log p(x; \theta)`,
  with an optional baseline (Sec. 7). Any family with a differentiable ``log_prob``.
- :func:`pathwise_grad` (``"pathwise"``; Sec. 5): :math:`\nabla_\theta f(g(\epsilon; \theta))`.
- :func:`measure_valued_grad` (``"measure_valued"``, ``"measure_valued_coupled"``; Sec. 6):
  :math:`c_\theta (f(x^+) - f(x^-))`.
- :func:`gumbel_softmax_grad`, :func:`straight_through_grad` (``"gumbel_softmax"``,
  ``"straight_through"``) and :func:`disarm_grad` (``"disarm"``): discrete variables, chapter 10.
- :func:`score_function_surrogate`: a surrogate loss whose gradient is the score-function
  estimate, for training loops; :func:`score_function_terms`, :func:`pathwise_terms`: the
  per-sample terms at given samples or noise (the delta method of :mod:`lecture9.control_variates`).

What every estimator shares (argument checks, per-sample parameters and gradients) is
:mod:`.contract`; samples are drawn with :func:`lecture9.sampling.draw`.

**Errors.** Every estimator raises ``ValueError`` or ``TypeError`` naming the argument:
``num_samples`` not an integer in ``[1, 10**9]``; a generator on another device than the
parameters; parameters that are not finite, out of their family's range or of shapes that
do not broadcast; a cost of the wrong shape or with NaN / inf values.

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

from .contract import is_reparameterizable
from .discrete import (
    DEFAULT_TEMPERATURE,
    disarm_grad,
    disarm_logit_grad,
    gumbel_max_sample,
    gumbel_softmax_grad,
    hard_sample,
    relaxed_bernoulli,
    relaxed_one_hot,
    straight_through,
    straight_through_grad,
)
from .measure_valued import MEASURE_VALUED_SUPPORTED, MeasureValuedNotSupported, measure_valued_grad
from .pathwise import pathwise_grad, pathwise_terms
from .registry import REGISTRY, EstimatorSpec, get, names
from .score_function import score_function_grad, score_function_surrogate, score_function_terms

__all__ = [
    "REGISTRY",
    "EstimatorSpec",
    "get",
    "names",
    "is_reparameterizable",
    "score_function_grad",
    "score_function_terms",
    "score_function_surrogate",
    "pathwise_grad",
    "pathwise_terms",
    "MEASURE_VALUED_SUPPORTED",
    "MeasureValuedNotSupported",
    "measure_valued_grad",
    "DEFAULT_TEMPERATURE",
    "gumbel_max_sample",
    "gumbel_softmax_grad",
    "straight_through_grad",
    "disarm_grad",
    "relaxed_bernoulli",
    "relaxed_one_hot",
    "hard_sample",
    "straight_through",
    "disarm_logit_grad",
]
