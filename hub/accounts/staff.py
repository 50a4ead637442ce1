"""The staff e-mails a citizen account may not use (A6, seed 001 §2.2)."""

from __future__ import annotations

from aggregates.errors import InvalidValue
from aggregates.user import email_index_ids
from hub.application import HubApplication


class StaffEmailIndex:
    """``email in StaffEmailIndex(app)``: a staff user of the hub signs in with it.

    Reads the users' e-mail index (R1: ``aggregates.user.email_index_ids``, keyed then
    legacy), so every staff user the hub knows counts, active or not."""

    def __init__(self, app: HubApplication) -> None:
        self.app = app

    def __contains__(self, email: object) -> bool:
        if not isinstance(email, str):
            return False
        try:
            keys = email_index_ids(self.app.index_secret, email)
        except InvalidValue:  # not an e-mail a user could have
            return False
        return any(self.app.exists(key) for key in keys)
