"""Planning and e-mail delivery rates of patient communication, beside baselines.

    python -m bench.notifications [--appointments N] [--pg URL]

For SQLite (a temporary file) and PostgreSQL (a fresh schema): book N appointments (e-mail
patients, 72 h ahead: a confirmation and a reminder each), then time

- planning: ``NotificationProcess.catch_up`` (one tracked transaction per appointment event),
  beside the bookings/s of the same run;
- delivery: ``Dispatcher.deliver_due`` sending the N confirmations to a local aiosmtpd server
  (claim, SMTP, record), beside plain ``smtplib`` sends of the same messages to the same server.
"""

from __future__ import annotations

import argparse
import smtplib
import tempfile
import time
import uuid

import psycopg
from aiosmtpd.controller import Controller

from adapters.channels import Outgoing
from adapters.smtp import SmtpChannel
from hub.bootstrap import notification_center
from hub.logging import configure_logging
from hub.settings import Settings
from tests.support.notifications import SmtpSink, free_port
from tests.support.scheduling import Setup, make_app, patient


def measure(url: str, n: int, sink: SmtpSink) -> dict[str, float]:
    app = make_app(url)
    setup = Setup(app, capacity=n)
    started = time.perf_counter()
    for i in range(n):
        app.book(setup.slot, setup.consult, patient(i, email=f"bench{i}@example.ca"), "emr")
    booking = n / (time.perf_counter() - started)
    channel = SmtpChannel(sink.host, sink.port, "bench@hub.invalid", timeout=10)
    center = notification_center(app, Settings(), channels={"email": channel})
    started = time.perf_counter()
    center.process.catch_up(timeout=600)
    planning = n / (time.perf_counter() - started)
    started = time.perf_counter()
    report = center.dispatcher.deliver_due()
    delivery = report.sent / (time.perf_counter() - started)
    assert report.sent == n, report
    started = time.perf_counter()
    for i in range(n):
        mail = channel.compose(_bench_message(i))
        with smtplib.SMTP(sink.host, sink.port, timeout=10) as smtp:
            smtp.send_message(mail)
    raw = n / (time.perf_counter() - started)
    app.close()
    return {"bookings/s": booking, "planned appointments/s": planning, "sent/s": delivery,
            "raw smtplib/s": raw}


def _bench_message(i: int) -> Outgoing:
    return Outgoing(uuid.uuid4(), "email", f"raw{i}@example.ca", "Ce message est pour confirmer... " * 8,
                    "fr", "Confirmation de votre rendez-vous")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--appointments", type=int, default=300)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    configure_logging("console", "WARNING")
    sink = SmtpSink(port=free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(("sqlite", measure(f"sqlite:///{tmp}/bench.db", args.appointments, sink)))
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        rows.append(("postgres", measure(f"{args.pg}?schema={schema}", args.appointments, sink)))
    finally:
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    controller.stop()
    print("| store | bookings/s | planned appointments/s | sent e-mails/s | raw smtplib/s | sent/raw |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for store, r in rows:
        print(f"| {store} | {r['bookings/s']:.0f} | {r['planned appointments/s']:.0f} | {r['sent/s']:.0f} "
              f"| {r['raw smtplib/s']:.0f} | {r['sent/s'] / r['raw smtplib/s']:.2f} |")


if __name__ == "__main__":
    main()
