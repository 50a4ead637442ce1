"""Scheduling through the real app on PostgreSQL: every write endpoint, roles, portals."""

from __future__ import annotations

from projections.eventlog import describe
from tests.support.http import HttpClinic, booking_body
from tests.support.scheduling import patient


def test_staff_services_slots_and_an_appointment_life(client, admin, auth) -> None:
    clinic = HttpClinic(client, admin)
    staff = auth("clinic_staff", clinic.id)
    listed = client.get(f"/v1/clinics/{clinic.id}/professionals", headers=staff).json()
    assert [p["id"] for p in listed["items"]] == [clinic.gp]
    assert client.get(f"/v1/services/{clinic.desk}", headers=staff).json()["online"] is False

    booked = clinic.book(1, headers=staff)
    assert booked["source"] == "admin" and booked["status"] == "undefined"
    assert booked["position"] == client.app.state.services.scheduling.head()
    appointment = booked["id"]
    assert client.get(f"/v1/slots/{clinic.slot}", headers=staff).json()["booked"] == 1

    other_slot = clinic.open_slot(hours=96)
    moved = client.post(f"/v1/appointments/{appointment}/reschedule", headers=staff,
                        json={"slot_id": other_slot})
    assert moved.status_code == 200, moved.text
    assert moved.json()["id"] == appointment and moved.json()["slot_id"] == other_slot
    assert moved.json()["position"] > booked["position"]

    answer = client.post(f"/v1/appointments/{appointment}/service", headers=staff,
                         json={"service_id": clinic.desk})
    assert answer.status_code == 200 and answer.json()["service_id"] == clinic.desk
    answer = client.post(f"/v1/appointments/{appointment}/status", headers=staff,
                         json={"status": "present"})
    assert answer.status_code == 200 and answer.json()["status"] == "present"
    answer = client.post(f"/v1/appointments/{appointment}/cancel", headers=staff,
                         json={"reason": "patient request"})
    assert answer.status_code == 200 and answer.json()["cancelled"] is True
    again = client.post(f"/v1/appointments/{appointment}/cancel", headers=staff)
    assert again.status_code == 409 and again.json()["error"]["code"] == "appointment_closed"
    answer = client.delete(f"/v1/appointments/{appointment}", headers=staff)
    assert answer.status_code == 200 and answer.json()["deleted"] is True
    assert client.get(f"/v1/slots/{other_slot}", headers=staff).json()["booked"] == 0

    scheduling = client.app.state.services.scheduling
    last = scheduling.recorder.select_notifications(start=answer.json()["position"], limit=1)[0]
    assert describe(last, scheduling.mapper).meta["role"] == "clinic_staff"

    found = client.post("/v1/patients/search", headers=staff, json={"nam": patient(1)["nam"]})
    assert found.status_code == 200 and found.json()["last_name"] == "Ient1"
    missing = client.post("/v1/patients/search", headers=staff, json={"nam": patient(2)["nam"]})
    assert missing.status_code == 404
    emr = auth("emr", clinic.id)
    assert client.post("/v1/patients/search", headers=emr,
                       json={"nam": patient(1)["nam"]}).status_code == 403


def test_slot_lock_unlock_and_products(client, admin) -> None:
    clinic = HttpClinic(client, admin)
    locked = client.post(f"/v1/slots/{clinic.slot}/lock", headers=admin)
    assert locked.status_code == 200 and locked.json()["locked"] is True
    unlocked = client.post(f"/v1/slots/{clinic.slot}/unlock", headers=admin)
    assert unlocked.json()["locked"] is False and unlocked.json()["position"] > locked.json()["position"]
    assigned = client.post(f"/v1/slots/{clinic.slot}/products", headers=admin,
                           json={"product": "Moderna"})
    assert assigned.status_code == 200 and "Moderna" in assigned.json()["products"]


