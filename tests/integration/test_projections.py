"""Projections on SQLite and PostgreSQL: following a busy log, read-your-writes, rebuilds."""

from __future__ import annotations

import gc
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from zoneinfo import ZoneInfo

import psycopg
import pytest
from eventsourcing.persistence import Notification

from aggregates.appointment import Appointment
from aggregates.errors import DomainError
from aggregates.slot import Slot
from entrypoints.demo.synthetic import write_history
from hub.bootstrap import build_projector
from hub.readmodels.runner import Projector
from hub.scheduling.service import Scheduling
from projections.queries import SuiviFilter, availability, suivi
from tests.support.scheduling import Setup, future, make_app, patient

ZONE = ZoneInfo("America/Montreal")


def snapshot(projector: Projector) -> dict[str, list[dict]]:
    return {t.name: p.view.rows(t.name) for p in projector.projections.values() for t in p.tables}


@pytest.fixture
def projector(app: Scheduling):
    runner = build_projector(app, batch_size=50, poll_seconds=0.01)
    yield runner
    runner.close()


def test_following_a_busy_log_equals_a_rebuild(app: Scheduling, setup: Setup, projector: Projector) -> None:
    """Racing bookings (conflicts leave holes in PostgreSQL's sequence) while the runner follows."""
    slots = [setup.slot, setup.open_slot(capacity=3, hours=80), setup.open_slot(capacity=2, hours=90)]

    def attempt(n: int) -> None:
        try:
            written = app.book(slots[n % 3], setup.consult, patient(n), "portal")
            if n % 4 == 0:
                app.cancel(written.id)
            elif n % 4 == 1:
                app.set_status(written.id, "present")
        except DomainError:
            pass

    projector.start()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(attempt, range(40)))
    projector.stop()
    projector.catch_up()
    live = snapshot(projector)
    for name in projector.projections:
        projector.rebuild(name, chunk=7)
    assert snapshot(projector) == live
    listed = {i["slot_id"]: i for i in availability(projector.get("availability").view, future(0),
                                                     future(24 * 30), online=False)}
    for slot_id in slots:
        assert listed[str(slot_id)]["remaining"] == app.load(Slot, slot_id, "slot").remaining()
    assert len(live["audit_events"]) == app.head() - _holes(app)


class Interrupted(Exception):
    pass


def test_one_pass_rebuild_of_all_projections_equals_the_live_views_and_resumes(
        app: Scheduling, projector: Projector) -> None:
    """``rebuild_many`` reads the log once for every projection; interrupted when each shadow
    stands at a different position, the next run resumes each from its own checkpoint."""
    write_history(app, 1_500, seed=11)
    projector.catch_up()
    live = snapshot(projector)
    names = list(projector.projections)
    applied = {name: 0 for name in names}

    def progress(name: str, position: int, target: int):
        def advance(count: int) -> None:
            applied[name] += 1
            if name == names[0] and applied[name] == 3:  # the others are one chunk behind
                raise Interrupted(name)
        return advance

    with pytest.raises(Interrupted):
        projector.rebuild_many(names, chunk=100, progress=progress)
    assert gc.isenabled()  # collections, paused for each chunk, run again
    shadows = {n: projector.shadow(projector.get(n)).position(projector.source) for n in names}
    assert shadows[names[0]] == 300 and {shadows[n] for n in names[1:]} == {200}
    positions = projector.rebuild_many(names, chunk=100)
    assert positions == {n: app.head() for n in names}
    assert snapshot(projector) == live


def _holes(app: Scheduling) -> int:
    ids = [n.id for n in app.recorder.select_notifications(start=1, limit=1_000_000)]
    return ids[-1] - len(ids)


def test_reads_wait_for_a_written_position(app: Scheduling, setup: Setup, projector: Projector) -> None:
    written = app.book(setup.slot, setup.consult, patient(1), "emr")
    assert not projector.wait("suivi", written.position, timeout=0.2)  # nobody is running it
    projector.start()
    assert projector.wait("suivi", written.position, timeout=10)
    day = future(72).astimezone(ZONE).date()
    rows = suivi(projector.get("suivi").view, SuiviFilter(str(setup.clinic), day), ZONE)
    assert [r["appointment_id"] for r in rows] == [str(written.id)]
    assert rows[0]["nam"] == "********0101" and rows[0]["patient_name"] == "Pat Ient1"
    cancelled = app.cancel(written.id)
    assert projector.wait("suivi", cancelled.position, timeout=10)
    view = projector.get("suivi").view
    assert suivi(view, SuiviFilter(str(setup.clinic), day, "without_cancellation"), ZONE) == []
    assert suivi(view, SuiviFilter(str(setup.clinic), day), ZONE)[0]["status"] == "cancelled"


