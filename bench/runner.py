"""The read-model runner's live path: CPU per event, as ``hub serve``'s runner follows bookings.

    python -m bench.runner [--bookings 6000] [--batch 500] [--repeat 3] [--pg URL] [--keep]

Writes ``--bookings`` bookings through the application (the events of ``POST /v1/appointments``:
slot, appointment, patient, its index entries) into a PostgreSQL schema (``bench_runner``,
reused with ``--keep``), then, ``--repeat`` times, follows that log from position zero with
``Projector.step`` into fresh Suivi, availability and audit tables, ``--batch`` events per step
(a busy server's batches hold hundreds), with the servers' GC tuning. It prints the runner's
CPU per event (this process: decoding, rows, psycopg) and the events applied per second.
"""

from __future__ import annotations

import argparse
import os
import time

import psycopg

from bench.http_booking import drop_schema
from hub.actor import Actor, acting_as
from hub.bootstrap import bootstrap, read_model_factory, setting_up
from hub.readmodels.registry import PROJECTIONS
from hub.readmodels.runner import Projector
from hub.runtime import tune_gc
from hub.settings import Settings
from projections.readmodel import PostgresReadModel
from tests.support.scheduling import Setup, patient

DEFAULT_PG = os.environ.get("HUB_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
NAMES = ("suivi", "availability", "audit")


def write_bookings(app: object, bookings: int) -> None:
    setup = Setup(app, capacity=bookings)
    slots = [setup.open_slot(capacity=100, hours=24 + n) for n in range(bookings // 100 + 1)]
    with acting_as(Actor("bench-admin", "admin", "http")):
        for n in range(bookings):
            app.book(slots[n % len(slots)], setup.consult, patient(100_000 + n), "emr")  # type: ignore[attr-defined]


def follow(app: object, batch: int) -> tuple[int, float, float]:
    """Follow the whole log into fresh tables; (events, CPU seconds, wall seconds)."""
    factory = read_model_factory(app)
    models = []
    with setting_up(app):
        for name in NAMES:
            model = PostgresReadModel(factory.datastore, name, PROJECTIONS[name].tables, "_bench")  # type: ignore[attr-defined]
            with model.transaction() as curs:
                model.drop_tables(curs)
            model.create_table()
            model.create_tables()
            models.append(model)
    try:
        projector = Projector(app, [PROJECTIONS[n](m) for n, m in zip(NAMES, models, strict=True)],
                              shadow=lambda p: p.view, batch_size=batch)
        head = projector.reader.head()
        wall, cpu = time.perf_counter(), time.process_time()
        while min(projector.positions().values()) < head:
            projector.step()
        return head, time.process_time() - cpu, time.perf_counter() - wall
    finally:
        for model in models:
            with model.transaction() as curs:
                model.drop_tables(curs)
        factory.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bookings", type=int, default=6000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL database URL")
    parser.add_argument("--schema", default="bench_runner")
    parser.add_argument("--keep", action="store_true", help="keep the schema (and its events)")
    args = parser.parse_args()

    with psycopg.connect(args.pg, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{args.schema}"')
    settings = Settings(database_url=f"{args.pg}?schema={args.schema}", log_level="WARNING",
                        projections_in_server=False)
    app = bootstrap(settings)
    try:
        if app.head() == 0:
            started = time.perf_counter()
            write_bookings(app, args.bookings)
            print(f"wrote {args.bookings} bookings ({app.head()} events) in "
                  f"{time.perf_counter() - started:.1f}s")
        tune_gc(settings.gc_threshold)
        for _ in range(args.repeat):
            events, cpu, wall = follow(app, args.batch)
            print(f"followed {events:,} events in batches of {args.batch}: {cpu * 1e6 / events:.0f} µs "
                  f"of CPU per event, {events / wall:,.0f} events/s; load {os.getloadavg()[0]:.1f}")
    finally:
        app.close()
        if not args.keep:
            drop_schema(args.pg, args.schema)


if __name__ == "__main__":
    main()
