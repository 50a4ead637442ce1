"""``hub`` subcommands, one module each (``register(subparsers)``)."""
