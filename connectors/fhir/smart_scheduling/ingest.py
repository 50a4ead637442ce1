"""Ingest a publisher's SMART Scheduling Links feed (``$bulk-publish``) into a clinic.

The whole feed is read and validated (manifest shape, every NDJSON line against the R4B
models, Slot → Schedule references) before anything is written: a malformed feed writes
nothing. Each Schedule becomes a professional and a service of the clinic, each free future
Slot a slot; ids derive from the feed and the publisher's ids, so a re-ingest creates nothing
new: it only locks slots that became busy and unlocks those free again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin
from uuid import NAMESPACE_URL, UUID, uuid5

import structlog
from pydantic import ValidationError

from adapters.outbound import OutboundClient, OutboundPolicy, OutboundUnreachable
from aggregates.clinic import Clinic
from aggregates.errors import DomainError, InvalidValue
from aggregates.slot import Slot
from connectors.fhir import codes
from hub.scheduling.service import Scheduling

log = structlog.get_logger("connectors.fhir.smart_scheduling")
Fetch = Callable[[str], bytes]
MAX_BYTES = 50 * 1024 * 1024
TYPES = ("Location", "Schedule", "Slot")


class MalformedFeed(InvalidValue):
    """The feed is not a SMART Scheduling Links publication the hub can read."""

    code = "malformed_feed"


class FeedUnreachable(DomainError):
    """A manifest or file of the feed could not be fetched."""

    code = "feed_unreachable"


def fetch_url(url: str) -> bytes:
    """GET a feed URL under the default SSRF rules (public hosts only, docs/privacy.md)."""
    return OutboundClient(OutboundPolicy(max_bytes=MAX_BYTES)).get(url)


def _fetched(fetch: Fetch, url: str) -> bytes:
    """``fetch(url)``, an unreachable answer said as ``feed_unreachable`` (nothing more: the
    words never tell an open port from a closed one)."""
    try:
        return fetch(url)
    except OutboundUnreachable as exc:
        raise FeedUnreachable(f"cannot fetch the feed: {exc.message}") from None


@dataclass
class Feed:
    url: str
    locations: dict[str, dict[str, Any]] = field(default_factory=dict)
    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)
    slots: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class IngestReport:
    schedules: int = 0
    professionals_created: int = 0
    services_created: int = 0
    slots_created: int = 0
    slots_locked: int = 0
    slots_unlocked: int = 0
    slots_unchanged: int = 0
    slots_skipped: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def read_feed(manifest_url: str, fetch: Fetch = fetch_url) -> Feed:
    """Fetch and validate the manifest and every file it lists."""
    from fhir.resources.R4B import get_fhir_model_class

    try:
        manifest = json.loads(_fetched(fetch, manifest_url))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise MalformedFeed(f"the manifest at {manifest_url} is not JSON", field="manifest_url") from None
    outputs = manifest.get("output") if isinstance(manifest, dict) else None
    if not isinstance(outputs, list) or not all(
        isinstance(o, dict) and isinstance(o.get("type"), str) and isinstance(o.get("url"), str)
        for o in outputs
    ):
        raise MalformedFeed("the manifest needs an output list of {type, url}", field="manifest_url")
    feed = Feed(url=manifest_url)
    for output in outputs:
        kind = output["type"]
        if kind not in TYPES:
            continue
        url = urljoin(manifest_url, output["url"])
        try:
            text = _fetched(fetch, url).decode("utf-8", errors="strict")
        except UnicodeDecodeError:
            raise MalformedFeed(f"{url} is not UTF-8 text", field="manifest_url") from None
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                resource = json.loads(line)
                if not isinstance(resource, dict) or resource.get("resourceType") != kind:
                    raise ValueError(f"expected a {kind}")
                get_fhir_model_class(kind).model_validate(resource)
            except (ValueError, ValidationError) as exc:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise MalformedFeed(f"{url} line {number}: not a valid {kind}: {reason}",
                                    field="manifest_url") from None
            if kind == "Slot":
                feed.slots.append(resource)
            else:
                getattr(feed, "locations" if kind == "Location" else "schedules")[resource["id"]] = resource
    for slot in feed.slots:
        reference = slot["schedule"].get("reference", "")
        if reference.split("/")[-1] not in feed.schedules:
            raise MalformedFeed(f"Slot {slot.get('id')} names {reference!r}, which the feed does not "
                                "publish", field="manifest_url")
        _instant(slot["start"]), _instant(slot["end"])
    return feed


class FeedIngest:
    """Turns a publisher's feed into the availability of one clinic of the hub."""

    def __init__(self, app: Scheduling) -> None:
        self.app = app

    def ingest(self, clinic_id: UUID, manifest_url: str, fetch: Fetch = fetch_url,
               now: datetime | None = None) -> IngestReport:
        self.app.load(Clinic, clinic_id, "clinic")
        feed = read_feed(manifest_url, fetch)
        now = now or self.app.clock()
        report = IngestReport(schedules=len(feed.schedules))
        agendas = {key: self._agenda(clinic_id, feed, key, schedule, report)
                   for key, schedule in feed.schedules.items()}
        for resource in feed.slots:
            self._slot(clinic_id, feed, resource, agendas, now, report)
        log.info("feed ingested", clinic_id=str(clinic_id), feed=manifest_url, **report.as_dict())
        return report

    def _id(self, clinic_id: UUID, feed: Feed, *parts: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"hub:feed:{clinic_id}:{feed.url}:{':'.join(parts)}")

    def _agenda(self, clinic_id: UUID, feed: Feed, key: str, schedule: dict[str, Any],
                report: IngestReport) -> tuple[UUID, UUID, list[str]]:
        """The professional and service standing for a publisher's Schedule, and its products."""
        actors = schedule.get("actor") or []
        location = next((feed.locations.get(a.get("reference", "").split("/")[-1]) for a in actors
                         if a.get("reference", "").startswith("Location/")), None)
        concept = (schedule.get("serviceType") or [{}])[0]
        service_name = concept.get("text") or next(
            (c.get("display") for c in concept.get("coding") or [] if c.get("display")), "Rendez-vous")
        who = next((a.get("display") for a in actors if a.get("display")), None)
        name = who or " — ".join(p for p in ((location or {}).get("name"), service_name) if p)
        products = [p for e in schedule.get("extension") or [] if e.get("url") == codes.VACCINE_PRODUCT
                    if (p := codes.product_of(e.get("valueCoding") or {}))]
        professional_id = self._id(clinic_id, feed, "schedule", key)
        service_id = self._id(clinic_id, feed, "service", key)
        if not self.app.exists(professional_id):
            self.app.add_professional(clinic_id, name[:200], "other", id=professional_id)
            report.professionals_created += 1
        if not self.app.exists(service_id):
            minutes = [_minutes(s) for s in feed.slots
                       if s["schedule"]["reference"].split("/")[-1] == key and _minutes(s) > 0]
            self.app.add_service(clinic_id, service_name[:200], min(minutes or [15]), "in_person", True,
                                 0, products[0] if products else None, id=service_id)
            report.services_created += 1
        return professional_id, service_id, products

    def _slot(self, clinic_id: UUID, feed: Feed, resource: dict[str, Any],
              agendas: dict[str, tuple[UUID, UUID, list[str]]], now: datetime,
              report: IngestReport) -> None:
        professional_id, service_id, products = agendas[resource["schedule"]["reference"].split("/")[-1]]
        slot_id = self._id(clinic_id, feed, "slot", str(resource.get("id")))
        start, end = _instant(resource["start"]), _instant(resource["end"])
        free = resource["status"] == "free"
        if self.app.exists(slot_id):
            slot = self.app.load(Slot, slot_id, "slot")
            if free and slot.locked:
                self.app.unlock_slot(slot_id)
                report.slots_unlocked += 1
            elif not free and not slot.locked:
                self.app.lock_slot(slot_id)
                report.slots_locked += 1
            else:
                report.slots_unchanged += 1
            return
        if not free or end <= now or end <= start:
            report.slots_skipped += 1
            return
        capacity = next((e.get("valueInteger") for e in resource.get("extension") or []
                         if e.get("url") == codes.SLOT_CAPACITY), None) or 1
        self.app.open_slot(clinic_id, professional_id, start, end, max(1, int(capacity)),
                           [service_id], products, id=slot_id)
        report.slots_created += 1


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise MalformedFeed(f"slot time {value!r} has no offset", field="manifest_url")
    return parsed


def _minutes(slot: dict[str, Any]) -> int:
    return int((_instant(slot["end"]) - _instant(slot["start"])).total_seconds() // 60)
