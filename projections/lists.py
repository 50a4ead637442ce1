"""Short lists from the read models for people's screens: clinics, a clinic's professionals,
services and products (the choices of the Suivi filters, seed 000 §3)."""

from __future__ import annotations

from typing import Any

from projections.readmodel import ReadModel


def clinics(model: ReadModel, clinic_ids: list[str] | None = None) -> list[dict[str, Any]]:
    """Clinics by name (only ``clinic_ids`` when given), from the Suivi read model."""
    if clinic_ids is not None:
        if not clinic_ids:
            return []
        marks = ", ".join("%s" for _ in clinic_ids)
        return model.query(f"SELECT clinic_id, name FROM {{suivi_clinics}} WHERE clinic_id IN ({marks}) "
                           "ORDER BY name, clinic_id", clinic_ids)
    return model.query("SELECT clinic_id, name FROM {suivi_clinics} ORDER BY name, clinic_id LIMIT 500")


def clinic_name(model: ReadModel, clinic_id: str) -> str | None:
    rows = model.query("SELECT name FROM {suivi_clinics} WHERE clinic_id = %s", [clinic_id])
    return rows[0]["name"] if rows else None


def suivi_choices(model: ReadModel, clinic_id: str) -> dict[str, list[dict[str, Any]]]:
    """What the Suivi filters offer for a clinic: its professionals, services and products."""
    professionals = model.query("SELECT professional_id AS id, name FROM {suivi_professionals} "
                                "WHERE clinic_id = %s ORDER BY name, professional_id", [clinic_id])
    services = model.query("SELECT service_id AS id, name FROM {suivi_services} "
                           "WHERE clinic_id = %s ORDER BY name, service_id", [clinic_id])
    products = model.query("SELECT DISTINCT product AS id FROM {suivi_appointments} "
                           "WHERE clinic_id = %s AND product IS NOT NULL ORDER BY product", [clinic_id])
    return {"professionals": professionals, "services": services,
            "products": [{"id": p["id"], "name": p["id"]} for p in products]}


def appointment_names(model: ReadModel, appointment_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Patient name and start of each appointment (the Suivi's), by appointment id."""
    if not appointment_ids:
        return {}
    marks = ", ".join("%s" for _ in appointment_ids)
    rows = model.query("SELECT a.appointment_id, a.start_at, p.first_name, p.last_name "
                       "FROM {suivi_appointments} a LEFT JOIN {suivi_patients} p "
                       f"ON p.patient_id = a.patient_id WHERE a.appointment_id IN ({marks})",
                       appointment_ids)
    return {r["appointment_id"]: {"name": " ".join(x for x in (r["first_name"], r["last_name"]) if x),
                                  "start_at": r["start_at"]} for r in rows}


def patient_name(model: ReadModel, patient_id: str) -> str:
    """A patient's name as the Suivi shows it ("" when unknown)."""
    rows = model.query("SELECT first_name, last_name FROM {suivi_patients} WHERE patient_id = %s",
                       [patient_id])
    return " ".join(x for x in (rows[0]["first_name"], rows[0]["last_name"]) if x) if rows else ""


def patient_card(model: ReadModel, patient_id: str) -> dict[str, str]:
    """What staff check a person against: the name and the masked NAM, as the Suivi shows them."""
    rows = model.query("SELECT first_name, last_name, nam_masked FROM {suivi_patients} "
                       "WHERE patient_id = %s", [patient_id])
    if not rows:
        return {"name": "", "nam": ""}
    row = rows[0]
    return {"name": " ".join(x for x in (row["first_name"], row["last_name"]) if x),
            "nam": row["nam_masked"] or ""}
