"""FHIR Slot search is served from the availability read model (indexed by schedule and start)
and answers exactly what a search over the event store answers, in every role's view."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from connectors.fhir.search import Query
from connectors.fhir.server import FhirServer, Scope
from connectors.fhir.smart_scheduling.publish import publication
from entrypoints.api.routes.fhir import availability_slots
from hub.scheduling.reads import StoreReads
from hub.scheduling.service import Scheduling
from tests.support.scheduling import Setup, future, patient

Headers = dict[str, str]


def test_slot_search_from_the_read_model_equals_the_store(
    client: TestClient, pg_app: Scheduling, auth: Callable[..., Headers]
) -> None:
    world = Setup(pg_app, capacity=2)
    world.open_slot(capacity=3, locked=True, hours=80)
    full = world.open_slot(capacity=1, hours=96)
    other = pg_app.add_professional(world.clinic, "Dr Autre", "gp").id
    start = future(100)
    pg_app.open_slot(world.clinic, other, start, start + timedelta(minutes=20), 2, [world.consult], [])
    pg_app.book(world.slot, world.consult, patient(1), "admin")
    pg_app.book(full, world.consult, patient(2), "admin")
    # services as the slots show them come from the read model too: renamed, offline, both
    offline = pg_app.add_service(world.clinic, "Note", 5, "silent", False, 0).id
    pg_app.open_slot(world.clinic, other, start + timedelta(hours=1), start + timedelta(hours=2), 1,
                     [offline, world.consult], [])
    pg_app.update_service(world.consult, "Consultation renommée", 15, "in_person", True, 24)
    services = client.app.state.services  # type: ignore[attr-defined]
    source = availability_slots(services.projections, pg_app, 5.0)
    served = FhirServer(pg_app, ZoneInfo("America/Montreal"), slot_source=source)
    stored = FhirServer(pg_app, ZoneInfo("America/Montreal"))
    queries = [
        (("schedule", f"Schedule/{world.gp}"),),
        (("schedule", f"Schedule/{world.gp}"), ("status", "free")),
        (("schedule", f"Schedule/{world.gp}"), ("start", f"ge{future(90).isoformat()}")),
        (("start", f"ge{future(70).isoformat()}"), ("start", f"lt{future(99).isoformat()}")),
        (("service-type", str(world.vaccine)),),
        (),
    ]
    seen_from_read_model = 0
    for params in queries:
        for scope in (Scope(None), Scope(frozenset({world.clinic})), Scope(frozenset({world.clinic}), online=True)):
            query = Query((*params, ("_count", "50")))
            ours = served.search("Slot", query, scope, "http://hub/fhir/r4")
            theirs = stored.search("Slot", query, scope, "http://hub/fhir/r4")
            assert ours == theirs, params
            seen_from_read_model += source(scope.clinic_ids, None, None, None, None) is not None
    assert seen_from_read_model  # the read model answered (the runner kept it current)
    answer = client.get("/fhir/r4/Slot", params={"schedule": f"Schedule/{world.gp}"},
                        headers=auth("admin"))
    assert answer.status_code == 200 and answer.json()["total"] == 3
    shown = client.get("/fhir/r4/Slot", params={"schedule": f"Schedule/{other}"}, headers=auth("admin"))
    names = {c["display"] for e in shown.json()["entry"] for t in e["resource"]["serviceType"]
             for c in t["coding"]}
    assert names == {"Consultation renommée", "Note"}


def test_bulk_publish_from_the_read_model_equals_the_store(client: TestClient, pg_app: Scheduling) -> None:
    world = Setup(pg_app, capacity=2)
    world.open_slot(capacity=3, locked=True, hours=80)
    vaccine_slot = world.open_slot(capacity=2, hours=90, products=["Pfizer", "Moderna"])
    pg_app.book(vaccine_slot, world.vaccine, patient(3), "admin")
    pg_app.book(world.slot, world.consult, patient(1), "admin")
    past = datetime.now(UTC) - timedelta(days=3)
    pg_app.open_slot(world.clinic, world.gp, past, past + timedelta(minutes=30), 2, [world.consult], [])
    services = client.app.state.services  # type: ignore[attr-defined]
    source = availability_slots(services.projections, pg_app, 5.0)
    now = datetime.now(UTC)
    ours = publication(StoreReads(pg_app), now, None, "https://portal/{slot_id}", slot_source=source)
    theirs = publication(StoreReads(pg_app), now, None, "https://portal/{slot_id}")
    assert source(None, None, None, None, now) is not None  # served from the read model
    assert (ours.slots, ours.schedules, ours.locations) == (theirs.slots, theirs.schedules, theirs.locations)
    assert len(ours.slots) == 2  # the locked and the past slots are not published
