"""Rendered FHIR search answers, kept for as long as the log has not moved.

A searchset served from a read model that has applied the log up to its head is a function of
that head, of what the caller may see (its clinics, the online view) and of the request (base
URL, parameters in order). ``SearchAnswers`` keeps such answers under the head they were
computed for: a request that finds the same head finds the same answer; any write moves the
head, and the answers of older heads are dropped. Only answers that are pure reads belong
here: an answer that discloses a patient must be built (and its read recorded) every time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class AnswerKey:
    """What a search answer depends on, besides the log's head."""

    resource_type: str
    clinic_ids: frozenset[UUID] | None
    online: bool
    base: str
    pairs: tuple[tuple[str, str], ...]


class SearchAnswers:
    """Answers (the response bytes) of one log head, at most ``max_answers`` of them and
    ``max_bytes`` in all (the least recently used go first). Thread-safe."""

    def __init__(self, max_answers: int = 512, max_bytes: int = 16 * 1024 * 1024) -> None:
        self.max_answers = max_answers
        self.max_bytes = max_bytes
        self.head = -1
        self._answers: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, head: int, key: AnswerKey) -> bytes | None:
        with self._lock:
            self._move_to(head)
            if head != self.head:
                return None
            found = self._answers.get(key)
            if found is not None:
                self._answers.move_to_end(key)
            return found

    def put(self, head: int, key: AnswerKey, answer: bytes) -> None:
        """Keep ``answer``, computed from a read model that had applied the log up to ``head``
        (a request that saw an older head than the newest one keeps nothing)."""
        with self._lock:
            self._move_to(head)
            if head != self.head or len(answer) > self.max_bytes // 4:
                return
            replaced = self._answers.pop(key, None)
            self._bytes += len(answer) - (len(replaced) if replaced is not None else 0)
            self._answers[key] = answer
            while len(self._answers) > self.max_answers or self._bytes > self.max_bytes:
                _, dropped = self._answers.popitem(last=False)
                self._bytes -= len(dropped)

    def __len__(self) -> int:
        return len(self._answers)

    def _move_to(self, head: int) -> None:
        if head > self.head:
            self.head = head
            self._answers.clear()
            self._bytes = 0
