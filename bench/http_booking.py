"""Bookings/s and latency through HTTP (a real ``hub serve``), beside pgbench on the same server.

    python -m bench.http_booking [--pg URL] [--bookings N] [--clients 32] [--workers W]
                                 [--pgbench-seconds S]

In one run, on one PostgreSQL server: ``pgbench -N -c 8 -j 2`` TPS (its own database,
initialised once), then ``hub serve`` on a fresh schema, a clinic with slots set up through
the API, and ``--clients`` concurrent HTTP clients booking ``--bookings`` appointments
(``POST /v1/appointments``, spread over many slots, as portals and EMRs do). It prints
bookings/s, p50/p90/p99 latency and the ratio bookings/s ÷ pgbench TPS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import httpx
import psycopg

from adapters.sqlaccessstore import access_store_for
from aggregates.slot import Slot
from hub.access.tokens import issue
from hub.bootstrap import build_projector
from tests.support.scheduling import ADDRESS, free_port, make_app, patient

DEFAULT_PG = os.environ.get("HUB_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
PGBENCH_DB = "hub_pgbench"


def pgbench_tps(url: str, seconds: int, select_only: bool = False) -> float:
    """TPS of ``pgbench -N -c 8 -j 2`` (simple-update; ``-S``: select-only) on the same server,
    own database."""
    pgbench = shutil.which("pgbench")
    if pgbench is None:
        sys.exit("pgbench not found: apt-get install postgresql-client (or postgresql-contrib)")
    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres", query=""))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PGBENCH_DB,)).fetchone()
        if not exists:
            conn.execute(f"CREATE DATABASE {PGBENCH_DB}")
    target = urlunsplit(parts._replace(path=f"/{PGBENCH_DB}", query=""))
    with psycopg.connect(target) as conn:
        initialised = conn.execute("SELECT to_regclass('pgbench_accounts')").fetchone()[0]
    if not initialised:
        subprocess.run([pgbench, "-i", "-s", "1", "-q", target], check=True, capture_output=True)
    done = subprocess.run([pgbench, "-S" if select_only else "-N", "-c", "8", "-j", "2",
                           "-T", str(seconds), target],
                          check=True, capture_output=True, text=True)
    match = re.search(r"tps = ([0-9.]+)", done.stdout)
    if not match:
        sys.exit(f"could not read pgbench's TPS:\n{done.stdout}\n{done.stderr}")
    return float(match.group(1))


def fresh_schema(url: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    parts = urlsplit(url)
    return schema, urlunsplit(parts._replace(query=f"schema={schema}"))


def drop_schema(url: str, schema: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def start_server(url: str, port: int, workers: int, extra_env: dict[str, str] | None = None
                 ) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HUB_DATABASE_URL": url, "HUB_LOG_LEVEL": "WARNING", **(extra_env or {})}
    server = subprocess.Popen(
        [sys.executable, "-m", "entrypoints", "serve", "--port", str(port), "--workers", str(workers)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            sys.exit(f"hub serve did not start: {server.stderr.read().decode()[-2000:]}")
        time.sleep(0.2)


class Lag:
    """How far the read models are behind the log (read only: this process applies nothing)."""

    def __init__(self, url: str) -> None:
        self.app = make_app(url)
        self.projector = build_projector(self.app)

    def now(self) -> int:
        return max(s.lag for s in self.projector.status())

    def wait_none(self, timeout: float = 120) -> int:
        """Wait until the read models are current (the runner's catching up is counted too);
        the lag when the wait began."""
        lag = self.now()
        deadline = time.monotonic() + timeout
        while self.now() and time.monotonic() < deadline:
            time.sleep(0.05)
        return lag

    def close(self) -> None:
        self.projector.close()
        self.app.close()


def set_up(client: httpx.Client, slots: int, capacity: int) -> tuple[list[str], str]:
    def post(path: str, body: dict) -> dict:
        answer = client.post(path, json=body)
        answer.raise_for_status()
        return answer.json()

    clinic = post("/v1/clinics", {"name": "Clinique Bench", "address": ADDRESS,
                                  "phone": "418-555-0000", "application_type": "clinic"})["id"]
    gp = post(f"/v1/clinics/{clinic}/professionals", {"name": "Dre Bench", "type": "gp"})["id"]
    service = post(f"/v1/clinics/{clinic}/services", {
        "name": "Consultation", "duration_minutes": 15, "category": "in_person", "online": True,
        "cancellation_delay_hours": 24})["id"]
    first = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    slot_ids = []
    for n in range(slots):
        start = first + timedelta(minutes=30 * n)
        slot_ids.append(post(f"/v1/clinics/{clinic}/slots", {
            "start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat(),
            "professional_id": gp, "capacity": capacity, "service_ids": [service],
            "products": [], "locked": False})["id"])
    return slot_ids, service


async def book_all(base: str, headers: dict[str, str], slot_ids: list[str], service: str,
                   bookings: int, clients: int, first: int = 0,
                   per_slot: dict[str, int] | None = None) -> tuple[float, list[float], dict[int, int]]:
    """``clients`` keep-alive HTTP/1.1 connections posting bookings as fast as answered.

    The requests are written and the answers read with plain asyncio streams (status line,
    headers, ``Content-Length`` body), not httpx: a load generator should cost the shared
    cores as little as it can (httpx spent about 1 ms of CPU per request here, as much as a
    third of what the hub spends on a booking). ``per_slot`` counts the 201 answers per slot."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(first, first + bookings))
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    fixed = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head = (f"POST /v1/appointments HTTP/1.1\r\nHost: {host}:{port}\r\n{fixed}"
            "Content-Type: application/json\r\nContent-Length: ")

    async def client_loop() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for n in counter:
                slot_id = slot_ids[n % len(slot_ids)]
                body = json.dumps({"slot_id": slot_id, "service_id": service,
                                   "patient": patient(n + 1), "source": "emr"}).encode()
                began = time.perf_counter()
                writer.write(f"{head}{len(body)}\r\n\r\n".encode() + body)
                status, length = answer_head(await reader.readuntil(b"\r\n\r\n"))
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - began)
                statuses[status] = statuses.get(status, 0) + 1
                if per_slot is not None and status == 201:
                    per_slot[slot_id] = per_slot.get(slot_id, 0) + 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(client_loop() for _ in range(clients)))
    return time.perf_counter() - began, latencies, statuses


