"""The staff-user and citizen-account e-mail indexes are keyed like the NAM index
(``aggregates.pseudonyms.keyed_index_id``), on SQLite and PostgreSQL: no stored id is the
unkeyed digest of an e-mail anyone can compute. Entries written the old way (unkeyed ids,
made here exactly as the earlier code saved them) keep working, and are re-keyed by the next
write of their user or account. An erased holder's e-mail opens a new account."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

import pytest

from aggregates.account import Account, AccountEmail, AccountEmailInUse, StaffEmail
from aggregates.account import email_index_id as account_index_id
from aggregates.user import User, UserEmail
from aggregates.user import email_index_id as user_index_id
from hub.access.users import EmailTaken, new_secret_code
from hub.accounts.service import Accounts
from hub.accounts.staff import StaffEmailIndex
from hub.bootstrap import UserAccess, bootstrap, user_access
from hub.privacy.erasure import Erasure
from hub.scheduling.service import Scheduling
from hub.settings import Settings
from tests.support.scheduling import patient
from tests.support.users import FAST_PASSWORDS, PASSWORD


@pytest.fixture
def app(store_url: str) -> Iterator[Scheduling]:
    application = bootstrap(Settings(database_url=store_url), configure_logs=False)
    yield application
    application.close()


@pytest.fixture
def access(app: Scheduling) -> Iterator[UserAccess]:
    built = user_access(app, Settings(database_url="memory://"), passwords=FAST_PASSWORDS)
    yield built
    built.close()


def unkeyed(kind: str, email: str) -> UUID:
    """The id the earlier code gave an e-mail's index entry: anyone can compute it."""
    return uuid5(NAMESPACE_URL, f"hub:{kind}-email:{email.strip().lower()}")


def stored_ids(app: Scheduling) -> set[UUID]:
    """The originator id of every event in the store."""
    ids: set[UUID] = set()
    start = 1
    while page := app.recorder.select_notifications(start, 500):
        ids |= {n.originator_id for n in page}  # type: ignore[misc]  # UUID ids
        start = page[-1].id + 1
    return ids


def legacy_user(app: Scheduling, email: str) -> tuple[User, str]:
    """A user added by the earlier code: its index entry at the unkeyed id, e-mail inside."""
    user = User.add(email, "madame", "Lorraine", "Baines", ["info_sante_811"], [])
    code = new_secret_code()
    user.issue_secret_code(code, app.clock(), timedelta(days=7))
    index = UserEmail._create(UserEmail.EmailIndexed, id=unkeyed("user", email),  # type: ignore[attr-defined]
                              user_id=user.id, email=user.email)
    app.commit(user, index)
    return user, code


def legacy_account(app: Scheduling, email: str, holder: dict) -> UUID:
    """An account opened by the earlier code: its index entry at the unkeyed id."""
    matched = app.patients.match(holder)
    account = Account.open(email, matched.patient.id, set(), opened_by="tok_portal")
    index = AccountEmail._create(AccountEmail.EmailIndexed, id=unkeyed("account", email),
                                 account_id=account.id)
    membership = app.patients.note_account(matched.patient.id, account.id)
    app.commit(account, index, *matched.changed, *membership)
    return account.id


