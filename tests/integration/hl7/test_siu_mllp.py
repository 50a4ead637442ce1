"""Each SIU trigger end to end over MLLP, on SQLite and PostgreSQL: the EMR's agenda is applied."""

from __future__ import annotations

from datetime import timedelta

from aggregates.appointment import Appointment
from aggregates.emr import AppointmentIdentifier, EmrCode, EmrResource, appointment_identifier_id, emr_code_id
from aggregates.patient import Patient
from aggregates.professional import Professional
from aggregates.service import Service
from aggregates.slot import Slot
from connectors.fhir import codes, resources
from projections.eventlog import describe
from tests.support.emr_sim import ServerThread, read_ack
from tests.support.fhir import assert_valid
from tests.support.hl7 import EmrClinic
from tests.support.scheduling import future

SYSTEM = "urn:hl7v2:ei:OMNIMED"


def appointment_of(hl7: EmrClinic, filler: str) -> Appointment:
    index = hl7.app.load(AppointmentIdentifier, appointment_identifier_id(hl7.clinic, SYSTEM, filler), "index")
    return hl7.app.load(Appointment, index.appointment_id, "appointment")


def test_s12_books_and_creates_what_the_emr_names(hl7: EmrClinic, mllp: ServerThread) -> None:
    start = future(48)
    with mllp.client() as client:
        ack = read_ack(client.send(hl7.emr.siu("S12", "FL1", start, placer="PL1", resource=("ECG", "ECG"))))
    assert (ack.code, ack.control_id) == ("AA", "OMN000001")
    assert "booked" in ack.text
    appointment = appointment_of(hl7, "FL1")
    assert appointment.clinic_id == hl7.clinic and appointment.source == "emr"
    assert appointment.start == start and appointment.end == start + timedelta(minutes=15)
    assert {"system": SYSTEM, "value": "PL1"} in appointment.identifiers
    professional = hl7.app.load(Professional, appointment.professional_id, "professional")
    assert (professional.name, professional.type) == ("Luc Gagnon", "gp")
    service = hl7.app.load(Service, appointment.service_id, "service")
    assert (service.name, service.duration_minutes, service.online) == ("Consultation", 15, False)
    slot = hl7.app.load(Slot, appointment.slot_id, "slot")
    assert (slot.capacity, slot.locked, slot.booked) == (1, True, [appointment.id])
    patient = hl7.app.load(Patient, appointment.patient_id, "patient")
    assert patient.nam == "TREM85510112"
    assert patient.identifiers == [{"system": "NAM", "value": "TREM85510112"}]  # NAM alone
    assert (patient.first_name, patient.last_name, patient.email, patient.cell, patient.language) == (
        "Marie", "Tremblay", "marie@example.ca", "4185550101", "fr")
    for kind, code in (("location", "CLIN01"), ("resource", "ECG")):
        index = hl7.app.load(EmrCode, emr_code_id(hl7.clinic, kind, code), "code")
        assert hl7.app.load(EmrResource, index.target_id, kind).kind == kind
    records = [describe(n, hl7.app.mapper) for n in hl7.app.recorder.select_notifications(1, 1000)]
    booked = next(r for r in records if r.type == "Booked")
    assert booked.meta == {"subject": "hl7:OMNIMED^CLIN01", "role": "emr", "channel": "mllp"}


def test_second_s12_for_the_same_professional_reuses_codes(hl7: EmrClinic, mllp: ServerThread) -> None:
    start = future(48)
    with mllp.client() as client:
        assert read_ack(client.send(hl7.emr.siu("S12", "FL1", start))).code == "AA"
        assert read_ack(client.send(hl7.emr.siu("S12", "FL2", start, nam="ROYJ80010155", mrn="777"))).code == "AA"
    first, second = appointment_of(hl7, "FL1"), appointment_of(hl7, "FL2")
    assert first.professional_id == second.professional_id and first.service_id == second.service_id
    assert first.slot_id != second.slot_id  # the EMR double-books: one EMR-managed slot each
    assert first.patient_id != second.patient_id


