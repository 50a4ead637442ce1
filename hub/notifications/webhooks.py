"""Gateway webhooks' signatures: HMAC-SHA256 over ``"{timestamp}." + body`` with their own key
(``HUB_GATEWAY_WEBHOOK_SECRET``), accepted for 5 minutes around the stated time and once only:
a captured request cannot be replayed later, nor twice now (SPEC T3, docs/notifications.md)."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable

from aggregates.errors import DomainError

WINDOW_SECONDS = 300


class WebhookRefused(DomainError):
    """A webhook whose signature is missing, wrong, stale or already used."""

    code = "bad_signature"


class StaleWebhook(WebhookRefused):
    code = "stale_signature"


class ReplayedWebhook(WebhookRefused):
    code = "replayed_webhook"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Hub-Signature`` value of a webhook sent at ``timestamp`` (epoch seconds)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookGuard:
    """Checks one webhook; remembers accepted signatures for the window (in this process)."""

    def __init__(self, secret: str, window: float = WINDOW_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        self.secret = secret
        self.window = window
        self.clock = clock
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def check(self, timestamp: str | None, given: str | None, body: bytes) -> None:
        if not timestamp or not timestamp.isdigit() or not given:
            raise WebhookRefused("X-Hub-Timestamp (epoch seconds) and X-Hub-Signature "
                                 "(sha256=HMAC of timestamp.body) are required")
        if not hmac.compare_digest(given, signature(self.secret, timestamp, body)):
            raise WebhookRefused("X-Hub-Signature must be sha256=HMAC(timestamp + '.' + body) "
                                 "with the webhook secret")
        now = self.clock()
        if abs(now - int(timestamp)) > self.window:
            raise StaleWebhook(f"X-Hub-Timestamp is more than {int(self.window)} s from now")
        with self._lock:
            self._seen = {s: at for s, at in self._seen.items() if at > now - 2 * self.window}
            if given in self._seen:
                raise ReplayedWebhook("this webhook was already received")
            self._seen[given] = now
