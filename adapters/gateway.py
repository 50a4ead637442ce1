"""SMS and voice calls through an HTTP gateway (JSON; protocol in docs/notifications.md).

``POST {url}/v1/messages`` with ``Idempotency-Key: <notification id>`` and a JSON body
``{"id", "channel": "sms"|"voice", "to", "text", "language", "digits"}``. 2xx = accepted;
409 = that key was already accepted (treated as sent); other 4xx = refused for good;
5xx or no answer = try again later. The gateway delivers a key once, so retries are safe.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import structlog

from adapters.channels import DeliveryFailed, Outgoing
from adapters.redaction import redact_text

log = structlog.get_logger("adapters.gateway")


class GatewayChannel:
    """SMS (``sms``) or phone calls (``phone`` → ``voice``) through the gateway."""

    idempotent = True

    def __init__(self, url: str, token: str = "", timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def payload(self, message: Outgoing) -> dict[str, object]:
        voice = message.channel == "phone"
        body: dict[str, object] = {
            "id": str(message.key), "channel": "voice" if voice else "sms", "to": message.address,
            "text": message.text, "language": f"{message.language}-CA",
        }
        if voice:
            body["digits"] = "1"  # the call offers "press 1 to confirm" (reported by webhook)
        return body

    def send(self, message: Outgoing) -> None:
        data = json.dumps(self.payload(message), ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(
            f"{self.url}/v1/messages", data=data, method="POST",
            headers={"Content-Type": "application/json", "Idempotency-Key": str(message.key),
                     **({"Authorization": f"Bearer {self.token}"} if self.token else {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 409:
                log.info("gateway already had this message", notification_id=str(message.key))
                return
            detail = redact_text(exc.read()[:200].decode("utf-8", "replace"))
            raise DeliveryFailed(f"gateway answered {exc.code}: {detail}",
                                 permanent=400 <= exc.code < 500 and exc.code not in (408, 429)) from None
        except (urllib.error.URLError, OSError) as exc:
            raise DeliveryFailed(f"gateway {self.url} unavailable: {exc}") from None
        log.info("gateway accepted message", notification_id=str(message.key), channel=message.channel)
