"""Running the read models: following the log, waiting for a position, rebuilding."""
