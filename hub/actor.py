"""Who is acting: recorded in every stored event's metadata (token subject, role, source)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """The token subject and role behind a command, and where the command came from."""

    subject: str
    role: str
    channel: str = "cli"

    def as_meta(self) -> dict[str, str]:
        # what ``dataclasses.asdict`` gives, without its recursive copy (once per stored event)
        return {"subject": self.subject, "role": self.role, "channel": self.channel}


SYSTEM = Actor(subject="system", role="admin", channel="cli")
_current: ContextVar[Actor] = ContextVar("hub_actor", default=SYSTEM)


def current_actor() -> Actor:
    return _current.get()


def act_as(actor: Actor) -> None:
    """Act as ``actor`` for the rest of the current context: for a context that ends with the
    work, such as an HTTP request's own task (``acting_as`` elsewhere)."""
    _current.set(actor)


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)
