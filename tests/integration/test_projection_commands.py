"""``hub projections`` as users run it: status, run --once, rebuild, and a rebuild killed by
SIGKILL half way, restarted, with the same result."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from entrypoints.cli.main import main
from entrypoints.demo.synthetic import write_history
from hub.bootstrap import build_projector
from tests.support.scheduling import make_app

ROOT = Path(__file__).resolve().parents[2]


def hub(url: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "HUB_DATABASE_URL": url, "HUB_LOG_FORMAT": "json"}
    return subprocess.Popen([sys.executable, "-m", "entrypoints", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_status_run_and_rebuild_commands(store_url: str, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    app = make_app(store_url)
    write_history(app, 500, seed=1)
    head = app.head()
    app.close()
    monkeypatch.setenv("HUB_DATABASE_URL", store_url)
    assert main(["projections", "status"]) == 0
    assert f"lag {head:>7}" in capsys.readouterr().out
    assert main(["projections", "run", "--once"]) == 0
    assert f"suivi: at position {head}" in capsys.readouterr().out
    assert main(["projections", "rebuild", "availability", "--no-progress"]) == 0
    assert f"availability: rebuilt and swapped in at position {head}" in capsys.readouterr().out
    assert main(["projections", "status", "--json"]) == 0
    assert '"lag": 0' in capsys.readouterr().out
    assert main(["projections", "rebuild", "nothing"]) == 1
    assert "unknown projection nothing" in capsys.readouterr().err
    assert main(["projections", "rebuild", "--chunk", "0"]) == 1


def test_a_rebuild_killed_half_way_resumes_to_the_same_result(store_url: str) -> None:
    app = make_app(store_url)
    write_history(app, 4_000, seed=2)
    projector = build_projector(app, ["suivi"])
    projector.catch_up()
    view = projector.get("suivi").view
    expected = {t.name: view.rows(t.name) for t in projector.get("suivi").tables}
    shadow = projector.shadow(projector.get("suivi"))

    rebuilding = hub(store_url, "projections", "rebuild", "suivi", "--chunk", "20", "--no-progress")
    position = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and rebuilding.poll() is None:
        if projector._has_shadow(shadow):  # noqa: SLF001
            position = shadow.position(app.name)
            if position > 400:
                break
        time.sleep(0.005)
    rebuilding.send_signal(signal.SIGKILL)
    rebuilding.wait(10)
    assert rebuilding.returncode == -signal.SIGKILL, "the rebuild ended before it could be killed"
    assert 0 < position < app.head()
    assert {t.name: view.rows(t.name) for t in projector.get("suivi").tables} == expected

    resumed = hub(store_url, "projections", "rebuild", "suivi", "--chunk", "500")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert "resuming the rebuild at position" in err
    assert f"suivi: rebuilt and swapped in at position {app.head()}" in out
    assert {t.name: view.rows(t.name) for t in projector.get("suivi").tables} == expected
    assert not projector._has_shadow(shadow)  # noqa: SLF001
    projector.close()
    app.close()
