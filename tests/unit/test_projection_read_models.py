"""Suivi's confirmation hook, the audit rows (who, role, source) and availability's online view."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from aggregates.notification import AppointmentCommunication
from aggregates.personal_fields import PERSONAL_FIELDS
from entrypoints.demo.synthetic import write_history
from hub.actor import Actor, acting_as
from hub.bootstrap import build_projector
from projections.eventlog import describe, event_id, event_id_text, to_jsonable
from projections.queries import SuiviFilter, audit_of, availability, events_after, suivi
from tests.support.scheduling import Setup, future, make_app, patient

ZONE = ZoneInfo("America/Montreal")


def test_confirmation_status_comes_from_appointment_communication_events() -> None:
    app = make_app("memory://")
    projector = build_projector(app, ["suivi"])
    setup = Setup(app)
    booked = app.book(setup.slot, setup.consult, patient(1), "emr")
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    communication = AppointmentCommunication(appointment_id=booked.id, clinic_id=setup.clinic,
                                             patient_id=uuid4(), booked_by=None)
    communication.message_sent(uuid4(), "confirmation", "sms", "+15145550000", at)
    app.save(communication)
    projector.catch_up()
    view = projector.get("suivi").view
    day = future(72).astimezone(ZONE).date()
    [row] = suivi(view, SuiviFilter(str(setup.clinic), day), ZONE)
    assert row["confirmation"] == {"status": "confirmation_sent", "channel": "sms",
                                   "address": "+15145550000", "at": "2026-03-01T12:00:00.000000Z"}
    communication.confirm("sms", at)
    communication.message_sent(uuid4(), "reminder", "email", "p@x.ca", at)
    app.save(communication)
    projector.catch_up()
    [row] = suivi(view, SuiviFilter(str(setup.clinic), day), ZONE)
    assert row["confirmation"]["status"] == "confirmed"  # a later reminder keeps "confirmed"
    assert row["confirmation"]["channel"] == "sms"
    assert row["account"] == {"identity": "grey", "association": "grey"}
    projector.close()


def test_audit_rows_say_who_in_which_role_from_which_source() -> None:
    app = make_app("memory://")
    projector = build_projector(app, ["audit"])
    setup = Setup(app)
    with acting_as(Actor("desk-7", "clinic_staff", "http")):
        booked = app.book(setup.slot, setup.consult, patient(1), "admin")
        app.set_status(booked.id, "present")
    projector.catch_up()
    view = projector.get("audit").view
    history = audit_of(view, str(booked.id))
    assert [e["type"] for e in history] == ["Booked", "StatusSet"]
    assert {(e["who"], e["role"], e["source"]) for e in history} == {("desk-7", "clinic_staff", "http")}
    assert history[1]["data"] == {"status": "present"}
    log = events_after(view, 0, 1_000)
    assert [e["position"] for e in log] == list(range(1, app.head() + 1))
    assert events_after(view, app.head() - 1, 5)[0]["position"] == app.head()
    projector.close()


def test_online_availability_hides_locked_slots_and_offline_services() -> None:
    app = make_app("memory://")
    projector = build_projector(app, ["availability"])
    setup = Setup(app)
    locked = setup.open_slot(capacity=2, locked=True, hours=80)
    offline = app.add_service(setup.clinic, "Note", 5, "silent", False, 0).id
    start = future(90)
    offline_only = app.open_slot(setup.clinic, setup.gp, start, future(91), 1, [offline]).id
    app.book(setup.slot, setup.consult, patient(1), "portal")
    projector.catch_up()
    view = projector.get("availability").view
    staff = {i["slot_id"]: i for i in availability(view, future(0), future(200), online=False)}
    online = {i["slot_id"]: i for i in availability(view, future(0), future(200), online=True)}
    assert set(staff) == {str(setup.slot), str(locked), str(offline_only)}
    assert set(online) == {str(setup.slot)}
    assert staff[str(setup.slot)]["remaining"] == online[str(setup.slot)]["remaining"] == 9
    assert str(offline) not in online[str(setup.slot)]["service_ids"]
    by_service = availability(view, future(0), future(200), online=False, service_id=str(offline))
    assert [i["slot_id"] for i in by_service] == [str(offline_only)]
    assert availability(view, future(0), future(200), online=False, product="Moderna") == []
    projector.close()


def test_audit_rows_are_the_events_as_described_for_the_log() -> None:
    """The audit row of every kind of event (personal fields, sets of ids, who acted) holds
    what ``describe`` says of the stored event, its personal fields left out."""
    app = make_app("memory://")
    projector = build_projector(app, ["audit"])
    setup = Setup(app)
    write_history(app, 600, seed=3)
    with acting_as(Actor("desk-7", "clinic_staff", "http")):
        booked = app.book(setup.slot, setup.consult, patient(1), "admin")
    communication = AppointmentCommunication(appointment_id=booked.id, clinic_id=setup.clinic,
                                             patient_id=uuid4(), booked_by=None)
    communication.message_sent(uuid4(), "confirmation", "sms", "+15145550000", datetime.now(UTC))
    app.save(communication)
    projector.catch_up()
    rows = projector.get("audit").view.rows("audit_events")
    stored = app.recorder.select_notifications(start=1, limit=app.head())
    assert len(rows) == len(stored) > 600
    for row, notification in zip(rows, stored, strict=True):
        record = describe(notification, app.mapper)
        data = PERSONAL_FIELDS.without_personal(notification.topic, record.data, record.aggregate_id)
        assert row == {
            "position": notification.id, "id": str(record.id),
            "aggregate_id": str(record.aggregate_id), "aggregate_type": record.aggregate_type,
            "type": record.type, "version": record.version, "time": record.time.isoformat(),
            "subject": record.meta.get("subject"), "role": record.meta.get("role"),
            "channel": record.meta.get("channel"),
            "data": json.dumps(to_jsonable(data), ensure_ascii=False),
            "meta": json.dumps(to_jsonable(record.meta), ensure_ascii=False)}
    assert any("_personal" in json.loads(r["data"]) for r in rows)
    assert any(r["subject"] == "desk-7" for r in rows)
    projector.close()


@given(st.uuids(), st.integers(1, 10**9))
def test_event_ids_as_text_are_the_uuid5_ids(aggregate_id: UUID, version: int) -> None:
    assert event_id_text(aggregate_id, version) == str(event_id(aggregate_id, version))
