"""``hub serve --workers 2``: connections spread evenly over the workers, a dead worker is
replaced, the read models are kept by a process of their own beside the workers (replaced
too), SIGTERM stops them all (``entrypoints.cli.workers``)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from adapters.leases import advisory_key
from adapters.sqlaccessstore import access_store_for
from bench.http_booking import set_up
from hub.access.tokens import issue
from tests.support.scheduling import free_port, make_app


def get_health(conn: socket.socket, port: int) -> int:
    conn.sendall(f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = conn.recv(4096)
        assert chunk, "the server closed the connection"
        head += chunk
    return int(head.split(b" ", 2)[1])


def children_of(supervisor: int) -> list[int]:
    """The supervisor's processes: its workers and its read-model process (not
    multiprocessing's resource tracker)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == supervisor and b"resource_tracker" not in cmdline:
            found.append(int(entry))
    return sorted(found)


def lease_holder(pg_schema_url: str, supervisor: int) -> int | None:
    """The supervisor's process whose PostgreSQL session holds the read models' lease."""
    schema = pg_schema_url.rsplit("schema=", 1)[1]
    key = advisory_key(f"hub-read-models:{schema}") & 0xFFFF_FFFF_FFFF_FFFF
    with psycopg.connect(pg_schema_url.split("?")[0]) as conn:
        ports = {port for (port,) in conn.execute(
            "SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = %s "
            "AND l.objid::bigint = %s", (key >> 32, key & 0xFFFF_FFFF))}
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) in ports and int(fields[2].split(":")[1], 16) == 5432:
            inodes.add(fields[9])
    holders = [pid for pid in children_of(supervisor) if inodes and held_by(pid, inodes)]
    assert len(holders) <= 1
    return holders[0] if holders else None


def workers_of(supervisor: int, pg_schema_url: str) -> list[int]:
    """The supervisor's worker processes: all but the one keeping the read models."""
    keeper = wait_for(lambda: lease_holder(pg_schema_url, supervisor), what="the read-model lease")
    return [pid for pid in children_of(supervisor) if pid != keeper]


def server_side_inodes(port: int, client_ports: set[int]) -> set[str]:
    """Socket inodes of the server's ends of the connections from ``client_ports``."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == port and int(remote.split(":")[1], 16) in client_ports:
            inodes.add(fields[9])
    return inodes


def held_by(pid: int, inodes: set[str]) -> int:
    held = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        held += target.startswith("socket:[") and target[8:-1] in inodes
    return held


def wait_for(check, seconds: float = 30.0, what: str = "condition"):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def served(tmp_path: Path, pg_schema_url: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``hub serve --workers 2`` on a fresh PostgreSQL schema (what several workers share)."""
    port = free_port()
    env = {**os.environ, "HUB_DATABASE_URL": pg_schema_url, "HUB_LOG_LEVEL": "WARNING"}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "entrypoints", "serve", "--port", str(port),
                                   "--workers", "2"], env=env, stdout=out, stderr=subprocess.STDOUT)

    def healthy() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
        except httpx.TransportError:
            assert server.poll() is None, log.read_text()
            return False

    try:
        wait_for(healthy, what="hub serve to answer")
        wait_for(lambda: len(children_of(server.pid)) == 3, what="two workers and the read models'")
        yield server, port
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
        print(log.read_text())  # shown when a test failed


def test_connections_are_spread_evenly_and_a_dead_worker_is_replaced(
        served: tuple[subprocess.Popen[bytes], int], pg_schema_url: str) -> None:
    server, port = served
    first, second = workers_of(server.pid, pg_schema_url)
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(8)]
    try:
        assert [get_health(c, port) for c in clients] == [200] * 8  # each served, kept alive
        inodes = server_side_inodes(port, {c.getsockname()[1] for c in clients})
        assert len(inodes) == 8
        assert (held_by(first, inodes), held_by(second, inodes)) == (4, 4)
        assert held_by(server.pid, inodes) == 0  # the supervisor keeps no copy
        survivors = [c for c in clients
                     if held_by(second, server_side_inodes(port, {c.getsockname()[1]}))]
        assert len(survivors) == 4

        os.kill(first, signal.SIGKILL)
        replaced = wait_for(lambda: len(w := workers_of(server.pid, pg_schema_url)) == 2
                            and first not in w and w, what="a new worker")
        assert second in replaced
        more = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
        clients += more
        assert [get_health(c, port) for c in more] == [200] * 4  # the new worker serves too
        assert [get_health(c, port) for c in survivors] == [200] * 4  # the survivor's still work
    finally:
        for c in clients:
            c.close()


def test_the_read_models_are_kept_beside_the_workers_and_their_process_is_replaced(
        served: tuple[subprocess.Popen[bytes], int], pg_schema_url: str) -> None:
    server, port = served
    app = make_app(pg_schema_url)
    _, secret = issue(access_store_for(app.recorder), "admin")
    keeper = wait_for(lambda: lease_holder(pg_schema_url, server.pid), what="the read-model lease")
    workers = workers_of(server.pid, pg_schema_url)
    assert keeper not in workers and len(workers) == 2  # no worker keeps them

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                      headers={"Authorization": f"Bearer {secret}"}) as client:
        def availability() -> list[str]:
            seen = client.get("/v1/availability", params={"min_position": app.head()})
            assert seen.status_code == 200, seen.text  # 503 when nothing follows the log
            return [item["slot_id"] for item in seen.json()["items"]]

        slots, _ = set_up(client, slots=2, capacity=1)
        assert sorted(availability()) == sorted(slots)

        os.kill(keeper, signal.SIGKILL)
        again = wait_for(lambda: (h := lease_holder(pg_schema_url, server.pid)) != keeper and h,
                         what="another read-model process")
        assert again not in workers and workers_of(server.pid, pg_schema_url) == workers
        more, _ = set_up(client, slots=1, capacity=1)
        assert sorted(availability()) == sorted(slots + more)
    app.close()


def test_sigterm_stops_the_supervisor_and_its_workers(
        served: tuple[subprocess.Popen[bytes], int]) -> None:
    server, port = served
    workers = children_of(server.pid)
    server.send_signal(signal.SIGTERM)
    assert server.wait(40) == 0
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2)


def test_one_worker_on_sqlite_reads_its_writes_kept_by_the_read_model_process(
        tmp_path: Path, sqlite_url: str) -> None:
    """The default store and the default server: one worker, and the read models kept beside
    it by a process of their own on the same SQLite file."""
    app = make_app(sqlite_url)
    _, secret = issue(access_store_for(app.recorder), "admin")
    port = free_port()
    env = {**os.environ, "HUB_DATABASE_URL": sqlite_url, "HUB_LOG_LEVEL": "WARNING"}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "entrypoints", "serve", "--port", str(port)],
                                  env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                          headers={"Authorization": f"Bearer {secret}"}) as client:
            def healthy() -> bool:
                try:
                    return client.get("/health").status_code == 200
                except httpx.TransportError:
                    assert server.poll() is None, log.read_text()
                    return False

            wait_for(healthy, what="hub serve to answer")
            assert len(children_of(server.pid)) == 2  # the worker and the read models' process
            slots, _ = set_up(client, slots=3, capacity=1)
            seen = client.get("/v1/availability", params={"min_position": app.head()})
            assert seen.status_code == 200, seen.text
            assert sorted(item["slot_id"] for item in seen.json()["items"]) == sorted(slots)
        server.send_signal(signal.SIGTERM)
        assert server.wait(40) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
        app.close()
        print(log.read_text())
