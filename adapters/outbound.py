"""Outbound HTTP(S) requests made on a caller's behalf, guarded against SSRF (SPEC T3).

Whoever gives the hub a URL to fetch (a booking portal's feed, an EMR's FHIR base) must not be
able to make it reach the hub's own network. ``OutboundClient``:

- accepts only ``http``/``https`` URLs without credentials, with a host name that encodes;
- resolves the host once, refuses when *any* of its addresses is loopback, private,
  link-local, shared (CGNAT), multicast or reserved (IPv4-mapped and 6to4 forms unwrapped),
  then connects to exactly the address it checked (no second resolution to rebind);
- when ``allowed_hosts`` is set, fetches only those hosts (``name`` or ``*.domain``); a
  private address is allowed only for a host listed by exact name, or with ``allow_private``;
- never follows a redirect, bounds the connection time, the whole request's time and the
  answer's size;
- answers every failure with the same generic words, so its errors cannot map which ports
  of a host are open.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aggregates.errors import DomainError, InvalidValue

Resolver = Callable[..., list[tuple[Any, ...]]]
MAX_URL_LENGTH = 2048
_CHUNK = 65536


class OutboundRefused(InvalidValue):
    """The URL is not one the hub fetches (scheme, credentials, host, network, redirect, size)."""

    code = "outbound_refused"


class OutboundUnreachable(DomainError):
    """The host gave no usable answer (said the same way whatever the cause)."""

    code = "outbound_unreachable"


@dataclass(frozen=True)
class OutboundPolicy:
    """What the hub may fetch: hosts, networks, time and size bounds."""

    allowed_hosts: frozenset[str] = frozenset()
    allow_private: bool = False
    connect_timeout: float = 3.0
    deadline: float = 20.0
    max_bytes: int = 10 * 1024 * 1024
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False)

    def host_listed(self, host: str) -> bool:
        return host in self.allowed_hosts

    def host_allowed(self, host: str) -> bool:
        if not self.allowed_hosts:
            return True
        return self.host_listed(host) or any(
            entry.startswith("*.") and host.endswith(entry[1:]) for entry in self.allowed_hosts
        )


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    path: str


def public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether an address is on the public internet (not ours, not a neighbour's)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is not None:
            return public_address(embedded)
    return address.is_global and not (address.is_multicast or address.is_reserved)


def parse_target(url: str) -> _Target:
    """Check a URL's shape (no network): scheme, credentials, host, port."""
    if not isinstance(url, str) or len(url) > MAX_URL_LENGTH:
        raise OutboundRefused(f"the URL must be text of at most {MAX_URL_LENGTH} characters",
                              field="url")
    if any(ord(c) < 0x21 or 0x7F <= ord(c) <= 0x9F for c in url):
        raise OutboundRefused("the URL contains spaces or control characters", field="url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise OutboundRefused("the URL is not a usable http(s) address", field="url") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise OutboundRefused("only http and https URLs are fetched", field="url")
    if parts.username is not None or parts.password is not None:
        raise OutboundRefused("credentials in the URL are not accepted", field="url")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise OutboundRefused("the URL has no host", field="url")
    try:
        ascii_host = host if host.isascii() else host.encode("idna").decode("ascii")
    except UnicodeError:
        raise OutboundRefused("the URL's host name is not a valid domain name", field="url") from None
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return _Target(scheme, ascii_host.lower(), port or (443 if scheme == "https" else 80), path)


class OutboundClient:
    """Makes one guarded request at a time; see the module docstring for the rules."""

    def __init__(self, policy: OutboundPolicy | None = None,
                 resolve: Resolver = socket.getaddrinfo) -> None:
        self.policy = policy or OutboundPolicy()
        self._resolve = resolve

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> bytes:
        """The body of a 2xx answer to ``GET url``; any other answer is ``OutboundUnreachable``."""
        answer = self.request("GET", url, headers=headers)
        if not 200 <= answer.status < 300:
            raise OutboundUnreachable(
                f"{parse_target(url).host} answered HTTP {answer.status}", status=answer.status)
        return answer.body

    def request(self, method: str, url: str, headers: Mapping[str, str] | None = None,
                body: bytes | None = None) -> Answer:
        target = parse_target(url)
        started = time.monotonic()
        addresses = self.vetted_addresses(target)
        last_host = target.host
        for address in addresses:
            remaining = self.policy.deadline - (time.monotonic() - started)
            if remaining <= 0:
                break
            try:
                return self._exchange(target, address, method, headers or {}, body, started)
            except OutboundRefused:
                raise
            except (OSError, http.client.HTTPException, ssl.SSLError):
                continue
        raise OutboundUnreachable(f"{last_host} gave no usable answer", host=last_host)

    def vetted_addresses(self, target: _Target) -> list[str]:
        """The host's addresses, all checked; refused when one is not public (unless allowed)."""
        if not self.policy.host_allowed(target.host):
            raise OutboundRefused(f"{target.host} is not among the hosts the hub may fetch",
                                  field="url")
        try:
            infos = self._resolve(target.host, target.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise OutboundUnreachable(f"{target.host} gave no usable answer",
                                      host=target.host) from None
        addresses = list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))
        private_ok = self.policy.allow_private or self.policy.host_listed(target.host)
        for text in addresses:
            if not private_ok and not public_address(ipaddress.ip_address(text)):
                raise OutboundRefused(
                    f"{target.host} is on a loopback, private or reserved network, which the hub "
                    "does not fetch", field="url")
        if not addresses:
            raise OutboundUnreachable(f"{target.host} gave no usable answer", host=target.host)
        return addresses

    def _exchange(self, target: _Target, address: str, method: str, headers: Mapping[str, str],
                  body: bytes | None, started: float) -> Answer:
        policy = self.policy
        connection = _pinned_connection(target, address, policy)
        remaining = policy.deadline - (time.monotonic() - started)
        expired = threading.Event()
        watchdog = threading.Timer(max(remaining, 0.0), _cut, args=(connection, expired))
        watchdog.daemon = True
        watchdog.start()
        try:
            connection.request(method, target.path, body=body,
                               headers={"Accept-Encoding": "identity", **headers})
            response = connection.getresponse()
            if 300 <= response.status < 400:
                raise OutboundRefused(
                    f"{target.host} answered with a redirect (HTTP {response.status}); redirects "
                    "are not followed: give the final address", field="url")
            chunks, size = [], 0
            while chunk := response.read(_CHUNK):
                size += len(chunk)
                if size > policy.max_bytes:
                    raise OutboundRefused(f"the answer of {target.host} is larger than "
                                          f"{policy.max_bytes} bytes", field="url")
                chunks.append(chunk)
            if expired.is_set():  # the socket was shut mid-answer: what was read is partial
                raise TimeoutError("deadline passed")
            answer_headers = {k.lower(): v for k, v in response.getheaders()}
            return Answer(response.status, answer_headers, b"".join(chunks))
        finally:
            watchdog.cancel()
            connection.close()


def _cut(connection: http.client.HTTPConnection, expired: threading.Event) -> None:
    """The deadline passed: wake any blocked read by shutting the socket."""
    expired.set()
    sock = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _pinned_connection(target: _Target, address: str,
                       policy: OutboundPolicy) -> http.client.HTTPConnection:
    """A connection to the vetted address, with the URL's host in ``Host`` and TLS SNI."""
    timeout = min(policy.connect_timeout, policy.deadline)

    def connect_plain(conn: http.client.HTTPConnection) -> socket.socket:
        sock = socket.create_connection((address, target.port), timeout=timeout)
        sock.settimeout(policy.deadline)
        return sock

    if target.scheme == "https":
        context = policy.ssl_context or ssl.create_default_context()

        class PinnedTLS(http.client.HTTPSConnection):
            def connect(self) -> None:
                self.sock = context.wrap_socket(connect_plain(self), server_hostname=target.host)

        return PinnedTLS(target.host, target.port, timeout=policy.deadline, context=context)

    class Pinned(http.client.HTTPConnection):
        def connect(self) -> None:
            self.sock = connect_plain(self)

    return Pinned(target.host, target.port, timeout=policy.deadline)
