"""FHIR Slot searches are answered once per log head and caller's scope (``SearchAnswers``),
and API tokens are remembered while their changes are heard (``RememberedTokens``): a write
gives the next search a new answer, a caller of another clinic or the online view never gets
another's answer, and a token revoked by another process is refused."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from adapters.sqlaccessstore import access_store_for
from hub.access.tokens import issue, revoke
from hub.scheduling.service import Scheduling
from tests.support.scheduling import Setup, make_app, patient

Headers = dict[str, str]


def _slots(client: TestClient, headers: Headers, **params: Any) -> dict[str, str]:
    answer = client.get("/fhir/r4/Slot", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/fhir+json")
    return {e["resource"]["id"]: e["resource"]["comment"] for e in answer.json().get("entry", [])}


def test_a_write_gives_the_next_search_a_new_answer(
    client: TestClient, pg_app: Scheduling, auth: Callable[..., Headers]
) -> None:
    world = Setup(pg_app, capacity=2)
    admin = auth("admin")
    services = client.app.state.services  # type: ignore[attr-defined]
    query = {"schedule": f"Schedule/{world.gp}"}
    assert _slots(client, admin, **query) == {str(world.slot): "2 of 2 places left"}
    assert _slots(client, admin, **query) == {str(world.slot): "2 of 2 places left"}
    assert services.fhir_answers.head == pg_app.head() and len(services.fhir_answers) == 1
    pg_app.book(world.slot, world.consult, patient(1), "admin")
    assert _slots(client, admin, **query) == {str(world.slot): "1 of 2 places left"}
    later = world.open_slot(capacity=3, hours=90)
    assert _slots(client, admin, **query) == {str(world.slot): "1 of 2 places left",
                                              str(later): "3 of 3 places left"}
    assert _slots(client, admin, status="busy", **query) == {}


def test_a_caller_never_gets_the_answer_kept_for_another_scope(
    client: TestClient, pg_app: Scheduling, auth: Callable[..., Headers]
) -> None:
    mine, theirs = Setup(pg_app), Setup(pg_app)
    locked = mine.open_slot(locked=True, hours=80)
    services = client.app.state.services  # type: ignore[attr-defined]
    query = {"status": "free"}
    staff = _slots(client, auth("emr", mine.clinic), **query)
    assert set(staff) == {str(mine.slot), str(locked)}
    assert len(services.fhir_answers) == 1  # kept: the next callers find it there
    assert set(_slots(client, auth("emr", theirs.clinic), **query)) == {str(theirs.slot)}
    assert set(_slots(client, auth("portal", mine.clinic), **query)) == {str(mine.slot)}
    assert set(_slots(client, auth("admin"), **query)) == {str(mine.slot), str(locked), str(theirs.slot)}
    # the same query of another clinic's schedule: nothing, not the other clinic's answer
    assert _slots(client, auth("emr", theirs.clinic), schedule=f"Schedule/{mine.gp}") == {}
    assert set(_slots(client, auth("emr", mine.clinic), schedule=f"Schedule/{mine.gp}")) == {
        str(mine.slot), str(locked)}


def test_a_token_revoked_by_another_process_is_refused(
    client: TestClient, pg_schema_url: str
) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    assert services.token_changes is not None and services.token_changes.wait_listening(10)
    principal, secret = issue(services.access, "admin")
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/fhir/r4/Location", headers=headers).status_code == 200
    assert services.tokens.remembered(secret) == principal
    elsewhere = make_app(pg_schema_url)  # its own connections, as another process has
    try:
        revoke(access_store_for(elsewhere.recorder), principal.subject)
    finally:
        elsewhere.close()
    deadline = time.monotonic() + 5  # the announcement is heard when the revocation commits
    while services.tokens.remembered(secret) is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    answer = client.get("/fhir/r4/Location", headers=headers)
    assert answer.status_code == 401 and answer.json()["issue"][0]["code"] == "login"


def test_a_token_rotated_here_without_grace_is_refused_at_once(
    client: TestClient, auth: Callable[..., Headers]
) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    assert services.token_changes.wait_listening(10)
    principal, secret = issue(services.access, "ops")
    old = {"Authorization": f"Bearer {secret}"}
    assert client.get("/fhir/r4/Location", headers=old).status_code == 200
    rotated = client.post(f"/v1/tokens/{principal.subject}/rotate", json={"grace_minutes": 0},
                          headers=auth("admin"))
    assert rotated.status_code == 200, rotated.text
    assert client.get("/fhir/r4/Location", headers=old).status_code == 401
    new = {"Authorization": f"Bearer {rotated.json()['token']}"}
    assert client.get("/fhir/r4/Location", headers=new).status_code == 200
