"""A lost database answers 503 ``store_unavailable`` within the connect timeout, never a hang
(SPEC T3). PostgreSQL is reached through a TCP relay the test cuts."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from fastapi.testclient import TestClient

from entrypoints.api.app import create_app
from hub.access.tokens import issue
from tests.support.scheduling import make_app


class Cable:
    """Forwards TCP connections to ``target`` until cut."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass

    def cut(self) -> None:
        self.listener.close()
        for sock in self.sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


@pytest.fixture
def cable(pg_schema_url: str) -> Iterator[tuple[Cable, str]]:
    parts = urlsplit(pg_schema_url)
    relay = Cable((parts.hostname or "127.0.0.1", parts.port or 5432))
    netloc = f"{parts.username or 'postgres'}@127.0.0.1:{relay.port}"
    yield relay, urlunsplit(parts._replace(netloc=netloc))
    relay.cut()


def test_requests_fail_fast_with_503_when_the_database_is_lost(cable: tuple[Cable, str]) -> None:
    relay, url = cable
    app = make_app(url, db_connect_timeout_seconds=2, projections_in_server=False)
    try:
        with TestClient(create_app(app)) as client:
            _, secret = issue(client.app.state.services.access, "admin")
            headers = {"Authorization": f"Bearer {secret}"}
            missing = "/v1/appointments/00000000-0000-0000-0000-000000000001"
            assert client.get(missing, headers=headers).status_code == 404
            relay.cut()
            started = time.monotonic()
            answer = client.get(missing, headers=headers)
            elapsed = time.monotonic() - started
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"]["code"] == "store_unavailable"
            assert answer.headers["Retry-After"] == "1"
            assert elapsed < 8, f"a lost database held the request {elapsed:.1f} s"
    finally:
        app.close()
