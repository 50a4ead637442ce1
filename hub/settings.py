"""Configuration from the environment (CONTRACT: ``HUB_*`` variables)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the hub reads from its environment; built in ``bootstrap``, never at import."""

    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    database_url: str = "sqlite:///./.hub/hub.db"
    kafka_bootstrap: str = ""
    kafka_topic_prefix: str = "hub"
    kafka_partitions: int = Field(default=3, ge=1)
    timezone: str = "America/Montreal"
    log_format: Literal["console", "json"] = "console"
    log_level: str = "INFO"
    #: PostgreSQL connection pool size for the event store.
    pool_size: int = Field(default=10, ge=1)
    #: Aggregates kept in memory (fast-forwarded from the store on each load); 0 disables.
    aggregate_cache_size: int = Field(default=10_000, ge=0)
    #: How many times a command is retried when another writer got to the slot first.
    max_conflict_retries: int = Field(default=64, ge=1)
    #: Largest HTTP request body the API accepts (bytes); larger ones get 413.
    api_max_body_bytes: int = Field(default=1_048_576, ge=1024)
    #: SMART Scheduling Links: booking portal deep link (``{slot_id}``, ``{clinic_id}``,
    #: ``{service_id}`` are filled in); empty: no booking-deep-link extension is published.
    smart_booking_link: str = ""
    #: ``Cache-Control: max-age`` of the public ``$bulk-publish`` manifest and files (seconds).
    smart_max_age: int = Field(default=60, ge=0)

    #: ``hub serve`` follows the log and keeps the read models current (off: a separate
    #: ``hub projections run`` does it).
    projections_in_server: bool = True
    #: Longest wait of a read given ``?min_position=`` for its projection (seconds).
    read_wait_seconds: float = Field(default=5.0, ge=0, le=60)

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if not url.startswith(("sqlite://", "postgresql://", "postgres://", "memory://")):
            raise ValueError(
                "HUB_DATABASE_URL must start with sqlite:///, postgresql:// or memory://"
            )
        return url

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"HUB_TIMEZONE {zone!r} is not a known IANA time zone") from None
        return zone
