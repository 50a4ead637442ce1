"""Crypto-shredding of events' personal fields (Loi 25, SPEC T2).

A ``PersonalDataMapper`` is the eventsourcing ``Mapper`` of the store with one step more: the
fields a ``FieldPolicy`` names as personal (a patient's names, NAM, birth date, contacts) are
taken out of the event's state and sealed together with AES-GCM under the data key of the
person they are about (``KeyStore``). The stored state keeps everything else in clear, plus

    "_personal": {"subject": <uuid of the person>, "sealed": "<base64 nonce+ciphertext>"}

Which fields are personal is the domain's word (``aggregates.personal_fields``). The AES-GCM
associated data binds a sealed blob to its subject: relabelled for another person (even one
sharing the key through a link) it does not open. Reading restores the fields; once the subject's key
is destroyed they read as the policy's "erased" values (``""``, ``None``, ``[]``...), so old
events still load and their aggregates still rebuild. The library's whole-state cipher
(``CIPHER_TOPIC``/``CIPHER_KEY``) and compressor still apply on top, unchanged.

``sealed_view()`` is a mapper over the same store that leaves ``_personal`` sealed: what the
Kafka relay publishes, so no message ever carries a personal field in clear.
"""

from __future__ import annotations

import base64
import copy
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, cast
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    Cipher,
    Compressor,
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    Transcoder,
)
from eventsourcing.utils import get_topic

from adapters.keystore import KeyStore, PendingKeys, pending_keys
from aggregates.personal_fields import FieldPolicy, PersonalFields

SEALED = "_personal"
_NONCE_BYTES = 12


_MISSING = object()


def _take(state: dict[str, Any], path: str) -> Any:
    """Remove and return the value at a dotted path (copying the mappings on the way)."""
    *parents, leaf = path.split(".")
    here = state
    for name in parents:
        inner = here.get(name)
        if not isinstance(inner, Mapping):
            return _MISSING
        here[name] = here = dict(inner)
    return here.pop(leaf, _MISSING)


