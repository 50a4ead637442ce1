"""Appointment writes through FHIR: create (book), update (status, move, cancel), ``$cancel``.

Each goes through ``Scheduling`` with the caller's source, so the rules and error codes are the
native API's (``slot_full``, ``slot_locked``, ``service_not_online``, ...). The incoming resource
is validated against the R4B model first; nothing is written when it is refused.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import ValidationError

from aggregates.appointment import Appointment
from aggregates.slot import Slot
from connectors.fhir import codes
from connectors.fhir.outcome import FhirError
from connectors.fhir.search import reference_id, token
from connectors.fhir.server import FhirServer, Scope

#: FHIR Appointment.status the hub keeps as an attendance status.
ATTENDANCE = {"booked": "undefined", "arrived": "present", "noshow": "absent"}


def validated_appointment(body: Any) -> dict[str, Any]:
    from fhir.resources.R4B.appointment import Appointment as FhirAppointment

    if not isinstance(body, dict) or body.get("resourceType") != "Appointment":
        found = body.get("resourceType") if isinstance(body, dict) else type(body).__name__
        raise FhirError(400, "structure", f"the body must be a FHIR Appointment; got {found!r}",
                        code="malformed_resource")
    try:
        FhirAppointment.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "Appointment"
        raise FhirError(400, "structure", f"not a valid FHIR R4 Appointment: {where}: {first['msg']}",
                        code="malformed_resource") from None
    return body


class FhirBooking:
    """Book, move, mark and cancel appointments from FHIR Appointment resources."""

    def __init__(self, server: FhirServer) -> None:
        self.server = server
        self.app = server.app

    def create(self, body: Any, scope: Scope, if_none_exist: str | None = None) -> tuple[dict[str, Any], bool]:
        """Return (the appointment, whether it was created now)."""
        resource = validated_appointment(body)
        if if_none_exist:
            existing = self._existing(if_none_exist, scope)
            if existing is not None:
                return existing, False
        if resource.get("status") != "booked":
            raise FhirError(422, "business-rule", "the hub books directly: send status 'booked'",
                            code="invalid_value")
        slot = self._slot(resource, scope)
        service_id = self._service_id(resource, slot, scope)
        patient, language = patient_of(resource)
        identifiers = [
            {"system": i["system"], "value": i["value"]}
            for i in resource.get("identifier") or [] if i.get("system") != codes.HUB_ID
        ]
        if any(not i.get("system") or not i.get("value") for i in identifiers):
            raise FhirError(422, "required", "every Appointment.identifier needs a system and a value",
                            code="invalid_value")
        written = self.app.book(slot.id, service_id, patient, scope.source, language, identifiers)
        return self.server.appointment(self.app.load(Appointment, written.id, "appointment"), scope), True

    def cancel(self, appointment_id: str, reason: str | None, scope: Scope) -> dict[str, Any]:
        appointment = self._appointment(appointment_id, scope)
        self.app.cancel(appointment.id, reason)
        return self.server.appointment(self.app.load(Appointment, appointment.id, "appointment"), scope)

    def update(self, appointment_id: str, body: Any, scope: Scope) -> dict[str, Any]:
        """PUT: cancel (status cancelled), delete (entered-in-error), move (another slot) or
        mark attendance (booked, arrived, noshow)."""
        resource = validated_appointment(body)
        appointment = self._appointment(appointment_id, scope)
        if resource.get("id") not in (None, appointment_id):
            raise FhirError(400, "invalid", "the resource id differs from the id in the URL",
                            code="invalid_value")
        status = resource.get("status")
        if status == "cancelled":
            if appointment.active:
                self.app.cancel(appointment.id, (resource.get("cancelationReason") or {}).get("text"))
        elif status == "entered-in-error":
            self.app.delete(appointment.id)
        elif status in ATTENDANCE:
            slot = self._slot(resource, scope)
            service_id = self._service_id(resource, slot, scope, default=appointment.service_id)
            if slot.id != appointment.slot_id:
                self.app.reschedule(appointment.id, slot.id, service_id, scope.source)
            elif service_id != appointment.service_id:
                self.app.change_service(appointment.id, service_id)
            if ATTENDANCE[status] != appointment.status:
                self.app.set_status(appointment.id, ATTENDANCE[status])
        else:
            raise FhirError(422, "business-rule",
                            f"status {status!r} cannot be set here; use booked, arrived, noshow, "
                            "cancelled or entered-in-error", code="invalid_value")
        return self.server.appointment(self.app.load(Appointment, appointment.id, "appointment"), scope)

    # -- helpers ---------------------------------------------------------------------
    def _existing(self, condition: str, scope: Scope) -> dict[str, Any] | None:
        name, _, value = condition.partition("=")
        if name.strip() != "identifier" or not value:
            raise FhirError(400, "invalid", "If-None-Exist must be identifier=system|value",
                            code="invalid_value")
        found = self.server.reads.appointments(scope.appointments, token(value.strip()))
        if len(found) > 1:
            raise FhirError(412, "duplicate", "If-None-Exist matches more than one appointment",
                            code="precondition_failed")
        return self.server.appointment(found[0], scope) if found else None

    def _appointment(self, appointment_id: str, scope: Scope) -> Appointment:
        self.server.read("Appointment", appointment_id, scope)  # 404 outside the scope
        return self.app.load(Appointment, UUID(appointment_id), "appointment")

    def _slot(self, resource: dict[str, Any], scope: Scope) -> Slot:
        references = [s.get("reference") for s in resource.get("slot") or [] if s.get("reference")]
        if len(references) != 1:
            raise FhirError(422, "required", "Appointment.slot must reference exactly one Slot",
                            code="invalid_value")
        slot_id = reference_id(references[0], "Slot", "slot")
        aggregate = self.app.repository.get(slot_id) if slot_id in self.app.repository else None
        if not isinstance(aggregate, Slot) or not scope.sees(aggregate.clinic_id):
            raise FhirError(404, "not-found", f"Slot/{slot_id} is not known", code="not_found")
        return aggregate

    def _service_id(self, resource: dict[str, Any], slot: Slot, scope: Scope,
                    default: UUID | None = None) -> UUID:
        named = [
            c.get("code") for concept in resource.get("serviceType") or []
            for c in concept.get("coding") or [] if c.get("system") == codes.SERVICE and c.get("code")
        ]
        if named:
            return reference_id(named[0], "HealthcareService", "serviceType")
        if default is not None:
            return default
        if len(slot.service_ids) == 1:
            return slot.service_ids[0]
        raise FhirError(422, "required",
                        f"this slot accepts several services: name one in serviceType "
                        f"(system {codes.SERVICE}, code = the HealthcareService id)",
                        code="invalid_value")


def patient_of(resource: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The hub's patient fields from the Appointment's patient participant (a contained
    Patient, or an actor identifier), and the language chosen for the booking."""
    contained = {f"#{r.get('id')}": r for r in resource.get("contained") or []
                 if r.get("resourceType") == "Patient"}
    for participant in resource.get("participant") or []:
        actor = participant.get("actor") or {}
        if actor.get("reference") in contained:
            return _from_patient(contained[actor["reference"]])
        if actor.get("type") == "Patient" and actor.get("identifier"):
            return _identifiers([actor["identifier"]]), None
    raise FhirError(422, "required",
                    "the Appointment needs a patient participant: a contained Patient (actor "
                    "reference '#id') or an actor of type Patient with an identifier",
                    code="invalid_value")