def test_resent_message_is_applied_once_and_gets_the_same_ack(hl7: EmrClinic, mllp: ServerThread) -> None:
    message = hl7.emr.siu("S12", "FL1", future(48))
    with mllp.client() as client:
        first = client.send(message)
        head = hl7.app.head()
        again = client.send(message)
    assert again == first and read_ack(first).code == "AA"
    assert hl7.app.head() == head


def test_s13_moves_the_appointment_and_frees_the_old_slot(hl7: EmrClinic, mllp: ServerThread) -> None:
    start = future(48)
    with mllp.client() as client:
        client.send(hl7.emr.siu("S12", "FL1", start))
        before = appointment_of(hl7, "FL1")
        later = start + timedelta(hours=2)
        ack = read_ack(client.send(hl7.emr.siu("S13", "FL1", later, minutes=30,
                                               professional=("99", "Roy", "Julie"), role="IPS")))
    assert ack.code == "AA", ack.error
    after = appointment_of(hl7, "FL1")
    assert after.id == before.id and after.start == later and after.end == later + timedelta(minutes=30)
    assert hl7.app.load(Professional, after.professional_id, "professional").type == "ips"
    assert hl7.app.load(Slot, before.slot_id, "slot").booked == []
    assert hl7.app.load(Slot, after.slot_id, "slot").booked == [after.id]


def test_s14_changes_the_service(hl7: EmrClinic, mllp: ServerThread) -> None:
    start = future(48)
    with mllp.client() as client:
        client.send(hl7.emr.siu("S12", "FL1", start))
        ack = read_ack(client.send(hl7.emr.siu("S14", "FL1", start, service=("SUIVI", "Suivi"))))
    assert ack.code == "AA", ack.error
    appointment = appointment_of(hl7, "FL1")
    assert hl7.app.load(Service, appointment.service_id, "service").name == "Suivi"


def test_s15_cancels_s17_deletes_and_s26_marks_absent(hl7: EmrClinic, mllp: ServerThread) -> None:
    start = future(48)
    with mllp.client() as client:
        for filler in ("FL1", "FL2", "FL3"):
            assert read_ack(client.send(hl7.emr.siu("S12", filler, start))).code == "AA"
        cancel = read_ack(client.send(hl7.emr.siu("S15", "FL1", start, reason="Patient malade")))
        delete = read_ack(client.send(hl7.emr.siu("S17", "FL2", start)))
        absent = read_ack(client.send(hl7.emr.siu("S26", "FL3", start)))
        again = read_ack(client.send(hl7.emr.siu("S15", "FL1", start)))
    assert [a.code for a in (cancel, delete, absent, again)] == ["AA"] * 4
    cancelled = appointment_of(hl7, "FL1")
    assert cancelled.cancelled and cancelled.cancel_reason == "Patient malade"
    assert hl7.app.load(Slot, cancelled.slot_id, "slot").booked == []
    assert appointment_of(hl7, "FL2").deleted
    assert appointment_of(hl7, "FL3").status == "absent"
    assert "already" in again.text


def test_s24_opens_a_slot_s12_books_into_it_and_s23_blocks_it(hl7: EmrClinic, mllp: ServerThread) -> None:
    start = future(72)
    with mllp.client() as client:
        opened = read_ack(client.send(hl7.emr.siu("S24", "", start, patient=False)))
        assert opened.code == "AA" and "opened" in opened.text, opened.error
        booked = read_ack(client.send(hl7.emr.siu("S12", "FL1", start)))
        assert booked.code == "AA", booked.error
        blocked = read_ack(client.send(hl7.emr.siu("S23", "", start, patient=False)))
        assert blocked.code == "AA" and "locked" in blocked.text
        reopened = read_ack(client.send(hl7.emr.siu("S24", "", start, patient=False)))
        assert "unlocked" in reopened.text
    appointment = appointment_of(hl7, "FL1")
    slot = hl7.app.load(Slot, appointment.slot_id, "slot")
    assert slot.booked == [appointment.id] and not slot.locked


