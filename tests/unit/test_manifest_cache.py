"""The ``$bulk-publish`` manifest is built once per base URL, clinic and portal for its max-age."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from connectors.fhir.smart_scheduling.publish import ManifestCache

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.seconds = 0.0
        self.builds = 0

    def __call__(self) -> float:
        return self.seconds

    def now(self) -> datetime:
        self.builds += 1
        return T0 + timedelta(seconds=self.seconds)


def test_one_manifest_per_base_url_clinic_and_portal_until_it_expires() -> None:
    clock = Clock()
    cache = ManifestCache(clock=clock)
    first = cache.get("https://a.example/fhir/r4", None, None, 60, clock.now)
    clock.seconds = 59
    assert cache.get("https://a.example/fhir/r4", None, None, 60, clock.now) == first
    other = json.loads(cache.get("https://b.example/fhir/r4", None, None, 60, clock.now))
    assert other["request"] == "https://b.example/fhir/r4/$bulk-publish"  # never another base's
    clinic = uuid4()
    scoped = json.loads(cache.get("https://a.example/fhir/r4", clinic, "clicsante", 60, clock.now))
    assert scoped["request"].endswith(f"?clinic={clinic}&portal=clicsante")
    assert clock.builds == 3
    clock.seconds = 60
    renewed = json.loads(cache.get("https://a.example/fhir/r4", None, None, 60, clock.now))
    assert renewed["transactionTime"] == (T0 + timedelta(seconds=60)).isoformat()
    assert clock.builds == 4


def test_no_max_age_no_cache_and_the_cache_is_bounded() -> None:
    clock = Clock()
    cache = ManifestCache(max_entries=2, clock=clock)
    cache.get("https://a.example", None, None, 0, clock.now)
    cache.get("https://a.example", None, None, 0, clock.now)
    assert clock.builds == 2
    for _ in range(5):
        cache.get("https://a.example", uuid4(), None, 60, clock.now)
    assert len(cache._entries) == 2