def test_readers_never_see_a_half_built_view(app: Scheduling, projector: Projector) -> None:
    write_history(app, 2_000, seed=3)
    projector.catch_up()
    expected = len(projector.get("suivi").view.rows("suivi_appointments"))
    seen: set[int] = set()
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.add(len(projector.get("suivi").view.rows("suivi_appointments")))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(2):
            projector.rebuild("suivi", chunk=200)
    finally:
        done.set()
        reader.join()
    assert seen == {expected}


def test_a_hole_that_may_still_fill_is_never_passed(pg_schema_url: str) -> None:
    """A writer that skips the table lock commits id N+1 before id N: wait for N."""
    app = make_app(pg_schema_url)
    projector = build_projector(app, ["suivi"])
    try:
        Setup(app)
        projector.catch_up()
        head = app.head()
        schema = pg_schema_url.split("schema=")[1]
        base = pg_schema_url.split("?")[0]
        clinic = app.register_clinic  # noqa: F841 - events below are copies of real ones
        stored = app.recorder.select_notifications(start=1, limit=1)[0]
        insert = (f'INSERT INTO "{schema}".scheduling_events (originator_id, originator_version, topic, state) '
                  "VALUES (gen_random_uuid(), 1, %s, %s) RETURNING notification_id")
        slow = psycopg.connect(base)
        first = slow.execute(insert, [stored.topic, stored.state]).fetchone()[0]
        with psycopg.connect(base) as fast:
            second = fast.execute(insert, [stored.topic, stored.state]).fetchone()[0]
        assert (first, second) == (head + 1, head + 2)
        projector.step()
        assert projector.positions()["suivi"] == head  # did not jump over the open transaction
        slow.commit()
        slow.close()
        projector.catch_up()
        assert projector.positions()["suivi"] == head + 2
        clinics = projector.get("suivi").view.rows("suivi_clinics")
        assert len(clinics) == 3  # Setup's clinic and the two copies, none lost

        rolled_back = psycopg.connect(base)
        rolled_back.execute(insert, [stored.topic, stored.state])
        with psycopg.connect(base) as fast:
            fast.execute(insert, [stored.topic, stored.state])
        rolled_back.rollback()
        rolled_back.close()
        projector.catch_up()  # the hole is final now: passed
        assert projector.positions()["suivi"] == head + 4
    finally:
        projector.close()
        app.close()


def test_a_rebuild_reads_each_event_once_in_chunks(pg_schema_url: str) -> None:
    """A rebuild's work is linear in the log: each projection reads the log once, a chunk at a
    time (no re-read of what it already passed, however long the log). Its speed is measured in
    ``bench/replay.py``, not here."""
    app = make_app(pg_schema_url)
    projector = build_projector(app, ["suivi", "availability"])
    reads: list[tuple[int, int]] = []
    read_settled = projector.reader.read_settled

    def counted(after: int, limit: int, stop: int, topics: Sequence[str] = ()) -> list[Notification]:
        batch = read_settled(after, limit, stop, topics)
        reads.append((after, len(batch)))
        return batch

    projector.reader.read_settled = counted  # type: ignore[method-assign]
    try:
        write_history(app, 6_000 - app.head(), seed=6_000, first_patient=60_000)
        head = app.head()
        chunk = 1_000
        for name in ("suivi", "availability"):
            reads.clear()
            projector.rebuild(name, chunk=chunk)
            assert projector.positions()[name] == head
            starts = [after for after, _ in reads]
            assert starts == sorted(set(starts)), f"{name} read a part of the log twice: {starts}"
            assert sum(n for _, n in reads) <= head
            assert len(reads) <= head // chunk + 2, f"{name}: {len(reads)} reads for {head} events"
            assert head >= 6_000 and len(reads) >= 2  # the log did span several chunks
    finally:
        projector.close()
        app.close()


