"""A channel that only keeps what it is given (``hub demo`` without SMTP or gateway settings)."""

from __future__ import annotations

from adapters.channels import Outgoing


class Outbox:
    """Accepts every message and keeps it for printing; it delivers nothing to anybody."""

    idempotent = True

    def __init__(self) -> None:
        self.messages: list[Outgoing] = []

    def send(self, message: Outgoing) -> None:
        self.messages.append(message)
