"""Reading the notification log without ever passing over an event that commits later.

On PostgreSQL notification ids come from a sequence: a transaction may take id 41, another
take 42 and commit first. A reader that saw 40 and 42 must not move past 41 until 41 is either
committed or gone for good (rolled back). The eventsourcing library serialises its own inserts
with an EXCLUSIVE table lock, so such holes normally come only from rolled-back writes; this
guard makes the relay safe even when they don't (another writer, ``ENABLE_DB_FUNCTIONS``).

The proof used here: every transaction that took a notification id holds at least a ROW
EXCLUSIVE lock on the events table until it ends (INSERT takes it before evaluating the
sequence default). ``LOCK TABLE ... IN SHARE MODE`` is granted only once all such transactions
have ended, and under READ COMMITTED the statement that follows sees all of them. So every id
up to ``MAX(notification_id)`` read under that lock is final: present now, or never. The lock
is tried with a short ``lock_timeout``; when a writer holds its transaction open the relay
simply publishes up to the hole and asks again on its next round.

SQLite and the in-memory store have one writer at a time (ids are handed out under the write
lock, a rollback hands the same id out again), so any hole they show is final already.
"""

from __future__ import annotations

from typing import Any, Protocol

import structlog
from eventsourcing.persistence import PersistenceError

log = structlog.get_logger("hub.relay")


class GapGuard(Protocol):
    #: True when holes in the log are always final (one writer at a time).
    serialised: bool

    def settle(self) -> int | None:
        """Return a position up to which every hole is final, or None (try again later)."""


class SerialisedLog:
    """SQLite and in-memory stores: writers are serialised, holes are final."""

    serialised = True

    def settle(self) -> int | None:  # pragma: no cover - never asked
        return None


class PostgresGapGuard:
    """Settles holes with a brief SHARE lock on the events table (see module docstring)."""

    serialised = False

    def __init__(self, recorder: Any, lock_timeout_ms: int = 250) -> None:
        from psycopg.sql import SQL, Identifier

        self.datastore = recorder.datastore
        table = SQL("{0}.{1}").format(
            Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name)
        )
        self.lock_statements = [
            SQL("SET LOCAL lock_timeout = '{0}ms'").format(SQL(str(int(lock_timeout_ms)))),
            SQL("LOCK TABLE {0} IN SHARE MODE").format(table),
        ]
        self.max_statement = SQL("SELECT MAX(notification_id) AS max FROM {0}").format(table)

    def settle(self) -> int | None:
        try:
            with self.datastore.transaction(commit=False) as curs:
                for statement in self.lock_statements:
                    curs.execute(statement)
                curs.execute(self.max_statement)
                row = curs.fetchone()
        except PersistenceError as exc:  # lock_timeout: a writer keeps its transaction open
            log.debug("log hole not settled yet", reason=str(exc).splitlines()[0])
            return None
        return int(row["max"] or 0)


def gap_guard_for(recorder: Any) -> GapGuard:
    if type(recorder).__module__.startswith("eventsourcing.postgres"):
        return PostgresGapGuard(recorder)
    return SerialisedLog()
