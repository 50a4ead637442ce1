"""The demo clinic's staff and services, as its EMR would export them: FHIR Bundles imported
through the same path as a real clinic's (``hub.imports.service``)."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from aggregates.errors import Conflict
from connectors.directory import SOURCES
from connectors.fhir import codes
from hub.imports.service import Imports, imported_id
from hub.scheduling.service import Scheduling

STAFF = (  # source id, name, type, licence
    ("gp", "Dre Isabelle Tremblay", "gp", "1-90001"),
    ("nurse", "Marc Gagnon, inf.", "nurse", "2-90002"),
    ("specialist", "Dr Paul Roy, cardiologue", "specialist", "1-90003"),
)
SERVICES = (  # source id, name, minutes, category, online, cancellation delay (h), product
    ("consult", "Consultation", 15, "in_person", True, 24, None),
    ("phone", "Suivi téléphonique", 15, "phone", True, 24, None),
    ("vaccine", "Vaccin COVID-19 Pfizer", 10, "in_person", True, 12, "Pfizer-BioNTech"),
    ("note", "Note administrative", 5, "silent", False, 0, None),
)


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}


def staff_bundle() -> str:
    entries = []
    for source_id, name, type_, licence in STAFF:
        entries.append(_entry({
            "resourceType": "Practitioner", "id": source_id, "active": True,
            "identifier": [{"system": codes.LICENCE, "value": licence}], "name": [{"text": name}],
        }))
        entries.append(_entry({
            "resourceType": "PractitionerRole", "id": f"{source_id}-role", "active": True,
            "practitioner": {"reference": f"Practitioner/{source_id}"},
            "code": [{"coding": [{"system": codes.PROFESSIONAL_TYPE, "code": type_}]}],
        }))
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})


def services_bundle() -> str:
    entries = []
    for source_id, name, minutes, category, online, delay, product in SERVICES:
        extension: list[dict[str, Any]] = [
            {"url": codes.EXT_DURATION, "valueDuration": {"value": minutes, "code": "min",
                                                          "system": "http://unitsofmeasure.org"}},
            {"url": codes.EXT_ONLINE, "valueBoolean": online},
            {"url": codes.EXT_CANCELLATION_DELAY, "valueDuration": {
                "value": delay, "code": "h", "system": "http://unitsofmeasure.org"}},
        ]
        if product:
            extension.append({"url": codes.VACCINE_PRODUCT, "valueCoding": codes.product_coding(product)})
        entries.append(_entry({
            "resourceType": "HealthcareService", "id": source_id, "active": True, "name": name,
            "extension": extension,
            "type": [{"coding": [{"system": codes.SERVICE_CATEGORY, "code": category}]}],
        }))
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})


def import_demo_directory(app: Scheduling, clinic_id: UUID) -> dict[str, UUID]:
    """Import the demo staff and services; return their hub ids by EMR id."""
    imports = Imports(app, SOURCES)
    for kind, source in (("staff", staff_bundle()), ("services", services_bundle())):
        job = imports.run(imports.start(clinic_id, kind, source).id)
        if job.status != "succeeded":
            raise Conflict(f"the demo {kind} import ended {job.status}: {job.conflicts or job.error}")
    ids = {s[0]: imported_id(clinic_id, "staff", s[0]) for s in STAFF}
    ids.update({s[0]: imported_id(clinic_id, "services", s[0]) for s in SERVICES})
    return ids
