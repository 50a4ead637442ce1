"""Kafka publisher for the outbox relay: topics created when missing, acks=all, flush per batch."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import structlog

log = structlog.get_logger("adapters.kafka")


class BrokerUnavailable(Exception):
    """The broker did not acknowledge a batch (down, unreachable, or too slow)."""


@dataclass(frozen=True)
class OutgoingMessage:
    """One Kafka record: topic, key, value and headers (CloudEvents binary mode)."""

    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass(frozen=True)
class ProducerOptions:
    """How the relay talks to the broker."""

    bootstrap: str
    partitions: int = 3
    replication_factor: int = 1
    #: Seconds a whole batch may take to be acknowledged before it counts as failed.
    send_timeout: float = 10.0
    #: Produce requests in flight per connection; 1 keeps per-partition order under retries.
    max_in_flight: int = 1
    linger_ms: int = 5
    client_id: str = "hub-relay"


class KafkaPublisher:
    """Publishes batches with acks=all and returns only once the broker acknowledged all of them.

    Any failure closes the producer (nothing of the failed batch is retried behind the relay's
    back) and raises ``BrokerUnavailable``; the relay then re-publishes from its tracked position.
    """

    def __init__(self, options: ProducerOptions) -> None:
        self.options = options
        self._producer = None
        self._admin = None
        self._topics: set[str] = set()

    def _connect(self) -> None:
        from kafka import KafkaProducer
        from kafka.admin import KafkaAdminClient

        timeout_ms = int(self.options.send_timeout * 1000)
        request_timeout_ms = max(1000, min(30_000, timeout_ms - self.options.linger_ms - 100))
        common = {
            "bootstrap_servers": self.options.bootstrap.split(","),
            "client_id": self.options.client_id,
            "request_timeout_ms": request_timeout_ms,
            "bootstrap_timeout_ms": timeout_ms,
            "reconnect_backoff_max_ms": 1000,
        }
        self._admin = KafkaAdminClient(**common)
        self._producer = KafkaProducer(
            acks="all",
            enable_idempotence=True,
            retries=2**31 - 1,
            max_in_flight_requests_per_connection=self.options.max_in_flight,
            linger_ms=self.options.linger_ms,
            delivery_timeout_ms=max(timeout_ms, request_timeout_ms + self.options.linger_ms),
            max_block_ms=timeout_ms,
            allow_auto_create_topics=False,
            **common,
        )

    def ensure_topics(self, topics: set[str]) -> None:
        """Create the topics that don't exist yet, with the configured partition count."""
        missing = topics - self._topics
        if not missing:
            return
        assert self._admin is not None
        existing = set(self._admin.list_topics())
        to_create = sorted(missing - existing)
        if to_create:
            spec = {"num_partitions": self.options.partitions,
                    "replication_factor": self.options.replication_factor}
            result = self._admin.create_topics(
                {name: spec for name in to_create}, raise_errors=False, wait_for_metadata=True
            )
            for topic in result.get("topics", []):
                if topic["error_code"] not in (0, 36):  # 36: created meanwhile by someone else
                    raise BrokerUnavailable(f"could not create topic {topic['name']}: {topic['error_message']}")
            log.info("kafka topics created", topics=to_create, partitions=self.options.partitions)
        self._topics |= missing

    def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        """Send a batch and wait until every message is acknowledged (acks=all)."""
        self.confirm(self.send(messages))

    def send(self, messages: Sequence[OutgoingMessage]) -> list:
        """Hand a batch to the producer (pipelined, not yet acknowledged); see ``confirm``."""
        if not messages:
            return []
        with self._failing():
            if self._producer is None:
                self._connect()
            self.ensure_topics({m.topic for m in messages})
            assert self._producer is not None
            return [
                self._producer.send(m.topic, key=m.key, value=m.value, headers=m.headers)
                for m in messages
            ]

    def confirm(self, futures: list) -> None:
        """Flush, then check that every message of the batch was acknowledged."""
        if not futures:
            return
        with self._failing():
            assert self._producer is not None
            self._producer.flush(timeout=self.options.send_timeout)
            for future in futures:
                if not future.is_done:
                    raise BrokerUnavailable(
                        f"batch not acknowledged within {self.options.send_timeout:g}s"
                    )
                if future.failed():
                    raise BrokerUnavailable(str(future.exception))

    @contextmanager
    def _failing(self) -> Iterator[None]:
        """Any failure drops the producer and surfaces as ``BrokerUnavailable``."""
        try:
            yield
        except BrokerUnavailable:
            self.reset()
            raise
        except Exception as exc:  # kafka errors, timeouts, NoBrokersAvailable, sockets
            self.reset()
            raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from exc

    def reset(self) -> None:
        """Drop the producer and the known topics (a restarted broker may have lost them)."""
        producer, admin = self._producer, self._admin
        self._producer = self._admin = None
        self._topics.clear()
        for client in (producer, admin):
            if client is None:
                continue
            try:
                if client is producer:
                    client.close(timeout=0)
                else:
                    client.close()
            except Exception:  # noqa: BLE001 - closing a producer never fails the caller - closing a broken client must not mask the failure
                log.debug("kafka client close failed", exc_info=True)

    def close(self) -> None:
        if self._producer is not None:
            try:
                self._producer.flush(timeout=self.options.send_timeout)
            except Exception:  # noqa: BLE001 - closing a producer never fails the caller
                log.debug("final flush failed", exc_info=True)
        self.reset()
