"""SIU S12 ingest as an EMR sees it: a real ``hub mllp`` and a real ``hub serve`` on PostgreSQL,
one client waiting for each ACK, beside pgbench and the library's raw saves in the same run.

    python -m bench.siu_ingest [--messages 2000] [--transports mllp,http] [--pg URL]
                               [--stored-appointments 0] [--pgbench-seconds 10]
                               [--projections in-server|separate]

In one run, on one PostgreSQL server: ``pgbench -N -c 8 -j 2`` TPS and the library's raw
one-event saves on one connection (the baselines); then a fresh schema with a clinic and its
registered sender (and, with ``--stored-appointments N``, a history of about N appointments
written in bulk first: the rate must not depend on the store's size). For each transport, a
process of the hub (``hub mllp`` for MLLP, ``hub serve`` for ``POST /v1/hl7``) receives
``--messages`` distinct S12 (one new patient each) from one client that waits for each ACK;
every ACK must be AA. Then the same messages again (resends: the first ACK replayed, nothing
applied). Prints msg/s, p50/p99, the resend rate, the ratios to both baselines, the CPU per
message of the hub, PostgreSQL and this client, the load.

The HTTP client is a plain keep-alive HTTP/1.1 socket (``KeepAlive``), not httpx: with one
client waiting for each answer the client's own CPU is on the measured path (httpx spent about
1 ms per request). ``--projections separate``: ``hub serve`` with
``HUB_PROJECTIONS_IN_SERVER=false`` and, for both transports, the read models kept by a
``hub projections run`` started here (the deployment of docs/scaling.md); by default only
``hub serve``'s own runner keeps them (``hub mllp`` runs none). Each transport starts with the
read models current (the previous phase's events applied first, unmeasured).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from uuid import UUID

from adapters.eventstore import persistence_env
from adapters.sqlaccessstore import access_store_for
from bench.booking import RawBaseline, Tally
from bench.http_booking import (
    Lag,
    answer_head,
    cpu_seconds,
    drop_schema,
    fresh_schema,
    pgbench_tps,
    postgres_pids,
    start_server,
)
from connectors.hl7v2.er7 import parse, value
from connectors.hl7v2.mllp import MllpClient
from entrypoints.demo.synthetic import write_history
from hub.access.tokens import issue
from hub.bootstrap import build_projector
from hub.emr.feeds import EmrFeeds
from tests.support.emr_sim import SimulatedEmr
from tests.support.scheduling import ADDRESS, free_port, future, make_app, patient

DEFAULT_PG = os.environ.get("HUB_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
#: ``write_history``: about one appointment booked per 5.3 events.
EVENTS_PER_APPOINTMENT = 5.3


def raw_saves(url: str, count: int = 500) -> float:
    """The library's own one-event saves per second on one connection (its recorder, no hub)."""
    raw = RawBaseline(env=persistence_env(url, pool_size=2, table_lock=True))
    tally = Tally()
    raw.save(tally)
    began = time.perf_counter()
    for _ in range(count):
        tally.increment()
        raw.save(tally)
    rate = count / (time.perf_counter() - began)
    raw.close()
    return rate


def exchange(send: Callable[[str], str], messages: list[str]) -> tuple[float, list[float], list[str]]:
    """Send each message, wait for its ACK; (msg/s, latencies ms, refusals)."""
    latencies, refused = [], []
    began = time.perf_counter()
    for text in messages:
        t = time.perf_counter()
        ack = parse(send(text))  # what an EMR reads of an ACK: MSA-1, MSA-3
        latencies.append((time.perf_counter() - t) * 1000)
        if value(ack.msa, "msa_1") != "AA":
            refused.append(value(ack.msa, "msa_3") or value(ack.segments[-1], "err_8"))
    return len(messages) / (time.perf_counter() - began), latencies, refused


class KeepAlive:
    """One keep-alive HTTP/1.1 connection posting ER7 and reading the ACK (status line,
    headers, ``Content-Length`` body): tens of µs of client CPU per request."""

    def __init__(self, port: int, path: str, headers: dict[str, str], timeout: float = 60) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        fixed = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{fixed}Content-Length: "
        self.buffer = b""

    def post(self, text: str) -> str:
        body = text.encode()
        self.sock.sendall(f"{self.head}{len(body)}\r\n\r\n".encode() + body)
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status, length = answer_head(head)
        while len(self.buffer) < length:
            self.buffer += self._recv()
        answer, self.buffer = self.buffer[:length], self.buffer[length:]
        if status != 200:
            raise RuntimeError(f"POST answered {status}: {answer[:300]!r}")
        return answer.decode()

    def _recv(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return chunk

    def close(self) -> None:
        self.sock.close()


def postgres_cpu(postgres: list[int]) -> float:
    """CPU seconds so far of PostgreSQL: its live processes, and the backends that ended (the
    postmaster's reaped children), so connections closed meanwhile do not count negative."""
    tick = os.sysconf("SC_CLK_TCK")
    reaped = 0.0
    for pid in postgres:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] not in {str(p) for p in postgres}:  # the postmaster: its parent is not ours
            reaped += (int(fields[13]) + int(fields[14])) / tick
    return cpu_seconds(postgres) + reaped


