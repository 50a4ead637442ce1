"""Patient (S5, T1): identity and contacts.

A booking registers a patient the hub does not know yet, and never changes one it knows
(CONTRACT "Patients"): what a booking carried (name as given, contacts) stays with that
appointment. The record changes only by a correction (staff of a clinic holding one of
the patient's appointments, an admin, or the account holder), or gains an identifier an
EMR knows the patient by.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from aggregates.errors import Conflict, InvalidValue
from aggregates.pseudonyms import digest_index_id
from aggregates.values import (
    Language,
    choice,
    normalise_nam,
    require_nam_matches_birth_date,
    require_past_date,
)

NAM_SYSTEM = "NAM"
CONTACT_FIELDS = ("email", "other_email", "cell", "phone", "other_cell", "other_phone")
DETAIL_FIELDS = ("first_name", "last_name", "birth_date", "language", *CONTACT_FIELDS)
#: What a correction may change: the record's fields and the NAM.
RECORD_FIELDS = ("nam", *DETAIL_FIELDS)
#: Fields a correction may not empty.
REQUIRED_FIELDS = ("nam", "first_name", "last_name", "birth_date", "language")


class IdentifierInUse(Conflict):
    """Another patient already holds this identifier (e.g. a NAM typed for the wrong person)."""

    code = "identifier_in_use"


class PatientErased(Conflict):
    """The patient's personal data was erased: nothing more is recorded about them."""

    code = "patient_erased"


def identifier(system: str, value: str) -> dict[str, str]:
    """An identifier with its assigning authority (``NAM`` for the health insurance number)."""
    system = system.strip()
    value = value.strip()
    if not system or not value:
        raise InvalidValue("a patient identifier needs an authority and a value", field="identifiers")
    if system == NAM_SYSTEM:
        value = normalise_nam(value)
    return {"system": system, "value": value}


