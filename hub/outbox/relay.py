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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from eventsourcing.persistence import Notification, PersistenceError, Tracking

from adapters.kafka import BrokerUnavailable, KafkaPublisher
from hub.eventlog import describe
from hub.outbox.gaps import GapGuard
from hub.outbox.lease import Lease, LeaseState
from hub.outbox.messages import to_message

log = structlog.get_logger("hub.outbox")

TRACKING_NAME = "kafka-relay"


class LeaseLost(Exception):
    """Another relay holds the lease: this one must not publish."""


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
        self.publisher = publisher
        self.lease = lease
        self.gaps = gaps
        self.options = options or RelayOptions()
        self.name = name
        self.tracking = app.factory.tracking_recorder()
        self.position = self.tracking.max_tracking_id(name) or 0
        self.settled = 0
        self._hole_since: tuple[int, float] | None = None
        self.stop_event = threading.Event()
        self._leased = False

    # -- reading --------------------------------------------------------------------
    def read_batch(self) -> list[Notification]:
        """The next notifications after the position, stopping before any unsettled hole."""
        for _ in range(3):
            batch = self.app.recorder.select_notifications(
                start=self.position + 1, limit=self.options.batch_size
            )
            ready, hole = self._contiguous(batch)
            if hole is None:
                self._hole_since = None
                return ready
            settled = self.gaps.settle()
            if settled is None:
                self._note_hole(hole)
                return ready
            self.settled = max(self.settled, settled)  # re-read: the hole may have filled
        return ready

    def _contiguous(self, batch: Sequence[Notification]) -> tuple[list[Notification], int | None]:
        ready: list[Notification] = []
        expected = self.position + 1
        for notification in batch:
            if notification.id != expected and not self.gaps.serialised:
                if notification.id - 1 > self.settled:
                    return ready, expected
                log.debug("passing a settled hole", first=expected, last=notification.id - 1)
            ready.append(notification)
            expected = notification.id + 1
        return ready, None

    def _note_hole(self, hole: int) -> None:
        now = time.monotonic()
        if self._hole_since is None or self._hole_since[0] != hole:
            self._hole_since = (hole, now)
        elif now - self._hole_since[1] > self.options.gap_warn_after:
            log.warning(
                "waiting for an open transaction: log position not committed yet",
                position=hole, waited_s=round(now - self._hole_since[1], 1),
            )
            self._hole_since = (hole, now)

    # -- one round ------------------------------------------------------------------
    def step(self) -> int:
        """Publish the next batch and advance; return how many events were published."""
        if not self.lease.acquire():
            self._leased = False
            raise LeaseLost
        if not self._leased:  # (re)gained the lease: another relay may have moved the position
            self.position = self.tracking.max_tracking_id(self.name) or 0
            self._leased = True
        notifications = self.read_batch()
        if not notifications:
            return 0
        messages = [
            to_message(describe(n, self.app.mapper), self.options.topic_prefix, self.options.ce_source)
            for n in notifications
        ]
        assert self.publisher is not None
        self.publisher.publish(messages)
        if not self.lease.acquire():  # fencing: never move the position without the lease
            self._leased = False
            raise LeaseLost
        last = notifications[-1].id
        self.tracking.insert_tracking(Tracking(application_name=self.name, notification_id=last))
        self.position = last
        log.debug("batch published", count=len(messages), position=last)
        return len(messages)

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
        try:
            while not self.stop_event.is_set():
                try:
                    count = self.step()
                except LeaseLost:
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
        finally:
            self.close()
        return published

    def close(self) -> None:
        """Flush and close the producer, and give the lease back."""
        if self.publisher is not None:
            self.publisher.close()
        self.lease.release()
        self._leased = False

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