def cpu_now(hub: int, runner: int | None, postgres: list[int]) -> tuple[float, ...]:
    """CPU seconds so far of the hub's process, its ``hub projections run``, PostgreSQL and
    this client."""
    return (cpu_seconds([hub]), cpu_seconds([runner]) if runner else 0.0, postgres_cpu(postgres),
            time.process_time())


def cpu_per(before: tuple[float, ...], after: tuple[float, ...], count: int) -> tuple[float, ...]:
    """CPU ms per message between two ``cpu_now``."""
    return tuple((b - a) * 1000 / count for a, b in zip(before, after, strict=True))


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def start_hub(url: str, *args: str, ready: str, announced_on: str = "stdout"
              ) -> tuple[subprocess.Popen[str], str]:
    """``hub ARGS`` on the bench schema, once the line it prints when ready (containing
    ``ready``) has come on ``announced_on``; that stream is drained from then on."""
    env = {**os.environ, "HUB_DATABASE_URL": url, "HUB_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "entrypoints", *args], env=env,
                            stdout=subprocess.PIPE if announced_on == "stdout" else subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    stream = proc.stdout if announced_on == "stdout" else proc.stderr
    assert stream is not None  # noqa: S101 - piped above
    line = stream.readline()
    if ready not in line:
        proc.kill()
        sys.exit(f"hub {args[0]} did not start: {line}{proc.stderr.read() if proc.stderr else ''}")
    threading.Thread(target=stream.read, daemon=True).start()  # drained, never blocks it
    return proc, line


def start_mllp(url: str) -> tuple[subprocess.Popen[str], int]:
    proc, line = start_hub(url, "mllp", "--port", "0", ready="listening on")
    return proc, int(line.rsplit(":", 1)[1])


def start_projections(url: str) -> subprocess.Popen[str]:
    """``hub projections run`` on the bench schema, once it follows the log (its start is not
    measured)."""
    runner, _ = start_hub(url, "projections", "run", ready="following the event log",
                          announced_on="stderr")
    return runner


def catch_up(url: str) -> None:
    """Bring every read model to the log's head (as ``hub projections run --once``)."""
    app = make_app(url)
    projector = build_projector(app)
    try:
        projector.catch_up(timeout=600)
    finally:
        projector.close()
        app.close()


def measure(transport: str, url: str, secret: str, messages: list[str],
            runner: subprocess.Popen[str] | None
            ) -> tuple[float, list[float], list[str], float, tuple[float, ...], int]:
    """One transport's phase: (rate, latencies, refusals, resent rate, CPU ms per message from
    the first message until the read models are current, their lag after the last ACK)."""
    pids = postgres_pids()
    lag = Lag(url)
    beside = runner.pid if runner is not None else None
    if transport == "mllp":
        proc, port = start_mllp(url)
        try:
            with MllpClient("127.0.0.1", port, timeout=60) as client:
                exchange(client.send, messages[:1])  # connection and caches
                began_cpu = cpu_now(proc.pid, beside, pids)
                rate, lat, refused = exchange(client.send, messages[1:])
                behind = lag.wait_none() if runner is not None else lag.now()
                cpu = cpu_per(began_cpu, cpu_now(proc.pid, beside, pids), len(messages) - 1)
                resent, _, _ = exchange(client.send, messages[1:])
        finally:
            proc.terminate()
            proc.wait(20)
            lag.close()
        return rate, lat, refused, resent, cpu, behind
    port = free_port()
    server = start_server(url, port, 1, {"HUB_PROJECTIONS_IN_SERVER": "false"}
                          if runner is not None else None)
    http = KeepAlive(port, "/v1/hl7", {"Authorization": f"Bearer {secret}",
                                       "Content-Type": "text/plain"})
    try:
        exchange(http.post, messages[:1])
        began_cpu = cpu_now(server.pid, beside, pids)
        rate, lat, refused = exchange(http.post, messages[1:])
        behind = lag.wait_none()
        cpu = cpu_per(began_cpu, cpu_now(server.pid, beside, pids), len(messages) - 1)
        resent, _, _ = exchange(http.post, messages[1:])
    finally:
        http.close()
        server.terminate()
        server.wait(timeout=20)
        lag.close()
    return rate, lat, refused, resent, cpu, behind


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--transports", default="mllp,http", help="mllp, http or both")
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL server URL")
    parser.add_argument("--stored-appointments", type=int, default=0,
                        help="write about this many appointments (in bulk) before measuring")
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--projections", choices=("in-server", "separate"), default="in-server",
                        help="hub serve's read models: its own runner (HUB_PROJECTIONS_IN_SERVER, "
                             "the default) or `hub projections run` in another process")
    args = parser.parse_args()
    transports = [t for t in args.transports.split(",") if t]
    if not transports or set(transports) - {"mllp", "http"} or not 1 <= args.messages <= 100_000:
        parser.error("--transports mllp and/or http; --messages 1-100000")

    tps = pgbench_tps(args.pg, args.pgbench_seconds)
    schema, url = fresh_schema(args.pg)
    rows = []
    try:
        raw = raw_saves(url)
        app = make_app(url)
        history = 0
        if args.stored_appointments:
            events = int(args.stored_appointments * EVENTS_PER_APPOINTMENT)
            began = time.perf_counter()
            history = write_history(app, events, seed=7, first_patient=500_000)
            print(f"history: {history:,} events written in {time.perf_counter() - began:.0f}s",
                  file=sys.stderr)
            # A hub in service has its read models current: built here once, before `hub serve`
            # starts (its runner would otherwise spend the measured minutes catching up).
            began = time.perf_counter()
            projector = build_projector(app)
            projector.rebuild_many(list(projector.projections))  # as `hub projections rebuild`
            projector.close()
            print(f"read models built in {time.perf_counter() - began:.0f}s", file=sys.stderr)
        clinic = app.register_clinic("Bench SIU", ADDRESS, "418-555-0000", "clinic").id
        emr = SimulatedEmr()
        EmrFeeds(app).register_sender(clinic, emr.application, emr.facility)
        _, secret = issue(access_store_for(app.recorder), "emr", [UUID(str(clinic))])
        app.close()
        start = future(48)
        for index, transport in enumerate(transports):
            first = 1 + index * args.messages
            messages = [emr.siu("S12", f"FL{first + n}", start + timedelta(minutes=15 * (n % 40)),
                                nam=str(patient(first + n)["nam"]), mrn=None)
                        for n in range(args.messages)]
            catch_up(url)  # each phase starts with the read models current, as in service
            runner = start_projections(url) if args.projections == "separate" else None
            try:
                rate, lat, refused, resent, cpu, behind = measure(transport, url, secret, messages,
                                                                  runner)
            finally:
                if runner is not None:
                    runner.terminate()
                    runner.wait(timeout=20)
            rows.append((transport, len(messages) - 1, len(refused), rate, statistics.median(lat),
                         p99(lat), resent, cpu, behind))
            if refused:
                print(f"{transport}: {len(refused)} refused, first: {refused[0]}", file=sys.stderr)
    finally:
        drop_schema(args.pg, schema)

    print(f"SIU S12 ingest, one client waiting for each ACK; stored history {history:,} events "
          f"(~{int(history / EVENTS_PER_APPOINTMENT):,} appointments); load {os.getloadavg()[0]:.1f}")
    print(f"baselines, same run: pgbench -N -c 8 -j 2 {tps:,.0f} TPS; "
          f"library raw one-event saves (1 connection) {raw:,.0f}/s")
    print("read models: current before each transport; while measuring, " + (
        "kept by `hub projections run` in another process for both transports (hub serve with "
        "HUB_PROJECTIONS_IN_SERVER=false), its CPU counted in the hub's"
        if args.projections == "separate" else
        "hub serve's in-process runner (HUB_PROJECTIONS_IN_SERVER, the default); none beside "
        "hub mllp (it runs no read models)"))
    print("| transport | messages | refused | S12/s | p50 ms | p99 ms | resent/s "
          "| ÷ pgbench TPS | ÷ raw saves/s | CPU ms/msg: hub, projections run, PostgreSQL "
          "(whole server), client "
          "| read models' lag at the last ACK |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    for transport, count, refused_count, rate, p50, p99_ms, resent, cpu, behind in rows:
        print(f"| {transport} | {count} | {refused_count} | {rate:.0f} | {p50:.2f} | {p99_ms:.2f} "
              f"| {resent:.0f} | {rate / tps:.3f} | {rate / raw:.2f} "
              f"| {', '.join(f'{c:.2f}' for c in cpu)} | {behind} |")
    print("CPU: from the first measured message until the read models are current (their "
          "runner's catching up counted); hub = the `hub mllp` or `hub serve` process")
    return 0 if all(r[2] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
