"""``entrypoints.api.commands.CommandLane``: commands run on at most ``width`` threads of their
own, in arrival order, in the request's context; width 0 takes anyio's threadpool. The API's
bookings and EMR messages go through the lane."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from entrypoints.api.commands import CommandLane
from tests.e2e.test_hl7_http import clinic_with_sender, post_hl7
from tests.e2e.test_hl7_lane import remembered
from tests.support.emr_sim import SimulatedEmr, read_ack
from tests.support.http import Headers, HttpClinic
from tests.support.scheduling import future

acting = contextvars.ContextVar("acting", default="nobody")


class Watched:
    """A command that notes how many run at once, on which thread, in which order."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = self.most = 0
        self.order: list[int] = []
        self.threads: set[str] = set()

    def __call__(self, n: int, seconds: float = 0.03) -> str:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
            self.order.append(n)
            self.threads.add(threading.current_thread().name)
        time.sleep(seconds)
        with self.lock:
            self.now -= 1
        return acting.get()


def run_all(lane: CommandLane, command: Callable[..., str], count: int) -> list[str]:
    async def one(n: int) -> str:
        acting.set(f"caller {n}")  # each task's own context
        return await lane.run(command, n)

    async def main() -> list[str]:
        tasks = []
        for n in range(count):
            tasks.append(asyncio.create_task(one(n)))
            await asyncio.sleep(0.001)  # arrival order
        return await asyncio.gather(*tasks)

    return asyncio.run(main())


def test_at_most_width_commands_run_at_once_in_arrival_order_in_their_callers_context() -> None:
    lane, watched = CommandLane(2), Watched()
    try:
        answers = run_all(lane, watched, 8)
    finally:
        lane.close()
    assert watched.most == 2
    assert answers == [f"caller {n}" for n in range(8)]  # each ran as its caller
    assert {name.split("_")[0] for name in watched.threads} == {"command"}
    assert len(watched.threads) == 2

    single, watched = CommandLane(1), Watched()
    try:
        run_all(single, watched, 6)
    finally:
        single.close()
    assert watched.order == list(range(6)) and watched.most == 1


def test_width_zero_takes_anyio_s_threadpool_without_a_cap() -> None:
    lane, watched = CommandLane(0), Watched()
    answers = run_all(lane, watched, 6)
    lane.close()
    assert watched.most > 2
    assert not any(name.startswith("command") for name in watched.threads)
    assert answers == [f"caller {n}" for n in range(6)]
    with pytest.raises(ValueError, match="0"):
        CommandLane(-1)


class Counting(CommandLane):
    def __init__(self, width: int) -> None:
        super().__init__(width)
        self.ran: list[str] = []

    async def run(self, command, *args):  # noqa: ANN001, ANN201
        self.ran.append(getattr(command, "__name__", type(command).__name__))
        return await super().run(command, *args)


def test_bookings_and_emr_messages_go_through_the_lane(client: TestClient, admin: Headers,
                                                       auth: Callable[..., Headers]) -> None:
    services = client.app.state.services
    assert services.commands.width == services.settings.api_command_concurrency == 2
    services.commands.close()
    services.commands = lane = Counting(1)
    clinic = HttpClinic(client, admin)
    booked = clinic.book(1)
    assert booked["slot_id"] == clinic.slot
    hl7_clinic = clinic_with_sender(client, admin)
    emr = auth("emr", hl7_clinic)
    through_route = post_hl7(client, {**emr, "Idempotency-Key": "k1"},  # not the lane's case
                             SimulatedEmr().siu("S12", "L1", future(48)))
    assert read_ack(through_route.text).code == "AA", through_route.text
    by_lane = post_hl7(client, remembered(client, emr), SimulatedEmr().siu("S12", "L2", future(50)))
    assert read_ack(by_lane.text).code == "AA", by_lane.text
    assert lane.ran == ["_booked_json", "receive", "_receive_as"]  # the route, then the HL7 lane
