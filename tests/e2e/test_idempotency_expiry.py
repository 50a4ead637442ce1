"""Kept answers to ``Idempotency-Key`` POSTs copy personal data: they expire after 24 h and are
never kept for the read-only NAM search (#17). Real app on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from entrypoints.api.app import create_app
from entrypoints.api.idempotency import KEEP_ANSWERS
from hub.access.tokens import issue
from hub.scheduling.service import Scheduling
from tests.support.http import HttpClinic, booking_body
from tests.support.scheduling import patient


def _answers(client: TestClient) -> list[tuple[Any, ...]]:
    access = client.app.state.services.access
    with access.datastore.transaction(commit=False) as cursor:
        cursor.execute(f"SELECT key, created_at FROM {access.answers_table} ORDER BY key")
        return [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in cursor.fetchall()]


def test_answers_older_than_24_hours_are_purged_and_search_is_never_kept(
        pg_app: Scheduling) -> None:
    with TestClient(create_app(pg_app)) as client:
        _, secret = issue(client.app.state.services.access, "admin")
        admin = {"Authorization": f"Bearer {secret}"}
        clinic = HttpClinic(client, admin)
        body = booking_body(clinic.slot, clinic.consult, 1)
        first = client.post("/v1/appointments", json=body,
                            headers={**admin, "Idempotency-Key": "old-1"})
        assert first.status_code == 201
        searched = client.post("/v1/patients/search", json={"nam": patient(1)["nam"]},
                               headers={**admin, "Idempotency-Key": "search-1"})
        assert searched.status_code == 200
        assert [k for k, _ in _answers(client)] == ["old-1"]  # the search was not kept
        access = client.app.state.services.access
        aged = (datetime.now(UTC) - KEEP_ANSWERS - timedelta(minutes=1)).isoformat()
        with access.datastore.transaction(commit=True) as cursor:
            cursor.execute(f"UPDATE {access.answers_table} SET created_at = %s", (aged,))

    # a new server process purges on its first keyed POST
    with TestClient(create_app(pg_app)) as client:
        answer = client.post("/v1/appointments", json=booking_body(clinic.slot, clinic.consult, 2),
                             headers={**admin, "Idempotency-Key": "new-1"})
        assert answer.status_code == 201
        assert [k for k, _ in _answers(client)] == ["new-1"]
        again = client.post("/v1/appointments", json=body,
                            headers={**admin, "Idempotency-Key": "old-1"})
        assert again.headers.get("idempotent-replayed") != "true"  # the old answer is gone
        assert again.json() != first.json()
