"""Read models as they were at a past log position, built from the log (``?as_of_position=N``).

The live read models only know the present. To show a clinic's Suivi as staff saw it at
position N (what was booked, cancelled, marked present by then), the projection's own handlers
are run over the log's events up to N, in log order, into a private in-memory SQLite read model:
the same code as a rebuild (``Projector.rebuild``), stopped at N. Only the projection's topics
are read and decoded. The cost grows with N (a rebuild's rate, docs/benchmarks.md), so builds
run one at a time per process and the last few are kept for paging.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import Tracking

from aggregates.errors import InvalidValue
from hub.follow import LogReader
from projections.base import ReadModelProjection
from projections.readmodel import ReadModel


class PointInTime:
    """Builds (and keeps the last ``keep``) read models of one projection as of past positions."""

    def __init__(self, app: Any, projection: type[ReadModelProjection],
                 open_model: Callable[[], tuple[ReadModel, Callable[[], None]]], settings: Any = None,
                 keep: int = 2, chunk: int = 20_000) -> None:
        self.app = app
        self.projection = projection
        self.open_model = open_model
        self.settings = settings
        self.keep = keep
        self.chunk = chunk
        self.reader = LogReader(app.recorder, batch_size=chunk)
        self._built: OrderedDict[int, tuple[ReadModel, Callable[[], None]]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, position: int) -> int:
        """Refuse a position beyond the log's head; return the head."""
        head = self.reader.head()
        if position > head:
            raise InvalidValue(f"position {position} is beyond the log's head ({head})",
                               position=position, head=head)
        return head

    def view(self, position: int, progress: Callable[[int, int], Callable[[int], None]] | None = None) -> ReadModel:
        """The projection's read model as of ``position`` (events 1..position applied)."""
        self.check(position)
        with self._lock:
            if position in self._built:
                self._built.move_to_end(position)
                return self._built[position][0]
            model, close = self.open_model()
            try:
                self._build(model, position, progress)
            except BaseException:
                close()
                raise
            self._built[position] = (model, close)
            while len(self._built) > self.keep:
                self._built.popitem(last=False)[1][1]()
            return model

    def _build(self, model: ReadModel, position: int,
               progress: Callable[[int, int], Callable[[int], None]] | None) -> None:
        projection = self.projection(model, self.settings)
        self.reader.settled_head()  # every hole up to ``position`` is final
        advance = progress(0, position) if progress else None
        mapper, source, after = self.app.mapper, self.app.name, 0
        model.ensure_position(source)
        while after < position:
            batch = self.reader.read_settled(after, self.chunk, position, projection.topic_filter)
            reached = batch[-1].id if len(batch) == self.chunk else position
            events = [(n.id, n.topic, mapper.to_domain_event(n)) for n in batch]
            with model.transaction() as curs:
                projection.apply(curs, events, Tracking(source, reached), after)
            if advance:
                advance(reached - after)
            after = reached

    def close(self) -> None:
        with self._lock:
            while self._built:
                self._built.popitem()[1][1]()
