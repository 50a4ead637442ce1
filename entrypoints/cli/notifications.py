"""``hub notifications run [--once]`` (send what is due), ``list ID``, ``portal NAME``."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from uuid import UUID

import structlog

from aggregates.errors import InvalidValue
from hub.bootstrap import bootstrap, notification_center
from hub.settings import Settings
from projections.eventlog import to_jsonable


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("notifications", help="patient messages: send, list, configure")
    commands = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    run = commands.add_parser("run", help="plan and send the messages that are due")
    run.add_argument("--once", action="store_true", help="one round, then exit")
    run.set_defaults(func=run_delivery)
    show = commands.add_parser("list", help="one appointment's messages")
    show.add_argument("appointment_id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=run_list)
    portal = commands.add_parser("portal", help="whether a booking portal notifies by itself (N4)")
    portal.add_argument("name", help="the portal's token subject, or a source (portal, citizen)")
    group = portal.add_mutually_exclusive_group(required=True)
    group.add_argument("--notifies-itself", dest="notifies", action="store_true")
    group.add_argument("--hub-notifies", dest="notifies", action="store_false")
    portal.set_defaults(func=run_portal)


def _center():
    settings = Settings()
    return notification_center(bootstrap(settings), zone=settings.timezone)


def run_delivery(args: argparse.Namespace) -> int:
    """SIGTERM/SIGINT stop after the message in flight (its outcome is recorded)."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    center = _center()
    if args.once:
        report = center.run_once(stop.is_set)
        print(" ".join(f"{k}={v}" for k, v in vars(report).items()))
        return 1 if report.errors else 0
    structlog.get_logger("hub.notifications").info("notification sender started")
    center.run_forever(stop)
    return 0


def run_list(args: argparse.Namespace) -> int:
    try:
        appointment_id = UUID(args.appointment_id)
    except ValueError:
        raise InvalidValue(f"{args.appointment_id!r} is not an appointment id (a UUID)") from None
    notifications, communication = _center().for_appointment(appointment_id)
    for n in notifications:
        row = {"id": n.id, "kind": n.kind, "channel": n.channel, "address": n.address,
               "language": n.language, "due_at": n.due_at, "status": n.status, "sent_at": n.sent_at}
        if args.json:
            print(json.dumps(to_jsonable(row), ensure_ascii=False))
        else:
            print(f"{n.kind:<13} {n.channel:<6} {n.address:<32} due {n.due_at:%Y-%m-%d %H:%M}Z  {n.status}")
    if communication is not None and communication.status and not args.json:
        print(f"status: {communication.status} by {communication.channel} "
              f"at {communication.at:%Y-%m-%d %H:%M}Z ({communication.address or ''})")
    return 0


def run_portal(args: argparse.Namespace) -> int:
    position = _center().set_portal(args.name, args.notifies)
    who = "the portal notifies its patients itself" if args.notifies else "the hub notifies"
    print(f"{args.name}: {who} (log position {position})")
    return 0
