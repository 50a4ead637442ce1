"""Erasing a patient (Loi 25, SPEC T2): ``hub patients erase ID``, ``POST /v1/patients/{id}/erase``.

1. The patient's data key is destroyed: every personal field sealed for them (their own
   events, their appointments' message addresses and what each booking gave of them, the
   e-mail of an account they hold) reads as erased from then on, in this
   store, its backups and the Kafka messages already published.
2. ``Patient.Erased`` is recorded: it carries no personal data; the read models blank their
   copies when they reach it, and Kafka consumers receive it (``hub.patient.Erased.v1``) as
   the signal to forget the patient too (docs/privacy.md).
3. The idempotency records that mention the patient or one of their appointments are deleted.

Other patients are untouched; erasing twice changes nothing more.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol
from uuid import UUID

import structlog

from aggregates.appointment import Appointment
from aggregates.patient import Patient
from hub.application import HubApplication
from hub.scheduling.reads import StoreReads

log = structlog.get_logger("hub.privacy")


class AnswerPurge(Protocol):
    """Kept API answers that may copy personal data (the idempotency records)."""

    def purge_answers_containing(self, needles: list[str]) -> int: ...


@dataclass(frozen=True)
class ErasureReport:
    patient_id: UUID
    erased: bool
    already_erased: bool
    idempotency_records_deleted: int
    position: int

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "patient_id": str(self.patient_id)}


class Erasure:
    """Makes one patient's personal data unreadable everywhere the hub keeps it."""

    def __init__(self, app: HubApplication, answers: AnswerPurge | None = None) -> None:
        self.app = app
        self.answers = answers

    def erase(self, patient_id: UUID) -> ErasureReport:
        patient = self.app.load(Patient, patient_id, "patient")
        if patient.erased:
            return ErasureReport(patient_id, True, True, 0, self.app.head())
        needles = _traces_of(patient, StoreReads(self.app).appointments(patient_id=patient_id))
        self.app.keys.destroy(patient_id)
        patient.erase()
        position = self.app.commit(patient)
        self.app.forget_decrypted()
        deleted = self.answers.purge_answers_containing(needles) if self.answers else 0
        log.info("patient erased", patient_id=str(patient_id), position=position,
                 idempotency_records_deleted=deleted)
        return ErasureReport(patient_id, True, False, deleted, position)


def _traces_of(patient: Patient, appointments: list[Appointment]) -> list[str]:
    """What identifies the patient in a copy of an answer: their id and personal values, and
    their appointments' ids and what each booking gave (a portal's answer shows the patient
    as given, without the patient id)."""
    given = [str(v) for a in appointments for k, v in a.as_given.items()
             if v and k not in ("first_name", "last_name", "birth_date")]
    values = [str(patient.id), *(i["value"] for i in patient.identifiers),
              *(v for v in patient.contacts().values() if v),
              *(str(a.id) for a in appointments), *given]
    return sorted({v for v in values if len(v) >= 6})
