"""Reading ER7 (pipe-delimited HL7 v2): split, reject with a reason, read fields.

A message is split into segments, fields, repetitions, components and subcomponents as raw ER7
text (escape sequences kept, as hl7apy's ``to_er7`` gives them): the hub reads a few dozen fields
of a nine-segment SIU, and splitting costs about 10 µs where hl7apy's object model cost 7–11 ms.
hl7apy's tables still say which versions and segment names are accepted, and the property test
``tests/unit/test_er7.py`` checks that both read the same values."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from functools import cache
from typing import Any

from hl7apy import SUPPORTED_LIBRARIES, load_library

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
    """Read MSH alone; empty values when even MSH is unreadable."""
    first = normalise(text).split("\r", 1)[0]
    if not first.startswith("MSH") or len(first) < 8:
        return Header()
    try:
        return header_of(split(first).msh)
    except (ValueError, IndexError):
        return Header()


def bounded(text: str) -> Message:
    """The size and segment bounds (SPEC T3), MSH first, then the ER7 split: a cost bounded by
    the caps and independent of what the message says; no table lookup, nothing read yet.
    ``Hl7Problem`` when out of bounds or not HL7. The sender check reads ``header_of(.msh)``."""
    if len(text) > MAX_MESSAGE_CHARS:
        raise Hl7Problem("AR", APPLICATION_INTERNAL_ERROR,
                         f"message larger than {MAX_MESSAGE_CHARS} characters")
    er7 = normalise(text)
    lines = er7.split("\r")
    if len(lines) > MAX_SEGMENTS:
        raise Hl7Problem("AR", SEGMENT_SEQUENCE_ERROR, f"message has more than {MAX_SEGMENTS} segments")
    if any(len(line) > MAX_SEGMENT_CHARS for line in lines):
        raise Hl7Problem("AR", SEGMENT_SEQUENCE_ERROR,
                         f"a segment is longer than {MAX_SEGMENT_CHARS} characters")
    if not lines[0].startswith("MSH") or len(lines[0]) < 8:
        raise Hl7Problem("AR", SEGMENT_SEQUENCE_ERROR,
                         "not an HL7 v2 message: it must start with an MSH segment", "MSH")
    return split(er7, lines)


def bounded_header(text: str) -> Header:
    """MSH of a message within bounds (``bounded``), or ``Hl7Problem``."""
    return header_of(bounded(text).msh)


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


class Part:
    """ER7 text at one level: a field repetition (0), a component (1) or a subcomponent (2).
    Its pieces at the next level are split once, when first read."""

    __slots__ = ("level", "pieces", "seps", "text")

    def __init__(self, text: str, level: int, seps: str) -> None:
        self.text, self.level, self.seps = text, level, seps
        self.pieces: list[str] | None = None

    def to_er7(self) -> str:
        """The text without trailing empty components (as hl7apy writes a field)."""
        if self.level >= 1:
            return self.text
        return self.text.rstrip(self.seps[0])

    def child(self, position: int) -> Part | None:
        if self.level >= 2:
            return self if position == 1 else None
        pieces = self.pieces
        if pieces is None:
            separator = self.seps[0] if self.level == 0 else self.seps[3]
            pieces = self.pieces = self.text.split(separator) if separator in self.text else []
        if not pieces:
            return self if position == 1 else None  # a simple value is its own first component
        return Part(pieces[position - 1], self.level + 1, self.seps) if position <= len(pieces) else None


class Segment:
    """One segment: ``fields[n]`` is field n (for MSH, field 1 is the field separator). A
    field's repetitions are split once, when first read: never change ``fields`` or them."""

    __slots__ = ("fields", "name", "read", "seps")

    def __init__(self, name: str, fields: list[str], seps: str) -> None:
        self.name, self.fields, self.seps = name, fields, seps
        self.read: dict[int, list[Part]] = {}

    def repetitions(self, position: int) -> list[Part]:
        known = self.read.get(position)
        if known is None:
            known = self.read[position] = self._split(position)
        return known

    def _split(self, position: int) -> list[Part]:
        raw = self.fields[position] if position < len(self.fields) else ""
        if not raw.strip():  # blank, as hl7apy reads it (it strips each field)
            return []
        if self.name == "MSH" and position in (1, 2):
            return [Part(raw, 2, self.seps)]
        return [Part(r, 0, self.seps) for r in raw.split(self.seps[1])]

    def to_er7(self) -> str:
        return "|".join(self.fields) if self.name != "MSH" else "MSH" + "|".join(self.fields[2:])


