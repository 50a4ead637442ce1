"""Identifier index ids: stable under one secret, unrelated to the NAM without it."""

from __future__ import annotations

from uuid import NAMESPACE_URL, uuid5

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregates.pseudonyms import digest_index_id, identifier_digest

SECRET = b"s" * 32
nams = st.from_regex(r"[A-Z]{4}[0-9]{8}", fullmatch=True)


@given(nams, nams)
def test_same_identifier_same_id_and_different_identifiers_differ(a: str, b: str) -> None:
    assert digest_index_id(identifier_digest(SECRET, "NAM", a)) == digest_index_id(
        identifier_digest(SECRET, "NAM", a))
    if a != b:
        assert identifier_digest(SECRET, "NAM", a) != identifier_digest(SECRET, "NAM", b)


@given(nams)
def test_the_id_is_neither_the_old_uuid5_nor_the_same_under_another_secret(nam: str) -> None:
    digest = identifier_digest(SECRET, "NAM", nam)
    assert nam not in digest and nam.encode().hex() not in digest
    assert digest_index_id(digest) != uuid5(NAMESPACE_URL, f"hub:patient-identifier:NAM|{nam}")
    assert digest != identifier_digest(b"t" * 32, "NAM", nam)
    assert digest != identifier_digest(SECRET, "RAMQ", nam)  # the authority is part of it


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        identifier_digest(b"CHANGE_ME", "NAM", "TREM85010112")


def test_processes_starting_together_agree_on_one_root_key(tmp_path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from adapters.keystore import read_or_create_key_file

    path = str(tmp_path / "keys" / "privacy.key")
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: read_or_create_key_file(path), range(16)))
    assert len(keys) == 1 and len(next(iter(keys))) == 32
    assert oct((tmp_path / "keys" / "privacy.key").stat().st_mode)[-3:] == "600"
    assert [p.name for p in (tmp_path / "keys").iterdir()] == ["privacy.key"]
