"""What the citizen's 2nd-dose self-service (``hub.vaccination.self_service``) is set up
with and answers: its policy, the code sent, the verification, the window, the rebooking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from aggregates.eligibility import Eligibility, TargetGroup
from hub.command_gate import StoreBusy


class CodeNotSent(StoreBusy):
    """The code could not be sent right now (channel missing or refusing); ask again."""

    code = "code_not_sent"


@dataclass(frozen=True)
class SelfServicePolicy:
    code_minutes: int = 10
    codes_per_window: int = 5
    window: timedelta = timedelta(hours=1)
    target_group: TargetGroup = TargetGroup()
    #: The server's key for the code and token hashes (``HUB_SELF_SERVICE_KEY``; never stored).
    key: bytes = b""


@dataclass(frozen=True)
class CodeSent:
    request_id: UUID
    channel: str
    sent_to: str
    expires_at: datetime
    position: int


@dataclass(frozen=True)
class Verified:
    """What the citizen confirms at step 3 (seed 000 §5) and may do next."""

    token: str
    appointment: dict[str, Any]
    eligibility: Eligibility
    refusal: dict[str, Any] | None
    products: list[str]
    earliest: datetime | None
    latest: datetime | None


@dataclass(frozen=True)
class Window:
    """The 1st-dose site, the 2nd dose's product and its interval (``latest`` None: open)."""

    clinic_id: UUID
    product: str
    earliest: datetime
    latest: datetime | None


@dataclass(frozen=True)
class Rebooked:
    appointment_id: UUID
    cancelled_id: UUID | None
    position: int


def masked(channel: str, address: str) -> str:
    """``c***@example.ca`` or ``***8365``: enough for the citizen to recognise it."""
    if channel == "email":
        name, _, domain = address.partition("@")
        return f"{name[:1]}***@{domain}"
    return "***" + "".join(c for c in address if c.isdigit())[-4:]
