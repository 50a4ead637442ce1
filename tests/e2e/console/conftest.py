"""Browser fixtures: the hub with its console under uvicorn on a demo day, Debian's Chromium."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from entrypoints.cli.demo import build_day
from entrypoints.web import create_web_app
from hub.access.tokens import issue
from hub.scheduling.service import Scheduling
from tests.support.browser import chromium_launch_args
from tests.support.http import LiveServer
from tests.support.scheduling import free_port, make_app

ZONE = ZoneInfo("America/Montreal")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, **chromium_launch_args()}


@dataclass
class Console:
    """A running hub with a demo clinic's day, and who may sign in to it."""

    url: str
    app: Scheduling
    server: LiveServer
    clinic_id: UUID
    day: datetime

    def token(self, role: str, *clinics: UUID) -> str:
        _, secret = issue(self.server.app.state.services.access, role, list(clinics))
        return secret

    def caught_up(self) -> None:
        self.server.app.state.services.projections.catch_up()

    def suivi_url(self, **query: str) -> str:
        extra = "".join(f"&{k}={v}" for k, v in query.items())
        return f"{self.url}/console/clinics/{self.clinic_id}/suivi?date={self.day.date()}{extra}"


@pytest.fixture
def console(tmp_path) -> Iterator[Console]:
    """The demo day of ``hub demo`` on a SQLite store, served with the console."""
    app = make_app(f"sqlite:///{tmp_path}/hub.db")
    clinic_id, day = build_day(app, ZONE, random.Random(16))
    with LiveServer(create_web_app(app), free_port()) as server:
        hub = Console(server.url, app, server, clinic_id, day)
        hub.caught_up()
        yield hub
    app.close()
