"""Reorientation (R2): slots kept for Info-Santé 811 or for reorientation, and referrals.

A clinic keeps some slots for patients sent by others: 811 nurses book into slots reserved
for ``811``; ER triage (P4–P5 patients) and other clinics book into slots reserved for
``reorientation``, saying where the patient comes from and why (seed 003). Booking portals
never see reserved slots.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from aggregates.errors import Conflict, InvalidValue
from aggregates.values import choice


class Reservation(StrEnum):
    """What a slot is kept for, and the channel a booking comes through."""

    INFO_SANTE_811 = "811"
    REORIENTATION = "reorientation"


class Priority(StrEnum):
    """Canadian triage (ETG) levels of the non-urgent patients an ER may send to a clinic."""

    P4 = "P4"
    P5 = "P5"


class SlotReserved(Conflict):
    """The slot is kept for 811 or reorientation, and this booking comes another way."""

    code = "slot_reserved"


class SlotNotReserved(Conflict):
    """An 811 or reorientation booking into a slot not kept for it."""

    code = "slot_not_reserved"


def reservation(value: str | None) -> str | None:
    """A checked ``reserved_for`` value (None: an ordinary slot)."""
    return None if value is None else choice(Reservation, value, "reserved_for")


@dataclass(frozen=True)
class Referral:
    """Where a reoriented patient comes from, how urgent, and why (the receiving clinic sees it)."""

    from_site: str
    priority: str
    reason: str | None = None

    @classmethod
    def of(cls, from_site: str, priority: str, reason: str | None = None) -> Referral:
        site = " ".join(from_site.split())
        if not 1 <= len(site) <= 200:
            raise InvalidValue("referral from_site must have 1 to 200 characters",
                               field="referral.from_site")
        text = " ".join(reason.split()) if reason else None
        if text is not None and len(text) > 500:
            raise InvalidValue("referral reason must have at most 500 characters",
                               field="referral.reason")
        return cls(site, choice(Priority, priority, "priority"), text or None)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Referral:
        return cls.of(str(data.get("from_site", "")), str(data.get("priority", "")),
                      data.get("reason"))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_booking(reserved_for: str | None, through: str | None, online: bool) -> None:
    """May a booking coming ``through`` 811/reorientation (or neither) take a place in a slot
    ``reserved_for`` one of them? Online bookings never; 811 and reorientation bookings only
    into slots kept for them; the clinic's own bookings (EMR, staff) anywhere."""
    if reserved_for is not None and online:
        raise SlotReserved(f"this slot is kept for {reserved_for} bookings: it is not offered "
                           "online", reserved_for=reserved_for)
    if through is not None and through != reserved_for:
        raise SlotNotReserved(f"this slot is not reserved for {through} bookings",
                              reserved_for=reserved_for)


def check_referral(through: str | None, referral: Referral | None) -> None:
    """A reorientation booking carries a referral; no other booking does."""
    if through == Reservation.REORIENTATION and referral is None:
        raise InvalidValue("a reorientation booking needs a referral {from_site, priority}",
                           field="referral")
    if referral is not None and through != Reservation.REORIENTATION:
        raise InvalidValue("only a reorientation booking carries a referral", field="referral")
