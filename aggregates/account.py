"""Citizen account (seed 001, SPEC A1–A6): one account for a whole family.

The holder (a patient) signs in with the account's e-mail and books for self or for
"another patient" (A1), who is then associated with the account. A clinic validates the
holder's identity once (A2: red → green, red again when the holder's personal data
change) and each association once (A3: red → green, only after the identity, red again
when that patient's personal data or the holder's change). Only a clinic holding one of
the account's appointments (or an admin) validates. Marking "present" can run both
validations in the same step (A4). A staff user's e-mail cannot open an account (A6).
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable
from typing import TYPE_CHECKING, ClassVar, Literal
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from aggregates.account_icons import AccountIcons, PresenceStep, account_icons
from aggregates.errors import Conflict, InvalidValue, NotFound
from aggregates.patient import CONTACT_FIELDS
from aggregates.pseudonyms import keyed_index_id

#: Patient-record fields whose change puts a validation back to red (everything but language).
PERSONAL_FIELDS = ("nam", "first_name", "last_name", "birth_date", *CONTACT_FIELDS)
AssociationOrigin = Literal["citizen", "booking"]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class StaffEmail(Conflict):
    """A6: the e-mail is a staff user's; a citizen account needs another one."""

    code = "staff_email"


class AccountEmailInUse(Conflict):
    """Another citizen account already signs in with this e-mail."""

    code = "account_email_in_use"


class IdentityNotValidated(Conflict):
    """A3: an association is validated only after the holder's identity."""

    code = "identity_not_validated"


class PatientNotInAccount(NotFound):
    """The patient is neither the holder nor associated with the account."""

    code = "patient_not_in_account"


class PatientIsHolder(Conflict):
    """The holder is not associated with their own account: there is nothing to validate."""

    code = "patient_is_holder"


class NoAppointmentInClinic(Conflict):
    """Only a clinic holding one of the account's appointments validates it (A2, A3)."""

    code = "no_appointment_in_clinic"


class NoAccount(Conflict):
    """The appointment was booked without an account: there is nothing to identify (A5)."""

    code = "no_account"


def normalise_email(email: str) -> str:
    cleaned = email.strip().lower()
    if len(cleaned) > 254 or not _EMAIL.match(cleaned):
        raise InvalidValue("the account e-mail must look like name@example.ca", field="email")
    return cleaned


def email_index_id(secret: bytes, email: str) -> UUID:
    """The id of the index aggregate that maps one sign-in e-mail to its account, keyed
    with the index secret (``aggregates.pseudonyms``): the id does not confirm an e-mail."""
    return keyed_index_id(secret, "account-email", normalise_email(email))


def legacy_email_index_id(email: str) -> UUID:
    """The unkeyed id accounts opened before the keyed index have (read, never written)."""
    return uuid5(NAMESPACE_URL, f"hub:account-email:{normalise_email(email)}")


def email_index_ids(secret: bytes, email: str) -> list[UUID]:
    """Where a lookup looks, in order: the keyed id, then the legacy one."""
    return [email_index_id(secret, email), legacy_email_index_id(email)]


