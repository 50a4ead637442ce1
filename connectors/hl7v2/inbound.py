"""Receiving SIU from registered EMR senders, whatever the transport: ER7 text in, ACK out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from typing import TYPE_CHECKING
from uuid import UUID
from zoneinfo import ZoneInfo

import structlog

from aggregates.emr import Hl7Sender
from aggregates.errors import Conflict, DomainError, InvalidValue, NotFound
from connectors.hl7v2.ack import build_ack
from connectors.hl7v2.er7 import (
    APPLICATION_INTERNAL_ERROR,
    APPLICATION_RECORD_LOCKED,
    DATA_TYPE_ERROR,
    MAX_SEGMENT_CHARS,
    REQUIRED_FIELD_MISSING,
    UNKNOWN_KEY_IDENTIFIER,
    UNSUPPORTED_PROCESSING_ID,
    Header,
    Hl7Problem,
    Message,
    bounded,
    checked,
    header,
    header_of,
)
from connectors.hl7v2.siu import to_emr_message
from hub.actor import Actor, acting_as
from hub.command_gate import StoreBusy
from hub.emr.agenda import EmrAgenda
from hub.emr.feeds import EmrFeeds
from hub.emr.vendors import VendorProfiles, load_profiles

if TYPE_CHECKING:
    from hub.scheduling.service import Scheduling

log = structlog.get_logger("connectors.hl7v2")
#: Domain field names → the HL7 field that carried them (for ERR-2).
_FIELD_LOCATIONS = {"nam": "PID-3", "identifiers": "PID-3", "birth_date": "PID-7",
                    "language": "PID-15", "first_name": "PID-5", "last_name": "PID-5",
                    "end": "TQ1-8", "start": "TQ1-7"}


class Hl7Inbox:
    """Applies SIU messages to the sender's clinic and answers every message with an ACK."""

    def __init__(self, app: Scheduling, zone: tzinfo | str = "America/Montreal",
                 profiles: VendorProfiles | None = None) -> None:
        self.app = app
        self.zone = ZoneInfo(zone) if isinstance(zone, str) else zone
        self.profiles = profiles or load_profiles()
        self.feeds = EmrFeeds(app)
        self.agenda = EmrAgenda(app)

    def receive(self, text: str, channel: str = "mllp",
                may_act_for: Callable[[UUID], bool] | None = None) -> str:
        """Never raises: the answer is an ACK with AA, AE or AR and a readable reason.

        ``may_act_for(clinic_id)`` (HTTP: the token's clinic scope) refuses senders of other clinics.
        """
        head = Header()
        try:
            message = bounded(text)  # bounds and a plain split, then the sender, then the rest (T3)
            head = header_of(message.msh)
            sender = self._check_sender(head, may_act_for)
            return self._apply(checked(message), head, channel, sender)
        except Hl7Problem as problem:
            if not head.control_id:  # the whole message was unreadable: MSH alone may not be
                head = header(text[:MAX_SEGMENT_CHARS])  # bounded: never a parse of a huge line
            return self._refuse(head, problem, channel)
        except StoreBusy as exc:
            return self._refuse(head, Hl7Problem("AR", APPLICATION_RECORD_LOCKED, exc.message), channel)
        except DomainError as exc:
            return self._refuse(head, _problem_of(exc), channel)
        except Exception:  # noqa: BLE001 - an EMR gets an AR, never a dropped connection
            log.exception("hl7 message failed", control_id=head.control_id, channel=channel)
            internal = Hl7Problem("AR", APPLICATION_INTERNAL_ERROR,
                                  "internal error: the message was not applied; send it again later")
            return self._refuse(head, internal, channel)

    def _check_sender(self, head: Header, may_act_for: Callable[[UUID], bool] | None) -> Hl7Sender:
        """Refuse, before parsing, a message whose MSH-3/MSH-4 is no registered sender (or a
        sender of a clinic this token does not act for)."""
        if not head.application or not head.facility:
            raise Hl7Problem("AR", REQUIRED_FIELD_MISSING,
                             "MSH-3 and MSH-4 (sending application and facility) are required", "MSH-3")
        sender = self.feeds.known_sender(head.application, head.facility)
        if sender is None:
            raise Hl7Problem(
                "AR", UNKNOWN_KEY_IDENTIFIER,
                f"sender MSH-3={head.application}, MSH-4={head.facility} is not registered: "
                "register it with POST /v1/clinics/{clinic_id}/hl7-senders", "MSH-3")
        if may_act_for is not None and not may_act_for(sender.clinic_id):
            raise Hl7Problem("AR", UNKNOWN_KEY_IDENTIFIER,
                             f"this token does not act for the clinic of sender "
                             f"MSH-3={head.application}, MSH-4={head.facility}", "MSH-3")
        return sender

    def _apply(self, message: Message, head: Header, channel: str,
               sender: Hl7Sender) -> str:
        if not head.control_id:
            raise Hl7Problem("AR", REQUIRED_FIELD_MISSING, "MSH-10 (message control id) is empty",
                             "MSH-10")
        if head.processing_id not in ("P", "T", "D"):
            raise Hl7Problem("AR", UNSUPPORTED_PROCESSING_ID,
                             f"MSH-11 processing id {head.processing_id!r} must be P, T or D", "MSH-11")
        mapping = self.profiles.for_sending_application(head.application)
        emr_message = to_emr_message(message, message.er7, mapping, self.zone)
        with acting_as(Actor(subject=sender.subject, role="emr", channel=channel)):
            applied = self.agenda.apply(sender, emr_message,
                                        lambda note: build_ack(head, "AA", note))
        return applied.ack

    @staticmethod
    def _refuse(head: Header, problem: Hl7Problem, channel: str) -> str:
        log.info("hl7 message refused", control_id=head.control_id, sender=head.application,
                 code=problem.ack_code, error=problem.error_code, reason=problem.text,
                 channel=channel)
        return build_ack(head, problem.ack_code, problem.text, problem.error_code, problem.location)


def _problem_of(exc: DomainError) -> Hl7Problem:
    field = str(exc.details.get("field", ""))
    location = field if field[:3].isupper() else _FIELD_LOCATIONS.get(field, "")
    if isinstance(exc, NotFound):
        code = UNKNOWN_KEY_IDENTIFIER
    elif isinstance(exc, InvalidValue):
        code = DATA_TYPE_ERROR
    elif isinstance(exc, Conflict):
        code = APPLICATION_INTERNAL_ERROR
    else:
        code = APPLICATION_INTERNAL_ERROR
    return Hl7Problem("AE", code, f"{exc.message} ({exc.code})", location)
