"""Batch invitations (V1) over HTTP on PostgreSQL, sent through real SMTP and a real gateway."""

from __future__ import annotations

from uuid import uuid4

from fastapi.testclient import TestClient

from aggregates.appointment import Appointment
from aggregates.patient import Patient
from entrypoints.api.services import ApiServices
from hub.scheduling.service import Scheduling
from tests.support.http import Headers
from tests.support.notifications import Gateway, SmtpSink
from tests.support.vaccination import Site, citizen


def url(site: Site) -> str:
    return f"/v1/clinics/{site.clinic}/invitations"


def test_101_selected_is_refused_and_nothing_is_written(vclient: TestClient, pg_app: Scheduling,
                                                       site: Site, staff: Headers) -> None:
    head = pg_app.head()
    body = {"appointment_ids": [str(uuid4()) for _ in range(101)], "message": "advance_date"}
    answer = vclient.post(url(site), json=body, headers=staff)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "too_many" and error["details"]["selected"] == 101
    assert pg_app.head() == head


def test_100_invited_with_a_preview_identical_to_what_is_sent(
    vclient: TestClient, pg_app: Scheduling, services: ApiServices, site: Site, staff: Headers,
    smtp_sink: SmtpSink,
) -> None:
    seconds = [site.vaccinated(n)[1] for n in range(100)]
    body = {"appointment_ids": [str(s) for s in seconds], "message": "moved_or_cancelled",
            "preview": True}
    head = pg_app.head()
    preview = vclient.post(url(site), json=body, headers=staff)
    assert preview.status_code == 200, preview.text
    assert pg_app.head() == head, "a preview wrote something"
    previewed = preview.json()
    assert previewed["invited"] == 100 and previewed["batch_id"] is None
    assert all(i["eligible"] and i["channel"] == "email" and not i["reasons"]
               for i in previewed["items"])

    sent = vclient.post(url(site), json={**body, "preview": False}, headers=staff)
    assert sent.status_code == 201, sent.text
    result = sent.json()
    assert result["invited"] == 100 and result["batch_id"]
    assert [i["message"] for i in result["items"]] == [i["message"] for i in previewed["items"]]

    report = services.notifications.run_once()
    assert report.failed == 0 and report.errors == 0
    invitations = [m for m in smtp_sink.received if "déplacée ou annulée" in m["Subject"]]
    assert len(invitations) == 100
    by_address = {m["To"]: m for m in invitations}
    for n, item in enumerate(previewed["items"]):
        mail = by_address[f"c{n}@example.ca"]
        assert mail["Subject"] == item["message"]["subject"]
        assert _lines(mail.get_body(("plain",)).get_content()) == item["message"]["text"]
        assert _lines(mail.get_body(("html",)).get_content()).strip() == item["message"]["html"]
        assert "https://hub.example.ca/self-service" in item["message"]["text"]

    listed = vclient.get(f"/v1/appointments/{seconds[0]}/notifications", headers=staff).json()
    assert ("invitation", "email", "sent") in {(i["kind"], i["channel"], i["status"])
                                               for i in listed["items"]}


def test_each_appointment_not_invited_says_every_reason(
    vclient: TestClient, pg_app: Scheduling, site: Site, staff: Headers, gateway: Gateway,
    services: ApiServices,
) -> None:
    _, ok = site.vaccinated(1)
    _, by_sms = site.vaccinated(2, email=None)
    _, absent = site.vaccinated(3, present=False)
    first, _ = site.vaccinated(4, second=False)
    _, cancelled = site.vaccinated(5)
    pg_app.cancel(cancelled)
    _, unreachable = site.vaccinated(6, email=None, cell=None, phone="4185550000")
    other = Site(pg_app, services.vaccination.records, name="Autre site")
    _, elsewhere = other.vaccinated(7)
    ids = [ok, by_sms, absent, first, cancelled, unreachable, elsewhere, uuid4()]
    answer = vclient.post(url(site), json={"appointment_ids": [str(i) for i in ids],
                                           "message": "advance_date"}, headers=staff)
    assert answer.status_code == 201, answer.text
    got = {i["appointment_id"]: ([r["code"] for r in i["reasons"]], i["channel"])
           for i in answer.json()["items"]}
    assert got[str(ok)] == ([], "email")
    assert got[str(by_sms)] == ([], "sms")
    assert got[str(absent)][0] == ["present_at_first_dose"]
    assert got[str(first)][0] == ["second_dose_in_future", "not_cancelled_nor_present",
                                  "present_at_first_dose"]  # a 1st dose, given
    assert got[str(cancelled)][0] == ["not_cancelled_nor_present"]
    assert got[str(unreachable)][0] == ["email_or_sms"]
    assert got[str(elsewhere)][0] == got[str(ids[-1])][0] == ["appointment_found"]
    assert answer.json()["invited"] == 2

    services.notifications.run_once()
    sms = gateway.to("4185550002")
    assert len([m for m in sms if "devancer" in m["text"]]) == 1


