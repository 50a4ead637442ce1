"""Following the hub's event log: in order, each event once, never past a hole that may fill.

Every follower of the log uses this module: the read models (``hub.readmodels``), the Kafka
relay (``hub.relay``), notification planning and delivery (``hub.notifications``) and the
outbound SIU feeds (``connectors.hl7v2``).

Notification ids come from a sequence. A transaction that rolled back leaves a hole for ever;
a transaction that took a lower id but commits after a higher one leaves a hole for a while. A
reader that jumped over the second kind would lose an event, so ``LogReader`` cuts every batch
before a hole until ``adapters.loggaps`` proves the hole final (on PostgreSQL: a brief SHARE
lock on the events table, granted once every inserting transaction has ended). Topic filters
are applied after that check, so a filtered follower is exactly as safe as an unfiltered one.

``LogFollower`` adds a position kept as an eventsourcing tracking record in the hub's own store:
a follower that writes events records its position in the same transaction (``save_tracked``),
so a crash or a second follower never handles an event twice.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Notification, RecordConflictError, Tracking

from adapters.loggaps import GapGuard, gap_guard_for

if TYPE_CHECKING:
    from hub.application import HubApplication

log = structlog.get_logger("hub.follow")


class LogReader:
    """Batches of the log after a position, cut before any hole that may still fill."""

    def __init__(self, recorder: Any, gaps: GapGuard | None = None, batch_size: int = 500,
                 warn_after: float = 5.0) -> None:
        self.recorder = recorder
        self.gaps = gaps or gap_guard_for(recorder)
        self.batch_size = batch_size
        self.warn_after = warn_after
        #: Every hole at or below this position is final (its transaction ended without it).
        self.settled = 0
        self._hole_since: tuple[int, float] | None = None

    def head(self) -> int:
        """The highest position written so far (there may be holes below it)."""
        return int(self.recorder.max_notification_id() or 0)

    def settled_head(self, timeout: float = 30.0) -> int:
        """A position at and below which no event can appear any more (waits for writers)."""
        if self.gaps.serialised:
            return self.head()
        deadline = time.monotonic() + timeout
        while (settled := self.gaps.settle()) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"writers kept the event log busy for {timeout}s")
            time.sleep(0.05)
        self.settled = max(self.settled, settled)
        return settled

    def read(self, after: int, limit: int | None = None, stop: int | None = None) -> list[Notification]:
        """The next notifications after ``after`` (up to ``stop``), stopping before any unsettled hole."""
        limit = limit or self.batch_size
        ready: list[Notification] = []
        for _ in range(3):
            batch = self.recorder.select_notifications(start=after + 1, limit=limit, stop=stop)
            ready, hole = self._contiguous(after, batch)
            if hole is None:
                self._hole_since = None
                return ready
            settled = self.gaps.settle()
            if settled is None:
                self._note_hole(hole)
                return ready
            self.settled = max(self.settled, settled)  # read again: the hole may have filled
        return ready

    def read_settled(self, after: int, limit: int, stop: int,
                     topics: Sequence[str] = ()) -> list[Notification]:
        """Notifications in ``(after, stop]``, where ``stop`` is at or below ``settled_head()``:
        every hole there is final, so the store may filter by topic."""
        if stop > self.settled and not self.gaps.serialised and stop > self.settled_head():
            raise ValueError(f"position {stop} is beyond the log's settled head ({self.settled})")
        return list(self.recorder.select_notifications(
            start=after, limit=limit, stop=stop, topics=topics, inclusive_of_start=False))

    def _contiguous(self, after: int, batch: Sequence[Notification]) -> tuple[list[Notification], int | None]:
        ready: list[Notification] = []
        expected = after + 1
        for notification in batch:
            if notification.id != expected and not self.gaps.serialised:
                if notification.id - 1 > self.settled:
                    return ready, expected
                log.debug("passing a settled hole", first=expected, last=notification.id - 1)
            ready.append(notification)
            expected = notification.id + 1
        return ready, None

    def _note_hole(self, hole: int) -> None:
        now = time.monotonic()
        if self._hole_since is None or self._hole_since[0] != hole:
            self._hole_since = (hole, now)
        elif now - self._hole_since[1] > self.warn_after:
            log.warning("waiting for an open transaction: log position not committed yet",
                        position=hole, waited_s=round(now - self._hole_since[1], 1))
            self._hole_since = (hole, now)


@dataclass(frozen=True)
class Followed:
    """What one read brought: the events a follower wants, and how far the log was read."""

    events: list[Notification] = field(default_factory=list)
    #: The last position read (beyond the last wanted event when later ones were not wanted).
    reached: int = 0


class LogFollower:
    """A follower whose position is the tracking record ``name`` in the hub's store."""

    def __init__(self, app: HubApplication, name: str, topics: Collection[str] = (),
                 batch_size: int = 500, floor: int = 0, reader: LogReader | None = None) -> None:
        self.app = app
        self.name = name
        self.topics = frozenset(topics)
        self.floor = floor
        self.reader = reader or LogReader(app.recorder, batch_size=batch_size)
        self.batch_size = batch_size

    def position(self) -> int:
        """The last position handled (events before ``floor`` are never handled)."""
        return max(int(self.app.recorder.max_tracking_id(self.name) or 0), self.floor)

    def read(self, after: int | None = None, stop: int | None = None) -> Followed:
        """The next wanted events after ``after`` (default: the tracked position)."""
        start = self.position() if after is None else after
        batch = self.reader.read(start, self.batch_size, stop=stop)
        if not batch:
            return Followed([], start)
        wanted = [n for n in batch if not self.topics or n.topic in self.topics]
        return Followed(wanted, batch[-1].id)

    def advance(self, position: int) -> None:
        """Record ``position`` as handled (when the events up to it needed no write of their own)."""
        if position <= self.position():
            return
        try:
            self.app.recorder.insert_tracking(Tracking(self.name, position))
        except (IntegrityError, RecordConflictError):
            pass  # another follower recorded a position at least as far

    def handled(self, position: int) -> bool:
        return bool(self.app.recorder.has_tracking_id(self.name, position))

    def save_tracked(self, position: int, *aggregates: Aggregate) -> None:
        """Save what handling the event at ``position`` decided, with the position, in one transaction."""
        self.app.save_tracked(Tracking(self.name, position), *aggregates)
