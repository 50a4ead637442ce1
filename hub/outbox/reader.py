"""Reads the notification log in order, never passing a hole that may still fill (see gaps)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import structlog
from eventsourcing.persistence import Notification

from hub.outbox.gaps import GapGuard

log = structlog.get_logger("hub.outbox")


class LogReader:
    """Batches of notifications after a position, cut before any unsettled hole."""

    def __init__(self, recorder: Any, gaps: GapGuard, batch_size: int, warn_after: float = 5.0) -> None:
        self.recorder = recorder
        self.gaps = gaps
        self.batch_size = batch_size
        self.warn_after = warn_after
        #: Every hole at or below this position is final (its transaction ended without it).
        self.settled = 0
        self._hole_since: tuple[int, float] | None = None

    def read(self, after: int) -> list[Notification]:
        """The next notifications after ``after``, stopping before any unsettled hole."""
        ready: list[Notification] = []
        for _ in range(3):
            batch = self.recorder.select_notifications(start=after + 1, limit=self.batch_size)
            ready, hole = self._contiguous(after, batch)
            if hole is None:
                self._hole_since = None
                return ready
            settled = self.gaps.settle()
            if settled is None:
                self._note_hole(hole)
                return ready
            self.settled = max(self.settled, settled)  # re-read: the hole may have filled
        return ready

    def _contiguous(
        self, after: int, batch: Sequence[Notification]
    ) -> tuple[list[Notification], int | None]:
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
            log.warning(
                "waiting for an open transaction: log position not committed yet",
                position=hole, waited_s=round(now - self._hole_since[1], 1),
            )
            self._hole_since = (hole, now)