class Patient(Aggregate):
    """A person who has appointments; identified by the NAM or by other identifiers."""

    @classmethod
    def register(
        cls, identifiers: list[dict[str, str]], details: dict[str, Any], today: date
    ) -> Patient:
        if not identifiers:
            raise InvalidValue("a patient needs a NAM or another identifier", field="nam")
        checked = _checked_details(details, today)
        nam = _nam_of(identifiers)
        if nam and checked.get("birth_date"):
            require_nam_matches_birth_date(nam, checked["birth_date"])
        return cls(identifiers=identifiers, **checked)

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
        return _nam_of(self.identifiers)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def contacts(self) -> dict[str, str | None]:
        return {f: getattr(self, f) for f in CONTACT_FIELDS}

    def record(self) -> dict[str, Any]:
        """The record's fields (NAM, names, birth date, language, contacts)."""
        return {"nam": self.nam, **{f: getattr(self, f) for f in DETAIL_FIELDS}}

    def correct(self, changes: dict[str, Any], today: date) -> list[str]:
        """Change the record (CONTRACT "Patients"); return the names of the fields that changed.

        ``None`` empties a contact; names, birth date, language and NAM cannot be emptied.
        The result must keep the NAM and the birth date in agreement.
        """
        self._require_not_erased()
        unknown = set(changes) - set(RECORD_FIELDS)
        if unknown:
            raise InvalidValue(f"unknown patient fields: {', '.join(sorted(unknown))}",
                               fields=sorted(unknown))
        emptied = [f for f in REQUIRED_FIELDS if f in changes and changes[f] in (None, "")]
        if emptied:
            raise InvalidValue(f"these fields cannot be emptied: {', '.join(emptied)}",
                               fields=emptied)
        checked = _checked_details({k: v for k, v in changes.items() if k != "nam"}, today)
        if "nam" in changes:
            checked["nam"] = normalise_nam(str(changes["nam"]))
        changed = {k: v for k, v in checked.items() if self.record().get(k) != v}
        nam = changed.get("nam", self.nam)
        birth = changed.get("birth_date", self.birth_date)
        if nam and birth and ("nam" in changed or "birth_date" in changed):
            require_nam_matches_birth_date(nam, birth)
        if changed:
            self._corrected(changes=changed)
        return sorted(changed)

    def add_identifiers(self, identifiers: list[dict[str, str]]) -> list[dict[str, str]]:
        """Record identifiers an EMR knows this patient by; return the new ones.

        A NAM is added only to a patient who has none (a NAM is changed by a correction).
        """
        self._require_not_erased()
        new = [i for i in identifiers if i not in self.identifiers]
        nams = [i for i in new if i["system"] == NAM_SYSTEM]
        if nams and (self.nam is not None or len(nams) > 1):
            raise IdentifierInUse(
                "this patient already has another NAM; correct the patient record instead",
                field="nam",
            )
        if nams and self.birth_date:
            require_nam_matches_birth_date(nams[0]["value"], self.birth_date)
        if new:
            self._identifiers_added(identifiers=new)
        return new

    @event("Corrected")
    def _corrected(self, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            if key == "nam":
                others = [i for i in self.identifiers if i["system"] != NAM_SYSTEM]
                self.identifiers = [{"system": NAM_SYSTEM, "value": value}, *others]
            else:
                setattr(self, key, value)

    @event("IdentifiersAdded")
    def _identifiers_added(self, identifiers: list[dict[str, str]]) -> None:
        self.identifiers.extend(identifiers)

    @event("DetailsUpdated")
    def _details_updated(
        self, changes: dict[str, Any], new_identifiers: list[dict[str, str]]
    ) -> None:
        """Stores written before bookings stopped changing patients hold these events."""
        for key, value in changes.items():
            setattr(self, key, value)
        self.identifiers.extend(new_identifiers)

    @property
    def erased(self) -> bool:
        return getattr(self, "erased_at", None) is not None

    def _require_not_erased(self) -> None:
        if self.erased:
            raise PatientErased(f"patient {self.id} was erased", id=str(self.id))

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
    the same NAM conflict. A corrected NAM releases its entry, which another patient may
    then claim; after the patient's erasure the entry may point to a new patient (relink).
    """

    @staticmethod
    def create_id(system: str, digest: str, patient_id: UUID) -> UUID:
        return digest_index_id(digest)

    @event("IdentifierIndexed")
    def __init__(self, system: str, digest: str, patient_id: UUID) -> None:
        self.system = system
        self.digest = digest
        self.patient_id: UUID | None = patient_id

    def release(self) -> None:
        """The patient no longer holds this identifier (a corrected NAM)."""
        if self.patient_id is not None:
            self._released(patient_id=self.patient_id)

    def claim(self, patient_id: UUID) -> None:
        """Give a released identifier to ``patient_id``; refuse one another patient holds."""
        if self.patient_id == patient_id:
            return
        if self.patient_id is not None:
            raise IdentifierInUse(
                f"another patient already has this {self.system}", field=self.system.lower()
            )
        self._claimed(patient_id=patient_id)

    def relink(self, patient_id: UUID) -> None:
        """The identifier now names another patient (its former one was erased)."""
        if patient_id != self.patient_id:
            self._relinked(patient_id=patient_id)

    @event("Released")
    def _released(self, patient_id: UUID) -> None:
        self.patient_id = None

    @event("Claimed")
    def _claimed(self, patient_id: UUID) -> None:
        self.patient_id = patient_id

    @event("Relinked")
    def _relinked(self, patient_id: UUID) -> None:
        self.patient_id = patient_id


def clinics_index_id(patient_id: UUID) -> UUID:
    """The id of the index aggregate listing the clinics that hold a patient's appointments."""
    return uuid5(NAMESPACE_URL, f"hub:patient-clinics:{patient_id}")


class PatientClinics(Aggregate):
    """Index: the clinics holding at least one appointment of a patient, the ones whose
    staff see and correct the record (CONTRACT "Patients"). Saved with the booking."""

    if TYPE_CHECKING:  # made by ``@event("Started")`` when the class is defined
        Started: ClassVar[type[Aggregate.Created]]

    @classmethod
    def start(cls, patient_id: UUID, clinic_id: UUID) -> PatientClinics:
        return cls._create(cls.Started, id=clinics_index_id(patient_id), patient_id=patient_id,
                           clinic_id=clinic_id)

    @event("Started")
    def __init__(self, patient_id: UUID, clinic_id: UUID) -> None:
        self.patient_id = patient_id
        self.clinic_ids = [clinic_id]

    def add(self, clinic_id: UUID) -> bool:
        """Record a clinic's first appointment of the patient; False when already known."""
        if clinic_id in self.clinic_ids:
            return False
        self._clinic_added(clinic_id=clinic_id)
        return True

    def any_of(self, clinic_ids: frozenset[UUID]) -> bool:
        return any(c in clinic_ids for c in self.clinic_ids)

    @event("ClinicAdded")
    def _clinic_added(self, clinic_id: UUID) -> None:
        self.clinic_ids.append(clinic_id)


def _nam_of(identifiers: list[dict[str, str]]) -> str | None:
    return next((i["value"] for i in identifiers if i["system"] == NAM_SYSTEM), None)


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
