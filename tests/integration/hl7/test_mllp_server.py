"""The MLLP listener's framing and connections (a thread per connection, blocking sockets):
frames split or packed in TCP segments are answered in order, data without a start block is
skipped, a frame over the limit or a failing handler ends only its connection, a slow message
holds only its own connection, and closing the listener ends every open connection."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from connectors.hl7v2.mllp import END_BLOCK, START_BLOCK, MllpClient, frame
from tests.support.emr_sim import ServerThread


def echo(text: str) -> str:
    if text == "boom":
        raise RuntimeError("the handler failed")
    return f"ACK {text}"


@pytest.fixture
def server() -> Iterator[ServerThread]:
    running = ServerThread(echo, max_frame_bytes=1000)
    try:
        yield running
    finally:
        running.stop()


def read_frames(sock: socket.socket, count: int) -> list[str]:
    data = b""
    while data.count(END_BLOCK) < count:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return [part.lstrip(START_BLOCK).decode() for part in data.split(END_BLOCK) if part]


def test_frames_split_across_segments_or_packed_together_are_answered_in_order(
        server: ServerThread) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        whole = frame("one") + frame("two")
        for n in range(0, len(whole), 3):  # three bytes at a time: frames and END_BLOCK split
            sock.sendall(whole[n:n + 3])
        assert read_frames(sock, 2) == ["ACK one", "ACK two"]
        sock.sendall(b"noise without a start block" + END_BLOCK + frame("three") + frame("four"))
        assert read_frames(sock, 2) == ["ACK three", "ACK four"]


def test_a_frame_over_the_limit_or_a_failing_handler_ends_only_that_connection(
        server: ServerThread) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(START_BLOCK + b"x" * 5000)
        assert sock.recv(100) == b""  # closed, nothing answered
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(frame("boom"))
        assert sock.recv(100) == b""
    with server.client() as client:
        assert client.send("still here") == "ACK still here"


def test_a_slow_message_holds_only_its_own_connection() -> None:
    release = threading.Event()

    def handle(text: str) -> str:
        if text == "slow":
            release.wait(10)
        return f"ACK {text}"

    running = ServerThread(handle)
    answers: list[str] = []
    slow = threading.Thread(target=lambda: answers.append(running.client().send("slow")))
    try:
        slow.start()
        with running.client() as client:
            assert client.send("quick") == "ACK quick"
        assert answers == []
        release.set()
        slow.join(5)
        assert answers == ["ACK slow"]
    finally:
        release.set()
        running.stop()


def test_closing_the_listener_ends_open_connections() -> None:
    running = ServerThread(echo)
    client = MllpClient("127.0.0.1", running.port, timeout=5)
    assert client.send("before") == "ACK before"
    running.stop()
    sock = client._sock
    assert sock is not None
    assert sock.recv(100) == b""  # the server ended the idle connection
    client.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", running.port), timeout=2).close()
