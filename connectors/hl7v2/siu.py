"""SIU (scheduling information unsolicited) → ``EmrMessage``: the hub's words for what it says."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, tzinfo
from typing import Any

from connectors.hl7v2.er7 import (
    REQUIRED_FIELD_MISSING,
    UNSUPPORTED_EVENT_CODE,
    UNSUPPORTED_MESSAGE_TYPE,
    Hl7Problem,
    Message,
    day,
    instant,
    repetitions,
    segment,
    segments,
    value,
)
from hub.emr.agenda import HUB_SYSTEM, EmrMessage, EmrParty
from hub.emr.vendors import Hl7v2Mapping

#: SIU trigger events the hub applies, and the agenda action each one maps to.
ACTIONS = {
    "S12": "book", "S13": "reschedule", "S14": "modify", "S15": "cancel", "S17": "delete",
    "S26": "no_show", "S23": "block", "S24": "open",
}
_UNITS = {"s": 1 / 60, "sec": 1 / 60, "m": 1, "min": 1, "h": 60, "hr": 60, "hour": 60, "d": 1440}
_LANGUAGES = {"fr": "fr", "fre": "fr", "fra": "fr", "f": "fr", "en": "en", "eng": "en", "a": "en",
              "ang": "en"}


def digest(er7: str) -> str:
    return hashlib.sha256(er7.encode("utf-8")).hexdigest()


def appointment_system(namespace: str, application: str, facility: str, role: str) -> str:
    """The identifier system of an EMR's placer/filler id: its namespace (SCH-1.2/SCH-2.2)."""
    if namespace.upper() == HUB_SYSTEM:
        return HUB_SYSTEM
    if namespace:
        return f"urn:hl7v2:ei:{namespace}"
    return f"urn:hl7v2:{application}:{facility}:{role}"


def to_emr_message(message: Message, er7: str, mapping: Hl7v2Mapping, zone: tzinfo) -> EmrMessage:
    """Read an SIU message, or raise ``Hl7Problem`` naming the missing or bad field."""
    msh = message.msh
    kind, trigger = value(msh, "msh_9", 1), value(msh, "msh_9", 2)
    if kind != "SIU":
        raise Hl7Problem("AR", UNSUPPORTED_MESSAGE_TYPE,
                         f"message type {kind or '(empty)'} is not accepted here: send SIU", "MSH-9")
    if trigger not in ACTIONS:
        raise Hl7Problem("AR", UNSUPPORTED_EVENT_CODE,
                         f"SIU^{trigger} is not supported; supported: {', '.join(sorted(ACTIONS))}",
                         "MSH-9")
    sch = segment(message, "SCH")
    if sch is None:
        raise Hl7Problem("AE", REQUIRED_FIELD_MISSING, "the SCH segment is missing", "SCH")
    application, facility = value(msh, "msh_3", 1), value(msh, "msh_4", 1)
    identifiers = []
    for role, field in (("filler", "sch_2"), ("placer", "sch_1")):
        entity = value(sch, field, 1)
        if entity:
            system = appointment_system(value(sch, field, 2), application, facility, role)
            identifiers.append({"system": system, "value": entity})
    start, end = _times(message, sch, zone)
    pid = segment(message, "PID")
    reason = value(sch, "sch_6", 2) or value(sch, "sch_6", 1) or None
    return EmrMessage(
        action=ACTIONS[trigger],
        control_id=value(msh, "msh_10"),
        trigger=trigger,
        digest=digest(er7),
        identifiers=identifiers,
        start=start,
        end=end,
        patient=_patient(pid, mapping) if pid is not None else None,
        professionals=[p for p in (_professional(s, mapping) for s in segments(message, "AIP")) if p],
        services=_services(message, sch),
        locations=[p for p in (_location(s) for s in segments(message, "AIL")) if p],
        resources=[p for p in (_coded(s, "aig_3") for s in segments(message, "AIG")) if p],
        reason=reason,
        professional_type=str(mapping.default_professional_type),
        service_category=str(mapping.service_category),
        cancellation_delay_hours=mapping.cancellation_delay_hours,
    )


def _minutes(amount: str, units: str, where: str) -> int | None:
    if not amount:
        return None
    try:
        number = float(amount)
    except ValueError:
        raise Hl7Problem("AE", "102", f"{where} must be a number; got {amount!r}", where) from None
    factor = _UNITS.get((units or "min").strip().lower())
    if factor is None:
        raise Hl7Problem("AE", "103", f"unknown duration units {units!r} (use min, h or s)", where)
    minutes = int(round(number * factor))
    if minutes < 1:
        raise Hl7Problem("AE", "102", f"{where} must be a positive duration", where)
    return minutes


