"""FHIR Bundles of an EMR's staff (Practitioner, PractitionerRole) and services
(HealthcareService) → import rows.

The Bundle is validated whole against the R4B models first: a document that is not FHIR is
refused before anything is written. Rows the hub cannot take become conflicts.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from connectors.fhir import codes
from hub.imports.rows import MalformedSource, Parsed, RowConflict, service_row, staff_row

ACCEPTED = {"staff": {"Practitioner", "PractitionerRole"}, "services": {"HealthcareService"}}


def parse_bundle(kind: str, data: Any) -> Parsed:
    """Rows and conflicts from a Bundle (any type: collection, searchset, transaction)."""
    from fhir.resources.R4B.bundle import Bundle

    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        found = data.get("resourceType") if isinstance(data, dict) else type(data).__name__
        raise MalformedSource(f"the source must be a FHIR Bundle; got {found!r}", field="source")
    try:
        Bundle.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise MalformedSource(
            f"the Bundle is not valid FHIR R4: {where}: {first['msg']}", field="source"
        ) from None
    entries = [e for e in data.get("entry") or [] if e.get("resource")]
    resources = [e["resource"] for e in entries]
    wrong = sorted({r["resourceType"] for r in resources} - ACCEPTED[kind])
    if wrong:
        raise MalformedSource(
            f"a {kind} import takes {', '.join(sorted(ACCEPTED[kind]))} resources; "
            f"the Bundle holds {', '.join(wrong)}",
            field="source",
        )
    parsed = Parsed()
    if kind == "staff":
        roles = [r for r in resources if r["resourceType"] == "PractitionerRole"]
        for entry in entries:
            resource = entry["resource"]
            if resource["resourceType"] == "Practitioner" and resource.get("active", True):
                _append(parsed, _practitioner(resource, roles, entry.get("fullUrl")))
    else:
        for resource in resources:
            if resource.get("active", True):
                _append(parsed, _healthcare_service(resource))
    return parsed


def _append(parsed: Parsed, result: Any) -> None:
    (parsed.conflicts if isinstance(result, RowConflict) else parsed.rows).append(result)


def _source_id(resource: dict[str, Any]) -> str:
    if resource.get("id"):
        return str(resource["id"])
    for ident in resource.get("identifier") or []:
        if ident.get("value"):
            return str(ident["value"])
    return ""


def _human_name(resource: dict[str, Any]) -> str:
    for name in resource.get("name") or []:
        if name.get("text"):
            return str(name["text"]).strip()
        parts = [*(name.get("prefix") or []), *(name.get("given") or []), name.get("family") or ""]
        joined = " ".join(p for p in parts if p).strip()
        if joined:
            return joined
    return ""


def _concept_values(concept: dict[str, Any]) -> list[str]:
    """Codes first (the hub's own system first), then displays, then the text."""
    codings = sorted(concept.get("coding") or [], key=lambda c: c.get("system") != codes.PROFESSIONAL_TYPE)
    values = [str(c["code"]) for c in codings if c.get("code")]
    values += [str(c["display"]) for c in codings if c.get("display")]
    if concept.get("text"):
        values.append(str(concept["text"]))
    return values


def _practitioner(resource: dict[str, Any], roles: list[dict[str, Any]], full_url: str | None) -> Any:
    """Its type comes from the PractitionerRoles naming it (by ``Practitioner/id`` or by the
    entry's fullUrl), else from its qualifications."""
    source_id = _source_id(resource)
    name = _human_name(resource)
    if not source_id:
        return RowConflict("", name, "missing required field: id")
    refs = {f"Practitioner/{resource.get('id')}", full_url} - {None, "Practitioner/None"}
    type_values: list[str] = []
    for role in roles:
        if (role.get("practitioner") or {}).get("reference") in refs and role.get("active", True):
            for concept in role.get("code") or []:
                type_values += _concept_values(concept)
    for qualification in resource.get("qualification") or []:
        type_values += _concept_values(qualification.get("code") or {})
    licence = next(
        (i.get("value") for i in resource.get("identifier") or []
         if i.get("system") in codes.LICENCE_SYSTEMS and i.get("value")),
        None,
    )
    return staff_row(source_id, name, type_values, licence)


def _extension(resource: dict[str, Any], url: str) -> dict[str, Any] | None:
    return next((e for e in resource.get("extension") or [] if e.get("url") == url), None)


def _duration_minutes(extension: dict[str, Any] | None) -> int | None:
    if extension is None:
        return None
    if "valueInteger" in extension:
        return int(extension["valueInteger"])
    duration = extension.get("valueDuration") or {}
    if duration.get("value") is None:
        return None
    factor = {"min": 1, "h": 60, "d": 1440}.get(duration.get("code") or duration.get("unit") or "min", 1)
    return round(float(duration["value"]) * factor)


def _healthcare_service(resource: dict[str, Any]) -> Any:
    source_id = _source_id(resource)
    name = str(resource.get("name") or "").strip()
    if not source_id:
        return RowConflict("", name, "missing required field: id")
    category = "in_person"
    for concept in resource.get("type") or []:
        for coding in concept.get("coding") or []:
            if coding.get("system") == codes.SERVICE_CATEGORY and coding.get("code"):
                category = str(coding["code"])
    online = _extension(resource, codes.EXT_ONLINE)
    delay = _duration_minutes(_extension(resource, codes.EXT_CANCELLATION_DELAY))
    product = _extension(resource, codes.VACCINE_PRODUCT)
    return service_row(
        source_id,
        name,
        _duration_minutes(_extension(resource, codes.EXT_DURATION)),
        category,
        bool(online.get("valueBoolean")) if online else False,
        (delay // 60) if delay is not None else 0,
        codes.product_of(product.get("valueCoding") or {}) if product else None,
    )
