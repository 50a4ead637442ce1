"""The hub's PostgreSQL process recorder: the library's, without its global write lock.

The library's recorder takes ``LOCK TABLE ... IN EXCLUSIVE MODE`` and sends ``NOTIFY`` in every
inserting transaction. Both serialise every commit of the hub behind one WAL flush at a time
(``NOTIFY`` takes a cluster-wide lock at pre-commit and keeps it through the flush). This
recorder does neither, so writers of different aggregates commit concurrently and PostgreSQL
groups their flushes. Log positions may then commit out of order: every reader of the log goes
through ``hub.follow``, which never passes a hole until ``adapters.loggaps`` proves it final.
Nothing in the hub uses ``subscribe()`` (LISTEN): followers poll.

Two writers saving the same aggregates in different orders would deadlock on the primary key
(PostgreSQL cancels one after ``deadlock_timeout``, 1 s). A transaction that writes several
aggregates first takes transaction-scoped advisory locks on their ids, in one sorted order, in
the same pipeline (no extra round trip); the loser of a race still fails on the primary key and
its command is retried, as before. The tracking record of a follower is written in the same
transaction, as in the library (its DB-function insert path would drop it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    ApplicationRecorder,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresProcessRecorder
from eventsourcing.utils import retry
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from adapters.keystore import pending_keys
from adapters.pgarrays import ByteaArray, Int8Array, TextArray, UuidArray
from adapters.sqltables import create_tables

#: ``PROCESS_RECORDER_TOPIC`` for ``eventsourcing.postgres`` (see ``adapters.eventstore``).
TOPIC = "adapters.pgrecorder:ConcurrentProcessRecorder"
_ADVISORY = SQL("SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k")


def lock_key(originator_id: UUID | str) -> int:
    """A signed 64-bit advisory lock key for an aggregate id."""
    value = originator_id.int if isinstance(originator_id, UUID) else UUID(str(originator_id)).int
    return (value & 0xFFFF_FFFF_FFFF_FFFF) - (1 << 63)


def without_jit(datastore: Any) -> None:
    """Connections of this datastore made from now on run with ``jit = off``.

    The hub's queries are point reads and small writes. Planned against a table not analyzed
    yet (a store just bulk-loaded or restored: no statistics), their estimated cost passes
    ``jit_above_cost`` and PostgreSQL compiles each execution: 3-25 ms for a 0.1 ms read (seen:
    SIU ingest 3x slower on a freshly written history of 100,000 appointments)."""
    pool: Any = getattr(datastore, "pool", None)
    kwargs = getattr(pool, "kwargs", None)
    if isinstance(kwargs, dict):
        options = str(kwargs.get("options") or "")
        if "jit=" not in options:
            kwargs["options"] = f"{options} -c jit=off".strip()
            if not pool.closed:  # connections made before: replaced by new ones
                pool.drain()


def is_postgres(recorder: Any) -> bool:
    """True for the hub's and the library's PostgreSQL recorders."""
    return isinstance(recorder, PostgresApplicationRecorder)


class ConcurrentProcessRecorder(PostgresProcessRecorder):
    """Inserts events (and a follower's tracking record) without a table lock or NOTIFY,
    with the data keys and links they were sealed with (``adapters.keystore.PendingKeys``)."""

    writes_pending_keys = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        without_jit(kwargs.get("datastore", args[0] if args else None))
        super().__init__(*args, **kwargs)
        self.lock_table_statements = []
        self._one_statements: dict[str | None, bytes] = {}
        # LATERAL: one primary-key range scan per aggregate, whatever the planner guesses.
        # Statements are rendered to bytes once: psycopg renders a ``Composed`` per execution.
        self.select_after_statement = SQL(
            "SELECT e.originator_id, e.originator_version, e.topic, e.state "
            "FROM unnest(%b::uuid[], %b::bigint[]) AS w(id, after) "
            "CROSS JOIN LATERAL (SELECT * FROM {0}.{1} s WHERE s.originator_id = w.id "
            "AND s.originator_version > w.after ORDER BY s.originator_version) e"
        ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name)).as_bytes(None)

    def create_table(self) -> None:
        """The library's tables, then an index on (topic, position): reading the events of a
        few topics in log order (``StoreReads``: clinics, services, professionals, senders)
        is then a range scan of those events, not a scan of the whole log (145 ms → 0.1 ms
        for ``Service.Defined`` in a log of 200,000 events). Built once, on first start
        after an upgrade (writes wait while it is built)."""
        super().create_table()
        table, schema = self.events_table_name, self.datastore.schema
        create_tables(self.datastore, [f'CREATE INDEX IF NOT EXISTS "{table}_topic_idx" '
                                       f'ON "{schema}"."{table}" (topic, notification_id)'])

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        try:
            if kwargs.get("tracking") is None and stored_events and not self.datastore.enable_db_functions:
                return self._insert_in_one_statement(stored_events)
            return super().insert_events(stored_events, **kwargs)
        except IntegrityError as exc:
            pending = pending_keys()
            raced = pending.store.raced(pending, exc) if pending is not None else None
            if raced is not None:
                raise raced from exc
            raise

    def _insert_in_one_statement(self, stored_events: Sequence[StoredEvent]) -> list[int]:
        """A command's events (no tracking record) with their pending data keys and links,
        in ONE statement on an autocommit connection: one round trip, which is the whole
        transaction (the library's path takes a pipeline of BEGIN, the inserts, a sync and
        COMMIT, and dumps a composite type per event). The advisory locks of several
        aggregates are an uncorrelated subquery: taken once, before the first row."""
        pending = pending_keys()
        events = (
            UuidArray([e.originator_id for e in stored_events]),
            Int8Array([e.originator_version for e in stored_events]),
            TextArray([e.topic for e in stored_events]), ByteaArray([e.state for e in stored_events]),
            Int8Array(sorted({lock_key(e.originator_id) for e in stored_events})
                      if len(stored_events) > 1 else ()),
        )
        params: tuple[Any, ...] = events
        with_keys = None
        if pending is not None and pending:
            with_keys = pending.store.pending_statement()
            params = (*pending.store.pending_params(pending), *events)
            pending.flushed = True
        with (self.datastore.get_connection() as conn, self._one_transaction(conn),
              conn.cursor(row_factory=tuple_row) as curs):
            curs.execute(self._one_statement(with_keys), params, prepare=True)
            ids = [row[0] for row in curs.fetchall()]
            self._inserted(ids)
        if len(ids) != len(stored_events):  # as the library's ``_fetch_ids_after_insert_events``
            raise ProgrammingError(f"Couldn't get all notification IDs (got {len(ids)}, "
                                   f"expected {len(stored_events)})")
        return ids

    def _inserted(self, ids: list[int]) -> None:
        """The positions the events took, before their commit (a test seam: ``tests.support.held``)."""

    def _one_transaction(self, conn: Any) -> Any:
        """The statement is its own transaction (autocommit); a test recorder that must hold
        one open after its insert opens an explicit one (``tests.support.held``)."""
        return nullcontext()

    def _one_statement(self, with_keys: str | None) -> bytes:
        """The statement, rendered once (psycopg renders a ``Composed`` on every execution)."""
        statement = self._one_statements.get(with_keys)
        if statement is None:
            statement = (SQL(with_keys or "") + SQL(
                "INSERT INTO {0}.{1} (originator_id, originator_version, topic, state) "
                "SELECT i, v, t, s FROM unnest(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[]) "
                "AS e(i, v, t, s) "
                "WHERE (SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%b::bigint[]) AS a(k)) >= 0 "
                "RETURNING notification_id"
            ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
            ).as_bytes(None)
            self._one_statements[with_keys] = statement
        return statement

    def _insert_stored_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        pending = pending_keys()  # data keys and links the events were just sealed with
        if pending is not None:
            pending.flush(curs)
        keys = sorted({lock_key(e.originator_id) for e in stored_events})
        if len(keys) > 1:
            curs.execute(_ADVISORY, (keys,), prepare=True)
        super()._insert_stored_events(curs, stored_events, **kwargs)

    def _lock_table(self, curs: Any) -> None:
        """No table lock: writers of different aggregates commit concurrently."""

    def _notify_channel(self, curs: Any) -> None:
        """No NOTIFY: it would serialise commits again (followers poll)."""

    def select_events_after(self, after: Mapping[UUID, int]) -> list[StoredEvent]:
        """The events of many aggregates, each after a given version, in one query."""
        return select_events_after(self, after)


def select_events_after(recorder: ApplicationRecorder, after: Mapping[UUID, int]) -> list[StoredEvent]:
    """Events of many aggregates after given versions: one query on PostgreSQL, one per
    aggregate elsewhere (SQLite and memory stores are in process: no round trip to save)."""
    if not after:
        return []
    statement = getattr(recorder, "select_after_statement", None)
    if statement is None:
        found: list[StoredEvent] = []
        for originator_id, version in after.items():
            found.extend(recorder.select_events(originator_id, gt=version))
        return found
    ids = UuidArray(after)
    datastore = recorder.datastore  # type: ignore[attr-defined]  # PostgreSQL recorders have one
    with datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
        curs.execute(statement, (ids, Int8Array(after[i] for i in ids)), prepare=True)
        return [StoredEvent(originator_id=i, originator_version=v, topic=t, state=bytes(s))
                for i, v, t, s in curs.fetchall()]
