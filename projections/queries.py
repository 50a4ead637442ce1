"""Reading the read models: the Suivi list, patient history, availability, the event log.

Every read is one or two indexed queries on a read model; nothing replays aggregates. Callers
bound ``limit`` (the HTTP API caps it) and page with ``offset``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aggregates.account_icons import NO_ACCOUNT, AccountIcons, account_icons
from projections.audit import as_item
from projections.readmodel import ReadModel
from projections.tables import Row, instant, parse_instant

SUIVI_VIEWS = ("all", "without_cancellation")
STATUSES = ("undefined", "present", "absent", "cancelled")

_SUIVI_SELECT = """
SELECT a.*, p.first_name, p.last_name, p.nam_masked, s.name AS service_name,
       r.name AS professional_name, c.name AS clinic_name,
       m.status AS confirmation_status, m.channel AS confirmation_channel,
       m.address AS confirmation_address, m.at AS confirmation_at, d.dose,
       x.account_id AS account_id, ac.holder_patient_id AS account_holder,
       ac.identity AS account_identified, ac.members AS account_members
FROM {suivi_appointments} a
LEFT JOIN {suivi_patients} p ON p.patient_id = a.patient_id
LEFT JOIN {suivi_services} s ON s.service_id = a.service_id
LEFT JOIN {suivi_professionals} r ON r.professional_id = a.professional_id
LEFT JOIN {suivi_clinics} c ON c.clinic_id = a.clinic_id
LEFT JOIN {suivi_communications} m ON m.appointment_id = a.appointment_id
LEFT JOIN {suivi_doses} d ON d.appointment_id = a.appointment_id
LEFT JOIN {suivi_appointment_accounts} x ON x.appointment_id = a.appointment_id
LEFT JOIN {suivi_accounts} ac ON ac.account_id = x.account_id
"""


@dataclass(frozen=True)
class SuiviFilter:
    """What staff choose in the Suivi list (seed 000 §3: view, date, filters)."""

    clinic_id: str
    day: date
    view: str = "all"
    professional_id: str | None = None
    service_id: str | None = None
    product: str | None = None
    status: str | None = None
    source: str | None = None
    #: vaccination dose (V2): ``2`` lists the 2nd doses staff may invite to move
    dose: int | None = None


def day_bounds(day: date, zone: ZoneInfo) -> tuple[str, str]:
    """The local day as a range of UTC instants (DST days are 23 or 25 hours long)."""
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    return instant(start) or "", instant(end) or ""


def suivi(model: ReadModel, chosen: SuiviFilter, zone: ZoneInfo, limit: int = 200,
          offset: int = 0) -> list[dict[str, Any]]:
    """The Suivi rows of one clinic's local day, in time order."""
    start, end = day_bounds(chosen.day, zone)
    where = ["a.clinic_id = %s", "a.start_at >= %s", "a.start_at < %s"]
    params: list[Any] = [chosen.clinic_id, start, end]
    if chosen.view == "without_cancellation":
        where.append("a.cancelled = 0")
    for column, value in (("a.professional_id", chosen.professional_id),
                          ("a.service_id", chosen.service_id), ("a.product", chosen.product),
                          ("a.source", chosen.source), ("d.dose", chosen.dose)):
        if value is not None:
            where.append(f"{column} = %s")
            params.append(value)
    if chosen.status == "cancelled":
        where.append("a.cancelled = 1")
    elif chosen.status is not None:
        where += ["a.status = %s", "a.cancelled = 0"]
        params.append(chosen.status)
    statement = (_SUIVI_SELECT + " WHERE " + " AND ".join(where)
                 + " ORDER BY a.start_at, r.name, a.appointment_id LIMIT %s OFFSET %s")
    rows = model.query(statement, [*params, limit, offset])
    return [suivi_item(r, zone) for r in rows]


def patient_history(model: ReadModel, patient_id: str, clinic_ids: list[str] | None,
                    zone: ZoneInfo, limit: int = 200, offset: int = 0) -> list[dict[str, Any]]:
    """A patient's appointments across clinics (only ``clinic_ids`` when given), newest first."""
    where, params = ["a.patient_id = %s"], [patient_id]
    if clinic_ids is not None:
        if not clinic_ids:
            return []
        where.append("a.clinic_id IN (" + ", ".join("%s" for _ in clinic_ids) + ")")
        params += clinic_ids
    statement = (_SUIVI_SELECT + " WHERE " + " AND ".join(where)
                 + " ORDER BY a.start_at DESC, a.appointment_id LIMIT %s OFFSET %s")
    return [suivi_item(r, zone) for r in model.query(statement, [*params, limit, offset])]


