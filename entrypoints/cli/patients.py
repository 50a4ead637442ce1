"""``hub patients erase PATIENT_ID``: erase a patient's personal data (docs/privacy.md)."""

from __future__ import annotations

import argparse
import json
from uuid import UUID

from adapters.sqlaccessstore import access_store_for
from aggregates.errors import InvalidValue
from hub.bootstrap import bootstrap
from hub.privacy.erasure import Erasure


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("patients", help="patients' personal data (erasure)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    erase = actions.add_parser("erase", help="make a patient's personal data unreadable everywhere")
    erase.add_argument("patient_id", help="the patient's id (UUID)")
    erase.set_defaults(func=run_erase)


def run_erase(args: argparse.Namespace) -> int:
    try:
        patient_id = UUID(args.patient_id)
    except ValueError:
        raise InvalidValue(f"{args.patient_id!r} is not a patient id (a UUID)") from None
    app = bootstrap()
    try:
        report = Erasure(app, access_store_for(app.recorder)).erase(patient_id)
    finally:
        app.close()
    print(json.dumps(report.as_dict()))
    return 0
