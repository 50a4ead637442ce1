"""What ``hub demo`` shows of 2nd-dose rescheduling (seed 000): a vaccination site whose
citizens had their 1st dose a month ago, a batch invitation to advance their 2nd dose, and
one citizen who finds, verifies and rebooks it themselves."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from uuid import UUID

from adapters.outbox import Outbox
from aggregates.appointment import Appointment
from aggregates.patient import Patient
from hub.bootstrap import vaccination
from hub.scheduling.service import Scheduling
from hub.settings import Settings

PRODUCTS = ["Pfizer-BioNTech", "Moderna", "AstraZeneca"]
CITIZENS = [("Catherine", "Robert", "ROBC80621101"), ("Gilles", "Pelletier", "PELG75030402"),
            ("Nadia", "Bouchard", "BOUN90571503"), ("Simon", "Lavoie", "LAVS68112004"),
            ("Marie-Ève", "Côté", "COTM85622505")]
ADDRESS = {"street": "169, route du Parc", "city": "Sainte-Anne-des-Monts", "province": "QC",
           "postal_code": "G4V 3S5"}


def second_dose_campaign(app: Scheduling, settings: Settings) -> None:
    outbox = Outbox()  # the codes of this demo go nowhere: they are read back here
    v = vaccination(app, settings, channels={"email": outbox, "sms": outbox})
    site = app.register_clinic(f"Site de vaccination de Ste-Anne-des-Monts (démo {app.head()})",
                               ADDRESS, "418-555-0170", "public_health").id
    team = app.add_professional(site, "Équipe - Vaccin 2e dose", "nurse").id
    services = {p: app.add_service(site, f"2e dose - Vaccin contre la COVID-19 - {p}", 10,
                                   "in_person", True, 0, p).id for p in PRODUCTS}

    def slot(days: int, capacity: int) -> UUID:
        start = (app.clock() + timedelta(days=days)).replace(hour=13, minute=0, second=0,
                                                               microsecond=0)
        return app.open_slot(site, team, start, start + timedelta(minutes=10), capacity,
                             list(services.values()), PRODUCTS).id

    given, planned, earlier = slot(-35, 10), slot(50, 10), slot(4, 3)
    seconds = []
    run = app.head()  # each run has its own citizens: the NAMs' last letter and digits vary
    for n, (first_name, last_name, base) in enumerate(CITIZENS):
        nam = f"{base[:3]}{chr(65 + (run // 97) % 26)}{base[4:10]}{run % 97:02d}"
        person = {"nam": nam, "first_name": first_name, "last_name": last_name,
                  "birth_date": f"19{nam[4:6]}-{int(nam[6:8]) % 50:02d}-{nam[8:10]}",
                  "cell": f"+1418555{n:04d}", "language": "fr"}
        if n % 2 == 0:
            person["email"] = f"{first_name.lower()}.{last_name.lower()}@exemple.ca".replace(
                "è", "e").replace("ô", "o").replace("é", "e")
        first = v.records.book(given, services["Pfizer-BioNTech"], person, "admin", None, 1).id
        app.set_status(first, "present")
        seconds.append(v.records.book(planned, services["Pfizer-BioNTech"], person, "admin",
                                      None, 2).id)

    preview = v.invitations.invite(site, seconds, "advance_date", preview=True)
    sent = v.invitations.invite(site, seconds, "advance_date", preview=False)
    print(f"\n2nd doses — batch invitation \"advance_date\" at site {site}: {sent.invited} of "
          f"{len(seconds)} invited (" + ", ".join(
              f"{sum(1 for i in sent.items if i.channel == c)} by {c}" for c in ("email", "sms"))
          + "); the preview is exactly what goes out:")
    example = preview.items[0].message or {}
    print(f"  {example.get('subject', '')}\n  {example.get('text', '').splitlines()[0][:120]}")

    citizen = CITIZENS[0]
    request = v.self_service.lookup("+14185550000", nam=patient_nam(app, seconds[0]))
    code = re.findall(r"\b\d{6}\b", outbox.messages[-1].text)[0]
    verified = v.self_service.verify(request.request_id, code)
    done = v.self_service.rebook(verified.token, earlier)
    new = app.load(Appointment, done.appointment_id, "appointment")
    print(f"Self-service: {citizen[0]} {citizen[1][0]}. found by NAM + phone, code by "
          f"{request.channel} to {request.sent_to}, verified; 2nd dose moved from "
          f"{_day(app.load(Appointment, seconds[0], 'appointment').start)} to {_day(new.start)} "
          f"(old one cancelled in the same transaction; both confirmations follow).")


def patient_nam(app: Scheduling, appointment_id: UUID) -> str:
    patient = app.load(Patient, app.load(Appointment, appointment_id, "appointment").patient_id,
                       "patient")
    return str(patient.nam)


def _day(instant: datetime) -> str:
    return f"{instant:%Y-%m-%d}"
