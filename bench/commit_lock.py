"""What serialises commits on PostgreSQL: the library's table lock and NOTIFY, beside plain inserts.

    python -m bench.commit_lock [--pg URL] [--seconds 3] [--threads 8,32]

N threads, each on its own connection, commit one-row insert transactions into a table shaped
like the event store's for a few seconds, three ways in the same run: as the eventsourcing
library's recorder does (``LOCK TABLE ... IN EXCLUSIVE MODE`` + ``NOTIFY`` + INSERT), with
``NOTIFY`` only (its DB-function insert path), and the INSERT alone (the hub's recorder).
"""

from __future__ import annotations

import argparse
import os
import threading
import time
import uuid

import psycopg

VARIANTS = {"lock+notify (library)": (True, True), "notify only (DB functions)": (False, True),
            "insert only (hub)": (False, False)}


def run(url: str, table: str, threads: int, seconds: float, lock: bool, notify: bool) -> tuple[float, float, float]:
    stop = time.monotonic() + seconds
    latencies: list[list[float]] = [[] for _ in range(threads)]

    def work(t: int) -> None:
        with psycopg.connect(url) as conn:
            while time.monotonic() < stop:
                began = time.perf_counter()
                with conn.transaction():
                    if lock:
                        conn.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
                    if notify:
                        conn.execute("NOTIFY bench_commit_lock")
                    conn.execute(f"INSERT INTO {table} (originator_id, originator_version, topic, state) "
                                 "VALUES (%s, 1, 't', %s)", (uuid.uuid4(), b"x" * 300))
                latencies[t].append(time.perf_counter() - began)

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    began = time.monotonic()
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    elapsed = time.monotonic() - began
    flat = sorted(x for per in latencies for x in per)
    return len(flat) / elapsed, flat[len(flat) // 2] * 1000, flat[int(len(flat) * 0.99)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=os.environ.get(
        "HUB_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", default="8,32")
    args = parser.parse_args()
    schema = f"bench_lock_{uuid.uuid4().hex[:6]}"
    table = f"{schema}.events"
    with psycopg.connect(args.pg, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"CREATE TABLE {table} (originator_id uuid, originator_version bigint, topic text, "
                     "state bytea, notification_id bigserial, PRIMARY KEY (originator_id, originator_version))")
        conn.execute(f"CREATE UNIQUE INDEX ON {table} (notification_id)")
    print("| per transaction | threads | commits/s | p50 ms | p99 ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    try:
        for threads in (int(t) for t in args.threads.split(",")):
            for label, (lock, notify) in VARIANTS.items():
                rate, p50, p99 = run(args.pg, table, threads, args.seconds, lock, notify)
                print(f"| {label} | {threads} | {rate:.0f} | {p50:.1f} | {p99:.1f} |", flush=True)
    finally:
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
