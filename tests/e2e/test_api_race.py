"""200 concurrent bookings through HTTP (real uvicorn, PostgreSQL) for 10 places."""

from __future__ import annotations

import asyncio
from collections import Counter
from uuid import UUID

import httpx

from aggregates.slot import Slot
from hub.access.tokens import issue
from tests.support.http import HttpClinic, booking_body


def test_two_hundred_http_bookings_fill_ten_places_exactly(live_server) -> None:
    _, secret = issue(live_server.app.state.services.access, "admin")
    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=live_server.url, timeout=60) as sync:
        clinic = HttpClinic(sync, headers, capacity=10)  # type: ignore[arg-type]
    head = live_server.app.state.services.scheduling.head()

    async def attempt(client: httpx.AsyncClient, n: int) -> tuple[int, str]:
        answer = await client.post("/v1/appointments", headers=headers,
                                   json=booking_body(clinic.slot, clinic.consult, n))
        code = answer.json().get("error", {}).get("code", "") if answer.status_code != 201 else ""
        return answer.status_code, code

    async def race() -> list[tuple[int, str]]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=live_server.url, timeout=60, limits=limits) as client:
            return await asyncio.gather(*(attempt(client, n) for n in range(200)))

    outcomes = Counter(asyncio.run(race()))
    assert outcomes == {(201, ""): 10, (409, "slot_full"): 190}, outcomes
    scheduling = live_server.app.state.services.scheduling
    slot = scheduling.load(Slot, UUID(clinic.slot), "slot")
    assert len(slot.booked) == 10
    booked = scheduling.recorder.select_notifications(
        start=head + 1, limit=10_000, topics=["aggregates.appointment:Appointment.Booked"])
    assert len(booked) == 10
