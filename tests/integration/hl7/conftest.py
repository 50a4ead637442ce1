"""Fixtures for the HL7 v2 tests: a clinic with a registered EMR sender, an inbox, an MLLP port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hub.scheduling.service import Scheduling
from tests.support.emr_sim import ServerThread
from tests.support.hl7 import EmrClinic, emr_clinic


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
