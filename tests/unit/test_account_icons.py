"""Seed 001 §3.5 ("Tableau récapitulatif des actions"), row by row, as tables.

The first table checks the pure icon rule used by Suivi; the second plays each row through
the ``Account`` aggregate, from the actions a clinic and a citizen take, and checks the
icons and the steps that marking "present" runs (§3.3).
"""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from aggregates.account import Account
from aggregates.account_icons import (
    NO_ACCOUNT,
    AccountIcons,
    Icon,
    PresenceStep,
    account_icons,
    presence_steps,
)

G, R, V = Icon.GREY, Icon.RED, Icon.GREEN
P, ID, AS = PresenceStep.PRESENT, PresenceStep.IDENTIFY, PresenceStep.VALIDATE_ASSOCIATION

# seed row | account? | holder? | identity ok | association ok | icons | steps at "Présent"
ICON_TABLE = [
    ("§3.4 booked without an account", False, True, False, False, (G, G), (P,)),
    ("identity not validated by the clinic", True, True, False, False, (R, G), (P, ID)),
    ("identity validated by the clinic", True, True, True, False, (V, G), (P,)),
    ("holder not validated, association not validated", True, False, False, False, (R, R),
     (P, ID, AS)),
    ("holder validated, association not validated", True, False, True, False, (V, R), (P, AS)),
    ("holder validated, association validated", True, False, True, True, (V, V), (P,)),
    # not a row of the table: an association is never shown green while the identity is red
    ("association recorded but identity red again", True, False, False, True, (R, R),
     (P, ID, AS)),
]


@pytest.mark.parametrize(
    ("row", "has_account", "holder", "identity", "association", "icons", "steps"),
    ICON_TABLE, ids=[r[0] for r in ICON_TABLE])
def test_icon_table(row: str, has_account: bool, holder: bool, identity: bool,
                    association: bool, icons: tuple[Icon, Icon],
                    steps: tuple[PresenceStep, ...]) -> None:
    shown = account_icons(has_account=has_account, identity_validated=identity,
                          patient_is_holder=holder, association_validated=association)
    assert (shown.identity, shown.association) == icons
    assert presence_steps(shown) == steps
    assert shown.as_dict() == {"identity": icons[0].value, "association": icons[1].value}


def test_no_account_is_grey_grey() -> None:
    assert AccountIcons(G, G) == NO_ACCOUNT
    assert account_icons(has_account=False, identity_validated=True,
                         association_validated=True, patient_is_holder=False) == NO_ACCOUNT


CLINIC = uuid4()

# seed row | who the appointment is for | actions, in order | icons after them
ACCOUNT_TABLE = [
    ("§3.1 holder books, not yet identified", "holder", [], (R, G)),
    ("§3.1 holder identified (red → green)", "holder", ["identify"], (V, G)),
    ("§3.1 identified once, even twice asked", "holder", ["identify", "identify"], (V, G)),
    ("§3.1 a change of personal data: red again", "holder",
     ["identify", "change holder"], (R, G)),
    ("§3.2 parent books for child: both red", "child", [], (R, R)),
    ("§3.2 parent identified, association not yet", "child", ["identify"], (V, R)),
    ("§3.2 identified, then association validated", "child", ["identify", "validate"],
     (V, V)),
    ("§3.2 the child's situation changes: card red again", "child",
     ["identify", "validate", "change child"], (V, R)),
    ("§3.1 the holder's data change: both red again", "child",
     ["identify", "validate", "change holder"], (R, R)),
    ("§3.3 presence sequence: present → identify → validate", "child", ["presence"], (V, V)),
    ("§3.2 a citizen's own request is red until a clinic validates", "asked", [], (R, R)),
    ("§3.2 a citizen's request validated by the clinic", "asked",
     ["identify", "validate"], (V, V)),
]


def _family() -> tuple[Account, dict[str, UUID]]:
    people = {"holder": uuid4(), "child": uuid4(), "asked": uuid4()}
    account = Account.open("parent@example.ca", people["holder"], staff_emails=set())
    account.request_association(people["asked"], by="citizen")
    return account, people


@pytest.mark.parametrize(("row", "patient", "actions", "icons"), ACCOUNT_TABLE,
                         ids=[r[0] for r in ACCOUNT_TABLE])
def test_account_table(row: str, patient: str, actions: list[str],
                       icons: tuple[Icon, Icon]) -> None:
    account, people = _family()
    for_whom = people[patient]
    if patient == "child":
        account.request_association(for_whom, by="booking")  # "Autre patient" on the form
    account.record_booking(uuid4(), CLINIC, for_whom)
    for action in actions:
        if action == "identify":
            account.identify(CLINIC)
        elif action == "validate":
            account.validate_association(for_whom, CLINIC)
        elif action == "presence":
            steps = presence_steps(account.icons_for(for_whom))
            account.confirm_at_presence(for_whom, CLINIC, identify=ID in steps,
                                        validate_association=AS in steps)
        elif action == "change holder":
            account.patient_changed(people["holder"], ["last_name"])
        elif action == "change child":
            account.patient_changed(for_whom, ["birth_date"])
    shown = account.icons_for(for_whom)
    assert (shown.identity, shown.association) == icons
