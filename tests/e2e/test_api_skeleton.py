"""The API's front door through the real app on PostgreSQL: health, tokens, errors, actor."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from entrypoints.api.app import create_app
from hub.access.tokens import authenticate, revoke
from projections.eventlog import describe
from tests.support.http import clinic_body
from tests.support.scheduling import free_port, make_app


def test_health_is_open(client: TestClient) -> None:
    answer = client.get("/health")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"


def test_write_returns_position_and_records_the_token_subject(client, admin) -> None:
    answer = client.post("/v1/clinics", json=clinic_body(), headers=admin)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["position"] >= 1 and body["name"] == "Clinique Test"
    scheduling = client.app.state.services.scheduling
    [note] = scheduling.recorder.select_notifications(start=body["position"], limit=1)
    meta = describe(note, scheduling.mapper).meta
    assert meta["role"] == "admin" and meta["channel"] == "http"
    assert meta["subject"].startswith("tok_")
    assert client.get(f"/v1/clinics/{body['id']}", headers=admin).json()["id"] == body["id"]


@pytest.mark.parametrize(
    ("request_kwargs", "status", "code"),
    [
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400,
         "malformed_json"),
        ({"json": {"name": "x"}}, 422, "validation_error"),
        ({"json": {**clinic_body(), "application_type": "spa"}}, 422, "validation_error"),
        ({"json": {**clinic_body(), "extra": 1}}, 422, "validation_error"),
        ({"content": b"x" * 2_000_000, "headers": {"content-type": "application/json"}}, 413,
         "payload_too_large"),
    ],
)
def test_bad_requests_get_the_error_body_and_write_nothing(
    client, admin, request_kwargs, status, code
) -> None:
    headers = {**admin, **request_kwargs.pop("headers", {})}
    answer = client.post("/v1/clinics", headers=headers, **request_kwargs)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code and error["message"]
    assert client.app.state.services.scheduling.head() == 0


def test_unknown_routes_methods_and_tokens(client, admin, auth) -> None:
    assert client.get("/v1/nowhere", headers=admin).json()["error"]["code"] == "not_found"
    answer = client.delete("/health")
    assert answer.status_code == 405 and answer.json()["error"]["code"] == "method_not_allowed"
    for headers in ({}, {"Authorization": "Bearer hub_nope"}, {"Authorization": "Basic eDp5"}):
        answer = client.post("/v1/clinics", json=clinic_body(), headers=headers)
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "unauthenticated"
    ops = auth("ops")
    answer = client.post("/v1/clinics", json=clinic_body(), headers=ops)
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden"
    assert client.app.state.services.scheduling.head() == 0


def test_scoped_token_sees_only_its_clinics(client, admin, auth) -> None:
    mine = client.post("/v1/clinics", json=clinic_body("Mine"), headers=admin).json()["id"]
    other = client.post("/v1/clinics", json=clinic_body("Other"), headers=admin).json()["id"]
    emr = auth("emr", mine)
    assert client.get(f"/v1/clinics/{mine}", headers=emr).status_code == 200
    assert client.get(f"/v1/clinics/{other}", headers=emr).status_code == 403
    listed = client.get("/v1/clinics", headers=emr).json()["items"]
    assert [c["id"] for c in listed] == [mine]
    first = client.get("/v1/clinics?limit=1", headers=admin).json()
    assert len(first["items"]) == 1 and first["next_after"]
    second = client.get(f"/v1/clinics?limit=1&after={first['next_after']}", headers=admin).json()
    assert [c["id"] for c in second["items"]] == [other]


def _hub(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HUB_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "entrypoints", *args], capture_output=True, text=True,
                          env=env, timeout=60, check=False)


def test_cli_token_is_accepted_at_once_and_revoked(pg_schema_url: str) -> None:
    created = _hub("tokens", "create", "--role", "admin", url=pg_schema_url)
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    scheduling = make_app(pg_schema_url)
    try:
        with TestClient(create_app(scheduling)) as client:
            headers = {"Authorization": f"Bearer {secret}"}
            assert client.post("/v1/clinics", json=clinic_body(), headers=headers).status_code == 201
            table = client.app.state.services.access.tokens_table
            with scheduling.recorder.datastore.transaction(commit=False) as cursor:
                cursor.execute(f"SELECT * FROM {table}")
                assert secret not in repr(cursor.fetchall())
            subject = authenticate(client.app.state.services.access, secret).subject
            revoked = _hub("tokens", "revoke", subject, url=pg_schema_url)
            assert revoked.returncode == 0, revoked.stderr
            assert client.get("/v1/clinics", headers=headers).status_code == 401
            with pytest.raises(Exception, match="no live token"):
                revoke(client.app.state.services.access, subject)
    finally:
        scheduling.close()
    bad = _hub("tokens", "create", "--role", "emr", url=pg_schema_url)
    assert bad.returncode != 0 and "--clinic" in bad.stderr
    bad = _hub("tokens", "create", "--role", "wizard", url=pg_schema_url)
    assert bad.returncode != 0 and "role must be one of" in bad.stderr


def test_hub_serve_answers_health(sqlite_url: str) -> None:
    port = free_port()
    env = {**os.environ, "HUB_DATABASE_URL": sqlite_url}
    server = subprocess.Popen([sys.executable, "-m", "entrypoints", "serve", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "hub serve did not answer within 20 s"
                time.sleep(0.2)
        assert answer.status_code == 200 and answer.json()["status"] == "ok"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_every_route_is_the_first_to_match_its_own_path() -> None:
    """The routers' order is chosen for speed (the busiest first, ``ROUTERS``): it must never
    decide which route answers. Each route, given a path of its own shape, is the first of
    the whole web app (API, console, pages) to match it fully."""
    import re

    from starlette.routing import Match

    from entrypoints.web import create_web_app

    app = create_web_app()

    def leaves(routes: list) -> list:
        found = []
        for route in routes:
            inner = getattr(route, "original_router", None)
            found += leaves(inner.routes) if inner is not None else [route]
        return found

    checked = 0
    for route in leaves(app.router.routes):
        path, methods = getattr(route, "path_format", getattr(route, "path", "")), getattr(route, "methods", None)
        if not methods or ":path}" in getattr(route, "path", ""):  # catch-alls come last on purpose
            continue
        concrete = re.sub(r"\{[^}]+\}", "x0", path)
        for method in methods:
            scope = {"type": "http", "method": method, "path": concrete, "root_path": "",
                     "headers": [], "query_string": b""}
            first = next(r for r in app.router.routes if r.matches(scope)[0] == Match.FULL)
            inner = getattr(first, "original_router", None)
            if inner is not None:
                first = next(r for r in leaves(inner.routes) if r.matches(scope)[0] == Match.FULL)
            assert first is route or getattr(first, "path_format", None) == path, (method, path)
            checked += 1
    assert checked > 100
