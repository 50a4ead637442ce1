"""``hub.command_gate.CommandGate``: width, arrival order, re-entry, and the gate on commands."""

from __future__ import annotations

import threading
import time

import pytest
from eventsourcing.persistence import RecordConflictError

from hub.command_gate import CommandGate
from tests.support.scheduling import Setup, make_app, patient


def wait_until(check, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


@pytest.mark.parametrize("width", [1, 2])
def test_at_most_width_run_and_the_others_enter_in_arrival_order(width: int) -> None:
    gate = CommandGate(width)
    release = threading.Event()
    inside: list[int] = []
    most = [0]
    order: list[int] = []
    lock = threading.Lock()

    def command(n: int) -> None:
        with gate.entered():
            with lock:
                order.append(n)
                inside.append(n)
                most[0] = max(most[0], len(inside))
            if n < width:
                release.wait(5)
            with lock:
                inside.remove(n)

    threads = [threading.Thread(target=command, args=(n,)) for n in range(width)]
    for t in threads:
        t.start()
    wait_until(lambda: len(order) == width)
    for n in range(width, 8):  # each queued after the previous one
        t = threading.Thread(target=command, args=(n,))
        t.start()
        threads.append(t)
        wait_until(lambda n=n: gate.queued() == n - width + 1)
    release.set()
    for t in threads:
        t.join(5)
    assert most[0] == width
    if width == 1:  # one at a time: they entered exactly in the order they queued
        assert order == list(range(8))
    assert sorted(order) == list(range(8))
    assert gate.queued() == 0


def test_a_command_inside_a_command_does_not_queue_behind_itself() -> None:
    gate = CommandGate(1)
    done = threading.Event()

    def nested() -> None:
        with gate.entered(), gate.entered():
            done.set()

    t = threading.Thread(target=nested)
    t.start()
    t.join(2)
    assert done.is_set()
    with gate.entered():  # its place was given back once, when the outer block ended
        pass


def test_zero_is_no_limit_and_a_negative_width_is_refused() -> None:
    gate = CommandGate(0)
    entered = threading.Barrier(5, timeout=5)

    def command() -> None:
        with gate.entered():
            entered.wait()  # all five inside at once

    threads = [threading.Thread(target=command) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert not entered.broken
    with pytest.raises(ValueError, match="width"):
        CommandGate(-1)


def test_a_conflict_waits_outside_the_gate_and_bookings_stay_exact() -> None:
    """A command that lost a race gives its place up while it backs off; with one place,
    concurrent bookings still fill the slot exactly."""
    app = make_app("sqlite:///:memory:")
    try:
        app.gate = CommandGate(1)
        setup = Setup(app, capacity=5)
        slot = setup.open_slot(capacity=5, hours=30)
        held_during_backoff = []
        original = app.retrying
        calls = [0]

        def conflicting_once() -> str:
            calls[0] += 1
            if calls[0] == 1:
                raise RecordConflictError("a concurrent writer won")
            held_during_backoff.append(app.gate._free)
            return "done"

        assert original(conflicting_once, "test") == "done"
        assert held_during_backoff == [0]  # inside again on the retry
        assert app.gate._free == 1  # given back after

        threads = [threading.Thread(target=lambda n=n: app.book(slot, setup.consult, patient(n), "emr"))
                   for n in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        from aggregates.slot import Slot
        assert len(app.load(Slot, slot, "slot").booked) == 5
    finally:
        app.close()
