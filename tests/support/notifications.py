"""Real message sinks for the notification tests: an aiosmtpd SMTP server and an HTTP gateway."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class SmtpSink:
    """What the local SMTP server received; ``refuse``: recipients answered 550, ``busy``: how
    many next messages get 451, ``stall``: seconds to wait before accepting DATA."""

    host: str = "127.0.0.1"
    port: int = 0
    received: list[EmailMessage] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    busy: int = 0
    stall: float = 0.0
    #: messages whose DATA arrived (counted before any stall)
    arrived: int = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.arrived += 1
        if self.busy > 0:
            self.busy -= 1
            return "451 4.3.0 try again later"
        if self.stall:
            await asyncio.sleep(self.stall)
        self.received.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.received if m["To"] == address]


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink(port=free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    yield sink
    controller.stop()


@dataclass
class Gateway:
    """A local SMS/voice gateway: records accepted messages, delivers each Idempotency-Key once."""

    url: str = ""
    delivered: list[dict[str, Any]] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    fail_next: int = 0
    refuse: set[str] = field(default_factory=set)
    stall: float = 0.0
    arrived: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to(self, address: str) -> list[dict[str, Any]]:
        return [m for m in self.delivered if m["to"] == address]


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    state = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except BrokenPipeError:
                pass  # the sender died while we stalled

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            key = self.headers.get("Idempotency-Key", "")
            if self.path != "/v1/messages" or not key:
                return self._answer(400, {"error": "POST /v1/messages with an Idempotency-Key"})
            state.arrived += 1
            if state.stall:
                time.sleep(state.stall)
            with state.lock:
                if state.fail_next > 0:
                    state.fail_next -= 1
                    return self._answer(503, {"error": "busy"})
                if body["to"] in state.refuse:
                    return self._answer(400, {"error": "not a mobile number"})
                if key in state.keys:
                    return self._answer(409, {"error": "duplicate", "id": key})
                state.keys.add(key)
                state.delivered.append({**body, "key": key})
            self._answer(202, {"id": key, "status": "queued"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
