"""Kafka relay: events/s published and store-commit → consumer-receipt lag, beside raw kafka-python.

    python -m bench.relay [--events N] [--rate 500] [--seconds 10] [--per-commit 4] [--writers 1]
                          [--pg URL] [--stores sqlite,postgres]

On a tansu broker started here, for SQLite (a temporary file) and PostgreSQL (a fresh schema):

- throughput: N appointment ``Booked`` events written in bulk, then ``hub relay --once``'s loop
  (in process) timed until all are acknowledged and tracked;
- raw: a plain kafka-python producer (acks=all, defaults otherwise) sending N records of the
  same value size and headers to a topic with the same partitions, flushed: the ratio is
  relay / raw;
- lag: a writer process commits one event at a time at a steady ``--rate`` for ``--seconds``
  while ``hub relay`` runs as its own process and a consumer (``assign()``) reads the topic;
  lag = receipt time − the writer's time right after its commit returned; p50 / p99. The
  writers commit ``--per-commit`` events per transaction (a booking writes about four).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from aggregates.appointment import Appointment
from hub.logging import configure_logging
from hub.relay.messages import to_message
from hub.relay.wiring import build_relay
from hub.settings import Settings
from projections.eventlog import describe
from tests.support.kafka import Broker, free_port
from tests.support.scheduling import make_app

PARTITIONS = 3


def booked(n: int) -> list[Appointment]:
    start = datetime.now(UTC) + timedelta(days=3)
    clinic, slot, gp, service = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    return [
        Appointment.book(clinic, slot, gp, start, start + timedelta(minutes=15), service,
                         uuid.uuid4(), "portal", "Pfizer", "fr")
        for _ in range(n)
    ]


def write_bulk(url: str, n: int) -> None:
    app = make_app(url)
    appointments = booked(n)
    for i in range(0, n, 250):
        app.save(*appointments[i : i + 250])
    app.close()


def throughput(url: str, bootstrap: str, n: int) -> dict[str, float]:
    write_bulk(url, n)
    prefix = f"b{uuid.uuid4().hex[:8]}"
    settings = Settings(database_url=url, kafka_bootstrap=bootstrap, kafka_topic_prefix=prefix,
                        kafka_partitions=PARTITIONS)
    relay = build_relay(settings, configure_logs=False)
    sample = to_message(describe(relay.app.recorder.select_notifications(1, 1)[0], relay.app.mapper),
                        prefix, "/hub")
    started = time.perf_counter()
    published = relay.run(once=True)
    elapsed = time.perf_counter() - started
    assert published == n, (published, n)
    relay.app.close()
    raw = raw_producer(bootstrap, sample, n)
    return {"relay/s": n / elapsed, "raw/s": raw, "value bytes": len(sample.value),
            "header bytes": sum(len(k) + len(v) for k, v in sample.headers)}


def raw_producer(bootstrap: str, sample, n: int) -> float:
    from kafka import KafkaProducer
    from kafka.admin import KafkaAdminClient

    topic = f"raw{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics({topic: {"num_partitions": PARTITIONS, "replication_factor": 1}},
                        wait_for_metadata=True)
    admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    keys = [str(uuid.uuid4()).encode() for _ in range(n)]
    started = time.perf_counter()
    for key in keys:
        producer.send(topic, key=key, value=sample.value, headers=sample.headers)
    producer.flush()
    elapsed = time.perf_counter() - started
    producer.close()
    return n / elapsed


def steady_writer(url: str, rate: float, seconds: float, per_commit: int, out: Any) -> None:
    """Commit ``per_commit`` events at a time (a booking writes about four) at ``rate`` events/s;
    report each event's position → wall time right after its commit returned."""
    app = make_app(url)
    appointments = booked(int(rate * seconds))
    committed: dict[int, float] = {}
    started = time.perf_counter()
    for i in range(0, len(appointments), per_commit):
        pause = started + i / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        recordings = app.save(*appointments[i : i + per_commit])
        now = time.time()
        for recording in recordings:
            committed[recording.notification.id] = now
    out.put((committed, len(appointments) / (time.perf_counter() - started)))
    app.close()