def _put(state: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    here = state
    for name in parents:
        inner = here.get(name)
        if not isinstance(inner, dict):
            return
        here = inner
    here[leaf] = value


class _KeyCache:
    """Recently used subjects' ciphers (or None once erased), for ``ttl`` seconds."""

    def __init__(self, ttl: float, size: int) -> None:
        self.ttl, self.size = ttl, size
        self._items: OrderedDict[UUID, tuple[float, AESGCM | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, subject: UUID) -> tuple[bool, AESGCM | None]:
        with self._lock:
            item = self._items.get(subject)
            if item is None or item[0] < time.monotonic():
                return False, None
            self._items.move_to_end(subject)
            return True, item[1]

    def put(self, subject: UUID, aead: AESGCM | None) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            self._items[subject] = (time.monotonic() + self.ttl, aead)
            self._items.move_to_end(subject)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def _has_value(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


class PersonalDataMapper(Mapper[UUID]):
    """Seals personal fields per subject on write, opens them (or erases them) on read."""

    def __init__(
        self,
        transcoder: Transcoder,
        compressor: Compressor | None = None,
        cipher: Cipher | None = None,
        *,
        policy: FieldPolicy,
        keys: KeyStore,
        cache_seconds: float = 30.0,
        cache_size: int = 10_000,
        open_personal: bool = True,
    ) -> None:
        super().__init__(transcoder, compressor=compressor, cipher=cipher)
        self.policy = policy
        self.keys = keys
        self.open_personal = open_personal
        self._cache = _KeyCache(cache_seconds, cache_size)

    def sealed_view(self) -> PersonalDataMapper:
        """A mapper that reads the same events but leaves ``_personal`` sealed (for Kafka)."""
        view = PersonalDataMapper(
            self.transcoder, self.compressor, self.cipher, policy=self.policy, keys=self.keys,
            open_personal=False,
        )
        view._cache = self._cache
        return view

    def forget(self, subject: UUID) -> None:
        """Drop cached keys after a subject's erasure in this process (linked subjects
        share the key, so every cached key goes)."""
        self.forget_all()

    def forget_all(self) -> None:
        """Drop every cached key."""
        self._cache.clear()

    # writing -------------------------------------------------------------------------------

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        rule = self.policy.rule_for(get_topic(type(domain_event)))
        if rule is not None:
            sealed = self._sealed(domain_event, rule)
            if sealed is not None:
                domain_event = sealed
        return super().to_stored_event(domain_event)

    def _sealed(self, domain_event: Any, rule: PersonalFields) -> Any | None:
        state = dict(vars(domain_event))
        if rule.owner is not None and state.get(rule.owner) is not None:
            self.keys.link(_as_uuid(state[rule.subject]), _as_uuid(state[rule.owner]))
        personal = {name: value for name in rule.fields
                    if (value := _take(state, name)) is not _MISSING}
        if not any(_has_value(v) for v in personal.values()):
            return None
        subject = _as_uuid(state[rule.subject])
        aead = self._writer(subject)
        nonce = os.urandom(_NONCE_BYTES)
        associated = subject.bytes
        blob = nonce + aead.encrypt(nonce, self.transcoder.encode(personal), associated)
        state[SEALED] = {"subject": str(subject), "sealed": base64.b64encode(blob).decode()}
        sealed = object.__new__(type(domain_event))
        object.__setattr__(sealed, "__dict__", state)
        return sealed

    def _writer(self, subject: UUID) -> AESGCM:
        known, aead = self._cache.get(subject)
        if known and aead is not None:
            return aead
        batch = pending_keys()
        if batch is not None and subject in batch.links:  # new, linked by this save
            known, aead = self._cache.get(batch.links[subject])
            if known and aead is not None:
                return aead
        aead = AESGCM(self.keys.key_or_create(subject))  # raises SubjectErased once erased
        if batch is None or not batch.pending(subject):
            self._cache.put(subject, aead)  # a pending key is kept once written (``remember``)
        return aead

    def remember(self, batch: PendingKeys | None) -> None:
        """Keep the keys a save wrote with its events (after its commit), and its new
        subjects' links to them."""
        if batch is None or not batch.flushed:
            return
        for subject, (key, _) in batch.keys.items():
            self._cache.put(subject, AESGCM(key))
        for subject, owner in batch.links.items():
            known, aead = self._cache.get(owner)
            if known and aead is not None:
                self._cache.put(subject, aead)

    # reading -------------------------------------------------------------------------------

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        return self._opened(super().to_domain_event(stored_event), stored_event)

    def to_domain_events(self, stored_events: list[StoredEvent]) -> list[DomainEventProtocol[UUID]]:
        """Many events at once: the data keys they need and this process does not hold are
        read in one query (a rebuild decodes thousands of patients' events per chunk)."""
        decoded = [super(PersonalDataMapper, self).to_domain_event(s) for s in stored_events]
        if self.open_personal:
            subjects = {_as_uuid(e.__dict__[SEALED]["subject"]) for e in decoded if SEALED in e.__dict__}
            missing = [s for s in subjects if not self._cache.get(s)[0]]
            for subject, key in self.keys.keys(missing).items():
                self._cache.put(subject, AESGCM(key) if key is not None else None)
        return [self._opened(e, s) for e, s in zip(decoded, stored_events, strict=True)]

    def _opened(self, domain_event: DomainEventProtocol[UUID],
                stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        state = domain_event.__dict__
        if SEALED not in state or not self.open_personal:
            return domain_event
        envelope = state.pop(SEALED)
        rule = self.policy.rule_for(stored_event.topic)
        subject = _as_uuid(envelope["subject"])
        aead = self._reader(subject)
        if aead is None:
            for name, erased in (rule.fields.items() if rule is not None else ()):
                _put(state, name, copy.deepcopy(erased))
            return domain_event
        blob = base64.b64decode(envelope["sealed"])
        associated = subject.bytes
        try:
            plain = aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], associated)
        except InvalidTag:
            raise MapperDeserialisationError(
                f"the personal fields of event {stored_event.originator_id} "
                f"v{stored_event.originator_version} do not open with their subject's key"
            ) from None
        for name, value in cast(dict[str, Any], self.transcoder.decode(plain)).items():
            _put(state, name, value)
        return domain_event

    def _reader(self, subject: UUID) -> AESGCM | None:
        known, aead = self._cache.get(subject)
        if known:
            return aead
        key = self.keys.key(subject)
        aead = AESGCM(key) if key is not None else None
        self._cache.put(subject, aead)
        return aead


def _as_uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


