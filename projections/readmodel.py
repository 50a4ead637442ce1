"""A projection's materialised view: its tables plus its tracking row, in one database.

``ReadModel`` extends the eventsourcing library's tracking recorders (PostgreSQL, SQLite): the
rows a batch of events changed and the batch's ``Tracking`` are written in one transaction, so
every event is applied exactly once across crashes. The position is compare-and-set: a second
runner that raced this one fails its batch instead of applying events twice.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import IntegrityError, OperationalError, Tracking, TrackingRecorder
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder

from projections import bulk
from projections.tables import Dialect, Row, Table

SHADOW = "_shadow"


class PositionMoved(IntegrityError):
    """Another runner moved this read model's position: the batch was rolled back."""


class ReadModel(TrackingRecorder):
    """Tables of one projection (live, or the ``_shadow`` copy a rebuild fills)."""

    dialect: Dialect
    tables: tuple[Table, ...]
    suffix: str
    tracking_table: str

    if TYPE_CHECKING:  # given by the library's SQLite or PostgreSQL tracking recorder
        datastore: Any

        def create_table(self) -> None: ...

    def _setup(self, name: str, tables: tuple[Table, ...], suffix: str) -> None:
        self.projection_name = name
        self.tables = tables
        self.suffix = suffix
        self.by_name = {t.name: t for t in tables}

    def physical(self, table: str) -> str:
        return table + self.suffix

    # -- transactions ------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A write transaction. On SQLite it begins IMMEDIATE (the write lock first, waiting
        for it up to the lock timeout): a deferred one that read first could not take the lock
        once another connection (the events' writer) had committed, and failed at once with
        "database is locked"."""
        if self.dialect.kind != "sqlite":
            with self.datastore.transaction(commit=True) as curs:
                yield curs
            return
        with self.datastore.get_connection(commit=True) as conn:
            curs = conn.cursor()
            try:
                curs.execute("BEGIN IMMEDIATE")
                try:
                    yield curs
                except BaseException:
                    conn.rollback()
                    raise
                try:
                    conn.commit()
                except sqlite3.OperationalError as exc:  # as the library's transaction says it
                    raise OperationalError(exc) from exc
            finally:
                curs.sqlite_cursor.close()

    def fetch(self, curs: Any, statement: str, params: Iterable[Any] = ()) -> list[Row]:
        curs.execute(self.dialect.sql(statement), list(params))
        return [dict(r) for r in curs.fetchall()]

    def query(self, statement: str, params: Iterable[Any] = ()) -> list[Row]:
        """Run ONE read statement (``%s`` placeholders, ``{table}`` names) outside any batch,
        in its own implicit transaction: it sees one snapshot. On PostgreSQL a single round
        trip: no BEGIN/ROLLBACK around it (a ROLLBACK also makes psycopg drop the prepared
        statements of the connection, which the runner's batches share)."""
        if self.dialect.kind != "postgres":
            with self.datastore.transaction(commit=False) as curs:
                return self.fetch(curs, self.expand(statement), params)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            return self.fetch(curs, self.expand(statement), params)

    def select(self, statement: str, params: Iterable[Any] = ()) -> list[Row]:
        """``query`` (one statement, one snapshot)."""
        return self.query(statement, params)

    def expand(self, statement: str) -> str:
        """Replace ``{suivi_appointments}``-style names with this model's qualified tables."""
        names = {t.name: self.dialect.qualified(self.physical(t.name)) for t in self.tables}
        return statement.format(**names)

    # -- rows --------------------------------------------------------------------------
    def load(self, curs: Any, table: Table, keys: list[Any]) -> dict[Any, Row]:
        found: dict[Any, Row] = {}
        step = 10_000 if self.dialect.kind == "postgres" else 500
        for i in range(0, len(keys), step):
            part = keys[i : i + step]
            statement = self.dialect.select_keys(table, self.physical(table.name), len(part))
            params = [part] if self.dialect.kind == "postgres" else part
            curs.execute(statement, params)
            for r in curs.fetchall():
                row = dict(r)
                found[table.key_of(row)] = row
        return found

    def store(self, curs: Any, table: Table, rows: list[Row], deleted: list[Any]) -> None:
        """Write a batch's changed rows and delete its deleted keys (on PostgreSQL one statement
        per table each: ``projections.bulk``)."""
        physical = self.physical(table.name)
        if self.dialect.kind == "postgres":
            if deleted:
                bulk.delete_keys(curs, self.dialect, table, physical, deleted)
            if rows:
                bulk.upsert_rows(curs, self.dialect, table, physical, rows)
            return
        if deleted:
            keys = [k if isinstance(k, tuple) else (k,) for k in deleted]
            curs.executemany(self.dialect.delete(table, physical), keys)
        if rows:
            names = table.column_names
            curs.executemany(self.dialect.upsert(table, physical),
                             [tuple(map(r.get, names)) for r in rows])

    def rows(self, table: str) -> list[Row]:
        """Every row of a table in key order (tests and rebuild checks)."""
        spec = self.by_name[table]
        order = ", ".join(f'"{k}"' for k in spec.key)
        return self.query(f"SELECT * FROM {{{table}}} ORDER BY {order}")

    # -- tracking ----------------------------------------------------------------------
    def position(self, application_name: str, curs: Any | None = None) -> int:
        if curs is None:
            return self.max_tracking_id(application_name) or 0
        return self._max_tracking_id(application_name, curs) or 0  # type: ignore[attr-defined]  # the recorders' in-transaction read

    def track(self, curs: Any, tracking: Tracking, expected: int) -> None:
        """Record the batch's position, if the position is still the one the batch began at:
        one compare-and-set ``UPDATE`` of the tracking row (which holds its lock until the
        transaction ends, so a racing runner waits here, then finds the position moved)."""
        name, position = tracking.application_name, tracking.notification_id
        if position > expected:
            curs.execute(self.dialect.sql(
                f"UPDATE {self.dialect.qualified(self.tracking_table)} SET notification_id = %s "
                "WHERE application_name = %s AND notification_id = %s RETURNING notification_id"),
                [position, name, expected])
            if curs.fetchone() is not None:
                return
        current = self._locked_position(curs, name)  # no row updated: say why
        if current != expected:
            raise PositionMoved(
                f"{self.projection_name}{self.suffix} moved to {current} (expected {expected})"
            )
        if position > current:  # no tracking row yet
            self._insert_tracking(curs, tracking)  # type: ignore[attr-defined]  # the recorders' in-transaction write

    def ensure_position(self, application_name: str) -> None:
        """Give the tracking table a row (position 0) to lock, so even the very first batches
        of two racing runners are serialised by the compare-and-set."""
        table = self.dialect.qualified(self.tracking_table)
        with self.transaction() as curs:
            curs.execute(self.dialect.sql(f"INSERT INTO {table} (application_name, notification_id) "
                                          "VALUES (%s, 0) ON CONFLICT (application_name) DO NOTHING"),
                         [application_name])

    def _locked_position(self, curs: Any, application_name: str) -> int:
        lock = " FOR UPDATE" if self.dialect.kind == "postgres" else ""
        statement = (f"SELECT notification_id FROM {self.dialect.qualified(self.tracking_table)} "
                     f"WHERE application_name = %s{lock}")
        curs.execute(self.dialect.sql(statement), [application_name])
        row = curs.fetchone()
        return (row["notification_id"] if row else 0) or 0

    # -- lifecycle ---------------------------------------------------------------------
    def table_exists(self, curs: Any, physical: str) -> bool:
        curs.execute(self.dialect.table_exists_sql(), [self.dialect.exists_param(physical)])
        return bool(list(dict(curs.fetchone()).values())[0])

    def create_tables(self) -> None:
        """Create missing tables; add columns a newer version declares to existing ones (their
        rows get NULL there, which later events fill in: only for columns where NULL is the
        right value of the events stored before, e.g. a slot's ``reserved_for``)."""
        with self.transaction() as curs:
            for table in self.tables:
                physical = self.physical(table.name)
                if not self.table_exists(curs, physical):
                    for statement in self.dialect.create(table, physical):
                        curs.execute(statement)
                    continue
                curs.execute(*self.dialect.columns_sql(physical))
                present = {dict(r)["name"] for r in curs.fetchall()}
                for column, kind in table.columns:
                    if column not in present:
                        curs.execute(self.dialect.add_column(physical, column, kind))

    def drop_tables(self, curs: Any) -> None:
        for name in [*(self.physical(t.name) for t in self.tables), self.tracking_table]:
            curs.execute(f"DROP TABLE IF EXISTS {self.dialect.qualified(name)}")

    def replace(self, curs: Any, live: ReadModel) -> None:
        """Inside the caller's transaction: drop ``live``'s tables, rename ours into place."""
        live.drop_tables(curs)
        pairs = [(self.physical(t.name), live.physical(t.name)) for t in self.tables]
        pairs.append((self.tracking_table, live.tracking_table))
        for old, new in pairs:
            curs.execute(f'ALTER TABLE {self.dialect.qualified(old)} RENAME TO "{new}"')

    def lock_for_swap(self, curs: Any) -> None:
        """Hold the write lock on these tables until the transaction ends."""
        if self.dialect.kind == "postgres":
            names = [self.dialect.qualified(self.physical(t.name)) for t in self.tables]
            names.append(self.dialect.qualified(self.tracking_table))
            curs.execute(f"LOCK TABLE {', '.join(names)} IN ACCESS EXCLUSIVE MODE")
        else:
            curs.execute(f"UPDATE {self.dialect.qualified(self.tracking_table)} "
                         "SET notification_id = notification_id WHERE 1 = 0")


class PostgresReadModel(ReadModel, PostgresTrackingRecorder):
    def __init__(self, datastore: PostgresDatastore, name: str, tables: tuple[Table, ...],
                 suffix: str = "") -> None:
        self.tracking_table = f"{name}_tracking{suffix}"
        PostgresTrackingRecorder.__init__(self, datastore, tracking_table_name=self.tracking_table)
        self.dialect = Dialect("postgres", datastore.schema)
        self._setup(name, tables, suffix)


class SQLiteReadModel(ReadModel, SQLiteTrackingRecorder):
    """The library's SQLite tracking recorder, with a tracking table of its own."""

    def __init__(self, datastore: SQLiteDatastore, name: str, tables: tuple[Table, ...],
                 suffix: str = "") -> None:
        self.tracking_table = f"{name}_tracking{suffix}"
        SQLiteTrackingRecorder.__init__(self, datastore)
        table = f'"{self.tracking_table}"'
        self.insert_tracking_statement = (
            f"INSERT INTO {table} VALUES (:application_name, :notification_id) "
            "ON CONFLICT (application_name) DO UPDATE SET notification_id = :notification_id "
            f"WHERE {table}.notification_id < :notification_id RETURNING notification_id"
        )
        self.select_max_tracking_id_statement = (
            f"SELECT MAX(notification_id) FROM {table} WHERE application_name=?"
        )
        self.dialect = Dialect("sqlite")
        self._setup(name, tables, suffix)

    def construct_create_table_statements(self) -> list[str]:
        return [
            f'CREATE TABLE IF NOT EXISTS "{self.tracking_table}" (application_name TEXT, '
            "notification_id INTEGER, PRIMARY KEY (application_name)) WITHOUT ROWID"
        ]
