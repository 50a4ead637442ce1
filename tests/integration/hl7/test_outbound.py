"""Outbound SIU: the hub's appointments of a clinic reach its subscribed EMR over MLLP, with retry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from aggregates.appointment import Appointment
from aggregates.emr import Hl7Sender
from aggregates.slot import Slot
from connectors.hl7v2.er7 import parse, segments, value
from connectors.hl7v2.outbound import DeliveryFailed, SiuFeed
from connectors.hl7v2.siu import to_emr_message
from hub.emr.feeds import EmrFeeds
from hub.emr.vendors import Hl7v2Mapping
from tests.support.emr_sim import EmrReceiver, ServerThread, read_ack
from tests.support.hl7 import EmrClinic
from tests.support.scheduling import ADDRESS, Setup, future, patient


@pytest.fixture
def receiver() -> Iterator[tuple[EmrReceiver, ServerThread]]:
    emr = EmrReceiver()
    server = ServerThread(emr)
    yield emr, server
    server.stop()


def subscribed(hl7: EmrClinic, port: int) -> Hl7Sender:
    EmrFeeds(hl7.app).subscribe(hl7.clinic, hl7.sender, "127.0.0.1", port)
    return hl7.app.load(Hl7Sender, hl7.sender, "sender")


def feed(hl7: EmrClinic, port: int, retries: int = 3) -> SiuFeed:
    return SiuFeed(hl7.app, subscribed(hl7, port), retries=retries, backoff_seconds=0.01, timeout=2)


def staff_slot(hl7: EmrClinic) -> tuple[Setup, object]:
    """A professional, services and a slot created by clinic staff (not by the EMR)."""
    setup = Setup.__new__(Setup)
    setup.app, setup.clinic = hl7.app, hl7.clinic
    setup.gp = hl7.app.add_professional(hl7.clinic, "Dre Staff", "gp").id
    setup.consult = hl7.app.add_service(hl7.clinic, "Consultation", 15, "in_person", True, 24).id
    setup.vaccine = hl7.app.add_service(hl7.clinic, "Vaccin", 10, "in_person", True, 12, "Pfizer").id
    return setup, setup.open_slot(capacity=5)


def test_bookings_reschedules_and_cancellations_reach_the_emr(hl7: EmrClinic, receiver) -> None:
    emr, server = receiver
    setup, slot = staff_slot(hl7)
    out = feed(hl7, server.port)
    booked = hl7.app.book(slot, setup.consult, patient(1), "portal").id
    other_slot = setup.open_slot(capacity=5, hours=96)
    hl7.app.reschedule(booked, other_slot)
    hl7.app.set_status(booked, "present")  # not an SIU trigger: skipped
    hl7.app.cancel(booked, "empêchement")
    result = out.run_once()
    assert (result.sent, result.skipped) == (3, 1)
    triggers = [value(parse(m).msh, "msh_9", 2) for m in emr.received]
    assert triggers == ["S12", "S13", "S15"]
    zone = ZoneInfo("America/Montreal")
    first = to_emr_message(parse(emr.received[0]), emr.received[0], Hl7v2Mapping(), zone)
    assert {"system": "HUB", "value": str(booked)} in first.identifiers
    assert first.patient["nam"] == patient(1)["nam"]
    assert first.services[0].name == "Consultation" and first.professionals[0].name == "Dre Staff"
    moved = to_emr_message(parse(emr.received[1]), emr.received[1], Hl7v2Mapping(), zone)
    assert moved.start == hl7.app.load(Slot, other_slot, "slot").start
    assert out.run_once().sent == 0  # position tracked: nothing sent twice
    out.close()


def test_the_emr_hears_back_about_its_own_appointments_only_through_others(hl7: EmrClinic, receiver) -> None:
    emr, server = receiver
    out = feed(hl7, server.port)
    ack = read_ack(hl7.inbox.receive(hl7.emr.siu("S12", "FL1", future(48))))
    assert ack.code == "AA"
    assert out.run_once().sent == 0 and emr.received == []
    appointment_id = ack.text.split()[1]
    hl7.app.cancel(UUID(appointment_id), "annulé au comptoir")  # staff cancels in the hub
    assert out.run_once().sent == 1
    sent = parse(emr.received[0])
    assert value(sent.msh, "msh_9", 2) == "S15"
    assert value(sent.sch, "sch_2", 1) == "FL1" and value(sent.sch, "sch_1", 1) == appointment_id
    # the EMR's S15 echoed back (SCH-1 = hub id ^ HUB) finds the appointment, already closed
    back = hl7.inbox.receive(emr.received[0].replace("|HUB|HUB|OMNIMED|CLIN01|", "|OMNIMED|CLIN01|HUB|HUB|"))
    assert read_ack(back).code == "AA" and "already closed" in read_ack(back).text
    out.close()


def test_unacknowledged_messages_are_retried_then_the_feed_stops_in_place(hl7: EmrClinic, receiver) -> None:
    emr, server = receiver
    setup, slot = staff_slot(hl7)
    out = feed(hl7, server.port, retries=3)
    hl7.app.book(slot, setup.consult, patient(1), "admin")
    emr.codes = ["AR", "DROP", "AA"]
    assert out.run_once().sent == 1 and len(emr.received) == 3
    assert len({value(parse(m).msh, "msh_10") for m in emr.received}) == 1  # same MSH-10 each try

    hl7.app.book(slot, setup.consult, patient(2), "admin")
    position = out.position()
    emr.codes = ["AR", "AR", "AR"]
    with pytest.raises(DeliveryFailed):
        out.run_once()
    assert out.position() == position
    emr.codes = []
    assert out.run_once().sent == 1 and out.position() > position
    out.close()


def test_unreachable_emr_fails_after_retries(hl7: EmrClinic) -> None:
    from tests.support.scheduling import free_port

    setup, slot = staff_slot(hl7)
    out = feed(hl7, free_port(), retries=2)
    hl7.app.book(slot, setup.consult, patient(1), "admin")
    with pytest.raises(DeliveryFailed, match="no AA"):
        out.run_once()


def test_only_the_subscribed_clinic_and_only_after_subscribing(hl7: EmrClinic, receiver) -> None:
    emr, server = receiver
    setup, slot = staff_slot(hl7)
    hl7.app.book(slot, setup.consult, patient(1), "admin")  # before the subscription
    out = feed(hl7, server.port)
    clinic2 = hl7.app.register_clinic("Autre", ADDRESS, "418-555-0102", "clinic").id
    prof = hl7.app.add_professional(clinic2, "Dr Ailleurs", "gp").id
    svc = hl7.app.add_service(clinic2, "Consultation", 15, "in_person", True, 24).id
    start = future(50)
    slot2 = hl7.app.open_slot(clinic2, prof, start, start + timedelta(minutes=15), 2, [svc]).id
    hl7.app.book(slot2, svc, patient(2), "admin")
    result = out.run_once()
    assert (result.sent, emr.received) == (0, [])
    hl7.app.book(slot, setup.consult, patient(3), "admin")
    assert out.run_once().sent == 1
    out.close()


def test_outbound_siu_uses_the_emr_codes_it_named(hl7: EmrClinic, receiver) -> None:
    emr, server = receiver
    out = feed(hl7, server.port)
    ack = read_ack(hl7.inbox.receive(hl7.emr.siu("S12", "FL1", future(48))))
    emr_booked = hl7.app.load(Appointment, UUID(ack.text.split()[1]), "appointment")
    start = future(60)
    slot = hl7.app.open_slot(hl7.clinic, emr_booked.professional_id, start,
                             start + timedelta(minutes=15), 1, [emr_booked.service_id]).id
    hl7.app.book(slot, emr_booked.service_id, patient(7), "admin")  # booked outside the EMR
    assert out.run_once().sent == 1
    sent = parse(emr.received[0])
    assert value(segments(sent, "AIP")[0], "aip_3", 1) == "1234"
    assert value(segments(sent, "AIS")[0], "ais_3", 1) == "CONSULT"
    out.close()
