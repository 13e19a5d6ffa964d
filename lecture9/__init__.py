"""lecture9: Monte Carlo sampling and stochastic gradient estimation.

The tested package behind the course book *Deep Sampling & Stochastic Gradients*
(UvA Deep Learning course, Lecture 9).

The library, one idea a module, each introduced by one chapter of the book; the chapter
experiments that put it to work are in :mod:`lecture9.studies`.

========================  ==========================================================
module                    chapter
========================  ==========================================================
``sampling``              2: drawing from torch.distributions with an explicit generator
``transformed_families``  5: logistic, Rayleigh, isotropic normal from transforms
``families``              3-10: parameters, building a family, checking a cost
``quadrature``            3: quadrature rules; tensor-product quadrature against Monte Carlo
``estimators``            3-10: score-function, pathwise, measure-valued and discrete
                          estimators, and the registry that names them
``reference``             3-8: exact gradients, means and variances of the estimators
``enumeration``           10: exact expectations and gradients on a finite support
``montecarlo``            1-2: Monte Carlo estimation, importance / rejection sampling
``optimization``          1-2: stochastic optimisation by sampling (random search, SGD)
``control_variates``      8: control variates, the delta method
``baselines``             8: baselines for the score function (optimal, moving average, RLOO)
``data``, ``vae``         9: binarized digits / MNIST, the VAE, its ELBO and IWAE bound
``training``              9: the training loop (restore, epoch, evaluate, checkpoint)
``bernoulli_vae``         10: the VAE with Bernoulli latent codes
``categorical_vae``       10: the VAE with categorical latent codes
``policy_gradient``       11: policy gradients on finite MDPs, REINFORCE, FrozenLake
``studies``               3-9: the chapter experiments (comparison, cost_counting,
                          baseline_comparison, binary_toy, replicates, queueing,
                          doubly_stochastic, finite_differences)
``cli``                   9-10: the commands ``train-vae`` and ``assign``
``exercises``             all: cell tags and the checks used by autograded exercises
``plotting``              all: figure helpers used by the notebooks
``assign``                all: the student version of the notebooks (for instructors)
========================  ==========================================================

Randomness is always explicit: every random function takes a keyword argument
``generator: torch.Generator | None`` and the package never seeds global state.
Submodules are imported on first use (``from lecture9 import montecarlo``).
"""

from __future__ import annotations

import importlib
import pkgutil

__version__ = "0.1.0"

# Every public submodule (no leading underscore, not the entry point), found rather than
# listed, so that a new module needs no edit here.
_SUBMODULES = tuple(
    sorted(
        m.name
        for m in pkgutil.iter_modules(__path__)
        if not m.name.startswith("_") and m.name != "__main__"
    )
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
