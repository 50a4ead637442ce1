"""MLLP (minimal lower layer protocol): each message framed as 0x0B ... 0x1C 0x0D over TCP.

``MllpServer`` (asyncio) answers every framed message with the handler's reply (an ACK);
``MllpClient`` (blocking sockets) sends a message and reads its ACK.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable
from typing import Any

import structlog

log = structlog.get_logger("connectors.hl7v2.mllp")
START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\x0d"
MAX_FRAME_BYTES = 1_048_576


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
    """Answers framed messages on ``host:port``; the handler runs in a worker thread."""

    def __init__(self, handle: Callable[[str], str], host: str = "127.0.0.1", port: int = 2575,
                 max_frame_bytes: int = MAX_FRAME_BYTES, allowed_peers: str = "") -> None:
        """``allowed_peers``: comma-separated addresses or networks (CIDR) that may connect;
        empty: any (bind to a private interface then)."""
        self.handle = handle
        self.host = host
        self.port = port
        self.max_frame_bytes = max_frame_bytes
        self.allowed = [ipaddress.ip_network(p.strip(), strict=False)
                        for p in allowed_peers.split(",") if p.strip()]
        self._server: asyncio.Server | None = None

    async def start(self) -> tuple[str, int]:
        self._server = await asyncio.start_server(
            self._serve_client, self.host, self.port, limit=self.max_frame_bytes)
        host, port = self._server.sockets[0].getsockname()[:2]
        self.port = port
        log.info("mllp listening", host=host, port=port)
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

    def __init__(self, host: str, port: int, timeout: float = 5.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._buffer = b""

    def send(self, text: str) -> str:
        """Send one message and return the peer's framed answer (an ACK)."""
        try:
            if self._sock is None:
                self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
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
