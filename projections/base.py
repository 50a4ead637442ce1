"""Projections: domain events in, read-model rows out.

A projection is the eventsourcing library's ``Projection`` over a ``ReadModel``. Its handlers
are keyed by event class (``event_of(Slot, "PlaceReserved")``): a renamed or removed event fails
when the projection is imported, not silently at run time. The runner never decodes an event no
handler wants. Batches (many events, one transaction, one tracking position) are what the
runner uses; ``process_event`` (one event) keeps the library's interface.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from eventsourcing.utils import get_topic

from projections.changes import Changes
from projections.readmodel import ReadModel
from projections.tables import Table

#: A handler for every topic (the audit log).
EVERY_TOPIC = "*"

Handler = Callable[[Any, Any, int, Changes], None]


def event_of(aggregate: type, name: str) -> type[DomainEvent]:
    """The event class ``aggregate.<name>`` (made by ``@event(name)``); fails at import when the
    aggregate has no such event."""
    found = getattr(aggregate, name, None)
    if not (isinstance(found, type) and issubclass(found, DomainEvent)):
        raise TypeError(f"{aggregate.__name__} has no event {name!r}: a projection handles it")
    return found


def handles(*events: type[DomainEvent] | str, reads: str | None = None) -> Callable[[Handler], Handler]:
    """Mark a method as the handler of these event classes (or ``EVERY_TOPIC``).

    ``reads`` names the table whose row keyed by the event's aggregate id the handler reads:
    the batch loads all of those rows in one query before applying its events.
    """

    topics = tuple(e if isinstance(e, str) else get_topic(e) for e in events)
    if any(isinstance(e, str) and e != EVERY_TOPIC for e in events):
        raise TypeError("handles() takes event classes, or EVERY_TOPIC")

    def mark(method: Handler) -> Handler:
        setattr(method, "__handles__", (topics, reads))  # noqa: B010 - a marker read by __init_subclass__
        return method

    return mark


class ReadModelProjection(Projection[ReadModel]):
    """Base of the hub's projections: tables, topic handlers, batch application."""

    name = ""
    tables: ClassVar[tuple[Table, ...]] = ()
    handlers: ClassVar[dict[str, tuple[str, str | None]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found: dict[str, tuple[str, str | None]] = {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                marked = getattr(value, "__handles__", None)
                if marked:
                    for topic in marked[0]:
                        found[topic] = (attr, marked[1])
        cls.handlers = found
        cls.topics = tuple(t for t in found if t != EVERY_TOPIC)

    def __init__(self, view: ReadModel, settings: Any = None) -> None:
        self._view = view
        self.settings = settings

    @property
    def view(self) -> ReadModel:
        return self._view

    def wants(self, topic: str) -> bool:
        return topic in self.handlers or EVERY_TOPIC in self.handlers

    def handler(self, topic: str) -> tuple[str, str | None]:
        return self.handlers.get(topic) or self.handlers[EVERY_TOPIC]

    @property
    def topic_filter(self) -> tuple[str, ...]:
        """Topics to ask the store for; empty means every event."""
        return () if EVERY_TOPIC in self.handlers else tuple(self.handlers)

    def apply(self, curs: Any, events: Sequence[tuple[int, str, Any]], tracking: Tracking,
              expected: int, model: ReadModel | None = None) -> None:
        """Apply ``(position, topic, event)`` triples and record ``tracking``, in ``curs``'s
        transaction. The position is moved first: a runner racing this one waits for this
        transaction there, then fails its batch (``PositionMoved``) before doing any work."""
        model = model or self.view
        model.track(curs, tracking, expected)
        changes = Changes(model, curs)
        wanted: dict[str, set[Any]] = {}
        for _, topic, event in events:
            reads = self.handler(topic)[1]
            if reads:
                wanted.setdefault(reads, set()).add(self.row_key(event))
        changes.prefetch(wanted)
        for position, topic, event in events:
            getattr(self, self.handler(topic)[0])(event, position, changes)
        changes.flush()

    @staticmethod
    def row_key(event: Any) -> str:
        return str(event.originator_id)

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """The library's one-event interface: one transaction per event."""
        topic = get_topic(type(domain_event))
        with self.view.transaction() as curs:
            expected = self.view.position(tracking.application_name, curs)
            if tracking.notification_id <= expected:
                return
            batch = [(tracking.notification_id, topic, domain_event)] if self.wants(topic) else []
            self.apply(curs, batch, tracking, expected)
