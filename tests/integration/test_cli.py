"""The ``hub`` command line, run as a user would (a subprocess), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def hub(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HUB_DATABASE_URL": url, "HUB_LOG_FORMAT": "json"}
    return subprocess.run([sys.executable, "-m", "entrypoints", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_demo_runs_twice_and_prints_the_suivi(store_url: str) -> None:
    first = hub("demo", "--seed", "1", url=store_url)
    assert first.returncode == 0, first.stderr
    assert "Suivi" in first.stdout and "cancelled" in first.stdout and "present" in first.stdout
    rows = [line for line in first.stdout.splitlines() if line[:2].isdigit() and ":" in line[:5]]
    assert len(rows) >= 30
    assert not any(line.count("*") and "TREM" in line for line in rows)  # NAMs are masked
    second = hub("demo", "--seed", "2", url=store_url)
    assert second.returncode == 0, second.stderr
    assert "Traceback" not in second.stderr

    events = hub("events", "--limit", "40", "--json", url=store_url)
    lines = [json.loads(line) for line in events.stdout.splitlines()]
    positions = [e["position"] for e in lines]
    assert len(lines) == 40 and positions == sorted(set(positions))  # PostgreSQL may skip one
    # the demo clinic comes out of the setup wizard (W1): its steps first, then the clinic
    assert (lines[0]["type"], lines[0]["aggregate_type"]) == ("Started", "clinic_setup")
    registered = next(e for e in lines if (e["type"], e["aggregate_type"]) == ("Registered", "clinic"))

    audit = hub("audit", registered["aggregate_id"], "--json", url=store_url)
    history = [json.loads(line) for line in audit.stdout.splitlines()]
    assert history[0]["data"]["application_type"] == "public_health"
    assert history[0]["meta"]["subject"] == "system"


def test_bad_arguments_get_a_clear_message_and_a_non_zero_exit(sqlite_url: str) -> None:
    bad_id = hub("audit", "not-a-uuid", url=sqlite_url)
    assert bad_id.returncode != 0 and "is not an aggregate id" in bad_id.stderr
    assert "Traceback" not in bad_id.stderr
    unknown = hub("audit", "00000000-0000-0000-0000-000000000000", url=sqlite_url)
    assert unknown.returncode != 0 and "no events" in unknown.stderr
    limit = hub("events", "--limit", "0", url=sqlite_url)
    assert limit.returncode != 0 and "--limit" in limit.stderr
    bad_url = hub("events", url="mysql://nope")
    assert bad_url.returncode == 2 and "HUB_DATABASE_URL" in bad_url.stderr
