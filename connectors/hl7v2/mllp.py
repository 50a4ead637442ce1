"""MLLP (minimal lower layer protocol): each message framed as 0x0B ... 0x1C 0x0D over TCP.

``MllpServer`` (asyncio) answers every framed message with the handler's reply (an ACK);
``MllpClient`` (blocking sockets) sends a message and reads its ACK. Both speak MLLP over TLS
when given an SSL context (``tls_server_context``: the listener's certificate and, for mutual
TLS, the CA its peers' certificates must chain to). A peer is checked in this order, and
refused (connection closed, nothing read) at the first failure: its address against the
allowlist, the TLS handshake (with its client certificate when a CA is configured), the
certificate's names against the allowed client names.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger("connectors.hl7v2.mllp")
START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\x0d"
MAX_FRAME_BYTES = 1_048_576


#: Longest TLS handshake a peer gets before the connection is closed.
TLS_HANDSHAKE_SECONDS = 10.0


class MllpError(Exception):
    """The peer could not be reached, closed the connection, or sent no framed answer."""


class TlsConfigError(ValueError):
    """The listener's TLS settings are incomplete or their files unusable."""


def tls_server_context(cert: str, key: str, client_ca: str = "") -> ssl.SSLContext | None:
    """The listener's TLS context from PEM files (None when ``cert`` and ``key`` are empty):
    TLS 1.2 or later; with ``client_ca`` every peer must present a certificate chaining to it."""
    if not cert and not key:
        if client_ca:
            raise TlsConfigError("HUB_MLLP_TLS_CLIENT_CA needs HUB_MLLP_TLS_CERT and "
                                 "HUB_MLLP_TLS_KEY (the listener's own certificate)")
        return None
    if not cert or not key:
        raise TlsConfigError("set both HUB_MLLP_TLS_CERT and HUB_MLLP_TLS_KEY (PEM files), or "
                             "neither")
    for name, path in (("HUB_MLLP_TLS_CERT", cert), ("HUB_MLLP_TLS_KEY", key),
                       ("HUB_MLLP_TLS_CLIENT_CA", client_ca)):
        if path and not Path(path).is_file():
            raise TlsConfigError(f"{name}: no readable file at {path}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
        if client_ca:
            context.load_verify_locations(cafile=client_ca)
            context.verify_mode = ssl.CERT_REQUIRED
    except (ssl.SSLError, OSError) as exc:
        raise TlsConfigError(f"the MLLP TLS certificate, key or client CA is unusable: "
                             f"{getattr(exc, 'reason', None) or exc}") from None
    return context


def certificate_names(peercert: dict[str, Any] | None) -> set[str]:
    """The common names and DNS names of a peer's (verified) certificate."""
    if not peercert:
        return set()
    names = {value for rdn in peercert.get("subject", ()) for key, value in rdn
             if key == "commonName"}
    names |= {value for kind, value in peercert.get("subjectAltName", ()) if kind == "DNS"}
    return {n.lower() for n in names}


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
    """Answers framed messages on ``host:port``; the handler runs in a worker thread."""

    def __init__(self, handle: Callable[[str], str], host: str = "127.0.0.1", port: int = 2575,
                 max_frame_bytes: int = MAX_FRAME_BYTES, allowed_peers: str = "",
                 tls: ssl.SSLContext | None = None, allowed_client_names: str = "") -> None:
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
        self._server: asyncio.Server | None = None

    async def start(self) -> tuple[str, int]:
        self._server = await asyncio.start_server(
            self._serve_client, self.host, self.port, limit=self.max_frame_bytes)
        host, port = self._server.sockets[0].getsockname()[:2]
        self.port = port
        log.info("mllp listening", host=host, port=port, tls=self.tls is not None,
                 mutual_tls=self.tls is not None and self.tls.verify_mode == ssl.CERT_REQUIRED)
        return host, port

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        assert self._server is not None  # noqa: S101 - for the type checker
        async with self._server:
            await self._server.serve_forever()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if not self.peer_allowed(peer):
            log.warning("mllp peer refused: not in HUB_MLLP_ALLOWED_PEERS", peer=str(peer[0]))
            writer.close()
            return
        if self.tls is not None and not await self._secured(writer, peer, self.tls):
            writer.close()
            return
        try:
            while True:
                try:
                    data = await reader.readuntil(END_BLOCK)
                except asyncio.IncompleteReadError:
                    return
                except asyncio.LimitOverrunError:
                    log.warning("mllp frame too large; closing", peer=str(peer))
                    return
                payload = unframe(data)
                if payload is None:
                    log.warning("mllp data without a start block ignored", peer=str(peer))
                    continue
                reply = await asyncio.to_thread(self.handle, decode(payload))
                writer.write(frame(reply))
                await writer.drain()
        except (ConnectionError, OSError) as exc:
            log.info("mllp connection lost", peer=str(peer), error=str(exc))
        finally:
            writer.close()


    async def _secured(self, writer: asyncio.StreamWriter, peer: Any,
                       context: ssl.SSLContext) -> bool:
        """The TLS handshake (with the client certificate under mutual TLS), then the
        certificate's names against the allowlist; False: refused, nothing was read."""
        try:
            await writer.start_tls(context, ssl_handshake_timeout=TLS_HANDSHAKE_SECONDS)
        except (ssl.SSLError, ConnectionError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", None) or type(exc).__name__
            log.warning("mllp peer refused: TLS handshake failed", peer=str(peer[0]),
                        reason=str(reason))
            return False
        if self.allowed_names:
            names = certificate_names(writer.get_extra_info("peercert"))
            if not names & self.allowed_names:
                log.warning("mllp peer refused: certificate not in HUB_MLLP_TLS_ALLOWED_CLIENTS",
                            peer=str(peer[0]), names=sorted(names))
                return False
        return True

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
