"""Staff users through the API: add (admin), enrol with the secret code, sign in."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count

from fastapi.testclient import TestClient

from adapters.passwords import Argon2Passwords
from tests.support.http import Headers, slot_body

PASSWORD = "correct horse battery staple"
#: Cheap Argon2id parameters: the tests hash many passwords on a shared machine.
FAST_PASSWORDS = Argon2Passwords(time_cost=1, memory_cost_kib=1024)
_serial = count(1)


@dataclass
class SignedIn:
    id: str
    email: str
    headers: Headers
    token: str


def add_user(client: TestClient, admin: Headers, roles: list[str],
             clinic_ids: list[str] | None = None, email: str | None = None) -> dict:
    email = email or f"staff{next(_serial)}@clinique.example"
    answer = client.post("/v1/users", headers=admin, json={
        "email": email, "title": "madame", "first_name": "Lorraine", "last_name": "Baines",
        "roles": roles, "clinic_ids": clinic_ids or []})
    assert answer.status_code == 201, answer.text
    return answer.json()


def signed_in(client: TestClient, admin: Headers, roles: list[str],
              clinic_ids: list[str] | None = None) -> SignedIn:
    """A new user with these roles, enrolled and signed in."""
    user = add_user(client, admin, roles, clinic_ids)
    enrolled = client.post("/v1/users/enroll", json={
        "email": user["email"], "secret_code": user["secret_code"], "password": PASSWORD})
    assert enrolled.status_code == 200, enrolled.text
    session = client.post("/v1/sessions", json={"email": user["email"], "password": PASSWORD})
    assert session.status_code == 201, session.text
    token = session.json()["token"]
    return SignedIn(user["id"], user["email"], {"Authorization": f"Bearer {token}"}, token)


def reserved_slot(client: TestClient, headers: Headers, clinic: object, reserved_for: str) -> str:
    """A slot of ``clinic`` (an ``HttpClinic``) kept for 811 or reorientation bookings."""
    body = {**slot_body(clinic.gp, [clinic.consult, clinic.desk]),  # type: ignore[attr-defined]
            "reserved_for": reserved_for}
    answer = client.post(f"/v1/clinics/{clinic.id}/slots", headers=headers, json=body)  # type: ignore[attr-defined]
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])
