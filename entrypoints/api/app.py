"""``create_app``: the FastAPI application, wired in its lifespan (no I/O at import)."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from adapters.accessstore import access_store_for
from connectors.directory import SOURCES
from entrypoints.api.errors import BodyLimit, install_error_handlers
from entrypoints.api.idempotency import Idempotency
from entrypoints.api.openapi import install_openapi
from entrypoints.api.readmodels import start_projections
from hub.bootstrap import bootstrap
from hub.imports.service import Imports
from hub.scheduling.service import Scheduling
from hub.settings import Settings

#: Router modules, each exposing ``router: APIRouter``; add yours here (one line).
ROUTER_MODULES = (
    "entrypoints.api.routes.health",
    "entrypoints.api.routes.clinics",
    "entrypoints.api.routes.hl7",
    "entrypoints.api.routes.imports",
    "entrypoints.api.routes.feeds",
    "entrypoints.api.routes.fhir",
    "entrypoints.api.routes.notifications",
    "entrypoints.api.routes.suivi",
    "entrypoints.api.routes.availability",
    "entrypoints.api.routes.events",
    "entrypoints.api.routes.professionals",
    "entrypoints.api.routes.services",
    "entrypoints.api.routes.slots",
    "entrypoints.api.routes.appointments",
    "entrypoints.api.routes.patients",
)

DESCRIPTION = """The appointment hub's native API (CONTRACT `/v1/...`).

Authenticate with `Authorization: Bearer <token>` (tokens from `hub tokens create`). Roles:
`emr` and `portal` act for their clinics (a portal sees and books only unlocked slots of online
services), `clinic_staff` for its clinic, `ops` reads every clinic's events and audit and writes
nothing, `admin` does everything. Every refusal has the body
`{"error": {"code", "message", "details"}}`; writes answer with the log `position` they wrote.
`Idempotency-Key` on POST replays the first answer for the same key and body.
"""


def create_app(scheduling: Scheduling | None = None, settings: Settings | None = None) -> FastAPI:
    """The API on ``scheduling`` if given (the caller closes it), else on one bootstrapped from
    ``settings`` when the server starts (closed when it stops)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = scheduling is None
        application = scheduling if scheduling is not None else bootstrap(settings)
        app.state.scheduling = application
        app.state.access = access_store_for(application.recorder)
        app.state.settings = settings
        app.state.imports = Imports(application, SOURCES)
        app.state.imports.resume_running()  # imports interrupted by a stop run again
        app.state.projections = start_projections(application, settings)
        try:
            yield
        finally:
            app.state.projections.close()
            app.state.imports.close()
            app.state.access.close()
            if owned:
                application.close()

    app = FastAPI(
        title="Appointment hub",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(Idempotency)
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_bytes)
    for name in ROUTER_MODULES:
        app.include_router(importlib.import_module(name).router)
    install_openapi(app)
    return app
