"""Every user role × every route of the app (enumerated from its OpenAPI, so routers added
later are covered): what each role may do, and that nothing else is possible (R1–R2).

- ``agenda`` (clinic A) answers exactly as a ``clinic_staff`` token of clinic A, route by route;
- ``info_sante_811``, ``reorientation_hospital``, ``reorientation_clinic`` may read availability
  (only slots reserved for them) and book, read themselves and end their session; every other
  route refuses them (401/403/404) and writes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from entrypoints.api.app import create_app
from hub.scheduling.service import Scheduling
from tests.e2e.test_api_scope_matrix import PUBLIC_ROUTES, _bodies, _generic_body, _operations, _query
from tests.support.http import HttpClinic
from tests.support.users import FAST_PASSWORDS, reserved_slot, signed_in

REFERRER_ROLES = ("info_sante_811", "reorientation_hospital", "reorientation_clinic")
#: What 811 and reorientation users may call (besides the public routes).
REFERRER_ROUTES = {
    ("GET", "/v1/availability"),
    ("POST", "/v1/appointments"),
    ("GET", "/v1/users/me"),
    ("DELETE", "/v1/sessions/current"),
}


@pytest.fixture
def client(pg_app: Scheduling) -> Iterator[TestClient]:
    with TestClient(create_app(pg_app, passwords=FAST_PASSWORDS)) as test_client:
        yield test_client


@pytest.fixture
def world(client, admin):  # type: ignore[no-untyped-def]
    mine = HttpClinic(client, admin, name="A")
    other = HttpClinic(client, admin, name="B")
    other.appointment = other.book(7)["id"]
    mine.appointment = mine.book(8)["id"]
    other.slot_811 = reserved_slot(client, admin, other, "811")
    other.slot_reorientation = reserved_slot(client, admin, other, "reorientation")
    users = {"agenda": signed_in(client, admin, ["agenda"], [mine.id])}
    for role in REFERRER_ROLES:
        users[role] = signed_in(client, admin, [role], [mine.id] if role.endswith("clinic") else [])
    return mine, other, users


def _ids(clinic: HttpClinic, user_id: str) -> dict[str, str]:
    return {"clinic_id": clinic.id, "slot_id": clinic.slot, "appointment_id": clinic.appointment,
            "professional_id": clinic.gp, "service_id": clinic.consult,
            "aggregate_id": clinic.appointment, "id": clinic.appointment, "user_id": user_id}


def _call(client: TestClient, method: str, template: str, operation: dict, ids: dict[str, str],
          body: dict, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    path = re.sub(r"{(\w+)}", lambda m: ids.get(m.group(1), ids["appointment_id"]), template)
    return client.request(method, path, headers=headers, params=_query(operation, ids),
                          json=body if method in ("POST", "PUT", "PATCH") else None)


def _routes(client: TestClient) -> list[tuple[str, str, dict]]:
    return [(m, t, op) for m, t, op in _operations(client)
            if (m, t) not in PUBLIC_ROUTES and (m, t) != ("DELETE", "/v1/sessions/current")]


def test_referrers_reach_only_their_routes_and_write_nothing_else(client, world) -> None:
    mine, other, users = world
    scheduling: Scheduling = client.app.state.services.scheduling
    hidden = {other.slot, other.appointment, mine.appointment, mine.slot}
    checked = 0
    for role in REFERRER_ROLES:
        user = users[role]
        ids = _ids(other, users["agenda"].id)
        bodies = _bodies(other, mine)
        for method, template, operation in _routes(client):
            head = scheduling.head()
            body = bodies.get((method, template), _generic_body(other))
            answer = _call(client, method, template, operation, ids, body, user.headers)
            where = f"{role} {method} {template}: {answer.status_code} {answer.text[:200]}"
            assert answer.status_code < 500, where
            assert scheduling.head() == head, f"{where} wrote to the store"
            if (method, template) in REFERRER_ROUTES:
                if method == "GET":
                    assert answer.status_code == 200, where
                    shown = [s for s in hidden if s in answer.text]
                    assert not shown, f"{where} shows {shown}"
                else:  # a booking into B's ordinary slot
                    assert answer.status_code == 404, where
            else:  # 401: a route of another kind of credential (a citizen's self-service token)
                assert answer.status_code in (401, 403, 404), where
            checked += 1
        seen = client.get("/v1/availability", headers=user.headers,
                          params={"min_position": scheduling.head()}).json()["items"]
        kept = other.slot_811 if role == "info_sante_811" else other.slot_reorientation
        assert [i["slot_id"] for i in seen] == [kept], role
        assert client.delete("/v1/sessions/current", headers=user.headers).status_code == 204
        assert client.get("/v1/users/me", headers=user.headers).status_code == 401
    assert checked >= 3 * 40


def test_agenda_user_is_its_clinics_staff_route_by_route(client, auth, world) -> None:
    mine, other, users = world
    agenda = users["agenda"].headers
    staff = auth("clinic_staff", mine.id)
    scheduling: Scheduling = client.app.state.services.scheduling
    checked = 0
    for clinic in (other, mine):
        ids = _ids(clinic, users["info_sante_811"].id)
        bodies = _bodies(clinic, mine)
        for method, template, operation in _routes(client):
            if method != "GET" and clinic is mine:
                continue  # writes into its own clinic: covered by the clinic_staff tests
            body = bodies.get((method, template), _generic_body(clinic))
            head = scheduling.head()
            as_user = _call(client, method, template, operation, ids, body, agenda)
            as_staff = _call(client, method, template, operation, ids, body, staff)
            where = (f"{method} {template} ({clinic.id == mine.id and 'A' or 'B'}): agenda "
                     f"{as_user.status_code} {as_user.text[:150]} / clinic_staff "
                     f"{as_staff.status_code} {as_staff.text[:150]}")
            if template == "/v1/users/me":
                assert as_user.status_code == 200 and as_staff.status_code == 404, where
                continue
            assert as_user.status_code == as_staff.status_code, where
            assert as_user.status_code < 500, where
            if clinic is other:
                assert scheduling.head() == head, f"{where} wrote to the store"
            checked += 1
    assert checked >= 60
