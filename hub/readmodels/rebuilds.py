"""Rebuilding a read model in the background of a running server (the ops console's button).

The same ``Projector.rebuild`` as ``hub projections rebuild``: shadow tables filled from position
zero in checkpointed chunks, then swapped in; readers keep the old view until the swap. One
rebuild per projection at a time in this process; its progress (position reached of the target)
is kept for the page to show, with the outcome once it ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import structlog

from aggregates.errors import Conflict, NotFound
from hub.readmodels.runner import Projector

log = structlog.get_logger("hub.readmodels.rebuilds")


class RebuildRunning(Conflict):
    code = "rebuild_running"


class UnknownProjection(NotFound):
    code = "unknown_projection"


@dataclass(frozen=True)
class Rebuild:
    """One rebuild: where it stands (``position`` of ``target``) and how it ended."""

    name: str
    started_at: datetime
    by: str
    position: int = 0
    target: int | None = None
    #: Position the rebuilt read model was swapped in at (when it succeeded).
    swapped_at: int | None = None
    failed: str | None = None
    ended_at: datetime | None = None

    @property
    def running(self) -> bool:
        return self.ended_at is None


class Rebuilds:
    """Starts rebuilds in threads and remembers the latest one of each projection."""

    def __init__(self, projector: Projector, chunk: int = 20_000,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.projector = projector
        self.chunk = chunk
        self.clock = clock
        self._latest: dict[str, Rebuild] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def start(self, name: str, by: str) -> Rebuild:
        """Start rebuilding ``name`` (refused while one of it runs); ``by`` is who asked."""
        if name not in self.projector.projections:
            raise UnknownProjection(f"no projection named {name!r}; known: "
                                    f"{', '.join(self.projector.projections)}", projection=name)
        with self._lock:
            current = self._latest.get(name)
            if current is not None and current.running:
                raise RebuildRunning(f"a rebuild of {name} is already running "
                                     f"(position {current.position} of {current.target})",
                                     projection=name)
            job = Rebuild(name, self.clock(), by)
            self._latest[name] = job
            thread = threading.Thread(target=self._run, args=(name,), name=f"rebuild-{name}",
                                      daemon=True)
            self._threads[name] = thread
        log.info("projection rebuild started", projection=name, by=by)
        thread.start()
        return job

    def latest(self) -> dict[str, Rebuild]:
        """The latest rebuild of each projection started here (running or ended)."""
        with self._lock:
            return dict(self._latest)

    def wait(self, name: str, timeout: float) -> Rebuild | None:
        """Block until the rebuild of ``name`` ended (or ``timeout``); its state then."""
        thread = self._threads.get(name)
        if thread is not None:
            thread.join(timeout)
        return self.latest().get(name)

    def close(self, timeout: float = 5.0) -> None:
        """Give running rebuilds a moment (a stopped one resumes from its last chunk)."""
        for thread in list(self._threads.values()):
            thread.join(timeout)

    def _update(self, name: str, **changes: object) -> None:
        with self._lock:
            self._latest[name] = replace(self._latest[name], **changes)  # type: ignore[arg-type]

    def _run(self, name: str) -> None:
        reached = 0

        def progress(position: int, target: int) -> Callable[[int], None]:
            nonlocal reached
            reached = position
            self._update(name, position=position, target=target)

            def advance(count: int) -> None:
                nonlocal reached
                reached += count
                self._update(name, position=reached)

            return advance

        try:
            swapped = self.projector.rebuild(name, chunk=self.chunk, progress=progress)
        except Exception as exc:  # noqa: BLE001 - told on the page; the rebuild can be started again
            log.exception("projection rebuild failed", projection=name)
            self._update(name, failed=type(exc).__name__, ended_at=self.clock())
            return
        log.info("projection rebuild done", projection=name, position=swapped)
        self._update(name, swapped_at=swapped, position=max(reached, swapped), ended_at=self.clock())
