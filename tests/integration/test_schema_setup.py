"""Processes started together on an empty PostgreSQL schema take turns creating its tables.

Without the set-up lock (``adapters.schemalock``), some of six processes fail here with a
unique violation on the catalogue, "tuple concurrently updated" or the event store's migration
record; with it, every one builds the store, the read models and the token tables.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.relay import ROOT

pytestmark = pytest.mark.postgres

START = """
import sys
from adapters.sqlaccessstore import access_store_for
from hub.bootstrap import bootstrap, build_projector, setting_up
from hub.settings import Settings

app = bootstrap(Settings(database_url=sys.argv[1], pool_size=1), configure_logs=False)
with setting_up(app):
    projector = build_projector(app)
    access_store_for(app.recorder)
projector.close()
app.close()
print("built")
"""


def test_processes_started_together_on_an_empty_schema_all_start(pg_schema_url: str) -> None:
    processes = [
        subprocess.Popen([sys.executable, "-c", START, pg_schema_url], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    outcomes = [p.communicate(timeout=180) for p in processes]
    for process, (out, err) in zip(processes, outcomes, strict=True):
        assert process.returncode == 0 and out.strip() == "built", err[-2000:]
