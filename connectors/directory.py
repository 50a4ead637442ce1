"""A clinic's staff and services as an EMR exports them (seed 002): rows, row conflicts, CSV.

``parse_source(kind, text)`` reads a FHIR Bundle (JSON) or a CSV file into rows the hub can
import, and the rows it cannot (with the reason, to fix in the EMR). A source that is not a
Bundle nor a CSV with the expected header is refused whole (``MalformedSource``).
"""

from __future__ import annotations

import csv
import io
import json

from aggregates.errors import InvalidValue
from connectors.fhir.directory import parse_bundle
from hub.imports.rows import MalformedSource, Parsed, RowConflict, ServiceRow, StaffRow, service_row, staff_row

STAFF_COLUMNS = ("source_id", "name", "type", "licence")
SERVICE_COLUMNS = (
    "source_id", "name", "duration_minutes", "category", "online", "cancellation_delay_hours",
    "product",
)
REQUIRED_COLUMNS = {"staff": ("source_id", "name", "type"), "services": ("source_id", "name")}


def source_format(text: str) -> str:
    """``fhir`` for JSON, ``csv`` otherwise."""
    return "fhir" if text.lstrip().startswith("{") else "csv"


def parse_source(kind: str, text: str) -> Parsed:
    if kind not in REQUIRED_COLUMNS:
        raise InvalidValue(f"kind must be staff or services; got {kind!r}", field="kind")
    if not text.strip():
        raise MalformedSource("the import source is empty", field="source")
    if source_format(text) == "fhir":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MalformedSource(f"the source is not valid JSON: {exc}", field="source") from None
        return parse_bundle(kind, data)
    return parse_csv(kind, text)


def parse_csv(kind: str, text: str) -> Parsed:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS[kind] if c not in header]
    if missing:
        raise MalformedSource(
            f"the CSV header lacks column(s) {', '.join(missing)}; expected "
            f"{','.join(STAFF_COLUMNS if kind == 'staff' else SERVICE_COLUMNS)}",
            field="source",
        )
    parsed = Parsed()
    for number, raw in enumerate(reader, start=2):
        if None in raw:
            raise MalformedSource(f"CSV line {number} has more fields than the header", field="source")
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        source_id = row.get("source_id") or f"line-{number}"
        name = row.get("name", "")
        result: StaffRow | ServiceRow | RowConflict
        if kind == "staff":
            result = staff_row(source_id, name, [row.get("type", "")], row.get("licence"))
        else:
            result = _service_from_csv(source_id, name, row)
        if isinstance(result, RowConflict):
            parsed.conflicts.append(result)
        else:
            parsed.rows.append(result)
    return parsed


def _service_from_csv(source_id: str, name: str, row: dict[str, str]) -> ServiceRow | RowConflict:
    if not name:
        return RowConflict(source_id, name, "missing required field: name")
    if not row.get("duration_minutes"):
        return RowConflict(source_id, name, "service without duration")
    try:
        return service_row(
            source_id, name, int(row["duration_minutes"]), row.get("category") or "in_person",
            _boolean(row.get("online", "")), int(row.get("cancellation_delay_hours") or 0),
            row.get("product") or None,
        )
    except ValueError as exc:
        return RowConflict(source_id, name, f"invalid value: {exc}")


def _boolean(value: str) -> bool:
    folded = value.strip().lower()
    if folded in ("1", "true", "yes", "oui", "y", "o", "vrai"):
        return True
    if folded in ("", "0", "false", "no", "non", "n", "faux"):
        return False
    raise ValueError(f"online must be true or false; got {value!r}")



class DirectorySources:
    """The ``DirectorySource`` the hub's imports read with: FHIR Bundles and CSV files."""

    def parse(self, kind: str, text: str) -> Parsed:
        return parse_source(kind, text)

    def format_of(self, text: str) -> str:
        return source_format(text)


SOURCES = DirectorySources()
