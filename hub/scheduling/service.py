"""Scheduling commands (S1–S5): each loads, decides, saves, and returns its log position."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.domain import Aggregate

from aggregates.account import Account, NoAccount
from aggregates.appointment import Appointment
from aggregates.clinic import Clinic
from aggregates.errors import Conflict, InvalidValue
from aggregates.patient import Patient
from aggregates.reorientation import Referral
from aggregates.service import Service
from aggregates.slot import Slot
from aggregates.values import Source, choice
from hub.actor import current_actor
from hub.scheduling.catalogue import Catalogue, Written
from hub.scheduling.patients import PatientRegistry

log = structlog.get_logger("hub.scheduling.service")


class Scheduling(Catalogue):
    """The hub's scheduling service: clinics, staff, services, slots (``Catalogue``), and
    appointments and patients (here)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.patients = PatientRegistry(self)

    # -- S3, S5 --------------------------------------------------------------------
    def book(
        self,
        slot_id: UUID,
        service_id: UUID,
        patient: dict[str, Any],
        source: str,
        language: str | None = None,
        identifiers: list[dict[str, str]] | None = None,
        also: Callable[[Appointment], list[Aggregate]] | None = None,
        through: str | None = None,
        referral: Referral | None = None,
        account_id: UUID | None = None,
        channel: Callable[[Slot], str | None] | None = None,
    ) -> Written:
        """Book a patient into a slot; the slot, appointment and patient are saved together
        (with what ``also`` decides about the new appointment, e.g. its dose). ``through``:
        the 811 or reorientation channel, with its ``referral`` (R2); or ``channel``, which
        decides it from the slot as this attempt read it (and raises when the caller may not
        book that slot): no read of the slot before the command.

        With ``account_id`` (A1), the patient is the holder or joins the account as "another
        patient" (association red until a clinic validates it)."""
        online = Source(choice(Source, source, "source")).is_online

        def run() -> Written:
            # one query: slot, service, the slot's clinic when known, the patient's index entries
            self.prefetch(slot_id, service_id, getattr(self.peek(slot_id), "clinic_id", None),
                          *self.patients.index_ids(patient))
            slot = self.load(Slot, slot_id, "slot")
            via = channel(slot) if channel is not None else through
            service = self.load(Service, service_id, "service")
            self._same_clinic(slot.clinic_id, service, "service")
            if online:
                self.load(Clinic, slot.clinic_id, "clinic").require_active()
                service.require_online()
            account = self.load(Account, account_id, "account") if account_id else None
            matched = self.patients.match(patient, by_emr=source == Source.EMR)
            appointment = Appointment.book(
                clinic_id=slot.clinic_id,
                slot_id=slot.id,
                professional_id=slot.professional_id,
                start=slot.start,
                end=slot.end,
                service_id=service.id,
                patient_id=matched.patient.id,
                source=source,
                product=service.product,
                language=language,
                identifiers=identifiers,
                through=via,
                referral=referral,
                as_given=matched.as_given,
                booked_by=current_actor().subject,
                account_id=account_id,
            )
            slot.reserve(appointment.id, service.id, service.product, online=online, through=via)
            indexes = self.patients.note_clinic(matched.patient.id, slot.clinic_id,
                                                matched.registered)
            if account is not None:
                indexes += self._book_with_account(account, appointment)
            more = also(appointment) if also else []
            return Written(appointment.id,
                           self.commit(slot, appointment, *matched.changed, *indexes, *more),
                           appointment)

        written = self.retrying(run, "book")
        log.info("appointment booked", appointment_id=str(written.id), slot_id=str(slot_id),
                 source=source, position=written.position)
        return written

    def reschedule(
        self,
        appointment_id: UUID,
        slot_id: UUID,
        service_id: UUID | None = None,
        source: str = "admin",
    ) -> Written:
        """Move an appointment to another slot in one transaction: never in two, never in none."""
        online = Source(choice(Source, source, "source")).is_online

        def run() -> Written:
            appointment = self.load(Appointment, appointment_id, "appointment")
            appointment.require_active()
            service = self.load(Service, service_id or appointment.service_id, "service")
            self._same_clinic(appointment.clinic_id, service, "service")
            if online:
                service.require_online()
            if slot_id == appointment.slot_id:
                raise Conflict("the appointment is already in that slot; change its service instead")
            new_slot = self.load(Slot, slot_id, "slot")
            self._same_clinic(appointment.clinic_id, new_slot, "slot")
            old_slot = self.load(Slot, appointment.slot_id, "slot")
            clinic = self.load(Clinic, appointment.clinic_id, "clinic")
            new_slot.reserve(appointment.id, service.id, service.product, online=online)
            old_slot.release(appointment.id, appointment.product, clinic.application_type)
            appointment.reschedule(
                new_slot.id, new_slot.professional_id, new_slot.start, new_slot.end,
                service.id, service.product,
            )
            return Written(appointment.id, self.commit(new_slot, old_slot, appointment))

        return self.retrying(run, "reschedule")

    def change_service(self, appointment_id: UUID, service_id: UUID) -> Written:
        appointment = self.load(Appointment, appointment_id, "appointment")
        service = self.load(Service, service_id, "service")
        self._same_clinic(appointment.clinic_id, service, "service")
        appointment.change_service(service.id, service.product)
        return Written(appointment.id, self.commit(appointment))

    def cancel(self, appointment_id: UUID, reason: str | None = None) -> Written:
        """Cancel and return the place to the slot (S4 decides where a product's place goes)."""

        def run() -> Written:
            appointment = self.load(Appointment, appointment_id, "appointment")
            appointment.cancel(reason)
            slot = self.load(Slot, appointment.slot_id, "slot")
            clinic = self.load(Clinic, appointment.clinic_id, "clinic")
            slot.release(appointment.id, appointment.product, clinic.application_type)
            return Written(appointment.id, self.commit(appointment, slot))

        return self.retrying(run, "cancel")

    def delete(self, appointment_id: UUID) -> Written:
        def run() -> Written:
            appointment = self.load(Appointment, appointment_id, "appointment")
            changed: list[Any] = [appointment]
            if appointment.active:
                slot = self.load(Slot, appointment.slot_id, "slot")
                clinic = self.load(Clinic, appointment.clinic_id, "clinic")
                slot.release(appointment.id, appointment.product, clinic.application_type)
                changed.append(slot)
            appointment.delete()
            return Written(appointment.id, self.commit(*changed))

        return self.retrying(run, "delete")

    def set_status(
        self,
        appointment_id: UUID,
        status: str,
        identify: bool = False,
        validate_association: bool = False,
    ) -> Written:
        """Set the attendance; marking present may also identify the account holder and
        validate the patient's association, in the same transaction (A4, seed 001 §3.3)."""

        def run() -> Written:
            appointment = self.load(Appointment, appointment_id, "appointment")
            appointment.set_status(status)
            changed: list[Any] = [appointment]
            if identify or validate_association:
                if status != "present":
                    raise InvalidValue("identify and validate_association go with status "
                                       "present (the presence sequence)", field="status")
                if appointment.account_id is None:
                    raise NoAccount("this appointment was booked without an account: "
                                    "nothing to identify", appointment_id=str(appointment.id))
                account = self.load(Account, appointment.account_id, "account")
                account.confirm_at_presence(appointment.patient_id, appointment.clinic_id,
                                            identify, validate_association)
                changed.append(account)
            return Written(appointment.id, self.commit(*changed))

        return self.retrying(run, "set status")

    # -- T1: the patient record ------------------------------------------------------
    def correct_patient(self, patient_id: UUID, changes: dict[str, Any]) -> Written:
        """Correct the patient record; nothing else changes a known patient."""

        def run() -> Written:
            patient = self.load(Patient, patient_id, "patient")
            fields, changed = self.patients.correct(patient, changes)
            for account_id in self.patients.accounts(patient.id):
                account = self.load(Account, account_id, "account")
                if account.patient_changed(patient.id, fields):
                    changed.append(account)
            return Written(patient.id, self.commit(*changed))

        written = self.retrying(run, "correct patient")
        log.info("patient corrected", patient_id=str(patient_id), fields=sorted(changes),
                 position=written.position)
        return written

    def _book_with_account(self, account: Account, appointment: Appointment) -> list[Any]:
        changed: list[Any] = [account]
        if not account.holds(appointment.patient_id):
            account.request_association(appointment.patient_id, "booking")
            changed += self.patients.note_account(appointment.patient_id, account.id)
        account.record_booking(appointment.id, appointment.clinic_id, appointment.patient_id)
        return changed
