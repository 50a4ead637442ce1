"""Building ACKs as ER7 text: MSA-1 AA/AE/AR, MSA-2 echoing MSH-10, a readable ERR segment."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

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
    trigger = _text(received.trigger, 3) if received.trigger else ""
    msh = ["MSH", "^~\\&", HUB_APPLICATION, HUB_FACILITY,
           _text(received.application, 227) if received.application else "",
           _text(received.facility, 227) if received.facility else "",
           datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000"), "",
           f"ACK^{trigger}^ACK" if trigger else "ACK", uuid4().hex[:20],
           _text(received.processing_id, 3) or "P", ACK_VERSION]
    msa = ["MSA", code, _text(received.control_id, 199)]
    if text:
        msa.append(_text(text, 80))
    segments = ["|".join(msh), "|".join(msa)]
    if code != "AA":
        error_code = error_code or "207"
        where = ""
        if location:
            parts = location.split("-", 1)
            where = parts[0] + ("^1^" + parts[1].split(".", 1)[0] if len(parts) > 1 else "")
        segments.append("|".join(["ERR", "", where,
                                  f"{error_code}^{ERROR_NAMES.get(error_code, 'Error')}^HL70357",
                                  "E", "", "", "", _text(text, 250)]))
    return "\r".join(segments)
