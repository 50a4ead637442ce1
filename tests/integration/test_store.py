"""The same scheduling flows on SQLite and PostgreSQL: persistence, atomicity, snapshots."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from eventsourcing.application import project_aggregate

from aggregates.appointment import Appointment
from aggregates.slot import Slot, SlotFull
from hub.scheduling.service import Scheduling
from projections.eventlog import describe
from tests.support.scheduling import Setup, make_app, patient


def test_state_survives_a_restart(store_url: str) -> None:
    first = make_app(store_url)
    s = Setup(first, capacity=3)
    booked = first.book(s.slot, s.consult, patient(1), "portal")
    first.cancel(first.book(s.slot, s.vaccine, patient(2), "admin").id, "malade")
    head = first.head()
    first.close()

    again = make_app(store_url)
    assert again.head() == head
    slot = again.load(Slot, s.slot, "slot")
    assert slot.booked == [booked.id] and slot.products == ["Pfizer"]
    types = [describe(n, again.mapper).type
             for n in again.recorder.select_notifications(start=1, limit=1000)]
    assert types.count("Booked") == 2 and types.count("Cancelled") == 1
    assert types.count("PlaceReleased") == 1
    again.close()


def test_reschedule_is_one_transaction(app: Scheduling, setup: Setup) -> None:
    booked = app.book(setup.slot, setup.consult, patient(1), "admin")
    target = setup.open_slot(capacity=1)
    before = app.head()
    written = app.reschedule(booked.id, target)
    moved = app.recorder.select_notifications(start=before + 1, limit=10)
    assert [describe(n, app.mapper).type for n in moved] == [
        "PlaceReserved", "PlaceReleased", "Rescheduled"]
    assert written.position == moved[-1].id == app.head()


def test_racing_reschedules_into_the_last_place(app: Scheduling, setup: Setup) -> None:
    """Eight appointments race for one place: exactly one moves, the others stay put."""
    ids = [app.book(setup.slot, setup.consult, patient(n), "admin").id for n in range(8)]
    last_place = setup.open_slot(capacity=1)

    def move(appointment_id):
        try:
            app.reschedule(appointment_id, last_place)
            return True
        except SlotFull:
            return False

    with ThreadPoolExecutor(max_workers=8) as pool:
        moved = list(pool.map(move, ids))
    assert moved.count(True) == 1
    in_target = app.load(Slot, last_place, "slot").booked
    in_source = app.load(Slot, setup.slot, "slot").booked
    assert len(in_target) == 1 and len(in_source) == 7
    assert set(in_target) | set(in_source) == set(ids)
    for appointment_id in ids:
        appointment = app.load(Appointment, appointment_id, "appointment")
        assert (appointment.slot_id == last_place) == (appointment_id in in_target)


def test_busy_slots_are_snapshotted(app: Scheduling, setup: Setup) -> None:
    big = setup.open_slot(capacity=60)
    for n in range(55):
        app.book(big, setup.consult, patient(n), "emr")
    assert app.snapshots is not None
    snapshots = list(app.snapshots.get(big))
    assert snapshots and snapshots[-1].originator_version == 50
    assert len(app.load(Slot, big, "slot").booked) == 55
    # taken from the slot in memory: the same state as the slot replayed from its events
    replayed = project_aggregate(None, app.events.get(big, lte=50))
    assert snapshots[-1].state == Slot.Snapshot.take(replayed).state


@pytest.mark.parametrize("source", ["portal", "admin"])
def test_full_slot_writes_nothing(app: Scheduling, source: str) -> None:
    s = Setup(app, capacity=1)
    app.book(s.slot, s.consult, patient(1), source)
    head = app.head()
    with pytest.raises(SlotFull):
        app.book(s.slot, s.consult, patient(2), source)
    assert app.head() == head


def test_events_of_a_topic_are_read_by_an_index_on_postgresql(pg_schema_url: str) -> None:
    """``StoreReads`` reads clinics, services and professionals by their creation topic: on
    PostgreSQL an index on (topic, position) makes that a range scan of those events, not a
    scan of the log. Made at start, and a second start finds it there."""
    import psycopg

    from aggregates.service import Service
    from hub.scheduling.reads import StoreReads

    app = make_app(pg_schema_url)
    again = make_app(pg_schema_url)
    try:
        world = Setup(app)
        for _ in range(30):
            world.open_slot(hours=80)
        schema = pg_schema_url.split("schema=")[1]
        table = app.recorder.events_table_name  # type: ignore[attr-defined]
        with psycopg.connect(pg_schema_url.split("?")[0], autocommit=True) as conn:
            found = conn.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND indexname = %s",
                                 (schema, f"{table}_topic_idx")).fetchone()
            conn.execute("SET enable_seqscan = off")
            conn.execute(f'ANALYZE "{schema}"."{table}"')
            plan = "\n".join(r[0] for r in conn.execute(
                f'EXPLAIN SELECT * FROM "{schema}"."{table}" WHERE notification_id >= 1 '
                "AND topic = ANY(%s) ORDER BY notification_id LIMIT 500",
                ([Service.Defined.__module__ + ":" + Service.Defined.__qualname__],)).fetchall())
        assert found is not None and "(topic, notification_id)" in found[0]
        assert f"{table}_topic_idx" in plan
        assert {s.id for s in StoreReads(app).services()} == {world.consult, world.vaccine}
    finally:
        again.close()
        app.close()


def test_the_hub_s_postgresql_connections_never_jit_compile(pg_schema_url: str) -> None:
    """The store's and the read models' connections run with ``jit = off``: on a table with
    no statistics yet, a point read's estimated cost passed ``jit_above_cost`` and each
    execution was compiled (3-25 ms for a 0.1 ms read)."""
    from hub.bootstrap import read_model_factory

    app = make_app(pg_schema_url)
    factory = read_model_factory(app)
    try:
        for datastore in (app.recorder.datastore, factory.datastore):  # type: ignore[attr-defined]
            with datastore.get_connection() as conn:
                assert conn.execute("SHOW jit").fetchone() == {"jit": "off"}
    finally:
        factory.close()
        app.close()


def test_a_nested_command_s_save_is_seen_by_the_outer_attempt(app: Scheduling, setup: Setup) -> None:
    """``prefetch`` keeps what an attempt read; a command run inside it (its own ``retrying``)
    that saves one of those aggregates makes the outer attempt read it again, not reuse the
    stale copy (which would conflict on every retry)."""
    seen: list[int] = []

    def outer() -> None:
        app.prefetch(setup.slot)
        before = app.load(Slot, setup.slot, "slot").version
        app.book(setup.slot, setup.consult, patient(1), "emr")  # its own retrying, nested
        seen.extend([before, app.load(Slot, setup.slot, "slot").version])

    app.retrying(outer, "outer")
    assert seen[1] > seen[0]
