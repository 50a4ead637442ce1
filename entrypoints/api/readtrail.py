"""The PHI read trail (Loi 25): every answer that shows a patient's personal data leaves a
record of who read it, when, which patient and through which route.

Each HTTP request (API and console) runs in a ``disclosing()`` context; the visibility rule
(``hub.access.visibility.Viewer``) notes in it the patients whose data it lets through. When the
answer is a success, the trail (``hub_phi_reads``, ``GET /v1/phi-reads``) is written *before*
the answer's first byte leaves; if it cannot be written, the caller gets 503 and sees nothing.
A refused request (4xx) showed nothing and leaves no record.
"""

from __future__ import annotations

import structlog
from anyio import to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from entrypoints.api.errors import error_response
from hub.access.visibility import disclosing

log = structlog.get_logger("entrypoints.api.readtrail")


class ReadTrail:
    """ASGI middleware writing the request's disclosures to the trail before it answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with disclosing() as disclosure:
            withheld = False

            async def send_after_trail(message: Message) -> None:
                nonlocal withheld
                if withheld:
                    return
                if (message["type"] == "http.response.start" and disclosure.patient_ids
                        and 200 <= message["status"] < 300):
                    what = f"{scope['method']} {scope['path']}"
                    trail = scope["app"].state.services.phi_reads
                    try:
                        await to_thread.run_sync(trail.record_many, disclosure.reader,
                                                 disclosure.role, sorted(disclosure.patient_ids),
                                                 what)
                    except Exception as exc:  # noqa: BLE001 - no trail, no answer
                        withheld = True
                        log.warning("read trail not written: answer withheld",
                                    route=scope["path"], error=type(exc).__name__)
                        await error_response(
                            503, "read_trail_unavailable", "the read could not be recorded; "
                            "retry shortly", headers={"Retry-After": "1"})(scope, receive, send)
                        return
                await send(message)

            await self.app(scope, receive, send_after_trail)
