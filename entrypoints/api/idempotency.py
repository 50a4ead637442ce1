"""``Idempotency-Key`` on POST: the same key and body replay the first answer, writing nothing;
the same key with another body is refused (422). Keys are per token subject and kept in the
access store beside the tokens. A key is claimed before the request runs, so two concurrent
requests with one key never both write (the second gets 409 ``idempotency_in_progress``).

Kept answers may copy personal data: they are kept ``KEEP_ANSWERS`` (24 h) only, never for the
read-only POSTs (``/v1/patients/search``: nothing to replay safely), and an erasure deletes
those that mention the patient (docs/privacy.md).
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated

from anyio import to_thread
from fastapi import Header
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.accessstore import IdempotentAnswer
from adapters.sqlaccessstore import AccessStore
from entrypoints.api.errors import error_response

MAX_KEY = 200
#: Answers larger than this are not kept (the key is released instead).
MAX_STORED_BODY = 1_048_576
#: How long an answer is kept for replays.
KEEP_ANSWERS = timedelta(hours=24)
#: POSTs that only read: the key is not kept (their answers would copy personal data).
READ_ONLY_POSTS = frozenset({"/v1/patients/search"})
#: POSTs whose answer holds a new secret (token rotation): never kept in the access store.
SECRET_POST_PREFIXES = ("/v1/tokens/",)
_PURGE_EVERY = 600.0

IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=MAX_KEY,
    description="retry-safe key: the same key and body replay the first answer and write "
    "nothing; the same key with another body gets 422 `idempotency_key_reused`",
    examples=["9b2f4c1e-booking-42"],
)]


class Idempotency:
    """ASGI middleware applying ``Idempotency-Key`` to every POST of the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._purged_at = float("-inf")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] != "POST"
                or scope["path"] in READ_ONLY_POSTS
                or scope["path"].startswith(SECRET_POST_PREFIXES)):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        raw_key = headers.get(b"idempotency-key")
        scheme, _, secret = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if raw_key is None or scheme.lower() != "bearer":
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1").strip()
        if not 1 <= len(key) <= MAX_KEY:
            await error_response(422, "validation_error",
                                 f"Idempotency-Key must have 1 to {MAX_KEY} characters")(
                scope, receive, send)
            return
        services = scope["app"].state.services
        access = services.access
        if time.monotonic() - self._purged_at > _PURGE_EVERY:
            self._purged_at = time.monotonic()
            cutoff = (datetime.now(UTC) - KEEP_ANSWERS).isoformat()
            await to_thread.run_sync(access.purge_answers_before, cutoff)
        principal = await to_thread.run_sync(services.authenticate, secret.strip())
        if principal is None:  # the app answers 401
            await self.app(scope, receive, send)
            return
        try:
            body = await _read_body(receive)
        except StarletteHTTPException as exc:
            await error_response(exc.status_code, "payload_too_large", str(exc.detail))(
                scope, receive, send)
            return
        request_hash = hashlib.sha256(
            b"%s %s?%s\n%s" % (scope["method"].encode(), scope["path"].encode(),
                               scope.get("query_string", b""), body)
        ).hexdigest()
        claimed, earlier = await to_thread.run_sync(access.claim, principal.subject, key,
                                                    request_hash)
        if not claimed:
            await _answer_earlier(earlier, request_hash, scope, receive, send)
            return
        await self._run_and_keep(scope, body, send, access, principal.subject, key)

    async def _run_and_keep(self, scope: Scope, body: bytes, send: Send, access: AccessStore,
                            subject: str, key: str) -> None:
        status = 0
        chunks: list[bytes] = []
        size = 0
        sent = False

        async def replay_body() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        async def keep(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                size += len(chunk)
                if size <= MAX_STORED_BODY:
                    chunks.append(chunk)
            await send(message)

        kept = False
        try:
            await self.app(scope, replay_body, keep)
            if 0 < status < 500 and status not in (401, 403, 429) and size <= MAX_STORED_BODY:
                text = b"".join(chunks).decode("utf-8", "replace")
                await to_thread.run_sync(access.complete, subject, key, status, text)
                kept = True
        finally:
            if not kept:
                await to_thread.run_sync(access.release, subject, key)


async def _read_body(receive: Receive) -> bytes:
    parts = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(parts)


async def _answer_earlier(earlier: IdempotentAnswer, request_hash: str, scope: Scope, receive: Receive,
                          send: Send) -> None:
    response: Response
    if earlier.request_hash != request_hash:
        response = error_response(
            422, "idempotency_key_reused",
            "this Idempotency-Key was used with another request body; use a new key")
    elif earlier.status == 0:
        response = error_response(
            409, "idempotency_in_progress",
            "a request with this Idempotency-Key is still running; retry shortly",
            headers={"Retry-After": "1"})
    else:
        response = Response(earlier.body, status_code=earlier.status,
                            media_type="application/json",
                            headers={"Idempotent-Replayed": "true"})
    await response(scope, receive, send)
