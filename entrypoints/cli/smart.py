"""``hub smart ingest --clinic ID URL``: ingest a SMART Scheduling Links feed into a clinic."""

from __future__ import annotations

import argparse
import json
from uuid import UUID

from aggregates.errors import InvalidValue
from connectors.fhir.smart_scheduling.ingest import FeedIngest
from hub.bootstrap import bootstrap, outbound_client
from hub.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("smart", help="SMART Scheduling Links feeds")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    ingest = actions.add_parser("ingest", help="ingest a $bulk-publish feed into a clinic")
    ingest.add_argument("--clinic", required=True, help="clinic id (UUID)")
    ingest.add_argument("url", help="the feed's manifest URL (ends with $bulk-publish)")
    ingest.set_defaults(func=run_ingest)


def run_ingest(args: argparse.Namespace) -> int:
    try:
        clinic_id = UUID(args.clinic)
    except ValueError:
        raise InvalidValue(f"{args.clinic!r} is not a clinic id (a UUID)") from None
    settings = Settings()
    report = FeedIngest(bootstrap(settings)).ingest(clinic_id, args.url,
                                                     outbound_client(settings).get)
    print(json.dumps(report.as_dict()))
    return 0
