"""Reading projections from the API: the runner in the server, and read-your-writes.

A write answers with the log ``position`` it wrote; a read given ``?min_position=N`` waits
(at most ``HUB_READ_WAIT_SECONDS``) until its projection has applied position N, so a client
always reads its own writes. A position beyond the log's head is refused (422); a projection
still behind after the wait answers 503 with ``Retry-After``.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Query, Request

from aggregates.errors import InvalidValue
from entrypoints.api.errors import ApiError
from hub.bootstrap import build_projector, read_models_lease
from hub.readmodels.leader import Leadership
from hub.readmodels.runner import Projector
from hub.scheduling.service import Scheduling
from hub.settings import Settings
from projections.readmodel import ReadModel

#: In a worker of ``hub serve --workers N``: a process of the same server keeps the read models.
_kept_beside = False


def kept_beside() -> None:
    """This process is a worker whose server keeps the read models in a process of their own
    (``entrypoints.cli.workers``): it runs none, and its reads wait for that one's."""
    global _kept_beside  # noqa: PLW0603 - set once, before the app starts, in a spawned worker
    _kept_beside = True


def start_projections(scheduling: Scheduling, settings: Settings) -> tuple[Projector, Leadership | None]:
    """The server's projection runner, following the log in a thread when configured and
    elected among the store's API processes (one runner per store, ``Leadership``)."""
    projector = build_projector(scheduling, settings=settings)
    if _kept_beside:
        projector.kept_elsewhere = True
        return projector, None
    if not settings.projections_in_server:
        return projector, None
    leadership = Leadership(projector, read_models_lease(scheduling))
    leadership.start()
    return projector, leadership


class Freshness:
    """Whether a read model has applied everything written so far, asking the database as
    little as possible: a read model's position never goes back (a rebuild swaps in tables at
    least as far), so the highest position seen is a lower bound, and when the log's head has
    not passed it, no query is needed."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def caught_up(self, projector: Projector, name: str, head: int, wait_seconds: float) -> bool:
        """True once read model ``name`` has applied ``head``; this process's runner gets
        ``wait_seconds`` (at most a quarter of a second) to get there, else False."""
        if self._seen.get(name, 0) >= head:
            return True
        view = projector.get(name).view
        deadline = time.monotonic() + (min(wait_seconds, 0.25) if projector.following else 0)
        while True:
            position = view.position(projector.source)
            # a racing request may store a lower value: the bound only gets more cautious
            self._seen[name] = max(self._seen.get(name, 0), position)
            if position >= head:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)


async def get_projector(request: Request) -> Projector:
    projector: Projector = request.app.state.services.projections
    return projector


ProjectorDep = Annotated[Projector, Depends(get_projector)]
MinPosition = Annotated[int | None, Query(
    ge=0, le=2**62, description="wait until the read model has applied this log position "
                                "(the `position` a write returned): read your own writes")]


def read_model(request: Request, projector: Projector, name: str, min_position: int | None) -> ReadModel:
    """Projection ``name``'s read model, once it has applied ``min_position``."""
    if min_position:
        head = projector.reader.head()
        if min_position > head:
            raise ApiError(422, "position_ahead", f"position {min_position} is beyond the log's "
                           f"head ({head})", min_position=min_position, head=head)
        wait = request.app.state.services.settings.read_wait_seconds
        if not projector.wait(name, min_position, timeout=wait):
            raise ApiError(503, "projection_behind", f"the {name} read model has not reached "
                           f"position {min_position} yet; retry shortly",
                           projection=name, position=projector.get(name).view.position(projector.source))
    return projector.get(name).view


def past_view(request: Request, name: str, position: int) -> ReadModel:
    """Projection ``name`` as of log position ``position``, built from the log (422 beyond the head)."""
    past = request.app.state.services.as_of(name)
    try:
        past.check(position)
    except InvalidValue as exc:
        raise ApiError(422, "position_ahead", exc.message, **exc.details) from None
    return past.view(position)
