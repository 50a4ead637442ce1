"""Erasing a patient on SQLite and PostgreSQL: nothing of their personal data is left in a dump
of the database (events, read models, idempotency records, keys), other patients intact.

A dump (``pg_dump``; SQLite's SQL dump) is what a backup or a copy holds: rows replaced in
place may linger in free pages of the files until ``VACUUM`` (docs/privacy.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from adapters.sqlaccessstore import access_store_for
from aggregates.appointment import Appointment
from aggregates.patient import Patient, PatientErased
from hub.accounts.service import Accounts
from hub.accounts.staff import StaffEmailIndex
from hub.bootstrap import build_projector, notification_center
from hub.privacy.erasure import Erasure
from hub.scheduling.service import Scheduling
from hub.settings import Settings
from projections.queries import SuiviFilter, suivi
from tests.integration.privacy.test_key_store import dump
from tests.support.scheduling import Setup, make_app, patient

MARIE = {"nam": "QZXW85510112", "first_name": "Mariette", "last_name": "Tremblaywski",
         "birth_date": "1985-01-01", "email": "mariette.tremblaywski@exemple.ca",
         "cell": "514-555-0199", "language": "fr"}
#: A portal's booking of her, with the name and contacts it gave (kept with that appointment).
AS_GIVEN = {**MARIE, "first_name": "Mariannick", "email": "autre.adresse@exemple.ca",
            "cell": "514-555-0177"}
ACCOUNT_EMAIL = "compte.tremblaywski@exemple.ca"
SECRETS = ("QZXW85510112", "Mariette", "Tremblaywski", "mariette.tremblaywski", "5145550199",
           "514-555-0199", "Mariannick", "autre.adresse", "514-555-0177", "5145550177",
           "compte.tremblaywski")


def leaks(raw: bytes) -> list[str]:
    """Which of Marie's values the bytes hold, as text or as hex (PostgreSQL dumps bytea as hex)."""
    found = []
    for secret in SECRETS:
        text = secret.encode()
        if text in raw or text.hex().encode() in raw.lower():
            found.append(secret)
    return found


@pytest.fixture
def app(store_url: str) -> Iterator[Scheduling]:
    application = make_app(store_url)
    yield application
    application.close()


def test_an_erased_patient_leaves_no_trace_and_others_stay(app: Scheduling, store_url: str) -> None:
    world = Setup(app)
    marie_booking = app.book(world.slot, world.consult, MARIE, "emr")
    given_booking = app.book(world.slot, world.consult, AS_GIVEN, "portal")
    accounts = Accounts(app, StaffEmailIndex(app))
    account_id = accounts.open(ACCOUNT_EMAIL, MARIE).id
    jean = patient(2, cell="418-555-0123")
    app.book(world.slot, world.consult, jean, "emr")
    settings = Settings(database_url=store_url)
    notification_center(app, settings, channels={}).run_once()  # plans messages to her address
    projector = build_projector(app)
    access = access_store_for(app.recorder)
    marie_id = app.load(Appointment, marie_booking.id, "appointment").patient_id
    try:
        projector.catch_up()
        access.claim("portal-1", "key-1", "hash")
        access.complete("portal-1", "key-1", 201, json.dumps({"patient_id": str(marie_id),
                                                                "nam": MARIE["nam"]}))
        access.claim("portal-2", "key-2", "hash")  # a portal's answer: no patient id
        access.complete("portal-2", "key-2", 201, json.dumps({
            "id": str(given_booking.id), "patient_id": None,
            "patient": {"first_name": "Mariannick", "email": AS_GIVEN["email"]}}))
        # before: the Suivi copy of her name and the kept answers, nothing else (the booking
        # as given and the account's e-mail are sealed in the events)
        assert leaks(dump(store_url, logical=True)) == [
            "QZXW85510112", "Mariette", "Tremblaywski", "Mariannick", "autre.adresse"]
        assert app.load(Appointment, given_booking.id, "appointment").as_given["email"] == (
            AS_GIVEN["email"])

        report = Erasure(app, access).erase(marie_id)
        projector.catch_up()

        assert (report.erased, report.already_erased, report.idempotency_records_deleted) == (
            True, False, 2)
        assert leaks(dump(store_url, logical=True)) == []
        assert app.load(Appointment, given_booking.id, "appointment").as_given == {}
        assert accounts.get(account_id).email == ""  # the account's e-mail was hers
        erased = app.load(Patient, marie_id, "patient")
        assert (erased.nam, erased.name, erased.email, erased.erased) == (None, "", None, True)
        assert app.patients.find_by_nam(MARIE["nam"]) is None
        kept = app.patients.find_by_nam(str(jean["nam"]))
        assert kept is not None and (kept.last_name, kept.cell) == ("Ient2", "418-555-0123")
        rows = suivi(projector.get("suivi").view, SuiviFilter(str(world.clinic),
                     app.load(Appointment, marie_booking.id, "appointment").start.date()),
                     ZoneInfo("UTC"))
        assert sorted(r["patient_name"] for r in rows) == ["", "", "Pat Ient2"]
        again = Erasure(app, access).erase(marie_id)
        assert (again.already_erased, again.idempotency_records_deleted) == (True, 0)
        with pytest.raises(PatientErased):
            erased.correct({"email": "new@exemple.ca"}, erased.modified_on.date())
        with pytest.raises(PatientErased):
            app.correct_patient(marie_id, {"email": "new@exemple.ca"})
        # the same person booking again is a new patient; the old record stays erased
        rebooked = app.book(world.slot, world.vaccine, MARIE, "emr")
        again_id = app.load(Appointment, rebooked.id, "appointment").patient_id
        assert again_id != marie_id
        found = app.patients.find_by_nam(MARIE["nam"])
        assert found is not None and found.id == again_id
    finally:
        projector.close()
        access.close()


def _cached_text(app: Scheduling) -> bytes:
    """Everything the load cache of ``load_many`` holds, as text."""
    assert app.aggregates is not None
    return repr([vars(link[3]) for link in app.aggregates.cache.values()]).encode()


def test_an_erasure_empties_the_load_cache(app: Scheduling, store_url: str) -> None:
    """Commands keep aggregates decrypted in ``load_many``'s cache; an erasure must not leave
    the erased patient's values there (her planned messages' address is not changed by the
    erasure event: only emptying the cache removes it)."""
    world = Setup(app)
    booked = app.book(world.slot, world.consult, MARIE, "emr")
    notification_center(app, Settings(database_url=store_url), channels={}).run_once()
    marie_id = app.load(Appointment, booked.id, "appointment").patient_id
    app.load(Patient, marie_id, "patient")
    cached = leaks(_cached_text(app))  # the cache does hold her, decrypted
    assert "Mariette" in cached and "mariette.tremblaywski" in cached

    Erasure(app).erase(marie_id)

    assert leaks(_cached_text(app)) == []
    app.load(Appointment, booked.id, "appointment")
    app.load(Patient, marie_id, "patient")
    assert leaks(_cached_text(app)) == []
