"""Reading the hub's event log in order without ever skipping an event.

Notification ids come from a sequence: a transaction that rolled back leaves a hole for ever,
and a transaction that took a lower id but commits later leaves a hole for a while (the
library's inserts lock the table to prevent that, but a writer that does not would cause it).
A reader that jumped over the second kind would lose an event. So a reader only passes a hole
once it is sure the hole is final: on PostgreSQL it takes a SHARE lock on the events table,
which waits for every transaction still inserting, then looks again. SQLite has one writer at
a time, and the in-memory store writes under a lock: their holes are always final.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog
from eventsourcing.persistence import ApplicationRecorder, Notification

log = structlog.get_logger("projections.log")


class EventLog:
    """Contiguous reads of an application's notification log."""

    def __init__(self, recorder: ApplicationRecorder, lock_timeout_seconds: float = 5.0) -> None:
        self.recorder = recorder
        self.lock_timeout_seconds = lock_timeout_seconds
        self.is_postgres = type(recorder).__module__ == "eventsourcing.postgres"

    def head(self) -> int:
        return self.recorder.max_notification_id() or 0

    def settled_head(self) -> int:
        """A position at and below which no event can still appear."""
        if not self.is_postgres:
            return self.head()
        with self._locked() as curs:
            curs.execute(f"SELECT MAX(notification_id) AS head FROM {self._table()}")
            row = curs.fetchone()
            return (row["head"] if row else 0) or 0

    def read(self, after: int, limit: int, stop: int | None = None,
             topics: Sequence[str] = (), settled: bool = False) -> list[Notification]:
        """Notifications after ``after``, in order, without passing a hole that may fill.

        ``settled``: ``stop`` is at or below ``settled_head()``, so every hole below it is
        final (and ``topics`` may filter the read).
        """
        if topics and not settled:
            raise ValueError("a read filtered by topics needs a settled stop position")
        if settled:
            return list(self.recorder.select_notifications(
                start=after, limit=limit, stop=stop, topics=topics, inclusive_of_start=False))
        found = self.recorder.select_notifications(
            start=after, limit=limit, stop=stop, inclusive_of_start=False)
        expected = after + 1
        for index, notification in enumerate(found):
            if notification.id != expected and not self._hole_is_final(expected, notification.id):
                log.info("waiting for a transaction still writing", after=expected - 1,
                         seen=notification.id)
                return list(found[:index])
            expected = notification.id + 1
        return list(found)

    def _hole_is_final(self, first: int, beyond: int) -> bool:
        """True when no event with a position in ``[first, beyond)`` can appear any more."""
        if not self.is_postgres:
            return True
        try:
            with self._locked() as curs:
                curs.execute(f"SELECT COUNT(*) AS n FROM {self._table()} "
                             "WHERE notification_id >= %s AND notification_id < %s", [first, beyond])
                row = curs.fetchone()
                return not (row and row["n"])
        except Exception as exc:  # noqa: BLE001 - a busy table: look again on the next read
            log.warning("could not settle a hole in the log", first=first, error=str(exc))
            return False

    def _table(self) -> str:
        recorder: Any = self.recorder
        return f'"{recorder.datastore.schema}"."{recorder.events_table_name}"'

    def _locked(self) -> Any:
        recorder: Any = self.recorder
        return _ShareLock(recorder.datastore, self._table(), self.lock_timeout_seconds)


class _ShareLock:
    """A transaction holding SHARE on the events table: every inserting transaction has ended."""

    def __init__(self, datastore: Any, table: str, timeout: float) -> None:
        self.datastore = datastore
        self.table = table
        self.timeout = timeout

    def __enter__(self) -> Any:
        self._cm = self.datastore.transaction(commit=False)
        curs = self._cm.__enter__()
        curs.execute(f"SET LOCAL lock_timeout = '{int(self.timeout * 1000)}ms'")
        curs.execute(f"LOCK TABLE {self.table} IN SHARE MODE")
        return curs

    def __exit__(self, *exc: Any) -> None:
        self._cm.__exit__(*exc)
