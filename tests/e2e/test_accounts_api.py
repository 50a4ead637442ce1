"""Citizen accounts through the HTTP API on PostgreSQL (seed 001, CONTRACT "Citizen accounts").

A parent opens a family account on a portal, books for self and for a child; the clinic sees
red icons in Suivi, runs the presence sequence, and the icons turn green; a change of the
holder's data turns them red again. Every bad request is a clear 4xx that writes nothing.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, uuid4, uuid5
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate, event
from fastapi.testclient import TestClient

from connectors.fhir import codes
from tests.support.http import HttpClinic, booking_body
from tests.support.scheduling import future, patient
from tests.support.users import add_user

PARENT = patient(1, first_name="Julie", last_name="Roy", email="julie@exemple.ca")
CHILD = patient(2, first_name="Léo", last_name="Roy")


def icons(answer: dict) -> tuple[str, str]:
    return answer["account"]["identity"], answer["account"]["association"]


def suivi_icons(client: TestClient, clinic: HttpClinic, headers: dict, position: int) -> dict:
    day = future(72).astimezone(ZoneInfo("America/Montreal")).date().isoformat()
    answer = client.get(f"/v1/clinics/{clinic.id}/suivi", headers=headers,
                        params={"date": day, "min_position": position})
    assert answer.status_code == 200, answer.text
    return {row["appointment_id"]: (row["account"]["identity"], row["account"]["association"])
            for row in answer.json()["items"]}


class StaffUserEmail(Aggregate):
    """Stands for a user e-mail index entry written before the index was keyed (its legacy
    unkeyed id)."""

    @event("Indexed")
    def __init__(self) -> None:
        pass


def test_a_family_account_through_the_presence_sequence(client: TestClient, auth, admin) -> None:
    scheduling = client.app.state.services.scheduling
    clinic, elsewhere = HttpClinic(client, admin, name="A"), HttpClinic(client, admin, name="B")
    portal, other_portal = auth("portal", clinic.id), auth("portal", clinic.id)
    staff, staff_elsewhere = auth("clinic_staff", clinic.id), auth("clinic_staff", elsewhere.id)

    answer = client.post("/v1/accounts", headers=portal,
                         json={"email": "Famille.Roy@exemple.ca", "holder": PARENT})
    assert answer.status_code == 201, answer.text
    opened = answer.json()
    account, holder = opened["id"], opened["holder_patient_id"]
    assert opened["identity"] == "red"

    # bad requests: clear 4xx, nothing written
    head = scheduling.head()
    refusals = [
        (client.post("/v1/accounts", headers=portal,
                     json={"email": "famille.roy@exemple.ca", "holder": CHILD}),
         409, "account_email_in_use"),
        (client.post("/v1/accounts", headers=staff, json={"email": "x@exemple.ca",
                                                          "holder": CHILD}), 403, "forbidden"),
        (client.get(f"/v1/accounts/{uuid4()}", headers=portal), 404, "not_found"),
        (client.get(f"/v1/accounts/{account}", headers=other_portal), 404, "not_found"),
        (client.post(f"/v1/accounts/{account}/identity", headers=staff,
                     json={"confirmed": True}), 409, "no_appointment_in_clinic"),
        (client.post(f"/v1/accounts/{account}/patients/{uuid4()}/association", headers=admin,
                     json={"confirmed": True}), 404, "patient_not_in_account"),
        (client.post(f"/v1/accounts/{account}/identity", headers=staff,
                     json={"confirmed": False}), 422, "validation_error"),
        (client.patch(f"/v1/accounts/{account}/holder", headers=portal,
                      json={"cell": "+15145550199"}), 409, "identity_not_validated"),
        (client.post("/v1/appointments", headers=other_portal, json=booking_body(
            clinic.slot, clinic.consult, patient=PARENT, account_id=account)), 404, "not_found"),
    ]
    for answer, status, code in refusals:
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), answer.text
    assert scheduling.head() == head

    # the parent books for self and for the child ("Autre patient")
    mine = client.post("/v1/appointments", headers=portal, json=booking_body(
        clinic.slot, clinic.consult, patient=PARENT, account_id=account)).json()
    answer = client.post("/v1/appointments", headers=portal, json=booking_body(
        clinic.slot, clinic.consult, patient=CHILD, account_id=account))
    assert answer.status_code == 201, answer.text
    childs = answer.json()
    assert icons(mine) == ("red", "grey") and icons(childs) == ("red", "red")
    plain = clinic.book(9)
    assert icons(plain) == ("grey", "grey")
    assert suivi_icons(client, clinic, staff, plain["position"]) == {
        mine["id"]: ("red", "grey"), childs["id"]: ("red", "red"), plain["id"]: ("grey", "grey")}
    detail = client.get(f"/v1/accounts/{account}", headers=staff).json()
    child_id = detail["patients"][0]["patient_id"]
    assert detail["patients"] == [{"patient_id": child_id, "association": "red"}]

    # another clinic cannot validate; the association waits for the identity
    for answer, code in (
        (client.post(f"/v1/accounts/{account}/identity", headers=staff_elsewhere,
                     json={"confirmed": True}), "no_appointment_in_clinic"),
        (client.post(f"/v1/accounts/{account}/patients/{child_id}/association", headers=staff,
                     json={"confirmed": True}), "identity_not_validated"),
        (client.post(f"/v1/appointments/{childs['id']}/status", headers=staff,
                     json={"status": "present", "validate_association": True}),
         "identity_not_validated"),
        (client.post(f"/v1/appointments/{plain['id']}/status", headers=staff,
                     json={"status": "present", "identify": True}), "no_account"),
    ):
        assert (answer.status_code, answer.json()["error"]["code"]) == (409, code), answer.text
    assert client.get(f"/v1/appointments/{childs['id']}", headers=staff).json()["status"] == \
        "undefined"

    # seed 001 §3.3: present → identify → validate association, in one step
    answer = client.post(f"/v1/appointments/{childs['id']}/status", headers=staff, json={
        "status": "present", "identify": True, "validate_association": True})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "present" and icons(answer.json()) == ("green", "green")
    assert suivi_icons(client, clinic, staff, answer.json()["position"])[mine["id"]] == (
        "green", "grey")
    fhir = client.get(f"/fhir/r4/Appointment/{childs['id']}", headers=staff).json()
    account_ext = next(e for e in fhir["extension"] if e["url"] == codes.EXT_CITIZEN_ACCOUNT)
    assert account_ext["extension"] == [{"url": "identity", "valueCode": "green"},
                                        {"url": "association", "valueCode": "green"}]

    # A2: the holder's own update of personal data puts both back to red
    answer = client.patch(f"/v1/accounts/{account}/holder", headers=portal,
                          json={"cell": "+15145550199"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["identity"] == "red"
    assert answer.json()["patients"] == [{"patient_id": child_id, "association": "red"}]
    assert suivi_icons(client, clinic, staff, answer.json()["position"])[childs["id"]] == (
        "red", "red")
    record = client.get(f"/v1/patients/{holder}", headers=staff).json()
    assert record["cell"] == "+15145550199"

    # separate actions (§3.1, §3.2), then a staff correction of the child's record (A3)
    assert client.post(f"/v1/accounts/{account}/identity", headers=staff,
                       json={"confirmed": True}).json()["identity"] == "green"
    answer = client.post(f"/v1/accounts/{account}/patients/{child_id}/association",
                         headers=staff, json={"confirmed": True})
    assert answer.status_code == 200 and answer.json()["association"] == "green", answer.text
    assert client.patch(f"/v1/patients/{child_id}", headers=staff,
                        json={"first_name": "Léon"}).status_code == 200
    detail = client.get(f"/v1/accounts/{account}", headers=staff).json()
    assert detail["identity"] == "green" and detail["patients"][0]["association"] == "red"

    # a citizen's own association request (A3) is red until a clinic validates it
    answer = client.post(f"/v1/accounts/{account}/patients", headers=portal,
                         json={"patient": patient(3)})
    assert answer.status_code == 201 and answer.json()["association"] == "red", answer.text


def test_a_staff_users_email_cannot_open_an_account(client: TestClient, auth, admin) -> None:
    scheduling = client.app.state.services.scheduling
    staff_email = "infirmiere@clinique.ca"
    index = StaffUserEmail._create(
        StaffUserEmail.Indexed,  # type: ignore[attr-defined]  # made by @event("Indexed")
        id=uuid5(NAMESPACE_URL, f"hub:user-email:{staff_email}"))
    scheduling.save(index)
    head = scheduling.head()
    answer = client.post("/v1/accounts", headers=admin,
                         json={"email": "Infirmiere@Clinique.ca", "holder": PARENT})
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "staff_email"
    assert scheduling.head() == head
    # a user added now (keyed index entry) likewise
    add_user(client, admin, ["info_sante_811"], email="commis@clinique.ca")
    head = scheduling.head()
    answer = client.post("/v1/accounts", headers=admin,
                         json={"email": "COMMIS@clinique.ca", "holder": PARENT})
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "staff_email"
    assert scheduling.head() == head


def test_an_erased_holders_email_opens_a_new_account(client: TestClient, auth, admin) -> None:
    """After ``POST /v1/patients/{id}/erase`` of the holder, the account's e-mail is free."""
    scheduling = client.app.state.services.scheduling
    portal = auth("portal", HttpClinic(client, admin, name="A").id)
    body = {"email": "famille.roy@exemple.ca", "holder": PARENT}
    first = client.post("/v1/accounts", headers=portal, json=body)
    assert first.status_code == 201, first.text
    head = scheduling.head()
    taken = client.post("/v1/accounts", headers=portal,
                        json={**body, "holder": patient(2)})
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "account_email_in_use"
    assert scheduling.head() == head

    holder = first.json()["holder_patient_id"]
    assert client.post(f"/v1/patients/{holder}/erase", headers=admin).status_code == 200
    second = client.post("/v1/accounts", headers=portal,
                         json={"email": "Famille.Roy@exemple.ca", "holder": patient(2)})
    assert second.status_code == 201, second.text
    assert second.json()["id"] != first.json()["id"]
    again = client.post("/v1/accounts", headers=portal, json={**body, "holder": patient(3)})
    assert again.status_code == 409 and again.json()["error"]["code"] == "account_email_in_use"
