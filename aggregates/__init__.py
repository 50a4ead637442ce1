"""The hub's domain model: event-sourced aggregates, their events and their rules.

Imports only the standard library and ``eventsourcing.domain``.
"""