def test_hl7_v23_timing_in_sch11_without_tq1(hl7: EmrClinic, mllp: ServerThread) -> None:
    hl7.emr.version = "2.3"
    start = future(30)
    with mllp.client() as client:
        ack = read_ack(client.send(hl7.emr.siu("S12", "FL1", start, minutes=20, use_tq1=False)))
    assert ack.code == "AA", ack.error
    assert appointment_of(hl7, "FL1").end == start + timedelta(minutes=20)


def test_patient_without_nam_is_matched_by_identifier_and_authority(hl7: EmrClinic, mllp: ServerThread) -> None:
    start = future(48)
    with mllp.client() as client:
        assert read_ack(client.send(hl7.emr.siu("S12", "FL1", start, nam=None, mrn="555"))).code == "AA"
        assert read_ack(client.send(hl7.emr.siu("S12", "FL2", start, nam=None, mrn="555"))).code == "AA"
    first, second = appointment_of(hl7, "FL1"), appointment_of(hl7, "FL2")
    assert first.patient_id == second.patient_id
    patient = hl7.app.load(Patient, first.patient_id, "patient")
    assert patient.nam is None and patient.identifiers == [{"system": "CLIN01", "value": "555"}]


def test_professionals_and_services_imported_from_the_emr_are_reused(hl7: EmrClinic, mllp: ServerThread) -> None:
    from hub.imports.service import imported_id

    staff = hl7.app.add_professional(hl7.clinic, "Dr Luc Gagnon", "gp", "CMQ-1234",
                                     id=imported_id(hl7.clinic, "staff", "1234")).id
    consult = hl7.app.add_service(hl7.clinic, "Consultation", 15, "in_person", True, 24,
                                  id=imported_id(hl7.clinic, "services", "CONSULT")).id
    with mllp.client() as client:
        assert read_ack(client.send(hl7.emr.siu("S12", "FL1", future(48)))).code == "AA"
    appointment = appointment_of(hl7, "FL1")
    assert (appointment.professional_id, appointment.service_id) == (staff, consult)


def test_the_emr_locations_and_resources_are_linked_to_the_appointment(
        hl7: EmrClinic, mllp: ServerThread) -> None:
    """AIL and AIG name what the appointment uses: linked on S12, replaced by a message naming
    others, kept by one naming none; FHIR shows them as participants."""
    start = future(48)
    with mllp.client() as client:
        assert read_ack(client.send(hl7.emr.siu("S12", "FL1", start, resource=("ECG", "ECG")))).code == "AA"
        booked = appointment_of(hl7, "FL1")
        changed = read_ack(client.send(hl7.emr.siu("S14", "FL1", start, resource=("RX", "Radiographie"),
                                                   location=None)))
        moved = appointment_of(hl7, "FL1")
        kept = read_ack(client.send(hl7.emr.siu("S14", "FL1", start, location=None)))
    ids = {code: hl7.app.load(EmrCode, emr_code_id(hl7.clinic, kind, code), "code").target_id
           for kind, code in (("location", "CLIN01"), ("resource", "ECG"), ("resource", "RX"))}
    assert [(r["kind"], r["code"], r["id"]) for r in booked.emr_resources] == [
        ("location", "CLIN01", str(ids["CLIN01"])), ("resource", "ECG", str(ids["ECG"]))]
    assert changed.code == "AA" and "locations and resources: RX" in changed.text
    assert [(r["code"], r["name"]) for r in moved.emr_resources] == [("RX", "Radiographie")]
    assert kept.code == "AA" and appointment_of(hl7, "FL1").emr_resources == moved.emr_resources

    resource = resources.appointment(booked, None, None)
    assert_valid(resource)
    assert {"actor": {"identifier": {"system": codes.EMR_RESOURCE, "value": str(ids["ECG"])},
                      "display": "ECG"}, "status": "accepted"} in resource["participant"]
    assert [p["actor"].get("type") for p in resource["participant"][3:]] == ["Location", None]