def suivi_item(row: Row, zone: ZoneInfo) -> dict[str, Any]:
    start = parse_instant(row["start_at"])
    end = parse_instant(row["end_at"])
    confirmation = None
    if row.get("confirmation_status"):
        confirmation = {"status": row["confirmation_status"], "channel": row["confirmation_channel"],
                        "address": row["confirmation_address"], "at": row["confirmation_at"]}
    name = " ".join(x for x in (row.get("first_name"), row.get("last_name")) if x)
    return {
        "appointment_id": row["appointment_id"], "clinic_id": row["clinic_id"],
        "clinic": row.get("clinic_name"),
        "time": start.astimezone(zone).strftime("%H:%M") if start else None,
        "start": start.astimezone(zone).isoformat() if start else None,
        "end": end.astimezone(zone).isoformat() if end else None,
        "patient_id": row["patient_id"], "patient_name": name, "nam": row.get("nam_masked") or "",
        "service_id": row["service_id"], "service": row.get("service_name"),
        "product": row["product"], "professional_id": row["professional_id"],
        "professional": row.get("professional_name"), "slot_id": row["slot_id"],
        "status": "cancelled" if row["cancelled"] else row["status"],
        "attendance": row["status"], "cancelled": bool(row["cancelled"]),
        "source": row["source"], "dose": row.get("dose"), "confirmation": confirmation,
        "account": _account_icons(row).as_dict(),
        "through": row.get("through"),
        "referral": json.loads(row["referral"]) if row.get("referral") else None,
    }


def _account_icons(row: Row) -> AccountIcons:
    """Seed 001 §3.5, from the appointment's account as the read model has it."""
    if not row.get("account_holder"):
        return NO_ACCOUNT
    members = json.loads(row.get("account_members") or "{}")
    return account_icons(
        has_account=True, identity_validated=bool(row.get("account_identified")),
        patient_is_holder=row["account_holder"] == row["patient_id"],
        association_validated=bool(members.get(row["patient_id"])))


def availability(model: ReadModel, start: datetime, end: datetime, online: bool,
                 clinic_ids: list[str] | None = None, service_id: str | None = None,
                 product: str | None = None, limit: int = 200, offset: int = 0,
                 reserved_for: list[str] | None = None) -> list[dict[str, Any]]:
    """Slots overlapping ``[start, end)`` with their remaining places, in time order.

    ``clinic_ids``: only these clinics' slots (None: every clinic's); ``reserved_for``: only
    slots kept for these (811, reorientation); the online view never shows a reserved slot.
    """
    where = ["s.start_at < %s", "s.end_at > %s"]
    params: list[Any] = [instant(end), instant(start)]
    if reserved_for is not None:
        if not reserved_for:
            return []
        where.append("s.reserved_for IN (" + ", ".join("%s" for _ in reserved_for) + ")")
        params += reserved_for
    if clinic_ids is not None:
        if not clinic_ids:
            return []
        where.append("s.clinic_id IN (" + ", ".join("%s" for _ in clinic_ids) + ")")
        params += clinic_ids
    service_match = "x.slot_id = s.slot_id"
    if service_id is not None:
        service_match += " AND x.service_id = %s"
    if online:
        where += ["s.locked = 0", "s.reserved_for IS NULL", "c.active = 1"]
        service_match += " AND v.online = 1"
    if service_id is not None or online:
        where.append("EXISTS (SELECT 1 FROM {availability_slot_services} x JOIN "
                     "{availability_services} v ON v.service_id = x.service_id WHERE "
                     + service_match + ")")
        if service_id is not None:
            params.append(service_id)
    if product is not None:
        where.append("EXISTS (SELECT 1 FROM {availability_slot_products} y "
                     "WHERE y.slot_id = s.slot_id AND y.product = %s)")
        params.append(product)
    statement = ("SELECT s.* FROM {availability_slots} s JOIN {availability_clinics} c "
                 "ON c.clinic_id = s.clinic_id WHERE " + " AND ".join(where)
                 + " ORDER BY s.start_at, s.slot_id LIMIT %s OFFSET %s")
    slots = model.query(statement, [*params, limit, offset])
    return _with_services(model, slots, online)


