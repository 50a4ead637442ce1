"""Suivi, availability, patient history, events and audit through the real app (PostgreSQL)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from entrypoints.api.app import create_app
from hub.access.tokens import issue
from hub.actor import Actor, acting_as
from hub.settings import Settings
from tests.support.scheduling import Setup, future, patient

ZONE = ZoneInfo("America/Montreal")


def day_of_slot() -> str:
    return future(72).astimezone(ZONE).date().isoformat()


def test_suivi_reads_its_writes_with_min_position(client: TestClient, auth) -> None:
    app = client.app.state.services.scheduling
    setup = Setup(app)
    staff = auth("clinic_staff", setup.clinic)
    with acting_as(Actor("desk-1", "clinic_staff", "http")):
        booked = app.book(setup.slot, setup.vaccine, patient(7), "admin")
        present = app.set_status(booked.id, "present")
    answer = client.get(f"/v1/clinics/{setup.clinic}/suivi",
                        params={"date": day_of_slot(), "min_position": present.position}, headers=staff)
    assert answer.status_code == 200, answer.text
    [row] = answer.json()["items"]
    assert row["appointment_id"] == str(booked.id) and row["status"] == "present"
    assert row["nam"] == "********0107" and row["product"] == "Pfizer"
    assert row["service"] == "Vaccin" and row["professional"] == "Dre Test"
    assert row["account"] == {"identity": "grey", "association": "grey"}
    cancelled = app.cancel(booked.id)
    params = {"date": day_of_slot(), "view": "without_cancellation", "min_position": cancelled.position}
    assert client.get(f"/v1/clinics/{setup.clinic}/suivi", params=params, headers=staff).json()["items"] == []
    params["status"] = "cancelled"
    params["view"] = "all"
    assert len(client.get(f"/v1/clinics/{setup.clinic}/suivi", params=params, headers=staff).json()["items"]) == 1


def test_suivi_refusals(client: TestClient, auth, admin) -> None:
    app = client.app.state.services.scheduling
    setup, other = Setup(app), Setup(app)
    staff = auth("clinic_staff", setup.clinic)
    url = f"/v1/clinics/{setup.clinic}/suivi"
    cases = [
        (f"/v1/clinics/{other.clinic}/suivi", {}, staff, 403, "forbidden"),
        (url, {"date": "2026-02-30"}, staff, 422, "validation_error"),
        (url, {"view": "everything"}, staff, 422, "validation_error"),
        (url, {"limit": 10_000}, staff, 422, "validation_error"),
        (url, {"min_position": app.head() + 50}, staff, 422, "position_ahead"),
        (url, {}, auth("portal", setup.clinic), 403, "forbidden"),
        (url, {}, {}, 401, "unauthenticated"),
    ]
    for path, params, headers, status, code in cases:
        answer = client.get(path, params=params, headers=headers)
        assert answer.status_code == status, (params, answer.text)
        assert answer.json()["error"]["code"] == code


def test_availability_online_view_for_portals(client: TestClient, auth) -> None:
    app = client.app.state.services.scheduling
    setup = Setup(app)
    locked = setup.open_slot(capacity=2, locked=True, hours=80)
    written = app.book(setup.slot, setup.consult, patient(1), "emr")
    params = {"start": future(0).isoformat(), "end": future(24 * 7).isoformat(),
              "min_position": written.position}
    emr = auth("emr", setup.clinic)
    staff_view = client.get("/v1/availability", params=params, headers=emr).json()
    assert {i["slot_id"] for i in staff_view["items"]} == {str(setup.slot), str(locked)}
    assert not staff_view["online"]
    portal = auth("portal", setup.clinic)
    online = client.get("/v1/availability", params=params, headers=portal).json()
    assert online["online"] and [i["slot_id"] for i in online["items"]] == [str(setup.slot)]
    assert online["items"][0]["remaining"] == 9
    elsewhere = Setup(app)
    answer = client.get("/v1/availability", params={**params, "clinic_id": str(elsewhere.clinic)},
                        headers=portal)
    assert answer.status_code == 403
    bad = client.get("/v1/availability", params={**params, "end": params["start"]}, headers=portal)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_period"
    naive = client.get("/v1/availability", params={"start": "2026-03-01T08:00:00"}, headers=portal)
    assert naive.status_code == 422


def test_patient_history_across_clinics_for_their_staff(client: TestClient, auth, admin) -> None:
    app = client.app.state.services.scheduling
    first, second = Setup(app), Setup(app)
    a = app.book(first.slot, first.consult, patient(3), "emr")
    b = app.book(second.slot, second.consult, patient(3), "emr")
    model_position = b.position
    rows = client.get(f"/v1/clinics/{first.clinic}/suivi",
                      params={"date": day_of_slot(), "min_position": model_position}, headers=admin).json()
    patient_id = rows["items"][0]["patient_id"]
    everything = client.get(f"/v1/patients/{patient_id}/appointments", headers=admin).json()
    assert {i["appointment_id"] for i in everything["items"]} == {str(a.id), str(b.id)}
    mine = client.get(f"/v1/patients/{patient_id}/appointments", headers=auth("clinic_staff", first.clinic))
    assert [i["appointment_id"] for i in mine.json()["items"]] == [str(a.id)]
    third = Setup(app)
    hidden = client.get(f"/v1/patients/{patient_id}/appointments", headers=auth("clinic_staff", third.clinic))
    assert hidden.status_code == 404


def test_events_and_audit_for_ops(client: TestClient, auth) -> None:
    app = client.app.state.services.scheduling
    setup = Setup(app)
    with acting_as(Actor("tok_desk", "clinic_staff", "http")):
        booked = app.book(setup.slot, setup.consult, patient(1), "admin")
    ops = auth("ops")
    log = client.get("/v1/events", params={"after": 0, "limit": 3, "min_position": booked.position},
                     headers=ops).json()
    assert [e["position"] for e in log["items"]] == [1, 2, 3] and log["next_after"] == 3
    assert set(log["items"][0]) >= {"position", "id", "aggregate_id", "aggregate_type", "type",
                                    "version", "time", "data"}
    rest = client.get("/v1/events", params={"after": 3, "limit": 200}, headers=ops).json()
    assert rest["items"][-1]["position"] == booked.position and rest["next_after"] is None
    audit = client.get(f"/v1/audit/{booked.id}", headers=ops).json()["items"]
    assert [(e["type"], e["who"], e["role"], e["source"]) for e in audit] == [
        ("Booked", "tok_desk", "clinic_staff", "http")]
    assert client.get(f"/v1/audit/{setup.gp}", headers=ops).json()["items"][0]["type"] == "Registered"
    missing = client.get("/v1/audit/00000000-0000-0000-0000-000000000000", headers=ops)
    assert missing.status_code == 404
    staff = auth("clinic_staff", setup.clinic)
    assert client.get("/v1/events", headers=staff).status_code == 403
    assert client.get(f"/v1/audit/{booked.id}", headers=staff).status_code == 403
    assert client.get("/v1/events", params={"limit": 0}, headers=ops).status_code == 422


def test_a_projection_still_behind_answers_503(pg_app, pg_schema_url: str) -> None:
    settings = Settings(database_url=pg_schema_url, projections_in_server=False, read_wait_seconds=0.2)
    with TestClient(create_app(pg_app, settings)) as client:
        setup = Setup(pg_app)
        _, secret = issue(client.app.state.services.access, "admin")
        answer = client.get(f"/v1/clinics/{setup.clinic}/suivi", params={"min_position": pg_app.head()},
                            headers={"Authorization": f"Bearer {secret}"})
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"]["code"] == "projection_behind"
        assert answer.headers["Retry-After"] == "1"
