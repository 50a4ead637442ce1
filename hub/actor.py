"""Who is acting: recorded in every stored event's metadata (token subject, role, source)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Actor:
    """The token subject and role behind a command, and where the command came from."""

    subject: str
    role: str
    channel: str = "cli"

    def as_meta(self) -> dict[str, str]:
        return asdict(self)


SYSTEM = Actor(subject="system", role="admin", channel="cli")
_current: ContextVar[Actor] = ContextVar("hub_actor", default=SYSTEM)


def current_actor() -> Actor:
    return _current.get()


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)
