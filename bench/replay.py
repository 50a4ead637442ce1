"""Full rebuild of the Suivi and availability projections from a large log on PostgreSQL.

    python -m bench.replay [--events 1000000] [--pg URL] [--schema NAME] [--keep]

Writes ``--events`` scheduling events into a PostgreSQL schema (in bulk: ``entrypoints.demo.synthetic``
saves many aggregates per transaction), unless the schema already holds that many (``--keep``
leaves the schema for the next run). Then, for each projection, in the same run: the raw rate of
reading the same notifications with the library (``select_notifications`` in chunks, the
projection's topics, no decoding), and the rate of ``Projector.rebuild`` (read, decode, apply,
write the shadow tables with a checkpoint per chunk, swap in), and their ratio.
"""

from __future__ import annotations

import argparse
import os
import time

import psycopg

from bench.http_booking import drop_schema
from entrypoints.demo.synthetic import write_history
from hub.bootstrap import build_projector
from tests.support.scheduling import make_app

DEFAULT_PG = os.environ.get("HUB_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def raw_read(app: object, topics: tuple[str, ...], head: int, chunk: int) -> tuple[int, float]:
    """Read every notification of ``topics`` up to ``head`` with the library; (count, seconds)."""
    recorder = app.recorder  # type: ignore[attr-defined]
    position, count = 0, 0
    started = time.perf_counter()
    while position < head:
        batch = recorder.select_notifications(start=position, limit=chunk, stop=head,
                                              topics=list(topics), inclusive_of_start=False)
        count += len(batch)
        position = batch[-1].id if len(batch) == chunk else head
    return count, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL database URL")
    parser.add_argument("--schema", default="bench_replay")
    parser.add_argument("--keep", action="store_true", help="keep the schema (and its events)")
    parser.add_argument("--chunk", type=int, default=20_000, help="events per rebuild checkpoint")
    args = parser.parse_args()

    with psycopg.connect(args.pg, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{args.schema}"')
    app = make_app(f"{args.pg}?schema={args.schema}", log_level="WARNING")
    try:
        if app.head() < args.events:
            started = time.perf_counter()
            written = write_history(app, args.events - app.head(), seed=app.head(),
                                    first_patient=app.head())
            seconds = time.perf_counter() - started
            print(f"wrote {written} events in {seconds:.1f}s ({written / seconds:,.0f} events/s, "
                  "bulk saves of ~5000 events)")
        # what autovacuum does after a bulk load: without statistics the planner may read a
        # chunk of many topics through the (topic, position) index, every row after it sorted
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'ANALYZE "{args.schema}"."{app.recorder.events_table_name}"')  # type: ignore[attr-defined]
        head = app.head()
        print(f"log head at position {head}")
        projector = build_projector(app, ["suivi", "availability"])
        total = 0.0
        print("| projection | notifications read | raw read/s | rebuild s | rebuild notifications/s "
              "| log events/s | ratio |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name in ("suivi", "availability"):
            topics = projector.get(name).topic_filter
            count, raw_seconds = raw_read(app, topics, head, args.chunk)
            started = time.perf_counter()
            projector.rebuild(name, chunk=args.chunk)
            seconds = time.perf_counter() - started
            total += seconds
            raw_rate, rate = count / raw_seconds, count / seconds
            print(f"| {name} | {count:,} | {raw_rate:,.0f} | {seconds:.1f} | {rate:,.0f} "
                  f"| {head / seconds:,.0f} | {rate / raw_rate:.2f} |")
        count, raw_seconds = raw_read(app, (), head, args.chunk)
        print(f"\nboth rebuilt one after the other from {head:,} stored events in {total:.1f}s "
              f"({head / total:,.0f} log events/s); raw read of all {count:,} notifications: "
              f"{count / raw_seconds:,.0f}/s")
        started = time.perf_counter()
        projector.rebuild_many(["suivi", "availability"], chunk=args.chunk)
        together = time.perf_counter() - started
        print(f"both rebuilt in one pass (Projector.rebuild_many): {together:.1f}s "
              f"({head / together:,.0f} log events/s); at that rate 1,000,000 events take "
              f"{1_000_000 * together / head:.0f}s; load {os.getloadavg()[0]:.1f}")
        projector.close()
    finally:
        app.close()
        if not args.keep:
            drop_schema(args.pg, args.schema)


if __name__ == "__main__":
    main()
