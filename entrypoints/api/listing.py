"""Paginated lists of aggregates by their creation events, in log order (cursor = position)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from hub.scheduling.service import Scheduling

A = TypeVar("A")
_BATCH = 500
#: At most this many log entries are scanned for one page (bounds the work of a request).
_MAX_SCAN = 20_000


def created(
    scheduling: Scheduling,
    topic: str,
    after: int,
    limit: int,
    keep: Callable[[Any], bool],
) -> tuple[list[tuple[int, Any]], int | None]:
    """Aggregates whose creation event (``topic``) comes after ``after`` and that ``keep``
    accepts; returns (position, aggregate) pairs and the cursor of the next page (or None)."""
    found: list[tuple[int, Any]] = []
    start = after + 1
    scanned = 0
    while scanned < _MAX_SCAN:
        batch = scheduling.recorder.select_notifications(start=start, limit=_BATCH, topics=[topic])
        for notification in batch:
            aggregate: Any = scheduling.repository.get(UUID(str(notification.originator_id)), deepcopy_from_cache=False)
            if keep(aggregate):
                found.append((notification.id, aggregate))
                if len(found) == limit:
                    return found, notification.id
        scanned += _BATCH
        if len(batch) < _BATCH:
            return found, None
        start = batch[-1].id + 1
    return found, (start - 1)
