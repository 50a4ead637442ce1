"""Reads of a patient's personal data leave a trail that ops can query (Loi 25)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.support.http import HttpClinic, booking_body


def test_who_read_which_patient_is_recorded_and_listed_for_ops(client: TestClient,
                                                             auth: Callable[..., Any]) -> None:
    admin = auth("admin")
    clinic = HttpClinic(client, admin)
    booked = clinic.post("/v1/appointments", booking_body(clinic.slot, clinic.consult, 7))
    staff = auth("clinic_staff", clinic.id)
    nam = booking_body(clinic.slot, clinic.consult, 7)["patient"]["nam"]
    assert client.post("/v1/patients/search", json={"nam": nam}, headers=staff).status_code == 200
    assert client.get(f"/v1/appointments/{booked['id']}/notifications",
                      headers=staff).status_code == 200

    assert client.get("/v1/phi-reads", headers=staff).status_code == 403
    trail = client.get("/v1/phi-reads", params={"patient_id": booked["patient_id"]},
                       headers=auth("ops")).json()["items"]
    assert [r["what"] for r in trail] == [
        f"GET /v1/appointments/{booked['id']}/notifications", "POST /v1/patients/search"]
    assert {r["role"] for r in trail} == {"clinic_staff"} and trail[0]["reader"].startswith("tok_")
    assert client.get("/v1/phi-reads", params={"patient_id": "nope"},
                      headers=admin).status_code == 422
