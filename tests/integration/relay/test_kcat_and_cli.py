"""``hub relay`` from the command line, and the published topic read back with kcat."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import defaultdict
from uuid import UUID

import pytest

from hub.scheduling.service import Scheduling
from projections.eventlog import event_id
from tests.support.relay import (
    relay_env,
    run_hub,
    status,
    stored_ids,
    unique_prefix,
    write_bookings,
)

pytestmark = pytest.mark.kafka

#: Debian's kcat 1.7.1 (librdkafka 2.0.2) cannot parse tansu's ApiVersions v3 answer: skip that
#: request, and start at absolute offset 0 (no ListOffsets). Against Apache Kafka neither is needed.
KCAT_TANSU = ["-X", "api.version.request=false", "-X", "broker.version.fallback=0.9.0"]


def test_kcat_reads_the_appointment_topic_with_cloudevents_headers(
    sqlite_app: Scheduling, sqlite_url: str, kafka_bootstrap: str
) -> None:
    app = sqlite_app
    kcat = shutil.which("kcat")
    if kcat is None:
        pytest.fail("kcat is not installed: apt-get install -y kcat (.ci/run does it)", pytrace=False)
    prefix = unique_prefix()
    write_bookings(app, 4)
    done = run_hub(relay_env(sqlite_url, kafka_bootstrap, prefix), "relay", "--once")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(f"published {len(stored_ids(app))} events")

    out = subprocess.run(
        [kcat, *KCAT_TANSU, "-b", kafka_bootstrap, "-C", "-t", f"{prefix}.appointment",
         "-o", "0", "-e", "-J", "-q"],
        capture_output=True, text=True, timeout=30,
    )
    assert out.returncode == 0, out.stderr
    messages = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert len(messages) == 4
    per_key = defaultdict(list)
    for message in messages:
        pairs = message["headers"]
        headers = dict(zip(pairs[::2], pairs[1::2], strict=True))
        assert headers["ce_type"] == "hub.appointment.Booked.v1"
        assert UUID(headers["ce_id"]) == event_id(UUID(message["key"]), int(headers["hub_version"]))
        body = json.loads(message["payload"])
        assert body["id"] == headers["ce_id"] and body["aggregate_id"] == message["key"]
        per_key[message["key"]].append(int(headers["hub_version"]))
    assert all(v == [1] for v in per_key.values()) and len(per_key) == 4


def test_relay_without_bootstrap_exits_with_a_clear_message(sqlite_url: str) -> None:
    env = relay_env(sqlite_url, "", "hub")
    done = run_hub(env, "relay", "--once")
    assert done.returncode == 2
    assert "HUB_KAFKA_BOOTSTRAP is empty" in done.stderr and "Traceback" not in done.stderr


def test_status_prints_position_head_and_lag(sqlite_app: Scheduling, sqlite_url: str) -> None:
    app = sqlite_app
    write_bookings(app, 2)
    env = relay_env(sqlite_url, "", "hub")
    done = run_hub(env, "relay", "--status")
    assert done.returncode == 0, done.stderr
    head = app.head()
    assert f"position: 0\nhead:     {head}\nlag:      {head}\n" in done.stdout
    assert "lease:    free" in done.stdout
    assert status(env) == {"position": 0, "head": head, "lag": head,
                           "lease": {"held": False, "holder": None, "expires_in": None}}
