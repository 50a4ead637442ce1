"""Clinic (S1): one hub customer — a clinic, a pharmacy, a public-health or enterprise site."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

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
    ) -> Clinic:
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidValue("clinic name must have 1 to 200 characters", field="name")
        return cls(
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
