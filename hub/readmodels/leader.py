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

from adapters.leases import Lease
from hub.readmodels.runner import Projector

log = structlog.get_logger("hub.readmodels.leader")


class Leadership:
    """Runs ``projector`` in this process while it holds ``lease`` (the relay's kind of
    lease: on PostgreSQL a session advisory lock on a connection of its own, whose
    ``acquire`` also tells whether a held lock's session still lives)."""

    def __init__(self, projector: Projector, lease: Lease, retry_seconds: float = 2.0) -> None:
        self.projector = projector
        self.lease = lease
        self.retry_seconds = retry_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.leading = False

    def start(self) -> None:
        self._round()  # at once: a leader follows from its first request on
        self._thread = threading.Thread(target=self._run, name="read-model-election", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.retry_seconds):
            self._round()

    def _round(self) -> None:
        if self.lease.acquire():
            if not self.leading:
                self.projector.kept_elsewhere = False
                self.leading = True
                self.projector.start()
                log.info("read-model runner: this process follows the log", holder=self.lease.holder)
            return
        if self.leading:
            log.warning("read-model runner: lease lost; standing by", holder=self.lease.holder)
            self._step_down()
        self.projector.kept_elsewhere = True  # by the process holding the lease

    def _step_down(self) -> None:
        if self.leading:
            self.projector.stop()
            self.leading = False
        self.projector.kept_elsewhere = False

    def close(self) -> None:
        """Stop campaigning and following, and give the lease back."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._step_down()
        self.lease.release()
