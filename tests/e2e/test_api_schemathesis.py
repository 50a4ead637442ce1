"""Schemathesis over the app's whole OpenAPI (authenticated, bounded examples), on PostgreSQL:
no 5xx, and every answer matches the schema (status codes, content types, bodies).

One test per operation, enumerated from the app's OpenAPI (routers added later are covered);
each case goes through the real app with an admin token, half of them on real ids.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from hub.api.app import create_app
from tests.e2e.conftest import HttpClinic

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
MAX_EXAMPLES = 15
OPERATIONS = [(method.upper(), path) for path, item in create_app().openapi()["paths"].items()
              for method in item if method in ("get", "post", "put", "patch", "delete")]


@pytest.fixture
def client(pg_app, monkeypatch):
    """The real app with every optional feature on (gateway webhooks need their secret)."""
    monkeypatch.setenv("HUB_GATEWAY_TOKEN", "schemathesis-gateway-secret")
    with TestClient(create_app(pg_app)) as test_client:
        yield test_client


@pytest.fixture
def seeded(client, admin) -> dict[str, str]:
    """Real ids: a clinic, its staff, services, a slot and an appointment."""
    clinic = HttpClinic(client, admin)
    appointment = clinic.book(1)["id"]
    return {"clinic_id": clinic.id, "professional_id": clinic.gp, "service_id": clinic.consult,
            "slot_id": clinic.slot, "appointment_id": appointment, "aggregate_id": appointment}


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_has_no_server_error_and_matches_its_schema(
    client, admin, seeded, method: str, path: str
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    operation = schema[path][method]
    real = {name: value for name, value in seeded.items() if "{" + name + "}" in path}
    strategies = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        strategies.append(operation.as_strategy(mode))
        if real:
            strategies.append(operation.as_strategy(mode, path_parameters=real))

    @given(case=st.one_of(strategies))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=(Phase.explicit, Phase.generate), suppress_health_check=list(HealthCheck))
    def run(case) -> None:
        case.call_and_validate(headers=admin, checks=CHECKS)

    run()
