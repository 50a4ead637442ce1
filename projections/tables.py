"""Read-model tables: their shape, and SQL for them on PostgreSQL and SQLite.

Every value is stored as text or an integer (booleans as 0/1, instants as fixed-width UTC text,
lists as JSON text), so a read model holds the same rows on both databases.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Row = dict[str, Any]

_SQL_TYPES = {
    "postgres": {"text": "TEXT", "int": "BIGINT"},
    "sqlite": {"text": "TEXT", "int": "INTEGER"},
}


@dataclass(frozen=True)
class Table:
    """One read-model table: its columns (name → ``text`` or ``int``), key and indexes."""

    name: str
    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.columns)

    def key_of(self, row: Row) -> Any:
        return row[self.key[0]] if len(self.key) == 1 else tuple(row[k] for k in self.key)


def instant(value: datetime | None) -> str | None:
    """A fixed-width UTC text for an instant: text order is time order."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_instant(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class Dialect:
    """SQL text for one database: placeholders, qualified names, upserts."""

    kind: str
    schema: str = ""

    @property
    def placeholder(self) -> str:
        return "%s" if self.kind == "postgres" else "?"

    def sql(self, statement: str) -> str:
        """Statements are written with ``%s``; SQLite wants ``?``."""
        return statement if self.kind == "postgres" else statement.replace("%s", "?")

    def qualified(self, name: str) -> str:
        return f'"{self.schema}"."{name}"' if self.kind == "postgres" else f'"{name}"'

    def create(self, table: Table, physical: str) -> list[str]:
        types = _SQL_TYPES[self.kind]
        cols = ", ".join(f'"{c}" {types[t]}' for c, t in table.columns)
        key = ", ".join(f'"{k}"' for k in table.key)
        statements = [f"CREATE TABLE IF NOT EXISTS {self.qualified(physical)} ({cols}, PRIMARY KEY ({key}))"]
        for columns in table.indexes:
            name = f"{physical}_{'_'.join(columns)}_{secrets.token_hex(3)}"[:63]
            cols_sql = ", ".join(f'"{c}"' for c in columns)
            statements.append(f'CREATE INDEX "{name}" ON {self.qualified(physical)} ({cols_sql})')
        return statements

    def upsert(self, table: Table, physical: str) -> str:
        names = table.column_names
        cols = ", ".join(f'"{c}"' for c in names)
        values = ", ".join(self.placeholder for _ in names)
        key = ", ".join(f'"{k}"' for k in table.key)
        rest = [c for c in names if c not in table.key]
        action = (
            "DO UPDATE SET " + ", ".join(f'"{c}" = excluded."{c}"' for c in rest)
            if rest else "DO NOTHING"
        )
        return (f"INSERT INTO {self.qualified(physical)} ({cols}) VALUES ({values}) "
                f"ON CONFLICT ({key}) {action}")

    def delete(self, table: Table, physical: str) -> str:
        where = " AND ".join(f'"{k}" = {self.placeholder}' for k in table.key)
        return f"DELETE FROM {self.qualified(physical)} WHERE {where}"

    def select_keys(self, table: Table, physical: str, count: int) -> str:
        """Rows whose (single-column) key is one of ``count`` values."""
        cols = ", ".join(f'"{c}"' for c in table.column_names)
        if self.kind == "postgres":
            return f'SELECT {cols} FROM {self.qualified(physical)} WHERE "{table.key[0]}" = ANY(%s)'
        marks = ", ".join("?" for _ in range(count))
        return f'SELECT {cols} FROM {self.qualified(physical)} WHERE "{table.key[0]}" IN ({marks})'

    def table_exists_sql(self) -> str:
        if self.kind == "postgres":
            return "SELECT to_regclass(%s) IS NOT NULL"
        return "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"

    def columns_sql(self, physical: str) -> tuple[str, list[str]]:
        """A query of a table's column names (as ``name``) and its parameters."""
        if self.kind == "postgres":
            return ("SELECT column_name AS name FROM information_schema.columns "
                    "WHERE table_schema = %s AND table_name = %s", [self.schema, physical])
        return (f"SELECT name FROM pragma_table_info('{physical}')", [])

    def add_column(self, physical: str, column: str, kind: str) -> str:
        return (f'ALTER TABLE {self.qualified(physical)} ADD COLUMN "{column}" '
                f"{_SQL_TYPES[self.kind][kind]}")

    def exists_param(self, physical: str) -> str:
        return f'"{self.schema}"."{physical}"' if self.kind == "postgres" else physical
