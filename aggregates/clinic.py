"""Clinic (S1): one hub customer — a clinic, a pharmacy, a public-health or enterprise site."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from aggregates.errors import Conflict, InvalidValue
from aggregates.values import ApplicationType, choice


class ClinicInactive(Conflict):
    code = "clinic_inactive"


class Clinic(Aggregate):
    """A place that gives appointments; its application type decides S4."""

    if TYPE_CHECKING:  # made by ``@event("Registered")`` when the class is defined
        Registered: ClassVar[type[Aggregate.Created]]

    @classmethod
    def register(
        cls,
        name: str,
        address: dict[str, Any],
        phone: str,
        application_type: str,
        id: UUID | None = None,
    ) -> Clinic:
        """``id`` is given by the setup wizard, so one setup creates one clinic, ever."""
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidValue("clinic name must have 1 to 200 characters", field="name")
        return cls._create(
            cls.Registered,
            id=id,
            name=name,
            address=dict(address),
            phone=phone,
            application_type=choice(ApplicationType, application_type, "application_type"),
        )

    @event("Registered")
    def __init__(
        self, name: str, address: dict[str, Any], phone: str, application_type: str
    ) -> None:
        self.name = name
        self.address = address
        self.phone = phone
        self.application_type = application_type
        self.active = True
        #: Set by the setup wizard (W1); ``None`` for clinics created otherwise.
        self.setup_id: UUID | None = None
        self.phone_extension: str | None = None
        self.emr: str | None = None
        self.portals: list[str] | None = None
        self.logo: dict[str, Any] | None = None

    def configure(
        self,
        setup_id: UUID,
        phone_extension: str | None,
        emr: str,
        portals: list[str],
        logo: dict[str, Any] | None,
    ) -> None:
        """What the setup wizard gathered beyond the registration: phone extension, EMR, the
        booking portals that publish the clinic's availability, the logo's digest and type."""
        self._configured(setup_id=setup_id, phone_extension=phone_extension, emr=emr,
                         portals=list(portals), logo=dict(logo) if logo else None)

    @event("Configured")
    def _configured(
        self,
        setup_id: UUID,
        phone_extension: str | None,
        emr: str,
        portals: list[str],
        logo: dict[str, Any] | None,
    ) -> None:
        self.setup_id = setup_id
        self.phone_extension = phone_extension
        self.emr = emr
        self.portals = list(portals)
        self.logo = logo

    def publishes_to(self, portal: str) -> bool:
        """Whether the booking portal ``portal`` shows this clinic's availability: one it chose
        in the setup wizard (a clinic created otherwise publishes to every portal)."""
        return self.portals is None or portal in self.portals

    def deactivate(self) -> None:
        if self.active:
            self._deactivated()

    def activate(self) -> None:
        if not self.active:
            self._activated()

    def require_active(self) -> None:
        if not self.active:
            raise ClinicInactive(f"clinic {self.name!r} is not active", clinic_id=str(self.id))

    @event("Deactivated")
    def _deactivated(self) -> None:
        self.active = False

    @event("Activated")
    def _activated(self) -> None:
        self.active = True
