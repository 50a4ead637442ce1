"""Data keys written by the events' own transaction (PostgreSQL): a booking of a new patient
writes its key and its appointment's link with its events, or nothing at all."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import RecordConflictError

from adapters.keystore import KeyRaced, new_data_key
from aggregates.appointment import Appointment
from aggregates.patient import NAM_SYSTEM, Patient, identifier
from aggregates.slot import Slot
from hub.scheduling.service import Scheduling
from tests.support.scheduling import Setup, make_app, patient


@pytest.fixture
def pg_app(pg_schema_url: str) -> Iterator[Scheduling]:
    app = make_app(pg_schema_url)
    yield app
    app.close()


def key_rows(app: Scheduling) -> tuple[set[str], dict[str, str]]:
    store: Any = app.keys
    with app.recorder.datastore.transaction(commit=False) as curs:  # type: ignore[attr-defined]
        curs.execute(f"SELECT subject FROM {store.table}")
        keys = {r["subject"] for r in curs.fetchall()}
        curs.execute(f"SELECT subject, owner FROM {store.links}")
        links = {r["subject"]: r["owner"] for r in curs.fetchall()}
    return keys, links


def xmins(app: Scheduling, patient_id: UUID, appointment_id: UUID) -> set[str]:
    """The transaction ids that wrote the patient's events, its key, the appointment's events
    and its link (``xmin`` of each row)."""
    store: Any = app.keys
    recorder: Any = app.recorder
    events = f'"{recorder.datastore.schema}"."{recorder.events_table_name}"'
    with recorder.datastore.transaction(commit=False) as curs:
        curs.execute(f"SELECT xmin::text AS x FROM {events} WHERE originator_id IN (%s, %s) "
                     f"UNION SELECT xmin::text FROM {store.table} WHERE subject = %s "
                     f"UNION SELECT xmin::text FROM {store.links} WHERE subject = %s",
                     (patient_id, appointment_id, patient_id.hex, appointment_id.hex))
        return {r["x"] for r in curs.fetchall()}


def test_a_new_patients_key_and_link_commit_with_the_booking(pg_app: Scheduling) -> None:
    setup = Setup(pg_app)
    written = pg_app.book(setup.slot, setup.consult, patient(1), "emr")
    appointment = pg_app.load(Appointment, written.id, "appointment")
    keys, links = key_rows(pg_app)
    assert keys == {appointment.patient_id.hex}
    assert links == {appointment.id.hex: appointment.patient_id.hex}
    # one transaction wrote them all
    assert len(xmins(pg_app, appointment.patient_id, appointment.id)) == 1
    # what was sealed opens with the stored key
    pg_app.forget_decrypted()
    assert pg_app.load(Patient, appointment.patient_id, "patient").first_name == "Pat"
    assert pg_app.load(Appointment, appointment.id, "appointment").as_given["first_name"] == "Pat"


def test_a_save_that_conflicts_leaves_no_key(pg_app: Scheduling) -> None:
    setup = Setup(pg_app)
    before = key_rows(pg_app)
    first, stale = (pg_app.load(Slot, setup.slot, "slot") for _ in range(2))
    first.lock()
    pg_app.save(first)
    stale.lock()
    newcomer = Patient.register([identifier(NAM_SYSTEM, "ROYE85521519")], {"first_name": "Ève", "last_name": "Roy", "birth_date": None,
                                     "language": "fr"}, pg_app.clock().date())
    with pytest.raises(RecordConflictError):
        pg_app.save(newcomer, stale)  # the key is written, then the slot's events conflict
    assert key_rows(pg_app) == before
    assert newcomer.id not in pg_app.load_many([newcomer.id])


def test_a_key_made_meanwhile_makes_the_save_run_again_with_it(pg_app: Scheduling) -> None:
    """The subject a save thought new got a key from another writer first: the save is
    refused (``KeyRaced``) instead of keeping events sealed with a key that is not stored."""
    patient_one = Patient.register([identifier(NAM_SYSTEM, "ROYE85521519")], {"first_name": "Ève", "last_name": "Roy",
                                        "birth_date": None, "language": "fr"},
                                   pg_app.clock().date())
    store: Any = pg_app.keys
    with pg_app.recorder.datastore.transaction(commit=True) as curs:  # type: ignore[attr-defined]
        curs.execute(f"INSERT INTO {store.table} (subject, wrapped_key, created_at) "
                     "VALUES (%s, %s, 'now')",
                     (patient_one.id.hex, store.wrapper.wrap(patient_one.id, new_data_key())))
    again = copy.deepcopy(patient_one)
    with pytest.raises(KeyRaced):
        pg_app.save(patient_one)
    assert patient_one.id not in pg_app.load_many([patient_one.id])
    # run again (as ``retrying`` does): the stored key is read and used
    pg_app.save(again)
    pg_app.forget_decrypted()
    assert pg_app.load(Patient, patient_one.id, "patient").first_name == "Ève"


def test_a_follower_s_tracked_save_writes_the_new_key_with_its_events(pg_app: Scheduling) -> None:
    """A save with a tracking record (the library's pipelined insert) writes the new subject's
    key in the same transaction too."""
    from eventsourcing.persistence import Tracking

    newcomer = Patient.register([identifier(NAM_SYSTEM, "ROYE85521519")],
                                {"first_name": "Ève", "last_name": "Roy", "birth_date": None,
                                 "language": "fr"}, pg_app.clock().date())
    pg_app.save_tracked(Tracking("a-follower", 1), newcomer)
    store: Any = pg_app.keys
    recorder: Any = pg_app.recorder
    events = f'"{recorder.datastore.schema}"."{recorder.events_table_name}"'
    with recorder.datastore.transaction(commit=False) as curs:
        curs.execute(f"SELECT xmin::text AS x FROM {events} WHERE originator_id = %s "
                     f"UNION SELECT xmin::text FROM {store.table} WHERE subject = %s",
                     (newcomer.id, newcomer.id.hex))
        assert len(curs.fetchall()) == 1
    pg_app.forget_decrypted()
    assert pg_app.load(Patient, newcomer.id, "patient").first_name == "Ève"
