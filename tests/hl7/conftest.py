"""Fixtures for the HL7 v2 tests: a clinic with a registered EMR sender, an inbox, an MLLP port."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from uuid import UUID

import pytest

from connectors.hl7v2.inbound import Hl7Inbox
from hub.emr.feeds import EmrFeeds
from hub.scheduling.service import Scheduling
from tests.conftest import ADDRESS
from tests.hl7.emr_sim import ServerThread, SimulatedEmr


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


@pytest.fixture
def hl7(app: Scheduling) -> EmrClinic:
    """A clinic whose EMR (OMNIMED^CLIN01) is registered, on SQLite and PostgreSQL."""
    return emr_clinic(app)


@pytest.fixture
def hl7_memory(memory_app: Scheduling) -> EmrClinic:
    return emr_clinic(memory_app)


@pytest.fixture
def mllp(hl7: EmrClinic) -> Iterator[ServerThread]:
    """The hub's MLLP listener on a free port, applying to ``hl7``'s store."""
    server = ServerThread(lambda text: hl7.inbox.receive(text, "mllp"))
    yield server
    server.stop()
