"""Patient registration at booking time (S5): find by identifier, create or update."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from aggregates.patient import NAM_SYSTEM, Patient, PatientIdentifier, identifier
from aggregates.pseudonyms import digest_index_id, identifier_digest

if TYPE_CHECKING:
    from hub.application import HubApplication


class PatientRegistry:
    """Matches a booking's patient to the one the hub knows, by NAM or other identifiers."""

    def __init__(self, app: HubApplication) -> None:
        self.app = app

    def identifiers_of(self, patient: dict[str, Any]) -> list[dict[str, str]]:
        ids = []
        if patient.get("nam"):
            ids.append(identifier(NAM_SYSTEM, patient["nam"]))
        for other in patient.get("identifiers") or []:
            ids.append(identifier(other["system"], other["value"]))
        return ids

    def digest(self, ident: dict[str, str]) -> str:
        """The keyed digest of an identifier: the index never holds the identifier itself."""
        return identifier_digest(self.app.index_secret, ident["system"], ident["value"])

    def index_ids(self, patient: dict[str, Any]) -> list[UUID]:
        """The ids of the patient's index entries: a command prefetches them with the rest."""
        return [digest_index_id(self.digest(i)) for i in self.identifiers_of(patient)]

    def entry(self, ident: dict[str, str]) -> PatientIdentifier | None:
        index_key = digest_index_id(self.digest(ident))
        found = self.app.load_many([index_key]).get(index_key)
        return found if isinstance(found, PatientIdentifier) else None

    def find(self, identifiers: list[dict[str, str]]) -> Patient | None:
        """The live patient one of the identifiers names (an erased one is no match)."""
        for ident in identifiers:
            entry = self.entry(ident)
            if entry is not None:
                patient = self.app.load(Patient, entry.patient_id, "patient")
                if not patient.erased:
                    return patient
        return None

    def find_by_nam(self, nam: str) -> Patient | None:
        return self.find([identifier(NAM_SYSTEM, nam)])

    def register_or_update(self, patient: dict[str, Any]) -> list[Aggregate]:
        """Return the patient (first) and any new identifier index entries, unsaved."""
        identifiers = self.identifiers_of(patient)
        details = {k: v for k, v in patient.items() if k not in ("nam", "identifiers")}
        today = self.app.clock().date()
        known = self.find(identifiers)
        if known is None:
            defaults = {"first_name": "", "last_name": "", "birth_date": None, "language": "fr"}
            defaults.update({k: v for k, v in details.items() if v is not None})
            known = Patient.register(identifiers, defaults, today)
        else:
            known.update(identifiers, details, today)
        index: list[Aggregate] = []
        for ident in identifiers:
            entry = self.entry(ident)
            if entry is None:
                index.append(PatientIdentifier(ident["system"], self.digest(ident), known.id))
            elif entry.patient_id != known.id:  # it named a patient since erased
                entry.relink(known.id)
                index.append(entry)
        return [known, *index]
