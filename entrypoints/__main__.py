"""``python -m entrypoints`` is the same as the ``hub`` command."""

import sys

from entrypoints.cli.main import main

sys.exit(main())
