"""No NAM, e-mail, phone or name in a rendered log line, tracebacks included (no locals)."""

from __future__ import annotations

import io
import json
from typing import Any
from uuid import uuid4

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

from adapters.redaction import (
    exception_processors,
    find_personal_data,
    redact_personal_data,
    redact_text,
)

PATIENT = {"nam": "TREM85010112", "first_name": "Marie", "last_name": "Tremblay",
           "email": "marie.tremblay@example.ca", "cell": "514-555-0199"}


def render(fmt: str, emit: Any) -> str:
    """What one call to ``emit(log)`` prints with the hub's processors in ``fmt``."""
    out = io.StringIO()
    renderer: Any = (structlog.processors.JSONRenderer() if fmt == "json"
                     else structlog.dev.ConsoleRenderer(colors=False))
    log = structlog.wrap_logger(
        structlog.PrintLogger(out),
        processors=[structlog.processors.add_log_level, *exception_processors(fmt),
                    redact_personal_data, renderer],
    )
    emit(log)
    return out.getvalue()


def book(patient: dict[str, str]) -> None:
    nam = patient["nam"]  # a local the old console traceback printed
    raise ValueError(f"cannot book {nam} ({patient['email']}, {patient['cell']})")


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_personal_values_and_tracebacks_are_redacted(fmt: str) -> None:
    def emit(log: Any) -> None:
        log.info("booking for TREM 8501 0112, call +1 (514) 555-0199", patient=PATIENT,
                 to="marie.tremblay@example.ca", first_name="Marie", detail={"phone": "x"})
        try:
            book(PATIENT)
        except ValueError:
            log.exception("booking failed", nam="TREM85010112")

    text = render(fmt, emit)

    for secret in ("TREM85010112", "TREM 8501 0112", "Marie", "Tremblay", "marie.tremblay",
                   "514-555-0199", "555-0199"):
        assert secret not in text
    assert find_personal_data(text) == []
    assert "[nam]" in text and "[phone]" in text and "ValueError" in text and "book" in text
    if fmt == "json":
        failure = json.loads(text.splitlines()[-1])
        frames = failure["exception"][0]["frames"]
        assert frames and all("locals" not in frame or not frame["locals"] for frame in frames)
        assert failure["exception"][0]["exc_type"] == "ValueError"


def test_ordinary_values_are_left_alone() -> None:
    ident = uuid4()
    line = (f"slot {ident} at 2026-11-30T04:21:45.123456+00:00 position=1234567 took 0.0123 s, "
            f"count 1764476505, clinic phone 418-555-0000 is redacted too")
    assert redact_text(line).startswith(f"slot {ident} at 2026-11-30T04:21:45.123456+00:00 "
                                        "position=1234567 took 0.0123 s, count 1764476505")
    event = redact_personal_data(None, "info", {"event": "x", "code": "slot_full", "n": 3,
                                                "id": ident, "email": None})
    assert event == {"event": "x", "code": "slot_full", "n": 3, "id": ident, "email": None}


@given(st.from_regex(r"[A-Z]{4}[0-9]{2}(0[1-9]|1[0-2]|5[1-9]|6[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{2}", fullmatch=True), st.text(max_size=20),
       st.from_regex(r"[2-9][0-9]{2}-[2-9][0-9]{2}-[0-9]{4}", fullmatch=True))
def test_any_nam_or_phone_inside_any_text_is_found(nam: str, filler: str, phone: str) -> None:
    text = f"{filler} {nam} {filler} {phone} {filler}"
    redacted = redact_text(text)
    assert nam not in redacted and phone not in redacted
