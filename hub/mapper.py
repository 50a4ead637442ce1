"""The hub's event mapper: who acted on every stored event, personal fields sealed."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol, Snapshot
from eventsourcing.persistence import StoredEvent

from adapters.personal_data import PersonalDataMapper
from hub.actor import current_actor


class KeysNotWired:
    """Stands for the key store while the application is being built."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("the application's key store is wired at the end of its construction")


class HubMapper(PersonalDataMapper):
    """Stamps each stored event with who acted (``meta``: subject, role, channel), and seals
    the personal fields of ``aggregates.personal_fields`` with the person's data key."""

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        if not isinstance(domain_event, Snapshot) and not hasattr(domain_event, "meta"):
            object.__setattr__(domain_event, "meta", current_actor().as_meta())
        return super().to_stored_event(domain_event)
