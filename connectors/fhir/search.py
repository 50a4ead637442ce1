"""FHIR search plumbing: parameters (token, date prefixes, ``_count``/``_offset``) and
searchset Bundles with self/next/previous links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID
from zoneinfo import ZoneInfo

from connectors.fhir.outcome import FhirError

DEFAULT_COUNT = 50
MAX_COUNT = 200
#: Parameters every search accepts.
COMMON = frozenset({"_count", "_offset", "_format", "_id"})


@dataclass(frozen=True)
class Query:
    """The query string of one search, as (name, value) pairs (names may repeat)."""

    pairs: tuple[tuple[str, str], ...]

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.pairs if k == name]

    def one(self, name: str) -> str | None:
        found = self.values(name)
        if len(found) > 1:
            raise FhirError(400, "invalid", f"search parameter {name} is given more than once")
        return found[0] if found else None

    def check(self, allowed: frozenset[str], resource_type: str) -> None:
        unknown = sorted({k for k, _ in self.pairs} - allowed - COMMON)
        if unknown:
            raise FhirError(
                400, "not-supported",
                f"{resource_type} search does not support {', '.join(unknown)}; supported: "
                f"{', '.join(sorted(allowed | COMMON))}",
                code="unsupported_search_parameter",
            )

    def paging(self) -> tuple[int, int]:
        return (_integer(self.one("_count"), "_count", DEFAULT_COUNT, 1, MAX_COUNT),
                _integer(self.one("_offset"), "_offset", 0, 0, 10**9))


def _integer(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise FhirError(400, "invalid", f"{name} must be an integer; got {value!r}") from None
    if not low <= number <= high:
        raise FhirError(400, "invalid", f"{name} must be between {low} and {high}; got {number}")
    return number


def reference_id(value: str, resource_type: str, name: str) -> UUID:
    """``Schedule/ID``, a full URL ending so, or a bare ``ID``."""
    tail = value.rstrip("/").split("/")
    if len(tail) >= 2 and tail[-2] != resource_type:
        raise FhirError(400, "invalid", f"{name} must reference a {resource_type}; got {value!r}")
    return uuid_of(tail[-1], name)


def uuid_of(value: str, name: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise FhirError(400, "invalid", f"{name}: {value!r} is not a hub id") from None


def token(value: str) -> tuple[str | None, str]:
    """``system|value`` → (system, value); ``value`` alone → (None, value)."""
    if "|" in value:
        system, _, code = value.partition("|")
        if not code:
            raise FhirError(400, "invalid", f"token {value!r} has no value after '|'")
        return system or None, code
    if not value:
        raise FhirError(400, "invalid", "an empty token matches nothing")
    return None, value


_PREFIXES = ("ge", "gt", "le", "lt", "eq")


def date_range(values: list[str], zone: ZoneInfo, name: str) -> tuple[datetime | None, datetime | None]:
    """Fold ``ge``/``gt``/``le``/``lt``/``eq`` date parameters into a half-open [low, high)."""
    low: datetime | None = None
    high: datetime | None = None
    for raw in values:
        prefix = raw[:2] if raw[:2] in _PREFIXES else "eq"
        text = raw[2:] if raw[:2] in _PREFIXES else raw
        start, end = _instant_range(text, zone, name)
        if prefix in ("ge", "eq"):
            low = start if low is None else max(low, start)
        if prefix == "gt":
            low = end if low is None else max(low, end)
        if prefix in ("lt",):
            high = start if high is None else min(high, start)
        if prefix in ("le", "eq"):
            high = end if high is None else min(high, end)
    return low, high


def _instant_range(text: str, zone: ZoneInfo, name: str) -> tuple[datetime, datetime]:
    """A day (local zone) or an instant; an instant without an offset is refused."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime.combine(day, time(0), zone)
            return start, start + timedelta(days=1)
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FhirError(400, "invalid", f"{name}: {text!r} is not a date (YYYY-MM-DD) or an instant") from None
    if instant.tzinfo is None:
        raise FhirError(400, "invalid", f"{name}: {text!r} needs a time zone offset (e.g. -05:00 or Z)")
    return instant, instant + timedelta(microseconds=1)


def searchset(
    resources: list[dict[str, Any]], base: str, resource_type: str, query: Query,
) -> dict[str, Any]:
    """One page of ``resources`` (all matches, in order) as a searchset Bundle with links."""
    count, offset = query.paging()
    page = resources[offset:offset + count]
    kept = [(k, v) for k, v in query.pairs if k not in ("_count", "_offset")]

    def link(relation: str, at: int) -> dict[str, str]:
        params = urlencode([*kept, ("_count", str(count)), ("_offset", str(at))])
        return {"relation": relation, "url": f"{base}/{resource_type}?{params}"}

    links = [link("self", offset)]
    if offset + count < len(resources):
        links.append(link("next", offset + count))
    if offset > 0:
        links.append(link("previous", max(0, offset - count)))
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "link": links,
        "entry": [
            {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r,
             "search": {"mode": "match"}}
            for r in page
        ],
    }
