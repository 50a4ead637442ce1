"""Appointment (S3): a patient's place in a slot, for a service, from a source.

It keeps what its booking carried about the patient (name as given, contacts): a booking
never changes the patient record (CONTRACT "Patients"), and the appointment's messages go
to the contacts its booking gave.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from aggregates.errors import Conflict, InvalidValue
from aggregates.patient import CONTACT_FIELDS
from aggregates.reorientation import Referral, check_referral, reservation
from aggregates.values import AttendanceStatus, Language, Source, choice

#: What an appointment keeps of its booking's patient: the name as given and the contacts.
GIVEN_FIELDS = ("first_name", "last_name", "birth_date", *CONTACT_FIELDS)


class AppointmentClosed(Conflict):
    """The appointment was cancelled or deleted; it can no longer change."""

    code = "appointment_closed"


class Appointment(Aggregate):
    """Keeps its id across reschedules; ``slot_id`` always names the slot holding it."""

    if TYPE_CHECKING:  # made by ``@event("Booked")`` when the class is defined
        Booked: ClassVar[type[Aggregate.Created]]

    #: Vaccination (V2): the dose this appointment gives, and for a 2nd dose its 1st.
    dose: int | None = None
    first_dose_id: UUID | None = None
    #: Defaults for appointments stored before reorientation existed (R2).
    through: str | None = None
    referral: dict[str, str | None] | None = None

    @classmethod
    def book(
        cls,
        clinic_id: UUID,
        slot_id: UUID,
        professional_id: UUID,
        start: datetime,
        end: datetime,
        service_id: UUID,
        patient_id: UUID,
        source: str,
        product: str | None = None,
        language: str | None = None,
        identifiers: list[dict[str, str]] | None = None,
        through: str | None = None,
        referral: Referral | None = None,
        as_given: dict[str, Any] | None = None,
        account_id: UUID | None = None,
        booked_by: str | None = None,
    ) -> Appointment:
        """``through``: the 811 or reorientation channel (R2); a reorientation carries a
        ``referral`` for the receiving clinic. ``as_given``: the patient as the booking gave
        it; ``booked_by``: the token subject."""
        through = reservation(through)
        check_referral(through, referral)
        given = {k: v for k, v in (as_given or {}).items() if k in GIVEN_FIELDS and v is not None}
        return cls(
            clinic_id=clinic_id,
            slot_id=slot_id,
            professional_id=professional_id,
            start=start,
            end=end,
            service_id=service_id,
            patient_id=patient_id,
            source=choice(Source, source, "source"),
            product=product,
            language=choice(Language, language, "language") if language else None,
            identifiers=list(identifiers or []),
            through=through,
            referral=referral.as_dict() if referral else None,
            as_given=given,
            account_id=account_id,
            booked_by=booked_by,
        )

    @event("Booked")
    def __init__(
        self,
        clinic_id: UUID,
        slot_id: UUID,
        professional_id: UUID,
        start: datetime,
        end: datetime,
        service_id: UUID,
        patient_id: UUID,
        source: str,
        product: str | None,
        language: str | None,
        identifiers: list[dict[str, str]],
        through: str | None = None,
        referral: dict[str, str | None] | None = None,
        as_given: dict[str, Any] | None = None,
        account_id: UUID | None = None,
        booked_by: str | None = None,
    ) -> None:
        self.clinic_id = clinic_id
        self.slot_id = slot_id
        self.professional_id = professional_id
        self.start = start
        self.end = end
        self.service_id = service_id
        self.patient_id = patient_id
        self.source = source
        self.product = product
        self.language = language
        self.identifiers = list(identifiers)
        self.through = through
        self.referral = referral
        self.as_given = dict(as_given or {})
        self.account_id = account_id
        self.booked_by = booked_by
        self.status = AttendanceStatus.UNDEFINED.value
        self.cancelled = False
        self.cancel_reason: str | None = None
        self.deleted = False

    @property
    def active(self) -> bool:
        return not (self.cancelled or self.deleted)

    def message_contacts(self, record: dict[str, str | None]) -> dict[str, str | None]:
        """Where this appointment's messages go: the contacts its booking carried, or the
        patient record's (``record``) when the booking carried none."""
        given = {f: self.as_given.get(f) for f in CONTACT_FIELDS}
        if any(given.values()):
            return given
        return {f: record.get(f) for f in CONTACT_FIELDS}

    def message_name(self, record_name: str) -> str:
        """The name its messages greet: the one its booking gave when it carried contacts
        (messages to those contacts never show the record's name), else the record's."""
        given = " ".join(filter(None, (self.as_given.get("first_name"),
                                       self.as_given.get("last_name"))))
        if given and any(self.as_given.get(f) for f in CONTACT_FIELDS):
            return given
        return record_name

    def require_active(self) -> None:
        if not self.active:
            state = "deleted" if self.deleted else "cancelled"
            raise AppointmentClosed(
                f"this appointment is {state}; it can no longer change",
                appointment_id=str(self.id),
            )

    def reschedule(
        self,
        slot_id: UUID,
        professional_id: UUID,
        start: datetime,
        end: datetime,
        service_id: UUID,
        product: str | None,
    ) -> None:
        self.require_active()
        if slot_id == self.slot_id and service_id == self.service_id:
            raise Conflict("the appointment is already in that slot", slot_id=str(slot_id))
        self._rescheduled(
            from_slot_id=self.slot_id,
            slot_id=slot_id,
            professional_id=professional_id,
            start=start,
            end=end,
            service_id=service_id,
            product=product,
        )

    def change_service(self, service_id: UUID, product: str | None) -> None:
        self.require_active()
        if service_id != self.service_id:
            self._service_changed(service_id=service_id, product=product)

    def cancel(self, reason: str | None) -> None:
        self.require_active()
        self._cancelled(reason=reason)

    def delete(self) -> None:
        if self.deleted:
            raise AppointmentClosed("this appointment is already deleted")
        self._deleted(was_cancelled=self.cancelled)

    def set_status(self, status: str) -> None:
        self.require_active()
        status = choice(AttendanceStatus, status, "status")
        if status != self.status:
            self._status_set(status=status)

    def add_identifier(self, system: str, value: str) -> None:
        entry = {"system": system, "value": value}
        if entry not in self.identifiers:
            self._identifier_added(system=system, value=value)

    @event("Rescheduled")
    def _rescheduled(
        self,
        from_slot_id: UUID,
        slot_id: UUID,
        professional_id: UUID,
        start: datetime,
        end: datetime,
        service_id: UUID,
        product: str | None,
    ) -> None:
        self.slot_id = slot_id
        self.professional_id = professional_id
        self.start = start
        self.end = end
        self.service_id = service_id
        self.product = product

    @event("ServiceChanged")
    def _service_changed(self, service_id: UUID, product: str | None) -> None:
        self.service_id = service_id
        self.product = product

    @event("Cancelled")
    def _cancelled(self, reason: str | None) -> None:
        self.cancelled = True
        self.cancel_reason = reason

    @event("Deleted")
    def _deleted(self, was_cancelled: bool) -> None:
        self.deleted = True

    @event("StatusSet")
    def _status_set(self, status: str) -> None:
        self.status = status

    @event("IdentifierAdded")
    def _identifier_added(self, system: str, value: str) -> None:
        self.identifiers.append({"system": system, "value": value})

    # -- doses (V2–V4) ------------------------------------------------------------
    def record_dose(self, dose: int, first_dose_id: UUID | None = None) -> None:
        """Say which dose this appointment gives; a 2nd dose names its 1st when known."""
        self.require_active()
        if dose < 1:
            raise InvalidValue("dose must be 1 or more", field="dose")
        if first_dose_id is not None and (dose < 2 or first_dose_id == self.id):
            raise InvalidValue("only a later dose follows a 1st dose", field="first_dose_id")
        if (dose, first_dose_id) != (self.dose, self.first_dose_id):
            self._dose_recorded(dose=dose, first_dose_id=first_dose_id)

    def correct_product(self, product: str) -> None:
        """Staff record the product actually given or planned (seed 000 §6, admin mode)."""
        product = product.strip()
        if not product:
            raise InvalidValue("product must not be empty", field="product")
        if product != self.product:
            self._product_corrected(product=product)

    @event("DoseRecorded")
    def _dose_recorded(self, dose: int, first_dose_id: UUID | None) -> None:
        self.dose = dose
        self.first_dose_id = first_dose_id

    @event("ProductCorrected")
    def _product_corrected(self, product: str) -> None:
        self.product = product

    # -- EMR locations and resources (SIU AIL, AIG) -----------------------------------
    #: What the EMR's AIL and AIG segments name: ``{"id", "kind": location|resource, "code",
    #: "name"}`` (``id``: the ``EmrResource``), as the last message naming any gave them.
    emr_resources: tuple[dict[str, str], ...] = ()

    def link_resources(self, named: list[dict[str, str]]) -> None:
        """Replace the EMR locations and resources the appointment uses (in the EMR's order)."""
        if tuple(named) != tuple(self.emr_resources):
            self._resources_linked(resources=[dict(r) for r in named])

    @event("ResourcesLinked")
    def _resources_linked(self, resources: list[dict[str, str]]) -> None:
        self.emr_resources = tuple(dict(r) for r in resources)
