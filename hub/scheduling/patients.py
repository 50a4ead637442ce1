"""Patients at booking time and their corrections (S5, T1; CONTRACT "Patients").

A booking finds the patient by NAM (or another identifier) and registers one the hub does not
know; it never changes a known record. What it carried (name as given, contacts) goes on the
appointment. Only an EMR adds the identifiers it knows a patient by. The record changes by a
correction, which keeps the NAM index in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import RecordConflictError

from aggregates.account import AccountMembership, membership_id
from aggregates.errors import InvalidValue
from aggregates.patient import (
    NAM_SYSTEM,
    Patient,
    PatientClinics,
    PatientIdentifier,
    clinics_index_id,
    identifier,
)
from aggregates.pseudonyms import digest_index_id, identifier_digest
from aggregates.values import require_nam_matches_birth_date, require_past_date
from hub.scheduling.reads import StoreReads

if TYPE_CHECKING:
    from hub.application import HubApplication

Index = TypeVar("Index", bound=Aggregate)


@dataclass
class Matched:
    """The booking's patient, the aggregates to save with the booking, and what it carried."""

    patient: Patient
    changed: list[Aggregate] = field(default_factory=list)
    as_given: dict[str, Any] = field(default_factory=dict)
    #: The booking registers the patient (nothing of it is stored yet).
    registered: bool = False


