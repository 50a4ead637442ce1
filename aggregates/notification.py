"""Patient communication (N1–N5): one ``Notification`` per message, and what it hangs on.

- ``Notification``: planned → sent | failed | skipped | withdrawn (a send in progress is still
  ``planned`` with a ``sending`` attempt: the claim that keeps it from being sent twice).
- ``AppointmentCommunication``: per appointment, its notifications and the status staff see
  ("confirmation sent by e-mail ...", then "confirmed by SMS ...").
- ``ReplyThread``: per SMS number or phone line, the appointment it last heard about (replies).
- ``PortalCommunication``: a booking portal that notifies its patients itself (N4).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from aggregates.errors import Conflict
from aggregates.pseudonyms import identifier_digest

STATUSES = ("planned", "sent", "failed", "skipped", "withdrawn")


class NotificationClosed(Conflict):
    """The message was already sent, failed, skipped or withdrawn."""

    code = "notification_closed"


def notification_id(appointment_id: UUID, origin: str, kind: str) -> UUID:
    """Stable id: the same appointment event never plans the same message twice."""
    return uuid5(NAMESPACE_URL, f"hub:notification:{appointment_id}:{origin}:{kind}")


class Notification(Aggregate):
    """One message to a patient about one appointment, on one channel, from ``due_at``."""

    @staticmethod
    def create_id(appointment_id: UUID, origin: str, kind: str, **_: Any) -> UUID:
        return notification_id(appointment_id, origin, kind)

    @event("Planned")
    def __init__(
        self,
        appointment_id: UUID,
        origin: str,
        kind: str,
        clinic_id: UUID,
        channel: str,
        address: str,
        language: str,
        due_at: datetime,
        details: dict[str, Any],
    ) -> None:
        self.appointment_id = appointment_id
        self.origin = origin
        self.kind = kind
        self.clinic_id = clinic_id
        self.channel = channel
        self.address = address
        self.language = language
        self.due_at = due_at
        self.details = dict(details)
        self.status = "planned"
        self.attempts = 0
        self.sending: dict[str, Any] | None = None
        self.sent_at: datetime | None = None
        self.last_error: str | None = None

    @property
    def open(self) -> bool:
        return self.status == "planned"

    def _require_open(self) -> None:
        if not self.open:
            raise NotificationClosed(f"this {self.kind} is already {self.status}",
                                     notification_id=str(self.id))

    def start_sending(self, attempt_id: str, at: datetime) -> None:
        """Claim the message for one delivery attempt (saved before anything goes out)."""
        self._require_open()
        if self.sending is not None:
            raise Conflict("another sender holds this message", notification_id=str(self.id))
        self._sending_started(attempt_id=attempt_id, at=at)

    def record_sent(self, attempt_id: str, at: datetime) -> None:
        self._require_open()
        self._sent(attempt_id=attempt_id, at=at)

    def record_attempt_failed(self, attempt_id: str, at: datetime, error: str, retry_at: datetime) -> None:
        self._require_open()
        self._attempt_failed(attempt_id=attempt_id, at=at, error=error, retry_at=retry_at)

    def record_failed(self, attempt_id: str | None, at: datetime, error: str) -> None:
        self._require_open()
        self._failed(attempt_id=attempt_id, at=at, error=error)

    def skip(self, at: datetime, reason: str) -> None:
        self._require_open()
        self._skipped(at=at, reason=reason)

    def withdraw(self, reason: str) -> bool:
        """Withdraw an unsent message; a message being sent right now is left to finish."""
        if not self.open or self.sending is not None:
            return False
        self._withdrawn(reason=reason)
        return True

    @event("SendingStarted")
    def _sending_started(self, attempt_id: str, at: datetime) -> None:
        self.sending = {"attempt_id": attempt_id, "started_at": at}
        self.attempts += 1

    @event("Sent")
    def _sent(self, attempt_id: str, at: datetime) -> None:
        self.status = "sent"
        self.sent_at = at
        self.sending = None

    @event("AttemptFailed")
    def _attempt_failed(self, attempt_id: str, at: datetime, error: str, retry_at: datetime) -> None:
        self.sending = None
        self.last_error = error
        self.due_at = retry_at

    @event("Failed")
    def _failed(self, attempt_id: str | None, at: datetime, error: str) -> None:
        self.status = "failed"
        self.sending = None
        self.last_error = error

    @event("Skipped")
    def _skipped(self, at: datetime, reason: str) -> None:
        self.status = "skipped"
        self.last_error = reason

    @event("Withdrawn")
    def _withdrawn(self, reason: str) -> None:
        self.status = "withdrawn"
        self.last_error = reason


def communication_id(appointment_id: UUID) -> UUID:
    return uuid5(NAMESPACE_URL, f"hub:appointment-communication:{appointment_id}")


class AppointmentCommunication(Aggregate):
    """An appointment's messages and its communication status (N3)."""

    @staticmethod
    def create_id(appointment_id: UUID, **_: Any) -> UUID:
        return communication_id(appointment_id)

    @event("Opened")
    def __init__(self, appointment_id: UUID, clinic_id: UUID, patient_id: UUID,
                 booked_by: str | None) -> None:
        self.appointment_id = appointment_id
        self.clinic_id = clinic_id
        self.patient_id = patient_id
        self.booked_by = booked_by
        self.notification_ids: list[UUID] = []
        self.status: str | None = None
        self.channel: str | None = None
        self.address: str | None = None
        self.at: datetime | None = None

    def add(self, notification_ids: list[UUID]) -> None:
        new = [n for n in notification_ids if n not in self.notification_ids]
        if new:
            self._notices_planned(notification_ids=new)

    def message_sent(self, notification_id: UUID, kind: str, channel: str, address: str,
                     at: datetime) -> None:
        self._message_sent(appointment_id=self.appointment_id, notification_id=notification_id,
                           kind=kind, channel=channel, address=address, at=at)

    def confirm(self, channel: str, at: datetime) -> bool:
        """The patient confirmed their presence; False when it was already confirmed so."""
        if self.status == "confirmed" and self.channel == channel:
            return False
        self._presence_confirmed(appointment_id=self.appointment_id, channel=channel, at=at)
        return True

    @event("NoticesPlanned")
    def _notices_planned(self, notification_ids: list[UUID]) -> None:
        self.notification_ids.extend(notification_ids)

    @event("MessageSent")
    def _message_sent(self, appointment_id: UUID, notification_id: UUID, kind: str, channel: str,
                      address: str, at: datetime) -> None:
        if self.status == "confirmed" and kind == "reminder":
            return  # a reminder after the patient confirmed keeps "confirmed"
        self.status = "confirmation_sent"
        self.channel = channel
        self.address = address
        self.at = at

    @event("PresenceConfirmed")
    def _presence_confirmed(self, appointment_id: UUID, channel: str, at: datetime) -> None:
        self.status = "confirmed"
        self.channel = channel
        self.at = at