def _times(message: Message, sch: Any, zone: tzinfo) -> tuple[datetime | None, datetime | None]:
    tq1, ais, aip = segment(message, "TQ1"), segment(message, "AIS"), segment(message, "AIP")
    starts = [("TQ1-7", value(tq1, "tq1_7")), ("SCH-11.4", value(sch, "sch_11", 4)),
              ("AIS-4", value(ais, "ais_4")), ("AIP-6", value(aip, "aip_6"))]
    start = next((instant(text, zone, where) for where, text in starts if text), None)
    ends = [("TQ1-8", value(tq1, "tq1_8")), ("SCH-11.5", value(sch, "sch_11", 5))]
    end = next((instant(text, zone, where) for where, text in ends if text), None)
    if start is not None and end is None:
        minutes = (_minutes(value(sch, "sch_9"), value(sch, "sch_10", 1), "SCH-9")
                   or _minutes(value(ais, "ais_7"), value(ais, "ais_8", 1), "AIS-7")
                   or _minutes(value(aip, "aip_9"), value(aip, "aip_10", 1), "AIP-9"))
        end = start + timedelta(minutes=minutes) if minutes else None
    if start is not None and end is not None and end <= start:
        raise Hl7Problem("AE", "102", "the appointment ends before it starts", "TQ1-8")
    return start, end


def _patient(pid: Any, mapping: Hl7v2Mapping) -> dict[str, Any]:
    nam_authorities = {a.upper() for a in mapping.nam_authorities}
    nam_types = {t.upper() for t in mapping.nam_identifier_types}
    patient: dict[str, Any] = {"identifiers": []}
    for cx in repetitions(pid, "pid_3"):
        ident = value(cx, 1)
        authority, id_type = value(cx, 4, 1), value(cx, 5).upper()
        if not ident:
            continue
        if authority.upper() in nam_authorities or id_type in nam_types:
            patient.setdefault("nam", ident)
        elif authority:
            patient["identifiers"].append({"system": authority, "value": ident})
    if "nam" in patient:
        patient["identifiers"] = []  # the NAM alone identifies a Quebec patient (CONTRACT)
    elif not patient["identifiers"]:
        raise Hl7Problem("AE", REQUIRED_FIELD_MISSING,
                         "PID-3 holds no NAM (assigning authority RAMQ) nor an identifier with "
                         "its assigning authority (CX.4)", "PID-3")
    patient["last_name"] = value(pid, "pid_5", 1, 1) or value(pid, "pid_5", 1)
    patient["first_name"] = value(pid, "pid_5", 2)
    patient["birth_date"] = day(value(pid, "pid_7"), "PID-7")
    for xtn in [*repetitions(pid, "pid_13"), *repetitions(pid, "pid_14")]:
        email = value(xtn, 4)
        number = value(xtn, 12) or (value(xtn, 6) + value(xtn, 7)) or value(xtn, 1)
        if email and "@" in email:
            patient.setdefault("email", email)
        elif number:
            field = "cell" if value(xtn, 3).upper() in ("CP", "BP") else "phone"
            patient.setdefault(field, number)
    language = value(pid, "pid_15", 1).lower()
    patient["language"] = _LANGUAGES.get(language)
    return {k: v for k, v in patient.items() if v not in (None, "", [])}


def _professional(aip: Any, mapping: Hl7v2Mapping) -> EmrParty | None:
    code = value(aip, "aip_3", 1)
    family = value(aip, "aip_3", 2, 1) or value(aip, "aip_3", 2)
    name = " ".join(p for p in (value(aip, "aip_3", 3), family) if p)
    if not (code or name):
        return None
    role = value(aip, "aip_4", 1).upper()
    kind = mapping.professional_roles.get(role, mapping.default_professional_type)
    return EmrParty(code=code or name, name=name or code, role=str(kind))


def _coded(seg: Any, field: str) -> EmrParty | None:
    code, text = value(seg, field, 1), value(seg, field, 2)
    if not (code or text):
        return None
    return EmrParty(code=code or text, name=text or code)


def _services(message: Message, sch: Any) -> list[EmrParty]:
    found = []
    for ais in segments(message, "AIS"):
        party = _coded(ais, "ais_3")
        if party:
            minutes = _minutes(value(ais, "ais_7"), value(ais, "ais_8", 1), "AIS-7")
            found.append(EmrParty(party.code, party.name, duration_minutes=minutes))
    if not found:
        fallback = _coded(sch, "sch_8") or _coded(sch, "sch_7")
        if fallback:
            found.append(fallback)
    return found


def _location(ail: Any) -> EmrParty | None:
    parts = [value(ail, "ail_3", i) for i in (1, 2, 3)]
    facility = value(ail, "ail_3", 4, 1)
    code = "/".join(p for p in (facility, *parts) if p)
    name = value(ail, "ail_3", 9) or code
    if not code:
        code = name
    return EmrParty(code=code, name=name) if code else None