class PatientRegistry:
    """Matches a booking's patient to the one the hub knows, by NAM or other identifiers."""

    #: Digests remembered (a booking needs its patient's three times: to prefetch, to find,
    #: to index); a bounded few, the identifiers of the patients just booked.
    DIGESTS_KEPT = 1024

    def __init__(self, app: HubApplication) -> None:
        self.app = app
        self._digests: dict[tuple[str, str], tuple[str, UUID]] = {}

    def identifiers_of(self, patient: dict[str, Any]) -> list[dict[str, str]]:
        ids = []
        if patient.get("nam"):
            ids.append(identifier(NAM_SYSTEM, patient["nam"]))
        for other in patient.get("identifiers") or []:
            ids.append(identifier(other["system"], other["value"]))
        return ids

    def digest(self, ident: dict[str, str]) -> str:
        """The keyed digest of an identifier: the index never holds the identifier itself."""
        return self._keyed(ident)[0]

    def index_id(self, ident: dict[str, str]) -> UUID:
        """The id of the identifier's index entry."""
        return self._keyed(ident)[1]

    def _keyed(self, ident: dict[str, str]) -> tuple[str, UUID]:
        key = (ident["system"], ident["value"])
        found = self._digests.get(key)
        if found is None:
            if len(self._digests) >= self.DIGESTS_KEPT:
                self._digests.clear()
            digest = identifier_digest(self.app.index_secret, *key)
            found = self._digests[key] = (digest, digest_index_id(digest))
        return found

    def index_ids(self, patient: dict[str, Any]) -> list[UUID]:
        """The ids of the patient's index entries: a command prefetches them with the rest."""
        return [self.index_id(i) for i in self.identifiers_of(patient)]

    def entry(self, ident: dict[str, str]) -> PatientIdentifier | None:
        index_key = self.index_id(ident)
        found = self.app.load_many([index_key]).get(index_key)
        return found if isinstance(found, PatientIdentifier) else None

    def find(self, identifiers: list[dict[str, str]]) -> Patient | None:
        """The live patient one of the identifiers names (an erased one, or an identifier a
        correction released, is no match)."""
        for ident in identifiers:
            entry = self.entry(ident)
            if entry is not None and entry.patient_id is not None:
                # with its clinics index, which a booking changes (one query for both)
                found = self.app.load_many([entry.patient_id, clinics_index_id(entry.patient_id)])
                patient = self.app.loaded(found, Patient, entry.patient_id, "patient")
                if not patient.erased:
                    return patient
        return None

    def find_by_nam(self, nam: str) -> Patient | None:
        return self.find([identifier(NAM_SYSTEM, nam)])

    def _holder(self, entry: PatientIdentifier) -> UUID | None:
        """The live patient an index entry names (None when released or erased)."""
        if entry.patient_id is None:
            return None
        if self.app.load(Patient, entry.patient_id, "patient").erased:
            return None
        return entry.patient_id

    def _take(self, ident: dict[str, str], patient_id: UUID,
              seen_free: bool = False) -> list[Aggregate]:
        """The index change giving ``ident`` to ``patient_id``: a new entry, a released one
        claimed, or one whose patient was erased relinked. Another live patient's entry is
        refused (``IdentifierInUse``); with ``seen_free`` (this command just found it free)
        it is a concurrent booking that registered the patient first: the command runs again
        (``RecordConflictError``, see ``HubApplication.retrying``) and finds that patient."""
        entry = self.entry(ident)
        if entry is None:
            return [PatientIdentifier(ident["system"], self.digest(ident), patient_id)]
        if entry.patient_id == patient_id:
            return []
        holder = self._holder(entry)
        if entry.patient_id is not None and holder is None:
            entry.relink(patient_id)  # it named a patient since erased
        elif holder is not None and seen_free:
            raise RecordConflictError(f"identifier {ident['system']} indexed meanwhile")
        else:
            entry.claim(patient_id)
        return [entry]

    def _free(self, ident: dict[str, str]) -> bool:
        """No live patient holds the identifier."""
        entry = self.entry(ident)
        return entry is None or self._holder(entry) is None

    def match(self, patient: dict[str, Any], by_emr: bool = False) -> Matched:
        """The known patient, unchanged, or a new one registered from what the booking gave.

        A birth date disagreeing with the NAM is refused even for a known NAM. ``by_emr``:
        the EMR's own identifiers of a known patient are added (never a second NAM)."""
        identifiers = self.identifiers_of(patient)
        details = {k: v for k, v in patient.items() if k not in ("nam", "identifiers")}
        today = self.app.clock().date()
        nam = next((i["value"] for i in identifiers if i["system"] == NAM_SYSTEM), None)
        if details.get("birth_date"):
            birth = require_past_date(_day(details["birth_date"]), "birth_date", today)
            if nam:
                require_nam_matches_birth_date(nam, birth)
        known = self.find(identifiers)
        if known is None:
            fields = {"first_name": "", "last_name": "", "birth_date": None, "language": "fr"}
            fields.update({k: v for k, v in details.items() if v is not None})
            known = Patient.register(identifiers, fields, today)
            index = [a for i in identifiers for a in self._take(i, known.id, seen_free=True)]
            return Matched(known, [known, *index], details, registered=True)
        changed: list[Aggregate] = []
        if by_emr:
            unindexed = [i for i in identifiers if self._free(i)]
            if known.add_identifiers(unindexed):
                changed.append(known)
            changed += [a for i in unindexed for a in self._take(i, known.id, seen_free=True)]
        return Matched(known, changed, details)

    def _index(self, cls: type[Index], key: UUID) -> Index | None:
        found = self.app.load_many([key]).get(key)
        return found if isinstance(found, cls) else None

    def clinics(self, patient_id: UUID) -> list[UUID]:
        """The clinics holding at least one appointment of the patient.

        Patients booked before the index existed have none: their appointments are listed
        from the store instead (slower, for those only)."""
        index = self._index(PatientClinics, clinics_index_id(patient_id))
        if index is None:
            booked = StoreReads(self.app).appointments(patient_id=patient_id)
            return list(dict.fromkeys(a.clinic_id for a in booked))
        return list(index.clinic_ids)

    def note_clinic(self, patient_id: UUID, clinic_id: UUID, registered: bool = False) -> list[Aggregate]:
        """The index change to save with a booking of the patient at ``clinic_id``
        (``registered``: the booking registers the patient, who has no index yet)."""
        index = None if registered else self._index(PatientClinics, clinics_index_id(patient_id))
        if index is None:
            return [PatientClinics.start(patient_id, clinic_id)]
        return [index] if index.add(clinic_id) else []

    def accounts(self, patient_id: UUID) -> list[UUID]:
        """The citizen accounts the patient holds or is associated with."""
        index = self._index(AccountMembership, membership_id(patient_id))
        return [] if index is None else list(index.account_ids)

    def note_account(self, patient_id: UUID, account_id: UUID) -> list[Aggregate]:
        """The index change to save when the patient joins an account."""
        index = self._index(AccountMembership, membership_id(patient_id))
        if index is None:
            return [AccountMembership.start(patient_id, account_id)]
        return [index] if index.add(account_id) else []

    def correct(self, patient: Patient, changes: dict[str, Any]) -> tuple[list[str], list[Aggregate]]:
        """Apply a correction; return the changed fields and every aggregate to save (the
        patient and, for a new NAM, the old index entry released and the new one claimed)."""
        old_nam = patient.nam
        fields = patient.correct(changes, self.app.clock().date())
        changed: list[Aggregate] = [patient]
        if "nam" in fields and patient.nam:
            changed += self._take(identifier(NAM_SYSTEM, patient.nam), patient.id)
            old_index = self.entry(identifier(NAM_SYSTEM, old_nam)) if old_nam else None
            if old_index is not None and old_index.patient_id == patient.id:
                old_index.release()
                changed.append(old_index)
        return fields, changed


def _day(value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidValue("birth_date must be a date YYYY-MM-DD", field="birth_date") from None
