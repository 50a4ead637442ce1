"""``hub relay [--once] [--status]``: publish stored events to Kafka (CONTRACT)."""

from __future__ import annotations

import argparse
import json
import signal
import sys

from adapters.leases import LeaseLost
from aggregates.errors import Conflict
from hub.bootstrap import build_relay
from hub.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "relay", help="publish every stored event to Kafka, in order (outbox relay)"
    )
    parser.add_argument("--once", action="store_true", help="publish up to the store's head, then exit")
    parser.add_argument("--status", action="store_true", help="print position, store head and lag")
    parser.add_argument("--json", action="store_true", help="with --status: one JSON object")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = Settings()
    if args.status:
        return _status(settings, args.json)
    if not settings.kafka_bootstrap:
        print(
            "hub relay: HUB_KAFKA_BOOTSTRAP is empty: set it to the broker address (host:port) "
            "to publish; until then events stay in the store and nothing is lost",
            file=sys.stderr,
        )
        return 2
    relay = build_relay(settings)
    signal.signal(signal.SIGTERM, lambda *_: relay.stop_event.set())
    try:
        count = relay.run(once=args.once)
    except LeaseLost:
        raise Conflict(
            "another relay holds the lease on this store; run `hub relay --status` to see it"
        ) from None
    except KeyboardInterrupt:
        relay.stop_event.set()
        return 130
    if args.once:
        print(f"published {count} events; position {relay.position}")
    return 0


def _status(settings: Settings, as_json: bool) -> int:
    relay = build_relay(settings.model_copy(update={"kafka_bootstrap": ""}), configure_logs=False)
    status = relay.status()
    lease = status.lease
    if as_json:
        print(json.dumps({"position": status.position, "head": status.head, "lag": status.lag,
                          "lease": {"held": lease.held, "holder": lease.holder,
                                    "expires_in": lease.expires_in}}))
        return 0
    print(f"position: {status.position}")
    print(f"head:     {status.head}")
    print(f"lag:      {status.lag}")
    if lease.held:
        expiry = f", expires in {lease.expires_in:g}s" if lease.expires_in is not None else ""
        print(f"lease:    held by {lease.holder}{expiry}")
    else:
        print("lease:    free (no relay running)")
    return 0
