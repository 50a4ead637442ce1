"""Racing 2nd-dose rebookings on SQLite and PostgreSQL (V3): for the last place of a slot,
and the same citizen in two browser tabs. Never two active 2nd doses, never none."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from uuid import UUID

from adapters.channels import Outgoing
from aggregates.appointment import Appointment
from aggregates.errors import DomainError
from aggregates.slot import Slot
from hub.bootstrap import vaccination
from hub.scheduling.service import Scheduling
from hub.settings import Settings
from hub.vaccination.service import Vaccination
from tests.support.vaccination import Site, code_in


@dataclass
class Outbox:
    """A channel that keeps what it is given (codes go out synchronously)."""

    idempotent: bool = True
    sent: list[Outgoing] = field(default_factory=list)

    def send(self, message: Outgoing) -> None:
        self.sent.append(message)


def signed_in(v: Vaccination, outbox: Outbox, n: int) -> str:
    request = v.self_service.lookup(f"418555{n:04d}", nam=f"AAAA800101{n:02d}")
    code = code_in(outbox.sent[-1].text)
    return v.self_service.verify(request.request_id, code).token


def race(*calls: tuple[str, UUID], v: Vaccination) -> list[object]:
    """Run the rebookings at once; each result is the ``Rebooked`` or the refusal."""
    results: list[object] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(i: int, token: str, slot: UUID) -> None:
        start.wait()
        try:
            results[i] = v.self_service.rebook(token, slot)
        except DomainError as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, t, s)) for i, (t, s) in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def active_second_doses(app: Scheduling, ids: list[UUID], patient: UUID) -> list[Appointment]:
    loaded = [app.load(Appointment, i, "appointment") for i in ids]
    return [a for a in loaded if a.patient_id == patient and a.dose == 2 and a.active]


def test_racing_rebookings_for_the_last_place(app: Scheduling) -> None:
    outbox = Outbox()
    v = vaccination(app, Settings(database_url="memory://"), channels={"sms": outbox})
    site = Site(app, v.records)
    last = site.slot(days=3, capacity=1)
    citizens = [site.vaccinated(n) for n in (1, 2, 3)]
    tokens = [signed_in(v, outbox, n) for n in (1, 2, 3)]
    results = race(*((t, last) for t in tokens), v=v)
    winners = [r for r in results if not isinstance(r, DomainError)]
    assert len(winners) == 1, results
    assert all(getattr(r, "code", None) == "slot_full" for r in results if r not in winners)
    new_ids = [w.appointment_id for w in winners]  # type: ignore[attr-defined]
    for (first, second) in citizens:
        patient = app.load(Appointment, first, "appointment").patient_id
        assert len(active_second_doses(app, [second, *new_ids], patient)) == 1
    assert app.load(Slot, last, "slot").booked == new_ids


def test_the_same_citizen_rebooking_twice_at_once(app: Scheduling) -> None:
    outbox = Outbox()
    v = vaccination(app, Settings(database_url="memory://"), channels={"sms": outbox})
    site = Site(app, v.records)
    one, two = site.slot(days=3, capacity=5), site.slot(days=4, capacity=5)
    first, second = site.vaccinated(4)
    tabs = [signed_in(v, outbox, 4), signed_in(v, outbox, 4)]
    results = race((tabs[0], one), (tabs[1], two), v=v)
    patient = app.load(Appointment, first, "appointment").patient_id
    made = [r.appointment_id for r in results if not isinstance(r, DomainError)]  # type: ignore[attr-defined]
    assert made, results
    assert len(active_second_doses(app, [second, *made], patient)) == 1
    booked = len(app.load(Slot, one, "slot").booked) + len(app.load(Slot, two, "slot").booked)
    assert booked == 1
