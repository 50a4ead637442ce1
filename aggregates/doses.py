"""Doses (V2–V4): vaccine products, prescribed intervals, coupons and each citizen's course.

- Products have one canonical name each (``Pfizer-BioNTech``, ``Moderna``, ``AstraZeneca``,
  ``Covishield``); the usual spellings ("Pfizer", "Comirnaty", "Spikevax", ...) map to them.
- ``DoseIntervals`` is configuration: per product, the days between the 1st dose and the 2nd
  (earliest, latest). The defaults follow the products' monographs (21 or 28 days at least)
  and Québec's 16-week ceiling of 2021.
- V4: an AstraZeneca or Covishield 1st dose may be followed by Pfizer-BioNTech or Moderna.
- ``DoseCourse``: one per patient, the consistency boundary that keeps at most one active
  appointment per dose number (every booking or rebooking of a dose writes it, so racing ones
  conflict on its version).
- A coupon ("coupon RDV") is a short code a citizen can quote instead of the NAM (seed 000 §5).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from aggregates.errors import Conflict, InvalidValue

PFIZER = "Pfizer-BioNTech"
MODERNA = "Moderna"
ASTRAZENECA = "AstraZeneca"
COVISHIELD = "Covishield"

_ALIASES = {
    "pfizer": PFIZER,
    "pfizer-biontech": PFIZER,
    "pfizer biontech": PFIZER,
    "comirnaty": PFIZER,
    "moderna": MODERNA,
    "spikevax": MODERNA,
    "astrazeneca": ASTRAZENECA,
    "astra zeneca": ASTRAZENECA,
    "vaxzevria": ASTRAZENECA,
    "covishield": COVISHIELD,
}

#: V4: a 1st dose of these may be followed by a 2nd dose of ``SWITCH_TO``.
SWITCH_FROM = frozenset({ASTRAZENECA, COVISHIELD})
SWITCH_TO = (PFIZER, MODERNA)


def canonical_product(name: str | None) -> str | None:
    """The canonical name of a product the hub knows, or None (unknown or empty)."""
    if not name:
        return None
    key = " ".join(name.strip().lower().replace("_", " ").split())
    return _ALIASES.get(key) or _ALIASES.get(key.replace(" ", "-"))


def same_product(a: str | None, b: str | None) -> bool:
    """Whether two spellings name the same known product (``Pfizer`` = ``Pfizer-BioNTech``)."""
    ca, cb = canonical_product(a), canonical_product(b)
    if ca is None or cb is None:
        return bool(a) and a == b
    return ca == cb


def second_dose_products(first_product: str | None) -> tuple[str, ...]:
    """The products a 2nd dose may be, after a 1st dose of ``first_product`` (V4)."""
    first = canonical_product(first_product)
    if first is None:
        return ()
    if first in SWITCH_FROM:
        return (first, *SWITCH_TO)
    return (first,)


class OutsideInterval(Conflict):
    """The 2nd dose would fall outside the prescribed interval after the 1st."""

    code = "outside_prescribed_interval"


class ProductNotAllowed(Conflict):
    """The 2nd dose's product may not follow the 1st dose's (V4)."""

    code = "product_not_allowed"


class DoseAlreadyBooked(Conflict):
    """The citizen already has an active appointment for that dose."""

    code = "dose_already_booked"


@dataclass(frozen=True)
class Interval:
    """Days from the 1st dose to the 2nd: at least ``min_days``, at most ``max_days``."""

    min_days: int
    max_days: int | None = None

    def __post_init__(self) -> None:
        if self.min_days < 0 or (self.max_days is not None and self.max_days < self.min_days):
            raise InvalidValue(
                "a dose interval needs 0 <= min_days <= max_days", field="dose_intervals"
            )


_DEFAULT_INTERVALS = {
    PFIZER: Interval(21, 112),
    MODERNA: Interval(28, 112),
    ASTRAZENECA: Interval(28, 112),
    COVISHIELD: Interval(28, 112),
}


@dataclass(frozen=True)
class DoseIntervals:
    """The prescribed interval per product (configuration; defaults as above)."""

    by_product: Mapping[str, Interval] = field(
        default_factory=lambda: MappingProxyType(dict(_DEFAULT_INTERVALS))
    )

    @classmethod
    def parse(cls, text: str) -> DoseIntervals:
        """Read ``"Pfizer-BioNTech=21-112,Moderna=28-112,AstraZeneca=56"`` over the defaults.

        Each entry is ``product=MIN[-MAX]`` in days; a product the hub does not know is
        refused (its name would never match an appointment's).
        """
        intervals = dict(_DEFAULT_INTERVALS)
        for entry in (e.strip() for e in text.split(",")):
            if not entry:
                continue
            name, _, days = entry.partition("=")
            product = canonical_product(name)
            low, _, high = days.strip().partition("-")
            numbers = [n.strip() for n in (low, high) if n]
            if product is None or not low or not all(n.isdigit() for n in numbers):
                raise InvalidValue(
                    f"dose interval {entry!r}: expected PRODUCT=MIN[-MAX] in days with a known "
                    f"product ({', '.join(_DEFAULT_INTERVALS)})",
                    field="dose_intervals",
                )
            intervals[product] = Interval(int(low), int(high) if high else None)
        return cls(MappingProxyType(intervals))

    def for_product(self, product: str | None) -> Interval | None:
        canonical = canonical_product(product)
        return self.by_product.get(canonical) if canonical else None

    def knows(self, product: str | None) -> bool:
        return self.for_product(product) is not None

    def window(
        self, first_product: str | None, first_start: datetime
    ) -> tuple[datetime, datetime | None]:
        """Earliest and latest start of the 2nd dose after a 1st dose at ``first_start``."""
        interval = self.for_product(first_product)
        if interval is None:
            raise InvalidValue(
                f"no prescribed interval for product {first_product!r}", field="product"
            )
        latest = first_start + timedelta(days=interval.max_days) if interval.max_days else None
        return first_start + timedelta(days=interval.min_days), latest

    def require_within(
        self, first_product: str | None, first_start: datetime, start: datetime
    ) -> None:
        earliest, latest = self.window(first_product, first_start)
        if start < earliest or (latest is not None and start > latest):
            raise OutsideInterval(
                "this date is outside the prescribed interval after the 1st dose",
                earliest=earliest.isoformat(),
                latest=latest.isoformat() if latest else None,
            )


def require_second_dose_product(first_product: str | None, product: str | None) -> str:
    """The canonical 2nd-dose product, or ``ProductNotAllowed`` (V4)."""
    allowed = second_dose_products(first_product)
    chosen = canonical_product(product) if product else (allowed[0] if allowed else None)
    if chosen is None or chosen not in allowed:
        raise ProductNotAllowed(
            f"after a 1st dose of {first_product}, the 2nd dose may be: "
            + (", ".join(allowed) or "nothing until the product is identified"),
            product=product,
            allowed=list(allowed),
        )
    return chosen


# -- coupons ---------------------------------------------------------------------------
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
COUPON_LENGTH = 8


def coupon_for(appointment_id: UUID) -> str:
    """The appointment's coupon: 8 Crockford base-32 characters derived from its id."""
    number = int.from_bytes(hashlib.sha256(b"hub:coupon:" + appointment_id.bytes).digest()[:5])
    return "".join(_CROCKFORD[(number >> (5 * i)) & 31] for i in reversed(range(COUPON_LENGTH)))


def normalise_coupon(text: str) -> str:
    """Upper case, no spaces or dashes, and Crockford's look-alikes (O→0, I/L→1)."""
    cleaned = "".join(c for c in text.upper() if c not in " -")
    cleaned = cleaned.translate(str.maketrans("OIL", "011"))
    if len(cleaned) != COUPON_LENGTH or any(c not in _CROCKFORD for c in cleaned):
        raise InvalidValue(
            f"a coupon has {COUPON_LENGTH} letters and digits (e.g. 4K7P-9QXM)", field="coupon"
        )
    return cleaned


def coupon_index_id(coupon: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"hub:coupon:{coupon}")


class CouponIndex(Aggregate):
    """Index: one coupon → its appointment (saved with the dose it names)."""

    @staticmethod
    def create_id(coupon: str, **_: Any) -> UUID:
        return coupon_index_id(coupon)

    @event("CouponIssued")
    def __init__(self, coupon: str, appointment_id: UUID, patient_id: UUID) -> None:
        self.coupon = coupon
        self.appointment_id = appointment_id
        self.patient_id = patient_id


# -- the course of doses -------------------------------------------------------------------
def course_id(patient_id: UUID) -> UUID:
    return uuid5(NAMESPACE_URL, f"hub:dose-course:{patient_id}")


class DoseCourse(Aggregate):
    """A patient's vaccination appointments by dose number (one active per dose).

    The course does not know whether an appointment is still active: the command that
    books a dose says so (``current_active``), having loaded it. Booking a dose while its
    current appointment is active is refused unless that appointment is being replaced.
    """

    @staticmethod
    def create_id(patient_id: UUID) -> UUID:
        return course_id(patient_id)

    @event("CourseOpened")
    def __init__(self, patient_id: UUID) -> None:
        self.patient_id = patient_id
        self.doses: dict[str, UUID] = {}

    def appointment_for(self, dose: int) -> UUID | None:
        return self.doses.get(str(dose))

    def book(self, dose: int, appointment_id: UUID, current_active: bool) -> None:
        """Record a new appointment for ``dose``; refused if the current one is active."""
        if dose < 1:
            raise InvalidValue("dose must be 1 or more", field="dose")
        current = self.appointment_for(dose)
        if current is not None and current_active:
            raise DoseAlreadyBooked(
                f"this patient already has an active appointment for dose {dose}",
                dose=dose,
                appointment_id=str(current),
            )
        self._dose_booked(dose=dose, appointment_id=appointment_id, replaces=current)

    def rebook(self, dose: int, old_id: UUID, new_id: UUID) -> None:
        """Replace ``old_id`` by ``new_id`` (the caller cancels the old one in the same save)."""
        current = self.appointment_for(dose)
        if current != old_id:
            raise Conflict(
                f"the appointment for dose {dose} changed meanwhile; look it up again",
                dose=dose,
            )
        self._dose_booked(dose=dose, appointment_id=new_id, replaces=old_id)

    @event("DoseBooked")
    def _dose_booked(self, dose: int, appointment_id: UUID, replaces: UUID | None) -> None:
        self.doses[str(dose)] = appointment_id
