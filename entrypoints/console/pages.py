"""Rendering console pages (Jinja2, autoescaped) and answering refusals as pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import RedirectResponse, Response

from aggregates.errors import DomainError
from entrypoints.api.errors import ApiError, domain_status
from entrypoints.console.i18n import CATALOGUE, LANGUAGES, pick, refusal, translate
from entrypoints.console.session import CSRF_FIELD, PageRefused, SignInRequired, Visit, login_url

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")


def other_language(request: Request, lang: str) -> str:
    """This page's address in the other language."""
    other = "en" if lang == "fr" else "fr"
    return request.url.path + "?" + str(request.url.include_query_params(lang=other).query)


def render(visit: Visit, template: str, status: int = 200, **context: Any) -> Response:
    """A full page (htmx swaps what it needs out of it: one page, one source of truth)."""
    values = {"v": visit, "t": visit.t, "lang": visit.lang, "languages": LANGUAGES,
              "csrf_field": CSRF_FIELD, "principal": visit.principal, "known": CATALOGUE,
              "other_language_url": other_language(visit.request, visit.lang), **context}
    response = TEMPLATES.TemplateResponse(visit.request, template, values, status_code=status)
    return visit.finish(response)


def see_other(visit: Visit, url: str) -> Response:
    """Post/redirect/get: after a write, the browser (or htmx) loads the page anew."""
    return visit.finish(RedirectResponse(url, status_code=303))


def refused(visit: Visit, exc: DomainError | ApiError) -> tuple[int, str]:
    """A use case's or the API's refusal as a status and a sentence in the page's language."""
    if isinstance(exc, ApiError):
        return exc.status, refusal(visit.lang, exc.code, exc.message)
    return domain_status(exc), refusal(visit.lang, exc.code, exc.message)


def page_refused(request: Request, exc: Exception) -> Response:
    """``PageRefused`` as a small page in the visitor's language."""
    exc = cast(PageRefused, exc)  # registered for this class only
    lang = pick(request.query_params.get("lang") or request.cookies.get("hub_lang"))
    return TEMPLATES.TemplateResponse(request, "refused.html", {
        "t": lambda key, **values: translate(lang, key, **values), "lang": lang,
        "languages": LANGUAGES, "other_language_url": other_language(request, lang), "message": exc.message, "principal": None, "v": None,
        "csrf_field": CSRF_FIELD}, status_code=exc.status)


def sign_in_required(request: Request, exc: Exception) -> Response:
    exc = cast(SignInRequired, exc)  # registered for this class only
    if request.headers.get("hx-request"):
        # htmx follows redirects inside the page; make the browser itself go to sign in.
        return Response(status_code=200, headers={"HX-Redirect": login_url(exc.next_url, exc.reason)})
    return RedirectResponse(login_url(exc.next_url, exc.reason), status_code=303)