def test_suivi_filters_and_patient_history(app: Scheduling, setup: Setup, projector: Projector) -> None:
    a = app.book(setup.slot, setup.consult, patient(1), "emr").id
    b = app.book(setup.slot, setup.vaccine, patient(2), "portal").id
    app.set_status(b, "present")
    other = Setup(app)
    c = app.book(other.slot, other.consult, patient(1, last_name="Nouveau"), "admin").id
    person = app.load(Appointment, c, "appointment").patient_id
    app.correct_patient(person, {"last_name": "Nouveau"})  # a booking never renames; staff do
    projector.catch_up()
    view = projector.get("suivi").view
    day = future(72).astimezone(ZONE).date()
    base = SuiviFilter(str(setup.clinic), day)

    def ids(**changes: object) -> set[str]:
        chosen = SuiviFilter(**{**base.__dict__, **changes})
        return {r["appointment_id"] for r in suivi(view, chosen, ZONE)}

    assert ids() == {str(a), str(b)}
    assert ids(service_id=str(setup.vaccine)) == {str(b)}
    assert ids(product="Pfizer") == {str(b)}
    assert ids(status="present") == {str(b)} and ids(status="undefined") == {str(a)}
    assert ids(source="emr") == {str(a)}
    assert ids(professional_id=str(other.gp)) == set()
    assert ids(day=date(2020, 1, 1)) == set()
    from projections.queries import patient_history

    rows = suivi(view, base, ZONE)
    patient_id = next(r["patient_id"] for r in rows if r["appointment_id"] == str(a))
    history = patient_history(view, patient_id, None, ZONE)
    assert {r["appointment_id"] for r in history} == {str(a), str(c)}
    assert {r["patient_name"] for r in history} == {"Pat Nouveau"}  # the rename shows everywhere
    only_first = patient_history(view, patient_id, [str(setup.clinic)], ZONE)
    assert [r["appointment_id"] for r in only_first] == [str(a)]


def test_two_runners_at_once_apply_each_event_once(app: Scheduling, setup: Setup) -> None:
    """Two servers (or a server and ``hub projections run``) follow the same log."""
    first = build_projector(app, ["availability"], batch_size=3, poll_seconds=0.001)
    second = build_projector(app, ["availability"], batch_size=5, poll_seconds=0.001)
    first.start()
    second.start()
    try:
        for n in range(10):
            slot = setup.slot if n % 2 else setup.open_slot(capacity=1, hours=100 + n)
            app.book(slot, setup.consult, patient(n), "emr")
        assert first.wait("availability", app.head(), timeout=20)
    finally:
        first.close()
        second.close()
    listed = availability(build_projector(app, ["availability"]).get("availability").view,
                          future(0), future(24 * 30), online=False)
    booked = {i["slot_id"]: i["booked"] for i in listed}
    assert booked[str(setup.slot)] == 5 and sum(booked.values()) == 10  # none applied twice


def test_a_batch_moves_every_projection_together_and_a_stale_runner_applies_none(
        app: Scheduling, setup: Setup) -> None:
    """The projections of one store are applied in one transaction per batch: a runner that
    loses the race on one of them (another runner applied the batch there meanwhile) applies
    it to none, reads the positions again and goes on from there."""
    for n in range(6):
        app.book(setup.slot, setup.consult, patient(n), "emr")
    runner = build_projector(app, batch_size=1_000)
    audit_only = build_projector(app, ["audit"], batch_size=1_000)
    try:
        runner._known = runner.positions()  # as its last step left them: all at 0  # noqa: SLF001
        assert set(runner._known.values()) == {0}  # noqa: SLF001
        audit_only.step()  # another runner moves the audit read model meanwhile
        assert runner.step() > 0  # read the batch, lost the race on audit's position
        assert runner.positions() == {"suivi": 0, "availability": 0, "audit": app.head()}
        assert not any(snapshot(runner)[t.name] for t in runner.get("availability").tables)  # rolled back
        runner.step()  # positions read again: suivi and availability catch up, audit has it
        assert set(runner.positions().values()) == {app.head()}
        live = snapshot(runner)
        assert len(live["audit_events"]) == app.head() - _holes(app)  # none applied twice
        for name in runner.projections:
            runner.rebuild(name)
        assert snapshot(runner) == live
    finally:
        runner.close()
        audit_only.close()
