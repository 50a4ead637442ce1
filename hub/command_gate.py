"""How many commands of one process run at once, in what order, and their retries.

A command (load, decide, save) is Python work under the GIL with two short waits on the
store. Thirty-two request threads each running one compete for the GIL: CPython hands it
over every few milliseconds to whichever thread the OS wakes, so a booking's latency depends
on luck and the handovers themselves cost CPU. The gate lets ``width`` commands run (two
keep the core busy while one waits on PostgreSQL) and queues the others first come, first
served: each waits for the commands ahead of it, no more.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import structlog
from eventsourcing.persistence import RecordConflictError

from aggregates.errors import DomainError
from hub.attempt_reads import attempt_reads

log = structlog.get_logger("hub")
R = TypeVar("R")


class CommandGate:
    """A first-come, first-served semaphore of ``width`` places (0: no limit), re-entrant
    per thread: a command running another command inside it does not queue again."""

    def __init__(self, width: int) -> None:
        if width < 0:
            raise ValueError("the command gate's width is 0 (no limit) or more")
        self.width = width
        self._free = width
        self._lock = threading.Lock()
        self._waiting: deque[threading.Lock] = deque()
        self._inside = threading.local()

    @contextmanager
    def entered(self) -> Iterator[None]:
        """Hold a place while the block runs (the first in the queue gets the next free one)."""
        depth: int = getattr(self._inside, "depth", 0)
        gated = bool(self.width) and not depth
        if gated:
            self._enter()
        self._inside.depth = depth + 1
        try:
            yield
        finally:
            self._inside.depth = depth
            if gated:
                self._leave()

    def queued(self) -> int:
        """Commands waiting for a place now."""
        with self._lock:
            return len(self._waiting)

    def _enter(self) -> None:
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                return
            turn = threading.Lock()
            turn.acquire()
            self._waiting.append(turn)
        turn.acquire()  # released by the command leaving, which hands its place over

    def _leave(self) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().release()
            else:
                self._free += 1


class StoreBusy(DomainError):
    """Other writers kept winning the race for the same aggregate; try again shortly."""

    code = "store_busy"


def retrying(command: Callable[[], R], what: str, attempts: int, gate: CommandGate) -> R:
    """Run ``command`` (load, decide, save) again when a concurrent writer won: each attempt
    inside ``gate``, the random back-off between two outside it."""
    for attempt in range(attempts):
        reads = attempt_reads.set((*attempt_reads.get(), {}))
        try:
            with gate.entered():
                return command()
        except RecordConflictError:
            log.debug("write conflict, retrying", command=what, attempt=attempt + 1)
            time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 10)))
        finally:
            attempt_reads.reset(reads)
    log.warning("write conflict retries exhausted", command=what)
    raise StoreBusy(f"{what}: too many concurrent writers on the same slot; retry shortly")
