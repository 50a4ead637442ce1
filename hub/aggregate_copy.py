"""Private copies of cached aggregates (``HubApplication.load``)."""

from __future__ import annotations

import copy
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

A = TypeVar("A", bound=Aggregate)


#: Values shared, not copied, when an aggregate is copied out of the cache: they never change.
_IMMUTABLE = (UUID, datetime, date, str, int, float, bool, bytes, Decimal, type(None))


#: The exact types of ``_IMMUTABLE``: a container's items of these are shared without a call
#: (a busy slot's list of booked appointment ids is copied at every booking).
_SHARED = frozenset(_IMMUTABLE)


def _copied(value: Any) -> Any:
    """A copy of an aggregate's state value: containers rebuilt, immutable values shared."""
    if isinstance(value, _IMMUTABLE):
        return value
    kind = type(value)
    if kind is list:
        if _SHARED.issuperset(map(type, value)):  # e.g. a slot's booked ids: one C-level pass
            return value.copy()
        return [v if type(v) in _SHARED else _copied(v) for v in value]
    if kind is dict:
        return {k: v if type(v) in _SHARED else _copied(v) for k, v in value.items()}
    if kind is set:
        return {v if type(v) in _SHARED else _copied(v) for v in value}
    if kind is tuple or kind is frozenset:
        return kind(_copied(v) for v in value)
    return copy.deepcopy(value)


def copy_aggregate(aggregate: A) -> A:
    """A private copy of a cached aggregate, so that a refused command never leaves a
    half-changed aggregate in the cache (what the library's ``deepcopy`` does, without
    rebuilding every UUID and instant through ``__reduce_ex__``)."""
    twin = object.__new__(type(aggregate))
    twin.__dict__.update({k: v if type(v) in _SHARED else _copied(v) for k, v in aggregate.__dict__.items()})
    return twin
