"""Builds a relay from the environment (``HUB_*`` and ``HUB_RELAY_*``): store, lease, publisher."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from adapters.kafka import KafkaPublisher, ProducerOptions
from hub.bootstrap import bootstrap
from hub.outbox.gaps import gap_guard_for
from hub.outbox.lease import InProcessLease, Lease, PostgresLease, SqliteLease
from hub.outbox.relay import TRACKING_NAME, Relay, RelayOptions
from hub.settings import Settings


class RelaySettings(BaseSettings):
    """Tuning of ``hub relay`` (``HUB_RELAY_*``); the defaults suit production."""

    model_config = SettingsConfigDict(env_prefix="HUB_RELAY_", extra="ignore")

    batch_size: int = Field(default=500, ge=1, le=10_000)
    poll_interval: float = Field(default=0.05, gt=0, le=10)
    send_timeout: float = Field(default=10.0, gt=0, le=300)
    max_in_flight: int = Field(default=1, ge=1, le=5)
    linger_ms: int = Field(default=5, ge=0, le=1000)
    backoff_max: float = Field(default=30.0, gt=0, le=600)
    lease_ttl: float = Field(default=30.0, gt=0, le=3600)
    replication_factor: int = Field(default=1, ge=1)
    ce_source: str = "/hub"


def lease_for(app: Any, settings: Settings, relay: RelaySettings) -> Lease:
    module = type(app.recorder).__module__
    if module.startswith("eventsourcing.postgres"):
        schema = app.recorder.datastore.schema or "public"
        return PostgresLease(settings.database_url, f"hub-relay:{schema}.{app.recorder.events_table_name}")
    if module.startswith("eventsourcing.sqlite"):
        ttl = max(relay.lease_ttl, relay.send_timeout * 2)
        return SqliteLease(app.recorder.datastore, TRACKING_NAME, ttl=ttl)
    return InProcessLease()


def build_relay(
    settings: Settings | None = None,
    relay_settings: RelaySettings | None = None,
    app: Any = None,
    configure_logs: bool = True,
) -> Relay:
    """The relay on the configured store; the publisher only when ``HUB_KAFKA_BOOTSTRAP`` is set."""
    settings = settings or Settings()
    relay_settings = relay_settings or RelaySettings()
    app = app or bootstrap(settings, configure_logs=configure_logs)
    publisher = None
    if settings.kafka_bootstrap:
        publisher = KafkaPublisher(
            ProducerOptions(
                bootstrap=settings.kafka_bootstrap,
                partitions=settings.kafka_partitions,
                replication_factor=relay_settings.replication_factor,
                send_timeout=relay_settings.send_timeout,
                max_in_flight=relay_settings.max_in_flight,
                linger_ms=relay_settings.linger_ms,
            )
        )
    options = RelayOptions(
        topic_prefix=settings.kafka_topic_prefix,
        ce_source=relay_settings.ce_source,
        batch_size=relay_settings.batch_size,
        poll_interval=relay_settings.poll_interval,
        backoff_max=relay_settings.backoff_max,
    )
    return Relay(app, publisher, lease_for(app, settings, relay_settings), gap_guard_for(app.recorder), options)
