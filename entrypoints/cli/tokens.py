"""``hub tokens create|revoke|list``: API tokens in the configured store's database."""

from __future__ import annotations

import argparse
from uuid import UUID

from adapters.accessstore import access_store_for
from aggregates.clinic import Clinic
from aggregates.errors import InvalidValue
from hub.access.tokens import issue, revoke
from hub.bootstrap import bootstrap


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("tokens", help="create, revoke or list API tokens")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="issue a token (printed alone on the last line)")
    create.add_argument("--role", required=True,
                        help="emr, portal, clinic_staff (need --clinic), ops or admin")
    create.add_argument("--clinic", action="append", default=[], metavar="ID",
                        help="clinic id the token acts for (repeatable)")
    create.set_defaults(func=run_create)
    rev = actions.add_parser("revoke", help="revoke a token by its subject (tok_...) or itself")
    rev.add_argument("token", help="the token's subject (tok_...) or the token")
    rev.set_defaults(func=run_revoke)
    lst = actions.add_parser("list", help="list tokens (subjects, roles, clinics; no secrets)")
    lst.set_defaults(func=run_list)


def _clinic_ids(values: list[str]) -> list[UUID]:
    ids = []
    for value in values:
        try:
            ids.append(UUID(value))
        except ValueError:
            raise InvalidValue(f"--clinic {value!r} is not a clinic id (a UUID)") from None
    return ids


def run_create(args: argparse.Namespace) -> int:
    clinic_ids = _clinic_ids(args.clinic)
    scheduling = bootstrap()
    try:
        for clinic_id in clinic_ids:
            scheduling.load(Clinic, clinic_id, "clinic")
        principal, secret = issue(access_store_for(scheduling.recorder), args.role, clinic_ids)
    finally:
        scheduling.close()
    clinics = ", ".join(str(c) for c in sorted(principal.clinic_ids, key=str)) or "all clinics"
    print(f"subject {principal.subject}  role {principal.role.value}  clinics {clinics}")
    print("the token is shown once, below; store it safely:")
    print(secret)
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    scheduling = bootstrap()
    try:
        subject = revoke(access_store_for(scheduling.recorder), args.token)
    finally:
        scheduling.close()
    print(f"revoked {subject}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    scheduling = bootstrap()
    try:
        records = access_store_for(scheduling.recorder).tokens()
    finally:
        scheduling.close()
    for record in records:
        state = f"revoked {record.revoked_at}" if record.revoked_at else "live"
        clinics = ",".join(record.clinic_ids) or "all"
        print(f"{record.subject}  {record.role:<12} {clinics}  created {record.created_at}  {state}")
    return 0
