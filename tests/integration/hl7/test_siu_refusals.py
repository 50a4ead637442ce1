"""Refused messages: AR for what the hub cannot take, AE for bad content; nothing is written."""

from __future__ import annotations

import re

import pytest

from aggregates.emr import receipt_id
from tests.support.emr_sim import read_ack
from tests.support.hl7 import EmrClinic
from tests.support.scheduling import future


def refused(hl7: EmrClinic, message: str) -> tuple[str, str, str]:
    head = hl7.app.head()
    ack = read_ack(hl7.inbox.receive(message, "mllp"))
    assert hl7.app.head() == head, "a refused message wrote events"
    return ack.code, ack.control_id, ack.error


def test_unknown_sender_gets_ar(hl7: EmrClinic) -> None:
    message = hl7.emr.siu("S12", "FL1", future(48)).replace("OMNIMED|CLIN01", "TOUBIB|AUTRE", 1)
    code, control_id, error = refused(hl7, message)
    assert (code, control_id) == ("AR", "OMN000001")
    assert "MSH-3=TOUBIB, MSH-4=AUTRE is not registered" in error


@pytest.mark.parametrize("text, reason", [
    ("", "must start with an MSH segment"),
    ("hello world", "must start with an MSH segment"),
    ("MSH|^~\\&|OMNIMED|CLIN01|HUB|HUB|20260101||SIU^S12|X1|P|9.9\rSCH|1|2", "UnsupportedVersion"),
    ("MSH|^~\\&|OMNIMED|CLIN01|HUB|HUB|20260101||SIU^S12|X1|P|2.5.1\rSCH|1|2\rFOO|x", "InvalidName"),
    ("MSH|^~\\&|OMNIMED|CLIN01|HUB|HUB|20260101||ADT^A01|X1|P|2.5.1\rPID|1", "send SIU"),
    ("MSH|^~\\&|OMNIMED|CLIN01|HUB|HUB|20260101||SIU^S16|X1|P|2.5.1\rSCH|1|2", "S16 is not supported"),
    ("MSH|^~\\&|OMNIMED|CLIN01|HUB|HUB|20260101||SIU^S12||P|2.5.1\rSCH|1|2", "MSH-10"),
    ("MSH|^~\\&|OMNIMED|CLIN01|HUB|HUB|20260101||SIU^S12|X1|Q|2.5.1\rSCH|1|2", "MSH-11"),
])
def test_unreadable_or_unsupported_messages_get_ar(hl7: EmrClinic, text: str, reason: str) -> None:
    code, _, error = refused(hl7, text)
    assert code == "AR" and reason in error


def test_ar_echoes_the_control_id_when_msh_is_readable(hl7: EmrClinic) -> None:
    text = "MSH|^~\\&|OMNIMED|CLIN01|HUB|HUB|20260101||SIU^S99|CTRL42|P|2.5.1\rSCH|1|2"
    assert refused(hl7, text)[:2] == ("AR", "CTRL42")


def test_content_errors_get_ae_with_the_field(hl7: EmrClinic) -> None:
    start = future(48)
    cases = {
        "NAM must be 4 letters": hl7.emr.siu("S12", "FL1", start, nam="BAD123"),
        "PID-3 holds no NAM": hl7.emr.siu("S12", "FL1", start, nam=None, mrn=None),
        "needs the patient": hl7.emr.siu("S12", "FL1", start, patient=False),
        "no professional (AIP)": hl7.emr.siu("S12", "FL1", start, professional=None),
        "no appointment of this clinic": hl7.emr.siu("S15", "UNKNOWN", start),
        "TQ1-7 must be a date and time": hl7.emr.siu("S12", "FL1", start).replace(
            "TQ1|1||||||", "TQ1|1||||||x"),
        "unknown duration units": re.sub(
            r"\^\^15\^([0-9+-]+)\^[0-9+-]+", r"^^^\1",
            hl7.emr.siu("S12", "FL1", start, use_tq1=False)).replace("|15|min|", "|15|parsec|"),
    }
    for reason, message in cases.items():
        code, control_id, error = refused(hl7, message)
        assert code == "AE" and reason in error, (reason, error)
        assert control_id.startswith("OMN")


def test_a_refused_message_can_be_sent_again_once_fixed(hl7: EmrClinic) -> None:
    start = future(48)
    bad = hl7.emr.siu("S12", "FL1", start, nam="BAD123", control_id="FIXME1")
    assert refused(hl7, bad)[0] == "AE"
    assert receipt_id(hl7.sender, "FIXME1") not in hl7.app.repository
    good = hl7.emr.siu("S12", "FL1", start, control_id="FIXME1")
    assert read_ack(hl7.inbox.receive(good)).code == "AA"


def test_an_appointment_id_cannot_move_to_another_patient(hl7: EmrClinic) -> None:
    start = future(48)
    assert read_ack(hl7.inbox.receive(hl7.emr.siu("S12", "FL1", start))).code == "AA"
    code, _, error = refused(hl7, hl7.emr.siu("S14", "FL1", start, nam="ROYJ80010155", mrn=None))
    assert code == "AE" and "another patient" in error


def test_sender_of_another_clinic_cannot_touch_this_clinics_appointments(hl7: EmrClinic) -> None:
    from hub.emr.feeds import EmrFeeds
    from tests.support.scheduling import ADDRESS

    start = future(48)
    assert read_ack(hl7.inbox.receive(hl7.emr.siu("S12", "FL1", start))).code == "AA"
    other = hl7.app.register_clinic("Autre", ADDRESS, "418-555-0199", "clinic").id
    EmrFeeds(hl7.app).register_sender(other, "OMNIMED", "CLIN02")
    message = hl7.emr.siu("S15", "FL1", start).replace("OMNIMED|CLIN01", "OMNIMED|CLIN02", 1)
    code, _, error = refused(hl7, message)
    assert code == "AE" and "no appointment of this clinic" in error
