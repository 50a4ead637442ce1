"""What the ``retrying`` attempts in progress have read (``HubApplication.load_many``): an
attempt reads each aggregate once (``prefetch``), and what it saves is read again."""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

#: What the ``retrying`` attempts in progress have read, innermost last (None: the aggregate
#: does not exist); empty outside ``retrying``.
attempt_reads: ContextVar[tuple[dict[UUID, Aggregate | None], ...]] = ContextVar(
    "attempt_reads", default=())


def current_reads() -> dict[UUID, Aggregate | None] | None:
    stack = attempt_reads.get()
    return stack[-1] if stack else None


def forget_attempt_reads(saved: Iterable[Any]) -> None:
    """What is saved is read again, by this attempt and by any attempt it is nested in."""
    stack = attempt_reads.get()
    if stack:
        for obj in saved:
            saved_id = getattr(obj, "id", None) or getattr(obj, "originator_id", None)
            if isinstance(saved_id, UUID):
                for reads in stack:
                    reads.pop(saved_id, None)
