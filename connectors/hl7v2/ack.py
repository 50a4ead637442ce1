"""Building ACKs with hl7apy: MSA-1 AA/AE/AR, MSA-2 echoing MSH-10, a readable ERR segment."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message

from connectors.hl7v2.er7 import ERROR_NAMES, Header

ACK_VERSION = "2.5.1"
HUB_APPLICATION = "HUB"
HUB_FACILITY = "HUB"


def _text(text: str, limit: int = 200) -> str:
    """Free text safe inside a field: no delimiters, bounded length."""
    cleaned = "".join(" " if c in "|^~\\&\r\n" else c for c in text)
    return cleaned[:limit].strip()


def build_ack(received: Header, code: str, text: str = "", error_code: str = "",
              location: str = "") -> str:
    """An ACK (v2.5.1) for ``received``: MSA-2 = its MSH-10; AE/AR carry an ERR segment."""
    ack = Message("ACK", version=ACK_VERSION, validation_level=VALIDATION_LEVEL.QUIET)
    ack.msh.msh_3 = HUB_APPLICATION
    ack.msh.msh_4 = HUB_FACILITY
    if received.application:
        ack.msh.msh_5 = _text(received.application, 227)
    if received.facility:
        ack.msh.msh_6 = _text(received.facility, 227)
    ack.msh.msh_7 = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
    trigger = _text(received.trigger, 3) if received.trigger else ""
    ack.msh.msh_9 = f"ACK^{trigger}^ACK" if trigger else "ACK"
    ack.msh.msh_10 = uuid4().hex[:20]
    ack.msh.msh_11 = _text(received.processing_id, 3) or "P"
    ack.msa.msa_1 = code
    ack.msa.msa_2 = _text(received.control_id, 199)
    if text:
        ack.msa.msa_3 = _text(text, 80)
    if code != "AA":
        error_code = error_code or "207"
        if location:
            parts = location.split("-", 1)
            ack.err.err_2 = parts[0] + ("^1^" + parts[1].split(".", 1)[0] if len(parts) > 1 else "")
        ack.err.err_3 = f"{error_code}^{ERROR_NAMES.get(error_code, 'Error')}^HL70357"
        ack.err.err_4 = "E"
        ack.err.err_8 = _text(text, 250)
    return ack.to_er7()
