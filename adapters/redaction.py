"""No personal data in a log line, ever (Loi 25, SPEC T2).

``redact_personal_data`` is a structlog processor: it replaces the values of keys that name
personal data (``nam``, ``email``, ``first_name``, ``to``...) and, in every other string of the
event (the message, exception texts, nested values), whatever looks like a NAM, an e-mail
address or a North American phone number. ``exception_processors`` turn ``exc_info`` into text
(console) or structured frames (JSON) *without local variables* and before the redaction, so a
traceback cannot carry a patient's data either. ``find_personal_data`` is the same detection,
for tests that scan whole logs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import structlog
from structlog.tracebacks import ExceptionDictTransformer
from structlog.types import Processor

REDACTED = "[redacted]"

#: Keys whose values are personal whatever they look like (names cannot be told by shape).
PERSONAL_KEYS = frozenset({
    "nam", "first_name", "last_name", "birth_date", "email", "other_email", "cell", "phone",
    "other_cell", "other_phone", "to", "recipient", "recipients", "address", "patient",
    "holder", "password", "secret_code",
})

#: Four letters, YY, MM (01-12, women 51-62), DD, two digits; printed with or without spaces.
_NAM = (r"(?<![A-Za-z0-9])[A-Za-z]{4}[ \t]?\d{2}(?:0[1-9]|1[0-2]|5[1-9]|6[0-2])[ \t]?"
        r"(?:0[1-9]|[12]\d|3[01])\d{2}(?![A-Za-z0-9-])")
_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
_PHONE = (r"(?<![\w.-])(?:\+?1[ .-]?)?(?:\([2-9]\d{2}\)|[2-9]\d{2})[ .-]?[2-9]\d{2}[ .-]?\d{4}"
          r"(?![\w])")
_PATTERNS = (("[nam]", re.compile(_NAM)), ("[email]", re.compile(_EMAIL)),
             ("[phone]", re.compile(_PHONE)))
_KEPT = (int, float, bool, UUID, datetime, date, Decimal, type(None))


def redact_text(text: str) -> str:
    """The text with every NAM, e-mail address and phone number replaced by its kind."""
    for label, pattern in _PATTERNS:
        text = pattern.sub(label, text)
    return text


def find_personal_data(text: str) -> list[str]:
    """Every NAM, e-mail address or phone number found in ``text`` (for log scans)."""
    return [match.group(0) for _, pattern in _PATTERNS for match in pattern.finditer(text)]


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, _KEPT):
        return value
    if isinstance(value, Mapping):
        return {k: REDACTED if _personal_key(k) and v not in (None, "") else _scrub(v)
                for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub(v) for v in value]
    return redact_text(str(value))


def _personal_key(key: object) -> bool:
    return isinstance(key, str) and key.lower() in PERSONAL_KEYS


def redact_personal_data(_logger: Any, _method: str,
                         event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: personal keys blanked, personal-looking text replaced."""
    for key, value in list(event_dict.items()):
        if _personal_key(key) and value not in (None, ""):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _scrub(value)
    return event_dict


def exception_processors(fmt: str) -> list[Processor]:
    """Turn ``exc_info`` into a traceback without local variables: text for the console,
    structured frames for JSON. Put them before ``redact_personal_data``."""
    if fmt == "json":
        return [structlog.processors.ExceptionRenderer(
            ExceptionDictTransformer(show_locals=False, use_rich=False))]
    return [structlog.processors.format_exc_info]