def test_portal_books_only_unlocked_slots_of_online_services(client, admin, auth) -> None:
    clinic = HttpClinic(client, admin)
    portal = auth("portal", clinic.id)
    locked_slot = clinic.open_slot(locked=True)
    listed = client.get(f"/v1/clinics/{clinic.id}/slots", headers=portal).json()["items"]
    assert [s["id"] for s in listed] == [clinic.slot]
    services = client.get(f"/v1/clinics/{clinic.id}/services", headers=portal).json()["items"]
    assert [s["id"] for s in services] == [clinic.consult]
    assert client.get(f"/v1/slots/{locked_slot}", headers=portal).status_code == 404
    assert client.get(f"/v1/services/{clinic.desk}", headers=portal).status_code == 404

    head = client.app.state.services.scheduling.head()
    refused = client.post("/v1/appointments", headers=portal,
                          json=booking_body(locked_slot, clinic.consult, 1))
    assert refused.status_code == 404
    refused = client.post("/v1/appointments", headers=portal,
                          json=booking_body(clinic.slot, clinic.desk, 1))
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "service_not_online"
    refused = client.post("/v1/appointments", headers=portal,
                          json=booking_body(clinic.slot, clinic.consult, 1, source="emr"))
    assert refused.status_code == 403
    assert client.app.state.services.scheduling.head() == head

    booked = clinic.book(2, headers=portal)
    assert booked["source"] == "portal"
    by_staff = clinic.book(3)
    assert client.get(f"/v1/appointments/{booked['id']}", headers=portal).status_code == 200
    assert client.get(f"/v1/appointments/{by_staff['id']}", headers=portal).status_code == 404
    assert client.post(f"/v1/appointments/{booked['id']}/status", headers=portal,
                       json={"status": "present"}).status_code == 403
    assert client.post(f"/v1/appointments/{booked['id']}/cancel", headers=portal).status_code == 200


def test_booking_refusals_use_domain_codes(client, admin) -> None:
    clinic = HttpClinic(client, admin, capacity=1)
    clinic.book(1)
    full = client.post("/v1/appointments", headers=admin,
                       json=booking_body(clinic.slot, clinic.consult, 2))
    assert full.status_code == 409 and full.json()["error"]["code"] == "slot_full"
    bad_nam = booking_body(clinic.slot, clinic.consult, 3)
    bad_nam["patient"]["nam"] = "ABCD99999999"
    answer = client.post("/v1/appointments", headers=admin, json=bad_nam)
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "invalid_value"
    impossible = booking_body(clinic.slot, clinic.consult, 4)
    impossible["patient"]["birth_date"] = "1985-02-30"
    answer = client.post("/v1/appointments", headers=admin, json=impossible)
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "validation_error"
    naive = client.post(f"/v1/clinics/{clinic.id}/slots", headers=admin, json={
        "start": "2030-01-01T09:00:00", "end": "2030-01-01T09:30:00", "professional_id": clinic.gp,
        "capacity": 1, "service_ids": [clinic.consult]})
    assert naive.status_code == 422
    backwards = client.post(f"/v1/clinics/{clinic.id}/slots", headers=admin, json={
        "start": "2030-01-01T09:00:00-05:00", "end": "2030-01-01T08:30:00-05:00",
        "professional_id": clinic.gp, "capacity": 1, "service_ids": [clinic.consult]})
    assert backwards.status_code == 422 and backwards.json()["error"]["details"]["field"] == "end"


def test_idempotency_key_replays_and_refuses_another_body(client, admin) -> None:
    clinic = HttpClinic(client, admin)
    headers = {**admin, "Idempotency-Key": "booking-1"}
    body = booking_body(clinic.slot, clinic.consult, 1)
    first = client.post("/v1/appointments", headers=headers, json=body)
    head = client.app.state.services.scheduling.head()
    replay = client.post("/v1/appointments", headers=headers, json=body)
    assert replay.status_code == 201 and replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    assert client.app.state.services.scheduling.head() == head
    other = client.post("/v1/appointments", headers=headers,
                        json=booking_body(clinic.slot, clinic.consult, 2))
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert client.app.state.services.scheduling.head() == head
    fresh = client.post("/v1/appointments", headers={**admin, "Idempotency-Key": "booking-2"},
                        json=body)
    assert fresh.status_code == 201 and fresh.json()["id"] != first.json()["id"]
