"""A hub recorder whose transactions can be held open after their insert (commit-order tests).

``hold()`` makes the next save of the calling thread stop inside its transaction, after its
events took their log positions and before it commits, until ``release()``: a real booking that
takes a low position and commits after a later, higher one.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent

from adapters.eventstore import persistence_env
from adapters.pgrecorder import ConcurrentProcessRecorder
from hub.scheduling.service import Scheduling

TOPIC = "tests.support.held:HeldRecorder"


class Gate:
    def __init__(self) -> None:
        self.thread: threading.Thread | None = None
        self.inserted = threading.Event()
        self.go = threading.Event()
        self.positions: list[int] = []


GATE = Gate()


class HeldRecorder(ConcurrentProcessRecorder):
    def _one_transaction(self, conn: Any) -> Any:
        return conn.transaction()  # held open after the insert, until the gate opens

    def _fetch_ids_after_insert_events(self, curs: Any, stored_events: Sequence[StoredEvent],
                                       **kwargs: Any) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        self._inserted(list(ids or []))
        return ids

    def _inserted(self, ids: list[int]) -> None:
        if GATE.thread is threading.current_thread():
            GATE.thread = None
            GATE.positions = ids
            GATE.inserted.set()
            GATE.go.wait(30)


def held_app(url: str) -> Scheduling:
    env = persistence_env(url, pool_size=6)
    env.update(PROCESS_RECORDER_TOPIC=TOPIC, AGGREGATE_CACHE_MAXSIZE="1000", AGGREGATE_CACHE_FASTFORWARD="y")
    return Scheduling(env=env)


def hold(thread: threading.Thread) -> Gate:
    GATE.__init__()  # type: ignore[misc]
    GATE.thread = thread
    return GATE
