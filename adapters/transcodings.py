"""Transcodings of the hub's value types in stored events and snapshots (by name: moving
them does not change what is stored)."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from eventsourcing.persistence import Transcoding

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
