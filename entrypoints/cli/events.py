"""``hub events`` (the global log in order) and ``hub audit ID`` (one aggregate's history)."""

from __future__ import annotations

import argparse
import json
from uuid import UUID

from aggregates.errors import InvalidValue, NotFound
from hub.bootstrap import bootstrap
from projections.eventlog import EventRecord, describe


def register(subparsers: argparse._SubParsersAction) -> None:
    events = subparsers.add_parser("events", help="print the global event log in order")
    events.add_argument("--after", type=int, default=0, help="start after this log position")
    events.add_argument("--limit", type=int, default=100, help="at most this many events")
    events.add_argument("--json", action="store_true", help="one JSON object per line")
    events.set_defaults(func=run_events)

    audit = subparsers.add_parser("audit", help="print one aggregate's full history")
    audit.add_argument("id", help="aggregate id (UUID)")
    audit.add_argument("--json", action="store_true", help="one JSON object per line")
    audit.set_defaults(func=run_audit)


def _print(records: list[EventRecord], as_json: bool) -> None:
    for record in records:
        if as_json:
            print(json.dumps(record.as_dict(), ensure_ascii=False))
        else:
            who = record.meta.get("subject", "?")
            role = record.meta.get("role", "?")
            print(
                f"{record.position:>8}  {record.time:%Y-%m-%d %H:%M:%S}  "
                f"{record.aggregate_type:<12} {record.type:<18} v{record.version:<4} "
                f"{record.aggregate_id}  by {who} ({role})"
            )


def run_events(args: argparse.Namespace) -> int:
    if args.after < 0 or not 1 <= args.limit <= 10_000:
        raise InvalidValue("--after must be ≥ 0 and --limit between 1 and 10000")
    app = bootstrap()
    notifications = app.recorder.select_notifications(start=args.after + 1, limit=args.limit)
    _print([describe(n, app.mapper) for n in notifications], args.json)
    return 0


def run_audit(args: argparse.Namespace) -> int:
    try:
        aggregate_id = UUID(args.id)
    except ValueError:
        raise InvalidValue(f"{args.id!r} is not an aggregate id (a UUID)") from None
    app = bootstrap()
    stored = app.events.recorder.select_events(aggregate_id)
    if not stored:
        raise NotFound(f"no events for aggregate {aggregate_id}")
    _print([describe(s, app.mapper) for s in stored], args.json)
    return 0
