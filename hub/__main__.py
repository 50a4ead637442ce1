"""``python -m hub`` is the same as the ``hub`` command."""

import sys

from hub.cli import main

sys.exit(main())
