"""Records the relay's acknowledged position in the store, off the publishing path.

Publishing never waits for the tracking write (on SQLite a commit can queue behind other
writers for a while): the loop hands over each acknowledged position and a thread records the
latest one with the library's tracking recorder. The recorded position is therefore never ahead
of what the broker acknowledged; a crash re-publishes at most what was acknowledged since the
last write, with the same ``ce_id``s.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import Tracking

from adapters.leases import LeaseLost


class PositionRecorder:
    """A background writer of the latest acknowledged position (one tracking row per name)."""

    def __init__(self, tracking: Any, name: str, may_write: Callable[[], bool]) -> None:
        self.tracking = tracking
        self.name = name
        self.may_write = may_write  # the lease check, right before each write
        self.recorded = tracking.max_tracking_id(name) or 0
        self._pending = self.recorded
        self._error: BaseException | None = None
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="relay-tracking", daemon=True)
        self._thread.start()

    def advance(self, position: int) -> None:
        """Hand over a position whose events the broker acknowledged."""
        with self._cond:
            self.raise_error()
            self._pending = max(self._pending, position)
            self._cond.notify()

    def raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def reset(self) -> int:
        """Forget what is pending (lease changed hands): reload and return the stored position."""
        with self._cond:
            self.recorded = self._pending = self.tracking.max_tracking_id(self.name) or 0
            self._error = None
            return self.recorded

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until the pending position is recorded (or failed)."""
        with self._cond:
            self._cond.wait_for(lambda: self.recorded >= self._pending or self._error is not None,
                                timeout)
            self.raise_error()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(30)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._closed or (
                    self._pending > self.recorded and self._error is None))
                if self._pending <= self.recorded or self._error is not None:
                    return  # closed, nothing left to write
                position = self._pending
            try:
                if not self.may_write():
                    raise LeaseLost("lease lost before recording the position")
                self.tracking.insert_tracking(Tracking(application_name=self.name, notification_id=position))
            except BaseException as exc:  # noqa: BLE001 - handed to the publishing loop
                with self._cond:
                    self._error = exc
                    self._cond.notify_all()
                continue
            with self._cond:
                self.recorded = max(self.recorded, position)
                self._cond.notify_all()
