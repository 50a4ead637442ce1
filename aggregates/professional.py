"""Professional (S1): a person or team who holds slots."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from aggregates.errors import InvalidValue
from aggregates.values import ProfessionalType, choice

#: Professional types whose patients the hub notifies itself (N4).
NOTIFIED_TYPES = frozenset({"gp", "ips", "nurse", "resident", "extern"})


class Professional(Aggregate):
    """A clinic's GP, IPS, nurse, resident, extern, specialist or other provider."""

    if TYPE_CHECKING:  # made by ``@event("Registered")`` when the class is defined
        Registered: ClassVar[type[Aggregate.Created]]

    @classmethod
    def register(
        cls,
        clinic_id: UUID,
        name: str,
        type: str,
        licence: str | None = None,
        id: UUID | None = None,
    ) -> Professional:
        """``id`` is given by imports, so a re-import finds the professional it created."""
        name, type = _checked(name, type)
        return cls._create(
            cls.Registered, id=id, clinic_id=clinic_id, name=name, type=type, licence=licence or None
        )

    @event("Registered")
    def __init__(self, clinic_id: UUID, name: str, type: str, licence: str | None) -> None:
        self.clinic_id = clinic_id
        self.name = name
        self.type = type
        self.licence = licence

    def update(self, name: str, type: str, licence: str | None) -> bool:
        """Record new details (an EMR re-import); return whether anything changed."""
        name, type = _checked(name, type)
        changes = {
            k: v
            for k, v in {"name": name, "type": type, "licence": licence or None}.items()
            if getattr(self, k) != v
        }
        if changes:
            self._updated(changes=changes)
        return bool(changes)

    @event("Updated")
    def _updated(self, changes: dict[str, str | None]) -> None:
        for key, value in changes.items():
            setattr(self, key, value)

    @property
    def hub_notifies(self) -> bool:
        return self.type in NOTIFIED_TYPES


def _checked(name: str, type: str) -> tuple[str, str]:
    name = name.strip()
    if not name:
        raise InvalidValue("professional name must not be empty", field="name")
    return name, choice(ProfessionalType, type, "type")
