"""Hub aggregates → FHIR R4 resources (plain JSON dicts, validated against R4B in the tests).

Location ← Clinic, Practitioner ← Professional, HealthcareService ← Service, Schedule ← one per
professional (same id), Slot ← Slot (free/busy, places as ``slot-capacity``), Appointment.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aggregates.account_icons import NO_ACCOUNT, AccountIcons
from aggregates.appointment import Appointment
from aggregates.clinic import Clinic
from aggregates.patient import Patient
from aggregates.professional import Professional
from aggregates.service import Service
from connectors.fhir import codes

Resource = dict[str, Any]

#: Hub attendance status → FHIR Appointment.status.
APPOINTMENT_STATUS = {"undefined": "booked", "present": "arrived", "absent": "noshow"}


def instant(value: datetime) -> str:
    return value.isoformat()


def _hub_id(value: object) -> dict[str, str]:
    return {"system": codes.HUB_ID, "value": str(value)}


def _minutes(value: int) -> dict[str, Any]:
    return {"value": value, "unit": "min", "system": "http://unitsofmeasure.org", "code": "min"}


def location(clinic: Clinic) -> Resource:
    address = clinic.address or {}
    resource: Resource = {
        "resourceType": "Location",
        "id": str(clinic.id),
        "identifier": [_hub_id(clinic.id)],
        "status": "active" if clinic.active else "inactive",
        "name": clinic.name,
        "mode": "instance",
        "telecom": [{"system": "phone", "value": clinic.phone}] if clinic.phone else [],
    }
    fhir_address = {
        "line": [address["street"]] if address.get("street") else None,
        "city": address.get("city"),
        "state": address.get("province"),
        "postalCode": address.get("postal_code"),
        "country": "CA",
    }
    resource["address"] = {k: v for k, v in fhir_address.items() if v}
    return _compact(resource)


def practitioner(professional: Professional) -> Resource:
    identifiers = [_hub_id(professional.id)]
    if professional.licence:
        identifiers.append({"system": codes.LICENCE, "value": professional.licence})
    return {
        "resourceType": "Practitioner",
        "id": str(professional.id),
        "identifier": identifiers,
        "active": True,
        "name": [{"text": professional.name}],
        "qualification": [{"code": {"coding": [_type_coding(professional.type)]}}],
    }


def _type_coding(type_: str) -> dict[str, str]:
    return {
        "system": codes.PROFESSIONAL_TYPE,
        "code": type_,
        "display": codes.PROFESSIONAL_TYPES[type_],
    }


def healthcare_service(service: Service) -> Resource:
    extensions: list[Resource] = [
        {"url": codes.EXT_DURATION, "valueDuration": _minutes(service.duration_minutes)},
        {"url": codes.EXT_ONLINE, "valueBoolean": service.online},
        {
            "url": codes.EXT_CANCELLATION_DELAY,
            "valueDuration": {
                "value": service.cancellation_delay_hours, "unit": "h",
                "system": "http://unitsofmeasure.org", "code": "h",
            },
        },
    ]
    if service.product:
        extensions.append(
            {"url": codes.VACCINE_PRODUCT, "valueCoding": codes.product_coding(service.product)}
        )
    return {
        "resourceType": "HealthcareService",
        "id": str(service.id),
        "extension": extensions,
        "identifier": [_hub_id(service.id)],
        "active": True,
        "location": [{"reference": f"Location/{service.clinic_id}"}],
        "name": service.name,
        "type": [{"coding": [{
            "system": codes.SERVICE_CATEGORY,
            "code": service.category,
            "display": codes.SERVICE_CATEGORIES[service.category],
        }]}],
        "appointmentRequired": True,
    }


def schedule(professional: Professional, products: list[str] | None = None) -> Resource:
    """A professional's agenda; ``products`` adds SMART vaccine-product extensions."""
    resource: Resource = {
        "resourceType": "Schedule",
        "id": str(professional.id),
        "identifier": [_hub_id(professional.id)],
        "active": True,
        "actor": [
            {"reference": f"Practitioner/{professional.id}", "display": professional.name},
            {"reference": f"Location/{professional.clinic_id}"},
        ],
        "specialty": [{"coding": [_type_coding(professional.type)]}],
    }
    if products:
        resource["extension"] = [
            {"url": codes.VACCINE_PRODUCT, "valueCoding": codes.product_coding(p)}
            for p in products
        ]
    return resource


