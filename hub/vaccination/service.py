"""The 2nd-dose use cases of one hub, built together by ``hub.bootstrap.vaccination``."""

from __future__ import annotations

from dataclasses import dataclass

from hub.vaccination.invitations import Invitations
from hub.vaccination.records import DoseRecords
from hub.vaccination.self_service import SelfService


@dataclass
class Vaccination:
    """Doses at booking (V2), batch invitations (V1), the citizen's self-service (V3, V4)."""

    records: DoseRecords
    invitations: Invitations
    self_service: SelfService
