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

The same rule keeps the read trail (Loi 25): whatever a ``Viewer`` lets through of a patient
(an appointment, a patient record, an account, the rows of a list it ``shows``) is noted in the
request's ``Disclosure``; the API writes the trail from it (who, when, which patient, which
route) before the answer leaves, and only for an answer that succeeded.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
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


@dataclass
class Disclosure:
    """What one request showed of which patients, and to whom (``disclosing``)."""

    reader: str = ""
    role: str = ""
    patient_ids: set[str] = field(default_factory=set)


_disclosure: ContextVar[Disclosure | None] = ContextVar("hub_disclosure", default=None)


@contextmanager
def disclosing() -> Iterator[Disclosure]:
    """Collect, while it runs (one request), the patients whose personal data a ``Viewer``
    lets through; outside of it nothing is noted (use cases, projections, the CLI)."""
    disclosure = Disclosure()
    token = _disclosure.set(disclosure)
    try:
        yield disclosure
    finally:
        _disclosure.reset(token)


@dataclass(frozen=True)
class Viewer:
    """One token's view: ``clinic_ids`` None for every clinic, ``portal`` its subject when a
    portal (it sees only what it booked), ``reads_patients`` False for portals. ``reader`` and
    ``role`` name the token in the read trail."""

    clinic_ids: frozenset[UUID] | None
    portal: str | None = None
    reader: str = field(default="", compare=False)
    role: str = field(default="", compare=False)

    @classmethod
    def of(cls, principal: Principal) -> Viewer:
        clinics = None if principal.all_clinics else frozenset(principal.clinic_ids)
        portal = principal.subject if principal.role in (Role.PORTAL, Role.REFERRER) else None
        return cls(clinic_ids=clinics, portal=portal, reader=principal.subject,
                   role=principal.role.value)

    def shows(self, patient_ids: Iterable[UUID | str | None]) -> None:
        """Note that this answer shows these patients' personal data (list rows: Suivi,
        histories, FHIR searches, audit pages): the read trail records it."""
        disclosure = _disclosure.get()
        if disclosure is None or not self.reader:
            return
        disclosure.reader, disclosure.role = self.reader, self.role
        disclosure.patient_ids.update(str(p) for p in patient_ids if p)

    @property
    def everything(self) -> bool:
        return self.clinic_ids is None and self.portal is None

    @property
    def reads_patients(self) -> bool:
        return self.portal is None

    def shows_events(self, items: Iterable[dict[str, object]]) -> None:
        """Note the patients whose own events (history of a patient aggregate) a page of the
        log or of an audit shows."""
        self.shows(str(i["aggregate_id"]) for i in items if i.get("aggregate_type") == "patient")

    def clinic(self, clinic_id: UUID | None) -> bool:
        return self.clinic_ids is None or (clinic_id is not None and clinic_id in self.clinic_ids)

    def booked(self, clinic_id: UUID, booked_by: str | None) -> bool:
        """An appointment of ``clinic_id`` booked by the token subject ``booked_by``."""
        if not self.clinic(clinic_id):
            return False
        return self.portal is None or booked_by == self.portal

    def appointment(self, appointment: BookedAppointment) -> bool:
        """An appointment it sees (its patient's data, as given or recorded, is then shown)."""
        seen = self.booked(appointment.clinic_id, appointment.booked_by)
        if seen:
            self.shows([getattr(appointment, "patient_id", None)])
        return seen

    def patient(self, patient_id: UUID, patient_clinics: Iterable[UUID]) -> bool:
        """A patient whose appointments are held by ``patient_clinics``."""
        if not self.reads_patients:
            return False
        seen = self.clinic_ids is None or any(c in self.clinic_ids for c in patient_clinics)
        if seen:
            self.shows([patient_id])
        return seen

    def account(self, account: CitizenAccount) -> bool:
        """A citizen account: the portal that opened it, or staff of a clinic holding one of
        its appointments (its e-mail is its holder's: the holder is shown)."""
        if self.portal is not None:
            seen = account.opened_by == self.portal
        else:
            seen = self.clinic_ids is None or any(c in self.clinic_ids for c in account.clinic_ids)
        if seen:
            self.shows([getattr(account, "holder_patient_id", None)])
        return seen

    def clinic_filter(self) -> list[UUID] | None:
        """The clinics to filter a list on (None: no filter)."""
        return None if self.clinic_ids is None else sorted(self.clinic_ids, key=str)


EVERYTHING = Viewer(clinic_ids=None)