def schedule_slots(model: ReadModel, clinic_ids: list[str] | None, professional_id: str | None,
                   start_ge: datetime | None, start_lt: datetime | None,
                   end_gt: datetime | None = None) -> list[dict[str, Any]]:
    """Slots by schedule (professional) and start (or end), in time order: the availability row
    with the ids of every service the slot accepts, those services as the read model has them
    (``services``: id, clinic, name, online) and its products (FHIR ``Slot`` search,
    ``$bulk-publish``). One statement (slots joined to their services and products): one
    round trip and one snapshot."""
    where: list[str] = []
    params: list[Any] = []
    if end_gt is not None:
        where.append("s.end_at > %s")
        params.append(instant(end_gt))
    if clinic_ids is not None:
        if not clinic_ids:
            return []
        where.append("s.clinic_id IN (" + ", ".join("%s" for _ in clinic_ids) + ")")
        params += clinic_ids
    if professional_id is not None:
        where.append("s.professional_id = %s")
        params.append(professional_id)
    if start_ge is not None:
        where.append("s.start_at >= %s")
        params.append(instant(start_ge))
    if start_lt is not None:
        where.append("s.start_at < %s")
        params.append(instant(start_lt))
    rows = model.select(
        "SELECT s.*, x.service_id AS x_service_id, v.clinic_id AS v_clinic_id, v.name AS v_name, "
        "v.online AS v_online, y.product AS y_product FROM {availability_slots} s "
        "LEFT JOIN {availability_slot_services} x ON x.slot_id = s.slot_id "
        "LEFT JOIN {availability_services} v ON v.service_id = x.service_id "
        "LEFT JOIN {availability_slot_products} y ON y.slot_id = s.slot_id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY s.start_at, s.slot_id, y.product, x.service_id", params)
    slots: dict[str, dict[str, Any]] = {}
    for r in rows:
        slot = slots.get(r["slot_id"])
        if slot is None:
            slot = {k: v for k, v in r.items() if k[:2] not in ("x_", "v_", "y_")}
            slot["service_ids"], slot["products"], slot["services"] = [], [], []
            slots[r["slot_id"]] = slot
        service = r["x_service_id"]
        if service is not None and service not in slot["service_ids"]:
            slot["service_ids"].append(service)
            if r["v_name"] is not None:
                slot["services"].append({"service_id": service, "clinic_id": r["v_clinic_id"],
                                         "name": r["v_name"], "online": bool(r["v_online"])})
        if r["y_product"] is not None and r["y_product"] not in slot["products"]:
            slot["products"].append(r["y_product"])
    for slot in slots.values():
        slot["service_ids"].sort()
    return list(slots.values())


def _with_services(model: ReadModel, slots: list[Row], online: bool) -> list[dict[str, Any]]:
    if not slots:
        return []
    ids = [s["slot_id"] for s in slots]
    marks = ", ".join("%s" for _ in ids)
    services: dict[str, list[str]] = {i: [] for i in ids}
    products: dict[str, list[str]] = {i: [] for i in ids}
    for r in model.query("SELECT x.slot_id, x.service_id, v.online FROM {availability_slot_services} x "
                         "LEFT JOIN {availability_services} v ON v.service_id = x.service_id "
                         f"WHERE x.slot_id IN ({marks}) ORDER BY x.service_id", ids):
        if not online or r["online"]:
            services[r["slot_id"]].append(r["service_id"])
    for r in model.query("SELECT slot_id, product FROM {availability_slot_products} "
                         f"WHERE slot_id IN ({marks}) ORDER BY product", ids):
        products[r["slot_id"]].append(r["product"])
    items = []
    for s in slots:
        left = s["capacity"] - s["booked"]
        if online:
            left = 0 if s["locked"] or s["reserved_for"] else max(0, left - s["held"])
        items.append({
            "slot_id": s["slot_id"], "clinic_id": s["clinic_id"],
            "professional_id": s["professional_id"],
            "start": parse_instant(s["start_at"]).isoformat(),  # type: ignore[union-attr]  # a slot always has one
            "end": parse_instant(s["end_at"]).isoformat(),  # type: ignore[union-attr]  # a slot always has one
            "capacity": s["capacity"], "booked": s["booked"], "remaining": left,
            "locked": bool(s["locked"]), "reserved_for": s["reserved_for"],
            "service_ids": services[s["slot_id"]],
            "products": products[s["slot_id"]],
        })
    return items


def events_after(model: ReadModel, after: int, limit: int) -> list[dict[str, Any]]:
    """The global log from ``after`` on, decoded (the audit read model)."""
    rows = model.query("SELECT * FROM {audit_events} WHERE position > %s ORDER BY position LIMIT %s",
                       [after, limit])
    return [as_item(r) for r in rows]


def audit_of(model: ReadModel, aggregate_id: str, limit: int = 1_000,
             after_version: int = 0) -> list[dict[str, Any]]:
    """One aggregate's events in version order."""
    rows = model.query("SELECT * FROM {audit_events} WHERE aggregate_id = %s AND version > %s "
                       "ORDER BY version LIMIT %s", [aggregate_id, after_version, limit])
    return [as_item(r) for r in rows]


def clinic_of(model: ReadModel, aggregate_id: str) -> str | None:
    """The clinic an audited aggregate belongs to, from its first event (for access checks)."""
    rows = model.query("SELECT data, aggregate_type FROM {audit_events} WHERE aggregate_id = %s "
                       "ORDER BY version LIMIT 1", [aggregate_id])
    if not rows:
        return None
    if rows[0]["aggregate_type"] == "clinic":
        return aggregate_id
    return json.loads(rows[0]["data"]).get("clinic_id")
