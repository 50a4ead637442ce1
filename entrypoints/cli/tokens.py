"""``hub tokens create|rotate|revoke|list``: API tokens in the configured store's database.

Tokens expire (``--expires-in``, default ``HUB_TOKEN_TTL_DAYS`` = 90 days); ``rotate`` gives a
token a successor and keeps the old secret working ``--grace`` (default
``HUB_TOKEN_ROTATION_GRACE_MINUTES`` = 60) more.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from uuid import UUID

from adapters.sqlaccessstore import access_store_for
from aggregates.clinic import Clinic
from aggregates.errors import InvalidValue
from hub.access.tokens import issue, parse_duration, revoke, rotate, state_of
from hub.bootstrap import bootstrap
from hub.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("tokens", help="create, revoke or list API tokens")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="issue a token (printed alone on the last line)")
    create.add_argument("--role", required=True,
                        help="emr, portal, clinic_staff (need --clinic), ops or admin")
    create.add_argument("--clinic", action="append", default=[], metavar="ID",
                        help="clinic id the token acts for (repeatable)")
    create.add_argument("--expires-in", metavar="DURATION",
                        help="lifetime, e.g. 90d, 12h, 30m (default HUB_TOKEN_TTL_DAYS, 90 days)")
    create.set_defaults(func=run_create)
    rot = actions.add_parser("rotate", help="replace a token by a new one (printed alone on "
                             "the last line); the old one works --grace more")
    rot.add_argument("token", help="the token's subject (tok_...) or the token")
    rot.add_argument("--grace", metavar="DURATION",
                     help="how long the old token keeps working, e.g. 1h, 0m (default "
                     "HUB_TOKEN_ROTATION_GRACE_MINUTES, 60 minutes)")
    rot.add_argument("--expires-in", metavar="DURATION",
                     help="lifetime of the new token (default HUB_TOKEN_TTL_DAYS)")
    rot.set_defaults(func=run_rotate)
    rev = actions.add_parser("revoke", help="revoke a token by its subject (tok_...) or itself")
    rev.add_argument("token", help="the token's subject (tok_...) or the token")
    rev.set_defaults(func=run_revoke)
    lst = actions.add_parser("list", help="list tokens (subjects, roles, clinics, expiry; no "
                             "secrets)")
    lst.set_defaults(func=run_list)


def _clinic_ids(values: list[str]) -> list[UUID]:
    ids = []
    for value in values:
        try:
            ids.append(UUID(value))
        except ValueError:
            raise InvalidValue(f"--clinic {value!r} is not a clinic id (a UUID)") from None
    return ids


def _duration(text: str | None, what: str, allow_zero: bool = False) -> timedelta | None:
    return None if text is None else parse_duration(text, what, allow_zero)


def run_create(args: argparse.Namespace) -> int:
    clinic_ids = _clinic_ids(args.clinic)
    expires_in = _duration(args.expires_in, "--expires-in")
    settings = Settings()
    now = datetime.now(UTC)
    scheduling = bootstrap(settings)
    try:
        for clinic_id in clinic_ids:
            scheduling.load(Clinic, clinic_id, "clinic")
        principal, secret = issue(access_store_for(scheduling.recorder), args.role, clinic_ids,
                                  expires_in=expires_in, now=now,
                                  default_ttl=timedelta(days=settings.token_ttl_days))
    finally:
        scheduling.close()
    clinics = ", ".join(str(c) for c in sorted(principal.clinic_ids, key=str)) or "all clinics"
    expires = now + (expires_in or timedelta(days=settings.token_ttl_days))
    print(f"subject {principal.subject}  role {principal.role.value}  clinics {clinics}  "
          f"expires {expires.isoformat(timespec='seconds')}")
    print("the token is shown once, below; store it safely:")
    print(secret)
    return 0


def run_rotate(args: argparse.Namespace) -> int:
    grace = _duration(args.grace, "--grace", allow_zero=True)
    expires_in = _duration(args.expires_in, "--expires-in")
    settings = Settings()
    scheduling = bootstrap(settings)
    try:
        old, new, secret = rotate(
            access_store_for(scheduling.recorder), args.token,
            grace=timedelta(minutes=settings.token_rotation_grace_minutes) if grace is None else grace,
            expires_in=expires_in, default_ttl=timedelta(days=settings.token_ttl_days))
    finally:
        scheduling.close()
    print(f"rotated {old.subject}: it keeps working until {old.expires_at}")
    print(f"subject {new.subject}  role {new.role}  expires {new.expires_at}")
    print("the new token is shown once, below; store it safely:")
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
        state = state_of(record)
        if state == "revoked":
            state = f"revoked {record.revoked_at}"
        elif state == "rotated":
            state = f"rotated to {record.rotated_to}, works until {record.expires_at}"
        elif state == "no_expiry":
            state = "NO EXPIRY (made before tokens expired): rotate it"
        elif state == "expired":
            state = f"expired {record.expires_at}"
        else:
            state = f"{state}, expires {record.expires_at}"
        if record.rotated_to and "rotated to" not in state:
            state += f" (rotated to {record.rotated_to})"
        clinics = ",".join(record.clinic_ids) or "all"
        print(f"{record.subject}  {record.role:<12} {clinics}  created {record.created_at}  {state}")
    return 0
