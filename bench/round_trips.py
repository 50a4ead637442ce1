"""Statements per command on PostgreSQL: one booking and one SIU S12, counted at the driver.

    python -m bench.round_trips [--pg URL] [--count 100] [--table-lock]

Wraps ``psycopg.Cursor.execute`` to count each SQL statement a booking (``Scheduling.book``,
a new patient each time, warm caches) and an S12 (``Hl7Inbox.receive``, a new patient and
appointment each time) send, and the time spent in them. ``--table-lock``: the library's own
recorder (``HUB_PG_TABLE_LOCK=true``), for comparison.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import time
import uuid
from datetime import timedelta
from typing import Any

import psycopg
from psycopg import Cursor

from connectors.hl7v2.inbound import Hl7Inbox
from hub.bootstrap import bootstrap
from hub.emr.feeds import EmrFeeds
from hub.settings import Settings
from tests.support.emr_sim import SimulatedEmr
from tests.support.scheduling import Setup, future, patient

COUNTS: collections.Counter[str] = collections.Counter()
TIMES: collections.Counter[str] = collections.Counter()
_execute = Cursor.execute


def counting(self: Cursor[Any], query: Any, params: Any = None, **kwargs: Any) -> Any:
    text = query.as_string(self) if hasattr(query, "as_string") else str(query)
    key = re.sub(r'"[a-z0-9_]+"\.', "", re.sub(r"\s+", " ", text)).strip()[:70]
    began = time.perf_counter()
    try:
        return _execute(self, query, params, **kwargs)
    finally:
        TIMES[key] += time.perf_counter() - began
        COUNTS[key] += 1


def report(what: str, count: int, elapsed: float) -> None:
    print(f"{what}: {count / elapsed:.0f}/s, {sum(COUNTS.values()) / count:.1f} statements each")
    for key, n in COUNTS.most_common():
        print(f"  {n / count:5.2f} × {TIMES[key] / n * 1000:6.2f} ms  {key}")
    COUNTS.clear()
    TIMES.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=os.environ.get(
        "HUB_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--table-lock", action="store_true")
    args = parser.parse_args()
    schema = f"bench_rt_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    Cursor.execute = counting  # type: ignore[method-assign]
    try:
        app = bootstrap(Settings(database_url=f"{args.pg}?schema={schema}", log_level="WARNING",
                                 pg_table_lock=args.table_lock), configure_logs=False)
        world = Setup(app, capacity=args.count * 2 + 20)
        for n in range(20):
            app.book(world.slot, world.consult, patient(n), "emr")
        COUNTS.clear()
        TIMES.clear()
        began = time.perf_counter()
        for n in range(args.count):
            app.book(world.slot, world.consult, patient(1000 + n), "emr")
        report("booking", args.count, time.perf_counter() - began)

        emr = SimulatedEmr()
        EmrFeeds(app).register_sender(world.clinic, emr.application, emr.facility)
        inbox = Hl7Inbox(app)
        start = future(48)
        messages = [emr.siu("S12", f"RT{n}", start + timedelta(minutes=15 * (n % 40)),
                            nam=str(patient(5000 + n)["nam"]), mrn=None) for n in range(args.count + 20)]
        for message in messages[:20]:
            inbox.receive(message)
        COUNTS.clear()
        TIMES.clear()
        began = time.perf_counter()
        for message in messages[20:]:
            inbox.receive(message)
        report("S12", args.count, time.perf_counter() - began)
        app.close()
    finally:
        Cursor.execute = _execute  # type: ignore[method-assign]
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