class Message:
    """A split ER7 message: its segments in order."""

    __slots__ = ("er7", "segments", "version")

    def __init__(self, segments: list[Segment], version: str, er7: str) -> None:
        self.segments, self.version, self.er7 = segments, version, er7

    @property
    def children(self) -> list[Segment]:
        return self.segments

    @property
    def msh(self) -> Segment:
        return self.segments[0]

    def __getattr__(self, name: str) -> Segment:
        """``message.sch``: the first segment of that name (as hl7apy reads it)."""
        if len(name) == 3 and not name.startswith("_"):
            for seg in self.segments:
                if seg.name == name.upper():
                    return seg
        raise AttributeError(name)

    def to_er7(self) -> str:
        return "\r".join(s.to_er7() for s in self.segments)


def split(er7: str, lines: list[str] | None = None) -> Message:
    """Split a normalised message (segments separated by CR, starting with ``MSH``); ``lines``:
    its segments when the caller has split them already."""
    lines = er7.split("\r") if lines is None else lines
    first = lines[0]
    field_separator = first[3]
    declared = first[4:].split(field_separator, 1)[0]
    seps = (declared + "^~\\&"[len(declared):])[:4]
    out = []
    for line in lines:
        parts = line.split(field_separator)
        name = parts[0].upper()
        fields = [name, field_separator, *parts[1:]] if name == "MSH" else [name, *parts[1:]]
        out.append(Segment(name, fields, seps))
    version = Part(out[0].fields[12], 0, seps).child(1) if len(out[0].fields) > 12 else None
    return Message(out, version.text.strip() if version else "", er7)


@cache
def _segment_names(version: str) -> frozenset[str]:
    return frozenset(load_library(version).SEGMENTS)


def parse(text: str) -> Message:
    """Bound and split a whole message and check it (``checked``), or raise ``Hl7Problem``."""
    return checked(bounded(text))


def checked(message: Message) -> Message:
    """The version and segment names against hl7apy's tables, or ``Hl7Problem`` saying why."""
    if message.version not in SUPPORTED_LIBRARIES:
        raise Hl7Problem("AR", UNSUPPORTED_VERSION_ID, "message could not be parsed "
                         f"(UnsupportedVersion): The version {message.version} is not supported")
    known = _segment_names(message.version)
    for seg in message.segments:
        if len(seg.name) != 3 or not (seg.name in known or seg.name.startswith("Z")):
            raise Hl7Problem("AR", SEGMENT_SEQUENCE_ERROR, "message could not be parsed "
                             f"(InvalidName): Invalid name for Segment: {seg.name}")
    return message


def segments(message: Message, name: str) -> list[Segment]:
    return [child for child in message.segments if child.name == name]


def segment(message: Message, name: str) -> Segment | None:
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
        if isinstance(step, str):
            found = current.repetitions(_position(step))
            current = found[0] if found else None
        else:
            current = current.child(step) if isinstance(current, Part) else None
    if current is None:
        return ""
    return str(current.to_er7()).strip()


@cache
def _position(field: str) -> int:
    """``"pid_3"`` → 3."""
    return int(field.rsplit("_", 1)[1])


def repetitions(seg: Segment | None, field: str) -> list[Part]:
    return seg.repetitions(_position(field)) if seg is not None else []


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
