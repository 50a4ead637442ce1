"""``hub audit export``: every stored event with who, when, what and from which source.

Read from the log itself, in order (``hub.follow``: up to its settled head, so no event that
is still being committed is missed), not from a read model: the export is the record of what
happened. ``--clinic`` keeps the events of the clinic and of what belongs to it: an aggregate
belongs to the clinic its first event names (``clinic_id``: professionals, services, slots,
appointments, EMR feeds, imports), or to the clinic of the appointment it names
(``appointment_id``: notifications). Patient records are shared by every clinic where the
patient has an appointment, so they appear only in an export without ``--clinic``; so do
their indexes (the clinics of a patient) and citizen accounts, which span clinics too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from hub.follow import LogReader
from projections.eventlog import EventRecord, describe, to_jsonable

#: Aggregate types no single clinic owns (the ``patient`` and ``account`` modules).
SHARED = frozenset({"patient", "account"})

#: The columns of an exported row, in order.
FIELDS = ("position", "time", "who", "role", "source", "clinic_id", "aggregate_type",
          "aggregate_id", "type", "version", "event_id", "data")


@dataclass(frozen=True)
class AuditFilter:
    """Which events to export: one clinic's (else all), from an instant on (else all)."""

    clinic_id: UUID | None = None
    since: datetime | None = None


class AuditExport:
    """The log as audit rows, in log order."""

    def __init__(self, app: Any, reader: LogReader | None = None, chunk: int = 5_000) -> None:
        self.app = app
        self.reader = reader or LogReader(app.recorder, batch_size=chunk)
        self.chunk = chunk
        self._owners: dict[UUID, UUID] = {}

    def head(self) -> int:
        """The last position the export will read (every hole below it is final)."""
        return self.reader.settled_head()

    def rows(self, chosen: AuditFilter, stop: int,
             progress: Callable[[int], None] | None = None) -> Iterator[dict[str, Any]]:
        """Rows of the events at positions ``1..stop`` that ``chosen`` keeps."""
        after = 0
        sealed = self.app.sealed_mapper()  # personal fields stay sealed in exports (Loi 25)
        while after < stop:
            batch = self.reader.read_settled(after, self.chunk, stop)
            for notification in batch:
                record = describe(notification, sealed)
                clinic = self._clinic_of(record)
                if chosen.clinic_id is not None and clinic != chosen.clinic_id:
                    continue
                if chosen.since is not None and record.time < chosen.since:
                    continue
                yield as_row(record, clinic)
            reached = batch[-1].id if len(batch) == self.chunk else stop
            if progress:
                progress(reached - after)
            after = reached

    def _clinic_of(self, record: EventRecord) -> UUID | None:
        owner = self._owners.get(record.aggregate_id)
        if owner is not None:
            return owner
        data = record.data if isinstance(record.data, dict) else {}
        if record.aggregate_type in SHARED:
            return None
        if record.aggregate_type == "clinic":
            owner = record.aggregate_id
        elif (clinic := as_uuid(data.get("clinic_id"))) is not None:
            owner = clinic
        elif (appointment := as_uuid(data.get("appointment_id"))) is not None:
            owner = self._owners.get(appointment)
        if owner is not None:
            self._owners[record.aggregate_id] = owner
        return owner


def as_uuid(value: Any) -> UUID | None:
    try:
        return value if isinstance(value, UUID) else UUID(str(value)) if value else None
    except ValueError:
        return None


def as_row(record: EventRecord, clinic: UUID | None) -> dict[str, Any]:
    """One event as an audit row (``FIELDS``): who (token subject), role, source (channel)."""
    meta = record.meta or {}
    return {
        "position": record.position, "time": record.time.isoformat(),
        "who": meta.get("subject"), "role": meta.get("role"), "source": meta.get("channel"),
        "clinic_id": str(clinic) if clinic else None, "aggregate_type": record.aggregate_type,
        "aggregate_id": str(record.aggregate_id), "type": record.type, "version": record.version,
        "event_id": str(record.id), "data": to_jsonable(record.data),
    }
