"""Crypto-shredding mapper: personal fields sealed per subject, unreadable once the key is gone."""

from __future__ import annotations

import base64
import json
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.cryptography import AESCipher
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.keystore import MemoryKeyStore, SubjectErased
from adapters.personal_data import SEALED, PersonalDataMapper
from aggregates.personal_fields import FieldPolicy, PersonalFields


class Person(Aggregate):
    @event("Registered")
    def __init__(self, name: str, email: str | None, birth_date: str | None, language: str) -> None:
        self.name, self.email, self.birth_date, self.language = name, email, birth_date, language

    @event("Renamed")
    def rename(self, name: str) -> None:
        self.name = name

    @event("Moved")
    def move(self, city: str) -> None:
        self.city = city


class Card(Aggregate):
    """Another aggregate whose events are about a person (subject named by a field)."""

    @event("Issued")
    def __init__(self, person_id: UUID, holder: str) -> None:
        self.person_id, self.holder = person_id, holder


class Visit(Aggregate):
    """An aggregate linked to its person: what is sealed for the visit uses the person's key."""

    @event("Booked")
    def __init__(self, person_id: UUID) -> None:
        self.person_id = person_id


class Reminder(Aggregate):
    """Knows only the visit, not the person."""

    @event("Planned")
    def __init__(self, visit_id: UUID, address: str, details: dict[str, str]) -> None:
        self.visit_id, self.address, self.details = visit_id, address, details


HERE = "tests.unit.privacy.test_personal_data"
POLICY = FieldPolicy({
    f"{HERE}:Person.Registered": PersonalFields({"name": "", "email": None, "birth_date": None}),
    f"{HERE}:Person.Renamed": PersonalFields({"name": ""}),
    f"{HERE}:Card.Issued": PersonalFields({"holder": ""}, subject="person_id"),
    f"{HERE}:Visit.Booked": PersonalFields({}, owner="person_id"),
    f"{HERE}:Reminder.Planned": PersonalFields({"address": None, "details.patient_name": ""},
                                                   subject="visit_id"),
})


class People(Application[UUID]):
    """An application whose store seals what ``POLICY`` names (as bootstrap will wire it)."""

    keys = MemoryKeyStore()

    def construct_mapper(self) -> Mapper[UUID]:
        return PersonalDataMapper(
            self.construct_transcoder(), self.factory.compressor(), self.factory.cipher(),
            policy=POLICY, keys=self.keys,
        )


def people(env: dict[str, str] | None = None) -> People:
    app = People(env={"PERSISTENCE_MODULE": "eventsourcing.popo", **(env or {})})
    app.keys = MemoryKeyStore()
    app.mapper.keys = app.keys  # type: ignore[attr-defined]  # the mapper was built in __init__
    return app


def raw_states(app: Application[UUID]) -> list[bytes]:
    return [n.state for n in app.recorder.select_notifications(start=1, limit=1000)]


def test_personal_fields_are_sealed_in_the_store_and_open_on_load() -> None:
    app = people()
    person = Person("Marie Tremblay", "marie@example.ca", "1985-01-01", "fr")
    person.rename("Marie Gagnon")
    person.move("Québec")
    app.save(person)

    dump = b"".join(raw_states(app))
    for secret in (b"Marie", b"Tremblay", b"Gagnon", b"marie@example.ca", b"1985-01-01"):
        assert secret not in dump
    assert b'"language":"fr"' in dump and "Québec".encode() in dump  # the rest stays clear
    loaded: Person = app.repository.get(person.id)
    assert (loaded.name, loaded.email, loaded.birth_date, loaded.city) == (
        "Marie Gagnon", "marie@example.ca", "1985-01-01", "Québec")


