"""``hub projections suivi CLINIC --as-of-position N``: a day's Suivi as it was, from the log."""

from __future__ import annotations

import json
import os
from zoneinfo import ZoneInfo

from aggregates.appointment import Appointment
from tests.support.relay import run_hub
from tests.support.scheduling import Setup, make_app, patient


def test_suivi_as_of_a_position_from_the_command_line(store_url: str) -> None:
    app = make_app(store_url)
    try:
        setup = Setup(app)
        first = app.book(setup.slot, setup.consult, patient(1), "emr")
        second = app.book(setup.slot, setup.consult, patient(2), "emr")
        cancelled = app.cancel(first.id)
        start = app.load(Appointment, first.id, "appointment").start
    finally:
        app.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")} | {"HUB_DATABASE_URL": store_url}
    day = start.astimezone(ZoneInfo("America/Montreal")).date().isoformat()

    def statuses(*extra: str) -> dict[str, str]:
        done = run_hub(env, "projections", "suivi", str(setup.clinic), "--date", day, "--json", *extra)
        assert done.returncode == 0, done.stderr
        return {json.loads(line)["appointment_id"]: json.loads(line)["status"] for line in done.stdout.splitlines()}

    assert statuses("--as-of-position", str(first.position)) == {str(first.id): "undefined"}
    assert statuses("--as-of-position", str(second.position)) == {str(first.id): "undefined", str(second.id): "undefined"}
    assert statuses("--as-of-position", str(cancelled.position)) == statuses() == {
        str(first.id): "cancelled", str(second.id): "undefined"}
    done = run_hub(env, "projections", "suivi", str(setup.clinic), "--as-of-position", str(cancelled.position + 99))
    assert done.returncode == 1 and "beyond the log's head" in done.stderr and "Traceback" not in done.stderr
