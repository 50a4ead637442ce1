"""The citizen's 2nd-dose self-service (V3, V4; seed 000 §5–8).

1. ``lookup``: NAM or coupon + phone → a one-time code by SMS or e-mail (quotas per NAM and
   per address; only the code's hash is stored; the code goes out through the channels).
2. ``verify``: the code → a token, the appointment to move (or the 1st dose), every failed
   §7 criterion and the §6 case it falls under, the products allowed (V4), the interval.
3. ``rebook``: a slot at the 1st-dose site within the interval; only e-mail and cell may
   change, for the new appointment's messages (the patient record stays as it is). The new
   2nd dose is booked and the old one cancelled in one transaction; the usual messages
   follow (confirmation of the new one, notice of the cancellation).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.domain import Aggregate

from adapters.channels import Channel, DeliveryFailed, Outgoing
from aggregates.appointment import Appointment
from aggregates.clinic import Clinic
from aggregates.doses import (
    CouponIndex,
    coupon_for,
    coupon_index_id,
    normalise_coupon,
    require_second_dose_product,
    same_product,
    second_dose_products,
)
from aggregates.eligibility import (
    CODE_CONTACT,
    Eligibility,
    FirstDoseNotRecorded,
    IdentificationFailed,
    ProductDeclaredWrong,
    for_self_service,
    refusal,
)
from aggregates.errors import InvalidValue
from aggregates.notification import phone_key
from aggregates.patient import Patient
from aggregates.rebooking import book_second_dose
from aggregates.self_service import CodeVerification, RequestQuota, TokenRefused, quota_id
from aggregates.service import Service
from aggregates.slot import ServiceNotAccepted, Slot
from hub.scheduling.service import Scheduling
from hub.vaccination import messages
from hub.vaccination.records import DoseRecords
from hub.vaccination.self_service_answers import (
    CodeNotSent,
    CodeSent,
    Rebooked,
    SelfServicePolicy,
    Verified,
    Window,
    masked,
)

log = structlog.get_logger("hub.vaccination.self_service")


class SelfService:
    """Identification by one-time code, then one rebooking of the 2nd dose."""

    def __init__(self, app: Scheduling, records: DoseRecords, channels: dict[str, Channel],
                 policy: SelfServicePolicy | None = None) -> None:
        self.app = app
        self.records = records
        self.channels = channels
        self.policy = policy or SelfServicePolicy()

    # -- 1. lookup ------------------------------------------------------------------------------
    def lookup(self, phone: str, nam: str | None = None, coupon: str | None = None) -> CodeSent:
        patient = self._find(phone, nam, coupon)
        now = self.app.clock()
        self.policy.target_group.require_member(patient.birth_date, now.date())
        channel, address = self._where(patient, phone)
        course = self.records.course(patient.id)
        code = f"{secrets.randbelow(10**6):06d}"

        def run() -> tuple[CodeVerification, int]:
            quotas = [self._quota("nam", patient.nam or str(patient.id)),
                      self._quota("address", address)]
            for quota in quotas:
                quota.take(now, self.policy.codes_per_window, self.policy.window)
            request = CodeVerification.request(
                patient.id, course.appointment_for(1), course.appointment_for(2), channel, code,
                secrets.token_bytes(16), now, self.policy.code_minutes, key=self.policy.key)
            return request, self.app.commit(request, *quotas)

        request, position = self.app.retrying(run, "self-service lookup")
        rendered = messages.code(patient.language, code, self.policy.code_minutes, channel)
        sender = self.channels.get(channel)
        try:
            if sender is None:
                raise DeliveryFailed(f"no {channel} channel is configured")
            sender.send(Outgoing(key=request.id, channel=channel, address=address,
                                 text=rendered.text, language=patient.language,
                                 subject=rendered.subject, html=rendered.html))
        except DeliveryFailed as exc:
            log.warning("self-service code not sent", request_id=str(request.id), channel=channel,
                        error=str(exc))
            raise CodeNotSent("the confirmation code could not be sent; try again shortly",
                              request_id=str(request.id)) from None
        log.info("self-service code sent", request_id=str(request.id), channel=channel)
        return CodeSent(request.id, channel, masked(channel, address), request.expires_at, position)

    def _find(self, phone: str, nam: str | None, coupon: str | None) -> Patient:
        if bool(nam) == bool(coupon):
            raise InvalidValue("give your health insurance number (NAM) or your coupon, not both",
                               field="nam")
        patient: Patient | None = None
        if nam:
            patient = self.app.patients.find_by_nam(nam)
        elif coupon and self.app.exists(key := coupon_index_id(normalise_coupon(coupon))):
            entry = self.app.load(CouponIndex, key, "coupon")
            patient = self.app.load(Patient, entry.patient_id, "patient")
        numbers = {phone_key(n) for n in (patient.cell, patient.phone, patient.other_cell,
                                          patient.other_phone) if n} if patient else set()
        if patient is None or phone_key(phone) not in numbers:
            raise IdentificationFailed()
        return patient

    @staticmethod
    def _where(patient: Patient, phone: str) -> tuple[str, str]:
        """By SMS to the cell the citizen typed, else by e-mail, else to their cell."""
        if patient.cell and phone_key(patient.cell) == phone_key(phone):
            return "sms", patient.cell
        if email := (patient.email or patient.other_email):
            return "email", email
        if patient.cell:
            return "sms", patient.cell
        raise IdentificationFailed(reasons=[CODE_CONTACT.as_reason()])

    def _quota(self, kind: str, value: str) -> RequestQuota:
        key = quota_id(self.app.index_secret, kind, value)
        if self.app.exists(key):
            return self.app.load(RequestQuota, key, "quota")
        return RequestQuota.open(self.app.index_secret, kind, value)

    # -- 2. verify ------------------------------------------------------------------------------
    def verify(self, request_id: UUID, code: str) -> Verified:
        secret = secrets.token_urlsafe(24)

        def run() -> CodeVerification:
            request = self.app.load(CodeVerification, request_id, "self-service request")
            outcome = request.try_code(code, self.app.clock(), secret, self.policy.key)
            self.app.commit(request)
            refused = request.refusal(outcome)
            if refused is not None:
                log.info("self-service code refused", request_id=str(request_id),
                         outcome=outcome.value, tries_left=request.tries_left)
                raise refused
            return request

        request = self.app.retrying(run, "self-service verify")
        return self._verified(request, f"{request.id}.{secret}")

    def _verified(self, request: CodeVerification, token: str) -> Verified:
        now = self.app.clock()
        patient = self.app.load(Patient, request.patient_id, "patient")
        first, current = self._doses(patient.id)
        result = self._eligibility(patient, first, current, now)
        refused = refusal(result, first is not None)
        shown = current if current is not None and current.active else first
        earliest = latest = None
        if first is not None and self.records.intervals.knows(first.product):
            earliest, latest = self.records.intervals.window(first.product, first.start)
        return Verified(
            token=token,
            appointment=self._describe(shown) if shown else {},
            eligibility=result,
            refusal=None if refused is None else {"code": refused.code, "message": refused.message,
                                                  **refused.details},
            products=list(second_dose_products(first.product if first else None)),
            earliest=earliest, latest=latest,
        )

    def _doses(self, patient_id: UUID) -> tuple[Appointment | None, Appointment | None]:
        course = self.records.course(patient_id)
        loaded = [self.app.load(Appointment, a, "appointment") if a else None
                  for a in (course.appointment_for(1), course.appointment_for(2))]
        return loaded[0], loaded[1]

    def _eligibility(self, patient: Patient, first: Appointment | None,
                     current: Appointment | None, now: datetime) -> Eligibility:
        return for_self_service(
            self.records.facts(first) if first else None,
            self.records.facts(current) if current else None,
            self.records.citizen(patient), now, self.records.intervals.knows)

    def _describe(self, appointment: Appointment) -> dict[str, Any]:
        clinic = self.app.load(Clinic, appointment.clinic_id, "clinic")
        return {"id": appointment.id, "dose": appointment.dose, "start": appointment.start,
                "clinic_id": clinic.id, "clinic": clinic.name, "address": clinic.address,
                "product": appointment.product}

    # -- 3. rebook ------------------------------------------------------------------------------
    def rebook(self, token: str, slot_id: UUID, product: str | None = None,
               email: str | None = None, cell: str | None = None,
               details_confirmed: bool = True) -> Rebooked:
        request_id, secret = _parse(token)
        now = self.app.clock()

        def run() -> Rebooked:
            request = self._request(request_id)
            request.authorize(secret, now, self.policy.key)
            if not details_confirmed:
                raise ProductDeclaredWrong()
            patient = self.app.load(Patient, request.patient_id, "patient")
            first, current = self._doses(patient.id)
            refused = refusal(self._eligibility(patient, first, current, now), first is not None)
            if refused is not None or first is None:
                raise refused or IdentificationFailed()
            slot = self.app.load(Slot, slot_id, "slot")
            service = self._service_for(slot, require_second_dose_product(first.product, product))
            clinic = self.app.load(Clinic, first.clinic_id, "clinic")
            moving = current is not None and current.active
            booking = book_second_dose(
                course=self.records.course(patient.id), first=first, current=current,
                current_slot=self.app.load(Slot, current.slot_id, "slot") if moving and current else None,
                slot=slot, service_id=service.id, product=product,
                application_type=clinic.application_type, intervals=self.records.intervals,
                now=now, source="citizen", language=patient.language,
                as_given=_as_given(patient, current or first, email, cell))
            new = booking.appointment
            changed: list[Aggregate] = [*booking.changed,
                                        CouponIndex(coupon_for(new.id), new.id, patient.id)]
            request.complete(new.id, secret, now, self.policy.key)
            position = self.app.commit(*changed, request)
            replaced = booking.replaced.id if booking.replaced else None
            return Rebooked(new.id, replaced, position)

        rebooked = self.app.retrying(run, "self-service rebook")
        log.info("2nd dose rebooked by the citizen", appointment_id=str(rebooked.appointment_id),
                 cancelled_id=str(rebooked.cancelled_id) if rebooked.cancelled_id else None,
                 slot_id=str(slot_id), request_id=str(request_id), position=rebooked.position)
        return rebooked

    def _service_for(self, slot: Slot, product: str) -> Service:
        """The slot's online service for ``product`` (else its general online service)."""
        services = [self.app.load(Service, s, "service") for s in slot.service_ids]
        online = [s for s in services if s.online]
        chosen = (next((s for s in online if same_product(s.product, product)), None)
                  or next((s for s in online if not s.product), None))
        if chosen is None:
            raise ServiceNotAccepted(f"this slot offers no online service for {product}",
                                     slot_id=str(slot.id), product=product)
        return chosen

    def window(self, token: str, product: str | None = None) -> Window:
        """Where and when the citizen may book the 2nd dose, for ``product`` (V3, V4)."""
        request_id, secret = _parse(token)
        now = self.app.clock()
        request = self._request(request_id)
        request.authorize(secret, now, self.policy.key)
        first, _ = self._doses(request.patient_id)
        if first is None:
            raise FirstDoseNotRecorded()
        chosen = require_second_dose_product(first.product, product)
        earliest, latest = self.records.intervals.window(first.product, first.start)
        return Window(first.clinic_id, chosen, max(earliest, now), latest)

    def _request(self, request_id: UUID) -> CodeVerification:
        if not self.app.exists(request_id):
            raise TokenRefused("this self-service session does not exist; identify yourself again")
        return self.app.load(CodeVerification, request_id, "self-service request")


def _parse(token: str) -> tuple[UUID, str]:
    request_id, _, secret = token.partition(".")
    try:
        return UUID(request_id), secret
    except ValueError:
        raise TokenRefused("this self-service token is not valid") from None


def _as_given(patient: Patient, before: Appointment, email: str | None,
              cell: str | None) -> dict[str, Any]:
    """What the rebooking form carried (seed 000 §5: pre-filled, only the e-mail and the cell
    may change): the name and contacts the 2nd dose's messages use. They stay with the new
    appointment; the patient record does not change (CONTRACT "Patients")."""
    if not (email or cell):
        return dict(before.as_given)
    contacts = before.message_contacts(patient.contacts())
    given = {"first_name": patient.first_name, "last_name": patient.last_name, **contacts}
    given.update({k: v for k, v in (("email", email), ("cell", cell)) if v})
    return given
