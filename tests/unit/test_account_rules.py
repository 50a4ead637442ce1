"""Citizen-account refusals (seed 001, A1–A6): each a named error with a code, nothing recorded."""

from __future__ import annotations

import copy
from collections.abc import Callable
from uuid import NAMESPACE_URL, uuid4, uuid5

import pytest

from aggregates.account import (
    Account,
    AccountEmail,
    AccountMembership,
    IdentityNotValidated,
    NoAppointmentInClinic,
    PatientIsHolder,
    PatientNotInAccount,
    StaffEmail,
    email_index_id,
    legacy_email_index_id,
    membership_id,
)
from aggregates.errors import DomainError, InvalidValue

HOLDER, CHILD, STRANGER = uuid4(), uuid4(), uuid4()
HERE, ELSEWHERE = uuid4(), uuid4()


def _account() -> Account:
    account = Account.open("Parent@Example.ca ", HOLDER, staff_emails={"nurse@clinic.ca"},
                           opened_by="tok_portal")
    account.request_association(CHILD, by="booking")
    account.record_booking(uuid4(), HERE, CHILD)
    account.collect_events()
    return account


def test_opening_normalises_the_email_and_starts_red() -> None:
    account = _account()
    assert account.email == "parent@example.ca" and account.opened_by == "tok_portal"
    assert not account.identity_validated and account.member_ids == [CHILD]
    assert account.clinic_ids == [HERE]


def test_a_staff_email_cannot_open_an_account() -> None:
    with pytest.raises(StaffEmail) as refused:
        Account.open(" NURSE@clinic.ca", HOLDER, staff_emails={"nurse@clinic.ca"})
    assert refused.value.code == "staff_email"


@pytest.mark.parametrize("email", ["", "no-at-sign", "a@b", "x" * 250 + "@example.ca"])
def test_a_malformed_email_is_refused(email: str) -> None:
    with pytest.raises(InvalidValue):
        Account.open(email, HOLDER, staff_emails=set())


SECRET = b"s" * 32


def test_the_email_index_is_keyed_by_the_normalised_email() -> None:
    account = _account()
    index = AccountEmail.index(SECRET, account.email, account.id)
    assert index.id == email_index_id(SECRET, " PARENT@example.CA")
    assert index.account_id == account.id
    (indexed,) = index.collect_events()
    assert "email" not in vars(indexed)
    # keyed: not the unkeyed digest of the e-mail (anyone could compute that one), and
    # another secret gives another id
    unkeyed = uuid5(NAMESPACE_URL, "hub:account-email:parent@example.ca")
    assert index.id != unkeyed and legacy_email_index_id(" PARENT@example.CA") == unkeyed
    assert index.id != email_index_id(b"t" * 32, account.email)


def test_an_index_entry_is_relinked_to_the_next_account() -> None:
    index = AccountEmail.index(SECRET, "parent@example.ca", first := uuid4())
    index.relink(second := uuid4())
    assert index.account_id == second != first
    assert [type(e).__name__ for e in index.collect_events()] == ["EmailIndexed", "Relinked"]


def _refused(account: Account, error: type[DomainError], code: str,
             action: Callable[[], object]) -> None:
    before = copy.deepcopy(account.__dict__)
    with pytest.raises(error) as refused:
        action()
    assert refused.value.code == code
    assert account.collect_events() == [] and account.__dict__ == before


def test_a_clinic_without_an_appointment_of_the_account_does_not_validate() -> None:
    account = _account()
    _refused(account, NoAppointmentInClinic, "no_appointment_in_clinic",
             lambda: account.identify(ELSEWHERE))
    account.identify(HERE)
    account.collect_events()
    _refused(account, NoAppointmentInClinic, "no_appointment_in_clinic",
             lambda: account.validate_association(CHILD, ELSEWHERE))


def test_an_admin_validates_without_a_clinic() -> None:
    account = _account()
    assert account.identify(None) and account.validate_association(CHILD, None)
    assert not account.identify(None)  # once


def test_association_waits_for_the_identity() -> None:
    account = _account()
    _refused(account, IdentityNotValidated, "identity_not_validated",
             lambda: account.validate_association(CHILD, HERE))
    _refused(account, IdentityNotValidated, "identity_not_validated",
             lambda: account.confirm_at_presence(CHILD, HERE, identify=False,
                                                 validate_association=True))


def test_patients_outside_the_account_are_refused() -> None:
    account = _account()
    account.identify(HERE)
    account.collect_events()
    for action in (lambda: account.validate_association(STRANGER, HERE),
                   lambda: account.record_booking(uuid4(), HERE, STRANGER),
                   lambda: account.patient_changed(STRANGER, ["email"]),
                   lambda: account.confirm_at_presence(STRANGER, HERE, True, False)):
        _refused(account, PatientNotInAccount, "patient_not_in_account", action)


def test_the_holder_has_no_association() -> None:
    account = _account()
    account.identify(HERE)
    account.collect_events()
    _refused(account, PatientIsHolder, "patient_is_holder",
             lambda: account.request_association(HOLDER, by="citizen"))
    _refused(account, PatientIsHolder, "patient_is_holder",
             lambda: account.validate_association(HOLDER, HERE))


def test_presence_sequence_refused_half_way_changes_nothing() -> None:
    account = _account()
    # identify would pass, the association step cannot (clinic has no appointment): neither
    _refused(account, NoAppointmentInClinic, "no_appointment_in_clinic",
             lambda: account.confirm_at_presence(CHILD, ELSEWHERE, True, True))
    assert [s.value for s in account.confirm_at_presence(CHILD, HERE, True, True)] == [
        "identify", "validate_association"]
    assert account.confirm_at_presence(CHILD, HERE, True, True) == []


def test_language_alone_is_not_a_change_of_personal_data() -> None:
    account = _account()
    account.identify(HERE)
    account.collect_events()
    assert not account.patient_changed(HOLDER, ["language"])
    assert account.identity_validated and account.collect_events() == []
    assert account.patient_changed(HOLDER, ["language", "cell"])
    (changed,) = account.collect_events()
    assert vars(changed)["fields"] == ["cell"] and not account.identity_validated


def test_asking_twice_for_the_same_association_records_it_once() -> None:
    account = _account()
    assert not account.request_association(CHILD, by="citizen")
    assert account.collect_events() == []


def test_the_accounts_of_a_patient_are_indexed_once_each() -> None:
    first, second = uuid4(), uuid4()
    index = AccountMembership.start(CHILD, first)
    assert index.id == membership_id(CHILD)
    assert not index.add(first) and index.add(second)
    assert index.account_ids == [first, second]
