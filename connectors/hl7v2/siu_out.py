"""Hub appointment → SIU (v2.5.1) built with hl7apy, for EMRs that subscribe to their clinic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Field, Message

from aggregates.appointment import Appointment
from aggregates.patient import NAM_SYSTEM, Patient
from aggregates.professional import Professional
from aggregates.service import Service
from connectors.hl7v2.ack import HUB_APPLICATION, HUB_FACILITY
from hub.emr.agenda import HUB_SYSTEM

SIU_VERSION = "2.5.1"
#: Hub appointment event → SIU trigger (StatusSet only when the patient was absent).
TRIGGERS = {"Booked": "S12", "Rescheduled": "S13", "ServiceChanged": "S14", "Cancelled": "S15",
            "Deleted": "S17", "StatusSet": "S26"}
FILLER_STATUS = {"S12": "Booked", "S13": "Booked", "S14": "Booked", "S15": "Cancelled",
                 "S17": "Deleted", "S26": "Noshow"}
_ROLE_CODES = {"gp": "GP", "ips": "IPS", "nurse": "INF", "resident": "RES", "extern": "EXT",
               "specialist": "SPEC", "other": "OTH"}


@dataclass(frozen=True)
class SiuContent:
    """Everything an outbound SIU says about one appointment at one version."""

    trigger: str
    control_id: str
    receiving_application: str
    receiving_facility: str
    appointment: Appointment
    patient: Patient
    professional: Professional
    service: Service
    #: The EMR's own codes (AIP-3, AIS-3) when it named them, else the licence or hub ids.
    professional_code: str = ""
    service_code: str = ""


def _clean(text: str | None) -> str:
    """Free text inside a component: HL7 delimiters removed."""
    return "".join(" " if c in "|^~\\&\r\n" else c for c in (text or "")).strip()


def _dtm(instant: datetime) -> str:
    return instant.strftime("%Y%m%d%H%M%S%z")


def _repeat(segment: object, name: str, values: list[str]) -> None:
    """Set a repeating field: one ``Field`` per repetition (``~`` between them in ER7)."""
    for text in values:
        field = Field(name, version=SIU_VERSION, validation_level=VALIDATION_LEVEL.TOLERANT)
        field.value = text
        segment.add(field)  # type: ignore[attr-defined]  # hl7apy builds add() at run time


def build_siu(content: SiuContent) -> str:
    appointment, patient = content.appointment, content.patient
    professional, service = content.professional, content.service
    msg = Message("SIU_S12", version=SIU_VERSION, validation_level=VALIDATION_LEVEL.TOLERANT)
    msg.msh.msh_3 = HUB_APPLICATION
    msg.msh.msh_4 = HUB_FACILITY
    msg.msh.msh_5 = _clean(content.receiving_application)
    msg.msh.msh_6 = _clean(content.receiving_facility)
    msg.msh.msh_7 = _dtm(datetime.now(UTC))
    msg.msh.msh_9 = f"SIU^{content.trigger}^SIU_S12"
    msg.msh.msh_10 = content.control_id
    msg.msh.msh_11 = "P"
    msg.msh.msh_18 = "UNICODE UTF-8"

    minutes = int((appointment.end - appointment.start).total_seconds() // 60)
    msg.sch.sch_1 = f"{appointment.id}^{HUB_SYSTEM}"
    filler = next((i for i in appointment.identifiers if i["system"].startswith("urn:hl7v2:ei:")), None)
    if filler:
        msg.sch.sch_2 = f"{_clean(filler['value'])}^{filler['system'].removeprefix('urn:hl7v2:ei:')}"
    if content.trigger == "S15" and appointment.cancel_reason:
        msg.sch.sch_6 = f"^{_clean(appointment.cancel_reason)}"
    service_code = _clean(content.service_code) or str(service.id)
    professional_code = _clean(content.professional_code) or str(professional.id)
    msg.sch.sch_8 = f"{service_code}^{_clean(service.name)}"
    msg.sch.sch_9 = str(minutes)
    msg.sch.sch_10 = "min"
    msg.sch.sch_11 = f"^^{minutes}^{_dtm(appointment.start)}^{_dtm(appointment.end)}"
    msg.sch.sch_25 = FILLER_STATUS[content.trigger]
    msg.add_segment("TQ1")
    msg.tq1.tq1_1 = "1"
    msg.tq1.tq1_7 = _dtm(appointment.start)
    msg.tq1.tq1_8 = _dtm(appointment.end)

    pid = msg.add_group("SIU_S12_PATIENT").pid
    pid.pid_1 = "1"
    ids = [f"{_clean(i['value'])}^^^RAMQ^JHN" if i["system"] == NAM_SYSTEM
           else f"{_clean(i['value'])}^^^{_clean(i['system'])}^MR" for i in patient.identifiers]
    _repeat(pid, "PID_3", ids)
    pid.pid_5 = f"{_clean(patient.last_name)}^{_clean(patient.first_name)}"
    if patient.birth_date:
        pid.pid_7 = str(patient.birth_date).replace("-", "")
    contacts = []
    if patient.email:
        contacts.append(f"^NET^Internet^{_clean(patient.email)}")
    if patient.cell:
        contacts.append(f"^PRN^CP^^^^^^^^^{_clean(patient.cell)}")
    if patient.phone:
        contacts.append(f"^PRN^PH^^^^^^^^^{_clean(patient.phone)}")
    _repeat(pid, "PID_13", contacts)
    if patient.language:
        pid.pid_15 = patient.language.upper()

    resources = msg.add_group("SIU_S12_RESOURCES")
    resources.rgs.rgs_1 = "1"
    ais = resources.add_group("SIU_S12_SERVICE").ais
    ais.ais_1 = "1"
    ais.ais_3 = f"{service_code}^{_clean(service.name)}"
    ais.ais_4 = _dtm(appointment.start)
    ais.ais_7 = str(minutes)
    ais.ais_8 = "min"
    aip = resources.add_group("SIU_S12_PERSONNEL_RESOURCE").aip
    aip.aip_1 = "1"
    aip.aip_3 = f"{professional_code}^{_clean(professional.name)}"
    aip.aip_4 = f"{_ROLE_CODES.get(professional.type, 'OTH')}^{professional.type}"
    aip.aip_6 = _dtm(appointment.start)
    aip.aip_9 = str(minutes)
    aip.aip_10 = "min"
    return msg.to_er7()
