"""The SSRF guard: no loopback/private targets, no redirects, bounded time and size, mute errors."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from adapters.outbound import (
    OutboundClient,
    OutboundPolicy,
    OutboundRefused,
    OutboundUnreachable,
    parse_target,
)


class Recorder(BaseHTTPRequestHandler):
    """Answers by path: /ok, /big, /redirect, /slow; records every request it gets."""

    seen: list[tuple[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        Recorder.seen.append((self.path, self.headers.get("Host", "")))
        if self.path == "/ok":
            self._answer(200, b'{"resourceType": "Bundle"}')
        elif self.path == "/big":
            self._answer(200, b"x" * 5000)
        elif self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:1/secret")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/slow":
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            try:
                for _ in range(50):  # a header line dripped one byte every 0.1 s
                    self.wfile.write(b"X")
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass  # the client hung up at its deadline
        else:
            self._answer(404, b"no")

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def server() -> Iterator[int]:
    Recorder.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def resolver(table: dict[str, list[str]]) -> Any:
    calls: list[str] = []

    def resolve(host: str, port: int, type: int = 0) -> list[tuple[Any, ...]]:  # noqa: A002
        calls.append(host)
        if host not in table:
            raise socket.gaierror("unknown host")
        family = socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port)) for address in table[host]]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


@pytest.mark.parametrize("url", [
    "ftp://example.org/feed", "file:///etc/passwd", "gopher://example.org/", "//example.org/x",
    "https://\u0095\u0010\u2603", "https://exa mple.org/", "http://user:pw@example.org/",
    "http://example.org:99999/", "http:///nohost", "https://" + "a" * 3000 + ".org/",
    "https://xn--.org/\u0000",
])
def test_unusable_urls_are_refused_before_any_network(url: str) -> None:
    client = OutboundClient(resolve=resolver({}))
    with pytest.raises(OutboundRefused) as refusal:
        client.get(url)
    assert refusal.value.code == "outbound_refused"
    assert client._resolve.calls == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("host", [
    "127.0.0.1", "localhost", "[::1]", "[::ffff:127.0.0.1]", "0.0.0.0", "2130706433",
    "169.254.169.254", "10.1.2.3", "192.168.0.10", "172.16.5.4", "100.64.0.1", "[fd00::1]",
    "[fe80::1]", "224.0.0.1", "[2002:7f00:1::]",
])
def test_loopback_private_and_link_local_targets_are_refused(server: int, host: str) -> None:
    with pytest.raises(OutboundRefused, match="loopback, private or reserved network"):
        OutboundClient().get(f"http://{host}:{server}/ok")
    assert Recorder.seen == []  # never reached


def test_a_public_name_that_resolves_to_loopback_is_refused(server: int) -> None:
    for addresses in (["127.0.0.1"], ["93.184.215.14", "127.0.0.1"]):
        client = OutboundClient(resolve=resolver({"feed.example.org": addresses}))
        with pytest.raises(OutboundRefused):
            client.get(f"http://feed.example.org:{server}/ok")
    assert Recorder.seen == []


def test_refusals_read_the_same_for_open_and_closed_ports(server: int) -> None:
    messages = set()
    for port in (server, closed_port(), 22):
        with pytest.raises(OutboundRefused) as refusal:
            OutboundClient().get(f"http://127.0.0.1:{port}/ok")
        messages.add(str(refusal.value))
    assert messages == {"127.0.0.1 is on a loopback, private or reserved network, which the hub "
                        "does not fetch"}


def test_failures_of_an_allowed_host_do_not_tell_open_from_closed_ports(server: int) -> None:
    silent = socket.socket()  # listens, never answers: reads time out
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    client = OutboundClient(OutboundPolicy(allow_private=True, deadline=0.5))
    messages = set()
    try:
        for port in (closed_port(), silent.getsockname()[1]):
            with pytest.raises(OutboundUnreachable) as failure:
                client.get(f"http://127.0.0.1:{port}/ok")
            messages.add(str(failure.value))
    finally:
        silent.close()
    assert messages == {"127.0.0.1 gave no usable answer"}


def test_allowed_private_target_is_fetched_and_pinned_to_the_checked_address(server: int) -> None:
    resolve = resolver({"emr.clinic.local": ["127.0.0.1"]})
    client = OutboundClient(OutboundPolicy(allowed_hosts=frozenset({"emr.clinic.local"})),
                            resolve=resolve)
    assert client.get(f"http://emr.clinic.local:{server}/ok") == b'{"resourceType": "Bundle"}'
    assert Recorder.seen == [("/ok", f"emr.clinic.local:{server}")]
    assert resolve.calls == ["emr.clinic.local"]  # resolved once, connected to that address


def test_hosts_outside_the_allowlist_are_refused() -> None:
    policy = OutboundPolicy(allowed_hosts=frozenset({"*.portal.example", "feeds.example.org"}))
    resolve = resolver({"a.portal.example": ["93.184.215.14"], "evil.example": ["93.184.215.14"]})
    client = OutboundClient(policy, resolve=resolve)
    with pytest.raises(OutboundRefused, match="not among the hosts"):
        client.get("https://evil.example/feed")
    assert client.vetted_addresses(parse_target("https://a.portal.example/x")) == ["93.184.215.14"]


def test_redirects_are_not_followed(server: int) -> None:
    client = OutboundClient(OutboundPolicy(allow_private=True))
    with pytest.raises(OutboundRefused, match="redirect"):
        client.get(f"http://127.0.0.1:{server}/redirect")
    assert [path for path, _ in Recorder.seen] == ["/redirect"]


def test_answers_are_bounded_in_size_and_time(server: int) -> None:
    client = OutboundClient(OutboundPolicy(allow_private=True, max_bytes=4096, deadline=1.0))
    with pytest.raises(OutboundRefused, match="larger than 4096 bytes"):
        client.get(f"http://127.0.0.1:{server}/big")
    started = time.monotonic()
    with pytest.raises(OutboundUnreachable):
        client.get(f"http://127.0.0.1:{server}/slow")
    assert time.monotonic() - started < 3.0  # the drip would take 5 s


def test_non_2xx_answers_are_unreachable_with_their_status(server: int) -> None:
    client = OutboundClient(OutboundPolicy(allow_private=True))
    with pytest.raises(OutboundUnreachable, match="answered HTTP 404"):
        client.get(f"http://127.0.0.1:{server}/missing")
