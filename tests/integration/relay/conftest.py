"""Relay tests run against a real tansu broker (tests/kafka_fixtures.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hub.scheduling.service import Scheduling
from tests.conftest import make_app
from tests.kafka_fixtures import kafka_bootstrap, kafka_broker, own_kafka_broker  # noqa: F401


@pytest.fixture
def sqlite_app(sqlite_url: str) -> Iterator[Scheduling]:
    """The scheduling application on this test's SQLite file (``sqlite_url``)."""
    application = make_app(sqlite_url)
    yield application
    application.close()
