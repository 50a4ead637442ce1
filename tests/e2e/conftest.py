"""E2E fixtures: the real FastAPI app on a real store, and bearer headers per role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.scheduling import Scheduling
from hub.tokens import issue
from tests.conftest import ADDRESS, make_app

Headers = dict[str, str]


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
        _, secret = issue(client.app.state.access, role, [UUID(str(c)) for c in clinic_ids])
        return {"Authorization": f"Bearer {secret}"}

    return make


@pytest.fixture
def admin(auth: Callable[..., Headers]) -> Headers:
    return auth("admin")


def clinic_body(name: str = "Clinique Test", application_type: str = "public_health") -> dict:
    return {"name": name, "address": ADDRESS, "phone": "418-555-0000",
            "application_type": application_type}
