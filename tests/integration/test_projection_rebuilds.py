"""Rebuilds started in a running server (the ops console's button): progress kept while the
rebuild runs, one at a time per projection, the same result as the live read model."""

from __future__ import annotations

import pytest

from entrypoints.demo.synthetic import write_history
from hub.bootstrap import build_projector
from hub.readmodels.rebuilds import RebuildRunning, Rebuilds, UnknownProjection
from tests.support.scheduling import make_app


def test_a_background_rebuild_reports_progress_and_swaps_in_the_same_rows(store_url: str) -> None:
    app = make_app(store_url)
    write_history(app, 300, seed=3)
    projector = build_projector(app, ["suivi", "availability"])
    projector.catch_up()
    view = projector.get("suivi").view
    expected = {t.name: view.rows(t.name) for t in projector.get("suivi").tables}
    head = app.head()
    seen: list[tuple[int, int | None]] = []
    rebuilds = Rebuilds(projector, chunk=5)
    try:
        job = rebuilds.start("suivi", "tok_ops")
        assert job.running and job.by == "tok_ops"
        with pytest.raises(RebuildRunning):  # one at a time per projection
            rebuilds.start("suivi", "tok_other")
        with pytest.raises(UnknownProjection):
            rebuilds.start("nothing", "tok_ops")
        while (current := rebuilds.latest()["suivi"]).running:
            seen.append((current.position, current.target))
            rebuilds.wait("suivi", 0.01)
        assert current.failed is None and current.swapped_at == head
        assert current.position == head and current.ended_at is not None
        positions = [p for p, _ in seen]
        assert positions == sorted(positions) and len(set(positions)) > 2  # forward, seen moving
        assert all(target in (None, head) for _, target in seen)
        assert {t.name: view.rows(t.name) for t in projector.get("suivi").tables} == expected
        again = rebuilds.start("suivi", "tok_ops")  # once ended, it may start again
        assert rebuilds.wait("suivi", 60) is not None and not rebuilds.latest()["suivi"].running
        assert again.started_at <= rebuilds.latest()["suivi"].started_at
    finally:
        rebuilds.close(60)
        projector.close()
        app.close()
