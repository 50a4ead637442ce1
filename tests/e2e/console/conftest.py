"""Browser fixtures: the hub with its console under uvicorn on a demo day, Debian's Chromium."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, BrowserType, Playwright, expect, sync_playwright

from entrypoints.cli.demo import build_day
from entrypoints.web import create_web_app
from hub.access.tokens import issue
from hub.scheduling.service import Scheduling
from tests.support.browser import chromium_launch_args
from tests.support.http import LiveServer
from tests.support.scheduling import free_port, make_app

ZONE = ZoneInfo("America/Montreal")

# What a page must show is waited for up to 15 s (Playwright's 5 s failed Swagger UI's first
# render and htmx refreshes when the 2-core machine ran other suites beside this one).
expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, **chromium_launch_args()}


# pytest-playwright keeps Playwright (and its running event loop) for the whole session, which
# breaks later tests that call asyncio.run(); here it lives only while the console tests run.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    driver = sync_playwright().start()
    yield driver
    driver.stop()


@pytest.fixture(scope="package")
def browser_context_args() -> dict[str, Any]:
    return {"viewport": {"width": 1280, "height": 900}, "locale": "fr-CA"}


@pytest.fixture(scope="package")
def browser_type(playwright: Playwright, browser_name: str) -> BrowserType:
    return getattr(playwright, browser_name)


@pytest.fixture(scope="package")
def launch_browser(browser_type_launch_args: dict[str, Any], browser_type: BrowserType) -> Callable[..., Browser]:
    def launch(**kwargs: Any) -> Browser:
        return browser_type.launch(**{**browser_type_launch_args, **kwargs})

    return launch


@pytest.fixture(scope="package")
def browser(launch_browser: Callable[..., Browser]) -> Iterator[Browser]:
    opened = launch_browser()
    yield opened
    opened.close()


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
