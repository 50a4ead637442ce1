"""Vendor profiles: the seven EMRs and six portals of seed 002, validated; HL7 mapping by MSH-3."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hub.emr.vendors import Hl7v2Mapping, load_profiles, parse_profiles

EMRS = {"kinlogix", "medesync", "myle-emr", "ofys", "omnimed", "softinfo", "toubib"}
PORTALS = {"rvsq", "clic-sante", "bonjour-sante", "pomelo", "myle-portal", "tap-medical"}


def test_every_emr_and_portal_of_the_wizard_has_a_valid_profile() -> None:
    profiles = load_profiles()
    assert {p.key for p in profiles.emrs()} == EMRS
    assert {p.key for p in profiles.portals()} == PORTALS
    for emr in profiles.emrs():
        assert emr.hl7v2 is not None and emr.hl7v2.sending_applications
        assert "patient_nam" in emr.identifier_systems
    assert profiles.profiles["rvsq"].sends_own_notifications  # seed 004
    assert not profiles.profiles["omnimed"].sends_own_notifications


def test_mapping_is_chosen_by_sending_application() -> None:
    profiles = load_profiles()
    assert profiles.for_sending_application("omni-med").version == "2.5.1"
    assert profiles.for_sending_application("SOFTINFO").version == "2.3"
    assert profiles.for_sending_application("UNKNOWN") == Hl7v2Mapping()


@pytest.mark.parametrize("toml, problem", [
    ('[x]\nname = "X"\nkind = "emr"\nprotocols = ["hl7v2-mllp"]\n', r"no \[hl7v2\] mapping"),
    ('[x]\nname = "X"\nkind = "lab"\nprotocols = ["fhir-r4"]\n', "kind"),
    ('[x]\nname = "X"\nkind = "portal"\nprotocols = ["carrier-pigeon"]\n', "protocols"),
    ('[x]\nname = "X"\nkind = "emr"\nprotocols = ["hl7v2-mllp"]\n'
     'hl7v2 = { professional_roles = { MD = "wizard" } }\n', "professional_roles"),
])
def test_bad_profiles_are_refused_with_the_reason(toml: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        parse_profiles(toml)
