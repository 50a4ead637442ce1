"""``hub mllp --port P`` (the HL7 v2 MLLP listener) and ``hub hl7-outbound`` (SIU to EMRs)."""

from __future__ import annotations

import argparse
import asyncio
import threading

from aggregates.errors import InvalidValue
from hub.bootstrap import bootstrap
from hub.runtime import tune_gc
from hub.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    listener = subparsers.add_parser("mllp", help="accept HL7 v2 SIU over MLLP and answer ACKs")
    listener.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    listener.add_argument("--port", type=int, default=2575, help="TCP port (0: any free port)")
    listener.add_argument("--outbound", action="store_true",
                          help="also send SIU to the EMRs that subscribed (see hl7-outbound)")
    listener.set_defaults(func=run_listener)

    outbound = subparsers.add_parser("hl7-outbound",
                                     help="send each clinic's appointments as SIU to its EMR")
    outbound.add_argument("--once", action="store_true", help="send what is due, then exit")
    outbound.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    outbound.set_defaults(func=run_outbound)


def run_listener(args: argparse.Namespace) -> int:
    from connectors.hl7v2.inbound import Hl7Inbox
    from connectors.hl7v2.mllp import MllpServer, TlsConfigError, tls_server_context
    from connectors.hl7v2.outbound import run_feeds

    if not 0 <= args.port < 65536:
        raise InvalidValue("--port must be between 0 and 65535")
    settings = Settings()
    try:
        tls = tls_server_context(settings.mllp_tls_cert, settings.mllp_tls_key,
                                 settings.mllp_tls_client_ca)
        if settings.mllp_tls_allowed_clients and (tls is None or not settings.mllp_tls_client_ca):
            raise TlsConfigError("HUB_MLLP_TLS_ALLOWED_CLIENTS needs mutual TLS (HUB_MLLP_TLS_CERT, "
                                 "HUB_MLLP_TLS_KEY and HUB_MLLP_TLS_CLIENT_CA)")
    except TlsConfigError as exc:
        raise InvalidValue(str(exc)) from None
    app = bootstrap(settings)
    inbox = Hl7Inbox(app, settings.timezone)
    tune_gc(settings.gc_threshold)
    stop = threading.Event()
    feeds = None
    if args.outbound:
        feeds = threading.Thread(target=run_feeds, args=(app, stop), daemon=True)
        feeds.start()

    async def serve() -> None:
        server = MllpServer(lambda text: inbox.receive(text, "mllp"), args.host, args.port,
                            allowed_peers=settings.mllp_allowed_peers, tls=tls,
                            allowed_client_names=settings.mllp_tls_allowed_clients)
        host, port = await server.start()
        over = "" if tls is None else " over TLS"
        print(f"hub mllp: listening{over} on {host}:{port}", flush=True)
        await server.serve_forever()

    try:
        asyncio.run(serve())
    except OSError as exc:
        raise InvalidValue(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    finally:
        stop.set()
        app.close()
    return 0


def run_outbound(args: argparse.Namespace) -> int:
    from connectors.hl7v2.outbound import DeliveryFailed, run_feeds

    if args.interval <= 0:
        raise InvalidValue("--interval must be positive")
    app = bootstrap()
    try:
        sent = run_feeds(app, threading.Event(), interval=args.interval, once=args.once)
    except DeliveryFailed as exc:
        print(f"hub: {exc}; the feed resumes from the same message next time")
        return 1
    finally:
        app.close()
    print(f"hub hl7-outbound: {sent} SIU messages sent")
    return 0
