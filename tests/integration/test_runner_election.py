"""One read-model runner per store among the API processes: elected by a PostgreSQL session
lock, the others stand by (and still count as following), a standby takes over when the
leader's session ends. Before, every process ran its own runner and they raced on each batch."""

from __future__ import annotations

import time

from hub.bootstrap import build_projector, read_models_lease
from hub.readmodels.leader import Leadership
from tests.support.scheduling import Setup, make_app, patient


def _until(condition, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_one_process_follows_the_others_stand_by_then_take_over(pg_schema_url: str) -> None:
    apps = [make_app(pg_schema_url) for _ in range(3)]
    projectors = [build_projector(app) for app in apps]
    elected = [Leadership(p, read_models_lease(app), retry_seconds=0.2)
               for p, app in zip(projectors, apps, strict=True)]
    try:
        for leadership in elected:
            leadership.start()
        assert [e.leading for e in elected] == [True, False, False]
        assert all(p.following for p in projectors)  # a standby waits for reads too
        assert [p.kept_elsewhere for p in projectors] == [False, True, True]
        setup = Setup(apps[1])
        written = apps[1].book(setup.slot, setup.consult, patient(1), "emr")
        assert projectors[1].wait("suivi", written.position, timeout=10)  # kept by the leader

        elected[0].close()  # the leader stops: its session, and the lock, go
        assert not projectors[0].following
        assert _until(lambda: sum(e.leading for e in elected[1:]) == 1)
        assert sum(e.leading for e in elected) == 1
        again = apps[2].book(setup.slot, setup.consult, patient(2), "emr")
        assert projectors[2].wait("suivi", again.position, timeout=10)
    finally:
        for leadership, projector, app in zip(elected, projectors, apps, strict=True):
            leadership.close()
            projector.close()
            app.close()


def test_on_sqlite_the_runner_simply_starts(sqlite_url: str) -> None:
    app = make_app(sqlite_url)
    projector = build_projector(app)
    leadership = Leadership(projector, read_models_lease(app))
    try:
        leadership.start()
        assert leadership.leading and projector.following and not projector.kept_elsewhere
    finally:
        leadership.close()
        projector.close()
        app.close()
