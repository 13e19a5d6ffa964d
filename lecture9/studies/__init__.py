"""The chapter experiments: tables, comparisons and simulations that one chapter runs.

The library (estimators, truth, baselines, models) sits in :mod:`lecture9`; each module
here puts it to work for one chapter. Submodules are imported on first use
(``from lecture9.studies import comparison``).
"""

from __future__ import annotations

import importlib
import pkgutil

SUBMODULES = tuple(
    sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
)

__all__ = list(SUBMODULES)


def __getattr__(name: str):
    if name in SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
