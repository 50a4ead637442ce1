"""FHIR Slot search latency over a store with many slots, beside a raw read of the same log.

    python -m bench.fhir_search [--slots N] [--db URL]

Opens N slots for one professional (one per hour), then times ``Slot?schedule=&start=ge...&
status=free&_count=50`` matching the last quarter of them, and a narrow one (a 1-hour window),
beside the time the library takes to read the N ``Slot.Opened`` notifications alone.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from zoneinfo import ZoneInfo

from eventsourcing.utils import get_topic

from aggregates.slot import Slot
from connectors.fhir.search import Query
from connectors.fhir.server import FhirServer, Scope
from tests.support.scheduling import Setup, future, make_app


def timed(action, runs: int = 5) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots", type=int, default=2000)
    parser.add_argument("--db", default=None, help="store URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    url = args.db or f"sqlite:///{tempfile.mkdtemp(prefix='hub-bench-')}/hub.db"
    app = make_app(url)
    world = Setup(app)
    for hour in range(args.slots):
        world.open_slot(capacity=2, hours=24 + hour)
    server = FhirServer(app, ZoneInfo("America/Montreal"))
    wide = future(24 + args.slots * 3 // 4).isoformat()
    narrow_from, narrow_to = future(24 + args.slots // 2).isoformat(), future(25 + args.slots // 2).isoformat()

    def search(*params: tuple[str, str]) -> dict:
        query = Query((("schedule", f"Schedule/{world.gp}"), ("status", "free"), ("_count", "50"), *params))
        return server.search("Slot", query, Scope(None), "http://bench/fhir/r4")

    total = search(("start", f"ge{wide}"))["total"]
    wide_ms = timed(lambda: search(("start", f"ge{wide}")))
    narrow_ms = timed(lambda: search(("start", f"ge{narrow_from}"), ("start", f"lt{narrow_to}")))
    raw_ms = timed(lambda: app.recorder.select_notifications(
        start=1, limit=args.slots + 10, topics=[get_topic(Slot.Opened)]))
    print(f"store={url.split(':')[0]} slots={args.slots} wide: {total} matches, {wide_ms:.0f} ms; "
          f"narrow (1 h): {narrow_ms:.0f} ms; raw read of the Opened notifications: {raw_ms:.0f} ms")
    app.close()


if __name__ == "__main__":
    main()
