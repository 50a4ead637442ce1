"""Properties: whatever arrives, the answer is a readable ACK; a refusal writes nothing; a
message raced over several connections applies once (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.hl7v2.er7 import header
from tests.support.emr_sim import ServerThread, SimulatedEmr, read_ack
from tests.support.hl7 import EmrClinic, emr_clinic
from tests.support.scheduling import future, make_app

VALID = SimulatedEmr().siu("S12", "FL1", future(48), control_id="FUZZ0001")
SEGMENTS = VALID.split("\r")


@pytest.fixture(scope="module")
def fuzz_clinic() -> Iterator[EmrClinic]:
    app = make_app("memory://")
    yield emr_clinic(app)
    app.close()


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """The valid S12 with one segment dropped, or one field replaced by arbitrary text."""
    segments = list(SEGMENTS)
    index = draw(st.integers(0, len(segments) - 1))
    if draw(st.booleans()) and index > 0:
        del segments[index]
    else:
        fields = segments[index].split("|")
        position = draw(st.integers(1 if index else 3, len(fields) - 1))
        fields[position] = draw(st.text(st.characters(blacklist_categories=["Cs"]), max_size=30))
        segments[index] = "|".join(fields)
    return "\r".join(segments)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(st.text(max_size=200), mutated()))
def test_any_input_gets_a_readable_ack_and_refusals_write_nothing(fuzz_clinic: EmrClinic, text: str) -> None:
    app = fuzz_clinic.app
    head = app.head()
    answer = fuzz_clinic.inbox.receive(text)
    ack = read_ack(answer)
    assert ack.code in ("AA", "AE", "AR")
    if ack.code != "AA":
        assert app.head() == head and ack.error
    control_id = header(text).control_id
    if control_id and re.fullmatch(r"[^|^~\\&\r\n]{1,199}", control_id):
        assert ack.control_id == control_id.strip()


def test_the_same_message_raced_over_connections_applies_once(hl7: EmrClinic, mllp: ServerThread) -> None:
    message = hl7.emr.siu("S12", "FL1", future(48))

    def send(_: int) -> str:
        with mllp.client() as client:
            return client.send(message)

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(send, range(4)))
    assert len(set(answers)) == 1 and read_ack(answers[0]).code == "AA"
    booked = hl7.app.recorder.select_notifications(
        start=1, limit=100, topics=["aggregates.appointment:Appointment.Booked"])
    assert len(booked) == 1
