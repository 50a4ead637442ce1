"""Decoding the log for the read models: the application's mapper, a faster transcoder, and
no garbage collection over a rebuild's chunk."""

from __future__ import annotations

import copy
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Notification

from adapters.transcodings import FastJSONTranscoder

Decoded = list[tuple[int, str, Any]]


class Decoder:
    """(position, topic, event) of notifications, decoded by the application's mapper (its
    data keys read together), with a ``FastJSONTranscoder`` of the same transcodings when the
    mapper has the library's JSON one: a shallow copy of the mapper, whose keys and their
    cache stay the application's."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._fast: tuple[JSONTranscoder, FastJSONTranscoder] | None = None

    def __call__(self, notifications: list[Notification]) -> Decoded:
        mapper = self.app.mapper
        transcoder = getattr(mapper, "transcoder", None)
        if type(transcoder) is JSONTranscoder:
            if self._fast is None or self._fast[0] is not transcoder:
                self._fast = (transcoder, FastJSONTranscoder(transcoder))
            mapper = copy.copy(mapper)
            mapper.transcoder = self._fast[1]
            self._fast[1].forget_uuids()
        many = getattr(mapper, "to_domain_events", None)
        events = many(notifications) if many else [mapper.to_domain_event(n) for n in notifications]
        return [(n.id, n.topic, e) for n, e in zip(notifications, events, strict=True)]


@contextmanager
def collections_paused() -> Iterator[None]:
    """No cyclic garbage collection while a rebuild's chunk is decoded and applied: its tens of
    thousands of events live until the chunk is written, and each collection would scan them
    again (40 % of the decoding time, measured); what they leave is freed by reference counting."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()
