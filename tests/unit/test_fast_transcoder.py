"""The runner's transcoder decodes what the application's transcoder decodes, to equal values."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from eventsourcing.persistence import TranscodingNotRegisteredError
from hypothesis import given
from hypothesis import strategies as st

from adapters.transcodings import FastJSONTranscoder
from tests.support.scheduling import make_app

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=8), st.uuids(),
    st.dates(), st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))])),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
)
states = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from(["a", "_type_", "_data_", "b"]), inner, max_size=3)), max_leaves=12)


@pytest.fixture(scope="module")
def transcoder():
    app = make_app("memory://")
    yield app.mapper.transcoder
    app.close()


@given(state=st.dictionaries(st.text(max_size=6), states, max_size=6))
def test_decodes_like_the_library(transcoder, state: dict) -> None:
    fast = FastJSONTranscoder(transcoder, uuids=3)  # a small cache: cleared as it fills
    encoded = transcoder.encode(state)
    expected = outcome(transcoder.decode, encoded)  # keys named _type_ may not decode at all
    assert outcome(fast.decode, encoded) == expected
    assert outcome(fast.decode, encoded) == expected  # with the UUIDs it knew


def outcome(decode: Callable[[bytes], Any], data: bytes) -> tuple[str, Any]:
    try:
        return "decoded", decode(data)
    except Exception as exc:  # noqa: BLE001 - the same failure is the expected outcome
        return "failed", (type(exc), str(exc))


def test_an_unknown_type_name_fails_as_in_the_library(transcoder) -> None:
    fast = FastJSONTranscoder(transcoder)
    data = b'{"x": {"_type_": "not_registered", "_data_": 1}, "y": {"_type_": "uuid_hex"}}'
    with pytest.raises(TranscodingNotRegisteredError):
        transcoder.decode(data)
    with pytest.raises(TranscodingNotRegisteredError):
        fast.decode(data)
    half = b'{"y": {"_type_": "uuid_hex", "z": 1}, "d": {"_type_": "date_iso", "_data_": "2026-01-02"}}'
    assert fast.decode(half) == transcoder.decode(half) == {
        "y": {"_type_": "uuid_hex", "z": 1}, "d": date(2026, 1, 2)}
    assert isinstance(fast.decode(b'{"t": {"_type_": "datetime_iso", "_data_": "2026-01-02T03:04:05+00:00"}}')["t"],
                      datetime)
    assert fast.decode(b'{"n": {"_type_": "decimal_str", "_data_": "1.50"}}') == {"n": Decimal("1.50")}
