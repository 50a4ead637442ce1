"""Imports over HTTP (seed 002): background run, status, conflicts, retry, refusals."""

from __future__ import annotations

import json
import time

from fastapi.testclient import TestClient

from connectors.directory import SOURCES
from entrypoints.api.app import create_app
from hub.access.tokens import issue
from hub.imports.service import Imports
from tests.support.fhir import bundle, healthcare_service, practitioner
from tests.support.scheduling import ADDRESS


def wait(client: TestClient, url: str, headers: dict[str, str]) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        body = client.get(url, headers=headers).json()
        if body["status"] != "running":
            return body
        time.sleep(0.05)
    raise AssertionError(f"import still running: {body}")


def test_import_staff_in_background_then_retry(client: TestClient, pg_app, auth) -> None:
    clinic = pg_app.register_clinic("Clinique API", ADDRESS, "418-555-0000", "clinic").id
    emr = auth("emr", clinic)
    source = json.loads(bundle(practitioner("p1", "Dre A", "gp", "L1"), practitioner("p2", "B", "bogus")))
    answer = client.post(f"/v1/clinics/{clinic}/imports", json={"kind": "staff", "source": source}, headers=emr)
    assert answer.status_code == 202, answer.text
    started = answer.json()
    assert started["status"] in ("running", "conflicts") and started["position"] >= 1
    url = f"/v1/clinics/{clinic}/imports/{started['id']}"
    report = wait(client, url, emr)
    assert (report["status"], report["imported"]) == ("conflicts", 1)
    assert report["conflicts"] == [{"source_id": "p2", "name": "B", "reason": "unknown professional type 'bogus'"}]
    fixed = bundle(practitioner("p1", "Dre A", "gp", "L1"), practitioner("p2", "B", "nurse"))
    retried = client.post(f"{url}/retry", json={"source": fixed}, headers=emr)
    assert retried.status_code == 202, retried.text
    report = wait(client, url, emr)
    assert (report["status"], report["imported"], report["created"], report["attempt"]) == ("succeeded", 2, 1, 2)
    again = client.post(f"{url}/retry", headers=emr)
    assert again.status_code == 202
    assert wait(client, url, emr)["created"] == 0


def test_import_services_from_csv(client: TestClient, pg_app, auth) -> None:
    clinic = pg_app.register_clinic("Clinique CSV", ADDRESS, "418-555-0000", "clinic").id
    staff = auth("clinic_staff", clinic)
    csv_text = ("source_id,name,duration_minutes,category,online,cancellation_delay_hours,product\n"
                "S1,Consultation,15,in_person,oui,24,\nS2,Sans durée,,phone,non,0,\n")
    answer = client.post(f"/v1/clinics/{clinic}/imports", json={"kind": "services", "source": csv_text},
                         headers=staff)
    report = wait(client, f"/v1/clinics/{clinic}/imports/{answer.json()['id']}", staff)
    assert report["status"] == "conflicts"
    assert report["conflicts"] == [{"source_id": "S2", "name": "Sans durée", "reason": "service without duration"}]


def test_refusals_write_nothing(client: TestClient, pg_app, auth) -> None:
    clinic = pg_app.register_clinic("Clinique R", ADDRESS, "418-555-0000", "clinic").id
    other = pg_app.register_clinic("Autre", ADDRESS, "418-555-0000", "clinic").id
    emr, portal, elsewhere = auth("emr", clinic), auth("portal", clinic), auth("emr", other)
    head = pg_app.head()
    good = {"kind": "services", "source": bundle(healthcare_service("s1", "Consultation"))}
    cases = [
        (emr, {"kind": "services", "source": '{"resourceType": "Patient"}'}, 422, "malformed_source"),
        (emr, {"kind": "staff", "source": bundle(healthcare_service("s1", "X"))}, 422, "malformed_source"),
        (emr, {"kind": "rooms", "source": "x"}, 422, "validation_error"),
        (emr, {"kind": "staff"}, 422, "validation_error"),
        (portal, good, 403, "forbidden"),
        (elsewhere, good, 403, "forbidden"),
    ]
    for headers, body, status, code in cases:
        answer = client.post(f"/v1/clinics/{clinic}/imports", json=body, headers=headers)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), answer.text
    missing = client.get(f"/v1/clinics/{clinic}/imports/00000000-0000-0000-0000-000000000000", headers=emr)
    assert missing.status_code == 404
    assert pg_app.head() == head


def test_an_import_interrupted_by_a_stop_runs_again_at_start(pg_app) -> None:
    """Started (recorded) but never run, as when the server stopped mid-import."""
    clinic = pg_app.register_clinic("Clinique Redémarrée", ADDRESS, "418-555-0000", "clinic").id
    job = Imports(pg_app, SOURCES).start(clinic, "services", bundle(healthcare_service("s1", "Consultation")))
    assert Imports(pg_app, SOURCES).status(job.id)["status"] == "running"
    with TestClient(create_app(pg_app)) as client:
        _, secret = issue(client.app.state.services.access, "clinic_staff", [clinic])
        report = wait(client, f"/v1/clinics/{clinic}/imports/{job.id}", {"Authorization": f"Bearer {secret}"})
    assert (report["status"], report["imported"]) == ("succeeded", 1)
