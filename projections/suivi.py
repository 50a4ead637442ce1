"""Suivi (seed 000 §2–3, seed 001 §3): a clinic's appointments of the day, and patient history.

One row per appointment (deleted appointments leave the list), beside the names it shows
(patients, services, professionals, clinics), joined when read, so a patient's new name shows
on all their rows at once. Two hooks for later parts of the hub:

- confirmation status: ``AppointmentCommunication`` events (``aggregates/notification.py``)
  fill ``suivi_communications``, read beside each appointment;
- account icons: ``account_identity`` and ``account_association`` are ``grey`` (booked
  without an account, seed 001 §3.4) until citizen-account events set ``red`` or ``green``.
"""

from __future__ import annotations

import json
from typing import Any

from aggregates.account import Account
from aggregates.appointment import Appointment
from aggregates.clinic import Clinic
from aggregates.notification import AppointmentCommunication
from aggregates.patient import NAM_SYSTEM, Patient
from aggregates.professional import Professional
from aggregates.service import Service
from aggregates.values import mask_nam
from projections.base import ReadModelProjection, event_of, handles
from projections.changes import Changes
from projections.tables import Table, instant

TEXT, INT = "text", "int"
APPOINTMENTS = "suivi_appointments"
PATIENTS = "suivi_patients"
COMMUNICATIONS = "suivi_communications"
DOSES = "suivi_doses"
ACCOUNTS = "suivi_accounts"
APPOINTMENT_ACCOUNTS = "suivi_appointment_accounts"




