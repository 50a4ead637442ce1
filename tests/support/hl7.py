"""Helpers shared by tests (moved out of conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from connectors.hl7v2.inbound import Hl7Inbox
from hub.emr.feeds import EmrFeeds
from hub.scheduling.service import Scheduling
from tests.support.emr_sim import SimulatedEmr
from tests.support.scheduling import ADDRESS


@dataclass
class EmrClinic:
    app: Scheduling
    clinic: UUID
    sender: UUID
    emr: SimulatedEmr
    inbox: Hl7Inbox



def emr_clinic(app: Scheduling, application_type: str = "clinic") -> EmrClinic:
    clinic = app.register_clinic("Clinique DMÉ", ADDRESS, "418-555-0101", application_type).id
    emr = SimulatedEmr()
    written, created = EmrFeeds(app).register_sender(clinic, emr.application, emr.facility)
    assert created
    return EmrClinic(app, clinic, written.id, emr, Hl7Inbox(app, "America/Montreal"))

