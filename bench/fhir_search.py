"""FHIR Slot search latency over a store with many slots: from the event store and from the
availability read model, beside a raw read of the same log.

    python -m bench.fhir_search [--slots N] [--db URL] [--clients 16] [--seconds 5] [--http]

Opens N slots for one professional (one per hour, saved in batches), keeps the availability
read model current, then times ``Slot?schedule=&status=free&_count=50`` with a start range:
a wide one (the last quarter of the slots) and a narrow one (a 1-hour window). Each is served
by ``FhirServer`` as the API serves it: from the read model (``slot_source``, what ``GET
/fhir/r4/Slot`` uses once the read model has caught up) and from the event store (what it
does otherwise, and did before). Then ``--clients`` threads run narrow searches for
``--seconds`` against the read model (in process: the HTTP layer is not counted). Baseline in
the same run: the library reading the N ``Slot.Opened`` notifications.

``--http`` (PostgreSQL; ``--db`` is the server, a fresh schema is used): the same searches as
an outside client sends them to a real ``hub serve --workers W`` (``GET /fhir/r4/Slot``, its
own runner keeping the read model), sequential p50/p99 then ``--clients`` concurrent clients'
req/s, beside ``pgbench -S`` (select-only) TPS of the same run. Each is run with the same
search again and again (answered once per log head: ``SearchAnswers``) and with a new 1-hour
window each time (every search reads the read model). The concurrent clients are httpx's
AsyncClient (as before) and a bare keep-alive client (``keep_alive_rate``: httpx's own cost
caps it near 500 req/s on this machine), with the server's CPU time per request (Linux /proc:
``hub serve`` and its worker processes).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from eventsourcing.utils import get_topic

from adapters.sqlaccessstore import access_store_for
from aggregates.slot import Slot
from bench.http_booking import (
    DEFAULT_PG,
    cpu_seconds,
    drop_schema,
    fresh_schema,
    pgbench_tps,
    start_server,
)
from connectors.fhir.search import Query
from connectors.fhir.server import FhirServer, Scope
from entrypoints.api.fhir_slots import availability_slots
from hub.access.tokens import issue
from hub.bootstrap import build_projector
from tests.support.scheduling import Setup, free_port, future, make_app


def samples(action: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        out.append((time.perf_counter() - started) * 1000)
    return out


def p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def open_slots(app: Any, world: Setup, count: int) -> datetime:
    """``count`` slots, one per hour from tomorrow, saved 500 per transaction; the first start."""
    first = future(24)
    batch: list[Slot] = []
    for hour in range(count):
        start = first + timedelta(hours=hour)
        batch.append(Slot.open(world.clinic, world.gp, start, start + timedelta(minutes=30), 2,
                               [world.consult, world.vaccine], ["Pfizer"], False))
        if len(batch) == 500:
            app.save(*batch)
            batch = []
    app.save(*batch)
    return first


def keep_alive_rate(port: int, targets: list[str], headers: dict[str, str], clients: int,
                    seconds: float) -> float:
    """Requests/s of ``clients`` HTTP/1.1 keep-alive connections, each sending the next of
    ``targets`` (path and query) as soon as the previous answer (200, checked) is read. A bare
    asyncio client: it costs ~0.1 ms of CPU per request where httpx's AsyncClient costs ~2 ms
    (on this machine httpx reaches ~500 req/s against an endpoint that does nothing)."""

    async def run() -> float:
        done = 0
        stop = time.monotonic() + seconds
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())

        async def connection(first: int) -> None:
            nonlocal done
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            at = first
            while time.monotonic() < stop:
                writer.write(f"GET {targets[at % len(targets)]} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             f"{extra}\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                body = await reader.readexactly(length)
                assert head.startswith(b"HTTP/1.1 200"), head + body  # noqa: S101
                done += 1
                at += clients
            writer.close()

        began = time.perf_counter()
        await asyncio.gather(*(connection(i) for i in range(clients)))
        return done / (time.perf_counter() - began)

    return asyncio.run(run())


def server_cost(server_pid: int, run: Callable[[], float], seconds: float) -> tuple[float, float]:
    """(req/s, ms of the server's CPU per request) of ``run``."""
    before = cpu_seconds([server_pid])
    rate = run()
    return rate, (cpu_seconds([server_pid]) - before) * 1000 / max(1.0, rate * seconds)


def over_http(args: argparse.Namespace) -> None:
    """Searches through a real ``hub serve`` on PostgreSQL, beside ``pgbench -S``."""
    server_url = args.db or DEFAULT_PG
    tps = pgbench_tps(server_url, 5, select_only=True)
    schema, url = fresh_schema(server_url)
    server = None
    try:
        app = make_app(url)
        world = Setup(app)
        first = open_slots(app, world, args.slots)
        _, secret = issue(access_store_for(app.recorder), "admin")
        head = app.head()
        projector = build_projector(app, ["availability"])  # only to watch the server's runner
        port = free_port()
        server = start_server(url, port, args.workers)
        view = projector.get("availability").view
        deadline = time.monotonic() + 300
        while view.position(projector.source) < head and time.monotonic() < deadline:
            time.sleep(0.2)

        def window(hour: int) -> dict[str, Any]:
            since = first + timedelta(hours=hour)
            return {"schedule": f"Schedule/{world.gp}", "status": "free", "_count": "50",
                    "start": [f"ge{since.isoformat()}", f"lt{(since + timedelta(hours=1)).isoformat()}"]}

        params = window(args.slots // 2)
        headers = {"Authorization": f"Bearer {secret}"}
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            def get(query: dict[str, Any]) -> None:
                answer = client.get("/fhir/r4/Slot", params=query)
                assert answer.status_code == 200 and answer.json()["total"] >= 1, answer.text  # noqa: S101
            samples(lambda: get(params), 50)  # warm-up
            sequential = samples(lambda: get(params), 500)
            hours = iter(range(args.slots))
            distinct = samples(lambda: get(window(next(hours))), min(500, args.slots))

        async def concurrent() -> float:
            done = 0
            stop = time.monotonic() + args.seconds
            limits = httpx.Limits(max_connections=args.clients)
            async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits,
                                         timeout=30) as client:
                async def loop() -> None:
                    nonlocal done
                    while time.monotonic() < stop:
                        answer = await client.get("/fhir/r4/Slot", params=params)
                        assert answer.status_code == 200  # noqa: S101
                        done += 1
                began = time.perf_counter()
                await asyncio.gather(*(loop() for _ in range(args.clients)))
                return done / (time.perf_counter() - began)

        rate = asyncio.run(concurrent())
        target = str(httpx.URL("/fhir/r4/Slot", params=params))
        same_rate, same_cpu = server_cost(server.pid, lambda: keep_alive_rate(
            port, [target], headers, args.clients, args.seconds), args.seconds)
        every = [str(httpx.URL("/fhir/r4/Slot", params=window(h))) for h in range(args.slots)]
        distinct_rate, distinct_cpu = server_cost(server.pid, lambda: keep_alive_rate(
            port, every, headers, args.clients, args.seconds), args.seconds)
        projector.close()
        app.close()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        drop_schema(server_url, schema)
    print(f"HTTP GET /fhir/r4/Slot (schedule, status, 1-hour start range) over {args.slots} slots, "
          f"real hub serve --workers {args.workers} on PostgreSQL; load {os.getloadavg()[0]:.1f}")
    print(f"sequential, same search: p50 {statistics.median(sequential):.2f} ms, "
          f"p99 {p(sequential, 99):.2f} ms; a new window each time: p50 {statistics.median(distinct):.2f} ms, "
          f"p99 {p(distinct, 99):.2f} ms")
    print(f"{args.clients} clients, same search: httpx AsyncClient {rate:.0f} req/s, "
          f"keep-alive client {same_rate:.0f} req/s ({same_cpu:.2f} ms of server CPU each); "
          f"a new window each time (keep-alive): {distinct_rate:.0f} req/s ({distinct_cpu:.2f} ms)")
    print(f"pgbench -S -c 8 -j 2 (same run): {tps:,.0f} TPS; ratio req/s ÷ TPS = {same_rate / tps:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots", type=int, default=3000)
    parser.add_argument("--db", default=None, help="store URL (default: a temporary SQLite file)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--http", action="store_true", help="through a real hub serve (PostgreSQL)")
    parser.add_argument("--workers", type=int, default=1, help="hub serve --workers (with --http)")
    args = parser.parse_args()
    if args.http:
        over_http(args)
        return
    url = args.db or f"sqlite:///{tempfile.mkdtemp(prefix='hub-bench-')}/hub.db"
    app = make_app(url)
    world = Setup(app)
    first = open_slots(app, world, args.slots)
    projector = build_projector(app, ["availability"])
    projector.catch_up(timeout=600)
    zone = ZoneInfo("America/Montreal")
    from_store = FhirServer(app, zone)
    from_model = FhirServer(app, zone, slot_source=availability_slots(projector, app, 5.0))
    wide = (first + timedelta(hours=args.slots * 3 // 4)).isoformat()
    narrow_from = first + timedelta(hours=args.slots // 2)
    narrow = (("start", f"ge{narrow_from.isoformat()}"),
              ("start", f"lt{(narrow_from + timedelta(hours=1)).isoformat()}"))

    def search(server: FhirServer, *params: tuple[str, str]) -> dict:
        query = Query((("schedule", f"Schedule/{world.gp}"), ("status", "free"), ("_count", "50"),
                       *params))
        return server.search("Slot", query, Scope(None), "http://bench/fhir/r4")

    total = search(from_model, ("start", f"ge{wide}"))["total"]
    assert total == search(from_store, ("start", f"ge{wide}"))["total"]  # noqa: S101 - same answer
    rows = []
    for label, server, runs in (("read model", from_model, 200), ("event store", from_store, 5)):
        wide_ms = samples(lambda s=server: search(s, ("start", f"ge{wide}")), max(5, runs // 4))
        narrow_ms = samples(lambda s=server: search(s, *narrow), runs)
        rows.append((label, statistics.median(wide_ms), p(wide_ms, 99), statistics.median(narrow_ms),
                     p(narrow_ms, 99)))
    raw_ms = statistics.median(samples(lambda: app.recorder.select_notifications(
        start=1, limit=args.slots + 10, topics=[get_topic(Slot.Opened)]), 5))

    done = [0]
    lock = threading.Lock()
    stop = time.monotonic() + args.seconds

    def client() -> None:
        mine = 0
        while time.monotonic() < stop:
            search(from_model, *narrow)
            mine += 1
        with lock:
            done[0] += mine

    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rate = done[0] / (time.perf_counter() - began)
    projector.close()
    app.close()

    print(f"store={url.split(':')[0]} slots={args.slots} wide matches={total} "
          f"load={os.getloadavg()[0]:.1f}")
    print("| served from | wide p50 ms | wide p99 ms | narrow p50 ms | narrow p99 ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for label, w50, w99, n50, n99 in rows:
        print(f"| {label} | {w50:.1f} | {w99:.1f} | {n50:.2f} | {n99:.2f} |")
    print(f"raw read of the {args.slots} Slot.Opened notifications: {raw_ms:.1f} ms; "
          f"{args.clients} threads, narrow search from the read model: {rate:.0f} searches/s")


if __name__ == "__main__":
    main()
