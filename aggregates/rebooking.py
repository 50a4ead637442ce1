"""Booking or moving a citizen's 2nd dose in one decision (V3, V4; seed 000 §5, §8).

``book_second_dose`` changes the aggregates in memory and returns all of them; the caller
saves them in one transaction, so the old 2nd dose is cancelled exactly when the new one is
booked (never both, never neither). Racing rebookings conflict on the ``DoseCourse`` (and on
the old appointment and the slots) and only one of them is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from aggregates.appointment import Appointment
from aggregates.doses import (
    DoseCourse,
    DoseIntervals,
    require_second_dose_product,
    same_product,
)
from aggregates.errors import Conflict, InvalidValue
from aggregates.slot import Slot

REBOOK_REASON = "moved by the citizen (2nd-dose self-service)"


class NotFirstDoseSite(Conflict):
    """The 2nd dose is booked at the site of the 1st (seed 000 §5)."""

    code = "not_first_dose_site"


class SlotInPast(Conflict):
    code = "slot_in_past"


@dataclass(frozen=True)
class SecondDoseBooking:
    """The new appointment, the one it replaces (if any), and every aggregate to save."""

    appointment: Appointment
    replaced: Appointment | None
    changed: tuple[Aggregate, ...]


def book_second_dose(
    *,
    course: DoseCourse,
    first: Appointment,
    current: Appointment | None,
    current_slot: Slot | None,
    slot: Slot,
    service_id: UUID,
    product: str | None,
    application_type: str,
    intervals: DoseIntervals,
    now: datetime,
    source: str = "citizen",
    language: str | None = None,
    as_given: dict[str, Any] | None = None,
) -> SecondDoseBooking:
    """Book the 2nd dose after ``first`` in ``slot``; cancel ``current`` if it is active.

    ``current`` is the appointment the course names for dose 2 (and ``current_slot`` its
    slot); ``product`` is the wanted product (V4), by default the 1st dose's; ``as_given``:
    the name and contacts the booking carried (kept with the new appointment).
    """
    if course.appointment_for(1) != first.id or first.patient_id != course.patient_id:
        raise InvalidValue("that 1st dose is not this patient's", field="first_dose_id")
    if (current.id if current else None) != course.appointment_for(2):
        raise Conflict("the 2nd dose changed meanwhile; look it up again")
    if slot.clinic_id != first.clinic_id:
        raise NotFirstDoseSite(
            "the 2nd dose is booked at the site of the 1st", clinic_id=str(first.clinic_id)
        )
    if slot.start <= now:
        raise SlotInPast("this slot has already started", slot_id=str(slot.id))
    chosen = require_second_dose_product(first.product, product)
    intervals.require_within(first.product, first.start, slot.start)
    slot_product = next((p for p in slot.products if same_product(p, chosen)), chosen)
    replaced = current if current is not None and current.active else None
    if replaced is not None and (current_slot is None or current_slot.id != replaced.slot_id):
        raise InvalidValue("the current 2nd dose's slot is needed to move it", field="slot_id")
    if replaced is not None and replaced.slot_id == slot.id:
        raise Conflict("the 2nd dose is already in that slot", slot_id=str(slot.id))

    appointment = Appointment.book(
        clinic_id=slot.clinic_id,
        slot_id=slot.id,
        professional_id=slot.professional_id,
        start=slot.start,
        end=slot.end,
        service_id=service_id,
        patient_id=first.patient_id,
        source=source,
        product=slot_product,
        language=language,
        as_given=as_given,
    )
    slot.reserve(appointment.id, service_id, slot_product, online=source in ("portal", "citizen"))
    appointment.record_dose(2, first.id)
    changed: list[Aggregate] = [appointment, slot, course]
    if replaced is not None and current_slot is not None:
        replaced.cancel(REBOOK_REASON)
        current_slot.release(replaced.id, replaced.product, application_type)
        changed.extend((replaced, current_slot))
        course.rebook(2, replaced.id, appointment.id)
    else:
        course.book(2, appointment.id, current_active=False)
    return SecondDoseBooking(appointment, replaced, tuple(changed))
