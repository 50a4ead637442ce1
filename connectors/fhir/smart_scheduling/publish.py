"""SMART Scheduling Links publication: the ``$bulk-publish`` manifest and its NDJSON files
(Location, Schedule, Slot) for the unlocked, future slots of online services.

Extensions where they apply: ``slot-capacity`` (places left) and ``booking-deep-link`` (when a
booking portal link is configured) and ``booking-phone`` (the clinic's phone) on each Slot,
``vaccine-product`` on a Schedule whose published slots carry vaccine products.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from aggregates.clinic import Clinic
from aggregates.professional import Professional
from connectors.fhir import codes, resources
from connectors.fhir.server import SlotRow, SlotSource
from hub.scheduling.reads import StoreReads

FILE_TYPES = ("Location", "Schedule", "Slot")
SMART_IMMUNIZATION = [
    {"system": codes.SERVICE_TYPE, "code": "57", "display": "Immunization"},
    {"system": codes.SMART_SERVICE_TYPE, "code": "covid19-immunization",
     "display": "COVID-19 Immunization Appointment"},
]


@dataclass
class Publication:
    """What the hub publishes now: Location, Schedule and Slot resources."""

    locations: list[dict[str, Any]] = field(default_factory=list)
    schedules: list[dict[str, Any]] = field(default_factory=list)
    slots: list[dict[str, Any]] = field(default_factory=list)

    def of(self, resource_type: str) -> list[dict[str, Any]]:
        return {"Location": self.locations, "Schedule": self.schedules, "Slot": self.slots}[resource_type]


def manifest(base: str, transaction_time: datetime, clinic_id: UUID | None = None,
             portal: str | None = None) -> dict[str, Any]:
    params = {k: v for k, v in (("clinic", str(clinic_id) if clinic_id else None),
                                ("portal", portal)) if v}
    query = f"?{urlencode(params)}" if params else ""
    return {
        "transactionTime": transaction_time.isoformat(),
        "request": f"{base}/$bulk-publish{query}",
        "output": [
            {"type": t, "url": f"{base}/$bulk-publish/{t}.ndjson{query}"} for t in FILE_TYPES
        ],
        "error": [],
    }


class ManifestCache:
    """Manifests as sent, per base URL (``HUB_PUBLIC_URL``), clinic and portal, for ``max_age``
    seconds (the ``Cache-Control`` the answer carries): within that time every caller gets the
    same bytes and ``transactionTime``, as an HTTP cache in front would give. Bounded: the
    least recently used entry goes first (``?clinic=`` is the caller's choice)."""

    def __init__(self, max_entries: int = 512,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[tuple[str, UUID | None, str | None], tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, base: str, clinic_id: UUID | None, portal: str | None, max_age: float,
            now: Callable[[], datetime]) -> bytes:
        key = (base, clinic_id, portal)
        at = self.clock()
        with self._lock:
            found = self._entries.get(key)
            if found is not None and at - found[0] < max_age:
                self._entries.move_to_end(key)
                return found[1]
        body = json.dumps(manifest(base, now(), clinic_id, portal)).encode("utf-8")
        if max_age > 0:
            with self._lock:
                self._entries[key] = (at, body)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        return body


def ndjson(items: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in items)


def publication(
    reads: StoreReads, now: datetime, clinic_id: UUID | None = None, booking_link: str = "",
    portal: str | None = None,
    slot_source: SlotSource | None = None,
) -> Publication:
    """Future, unlocked slots that accept at least one online service, of active clinics that
    publish to ``portal`` (a booking portal's own feed) or to some portal (``None``).

    ``slot_source``: slots from the availability read model (indexed by end: the time does not
    grow with past slots); when it has none to give, the store is read."""
    scope = frozenset({clinic_id}) if clinic_id else None
    clinics = {c.id: c for c in reads.clinics(scope) if c.active and publishes(c, portal)}
    services = {s.id: s for s in reads.services(scope) if s.online and s.clinic_id in clinics}
    professionals = {p.id: p for p in reads.professionals(scope)}
    out = Publication()
    products: dict[UUID, list[str]] = {}
    immunizing: set[UUID] = set()
    rows = slot_source(scope, None, None, None, now) if slot_source else None
    # from the store, slots that have ended are never loaded (only their creation event is read)
    slots: list[Any] = ([SlotRow.of(r) for r in rows] if rows is not None
                        else reads.slots(scope, end_gt=now))
    for slot in slots:
        offered = [services[s] for s in slot.service_ids if s in services]
        if not slot.offered_online or not offered or slot.end <= now or slot.clinic_id not in clinics:
            continue
        clinic = clinics[slot.clinic_id]
        extra: list[dict[str, Any]] = []
        if booking_link:
            extra.append({"url": codes.BOOKING_DEEP_LINK, "valueUrl": booking_link.format(
                slot_id=slot.id, clinic_id=slot.clinic_id, service_id=offered[0].id)})
        if clinic.phone:
            extra.append({"url": codes.BOOKING_PHONE, "valueString": clinic.phone})
        out.slots.append(resources.slot(slot, services, online=True, extensions=extra))
        slot_products = [p for p in slot.products if p] + [s.product for s in offered if s.product]
        bucket = products.setdefault(slot.professional_id, [])
        bucket.extend(p for p in slot_products if p not in bucket)
        if slot_products:
            immunizing.add(slot.professional_id)
    for professional_id, found in products.items():
        out.schedules.append(_schedule(professionals[professional_id], found, professional_id in immunizing))
    used = {p.clinic_id for p in professionals.values() if p.id in products}
    out.locations = [_location(clinics[c]) for c in clinics if c in used]
    return out


def publishes(clinic: Clinic, portal: str | None) -> bool:
    """A clinic set up by the wizard shows its availability to the portals it chose, and only
    to them (none chosen: nowhere); a clinic created otherwise, to every portal."""
    if portal is None:
        return clinic.portals is None or bool(clinic.portals)
    return clinic.publishes_to(portal)


def _schedule(professional: Professional, products: list[str], immunizing: bool) -> dict[str, Any]:
    resource = resources.schedule(professional, products)
    if immunizing:
        resource["serviceType"] = [{"coding": SMART_IMMUNIZATION}]
    return resource


def _location(clinic: Clinic) -> dict[str, Any]:
    return resources.location(clinic)