def test_destroying_the_key_erases_the_fields_but_the_history_still_loads() -> None:
    app = people()
    person = Person("Marie Tremblay", "marie@example.ca", "1985-01-01", "fr")
    other = Person("Jean Roy", "jean@example.ca", None, "en")
    card = Card(person.id, "M. Tremblay")
    visit = Visit(person.id)
    app.save(person, other, card, visit)
    reminder = Reminder(visit.id, "514-555-0199", {"start": "09:00", "patient_name": "Marie T."})
    app.save(reminder)
    stored = json.loads(raw_states(app)[-1])
    assert stored["details"] == {"start": "09:00"} and "address" not in stored
    assert app.repository.get(reminder.id).details["patient_name"] == "Marie T."
    assert app.keys.key(visit.id) == app.keys.key(person.id)  # the visit uses the person's key

    assert app.keys.destroy(person.id) is True
    app.mapper.forget(person.id)  # type: ignore[attr-defined]

    erased: Person = app.repository.get(person.id)
    assert (erased.name, erased.email, erased.birth_date, erased.language) == ("", None, None, "fr")
    assert erased.version == 1
    assert app.repository.get(card.id).holder == ""
    erased_reminder: Reminder = app.repository.get(reminder.id)  # linked: erased with them
    assert erased_reminder.address is None
    assert erased_reminder.details == {"start": "09:00", "patient_name": ""}
    assert app.repository.get(other.id).name == "Jean Roy"  # others untouched
    with pytest.raises(SubjectErased):  # nothing new can be recorded about them
        erased.rename("Marie Again")
        app.save(erased)
    assert app.keys.destroy(person.id) is False  # erasing twice changes nothing


def test_events_without_personal_values_need_no_key() -> None:
    app = people()
    person = Person("", None, None, "fr")
    app.save(person)
    assert app.keys.key(person.id) is None
    assert f"\"{SEALED}\"".encode() not in b"".join(raw_states(app))


def test_sealed_view_leaves_the_envelope_closed_for_publication() -> None:
    app = people()
    person = Person("Marie Tremblay", "marie@example.ca", None, "fr")
    app.save(person)
    stored = app.recorder.select_notifications(start=1, limit=1)[0]

    sealed_event = app.mapper.sealed_view().to_domain_event(stored)  # type: ignore[attr-defined]

    envelope = vars(sealed_event)[SEALED]
    assert envelope["subject"] == str(person.id)
    assert "name" not in vars(sealed_event) and "Marie" not in json.dumps(envelope)


def test_a_blob_relabelled_for_another_person_does_not_open() -> None:
    app = people()
    marie = Person("Marie Tremblay", "marie@example.ca", None, "fr")
    visit = Visit(marie.id)
    app.save(marie, visit)
    app.save(Reminder(visit.id, "514-555-0199", {"start": "09:00", "patient_name": "M"}))
    stored = app.recorder.select_notifications(start=1, limit=10)[-1]
    state = json.loads(stored.state)
    state[SEALED]["subject"] = str(marie.id)  # same key (linked), another subject
    forged = StoredEvent(stored.originator_id, stored.originator_version, stored.topic,
                         json.dumps(state).encode())

    with pytest.raises(MapperDeserialisationError):
        app.mapper.to_domain_event(forged)


def test_works_under_the_library_cipher_of_the_whole_state() -> None:
    app = people({"CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher",
                  "CIPHER_KEY": AESCipher.create_key(32)})
    person = Person("Marie Tremblay", "marie@example.ca", None, "fr")
    app.save(person)
    assert b"language" not in b"".join(raw_states(app))  # the whole state is ciphertext too
    assert app.repository.get(person.id).name == "Marie Tremblay"


text = st.text(min_size=1, max_size=30).filter(lambda s: bool(s.strip()))


@settings(max_examples=40, deadline=None)
@given(name=text, email=text, other=text)
def test_no_personal_value_reaches_the_store_in_clear(name: str, email: str, other: str) -> None:
    app = people()
    person = Person(name, email, None, "fr")
    person.rename(other)
    app.save(person)
    for raw in raw_states(app):
        state = json.loads(raw)
        assert {"name", "email", "birth_date"}.isdisjoint(state)  # only in the sealed blob
        base64.b64decode(state[SEALED]["sealed"], validate=True)
    loaded: Person = app.repository.get(person.id)
    assert (loaded.name, loaded.email) == (other, email)


def test_memory_key_store_keeps_one_key_per_subject() -> None:
    keys = MemoryKeyStore()
    subject = uuid4()
    assert keys.key(subject) is None and not keys.erased(subject)
    first = keys.key_or_create(subject)
    assert keys.key_or_create(subject) == first == keys.key(subject) and len(first) == 32
    assert keys.destroy(subject) and keys.erased(subject) and keys.key(subject) is None
    assert keys.destroy(uuid4()) is True  # a tombstone for a subject who never had a key
