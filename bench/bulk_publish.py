"""``$bulk-publish`` Slot file: time to build it with 0 and with N past slots, same future slots.

    python -m bench.bulk_publish [--past 4000] [--future 200] [--db URL]

One clinic, one professional, ``--future`` slots ahead; builds the publication (what
``GET /fhir/r4/$bulk-publish/Slot.ndjson`` serves) before and after ``--past`` slots that have
already ended are added, median of ``--runs`` (5) each, from the availability read model (what the API
serves once it has caught up) and from the event store. Baseline in the same run: the library
reading every ``Slot.Opened`` notification.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.utils import get_topic

from aggregates.slot import Slot
from connectors.fhir.smart_scheduling.publish import publication
from entrypoints.api.fhir_slots import availability_slots
from hub.bootstrap import build_projector
from hub.scheduling.reads import StoreReads
from tests.support.scheduling import Setup, future, make_app


def median_ms(action, runs: int = 5) -> float:
    out = []
    for _ in range(runs):
        began = time.perf_counter()
        action()
        out.append((time.perf_counter() - began) * 1000)
    return statistics.median(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--past", type=int, default=4000)
    parser.add_argument("--future", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5, help="builds timed for each median")
    parser.add_argument("--db", default=None, help="store URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    app = make_app(args.db or f"sqlite:///{tempfile.mkdtemp(prefix='hub-bench-')}/hub.db")
    world = Setup(app)

    def add(first: datetime, count: int) -> None:
        batch = []
        for n in range(count):
            start = first + timedelta(hours=n)
            batch.append(Slot.open(world.clinic, world.gp, start, start + timedelta(minutes=30), 2,
                                   [world.consult], [], False))
            if len(batch) == 500:
                app.save(*batch)
                batch = []
        app.save(*batch)

    add(future(24), args.future)
    reads = StoreReads(app)
    projector = build_projector(app, ["availability"])
    source = availability_slots(projector, app, 5.0)

    def build(from_model: bool) -> int:
        return len(publication(reads, datetime.now(UTC), slot_source=source if from_model else None).slots)

    def settle() -> None:
        """Catch up, then (PostgreSQL) refresh the planner's statistics, as autovacuum does
        after a bulk load: with none, it plans the slots' joins for a third of the table."""
        projector.catch_up(timeout=600)
        datastore = getattr(app.recorder, "datastore", None)
        if isinstance(datastore, PostgresDatastore):
            with datastore.get_connection() as conn:
                conn.execute(f'ANALYZE "{datastore.schema}"."{app.recorder.events_table_name}"')  # type: ignore[attr-defined]
                for table in projector.get("availability").view.tables:
                    conn.execute(f'ANALYZE "{datastore.schema}"."{table.name}"')

    settle()
    before = {m: median_ms(lambda m=m: build(m), args.runs) for m in (True, False)}
    published = build(True)
    add(datetime.now(UTC) - timedelta(hours=args.past + 48), args.past)  # all ended
    settle()
    after = {m: median_ms(lambda m=m: build(m), args.runs) for m in (True, False)}
    assert build(True) == build(False) == published  # noqa: S101 - the past slots are not published
    raw = median_ms(lambda: app.recorder.select_notifications(
        start=1, limit=args.past + args.future + 10, topics=[get_topic(Slot.Opened)]))
    print(f"Slot.ndjson, {published} future slots, then {args.past} past slots more:")
    print("| slots from | before ms | after ms |")
    print("| --- | ---: | ---: |")
    print(f"| availability read model | {before[True]:.1f} | {after[True]:.1f} |")
    print(f"| event store | {before[False]:.1f} | {after[False]:.1f} |")
    print(f"raw read of every Slot.Opened notification (after): {raw:.1f} ms")
    projector.close()
    app.close()


if __name__ == "__main__":
    main()
