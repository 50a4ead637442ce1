"""Relay tests run against a real tansu broker (tests/support/kafka.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hub.scheduling.service import Scheduling
from tests.support.kafka import kafka_bootstrap, kafka_broker, own_kafka_broker  # noqa: F401
from tests.support.scheduling import make_app


@pytest.fixture
def sqlite_app(sqlite_url: str) -> Iterator[Scheduling]:
    """The scheduling application on this test's SQLite file (``sqlite_url``)."""
    application = make_app(sqlite_url)
    yield application
    application.close()
