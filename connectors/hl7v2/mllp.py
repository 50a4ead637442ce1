"""MLLP (minimal lower layer protocol): each message framed as 0x0B ... 0x1C 0x0D over TCP.

``MllpServer`` (a thread per connection) answers every framed message with the handler's
reply (an ACK); ``MllpClient`` (blocking sockets) sends a message and reads its ACK. Both speak MLLP over TLS
when given an SSL context (``tls_server_context``: the listener's certificate and, for mutual
TLS, the CA its peers' certificates must chain to). A peer is checked in this order, and
refused (connection closed, nothing read) at the first failure: its address against the
allowlist, the TLS handshake (with its client certificate when a CA is configured), the
certificate's names against the allowed client names.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any

import structlog

from connectors.hl7v2.mllp_tls import TlsConfigError, certificate_names, tls_server_context

__all__ = ["MllpClient", "MllpError", "MllpServer", "TlsConfigError", "certificate_names",
           "decode", "frame", "tls_server_context", "unframe"]
log = structlog.get_logger("connectors.hl7v2.mllp")
START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\x0d"
MAX_FRAME_BYTES = 1_048_576


#: Longest TLS handshake a peer gets before the connection is closed.
TLS_HANDSHAKE_SECONDS = 10.0
#: Messages handled at once by one listener (the default of Python's thread pools).
DEFAULT_WORKERS = min(32, (os.cpu_count() or 1) + 4)
#: How often the accepting thread looks whether the listener was closed.
ACCEPT_POLL_SECONDS = 0.5


class MllpError(Exception):
    """The peer could not be reached, closed the connection, or sent no framed answer."""


def frame(text: str) -> bytes:
    return START_BLOCK + text.encode("utf-8") + END_BLOCK


def decode(payload: bytes) -> str:
    """UTF-8, else ISO-8859-1 (MSH-18 8859/1 is common among Quebec EMRs)."""
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload.decode("latin-1")


def unframe(data: bytes) -> bytes | None:
    """The payload between the start block and the end block, or None if no start block."""
    start = data.rfind(START_BLOCK)
    if start < 0:
        return None
    return data[start + 1 : -len(END_BLOCK)] if data.endswith(END_BLOCK) else data[start + 1 :]


class MllpServer:
    """Answers framed messages on ``host:port``: one thread per connection reads a frame,
    calls the handler and writes its reply on blocking sockets (no event loop between the
    socket and the handler: with an EMR waiting for each ACK, the hops of an asyncio stream and
    a thread pool cost a quarter of the process's CPU per message). At most ``workers``
    handlers run at once (as the thread pool did)."""

    def __init__(self, handle: Callable[[str], str], host: str = "127.0.0.1", port: int = 2575,
                 max_frame_bytes: int = MAX_FRAME_BYTES, allowed_peers: str = "",
                 tls: ssl.SSLContext | None = None, allowed_client_names: str = "",
                 workers: int = DEFAULT_WORKERS) -> None:
        """``allowed_peers``: comma-separated addresses or networks (CIDR) that may connect;
        empty: any (bind to a private interface then). ``tls``: speak MLLP over TLS only.
        ``allowed_client_names``: comma-separated names (certificate CN or DNS SAN) of the
        peers that may send, with mutual TLS; empty: any certificate the CA signed."""
        self.handle = handle
        self.host = host
        self.port = port
        self.max_frame_bytes = max_frame_bytes
        self.allowed = [ipaddress.ip_network(p.strip(), strict=False)
                        for p in allowed_peers.split(",") if p.strip()]
        self.tls = tls
        self.allowed_names = {n.strip().lower() for n in allowed_client_names.split(",")
                              if n.strip()}
        if self.allowed_names and (tls is None or tls.verify_mode != ssl.CERT_REQUIRED):
            raise TlsConfigError("HUB_MLLP_TLS_ALLOWED_CLIENTS needs mutual TLS "
                                 "(HUB_MLLP_TLS_CERT, HUB_MLLP_TLS_KEY and HUB_MLLP_TLS_CLIENT_CA)")
        self._handlers = threading.BoundedSemaphore(workers)
        self._listener: socket.socket | None = None
        self._accepting: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._stopped: asyncio.Event | None = None

    async def start(self) -> tuple[str, int]:
        family, _, _, _, address = socket.getaddrinfo(
            self.host or None, self.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        dual = family == socket.AF_INET6 and socket.has_dualstack_ipv6()
        listener = socket.create_server(address, family=family, dualstack_ipv6=dual)
        listener.settimeout(ACCEPT_POLL_SECONDS)  # close() is seen even where accept() is not woken
        self._listener = listener
        self._stopped = asyncio.Event()
        host, port = listener.getsockname()[:2]
        self.port = port
        self._accepting = threading.Thread(target=self._accept, args=(listener,), daemon=True,
                                           name=f"mllp-accept-{port}")
        self._accepting.start()
        log.info("mllp listening", host=host, port=port, tls=self.tls is not None,
                 mutual_tls=self.tls is not None and self.tls.verify_mode == ssl.CERT_REQUIRED)
        return host, port

    async def serve_forever(self) -> None:
        if self._listener is None:
            await self.start()
        assert self._stopped is not None  # noqa: S101 - for the type checker
        try:
            await self._stopped.wait()
        finally:
            self._shut()

    async def close(self) -> None:
        self._shut()
        if self._stopped is not None:
            self._stopped.set()
        if self._accepting is not None:
            await asyncio.to_thread(self._accepting.join, 5)

    def _shut(self) -> None:
        """Stop accepting and end every open connection (their threads then return)."""
        self._closed.set()
        with self._lock:
            open_sockets = [s for s in (self._listener, *self._connections) if s is not None]
        for sock in open_sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._listener is not None:
            self._listener.close()

    def _accept(self, listener: socket.socket) -> None:
        while not self._closed.is_set():
            try:
                conn, peer = listener.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                if self._closed.is_set():
                    return
                log.warning("mllp accept failed", error=str(exc))
                self._closed.wait(0.1)  # e.g. out of file descriptors: not a busy loop
                continue
            if not self.peer_allowed(peer):
                log.warning("mllp peer refused: not in HUB_MLLP_ALLOWED_PEERS", peer=str(peer[0]))
                conn.close()
                continue
            threading.Thread(target=self._serve_client, args=(conn, peer), daemon=True,
                             name=f"mllp-{peer[0]}:{peer[1]}").start()

    def _serve_client(self, conn: socket.socket, peer: Any) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._track(conn)
        try:
            if self.tls is not None:
                secured = self._secured(conn, peer, self.tls)
                if secured is None:
                    return
                conn = secured
                self._track(conn)
            self._exchange(conn, peer)
        except (ConnectionError, OSError) as exc:
            if not self._closed.is_set():
                log.info("mllp connection lost", peer=str(peer), error=str(exc))
        except Exception:  # noqa: BLE001 - a failing handler ends its connection, not the server
            log.exception("mllp handler failed; closing the connection", peer=str(peer))
        finally:
            with self._lock:
                self._connections.discard(conn)
            conn.close()

    def _track(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)
        if self._closed.is_set():  # closed meanwhile: end this one too
            conn.shutdown(socket.SHUT_RDWR)

    def _exchange(self, conn: socket.socket, peer: Any) -> None:
        """Answer each framed message in order until the peer closes the connection."""
        buffer = b""
        searched = 0
        while True:
            end = buffer.find(END_BLOCK, searched)
            if end < 0:
                if len(buffer) > self.max_frame_bytes:
                    log.warning("mllp frame too large; closing", peer=str(peer))
                    return
                chunk = conn.recv(65536)
                if not chunk:
                    return
                searched = max(0, len(buffer) - len(END_BLOCK) + 1)
                buffer += chunk
                continue
            data, buffer = buffer[:end + len(END_BLOCK)], buffer[end + len(END_BLOCK):]
            searched = 0
            payload = unframe(data)
            if payload is None:
                log.warning("mllp data without a start block ignored", peer=str(peer))
                continue
            with self._handlers:
                reply = self.handle(decode(payload))
            conn.sendall(frame(reply))

    def _secured(self, conn: socket.socket, peer: Any,
                 context: ssl.SSLContext) -> ssl.SSLSocket | None:
        """The TLS handshake (with the client certificate under mutual TLS), then the
        certificate's names against the allowlist; None: refused, nothing was read."""
        conn.settimeout(TLS_HANDSHAKE_SECONDS)
        try:
            secured = context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, ConnectionError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", None) or type(exc).__name__
            log.warning("mllp peer refused: TLS handshake failed", peer=str(peer[0]),
                        reason=str(reason))
            return None
        if self.allowed_names:
            names = certificate_names(secured.getpeercert())
            if not names & self.allowed_names:
                log.warning("mllp peer refused: certificate not in HUB_MLLP_TLS_ALLOWED_CLIENTS",
                            peer=str(peer[0]), names=sorted(names))
                secured.close()
                return None
        secured.settimeout(None)
        return secured

    def peer_allowed(self, peer: Any) -> bool:
        if not self.allowed:
            return True
        try:
            address = ipaddress.ip_address(str(peer[0]).split("%")[0])
        except (ValueError, TypeError, IndexError):
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return any(address in network for network in self.allowed)


class MllpClient:
    """Sends framed messages over one connection (reopened when lost) and reads the replies."""

    def __init__(self, host: str, port: int, timeout: float = 5.0,
                 tls: ssl.SSLContext | None = None, server_hostname: str | None = None) -> None:
        """``tls``: MLLP over TLS (with its client certificate loaded for mutual TLS);
        ``server_hostname``: the name the server's certificate must carry (default ``host``)."""
        self.host = host
        self.port = port
        self.timeout = timeout
        self.tls = tls
        self.server_hostname = server_hostname or host
        self._sock: socket.socket | None = None
        self._buffer = b""

    def send(self, text: str) -> str:
        """Send one message and return the peer's framed answer (an ACK)."""
        try:
            if self._sock is None:
                sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
                if self.tls is not None:
                    try:
                        sock = self.tls.wrap_socket(sock, server_hostname=self.server_hostname)
                    except OSError:
                        sock.close()
                        raise
                self._sock = sock
                self._buffer = b""
            self._sock.sendall(frame(text))
            while END_BLOCK not in self._buffer:
                chunk = self._sock.recv(65536)
                if not chunk:
                    raise MllpError(f"{self.host}:{self.port} closed the connection without an ACK")
                self._buffer += chunk
                if len(self._buffer) > MAX_FRAME_BYTES:
                    raise MllpError("answer larger than the MLLP frame limit")
        except (OSError, MllpError) as exc:
            self.close()
            raise MllpError(f"MLLP exchange with {self.host}:{self.port} failed: {exc}") from exc
        data, _, self._buffer = self._buffer.partition(END_BLOCK)
        payload = unframe(data + END_BLOCK)
        if payload is None:
            self.close()
            raise MllpError(f"{self.host}:{self.port} answered without an MLLP start block")
        return decode(payload)

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
                self._buffer = b""

    def __enter__(self) -> MllpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