def _identifiers(identifiers: list[dict[str, Any]]) -> dict[str, Any]:
    patient: dict[str, Any] = {"identifiers": []}
    for ident in identifiers:
        if ident.get("system") == codes.NAM and ident.get("value"):
            patient["nam"] = ident["value"]
        elif ident.get("system") and ident.get("value"):
            patient["identifiers"].append({"system": ident["system"], "value": ident["value"]})
    if not patient.get("nam") and not patient["identifiers"]:
        raise FhirError(422, "required", f"the patient needs a NAM (system {codes.NAM}) or an "
                        "identifier with its system", code="invalid_value")
    return patient


def _from_patient(resource: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    patient = _identifiers(resource.get("identifier") or [])
    name = (resource.get("name") or [{}])[0]
    patient["first_name"] = " ".join(name.get("given") or []) or None
    patient["last_name"] = name.get("family")
    patient["birth_date"] = resource.get("birthDate")
    emails = [t["value"] for t in resource.get("telecom") or [] if t.get("system") == "email"]
    phones = [t for t in resource.get("telecom") or [] if t.get("system") in ("phone", "sms")]
    patient["email"] = emails[0] if emails else None
    patient["other_email"] = emails[1] if len(emails) > 1 else None
    patient["cell"] = next((t["value"] for t in phones if t.get("use") == "mobile"), None)
    patient["phone"] = next((t["value"] for t in phones if t.get("use") != "mobile"), None)
    language = None
    for communication in resource.get("communication") or []:
        for coding in (communication.get("language") or {}).get("coding") or []:
            language = (coding.get("code") or "")[:2].lower() or None
            break
    patient["language"] = language
    return {k: v for k, v in patient.items() if v not in (None, [])}, language
