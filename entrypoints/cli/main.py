"""The ``hub`` command line (CONTRACT): each subcommand lives in a module of ``entrypoints/cli/``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import structlog
from pydantic import ValidationError

from aggregates.errors import DomainError
from entrypoints.cli import (
    demo,
    events,
    imports,
    mllp,
    notifications,
    patients,
    projections,
    relay,
    serve,
    smart,
    tokens,
    users,
)

#: Every subcommand module, in ``hub --help`` order; each has ``register(subparsers)``, which
#: sets ``func`` on its parser. Add yours here.
COMMANDS = (demo, events, tokens, users, serve, imports, smart, mllp, projections, notifications, relay,
            patients)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hub",
        description="Event-sourced appointment hub for Quebec clinics (see README).",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors()
        )
        print(f"hub: invalid configuration or input: {problems}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"hub: {exc.message} ({exc.code})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - last line of defence: no traceback for users
        structlog.get_logger("entrypoints.cli.main").exception("command failed")
        print(f"hub: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
