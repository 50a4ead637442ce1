"""``hub audit export``: the log as CSV or NDJSON with who/when/what/source, per clinic, since T."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime
from pathlib import Path

from hub.scheduling.service import Scheduling
from projections.eventlog import describe
from tests.support.relay import run_hub
from tests.support.scheduling import Setup, make_app, patient


def env_for(url: str) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_DATABASE_URL=url, HUB_LOG_FORMAT="json")
    return env


def export(env: dict[str, str], *args: str) -> str:
    done = run_hub(env, "audit", "export", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_export_keeps_one_clinics_events_with_who_when_what_and_source(store_url: str, tmp_path: Path) -> None:
    app: Scheduling = make_app(store_url)
    try:
        ours, theirs = Setup(app), Setup(app)
        booked = [app.book(ours.slot, ours.consult, patient(n), "emr") for n in range(3)]
        [app.book(theirs.slot, theirs.consult, patient(10 + n), "portal") for n in range(2)]
        time.sleep(0.05)
        cut = datetime.now(UTC)
        time.sleep(0.05)
        late = app.book(ours.slot, ours.vaccine, patient(20), "admin")
        # as the export has them: personal fields (an appointment's patient as given) sealed
        sealed = app.sealed_mapper()
        log = {n.id: describe(n, sealed) for n in app.recorder.select_notifications(start=1, limit=10_000)}
    finally:
        app.close()
    env = env_for(store_url)

    rows = list(csv.DictReader(io.StringIO(export(env, "--clinic", str(ours.clinic), "--format", "csv"))))
    mine = {str(ours.clinic), str(ours.gp), str(ours.consult), str(ours.vaccine), str(ours.slot),
            *(str(b.id) for b in (*booked, late))}
    expected = [p for p, r in log.items() if str(r.aggregate_id) in mine]
    assert [int(r["position"]) for r in rows] == expected
    for row in rows:
        record = log[int(row["position"])]
        assert row["who"] == record.meta.get("subject") and row["role"] == record.meta.get("role")
        assert row["source"] == record.meta.get("channel") and row["clinic_id"] == str(ours.clinic)
        assert (row["aggregate_id"], row["type"], int(row["version"]), row["event_id"]) == (
            str(record.aggregate_id), record.type, record.version, str(record.id))
        assert datetime.fromisoformat(row["time"]) == record.time
        assert json.loads(row["data"]) == record.as_dict()["data"]

    # NDJSON, the whole log (patients included), to a file.
    out = tmp_path / "audit.ndjson"
    export(env, "--format", "ndjson", "--output", str(out), "--no-progress")
    everything = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["position"] for r in everything] == list(log)
    assert {r["aggregate_type"] for r in everything} >= {"patient", "clinic", "appointment"}

    # Since an instant: only what the last booking wrote in our clinic.
    since = [json.loads(line) for line in export(
        env, "--clinic", str(ours.clinic), "--since", cut.isoformat(), "--format", "ndjson").splitlines()]
    assert {r["aggregate_id"] for r in since} == {str(late.id), str(ours.slot)}
    assert all(datetime.fromisoformat(r["time"]) >= cut for r in since)


def test_export_refuses_bad_options_with_a_message(sqlite_url: str) -> None:
    env = env_for(sqlite_url)
    app = make_app(sqlite_url)
    setup = Setup(app)
    app.close()
    for args, message in [
        (("export", "--since", "yesterday"), "--since 'yesterday' is neither an ISO 8601 instant"),
        (("export", "--clinic", "nope"), "--clinic 'nope' is not a clinic id"),
        (("export", "--clinic", str(setup.gp)), f"clinic {setup.gp} does not exist"),
        ((str(setup.clinic), "--clinic", str(setup.clinic)), "--clinic apply to `hub audit export` only"),
    ]:
        done = run_hub(env, "audit", *args)
        assert done.returncode == 1 and message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and done.stdout == ""
