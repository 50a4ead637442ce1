"""Signing in and out of the console, and its home page (the clinics one may follow)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from starlette.responses import Response

from aggregates.user import TooManySignInAttempts
from entrypoints.console.pages import render, see_other
from entrypoints.console.session import (
    VisitDep,
    authenticate_console,
    end_session,
    safe_next,
    start_session,
)
from hub.access.sessions import SignInRefused
from hub.access.tokens import Role
from projections.lists import clinics

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("")
@router.get("/")
def home(visit: VisitDep) -> Response:
    """Ops go to the event stream; staff of one clinic to its Suivi; others choose a clinic."""
    principal = visit.signed_in()
    if principal.role == Role.OPS:
        return see_other(visit, "/console/ops")
    if principal.role == Role.CLINIC_STAFF and len(principal.clinic_ids) == 1:
        return see_other(visit, f"/console/clinics/{next(iter(principal.clinic_ids))}/suivi")
    return see_other(visit, "/console/clinics")


@router.get("/clinics")
def clinic_list(visit: VisitDep) -> Response:
    principal = visit.signed_in()
    scope = None if principal.all_clinics else [str(c) for c in principal.clinic_ids]
    model = visit.services.projections.get("suivi").view
    return render(visit, "clinics.html", clinics=clinics(model, scope))


@router.get("/login")
def login_page(visit: VisitDep, next: str | None = None, reason: str | None = None) -> Response:
    message = visit.t("session_over") if reason == "expired" else None
    if reason in ("signed_out", "enrolled"):
        message = visit.t(reason)
    return render(visit, "login.html", next=safe_next(next), message=message)


@router.post("/login")
def login(
    visit: VisitDep,
    csrf: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=128)] = "",
    token: Annotated[str, Form(max_length=300)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/console",
) -> Response:
    """Sign in as a user (e-mail and password: ``POST /v1/sessions``'s use case), or with an
    API token of a staff, ops or admin role (the same rule as the API)."""
    visit.check_csrf(csrf)
    if email or password:
        request = visit.request
        client = request.client.host if request.client else ""
        try:
            session = visit.services.users.sessions.sign_in(email.strip(), password, client)
        except SignInRefused:
            return render(visit, "login.html", status=401, next=safe_next(next), email=email,
                          error=visit.t("bad_credentials"))
        except TooManySignInAttempts:
            return render(visit, "login.html", status=429, next=safe_next(next), email=email,
                          error=visit.t("too_many_attempts"))
        token = session.token
    principal, error = authenticate_console(visit, token.strip())
    if principal is None:
        return render(visit, "login.html", status=401, next=safe_next(next), error=error)
    return start_session(see_other(visit, safe_next(next)), visit, token.strip())


@router.post("/logout")
def logout(visit: VisitDep, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    """Sign out: a user's session ends on the server too (its token stops working)."""
    visit.check_csrf(csrf)
    if visit.principal is not None and visit.principal.session_id:
        visit.services.users.sessions.sign_out(visit.principal)
    return end_session(see_other(visit, "/console/login?reason=signed_out"), visit)
