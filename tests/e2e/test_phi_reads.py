"""Reads of a patient's personal data leave a trail that ops can query (Loi 25): every route
that shows it (native appointment, patient, history, notifications, Suivi, accounts, FHIR read
and search, audit and events of a patient, the console's Suivi and audit) records who, when,
which patient and which route, through the one visibility rule. A refused read records nothing
and writes nothing; a read whose trail cannot be written is not answered. Real app on
PostgreSQL (the console on the same app)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from aggregates.appointment import Appointment
from entrypoints.web import create_web_app
from hub.access.tokens import issue
from hub.scheduling.service import Scheduling
from tests.support.http import HttpClinic, booking_body
from tests.support.scheduling import future, patient


def trail(client: TestClient, ops: dict[str, str], **params: str) -> list[dict[str, Any]]:
    answer = client.get("/v1/phi-reads", params=params, headers=ops)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def test_who_read_which_patient_is_recorded_and_listed_for_ops(client: TestClient,
                                                             auth: Callable[..., Any]) -> None:
    admin = auth("admin")
    clinic = HttpClinic(client, admin)
    booked = clinic.post("/v1/appointments", booking_body(clinic.slot, clinic.consult, 7))
    staff = auth("clinic_staff", clinic.id)
    nam = booking_body(clinic.slot, clinic.consult, 7)["patient"]["nam"]
    assert client.post("/v1/patients/search", json={"nam": nam}, headers=staff).status_code == 200
    assert client.get(f"/v1/appointments/{booked['id']}/notifications",
                      headers=staff).status_code == 200

    assert client.get("/v1/phi-reads", headers=staff).status_code == 403
    found = trail(client, auth("ops"), patient_id=booked["patient_id"])
    assert [r["what"] for r in found] == [
        f"GET /v1/appointments/{booked['id']}/notifications", "POST /v1/patients/search"]
    assert {r["role"] for r in found} == {"clinic_staff"} and found[0]["reader"].startswith("tok_")
    assert client.get("/v1/phi-reads", params={"patient_id": "nope"},
                      headers=admin).status_code == 422


def test_every_route_showing_a_patient_leaves_one_record_per_read(
        client: TestClient, auth: Callable[..., Any]) -> None:
    admin, ops = auth("admin"), auth("ops")
    clinic = HttpClinic(client, admin)
    staff = auth("clinic_staff", clinic.id)
    portal = auth("portal", clinic.id)
    booked = clinic.book(7, headers=portal)
    assert booked["patient_id"] is None  # a portal sees only what it gave (#12)
    appointment = booked["id"]
    scheduling = client.app.state.services.scheduling
    patient_id = str(scheduling.load(Appointment, UUID(appointment), "appointment").patient_id)
    other = clinic.book(8)  # another patient of the same clinic
    day = future(72).astimezone(ZoneInfo("America/Montreal")).date().isoformat()
    account = client.post("/v1/accounts", headers=portal, json={
        "email": "famille.roy@exemple.ca", "holder": patient(9)}).json()

    reads = [
        (staff, "GET", f"/v1/appointments/{appointment}", None),
        (portal, "GET", f"/v1/appointments/{appointment}", None),
        (staff, "GET", f"/v1/appointments/{appointment}/notifications", None),
        (staff, "GET", f"/v1/patients/{patient_id}", None),
        (staff, "PATCH", f"/v1/patients/{patient_id}", {"language": "en"}),
        (staff, "GET", f"/v1/patients/{patient_id}/appointments",
         {"min_position": str(other["position"])}),
        (staff, "GET", f"/v1/clinics/{clinic.id}/suivi",
         {"date": day, "min_position": str(other["position"])}),
        (staff, "GET", f"/fhir/r4/Appointment/{appointment}", None),
        (staff, "GET", "/fhir/r4/Appointment", {"identifier": appointment}),
        (ops, "GET", f"/v1/audit/{patient_id}", {"min_position": str(other["position"])}),
    ]
    for headers, method, path, extra in reads:
        if method == "PATCH":
            answer = client.patch(path, json=extra, headers=headers)
        else:
            answer = client.request(method, path, params=extra, headers=headers)
        assert answer.status_code == 200, f"{method} {path}: {answer.text}"

    recorded = trail(client, ops, patient_id=patient_id)
    whats = [r["what"] for r in reversed(recorded)]  # oldest first
    assert whats == [f"{method} {path}" for _, method, path, _ in reads], whats
    roles = [r["role"] for r in reversed(recorded)]
    assert roles == ["clinic_staff", "portal"] + ["clinic_staff"] * 7 + ["ops"]
    assert all(r["at"] and r["reader"].startswith("tok_") for r in recorded)
    # the Suivi showed both patients of the day: both have their record of that read
    suivi_path = f"GET /v1/clinics/{clinic.id}/suivi"
    assert suivi_path in [r["what"] for r in trail(client, ops, patient_id=other["patient_id"])]
    # an account read names its holder
    holder = account["holder_patient_id"]
    assert client.get(f"/v1/accounts/{account['id']}", headers=portal).status_code == 200
    assert [r["what"] for r in trail(client, ops, patient_id=holder)] == [
        f"GET /v1/accounts/{account['id']}"]


def test_refused_reads_record_nothing_and_write_nothing(client: TestClient,
                                                         auth: Callable[..., Any]) -> None:
    admin, ops = auth("admin"), auth("ops")
    mine, theirs = HttpClinic(client, admin, name="Mine"), HttpClinic(client, admin, name="Theirs")
    booked = theirs.book(7)
    patient_id = booked["patient_id"]
    stranger = auth("clinic_staff", mine.id)
    other_portal = auth("portal", theirs.id)  # did not book it
    scheduling = client.app.state.services.scheduling
    head, before = scheduling.head(), trail(client, ops)
    for headers, path in ((stranger, f"/v1/appointments/{booked['id']}"),
                          (stranger, f"/v1/appointments/{booked['id']}/notifications"),
                          (stranger, f"/v1/patients/{patient_id}"),
                          (stranger, f"/v1/patients/{patient_id}/appointments"),
                          (stranger, f"/fhir/r4/Appointment/{booked['id']}"),
                          (other_portal, f"/v1/appointments/{booked['id']}")):
        answer = client.get(path, headers=headers)
        assert answer.status_code in (403, 404), f"{path}: {answer.status_code} {answer.text}"
    nam = patient(7)["nam"]
    assert client.post("/v1/patients/search", json={"nam": nam}, headers=stranger).status_code == 404
    assert client.get(f"/fhir/r4/Appointment?identifier={booked['id']}",
                      headers=stranger).json().get("total", 0) == 0
    assert scheduling.head() == head and trail(client, ops) == before


def test_a_read_whose_trail_cannot_be_written_is_not_answered(client: TestClient,
                                                               auth: Callable[..., Any]) -> None:
    admin = auth("admin")
    clinic = HttpClinic(client, admin)
    booked = clinic.book(7)
    phi_reads = client.app.state.services.phi_reads
    with phi_reads.datastore.transaction(commit=True) as cursor:
        cursor.execute(f"ALTER TABLE {phi_reads.table} RENAME TO hub_phi_reads_away")
    try:
        answer = client.get(f"/v1/appointments/{booked['id']}", headers=admin)
        assert answer.status_code == 503 and answer.json()["error"]["code"] == "read_trail_unavailable"
        assert patient(7)["last_name"] not in answer.text and booked["patient_id"] not in answer.text
        # a route that shows no patient is not held back
        assert client.get(f"/v1/clinics/{clinic.id}", headers=admin).status_code == 200
    finally:
        with phi_reads.datastore.transaction(commit=True) as cursor:
            schema = phi_reads.table.rsplit(".", 1)[0] + "." if "." in phi_reads.table else ""
            cursor.execute(f"ALTER TABLE {schema}hub_phi_reads_away RENAME TO hub_phi_reads")
    assert client.get(f"/v1/appointments/{booked['id']}", headers=admin).status_code == 200


@pytest.fixture
def web(pg_app: Scheduling) -> Iterator[TestClient]:
    with TestClient(create_web_app(pg_app), base_url="https://testserver") as test_client:
        yield test_client


def test_the_consoles_suivi_and_audit_leave_records(web: TestClient) -> None:
    access = web.app.state.services.access
    _, admin_secret = issue(access, "admin")
    admin = {"Authorization": f"Bearer {admin_secret}"}
    clinic = HttpClinic(web, admin)
    booked = clinic.book(7)
    _, staff_secret = issue(access, "clinic_staff", [UUID(clinic.id)])
    login = web.get("/console/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', login).group(1)
    signed = web.post("/console/login", data={"csrf": csrf, "token": staff_secret,
                                              "next": "/console"}, follow_redirects=False)
    assert signed.status_code == 303, signed.text
    day = future(72).astimezone(ZoneInfo("America/Montreal")).date().isoformat()
    deadline = time.monotonic() + 20
    while True:  # the Suivi read model catches up; a page without rows shows no one
        page = web.get(f"/console/clinics/{clinic.id}/suivi", params={"date": day})
        assert page.status_code == 200, page.text[:300]
        if patient(7)["last_name"] in page.text or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert patient(7)["last_name"] in page.text
    _, ops_secret = issue(access, "ops")
    ops = {"Authorization": f"Bearer {ops_secret}"}
    found = trail(web, ops, patient_id=booked["patient_id"])
    assert [r["what"] for r in found] == [f"GET /console/clinics/{clinic.id}/suivi"]
    assert found[0]["role"] == "clinic_staff"
    audit = web.get(f"/console/ops/audit/{booked['patient_id']}")
    assert audit.status_code == 403 or "/console/login" in audit.headers.get("location", "")
