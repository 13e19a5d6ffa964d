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

from .common import *  # noqa: F401,F403
from .common import __all__ as _common_all
from .montecarlo import *  # noqa: F401,F403
from .montecarlo import __all__ as _montecarlo_all
from .sampling import *  # noqa: F401,F403
from .sampling import __all__ as _sampling_all
from .optimization import *  # noqa: F401,F403
from .optimization import __all__ as _optimization_all
from .graphs import *  # noqa: F401,F403
from .graphs import __all__ as _graphs_all
from .variance import *  # noqa: F401,F403
from .variance import __all__ as _variance_all
from .gradients import *  # noqa: F401,F403
from .gradients import __all__ as _gradients_all
from .vae import *  # noqa: F401,F403
from .vae import __all__ as _vae_all

__all__ = [*_common_all, *_montecarlo_all, *_sampling_all, *_optimization_all, *_graphs_all, *_variance_all,
           *_gradients_all, *_vae_all]
