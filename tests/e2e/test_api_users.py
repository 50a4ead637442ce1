"""Users, sessions and reorientation through the real app on PostgreSQL (R1–R2, seed 003)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from entrypoints.api.app import create_app
from hub.scheduling.service import Scheduling
from hub.settings import Settings
from tests.support.http import HttpClinic, booking_body
from tests.support.notifications import SmtpSink, smtp_sink  # noqa: F401 - the SMTP server fixture
from tests.support.users import FAST_PASSWORDS, PASSWORD, add_user, reserved_slot, signed_in


@pytest.fixture
def client(pg_app: Scheduling) -> Iterator[TestClient]:
    with TestClient(create_app(pg_app, passwords=FAST_PASSWORDS)) as test_client:
        yield test_client


def _local_day(instant: str) -> str:
    """The Suivi day (HUB_TIMEZONE's) of an instant."""
    zone = ZoneInfo(Settings().timezone)
    return datetime.fromisoformat(instant).astimezone(zone).date().isoformat()


def _head(client: TestClient) -> int:
    return int(client.app.state.services.scheduling.head())


def _error(answer, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code, answer.text


def test_add_enrol_sign_in_change_roles_and_audit(client, admin, auth) -> None:
    clinic = HttpClinic(client, admin, name="A")
    user = add_user(client, admin, ["agenda"], [clinic.id], email="Emmett.Brown@Clinique.example")
    assert user["email"] == "emmett.brown@clinique.example" and not user["enrolled"]
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", user["secret_code"])
    listed = client.get("/v1/users", headers=admin).json()["items"]
    assert [u["id"] for u in listed] == [user["id"]] and "secret_code" not in listed[0]

    _error(client.post("/v1/sessions", json={"email": user["email"], "password": PASSWORD}),
           401, "invalid_credentials")  # not enrolled yet
    enrolled = client.post("/v1/users/enroll", json={
        "email": "EMMETT.brown@clinique.example", "secret_code": user["secret_code"].lower(),
        "password": PASSWORD})
    assert enrolled.status_code == 200 and enrolled.json()["enrolled"]
    _error(client.post("/v1/users/enroll", json={
        "email": user["email"], "secret_code": user["secret_code"], "password": PASSWORD}),
        409, "secret_code_used")  # a secret code works once

    session = client.post("/v1/sessions", json={"email": user["email"], "password": PASSWORD})
    assert session.status_code == 201, session.text
    assert session.json()["roles"] == ["agenda"]
    staff = {"Authorization": f"Bearer {session.json()['token']}"}
    assert client.get("/v1/users/me", headers=staff).json()["id"] == user["id"]
    # an agenda user acts as its clinic's staff
    assert client.get(f"/v1/clinics/{clinic.id}/slots", headers=staff).status_code == 200
    suivi = client.get(f"/v1/clinics/{clinic.id}/suivi", headers=staff,
                       params={"date": date.today().isoformat()})
    assert suivi.status_code == 200, suivi.text
    assert client.get("/v1/users", headers=staff).status_code == 403

    changed = client.patch(f"/v1/users/{user['id']}", headers=admin,
                           json={"roles": ["agenda", "info_sante_811"]})
    assert changed.status_code == 200 and changed.json()["roles"] == ["agenda", "info_sante_811"]
    history = client.get(f"/v1/audit/{user['id']}", headers=auth("ops"),
                         params={"min_position": changed.json()["position"]})
    types = [e["type"] for e in history.json()["items"]]
    assert types[:5] == ["Added", "SecretCodeIssued", "Enrolled", "SignedIn", "AccessChanged"], types
    access = history.json()["items"][4]
    assert access["data"]["roles_added"] == ["info_sante_811"] and access["role"] == "admin"
    assert user["secret_code"] not in history.text and PASSWORD not in history.text

    assert client.delete("/v1/sessions/current", headers=staff).status_code == 204
    _error(client.get("/v1/users/me", headers=staff), 401, "unauthenticated")


def test_a_stolen_old_code_fails_after_a_new_one_is_made(client, admin) -> None:
    user = add_user(client, admin, ["info_sante_811"])
    new = client.post(f"/v1/users/{user['id']}/secret-code", headers=admin)
    assert new.status_code == 201 and new.json()["secret_code"] != user["secret_code"]
    _error(client.post("/v1/users/enroll", json={
        "email": user["email"], "secret_code": user["secret_code"], "password": PASSWORD}),
        422, "secret_code_invalid")
    assert client.post("/v1/users/enroll", json={
        "email": user["email"], "secret_code": new.json()["secret_code"],
        "password": PASSWORD}).status_code == 200


def test_five_wrong_codes_lock_it(client, admin) -> None:
    user = add_user(client, admin, ["info_sante_811"])
    attempt = {"email": user["email"], "secret_code": "AAAA-BBBB-CCCC-DDDD", "password": PASSWORD}
    for _ in range(4):
        _error(client.post("/v1/users/enroll", json=attempt), 422, "secret_code_invalid")
    _error(client.post("/v1/users/enroll", json=attempt), 409, "secret_code_locked")
    _error(client.post("/v1/users/enroll", json={**attempt, "secret_code": user["secret_code"]}),
           409, "secret_code_locked")


def test_bad_input_gets_a_clear_4xx_and_writes_nothing(client, admin) -> None:
    clinic = HttpClinic(client, admin, name="A")
    user = add_user(client, admin, ["agenda"], [clinic.id])
    scheduling: Scheduling = client.app.state.services.scheduling
    head = scheduling.head()
    base = {"email": "new@clinique.example", "title": "docteur", "first_name": "E",
            "last_name": "B", "roles": ["agenda"], "clinic_ids": [clinic.id]}
    cases = [
        (client.post("/v1/users", headers=admin, json={**base, "roles": ["surgeon"]}), 422,
         "validation_error"),
        (client.post("/v1/users", headers=admin, json={**base, "roles": []}), 422, "validation_error"),
        (client.post("/v1/users", headers=admin, json={**base, "clinic_ids": []}), 422,
         "invalid_value"),
        (client.post("/v1/users", headers=admin, json={**base, "email": user["email"].upper()}),
         409, "email_taken"),
        (client.post("/v1/users", headers=admin, json={**base, "email": "not-an-email"}), 422,
         "invalid_value"),
        (client.post("/v1/users", headers=admin,
                     json={**base, "clinic_ids": ["00000000-0000-0000-0000-000000000000"]}),
         404, "not_found"),
        (client.post("/v1/users/enroll", json={"email": user["email"],
                                               "secret_code": user["secret_code"],
                                               "password": "short"}), 422, "weak_password"),
        (client.post("/v1/users/enroll", json={"email": user["email"],
                                               "secret_code": user["secret_code"],
                                               "password": "lorraine-baines-2026"}), 422,
         "weak_password"),
        (client.patch(f"/v1/users/{user['id']}", headers=admin, json={"roles": ["nurse"]}), 422,
         "validation_error"),
        (client.post("/v1/users/password", json={"token": "nope", "password": PASSWORD}), 422,
         "reset_link_invalid"),
        (client.post("/v1/users/enroll", json={"email": "nobody@clinique.example",
                                               "secret_code": "AAAA", "password": PASSWORD}),
         422, "secret_code_invalid"),
        (client.post(f"/v1/users/{user['id']}/password-reset", headers=admin), 409,
         "email_unavailable"),
    ]
    for answer, status, code in cases:
        _error(answer, status, code)
    assert scheduling.head() == head, "a refused request wrote to the store"
    assert client.post("/v1/users/enroll", json={"email": user["email"],
                                                 "secret_code": user["secret_code"],
                                                 "password": PASSWORD}).status_code == 200
    _error(client.post("/v1/users/enroll", json={"email": user["email"],
                                                 "secret_code": user["secret_code"],
                                                 "password": PASSWORD}), 409, "secret_code_used")


def test_failed_sign_ins_are_rate_limited_and_audited(client, admin, auth) -> None:
    nurse = signed_in(client, admin, ["info_sante_811"])
    for _ in range(5):
        _error(client.post("/v1/sessions", json={"email": nurse.email, "password": "wrong one!"}),
               401, "invalid_credentials")
    blocked = client.post("/v1/sessions", json={"email": nurse.email, "password": PASSWORD})
    _error(blocked, 429, "too_many_attempts")
    assert int(blocked.headers["Retry-After"]) > 0
    head = client.app.state.services.scheduling.head()
    history = client.get(f"/v1/audit/{nurse.id}", headers=auth("ops"),
                         params={"min_position": head}).json()["items"]
    assert [e["type"] for e in history].count("SignInFailed") == 5
    _error(client.post("/v1/sessions", json={"email": "ghost@clinique.example",
                                             "password": PASSWORD}), 401, "invalid_credentials")


def test_an_811_nurse_books_into_clinic_b_811_slot_and_nothing_else(client, admin, auth) -> None:
    b = HttpClinic(client, admin, name="B")
    slot_811 = reserved_slot(client, admin, b, "811")
    slot_reorientation = reserved_slot(client, admin, b, "reorientation")
    nurse = signed_in(client, admin, ["info_sante_811"])

    seen = client.get("/v1/availability", headers=nurse.headers, params={"min_position": _head(client)})
    assert seen.status_code == 200, seen.text
    assert [i["slot_id"] for i in seen.json()["items"]] == [slot_811]
    booked = client.post("/v1/appointments", headers=nurse.headers,
                         json=booking_body(slot_811, b.consult, 3))
    assert booked.status_code == 201, booked.text
    assert booked.json()["through"] == "811" and booked.json()["clinic_id"] == b.id
    # read like a portal: the patient as given, never a patient id (#12)
    assert booked.json()["patient_id"] is None and booked.json()["patient"]["first_name"]
    for slot_id in (b.slot, slot_reorientation):
        _error(client.post("/v1/appointments", headers=nurse.headers,
                           json=booking_body(slot_id, b.consult, 4)), 404, "not_found")
    appointment = booked.json()["id"]
    for method, path in [("GET", f"/v1/appointments/{appointment}"),
                         ("POST", f"/v1/appointments/{appointment}/cancel"),
                         ("GET", f"/v1/clinics/{b.id}/slots"), ("GET", f"/v1/slots/{slot_811}"),
                         ("GET", f"/v1/clinics/{b.id}/suivi?date={date.today()}")]:
        answer = client.request(method, path, headers=nurse.headers)
        assert answer.status_code in (403, 404), f"{method} {path}: {answer.text}"

    # portals never see reserved slots; B's own staff see the 811 booking in Suivi
    portal = auth("portal", b.id)
    online = client.get("/v1/availability", headers=portal, params={"clinic_id": b.id,
                                                                    "min_position": _head(client)})
    assert {i["slot_id"] for i in online.json()["items"]} == {b.slot}
    _error(client.post("/v1/appointments", headers=portal,
                       json=booking_body(slot_811, b.consult, 5)), 404, "not_found")
    staff = auth("clinic_staff", b.id)
    day = client.get(f"/v1/clinics/{b.id}/suivi", headers=staff,
                     params={"date": _local_day(booked.json()["start"]),
                             "min_position": _head(client)}).json()
    assert [r["through"] for r in day["items"]] == ["811"]


def test_reorientation_carries_its_referral_to_the_receiving_clinic(client, admin, auth) -> None:
    b = HttpClinic(client, admin, name="B")
    slot = reserved_slot(client, admin, b, "reorientation")
    triage = signed_in(client, admin, ["reorientation_hospital"])
    body = booking_body(slot, b.consult, 6)
    _error(client.post("/v1/appointments", headers=triage.headers, json=body), 422,
           "invalid_value")  # no referral
    referral = {"from_site": "Urgence, Hôpital Hôtel-Dieu", "priority": "P5",
                "reason": "entorse de la cheville"}
    _error(client.post("/v1/appointments", headers=triage.headers,
                       json={**body, "referral": {**referral, "priority": "P2"}}),
           422, "validation_error")
    booked = client.post("/v1/appointments", headers=triage.headers,
                         json={**body, "referral": referral})
    assert booked.status_code == 201, booked.text
    assert booked.json()["referral"] == referral
    staff = auth("clinic_staff", b.id)
    day = client.get(f"/v1/clinics/{b.id}/suivi", headers=staff,
                     params={"date": _local_day(booked.json()["start"]),
                             "min_position": _head(client)}).json()
    assert day["items"][0]["referral"] == referral and day["items"][0]["through"] == "reorientation"
    audit = client.get(f"/v1/audit/{booked.json()['id']}", headers=auth("ops"),
                       params={"min_position": booked.json()["position"]}).json()["items"]
    assert audit[0]["data"]["referral"] == referral and audit[0]["who"] == f"usr_{triage.id}"
    # a nurse of 811 may not send a referral
    nurse = signed_in(client, admin, ["info_sante_811"])
    _error(client.post("/v1/appointments", headers=nurse.headers,
                       json={**booking_body(slot, b.consult, 7), "referral": referral}),
           422, "referral_not_allowed")


def test_password_reset_by_e_mailed_link(pg_app: Scheduling, smtp_sink: SmtpSink) -> None:  # noqa: F811 - the imported fixture
    settings = Settings(smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                        public_url="https://hub.example")
    with TestClient(create_app(pg_app, settings=settings, passwords=FAST_PASSWORDS)) as client:
        from hub.access.tokens import issue

        _, secret = issue(client.app.state.services.access, "admin")
        admin = {"Authorization": f"Bearer {secret}"}
        user = signed_in(client, admin, ["info_sante_811"])
        sent = client.post(f"/v1/users/{user.id}/password-reset", headers=admin)
        assert sent.status_code == 202, sent.text
        assert sent.json()["sent_to"] == "s***@clinique.example"
        (mail,) = smtp_sink.to(user.email)
        text = mail.get_content()
        link = re.search(r"https://hub\.example/console/password-reset\?token=(\S+)", text)
        assert link, text
        new_password = "another long passphrase 2026"
        assert client.post("/v1/users/password",
                           json={"token": link.group(1), "password": new_password}).status_code == 204
        _error(client.post("/v1/users/password", json={"token": link.group(1),
                                                       "password": new_password}),
               409, "reset_link_used")
        _error(client.get("/v1/users/me", headers=user.headers), 401, "unauthenticated")
        _error(client.post("/v1/sessions", json={"email": user.email, "password": PASSWORD}),
               401, "invalid_credentials")
        assert client.post("/v1/sessions", json={"email": user.email,
                                                 "password": new_password}).status_code == 201


def test_reserved_slots_stay_out_of_every_online_view(client, admin, auth) -> None:
    b = HttpClinic(client, admin, name="B")
    kept = reserved_slot(client, admin, b, "reorientation")
    manifest = client.get("/fhir/r4/$bulk-publish").json()
    published = "".join(client.get(o["url"]).text for o in manifest["output"] if o["type"] == "Slot")
    assert b.slot in published and kept not in published
    portal = auth("portal", b.id)
    searched = client.get("/fhir/r4/Slot", headers=portal)
    assert searched.status_code == 200 and b.slot in searched.text and kept not in searched.text
    listed = client.get(f"/v1/clinics/{b.id}/slots", headers=portal).json()["items"]
    assert [s["id"] for s in listed] == [b.slot]
    _error(client.get(f"/v1/slots/{kept}", headers=portal), 404, "not_found")
    staff = client.get(f"/v1/slots/{kept}", headers=auth("clinic_staff", b.id)).json()
    assert staff["reserved_for"] == "reorientation"
    # the clinic gives the slot back: portals see it again
    assert client.post(f"/v1/slots/{kept}/reservation", headers=admin,
                       json={"reserved_for": None}).json()["reserved_for"] is None
    assert len(client.get(f"/v1/clinics/{b.id}/slots", headers=portal).json()["items"]) == 2
