"""The rows one batch of events touches: loaded once, changed in memory, written together."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from projections.tables import Row

if TYPE_CHECKING:
    from projections.readmodel import ReadModel


class Changes:
    """The rows one batch of events touches: loaded once, changed in memory, written together."""

    def __init__(self, model: ReadModel, curs: Any) -> None:
        self.model = model
        self.curs = curs
        self.rows: dict[str, dict[Any, Row | None]] = defaultdict(dict)
        self.dirty: dict[str, set[Any]] = defaultdict(set)

    def prefetch(self, wanted: dict[str, set[Any]]) -> None:
        for name, keys in wanted.items():
            cache = self.rows[name]
            missing = [k for k in keys if k not in cache]
            if not missing:
                continue
            found = self.model.load(self.curs, self.model.by_name[name], missing)
            for key in missing:
                cache[key] = found.get(key)

    def get(self, table: str, key: Any) -> Row | None:
        cache = self.rows[table]
        if key not in cache:
            cache[key] = self.model.load(self.curs, self.model.by_name[table], [key]).get(key)
        return cache[key]

    def put(self, table: str, row: Row) -> None:
        key = self.model.by_name[table].key_of(row)
        self.rows[table][key] = row
        self.dirty[table].add(key)

    def update(self, table: str, key: Any, **fields: Any) -> Row | None:
        """Change some fields of a row; a row the model never saw is left alone."""
        row = self.get(table, key)
        if row is not None:
            row.update(fields)
            self.dirty[table].add(key)
        return row

    def delete(self, table: str, key: Any) -> None:
        self.rows[table][key] = None
        self.dirty[table].add(key)

    def where(self, table: str, column: str, value: Any) -> list[Row]:
        """The rows of ``table`` whose ``column`` equals ``value`` (changes so far included)."""
        self.flush()
        spec = self.model.by_name[table]
        physical = self.model.dialect.qualified(self.model.physical(table))
        found = self.model.fetch(self.curs, f'SELECT * FROM {physical} WHERE "{column}" = %s',
                                 [value])
        for row in found:
            self.rows[table][spec.key_of(row)] = row
        return found

    def flush(self) -> None:
        for name, keys in self.dirty.items():
            cache = self.rows[name]
            kept = [cache[k] for k in keys if cache[k] is not None]
            gone = [k for k in keys if cache[k] is None]
            self.model.store(self.curs, self.model.by_name[name], kept, gone)  # type: ignore[arg-type]  # rows are dicts of column values
        self.dirty.clear()
