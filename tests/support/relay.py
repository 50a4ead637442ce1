"""Helpers for the relay tests: write events, run the relay as a process, check what arrived."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

from hub.scheduling.service import Scheduling
from projections.eventlog import describe, event_id
from tests.support.scheduling import Setup, patient

ROOT = Path(__file__).resolve().parents[2]
AGGREGATE_TYPES = ("clinic", "professional", "service", "slot", "appointment", "patient")


def unique_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def topics(prefix: str) -> list[str]:
    return [f"{prefix}.{t}" for t in AGGREGATE_TYPES]


def write_bookings(app: Scheduling, count: int, start: int = 0, setup: Setup | None = None) -> Setup:
    """A clinic (unless given) and ``count`` bookings: several events on several aggregates."""
    setup = setup or Setup(app, capacity=1000)
    for n in range(start, start + count):
        app.book(setup.slot, setup.consult, patient(n), "emr")
    return setup


def stored_ids(app: Scheduling, after: int = 0) -> dict[UUID, tuple[UUID, int]]:
    """ce_id → (aggregate id, version) for every stored event after a position."""
    out: dict[UUID, tuple[UUID, int]] = {}
    notifications = app.recorder.select_notifications(start=after + 1, limit=1_000_000)
    for n in notifications:
        record = describe(n, app.mapper)
        out[record.id] = (record.aggregate_id, record.version)
    return out


def headers_of(record) -> dict[str, str]:
    return {k: v.decode() for k, v in record.headers}


def check_delivery(records: list, expected: dict[UUID, tuple[UUID, int]]) -> dict[str, int]:
    """Every expected ce_id arrived; per aggregate, first arrivals are in version order;
    a duplicate is the very same event (same ce_id, same value). Returns counts and the log
    positions of the duplicates."""
    first_seen: dict[UUID, bytes] = {}
    versions: dict[str, list[int]] = defaultdict(list)
    duplicates: list[int] = []
    for record in records:
        h = headers_of(record)
        ce_id, version, key = UUID(h["ce_id"]), int(h["hub_version"]), record.key.decode()
        assert ce_id == event_id(UUID(key), version), f"ce_id does not name {key} v{version}"
        if ce_id in first_seen:
            assert first_seen[ce_id] == record.value, f"duplicate {ce_id} with a different value"
            duplicates.append(int(h["hub_position"]))
            continue
        first_seen[ce_id] = record.value
        versions[key].append(version)
    missing = set(expected) - set(first_seen)
    assert not missing, f"{len(missing)} events never arrived, e.g. {sorted(map(str, missing))[:3]}"
    for key, seen in versions.items():
        assert seen == sorted(seen) and len(set(seen)) == len(seen), f"{key} out of order: {seen}"
    return {"distinct": len(first_seen), "duplicates": len(duplicates),
            "duplicate_positions": duplicates}


def relay_env(database_url: str, bootstrap: str, prefix: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({
        "HUB_DATABASE_URL": database_url,
        "HUB_KAFKA_BOOTSTRAP": bootstrap,
        "HUB_KAFKA_TOPIC_PREFIX": prefix,
        "HUB_KAFKA_PARTITIONS": "2",
        "HUB_LOG_FORMAT": "json",
        "HUB_RELAY_SEND_TIMEOUT": "2",
        "HUB_RELAY_LEASE_TTL": "2",
        "HUB_RELAY_BACKOFF_MAX": "1",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


def start_relay(env: dict[str, str], log_path: Path, *args: str) -> subprocess.Popen:
    log = log_path.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "entrypoints", "relay", *args], cwd=ROOT, env=env,
        stdout=log, stderr=subprocess.STDOUT,
    )


def run_hub(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "entrypoints", *args], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=timeout,
    )


def status(env: dict[str, str]) -> dict:
    done = run_hub(env, "relay", "--status", "--json", timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def wait_for(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def log_events(log_path: Path) -> list[dict]:
    """The relay's structured (JSON) log lines."""
    out = []
    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def tracked_position(app: Scheduling) -> int:
    """The relay's position as recorded in the store (tracking recorder)."""
    from hub.relay.relay import TRACKING_NAME

    return app.factory.tracking_recorder().max_tracking_id(TRACKING_NAME) or 0
