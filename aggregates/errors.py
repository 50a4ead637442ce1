"""Named domain exceptions shared by the aggregates.

Each carries a stable machine ``code`` that the HTTP API, the connectors and the CLI
turn into their own error shapes.
"""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused a command; nothing was written."""

    code = "domain_error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidValue(DomainError):
    """A value breaks a domain rule (bad NAM, end before start, ...)."""

    code = "invalid_value"


class NotFound(DomainError):
    """The command names an aggregate that does not exist."""

    code = "not_found"


class Conflict(DomainError):
    """The command contradicts the aggregate's current state."""

    code = "conflict"
