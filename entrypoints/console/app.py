"""``install_console``: the console's routes, static files and refusal pages on the hub's app."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from entrypoints.console.pages import HERE, page_refused, sign_in_required
from entrypoints.console.routes import (
    account_checks,
    auth,
    invitations,
    links,
    ops,
    presence,
    self_service,
    setup,
    suivi,
    users,
)
from entrypoints.console.session import PageRefused, SignInRequired

#: Every router of the console; add yours here.
ROUTERS = tuple(module.router for module in (
    auth, suivi, presence, account_checks, invitations, ops, setup, users, self_service, links))


def install_console(app: FastAPI) -> FastAPI:
    """Serve the console under ``/console`` (its assets under ``/console/static``)."""
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")
    app.add_exception_handler(PageRefused, page_refused)
    app.add_exception_handler(SignInRequired, sign_in_required)
    return app
