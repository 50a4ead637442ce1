"""API tokens expire and rotate (#17): an expired token answers 401 ``token_expired`` and writes
nothing; rotation gives a new secret and keeps the old one only for its grace period; tokens
made before expiry existed still work and are flagged. Real app on PostgreSQL; the command line
on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from adapters.sqlaccessstore import access_store_for
from hub.access.tokens import authenticate, hash_secret, issue, parse_duration
from tests.support.http import clinic_body
from tests.support.scheduling import make_app


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _dump(client) -> list[Any]:
    """Every row of the tokens and idempotency tables."""
    access = client.app.state.services.access
    rows: list[Any] = []
    with access.datastore.transaction(commit=False) as cursor:
        for table in (access.tokens_table, access.answers_table):
            cursor.execute(f"SELECT * FROM {table} ORDER BY 1")
            rows += [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in cursor.fetchall()]
    return rows


def test_an_expired_token_is_refused_with_token_expired_and_writes_nothing(client) -> None:
    access = client.app.state.services.access
    scheduling = client.app.state.services.scheduling
    long_ago = datetime.now(UTC) - timedelta(days=91)
    _, old = issue(access, "admin", now=long_ago)  # 90 days by default: expired yesterday
    _, fresh = issue(access, "admin", expires_in=timedelta(days=1))
    head, tables = scheduling.head(), _dump(client)
    for headers in (_bearer(old), {**_bearer(old), "Idempotency-Key": "k-expired-1"}):
        answer = client.post("/v1/clinics", json=clinic_body(), headers=headers)
        assert answer.status_code == 401, answer.text
        error = answer.json()["error"]
        assert error["code"] == "token_expired" and "expired at" in error["message"]
        assert error["details"]["expired_at"].startswith((long_ago + timedelta(days=90)).date().isoformat())
        assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/v1/clinics", headers=_bearer(old)).json()["error"]["code"] == "token_expired"
    assert scheduling.head() == head and _dump(client) == tables, "a refused token wrote something"
    # an unknown token is still just unauthenticated (no hint that a secret ever existed)
    unknown = client.get("/v1/clinics", headers=_bearer("hub_" + "x" * 43))
    assert unknown.json()["error"]["code"] == "unauthenticated"
    assert client.post("/v1/clinics", json=clinic_body(), headers=_bearer(fresh)).status_code == 201


def test_a_token_rotates_itself_and_the_old_secret_lasts_only_the_grace(client, admin) -> None:
    access = client.app.state.services.access
    scheduling = client.app.state.services.scheduling
    clinic = client.post("/v1/clinics", json=clinic_body(), headers=admin).json()["id"]
    emr, old = issue(access, "emr", [UUID(clinic)])
    answer = client.post(f"/v1/tokens/{emr.subject}/rotate", json={"grace_minutes": 30},
                         headers={**_bearer(old), "Idempotency-Key": "rotate-1"})
    assert answer.status_code == 200, answer.text
    rotated = answer.json()
    new = rotated["token"]
    assert rotated["subject"] != emr.subject and rotated["previous"]["state"] == "rotated"
    assert rotated["previous"]["rotated_to"] == rotated["subject"]
    grace_end = datetime.fromisoformat(rotated["previous"]["expires_at"])
    assert timedelta(minutes=29) < grace_end - datetime.now(UTC) <= timedelta(minutes=30)
    assert datetime.fromisoformat(rotated["expires_at"]) - datetime.now(UTC) > timedelta(days=89)
    # same role and clinics; both secrets work during the grace period
    assert client.get(f"/v1/clinics/{clinic}", headers=_bearer(new)).status_code == 200
    assert client.get(f"/v1/clinics/{clinic}", headers=_bearer(old)).status_code == 200
    assert authenticate(access, new).clinic_ids == emr.clinic_ids
    # the answer held a secret: it was not kept for Idempotency-Key replays
    assert new not in repr(_dump(client)) and hash_secret(new) in repr(_dump(client))
    # after the grace period the old secret is refused
    assert authenticate(access, old, now=grace_end + timedelta(seconds=1)) is None
    # rotating it again, or another token's, is refused and writes nothing
    other, _ = issue(access, "ops")
    head, tables = scheduling.head(), _dump(client)
    again = client.post(f"/v1/tokens/{emr.subject}/rotate", headers=_bearer(old))
    assert again.status_code == 409 and "already rotated" in again.json()["error"]["message"]
    theirs = client.post(f"/v1/tokens/{other.subject}/rotate", headers=_bearer(new))
    assert theirs.status_code == 403
    bad = client.post(f"/v1/tokens/{rotated['subject']}/rotate", json={"grace_minutes": -1},
                      headers=_bearer(new))
    assert bad.status_code == 422
    assert scheduling.head() == head and _dump(client) == tables


def test_an_admin_rotates_with_no_grace_and_lists_expiry(client, admin) -> None:
    access = client.app.state.services.access
    ops, secret = issue(access, "ops")
    answer = client.post(f"/v1/tokens/{ops.subject}/rotate", json={"grace_minutes": 0},
                         headers=admin)
    assert answer.status_code == 200, answer.text
    refused = client.get("/v1/events", headers=_bearer(secret))
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "token_expired"
    assert client.get("/v1/events", headers=_bearer(answer.json()["token"])).status_code == 200
    listed = {t["subject"]: t for t in client.get("/v1/tokens", headers=admin).json()["items"]}
    assert listed[ops.subject]["state"] == "expired"
    assert listed[answer.json()["subject"]]["state"] == "live"
    assert all(t["expires_at"] for t in listed.values())
    assert secret not in repr(listed) and answer.json()["token"] not in repr(listed)
    assert client.get("/v1/tokens", headers=_bearer(answer.json()["token"])).status_code == 403
    missing = client.post("/v1/tokens/tok_0123456789abcdef/rotate", headers=admin)
    assert missing.status_code == 404


def _hub(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HUB_DATABASE_URL": url, "HUB_LOG_FORMAT": "json"}
    return subprocess.run([sys.executable, "-m", "entrypoints", *args], capture_output=True,
                          text=True, env=env, timeout=120, check=False)


def test_cli_creates_with_expiry_rotates_and_lists(store_url: str) -> None:
    created = _hub("tokens", "create", "--role", "ops", "--expires-in", "12h", url=store_url)
    assert created.returncode == 0, created.stderr
    old = created.stdout.strip().splitlines()[-1]
    assert "expires " in created.stdout
    scheduling = make_app(store_url)
    try:
        access = access_store_for(scheduling.recorder)
        principal = authenticate(access, old)
        assert principal is not None
        record = access.token_of(principal.subject)
        lifetime = datetime.fromisoformat(record.expires_at) - datetime.fromisoformat(record.created_at)
        assert lifetime == timedelta(hours=12)
        before = access.tokens()
        for bad in (("--expires-in", "soon"), ("--expires-in", "0d"), ("--expires-in", "900d")):
            refused = _hub("tokens", "create", "--role", "ops", *bad, url=store_url)
            assert refused.returncode != 0 and "Traceback" not in refused.stderr, refused.stderr
            assert "expires" in refused.stderr or "duration" in refused.stderr, refused.stderr
        assert access.tokens() == before, "a refused create wrote a token"

        rotated = _hub("tokens", "rotate", principal.subject, "--grace", "0m", url=store_url)
        assert rotated.returncode == 0, rotated.stderr
        new = rotated.stdout.strip().splitlines()[-1]
        assert authenticate(access, old) is None and authenticate(access, new) is not None
        again = _hub("tokens", "rotate", principal.subject, url=store_url)
        assert again.returncode != 0 and "already rotated" in again.stderr
        listing = _hub("tokens", "list", url=store_url)
        assert listing.returncode == 0, listing.stderr
        line = next(x for x in listing.stdout.splitlines() if x.startswith(principal.subject))
        assert "rotated to tok_" in line
        assert old not in listing.stdout and new not in listing.stdout
    finally:
        scheduling.close()


def test_tokens_made_before_expiry_still_work_and_are_flagged(tmp_path) -> None:
    """A database from before expiry: the tokens table gains its columns in place, the old
    token keeps working (no expiry) and ``hub tokens list`` says to rotate it."""
    path = tmp_path / "hub.db"
    url = f"sqlite:///{path}"
    secret = "hub_legacy-token-made-before-expiry-existed-0001"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE hub_api_tokens (token_hash TEXT PRIMARY KEY, "
                   "subject TEXT NOT NULL UNIQUE, role TEXT NOT NULL, clinic_ids TEXT NOT NULL, "
                   "created_at TEXT NOT NULL, revoked_at TEXT)")
        db.execute("INSERT INTO hub_api_tokens VALUES (?, 'tok_00000000000000aa', 'ops', '[]', "
                   "'2025-01-01T00:00:00+00:00', NULL)", (hash_secret(secret),))
    scheduling = make_app(url)
    try:
        access = access_store_for(scheduling.recorder)
        principal = authenticate(access, secret)
        assert principal is not None and principal.subject == "tok_00000000000000aa"
        assert access.token_of(principal.subject).expires_at is None
    finally:
        scheduling.close()
    listing = _hub("tokens", "list", url=url)
    assert listing.returncode == 0, listing.stderr
    assert "tok_00000000000000aa" in listing.stdout and "NO EXPIRY" in listing.stdout
    rotated = _hub("tokens", "rotate", "tok_00000000000000aa", "--grace", "5m", url=url)
    assert rotated.returncode == 0, rotated.stderr
    scheduling = make_app(url)
    try:
        record = access_store_for(scheduling.recorder).token_of("tok_00000000000000aa")
        assert record.expires_at is not None and record.rotated_to is not None
    finally:
        scheduling.close()


@pytest.mark.parametrize("text, expected", [("90d", timedelta(days=90)), ("12h", timedelta(hours=12)),
                                            ("30m", timedelta(minutes=30)), ("7", timedelta(days=7))])
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
