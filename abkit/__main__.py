"""``python -m abkit``: the ``abkit`` command (see :mod:`abkit.cli`)."""

import sys

from abkit.cli import main

sys.exit(main())
