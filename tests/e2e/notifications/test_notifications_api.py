"""Notifications through the real app on PostgreSQL: listing, e-mail links over real SMTP,
SMS and phone webhooks. (Setup and booking call the scheduling service directly.)"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from adapters.gateway import GatewayChannel
from adapters.smtp import SmtpChannel
from aggregates.appointment import Appointment
from hub.bootstrap import notification_center
from hub.notifications.webhooks import signature
from hub.settings import Settings
from tests.support.notifications import Gateway, SmtpSink
from tests.support.scheduling import Setup, patient

WEBHOOK_SECRET = "gw-webhook-secret-0123456789"


def install(client: TestClient, smtp: SmtpSink, gateway: Gateway, offset: timedelta = timedelta(seconds=1)):
    app = client.app.state.services.scheduling
    channels = {"email": SmtpChannel(smtp.host, smtp.port, "hub@test.invalid", timeout=5),
                "sms": GatewayChannel(gateway.url, timeout=5), "phone": GatewayChannel(gateway.url, timeout=5)}
    settings = Settings(link_secret="link-key-0123456789abcdef", gateway_webhook_secret=WEBHOOK_SECRET,
                                    public_url="http://testserver")
    center = notification_center(app, settings, channels=channels,
                                 clock=lambda: datetime.now(UTC) + offset)
    client.app.state.services.notifications = center
    return center


def links_in(mail) -> dict[str, str]:
    text = mail.get_body(("plain",)).get_content()
    found = re.findall(r"^(.*?): http://testserver(/v1/links/\S+)", text, re.M)
    return {("confirm" if "Confirm" in name else "cancel"): path for name, path in found}


def signed(body: dict, at: float | None = None) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    timestamp = str(int(time.time() if at is None else at))
    return raw, {"X-Hub-Timestamp": timestamp, "Content-Type": "application/json",
                 "X-Hub-Signature": signature(WEBHOOK_SECRET, timestamp, raw)}


def test_list_is_complete_when_the_booking_is_answered_and_cancel_link_works(
        client: TestClient, auth, smtp_sink: SmtpSink, gateway: Gateway) -> None:
    center = install(client, smtp_sink, gateway)
    app = client.app.state.services.scheduling
    setup = Setup(app)
    booked = app.book(setup.slot, setup.consult, patient(1, email="pat@example.ca"), "emr")
    staff = auth("clinic_staff", setup.clinic)

    answer = client.get(f"/v1/appointments/{booked.id}/notifications", headers=staff)
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert [(i["kind"], i["channel"], i["status"], i["address"]) for i in items] == [
        ("confirmation", "email", "planned", "pat@example.ca"),
        ("reminder", "email", "planned", "pat@example.ca")]
    assert set(items[0]) >= {"id", "kind", "channel", "address", "language", "due_at", "status", "sent_at"}

    assert center.dispatcher.deliver_due().sent == 1
    body = client.get(f"/v1/appointments/{booked.id}/notifications", headers=staff).json()
    assert body["items"][0]["status"] == "sent" and body["items"][0]["sent_at"]
    assert body["communication"]["status"] == "confirmation_sent"
    assert body["communication"]["channel"] == "email"

    cancel = links_in(smtp_sink.received[0])["cancel"]
    page = client.get(cancel)
    assert page.status_code == 200 and "<form method='post'>" in page.text
    assert app.load(Appointment, booked.id, "a").active  # a GET changes nothing
    done = client.post(cancel, headers={"Accept": "application/json"})
    assert done.status_code == 200 and done.json()["result"] == "cancelled"
    assert app.load(Appointment, booked.id, "a").cancelled
    again = client.post(cancel, headers={"Accept": "application/json"})
    assert again.json()["result"] == "already"
    kinds = [(i["kind"], i["status"]) for i in
             client.get(f"/v1/appointments/{booked.id}/notifications", headers=staff).json()["items"]]
    assert kinds == [("confirmation", "sent"), ("reminder", "withdrawn"), ("cancellation", "planned")]

    other = auth("clinic_staff", Setup(app).clinic)
    assert client.get(f"/v1/appointments/{booked.id}/notifications", headers=other).status_code == 404


def test_cancel_refused_past_the_services_delay_and_reminder_confirm_link(
        client: TestClient, auth, smtp_sink: SmtpSink, gateway: Gateway) -> None:
    center = install(client, smtp_sink, gateway)
    app = client.app.state.services.scheduling
    setup = Setup(app)
    soon = setup.open_slot(hours=10)  # consultation: cancellable until 24 h before
    booked = app.book(soon, setup.consult, patient(2, email="late@example.ca", language="en"), "emr")
    assert center.run_once().sent == 2  # under 48 h: confirmation and reminder
    reminder = next(m for m in smtp_sink.received if "reminder" in m["Subject"].lower())
    links = links_in(reminder)
    assert set(links) == {"confirm", "cancel"}

    refused = client.post(links["cancel"], headers={"Accept": "application/json"})
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "cancellation_too_late" and "418-555-0000" in error["message"]
    assert app.load(Appointment, booked.id, "a").active  # nothing written

    confirmed = client.post(links["confirm"], headers={"Accept": "application/json"})
    assert confirmed.status_code == 200 and confirmed.json()["result"] == "confirmed"
    staff = auth("clinic_staff", setup.clinic)
    status = client.get(f"/v1/appointments/{booked.id}/notifications", headers=staff).json()["communication"]
    assert status["status"] == "confirmed" and status["channel"] == "email"

    tampered = links["confirm"][:-3] + ("AAA" if not links["confirm"].endswith("AAA") else "BBB")
    bad = client.post(tampered, headers={"Accept": "application/json"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_link"
    assert "invalid_link" not in client.get(links["confirm"]).text


def test_sms_and_phone_replies_confirm(client: TestClient, auth, smtp_sink: SmtpSink,
                                       gateway: Gateway) -> None:
    center = install(client, smtp_sink, gateway)
    app = client.app.state.services.scheduling
    setup = Setup(app)
    texted = app.book(setup.slot, setup.consult, patient(3, email=None, cell="514-555-0003"), "emr")
    center.run_once()
    assert len(gateway.to("514-555-0003")) == 1

    raw, headers = signed({"from": "+1 514 555 0003", "text": "maybe"})
    assert client.post("/v1/webhooks/sms", content=raw, headers=headers).json()["result"] == "ignored"
    raw, headers = signed({"from": "+1 514 555 0003", "text": "  oUÍ ! "})
    assert client.post("/v1/webhooks/sms", content=raw, headers={**headers, "X-Hub-Signature": "sha256=00"}
                       ).status_code == 401
    answer = client.post("/v1/webhooks/sms", content=raw, headers=headers)
    assert answer.status_code == 200 and answer.json()["result"] == "confirmed"
    head = app.head()
    replayed = client.post("/v1/webhooks/sms", content=raw, headers=headers)
    assert (replayed.status_code, replayed.json()["error"]["code"]) == (401, "replayed_webhook")
    raw, headers = signed({"from": "+1 514 555 0003", "text": "oui"}, at=time.time() - 600)
    stale = client.post("/v1/webhooks/sms", content=raw, headers=headers)
    assert (stale.status_code, stale.json()["error"]["code"]) == (401, "stale_signature")
    assert app.head() == head, "a replayed or stale webhook wrote events"
    assert answer.json()["appointment_id"] == str(texted.id)
    staff = auth("clinic_staff", setup.clinic)
    status = client.get(f"/v1/appointments/{texted.id}/notifications", headers=staff).json()["communication"]
    assert status["status"] == "confirmed" and status["channel"] == "sms"
    app.cancel(texted.id)
    raw, headers = signed({"from": "15145550003", "text": "ok"})
    late = client.post("/v1/webhooks/sms", content=raw, headers=headers)
    assert late.status_code == 200 and late.json()["result"] == "ignored"
    assert "cancelled" in late.json()["message"]

    called = app.book(setup.slot, setup.consult, patient(4, email=None, phone="+14185550004"), "emr")
    [call] = [n for n in center.for_appointment(called.id)[0] if n.kind == "confirmation"]
    raw, headers = signed({"call_id": str(call.id), "digits": "2"})
    assert client.post("/v1/webhooks/phone", content=raw, headers=headers).json()["result"] == "ignored"
    raw, headers = signed({"call_id": str(call.id), "digits": "1"})
    assert client.post("/v1/webhooks/phone", content=raw, headers=headers).json()["result"] == "confirmed"
    raw, headers = signed({"call_id": "not-a-uuid"})
    assert client.post("/v1/webhooks/phone", content=raw, headers=headers).status_code == 422


def test_portal_setting_by_api(client: TestClient, admin, auth, smtp_sink: SmtpSink, gateway: Gateway) -> None:
    install(client, smtp_sink, gateway)
    answer = client.put("/v1/portals/portal/communication", json={"notifies_itself": True}, headers=admin)
    assert answer.status_code == 200 and answer.json()["position"] > 0
    app = client.app.state.services.scheduling
    setup = Setup(app)
    booked = app.book(setup.slot, setup.consult, patient(5), "portal")
    staff = auth("clinic_staff", setup.clinic)
    assert client.get(f"/v1/appointments/{booked.id}/notifications", headers=staff).json()["items"] == []
    assert client.put("/v1/portals/portal/communication", json={"notifies_itself": "x"},
                      headers=admin).status_code == 422
    assert client.put("/v1/portals/portal/communication", json={"notifies_itself": True},
                      headers=staff).status_code == 403


def test_refusals_are_clear_4xx(client: TestClient, admin) -> None:
    client.app.state.services.notifications = notification_center(client.app.state.services.scheduling, Settings())
    raw, headers = signed({"from": "+15145550001", "text": "OK"})
    disabled = client.post("/v1/webhooks/sms", content=raw, headers=headers)
    assert disabled.status_code == 403 and disabled.json()["error"]["code"] == "webhooks_disabled"
    for token in ("x", "a.b", "é.ü", "A" * 300 + "." + "B" * 40):
        for method in (client.get, client.post):
            answer = method(f"/v1/links/{token}", headers={"Accept": "application/json"})
            assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_link"
    assert client.get(f"/v1/links/{'x' * 2100}").status_code == 422
    assert client.get("/v1/appointments/not-a-uuid/notifications", headers=admin).status_code == 422
    missing = client.get("/v1/appointments/00000000-0000-0000-0000-000000000000/notifications", headers=admin)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert client.get("/v1/appointments/00000000-0000-0000-0000-000000000000/notifications").status_code == 401
