"""What the hub sends a patient, when and how (SPEC N1, N2, N4): pure rules, no I/O.

``plan(situation)`` is the whole decision for one appointment event; the process that follows
the event log feeds it and stores what it returns as ``Notification`` aggregates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from enum import StrEnum

from aggregates.professional import NOTIFIED_TYPES

REMINDER_LEAD = timedelta(hours=48)
NO_REMINDER_UNDER = timedelta(hours=4)
PHONE_ONLY_NO_CONFIRMATION_UNDER = timedelta(hours=48)
CALLS_FROM = time(9, 0)
CALLS_UNTIL = time(20, 0)


class Kind(StrEnum):
    CONFIRMATION = "confirmation"
    REMINDER = "reminder"
    MODIFICATION = "modification"
    CANCELLATION = "cancellation"


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PHONE = "phone"


class Trigger(StrEnum):
    """The appointment events that may send something."""

    BOOKED = "booked"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    DELETED = "deleted"


@dataclass(frozen=True)
class Contacts:
    """A patient's contacts (S5); ``other_cell`` and ``other_phone`` are never used (N2)."""

    email: str | None = None
    other_email: str | None = None
    cell: str | None = None
    phone: str | None = None
    other_cell: str | None = None
    other_phone: str | None = None


@dataclass(frozen=True)
class Situation:
    """Everything the rules look at, as of the appointment event ``trigger`` at ``now``."""

    trigger: Trigger
    now: datetime
    start: datetime
    category: str
    professional_type: str
    contacts: Contacts
    language: str
    zone: tzinfo
    portal_notifies_itself: bool = False
    was_cancelled: bool = False


@dataclass(frozen=True)
class Notice:
    """One message to plan: what, on which channel, to which address, from when."""

    kind: Kind
    channel: Channel
    address: str
    language: str
    due_at: datetime


@dataclass(frozen=True)
class Plan:
    """The messages to plan, and whether the appointment's unsent messages are withdrawn."""

    notices: tuple[Notice, ...] = ()
    withdraw_pending: bool = False
    reason: str = ""


def choose_channel(contacts: Contacts) -> tuple[Channel, str] | None:
    """N2: primary e-mail, other e-mail, cell (SMS), phone; never other cell/other phone."""
    for value, channel in (
        (contacts.email, Channel.EMAIL),
        (contacts.other_email, Channel.EMAIL),
        (contacts.cell, Channel.SMS),
        (contacts.phone, Channel.PHONE),
    ):
        if value and value.strip():
            return channel, value.strip()
    return None


def call_time(instant: datetime, zone: tzinfo) -> datetime:
    """The first instant at or after ``instant`` inside 09:00–20:00 local time (DST-correct)."""
    local = instant.astimezone(zone)
    if CALLS_FROM <= local.time() < CALLS_UNTIL:
        return instant.astimezone(UTC)
    day = local.date() if local.time() < CALLS_FROM else local.date() + timedelta(days=1)
    return datetime.combine(day, CALLS_FROM, tzinfo=zone).astimezone(UTC)


def _due(channel: Channel, instant: datetime, zone: tzinfo) -> datetime:
    return call_time(instant, zone) if channel is Channel.PHONE else instant.astimezone(UTC)


def plan(s: Situation) -> Plan:
    """N1/N2/N4: the notices one appointment event plans (all rules in one place).

    Durations are real elapsed time: instants are compared in UTC, so "48 h before" is 48 real
    hours even across a DST change (aware arithmetic in one zone would be wall-clock time).
    """
    withdraw = s.trigger is not Trigger.BOOKED
    if s.trigger is Trigger.DELETED and s.was_cancelled:
        return Plan((), withdraw, "already cancelled: the cancellation notice was planned then")
    if s.category == "silent":
        return Plan((), withdraw, "silent service")
    if s.professional_type not in NOTIFIED_TYPES:
        return Plan((), withdraw, f"the hub does not notify for {s.professional_type} professionals")
    if s.portal_notifies_itself:
        return Plan((), withdraw, "the booking portal notifies the patient itself")
    chosen = choose_channel(s.contacts)
    if chosen is None:
        return Plan((), withdraw, "the patient has no usable contact")
    channel, address = chosen
    now, start = s.now.astimezone(UTC), s.start.astimezone(UTC)
    if start <= now:
        return Plan((), withdraw, "the appointment is in the past")
    lead = start - now

    def notice(kind: Kind, wanted: datetime) -> Notice | None:
        due = _due(channel, wanted, s.zone)
        if due >= start:  # a call can't be placed before the appointment
            return None
        return Notice(kind, channel, address, s.language, due)

    wanted: list[Notice | None] = []
    if s.trigger is Trigger.BOOKED:
        if channel is not Channel.PHONE or lead >= PHONE_ONLY_NO_CONFIRMATION_UNDER:
            wanted.append(notice(Kind.CONFIRMATION, now))
    elif s.trigger is Trigger.RESCHEDULED:
        wanted.append(notice(Kind.MODIFICATION, now))
    else:
        wanted.append(notice(Kind.CANCELLATION, now))
    if s.trigger in (Trigger.BOOKED, Trigger.RESCHEDULED) and lead >= NO_REMINDER_UNDER:
        wanted.append(notice(Kind.REMINDER, max(now, start - REMINDER_LEAD)))
    notices = tuple(n for n in wanted if n is not None)
    return Plan(notices, withdraw, "" if notices else "no call possible before the appointment")
