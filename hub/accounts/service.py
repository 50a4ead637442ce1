"""Citizen-account use cases (seed 001, A1–A6): each loads, decides, saves in one transaction.

Bookings with an account and the presence sequence are scheduling use cases
(``Scheduling.book(account_id=...)``, ``Scheduling.set_status(identify=...)``); a correction
of a patient reaches their accounts through ``Scheduling.correct_patient``.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import structlog

from aggregates.account import (
    Account,
    AccountEmail,
    AccountEmailInUse,
    IdentityNotValidated,
    PatientIsHolder,
    email_index_id,
    email_index_ids,
)
from aggregates.patient import Patient
from hub.actor import current_actor
from hub.scheduling.service import Scheduling, Written

log = structlog.get_logger("hub.accounts")


@dataclass(frozen=True)
class Opened:
    """A new account: its id, its holder (a patient), and the log position written."""

    id: UUID
    holder_patient_id: UUID
    position: int


class Accounts:
    """Open accounts, associate patients, and record the clinic's validations."""

    def __init__(self, app: Scheduling, staff_emails: Container[str]) -> None:
        self.app = app
        self.staff_emails = staff_emails

    def get(self, account_id: UUID) -> Account:
        return self.app.load(Account, account_id, "account")

    def open(self, email: str, holder: dict[str, Any]) -> Opened:
        """A family's account for its holder (a known patient is left as it is: identity red
        until a clinic identifies them). A staff user's e-mail: ``staff_email`` (A6)."""

        def run() -> Opened:
            taken = self._index_of(email)
            if taken is not None and not self._holder_erased(taken.account_id):
                raise AccountEmailInUse("an account already signs in with this e-mail",
                                        field="email")
            matched = self.app.patients.match(holder)
            account = Account.open(email, matched.patient.id, self.staff_emails,
                                   opened_by=current_actor().subject)
            secret = self.app.index_secret
            if taken is not None and taken.id == email_index_id(secret, account.email):
                taken.relink(account.id)  # its account's holder was erased: the e-mail is free
                index = taken
            else:  # a new e-mail, or one a legacy (unkeyed) entry names for an erased holder
                index = AccountEmail.index(secret, account.email, account.id)
            membership = self.app.patients.note_account(matched.patient.id, account.id)
            position = self.app.commit(account, index, *matched.changed, *membership)
            return Opened(account.id, matched.patient.id, position)

        opened = self.app.retrying(run, "open account")
        log.info("account opened", account_id=str(opened.id), position=opened.position)
        return opened

    def _index_of(self, email: str) -> AccountEmail | None:
        """The e-mail's index entry: the keyed one, else the legacy unkeyed one of an account
        opened before the index was keyed, else None."""
        for key in email_index_ids(self.app.index_secret, email):
            if self.app.exists(key):
                return self.app.load(AccountEmail, key, "account")
        return None

    def _holder_erased(self, account_id: UUID) -> bool:
        """The account's holder was erased (``hub patients erase``): its e-mail is free."""
        holder = self.get(account_id).holder_patient_id
        return self.app.load(Patient, holder, "patient").erased

    def _rekeyed(self, account: Account) -> list[AccountEmail]:
        """The keyed index entry of an account still indexed under the legacy unkeyed id,
        saved with the account's next change (none once its holder is erased)."""
        if not account.email:
            return []
        if self.app.exists(email_index_id(self.app.index_secret, account.email)):
            return []
        return [AccountEmail.index(self.app.index_secret, account.email, account.id)]

    def add_patient(self, account_id: UUID, patient: dict[str, Any]) -> Written:
        """The citizen asks to associate a patient (A3): red until a clinic validates it."""

        def run() -> Written:
            account = self.get(account_id)
            matched = self.app.patients.match(patient)
            if account.is_holder(matched.patient.id):
                raise PatientIsHolder("this patient is the account holder",
                                      patient_id=str(matched.patient.id))
            changed: list[Any] = [*matched.changed]
            if account.request_association(matched.patient.id, "citizen"):
                changed += [account, *self._rekeyed(account),
                            *self.app.patients.note_account(matched.patient.id, account.id)]
            return Written(matched.patient.id, self.app.commit(*changed))

        return self.app.retrying(run, "associate patient")

    def update_holder(self, account_id: UUID, changes: dict[str, Any]) -> Written:
        """The holder's own update of their record. Only an identified holder changes the
        record (an account nobody identified must not rewrite a patient); the change puts
        the identity, and the associations, back to red (A2)."""
        account = self.get(account_id)
        if not account.identity_validated:
            raise IdentityNotValidated(
                "a clinic must identify the account holder before the holder's own update "
                "changes the patient record", account_id=str(account_id))
        written = self.app.correct_patient(account.holder_patient_id, changes)
        return Written(account.id, written.position)

    def identify(self, account_id: UUID, clinic_ids: frozenset[UUID] | None) -> Written:
        """A clinic (one of ``clinic_ids``; None: an admin) validated the holder's identity."""

        def run() -> Written:
            account = self.get(account_id)
            account.identify(self._validating_clinic(account, clinic_ids))
            return Written(account.id, self.app.commit(account, *self._rekeyed(account)))

        return self.app.retrying(run, "identify account holder")

    def validate_association(self, account_id: UUID, patient_id: UUID,
                             clinic_ids: frozenset[UUID] | None) -> Written:
        """A clinic validated that the patient belongs to the account (after the identity)."""

        def run() -> Written:
            account = self.get(account_id)
            account.validate_association(patient_id, self._validating_clinic(account, clinic_ids))
            return Written(account.id, self.app.commit(account, *self._rekeyed(account)))

        return self.app.retrying(run, "validate association")

    @staticmethod
    def _validating_clinic(account: Account, clinic_ids: frozenset[UUID] | None) -> UUID | None:
        """The token's clinic holding one of the account's appointments (else any of its
        clinics, which the account refuses with ``no_appointment_in_clinic``)."""
        if clinic_ids is None:
            return None
        held = [c for c in account.clinic_ids if c in clinic_ids]
        return held[0] if held else sorted(clinic_ids, key=str)[0]
