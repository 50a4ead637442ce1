"""The citizen-account icons of a Suivi row and the presence sequence (seed 001 §3).

Pure rules on plain values, so the aggregate, the Suivi read model and the console compute
them the same way.

- identity icon (profile): ``grey`` when the appointment was booked without an account
  (§3.4), ``red`` until a clinic validated the holder's identity, then ``green`` (§3.1);
- association icon (card): ``grey`` when there is no account or the patient is the holder,
  ``red`` until a clinic validated that the patient belongs to the account, ``green`` after
  (§3.2); never ``green`` while the identity is ``red`` (§3.5 has no such row);
- marking "present" starts the sequence present → identify → validate association, each
  step only when its icon is red (§3.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Icon(StrEnum):
    GREY = "grey"
    RED = "red"
    GREEN = "green"


class PresenceStep(StrEnum):
    PRESENT = "present"
    IDENTIFY = "identify"
    VALIDATE_ASSOCIATION = "validate_association"


@dataclass(frozen=True)
class AccountIcons:
    """What a Suivi row shows for the appointment's citizen account."""

    identity: Icon
    association: Icon

    def as_dict(self) -> dict[str, str]:
        return {"identity": self.identity.value, "association": self.association.value}


NO_ACCOUNT = AccountIcons(Icon.GREY, Icon.GREY)


def account_icons(
    *,
    has_account: bool,
    identity_validated: bool = False,
    patient_is_holder: bool = True,
    association_validated: bool = False,
) -> AccountIcons:
    """The two icons of one appointment, from its account's state (seed 001 §3.5)."""
    if not has_account:
        return NO_ACCOUNT
    identity = Icon.GREEN if identity_validated else Icon.RED
    if patient_is_holder:
        return AccountIcons(identity, Icon.GREY)
    association = Icon.GREEN if identity_validated and association_validated else Icon.RED
    return AccountIcons(identity, association)


def presence_steps(icons: AccountIcons) -> tuple[PresenceStep, ...]:
    """The steps marking "present" runs for a row with these icons (seed 001 §3.3)."""
    steps = [PresenceStep.PRESENT]
    if icons.identity is Icon.RED:
        steps.append(PresenceStep.IDENTIFY)
    if icons.association is Icon.RED:
        steps.append(PresenceStep.VALIDATE_ASSOCIATION)
    return tuple(steps)
