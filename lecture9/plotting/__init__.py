"""Figure helpers used by the book's notebooks.

One submodule per family of figures; everything is re-exported here, so a notebook
writes ``from lecture9 import plotting`` and calls ``plotting.<name>``. A function
that draws is called ``plot_*`` and returns the ``Figure`` it drew (the
``plot_*_panel`` helpers draw on the axes they are given). The helpers never change
global matplotlib state (no ``rcParams`` edits): styling is applied per figure
through :func:`figure` (a ``matplotlib.rc_context``). Styles and colours shared by
all figures are in ``lecture9.plotting.common``.
"""

from __future__ import annotations

import importlib
import pkgutil

# Every submodule is one family of figures; each lists its figures in ``__all__``.
# They are found, not listed, so that adding a family is adding a file.
__all__: list[str] = []
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: (m.name != "common", m.name)):
    _module = importlib.import_module(f"{__name__}.{_info.name}")
    for _name in _module.__all__:
        globals()[_name] = getattr(_module, _name)
    __all__ += [n for n in _module.__all__ if n not in __all__]
del _info, _module, _name
