"""A synthetic scheduling history written in bulk, for benchmarks and scale tests.

The aggregates' own commands produce every event (so the history is one the hub could have
written), but many aggregates are saved per transaction instead of one command per save:
that writes tens of thousands of events per second instead of about a thousand.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from aggregates.appointment import Appointment
from aggregates.clinic import Clinic
from aggregates.patient import NAM_SYSTEM, Patient, PatientIdentifier, identifier
from aggregates.professional import Professional
from aggregates.pseudonyms import identifier_digest
from aggregates.service import Service
from aggregates.slot import Slot
from hub.application import HubApplication

APPLICATION_TYPES = ("public_health", "pharmacy", "enterprise", "clinic")
SOURCES = ("emr", "portal", "admin", "citizen")
FIRST = ("Marie", "Jean", "Sophie", "Luc", "Chloé", "Éric", "Amélie", "Marc", "Julie", "Léa")
LAST = ("Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Gauthier", "Morin", "Lavoie")


@dataclass
class _ClinicSetup:
    clinic: Clinic
    professionals: list[Professional]
    services: list[Service]


@dataclass
class _Window:
    """Aggregates touched since the last save."""

    touched: dict[UUID, Aggregate] = field(default_factory=dict)

    def add(self, *aggregates: Aggregate) -> None:
        for aggregate in aggregates:
            self.touched[aggregate.id] = aggregate

    def pending(self) -> int:
        return sum(len(a._pending_events) for a in self.touched.values())  # noqa: SLF001 - counts events before saving them in bulk


def nam_for(n: int) -> str:
    """A valid NAM, unique for each patient number ``n`` below 45 million."""
    letters = "".join(chr(65 + (n // 100 // 26**i) % 26) for i in range(4))
    return f"{letters}{80 + n % 20:02d}{1 + n % 12:02d}{1 + n % 28:02d}{n % 100:02d}"


def write_history(
    app: HubApplication,
    events: int,
    seed: int = 0,
    clinics: int = 8,
    save_every: int = 5_000,
    first_patient: int = 0,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write at least ``events`` events (S1–S5 commands) in bulk; return how many were written.

    Patients are numbered from ``first_patient`` (their NAMs must not exist in the store yet).
    """
    rng = random.Random(seed)
    today = date(2026, 1, 1)
    first_day = datetime(2026, 3, 2, tzinfo=UTC)
    written = 0
    window = _Window()
    setups = []
    for c in range(clinics):
        clinic = Clinic.register(f"Clinique {c}", {"street": f"{c} rue Principale", "city": "Québec",
                                  "province": "QC", "postal_code": "G1A 1A1"}, "418-555-0100",
                                  APPLICATION_TYPES[c % len(APPLICATION_TYPES)])
        pros = [Professional.register(clinic.id, f"Pro {c}-{p}", ("gp", "nurse", "ips", "specialist")[p % 4])
                for p in range(4)]
        services = [
            Service.define(clinic.id, "Consultation", 15, "in_person", True, 24),
            Service.define(clinic.id, "Suivi téléphonique", 15, "phone", True, 24),
            Service.define(clinic.id, "Vaccin", 10, "in_person", True, 12, "Pfizer-BioNTech"),
            Service.define(clinic.id, "Note", 5, "silent", False, 0),
        ]
        setups.append(_ClinicSetup(clinic, pros, services))
        window.add(clinic, *pros, *services)
    patients: list[Patient] = []
    next_patient = first_patient
    slots: dict[UUID, Slot] = {}
    live: list[Appointment] = []

    def save() -> None:
        nonlocal written, window
        count = window.pending()
        if count:
            app.save(*window.touched.values())
            written += count
            if progress:
                progress(count)
        window = _Window()

    def patient_for_booking() -> list[Aggregate]:
        nonlocal next_patient
        if patients and rng.random() < 0.35:
            known = rng.choice(patients)
            if rng.random() < 0.3:
                known.correct({"email": f"p{rng.randrange(10**9)}@exemple.ca"}, today)
            return [known]
        n = next_patient
        next_patient += 1
        nam = nam_for(n)
        ids = [identifier(NAM_SYSTEM, nam)]
        details: dict[str, Any] = {"first_name": FIRST[n % len(FIRST)], "last_name": LAST[n % len(LAST)],
                                   "birth_date": f"19{nam[4:6]}-{nam[6:8]}-{nam[8:10]}",
                                   "language": "fr",
                                   "email": f"p{n}@exemple.ca"}
        patient = Patient.register(ids, details, today)
        patients.append(patient)
        if len(patients) > 20_000:
            patients.pop(rng.randrange(len(patients)))
        digest = identifier_digest(app.index_secret, NAM_SYSTEM, ids[0]["value"])
        return [patient, PatientIdentifier(NAM_SYSTEM, digest, patient.id)]

    opened = 0
    while written < events:
        opened += 1
        setup = rng.choice(setups)
        pro = rng.choice(setup.professionals)
        start = first_day + timedelta(days=rng.randrange(60), hours=8 + rng.randrange(9),
                                      minutes=15 * rng.randrange(4))
        services = setup.services[:3] if rng.random() < 0.7 else setup.services
        slot = Slot.open(setup.clinic.id, pro.id, start, start + timedelta(minutes=15),
                         rng.randint(1, 6), [s.id for s in services], ["Pfizer-BioNTech"],
                         locked=rng.random() < 0.1)
        window.add(slot)
        slots[slot.id] = slot
        if len(slots) > 200:
            del slots[next(iter(slots))]
        for _ in range(rng.randint(0, slot.capacity)):
            service = rng.choice(services)
            booked = patient_for_booking()
            appointment = Appointment.book(setup.clinic.id, slot.id, pro.id, slot.start, slot.end,
                                           service.id, booked[0].id, rng.choice(SOURCES),
                                           service.product)
            slot.reserve(appointment.id, service.id, service.product, online=False)
            window.add(appointment, *booked)
            live.append(appointment)
        _later_changes(rng, setup, window, slots, live)
        if opened % 50 == 0 and (written + window.pending() >= events or window.pending() >= save_every):
            save()
    save()
    return written


