"""The demo's EMR day (``hub demo``): an hl7apy-built SIU feed applied to a fresh clinic."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from aggregates.appointment import Appointment
from entrypoints.demo.siu_day import emr_day
from hub.scheduling.service import Scheduling
from tests.support.emr_sim import read_ack
from tests.support.scheduling import ADDRESS


def test_sample_emr_day_is_accepted_and_rerunnable(app: Scheduling) -> None:
    zone = ZoneInfo("America/Montreal")
    day = datetime.now(zone) + timedelta(days=1)
    for _ in range(2):  # re-runnable: a new clinic, a new sender, the same patients
        clinic = app.register_clinic("Démo", ADDRESS, "418-555-0100", "clinic").id
        acks = [read_ack(a) for a in emr_day(app, clinic, day, zone)]
        assert [a.code for a in acks] == ["AA"] * 5, [a.error for a in acks]
    moved = app.load(Appointment, appointment_in(acks[3].text), "appointment")
    assert moved.start.hour == 15 and moved.source == "emr"
    assert app.load(Appointment, appointment_in(acks[4].text), "appointment").status == "absent"


def appointment_in(ack_text: str) -> UUID:
    """The id in an AA's text: "appointment <uuid> booked"."""
    return UUID(ack_text.split()[1])
