"""Bookings/s through the application service, beside the raw eventsourcing append rate.

    python -m bench.booking [--bookings N] [--pg URL] [--stores sqlite,postgres,postgres-lock]
                            [--processes P]

For SQLite (a temporary file) and PostgreSQL (a fresh schema; the hub's recorder, and the
library's own recorder that locks the events table per insert), with 1 and 8 threads, it
prints bookings/s and latency percentiles of ``Scheduling.book`` next to the save rate of
a trivial eventsourcing aggregate (one event per save, the library's own recorder) on the same
database in the same run, and their ratio. Each thread books into its own slots (no contention); one booking
saves the slot, the appointment, the patient and its NAM index in one transaction.

``--processes P`` (PostgreSQL): also the same 8 threads split over P processes on the one
store, the hub's bookings and the raw saves alike, started together: what a store without a
global write lock gains from a second core (one Python process holds one core at most).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from adapters.eventstore import persistence_env
from hub.bootstrap import bootstrap
from hub.settings import Settings
from tests.support.scheduling import Setup, patient


class Tally(Aggregate):
    """The trivial baseline aggregate: one integer, one event per save."""

    @event("Created")
    def __init__(self) -> None:
        self.count = 0

    @event("Incremented")
    def increment(self) -> None:
        self.count += 1


class RawBaseline(Application):
    name = "rawbench"


def run_threads(threads: int, per_thread: int, work: Callable[[int, int], None]) -> tuple[float, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(t: int) -> None:
        mine = []
        for i in range(per_thread):
            start = time.perf_counter()
            work(t, i)
            mine.append(time.perf_counter() - start)
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    began = time.perf_counter()
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    elapsed = time.perf_counter() - began
    return threads * per_thread / elapsed, latencies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 1 else 0.0


def bench_store(label: str, url: str, bookings: int, table_lock: bool = False) -> list[tuple]:
    rows = []
    for threads in (1, 8):
        per_thread = max(1, bookings // threads)
        app = bootstrap(Settings(database_url=url, log_level="WARNING", pool_size=threads + 2,
                                 pg_table_lock=table_lock))
        setup = Setup(app, capacity=per_thread)
        slots = [setup.open_slot(capacity=per_thread, hours=24 + t) for t in range(threads)]
        base = threads * 100_000

        def book(t: int, i: int, app=app, slots=slots, setup=setup, base=base, per_thread=per_thread) -> None:
            app.book(slots[t], setup.consult, patient(base + t * per_thread + i), "emr")

        rate, lat = run_threads(threads, per_thread, book)
        app.close()

        raw_env = persistence_env(url, pool_size=threads + 2, table_lock=True)  # the library's own
        raw = RawBaseline(env=raw_env)
        tallies = [Tally() for _ in range(threads)]
        raw.save(*tallies)

        def append(t: int, i: int, raw=raw, tallies=tallies) -> None:
            tallies[t].increment()
            raw.save(tallies[t])

        raw_rate, raw_lat = run_threads(threads, per_thread, append)
        raw.close()
        rows.append((label, threads, rate, pct(lat, 50), pct(lat, 99), raw_rate, pct(raw_lat, 50),
                     rate / raw_rate))
    return rows


def _booking_process(url: str, threads: int, per_thread: int, base: int, table_lock: bool,
                     start: multiprocessing.synchronize.Barrier, out: multiprocessing.Queue) -> None:
    """One process of ``bench_processes``: set up, wait for the others, book, report."""
    app = bootstrap(Settings(database_url=url, log_level="WARNING", pool_size=threads + 2,
                             pg_table_lock=table_lock))
    setup = Setup(app, capacity=per_thread)
    slots = [setup.open_slot(capacity=per_thread, hours=24 + t) for t in range(threads)]

    def book(t: int, i: int) -> None:
        app.book(slots[t], setup.consult, patient(base + t * per_thread + i), "emr")

    start.wait()
    rate, lat = run_threads(threads, per_thread, book)
    app.close()
    out.put((threads * per_thread / rate, lat))


def _raw_process(url: str, threads: int, per_thread: int, start: multiprocessing.synchronize.Barrier,
                 out: multiprocessing.Queue) -> None:
    raw = RawBaseline(env=persistence_env(url, pool_size=threads + 2, table_lock=True))
    tallies = [Tally() for _ in range(threads)]
    raw.save(*tallies)

    def append(t: int, i: int) -> None:
        tallies[t].increment()
        raw.save(tallies[t])

    start.wait()
    rate, lat = run_threads(threads, per_thread, append)
    raw.close()
    out.put((threads * per_thread / rate, lat))


def in_processes(processes: int, target: Callable[..., None], args_of: Callable[[int], tuple]
                 ) -> tuple[float, list[float]]:
    """Run ``target(*args_of(index), start, out)`` in ``processes`` spawned processes that start
    together; the rate is every operation over the slowest process's time."""
    context = multiprocessing.get_context("spawn")
    start, out = context.Barrier(processes), context.Queue()
    procs = [context.Process(target=target, args=(*args_of(p), start, out)) for p in range(processes)]
    for proc in procs:
        proc.start()
    results = [out.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join()
    latencies = [v for _, lat in results for v in lat]
    return len(latencies) / max(elapsed for elapsed, _ in results), latencies


def bench_processes(label: str, url: str, bookings: int, processes: int,
                    table_lock: bool = False) -> tuple:
    """8 threads over ``processes`` processes: the hub's bookings, then the raw saves."""
    threads = 8 // processes
    per_thread = max(1, bookings // (threads * processes))
    base = 5_000_000

    rate, lat = in_processes(processes, _booking_process, lambda p: (
        url, threads, per_thread, base + p * threads * per_thread, table_lock))
    raw_rate, raw_lat = in_processes(processes, _raw_process, lambda p: (url, threads, per_thread))
    return (f"{label} ×{processes}p", threads * processes, rate, pct(lat, 50), pct(lat, 99),
            raw_rate, pct(raw_lat, 50), rate / raw_rate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=800, help="bookings per configuration")
    parser.add_argument("--pg", default=os.environ.get(
        "HUB_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--stores", default="sqlite,postgres,postgres-lock",
                        help="any of sqlite, postgres (the hub's recorder), postgres-lock (the "
                        "library's recorder, table locked per insert)")
    parser.add_argument("--processes", type=int, default=1,
                        help="also split the 8 threads over this many processes (PostgreSQL)")
    args = parser.parse_args()
    if not 1 <= args.processes <= 8:
        parser.error("--processes 1-8")

    rows = []
    stores = args.stores.split(",")
    if "sqlite" in stores:
        with tempfile.TemporaryDirectory() as tmp:
            rows += bench_store("sqlite", f"sqlite:///{tmp}/bench.db", args.bookings)
    for label in ("postgres", "postgres-lock"):
        if label not in stores:
            continue
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        try:
            rows += bench_store(label, f"{args.pg}?schema={schema}", args.bookings,
                                table_lock=label == "postgres-lock")
            if args.processes > 1:
                rows.append(bench_processes(label, f"{args.pg}?schema={schema}", args.bookings,
                                            args.processes, table_lock=label == "postgres-lock"))
        finally:
            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")

    print(f"{'store':<14}{'threads':>8}{'bookings/s':>12}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'raw saves/s':>13}{'raw p50 ms':>12}{'ratio':>8}")
    for label, threads, rate, p50, p99, raw_rate, raw_p50, ratio in rows:
        print(f"{label:<14}{threads:>8}{rate:>12.0f}{p50:>9.2f}{p99:>9.2f}{raw_rate:>13.0f}"
              f"{raw_p50:>12.2f}{ratio:>8.2f}")


if __name__ == "__main__":
    main()
