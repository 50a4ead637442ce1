"""The API on PostgreSQL with e-mail to a local SMTP server and SMS to a local gateway."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from entrypoints.api.app import create_app
from entrypoints.api.services import ApiServices
from hub.access.tokens import issue
from hub.scheduling.service import Scheduling
from hub.settings import Settings
from tests.support.http import Headers
from tests.support.notifications import Gateway, SmtpSink, gateway, smtp_sink  # noqa: F401
from tests.support.vaccination import Site


@pytest.fixture
def settings(pg_schema_url: str, smtp_sink: SmtpSink, gateway: Gateway) -> Settings:  # noqa: F811
    return Settings(database_url=pg_schema_url, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                    gateway_url=gateway.url, public_url="https://hub.example.ca",
                    self_service_key="e2e-server-key",
                    projections_in_server=True)


@pytest.fixture
def vclient(pg_app: Scheduling, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(pg_app, settings)) as test_client:
        yield test_client


@pytest.fixture
def services(vclient: TestClient) -> ApiServices:
    found: ApiServices = vclient.app.state.services  # type: ignore[attr-defined]
    return found


@pytest.fixture
def site(pg_app: Scheduling, services: ApiServices) -> Site:
    return Site(pg_app, services.vaccination.records)


@pytest.fixture
def staff(services: ApiServices, site: Site) -> Headers:
    _, secret = issue(services.access, "clinic_staff", [site.clinic])
    return {"Authorization": f"Bearer {secret}"}
