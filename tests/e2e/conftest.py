"""E2E fixtures: the real FastAPI app on a real store, and bearer headers per role; every
test's output (the hub's and the libraries' log lines) is scanned for personal data (Loi 25)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from adapters.redaction import find_personal_data
from entrypoints.api.app import create_app
from hub.access.tokens import issue
from hub.logging import configure_logging
from hub.scheduling.service import Scheduling
from tests.support.http import Headers, LiveServer
from tests.support.scheduling import make_app


@pytest.fixture(scope="session", autouse=True)
def _served_logging() -> None:
    """Log as ``hub serve`` does (the redacting pipeline)."""
    configure_logging("console", "INFO")


@pytest.fixture(autouse=True)
def _no_personal_data_in_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    """No NAM, e-mail address or phone number in anything a test made the hub print."""
    yield
    out, err = capsys.readouterr()
    sys.stdout.write(out)
    sys.stderr.write(err)
    found = find_personal_data(out + err)
    assert not found, f"personal data in the log lines of this test: {found[:5]}"


@pytest.fixture
def pg_app(pg_schema_url: str) -> Iterator[Scheduling]:
    application = make_app(pg_schema_url)
    yield application
    application.close()


@pytest.fixture
def client(pg_app: Scheduling) -> Iterator[TestClient]:
    """The real app on PostgreSQL (fresh schema), lifespan run."""
    with TestClient(create_app(pg_app)) as test_client:
        yield test_client


@pytest.fixture
def auth(client: TestClient) -> Callable[..., Headers]:
    """``auth(role, *clinic_ids)`` → Authorization headers for a fresh token."""

    def make(role: str, *clinic_ids: UUID | str) -> Headers:
        _, secret = issue(client.app.state.services.access, role, [UUID(str(c)) for c in clinic_ids])
        return {"Authorization": f"Bearer {secret}"}

    return make


@pytest.fixture
def admin(auth: Callable[..., Headers]) -> Headers:
    return auth("admin")












@pytest.fixture
def live_server(pg_app: Scheduling) -> Iterator[LiveServer]:
    from tests.support.scheduling import free_port

    with LiveServer(create_app(pg_app), free_port()) as server:
        yield server