def service_concept(service: Service) -> Resource:
    return {"coding": [{"system": codes.SERVICE, "code": str(service.id), "display": service.name}]}


def slot(
    slot_: Any,
    services: dict[Any, Service],
    online: bool,
    extensions: list[Resource] | None = None,
) -> Resource:
    """Free while a place is left (in the online view: unlocked and not held places).

    ``slot_``: a ``Slot`` or a read-model row with the same attributes and ``remaining``."""
    remaining = slot_.remaining(online=online)
    extension: list[Resource] = [{"url": codes.SLOT_CAPACITY, "valueInteger": remaining}]
    if not online:
        extension.append({"url": codes.EXT_SLOT_LOCKED, "valueBoolean": slot_.locked})
    extension.extend(extensions or [])
    return {
        "resourceType": "Slot",
        "id": str(slot_.id),
        "extension": extension,
        "identifier": [_hub_id(slot_.id)],
        "serviceType": [service_concept(services[s]) for s in sorted(slot_.service_ids, key=str)
                        if s in services],
        "schedule": {"reference": f"Schedule/{slot_.professional_id}"},
        "status": "free" if remaining > 0 else "busy",
        "start": instant(slot_.start),
        "end": instant(slot_.end),
        "comment": f"{remaining} of {slot_.capacity} places left",
    }


def emr_participant(named: dict[str, str]) -> Resource:
    """A location (AIL) or resource (AIG) the EMR named for the appointment: identified by the
    hub's id of what the EMR's code names, shown by the EMR's name."""
    actor: Resource = {"identifier": {"system": codes.EMR_RESOURCE, "value": named["id"]},
                       "display": named["name"] or named["code"]}
    if named["kind"] == "location":
        actor["type"] = "Location"
    return {"actor": actor, "status": "accepted"}


def appointment(
    appointment_: Appointment, service: Service | None, patient: Patient | None,
    record: bool = True, icons: AccountIcons = NO_ACCOUNT,
) -> Resource:
    """``record`` False: the patient's name as the booking gave it instead of the record's;
    ``icons``: the citizen-account icons, as an extension."""
    if appointment_.deleted:
        status = "entered-in-error"
    elif appointment_.cancelled:
        status = "cancelled"
    else:
        status = APPOINTMENT_STATUS[appointment_.status]
    patient_actor: Resource = {"type": "Patient"}
    if patient is not None:
        if patient.nam:
            patient_actor["identifier"] = {"system": codes.NAM, "value": patient.nam}
        elif patient.identifiers:
            first = patient.identifiers[0]
            patient_actor["identifier"] = {"system": first["system"], "value": first["value"]}
        given = " ".join(filter(None, (appointment_.as_given.get("first_name"),
                                       appointment_.as_given.get("last_name"))))
        display = patient.name if record else given
        if display:
            patient_actor["display"] = display
    resource: Resource = {
        "resourceType": "Appointment",
        "id": str(appointment_.id),
        "meta": {"tag": [{"system": codes.APPOINTMENT_SOURCE, "code": appointment_.source}]},
        "identifier": [_hub_id(appointment_.id)] + [
            {"system": i["system"], "value": i["value"]} for i in appointment_.identifiers
        ],
        "status": status,
        "start": instant(appointment_.start),
        "end": instant(appointment_.end),
        "slot": [{"reference": f"Slot/{appointment_.slot_id}"}],
        "participant": [
            {"actor": patient_actor, "status": "accepted"},
            {"actor": {"reference": f"Practitioner/{appointment_.professional_id}"},
             "status": "accepted"},
            {"actor": {"reference": f"Location/{appointment_.clinic_id}"}, "status": "accepted"},
        ],
    }
    resource["participant"] += [emr_participant(r) for r in appointment_.emr_resources]
    if service is not None:
        resource["serviceType"] = [service_concept(service)]
    if appointment_.cancelled and appointment_.cancel_reason:
        resource["cancelationReason"] = {"text": appointment_.cancel_reason}
    resource["extension"] = [{"url": codes.EXT_CITIZEN_ACCOUNT, "extension": [
        {"url": "identity", "valueCode": icons.identity.value},
        {"url": "association", "valueCode": icons.association.value}]}]
    if appointment_.product:
        resource["extension"].append(
            {"url": codes.VACCINE_PRODUCT, "valueCoding": codes.product_coding(appointment_.product)})
    return resource


def _compact(resource: Resource) -> Resource:
    return {k: v for k, v in resource.items() if v not in (None, [], {})}