def test_staff_email_index_is_keyed_and_old_entries_still_enrol_and_sign_in(
        app: Scheduling, access: UserAccess) -> None:
    users, sessions = access.users, access.sessions
    new = users.add("Emmett.Brown@clinique.example", "docteur", "Emmett", "Brown",
                    ["info_sante_811"], [])
    keyed = user_index_id(app.index_secret, "emmett.brown@clinique.example")
    ids = stored_ids(app)
    assert keyed in ids and unkeyed("user", "emmett.brown@clinique.example") not in ids
    assert keyed != unkeyed("user", "emmett.brown@clinique.example")
    users.enroll("EMMETT.brown@clinique.example", new.secret_code, PASSWORD)
    assert sessions.sign_in("emmett.brown@clinique.example", PASSWORD).user_id == new.id

    old, code = legacy_user(app, "lorraine@clinique.example")
    old_keyed = user_index_id(app.index_secret, "lorraine@clinique.example")
    assert not app.exists(old_keyed)
    # read through the legacy id: found, taken, a staff e-mail (A6)
    assert users.find("Lorraine@Clinique.example").id == old.id  # type: ignore[union-attr]
    assert "lorraine@clinique.example" in StaffEmailIndex(app)
    head = app.head()
    with pytest.raises(EmailTaken):
        users.add("LORRAINE@clinique.example", "madame", "L", "B", ["info_sante_811"], [])
    assert app.head() == head
    # its next write (the enrolment) re-keys it; sign-in works, through the keyed entry
    users.enroll("lorraine@clinique.example", code, PASSWORD)
    assert app.exists(old_keyed)
    assert app.load(UserEmail, old_keyed, "user").user_id == old.id
    assert users.index_id("lorraine@clinique.example") == old_keyed
    assert sessions.sign_in("lorraine@clinique.example", PASSWORD).user_id == old.id


def test_account_email_index_is_keyed_and_old_accounts_still_count(
        app: Scheduling, access: UserAccess) -> None:
    accounts = Accounts(app, StaffEmailIndex(app))
    opened = accounts.open("Famille.Roy@exemple.ca", patient(1))
    keyed = account_index_id(app.index_secret, "famille.roy@exemple.ca")
    ids = stored_ids(app)
    assert keyed in ids and unkeyed("account", "famille.roy@exemple.ca") not in ids
    assert keyed != unkeyed("account", "famille.roy@exemple.ca")
    assert app.load(AccountEmail, keyed, "account").account_id == opened.id
    head = app.head()
    with pytest.raises(AccountEmailInUse):
        accounts.open(" famille.roy@EXEMPLE.ca", patient(2))
    assert app.head() == head

    old = legacy_account(app, "famille.cote@exemple.ca", patient(3))
    old_keyed = account_index_id(app.index_secret, "famille.cote@exemple.ca")
    head = app.head()
    with pytest.raises(AccountEmailInUse):  # the legacy entry still holds the e-mail
        accounts.open("Famille.Cote@exemple.ca", patient(4))
    assert app.head() == head and not app.exists(old_keyed)
    accounts.identify(old, None)  # the account's next write re-keys it
    assert app.load(AccountEmail, old_keyed, "account").account_id == old
    with pytest.raises(AccountEmailInUse):
        accounts.open("famille.cote@exemple.ca", patient(4))

    # A6: a staff user's e-mail (keyed entry, and a legacy one) opens no account
    access.users.add("infirmiere@clinique.ca", "madame", "I", "Nf", ["info_sante_811"], [])
    legacy_user(app, "commis@clinique.ca")
    for staff in ("Infirmiere@Clinique.ca", "COMMIS@clinique.ca"):
        head = app.head()
        with pytest.raises(StaffEmail):
            accounts.open(staff, patient(5))
        assert app.head() == head


@pytest.mark.parametrize("written", ["keyed", "legacy"])
def test_an_erased_holders_email_opens_a_new_account(app: Scheduling, written: str) -> None:
    accounts = Accounts(app, StaffEmailIndex(app))
    email = "famille.gagnon@exemple.ca"
    if written == "keyed":
        first = accounts.open(email, patient(1)).id
    else:
        first = legacy_account(app, email, patient(1))
    holder = accounts.get(first).holder_patient_id
    Erasure(app).erase(holder)
    assert accounts.get(first).email == ""  # sealed under the erased holder's key

    second = accounts.open("Famille.Gagnon@exemple.ca", patient(2))
    assert second.id != first and accounts.get(second.id).email == email
    keyed = account_index_id(app.index_secret, email)
    assert app.load(AccountEmail, keyed, "account").account_id == second.id
    head = app.head()
    with pytest.raises(AccountEmailInUse):  # taken again, by a live holder
        accounts.open(email, patient(3))
    assert app.head() == head
