"""The hub's eventsourcing Application base: metadata on events, retries, typed loading."""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder, ProcessRecorder, RecordConflictError, Recording, Transcoding

from aggregates.errors import DomainError, NotFound
from aggregates.slot import Slot
from hub.actor import current_actor

log = structlog.get_logger("hub")
A = TypeVar("A", bound=Aggregate)
R = TypeVar("R")


class StoreBusy(DomainError):
    """Other writers kept winning the race for the same aggregate; try again shortly."""

    code = "store_busy"


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


def _copy_immutables_by_reference() -> None:
    """UUIDs, instants and dates are immutable: let ``deepcopy`` (used by the aggregate
    cache so that a refused command never leaves a half-changed aggregate behind) share
    them instead of rebuilding each one through ``__reduce_ex__``."""
    for immutable in (UUID, datetime, date):
        copy._deepcopy_dispatch.setdefault(immutable, copy._deepcopy_atomic)  # type: ignore[attr-defined]


class HubApplication(Application[UUID]):
    """Stamps every stored event with who acted, and retries optimistic-concurrency losses."""

    name = "hub"
    snapshotting_intervals: ClassVar[dict[type[Aggregate], int]] = {Slot: 50}

    def __init__(
        self,
        env: dict[str, str] | None = None,
        clock: Callable[[], datetime] | None = None,
        max_conflict_retries: int = 64,
    ) -> None:
        _copy_immutables_by_reference()
        super().__init__(env)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.max_conflict_retries = max_conflict_retries

    def construct_recorder(self) -> ProcessRecorder:
        """A process recorder: the same events table, plus tracking written in the same
        transaction, so processes that follow the log (notifications) write exactly once."""
        return self.factory.process_recorder()

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        meta = current_actor().as_meta()
        for domain_event in processing_event.events:
            object.__setattr__(domain_event, "meta", meta)
        return super()._record(processing_event)

    def load(self, cls: type[A], aggregate_id: UUID, what: str) -> A:
        """Load an aggregate of the given type, or raise ``NotFound`` naming ``what``."""
        try:
            aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(f"{what} {aggregate_id} does not exist", id=str(aggregate_id)) from None
        if not isinstance(aggregate, cls):
            raise NotFound(f"{what} {aggregate_id} does not exist", id=str(aggregate_id))
        return aggregate

    def exists(self, aggregate_id: UUID) -> bool:
        return aggregate_id in self.repository

    def commit(self, *aggregates: Any) -> int:
        """Save aggregates in one transaction; return the last log position written."""
        recordings = self.save(*aggregates)
        if not recordings:
            return self.head()
        return max(r.notification.id for r in recordings)

    def head(self) -> int:
        return self.recorder.max_notification_id() or 0

    def retrying(self, command: Callable[[], R], what: str) -> R:
        """Run ``command`` (load, decide, save) again when a concurrent writer won."""
        for attempt in range(self.max_conflict_retries):
            try:
                return command()
            except RecordConflictError:
                log.debug("write conflict, retrying", command=what, attempt=attempt + 1)
                time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 10)))
        log.warning("write conflict retries exhausted", command=what)
        raise StoreBusy(f"{what}: too many concurrent writers on the same slot; retry shortly")
