"""The one place where settings, the event store and the application are wired together."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from adapters.eventstore import persistence_env
from hub.logging import configure_logging
from hub.scheduling import Scheduling
from hub.settings import Settings


def bootstrap(
    settings: Settings | None = None,
    clock: Callable[[], datetime] | None = None,
    configure_logs: bool = True,
) -> Scheduling:
    """Build the scheduling application on the configured store (tables created on first use)."""
    settings = settings or Settings()
    if configure_logs:
        configure_logging(settings.log_format, settings.log_level)
    env = persistence_env(settings.database_url, pool_size=settings.pool_size)
    if settings.aggregate_cache_size:
        env["AGGREGATE_CACHE_MAXSIZE"] = str(settings.aggregate_cache_size)
        env["AGGREGATE_CACHE_FASTFORWARD"] = "y"
    return Scheduling(env=env, clock=clock, max_conflict_retries=settings.max_conflict_retries)
