"""The documented example consumer follows one clinic and drops duplicates by ce_id."""

from __future__ import annotations

import importlib.util

import pytest

from adapters.leases import InProcessLease
from hub.relay.relay import Relay
from hub.scheduling.service import Scheduling
from tests.integration.relay.test_relay import make_relay
from tests.support.relay import ROOT, unique_prefix
from tests.support.scheduling import Setup, patient

pytestmark = pytest.mark.kafka


def load_example():
    spec = importlib.util.spec_from_file_location("follow_clinic", ROOT / "examples" / "follow_clinic.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_follows_one_clinic_once_per_event_despite_republished_duplicates(
    sqlite_app: Scheduling, sqlite_url: str, kafka_bootstrap: str
) -> None:
    app, prefix = sqlite_app, unique_prefix()
    ours, theirs = Setup(app), Setup(app)
    booked = [app.book(ours.slot, ours.consult, patient(n), "portal").id for n in range(3)]
    app.book(theirs.slot, theirs.consult, patient(10), "portal")
    app.cancel(booked[1], "patient request")
    make_relay(app, sqlite_url, kafka_bootstrap, prefix).run(once=True)
    # A second relay with its own tracking publishes everything again: real duplicates.
    twin = make_relay(app, sqlite_url, kafka_bootstrap, prefix)
    Relay(app, twin.publisher, InProcessLease(), twin.gaps, twin.options, name="twin").run(once=True)

    events = list(load_example().follow(kafka_bootstrap, prefix, str(ours.clinic), idle_ms=1500))

    assert sorted((e["aggregate_id"], e["type"]) for e in events) == sorted(
        [(str(a), "Booked") for a in booked] + [(str(booked[1]), "Cancelled")]
    )
    assert len({e["id"] for e in events}) == len(events) == 4
    cancelled = [e["version"] for e in events if e["aggregate_id"] == str(booked[1])]
    assert cancelled == [1, 2]
