"""The one table of estimator names: each name, its estimator function and its properties.

In the style of :func:`torch.distributions.kl.register_kl`: an estimator module registers
its function under a name with :func:`register`, and every place that chooses an estimator
by name (the studies, the models, the command line) asks
:func:`~lecture9.estimators.registry.get` for its
:class:`EstimatorSpec`, so the choice is written here once.

Example:

.. code-block:: python

    from lecture9 import estimators

    spec = estimators.get("measure_valued_coupled")
    spec.unbiased, spec.differentiable_cost        # True, False
    grads = spec.grad(f, torch.distributions.Normal, params, 1000, generator=g)
"""

from __future__ import annotations

import dataclasses
import functools
import types
from collections.abc import Callable, Mapping

__all__ = ["EstimatorSpec", "REGISTRY", "register", "get", "names"]

_SPECS: dict[str, EstimatorSpec] = {}
#: Every registered estimator, ``name -> EstimatorSpec`` (read-only).
#: Every registered estimator, read-only: name -> :class:`EstimatorSpec`.
REGISTRY: Mapping[str, EstimatorSpec] = types.MappingProxyType(_SPECS)


@dataclasses.dataclass(frozen=True)
class EstimatorSpec:
    """One registered estimator: its function and what it needs of the problem.

    Attributes:
        name: the registered name.
        function: the estimator, with the contract of :mod:`lecture9.estimators`.
        options: keyword arguments the name fixes (e.g. ``coupled=False``).
        differentiable_cost: needs ``f`` differentiable in the sample.
        reparameterizable: needs a family with a differentiable sampling path.
        unbiased: unbiased for the gradient of the (discrete) objective.
        evaluations: evaluations of ``f`` per sample.
        per_parameter: ``evaluations`` counts once per scalar parameter (measure-valued).
        temperature: takes a relaxation ``temperature``.
        baseline: ``None`` (takes none), ``"optional"`` or ``"optimal"`` (the name stands for
            the exact optimal constant baseline, which the caller supplies).
        families: the families it accepts by name (``None``: any with a ``log_prob``).
        terms: the same per-sample terms at given ``samples`` or standardised ``noise`` (the
            delta method of :mod:`lecture9.control_variates`), or ``None``.
        terms_at: ``"samples"`` or ``"noise"``: what ``terms`` takes.
    """

    name: str
    function: Callable
    options: Mapping = dataclasses.field(default_factory=dict)
    differentiable_cost: bool = False
    reparameterizable: bool = False
    unbiased: bool = True
    evaluations: int = 1
    per_parameter: bool = False
    temperature: bool = False
    baseline: str | None = None
    families: tuple[str, ...] | None = None
    terms: Callable | None = None
    terms_at: str | None = None

    @property
    def grad(self) -> Callable:
        """The estimator function with the fixed options of its name.

        Called as ``grad(f, distribution, params, num_samples, ...)``.
        """
        return functools.partial(self.function, **self.options) if self.options else self.function


def register(name: str, **properties) -> Callable[[Callable], Callable]:
    """Decorator registering an estimator function under ``name`` with its properties.

    Raises:
        ValueError: if ``name`` is registered already.
    """

    def decorator(function: Callable) -> Callable:
        if name in _SPECS:
            raise ValueError(f"estimator {name!r} is registered already")
        _SPECS[name] = EstimatorSpec(name, function, **properties)
        return function

    return decorator


def get(name) -> EstimatorSpec:
    """The :class:`EstimatorSpec` registered under ``name``.

    Raises:
        ValueError: for a name that is not registered (the message lists the names).
    """
    if not isinstance(name, str) or name not in _SPECS:
        raise ValueError(f"estimator must be one of {tuple(_SPECS)}, got {name!r}")
    return _SPECS[name]


def names(**properties) -> tuple[str, ...]:
    """The registered names whose properties equal the given ones, e.g. ``names(temperature=True)``."""
    return tuple(
        n for n, s in _SPECS.items() if all(getattr(s, k) == v for k, v in properties.items())
    )
