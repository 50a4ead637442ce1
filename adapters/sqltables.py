"""Tables the hub keeps beside the events (tokens, keys, logos, users, read trail)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


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