class Account(Aggregate):
    """A family's citizen account: holder, e-mail, associated patients, validation states."""

    @classmethod
    def open(
        cls,
        email: str,
        holder_patient_id: UUID,
        staff_emails: Container[str],
        opened_by: str | None = None,
    ) -> Account:
        """``staff_emails`` answers ``in`` for the e-mails of staff users (A6)."""
        email = normalise_email(email)
        if email in staff_emails:
            raise StaffEmail(
                "this e-mail belongs to a staff user; open the citizen account with another "
                "e-mail (seed 001 §2.2)",
                field="email",
            )
        return cls(email=email, holder_patient_id=holder_patient_id, opened_by=opened_by)

    @event("Opened")
    def __init__(self, email: str, holder_patient_id: UUID, opened_by: str | None) -> None:
        self.email = email
        self.holder_patient_id = holder_patient_id
        self.opened_by = opened_by
        self.identity_validated = False
        #: patient id (str) -> association validated
        self.associations: dict[str, bool] = {}
        #: clinics holding at least one appointment booked with the account
        self.clinic_ids: list[UUID] = []
        self.appointment_ids: list[UUID] = []

    # -- reading ---------------------------------------------------------------------
    def is_holder(self, patient_id: UUID) -> bool:
        return patient_id == self.holder_patient_id

    def holds(self, patient_id: UUID) -> bool:
        """The patient is the holder or associated with the account."""
        return self.is_holder(patient_id) or str(patient_id) in self.associations

    @property
    def member_ids(self) -> list[UUID]:
        return [UUID(p) for p in self.associations]

    def association_validated(self, patient_id: UUID) -> bool:
        return self.associations.get(str(patient_id), False)

    def icons_for(self, patient_id: UUID) -> AccountIcons:
        """The Suivi icons of an appointment of ``patient_id`` booked with this account."""
        return account_icons(
            has_account=True,
            identity_validated=self.identity_validated,
            patient_is_holder=self.is_holder(patient_id),
            association_validated=self.association_validated(patient_id),
        )

    # -- the citizen's side ------------------------------------------------------------
    def request_association(self, patient_id: UUID, by: AssociationOrigin) -> bool:
        """Associate a patient (red until a clinic validates it); False if already there."""
        if self.is_holder(patient_id):
            raise PatientIsHolder("the holder is not associated with their own account",
                                  patient_id=str(patient_id))
        if str(patient_id) in self.associations:
            return False
        self._association_requested(patient_id=patient_id, by=by)
        return True

    def record_booking(self, appointment_id: UUID, clinic_id: UUID, patient_id: UUID) -> None:
        """An appointment booked with the account, for the holder or an associated patient."""
        self._require_holds(patient_id)
        if appointment_id not in self.appointment_ids:
            self._booking_recorded(appointment_id=appointment_id, clinic_id=clinic_id,
                                   patient_id=patient_id)

    def patient_changed(self, patient_id: UUID, fields: Iterable[str]) -> bool:
        """A patient of the account had personal data changed: the holder's puts the identity
        and every association back to red (A2); another patient's puts theirs back (A3)."""
        self._require_holds(patient_id)
        changed = sorted(f for f in set(fields) if f in PERSONAL_FIELDS)
        if not changed:
            return False
        if self.is_holder(patient_id):
            self._holder_details_changed(fields=changed)
        else:
            self._member_details_changed(patient_id=patient_id, fields=changed)
        return True

    # -- the clinic's side ---------------------------------------------------------------
    def identify(self, clinic_id: UUID | None) -> bool:
        """The clinic validated the holder's identity (A2); False when already green.

        ``clinic_id`` None: an admin, acting for every clinic."""
        self._require_clinic(clinic_id)
        if self.identity_validated:
            return False
        self._holder_identified(clinic_id=clinic_id)
        return True

    def validate_association(self, patient_id: UUID, clinic_id: UUID | None) -> bool:
        """The clinic validated that the patient belongs to the account (A3); False when
        already green."""
        self._require_member(patient_id)
        self._require_clinic(clinic_id)
        if not self.identity_validated:
            raise IdentityNotValidated(
                "validate the account holder's identity before this patient's association",
                account_id=str(self.id),
            )
        if self.association_validated(patient_id):
            return False
        self._association_validated(patient_id=patient_id, clinic_id=clinic_id)
        return True

    def confirm_at_presence(
        self, patient_id: UUID, clinic_id: UUID | None, identify: bool, validate_association: bool
    ) -> list[PresenceStep]:
        """The account part of the presence sequence (A4): every check first, then the
        changes, so a refusal changes nothing. Returns the validations recorded."""
        if not (identify or validate_association):
            return []
        self._require_holds(patient_id)
        self._require_clinic(clinic_id)
        will_be_identified = self.identity_validated or identify
        if validate_association:
            self._require_member(patient_id)
            if not will_be_identified:
                raise IdentityNotValidated(
                    "identify the account holder in the same step, or before, to validate "
                    "the association", account_id=str(self.id))
        done = []
        if identify and self.identify(clinic_id):
            done.append(PresenceStep.IDENTIFY)
        if validate_association and self.validate_association(patient_id, clinic_id):
            done.append(PresenceStep.VALIDATE_ASSOCIATION)
        return done

    # -- rules ---------------------------------------------------------------------------
    def _require_holds(self, patient_id: UUID) -> None:
        if not self.holds(patient_id):
            raise PatientNotInAccount("this patient is not in the account",
                                      account_id=str(self.id), patient_id=str(patient_id))

    def _require_member(self, patient_id: UUID) -> None:
        if self.is_holder(patient_id):
            raise PatientIsHolder(
                "this patient is the account holder: validate the identity instead",
                patient_id=str(patient_id))
        self._require_holds(patient_id)

    def _require_clinic(self, clinic_id: UUID | None) -> None:
        if clinic_id is not None and clinic_id not in self.clinic_ids:
            raise NoAppointmentInClinic(
                "only a clinic holding one of this account's appointments validates it",
                account_id=str(self.id), clinic_id=str(clinic_id))

    # -- events --------------------------------------------------------------------------
    @event("AssociationRequested")
    def _association_requested(self, patient_id: UUID, by: str) -> None:
        self.associations[str(patient_id)] = False

    @event("BookingRecorded")
    def _booking_recorded(self, appointment_id: UUID, clinic_id: UUID, patient_id: UUID) -> None:
        self.appointment_ids.append(appointment_id)
        if clinic_id not in self.clinic_ids:
            self.clinic_ids.append(clinic_id)

    @event("HolderIdentified")
    def _holder_identified(self, clinic_id: UUID | None) -> None:
        self.identity_validated = True

    @event("AssociationValidated")
    def _association_validated(self, patient_id: UUID, clinic_id: UUID | None) -> None:
        self.associations[str(patient_id)] = True

    @event("HolderDetailsChanged")
    def _holder_details_changed(self, fields: list[str]) -> None:
        self.identity_validated = False
        self.associations = dict.fromkeys(self.associations, False)

    @event("MemberDetailsChanged")
    def _member_details_changed(self, patient_id: UUID, fields: list[str]) -> None:
        self.associations[str(patient_id)] = False


