"""Batch invitation to move 2nd-dose appointments (V1, seed 000 §3).

Staff pick at most 100 appointments in Suivi ("tous les rendez-vous sans annulation") and a
message type; each eligible citizen is invited by e-mail, else by SMS (e-mail preferred).
An ``InvitationBatch`` records the batch and, per appointment, that it was invited (with the
notification that carries the message) or why it was not.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from aggregates.errors import Conflict, InvalidValue
from aggregates.values import choice

MAX_PER_BATCH = 100


class InvitationMessage(StrEnum):
    ADVANCE_DATE = "advance_date"
    MOVED_OR_CANCELLED = "moved_or_cancelled"


#: What staff see in the batch window, in French and English (seed 000 §3).
MESSAGE_LABELS = {
    InvitationMessage.ADVANCE_DATE: {"fr": "Devancer la date du rendez-vous",
                                     "en": "Advance the appointment's date"},
    InvitationMessage.MOVED_OR_CANCELLED: {"fr": "Vaccination déplacée ou annulée",
                                           "en": "Vaccination moved or cancelled"},
}


class TooManyInvitations(InvalidValue):
    code = "too_many"


class AlreadyInvited(Conflict):
    code = "already_invited"


def checked_selection(appointment_ids: list[UUID], message: str) -> tuple[list[UUID], str]:
    """The selection without repeats, and the message type; or the rule that refuses them."""
    if len(appointment_ids) > MAX_PER_BATCH:
        raise TooManyInvitations(
            f"at most {MAX_PER_BATCH} appointments per invitation batch; "
            f"{len(appointment_ids)} were selected",
            limit=MAX_PER_BATCH,
            selected=len(appointment_ids),
        )
    if not appointment_ids:
        raise InvalidValue("select at least one appointment to invite", field="appointment_ids")
    return list(dict.fromkeys(appointment_ids)), choice(InvitationMessage, message, "message")


def invitation_channel(
    email: str | None, other_email: str | None, cell: str | None
) -> tuple[str, str] | None:
    """E-mail is preferred, then SMS; an invitation never goes by phone call (seed 000 §3)."""
    for value, channel in ((email, "email"), (other_email, "email"), (cell, "sms")):
        if value and value.strip():
            return channel, value.strip()
    return None


class InvitationBatch(Aggregate):
    """One "Déplacer" action: the clinic, the message type and each appointment's outcome."""

    @classmethod
    def start(cls, clinic_id: UUID, message: str, appointment_ids: list[UUID]) -> InvitationBatch:
        selection, message = checked_selection(appointment_ids, message)
        return cls(clinic_id=clinic_id, message=message, appointment_ids=selection)

    @event("BatchStarted")
    def __init__(self, clinic_id: UUID, message: str, appointment_ids: list[UUID]) -> None:
        self.clinic_id = clinic_id
        self.message = message
        self.appointment_ids = list(appointment_ids)
        self.invited: dict[str, dict[str, Any]] = {}
        self.not_invited: dict[str, list[str]] = {}

    def _require_selected(self, appointment_id: UUID) -> None:
        if appointment_id not in self.appointment_ids:
            raise InvalidValue("that appointment is not in this batch", field="appointment_id")
        if str(appointment_id) in self.invited or str(appointment_id) in self.not_invited:
            raise AlreadyInvited("this appointment's outcome is already recorded in this batch",
                                 appointment_id=str(appointment_id))

    def invite(self, appointment_id: UUID, channel: str, notification_id: UUID) -> None:
        """The citizen is invited; ``notification_id`` is the message that carries it."""
        self._require_selected(appointment_id)
        if channel not in ("email", "sms"):
            raise InvalidValue("an invitation goes by e-mail or SMS", field="channel")
        self._invited(appointment_id=appointment_id, channel=channel,
                      notification_id=notification_id)

    def pass_over(self, appointment_id: UUID, reasons: list[str]) -> None:
        """The appointment is not eligible (``reasons``: the failed criteria's codes)."""
        self._require_selected(appointment_id)
        self._passed_over(appointment_id=appointment_id, reasons=list(reasons))

    @property
    def complete(self) -> bool:
        return len(self.invited) + len(self.not_invited) == len(self.appointment_ids)

    @event("Invited")
    def _invited(self, appointment_id: UUID, channel: str, notification_id: UUID) -> None:
        self.invited[str(appointment_id)] = {"channel": channel, "notification_id": notification_id}

    @event("PassedOver")
    def _passed_over(self, appointment_id: UUID, reasons: list[str]) -> None:
        self.not_invited[str(appointment_id)] = list(reasons)
