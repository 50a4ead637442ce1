"""Re-publishing a range of the log to Kafka (``hub relay replay``), for a consumer that lost data.

The events go out exactly as the relay sent them: same topic (or the same topics under another
prefix), key, value and CloudEvents headers, the same ``ce_id``; so a consumer that drops
duplicates by ``ce_id`` can take the whole range again. Nothing else changes: the relay's
tracked position is neither read nor moved and no lease is taken, so a replay runs beside the
relay. A replayed event reaches the topic after the later events the relay already published:
consumers that keep the last ``hub_version`` per aggregate ignore it, the others use ``ce_id``.

Only the settled part of the log is read (every hole below it is final, ``hub.follow``), in
batches published with acks=all: a broker failure stops the replay and says how far it got.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adapters.kafka import KafkaPublisher
from aggregates.errors import InvalidValue
from hub.follow import LogReader
from hub.relay.messages import to_message
from projections.eventlog import describe

#: Kafka topic names: letters, digits, ``.``, ``_`` and ``-`` (the aggregate type is appended).
TOPIC_PREFIX = re.compile(r"[A-Za-z0-9._-]{1,200}")


@dataclass(frozen=True)
class ReplayReport:
    """What a replay published: how many events, and the positions of the first and last."""

    published: int
    first: int | None
    last: int | None
    start: int
    stop: int
    topic_prefix: str


class Replay:
    """Publishes the stored events of positions ``start..stop`` again, in log order."""

    def __init__(self, app: Any, publisher: KafkaPublisher, reader: LogReader, topic_prefix: str,
                 ce_source: str = "/hub", batch_size: int = 500) -> None:
        if not TOPIC_PREFIX.fullmatch(topic_prefix):
            raise InvalidValue(
                f"topic prefix {topic_prefix!r} is not usable in a Kafka topic name "
                "(letters, digits, '.', '_' and '-', at most 200)", topic_prefix=topic_prefix)
        self.app = app
        self.publisher = publisher
        self.reader = reader
        self.topic_prefix = topic_prefix
        self.ce_source = ce_source
        self.batch_size = batch_size
        #: The last position acknowledged by the broker (``start - 1`` before the first batch).
        self.reached = 0

    def check(self, start: int, stop: int) -> None:
        """Refuse a range that is empty or goes beyond the log's head, before publishing."""
        if start < 1:
            raise InvalidValue("--from must be a log position, 1 or more", start=start)
        if stop < start:
            raise InvalidValue(f"--to ({stop}) is before --from ({start})", start=start, stop=stop)
        head = self.reader.head()
        if stop > head:
            raise InvalidValue(f"--to ({stop}) is beyond the log's head ({head})", stop=stop, head=head)

    def run(self, start: int, stop: int, progress: Callable[[int], None] | None = None) -> ReplayReport:
        """Publish positions ``start..stop``; ``progress`` gets each batch's count of positions."""
        self.check(start, stop)
        self.reader.settled_head()  # waits for writers holding positions at or below ``stop``
        self.reached = after = start - 1
        published, first, last = 0, None, None
        sealed = self.app.sealed_mapper()  # as the relay: personal fields only sealed
        while after < stop:
            batch = self.reader.read_settled(after, self.batch_size, stop)
            if not batch:
                break
            self.publisher.publish([
                to_message(describe(n, sealed), self.topic_prefix, self.ce_source)
                for n in batch
            ])
            first = batch[0].id if first is None else first
            last = batch[-1].id
            published += len(batch)
            reached = batch[-1].id if len(batch) == self.batch_size else stop
            if progress:
                progress(reached - after)
            self.reached = after = reached
        return ReplayReport(published, first, last, start, stop, self.topic_prefix)
