"""Running projections: follow the log, wait for a position, rebuild from zero, report lag.

The runner polls the log (SQLite has no ``subscribe()``, and a poll on PostgreSQL costs one
indexed query), reads each batch once for every projection, and applies it to each read model
in one transaction with the batch's tracking position. A rebuild fills ``_shadow`` tables from
position zero in checkpointed chunks (a killed rebuild resumes from its last chunk), then swaps
them in, in one transaction, after catching up with the live tables under their lock: readers
see the old view or the new one, never a half-built one, and the position never goes back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import structlog
from eventsourcing.persistence import Notification, Tracking
from eventsourcing.utils import get_topic

from aggregates.patient import Patient
from hub.follow import LogReader
from hub.readmodels.decoding import Decoded, Decoder, collections_paused
from projections.base import ReadModelProjection, event_of
from projections.readmodel import PositionMoved, ReadModel

log = structlog.get_logger("hub.readmodels.runner")
ERASED_TOPIC = get_topic(event_of(Patient, "Erased"))
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Status:
    name: str
    position: int
    head: int
    rebuilding_at: int | None = None

    @property
    def lag(self) -> int:
        return max(0, self.head - self.position)


class Projector:
    """Feeds the hub's event log to its projections, in order, each event exactly once."""

    def __init__(self, app: Any, projections: Sequence[ReadModelProjection],
                 shadow: Callable[[ReadModelProjection], ReadModel],
                 batch_size: int = 1_000, poll_seconds: float = 0.1,
                 on_close: Callable[[], None] | None = None) -> None:
        self.app = app
        self._on_close = on_close
        self.reader = LogReader(app.recorder, batch_size=batch_size)
        self.projections = {p.name: p for p in projections}
        for projection in projections:
            projection.view.ensure_position(self.source)
        self.shadow = shadow
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: The positions as this runner's last step left them (None: read them).
        self._known: dict[str, int] | None = None
        self._decoder = Decoder(app)

    @property
    def source(self) -> str:
        return self.app.name

    def get(self, name: str) -> ReadModelProjection:
        try:
            return self.projections[name]
        except KeyError:
            known = ", ".join(self.projections)
            raise KeyError(f"no projection named {name!r}; known: {known}") from None

    # -- following the log -------------------------------------------------------------
    def positions(self) -> dict[str, int]:
        return {name: p.view.position(self.source) for name, p in self.projections.items()}

    def step(self) -> int:
        """Apply the next batch of events to every projection behind; return how many were read.

        The positions this runner wrote are remembered: the next step reads none of them. A
        batch applied from a stale one (another runner moved it) fails its compare-and-set
        (``PositionMoved``) and the positions are read again. Projections kept in one store
        (always, as built by ``hub.bootstrap.build_projector``) are applied in one
        transaction: one commit per batch instead of one per projection."""
        positions = self._known or self.positions()
        self._known = None
        start = min(positions.values())
        batch = self.reader.read(start, self.batch_size)
        if not batch:
            self._known = positions
            return 0
        decoded = self._decode(batch)
        if any(topic == ERASED_TOPIC for _, topic, _ in decoded):
            self.app.forget_decrypted()  # a patient was erased (maybe by another process)
        behind = [(n, p) for n, p in self.projections.items() if batch[-1].id > positions[n]]
        tracking = Tracking(self.source, batch[-1].id)

        def apply(curs: Any, name: str, projection: ReadModelProjection) -> None:
            after = positions[name]
            events = [d for d in decoded if d[0] > after and projection.wants(d[1])]
            projection.apply(curs, events, tracking, after)

        moved = False
        try:
            if len({id(p.view.datastore) for _, p in behind}) == 1:
                # one store for them all: one transaction, one commit per batch
                with behind[0][1].view.transaction() as curs:
                    for name, projection in behind:
                        apply(curs, name, projection)
                positions.update((name, batch[-1].id) for name, _ in behind)
            else:
                for name, projection in behind:
                    with projection.view.transaction() as curs:
                        apply(curs, name, projection)
                    positions[name] = batch[-1].id
        except PositionMoved as moved_error:
            moved = True
            log.info("another runner moved a projection; reading again", detail=str(moved_error))
        if not moved:
            self._known = positions
        return len(batch)

    def catch_up(self, until: int | None = None, timeout: float = 60.0) -> dict[str, int]:
        """Apply events until every projection reached ``until`` (default: the log's head)."""
        target = self.reader.head() if until is None else until
        deadline = time.monotonic() + timeout
        while min(self.positions().values()) < target:
            if time.monotonic() > deadline:
                raise TimeoutError(f"projections did not reach position {target} in {timeout}s")
            if not self.step():
                time.sleep(self.poll_seconds)
        return self.positions()

    def run(self, stop: threading.Event | None = None) -> None:
        """Follow the log until ``stop`` is set (errors are logged and retried)."""
        stop = stop or self._stop
        while not stop.is_set():
            try:
                read = self.step()
            except Exception:  # noqa: BLE001 - keep following; the database may come back
                log.exception("projection batch failed; retrying")
                stop.wait(1.0)
                continue
            if read < self.batch_size:
                stop.wait(self.poll_seconds)

    #: The log is followed by another process's runner, elected (``hub.readmodels.leader``).
    kept_elsewhere: bool = False

    @property
    def following(self) -> bool:
        """True while the log is followed: by this process's background thread, or by the
        runner of another process elected to keep the read models of this store."""
        return self.kept_elsewhere or (self._thread is not None and self._thread.is_alive())

    def start(self) -> None:
        """Follow the log in a background thread (``hub serve``)."""
        self._stop.clear()
        self._known = None  # another process's runner may have moved on since this one ran
        self._thread = threading.Thread(target=self.run, name="projections", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def close(self) -> None:
        """Stop following and close the read models' connections."""
        self.stop()
        if self._on_close is not None:
            self._on_close()

    def wait(self, name: str, position: int, timeout: float) -> bool:
        """Block until projection ``name`` applied ``position`` (read-your-writes)."""
        try:
            self.get(name).view.wait(self.source, position, timeout=timeout)
        except TimeoutError:
            return False
        return True

    def status(self) -> list[Status]:
        head = self.reader.head()
        out = []
        for name, projection in self.projections.items():
            shadow = self.shadow(projection)
            out.append(Status(name, projection.view.position(self.source), head,
                              shadow.position(self.source) if self._has_shadow(shadow) else None))
        return out

    # -- rebuilding --------------------------------------------------------------------
    def rebuild(self, name: str, chunk: int = 20_000, progress: Callable[[int, int], Progress] | None = None) -> int:
        """Rebuild ``name`` from zero into shadow tables, then swap them in; return its position."""
        each = (lambda _name, position, target: progress(position, target)) if progress else None
        return self.rebuild_many([name], chunk, each)[name]

    def rebuild_many(self, names: Sequence[str], chunk: int = 20_000,
                     progress: Callable[[str, int, int], Progress] | None = None) -> dict[str, int]:
        """Rebuild these projections from zero into their shadow tables in ONE pass over the
        log (each chunk read once, each event decoded once for all of them, each shadow written
        in its own transaction with its checkpoint), then swap each in; their positions.

        ``progress(name, position, target)`` gives the callback advanced by each chunk."""
        projections = [self.get(name) for name in dict.fromkeys(names)]
        shadows = {p.name: self.shadow(p) for p in projections}
        positions: dict[str, int] = {}
        for projection in projections:
            shadow = shadows[projection.name]
            shadow.create_table()
            shadow.create_tables()
            shadow.ensure_position(self.source)
            positions[projection.name] = shadow.position(self.source)
        target = self.reader.settled_head()
        advance: dict[str, Progress] = {}
        for projection in projections:
            name, position = projection.name, positions[projection.name]
            if position:
                log.info("resuming rebuild", projection=name, position=position, target=target)
            if progress is not None:
                advance[name] = progress(name, position, target)
        filters = [p.topic_filter for p in projections]
        topics = () if any(not f for f in filters) else tuple(dict.fromkeys(t for f in filters for t in f))
        start = min(positions.values(), default=target)

        def read(after: int) -> list[Notification]:
            return self.reader.read_settled(after, chunk, target, topics)

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rebuild-read") as reader:
            upcoming = reader.submit(read, start) if start < target else None
            while upcoming is not None:
                batch = upcoming.result()
                reached = batch[-1].id if len(batch) == chunk else target
                # read the next chunk while this one is decoded and written
                upcoming = reader.submit(read, reached) if reached < target else None
                behind = [p for p in projections if positions[p.name] < reached]
                with collections_paused():
                    decoded = self._decode_for(batch, {p.name: (p, positions[p.name]) for p in behind})
                    for projection in behind:  # decoded before the transactions: it may read data keys
                        name, after = projection.name, positions[projection.name]
                        events = [d for d in decoded if d[0] > after and projection.wants(d[1])]
                        with shadows[name].transaction() as curs:
                            projection.apply(curs, events, Tracking(self.source, reached), after,
                                             model=shadows[name])
                        if name in advance:
                            advance[name](reached - after)
                        positions[name] = reached
        return {p.name: self._swap(p, shadows[p.name]) for p in projections}

    def _decode_for(self, batch: list[Notification],
                    behind: dict[str, tuple[ReadModelProjection, int]]) -> Decoded:
        """Decode, once, the events of ``batch`` that one of the projections (each with its
        position) still needs."""
        wanted = list(behind.values())
        return self._decoded([n for n in batch
                              if any(n.id > after and p.wants(n.topic) for p, after in wanted)])

    def _swap(self, projection: ReadModelProjection, shadow: ReadModel) -> int:
        live = projection.view
        with shadow.transaction() as curs:
            live.lock_for_swap(curs)
            shadow.lock_for_swap(curs)
            position = shadow.position(self.source, curs)
            target = live.position(self.source, curs)
            while position < target:  # the live view moved on during the rebuild
                batch = self.reader.read_settled(position, self.batch_size, target)
                reached = batch[-1].id
                projection.apply(curs, self._decode(batch, projection),
                                 Tracking(self.source, reached), position, model=shadow)
                position = reached
            shadow.replace(curs, live)
        log.info("rebuilt projection swapped in", projection=projection.name, position=position)
        return position

    def _has_shadow(self, shadow: ReadModel) -> bool:
        with shadow.transaction() as curs:
            return shadow.table_exists(curs, shadow.tracking_table)

    def _decode(self, batch: list[Notification],
                only: ReadModelProjection | None = None) -> Decoded:
        wanted = [only] if only else list(self.projections.values())
        return self._decoded([n for n in batch if any(p.wants(n.topic) for p in wanted)])

    def _decoded(self, notifications: list[Notification]) -> Decoded:
        """(position, topic, event) of each; the data keys they need read together."""
        return self._decoder(notifications)
