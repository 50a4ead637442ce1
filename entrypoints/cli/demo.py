"""``hub demo``: build a demo clinic's day end to end and print its Suivi list."""

from __future__ import annotations

import argparse
import random
from datetime import datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from adapters.sqlaccessstore import access_store_for
from aggregates.appointment import Appointment
from aggregates.errors import DomainError
from aggregates.slot import Slot
from entrypoints.cli import serve
from entrypoints.cli.projections import suivi_table
from entrypoints.demo.accounts import family_account
from entrypoints.demo.directory import create_demo_clinic
from entrypoints.demo.notifications import show_delivery
from entrypoints.demo.second_dose import second_dose_campaign
from entrypoints.demo.siu_day import emr_day
from hub.access.tokens import issue
from hub.bootstrap import bootstrap
from hub.logging import configure_logging
from hub.scheduling.service import Scheduling
from hub.settings import Settings

FIRST = ["Marie", "Jean", "Sophie", "Luc", "Chloé", "Éric", "Amélie", "Marc", "Julie", "Samuel",
         "Léa", "Olivier", "Camille", "Gabriel", "Noémie", "Félix"]
LAST = ["Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Gauthier", "Morin", "Lavoie",
        "Fortin", "Gagné", "Ouellet", "Pelletier", "Bélanger", "Lévesque", "Bergeron"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="build a demo clinic's day and print its Suivi")
    parser.add_argument("--seed", type=int, default=None, help="random seed for the patients")
    parser.add_argument("--serve", action="store_true",
                        help="then serve the console on --host/--port, signed in with a new admin token")
    parser.add_argument("--host", default="127.0.0.1", help="with --serve: address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="with --serve: port to listen on")
    parser.set_defaults(func=run)


def demo_patient(rng: random.Random, n: int) -> dict[str, object]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    year, month, day = rng.randint(1940, 2015), rng.randint(1, 12), rng.randint(1, 28)
    female = n % 2 == 0
    nam = f"{last[:3].upper()}{first[0].upper()}{year % 100:02d}{month + (50 if female else 0):02d}{day:02d}{n % 100:02d}"
    nam = nam.replace("É", "E").replace("Ô", "O").replace("È", "E")
    contact: dict[str, object] = {}
    kind = n % 4
    if kind in (0, 1):
        contact["email"] = f"{first.lower()}.{last.lower()}{n}@exemple.ca".replace("é", "e").replace("ô", "o")
    if kind in (1, 2):
        contact["cell"] = f"+1514555{n:04d}"
    if kind == 3:
        contact["phone"] = f"+1418555{n:04d}"
    return {"nam": nam, "first_name": first, "last_name": last,
            "birth_date": f"{year}-{month:02d}-{day:02d}", "language": "en" if n % 5 == 0 else "fr",
            **contact}


def build_day(app: Scheduling, zone: ZoneInfo, rng: random.Random) -> tuple[UUID, datetime]:
    """A public-health clinic, its staff and services, a day of slots and its bookings."""
    runs = app.head()
    clinic_id, ids = create_demo_clinic(  # through the setup wizard; staff and services from its EMR
        app, f"Clinique des Érables (démo {runs})",
        {"street": "1200 boul. René-Lévesque", "city": "Québec", "province": "QC",
         "postal_code": "G1R 2B5"}, "418-555-0100", "public_health")
    gp, nurse, specialist = ids["gp"], ids["nurse"], ids["specialist"]
    consult, phone, vaccine = ids["consult"], ids["phone"], ids["vaccine"]
    day = (datetime.now(zone) + timedelta(days=1)).date()
    slots: list[UUID] = []
    for hour in range(8, 12):
        for who, services, products, capacity in (
            (gp, [consult, phone], [], 1),
            (nurse, [vaccine], ["Pfizer-BioNTech"], 4),
            (specialist, [consult], [], 1),
        ):
            for quarter in (0, 30):
                start = datetime.combine(day, time(hour, quarter), zone)
                slots.append(app.open_slot(clinic_id, who, start, start + timedelta(minutes=30),
                                           capacity, services, products,
                                           locked=(hour == 11 and who == gp)).id)
    sources = ["emr", "portal", "admin", "citizen"]
    booked: list[UUID] = []
    n = 0
    for slot_id in slots:
        slot = app.load(Slot, slot_id, "slot")
        for _ in range(slot.capacity):
            if len(booked) >= 34:
                break
            n += 1
            service = slot.service_ids[n % len(slot.service_ids)]
            source = sources[n % 4] if not slot.locked else "emr"
            try:
                booked.append(app.book(slot_id, service, demo_patient(rng, n), source).id)
            except DomainError:
                continue
    moved = app.load(Appointment, booked[0], "appointment")
    free = next(s for s in slots
                if s != moved.slot_id and (slot := app.load(Slot, s, "slot")).remaining() > 0
                and moved.service_id in slot.service_ids)
    app.reschedule(booked[0], free)
    vaccinated = next(a for a in booked if app.load(Appointment, a, "appointment").product)
    app.cancel(vaccinated, "Patient malade")
    still_booked = [a for a in booked[1:] if a != vaccinated]
    for appointment_id in still_booked[:7]:
        app.set_status(appointment_id, "present")
    app.set_status(still_booked[7], "absent")
    family_account(app, clinic_id, gp, consult, datetime.combine(day, time(0), zone), zone, runs)
    emr_day(app, clinic_id, datetime.combine(day, time(0), zone), zone)  # EMR agenda as HL7 SIU
    return clinic_id, datetime.combine(day, time(0), zone)


def print_table(rows: list[dict[str, str]]) -> None:
    if not rows:
        print("(no appointments)")
        return
    headers = list(rows[0])
    widths = {h: max(len(h), *(len(r[h]) for r in rows)) for h in headers}
    print("  ".join(h.upper().ljust(widths[h]) for h in headers))
    print("  ".join("-" * widths[h] for h in headers))
    for r in rows:
        print("  ".join(r[h].ljust(widths[h]) for h in headers))


def run(args: argparse.Namespace) -> int:
    settings = Settings()
    app = bootstrap(settings, configure_logs=False)
    configure_logging(settings.log_format, "WARNING")
    zone = ZoneInfo(settings.timezone)
    rng = random.Random(args.seed)
    clinic_id, day = build_day(app, zone, rng)
    print(f"Clinic {clinic_id} created through the setup wizard (six steps; staff and services "
          f"pulled from its EMR; logo at /v1/clinics/{clinic_id}/logo)")
    second_dose_campaign(app, settings)
    show_delivery(app, settings.timezone)
    rows = suivi_table(app, settings, clinic_id, day.date())
    print(f"\nSuivi — {day:%Y-%m-%d} — clinic {clinic_id}")
    print_table(rows)
    print(f"\n{len(rows)} appointments; event log head at position {app.head()} "
          f"({settings.database_url})")
    if not args.serve:
        print("\nSee it in the browser: hub demo --serve (or hub serve, then /console)")
        return 0
    _principal, token = issue(access_store_for(app.recorder), "admin")
    app.close()
    print(f"\nConsole: http://{args.host}:{args.port}/console/clinics/{clinic_id}/suivi"
          f"?date={day.date().isoformat()}\nSign in with this admin token (API token field):\n{token}")
    return serve.run(argparse.Namespace(host=args.host, port=args.port, workers=1))
