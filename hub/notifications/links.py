"""Signed, expiring links for the e-mails' confirm and cancel buttons (N3).

A token is ``base64url(JSON payload) "." base64url(HMAC-SHA256(secret, payload))``; the payload
names the action, the appointment, the notification that carried it and an expiry (epoch s).
Nothing is stored: the signature is the proof, the expiry bounds it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from aggregates.errors import DomainError

ACTIONS = ("confirm", "cancel")


class InvalidLink(DomainError):
    """The link was altered, is not one of ours, or was signed with another key."""

    code = "invalid_link"


class LinkExpired(DomainError):
    code = "link_expired"


@dataclass(frozen=True)
class LinkClaim:
    action: str
    appointment_id: UUID
    notification_id: UUID
    expires: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: str, action: str, appointment_id: UUID, notification_id: UUID, expires: datetime) -> str:
    if not secret:
        raise ValueError("links need a secret (HUB_LINK_SECRET)")
    if action not in ACTIONS:
        raise ValueError(f"unknown link action {action!r}")
    payload = json.dumps({"a": action, "ap": str(appointment_id), "n": str(notification_id),
                          "exp": int(expires.timestamp())}, separators=(",", ":")).encode()
    mac = hmac.new(secret.encode(), payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(mac)}"


def verify(secret: str, token: str, now: datetime) -> LinkClaim:
    """The link's claim, or ``InvalidLink``/``LinkExpired`` with a message for the patient."""
    try:
        encoded, signature = token.split(".", 1)
        payload = _unb64(encoded)
        given = _unb64(signature)
    except (ValueError, TypeError):
        raise InvalidLink("this link is not valid; use the link in your e-mail as is") from None
    expected = hmac.new(secret.encode(), payload, hashlib.sha256).digest()
    if not secret or not hmac.compare_digest(given, expected):
        raise InvalidLink("this link is not valid; use the link in your e-mail as is")
    try:
        data = json.loads(payload)
        claim = LinkClaim(data["a"], UUID(data["ap"]), UUID(data["n"]),
                          datetime.fromtimestamp(int(data["exp"]), UTC))
    except (ValueError, KeyError, TypeError):
        raise InvalidLink("this link is not valid; use the link in your e-mail as is") from None
    if claim.action not in ACTIONS:
        raise InvalidLink("this link is not valid; use the link in your e-mail as is")
    if now >= claim.expires:
        raise LinkExpired("this link has expired; please contact the clinic",
                          expired_at=claim.expires.isoformat())
    return claim
