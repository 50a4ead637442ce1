"""Reading ER7 (pipe-delimited HL7 v2) with hl7apy: parse, reject with a reason, read fields."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message
from hl7apy.exceptions import HL7apyException
from hl7apy.parser import parse_message, parse_segment

#: HL7 table 0357 error codes used in ERR-3.
SEGMENT_SEQUENCE_ERROR = "100"
REQUIRED_FIELD_MISSING = "101"
DATA_TYPE_ERROR = "102"
TABLE_VALUE_NOT_FOUND = "103"
UNSUPPORTED_MESSAGE_TYPE = "200"
UNSUPPORTED_EVENT_CODE = "201"
UNSUPPORTED_PROCESSING_ID = "202"
UNSUPPORTED_VERSION_ID = "203"
UNKNOWN_KEY_IDENTIFIER = "204"
DUPLICATE_KEY_IDENTIFIER = "205"
APPLICATION_RECORD_LOCKED = "206"
APPLICATION_INTERNAL_ERROR = "207"
ERROR_NAMES = {
    "100": "Segment sequence error", "101": "Required field missing", "102": "Data type error",
    "103": "Table value not found", "200": "Unsupported message type",
    "201": "Unsupported event code", "202": "Unsupported processing id",
    "203": "Unsupported version id", "204": "Unknown key identifier",
    "205": "Duplicate key identifier", "206": "Application record locked",
    "207": "Application internal error",
}
#: Bounds checked by a plain split before any parsing (SPEC T3): a SIU message is a few KB.
MAX_MESSAGE_CHARS = 65_536
MAX_SEGMENTS = 200
MAX_SEGMENT_CHARS = 8_192


@dataclass
class Hl7Problem(Exception):
    """A message refused before anything is applied: AE (content) or AR (rejected)."""

    ack_code: str
    error_code: str
    text: str
    location: str = ""

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Header:
    """What an ACK needs from MSH, even for a message that cannot be parsed in full."""

    control_id: str = ""
    application: str = ""
    facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    processing_id: str = "P"
    version: str = ""
    message_type: str = ""
    trigger: str = ""


def normalise(text: str) -> str:
    """Segments end with CR; accept LF and CRLF from HTTP clients, drop blank lines."""
    lines = re.split(r"\r\n|\n|\r", text.strip("\x0b\x1c\r\n \t"))
    return "\r".join(line for line in lines if line.strip())


def header(text: str) -> Header:
    """Read MSH with hl7apy's segment parser; empty values when even MSH is unreadable."""
    first = normalise(text).split("\r", 1)[0]
    if not first.startswith("MSH"):
        return Header()
    try:
        msh = parse_segment(first, validation_level=VALIDATION_LEVEL.QUIET)
    except (HL7apyException, ValueError, IndexError):
        return Header()
    return header_of(msh)


def bounded_header(text: str) -> Header:
    """MSH by a plain split, after the size and segment bounds: what the sender check needs,
    at a cost that does not depend on the message (no hl7apy parse). ``Hl7Problem`` when out
    of bounds or not HL7."""
    if len(text) > MAX_MESSAGE_CHARS:
        raise Hl7Problem("AR", APPLICATION_INTERNAL_ERROR,
                         f"message larger than {MAX_MESSAGE_CHARS} characters")
    lines = normalise(text).split("\r")
    if len(lines) > MAX_SEGMENTS:
        raise Hl7Problem("AR", SEGMENT_SEQUENCE_ERROR, f"message has more than {MAX_SEGMENTS} segments")
    if any(len(line) > MAX_SEGMENT_CHARS for line in lines):
        raise Hl7Problem("AR", SEGMENT_SEQUENCE_ERROR,
                         f"a segment is longer than {MAX_SEGMENT_CHARS} characters")
    first = lines[0]
    if not first.startswith("MSH") or len(first) < 8:
        raise Hl7Problem("AR", SEGMENT_SEQUENCE_ERROR,
                         "not an HL7 v2 message: it must start with an MSH segment", "MSH")
    fields = first.split(first[3])  # MSH-1 is the field separator: MSH-n is fields[n - 1]
    component = fields[1][:1] or "^"

    def field(n: int, part: int = 1) -> str:
        text = fields[n - 1] if len(fields) >= n else ""
        parts = text.split(component)
        return parts[part - 1].strip() if len(parts) >= part else ""

    return Header(control_id=field(10), application=field(3), facility=field(4),
                  receiving_application=field(5), receiving_facility=field(6),
                  processing_id=field(11) or "P", version=field(12), message_type=field(9),
                  trigger=field(9, 2))


