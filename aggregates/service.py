"""Service (S1): what an appointment is for, how long it lasts and how it is notified."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from aggregates.errors import Conflict, InvalidValue
from aggregates.values import ServiceCategory, choice


class ServiceNotOnline(Conflict):
    code = "service_not_online"


class Service(Aggregate):
    """A type of appointment ("type de période") with its notification category."""

    if TYPE_CHECKING:  # made by ``@event("Defined")`` when the class is defined
        Defined: ClassVar[type[Aggregate.Created]]

    @classmethod
    def define(
        cls,
        clinic_id: UUID,
        name: str,
        duration_minutes: int,
        category: str,
        online: bool,
        cancellation_delay_hours: int,
        product: str | None = None,
        id: UUID | None = None,
    ) -> Service:
        """``id`` is given by imports, so a re-import finds the service it created."""
        details = _checked(name, duration_minutes, category, online, cancellation_delay_hours, product)
        return cls._create(cls.Defined, id=id, clinic_id=clinic_id, **details)

    @event("Defined")
    def __init__(
        self,
        clinic_id: UUID,
        name: str,
        duration_minutes: int,
        category: str,
        online: bool,
        cancellation_delay_hours: int,
        product: str | None,
    ) -> None:
        self.clinic_id = clinic_id
        self.name = name
        self.duration_minutes = duration_minutes
        self.category = category
        self.online = online
        self.cancellation_delay_hours = cancellation_delay_hours
        self.product = product

    @property
    def silent(self) -> bool:
        return self.category == ServiceCategory.SILENT

    def require_online(self) -> None:
        if not self.online:
            raise ServiceNotOnline(
                f"service {self.name!r} cannot be booked online", service_id=str(self.id)
            )

    def set_online(self, online: bool) -> None:
        if online != self.online:
            self._online_changed(online=online)

    def update(
        self,
        name: str,
        duration_minutes: int,
        category: str,
        online: bool,
        cancellation_delay_hours: int,
        product: str | None = None,
    ) -> bool:
        """Record new details (an EMR re-import); return whether anything changed."""
        details = _checked(name, duration_minutes, category, online, cancellation_delay_hours, product)
        changes = {k: v for k, v in details.items() if getattr(self, k) != v}
        if changes:
            self._updated(changes=changes)
        return bool(changes)

    @event("Updated")
    def _updated(self, changes: dict[str, object]) -> None:
        for key, value in changes.items():
            setattr(self, key, value)

    @event("OnlineChanged")
    def _online_changed(self, online: bool) -> None:
        self.online = online


def _checked(
    name: str,
    duration_minutes: int,
    category: str,
    online: bool,
    cancellation_delay_hours: int,
    product: str | None,
) -> dict[str, object]:
    name = name.strip()
    if not name:
        raise InvalidValue("service name must not be empty", field="name")
    if duration_minutes < 1:
        raise InvalidValue("duration_minutes must be at least 1", field="duration_minutes")
    if cancellation_delay_hours < 0:
        raise InvalidValue(
            "cancellation_delay_hours must not be negative", field="cancellation_delay_hours"
        )
    return {
        "name": name,
        "duration_minutes": duration_minutes,
        "category": choice(ServiceCategory, category, "category"),
        "online": online,
        "cancellation_delay_hours": cancellation_delay_hours,
        "product": product or None,
    }
