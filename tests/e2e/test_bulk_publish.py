"""SMART Scheduling Links ``$bulk-publish`` through the real app: public, cached, valid FHIR."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from aggregates.slot import Slot
from connectors.fhir import codes
from entrypoints.api.app import create_app
from hub.settings import Settings
from tests.support.fhir import assert_valid
from tests.support.scheduling import Setup

LINK = "https://portail.example.ca/reserver?plage={slot_id}"


@pytest.fixture
def publisher(pg_app, pg_schema_url: str) -> Iterator[TestClient]:
    settings = Settings(database_url=pg_schema_url, smart_booking_link=LINK, smart_max_age=120)
    with TestClient(create_app(pg_app, settings)) as client:
        yield client


def files(client: TestClient, manifest: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for item in manifest["output"]:
        answer = client.get(item["url"])
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("application/fhir+ndjson")
        assert answer.headers["cache-control"] == "public, max-age=120"
        lines = [json.loads(line) for line in answer.text.splitlines()]
        for resource in lines:
            assert resource["resourceType"] == item["type"]
            assert_valid(resource)
        out[item["type"]] = lines
    return out


def test_bulk_publish_lists_unlocked_future_slots_of_online_services(publisher: TestClient, pg_app) -> None:
    world = Setup(pg_app, capacity=2)
    locked = world.open_slot(locked=True, hours=80)
    past = world.open_slot(hours=-5)
    offline = pg_app.add_service(world.clinic, "Note", 5, "silent", False, 0).id
    start = pg_app.load(Slot, world.slot, "slot").start
    quiet = pg_app.open_slot(world.clinic, world.gp, start, start + timedelta(hours=1), 1, [offline]).id
    pg_app.book(world.slot, world.consult, {"nam": "TREM85010112", "first_name": "A", "last_name": "B",
                                            "birth_date": "1985-01-01", "language": "fr"}, "emr")

    answer = publisher.get("/fhir/r4/$bulk-publish", headers={"Host": "evil.example"})
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "public, max-age=120"
    manifest = answer.json()
    assert manifest["request"] == "http://127.0.0.1:8000/fhir/r4/$bulk-publish"  # HUB_PUBLIC_URL
    assert "evil.example" not in answer.text and manifest["error"] == []
    assert sorted(o["type"] for o in manifest["output"]) == ["Location", "Schedule", "Slot"]
    published = files(publisher, manifest)

    assert [s["id"] for s in published["Slot"]] == [str(world.slot)]
    assert str(locked) not in str(published) and str(past) not in str(published) and str(quiet) not in str(published)
    [slot] = published["Slot"]
    assert slot["status"] == "free"
    assert {"url": codes.SLOT_CAPACITY, "valueInteger": 1} in slot["extension"]
    assert {"url": codes.BOOKING_DEEP_LINK, "valueUrl": LINK.format(slot_id=world.slot)} in slot["extension"]
    assert {"url": codes.BOOKING_PHONE, "valueString": "418-555-0000"} in slot["extension"]
    [schedule] = published["Schedule"]
    assert schedule["id"] == str(world.gp)
    assert {"url": codes.VACCINE_PRODUCT, "valueCoding": codes.product_coding("Pfizer")} in schedule["extension"]
    assert schedule["serviceType"][0]["coding"][1]["code"] == "covid19-immunization"
    [location] = published["Location"]
    assert location["id"] == str(world.clinic) and location["address"]["state"] == "QC"

    pg_app.book(world.slot, world.consult, {"nam": "TREM85010113", "first_name": "A", "last_name": "C",
                                            "birth_date": "1985-01-01", "language": "fr"}, "emr")
    [busy] = files(publisher, publisher.get("/fhir/r4/$bulk-publish").json())["Slot"]
    assert busy["status"] == "busy"

    scoped = publisher.get("/fhir/r4/$bulk-publish", params={"clinic": str(world.clinic)}).json()
    assert all(f"clinic={world.clinic}" in o["url"] for o in scoped["output"])
    assert publisher.get("/fhir/r4/$bulk-publish/Patient.ndjson").status_code == 404
    assert publisher.get("/fhir/r4/$bulk-publish", params={"clinic": "x"}).json()["resourceType"] == "OperationOutcome"
