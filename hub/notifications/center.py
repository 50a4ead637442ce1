"""Wiring and entry points of patient communication: plan, deliver, list, answer, configure."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

import structlog

from aggregates.appointment import Appointment
from aggregates.errors import InvalidValue
from aggregates.notification import (
    AppointmentCommunication,
    Notification,
    PortalCommunication,
    communication_id,
    portal_setting_id,
)
from hub.command_gate import StoreBusy
from hub.notifications.delivery import DeliveryReport, Dispatcher
from hub.notifications.process import NotificationProcess
from hub.notifications.replies import Replies
from hub.notifications.webhooks import WebhookGuard
from hub.scheduling.service import Scheduling

log = structlog.get_logger("hub.notifications")


class PlanningBehind(StoreBusy):
    """The planning process could not reach the latest events in time; ask again shortly."""

    code = "notifications_not_ready"


@dataclass
class NotificationCenter:
    """The planning process, the dispatcher and the replies, on one scheduling application."""

    app: Scheduling
    poll_seconds: float
    process: NotificationProcess
    dispatcher: Dispatcher
    replies: Replies
    #: Checks the gateway's webhooks (``HUB_GATEWAY_WEBHOOK_SECRET``); None: webhooks refused.
    webhooks: WebhookGuard | None = None

    def run_once(self, stop: Callable[[], bool] = lambda: False) -> DeliveryReport:
        """Plan for every appointment event so far, then send what is due (``stop`` is checked
        between messages, so a stop request lets the message in flight finish)."""
        self.process.catch_up(timeout=60)
        return self.dispatcher.deliver_due(stop)

    def run_forever(self, stop: threading.Event) -> None:
        """Rounds every ``HUB_POLL_SECONDS`` until ``stop`` is set; a failing round (store
        unreachable, ...) is logged and retried, never fatal."""
        while not stop.is_set():
            try:
                report = self.run_once(stop.is_set)
            except Exception:  # noqa: BLE001 - the sender keeps running; the next round retries
                log.exception("delivery round failed; retrying")
            else:
                if report.sent or report.failed or report.retrying or report.errors:
                    log.info("delivery round", **vars(report))
            stop.wait(self.poll_seconds)

    def for_appointment(self, appointment_id: UUID, wait: float = 3.0
                        ) -> tuple[list[Notification], AppointmentCommunication | None]:
        """An appointment's messages, planned up to the latest event (waits at most ``wait``)."""
        self.app.load(Appointment, appointment_id, "appointment")
        if not self.process.catch_up(timeout=wait):
            raise PlanningBehind("notifications are still being planned; retry in a moment")
        key = communication_id(appointment_id)
        if not self.app.exists(key):
            return [], None
        communication = self.app.load(AppointmentCommunication, key, "appointment communication")
        notifications = [self.app.load(Notification, n, "notification")
                         for n in communication.notification_ids]
        return notifications, communication

    def set_portal(self, portal: str, notifies_itself: bool) -> int:
        """N4: record whether a booking portal (token subject or source) notifies by itself."""
        portal = portal.strip()
        if not portal:
            raise InvalidValue("name the portal (its token subject, or a source such as portal)",
                               field="portal")
        key = portal_setting_id(portal)
        if self.app.exists(key):
            setting = self.app.load(PortalCommunication, key, "portal")
            setting.set(notifies_itself)
        else:
            setting = PortalCommunication(portal=portal, notifies_itself=notifies_itself)
        return self.app.commit(setting)
