"""The relay loop: read the log in order from the tracked position, publish, then advance.

At least once, in order: a batch is read from just after the tracked position, published with
acks=all and flushed; only then is the position recorded (the library's tracking recorder, in
the store's own database). A crash anywhere re-publishes the same events with the same
``ce_id``; a broker failure holds the position and retries with backoff.
"""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import structlog
from eventsourcing.persistence import Notification, PersistenceError

from adapters.kafka import BrokerUnavailable, KafkaPublisher, OutgoingMessage
from adapters.leases import Lease, LeaseLost, LeaseState
from adapters.loggaps import GapGuard
from hub.follow import LogReader
from hub.relay.messages import to_message
from hub.relay.tracking import PositionRecorder
from projections.eventlog import describe

log = structlog.get_logger("hub.relay")

TRACKING_NAME = "kafka-relay"


@dataclass(frozen=True)
class RelayOptions:
    topic_prefix: str = "hub"
    ce_source: str = "/hub"
    batch_size: int = 500
    poll_interval: float = 0.05
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    #: Seconds a hole may wait before a warning names it (it is never skipped unsettled).
    gap_warn_after: float = 5.0
    #: ``run(once=True)`` gives up (``BrokerUnavailable``) when the broker stays down this long.
    once_deadline: float = 60.0


@dataclass(frozen=True)
class _Batch:
    after: int
    notifications: list[Notification]
    messages: list[OutgoingMessage]


@dataclass(frozen=True)
class RelayStatus:
    position: int
    head: int
    #: Log positions between the relay's position and the store's head.
    lag: int
    lease: LeaseState