def answer_head(raw: bytes) -> tuple[int, int]:
    """(status, Content-Length) of an HTTP/1.1 answer's head."""
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            return status, int(value)
    raise RuntimeError(f"an answer without Content-Length: {lines[0]}")


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) of these processes and all their descendants, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    wanted, total = set(pids), 0.0
    changed = True
    while changed:
        changed = False
        for pid, (parent, _) in stats.items():
            if parent in wanted and pid not in wanted:
                wanted.add(pid)
                changed = True
    for pid in wanted:
        total += stats.get(pid, (0, 0.0))[1]
    return total


def postgres_pids() -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() in ("postgres", "postmaster"):
                        found.append(int(entry))
            except OSError:
                continue
    return found


def oversells(url: str, per_slot: dict[str, int], capacity: int) -> int:
    """Slots holding more appointments than places, or other than the 201 answers say."""
    app = make_app(url)
    try:
        bad = 0
        for slot_id, answered in per_slot.items():
            slot = app.load(Slot, UUID(slot_id), "slot")
            bad += len(slot.booked) > capacity or len(slot.booked) != answered
        return bad
    finally:
        app.close()


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL server URL")
    parser.add_argument("--bookings", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="hub serve worker processes")
    parser.add_argument("--table-lock", action="store_true",
                        help="serve with the library's recorder (events table locked per insert)")
    parser.add_argument("--no-projections", action="store_true",
                        help="HUB_PROJECTIONS_IN_SERVER=false (read models kept by another process)")
    parser.add_argument("--slots", type=int, default=100, help="slots the bookings spread over")
    parser.add_argument("--pgbench-seconds", type=int, default=15)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    if not (1 <= args.clients <= 256 and 1 <= args.bookings <= 100_000 and args.slots >= 1):
        parser.error("--clients 1-256, --bookings 1-100000, --slots ≥ 1")

    tps = pgbench_tps(args.pg, args.pgbench_seconds)
    schema, url = fresh_schema(args.pg)
    server = None
    try:
        scheduling = make_app(url)  # creates the tables and issues the token in the same database
        _, secret = issue(access_store_for(scheduling.recorder), "admin")
        scheduling.close()
        port = free_port()
        extra = {"HUB_PG_TABLE_LOCK": "true" if args.table_lock else "false"}
        if args.no_projections:
            extra["HUB_PROJECTIONS_IN_SERVER"] = "false"
        server = start_server(url, port, args.workers, extra)
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {secret}"}
        capacity = (args.bookings + min(200, args.bookings)) // args.slots + 1  # with warm-up
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            slot_ids, service = set_up(client, args.slots, capacity)
        per_slot: dict[str, int] = {}
        warm = min(200, args.bookings)
        asyncio.run(book_all(base, headers, slot_ids, service, warm, args.clients,
                             first=args.bookings, per_slot=per_slot))  # warm-up: connections, caches
        cpu_before = (cpu_seconds([server.pid]), cpu_seconds(postgres_pids()), time.process_time())
        elapsed, latencies, statuses = asyncio.run(
            book_all(base, headers, slot_ids, service, args.bookings, args.clients, per_slot=per_slot))
        lag_at_end = None
        if not args.no_projections:  # the read models' work counted: CPU until they are current
            lag = Lag(url)
            lag_at_end = lag.wait_none()
            lag.close()
        cpu = [round((after - before) * 1000 / args.bookings, 2) for before, after in zip(
            cpu_before, (cpu_seconds([server.pid]), cpu_seconds(postgres_pids()), time.process_time()),
            strict=True)]
        oversold = oversells(url, per_slot, capacity)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        drop_schema(args.pg, schema)

    booked = statuses.get(201, 0)
    rate = booked / elapsed
    figures = {"bookings": args.bookings, "clients": args.clients, "workers": args.workers,
               "table_lock": args.table_lock, "projections_in_server": not args.no_projections,
               "booked": booked, "statuses": statuses, "bookings_per_s": round(rate, 1),
               "p50_ms": round(pct(latencies, 50), 2), "p90_ms": round(pct(latencies, 90), 2),
               "p99_ms": round(pct(latencies, 99), 2), "pgbench_tps": round(tps, 1),
               "ratio": round(rate / tps, 3), "oversold_slots": oversold,
               "cpu_ms_per_booking": {"hub": cpu[0], "postgresql": cpu[1], "bench_client": cpu[2]},
               "read_models_lag_at_end": lag_at_end, "load_average": os.getloadavg()[0]}
    print(f"HTTP bookings: {booked}/{args.bookings} booked with {args.clients} clients, "
          f"{args.workers} worker(s): {rate:.1f}/s, p50 {figures['p50_ms']} ms, "
          f"p90 {figures['p90_ms']} ms, p99 {figures['p99_ms']} ms")
    print(f"pgbench -N -c 8 -j 2 (same run): {tps:.1f} TPS   ratio bookings/s ÷ TPS = "
          f"{figures['ratio']}   oversold slots: {oversold}   load {os.getloadavg()[0]:.1f}")
    print(f"CPU per booking: hub {cpu[0]} ms (its processes, the read models' included until "
          f"current), PostgreSQL {cpu[1]} ms (all its processes), this client {cpu[2]} ms; "
          f"{os.cpu_count()} cores; read models' lag at the last answer: {lag_at_end} events")
    if args.json:
        print(json.dumps(figures))
    return 0 if booked == args.bookings and not oversold else 1


if __name__ == "__main__":
    sys.exit(main())
