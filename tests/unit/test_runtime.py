"""``hub.runtime.tune_gc``: the servers' garbage-collection tuning."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from hub.runtime import tune_gc
from hub.settings import Settings


@pytest.fixture
def gc_state() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_a_server_collects_less_often_and_never_scans_what_its_start_made(gc_state: None) -> None:
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    tune_gc(Settings(database_url="memory://").gc_threshold)
    assert gc.get_threshold() == (50_000, 20, 100)
    assert gc.get_freeze_count() > 0


def test_zero_keeps_python_s_defaults(gc_state: None) -> None:
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    tune_gc(0)
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0


def test_the_threshold_is_validated() -> None:
    with pytest.raises(ValueError, match="gc_threshold"):
        Settings(database_url="memory://", gc_threshold=-1)