class Relay:
    """Publishes every stored event to Kafka, in log order, from its tracked position."""

    def __init__(
        self,
        app: Any,
        publisher: KafkaPublisher | None,
        lease: Lease,
        gaps: GapGuard,
        options: RelayOptions | None = None,
        name: str = TRACKING_NAME,
    ) -> None:
        self.app = app
        #: Messages carry personal fields sealed only (docs/privacy.md, consumer profile).
        self.mapper = app.sealed_mapper()
        self.publisher = publisher
        self.lease = lease
        self.gaps = gaps
        self.options = options or RelayOptions()
        self.name = name
        self.tracking = app.factory.tracking_recorder()
        self.positions = PositionRecorder(self.tracking, name, self.lease.acquire)
        self.position = self.positions.recorded
        self.reader = LogReader(app.recorder, gaps, self.options.batch_size, self.options.gap_warn_after)
        self.stop_event = threading.Event()
        self._leased = False
        self._reader_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="relay-read")
        self._prefetch: Future[_Batch] | None = None

    # -- one round ------------------------------------------------------------------
    def _prepare(self, after: int) -> _Batch:
        notifications = self.reader.read(after)
        messages = [
            to_message(describe(n, self.mapper), self.options.topic_prefix, self.options.ce_source)
            for n in notifications
        ]
        return _Batch(after, notifications, messages)

    def _prefetched(self) -> _Batch | None:
        """The batch read ahead while the previous one was being acknowledged, if still valid."""
        future, self._prefetch = self._prefetch, None
        if future is None:
            return None
        batch = future.result()
        if batch.after != self.position or not batch.notifications:
            return None
        return batch

    def step(self) -> int:
        """Publish the next batch and advance; return how many events were published."""
        self.positions.raise_error()  # a failed tracking write: reload the position first
        if not self.lease.acquire():
            self._leased = False
            raise LeaseLost
        if not self._leased:  # (re)gained the lease: another relay may have moved the position
            self.position = self.positions.reset()
            self._leased = True
        t0 = time.perf_counter()
        batch = self._prefetched() or self._prepare(self.position)
        if not batch.notifications:
            return 0
        t1 = time.perf_counter()
        assert self.publisher is not None
        futures = self.publisher.send(batch.messages)
        last = batch.notifications[-1].id
        # Read and encode the next batch while the broker acknowledges this one.
        self._prefetch = self._reader_thread.submit(self._prepare, last)
        self.publisher.confirm(futures)  # flush: every message acknowledged (acks=all)
        t2 = time.perf_counter()
        if not self.lease.acquire():  # fencing: never move the position without the lease
            self._leased = False
            raise LeaseLost
        self.positions.advance(last)  # recorded by a thread: publishing goes on meanwhile
        self.position = last
        log.debug("batch published", count=len(batch.messages), position=last,
                  read_ms=round((t1 - t0) * 1000, 1), send_ms=round((t2 - t1) * 1000, 1))
        return len(batch.messages)

    def head(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def status(self) -> RelayStatus:
        position = self.tracking.max_tracking_id(self.name) or 0
        head = self.head()
        return RelayStatus(position=position, head=head, lag=max(0, head - position),
                           lease=self.lease.state())

    # -- the loop -------------------------------------------------------------------
    def run(self, once: bool = False) -> int:
        """Publish until stopped (or, with ``once``, until the store's head); return a count."""
        published, backoff, standby_logged, failing = 0, 0.0, False, False
        target = self.head() if once else None
        started = time.monotonic()
        try:
            while not self.stop_event.is_set():
                try:
                    count = self.step()
                except LeaseLost:
                    self._leased = False
                    if once:
                        raise
                    if not standby_logged:
                        log.info("another relay holds the lease; standing by", holder=self.lease.holder)
                        standby_logged = True
                    self._sleep(max(self.options.poll_interval, 0.5))
                    continue
                except PersistenceError as exc:
                    if once:
                        raise
                    self._leased = False  # re-read the position before publishing again
                    log.warning("event store unavailable; retrying", error=str(exc)[:300])
                    self._sleep(max(self.options.backoff_initial, 1.0))
                    continue
                except BrokerUnavailable as exc:
                    backoff = min(self.options.backoff_max, backoff * 2 or self.options.backoff_initial)
                    delay = backoff * random.uniform(0.8, 1.2)
                    if once and time.monotonic() - started + delay > self.options.once_deadline:
                        raise  # --once returns: the position is held, nothing is lost
                    log.warning(
                        "kafka broker unavailable; position held, retrying",
                        bootstrap=self.publisher.options.bootstrap if self.publisher else None,
                        position=self.position, retry_in_s=round(delay, 2), error=str(exc)[:300],
                    )
                    failing = True
                    self._sleep(delay, renew=True)
                    continue
                if standby_logged:
                    log.info("lease acquired; publishing", holder=self.lease.holder, position=self.position)
                    standby_logged = False
                if failing:
                    log.info("kafka broker reachable again; publishing resumed", position=self.position)
                    failing, backoff = False, 0.0
                published += count
                if once and self.position >= (target or 0) and count < self.options.batch_size:
                    break
                if count == 0:
                    if once:
                        break
                    self._sleep(self.options.poll_interval)
            if once:
                self.positions.flush()  # --once ends with its position recorded
        finally:
            self.close()
        return published

    def close(self) -> None:
        """Record the last acknowledged position, close the producer, give the lease back."""
        try:
            self.positions.flush()
        except Exception as exc:  # noqa: BLE001 - the next relay re-publishes from the store
            log.warning("last position not recorded", position=self.position, error=str(exc)[:300])
        self.positions.close()
        if self.publisher is not None:
            self.publisher.close()
        self.lease.release()
        self._leased = False
        self._prefetch = None
        self._reader_thread.shutdown(wait=True)

    def _sleep(self, seconds: float, renew: bool = False) -> None:
        """Sleep, interruptibly; keep renewing the lease while waiting out a broker failure."""
        deadline = time.monotonic() + seconds
        while not self.stop_event.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.stop_event.wait(min(remaining, 1.0))
            if renew:
                self.lease.acquire()


def published_position(app: Any) -> int | None:
    """The last log position the relay recorded as acknowledged by Kafka (None: it never ran)."""
    return app.factory.tracking_recorder().max_tracking_id(TRACKING_NAME)
