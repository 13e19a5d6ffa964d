"""Figure helpers used by the book's notebooks.

One submodule per part of the book; everything is re-exported here, so a notebook
writes ``from lecture9 import plotting`` and calls ``plotting.<name>``. The helpers
never change global matplotlib state (no ``rcParams`` edits): styling is applied
per figure through :func:`figure` (a ``matplotlib.rc_context``) and every helper
returns the ``Figure`` it drew so the caller can save or adjust it.
"""

from __future__ import annotations

from .common import *  # noqa: F401,F403
from .common import __all__ as _common_all
from .montecarlo import *  # noqa: F401,F403
from .montecarlo import __all__ as _montecarlo_all
from .gradients import *  # noqa: F401,F403
from .gradients import __all__ as _gradients_all
from .graphs import *  # noqa: F401,F403
from .graphs import __all__ as _graphs_all
from .variance import *  # noqa: F401,F403
from .variance import __all__ as _variance_all
from .vae import *  # noqa: F401,F403
from .vae import __all__ as _vae_all

__all__ = [*_common_all, *_montecarlo_all, *_gradients_all, *_graphs_all, *_variance_all, *_vae_all]
from .replicates import *  # noqa: F401,F403
from .gradient_paths import *  # noqa: F401,F403
