"""HL7 v2 over HTTP through the real app on PostgreSQL: senders, ``POST /v1/hl7``, scopes."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.support.emr_sim import SimulatedEmr, read_ack
from tests.support.http import Headers, clinic_body
from tests.support.scheduling import future


def clinic_with_sender(client: TestClient, admin: Headers) -> str:
    clinic = client.post("/v1/clinics", json=clinic_body(), headers=admin).json()["id"]
    sender = {"sending_application": "OMNIMED", "sending_facility": "CLIN01"}
    first = client.post(f"/v1/clinics/{clinic}/hl7-senders", json=sender, headers=admin)
    assert first.status_code == 201, first.text
    again = client.post(f"/v1/clinics/{clinic}/hl7-senders", json=sender, headers=admin)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    return clinic


def post_hl7(client: TestClient, headers: Headers, message: str):
    return client.post("/v1/hl7", content=message.encode("utf-8"),
                       headers={**headers, "Content-Type": "text/plain"})


def test_each_siu_trigger_over_http(client: TestClient, admin: Headers,
                                    auth: Callable[..., Headers]) -> None:
    clinic = clinic_with_sender(client, admin)
    emr_token = auth("emr", clinic)
    emr, start = SimulatedEmr(), future(48)
    later = future(52)
    steps = [("S24", emr.siu("S24", "", start, patient=False), "opened"),
             ("S12", emr.siu("S12", "FL1", start), "booked"),
             ("S23", emr.siu("S23", "", start, patient=False), "locked"),
             ("S13", emr.siu("S13", "FL1", later), "moved"),
             ("S14", emr.siu("S14", "FL1", later, service=("SUIVI", "Suivi")), "service changed"),
             ("S26", emr.siu("S26", "FL1", later), "absent"),
             ("S15", emr.siu("S15", "FL1", later), "cancelled"),
             ("S17", emr.siu("S17", "FL1", later), "deleted")]
    for trigger, message, word in steps:
        answer = post_hl7(client, emr_token, message)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
        ack = read_ack(answer.text)
        assert ack.code == "AA" and word in ack.text, (trigger, ack)
    head = client.app.state.services.scheduling.head()
    replay = post_hl7(client, emr_token, steps[1][1])
    assert read_ack(replay.text).code == "AA" and client.app.state.services.scheduling.head() == head
    listed = client.get(f"/v1/clinics/{clinic}/hl7-senders", headers=emr_token).json()
    assert [s["sending_application"] for s in listed] == ["OMNIMED"]


def test_http_refusals(client: TestClient, admin: Headers, auth: Callable[..., Headers]) -> None:
    clinic = clinic_with_sender(client, admin)
    other = client.post("/v1/clinics", json=clinic_body("Autre"), headers=admin).json()["id"]
    message = SimulatedEmr().siu("S12", "FL1", future(48))
    head = client.app.state.services.scheduling.head()
    assert post_hl7(client, {}, message).status_code == 401
    assert post_hl7(client, auth("portal", clinic), message).status_code == 403
    scoped = read_ack(post_hl7(client, auth("emr", other), message).text)
    assert scoped.code == "AR" and "does not act for the clinic" in scoped.error
    garbage = read_ack(post_hl7(client, admin, "PID|1||x").text)
    assert garbage.code == "AR" and "MSH" in garbage.error
    assert client.app.state.services.scheduling.head() == head
    bad = client.post(f"/v1/clinics/{clinic}/hl7-senders", headers=admin,
                      json={"sending_application": "A^B", "sending_facility": "X"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"
    taken = client.post(f"/v1/clinics/{other}/hl7-senders", headers=admin,
                        json={"sending_application": "OMNIMED", "sending_facility": "CLIN01"})
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "sender_taken"
    foreign = client.post(f"/v1/clinics/{other}/hl7-senders", headers=auth("emr", clinic),
                          json={"sending_application": "KINLOGIX", "sending_facility": "X"})
    assert foreign.status_code == 403
    assert client.app.state.services.scheduling.head() == head


def test_subscription_is_admin_only_and_validated(client: TestClient, admin: Headers,
                                                  auth: Callable[..., Headers]) -> None:
    clinic = clinic_with_sender(client, admin)
    sender = client.get(f"/v1/clinics/{clinic}/hl7-senders", headers=admin).json()[0]["id"]
    url = f"/v1/clinics/{clinic}/hl7-senders/{sender}/subscription"
    assert client.post(url, json={"host": "127.0.0.1", "port": 2576},
                       headers=auth("emr", clinic)).status_code == 403
    assert client.post(url, json={"host": "127.0.0.1", "port": 0}, headers=admin).status_code == 422
    done = client.post(url, json={"host": "127.0.0.1", "port": 2576}, headers=admin)
    assert done.status_code == 200 and done.json()["outbound"]["port"] == 2576
    assert client.delete(url, headers=admin).json()["outbound"] is None


def test_emr_ids_are_searchable_as_fhir_appointment_identifiers(
    client: TestClient, admin: Headers, auth: Callable[..., Headers]
) -> None:
    from tests.support.fhir import assert_valid

    clinic = clinic_with_sender(client, admin)
    emr_token = auth("emr", clinic)
    message = SimulatedEmr().siu("S12", "FL9", future(48), placer="PL9")
    booked = read_ack(post_hl7(client, emr_token, message).text)
    assert booked.code == "AA", booked.error
    for identifier in ("urn:hl7v2:ei:OMNIMED|FL9", "urn:hl7v2:ei:OMNIMED|PL9"):
        answer = client.get("/fhir/r4/Appointment", params={"identifier": identifier}, headers=emr_token)
        assert answer.status_code == 200, answer.text
        bundle = answer.json()
        assert_valid(bundle)
        assert bundle["total"] == 1
        assert bundle["entry"][0]["resource"]["id"] == booked.text.split()[1]
