"""``python -m genbench``: the same command as the ``genbench`` console script."""

import sys

from .cli import main

sys.exit(main())
