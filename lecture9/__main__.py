"""Entry point for ``python -m lecture9``; see :mod:`lecture9.cli`."""

import sys

from lecture9.cli import main

sys.exit(main())
