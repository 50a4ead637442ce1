"""``hub notifications run|list|portal`` on a SQLite store with a real SMTP server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from entrypoints.cli.main import main
from tests.support.notifications import SmtpSink
from tests.support.scheduling import Setup, make_app, patient

ROOT = Path(__file__).resolve().parents[3]


def test_run_once_list_and_portal(sqlite_url: str, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("HUB_SMTP_HOST", smtp_sink.host)
    monkeypatch.setenv("HUB_SMTP_PORT", str(smtp_sink.port))
    app = make_app(sqlite_url)
    setup = Setup(app)
    assert main(["notifications", "portal", "tok_rvsq", "--notifies-itself"]) == 0
    assert "notifies its patients itself" in capsys.readouterr().out
    booked = app.book(setup.slot, setup.consult, patient(1, email="cli@example.ca"), "emr")

    assert main(["notifications", "run", "--once"]) == 0
    assert "sent=1" in capsys.readouterr().out
    assert len(smtp_sink.to("cli@example.ca")) == 1
    assert main(["notifications", "list", str(booked.id)]) == 0
    out = capsys.readouterr().out
    assert "confirmation  email  cli@example.ca" in out and "sent" in out
    assert "status: confirmation_sent by email" in out

    assert main(["notifications", "list", "not-an-id"]) == 1
    assert "is not an appointment id" in capsys.readouterr().err
    assert main(["notifications", "portal", "  ", "--hub-notifies"]) == 1
    app.close()


def test_run_stops_cleanly_on_sigterm(sqlite_url: str) -> None:
    make_app(sqlite_url).close()
    env = {**os.environ, "HUB_DATABASE_URL": sqlite_url, "HUB_POLL_SECONDS": "0.2"}
    sender = subprocess.Popen([sys.executable, "-m", "entrypoints", "notifications", "run"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # wait for the start line: by then the SIGTERM handler is installed
    lines = [sender.stderr.readline().decode() for _ in range(1)]
    while "notification sender started" not in lines[-1] and lines[-1] and len(lines) < 50:
        lines.append(sender.stderr.readline().decode())
    assert "notification sender started" in lines[-1], lines
    time.sleep(0.5)
    assert sender.poll() is None  # still running its rounds
    sender.send_signal(signal.SIGTERM)
    assert sender.wait(timeout=10) == 0
