"""structlog configuration: console for people, JSON for machines (``HUB_LOG_FORMAT``).

Every line, the hub's own and those of the libraries' standard ``logging`` (uvicorn, Kafka,
eventsourcing), passes through ``redact_personal_data``: no NAM, name, e-mail or phone number
in a log line (Loi 25), and tracebacks carry no local variables.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO, cast

import structlog

from adapters.redaction import exception_processors, redact_personal_data

HANDLER_NAME = "hub"


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is now (it may be replaced after configuration)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _renderer(fmt: str) -> structlog.types.Processor:
    if fmt == "json":
        return structlog.processors.JSONRenderer()
    return structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())


def configure_logging(fmt: str = "console", level: str = "INFO") -> None:
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    tail = [*exception_processors(fmt), redact_personal_data, _renderer(fmt)]
    structlog.configure(
        processors=[*shared, *tail],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=cast(TextIO, _CurrentStderr())),  # write/flush is all it uses
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(cast(TextIO, _CurrentStderr()))
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail],
    ))
    root = logging.getLogger()
    handler.set_name(HANDLER_NAME)
    root.handlers = [h for h in root.handlers if h.get_name() != HANDLER_NAME]
    root.addHandler(handler)
    root.setLevel(max(numeric, logging.WARNING))  # libraries' chatter stays out below WARNING