class AccountEmail(Aggregate):
    """Index: one sign-in e-mail → one account; saved with the account, so two accounts
    racing for the same e-mail conflict. Its id is keyed from the e-mail
    (``email_index_id``), which it does not store (the account holds it once, sealed).
    Once the account's holder is erased, the e-mail is free: the entry is relinked to the
    next account opened with it."""

    if TYPE_CHECKING:  # made by ``@event("EmailIndexed")`` when the class is defined
        EmailIndexed: ClassVar[type[Aggregate.Created]]

    @classmethod
    def index(cls, secret: bytes, email: str, account_id: UUID) -> AccountEmail:
        return cls._create(cls.EmailIndexed, id=email_index_id(secret, email),
                           account_id=account_id)

    @event("EmailIndexed")
    def __init__(self, account_id: UUID) -> None:
        self.account_id = account_id

    @event("Relinked")
    def relink(self, account_id: UUID) -> None:
        """The e-mail now opens ``account_id`` (the previous account's holder was erased)."""
        self.account_id = account_id


def membership_id(patient_id: UUID) -> UUID:
    """The id of the index aggregate listing the accounts a patient belongs to."""
    return uuid5(NAMESPACE_URL, f"hub:patient-accounts:{patient_id}")


class AccountMembership(Aggregate):
    """Index: the accounts a patient holds or is associated with, so a correction of the
    patient's record reaches each of them in the same transaction (A2, A3)."""

    if TYPE_CHECKING:  # made by ``@event("Started")`` when the class is defined
        Started: ClassVar[type[Aggregate.Created]]

    @classmethod
    def start(cls, patient_id: UUID, account_id: UUID) -> AccountMembership:
        return cls._create(cls.Started, id=membership_id(patient_id), patient_id=patient_id,
                           account_id=account_id)

    @event("Started")
    def __init__(self, patient_id: UUID, account_id: UUID) -> None:
        self.patient_id = patient_id
        self.account_ids = [account_id]

    def add(self, account_id: UUID) -> bool:
        if account_id in self.account_ids:
            return False
        self._account_added(account_id=account_id)
        return True

    @event("AccountAdded")
    def _account_added(self, account_id: UUID) -> None:
        self.account_ids.append(account_id)
