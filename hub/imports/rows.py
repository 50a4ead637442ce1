"""What an import brings: staff and service rows, and the rows left out with their reason.

Formats (FHIR Bundle, CSV) are read by ``connectors``; they hand rows to ``hub.imports`` through
a ``DirectorySource`` (seed 002).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Protocol

from aggregates.errors import InvalidValue

PROFESSIONAL_TYPES = {
    "gp": "Médecin de famille",
    "ips": "Infirmière praticienne spécialisée",
    "nurse": "Infirmière",
    "resident": "Résident",
    "extern": "Externe",
    "specialist": "Médecin spécialiste",
    "other": "Autre professionnel",
}

#: What EMRs put in PractitionerRole.code / Practitioner.qualification / CSV, folded to a type.
PROFESSIONAL_TYPE_ALIASES = {
    **{code: code for code in PROFESSIONAL_TYPES},
    "md": "gp", "médecin": "gp", "medecin": "gp", "omnipraticien": "gp", "doctor": "gp",
    "médecin de famille": "gp", "family physician": "gp",
    "ipspl": "ips", "np": "ips", "nurse practitioner": "ips",
    "inf": "nurse", "infirmière": "nurse", "infirmier": "nurse", "rn": "nurse",
    "résident": "resident", "externe": "extern",
    "spécialiste": "specialist", "specialiste": "specialist", "médecin spécialiste": "specialist",
    "autre": "other",
}

SERVICE_CATEGORIES = {
    "in_person": "En personne",
    "phone": "Téléphone",
    "virtual": "Virtuel",
    "home": "À domicile",
    "silent": "Silencieux (aucune notification)",
}


class MalformedSource(InvalidValue):
    """The import source is neither a FHIR Bundle nor a CSV file the hub can read."""

    code = "malformed_source"


@dataclass(frozen=True)
class StaffRow:
    source_id: str
    name: str
    type: str
    licence: str | None = None


@dataclass(frozen=True)
class ServiceRow:
    source_id: str
    name: str
    duration_minutes: int
    category: str = "in_person"
    online: bool = False
    cancellation_delay_hours: int = 0
    product: str | None = None


@dataclass(frozen=True)
class RowConflict:
    """A row left out of the import, and why (the clinic fixes it in its EMR and retries)."""

    source_id: str
    name: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class Parsed:
    rows: list[StaffRow | ServiceRow] = field(default_factory=list)
    conflicts: list[RowConflict] = field(default_factory=list)


class DirectorySource(Protocol):
    """Reads an EMR export (whatever its format) into rows."""

    def parse(self, kind: str, text: str) -> Parsed:
        """The rows and conflicts of ``text``; raises ``MalformedSource`` when unreadable."""

    def format_of(self, text: str) -> str:
        """The source's format name (``fhir``, ``csv``)."""


def professional_type(value: str | None) -> str | None:
    """Fold an EMR's professional type (code or label, French or English) to the hub's."""
    if value is None:
        return None
    return PROFESSIONAL_TYPE_ALIASES.get(value.strip().lower())


def staff_row(source_id: str, name: str, type_values: list[str], licence: str | None) -> StaffRow | RowConflict:
    """One professional, or the conflict that keeps it out (missing name, unknown type)."""
    if not name.strip():
        return RowConflict(source_id, name, "missing required field: name")
    if not [v for v in type_values if v.strip()]:
        return RowConflict(source_id, name, "missing required field: type")
    for value in type_values:
        if (type_ := professional_type(value)) is not None:
            return StaffRow(source_id, name.strip(), type_, (licence or "").strip() or None)
    return RowConflict(source_id, name, f"unknown professional type {type_values[0]!r}")


def service_row(
    source_id: str,
    name: str,
    duration: int | None,
    category: str,
    online: bool,
    delay: int,
    product: str | None,
) -> ServiceRow | RowConflict:
    """One service, or the conflict that keeps it out (no duration, unknown category, ...)."""
    if not name.strip():
        return RowConflict(source_id, name, "missing required field: name")
    if duration is None:
        return RowConflict(source_id, name, "service without duration")
    if duration < 1:
        return RowConflict(source_id, name, f"duration must be at least 1 minute; got {duration}")
    if category not in SERVICE_CATEGORIES:
        return RowConflict(source_id, name, f"unknown service category {category!r}")
    if delay < 0:
        return RowConflict(source_id, name, "cancellation delay must not be negative")
    return ServiceRow(source_id, name.strip(), duration, category, online, delay, product)




class EmrDirectory(Protocol):
    """Pulls a clinic's staff or services from its EMR (seed 002: the wizard asks the EMR)."""

    def pull(self, kind: str, emr: str) -> str:
        """The EMR ``emr``'s active staff or services as a FHIR Bundle (JSON text) that the
        import's ``DirectorySource`` reads; raises a ``DomainError`` when the EMR cannot say."""
