"""The personal-fields table names real events and their real fields."""

from __future__ import annotations

import dataclasses

from eventsourcing.utils import resolve_topic

from aggregates.personal_fields import PERSONAL_FIELDS


def test_every_rule_names_an_event_and_its_fields() -> None:
    assert PERSONAL_FIELDS.rules
    for topic, rule in PERSONAL_FIELDS.rules.items():
        event_class = resolve_topic(topic)
        names = {f.name for f in dataclasses.fields(event_class)}
        for path in rule.fields:
            assert path.split(".")[0] in names, f"{topic} has no field {path}"
        assert rule.subject in names, f"{topic} has no subject field {rule.subject}"
        assert rule.owner is None or rule.owner in names
