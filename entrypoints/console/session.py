"""Who is at the console: the session cookie, the CSRF check, the page language.

The session cookie holds the bearer credential the API itself would take (a user's session
token from signing in with e-mail and password, or an API token of a staff, ops or admin role),
so a page and an API call are authorised by the same rule. It is
HttpOnly, SameSite=Lax, scoped to the console's paths, and Secure when the request came over
TLS (directly or through a proxy saying so). Every form carries a CSRF token that must equal
the ``hub_csrf`` cookie (double submit; the cookie is SameSite=Strict and HttpOnly), and htmx
sends it as the ``X-CSRF-Token`` header.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from starlette.responses import Response

from entrypoints.api.deps import get_services
from entrypoints.api.services import ApiServices
from entrypoints.console.i18n import Language, pick, translate
from hub.access.tokens import Principal, Role
from hub.actor import Actor, acting_as

SESSION_COOKIE = "hub_console"
CSRF_COOKIE = "hub_csrf"
LANG_COOKIE = "hub_lang"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
#: Roles that may use the staff and ops console.
CONSOLE_ROLES = frozenset({Role.CLINIC_STAFF, Role.OPS, Role.ADMIN})
SESSION_SECONDS = 8 * 3600


class SignInRequired(Exception):
    """The page needs a signed-in user; answered with a redirect to the sign-in page."""

    def __init__(self, next_url: str, reason: str | None = None) -> None:
        super().__init__(next_url)
        self.next_url = next_url
        self.reason = reason


class PageRefused(Exception):
    """The page cannot be shown (forbidden, not found, bad input): answered as a page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Visit:
    """One request to the console: language, CSRF token, and the signed-in principal if any."""

    request: Request
    services: ApiServices
    lang: Language
    csrf: str
    new_csrf: bool
    set_lang: bool
    principal: Principal | None

    def t(self, key: str, **values: object) -> str:
        return translate(self.lang, key, **values)

    @property
    def secure(self) -> bool:
        return is_tls(self.request)

    def signed_in(self) -> Principal:
        if self.principal is None:
            raise SignInRequired(self.request.url.path + (f"?{self.request.url.query}"
                                                          if self.request.url.query else ""))
        return self.principal

    def staff_of(self, clinic_id: object) -> Principal:
        """The principal, if it may read this clinic's appointments (staff of it, admin, ops)."""
        principal = self.signed_in()
        if principal.role == Role.CLINIC_STAFF and clinic_id not in principal.clinic_ids:
            raise PageRefused(403, self.t("forbidden"))
        return principal

    def ops(self) -> Principal:
        principal = self.signed_in()
        if principal.role not in (Role.OPS, Role.ADMIN):
            raise PageRefused(403, self.t("forbidden"))
        return principal

    @contextmanager
    def acting(self) -> Iterator[Actor]:
        """Run use cases as the signed-in principal, from the console (the audit says so)."""
        actor = replace(self.signed_in().actor, channel="console")
        with acting_as(actor):
            yield actor

    def check_csrf(self, submitted: str | None) -> None:
        sent = submitted or self.request.headers.get(CSRF_HEADER) or ""
        cookie = self.request.cookies.get(CSRF_COOKIE) or ""
        if not cookie or not hmac.compare_digest(sent.encode(), cookie.encode()):
            raise PageRefused(403, self.t("csrf"))

    def finish(self, response: Response) -> Response:
        """Set the cookies this visit owes the browser (a new CSRF token, a chosen language)."""
        if self.new_csrf:
            response.set_cookie(CSRF_COOKIE, self.csrf, httponly=True, samesite="strict",
                                secure=self.secure, path="/")
        if self.set_lang:
            response.set_cookie(LANG_COOKIE, self.lang, samesite="lax", secure=self.secure,
                                path="/", max_age=365 * 86400)
        return response


def is_tls(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def principal_of(services: ApiServices, token: str | None) -> Principal | None:
    """The console principal behind a session cookie (None when absent, unknown or not allowed)."""
    if not token:
        return None
    principal = services.authenticate(token)
    if principal is None or principal.role not in CONSOLE_ROLES:
        return None
    return principal


def authenticate_console(visit: Visit, token: str) -> tuple[Principal | None, str | None]:
    """The principal a sign-in names, or None and why (in the visit's language)."""
    principal = visit.services.authenticate(token) if token else None
    if principal is None:
        return None, visit.t("bad_token")
    if principal.role not in CONSOLE_ROLES:
        return None, visit.t("role_refused", role=principal.role.value)
    return principal, None


def visit(request: Request, services: Annotated[ApiServices, Depends(get_services)]) -> Visit:
    """The console's view of a request (runs in the threadpool: it may read the database)."""
    asked = request.query_params.get("lang")
    lang = pick(asked or request.cookies.get(LANG_COOKIE))
    csrf = request.cookies.get(CSRF_COOKIE) or ""
    new_csrf = len(csrf) < 32
    if new_csrf:
        csrf = secrets.token_urlsafe(32)
    principal = principal_of(services, request.cookies.get(SESSION_COOKIE))
    return Visit(request, services, lang, csrf, new_csrf, asked in ("fr", "en"), principal)


VisitDep = Annotated[Visit, Depends(visit)]


def start_session(response: Response, visit: Visit, token: str) -> Response:
    """Put the credential in the session cookie and rotate the CSRF token."""
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=visit.secure,
                        path="/console", max_age=SESSION_SECONDS)
    response.set_cookie(CSRF_COOKIE, secrets.token_urlsafe(32), httponly=True, samesite="strict",
                        secure=visit.secure, path="/")
    return response


def end_session(response: Response, visit: Visit) -> Response:
    response.delete_cookie(SESSION_COOKIE, path="/console", httponly=True, samesite="lax",
                           secure=visit.secure)
    return response


def login_url(next_url: str, reason: str | None = None) -> str:
    url = "/console/login?next=" + quote(next_url, safe="")
    return url + (f"&reason={quote(reason)}" if reason else "")


def safe_next(next_url: str | None) -> str:
    """Only a path inside the console (never another site) after signing in."""
    if next_url and next_url.startswith("/console/") and not next_url.startswith("//"):
        return next_url
    return "/console"
