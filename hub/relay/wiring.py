"""The Kafka relay and its replay wired from the settings (``hub relay``, ``hub relay replay``)."""

from __future__ import annotations

from typing import Any

from adapters.kafka import KafkaPublisher, ProducerOptions
from adapters.leases import InProcessLease, Lease, PostgresLease, SqliteLease
from adapters.loggaps import gap_guard_for
from adapters.pgrecorder import is_postgres
from hub.bootstrap import bootstrap
from hub.follow import LogReader
from hub.relay.relay import TRACKING_NAME, Relay, RelayOptions
from hub.relay.replay import Replay
from hub.settings import Settings


def relay_lease(app: Any, settings: Settings) -> Lease:
    """The relay's single-writer lease, in the store itself."""
    module = type(app.recorder).__module__
    if is_postgres(app.recorder):
        schema = app.recorder.datastore.schema or "public"
        return PostgresLease(settings.database_url, f"hub-relay:{schema}.{app.recorder.events_table_name}")
    if module.startswith("eventsourcing.sqlite"):
        ttl = max(settings.relay_lease_ttl, settings.relay_send_timeout * 2)
        return SqliteLease(app.recorder.datastore, TRACKING_NAME, ttl=ttl)
    return InProcessLease()


def build_relay(
    settings: Settings | None = None,
    app: Any = None,
    configure_logs: bool = True,
    publisher: KafkaPublisher | None = None,
) -> Relay:
    """The relay on the configured store; the publisher only when ``HUB_KAFKA_BOOTSTRAP`` is set."""
    settings = settings or Settings()
    app = app or bootstrap(settings, configure_logs=configure_logs)
    if publisher is None and settings.kafka_bootstrap:
        publisher = kafka_publisher(settings)
    options = RelayOptions(
        topic_prefix=settings.kafka_topic_prefix,
        ce_source=settings.relay_ce_source,
        batch_size=settings.relay_batch_size,
        poll_interval=settings.relay_poll_interval,
        backoff_max=settings.relay_backoff_max,
        once_deadline=settings.relay_once_deadline_seconds,
    )
    return Relay(app, publisher, relay_lease(app, settings), gap_guard_for(app.recorder), options)


def kafka_publisher(settings: Settings, client_id: str = "hub-relay") -> KafkaPublisher:
    """A publisher to ``HUB_KAFKA_BOOTSTRAP`` with the relay's producer settings."""
    return KafkaPublisher(ProducerOptions(
        bootstrap=settings.kafka_bootstrap,
        partitions=settings.kafka_partitions,
        replication_factor=settings.relay_replication_factor,
        send_timeout=settings.relay_send_timeout,
        max_in_flight=settings.relay_max_in_flight,
        linger_ms=settings.relay_linger_ms,
        client_id=client_id,
    ))


def build_replay(settings: Settings | None = None, topic_prefix: str | None = None, app: Any = None,
                 publisher: KafkaPublisher | None = None) -> Replay:
    """``hub relay replay``: the log re-published to ``topic_prefix`` (default the relay's)."""
    settings = settings or Settings()
    app = app or bootstrap(settings, configure_logs=False)
    return Replay(app, publisher or kafka_publisher(settings, client_id="hub-relay-replay"),
                  LogReader(app.recorder, batch_size=settings.relay_batch_size),
                  topic_prefix or settings.kafka_topic_prefix, settings.relay_ce_source,
                  settings.relay_batch_size)
