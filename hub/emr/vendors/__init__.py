"""Declarative profiles of the EMR vendors and booking portals of seed 002.

``profiles.toml`` holds one table per vendor; ``load_profiles()`` validates it with pydantic.
A profile says which protocols a vendor speaks, where its endpoints are (deployment
templates), which identifier systems it uses, how its HL7 v2 fields map onto the hub, and
whether it notifies patients itself (SPEC N4: the hub stays silent then).
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from aggregates.values import ProfessionalType, ServiceCategory

Protocol = Literal["hl7v2-mllp", "hl7v2-http", "fhir-r4", "smart-scheduling-links"]
#: How the hub authenticates to a vendor's FHIR API: nothing, a fixed API token (Bearer),
#: HTTP Basic, or OAuth 2.0 client credentials at the ``token`` endpoint.
FhirAuth = Literal["none", "bearer", "basic", "client_credentials"]


class Hl7v2Mapping(BaseModel):
    """How a vendor fills SIU fields."""

    model_config = ConfigDict(extra="forbid")

    #: MSH-3 values this vendor sends (matched case-insensitively).
    sending_applications: list[str] = Field(default_factory=list)
    version: str = "2.5.1"
    #: PID-3 assigning authorities (CX.4) or identifier types (CX.5) that mean "this is the NAM".
    nam_authorities: list[str] = Field(default_factory=lambda: ["RAMQ", "NAM"])
    nam_identifier_types: list[str] = Field(default_factory=lambda: ["NAM"])
    #: AIP-4 resource role codes → hub professional type.
    professional_roles: dict[str, ProfessionalType] = Field(default_factory=lambda: {
        "GP": ProfessionalType.GP, "MD": ProfessionalType.GP, "MF": ProfessionalType.GP,
        "IPS": ProfessionalType.IPS, "NP": ProfessionalType.IPS,
        "INF": ProfessionalType.NURSE, "RN": ProfessionalType.NURSE,
        "RES": ProfessionalType.RESIDENT, "EXT": ProfessionalType.EXTERN,
        "SPEC": ProfessionalType.SPECIALIST,
    })
    default_professional_type: ProfessionalType = ProfessionalType.GP
    service_category: ServiceCategory = ServiceCategory.IN_PERSON
    cancellation_delay_hours: int = Field(default=24, ge=0)


class VendorProfile(BaseModel):
    """One EMR vendor or booking portal."""

    model_config = ConfigDict(extra="forbid")

    key: str
    name: str
    kind: Literal["emr", "portal"]
    protocols: list[Protocol] = Field(min_length=1)
    #: Endpoint templates per protocol (filled per clinic at deployment).
    endpoints: dict[str, str] = Field(default_factory=dict)
    #: Identifier systems by role: patient_nam, appointment, professional, ...
    identifier_systems: dict[str, str] = Field(default_factory=dict)
    #: Portal sends its own confirmations and reminders (the hub then sends none).
    sends_own_notifications: bool = False
    #: How the hub signs in to the vendor's FHIR API (``fhir`` endpoint), when it has one.
    fhir_auth: FhirAuth | None = None
    #: Free-form field mappings (vendor field → hub field) documented for integrators.
    field_mappings: dict[str, str] = Field(default_factory=dict)
    hl7v2: Hl7v2Mapping | None = None
    notes: str = ""

    @model_validator(mode="after")
    def _hl7_needs_mapping(self) -> VendorProfile:
        if any(p.startswith("hl7v2") for p in self.protocols) and self.hl7v2 is None:
            raise ValueError(f"profile {self.key!r} speaks HL7 v2 but has no [hl7v2] mapping")
        if self.fhir_auth == "client_credentials" and "token" not in self.endpoints:
            raise ValueError(f"profile {self.key!r} uses client credentials but has no token endpoint")
        return self


class VendorProfiles(BaseModel):
    """All profiles, by key."""

    profiles: dict[str, VendorProfile]

    def emrs(self) -> list[VendorProfile]:
        return [p for p in self.profiles.values() if p.kind == "emr"]

    def portals(self) -> list[VendorProfile]:
        return [p for p in self.profiles.values() if p.kind == "portal"]

    def portals_named_by(self, identifiers: list[dict[str, str]]) -> list[str]:
        """The booking portals whose appointment identifier system an appointment carries
        (``urn:portal:rvsq`` → ``rvsq``): who booked it, for N4."""
        systems = {i.get("system") for i in identifiers}
        return [p.key for p in self.portals() if p.identifier_systems.get("appointment") in systems]

    def for_sending_application(self, application: str) -> Hl7v2Mapping:
        """The HL7 v2 mapping of the vendor that sends as MSH-3 ``application``, else defaults."""
        wanted = application.strip().upper()
        for profile in self.profiles.values():
            if profile.hl7v2 and wanted in (a.upper() for a in profile.hl7v2.sending_applications):
                return profile.hl7v2
        return Hl7v2Mapping()


def parse_profiles(text: str) -> VendorProfiles:
    data = tomllib.loads(text)
    return VendorProfiles(profiles={k: VendorProfile(key=k, **v) for k, v in data.items()})


@cache
def load_profiles() -> VendorProfiles:
    """The packaged ``profiles.toml``, validated (read on first use, not at import)."""
    text = resources.files(__package__).joinpath("profiles.toml").read_text(encoding="utf-8")
    return parse_profiles(text)
