"""Which fields of which events are a person's personal data (Loi 25, SPEC T2).

The store seals these fields with the person's data key (crypto-shredding); everything
else about an event stays readable. Each rule names the fields with the value they read as
once the person is erased, and whose data they are: the patient (``originator_id`` of the
patient's own events, ``patient_id`` elsewhere), or an appointment, which is linked to its
patient when it is booked, so its messages' addresses go with the patient's key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PersonalFields:
    """The personal fields of one event class, and whose they are.

    ``fields`` maps each field to the value it reads as once erased; a dotted name reaches
    into a nested mapping (``"details.patient_name"``). ``subject`` names the state field
    holding the person's (or appointment's) id; ``owner`` names a state field whose id the
    subject is linked to when the event is stored.
    """

    fields: Mapping[str, Any]
    subject: str = "originator_id"
    owner: str | None = None


class FieldPolicy:
    """The personal fields of each event class, by topic."""

    def __init__(self, rules: Mapping[str, PersonalFields]) -> None:
        self.rules = dict(rules)

    def rule_for(self, topic: str) -> PersonalFields | None:
        return self.rules.get(topic)

    def without_personal(self, topic: str, data: Mapping[str, Any],
                         originator_id: object = None) -> dict[str, Any]:
        """``data`` (an event's fields) without its personal ones: what audits and logs of
        events may keep. ``_personal`` names whose they were when some had a value."""
        out = dict(data)
        rule = self.rule_for(topic)
        if rule is None:
            return out
        removed = False
        for path in rule.fields:
            *parents, leaf = path.split(".")
            here = out
            for name in parents:
                inner = here.get(name)
                if not isinstance(inner, Mapping):
                    break
                here[name] = here = dict(inner)
            else:
                if leaf in here:
                    value = here.pop(leaf)
                    removed = removed or value not in (None, "", [], {})
        subject = originator_id if rule.subject == "originator_id" else data.get(rule.subject)
        if removed and subject is not None:
            out["_personal"] = {"subject": str(subject)}
        return out


_CONTACTS = {"email": None, "other_email": None, "cell": None, "phone": None,
             "other_cell": None, "other_phone": None}

PERSONAL_FIELDS = FieldPolicy({
    "aggregates.patient:Patient.Registered": PersonalFields({
        "identifiers": [], "first_name": "", "last_name": "", "birth_date": None, **_CONTACTS}),
    "aggregates.patient:Patient.DetailsUpdated": PersonalFields({
        "changes": {}, "new_identifiers": []}),
    "aggregates.patient:Patient.Corrected": PersonalFields({"changes": {}}),
    "aggregates.patient:Patient.IdentifiersAdded": PersonalFields({"identifiers": []}),
    # the name and contacts the booking carried (CONTRACT "Patients"), the patient's data
    "aggregates.appointment:Appointment.Booked": PersonalFields({"as_given": {}},
                                                                owner="patient_id"),
    # the account's sign-in e-mail is its holder's (seed 001)
    "aggregates.account:Account.Opened": PersonalFields({"email": ""},
                                                        subject="holder_patient_id"),
    "aggregates.notification:Notification.Planned": PersonalFields(
        {"address": "", "details.patient_name": ""}, subject="appointment_id"),
    "aggregates.notification:AppointmentCommunication.MessageSent": PersonalFields(
        {"address": ""}, subject="appointment_id"),
    "aggregates.notification:ReplyThread.ThreadOpened": PersonalFields(
        {"address": ""}, subject="appointment_id"),
})
