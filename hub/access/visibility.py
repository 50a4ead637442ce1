"""What a token may read (SPEC T1): the one rule behind every read of the hub.

- admin and ops: everything;
- emr and clinic staff: the clinics they act for, the appointments of those clinics, and the
  patients holding an appointment in one of them (the ``PatientClinics`` index);
- a portal: the appointments it booked itself (its token's subject), in its clinics, and the
  citizen accounts it opened; no patient record (it knows what it gave, which its
  appointments keep). A referrer (811, reorientation: a signed-in user acting for no clinic)
  is read like a portal: the patient as it gave it, never a patient id.

Native routes, FHIR reads and searches, notifications, NAM search, patient history and
audit all ask a ``Viewer``; anything it does not see is answered as not found.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from hub.access.tokens import Principal, Role


class BookedAppointment(Protocol):
    """What the rule reads of an appointment (the aggregate, or its ``Booked`` event)."""

    @property
    def clinic_id(self) -> UUID: ...

    @property
    def booked_by(self) -> str | None: ...


class CitizenAccount(Protocol):
    """What the rule reads of a citizen account."""

    @property
    def opened_by(self) -> str | None: ...

    @property
    def clinic_ids(self) -> list[UUID]: ...


@dataclass(frozen=True)
class Viewer:
    """One token's view: ``clinic_ids`` None for every clinic, ``portal`` its subject when a
    portal (it sees only what it booked), ``reads_patients`` False for portals."""

    clinic_ids: frozenset[UUID] | None
    portal: str | None = None

    @classmethod
    def of(cls, principal: Principal) -> Viewer:
        clinics = None if principal.all_clinics else frozenset(principal.clinic_ids)
        portal = principal.subject if principal.role in (Role.PORTAL, Role.REFERRER) else None
        return cls(clinic_ids=clinics, portal=portal)

    @property
    def everything(self) -> bool:
        return self.clinic_ids is None and self.portal is None

    @property
    def reads_patients(self) -> bool:
        return self.portal is None

    def clinic(self, clinic_id: UUID | None) -> bool:
        return self.clinic_ids is None or (clinic_id is not None and clinic_id in self.clinic_ids)

    def booked(self, clinic_id: UUID, booked_by: str | None) -> bool:
        """An appointment of ``clinic_id`` booked by the token subject ``booked_by``."""
        if not self.clinic(clinic_id):
            return False
        return self.portal is None or booked_by == self.portal

    def appointment(self, appointment: BookedAppointment) -> bool:
        return self.booked(appointment.clinic_id, appointment.booked_by)

    def patient(self, patient_clinics: Iterable[UUID]) -> bool:
        """A patient whose appointments are held by ``patient_clinics``."""
        if not self.reads_patients:
            return False
        return self.clinic_ids is None or any(c in self.clinic_ids for c in patient_clinics)

    def account(self, account: CitizenAccount) -> bool:
        """A citizen account: the portal that opened it, or staff of a clinic holding one of
        its appointments."""
        if self.portal is not None:
            return account.opened_by == self.portal
        return self.clinic_ids is None or any(c in self.clinic_ids for c in account.clinic_ids)

    def clinic_filter(self) -> list[UUID] | None:
        """The clinics to filter a list on (None: no filter)."""
        return None if self.clinic_ids is None else sorted(self.clinic_ids, key=str)


EVERYTHING = Viewer(clinic_ids=None)
