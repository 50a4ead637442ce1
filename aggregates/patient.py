"""Patient (S5): identity and contacts, created or updated when an appointment is booked."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from aggregates.errors import Conflict, InvalidValue
from aggregates.pseudonyms import digest_index_id
from aggregates.values import Language, choice, normalise_nam, require_past_date

NAM_SYSTEM = "NAM"
CONTACT_FIELDS = ("email", "other_email", "cell", "phone", "other_cell", "other_phone")
DETAIL_FIELDS = ("first_name", "last_name", "birth_date", "language", *CONTACT_FIELDS)


def identifier(system: str, value: str) -> dict[str, str]:
    """An identifier with its assigning authority (``NAM`` for the health insurance number)."""
    system = system.strip()
    value = value.strip()
    if not system or not value:
        raise InvalidValue("a patient identifier needs an authority and a value", field="identifiers")
    if system == NAM_SYSTEM:
        value = normalise_nam(value)
    return {"system": system, "value": value}


class PatientErased(Conflict):
    """The patient's personal data was erased: nothing more is recorded about them."""

    code = "patient_erased"


class Patient(Aggregate):
    """A person who has appointments; identified by the NAM or by other identifiers."""

    @classmethod
    def register(
        cls, identifiers: list[dict[str, str]], details: dict[str, Any], today: date
    ) -> Patient:
        if not identifiers:
            raise InvalidValue("a patient needs a NAM or another identifier", field="nam")
        return cls(identifiers=identifiers, **_checked_details(details, today))

    @event("Registered")
    def __init__(
        self,
        identifiers: list[dict[str, str]],
        first_name: str,
        last_name: str,
        birth_date: str | None,
        language: str,
        email: str | None = None,
        other_email: str | None = None,
        cell: str | None = None,
        phone: str | None = None,
        other_cell: str | None = None,
        other_phone: str | None = None,
    ) -> None:
        self.identifiers = list(identifiers)
        self.first_name = first_name
        self.last_name = last_name
        self.birth_date = birth_date
        self.language = language
        self.email = email
        self.other_email = other_email
        self.cell = cell
        self.phone = phone
        self.other_cell = other_cell
        self.other_phone = other_phone

    @property
    def nam(self) -> str | None:
        return next((i["value"] for i in self.identifiers if i["system"] == NAM_SYSTEM), None)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def contacts(self) -> dict[str, str | None]:
        return {f: getattr(self, f) for f in CONTACT_FIELDS}

    def update(self, identifiers: list[dict[str, str]], details: dict[str, Any], today: date) -> None:
        """Record what changed; unknown values (None) keep what the hub already knows."""
        if self.erased:
            raise PatientErased(f"patient {self.id} was erased", id=str(self.id))
        checked = _checked_details(details, today)
        changes = {
            k: v for k, v in checked.items() if v is not None and getattr(self, k) != v
        }
        new_ids = [i for i in identifiers if i not in self.identifiers]
        if changes or new_ids:
            self._details_updated(changes=changes, new_identifiers=new_ids)

    @event("DetailsUpdated")
    def _details_updated(self, changes: dict[str, Any], new_identifiers: list[dict[str, str]]) -> None:
        for key, value in changes.items():
            setattr(self, key, value)
        self.identifiers.extend(new_identifiers)

    @property
    def erased(self) -> bool:
        return getattr(self, "erased_at", None) is not None

    def erase(self) -> None:
        """Forget the person (Loi 25): the record stays, without any personal data. The
        store's copies become unreadable when the patient's data key is destroyed."""
        if not self.erased:
            self._erased()

    @event("Erased")
    def _erased(self) -> None:
        self.identifiers = []
        self.first_name = self.last_name = ""
        self.birth_date = None
        for name in CONTACT_FIELDS:
            setattr(self, name, None)
        self.erased_at = self.modified_on


class PatientIdentifier(Aggregate):
    """Index: one identifier (NAM, or EMR id with its authority) → one patient.

    Its id derives from a keyed digest of the identifier (``aggregates.pseudonyms``): the
    identifier itself is not stored. Saved with the patient, so two racing registrations of
    the same NAM conflict. After the patient's erasure the entry may point to a new patient.
    """

    @staticmethod
    def create_id(system: str, digest: str, patient_id: UUID) -> UUID:
        return digest_index_id(digest)

    @event("IdentifierIndexed")
    def __init__(self, system: str, digest: str, patient_id: UUID) -> None:
        self.system = system
        self.digest = digest
        self.patient_id = patient_id

    def relink(self, patient_id: UUID) -> None:
        """The identifier now names another patient (its former one was erased)."""
        if patient_id != self.patient_id:
            self._relinked(patient_id=patient_id)

    @event("Relinked")
    def _relinked(self, patient_id: UUID) -> None:
        self.patient_id = patient_id


def _checked_details(details: dict[str, Any], today: date) -> dict[str, Any]:
    unknown = set(details) - set(DETAIL_FIELDS)
    if unknown:
        raise InvalidValue(f"unknown patient fields: {', '.join(sorted(unknown))}")
    out = dict(details)
    for key in ("first_name", "last_name"):
        if key in out and out[key] is not None:
            out[key] = str(out[key]).strip()
    birth = out.get("birth_date")
    if isinstance(birth, date):
        out["birth_date"] = require_past_date(birth, "birth_date", today).isoformat()
    elif isinstance(birth, str):
        try:
            parsed = date.fromisoformat(birth)
        except ValueError:
            raise InvalidValue("birth_date must be a date YYYY-MM-DD", field="birth_date") from None
        out["birth_date"] = require_past_date(parsed, "birth_date", today).isoformat()
    if out.get("language") is not None:
        out["language"] = choice(Language, out["language"], "language")
    return out
