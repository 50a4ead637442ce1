"""The port every message channel implements (e-mail over SMTP, SMS and calls over a gateway)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID


@dataclass(frozen=True)
class Outgoing:
    """One message to deliver. ``key`` is stable across attempts (the notification's id)."""

    key: UUID
    channel: str  # email | sms | phone
    address: str
    text: str
    language: str = "fr"
    subject: str = ""
    html: str = ""


class DeliveryFailed(Exception):
    """The channel refused or could not take the message; ``permanent`` means don't retry."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Channel(Protocol):
    """Sends one message or raises ``DeliveryFailed``."""

    #: True when sending the same ``key`` twice delivers once (safe to retry after a crash).
    idempotent: bool

    def send(self, message: Outgoing) -> None: ...
