"""The hub: an event-sourced appointment orchestrator for Quebec clinics."""

__version__ = "0.1.0"
