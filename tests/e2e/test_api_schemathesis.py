"""Schemathesis over the app's whole OpenAPI (authenticated, bounded examples), on PostgreSQL:
no 5xx, and every answer matches the schema (status codes, content types, bodies).

One test per operation, enumerated from the app's OpenAPI (routers added later are covered);
each case goes through the real app with an admin token, half of them on real ids.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg
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
from schemathesis.python.asgi import ASGIClient

from entrypoints.api.app import create_app
from hub.access.tokens import issue
from tests.support.http import HttpClinic
from tests.support.scheduling import make_app

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
MAX_EXAMPLES = 15
#: Operations that fetch a URL from their body: fuzzed with a loopback URL only (no traffic
#: leaves the machine; port 9 refuses, so the feed is unreachable).
OUTBOUND_BODIES = {
    ("POST", "/v1/clinics/{clinic_id}/availability-feeds"):
        {"manifest_url": "http://127.0.0.1:9/fhir/$bulk-publish"},
}
OPERATIONS = [(method.upper(), path) for path, item in create_app().openapi()["paths"].items()
              for method in item if method in ("get", "post", "put", "patch", "delete")]


@pytest.fixture(scope="module")
def client(pg_url: str):
    """One app for every operation (on its own schema), with every optional feature on
    (gateway webhooks need their secret)."""
    schema = f"t_st_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    scheduling = make_app(urlunsplit(urlsplit(pg_url)._replace(query=f"schema={schema}")))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HUB_GATEWAY_WEBHOOK_SECRET", "schemathesis-gateway-secret")
        with TestClient(create_app(scheduling)) as test_client:
            yield test_client
    scheduling.close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="module")
def admin(client) -> dict[str, str]:
    _, secret = issue(client.app.state.services.access, "admin")
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture(scope="module")
def seeded(client, admin) -> dict[str, str]:
    """Real ids: a clinic, its staff, services, a slot and an appointment."""
    clinic = HttpClinic(client, admin)
    appointment = clinic.book(1)["id"]
    return {"clinic_id": clinic.id, "professional_id": clinic.gp, "service_id": clinic.consult,
            "slot_id": clinic.slot, "appointment_id": appointment, "aggregate_id": appointment}


@pytest.fixture(scope="module")
def api_schema(client):
    """The app's OpenAPI, bound to the app already started by ``client`` (schemathesis' own
    loader would start a second lifespan and keep it running until the process exits)."""
    schema = schemathesis.openapi.from_dict(client.app.openapi())
    schema.app = client.app
    return schema


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_has_no_server_error_and_matches_its_schema(
    client, api_schema, admin, seeded, method: str, path: str
) -> None:
    operation = api_schema[path][method]
    session = ASGIClient(client.app)  # not entered: no lifespan of its own
    real = {name: value for name, value in seeded.items() if "{" + name + "}" in path}
    fixed = {"body": OUTBOUND_BODIES[(method, path)]} if (method, path) in OUTBOUND_BODIES else {}
    strategies = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        strategies.append(operation.as_strategy(mode, **fixed))
        if real:
            strategies.append(operation.as_strategy(mode, path_parameters=real, **fixed))

    @given(case=st.one_of(strategies))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=(Phase.explicit, Phase.generate), suppress_health_check=list(HealthCheck))
    def run(case) -> None:
        case.call_and_validate(session=session, headers=admin, checks=CHECKS)

    run()
