"""A vaccination site for the 2nd-dose tests: 1st doses given a month ago, 2nd doses planned."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.scheduling.service import Scheduling
from hub.vaccination.records import DoseRecords
from tests.support.scheduling import ADDRESS

PRODUCTS = ["Pfizer-BioNTech", "Moderna", "AstraZeneca"]


def citizen(n: int, **extra: Any) -> dict[str, Any]:
    """A patient with a unique NAM, an e-mail and a cell."""
    q = n // 100
    letters = "".join(chr(65 + (q // 26**i) % 26) for i in range(4))
    return {"nam": f"{letters}800101{n % 100:02d}", "first_name": "Cit", "last_name": f"Oyen{n}",
            "birth_date": "1980-01-01", "email": f"c{n}@example.ca", "cell": f"418555{n:04d}",
            "language": "fr", **extra}


def code_in(text: str) -> str:
    found = re.search(r"\b(\d{6})\b", text)
    assert found, text
    return found.group(1)


class Site:
    """A public-health site: one service per product, a past slot for 1st doses, a far slot
    for the planned 2nd doses, and earlier slots to move them to."""

    def __init__(self, app: Scheduling, records: DoseRecords, capacity: int = 200,
                 application_type: str = "public_health", name: str = "Site de Ste-Anne") -> None:
        self.app = app
        self.records = records
        self.clinic = app.register_clinic(name, ADDRESS, "418-555-0000", application_type).id
        self.nurse = app.add_professional(self.clinic, "Équipe vaccin", "nurse").id
        self.services = {p: app.add_service(self.clinic, f"2e dose {p}", 10, "in_person", True, 0,
                                            p).id for p in PRODUCTS}
        self.general = app.add_service(self.clinic, "Vaccin COVID-19", 10, "in_person", True, 0).id
        self.first_slot = self.slot(days=-30, capacity=capacity)
        self.planned_slot = self.slot(days=60, capacity=capacity)

    def slot(self, days: float, capacity: int = 10, products: list[str] | None = None,
             locked: bool = False) -> uuid.UUID:
        start = (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)
        return self.app.open_slot(
            self.clinic, self.nurse, start, start + timedelta(minutes=10), capacity,
            [*self.services.values(), self.general], PRODUCTS if products is None else products,
            locked).id

    def vaccinated(self, n: int, product: str | None = "Pfizer-BioNTech", second: bool = True,
                   present: bool = True, **patient: Any) -> tuple[uuid.UUID, uuid.UUID | None]:
        """A citizen who had a 1st dose a month ago (and has a 2nd planned)."""
        person = citizen(n, **patient)
        service = self.services[product] if product else self.general
        first = self.records.book(self.first_slot, service, person, "admin", None, 1).id
        if present:
            self.app.set_status(first, "present")
        if not second:
            return first, None
        return first, self.records.book(self.planned_slot, service, person, "admin", None, 2).id