def test_invitations_are_for_the_clinics_staff(vclient: TestClient, site: Site,
                                               services: ApiServices) -> None:
    from hub.access.tokens import issue

    _, other = issue(services.access, "clinic_staff", [uuid4()])
    _, portal = issue(services.access, "portal", [site.clinic])
    body = {"appointment_ids": [str(uuid4())], "message": "advance_date"}
    for secret, code in ((other, 403), (portal, 403)):
        answer = vclient.post(url(site), json=body, headers={"Authorization": f"Bearer {secret}"})
        assert answer.status_code == code, answer.text


def _lines(text: str) -> str:
    """SMTP carries CRLF line ends; the message was written with LF."""
    return text.replace("\r\n", "\n")


def test_staff_pick_the_2nd_doses_in_suivi_then_invite_them(
    vclient: TestClient, pg_app: Scheduling, site: Site, staff: Headers,
) -> None:
    """Seed 000 §3: Suivi, "tous les rendez-vous sans annulation", the day, then the batch."""
    from zoneinfo import ZoneInfo

    from aggregates.appointment import Appointment

    seconds = [site.vaccinated(n)[1] for n in range(20, 23)]
    pg_app.cancel(seconds[2])
    vclient.post(f"/v1/appointments/{seconds[1]}/product", json={"product": "Moderna"},
                 headers=staff).raise_for_status()
    start = pg_app.load(Appointment, seconds[0], "appointment").start
    day = start.astimezone(ZoneInfo("America/Montreal")).date().isoformat()
    listed = vclient.get(f"/v1/clinics/{site.clinic}/suivi", headers=staff, params={
        "date": day, "view": "without_cancellation", "dose": 2, "min_position": pg_app.head()})
    assert listed.status_code == 200, listed.text
    rows = listed.json()["items"]
    assert sorted(r["appointment_id"] for r in rows) == sorted(str(s) for s in seconds[:2])
    assert {r["dose"] for r in rows} == {2}
    assert {r["product"] for r in rows} == {"Pfizer-BioNTech", "Moderna"}
    firsts = vclient.get(f"/v1/clinics/{site.clinic}/suivi", headers=staff, params={
        "date": day, "dose": 1}).json()["items"]
    assert firsts == []
    answer = vclient.post(url(site), headers=staff, json={
        "appointment_ids": [r["appointment_id"] for r in rows], "message": "advance_date",
        "preview": True})
    assert answer.json()["invited"] == 2


def test_an_invitation_goes_to_the_contacts_its_own_booking_gave(
    vclient: TestClient, pg_app: Scheduling, services: ApiServices, site: Site, staff: Headers,
    smtp_sink: SmtpSink,
) -> None:
    """CONTRACT "Patients": the 2nd dose's booking gave another e-mail; the record keeps the
    1st booking's, and the invitation about the 2nd dose goes where its booking said."""
    first, _ = site.vaccinated(7, second=False)
    given = citizen(7, first_name="Citoyenne", email="autre7@example.ca", cell=None)
    second = site.records.book(site.planned_slot, site.services["Pfizer-BioNTech"], given,
                               "admin", None, 2).id
    patient_id = pg_app.load(Appointment, second, "appointment").patient_id
    assert pg_app.load(Patient, patient_id, "patient").email == "c7@example.ca"

    body = {"appointment_ids": [str(second)], "message": "advance_date"}
    sent = vclient.post(url(site), json=body, headers=staff)
    assert sent.status_code == 201 and sent.json()["invited"] == 1, sent.text
    assert sent.json()["items"][0]["channel"] == "email"
    message = sent.json()["items"][0]["message"]
    assert "Citoyenne" in message["text"]  # the name its booking gave with that e-mail
    services.notifications.run_once()
    assert message["subject"] in [m["Subject"] for m in smtp_sink.to("autre7@example.ca")]
    assert message["subject"] not in [m["Subject"] for m in smtp_sink.to("c7@example.ca")]
    assert pg_app.load(Patient, patient_id, "patient").version == 1  # the record did not change
    assert first != second