def _later_changes(rng: random.Random, setup: _ClinicSetup, window: _Window,
                   slots: dict[UUID, Slot], live: list[Appointment]) -> None:
    """Cancel, reschedule, mark present or absent, delete, lock: on recent appointments."""
    while len(live) > 400:
        live.pop(0)
    by_id = slots
    for _ in range(3):
        if not live:
            return
        appointment = rng.choice(live)
        if not appointment.active or appointment.slot_id not in by_id:
            continue
        slot = by_id[appointment.slot_id]
        roll = rng.random()
        if roll < 0.25:
            appointment.cancel("Patient indisponible")
            slot.release(appointment.id, appointment.product, APPLICATION_TYPES[0])
            window.add(appointment, slot)
        elif roll < 0.4:
            target = rng.choice(list(by_id.values()))
            if (target.id != slot.id and target.clinic_id == appointment.clinic_id
                    and target.remaining() > 0 and appointment.service_id in target.service_ids):
                target.reserve(appointment.id, appointment.service_id, appointment.product, online=False)
                slot.release(appointment.id, appointment.product, APPLICATION_TYPES[1])
                appointment.reschedule(target.id, target.professional_id, target.start, target.end,
                                       appointment.service_id, appointment.product)
                window.add(appointment, slot, target)
        elif roll < 0.8:
            appointment.set_status(rng.choice(("present", "present", "absent")))
            window.add(appointment)
        elif roll < 0.85:
            slot.release(appointment.id, appointment.product, APPLICATION_TYPES[2])
            appointment.delete()
            window.add(appointment, slot)
        else:
            slot.lock() if not slot.locked else slot.unlock()
            window.add(slot)

