"""The relay's pure parts: CloudEvents message shape, and never reading past an unsettled hole."""

from __future__ import annotations

import json
from uuid import uuid4

from eventsourcing.persistence import Notification

from hub.follow import LogReader
from hub.relay.messages import to_message
from hub.scheduling.service import Scheduling
from projections.eventlog import describe, event_id
from tests.support.scheduling import ADDRESS


def test_message_is_cloudevents_binary_mode_keyed_by_aggregate(memory_app: Scheduling) -> None:
    clinic = memory_app.register_clinic("Clinique", ADDRESS, "418-555-0000", "clinic").id
    notification = memory_app.recorder.select_notifications(start=1, limit=1)[0]
    record = describe(notification, memory_app.mapper)

    message = to_message(record, "hub", "/hub")

    headers = {k: v.decode() for k, v in message.headers}
    assert message.topic == "hub.clinic" and message.key == str(clinic).encode()
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_id"] == str(event_id(clinic, 1)) == json.loads(message.value)["id"]
    assert headers["ce_type"] == "hub.clinic.Registered.v1"
    assert (headers["hub_position"], headers["hub_version"]) == ("1", "1")
    assert headers["content-type"] == "application/json"
    assert json.loads(message.value) == record.as_dict()


class FakeLog:
    """A notification log with chosen ids (the rows themselves don't matter to the reader)."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids

    def select_notifications(self, start: int, limit: int, stop: int | None = None) -> list[Notification]:
        ids = [i for i in sorted(self.ids) if i >= start and (stop is None or i <= stop)][:limit]
        return [Notification(id=i, originator_id=uuid4(), originator_version=1, topic="t", state=b"")
                for i in ids]


class Guard:
    serialised = False

    def __init__(self, answers: list[int | None]) -> None:
        self.answers = answers
        self.asked = 0

    def settle(self) -> int | None:
        self.asked += 1
        return self.answers.pop(0) if self.answers else None


def ids(notifications: list[Notification]) -> list[int]:
    return [n.id for n in notifications]


def test_reader_stops_before_a_hole_until_it_is_settled() -> None:
    log, guard = FakeLog([1, 2, 4, 5]), Guard([None])
    reader = LogReader(log, guard, batch_size=10)
    assert ids(reader.read(0)) == [1, 2]  # 3 may still commit
    assert guard.asked == 1
    log.ids.append(3)  # it did
    assert ids(reader.read(2)) == [3, 4, 5]


def test_reader_passes_a_hole_settled_as_final_and_only_up_to_the_settled_position() -> None:
    log, guard = FakeLog([1, 2, 4, 5, 7]), Guard([5, None])
    reader = LogReader(log, guard, batch_size=10)
    assert ids(reader.read(0)) == [1, 2, 4, 5]  # 3 is final (rolled back); 6 is not settled
    assert reader.settled == 5


def test_serialised_logs_never_ask() -> None:
    guard = Guard([])
    guard.serialised = True
    assert ids(LogReader(FakeLog([1, 3, 4]), guard, batch_size=2).read(0)) == [1, 3]
    assert guard.asked == 0

