"""``GET /v1/clinics/{id}/suivi?as_of_position=N``: the Suivi list as it was at a log position,
built from the log (PostgreSQL, the real app)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from tests.support.http import HttpClinic

Headers = dict[str, str]


def test_suivi_as_of_a_position_shows_the_day_as_it_was_then(client: TestClient, admin: Headers) -> None:
    clinic = HttpClinic(client, admin, capacity=10)
    booked = [clinic.book(n) for n in range(3)]
    day = datetime.fromisoformat(booked[0]["start"]).astimezone(ZoneInfo("America/Montreal")).date()
    positions = [b["position"] for b in booked]

    def post(path: str, body: dict) -> int:
        answer = client.post(path, json=body, headers=admin)
        assert answer.status_code == 200, answer.text
        return answer.json()["position"]

    cancelled_at = post(f"/v1/appointments/{booked[0]['id']}/cancel", {"reason": "patient"})
    present_at = post(f"/v1/appointments/{booked[1]['id']}/status", {"status": "present"})
    last = clinic.book(7)

    def rows(**params: object) -> dict[str, str]:
        answer = client.get(f"/v1/clinics/{clinic.id}/suivi", headers=admin,
                            params={"date": day.isoformat(), **params})
        assert answer.status_code == 200, answer.text
        return {row["appointment_id"]: row["status"] for row in answer.json()["items"]}

    ids = [b["id"] for b in booked]
    assert rows(as_of_position=positions[1]) == {ids[0]: "undefined", ids[1]: "undefined"}
    assert rows(as_of_position=positions[2]) == dict.fromkeys(ids, "undefined")
    assert rows(as_of_position=cancelled_at) == {ids[0]: "cancelled", ids[1]: "undefined", ids[2]: "undefined"}
    assert rows(as_of_position=present_at) == {ids[0]: "cancelled", ids[1]: "present", ids[2]: "undefined"}
    # At the last position, the list built from the log is the live read model's, row for row.
    now = client.get(f"/v1/clinics/{clinic.id}/suivi", headers=admin,
                     params={"date": day.isoformat(), "min_position": last["position"]}).json()
    then = client.get(f"/v1/clinics/{clinic.id}/suivi", headers=admin,
                      params={"date": day.isoformat(), "as_of_position": last["position"]}).json()
    assert then == now and len(then["items"]) == 4

    ahead = client.get(f"/v1/clinics/{clinic.id}/suivi", headers=admin,
                       params={"date": day.isoformat(), "as_of_position": last["position"] + 1000})
    assert ahead.status_code == 422 and ahead.json()["error"]["code"] == "position_ahead"
    zero = client.get(f"/v1/clinics/{clinic.id}/suivi", headers=admin, params={"as_of_position": 0})
    assert zero.status_code == 422
