"""Professional (S1): a person or team who holds slots."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from aggregates.errors import InvalidValue
from aggregates.values import ProfessionalType, choice

#: Professional types whose patients the hub notifies itself (N4).
NOTIFIED_TYPES = frozenset({"gp", "ips", "nurse", "resident", "extern"})


class Professional(Aggregate):
    """A clinic's GP, IPS, nurse, resident, extern, specialist or other provider."""

    @classmethod
    def register(
        cls, clinic_id: UUID, name: str, type: str, licence: str | None = None
    ) -> Professional:
        name = name.strip()
        if not name:
            raise InvalidValue("professional name must not be empty", field="name")
        return cls(
            clinic_id=clinic_id,
            name=name,
            type=choice(ProfessionalType, type, "type"),
            licence=licence,
        )

    @event("Registered")
    def __init__(self, clinic_id: UUID, name: str, type: str, licence: str | None) -> None:
        self.clinic_id = clinic_id
        self.name = name
        self.type = type
        self.licence = licence

    @property
    def hub_notifies(self) -> bool:
        return self.type in NOTIFIED_TYPES
