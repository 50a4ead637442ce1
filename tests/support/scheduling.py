"""Helpers shared by tests (moved out of conftest.py)."""

from __future__ import annotations

import socket
import uuid
from datetime import UTC, datetime, timedelta

import psycopg

from hub.bootstrap import bootstrap
from hub.scheduling.service import Scheduling
from hub.settings import Settings

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"



def reachable(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False



def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]



def make_app(url: str, **kwargs) -> Scheduling:
    settings = Settings(database_url=url, **kwargs)
    return bootstrap(settings, configure_logs=False)



ADDRESS = {"street": "1 rue Principale", "city": "Québec", "province": "QC", "postal_code": "G1A 1A1"}



def future(hours: float = 72) -> datetime:
    return (datetime.now(UTC) + timedelta(hours=hours)).replace(microsecond=0)



def patient(n: int = 1, **extra: object) -> dict[str, object]:
    """A valid patient with a unique NAM per ``n``."""
    q = n // 100
    letters = "".join(chr(65 + (q // 26**i) % 26) for i in range(4))
    return {"nam": f"{letters}850101{n % 100:02d}", "first_name": "Pat", "last_name": f"Ient{n}",
            "birth_date": "1985-01-01", "email": f"p{n}@example.ca", "language": "fr", **extra}



class Setup:
    """A clinic with a GP, an in-person service, a vaccine service and one slot."""

    def __init__(self, app: Scheduling, application_type: str = "public_health", capacity: int = 10,
                 locked: bool = False, online: bool = True) -> None:
        self.app = app
        self.clinic = app.register_clinic("Clinique Test", ADDRESS, "418-555-0000", application_type).id
        self.gp = app.add_professional(self.clinic, "Dre Test", "gp").id
        self.consult = app.add_service(self.clinic, "Consultation", 15, "in_person", online, 24).id
        self.vaccine = app.add_service(self.clinic, "Vaccin", 10, "in_person", online, 12, "Pfizer").id
        self.slot = self.open_slot(capacity=capacity, locked=locked)

    def open_slot(self, capacity: int = 10, locked: bool = False, hours: float = 72,
                  products: list[str] | None = None) -> uuid.UUID:
        start = future(hours)
        return self.app.open_slot(
            self.clinic, self.gp, start, start + timedelta(minutes=30), capacity,
            [self.consult, self.vaccine], ["Pfizer"] if products is None else products, locked,
        ).id

