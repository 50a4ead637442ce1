"""Tables the hub keeps beside the events (tokens, keys, logos, users, read trail)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

S = TypeVar("S")
M = TypeVar("M")
SqlDatastore = PostgresDatastore | SQLiteDatastore


def store_beside(recorder: Any, sql: Callable[[SqlDatastore], S], memory: Callable[[], M]) -> S | M:
    """A store beside an application's recorder: its tables in the same database, through the
    same pool (``sql(datastore)``), or in memory when the events are (``memory()``)."""
    datastore = getattr(recorder, "datastore", None)
    if isinstance(datastore, PostgresDatastore | SQLiteDatastore):
        return sql(datastore)
    return memory()


def sql_names(datastore: SqlDatastore, *tables: str) -> tuple[bool, str, list[str]]:
    """(PostgreSQL?, the parameter mark, the tables' qualified names) on ``datastore``."""
    if isinstance(datastore, PostgresDatastore):
        return True, "%s", [f'"{datastore.schema}".{t}' for t in tables]
    return False, "?", list(tables)


def create_tables(datastore: Any, statements: Iterable[str]) -> None:
    """Run each ``CREATE TABLE IF NOT EXISTS`` in its own transaction; processes starting
    together may race to create the same table, and the loser's error is harmless."""
    for statement in statements:
        try:
            with datastore.transaction(commit=True) as cursor:
                cursor.execute(statement)
        except Exception as exc:  # noqa: BLE001 - a concurrent creator won: fine
            if "already exists" not in str(exc) and "duplicate key" not in str(exc):
                raise
