"""Data keys in SQL (SQLite and PostgreSQL): wrapped at rest, one per subject, destroyed = erased."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import Mapper

from adapters.eventstore import persistence_env
from adapters.keystore import KeyStoreCorrupt, SubjectErased
from adapters.personal_data import PersonalDataMapper
from adapters.sqlkeystore import SqlKeyStore
from tests.unit.privacy.test_personal_data import POLICY, Person

WRAPPING_KEY = bytes(range(32))


class People(Application[UUID]):
    """An application on a real store whose personal fields are sealed with SQL-kept keys."""

    def __init__(self, env: dict[str, str], wrapping_key: bytes = WRAPPING_KEY) -> None:
        self.wrapping_key = wrapping_key
        super().__init__(env)

    def construct_mapper(self) -> Mapper[UUID]:
        return PersonalDataMapper(self.construct_transcoder(), policy=POLICY, keys=self.key_store)

    @property
    def key_store(self) -> SqlKeyStore:
        if not hasattr(self, "_keys"):
            self._keys = SqlKeyStore(self.factory.datastore, self.wrapping_key)  # type: ignore[attr-defined]
        return self._keys


@pytest.fixture
def people(store_url: str) -> Iterator[People]:
    app = People(persistence_env(store_url, pool_size=4))
    yield app
    app.close()


def dump(store_url: str, logical: bool = False) -> bytes:
    """What the database holds for this store: the SQLite files byte for byte (or their SQL
    dump when ``logical``), or ``pg_dump`` of the schema (bytea columns in hex)."""
    if store_url.startswith("sqlite"):
        path = Path(store_url[len("sqlite:///"):])
        if logical:
            with closing(sqlite3.connect(path)) as connection:
                return "\n".join(connection.iterdump()).encode()
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    parts = urlsplit(store_url)
    schema = parse_qs(parts.query)["schema"][0]
    assert shutil.which("pg_dump"), "pg_dump is needed to check what PostgreSQL holds"
    return subprocess.run(
        ["pg_dump", "--data-only", "--schema", schema, parts._replace(query="").geturl()],
        check=True, capture_output=True, env={**os.environ, "PGCONNECT_TIMEOUT": "5"},
    ).stdout


def test_one_key_per_subject_even_when_writers_race(people: People) -> None:
    keys = people.key_store
    subject = uuid4()
    found: list[bytes] = []
    threads = [threading.Thread(target=lambda: found.append(keys.key_or_create(subject)))
               for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(found)) == 1 and keys.key(subject) == found[0]
    assert keys.key(uuid4()) is None


def test_keys_are_wrapped_and_open_only_with_the_wrapping_key(people: People, store_url: str) -> None:
    subject = uuid4()
    key = people.key_store.key_or_create(subject)
    assert key not in dump(store_url)
    stranger = SqlKeyStore(people.factory.datastore, bytes(32))  # type: ignore[attr-defined]
    with pytest.raises(KeyStoreCorrupt):
        stranger.key(subject)


def test_erasure_leaves_no_personal_byte_in_the_database(people: People, store_url: str) -> None:
    marie = Person("Marie Tremblay", "marie.tremblay@example.ca", "1985-01-01", "fr")
    marie.rename("Marie Gagnon")
    jean = Person("Jean Roy", "jean.roy@example.ca", "1990-02-02", "en")
    people.save(marie, jean)
    key = people.key_store.key(marie.id)
    assert key is not None
    before = dump(store_url)
    assert b"Tremblay" not in before and b"marie.tremblay" not in before  # sealed from the start

    assert people.key_store.destroy(marie.id)
    people.mapper.forget(marie.id)  # type: ignore[attr-defined]

    after = dump(store_url)
    assert key not in after and key.hex().encode() not in after
    assert people.key_store.erased(marie.id) and people.key_store.key(marie.id) is None
    erased: Person = people.repository.get(marie.id)
    assert (erased.name, erased.email, erased.birth_date) == ("", None, None)
    intact: Person = people.repository.get(jean.id)
    assert (intact.name, intact.email) == ("Jean Roy", "jean.roy@example.ca")
    erased.rename("Marie Encore")
    with pytest.raises(SubjectErased):
        people.save(erased)
    # another process with a fresh cache reads the same erased state
    other = People(persistence_env(store_url, pool_size=2))
    try:
        assert other.repository.get(marie.id).name == ""
    finally:
        other.close()


def test_linked_subjects_use_their_owners_key_and_go_with_it(people: People) -> None:
    keys = people.key_store
    patient, appointment, stranger = uuid4(), uuid4(), uuid4()
    keys.link(appointment, patient)
    keys.link(appointment, stranger)  # the first link stays
    assert keys.key_or_create(appointment) == keys.key(patient) is not None
    assert keys.destroy(patient)
    assert keys.erased(appointment) and keys.key(appointment) is None
    with pytest.raises(SubjectErased):
        keys.key_or_create(appointment)


def test_many_keys_read_together_are_the_keys_read_one_by_one(people: People) -> None:
    """A rebuild reads a chunk's data keys in one query (``keys``, ``to_domain_events``): the
    same keys and the same opened (or erased) events as one at a time."""
    keys = people.key_store
    alive, erased, linked, unknown = uuid4(), uuid4(), uuid4(), uuid4()
    keys.key_or_create(alive)
    keys.key_or_create(erased)
    keys.link(linked, alive)
    keys.destroy(erased)
    subjects = [alive, erased, linked, unknown]
    assert keys.keys(subjects) == {s: keys.key(s) for s in subjects}
    assert keys.keys(subjects)[linked] == keys.key(alive) is not None
    assert keys.keys(subjects, chunk=3) == keys.keys(subjects)

    anne = Person("Anne Hébert", "anne@exemple.ca", "1916-08-01", "fr")
    gone = Person("Gaston Miron", "gaston@exemple.ca", "1928-01-08", "fr")
    people.save(anne, gone)
    keys.destroy(gone.id)
    people.mapper.forget_all()  # type: ignore[attr-defined]  # as an erasure does
    stored = people.recorder.select_notifications(start=1, limit=100)
    one_by_one = [vars(people.mapper.to_domain_event(s)) for s in stored]
    people.mapper.forget_all()  # type: ignore[attr-defined]
    together = [vars(e) for e in people.mapper.to_domain_events(stored)]  # type: ignore[attr-defined]
    assert together == one_by_one
    assert [e["name"] for e in together] == ["Anne Hébert", ""]
