"""Setup wizard (SPEC W1–W2, seed 002): a clinic created through six ordered steps."""
