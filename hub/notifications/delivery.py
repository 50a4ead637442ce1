"""Delivery: send the planned messages that are due, once each, whatever happens.

Each message is claimed before it leaves (``SendingStarted`` with an attempt id, saved with
optimistic concurrency, so two senders never both send it), then recorded ``Sent`` together with
the appointment's communication status. A claim older than the lease means its sender died
mid-send: gateway messages are sent again under the same idempotency key (the gateway delivers a
key once); e-mails are marked failed (SMTP has no such key: at most once, never twice).
Failures are retried with exponential backoff; each message is handled on its own, so one bad
recipient never holds up the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import structlog
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import RecordConflictError

from adapters.channels import Channel, DeliveryFailed, Outgoing
from aggregates.notification import (
    AppointmentCommunication,
    Notification,
    ReplyThread,
    communication_id,
    reply_thread_id,
    reply_thread_key,
)
from aggregates.notification_rules import call_time
from hub.actor import Actor, acting_as
from hub.application import HubApplication
from hub.follow import LogFollower
from hub.notifications.links import sign
from hub.notifications.templates import render

log = structlog.get_logger("hub.notifications.delivery")

WATERMARK = "notifications.delivery"
PLANNED_TOPIC = "aggregates.notification:Notification.Planned"
#: The kinds that make an appointment's communication status (N3); others (invitations) don't.
COMMUNICATION_KINDS = ("confirmation", "reminder", "modification", "cancellation")
SENDER = Actor(subject="notifications", role="admin", channel="delivery")


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0
    no_channel: int = 0
    errors: int = 0


@dataclass(frozen=True)
class DeliveryPolicy:
    max_attempts: int = 5
    retry_base: timedelta = timedelta(minutes=1)
    lease: timedelta = timedelta(minutes=5)
    link_secret: str = ""
    public_url: str = "http://127.0.0.1:8000"

    def retry_delay(self, attempts: int) -> timedelta:
        return min(self.retry_base * 2 ** max(attempts - 1, 0), timedelta(hours=6))


class Dispatcher:
    """Finds due messages (following ``Planned`` events from a stored low watermark) and
    delivers each through its channel."""

    def __init__(self, app: HubApplication, channels: dict[str, Channel], zone: str,
                 policy: DeliveryPolicy | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.app = app
        self.channels = channels
        self.zone = ZoneInfo(zone)
        self.policy = policy or DeliveryPolicy()
        self.clock = clock or app.clock
        self.pending: dict[UUID, tuple[int, datetime]] = {}
        self.follower = LogFollower(app, WATERMARK, [PLANNED_TOPIC])
        self.seen = self.follower.position()

    def deliver_due(self, stop: Callable[[], bool] = lambda: False) -> DeliveryReport:
        report = DeliveryReport()
        self._refresh()
        now = self.clock()
        due = sorted((due, pos, nid) for nid, (pos, due) in self.pending.items() if due <= now)
        for _, _, nid in due:
            if stop():
                break
            try:
                with acting_as(SENDER):
                    self._deliver(nid, report)
            except Exception:  # noqa: BLE001 - one message's trouble never stops the others
                report.errors += 1
                log.exception("delivery error", notification_id=str(nid))
        self._advance_watermark()
        return report

    # -- finding work ----------------------------------------------------------------------
    def _refresh(self) -> None:
        while (batch := self.follower.read(self.seen)).reached > self.seen:
            for entry in batch.events:
                planned: Any = self.app.mapper.to_domain_event(entry)  # Notification.Planned
                self.pending[UUID(str(entry.originator_id))] = (entry.id, planned.due_at)
            self.seen = batch.reached

    def _advance_watermark(self) -> None:
        """Record the position below which every planned message was handled."""
        self.follower.advance(min((pos for pos, _ in self.pending.values()), default=self.seen + 1) - 1)

    def _later(self, nid: UUID, when: datetime) -> None:
        self.pending[nid] = (self.pending[nid][0], when)

    # -- one message -----------------------------------------------------------------------
    def _deliver(self, nid: UUID, report: DeliveryReport) -> None:
        n = self.app.load(Notification, nid, "notification")
        now = self.clock()
        if not n.open:
            del self.pending[nid]
            return
        channel = self.channels.get(n.channel)
        if n.sending is not None:
            started: datetime = n.sending["started_at"]
            if now - started < self.policy.lease:
                self._later(nid, started + self.policy.lease)  # another sender is on it
                return
            if channel is None or not channel.idempotent:
                self._close(n, report, "failed", "the sender stopped mid-send; the outcome is "
                            "unknown and an e-mail is never sent twice, so it is not sent again")
                return
            n.record_attempt_failed(n.sending["attempt_id"], now, "the sender stopped mid-send; "
                                    "sending again under the same idempotency key", retry_at=now)
        if n.due_at > now:
            self._later(nid, n.due_at)
            return
        if datetime.fromisoformat(n.details["start"]) <= now:
            self._close(n, report, "skipped", "the appointment has started")
            return
        if not n.address:  # the patient was erased (Loi 25): nowhere to send
            self._close(n, report, "skipped", "the patient's personal data was erased")
            return
        if n.channel == "phone" and (window := call_time(now, self.zone)) > now:
            self._later(nid, window)  # calls only 09:00-20:00 local time, retries included
            return
        if channel is None:
            report.no_channel += 1
            self._later(nid, now + self.policy.retry_base)
            log.warning("no channel configured", channel=n.channel, notification_id=str(nid))
            return
        message = self.message(n)
        attempt_id = uuid4().hex
        n.start_sending(attempt_id, now)
        try:
            self.app.commit(n)
        except RecordConflictError:
            self._later(nid, now + self.policy.retry_base)  # another sender claimed it
            return
        try:
            channel.send(message)
        except DeliveryFailed as exc:
            self._failed_attempt(n, attempt_id, exc, report)
            return
        self._record_sent(nid, attempt_id)
        del self.pending[nid]
        report.sent += 1

    def _close(self, n: Notification, report: DeliveryReport, outcome: str, why: str) -> None:
        now = self.clock()
        if outcome == "failed":
            n.record_failed(n.sending["attempt_id"] if n.sending else None, now, why)
            report.failed += 1
        else:
            n.skip(now, why)
            report.skipped += 1
        self.app.commit(n)
        self.pending.pop(n.id, None)
        log.warning(f"notification {outcome}", notification_id=str(n.id), reason=why)

    def _failed_attempt(self, n: Notification, attempt_id: str, exc: DeliveryFailed,
                        report: DeliveryReport) -> None:
        now = self.clock()
        if exc.permanent or n.attempts >= self.policy.max_attempts:
            n.record_failed(attempt_id, now, str(exc))
            report.failed += 1
            self.pending.pop(n.id, None)
        else:
            retry_at = now + self.policy.retry_delay(n.attempts)
            n.record_attempt_failed(attempt_id, now, str(exc), retry_at)
            self._later(n.id, retry_at)
            report.retrying += 1
        self.app.commit(n)
        log.warning("delivery attempt failed", notification_id=str(n.id), attempts=n.attempts,
                    error=str(exc), final=n.status == "failed")

    def _record_sent(self, nid: UUID, attempt_id: str) -> None:
        """The message, the appointment's status and the reply thread, in one transaction."""

        def run() -> None:
            n = self.app.load(Notification, nid, "notification")
            at = self.clock()
            n.record_sent(attempt_id, at)
            communication = self.app.load(AppointmentCommunication, communication_id(n.appointment_id),
                                          "appointment communication")
            changed: list[Aggregate] = [n]
            if n.kind in COMMUNICATION_KINDS:  # an invitation (V1) leaves the status as it was
                communication.message_sent(n.id, n.kind, n.channel, n.address, at)
                changed.append(communication)
            if n.channel in ("sms", "phone") and n.kind in COMMUNICATION_KINDS:
                key = reply_thread_key(self.app.index_secret, n.channel, n.address)
                if self.app.exists(reply_thread_id(key)):
                    thread = self.app.load(ReplyThread, reply_thread_id(key), "reply thread")
                    thread.messaged(n.appointment_id, n.id)
                else:  # a thread of before keyed ids is left as it was: this one replaces it
                    thread = ReplyThread(channel=n.channel, address=n.address,
                                         appointment_id=n.appointment_id, notification_id=n.id,
                                         key=key)
                changed.append(thread)
            self.app.commit(*changed)

        self.app.retrying(run, "record sent")

    def message(self, n: Notification) -> Outgoing:
        """Render a notification (links signed now, valid until the appointment starts); one
        composed when planned (an invitation) is sent exactly as it was previewed."""
        if composed := n.details.get("message"):
            return Outgoing(key=n.id, channel=n.channel, address=n.address, text=composed["text"],
                            language=n.language, subject=composed.get("subject", ""),
                            html=composed.get("html", ""))
        links: dict[str, str] = {}
        start = datetime.fromisoformat(n.details["start"]).astimezone(UTC)
        if n.channel == "email" and self.policy.link_secret and n.kind != "cancellation":
            actions = ["cancel", "confirm"] if n.kind == "reminder" else ["cancel"]
            for action in actions:
                token = sign(self.policy.link_secret, action, n.appointment_id, n.id, start)
                links[action] = f"{self.policy.public_url.rstrip('/')}/v1/links/{token}"
        rendered = render(n.kind, n.channel, n.language, n.details, self.zone, links)
        return Outgoing(key=n.id, channel=n.channel, address=n.address, text=rendered.text,
                        language=n.language, subject=rendered.subject, html=rendered.html)
