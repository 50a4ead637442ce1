"""A batch's rows written to PostgreSQL in one statement per table.

``ReadModel.store`` used to send one upsert per row (``executemany``, pipelined): its cost
per row in psycopg was most of the runner's row writing. Here a table's changed rows go as
one array per column, dumped in binary, to ONE ``INSERT … SELECT * FROM unnest(…) ON CONFLICT``
(a few hundred rows), or through a binary ``COPY`` into a temporary stage table and one
``INSERT … SELECT`` from it (many rows, as a rebuild's chunks have); deleted keys go as one
``DELETE … WHERE key = ANY(…)``. The statements are prepared on each connection.

Every value is sent as its column's type (``text`` or ``bigint``): a value of another type is
converted first (``str`` or ``int``), as the row-by-row upsert let PostgreSQL do.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from projections.tables import Dialect, Row, Table

#: Above this many rows, a table's rows go through ``COPY`` (cheaper per row, more round trips).
COPY_ABOVE = 200
_PG = {"text": "text", "int": "int8"}
_PY = {"text": str, "int": int}
_NONE = type(None)


def columns(table: Table, rows: Sequence[Row]) -> list[list[Any]]:
    """The rows' values, one list per column of ``table``, each value of its column's type."""
    return [_typed([r.get(name) for r in rows], kind) for name, kind in table.columns]


def _typed(values: list[Any], kind: str) -> list[Any]:
    wanted = _PY[kind]
    if set(map(type, values)) <= {wanted, _NONE}:
        return values
    return [None if v is None else wanted(v) for v in values]


def upsert_rows(curs: Any, dialect: Dialect, table: Table, physical: str, rows: Sequence[Row]) -> None:
    """Insert ``rows`` or update them by key, in one statement (or a COPY and one statement)."""
    values = columns(table, rows)
    if len(rows) <= COPY_ABOVE:
        curs.execute(_unnest_upsert(dialect, table, physical), values, prepare=True)
        return
    stage = f"stage_{table.name}"
    names = ", ".join(f'"{c}"' for c in table.column_names)
    curs.execute(f'CREATE TEMP TABLE IF NOT EXISTS "{stage}" '
                 f"(LIKE {dialect.qualified(physical)}) ON COMMIT DELETE ROWS")
    with curs.copy(f'COPY "{stage}" ({names}) FROM STDIN (FORMAT BINARY)') as copy:
        copy.set_types([_PG[kind] for _, kind in table.columns])
        for row in zip(*values, strict=True):
            copy.write_row(row)
    head, conflict = _upsert_parts(dialect, table, physical)
    curs.execute(f'{head} SELECT {names} FROM "{stage}" {conflict}')
    curs.execute(f'TRUNCATE "{stage}"')  # the same transaction may stage this table again


def delete_keys(curs: Any, dialect: Dialect, table: Table, physical: str, keys: Sequence[Any]) -> None:
    """Delete the rows of these keys."""
    if len(table.key) == 1:
        values = _typed(list(keys), dict(table.columns)[table.key[0]])
        curs.execute(_delete_any(dialect, table, physical), [values], prepare=True)
    else:
        curs.executemany(dialect.delete(table, physical), [tuple(k) for k in keys])


@cache
def _upsert_parts(dialect: Dialect, table: Table, physical: str) -> tuple[str, str]:
    """``INSERT INTO t (cols)`` and its ``ON CONFLICT …`` clause."""
    upsert = dialect.upsert(table, physical)
    head, _, tail = upsert.partition(" VALUES (")
    return head, tail[tail.index("ON CONFLICT") :]


@cache
def _unnest_upsert(dialect: Dialect, table: Table, physical: str) -> str:
    head, conflict = _upsert_parts(dialect, table, physical)
    arrays = ", ".join(f"%b::{_PG[kind]}[]" for _, kind in table.columns)
    return f"{head} SELECT * FROM unnest({arrays}) {conflict}"


@cache
def _delete_any(dialect: Dialect, table: Table, physical: str) -> str:
    key = table.key[0]
    kind = dict(table.columns)[key]
    return f'DELETE FROM {dialect.qualified(physical)} WHERE "{key}" = ANY(%b::{_PG[kind]}[])'
