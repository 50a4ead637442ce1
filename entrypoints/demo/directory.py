"""The demo clinic's staff and services, as its EMR would export them: FHIR Bundles imported
through the same path as a real clinic's (``hub.imports.service``); ``create_demo_clinic``
creates the clinic through the setup wizard (W1–W2), its EMR answering with those Bundles."""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from uuid import UUID

from adapters.logostore import logo_store_for
from aggregates.errors import Conflict
from connectors.directory import SOURCES
from connectors.fhir import codes
from hub.imports.service import Imports, imported_id
from hub.scheduling.service import Scheduling
from hub.setup.service import ClinicSetups

#: A 1×1 PNG: the demo clinic's logo.
DEMO_LOGO = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==")

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


class DemoEmr:
    """The demo clinic's EMR, as ``hub.imports`` asks it: the demo Bundles."""

    def pull(self, kind: str, emr: str) -> str:
        return staff_bundle() if kind == "staff" else services_bundle()


def create_demo_clinic(app: Scheduling, name: str, address: dict[str, str], phone: str,
                       application_type: str) -> tuple[UUID, dict[str, UUID]]:
    """Run the six steps of the setup wizard, then "Créer la clinique"; return the clinic's id
    and its staff and services ids by EMR id."""
    imports = Imports(app, SOURCES, emr=DemoEmr())
    setups = ClinicSetups(app, imports, logo_store_for(app.recorder))
    try:
        setup_id = setups.start(preset_emr="omnimed", application_type=application_type).id
        setups.identify_clinic(setup_id, name, address, phone)
        setups.attach_logo(setup_id, DEMO_LOGO)
        setups.choose_providers(setup_id, ["rvsq", "myle-portal"])
        setups.choose_emr(setup_id, "omnimed")
        for kind in ("staff", "services"):
            setups.start_import(setup_id, kind)  # in the background, like the wizard's
            deadline = time.monotonic() + 60
            while (status := setups.get(setup_id).imports[kind]["status"]) == "running":
                if time.monotonic() > deadline:
                    raise Conflict(f"the demo {kind} import is still running")
                time.sleep(0.02)
            if status != "succeeded":
                raise Conflict(f"the demo {kind} import ended {status}")
        setups.acknowledge_patients(setup_id, True)
        clinic_id = setups.complete(setup_id).clinic_id
    finally:
        imports.close()
    ids = {s[0]: imported_id(clinic_id, "staff", s[0]) for s in STAFF}
    ids.update({s[0]: imported_id(clinic_id, "services", s[0]) for s in SERVICES})
    return clinic_id, ids
