"""A simulated EMR that speaks HL7 v2 over MLLP: sends SIU, reads ACKs, receives outbound SIU."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message
from hl7apy.parser import parse_message

from connectors.hl7v2.mllp import MllpClient, MllpServer


def dtm(instant: datetime) -> str:
    return instant.strftime("%Y%m%d%H%M%S%z")


@dataclass
class Ack:
    code: str
    control_id: str
    text: str
    error: str
    raw: str


def read_ack(er7: str) -> Ack:
    msg = parse_message(er7.replace("\n", "\r"), find_groups=False,
                        validation_level=VALIDATION_LEVEL.TOLERANT)
    errs = [c for c in msg.children if c.name == "ERR"]
    return Ack(
        code=msg.msa.msa_1.to_er7(), control_id=msg.msa.msa_2.to_er7(),
        text=msg.msa.msa_3.to_er7() if msg.msa.msa_3 else "",
        error=errs[0].err_8.to_er7() if errs and errs[0].err_8 else "", raw=er7,
    )


@dataclass
class SimulatedEmr:
    """An Omnimed-like EMR: numbered control ids, its own appointment and professional codes."""

    application: str = "OMNIMED"
    facility: str = "CLIN01"
    version: str = "2.5.1"
    counter: int = 0

    def next_control_id(self) -> str:
        self.counter += 1
        return f"{self.application[:3]}{self.counter:06d}"

    def siu(self, trigger: str, filler: str, start: datetime, minutes: int = 15, *,
            nam: str | None = "TREM85510112", mrn: str | None = "12345", placer: str | None = None,
            professional: tuple[str, str, str] | None = ("1234", "Gagnon", "Luc"), role: str = "GP",
            service: tuple[str, str] | None = ("CONSULT", "Consultation"),
            location: str | None = "Bureau 1", resource: tuple[str, str] | None = None,
            control_id: str | None = None, patient: bool = True, reason: str = "",
            use_tq1: bool = True) -> str:
        end = start + timedelta(minutes=minutes)
        segs = [f"MSH|^~\\&|{self.application}|{self.facility}|HUB|HUB|{dtm(start)}||"
                f"SIU^{trigger}^SIU_S12|{control_id or self.next_control_id()}|P|{self.version}",
                f"SCH|{placer + '^' + self.application if placer else ''}|{filler}^{self.application}"
                f"||||{'^' + reason if reason else ''}|ROUTINE^Routine||{minutes}|min|"
                f"^^{minutes}^{dtm(start)}^{dtm(end)}"]
        if use_tq1:
            segs.append(f"TQ1|1||||||{dtm(start)}|{dtm(end)}")
        if patient:
            ids = []
            if nam:
                ids.append(f"{nam}^^^RAMQ^JHN")
            if mrn:
                ids.append(f"{mrn}^^^{self.facility}^MR")
            segs.append(f"PID|1||{'~'.join(ids)}||Tremblay^Marie||{_birth(nam)}|F|||||"
                        "^PRN^CP^^^418^5550101~^NET^Internet^marie@example.ca||FR")
        segs.append("RGS|1")
        if service:
            segs.append(f"AIS|1||{service[0]}^{service[1]}|{dtm(start)}|||{minutes}|min")
        if resource:
            segs.append(f"AIG|1||{resource[0]}^{resource[1]}")
        if location:
            segs.append(f"AIL|1||^^^{self.facility}^^^^^{location}")
        if professional:
            segs.append(f"AIP|1||{professional[0]}^{professional[1]}^{professional[2]}|{role}^Role")
        return "\r".join(segs)


def _birth(nam: str | None) -> str:
    """PID-7 agreeing with the NAM's YYMMDD (month + 50 for women)."""
    if not nam or len(nam) != 12 or not nam[4:].isdigit():
        return "19850101"
    month = int(nam[6:8])
    return f"19{nam[4:6]}{month - 50 if month > 50 else month:02d}{nam[8:10]}"


def emr_ack(received: str, code: str = "AA") -> str:
    """The EMR's own ACK for a message it received (built with hl7apy on its side)."""
    incoming = parse_message(received, find_groups=False, validation_level=VALIDATION_LEVEL.TOLERANT)
    ack = Message("ACK", version="2.5.1", validation_level=VALIDATION_LEVEL.TOLERANT)
    ack.msh.msh_3 = "OMNIMED"
    ack.msh.msh_4 = "CLIN01"
    ack.msh.msh_9 = "ACK"
    ack.msh.msh_10 = "EMRACK" + incoming.msh.msh_10.to_er7()
    ack.msh.msh_11 = "P"
    ack.msa.msa_1 = code
    ack.msa.msa_2 = incoming.msh.msh_10.to_er7()
    return ack.to_er7()


class ServerThread:
    """Runs an ``MllpServer`` on its own event loop in a background thread."""

    def __init__(self, handle: Callable[[str], str], **options: Any) -> None:
        """``options``: more ``MllpServer`` arguments (allowlists, TLS)."""
        self.server = MllpServer(handle, "127.0.0.1", 0, **options)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        _, self.port = asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(5)

    def client(self) -> MllpClient:
        return MllpClient("127.0.0.1", self.port, timeout=10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@dataclass
class EmrReceiver:
    """The EMR's inbound MLLP port: records SIU received and answers with a scripted ACK code."""

    codes: list[str] = field(default_factory=list)
    received: list[str] = field(default_factory=list)

    def __call__(self, text: str) -> str:
        self.received.append(text)
        code = self.codes.pop(0) if self.codes else "AA"
        if code == "DROP":
            return "not an ack"
        return emr_ack(text, code)
