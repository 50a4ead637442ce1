"""A sample EMR day in HL7 v2 (used by ``hub demo``): an Omnimed-like EMR registers as a sender
and pushes its own agenda as SIU, built with hl7apy like a vendor would."""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING
from uuid import UUID

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message

from connectors.hl7v2.inbound import Hl7Inbox
from connectors.hl7v2.siu_out import SIU_VERSION
from hub.emr.feeds import EmrFeeds

if TYPE_CHECKING:
    from hub.scheduling.service import Scheduling

PATIENTS = [("GAGM80052512", "Gagnon", "Martine"), ("ROYJ72031488", "Roy", "Jacques"),
            ("COTL95112033", "Côté", "Louise")]


def _dtm(instant: datetime) -> str:
    return instant.strftime("%Y%m%d%H%M%S%z")


def emr_siu(trigger: str, control_id: str, facility: str, filler: str, start: datetime,
            minutes: int, patient: tuple[str, str, str]) -> str:
    """An S12-style SIU from the EMR OMNIMED^facility for Dr Luc Tremblay's consultation."""
    msg = Message("SIU_S12", version=SIU_VERSION, validation_level=VALIDATION_LEVEL.TOLERANT)
    msg.msh.msh_3, msg.msh.msh_4 = "OMNIMED", facility
    msg.msh.msh_5, msg.msh.msh_6 = "HUB", "HUB"
    msg.msh.msh_7 = _dtm(start)
    msg.msh.msh_9 = f"SIU^{trigger}^SIU_S12"
    msg.msh.msh_10 = control_id
    msg.msh.msh_11 = "P"
    msg.sch.sch_2 = f"{filler}^OMNIMED"
    msg.sch.sch_11 = f"^^{minutes}^{_dtm(start)}^{_dtm(start + timedelta(minutes=minutes))}"
    pid = msg.add_group("SIU_S12_PATIENT").pid
    pid.pid_1 = "1"
    pid.pid_3 = f"{patient[0]}^^^RAMQ^JHN"
    pid.pid_5 = f"{patient[1]}^{patient[2]}"
    resources = msg.add_group("SIU_S12_RESOURCES")
    resources.rgs.rgs_1 = "1"
    ais = resources.add_group("SIU_S12_SERVICE").ais
    ais.ais_1, ais.ais_3, ais.ais_7, ais.ais_8 = "1", "SUIVI^Suivi DMÉ", str(minutes), "min"
    aip = resources.add_group("SIU_S12_PERSONNEL_RESOURCE").aip
    aip.aip_1, aip.aip_3, aip.aip_4 = "1", "1234567^Tremblay^Luc", "MD^Médecin"
    return msg.to_er7()


def emr_day(app: Scheduling, clinic_id: UUID, day: datetime, zone: tzinfo) -> list[str]:
    """Register the EMR for the clinic and push three bookings, a move and a no-show."""
    facility = f"DEMO-{str(clinic_id)[:8].upper()}"
    EmrFeeds(app).register_sender(clinic_id, "OMNIMED", facility)
    inbox = Hl7Inbox(app, zone)
    start = datetime.combine(day.date(), time(13, 0), zone)
    messages = [emr_siu("S12", f"D{n}", facility, f"RV{n}", start + timedelta(minutes=20 * n), 20, p)
                for n, p in enumerate(PATIENTS)]
    messages.append(emr_siu("S13", "D3", facility, "RV0", start + timedelta(hours=2), 20, PATIENTS[0]))
    messages.append(emr_siu("S26", "D4", facility, "RV1", start + timedelta(minutes=20), 20, PATIENTS[1]))
    return [inbox.receive(m, "demo") for m in messages]
