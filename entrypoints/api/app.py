"""``create_app``: the FastAPI application, wired in its lifespan (no I/O at import)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from adapters.logostore import logo_store_for
from adapters.phireads import phi_reads_for
from adapters.sqlaccessstore import AccessStore, access_store_for
from adapters.token_changes import TokenChanges
from connectors.directory import SOURCES
from connectors.fhir.emr_directory import EmrPull
from entrypoints.api.commands import CommandLane
from entrypoints.api.errors import BodyLimit, install_error_handlers
from entrypoints.api.hl7_lane import Hl7Lane
from entrypoints.api.idempotency import Idempotency
from entrypoints.api.openapi import install_openapi
from entrypoints.api.readmodels import start_projections
from entrypoints.api.readtrail import ReadTrail
from entrypoints.api.routes import (
    accounts,
    appointments,
    availability,
    clinics,
    events,
    feeds,
    fhir,
    health,
    hl7,
    imports,
    notifications,
    patients,
    privacy,
    professionals,
    services,
    sessions,
    setups,
    slots,
    suivi,
    tokens,
    users,
    vaccination,
)
from entrypoints.api.services import ApiServices
from hub.access.token_cache import RememberedTokens
from hub.access.users import Passwords
from hub.bootstrap import (
    accounts_service,
    bootstrap,
    notification_center,
    outbound_client,
    setting_up,
    user_access,
)
from hub.bootstrap import vaccination as vaccination_services
from hub.command_gate import CommandGate
from hub.imports.service import Imports
from hub.runtime import tune_gc
from hub.scheduling.service import Scheduling
from hub.settings import Settings
from hub.setup.service import ClinicSetups

#: Every router of the API, in the order of the OpenAPI document; add yours here.
#: The busiest routes first: Starlette tries the routers in this order, each route's pattern
#: in turn, and ``POST /v1/appointments`` behind twelve routers cost ~0.3 ms of matching, a
#: tenth of a booking's CPU. No two routers share a path and method (a test checks it).
ROUTERS = tuple(module.router for module in (
    appointments, hl7, fhir, health, clinics, imports, feeds, notifications, suivi,
    availability, events, professionals, services, slots, patients, setups, vaccination, users,
    sessions, privacy, tokens, accounts,
)) + (setups.clinic_logo_router,)

#: Where /docs and /redoc find their scripts and styles (served by the hub).
DOCS_ASSETS = "/docs/assets"

DESCRIPTION = """The appointment hub's native API (CONTRACT `/v1/...`).

Authenticate with `Authorization: Bearer <token>` (tokens from `hub tokens create`). Roles:
`emr` and `portal` act for their clinics (a portal sees and books only unlocked slots of online
services), `clinic_staff` for its clinic, `ops` reads every clinic's events and audit and writes
nothing, `admin` does everything. Staff users sign in with `POST /v1/sessions` and use the
session token the same way: `agenda` users act as `clinic_staff` of their clinics,
`info_sante_811` and `reorientation_*` users book into other clinics' slots reserved for them.
Every refusal has the body `{"error": {"code", "message", "details"}}`; writes answer with the log `position` they wrote.
`Idempotency-Key` on POST replays the first answer for the same key and body.
"""


def remembered_tokens(access: AccessStore, settings: Settings
                      ) -> tuple[RememberedTokens | None, TokenChanges | None]:
    """API tokens remembered while every change to them is heard (PostgreSQL), else none."""
    if settings.token_memory_seconds <= 0:
        return None, None
    listened: list[TokenChanges] = []
    tokens = RememberedTokens(access, settings.token_memory_seconds,
                              listening=lambda: bool(listened) and listened[0].listening)
    changes = access.changes(tokens.forget)
    if changes is None:
        return None, None
    listened.append(changes)
    changes.start()
    return tokens, changes


def create_app(scheduling: Scheduling | None = None, settings: Settings | None = None,
               passwords: Passwords | None = None) -> FastAPI:
    """The API on ``scheduling`` if given (the caller closes it), else on one bootstrapped from
    ``settings`` when the server starts (closed when it stops). ``passwords`` replaces the
    Argon2id hasher (tests use cheaper parameters)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = scheduling is None
        application = scheduling if scheduling is not None else bootstrap(settings)
        with setting_up(application):  # servers started together take turns creating tables
            imports = Imports(application, SOURCES, emr=EmrPull(
                settings.emr_connections, bounds=outbound_client(settings).policy))
            access = access_store_for(application.recorder)
            tokens, token_changes = remembered_tokens(access, settings)
            projector, leadership = start_projections(application, settings)
            services = ApiServices(
                settings=settings,
                scheduling=application,
                access=access,
                tokens=tokens,
                token_changes=token_changes,
                imports=imports,
                projections=projector,
                leadership=leadership,
                commands=CommandLane(settings.api_command_concurrency),
                notifications=notification_center(application, settings),
                setups=ClinicSetups(application, imports, logo_store_for(application.recorder)),
                vaccination=vaccination_services(application, settings),
                users=user_access(application, settings, passwords),
                outbound=outbound_client(settings),
                phi_reads=phi_reads_for(application.recorder),
                accounts=accounts_service(application),
            )
        services.imports.resume_running()  # imports interrupted by a stop run again
        app.state.services = services
        if owned:  # a server process of its own (tests pass their application in)
            tune_gc(settings.gc_threshold)
            application.gate = CommandGate(settings.api_command_concurrency)
        try:
            yield
        finally:
            services.close()
            if owned:
                application.close()

    # /docs loads Swagger UI from the hub itself (assets shipped by the fastapi-offline package,
    # served under DOCS_ASSETS), never from a CDN. No /redoc: ReDoc's page always shows its
    # vendor's logo from the vendor's CDN.
    app = FastAPIOffline(
        redoc_url=None,
        title="Appointment hub",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        static_url=DOCS_ASSETS,
        favicon_url="data:,",  # no favicon request at all
        swagger_ui_parameters={"validatorUrl": None},  # no badge from the online validator
    )
    install_error_handlers(app)
    app.add_middleware(ReadTrail)  # inside Idempotency: a replayed answer showed nothing new
    app.add_middleware(Idempotency)
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_bytes,
                       larger=(setups.LOGO_BODY_LIMIT,))
    app.add_middleware(Hl7Lane)  # outermost: POST /v1/hl7's common case skips the others
    for router in ROUTERS:
        app.include_router(router)
    install_openapi(app)
    return app
