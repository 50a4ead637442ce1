"""Transcodings of the hub's value types in stored events and snapshots (by name: moving
them does not change what is stored)."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, Transcoding, UUIDAsHex

from aggregates.one_time_secret import OneTimeSecret


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class OneTimeSecretAsDict(Transcoding):
    """A user's live secret code or reset link in a snapshot (its digest, never the secret)."""

    type = OneTimeSecret
    name = "one_time_secret"

    def encode(self, obj: OneTimeSecret) -> dict[str, Any]:
        return dataclasses.asdict(obj)

    def decode(self, data: dict[str, Any]) -> OneTimeSecret:
        return OneTimeSecret(**data)


class FastJSONTranscoder(JSONTranscoder):
    """Decodes what a ``JSONTranscoder`` with the same transcodings decodes, faster: the
    library's UUID and datetime transcodings inline, and each UUID text decoded once (the
    ``UUID`` objects are immutable: events decoded together share them). Used where many
    events are decoded at once (the read-model runner); encoding is the library's."""

    def __init__(self, like: JSONTranscoder, uuids: int = 20_000) -> None:
        super().__init__()
        for transcoding in like.names.values():
            self.register(transcoding)
        self._uuids: dict[str, UUID] = {}
        self._most = uuids
        inline_uuid = type(self.names.get("uuid_hex")) is UUIDAsHex
        inline_datetime = type(self.names.get("datetime_iso")) is DatetimeAsISO
        known, most = self._uuids, uuids
        fromisoformat = datetime.fromisoformat

        def decode_obj(d: dict[str, Any]) -> Any:
            if len(d) != 2 or "_type_" not in d or "_data_" not in d:
                return d
            kind, data = d["_type_"], d["_data_"]
            if kind == "uuid_hex" and inline_uuid:
                found = known.get(data)
                if found is None:
                    if len(known) >= most:
                        known.clear()
                    found = known[data] = UUID(data)
                return found
            if kind == "datetime_iso" and inline_datetime:
                return fromisoformat(data)
            return self._decode_obj(d)  # the library's way (and its error for an unknown name)

        self.decoder = json.JSONDecoder(object_hook=decode_obj)

    def forget_uuids(self) -> None:
        """Let go of the UUIDs decoded so far (a batch's: kept longer, every garbage
        collection would have them to scan)."""
        self._uuids.clear()
