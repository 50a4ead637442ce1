"""Reorientation (R2): who may book into another clinic's reserved slots, and through what.

An ``info_sante_811`` user books into any clinic's slots reserved for ``811``; a
``reorientation_*`` user into slots reserved for ``reorientation``, with a referral; a clinic's
own staff, EMR and administrators book their clinic's slots as usual. Everything else of
another clinic stays out of sight (404).
"""

from __future__ import annotations

from aggregates.errors import InvalidValue, NotFound
from aggregates.reorientation import Referral, Reservation
from aggregates.slot import Slot
from hub.access.tokens import Principal


class ReferralNotAllowed(InvalidValue):
    code = "referral_not_allowed"


def booking_channel(principal: Principal, slot: Slot, referral: Referral | None) -> str | None:
    """The channel of this principal's booking into ``slot``: None (an ordinary booking by the
    slot's clinic), ``811`` or ``reorientation``; ``NotFound`` when it may not book it."""
    if referral is not None:
        if Reservation.REORIENTATION not in principal.channels:
            raise ReferralNotAllowed("only reorientation users send a referral",
                                     field="referral")
        if slot.reserved_for != Reservation.REORIENTATION and not principal.acts_for(slot.clinic_id):
            raise NotFound("no such slot for this token", id=str(slot.id))
        return Reservation.REORIENTATION.value
    if principal.acts_for(slot.clinic_id):
        return None
    if slot.reserved_for is not None and slot.reserved_for in principal.channels:
        return slot.reserved_for
    raise NotFound("no such slot for this token", id=str(slot.id))


def visible_reserved(principal: Principal, reserved_for: str | None) -> bool:
    """May the principal see another clinic's slot kept for ``reserved_for``?"""
    return reserved_for is not None and reserved_for in principal.channels