def header_of(msh: Any) -> Header:
    """The ``Header`` of a parsed MSH segment."""
    return Header(
        control_id=value(msh, "msh_10"),
        application=value(msh, "msh_3", 1),
        facility=value(msh, "msh_4", 1),
        receiving_application=value(msh, "msh_5", 1),
        receiving_facility=value(msh, "msh_6", 1),
        processing_id=value(msh, "msh_11", 1) or "P",
        version=value(msh, "msh_12", 1),
        message_type=value(msh, "msh_9", 1),
        trigger=value(msh, "msh_9", 2),
    )


def parse(text: str) -> Message:
    """Parse a whole message, or raise ``Hl7Problem`` saying why it is refused."""
    if len(text) > MAX_MESSAGE_CHARS:
        raise Hl7Problem("AR", APPLICATION_INTERNAL_ERROR,
                         f"message larger than {MAX_MESSAGE_CHARS} characters")
    er7 = normalise(text)
    if not er7.startswith("MSH|"):
        raise Hl7Problem("AR", SEGMENT_SEQUENCE_ERROR,
                         "not an HL7 v2 message: it must start with an MSH segment", "MSH")
    try:
        # QUIET: hl7apy still refuses what it cannot parse; the hub checks what it needs itself
        return parse_message(er7, find_groups=False, validation_level=VALIDATION_LEVEL.QUIET)
    except HL7apyException as exc:
        kind = type(exc).__name__
        code = UNSUPPORTED_VERSION_ID if kind == "UnsupportedVersion" else SEGMENT_SEQUENCE_ERROR
        raise Hl7Problem("AR", code, f"message could not be parsed ({kind}): {exc}") from None
    except (ValueError, IndexError, KeyError, AttributeError) as exc:
        raise Hl7Problem("AR", SEGMENT_SEQUENCE_ERROR, f"message could not be parsed: {exc}") from None


def segments(message: Message, name: str) -> list[Any]:
    return [child for child in message.children if child.name == name]


def segment(message: Message, name: str) -> Any | None:
    found = segments(message, name)
    return found[0] if found else None


def value(element: Any, *path: str | int) -> str:
    """The ER7 text at a path: field names (``"sch_1"``) then component positions (``2``).

    Positions rather than datatype names, which change between HL7 versions (MSG vs CM_MSG).
    The first repetition is taken at each step; "" when anything is absent.
    """
    current = element
    for step in path:
        if current is None:
            return ""
        current = _child(current, step)
    if current is None:
        return ""
    try:
        return str(current.to_er7()).strip()
    except (HL7apyException, AttributeError):
        return ""


def _child(element: Any, step: str | int) -> Any | None:
    try:
        if isinstance(step, str):
            found = getattr(element, step)
            return found[0] if len(found) else None
        suffix = f"_{step}"
        children = list(element.children)
        for child in children:
            if child.name.endswith(suffix) and child.name.rsplit("_", 1)[1] == str(step):
                return child
        # a simple value where a composite was expected: it is the first component
        return element if step == 1 and not children else None
    except (HL7apyException, AttributeError, IndexError, TypeError):
        return None


def repetitions(seg: Any, field: str) -> list[Any]:
    try:
        return list(getattr(seg, field))
    except (HL7apyException, AttributeError, TypeError):
        return []


_DTM = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d+)?([+-]\d{4})?$")


def instant(text: str, zone: tzinfo, where: str) -> datetime | None:
    """An HL7 DTM (YYYYMMDDHHMM[SS][+/-ZZZZ]) as an aware datetime; local ``zone`` if no offset."""
    text = text.strip()
    if not text:
        return None
    match = _DTM.match(text)
    if not match or match.group(4) is None:
        raise Hl7Problem("AE", DATA_TYPE_ERROR,
                         f"{where} must be a date and time YYYYMMDDHHMM[SS][+/-ZZZZ]; got {text!r}", where)
    year, month, day, hour, minute, second = (int(g or 0) for g in match.groups()[:6])
    offset = match.group(7)
    try:
        if offset:
            sign = 1 if offset[0] == "+" else -1
            tz: tzinfo = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
        else:
            tz = zone
        return datetime(year, month or 1, day or 1, hour, minute, second, tzinfo=tz)
    except ValueError as exc:
        raise Hl7Problem("AE", DATA_TYPE_ERROR, f"{where} is not a valid date and time: {exc}", where) from None


def day(text: str, where: str) -> str | None:
    """An HL7 DT/DTM as an ISO date (YYYY-MM-DD)."""
    text = text.strip()
    if not text:
        return None
    if not re.match(r"^\d{8}", text):
        raise Hl7Problem("AE", DATA_TYPE_ERROR, f"{where} must be a date YYYYMMDD; got {text!r}", where)
    return f"{text[0:4]}-{text[4:6]}-{text[6:8]}"
