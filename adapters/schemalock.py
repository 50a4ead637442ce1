"""Processes take turns creating the hub's tables in one PostgreSQL schema.

Every hub process creates the tables it needs when it starts (the event store's, the read
models', the tokens'), with ``CREATE TABLE IF NOT EXISTS``. PostgreSQL does not make two such
statements for the same new table safe at once: of two API servers started together on an
empty database, one fails (a unique violation on the catalogue, or the event store's migration
record). A session advisory lock per schema, held while a process builds its parts, makes them
take turns; once the tables exist, holding it costs one connection and one round trip.
Re-entrant within a process (the API's start-up builds the store, then the read models).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from adapters.leases import advisory_key

_lock = threading.RLock()
_held: dict[tuple[str, ...], tuple[Any, int]] = {}


@contextmanager
def schema_setup_lock(env: Mapping[str, str], timeout: float = 120.0) -> Iterator[None]:
    """Hold the schema's set-up lock for the eventsourcing environment ``env`` (PostgreSQL);
    nothing to hold for SQLite (one writer at a time) or the in-memory store."""
    if env.get("PERSISTENCE_MODULE") != "eventsourcing.postgres":
        yield
        return
    where = tuple(env.get(f"POSTGRES_{k}", "") for k in ("HOST", "PORT", "DBNAME", "USER", "SCHEMA"))
    with _lock:
        conn, depth = _held.get(where, (None, 0))
        if conn is None:
            conn = _acquire(env, timeout)
        _held[where] = (conn, depth + 1)
        try:
            yield
        finally:
            conn, depth = _held.pop(where)
            if depth > 1:
                _held[where] = (conn, depth - 1)
            else:
                conn.close()  # the session's advisory lock goes with it


def _acquire(env: Mapping[str, str], timeout: float) -> Any:
    import psycopg

    conn = psycopg.connect(
        host=env.get("POSTGRES_HOST"), port=env.get("POSTGRES_PORT"),
        dbname=env.get("POSTGRES_DBNAME"), user=env.get("POSTGRES_USER"),
        password=env.get("POSTGRES_PASSWORD") or None, autocommit=True, connect_timeout=10,
        application_name="hub set-up",
    )
    schema = env.get("POSTGRES_SCHEMA") or "public"
    try:
        conn.execute(f"SET lock_timeout = {int(timeout * 1000)}")
        conn.execute("SELECT pg_advisory_lock(%s)", (advisory_key(f"hub-schema-setup:{schema}"),))
    except BaseException:
        conn.close()
        raise
    return conn
