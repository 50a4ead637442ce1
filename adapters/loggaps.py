"""Reading the notification log without ever passing over an event that commits later.

On PostgreSQL notification ids come from a sequence: a transaction may take id 41, another
take 42 and commit first. A reader that saw 40 and 42 must not move past 41 until 41 is either
committed or gone for good (rolled back). The hub's recorder (``adapters.pgrecorder``) does not
serialise writers, so such holes are normal under concurrent writes.

The proof used here, without blocking any writer (a watermark): every transaction that takes a
notification id holds a ROW EXCLUSIVE lock on the events table from before it takes the id
until it ends (INSERT locks its table before evaluating the sequence default). So read the
sequence's ``last_value`` N first, then the transactions holding that lock (``pg_locks``): each
id up to N was taken by one of them or by a transaction already ended. Once none of them holds
the lock any more (seen on a later poll), every id up to N is final: present now, or never.
The first poll records the watermark; a following poll (a few milliseconds later, writers'
transactions are short) settles it. ``SharedLockGapGuard`` is the older proof (a brief SHARE
lock on the table, which waits for writers and stalls new ones meanwhile), kept for comparison.

SQLite and the in-memory store have one writer at a time (ids are handed out under the write
lock, a rollback hands the same id out again), so any hole they show is final already.
"""

from __future__ import annotations

from typing import Any, Protocol

import structlog
from eventsourcing.persistence import PersistenceError

from adapters.pgrecorder import is_postgres

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
    """Settles holes with a watermark: sequence value, then the writers that may still own it."""

    serialised = False

    def __init__(self, recorder: Any) -> None:
        from psycopg.sql import SQL, Identifier, Literal

        self.datastore = recorder.datastore
        schema = recorder.datastore.schema or "public"
        table = f"{schema}.{recorder.events_table_name}"
        self.sequence_statement = SQL("SELECT last_value, is_called FROM {0}.{1}").format(
            Identifier(schema), Identifier(f"{recorder.events_table_name}_notification_id_seq"))
        holders = (
            "SELECT virtualtransaction FROM pg_locks WHERE locktype = 'relation' "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND relation = to_regclass({0}) AND mode = 'RowExclusiveLock' "
            "AND pid IS DISTINCT FROM pg_backend_pid()"
        )
        self.writers_statement = SQL(holders).format(Literal(f'"{schema}"."{recorder.events_table_name}"'))
        self.still_statement = SQL(holders + " AND virtualtransaction = ANY(%s) LIMIT 1").format(
            Literal(f'"{schema}"."{recorder.events_table_name}"'))
        self.table = table
        #: (sequence value, writers that may own ids up to it) waiting for those writers to end
        self.pending: tuple[int, list[str]] | None = None

    def settle(self) -> int | None:
        try:
            with self.datastore.get_connection() as conn, conn.cursor() as curs:
                if self.pending is not None:
                    curs.execute(self.still_statement, (self.pending[1],), prepare=True)
                    if curs.fetchone() is not None:
                        return None
                    settled, self.pending = self.pending[0], None
                    return settled
                curs.execute(self.sequence_statement, prepare=True)
                row = curs.fetchone()
                mark = int(row["last_value"]) if row and row["is_called"] else 0
                curs.execute(self.writers_statement, prepare=True)
                writers = [r["virtualtransaction"] for r in curs.fetchall()]
        except PersistenceError as exc:
            log.debug("log hole not settled yet", reason=str(exc).splitlines()[0])
            return None
        if not writers:
            return mark
        self.pending = (mark, writers)
        return None


class SharedLockGapGuard:
    """Settles holes with a brief SHARE lock on the events table (waits for every writer)."""

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
        return int(row["max"] or 0) if row else 0


def gap_guard_for(recorder: Any) -> GapGuard:
    if is_postgres(recorder):
        return PostgresGapGuard(recorder)
    return SerialisedLog()
