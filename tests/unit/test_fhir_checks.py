"""The R4B + FHIRPath checks the FHIR tests rely on do refuse broken resources."""

from __future__ import annotations

import pytest

from connectors.fhir import codes
from tests.support.fhir import assert_valid

SLOT = {"resourceType": "Slot", "id": "s1", "schedule": {"reference": "Schedule/x"}, "status": "free",
        "start": "2026-11-23T10:00:00-05:00", "end": "2026-11-23T10:30:00-05:00",
        "extension": [{"url": codes.SLOT_CAPACITY, "valueInteger": 2}]}


def test_a_valid_slot_passes() -> None:
    assert_valid(SLOT)


@pytest.mark.parametrize("change", [
    {"status": "bogus"},
    {"end": "2026-11-23T09:00:00-05:00"},
    {"extension": [{"url": codes.SLOT_CAPACITY, "valueInteger": -1}]},
    {"schedule": None},
    {"start": "tomorrow"},
])
def test_broken_slots_fail(change: dict) -> None:
    broken = {k: v for k, v in {**SLOT, **change}.items() if v is not None}
    with pytest.raises((AssertionError, ValueError)):
        assert_valid(broken)


def test_broken_appointment_and_outcome_fail() -> None:
    with pytest.raises(AssertionError):
        assert_valid({"resourceType": "Appointment", "status": "booked", "start": "2026-11-23T10:00:00Z",
                      "participant": [{"status": "accepted", "actor": {"display": "x"}}]})
    with pytest.raises((AssertionError, ValueError)):
        assert_valid({"resourceType": "OperationOutcome", "issue": []})
