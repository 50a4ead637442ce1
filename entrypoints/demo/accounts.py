"""What ``hub demo`` shows of citizen accounts (seed 001): a family account whose icons change
through a presence sequence."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from aggregates.account import Account
from aggregates.account_icons import presence_steps
from aggregates.appointment import Appointment
from hub.accounts.service import Accounts
from hub.actor import Actor, acting_as
from hub.bootstrap import accounts_service
from hub.scheduling.service import Scheduling

PORTAL = Actor(subject="demo-portal", role="portal", channel="cli")
STAFF = Actor(subject="demo-staff", role="clinic_staff", channel="cli")


def family_account(app: Scheduling, clinic_id: UUID, professional_id: UUID, service_id: UUID,
                   day: datetime, zone: ZoneInfo, run: int) -> None:
    """A parent's account books for the parent and a child; the clinic marks the child
    present (identify, validate association), then the parent's cell number changes."""
    accounts = accounts_service(app)
    start = datetime.combine(day.date(), time(12, 0), zone)
    slot = app.open_slot(clinic_id, professional_id, start, start + timedelta(minutes=30), 2,
                         [service_id]).id
    year = 80 + run % 20
    parent = {"nam": f"ROYJ{year}5214{run % 100:02d}", "first_name": "Julie", "last_name": "Roy",
              "birth_date": f"19{year}-02-14", "email": f"julie.roy{run}@exemple.ca",
              "language": "fr"}
    child = {"nam": f"ROYL{(year + 20) % 100:02d}0909{run % 100:02d}", "first_name": "Léo",
             "last_name": "Roy", "birth_date": f"{1900 + year + 20}-09-09", "language": "fr"}
    with acting_as(PORTAL):
        opened = accounts.open(f"famille.roy.{run}@exemple.ca", parent)
        mine = app.book(slot, service_id, parent, "citizen", account_id=opened.id).id
        childs = app.book(slot, service_id, child, "citizen", account_id=opened.id).id
    print(f"\nCitizen account (seed 001) — famille Roy, account {opened.id}")
    print(f"  {'step':<58}{'Julie (holder)':<17}Léo (another patient)")
    _show(app, accounts, opened.id, mine, childs, "booked on the portal with the account")
    with acting_as(STAFF):
        steps = presence_steps(accounts.get(opened.id).icons_for(
            app.load(Appointment, childs, "appointment").patient_id))
        app.set_status(childs, "present", identify=True, validate_association=True)
    _show(app, accounts, opened.id, mine, childs,
          "Léo present: " + " → ".join(s.value for s in steps))
    with acting_as(PORTAL):
        accounts.update_holder(opened.id, {"cell": f"+1514555{run % 10_000:04d}"})
    _show(app, accounts, opened.id, mine, childs, "Julie changes her cell number (A2)")
    with acting_as(STAFF):
        app.set_status(mine, "present", identify=True)
        app.set_status(childs, "present", identify=False, validate_association=True)
    _show(app, accounts, opened.id, mine, childs, "Julie present: identified, Léo validated")


def _show(app: Scheduling, accounts: Accounts, account_id: UUID, mine: UUID, childs: UUID,
          step: str) -> None:
    account: Account = accounts.get(account_id)
    cells = []
    for appointment_id in (mine, childs):
        patient_id = app.load(Appointment, appointment_id, "appointment").patient_id
        icons = account.icons_for(patient_id)
        cells.append(f"{icons.identity.value}/{icons.association.value}")
    print(f"  {step:<58}{cells[0]:<17}{cells[1]}")
