"""Doses on appointments (V2): recorded at booking, corrected by staff, read as eligibility facts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.domain import Aggregate

from aggregates.appointment import Appointment
from aggregates.clinic import Clinic
from aggregates.doses import CouponIndex, DoseCourse, DoseIntervals, coupon_for, course_id
from aggregates.eligibility import CitizenFacts, DoseFacts
from aggregates.patient import Patient
from aggregates.reorientation import Referral
from aggregates.slot import Slot
from hub.scheduling.service import Scheduling, Written

log = structlog.get_logger("hub.vaccination")


class DoseRecords:
    """Which dose an appointment gives, each patient's course, and the facts eligibility reads."""

    def __init__(self, app: Scheduling, intervals: DoseIntervals) -> None:
        self.app = app
        self.intervals = intervals

    # -- commands --------------------------------------------------------------------------
    def book(self, slot_id: UUID, service_id: UUID, patient: dict[str, Any], source: str,
             language: str | None, dose: int | None, through: str | None = None,
             referral: Referral | None = None, account_id: UUID | None = None,
             channel: Callable[[Slot], str | None] | None = None) -> Written:
        """Book as usual (``account_id``: a citizen account's booking, A1); with ``dose``,
        record it (a 2nd dose follows the patient's 1st dose of the same clinic) in the same
        transaction. ``through``/``referral``/``channel``: R2 (``Scheduling.book``)."""
        also = self.at_booking(dose) if dose is not None else None
        return self.app.book(slot_id, service_id, patient, source, language, also=also,
                             through=through, referral=referral, account_id=account_id,
                             channel=channel)

    def at_booking(self, dose: int) -> Callable[[Appointment], list[Aggregate]]:
        def decide(appointment: Appointment) -> list[Aggregate]:
            course = self.course(appointment.patient_id)
            first_id = None
            if dose >= 2 and (known := course.appointment_for(1)) is not None:
                first = self.app.load(Appointment, known, "appointment")
                if first.clinic_id == appointment.clinic_id:
                    first_id = first.id
            current = course.appointment_for(dose)
            active = current is not None and self.app.load(Appointment, current, "appointment").active
            course.book(dose, appointment.id, current_active=active)
            appointment.record_dose(dose, first_id)
            coupon = CouponIndex(coupon_for(appointment.id), appointment.id, appointment.patient_id)
            return [course, coupon]

        return decide

    def correct_product(self, appointment_id: UUID, product: str) -> Written:
        """Staff record the product really given or planned (seed 000 §6, admin mode)."""

        def run() -> Written:
            appointment = self.app.load(Appointment, appointment_id, "appointment")
            appointment.correct_product(product)
            return Written(appointment.id, self.app.commit(appointment))

        return self.app.retrying(run, "correct product")

    # -- reads -------------------------------------------------------------------------------
    def course(self, patient_id: UUID) -> DoseCourse:
        """The patient's course (a new, unsaved one when they have none yet)."""
        key = course_id(patient_id)
        if self.app.exists(key):
            return self.app.load(DoseCourse, key, "dose course")
        return DoseCourse(patient_id=patient_id)

    def first_dose_of(self, appointment: Appointment) -> Appointment | None:
        """The 1st dose a 2nd dose follows (its link, else the patient's course)."""
        first_id = appointment.first_dose_id
        if first_id is None and self.app.exists(course_id(appointment.patient_id)):
            first_id = self.course(appointment.patient_id).appointment_for(1)
        if first_id is None or first_id == appointment.id:
            return None
        return self.app.load(Appointment, first_id, "appointment")

    def facts(self, appointment: Appointment) -> DoseFacts:
        clinic = self.app.load(Clinic, appointment.clinic_id, "clinic")
        return DoseFacts(start=appointment.start, dose=appointment.dose, status=appointment.status,
                         active=appointment.active, product=appointment.product,
                         location_active=clinic.active)

    @staticmethod
    def citizen(patient: Patient) -> CitizenFacts:
        return CitizenFacts(nam=patient.nam, birth_date=patient.birth_date,
                            email=patient.email or patient.other_email, cell=patient.cell)
