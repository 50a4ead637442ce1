"""``hub serve [--host H] [--port P] [--workers N]``: the HTTP API under uvicorn, its workers
and its read models supervised by ``entrypoints.cli.workers``."""

from __future__ import annotations

import argparse
from typing import Any

from hub.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="serve the HTTP API and the console (uvicorn)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from hub.logging import configure_logging

    settings = Settings()  # validated before the server starts: a bad variable exits cleanly
    configure_logging(settings.log_format, settings.log_level)
    if not 0 < args.port < 65536 or args.workers < 1:
        print("hub: --port must be 1-65535 and --workers at least 1")
        return 2
    options: dict[str, Any] = {
        "factory": True, "host": args.host, "port": args.port, "workers": args.workers,
        "log_level": settings.log_level.lower(), "access_log": False,
        "log_config": None,  # uvicorn logs through ours (redacted, see hub.logging)
    }
    if args.workers > 1 or settings.projections_in_server:
        # connections handed to the least loaded worker, the read models kept in a process of
        # their own beside the workers (entrypoints.cli.workers)
        from entrypoints.cli.workers import serve_workers

        return serve_workers(uvicorn.Config("entrypoints.web:create_web_app", **options),
                             args.workers, read_models=settings.projections_in_server)
    uvicorn.run("entrypoints.web:create_web_app", **options)
    return 0
