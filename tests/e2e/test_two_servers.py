"""Two ``hub serve`` processes on one PostgreSQL database keep every guarantee (issue #18):
started together on an empty schema, raced for the last places of a slot, each reading the
other's writes with ``?min_position=``, and both following the log with their projection
runners without applying any event twice (the read models equal a rebuild from zero).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx
import pytest

from aggregates.slot import Slot
from hub.bootstrap import bootstrap, build_projector
from hub.settings import Settings
from tests.support.http import HttpClinic, booking_body
from tests.support.relay import ROOT, run_hub, wait_for
from tests.support.scheduling import free_port

pytestmark = pytest.mark.postgres


class Servers:
    def __init__(self, urls: list[str], env: dict[str, str], logs: list[Path]) -> None:
        self.urls = urls
        self.env = env
        self.logs = logs


@pytest.fixture
def two_servers(pg_schema_url: str, tmp_path: Path) -> Iterator[Servers]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_DATABASE_URL=pg_schema_url, HUB_LOG_FORMAT="json", HUB_READ_WAIT_SECONDS="20",
               HUB_PROJECTIONS_IN_SERVER="true", HUB_POOL_SIZE="5", PYTHONUNBUFFERED="1")
    ports = [free_port(), free_port()]
    logs = [tmp_path / f"serve-{port}.log" for port in ports]
    # Both start at once on an empty schema: they race to create the tables too.
    processes = [
        subprocess.Popen([sys.executable, "-m", "entrypoints", "serve", "--port", str(port)],
                         cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
        for port, log in zip(ports, logs, strict=True)
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for process, url, log in zip(processes, urls, logs, strict=True):
            def healthy(process=process, url=url, log=log) -> bool:
                assert process.poll() is None, f"{url} exited:\n{log.read_text()[-3000:]}"
                try:
                    return httpx.get(f"{url}/health", timeout=2).status_code == 200
                except httpx.TransportError:
                    return False
            wait_for(healthy, 60, f"{url}/health", interval=0.2)
        yield Servers(urls, env, logs)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    for log in logs:
        assert "Traceback" not in log.read_text(errors="replace"), log.read_text()[-3000:]


def admin_headers(servers: Servers) -> dict[str, str]:
    created = run_hub(servers.env, "tokens", "create", "--role", "admin")
    assert created.returncode == 0, created.stderr
    return {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}


def test_two_servers_on_one_database_keep_every_guarantee(two_servers: Servers) -> None:
    a, b = two_servers.urls
    headers = admin_headers(two_servers)
    with httpx.Client(base_url=a, timeout=60) as client:
        clinic = HttpClinic(client, headers, capacity=10)  # type: ignore[arg-type]  # httpx.Client speaks TestClient's post()

        # 1. No oversell: 160 bookings of 10 places, alternately on each server, all at once.
        async def attempt(http: httpx.AsyncClient, n: int) -> tuple[int, str]:
            answer = await http.post("/v1/appointments", headers=headers,
                                     json=booking_body(clinic.slot, clinic.consult, n))
            return answer.status_code, answer.json().get("error", {}).get("code", "")

        async def race() -> list[tuple[int, str]]:
            limits = httpx.Limits(max_connections=100)
            async with httpx.AsyncClient(base_url=a, timeout=120, limits=limits) as on_a, \
                    httpx.AsyncClient(base_url=b, timeout=120, limits=limits) as on_b:
                return await asyncio.gather(*(attempt((on_a, on_b)[n % 2], n) for n in range(160)))

        outcomes = Counter(asyncio.run(race()))
        assert outcomes == {(201, ""): 10, (409, "slot_full"): 150}, outcomes

        # 2. Read-your-writes across servers: write on one, read at once on the other.
        second = clinic.open_slot(capacity=40, hours=96)
        day = None
        for n in range(16):
            writer, reader = (a, b) if n % 2 == 0 else (b, a)
            written = httpx.post(f"{writer}/v1/appointments", headers=headers, timeout=60,
                                 json=booking_body(second, clinic.consult, 1000 + n))
            assert written.status_code == 201, written.text
            position = written.json()["position"]
            slots = httpx.get(f"{reader}/v1/availability", headers=headers, timeout=60, params={
                "clinic_id": clinic.id, "min_position": position})
            assert slots.status_code == 200, slots.text
            remaining = {item["slot_id"]: item["remaining"] for item in slots.json()["items"]}
            assert remaining[second] == 40 - (n + 1)
            start = datetime.fromisoformat(written.json()["start"])
            day = start.astimezone(ZoneInfo("America/Montreal")).date().isoformat()
            rows = httpx.get(f"{reader}/v1/clinics/{clinic.id}/suivi", headers=headers, timeout=60,
                             params={"date": day, "min_position": position, "limit": 200})
            assert rows.status_code == 200, rows.text
            assert written.json()["id"] in {row["appointment_id"] for row in rows.json()["items"]}

        # Both servers' runners reach the log's head (each read waits for its own runner).
        head = httpx.get(f"{a}/health", timeout=10).json()["position"]
        for url in (a, b):
            events = httpx.get(f"{url}/v1/events", headers=headers, timeout=60,
                               params={"after": head - 1, "min_position": head})
            assert events.status_code == 200, events.text

    # 3. Each event applied once: the read models the two runners raced on equal a rebuild
    # from zero, and the audit holds every stored event exactly once.
    app = bootstrap(Settings(database_url=two_servers.env["HUB_DATABASE_URL"]), configure_logs=False)
    projector = build_projector(app)
    try:
        slot = app.load(Slot, UUID(clinic.slot), "slot")
        assert len(slot.booked) == 10
        stored = [n.id for n in app.recorder.select_notifications(start=1, limit=1_000_000)]
        audit = projector.get("audit").view.rows("audit_events")
        assert sorted(row["position"] for row in audit) == stored
        live = {name: snapshot(projector, name) for name in ("suivi", "availability")}
        assert {r["slot_id"]: r["capacity"] - r["booked"] for r in live["availability"]["availability_slots"]
                } == {clinic.slot: 0, second: 24}
        for name in ("suivi", "availability"):
            projector.rebuild(name)
            assert snapshot(projector, name) == live[name], f"{name} differs from its rebuild"
    finally:
        projector.close()
        app.close()


def snapshot(projector, name: str) -> dict[str, list[dict]]:
    projection = projector.get(name)
    return {table.name: sorted((dict(row) for row in projection.view.rows(table.name)), key=repr)
            for table in projection.tables}
