"""Issue 12's attack, as an outside client would try it, through the HTTP API on PostgreSQL.

A portal of clinic A books with the NAM of a patient known only to clinic B, giving another
name, e-mail and cell. The booking may succeed (it is the portal's own appointment), but the
patient is unchanged, B's messages still go to the patient, and nothing of B's is revealed.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.http import HttpClinic, booking_body
from tests.support.scheduling import patient

MARIE = patient(1, first_name="Marie", last_name="Tremblay", email="marie@example.ca",
                cell="+15145550101")
MALLORY = {**MARIE, "first_name": "Mallory", "last_name": "Attacker",
           "email": "mallory@attacker.example", "cell": "+15145550666"}


def _addresses(client: TestClient, appointment_id: str, headers: dict[str, str]) -> set[str]:
    answer = client.get(f"/v1/appointments/{appointment_id}/notifications", headers=headers)
    assert answer.status_code == 200, answer.text
    return {item["address"] for item in answer.json()["items"]}


def test_a_portal_booking_with_another_clinics_patient_changes_and_reveals_nothing(
        client: TestClient, auth, admin) -> None:
    scheduling = client.app.state.services.scheduling
    clinic_a, clinic_b = HttpClinic(client, admin, name="A"), HttpClinic(client, admin, name="B")
    staff_a, staff_b = auth("clinic_staff", clinic_a.id), auth("clinic_staff", clinic_b.id)
    portal_a = auth("portal", clinic_a.id)
    b_appointment = clinic_b.book(headers=staff_b, patient=MARIE)
    patient_id = b_appointment["patient_id"]
    search = {"nam": MARIE["nam"]}

    # clinic A's staff do not find a patient only clinic B holds
    answer = client.post("/v1/patients/search", json=search, headers=staff_a)
    assert answer.status_code == 404, answer.text
    assert client.get(f"/v1/patients/{patient_id}", headers=staff_a).status_code == 404

    # a birth date that disagrees with the NAM: 422, nothing written
    head = scheduling.head()
    answer = client.post("/v1/appointments", headers=portal_a, json=booking_body(
        clinic_a.slot, clinic_a.consult, patient={**MALLORY, "birth_date": "1990-07-14"}))
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "nam_birth_date_mismatch"
    assert scheduling.head() == head

    # the attack: A's portal books with B's patient's NAM and its own name and contacts
    answer = client.post("/v1/appointments", headers=portal_a,
                         json=booking_body(clinic_a.slot, clinic_a.consult, patient=MALLORY))
    assert answer.status_code == 201, answer.text
    attack = answer.json()
    assert attack["patient_id"] is None and patient_id not in answer.text
    assert attack["patient"]["first_name"] == "Mallory"
    assert "Marie" not in answer.text and "marie@" not in answer.text

    # the patient is unchanged for clinic B
    record = client.post("/v1/patients/search", json=search, headers=staff_b).json()
    assert (record["id"], record["first_name"], record["last_name"]) == (
        patient_id, "Marie", "Tremblay")
    assert (record["email"], record["cell"], record["version"]) == (
        "marie@example.ca", "+15145550101", 1)

    # B's appointment's messages, a later reschedule notice included, go to the patient
    moved = client.post(f"/v1/appointments/{b_appointment['id']}/reschedule",
                        json={"slot_id": clinic_b.open_slot(hours=96)}, headers=staff_b)
    assert moved.status_code == 200, moved.text
    addresses = _addresses(client, b_appointment["id"], staff_b)
    assert addresses and addresses <= {"marie@example.ca", "+15145550101"}
    # and the attacker's own appointment's messages go to the contacts it gave
    assert _addresses(client, attack["id"], staff_a) <= {"mallory@attacker.example",
                                                         "+15145550666"}

    # the portal sees nothing of B's appointment, natively or through FHIR
    for path in (f"/v1/appointments/{b_appointment['id']}",
                 f"/v1/appointments/{b_appointment['id']}/notifications",
                 f"/fhir/r4/Appointment/{b_appointment['id']}",
                 f"/v1/patients/{patient_id}"):
        answer = client.get(path, headers=portal_a)
        assert answer.status_code in (403, 404), f"{path}: {answer.status_code} {answer.text}"
        assert "Marie" not in answer.text and "marie@" not in answer.text
    found = client.get("/fhir/r4/Appointment", headers=portal_a,
                       params={"patient.identifier": MARIE["nam"]})
    assert found.status_code == 200, found.text
    ids = [e["resource"]["id"] for e in found.json().get("entry", [])]
    assert ids == [attack["id"]]
    assert "Marie" not in found.text and "Tremblay" not in found.text
    assert "Mallory Attacker" in found.text

    # PATCH: not for a portal, not for a clinic without the patient's appointment
    clinic_c = HttpClinic(client, admin, name="C")
    staff_c = auth("clinic_staff", clinic_c.id)
    head = scheduling.head()
    change = {"email": "mallory@attacker.example"}
    assert client.patch(f"/v1/patients/{patient_id}", json=change,
                        headers=portal_a).status_code == 403
    assert client.patch(f"/v1/patients/{patient_id}", json=change,
                        headers=staff_c).status_code == 404
    assert scheduling.head() == head

    # B's staff correct the record: the only way it changes
    answer = client.patch(f"/v1/patients/{patient_id}", json={"cell": None,
                                                              "email": "m.tremblay@example.ca"},
                          headers=staff_b)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["email"], answer.json()["cell"]) == ("m.tremblay@example.ca", None)
    answer = client.patch(f"/v1/patients/{patient_id}", json={"birth_date": "1985-01-02"},
                          headers=staff_b)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "nam_birth_date_mismatch"
