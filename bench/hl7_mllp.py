"""SIU S12 over MLLP: messages/s and ACK latency, beside direct bookings on the same store.

    python -m bench.hl7_mllp [--messages N] [--pg URL] [--stores sqlite,postgres]

For SQLite (a temporary file) and PostgreSQL (a fresh schema): a simulated EMR sends N S12
(one patient each, the same professional and service) over one MLLP connection to the hub's
listener and waits for each ACK; then resends them all (replayed ACKs, nothing applied);
baseline: N ``Scheduling.book`` calls into an existing slot, in process, on the same store.
An S12 writes more than a booking: an EMR-managed slot, two appointment-id indexes and the
message receipt besides slot, appointment, patient and NAM index, all in one transaction.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

import psycopg

from connectors.hl7v2.er7 import parse, value
from connectors.hl7v2.inbound import Hl7Inbox
from connectors.hl7v2.mllp import MllpClient, MllpServer
from hub.bootstrap import bootstrap
from hub.emr.feeds import EmrFeeds
from hub.settings import Settings
from tests.support.emr_sim import SimulatedEmr
from tests.support.scheduling import ADDRESS, future, patient


def timed(calls: list[Callable[[], object]]) -> tuple[float, list[float]]:
    latencies = []
    began = time.perf_counter()
    for call in calls:
        t = time.perf_counter()
        call()
        latencies.append((time.perf_counter() - t) * 1000)
    return len(calls) / (time.perf_counter() - began), latencies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def run(url: str, messages: int) -> dict[str, float]:
    app = bootstrap(Settings(database_url=url), configure_logs=False)
    clinic = app.register_clinic("Bench", ADDRESS, "418-555-0000", "clinic").id
    emr = SimulatedEmr()
    EmrFeeds(app).register_sender(clinic, emr.application, emr.facility)
    inbox = Hl7Inbox(app)
    server = MllpServer(lambda text: inbox.receive(text), "127.0.0.1", 0)
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    _, port = asyncio.run_coroutine_threadsafe(server.start(), loop).result(5)
    start = future(48)
    sius = [emr.siu("S12", f"FL{n}", start + timedelta(minutes=15 * (n % 40)),
                    nam=str(patient(n + 1)["nam"]), mrn=None) for n in range(messages)]
    client = MllpClient("127.0.0.1", port, timeout=30)

    def send(text: str) -> Callable[[], object]:
        def call() -> object:
            ack = parse(client.send(text))  # what an EMR reads of an ACK: MSA-1, MSA-3
            code = value(ack.msa, "msa_1")
            assert code == "AA", value(ack.msa, "msa_3")  # noqa: S101 - a bench run must not hide refusals
            return code
        return call

    rate, lat = timed([send(m) for m in sius])
    replay_rate, replay_lat = timed([send(m) for m in sius])
    prof = app.add_professional(clinic, "Dre Bench", "gp").id
    svc = app.add_service(clinic, "Consultation", 15, "in_person", True, 24).id
    slot = app.open_slot(clinic, prof, start, start + timedelta(minutes=15), messages, [svc]).id
    base_rate, base_lat = timed([
        (lambda n=n: app.book(slot, svc, patient(10_000 + n), "emr")) for n in range(messages)])
    client.close()
    asyncio.run_coroutine_threadsafe(server.close(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    app.close()
    return {"rate": rate, "p50": statistics.median(lat), "p99": pct(lat, 99),
            "replay": replay_rate, "replay_p50": statistics.median(replay_lat),
            "base": base_rate, "base_p50": statistics.median(base_lat)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--stores", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--pg", default=os.environ.get(
        "HUB_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    print("| store | S12/s | p50 ms | p99 ms | resent S12/s | resent p50 ms | book()/s | book() p50 ms | ratio |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name, url in (("sqlite", f"sqlite:///{tmp}/bench.db"), ("postgres", f"{args.pg}?schema={schema}")):
                if name not in args.stores.split(","):
                    continue
                r = run(url, args.messages)
                print(f"| {name} | {r['rate']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['replay']:.0f} "
                      f"| {r['replay_p50']:.2f} | {r['base']:.0f} | {r['base_p50']:.2f} "
                      f"| {r['rate'] / r['base']:.2f} |", flush=True)
    finally:
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
