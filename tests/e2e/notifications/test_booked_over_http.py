"""A booking answered over HTTP (FHIR Appointment create, move, $cancel) has its messages
planned by the time the client asks for them, with no sender process running."""

from __future__ import annotations

import copy

from fastapi.testclient import TestClient

from tests.e2e.test_fhir import FHIR, booking
from tests.support.scheduling import Setup


def test_fhir_booking_move_and_cancel_are_notified(client: TestClient, pg_app, auth) -> None:
    world = Setup(pg_app, capacity=2)
    later = world.open_slot(capacity=1, hours=96)
    emr, staff = auth("emr", world.clinic), auth("clinic_staff", world.clinic)

    def listed(appointment_id: str) -> list[tuple[str, str, str]]:
        answer = client.get(f"/v1/appointments/{appointment_id}/notifications", headers=staff)
        assert answer.status_code == 200, answer.text
        return [(i["kind"], i["channel"], i["status"]) for i in answer.json()["items"]]

    created = client.post(f"{FHIR}/Appointment", json=booking(world, 7), headers=emr)
    assert created.status_code == 201, created.text
    appointment = created.json()
    assert listed(appointment["id"]) == [("confirmation", "email", "planned"),
                                         ("reminder", "email", "planned")]

    moved = copy.deepcopy(appointment)
    moved["slot"] = [{"reference": f"Slot/{later}"}]
    assert client.put(f"{FHIR}/Appointment/{appointment['id']}", json=moved, headers=emr).status_code == 200
    assert listed(appointment["id"])[2:] == [("modification", "email", "planned"),
                                             ("reminder", "email", "planned")]

    cancelled = client.post(f"{FHIR}/Appointment/{appointment['id']}/$cancel", json=None, headers=emr)
    assert cancelled.status_code == 200, cancelled.text
    got = listed(appointment["id"])
    assert got[-1] == ("cancellation", "email", "planned")
    assert [s for _, _, s in got[:-1]] == ["withdrawn"] * 4
