"""Read models built from the event log with tracking: Suivi, availability, audit.

See ``docs/projections.md``. Each projection's rows and its log position are written in one
transaction, so a read model is exact, resumable where it stopped and rebuildable from zero.
"""
