"""Changes to the API tokens (a revocation, a rotation), announced with PostgreSQL ``NOTIFY``.

The access store announces each change on its schema's channel in the transaction that makes
it, so the announcement is delivered when the change commits, from whichever process made it
(``hub tokens revoke``, another server). ``TokenChanges`` listens on a connection of its own,
in a thread, and calls ``on_change`` for each announcement, and also whenever it starts or
stops listening (what was announced meanwhile was missed). ``listening`` says whether
announcements are being received: a server remembers tokens only while it is true.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import psycopg
import structlog
from eventsourcing.postgres import PostgresDatastore
from psycopg import sql

log = structlog.get_logger("adapters.token_changes")


def channel_of(datastore: PostgresDatastore) -> str:
    """The ``NOTIFY`` channel of the tokens table of ``datastore``'s schema."""
    return f"hub_api_tokens_{datastore.schema}"[:63]


class TokenChanges:
    """Follows the announced token changes of one schema (start, then close)."""

    def __init__(self, datastore: PostgresDatastore, on_change: Callable[[], None],
                 retry_seconds: float = 1.0) -> None:
        pool = datastore.pool  # where its connections go (psycopg_pool's ConnectionPool)
        self._conninfo = pool.conninfo if isinstance(pool.conninfo, str) else ""
        given = pool.kwargs if isinstance(pool.kwargs, dict) else {}
        self._kwargs = {k: v for k, v in given.items()
                        if k in ("dbname", "host", "port", "user", "password") and v}
        self.channel = channel_of(datastore)
        self.on_change = on_change
        self.retry_seconds = retry_seconds
        self._listening = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="token-changes", daemon=True)
        self._thread.start()

    def wait_listening(self, timeout: float) -> bool:
        return self._listening.wait(timeout)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, **self._kwargs) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                    self.on_change()  # changes made before we listened: look again
                    self._listening.set()
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=0.5):
                            self.on_change()
            except psycopg.Error as exc:
                log.warning("token changes not followed; retrying", error=type(exc).__name__)
            finally:
                self._listening.clear()
                self.on_change()
            self._stop.wait(self.retry_seconds)
