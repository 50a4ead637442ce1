"""The hub's eventsourcing Application base: metadata on events, retries, typed loading."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar, cast
from uuid import UUID

from eventsourcing.application import Application, Cache, LRUCache, ProcessingEvent
from eventsourcing.domain import Aggregate, MutableOrImmutableAggregate, Snapshot
from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    ProcessRecorder,
    Tracking,
)

from adapters.keystore import KeyStore, derive_key
from adapters.personal_data import PersonalDataMapper
from adapters.pgrecorder import select_events_after
from adapters.sqlkeystore import key_store_for
from adapters.transcodings import DateAsISO, OneTimeSecretAsDict
from aggregates.errors import NotFound
from aggregates.personal_fields import PERSONAL_FIELDS
from aggregates.slot import Slot
from aggregates.user import User
from hub.aggregate_copy import copy_aggregate
from hub.attempt_reads import current_reads, forget_attempt_reads
from hub.command_gate import CommandGate, retrying
from hub.mapper import HubMapper, KeysNotWired

A = TypeVar("A", bound=Aggregate)
R = TypeVar("R")


class HubApplication(Application[UUID]):
    """Stamps every stored event with who acted, and retries optimistic-concurrency losses."""

    name = "hub"
    snapshotting_intervals: ClassVar[dict[type[MutableOrImmutableAggregate[UUID]], int]] = {Slot: 50, User: 50}
    #: The store also keeps followers' positions (tracking records), see ``construct_recorder``.
    recorder: ProcessRecorder

    def __init__(
        self,
        env: dict[str, str] | None = None,
        clock: Callable[[], datetime] | None = None,
        max_conflict_retries: int = 64,
        privacy_root: bytes | None = None,
    ) -> None:
        """``privacy_root``: the root key of personal-data protection (``hub.privacy``); a
        random one (nothing readable by another process) when not given."""
        root = privacy_root or os.urandom(32)
        #: Keys the patient identifier index (``aggregates.pseudonyms``).
        self.index_secret = derive_key(root, "patient identifier index v1")
        super().__init__(env)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.max_conflict_retries = max_conflict_retries
        #: Commands running at once (``hub.command_gate``); ``hub serve`` narrows it.
        self.gate = CommandGate(0)
        size = int(self.env.get("AGGREGATE_CACHE_MAXSIZE") or 0)
        #: Aggregates as last read or written, never changed in place: ``load_many`` copies one
        #: out, brings the copy up to date from the store, and puts the newer copy back.
        self.aggregates: LRUCache[UUID, Aggregate] | None = LRUCache(size) if size > 0 else None
        #: Counts ``forget_decrypted`` calls: what a load read before one is not cached after it.
        self._generation = 0

        #: The patients' data keys, beside the events; destroying one is an erasure.
        self.keys: KeyStore = key_store_for(self.recorder, derive_key(root, "data key wrapping v1"))
        self.personal_data.keys = self.keys

    @property
    def personal_data(self) -> HubMapper:
        """The store's mapper: it seals and opens personal fields."""
        return cast(HubMapper, self.mapper)

    def forget_decrypted(self) -> None:
        """After an erasure: drop what this process holds decrypted (cached aggregates, data
        keys), so that nothing read before the erasure is shown after it: the library's
        repository cache and ``load_many``'s. A load that began before the erasure does not
        put what it read back into the new cache."""
        self._generation += 1
        if self.aggregates is not None:
            self.aggregates = LRUCache(maxsize=self.aggregates.maxsize)
        cache = self.repository.cache
        if isinstance(cache, LRUCache):
            self.repository.cache = LRUCache(maxsize=cache.maxsize)
        elif cache is not None:
            self.repository.cache = Cache()
        self.personal_data.forget_all()

    def sealed_mapper(self) -> PersonalDataMapper:
        """A mapper over the same store that leaves personal fields sealed (what leaves the
        hub: Kafka messages)."""
        return self.personal_data.sealed_view()

    def construct_recorder(self) -> ProcessRecorder:
        """A process recorder: the same events table, plus tracking written in the same
        transaction, so processes that follow the log (notifications) write exactly once."""
        return self.factory.process_recorder()

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
        transcoder.register(OneTimeSecretAsDict())

    def construct_mapper(self) -> Mapper[UUID]:
        mapper = super().construct_mapper()
        return HubMapper(mapper.transcoder, mapper.compressor, mapper.cipher,
                         policy=PERSONAL_FIELDS, keys=cast(KeyStore, KeysNotWired()))

    def load(self, cls: type[A], aggregate_id: UUID, what: str) -> A:
        """Load an aggregate of the given type, or raise ``NotFound`` naming ``what``."""
        return self.loaded(self.load_many([aggregate_id]), cls, aggregate_id, what)

    @staticmethod
    def loaded(found: dict[UUID, Aggregate], cls: type[A], aggregate_id: UUID, what: str) -> A:
        """The aggregate ``load_many`` found, of the given type, or ``NotFound`` naming ``what``."""
        aggregate = found.get(aggregate_id)
        if not isinstance(aggregate, cls):
            raise NotFound(f"{what} {aggregate_id} does not exist", id=str(aggregate_id))
        return aggregate

    def load_many(self, aggregate_ids: Iterable[UUID], copies: bool = True) -> dict[UUID, Aggregate]:
        """Private, current copies of many aggregates (ids that do not exist are left out).

        One query for all of them on PostgreSQL: each cached aggregate is brought forward from
        its cached version, the others are read from their first event. A command loads what
        it needs with one call, then decides and saves (a concurrent writer makes the save
        conflict and the command run again). Inside ``retrying``, what the attempt has read
        already (``prefetch``) is not read again: a fresh copy of it is returned.
        ``copies=False`` (``prefetch``, which drops them): the cache's and the attempt's own
        objects are returned, to be read only.
        """
        wanted = list(dict.fromkeys(aggregate_ids))
        reads = current_reads()
        found: dict[UUID, Aggregate] = {}
        if reads is not None:
            for aggregate_id in [i for i in wanted if i in reads]:
                wanted.remove(aggregate_id)
                read = reads[aggregate_id]
                if read is not None:
                    found[aggregate_id] = copy_aggregate(read)
            if not wanted:
                return found
        generation = self._generation
        cache = self.aggregates
        cached: dict[UUID, Aggregate] = {}
        if cache is not None:
            for aggregate_id in wanted:
                try:
                    cached[aggregate_id] = cache.get(aggregate_id)
                except KeyError:
                    continue
        stored = select_events_after(self.recorder, {i: cached[i].version if i in cached else 0
                                                      for i in wanted})
        new_events: dict[UUID, list[Any]] = {}
        for stored_event in stored:
            new_events.setdefault(UUID(str(stored_event.originator_id)), []).append(
                self.mapper.to_domain_event(stored_event))
        for aggregate_id in wanted:
            events = new_events.get(aggregate_id, [])
            base = cached.get(aggregate_id)
            aggregate: Any = copy_aggregate(base) if base is not None else None
            for domain_event in events:
                aggregate = domain_event.mutate(aggregate)
            if reads is not None:
                reads[aggregate_id] = aggregate  # None: it does not exist (or was discarded)
            if aggregate is None:
                continue
            if events and generation == self._generation:  # no erasure since the read began
                self._remember(aggregate)
            if copies and (events or reads is not None):  # the cache, the attempt keep theirs
                aggregate = copy_aggregate(aggregate)
            found[aggregate_id] = aggregate
        return found

    def prefetch(self, *aggregate_ids: UUID | None) -> None:
        """Read these aggregates in one query for the rest of the current ``retrying`` attempt
        (later ``load``/``load_many`` of them cost no query). Nothing outside ``retrying``."""
        if current_reads() is not None:  # what it found is not returned: not copied twice
            self.load_many((i for i in aggregate_ids if i is not None), copies=False)

    def peek(self, aggregate_id: UUID) -> Aggregate | None:
        """The cached aggregate as last seen (no query; possibly behind the store): for what
        never changes once created, such as a slot's clinic. Never change it."""
        if self.aggregates is None:
            return None
        try:
            return self.aggregates.get(aggregate_id)
        except KeyError:
            return None

    def _remember(self, aggregate: Aggregate) -> None:
        if self.aggregates is None:
            return
        known = self.peek(aggregate.id)
        if known is None or known.version < aggregate.version:
            self.aggregates.put(aggregate.id, aggregate)

    def exists(self, aggregate_id: UUID) -> bool:
        return aggregate_id in self.load_many([aggregate_id])

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """The library's save; what it saved is read again by the attempt's next load. New
        data keys are written by the events' own transaction (``KeyStore.deferred``)."""
        forget_attempt_reads(objs)
        processing: ProcessingEvent[UUID] = ProcessingEvent()
        created = []
        for obj in objs:
            if isinstance(obj, Aggregate):  # the library's Protocol isinstance checks cost
                events = obj.collect_events()  # ~30 µs per aggregate on Python 3.11
                processing.events.extend(events)
                processing.aggregates[obj.id] = obj
                if events and events[0].originator_version == 1:
                    created.append(obj.id)
            else:
                processing.collect_events(obj)
        processing.saved_kwargs.update(kwargs)
        with self._deferring_keys(frozenset(created)) as pending:
            recordings = self._record(processing)  # then as the library's ``save``
        self.personal_data.remember(pending)
        self._snapshot_saved(processing.aggregates, processing.events)
        self._notify(recordings)
        return recordings

    def _snapshot_saved(self, aggregates: Mapping[UUID, Any], events: Iterable[Any]) -> None:
        """Snapshot each aggregate just saved whose events reached a multiple of its interval,
        from the aggregate in memory (at its version now): the library's ``take_snapshot``
        reads it again from the store, one query and a replay of up to ``interval`` events
        (the cost of two bookings)."""
        if self.snapshots is None:
            return
        due = {e.originator_id for e in events if e.originator_id in aggregates
               and (interval := self.snapshotting_intervals.get(type(aggregates[e.originator_id])))
               and e.originator_version % interval == 0}
        for aggregate_id in due:
            aggregate = aggregates[aggregate_id]
            snapshot_class = getattr(type(aggregate), "Snapshot", None) or Snapshot
            self.snapshots.put([snapshot_class.take(aggregate)])

    def _deferring_keys(self, created: frozenset[UUID]) -> Any:
        """The data keys and links of the aggregates a save creates, written with its events
        when the recorder can (``pgrecorder``)."""
        if created and getattr(self.recorder, "writes_pending_keys", False):
            return self.keys.deferred(created)
        return nullcontext()

    def commit(self, *aggregates: Any) -> int:
        """Save aggregates in one transaction; return the last log position written."""
        recordings = self.save(*aggregates)
        for aggregate in aggregates:
            if isinstance(aggregate, Aggregate):
                self._remember(copy_aggregate(aggregate))
        if not recordings:
            return self.head()
        return max(r.notification.id for r in recordings)

    def save_tracked(self, tracking: Tracking | None, *aggregates: Aggregate) -> int:
        """Save aggregates together with a follower's tracking record, in one transaction.

        Raises ``RecordConflictError`` (or ``IntegrityError``) when another writer changed one
        of the aggregates, or another follower recorded this position first.
        """
        forget_attempt_reads(aggregates)
        events = [event for aggregate in aggregates for event in aggregate.collect_events()]
        created = frozenset(e.originator_id for e in events if e.originator_version == 1)
        with self._deferring_keys(created) as pending:
            recordings = self.events.put(events, tracking=tracking)
        self.personal_data.remember(pending)
        self._snapshot_saved({a.id: a for a in aggregates}, events)
        return max((r.notification.id for r in recordings), default=self.head())

    def head(self) -> int:
        return self.recorder.max_notification_id() or 0

    def retrying(self, command: Callable[[], R], what: str) -> R:
        """Run ``command`` (load, decide, save) again when a concurrent writer won, each
        attempt inside the command gate."""
        return retrying(command, what, self.max_conflict_retries, self.gate)
