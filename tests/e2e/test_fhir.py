"""FHIR R4 through the real app on PostgreSQL: every answer validated against the R4B models
and FHIRPath invariants; Appointment writes follow the native rules and errors."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aggregates.slot import Slot
from connectors.fhir import codes
from tests.e2e.test_hl7_http import clinic_with_sender, post_hl7
from tests.support.emr_sim import SimulatedEmr, read_ack
from tests.support.fhir import assert_valid
from tests.support.scheduling import ADDRESS, Setup, future, patient

FHIR = "/fhir/r4"


@pytest.fixture
def world(client: TestClient, pg_app) -> Setup:
    world = Setup(pg_app, capacity=2)
    world.locked = world.open_slot(capacity=3, locked=True, hours=80)
    world.later = world.open_slot(capacity=1, hours=96)
    world.offline = pg_app.add_service(world.clinic, "Note", 5, "silent", False, 0).id
    return world


def get(client: TestClient, path: str, headers: dict[str, str], expect: int = 200, **params: Any) -> dict:
    answer = client.get(f"{FHIR}{path}", headers=headers, params=params)
    assert answer.status_code == expect, answer.text
    assert answer.headers["content-type"].startswith("application/fhir+json")
    body = answer.json()
    assert_valid(body)
    return body


def booking(world: Setup, n: int = 1, slot=None, service=None, **extra: Any) -> dict[str, Any]:
    p = patient(n)
    resource = {
        "resourceType": "Appointment", "status": "booked",
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.3.omnimed", "value": f"OMN-{n}"}],
        "slot": [{"reference": f"Slot/{slot or world.slot}"}],
        "serviceType": [{"coding": [{"system": codes.SERVICE, "code": str(service or world.consult)}]}],
        "contained": [{
            "resourceType": "Patient", "id": "p",
            "identifier": [{"system": codes.NAM, "value": p["nam"]}],
            "name": [{"family": p["last_name"], "given": [p["first_name"]]}],
            "birthDate": p["birth_date"],
            "telecom": [{"system": "email", "value": p["email"]},
                        {"system": "phone", "use": "mobile", "value": "+15145550000"}],
            "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "fr-CA"}]}}],
        }],
        "participant": [{"actor": {"reference": "#p"}, "status": "accepted"}],
    }
    resource.update(extra)
    return resource


def post(client: TestClient, path: str, body: Any, headers: dict[str, str], status: int, **kw: Any) -> dict:
    answer = client.post(f"{FHIR}{path}", json=body, headers={**headers, **kw.pop("extra", {})}, **kw)
    assert answer.status_code == status, answer.text
    result = answer.json()
    assert_valid(result)
    return result


def test_reads_and_searches_validate(client: TestClient, world: Setup, auth) -> None:
    emr = auth("emr", world.clinic)
    location = get(client, f"/Location/{world.clinic}", emr)
    assert location["name"] == "Clinique Test"
    practitioner = get(client, f"/Practitioner/{world.gp}", emr)
    assert practitioner["qualification"][0]["code"]["coding"][0]["code"] == "gp"
    service = get(client, f"/HealthcareService/{world.vaccine}", emr)
    assert {"url": codes.VACCINE_PRODUCT, "valueCoding": codes.product_coding("Pfizer")} in service["extension"]
    schedules = get(client, "/Schedule", emr)
    assert [e["resource"]["id"] for e in schedules["entry"]] == [str(world.gp)]
    slots = get(client, "/Slot", emr, schedule=f"Schedule/{world.gp}", status="free")
    assert [e["resource"]["id"] for e in slots["entry"]] == [str(world.slot), str(world.locked), str(world.later)]
    first = slots["entry"][0]["resource"]
    assert {"url": codes.SLOT_CAPACITY, "valueInteger": 2} in first["extension"]
    for path in ("/Location", "/Practitioner", "/HealthcareService", "/Appointment", "/metadata"):
        get(client, path, emr)


def test_slot_search_by_start_and_paging(client: TestClient, world: Setup, auth, pg_app) -> None:
    emr = auth("emr", world.clinic)
    slot = pg_app.load(Slot, world.later, "slot")
    after = (slot.start - timedelta(minutes=1)).isoformat()
    found = get(client, "/Slot", emr, schedule=str(world.gp), start=f"ge{after}")
    assert [e["resource"]["id"] for e in found["entry"]] == [str(world.later)]
    page1 = get(client, "/Slot", emr, _count=2)
    assert page1["total"] == 3 and len(page1["entry"]) == 2
    next_url = next(link["url"] for link in page1["link"] if link["relation"] == "next")
    page2 = client.get(next_url, headers=emr).json()
    assert_valid(page2)
    assert len(page2["entry"]) == 1 and not any(link["relation"] == "next" for link in page2["link"])
    ids = [e["resource"]["id"] for e in page1["entry"] + page2["entry"]]
    assert len(set(ids)) == 3


def test_portal_sees_only_the_online_view(client: TestClient, world: Setup, auth) -> None:
    portal = auth("portal", world.clinic)
    slots = get(client, "/Slot", portal)
    assert str(world.locked) not in [e["resource"]["id"] for e in slots["entry"]]
    get(client, f"/Slot/{world.locked}", portal, expect=404)
    get(client, f"/HealthcareService/{world.offline}", portal, expect=404)
    services = get(client, "/HealthcareService", portal)
    assert str(world.offline) not in [e["resource"]["id"] for e in services["entry"]]


def test_book_search_and_cancel_through_fhir(client: TestClient, world: Setup, auth) -> None:
    emr = auth("emr", world.clinic)
    created = post(client, "/Appointment", booking(world), emr, 201)
    assert created["status"] == "booked"
    assert {"system": "urn:oid:2.16.840.1.113883.3.omnimed", "value": "OMN-1"} in created["identifier"]
    by_id = get(client, "/Appointment", emr, identifier="urn:oid:2.16.840.1.113883.3.omnimed|OMN-1")
    assert [e["resource"]["id"] for e in by_id["entry"]] == [created["id"]]
    by_patient = get(client, "/Appointment", emr, **{"patient.identifier": f"{codes.NAM}|{patient(1)['nam']}"})
    assert [e["resource"]["id"] for e in by_patient["entry"]] == [created["id"]]
    assert get(client, "/Appointment", emr, identifier="OMN-404")["total"] == 0
    slot = get(client, f"/Slot/{world.slot}", emr)
    assert {"url": codes.SLOT_CAPACITY, "valueInteger": 1} in slot["extension"]

    # the same conditional create does not book twice
    again = post(client, "/Appointment", booking(world), emr, 200,
                 extra={"If-None-Exist": "identifier=urn:oid:2.16.840.1.113883.3.omnimed|OMN-1"})
    assert again["id"] == created["id"]

    cancelled = post(client, f"/Appointment/{created['id']}/$cancel",
                     {"resourceType": "Parameters", "parameter": [{"name": "reason", "valueString": "malade"}]},
                     emr, 200)
    assert (cancelled["status"], cancelled["cancelationReason"]["text"]) == ("cancelled", "malade")
    closed = post(client, f"/Appointment/{created['id']}/$cancel", None, emr, 409)
    assert closed["issue"][0]["details"]["coding"][0]["code"] == "appointment_closed"


def test_put_moves_marks_and_cancels(client: TestClient, world: Setup, auth) -> None:
    emr = auth("emr", world.clinic)
    created = post(client, "/Appointment", booking(world, 2), emr, 201)
    moved = copy.deepcopy(created)
    moved["slot"] = [{"reference": f"Slot/{world.later}"}]
    answer = client.put(f"{FHIR}/Appointment/{created['id']}", json=moved, headers=emr)
    assert answer.status_code == 200, answer.text
    assert answer.json()["slot"] == [{"reference": f"Slot/{world.later}"}]
    moved["status"] = "arrived"
    assert client.put(f"{FHIR}/Appointment/{created['id']}", json=moved, headers=emr).json()["status"] == "arrived"
    moved["status"] = "cancelled"
    done = client.put(f"{FHIR}/Appointment/{created['id']}", json=moved, headers=emr).json()
    assert_valid(done)
    assert done["status"] == "cancelled"


def test_native_rules_and_errors_as_operation_outcome(client: TestClient, world: Setup, auth, pg_app) -> None:
    emr, portal = auth("emr", world.clinic), auth("portal", world.clinic)
    post(client, "/Appointment", booking(world, 1), emr, 201)
    post(client, "/Appointment", booking(world, 2), emr, 201)
    full = post(client, "/Appointment", booking(world, 3), emr, 409)
    assert full["issue"][0]["details"]["coding"][0]["code"] == "slot_full"
    locked = post(client, "/Appointment", booking(world, 4, slot=world.locked), portal, 409)
    assert locked["issue"][0]["details"]["coding"][0]["code"] == "slot_locked"
    head = pg_app.head()
    cases = [
        ({"resourceType": "Patient"}, 400, "malformed_resource"),
        ({**booking(world, 5), "status": "booked", "start": "not a date"}, 400, "malformed_resource"),
        ({**booking(world, 5), "status": "proposed"}, 422, "invalid_value"),
        ({**booking(world, 5), "slot": []}, 422, "invalid_value"),
        ({**booking(world, 5), "participant": [{"actor": {"display": "x"}, "status": "accepted"}]}, 422, "invalid_value"),
        (booking(world, 5, slot="00000000-0000-0000-0000-000000000000"), 404, "not_found"),
    ]
    for body, status, code in cases:
        outcome = post(client, "/Appointment", body, emr, status)
        assert outcome["issue"][0]["details"]["coding"][0]["code"] == code, outcome
    bad_nam = booking(world, 6)
    bad_nam["contained"][0]["identifier"][0]["value"] = "NOPE"
    assert post(client, "/Appointment", bad_nam, emr, 422)["issue"][0]["expression"] == ["nam"]
    raw = client.post(f"{FHIR}/Appointment", content=b"{nope", headers={**emr, "Content-Type": "application/fhir+json"})
    assert raw.status_code == 400 and raw.json()["resourceType"] == "OperationOutcome"
    assert pg_app.head() == head


def test_auth_scope_and_unknown_things_are_operation_outcomes(client: TestClient, world: Setup, auth) -> None:
    other = auth("emr", world.app.register_clinic("Autre", ADDRESS, "418-555-1111", "clinic").id)
    get(client, f"/Location/{world.clinic}", {}, expect=401)
    get(client, f"/Location/{world.clinic}", other, expect=404)
    get(client, f"/Slot/{world.slot}", other, expect=404)
    assert get(client, "/Slot", other)["total"] == 0
    get(client, "/Patient", other, expect=404)
    get(client, "/Slot", other, expect=400, bogus="1")
    get(client, "/Slot", other, expect=400, start="ge2026-01-01T10:00:00")
    get(client, "/Slot", other, expect=400, _count="0")
    get(client, "/Slot/not-a-uuid", other, expect=400)
    get(client, "/Nothing/here/at/all", other, expect=404)
    ops = auth("ops")
    post(client, "/Appointment", booking(world), ops, 403)


def test_an_hl7_booking_is_found_by_its_emr_ids_through_fhir(client: TestClient, admin, auth) -> None:
    """CONTRACT: SCH-1/SCH-2 become identifiers, searchable as ``Appointment?identifier=``."""
    clinic = clinic_with_sender(client, admin)
    emr_token = auth("emr", clinic)
    emr = SimulatedEmr()
    answer = post_hl7(client, emr_token, emr.siu("S12", "FL77", future(48), placer="PL77"))
    assert read_ack(answer.text).code == "AA", answer.text
    filler = get(client, "/Appointment", emr_token, identifier=f"urn:hl7v2:ei:{emr.application}|FL77")
    placer = get(client, "/Appointment", emr_token, identifier="PL77")
    assert filler["total"] == placer["total"] == 1
    assert filler["entry"][0]["resource"]["id"] == placer["entry"][0]["resource"]["id"]
    by_nam = get(client, "/Appointment", emr_token, **{"patient.identifier": "TREM85510112"})
    assert by_nam["total"] == 1
    assert get(client, "/Appointment", auth("emr", world_free_clinic(client)), identifier="PL77")["total"] == 0


def world_free_clinic(client: TestClient):
    return client.app.state.services.scheduling.register_clinic("Ailleurs", ADDRESS, "418-555-9999", "clinic").id
