"""``hub relay [--once] [--status]``: publish stored events to Kafka (CONTRACT);
``hub relay replay --from N --to M [--topic-prefix P]``: publish a range again (docs/relay.md)."""

from __future__ import annotations

import argparse
import json
import signal
import sys

from tqdm import tqdm

from adapters.kafka import BrokerUnavailable
from adapters.leases import LeaseLost
from aggregates.errors import Conflict
from hub.relay.wiring import build_relay, build_replay
from hub.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "relay", help="publish every stored event to Kafka, in order (outbox relay)"
    )
    parser.add_argument("--once", action="store_true", help="publish up to the store's head, then exit")
    parser.add_argument("--status", action="store_true", help="print position, store head and lag")
    parser.add_argument("--json", action="store_true", help="with --status: one JSON object")
    parser.set_defaults(func=run)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    replay = actions.add_parser(
        "replay", help="publish a range of the log again (same ce_id), for a consumer that lost "
                       "data; the relay's position does not move")
    replay.add_argument("--from", dest="start", type=int, required=True, metavar="N",
                        help="first log position to publish")
    replay.add_argument("--to", dest="stop", type=int, required=True, metavar="M",
                        help="last log position to publish (at most the log's head)")
    replay.add_argument("--topic-prefix", metavar="P",
                        help="publish to P.{type} topics (default HUB_KAFKA_TOPIC_PREFIX)")
    replay.add_argument("--no-progress", action="store_true", help="no progress bar")
    replay.add_argument("--json", action="store_true", help="print the outcome as one JSON object")
    replay.set_defaults(func=run_replay)


def run(args: argparse.Namespace) -> int:
    settings = Settings()
    if args.status:
        return _status(settings, args.json)
    if not settings.kafka_bootstrap:
        return _no_broker()
    relay = build_relay(settings)
    signal.signal(signal.SIGTERM, lambda *_: relay.stop_event.set())
    try:
        count = relay.run(once=args.once)
    except LeaseLost:
        raise Conflict(
            "another relay holds the lease on this store; run `hub relay --status` to see it"
        ) from None
    except BrokerUnavailable:
        print(f"hub relay --once: the Kafka broker at {settings.kafka_bootstrap} did not answer "
              f"within {settings.relay_once_deadline_seconds:g} s; nothing is lost: published up "
              f"to position {relay.position}, run it again when the broker is back",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        relay.stop_event.set()
        return 130
    if args.once:
        print(f"published {count} events; position {relay.position}")
    return 0


def _no_broker() -> int:
    print(
        "hub relay: HUB_KAFKA_BOOTSTRAP is empty: set it to the broker address (host:port) "
        "to publish; until then events stay in the store and nothing is lost",
        file=sys.stderr,
    )
    return 2


def run_replay(args: argparse.Namespace) -> int:
    """Publish ``--from``..``--to`` again, with a progress bar on a terminal."""
    settings = Settings()
    if not settings.kafka_bootstrap:
        return _no_broker()
    replay = build_replay(settings, topic_prefix=args.topic_prefix)
    replay.check(args.start, args.stop)  # a bad range is refused before anything is sent
    bar = tqdm(total=args.stop - args.start + 1, unit="pos", unit_scale=True, desc="replay",
               disable=True if args.no_progress else None, file=sys.stderr)
    try:
        report = replay.run(args.start, args.stop, progress=bar.update)
    except BrokerUnavailable as exc:
        bar.close()
        done = replay.reached
        again = f"rerun with --from {done + 1}" if done >= args.start else "rerun the same command"
        print(f"hub relay replay: kafka broker unavailable ({exc}); positions {args.start}..{done} "
              f"were published, {again}", file=sys.stderr)
        return 1
    finally:
        replay.publisher.close()
        replay.app.close()
    bar.close()
    if args.json:
        print(json.dumps(vars(report)))
    else:
        span = f"positions {report.first}..{report.last}" if report.published else "no event"
        print(f"replayed {report.published} events ({span} of {report.start}..{report.stop}) "
              f"to {report.topic_prefix}.* topics; the relay's position did not move")
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
