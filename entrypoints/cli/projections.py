"""``hub projections run|rebuild|status``: follow the log, rebuild read models, show their lag."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable
from datetime import date, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from tqdm import tqdm

from aggregates.errors import InvalidValue
from hub.bootstrap import bootstrap, build_projector, point_in_time
from hub.readmodels.registry import PROJECTIONS
from hub.runtime import tune_gc
from hub.settings import Settings
from projections.queries import SuiviFilter, suivi


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("projections", help="run, rebuild or inspect the read models")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    names = ", ".join(PROJECTIONS)

    run = actions.add_parser("run", help="follow the event log and keep the read models current")
    run.add_argument("names", nargs="*", metavar="NAME", help=f"projections to run ({names}; default all)")
    run.add_argument("--once", action="store_true", help="catch up with the log's head, then exit")
    run.set_defaults(func=run_projections)

    rebuild = actions.add_parser("rebuild", help="rebuild read models from zero, then swap them in")
    rebuild.add_argument("names", nargs="*", metavar="NAME", help=f"projections to rebuild ({names}; default all)")
    rebuild.add_argument("--chunk", type=int, default=20_000, help="events per checkpoint (default 20000)")
    rebuild.add_argument("--no-progress", action="store_true", help="no progress bar")
    rebuild.set_defaults(func=rebuild_projections)

    status = actions.add_parser("status", help="each projection's position and lag behind the log")
    status.add_argument("--json", action="store_true", help="one JSON object per projection")
    status.set_defaults(func=show_status)

    past = actions.add_parser("suivi", help="a clinic's Suivi list of one day, now or as it was "
                                            "at a past log position (built from the log)")
    past.add_argument("clinic", metavar="CLINIC_ID")
    past.add_argument("--date", help="local day YYYY-MM-DD (default today)")
    past.add_argument("--as-of-position", type=int, metavar="N",
                      help="the list as it was when the log reached position N")
    past.add_argument("--json", action="store_true", help="one JSON object per row")
    past.add_argument("--no-progress", action="store_true", help="no progress bar")
    past.set_defaults(func=show_suivi)


def _names(names: list[str]) -> list[str]:
    unknown = [n for n in names if n not in PROJECTIONS]
    if unknown:
        raise InvalidValue(f"unknown projection {', '.join(unknown)}; known: {', '.join(PROJECTIONS)}")
    return names or list(PROJECTIONS)


def run_projections(args: argparse.Namespace) -> int:
    names = _names(args.names)
    settings = Settings()
    projector = build_projector(bootstrap(settings), names, settings)
    tune_gc(settings.gc_threshold)  # as in hub serve: the runner's batches make the young objects
    if args.once:
        for name, position in projector.catch_up(timeout=3600).items():
            print(f"{name}: at position {position}")
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"following the event log for {', '.join(names)} (Ctrl-C to stop)", file=sys.stderr)
    try:
        projector.run(stop)
    except KeyboardInterrupt:
        stop.set()
    return 0


def _bar(name: str, enabled: bool, bars: list[tqdm]) -> Callable[[int, int], Callable[[int], None]]:
    def start(position: int, target: int) -> Callable[[int], None]:
        bar = tqdm(total=target, initial=position, unit="ev", unit_scale=True, desc=name,
                   disable=not enabled, file=sys.stderr, dynamic_ncols=True)
        bars.append(bar)
        if position:
            tqdm.write(f"{name}: resuming the rebuild at position {position} of {target}", file=sys.stderr)
        return bar.update

    return start


def rebuild_projections(args: argparse.Namespace) -> int:
    if args.chunk < 1:
        raise InvalidValue("--chunk must be at least 1")
    names = _names(args.names)
    settings = Settings()
    projector = build_projector(bootstrap(settings), names, settings)
    for name in names:
        bars: list[tqdm] = []
        position = projector.rebuild(name, chunk=args.chunk,
                                     progress=_bar(name, not args.no_progress, bars))
        for bar in bars:
            bar.close()
        print(f"{name}: rebuilt and swapped in at position {position}")
    return 0


def show_status(args: argparse.Namespace) -> int:
    settings = Settings()
    projector = build_projector(bootstrap(settings), None, settings)
    for s in projector.status():
        rebuilding = "" if s.rebuilding_at is None else f"  (rebuild in progress at {s.rebuilding_at})"
        if args.json:
            print(json.dumps({"name": s.name, "position": s.position, "head": s.head, "lag": s.lag,
                              "rebuilding_at": s.rebuilding_at}))
        else:
            print(f"{s.name:<14} position {s.position:>9}  head {s.head:>9}  lag {s.lag:>7}{rebuilding}")
    return 0


def show_suivi(args: argparse.Namespace) -> int:
    """``hub projections suivi``: from the live read model, or rebuilt from the log up to N."""
    settings = Settings()
    zone = ZoneInfo(settings.timezone)
    try:
        clinic = UUID(args.clinic)
        day = date.fromisoformat(args.date) if args.date else datetime.now(zone).date()
    except ValueError:
        raise InvalidValue("CLINIC_ID must be a UUID and --date YYYY-MM-DD") from None
    if args.as_of_position is not None and args.as_of_position < 1:
        raise InvalidValue("--as-of-position must be a log position, 1 or more")
    app = bootstrap(settings)
    bars: list[tqdm] = []
    if args.as_of_position is None:
        projector = build_projector(app, ["suivi"], settings)
        projector.catch_up()
        model = projector.get("suivi").view
    else:
        model = point_in_time(app, "suivi", settings).view(
            args.as_of_position, progress=_bar("suivi as of", not args.no_progress, bars))
    for bar in bars:
        bar.close()
    for item in suivi(model, SuiviFilter(str(clinic), day), zone, limit=10_000):
        if args.json:
            print(json.dumps(item, ensure_ascii=False, default=str))
        else:
            print(f"{item['time']}  {item['status']:<9} {item['patient_name']:<28} {item['nam']}  "
                  f"{item['service'] or ''}  {item['professional'] or ''}")
    return 0


def suivi_table(app: object, settings: Settings, clinic_id: object, day: date) -> list[dict[str, str]]:
    """The Suivi list of a clinic's day as printable rows, read from the Suivi projection."""
    zone = ZoneInfo(settings.timezone)
    projector = build_projector(app, ["suivi"], settings)
    projector.catch_up()
    items = suivi(projector.get("suivi").view, SuiviFilter(str(clinic_id), day), zone, limit=1_000)
    return [{
        "time": i["time"], "patient": i["patient_name"], "nam": i["nam"], "service": i["service"] or "",
        "product": i["product"] or "", "professional": i["professional"] or "", "source": i["source"],
        "status": i["status"], "confirmation": _confirmation(i["confirmation"]),
        "account": f"{i['account']['identity']}/{i['account']['association']}",
    } for i in items]


def _confirmation(confirmation: dict | None) -> str:
    if not confirmation:
        return ""
    return f"{confirmation['status'].replace('_', ' ')} ({confirmation['channel']})"
