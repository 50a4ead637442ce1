"""FHIR documents an EMR would send: staff and services Bundles, and R4B/FHIRPath checks."""

from __future__ import annotations

import json
from typing import Any

import fhirpathpy
from fhir.resources.R4B import get_fhir_model_class
from fhirpathpy.models import models

from connectors.fhir import codes


def practitioner(source_id: str, name: str, type_: str | None = "gp", licence: str | None = None,
                 via_role: bool = True) -> list[dict[str, Any]]:
    """A Practitioner and (when ``via_role``) the PractitionerRole that gives its type."""
    resource: dict[str, Any] = {"resourceType": "Practitioner", "id": source_id, "active": True}
    if name:
        resource["name"] = [{"text": name}]
    if licence:
        resource["identifier"] = [{"system": "https://www.cmq.org/fhir/sid/permis", "value": licence}]
    out = [resource]
    if type_ is not None and via_role:
        out.append({"resourceType": "PractitionerRole", "id": f"role-{source_id}", "active": True,
                    "practitioner": {"reference": f"Practitioner/{source_id}"},
                    "code": [{"coding": [{"system": codes.PROFESSIONAL_TYPE, "code": type_}]}]})
    elif type_ is not None:
        resource["qualification"] = [{"code": {"text": type_}}]
    return out


def healthcare_service(source_id: str, name: str, duration: int | None = 15,
                       category: str = "in_person", online: bool = True, delay_hours: int = 24,
                       product: str | None = None) -> list[dict[str, Any]]:
    ext: list[dict[str, Any]] = []
    if duration is not None:
        ext.append({"url": codes.EXT_DURATION, "valueDuration": {
            "value": duration, "unit": "min", "system": "http://unitsofmeasure.org", "code": "min"}})
    ext.append({"url": codes.EXT_ONLINE, "valueBoolean": online})
    ext.append({"url": codes.EXT_CANCELLATION_DELAY, "valueDuration": {
        "value": delay_hours, "unit": "h", "system": "http://unitsofmeasure.org", "code": "h"}})
    if product:
        ext.append({"url": codes.VACCINE_PRODUCT, "valueCoding": codes.product_coding(product)})
    return [{"resourceType": "HealthcareService", "id": source_id, "active": True, "name": name,
             "extension": ext,
             "type": [{"coding": [{"system": codes.SERVICE_CATEGORY, "code": category}]}]}]


def bundle(*groups: list[dict[str, Any]]) -> str:
    resources = [r for group in groups for r in group]
    return json.dumps({"resourceType": "Bundle", "type": "collection",
                       "entry": [{"fullUrl": f"urn:uuid:{r['resourceType']}-{r['id']}", "resource": r}
                                 for r in resources]})


#: FHIRPath invariants the R4B models do not check (codes bound to value sets, SMART rules).
INVARIANTS: dict[str, list[str]] = {
    "Slot": ["status in ('busy' | 'free' | 'busy-unavailable' | 'busy-tentative' | 'entered-in-error')",
             "start <= end",
             f"extension.where(url = '{codes.SLOT_CAPACITY}').value.ofType(integer) >= 0"],
    "Appointment": ["status in ('proposed' | 'pending' | 'booked' | 'arrived' | 'fulfilled' | "
                    "'cancelled' | 'noshow' | 'entered-in-error' | 'checked-in' | 'waitlist')",
                    "start.exists() = end.exists()",
                    "participant.all(status in ('accepted' | 'declined' | 'tentative' | 'needs-action'))",
                    "cancelationReason.exists() implies status = 'cancelled'"],
    "Bundle": ["type in ('searchset' | 'collection' | 'transaction-response' | 'batch-response')",
               "type = 'searchset' implies entry.all(search.mode = 'match' or search.mode = 'outcome' or search.mode = 'include')",
               "total.exists() implies total >= entry.where(search.mode = 'match').count()",
               "entry.all(fullUrl.exists())"],
    "OperationOutcome": ["issue.count() >= 1", "issue.all(severity in ('fatal' | 'error' | 'warning' | 'information'))",
                         "issue.all(diagnostics.exists() or details.text.exists())"],
    "Location": ["status.empty() or status in ('active' | 'suspended' | 'inactive')"],
    "Schedule": ["actor.count() >= 1"],
    "Practitioner": ["name.exists()"],
    "HealthcareService": ["name.exists()"],
}


def assert_valid(resource: dict[str, Any]) -> None:
    """Validate against the R4B model of its type and the FHIRPath invariants, recursively."""
    kind = resource["resourceType"]
    get_fhir_model_class(kind).model_validate(resource)
    for expression in INVARIANTS.get(kind, []):
        result = fhirpathpy.evaluate(resource, expression, {}, models["r4"])
        assert result in ([True], []), f"{kind} breaks invariant {expression!r}: {result} in {resource}"
    for entry in resource.get("entry") or []:
        assert_valid(entry["resource"])
