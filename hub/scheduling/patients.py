"""Patient registration at booking time (S5): find by identifier, create or update."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

from aggregates.patient import NAM_SYSTEM, Patient, PatientIdentifier, identifier, index_id

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

    def find(self, identifiers: list[dict[str, str]]) -> Patient | None:
        for ident in identifiers:
            index_key = index_id(ident["system"], ident["value"])
            if index_key in self.app.repository:
                entry = self.app.load(PatientIdentifier, index_key, "patient identifier")
                return self.app.load(Patient, entry.patient_id, "patient")
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
            new_ids = identifiers
        else:
            known.update(identifiers, details, today)
            new_ids = [
                i for i in identifiers if index_id(i["system"], i["value"]) not in self.app.repository
            ]
        index = [PatientIdentifier(i["system"], i["value"], known.id) for i in new_ids]
        return [known, *index]
