"""Loi 25 end to end, on PostgreSQL and the Kafka broker: after ``POST /v1/patients/{id}/erase``
a dump of the whole schema and every record of every topic hold none of the patient's name,
e-mail, phone or NAM (as text or hex), the API shows none of it, other patients are intact."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from hub.relay.wiring import build_relay
from hub.scheduling.service import Scheduling
from hub.settings import Settings
from tests.integration.privacy.test_key_store import dump
from tests.support.http import HttpClinic
from tests.support.kafka import kafka_bootstrap, kafka_broker, read_topics  # noqa: F401
from tests.support.relay import topics, unique_prefix

pytestmark = pytest.mark.kafka

MARIE = {"nam": "QZXW 8551 0112", "first_name": "Mariette", "last_name": "Tremblaywski",
         "birth_date": "1985-01-01", "email": "mariette.tremblaywski@exemple.ca",
         "cell": "514-555-0199", "language": "fr"}
JEAN = {"nam": "RYXV90010144", "first_name": "Jeanluc", "last_name": "Royerson",
        "birth_date": "1990-01-01", "email": "jeanluc.royerson@exemple.ca", "language": "en"}
#: A portal's booking of her, with another name and contacts as given (CONTRACT "Patients"):
#: kept with that appointment, hers too.
AS_GIVEN = {**MARIE, "first_name": "Mariannick", "email": "autre.adresse@exemple.ca",
            "cell": "514-555-0177"}
ACCOUNT_EMAIL = "compte.tremblaywski@exemple.ca"
SECRETS = ("QZXW85510112", "QZXW 8551 0112", "Mariette", "Tremblaywski", "mariette.tremblaywski",
           "514-555-0199", "5145550199", "Mariannick", "autre.adresse", "514-555-0177",
           "5145550177", "compte.tremblaywski")


def leaks(raw: bytes) -> list[str]:
    return [s for s in SECRETS if s.encode() in raw or s.encode().hex().encode() in raw.lower()]


def topic_bytes(bootstrap: str, prefix: str) -> bytes:
    """Every key, value and header of every record the relay published."""
    out = bytearray()
    for record in read_topics(bootstrap, topics(prefix)):
        out += (record.key or b"") + b"\n" + (record.value or b"") + b"\n"
        for name, value in record.headers:
            out += name.encode() + b"=" + value + b"\n"
    return bytes(out)


def test_erasure_leaves_nothing_in_the_database_the_topics_or_the_api(
        client: TestClient, pg_app: Scheduling, pg_schema_url: str, auth: Callable[..., Any],
        kafka_bootstrap: str) -> None:  # noqa: F811 - the broker fixture
    admin = auth("admin")
    clinic = HttpClinic(client, admin)
    staff = auth("clinic_staff", clinic.id)
    booked = client.post("/v1/appointments", headers={**admin, "Idempotency-Key": "marie-1"},
                         json={"slot_id": clinic.slot, "service_id": clinic.consult,
                               "patient": MARIE, "source": "emr"})
    assert booked.status_code == 201, booked.text
    marie = booked.json()
    jean = clinic.post("/v1/appointments", {"slot_id": clinic.slot, "service_id": clinic.consult,
                                            "patient": JEAN, "source": "emr"})
    portal = auth("portal", clinic.id)
    given = client.post("/v1/appointments", headers={**portal, "Idempotency-Key": "given-1"},
                        json={"slot_id": clinic.slot, "service_id": clinic.consult,
                              "patient": AS_GIVEN, "source": "portal"})
    assert given.status_code == 201 and given.json()["patient"]["first_name"] == "Mariannick"
    opened = client.post("/v1/accounts", headers=portal,
                         json={"email": ACCOUNT_EMAIL, "holder": MARIE})
    assert opened.status_code == 201, opened.text
    found = client.post("/v1/patients/search", json={"nam": MARIE["nam"]},
                        headers={**staff, "Idempotency-Key": "search-1"})
    assert found.status_code == 200 and found.json()["first_name"] == "Mariette"
    client.app.state.services.notifications.run_once()  # messages planned to her address
    prefix = unique_prefix()
    settings = Settings(database_url=pg_schema_url, kafka_bootstrap=kafka_bootstrap,
                        kafka_topic_prefix=prefix)
    build_relay(settings, app=pg_app, configure_logs=False).run(once=True)
    published = topic_bytes(kafka_bootstrap, prefix)
    assert b'"_personal"' in published and leaks(published) == []  # sealed from the start

    assert client.post(f"/v1/patients/{marie['patient_id']}/erase", headers=staff).status_code == 403
    head = pg_app.head()
    answer = client.post(f"/v1/patients/{marie['patient_id']}/erase", headers=admin)
    assert answer.status_code == 200, answer.text
    # the admin's booking and the portal's (its answer names no patient: found by appointment)
    assert answer.json()["erased"] and answer.json()["idempotency_records_deleted"] == 2
    assert pg_app.head() == head + 1  # one event: Patient.Erased
    missing = client.post("/v1/patients/00000000-0000-0000-0000-000000000001/erase", headers=admin)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    build_relay(settings, app=pg_app, configure_logs=False).run(once=True)

    records = read_topics(kafka_bootstrap, [f"{prefix}.patient"])
    assert b"hub.patient.Erased.v1" in [dict(r.headers)["ce_type"] for r in records]
    day = datetime.fromisoformat(marie["start"]).astimezone(ZoneInfo("America/Montreal")).date()
    deadline = time.monotonic() + 20
    while True:  # the server's read models follow the log
        rows = client.get(f"/v1/clinics/{clinic.id}/suivi?date={day}", headers=admin).json()["items"]
        if sorted(r["patient_name"] for r in rows) == ["", "", "Jeanluc Royerson"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    seen = b"".join(client.get(path, headers=admin).content for path in (
        f"/v1/clinics/{clinic.id}/suivi?date={day}", f"/v1/appointments/{marie['id']}",
        f"/v1/appointments/{marie['id']}/notifications", f"/v1/audit/{marie['patient_id']}",
        f"/v1/appointments/{given.json()['id']}", f"/v1/accounts/{opened.json()['id']}",
        "/v1/events?limit=200"))
    assert leaks(seen) == [] and b"Jeanluc" in seen
    assert client.post("/v1/patients/search", json={"nam": MARIE["nam"]},
                       headers=staff).status_code == 404
    kept = client.post("/v1/patients/search", json={"nam": JEAN["nam"]}, headers=staff).json()
    assert (kept["last_name"], kept["email"]) == ("Royerson", JEAN["email"])
    assert jean["patient_id"] != marie["patient_id"]
    assert leaks(dump(pg_schema_url)) == []
    assert leaks(topic_bytes(kafka_bootstrap, prefix)) == []
