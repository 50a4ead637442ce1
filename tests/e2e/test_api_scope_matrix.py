"""Every role × every route of the app (enumerated from its OpenAPI, so routers added later
are covered) × another clinic's ids → refused or nothing of that clinic shown; nothing written.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests.support.http import HttpClinic, booking_body, slot_body
from tests.support.scheduling import patient

#: Routes open without a token (CONTRACT): nothing clinic-specific behind them.
PUBLIC_ROUTES = {
    ("GET", "/health"),
    ("GET", "/fhir/r4/$bulk-publish"),  # SMART Scheduling Links: published availability
    ("GET", "/fhir/r4/$bulk-publish/{resource_type}.ndjson"),
    ("GET", "/fhir/r4/metadata"),  # CapabilityStatement
    ("GET", "/v1/links/{token}"),  # patients' signed e-mail links (the token is the secret)
    ("POST", "/v1/links/{token}"),
    ("POST", "/v1/webhooks/sms"),  # gateway webhooks, HMAC-signed
    ("POST", "/v1/webhooks/phone"),
    ("GET", "/v1/clinics/{clinic_id}/logo"),  # a clinic's logo, shown by booking portals
    ("POST", "/v1/self-service/lookup"),  # citizens: NAM or coupon + phone, then a one-time code
    ("POST", "/v1/self-service/{request_id}/verify"),
    ("POST", "/v1/sessions"),  # staff sign in with e-mail and password
    ("POST", "/v1/users/enroll"),  # the secret code is the credential (seed 003)
    ("POST", "/v1/users/password"),  # the reset link's token is the credential
}
SCOPED_ROLES = ("emr", "portal", "clinic_staff")
#: The hub's own resources: with another clinic's id in the path they answer 403 or 404.
#: (Patients: see tests/e2e/test_visibility_matrix.py, which also covers portals.)
OWN_TAGS = {"clinics", "professionals", "services", "slots", "appointments"}


@pytest.fixture
def two_clinics(client, admin):
    mine = HttpClinic(client, admin, name="Mine")
    other = HttpClinic(client, admin, name="Other")
    other.appointment = other.book(7)["id"]
    mine.appointment = mine.book(8)["id"]
    return mine, other


def _ids(other: HttpClinic) -> dict[str, str]:
    return {"clinic_id": other.id, "slot_id": other.slot, "appointment_id": other.appointment,
            "professional_id": other.gp, "service_id": other.consult,
            "aggregate_id": other.appointment, "id": other.appointment}


def _bodies(other: HttpClinic, mine: HttpClinic) -> dict[tuple[str, str], dict]:
    """Valid bodies for the hub's own routes, naming the other clinic's resources."""
    return {
        ("POST", "/v1/clinics/{clinic_id}/professionals"): {"name": "X", "type": "gp"},
        ("POST", "/v1/clinics/{clinic_id}/services"): {
            "name": "X", "duration_minutes": 10, "category": "phone", "online": True,
            "cancellation_delay_hours": 1},
        ("POST", "/v1/clinics/{clinic_id}/slots"): slot_body(other.gp, [other.consult]),
        ("POST", "/v1/slots/{slot_id}/products"): {"product": "Moderna"},
        ("POST", "/v1/slots/{slot_id}/reservation"): {"reserved_for": "811"},
        ("POST", "/v1/appointments"): booking_body(other.slot, other.consult, 9),
        ("POST", "/v1/appointments/{appointment_id}/reschedule"): {"slot_id": mine.slot},
        ("POST", "/v1/appointments/{appointment_id}/cancel"): {"reason": "x"},
        ("POST", "/v1/appointments/{appointment_id}/status"): {"status": "present"},
        ("POST", "/v1/appointments/{appointment_id}/service"): {"service_id": other.desk},
        ("POST", "/v1/appointments/{appointment_id}/product"): {"product": "Moderna"},
        ("POST", "/v1/clinics/{clinic_id}/invitations"): {
            "appointment_ids": [other.appointment], "message": "advance_date", "preview": True},
        ("POST", "/v1/self-service/rebook"): {"slot_id": other.slot},  # a staff token: 401
    }


def _generic_body(other: HttpClinic) -> dict:
    return {**booking_body(other.slot, other.consult, 9), "clinic_id": other.id,
            "appointment_id": other.appointment, "professional_id": other.gp,
            "service_ids": [other.consult], "status": "present", "product": "Moderna"}


def _query(operation: dict, ids: dict[str, str]) -> dict[str, str]:
    query = {}
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "query":
            continue
        name = parameter["name"]
        if name in ids:
            query[name] = ids[name]
        elif parameter.get("required"):
            kind = parameter.get("schema", {}).get("format") or parameter.get("schema", {}).get("type")
            query[name] = {"date": date.today().isoformat(), "integer": "1"}.get(kind, "x")
    return query


def _operations(client) -> list[tuple[str, str, dict]]:
    operations = []
    for template, item in client.app.openapi()["paths"].items():
        for method, operation in item.items():
            if method.upper() in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                operations.append((method.upper(), template, operation))
    return operations


def test_matrix_enumerates_the_hubs_own_routes(client) -> None:
    templates = {(m, t) for m, t, _ in _operations(client)}
    open_routes = {(m, t) for m, t, op in _operations(client) if not op.get("security")}
    assert open_routes == PUBLIC_ROUTES, "a route without a bearer token must be listed here"
    assert ("POST", "/v1/appointments") in templates
    assert ("DELETE", "/v1/appointments/{appointment_id}") in templates
    assert ("GET", "/health") in templates


def test_other_clinics_ids_are_refused_for_every_role_and_route(client, auth, two_clinics) -> None:
    mine, other = two_clinics
    ids = _ids(other)
    bodies = _bodies(other, mine)
    secrets_of_other = {other.id, other.slot, other.appointment, other.gp, other.consult,
                        other.desk, patient(7)["nam"]}
    scheduling = client.app.state.services.scheduling
    head = scheduling.head()
    tokens = {role: auth(role, mine.id) for role in SCOPED_ROLES}
    tokens["ops"] = auth("ops")
    checked = 0
    for method, template, operation in _operations(client):
        if (method, template) in PUBLIC_ROUTES:
            continue
        path = re.sub(r"{(\w+)}", lambda m: ids.get(m.group(1), other.appointment), template)
        own_route = bool(OWN_TAGS & set(operation.get("tags", []))) and "{" in template
        for role, headers in tokens.items():
            if role == "ops" and method == "GET":
                continue  # ops reads every clinic: its refusals are of writes
            body = bodies.get((method, template), _generic_body(other))
            answer = client.request(method, path, headers=headers, params=_query(operation, ids),
                                    json=body if method in ("POST", "PUT", "PATCH") else None)
            where = f"{role} {method} {path}: {answer.status_code} {answer.text[:200]}"
            assert answer.status_code < 500, where
            assert scheduling.head() == head, f"{where} wrote to the store"
            if answer.status_code < 300:
                shown = [s for s in secrets_of_other if s in answer.text]
                assert not shown, f"{where} shows the other clinic's {shown}"
            elif role == "ops":
                assert answer.status_code in (401, 403, 404, 405), where
            if own_route:
                assert answer.status_code in (403, 404), where
            checked += 1
    assert checked >= 4 * 15