def lag(url: str, bootstrap: str, rate: float, seconds: float, log_dir: Path,
        n_writers: int, per_commit: int) -> dict[str, float]:
    from kafka import KafkaConsumer, TopicPartition
    from kafka.admin import KafkaAdminClient

    make_app(url).close()  # tables exist before the relay and the writer start
    prefix = f"l{uuid.uuid4().hex[:8]}"
    topic = f"{prefix}.appointment"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics({topic: {"num_partitions": PARTITIONS, "replication_factor": 1}},
                        wait_for_metadata=True)
    admin.close()
    env = {**os.environ, "HUB_DATABASE_URL": url, "HUB_KAFKA_BOOTSTRAP": bootstrap,
           "HUB_KAFKA_TOPIC_PREFIX": prefix, "HUB_LOG_FORMAT": "json"}
    head = make_app(url)
    start_position = head.head()
    head.close()
    with (log_dir / f"relay-{prefix}.log").open("wb") as log:
        relay = subprocess.Popen([sys.executable, "-m", "entrypoints", "relay"], env=env,
                                 stdout=log, stderr=subprocess.STDOUT)
    # A consumer tuned for latency: the broker answers a fetch after at most 10 ms.
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             fetch_max_wait_ms=10)
    partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    received: dict[int, float] = {}
    spawn = multiprocessing.get_context("spawn")  # no fork under the consumer's threads
    queue = spawn.Queue()
    writers = [spawn.Process(target=steady_writer,
                             args=(url, rate / n_writers, seconds, per_commit, queue))
               for _ in range(n_writers)]
    try:
        time.sleep(1.0)  # let the relay start before the steady load
        for writer in writers:
            writer.start()
        committed: dict[int, float] = {}
        achieved, reports = 0.0, 0
        deadline = time.monotonic() + seconds + 60
        while time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=50).values():
                now = time.time()
                for record in records:
                    position = int(dict(record.headers)["hub_position"])
                    received.setdefault(position, now)
            while not queue.empty():
                times, rate_achieved = queue.get()
                committed.update(times)
                achieved, reports = achieved + rate_achieved, reports + 1
            if reports == n_writers and all(p in received for p in committed):
                break
        for writer in writers:
            writer.join(10)
    finally:
        relay.terminate()
        relay.wait(10)
        consumer.close()
    assert reports == n_writers, "a writer did not finish"
    missing = [p for p in committed if p not in received]
    assert not missing, f"{len(missing)} events not received"
    lags = sorted((received[p] - t) * 1000 for p, t in committed.items() if p > start_position)
    return {"rate/s": achieved, "events": len(lags), "p50 ms": statistics.median(lags),
            "p99 ms": lags[min(len(lags) - 1, int(len(lags) * 0.99))], "max ms": lags[-1]}


def pg_schema_url(pg: str) -> str:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return urlunsplit(urlsplit(pg)._replace(query=f"schema={schema}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--writers", type=int, default=1, help="writer processes sharing --rate")
    parser.add_argument("--per-commit", type=int, default=4, help="events per commit (a booking: ~4)")
    parser.add_argument("--pg", default=os.environ.get("HUB_TEST_DATABASE_URL",
                                                       "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    configure_logging("console", "WARNING")
    tmp = Path(tempfile.mkdtemp(prefix="bench-relay-"))
    broker = Broker(port=free_port(), log_path=tmp / "tansu.log")
    broker.start()
    rows = []
    try:
        for store in args.stores.split(","):
            url = f"sqlite:///{tmp}/{store}-{{}}.db" if store == "sqlite" else None
            make_url = (lambda i, u=url: u.format(i)) if url else (lambda i: pg_schema_url(args.pg))
            t = throughput(make_url(1), broker.bootstrap, args.events)
            lag_figures = lag(make_url(2), broker.bootstrap, args.rate, args.seconds, tmp, args.writers,
                    args.per_commit)
            rows.append((store, t, lag_figures))
            print(store, {k: round(v, 1) for k, v in {**t, **lag_figures}.items()}, flush=True)
    finally:
        broker.stop()
    print("\n| store | events | relay events/s | raw producer msgs/s | ratio | value + headers bytes "
          "| steady rate/s | lag p50 ms | lag p99 ms | lag max ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for store, t, lag_figures in rows:
        print(f"| {store} | {args.events} | {t['relay/s']:.0f} | {t['raw/s']:.0f} | "
              f"{t['relay/s'] / t['raw/s']:.2f} | {t['value bytes']:.0f} + {t['header bytes']:.0f} | "
              f"{lag_figures['rate/s']:.0f} | {lag_figures['p50 ms']:.1f} | {lag_figures['p99 ms']:.1f} | {lag_figures['max ms']:.0f} |")


if __name__ == "__main__":
    main()