class SuiviProjection(ReadModelProjection):
    """Appointments by clinic and day, with what staff see in each Suivi row."""

    name = "suivi"
    tables = (
        Table(APPOINTMENTS, (
            ("appointment_id", TEXT), ("clinic_id", TEXT), ("slot_id", TEXT), ("start_at", TEXT), ("end_at", TEXT),
            ("patient_id", TEXT), ("service_id", TEXT), ("product", TEXT), ("professional_id", TEXT),
            ("source", TEXT), ("status", TEXT), ("cancelled", INT), ("cancel_reason", TEXT),
            ("account_identity", TEXT), ("account_association", TEXT), ("booked_at", TEXT),
            ("last_position", INT), ("through", TEXT), ("referral", TEXT),
        ), ("appointment_id",), (("clinic_id", "start_at"), ("patient_id", "start_at"))),
        Table(PATIENTS, (("patient_id", TEXT), ("first_name", TEXT), ("last_name", TEXT), ("nam_masked", TEXT)),
              ("patient_id",)),
        Table("suivi_services", (("service_id", TEXT), ("clinic_id", TEXT), ("name", TEXT)), ("service_id",)),
        Table("suivi_professionals", (("professional_id", TEXT), ("clinic_id", TEXT), ("name", TEXT)),
              ("professional_id",)),
        Table("suivi_clinics", (("clinic_id", TEXT), ("name", TEXT)), ("clinic_id",)),
        Table(DOSES, (("appointment_id", TEXT), ("dose", INT), ("first_dose_id", TEXT)),
              ("appointment_id",)),
        Table(COMMUNICATIONS, (("communication_id", TEXT), ("appointment_id", TEXT), ("status", TEXT),
                               ("channel", TEXT), ("address", TEXT), ("at", TEXT)),
              ("communication_id",), (("appointment_id",),)),
        # citizen accounts (seed 001): the icons are computed when read (account_icons)
        Table(ACCOUNTS, (("account_id", TEXT), ("holder_patient_id", TEXT), ("identity", INT),
                         ("members", TEXT)), ("account_id",)),
        Table(APPOINTMENT_ACCOUNTS, (("appointment_id", TEXT), ("account_id", TEXT)),
              ("appointment_id",)),
    )

    # -- names ---------------------------------------------------------------------
    @handles(event_of(Clinic, "Registered"))
    def clinic_registered(self, e: Any, position: int, changes: Changes) -> None:
        changes.put("suivi_clinics", {"clinic_id": str(e.originator_id), "name": e.name})

    @handles(event_of(Professional, "Registered"))
    def professional_registered(self, e: Any, position: int, changes: Changes) -> None:
        changes.put("suivi_professionals", {"professional_id": str(e.originator_id),
                                            "clinic_id": str(e.clinic_id), "name": e.name})

    @handles(event_of(Professional, "Updated"), reads="suivi_professionals")
    def professional_updated(self, e: Any, position: int, changes: Changes) -> None:
        if "name" in e.changes:
            changes.update("suivi_professionals", str(e.originator_id), name=e.changes["name"])

    @handles(event_of(Service, "Defined"))
    def service_defined(self, e: Any, position: int, changes: Changes) -> None:
        changes.put("suivi_services", {"service_id": str(e.originator_id),
                                       "clinic_id": str(e.clinic_id), "name": e.name})

    @handles(event_of(Service, "Updated"), reads="suivi_services")
    def service_updated(self, e: Any, position: int, changes: Changes) -> None:
        if "name" in e.changes:
            changes.update("suivi_services", str(e.originator_id), name=e.changes["name"])

    @handles(event_of(Patient, "Registered"))
    def patient_registered(self, e: Any, position: int, changes: Changes) -> None:
        changes.put(PATIENTS, {"patient_id": str(e.originator_id), "first_name": e.first_name,
                               "last_name": e.last_name, "nam_masked": _masked(e.identifiers)})

    @handles(event_of(Patient, "DetailsUpdated"), reads=PATIENTS)
    def patient_updated(self, e: Any, position: int, changes: Changes) -> None:
        fields = {k: e.changes[k] for k in ("first_name", "last_name") if k in e.changes}
        nam = _masked(e.new_identifiers)
        if nam:
            fields["nam_masked"] = nam
        if fields:
            changes.update(PATIENTS, str(e.originator_id), **fields)

    @handles(event_of(Patient, "Erased"))
    def patient_erased(self, e: Any, position: int, changes: Changes) -> None:
        """Loi 25: the row keeps the patient id only; their messages' addresses go too."""
        patient_id = str(e.originator_id)
        changes.put(PATIENTS, {"patient_id": patient_id, "first_name": "", "last_name": "",
                               "nam_masked": None})
        for appointment in changes.where(APPOINTMENTS, "patient_id", patient_id):
            for row in changes.where(COMMUNICATIONS, "appointment_id", appointment["appointment_id"]):
                changes.update(COMMUNICATIONS, row["communication_id"], address=None)
    @handles(event_of(Patient, "Corrected"), reads=PATIENTS)
    def patient_corrected(self, e: Any, position: int, changes: Changes) -> None:
        fields = {k: e.changes[k] for k in ("first_name", "last_name") if k in e.changes}
        if e.changes.get("nam"):
            fields["nam_masked"] = mask_nam(e.changes["nam"])
        if fields:
            changes.update(PATIENTS, str(e.originator_id), **fields)

    @handles(event_of(Patient, "IdentifiersAdded"), reads=PATIENTS)
    def patient_identified(self, e: Any, position: int, changes: Changes) -> None:
        nam = _masked(e.identifiers)
        if nam:
            changes.update(PATIENTS, str(e.originator_id), nam_masked=nam)

    # -- appointments --------------------------------------------------------------
    @handles(event_of(Appointment, "Booked"))
    def booked(self, e: Any, position: int, changes: Changes) -> None:
        changes.put(APPOINTMENTS, {
            "appointment_id": str(e.originator_id), "clinic_id": str(e.clinic_id),
            "slot_id": str(e.slot_id), "start_at": instant(e.start), "end_at": instant(e.end),
            "patient_id": str(e.patient_id), "service_id": str(e.service_id), "product": e.product,
            "professional_id": str(e.professional_id), "source": e.source, "status": "undefined",
            "cancelled": 0, "cancel_reason": None, "account_identity": "grey",
            "account_association": "grey", "booked_at": instant(e.timestamp), "last_position": position,
            "through": getattr(e, "through", None),
            "referral": json.dumps(e.referral, ensure_ascii=False) if getattr(e, "referral", None) else None,
        })
        account_id = getattr(e, "account_id", None)
        if account_id is not None:
            changes.put(APPOINTMENT_ACCOUNTS, {"appointment_id": str(e.originator_id),
                                               "account_id": str(account_id)})

    # -- citizen accounts ----------------------------------------------------------------
    @handles(event_of(Account, "Opened"))
    def account_opened(self, e: Any, position: int, changes: Changes) -> None:
        changes.put(ACCOUNTS, {"account_id": str(e.originator_id),
                               "holder_patient_id": str(e.holder_patient_id), "identity": 0,
                               "members": "{}"})

    @handles(event_of(Account, "HolderIdentified"), reads=ACCOUNTS)
    def holder_identified(self, e: Any, position: int, changes: Changes) -> None:
        changes.update(ACCOUNTS, str(e.originator_id), identity=1)

    @handles(event_of(Account, "AssociationRequested"), event_of(Account, "MemberDetailsChanged"),
             reads=ACCOUNTS)
    def association_red(self, e: Any, position: int, changes: Changes) -> None:
        self._member(changes, e, False)

    @handles(event_of(Account, "AssociationValidated"), reads=ACCOUNTS)
    def association_green(self, e: Any, position: int, changes: Changes) -> None:
        self._member(changes, e, True)

    @handles(event_of(Account, "HolderDetailsChanged"), reads=ACCOUNTS)
    def holder_changed(self, e: Any, position: int, changes: Changes) -> None:
        row = changes.get(ACCOUNTS, str(e.originator_id))
        if row is not None:
            members = dict.fromkeys(json.loads(row["members"]), False)
            changes.update(ACCOUNTS, str(e.originator_id), identity=0,
                           members=json.dumps(members, sort_keys=True))

    @staticmethod
    def _member(changes: Changes, e: Any, validated: bool) -> None:
        row = changes.get(ACCOUNTS, str(e.originator_id))
        if row is not None:
            members = json.loads(row["members"])
            members[str(e.patient_id)] = validated
            changes.update(ACCOUNTS, str(e.originator_id), members=json.dumps(members, sort_keys=True))

    @handles(event_of(Appointment, "Rescheduled"), reads=APPOINTMENTS)
    def rescheduled(self, e: Any, position: int, changes: Changes) -> None:
        changes.update(APPOINTMENTS, str(e.originator_id), slot_id=str(e.slot_id),
                       professional_id=str(e.professional_id), start_at=instant(e.start),
                       end_at=instant(e.end), service_id=str(e.service_id), product=e.product,
                       last_position=position)

    @handles(event_of(Appointment, "ServiceChanged"), reads=APPOINTMENTS)
    def service_changed(self, e: Any, position: int, changes: Changes) -> None:
        changes.update(APPOINTMENTS, str(e.originator_id), service_id=str(e.service_id),
                       product=e.product, last_position=position)

    @handles(event_of(Appointment, "Cancelled"), reads=APPOINTMENTS)
    def cancelled(self, e: Any, position: int, changes: Changes) -> None:
        changes.update(APPOINTMENTS, str(e.originator_id), cancelled=1, cancel_reason=e.reason,
                       last_position=position)

    @handles(event_of(Appointment, "StatusSet"), reads=APPOINTMENTS)
    def status_set(self, e: Any, position: int, changes: Changes) -> None:
        changes.update(APPOINTMENTS, str(e.originator_id), status=e.status, last_position=position)

    @handles(event_of(Appointment, "DoseRecorded"))
    def dose_recorded(self, e: Any, position: int, changes: Changes) -> None:
        """Vaccination (V2): the dose, so staff can pick 2nd doses to invite (seed 000 §3)."""
        changes.put(DOSES, {"appointment_id": str(e.originator_id), "dose": e.dose,
                            "first_dose_id": str(e.first_dose_id) if e.first_dose_id else None})

    @handles(event_of(Appointment, "ProductCorrected"), reads=APPOINTMENTS)
    def product_corrected(self, e: Any, position: int, changes: Changes) -> None:
        changes.update(APPOINTMENTS, str(e.originator_id), product=e.product, last_position=position)

    @handles(event_of(Appointment, "Deleted"))
    def deleted(self, e: Any, position: int, changes: Changes) -> None:
        changes.delete(APPOINTMENTS, str(e.originator_id))

    # -- confirmation status (hook for aggregates/notification.py) -----------------------
    @handles(event_of(AppointmentCommunication, "Opened"))
    def communication_opened(self, e: Any, position: int, changes: Changes) -> None:
        changes.put(COMMUNICATIONS, {"communication_id": str(e.originator_id),
                                     "appointment_id": str(e.appointment_id), "status": None,
                                     "channel": None, "address": None, "at": None})

    @handles(event_of(AppointmentCommunication, "MessageSent"), reads=COMMUNICATIONS)
    def message_sent(self, e: Any, position: int, changes: Changes) -> None:
        row = changes.get(COMMUNICATIONS, str(e.originator_id))
        if row is None or (row["status"] == "confirmed" and e.kind == "reminder"):
            return
        changes.update(COMMUNICATIONS, str(e.originator_id), status="confirmation_sent",
                       channel=e.channel, address=e.address, at=instant(e.at))

    @handles(event_of(AppointmentCommunication, "PresenceConfirmed"), reads=COMMUNICATIONS)
    def presence_confirmed(self, e: Any, position: int, changes: Changes) -> None:
        changes.update(COMMUNICATIONS, str(e.originator_id), status="confirmed",
                       channel=e.channel, at=instant(e.at))


def _masked(identifiers: list[dict[str, str]]) -> str | None:
    nam = next((i["value"] for i in identifiers if i.get("system") == NAM_SYSTEM), None)
    return mask_nam(nam) if nam else None