def phone_key(number: str) -> str:
    """Digits only, North American numbers with their country code: ``+1 514-555-0001`` and
    ``5145550001`` are the same line."""
    digits = "".join(c for c in number if c.isdigit())
    return "1" + digits if len(digits) == 10 else digits


def reply_thread_key(secret: bytes, channel: str, address: str) -> str:
    """The keyed digest naming a number's thread (``HMAC(secret, ...)``, like the NAM index):
    ``uuid5(number)`` could be reversed by trying every phone number."""
    return identifier_digest(secret, f"hub:reply-thread:{channel}", phone_key(address))


def reply_thread_id(key: str) -> UUID:
    """The thread of a ``reply_thread_key``."""
    return uuid5(NAMESPACE_URL, f"hub:reply-thread:{key}")


def legacy_reply_thread_id(channel: str, address: str) -> UUID:
    """Where threads opened before their ids were keyed live (still read, never written)."""
    return uuid5(NAMESPACE_URL, f"hub:reply-thread:{channel}:{phone_key(address)}")


class ReplyThread(Aggregate):
    """The appointment an SMS number or phone line last received a message about."""

    class ThreadOpened(Aggregate.Created):
        """v2 carries ``key`` (the keyed digest its id comes from); v1 events, from before
        keyed ids, are read with ``key`` empty: their thread keeps its legacy id."""

        class_version = 2
        channel: str
        address: str
        appointment_id: UUID
        notification_id: UUID
        key: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["key"] = ""

    @staticmethod
    def create_id(channel: str, address: str, key: str = "", **_: Any) -> UUID:
        return reply_thread_id(key) if key else legacy_reply_thread_id(channel, address)

    @event(ThreadOpened)
    def __init__(self, channel: str, address: str, appointment_id: UUID,
                 notification_id: UUID, key: str) -> None:
        """``key``: the ``reply_thread_key`` its id comes from (empty: a legacy thread)."""
        self.channel = channel
        self.address = address
        self.appointment_id = appointment_id
        self.notification_id = notification_id
        self.key = key

    def messaged(self, appointment_id: UUID, notification_id: UUID) -> None:
        if notification_id != self.notification_id:
            self._messaged(appointment_id=appointment_id, notification_id=notification_id)

    @event("Messaged")
    def _messaged(self, appointment_id: UUID, notification_id: UUID) -> None:
        self.appointment_id = appointment_id
        self.notification_id = notification_id


def portal_setting_id(portal: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"hub:portal-communication:{portal}")


class PortalCommunication(Aggregate):
    """Whether a booking portal (token subject, or a source such as ``portal``) notifies its
    patients itself, in which case the hub sends nothing for its bookings (N4)."""

    @staticmethod
    def create_id(portal: str, **_: Any) -> UUID:
        return portal_setting_id(portal)

    @event("PortalConfigured")
    def __init__(self, portal: str, notifies_itself: bool) -> None:
        self.portal = portal
        self.notifies_itself = notifies_itself

    def set(self, notifies_itself: bool) -> None:
        if notifies_itself != self.notifies_itself:
            self._changed(notifies_itself=notifies_itself)

    @event("PortalChanged")
    def _changed(self, notifies_itself: bool) -> None:
        self.notifies_itself = notifies_itself
