"""``hub events`` (the global log in order), ``hub audit ID`` (one aggregate's history) and
``hub audit export`` (the audit trail as CSV or NDJSON, docs/audit.md)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import date, datetime, time
from typing import Any, TextIO
from uuid import UUID
from zoneinfo import ZoneInfo

from tqdm import tqdm

from aggregates.clinic import Clinic
from aggregates.errors import InvalidValue, NotFound
from hub.audit.export import FIELDS, AuditExport, AuditFilter
from hub.bootstrap import bootstrap
from hub.settings import Settings
from projections.eventlog import EventRecord, describe

EXPORT_OPTIONS = ("clinic", "since", "format", "output")


def register(subparsers: argparse._SubParsersAction) -> None:
    events = subparsers.add_parser("events", help="print the global event log in order")
    events.add_argument("--after", type=int, default=0, help="start after this log position")
    events.add_argument("--limit", type=int, default=100, help="at most this many events")
    events.add_argument("--json", action="store_true", help="one JSON object per line")
    events.set_defaults(func=run_events)

    audit = subparsers.add_parser(
        "audit", help="print one aggregate's full history; `hub audit export`: the audit trail",
        description="hub audit ID [--json]: one aggregate's history. hub audit export [--clinic ID] "
                    "[--since T] --format csv|ndjson [--output FILE]: every event with who, when, "
                    "what and source, from the log.")
    audit.add_argument("id", metavar="ID|export", help="aggregate id (UUID), or `export`")
    audit.add_argument("--json", action="store_true", help="one JSON object per line")
    export = audit.add_argument_group("export (hub audit export)")
    export.add_argument("--clinic", metavar="ID", help="only this clinic's events")
    export.add_argument("--since", metavar="T", help="only events at or after T (ISO 8601 instant, "
                        "or a date: local midnight in HUB_TIMEZONE)")
    export.add_argument("--format", choices=("csv", "ndjson"), help="csv (default) or ndjson")
    export.add_argument("--output", metavar="FILE", help="write there instead of standard output")
    export.add_argument("--no-progress", action="store_true", help="no progress bar")
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
    _print([describe(n, app.sealed_mapper()) for n in notifications], args.json)
    return 0


def run_audit(args: argparse.Namespace) -> int:
    if args.id == "export":
        return run_export(args)
    given = [f"--{o}" for o in EXPORT_OPTIONS if getattr(args, o) is not None]
    if given:
        raise InvalidValue(f"{', '.join(given)} apply to `hub audit export` only")
    try:
        aggregate_id = UUID(args.id)
    except ValueError:
        raise InvalidValue(f"{args.id!r} is not an aggregate id (a UUID)") from None
    app = bootstrap()
    stored = app.events.recorder.select_events(aggregate_id)
    if not stored:
        raise NotFound(f"no events for aggregate {aggregate_id}")
    _print([describe(s, app.sealed_mapper()) for s in stored], args.json)
    return 0


def _since(text: str | None, zone: ZoneInfo) -> datetime | None:
    if text is None:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), zone)
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidValue(f"--since {text!r} is neither an ISO 8601 instant "
                           "(2026-11-30T08:00:00-05:00) nor a date (2026-11-30)") from None
    return instant if instant.tzinfo else instant.replace(tzinfo=zone)


def run_export(args: argparse.Namespace) -> int:
    """Every event the filter keeps, in log order, as CSV or NDJSON; a progress bar on stderr."""
    settings = Settings()
    since = _since(args.since, ZoneInfo(settings.timezone))
    clinic = None
    if args.clinic is not None:
        try:
            clinic = UUID(args.clinic)
        except ValueError:
            raise InvalidValue(f"--clinic {args.clinic!r} is not a clinic id (a UUID)") from None
    app = bootstrap(settings)
    try:
        if clinic is not None:
            app.load(Clinic, clinic, "clinic")
        export = AuditExport(app)
        stop = export.head()
        out: TextIO = open(args.output, "w", newline="", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115 - closed below
        bar = tqdm(total=stop, unit="ev", unit_scale=True, desc="audit export", file=sys.stderr,
                   disable=True if args.no_progress else None)
        try:
            count = _write(export.rows(AuditFilter(clinic, since), stop, bar.update), out,
                           args.format or "csv")
        finally:
            bar.close()
            if out is not sys.stdout:
                out.close()
    finally:
        app.close()
    if args.output:
        print(f"hub audit export: {count} events written to {args.output}", file=sys.stderr)
    return 0


def _write(rows: Any, out: TextIO, form: str) -> int:
    count = 0
    if form == "csv":
        writer = csv.DictWriter(out, fieldnames=FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "data": json.dumps(row["data"], ensure_ascii=False)})
            count += 1
    else:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count
