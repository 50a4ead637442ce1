"""Ingest a SMART Scheduling Links feed: one hub publishes (real app), another ingests it;
re-ingest creates nothing new; a malformed feed writes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from aggregates.service import Service
from aggregates.slot import Slot
from connectors.fhir.smart_scheduling.ingest import FeedIngest, FeedUnreachable, MalformedFeed
from entrypoints.api.app import create_app
from hub.scheduling.reads import StoreReads
from hub.scheduling.service import Scheduling
from hub.settings import Settings
from tests.support.scheduling import ADDRESS, Setup, make_app, patient

MANIFEST = "http://testserver/fhir/r4/$bulk-publish"


@pytest.fixture
def consumer(sqlite_url: str) -> Iterator[Scheduling]:
    app = make_app(sqlite_url)
    yield app
    app.close()


def fetcher(client: TestClient):
    def fetch(url: str) -> bytes:
        answer = client.get(url)
        if answer.status_code != 200:
            raise FeedUnreachable(f"{url}: HTTP {answer.status_code}")
        return answer.content
    return fetch


def test_ingest_is_idempotent_and_follows_busy_slots(client: TestClient, pg_app: Scheduling,
                                                     consumer: Scheduling) -> None:
    world = Setup(pg_app, capacity=2)
    second = world.open_slot(capacity=1, hours=90)
    clinic = consumer.register_clinic("Portail Vaccin", ADDRESS, "418-555-2222", "public_health").id
    ingest = FeedIngest(consumer)

    report = ingest.ingest(clinic, MANIFEST, fetcher(client))
    assert (report.schedules, report.slots_created, report.services_created) == (1, 2, 1)
    slots = StoreReads(consumer).slots(frozenset({clinic}))
    assert sorted(s.capacity for s in slots) == [1, 2]
    assert all(s.products == ["Pfizer"] for s in slots)
    [service] = StoreReads(consumer).services(frozenset({clinic}))
    assert service.online and service.product == "Pfizer"

    head = consumer.head()
    again = ingest.ingest(clinic, MANIFEST, fetcher(client))
    assert (again.slots_created, again.slots_unchanged, again.professionals_created) == (0, 2, 0)
    assert consumer.head() == head

    pg_app.book(second, world.consult, patient(1), "emr")
    busy = ingest.ingest(clinic, MANIFEST, fetcher(client))
    assert (busy.slots_locked, busy.slots_created) == (1, 0)
    locked = [s for s in StoreReads(consumer).slots(frozenset({clinic})) if s.locked]
    assert len(locked) == 1 and locked[0].capacity == 1
    consumer.book(locked[0].id, service.id, patient(2), "emr")  # staff may still book it


def test_malformed_or_unreachable_feed_writes_nothing(consumer: Scheduling, tmp_path) -> None:
    clinic = consumer.register_clinic("Portail", ADDRESS, "418-555-2222", "clinic").id
    slot = {"resourceType": "Slot", "id": "s1", "schedule": {"reference": "Schedule/x"}, "status": "free",
            "start": "2030-01-01T10:00:00-05:00", "end": "2030-01-01T10:30:00-05:00"}
    schedule = {"resourceType": "Schedule", "id": "x", "actor": [{"reference": "Location/l"}]}
    manifest = {"transactionTime": "2030-01-01T00:00:00Z", "request": "m",
                "output": [{"type": "Schedule", "url": "schedules.ndjson"}, {"type": "Slot", "url": "slots.ndjson"}]}
    cases = {
        "not json": (b"<html>", {}, MalformedFeed),
        "no output": (json.dumps({"x": 1}).encode(), {}, MalformedFeed),
        "bad slot line": (json.dumps(manifest).encode(), {"schedules.ndjson": json.dumps(schedule),
                                                          "slots.ndjson": json.dumps(slot) + "\n{\"resourceType\": \"Slot\"}"}, MalformedFeed),
        "dangling schedule": (json.dumps(manifest).encode(), {"schedules.ndjson": "",
                                                              "slots.ndjson": json.dumps(slot)}, MalformedFeed),
        "missing file": (json.dumps(manifest).encode(), {"schedules.ndjson": json.dumps(schedule)}, FeedUnreachable),
    }
    head = consumer.head()
    for name, (body, files, error) in cases.items():
        def fetch(url: str, body=body, files=files) -> bytes:
            if url == "https://publisher.example/$bulk-publish":
                return body
            key = url.rsplit("/", 1)[-1]
            if key not in files:
                raise FeedUnreachable(f"{url}: 404")
            return files[key].encode()
        with pytest.raises(error):
            FeedIngest(consumer).ingest(clinic, "https://publisher.example/$bulk-publish", fetch)
        assert consumer.head() == head, name
    ok = {"schedules.ndjson": json.dumps(schedule), "slots.ndjson": json.dumps(slot)}
    report = FeedIngest(consumer).ingest(
        clinic, "https://publisher.example/$bulk-publish",
        lambda url: json.dumps(manifest).encode() if url.endswith("$bulk-publish") else ok[url.rsplit("/", 1)[-1]].encode())
    assert report.slots_created == 1
    [created] = StoreReads(consumer).slots(frozenset({clinic}))
    assert consumer.load(Slot, created.id, "slot").capacity == 1
    [service] = StoreReads(consumer).services(frozenset({clinic}))
    assert consumer.load(Service, service.id, "service").duration_minutes == 30


@pytest.fixture
def static_publisher(tmp_path) -> Iterator[tuple[str, object]]:
    """A publisher with nothing but static web hosting (the spec's minimal case), on loopback."""
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    server.shutdown()
    server.server_close()


def test_api_ingests_a_static_feed_over_http(client: TestClient, pg_app: Scheduling, auth,
                                             static_publisher) -> None:
    base, folder = static_publisher
    location = {"resourceType": "Location", "id": "l1", "name": "Pharmacie Test",
                "telecom": [{"system": "phone", "value": "418-555-3333"}],
                "address": {"line": ["1 rue A"], "city": "Lévis", "state": "QC", "postalCode": "G6V 1A1"}}
    schedule = {"resourceType": "Schedule", "id": "sch1", "actor": [{"reference": "Location/l1"}],
                "serviceType": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/service-type",
                                             "code": "57", "display": "Immunization"}]}],
                "extension": [{"url": "http://fhir-registry.smarthealthit.org/StructureDefinition/vaccine-product",
                               "valueCoding": {"system": "http://hl7.org/fhir/sid/cvx", "code": "207"}}]}
    slots = [{"resourceType": "Slot", "id": f"sl{i}", "schedule": {"reference": "Schedule/sch1"},
              "status": "free", "start": f"2030-03-0{i}T15:00:00-05:00", "end": f"2030-03-0{i}T15:20:00-05:00",
              "extension": [{"url": "http://fhir-registry.smarthealthit.org/StructureDefinition/slot-capacity",
                             "valueInteger": 5}]} for i in (1, 2)]
    (folder / "locations.ndjson").write_text(json.dumps(location) + "\n")
    (folder / "schedules.ndjson").write_text(json.dumps(schedule) + "\n")
    (folder / "slots.ndjson").write_text("".join(json.dumps(s) + "\n" for s in slots))
    (folder / "$bulk-publish").write_text(json.dumps({
        "transactionTime": "2030-01-01T00:00:00Z", "request": f"{base}/$bulk-publish", "error": [],
        "output": [{"type": "Location", "url": f"{base}/locations.ndjson"},
                   {"type": "Schedule", "url": f"{base}/schedules.ndjson"},
                   {"type": "Slot", "url": f"{base}/slots.ndjson"}]}))
    clinic = pg_app.register_clinic("Pharmacie Test", ADDRESS, "418-555-3333", "pharmacy").id
    url = f"/v1/clinics/{clinic}/availability-feeds"
    head = pg_app.head()
    refused = client.post(url, json={"manifest_url": f"{base}/$bulk-publish"}, headers=auth("admin"))
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "outbound_refused")
    assert pg_app.head() == head  # loopback is not fetched unless allowed by name
    assert client.post(url, json={"manifest_url": f"{base}/$bulk-publish"},
                       headers=auth("clinic_staff", clinic)).status_code == 403  # admin only
    with TestClient(create_app(pg_app, Settings(outbound_allowed_hosts="127.0.0.1"))) as allowed:
        _ingest_from_loopback(allowed, pg_app, auth, base, clinic, url)


def _ingest_from_loopback(client: TestClient, pg_app: Scheduling, auth, base: str, clinic,
                          url: str) -> None:
    staff = auth("admin")
    answer = client.post(url, json={"manifest_url": f"{base}/$bulk-publish"}, headers=staff)
    assert answer.status_code == 200, answer.text
    assert answer.json()["slots_created"] == 2
    head = pg_app.head()
    again = client.post(url, json={"manifest_url": f"{base}/$bulk-publish"}, headers=staff).json()
    assert (again["slots_created"], again["slots_unchanged"]) == (0, 2) and pg_app.head() == head
    [service] = StoreReads(pg_app).services(frozenset({clinic}))
    assert (service.name, service.product, service.duration_minutes) == ("Immunization", "Moderna", 20)

    gone = client.post(url, json={"manifest_url": f"{base}/nothing/$bulk-publish"}, headers=staff)
    assert (gone.status_code, gone.json()["error"]["code"]) == (400, "feed_unreachable")
    assert client.post(url, json={"manifest_url": "file:///etc/passwd"}, headers=staff).status_code == 422
    assert client.post(url, json={"manifest_url": f"{base}/$bulk-publish"},
                       headers=auth("emr", clinic)).status_code == 403
    assert pg_app.head() == head
