"""FHIR Slot search latency over a store with many slots: from the event store and from the
availability read model, beside a raw read of the same log.

    python -m bench.fhir_search [--slots N] [--db URL] [--clients 16] [--seconds 5]

Opens N slots for one professional (one per hour, saved in batches), keeps the availability
read model current, then times ``Slot?schedule=&status=free&_count=50`` with a start range:
a wide one (the last quarter of the slots) and a narrow one (a 1-hour window). Each is served
by ``FhirServer`` as the API serves it: from the read model (``slot_source``, what ``GET
/fhir/r4/Slot`` uses once the read model has caught up) and from the event store (what it
does otherwise, and did before). Then ``--clients`` threads run narrow searches for
``--seconds`` against the read model (in process: the HTTP layer is not counted). Baseline in
the same run: the library reading the N ``Slot.Opened`` notifications.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

from eventsourcing.utils import get_topic

from aggregates.slot import Slot
from connectors.fhir.search import Query
from connectors.fhir.server import FhirServer, Scope
from entrypoints.api.routes.fhir import availability_slots
from hub.bootstrap import build_projector
from tests.support.scheduling import Setup, future, make_app


def samples(action: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        out.append((time.perf_counter() - started) * 1000)
    return out


def p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots", type=int, default=3000)
    parser.add_argument("--db", default=None, help="store URL (default: a temporary SQLite file)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    url = args.db or f"sqlite:///{tempfile.mkdtemp(prefix='hub-bench-')}/hub.db"
    app = make_app(url)
    world = Setup(app)
    first = future(24)
    batch: list[Slot] = []
    for hour in range(args.slots):
        start = first + timedelta(hours=hour)
        batch.append(Slot.open(world.clinic, world.gp, start, start + timedelta(minutes=30), 2,
                               [world.consult, world.vaccine], ["Pfizer"], False))
        if len(batch) == 500:
            app.save(*batch)
            batch = []
    app.save(*batch)
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
