"""One read-model runner per database among the API processes (``hub serve --workers N``).

Each ``hub serve`` process used to run its own runner. They raced for every batch by
compare-and-set on the read models' positions: with N processes each batch was read, decoded
and applied N times and all but one rolled back, CPU spent for nothing on the cores the
requests need. Now the process whose session holds a PostgreSQL advisory lock (one per
store schema) runs the runner; the others stand by and try again every ``retry_seconds``.
When the leader's session ends (process stopped or killed, connection lost), PostgreSQL
releases the lock and a standby takes over. A standby still waits for the read models when a
request asks to read its own writes: they are kept, by the leader.

On SQLite and in memory (one process) the runner simply starts.
"""

from __future__ import annotations

import threading

import structlog

from adapters.election import LockLost, session_lock_for
from hub.readmodels.runner import Projector

log = structlog.get_logger("hub.readmodels.leader")


class Leadership:
    """Runs ``projector`` in this process while it holds the store's election lock."""

    def __init__(self, projector: Projector, retry_seconds: float = 2.0) -> None:
        self.projector = projector
        self.retry_seconds = retry_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.leading = False
        self._lock = session_lock_for(projector.app.recorder, "hub read-model runner")

    def start(self) -> None:
        if self._lock is None:
            self.leading = True
            self.projector.start()
            return
        try:  # the first round at once: a leader follows from its first request on
            if self._lock.try_acquire():
                self._lead()
            else:
                self.projector.kept_elsewhere = True
        except LockLost as exc:
            log.warning("read-model runner election: cannot connect; trying again", error=str(exc))
        self._thread = threading.Thread(target=self._run, name="read-model-election", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self._lock is not None  # noqa: S101 - the thread runs only with a lock
        while not self._stop.is_set():
            try:
                if self.leading or self._lock.try_acquire():
                    if not self.leading:
                        self._lead()
                    while not self._stop.wait(self.retry_seconds):
                        self._lock.check()  # the session (and so the lock) still lives
                else:
                    self.projector.kept_elsewhere = True  # by the process holding the lock
                    self._stop.wait(self.retry_seconds)
                    continue
            except LockLost as exc:
                log.warning("read-model runner election: connection lost; trying again",
                            error=str(exc))
            self._step_down()
            self._stop.wait(self.retry_seconds)
        self._lock.close()

    def _lead(self) -> None:
        self.projector.kept_elsewhere = False
        self.leading = True
        self.projector.start()
        log.info("read-model runner: this process follows the log")

    def _step_down(self) -> None:
        if self.leading:
            self.projector.stop()
            self.leading = False
        self.projector.kept_elsewhere = False

    def close(self) -> None:
        """Stop campaigning and following (the lock goes with the session)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._step_down()
