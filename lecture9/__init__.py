"""lecture9: Monte Carlo sampling and stochastic gradient estimation.

The tested package behind the course book *Deep Sampling & Stochastic Gradients*
(UvA Deep Learning course, Lecture 9). Each module holds one idea and is
introduced by one chapter of the book:

========================  ==========================================================
module                    chapter
========================  ==========================================================
``montecarlo``            1-2: Monte Carlo estimation, importance / rejection sampling
``optimization``          1-2: stochastic optimisation by sampling (random search, SGD)
``sampling``              2: drawing from torch.distributions with an explicit generator
``doubly_stochastic``     2: minibatch-and-simulation estimates of a loss and its gradient
``estimators``            3-7: score-function, pathwise and measure-valued gradients
``reference``             3-7: exact means and variances of the estimators (quadrature)
``quadrature``            3: tensor-product quadrature against Monte Carlo in high dimension
``finite_differences``    3: finite-difference gradients of an expectation
``queueing``              3: the M/M/1 queue as a differentiable simulator
``exact_gradients``       4-5: exact gradients (series, sums, differences of quadratures)
``transformed_families``  5: logistic, Rayleigh, isotropic normal from transforms
``comparison``            6-7: exact and Monte Carlo variance tables, crossings
``cost_counting``         6: evaluations of the cost per sample of an estimator
``control_variates``      8: control variates, the delta method
``baselines``             8: baselines for the score function (optimal, moving average, RLOO)
``baseline_comparison``   8: baselines and control variates on the Fig. 2 problem
``binary_toy``            8: the binary toy problem of REINFORCE
``replicates``            9: training comparisons over several seeds
``data``, ``vae``         9: binarized digits / MNIST, the VAE, its ELBO and IWAE bound
``training``              9: the training loop (restore, epoch, evaluate, checkpoint)
``cli``                   9-10: the commands ``train-vae`` and ``assign``
``discrete``              10: Gumbel-max, straight-through and DisARM estimators
``enumeration``           10: exact expectations and gradients by enumerating a discrete support
``bernoulli_vae``         10: the VAE with Bernoulli latent codes, trained with each discrete estimator
``policy_gradient``       11: policy gradients on finite MDPs, REINFORCE, FrozenLake
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
    sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_") and m.name != "__main__")
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
