"""``hub users create|list|secret-code|reset-password|access|deactivate`` (R1, seed 003).

Secret codes and, without an e-mail relay, reset links are printed alone on the last line of
standard output (shown once: hand them over to the user).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from aggregates.user import Title, UserRole
from entrypoints.cli.tokens import _clinic_ids
from hub.bootstrap import UserAccess, bootstrap, user_access
from hub.settings import Settings

ROLES = ", ".join(r.value for r in UserRole)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("users", help="staff users: add, list, secret codes, resets")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    create = actions.add_parser("create", help="add a user; its secret code is the last line")
    create.add_argument("--email", required=True)
    create.add_argument("--title", required=True, choices=[t.value for t in Title])
    create.add_argument("--first-name", required=True)
    create.add_argument("--last-name", required=True)
    create.add_argument("--role", action="append", required=True, metavar="ROLE",
                        help=f"repeatable: {ROLES}")
    create.add_argument("--clinic", action="append", default=[], metavar="ID",
                        help="clinic id an agenda user acts for (repeatable)")
    create.set_defaults(func=run_create)

    listing = actions.add_parser("list", help="list users (no secrets)")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=run_list)

    code = actions.add_parser("secret-code",
                              help="a new secret code (last line); the old one stops working")
    code.add_argument("user", help="the user's e-mail or id")
    code.set_defaults(func=run_secret_code)

    reset = actions.add_parser(
        "reset-password", help="e-mail a one-time reset link (HUB_SMTP_HOST), or print it")
    reset.add_argument("user", help="the user's e-mail or id")
    reset.add_argument("--print-link", action="store_true",
                       help="print the link instead of e-mailing it")
    reset.set_defaults(func=run_reset)

    access = actions.add_parser("access", help="set a user's roles and clinics (whole lists)")
    access.add_argument("user", help="the user's e-mail or id")
    access.add_argument("--role", action="append", metavar="ROLE", help=f"repeatable: {ROLES}")
    access.add_argument("--clinic", action="append", metavar="ID", help="repeatable")
    access.set_defaults(func=run_access)

    deactivate = actions.add_parser("deactivate", help="the user can no longer sign in")
    deactivate.add_argument("user", help="the user's e-mail or id")
    deactivate.set_defaults(func=run_deactivate)


def _with_users(work: Callable[[UserAccess], Any]) -> Any:
    settings = Settings()
    app = bootstrap(settings)
    access = user_access(app, settings)
    try:
        return work(access)
    finally:
        access.close()
        app.close()


def run_create(args: argparse.Namespace) -> int:
    clinic_ids = _clinic_ids(args.clinic)
    added = _with_users(lambda a: a.users.add(args.email, args.title, args.first_name,
                                              args.last_name, args.role, clinic_ids))
    print(f"user {added.id}  roles {', '.join(args.role)}")
    print(f"secret code valid until {added.expires_at.isoformat(timespec='minutes')}; "
          "it is shown once, below: hand it to the user, who enrols with it")
    print(added.secret_code)
    return 0


def run_list(args: argparse.Namespace) -> int:
    for user in _with_users(lambda a: a.users.all()):
        row = {"id": str(user.id), "email": user.email, "name": f"{user.first_name} {user.last_name}",
               "roles": user.roles, "clinic_ids": [str(c) for c in user.clinic_ids],
               "active": user.active, "enrolled": user.enrolled}
        if args.json:
            print(json.dumps(row, ensure_ascii=False))
            continue
        state = ("deactivated" if not user.active else "enrolled" if user.enrolled
                 else "waiting for enrolment")
        clinics = ",".join(row["clinic_ids"]) or "-"
        print(f"{row['id']}  {user.email:<32} {','.join(user.roles):<28} {clinics}  {state}")
    return 0


def run_secret_code(args: argparse.Namespace) -> int:
    issued = _with_users(lambda a: a.users.new_secret_code(a.users.by_email_or_id(args.user).id))
    print(f"new secret code for {issued.id}, valid until "
          f"{issued.expires_at.isoformat(timespec='minutes')}; the previous one no longer works:")
    print(issued.secret_code)
    return 0


def run_reset(args: argparse.Namespace) -> int:
    def reset(a: UserAccess) -> Any:
        user = a.users.by_email_or_id(args.user)
        send = a.users.mailer is not None and not args.print_link
        return a.users.request_password_reset(user.id, send=send)

    link = _with_users(reset)
    until = link.expires_at.isoformat(timespec="minutes")
    if link.sent:
        print(f"reset link e-mailed to the user's address (valid once, until {until})")
        return 0
    print(f"no e-mail sent; give the user this link (valid once, until {until}):")
    print(link.url)
    return 0


def run_access(args: argparse.Namespace) -> int:
    clinic_ids = None if args.clinic is None else _clinic_ids(args.clinic)

    def change(a: UserAccess) -> Any:
        user = a.users.by_email_or_id(args.user)
        a.users.change_access(user.id, args.role, clinic_ids)
        return a.users.get(user.id)

    user = _with_users(change)
    print(f"user {user.id}  roles {', '.join(user.roles)}  clinics "
          f"{', '.join(str(c) for c in user.clinic_ids) or '-'}")
    return 0


def run_deactivate(args: argparse.Namespace) -> int:
    def deactivate(a: UserAccess) -> Any:
        user = a.users.by_email_or_id(args.user)
        a.users.set_active(user.id, False)
        return user.id

    print(f"user {_with_users(deactivate)} deactivated: its sessions and codes no longer work")
    return 0
