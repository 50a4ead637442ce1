"""``POST /v1/hl7``'s common case answered before FastAPI's routing, dependencies and our
middlewares (the lane is the outermost of them; Starlette's error handling stays around it).

An EMR posting SIU waits for each ACK, so what the framework does per request is on its path:
routing, solving the route's dependency chain (the bearer scheme, the acting principal's
context, the role guard, the application), the five middlewares and the response object cost
more of the process's CPU than the message itself. The lane answers a request only when all of
this holds, read from the request's head without I/O:

- ``POST /v1/hl7`` with a ``Content-Length`` within ``HUB_API_MAX_BODY_BYTES`` and no
  ``Idempotency-Key`` (that middleware's replay stays with the route);
- a bearer API token this server remembers (``ApiServices.remembered``: heard of every change)
  whose role is ``emr`` or ``admin``;
- no dependency overridden (tests), the API's services started.

It then does what the route does (``routes/hl7.receive_hl7``): the body decoded, the shared
``Hl7Inbox`` on a command thread (``entrypoints.api.commands``) acting as the token, the ACK
as ``text/plain; charset=utf-8``.
Everything else (401, 403, 413, unknown or session tokens, idempotent posts) goes through the
whole application unchanged. Nothing on this route discloses personal data (no read trail), and
``Hl7Inbox.receive`` never raises: every outcome is an ACK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Receive, Scope, Send

from connectors.hl7v2.inbound import Hl7Inbox
from connectors.hl7v2.mllp import decode
from hub.access.tokens import Principal, Role
from hub.actor import acting_as

if TYPE_CHECKING:
    from entrypoints.api.services import ApiServices
    from hub.scheduling.service import Scheduling

PATH = "/v1/hl7"
ROLES = frozenset({Role.EMR, Role.ADMIN})
CONTENT_TYPE = b"text/plain; charset=utf-8"


class Hl7Lane:
    """ASGI middleware: the lane for ``POST /v1/hl7`` in front of the other middlewares."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        #: Requests the lane answered itself (the others went on to ``app``).
        self.answered = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal, services = (self._taken(scope) if scope["type"] == "http"
                               and scope["path"] == PATH else (None, None))
        if principal is None or services is None:
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        inbox = inbox_for(scope["app"].state, services.scheduling)
        ack: str = await services.commands.run(_receive_as, inbox, decode(body), principal)
        answer = ack.encode("utf-8")
        self.answered += 1
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-length", str(len(answer)).encode("latin-1")),
            (b"content-type", CONTENT_TYPE)]})
        await send({"type": "http.response.body", "body": answer})

    def _taken(self, scope: Scope) -> tuple[Principal | None, ApiServices | None]:
        """(principal, services) when the lane answers this request, else (None, None)."""
        owner = scope["app"]  # the FastAPI application
        services: ApiServices | None = getattr(owner.state, "services", None)
        if (scope["method"] != "POST" or services is None or owner.dependency_overrides
                or scope.get("root_path")):
            return None, None
        length = authorization = b""
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"authorization":
                authorization = value
            elif name in (b"idempotency-key", b"transfer-encoding"):
                return None, None
        if not length.isdigit() or int(length) > services.settings.api_max_body_bytes:
            return None, None
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None, None
        principal = services.remembered(token)
        if principal is None or principal.role not in ROLES:
            return None, None
        return principal, services


def _receive_as(inbox: Hl7Inbox, text: str, principal: Principal) -> str:
    with acting_as(principal.actor):
        return inbox.receive(text, "http", principal.acts_for)


def inbox_for(state: Any, scheduling: Scheduling) -> Hl7Inbox:
    """One inbox per application (its vendor profiles are parsed once, not per message)."""
    inbox: Hl7Inbox | None = getattr(state, "hl7_inbox", None)
    if inbox is None or inbox.app is not scheduling:
        inbox = Hl7Inbox(scheduling, state.services.settings.timezone)
        state.hl7_inbox = inbox
    return inbox
